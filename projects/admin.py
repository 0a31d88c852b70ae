from django.contrib import admin
from django.utils import timezone
from oauth2_provider import admin as oauth_admin
from oauth2_provider.models import Application, IDToken

from .forms import ApiClientForm
from .models import (
    ApiToken,
    CaseField,
    CaseType,
    Membership,
    Project,
    Requirement,
    TestCase,
    TestResult,
    TestRun,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "created_at"]
    search_fields = ["key", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "user__email", "project__key"]
    autocomplete_fields = ["user", "project"]


@admin.register(TestCase)
class TestCaseAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "folder", "updated_at"]
    list_filter = ["project"]
    search_fields = ["title", "folder", "automation_key", "import_key"]
    autocomplete_fields = ["project"]
    list_select_related = ["project"]


class TestResultInline(admin.TabularInline):
    model = TestResult
    extra = 0
    autocomplete_fields = ["case"]
    fields = ["case", "status", "comment", "duration"]


@admin.register(TestRun)
class TestRunAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "environment", "created_at", "completed_at"]
    list_filter = ["project"]
    search_fields = ["name", "environment"]
    autocomplete_fields = ["project"]
    inlines = [TestResultInline]
    list_select_related = ["project"]


@admin.register(TestResult)
class TestResultAdmin(admin.ModelAdmin):
    list_display = ["case", "run", "status", "recorded_at"]
    list_filter = ["status", "run__project"]
    search_fields = ["case__title", "run__name", "comment"]
    autocomplete_fields = ["run", "case"]
    list_select_related = ["case", "run"]


@admin.register(Requirement)
class RequirementAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "folder", "state", "priority", "origin_key"]
    list_filter = ["state", "priority", "project"]
    search_fields = ["title", "origin_key"]
    autocomplete_fields = ["project"]
    list_select_related = ["project"]
    readonly_fields = ["origin_tracker", "origin_key", "origin_url", "origin_read_only"]

    def get_readonly_fields(self, request, obj=None):
        """A pulled requirement's title and description belong to its tracker while it is connected."""
        if obj is not None and obj.origin_read_only:
            return ["title", "description", *self.readonly_fields]
        return self.readonly_fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        requirement = self.get_object(request, object_id)
        if requirement is not None and requirement.origin_read_only:
            self.message_user(
                request,
                (
                    f"Pulled from {requirement.origin_tracker} ({requirement.origin_key}): "
                    "the tracker owns the title and description while the integration is connected; "
                    "disconnect it to edit them here."
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their owners (Account -> API tokens); admins may only look and revoke."""

    list_display = ["name", "user", "hint", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "hint"]
    fields = ["user", "name", "hint", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {revoked} token(s).")


@admin.register(CaseType)
class CaseTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "position"]
    list_filter = ["project"]
    search_fields = ["name"]
    autocomplete_fields = ["project"]


@admin.register(CaseField)
class CaseFieldAdmin(admin.ModelAdmin):
    list_display = ["label", "name", "kind", "project"]
    list_filter = ["kind", "project"]
    search_fields = ["name", "label"]
    autocomplete_fields = ["project"]


# OAuth 2.0 API clients (projects/oauth_clients.py). The toolkit registers its models; its application
# admin is replaced by one that says what an API client here needs, and ID tokens are hidden (no
# OpenID Connect here).
admin.site.unregister(Application)
admin.site.unregister(IDToken)


@admin.register(Application)
class ApiClientAdmin(oauth_admin.ApplicationAdmin):
    form = ApiClientForm
    list_display = ("name", "client_id", "authorization_grant_type", "user", "client_type", "created")
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "authorization_grant_type", "user", "client_type", "redirect_uris"],
                "description": "Client credentials: a CI job or script acting as the service user chosen in "
                "<em>User</em> (it reaches the projects that user is a member of, as far as its role allows). "
                "Authorization code with PKCE (S256): a tool acting as the member who consents; list its "
                "redirect URIs.",
            },
        ),
        (
            "Secret",
            {"fields": ["client_id", "client_secret", "hash_client_secret"]},
        ),
        ("More", {"classes": ["collapse"], "fields": ["skip_authorization", "allowed_origins"]}),
    ]
