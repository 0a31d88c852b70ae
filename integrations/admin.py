"""The administrators' pages: sources, project assignments, member tokens and the audit log.

Every page asks ``projects.permissions.can_administer_integrations`` on top of Django's
model permissions, and every write goes through ``services``, which audits it.
"""

import csv
import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST
from social_django.models import Association, Nonce

from projects.models import Project
from projects.permissions import can_administer_integrations

from . import keys, selectors, services, signals, tracker_options, views
from .errors import TrackerError
from .forms import (
    ADMIN_INTEGRATION_FIELDS,
    ProjectIntegrationAdminForm,
    SourceForm,
    credential_parts,
    provider_metadata,
    unsaved_source,
)
from .models import (
    AUTH_TYPES_BY_PROVIDER,
    AuditAction,
    AuditEvent,
    AuthType,
    ProjectIntegration,
    Provider,
    Source,
    UserToken,
)
from .oauth_views import callback_url
from .providers import REGISTRY
from .providers.base import Capability
from .signin.forms import SignInProviderForm
from .signin.models import SignInProvider


class IntegrationAdminMixin:
    """Only system administrators of integrations see these pages at all."""

    def has_module_permission(self, request):
        return can_administer_integrations(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return can_administer_integrations(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return can_administer_integrations(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return can_administer_integrations(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return can_administer_integrations(request.user) and super().has_delete_permission(request, obj)


def _report(model_admin, request, source: Source, outcome: services.ConnectionOutcome) -> None:
    if outcome.ok:
        model_admin.message_user(request, f"{source.name}: connection works. {outcome.message}", messages.SUCCESS)
    else:
        model_admin.message_user(request, f"{source.name}: connection failed. {outcome.message}", messages.ERROR)


@admin.register(Source)
class SourceAdmin(IntegrationAdminMixin, admin.ModelAdmin):
    form = SourceForm
    list_display = [
        "name",
        "provider",
        "base_url",
        "enabled",
        "connected",
        "health_badge",
        "health_checked_at",
        "credentials_state",
    ]
    list_filter = ["provider", "enabled", "connected", "health"]
    search_fields = ["name", "base_url", "description"]
    readonly_fields = [
        "uuid",
        "credentials_state",
        "health",
        "health_checked_at",
        "health_error",
        "created_at",
        "updated_at",
        "webhook_address",
    ]
    filter_horizontal = ["projects"]
    actions = ["test_connection", "enable", "disable", "disconnect", "reconnect", "refresh_now", "register_webhook"]

    def get_fieldsets(self, request, obj=None):
        credential_fields = [f"credential_{name}" for name in credential_parts()]
        fieldsets = [
            (None, {"fields": ["provider", "name", "description", "enabled"]}),
            (
                "Connection",
                {
                    "fields": ["base_url", "allow_http", "auth_type", *credential_fields]
                    + (["credentials_state"] if obj else []),
                    "description": "Credentials are write-only: they are never shown again. When editing, a blank "
                    "field keeps the stored value; a new auth type needs every part.",
                },
            ),
            (
                "Issues",
                {
                    "fields": [
                        "issue_url_template",
                        "create_url_template",
                        "key_pattern",
                        "key_sample",
                        "text_formatting",
                    ]
                },
            ),
            (
                "Capabilities",
                {
                    "fields": [
                        "can_read_details",
                        "can_create_issues",
                        "can_add_comments",
                        "can_process_webhooks",
                        "webhook_secret_input",
                    ]
                    + (["webhook_address"] if obj else [])
                },
            ),
            ("Projects", {"fields": ["all_projects", "projects"]}),
            ("Sync", {"fields": ["refresh_interval_minutes", "rate_limit_per_minute"]}),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    "Health",
                    {
                        "fields": [
                            "connected",
                            "health",
                            "health_checked_at",
                            "health_error",
                            "uuid",
                            "created_at",
                            "updated_at",
                        ]
                    },
                )
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "connected"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        # One source at a time, through the confirmation page that counts what stays behind.
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Health", ordering="health")
    def health_badge(self, source):
        """The source's real health; an error shows its (redacted) reason, not only in a tooltip."""
        health = selectors.health_of(source)
        colour = {"healthy": "#15803d", "error": "#b91c1c"}.get(health.state, "#4b5563")
        if health.is_error:
            return format_html(
                '<span class="source-health" data-health="{}" style="color:{}"><strong>{}</strong>: {}</span>',
                health.state,
                colour,
                health.label,
                health.reason,
            )
        return format_html(
            '<span class="source-health" data-health="{}" style="color:{}">{}</span>',
            health.state,
            colour,
            health.label,
        )

    @admin.display(description="Stored credentials")
    def credentials_state(self, source):
        return selectors.credentials_state(source)

    @admin.display(description="Webhook address")
    def webhook_address(self, source):
        """Where the tracker posts (after this server's address), and whether a secret checks it; for a
        tracker that cannot post changes, that the source is polled and why."""
        provider = REGISTRY[source.provider]
        capabilities = provider.capabilities
        if Capability.READ_DETAILS in capabilities and Capability.PROCESS_WEBHOOKS not in capabilities:
            reason = f": {provider.no_webhooks_reason}" if provider.no_webhooks_reason else ""
            return f"None, polled{reason}; linked issues are read every {source.refresh_interval_minutes} minutes."
        secret = "a webhook secret is stored" if source.webhook_secret else "no webhook secret is stored yet"
        return f"{reverse('webhook', args=[source.uuid])} ({secret})"

    # -- pages --

    def get_urls(self):
        own = [
            path(
                "key-preview/",
                self.admin_site.admin_view(require_GET(self.key_preview_view)),
                name="integrations_source_key_preview",
            ),
            path(
                "test-unsaved-connection/",
                self.admin_site.admin_view(require_POST(self.test_unsaved_connection_view)),
                name="integrations_source_test_unsaved_connection",
            ),
            path(
                "<path:object_id>/test-connection/",
                self.admin_site.admin_view(require_POST(self.test_connection_view)),
                name="integrations_source_test_connection",
            ),
        ]
        return own + super().get_urls()

    def get_changeform_initial_data(self, request):
        """A new source starts with the capabilities its provider implements switched on."""
        initial = super().get_changeform_initial_data(request)
        return {**selectors.default_capabilities(initial.get("provider", "")), **initial}

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        context = {
            **(extra_context or {}),
            "provider_metadata": provider_metadata(),
            "key_preview_url": reverse("admin:integrations_source_key_preview"),
            "test_unsaved_url": reverse("admin:integrations_source_test_unsaved_connection"),
        }
        return super().changeform_view(request, object_id, form_url, context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["source_health"] = selectors.health_of(obj)
        if obj is not None and selectors.credentials_unreadable(obj):
            context["credentials_unreadable"] = selectors.credentials_state(obj)
        # The redirect URL to register in the tracker's OAuth app: this OAuth 2.0 source's, or every
        # tracker's while a source is being created.
        providers = Provider.values if obj is None else [obj.provider] if obj.auth_type == AuthType.OAUTH2 else []
        context["oauth_callback_urls"] = [
            (Provider(provider).label, callback_url(request, provider))
            for provider in providers
            if AuthType.OAUTH2 in AUTH_TYPES_BY_PROVIDER[provider]
        ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def delete_view(self, request, object_id, extra_context=None):
        source = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if source is not None:
            context["usage"] = selectors.source_usage(source)
        return super().delete_view(request, object_id, context)

    def key_preview_view(self, request):
        """Whether a sample key matches a pattern, judged by RE2 on the server (as links are)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        provider = REGISTRY.get(request.GET.get("provider", ""))
        pattern = request.GET.get("pattern", "").strip() or (provider.default_key_pattern if provider else "")
        sample = request.GET.get("sample", "")
        if not pattern:
            return JsonResponse({"valid": False, "matches": None, "message": "Choose a provider or enter a pattern."})
        try:
            matches = keys.key_matches(pattern, sample) if sample else None
        except keys.KeyPatternError as error:
            return JsonResponse({"valid": False, "matches": None, "message": f"Not a valid RE2 pattern: {error}."})
        if matches is None:
            message = f"Pattern {pattern}: type a key to try it."
        else:
            message = f"{sample} {'matches' if matches else 'does not match'} {pattern}."
        return JsonResponse({"valid": True, "matches": matches, "message": message})

    def test_unsaved_connection_view(self, request):
        """Test the connection with the add form's typed values (posted by its "Test connection" button):
        nothing is stored, and the answer never carries a typed secret. 400 with the errors by field when
        a connection field is wrong."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        try:
            source = unsaved_source(request.POST)
        except ValidationError as error:
            errors = error.message_dict
            message = " ".join(f"{self._field_label(name)}: {' '.join(problems)}" for name, problems in errors.items())
            return JsonResponse({"ok": False, "message": message, "errors": errors}, status=400)
        outcome = services.test_unsaved_connection(source)
        word = "works" if outcome.ok else "failed"
        return JsonResponse(
            {"ok": outcome.ok, "message": f"Connection {word}. {outcome.message}", "code": outcome.code, "errors": {}}
        )

    @staticmethod
    def _field_label(name: str) -> str:
        field = SourceForm.base_fields.get(name)
        return str(field.label) if field is not None and field.label else name.replace("_", " ").capitalize()

    def test_connection_view(self, request, object_id):
        source = self.get_object(request, unquote(object_id))
        if source is None:
            raise Http404("No such source.")
        if not self.has_change_permission(request, source):
            raise PermissionDenied
        _report(self, request, source, services.test_connection(source, actor=request.user, waiting=True))
        return HttpResponseRedirect(reverse("admin:integrations_source_change", args=[source.pk]))

    # -- writes, all through services --

    def save_model(self, request, obj, form, change):
        previous_auth_type = form.initial.get("auth_type") if change else None
        services.save_source(
            obj, actor=request.user, projects=form.cleaned_data.get("projects", []), credentials=form.new_credentials
        )
        if form.cleaned_data.get("webhook_secret_input"):
            services.record_audit(
                AuditAction.CREDENTIALS_CHANGED, actor=request.user, source=obj, details={"parts": ["webhook_secret"]}
            )
        if change and previous_auth_type != obj.auth_type:
            switch = services.switch_authentication(obj, previous_auth_type, actor=request.user)
            self.message_user(
                request,
                f"{obj.name} switched from {AuthType(switch.previous).label} to {AuthType(switch.current).label}: "
                f"links and references are kept; {switch.tokens_removed} member token(s) that no longer apply were "
                f"removed and {switch.users_told} member(s) were told on their pages.",
                messages.WARNING if switch.users_told else messages.SUCCESS,
            )

    def save_related(self, request, form, formsets, change):
        """The projects were set by ``save_source``; there are no inlines."""

    def delete_model(self, request, obj):
        services.delete_source(obj, actor=request.user)

    @admin.action(description="Test the connection of the selected sources", permissions=["change"])
    def test_connection(self, request, queryset):
        for source in queryset:
            _report(self, request, source, services.test_connection(source, actor=request.user, waiting=True))

    @admin.action(description="Enable the selected sources", permissions=["change"])
    def enable(self, request, queryset):
        changed = sum(services.set_source_enabled(source, True, actor=request.user) for source in queryset)
        self.message_user(request, f"{changed} source(s) enabled.", messages.SUCCESS)

    @admin.action(description="Disable the selected sources (hidden from members, links stay)", permissions=["change"])
    def disable(self, request, queryset):
        changed = sum(services.set_source_enabled(source, False, actor=request.user) for source in queryset)
        self.message_user(request, f"{changed} source(s) disabled.", messages.SUCCESS)

    @admin.action(description="Disconnect the selected sources (no requests until reconnected)", permissions=["change"])
    def disconnect(self, request, queryset):
        changed = sum(services.disconnect_source(source, actor=request.user) for source in queryset)
        self.message_user(request, f"{changed} source(s) disconnected.", messages.SUCCESS)

    @admin.action(description="Reconnect the selected sources and test them", permissions=["change"])
    def reconnect(self, request, queryset):
        for source in queryset:
            _report(self, request, source, services.reconnect_source(source, actor=request.user))

    @admin.action(description="Refresh the linked issues of the selected sources now", permissions=["change"])
    def refresh_now(self, request, queryset):
        for source in queryset:
            if not source.syncs:
                self.message_user(
                    request, f"{source.name} is disabled or disconnected: it does not sync.", messages.WARNING
                )
                continue
            answers = signals.refresh_requested.send(sender=Source, source=source, actor=request.user)
            outcome = signals.RefreshOutcome.of_answers(answers)
            self.message_user(request, f"{source.name}: {outcome.sentence()}", outcome.level)

    @admin.action(
        description="Register testmanager's webhook in the selected sources' trackers", permissions=["change"]
    )
    def register_webhook(self, request, queryset):
        for source in queryset:
            url = request.build_absolute_uri(reverse("webhook", args=[source.uuid]))
            try:
                hooks = services.register_webhook(source, url, actor=request.user)
            except TrackerError as error:
                self.message_user(request, f"{source.name}: the webhook was not registered. {error}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{source.name}: {len(hooks)} hook(s) send events to {url}.", messages.SUCCESS
                )


@admin.register(ProjectIntegration)
class ProjectIntegrationAdmin(IntegrationAdminMixin, admin.ModelAdmin):
    """Assign a source to a project or change where it points (project, issue types, board), choosing from
    the tracker's lists and checked against it like the project's Trackers page; mappings, sync options and
    the primary flag are tuned there."""

    form = ProjectIntegrationAdminForm
    list_display = ["__str__", "project", "source", "state", "is_primary", "verification", "manage", "mappings"]
    list_filter = ["state", "is_primary", "source"]
    search_fields = ["project__key", "source__name", "external_project"]
    list_select_related = ["project", "source"]
    readonly_fields = ["verification", "manage", "mappings"]

    class Media:
        js = ["integrations/tracker_pickers.js"]

    @admin.display(description="Verified")
    def verification(self, integration):
        if integration.unverified:
            return format_html(
                "Not verified: {} (checked {})", integration.verification_error, integration.verification_checked_at
            )
        return "Yes" if integration.verified_at else "Not checked"

    @admin.display(description="Manage")
    def manage(self, integration):
        url = reverse("integrations:list", args=[integration.project.key])
        return format_html('<a href="{}">{} integrations page</a>', url, integration.project.key)

    @admin.display(description="Field mappings")
    def mappings(self, integration):
        url = reverse("admin:integrations_projectintegration_field_mappings", args=[integration.pk])
        return format_html('<a href="{}">Edit field mappings</a>', url)

    def get_fields(self, request, obj=None):
        return [*ADMIN_INTEGRATION_FIELDS, *(self.readonly_fields if obj is not None else [])]

    def get_readonly_fields(self, request, obj=None):
        return ["project", "source", *self.readonly_fields] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        """The form, told who asks the tracker (their own token where the source acts as each member)."""
        base = super().get_form(request, obj, change=change, **kwargs)
        options_url = reverse("admin:integrations_projectintegration_tracker_options")

        class Form(base):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, actor=request.user, options_url=options_url, **form_kwargs)

        return Form

    def save_model(self, request, obj, form, change):
        """Through the services, which audit; the form has checked the choices against the tracker."""
        values = {name: form.cleaned_data[name] for name in services.VERIFIED_FIELDS + ("description",)}
        if change:
            current = ProjectIntegration.objects.select_related("project", "source").get(pk=obj.pk)
            services.update_project_integration(current, actor=request.user, checked=form.checked, **values)
        else:
            created = services.assign_source(
                obj.project, obj.source, actor=request.user, checked=form.checked, **values
            )
            obj.pk = created.pk
        obj.refresh_from_db()
        if obj.unverified:
            self.message_user(request, f"{obj} is saved but not verified: {obj.verification_error}", messages.WARNING)

    def get_urls(self):
        own = [
            path(
                "<int:pk>/field-mappings/",
                self.admin_site.admin_view(self.field_mappings_view),
                name="integrations_projectintegration_field_mappings",
            ),
            path(
                "tracker-options/",
                self.admin_site.admin_view(self.tracker_options_view),
                name="integrations_projectintegration_tracker_options",
            ),
        ]
        return [*own, *super().get_urls()]

    def tracker_options_view(self, request):
        """The tracker's lists for the admin form's pickers (``at``: the project's id), as the API answers them."""
        if not can_administer_integrations(request.user):
            raise PermissionDenied
        params = request.GET
        project = Project.objects.filter(pk=params.get("at", "")).first() if params.get("at", "").isdigit() else None
        if project is None:
            return JsonResponse(
                {"message": "Choose the project first.", "errors": {"at": ["Choose the project."]}}, status=400
            )
        reference = params.get("source", "")
        source = selectors.option_sources(project).filter(pk=reference).first() if reference.isdigit() else None
        if source is None:
            return JsonResponse(
                {"message": "This source is not available to the project.", "errors": {"source": ["Not available."]}},
                status=400,
            )
        try:
            found = tracker_options.tracker_options(
                source,
                request.user,
                params.get("kind", ""),
                project=params.get("project", ""),
                issue_type=params.get("issue_type", ""),
                board=params.get("board", ""),
                q=params.get("q", ""),
            )
        except ValidationError as error:
            return JsonResponse({"message": " ".join(error.messages), "errors": error.message_dict}, status=400)
        return JsonResponse(found.to_dict())

    def field_mappings_view(self, request, pk):
        """The same field mappings form as the project's Trackers page, for administrators of integrations."""
        if not can_administer_integrations(request.user):
            raise PermissionDenied
        integration = ProjectIntegration.objects.select_related("project", "source").filter(pk=pk).first()
        if integration is None:
            raise Http404("No such project integration.")
        here = reverse("admin:integrations_projectintegration_field_mappings", args=[pk])
        context = {
            **self.admin_site.each_context(request),
            "title": f"Field mappings of {integration}",
            "opts": self.model._meta,
            "cancel_url": reverse("admin:integrations_projectintegration_changelist"),
        }
        return views.edit_field_mappings(
            request, integration, template="admin/integrations/field_mappings.html", done_url=here, context=context
        )

    def delete_model(self, request, obj):
        services.remove_project_integration(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for integration in queryset.select_related("project", "source"):
            services.remove_project_integration(integration, actor=request.user)


@admin.register(UserToken)
class UserTokenAdmin(IntegrationAdminMixin, admin.ModelAdmin):
    list_display = ["user", "source", "kind", "remote_account", "created_at", "expires_at", "last_refreshed_at"]
    list_filter = ["kind", "source"]
    search_fields = ["user__username", "source__name", "remote_account"]
    # Tokens are never shown or edited here; an admin may only revoke (delete) them.
    fields = [
        "user",
        "source",
        "kind",
        "remote_account",
        "created_at",
        "expires_at",
        "scopes",
        "last_refreshed_at",
        "last_error",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        services.revoke_member_token(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for token in queryset.select_related("user", "source"):
            services.revoke_member_token(token, actor=request.user)


class _Echo:
    """A file-like object whose write returns the line, for streaming CSV."""

    def write(self, value):
        return value


def _csv_cell(value) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ would otherwise start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@admin.register(AuditEvent)
class AuditEventAdmin(IntegrationAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "action", "actor_name", "source_name", "project_key", "target", "success", "message"]
    list_filter = ["action", "source_name", "actor_name", "success", "created_at"]
    search_fields = ["target", "message", "actor_name", "source_name"]
    date_hierarchy = "created_at"
    CSV_COLUMNS = [
        "created_at",
        "action",
        "actor_name",
        "source_name",
        "project_key",
        "target",
        "success",
        "message",
        "details",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        export = path("export/", self.admin_site.admin_view(self.export_view), name="integrations_auditevent_export")
        return [export, *super().get_urls()]

    def export_view(self, request):
        """The events the change list shows (same filters, search and dates) as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        events = self.get_changelist_instance(request).get_queryset(request)
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(self.CSV_COLUMNS)
            for event in events.iterator():
                yield writer.writerow(
                    [
                        event.created_at.isoformat(),
                        event.action,
                        _csv_cell(event.actor_name),
                        _csv_cell(event.source_name),
                        event.project_key,
                        _csv_cell(event.target),
                        event.success,
                        _csv_cell(event.message),
                        _csv_cell(json.dumps(event.details, sort_keys=True)),
                    ]
                )

        filename = f"integration-audit-{timezone.now():%Y%m%d-%H%M%S}.csv"
        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


@admin.register(SignInProvider)
class SignInProviderAdmin(admin.ModelAdmin):
    """Sign-in with tracker accounts: only site admins (superusers) configure who may enter."""

    list_display = ["label", "enabled", "server_url", "allow_new_users", "updated_at"]
    fields = ["backend", "enabled", "client_id", "client_secret", "server_url", "tenant_id", "allow_new_users"]
    form = SignInProviderForm

    def has_module_permission(self, request):
        return request.user.is_superuser

    readonly_fields = ["redirect_url"]

    def get_fields(self, request, obj=None):
        return [*self.fields, "redirect_url"]

    @admin.display(description="Redirect URL to register in the provider's OAuth app")
    def redirect_url(self, obj):
        if obj is None or not obj.backend:
            return "Shown once saved."
        return self.request_url(reverse("social:complete", args=[obj.backend]))

    def get_form(self, request, obj=None, **kwargs):
        self.request_url = request.build_absolute_uri
        return super().get_form(request, obj, **kwargs)

    def _superuser(self, request, obj=None):
        return request.user.is_superuser

    has_view_permission = has_add_permission = has_change_permission = has_delete_permission = _superuser


# social-auth's OpenID tables (nonces, associations) serve no provider configured here: not admin pages.
admin.site.unregister(Nonce)
admin.site.unregister(Association)
