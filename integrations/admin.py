from django import forms
from django.contrib import admin

from .models import AuditEvent, ProjectIntegration, Source, UserToken


class SourceAdminForm(forms.ModelForm):
    """Credentials are write-only: the stored value is never rendered, blank keeps it."""

    credential_username = forms.CharField(
        label="Username or email", required=False, help_text="Leave blank to keep the stored value."
    )
    credential_secret = forms.CharField(
        label="Token or password", required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave blank to keep the stored value.",
    )

    class Meta:
        model = Source
        exclude = ["credentials", "webhook_secret", "health", "health_checked_at", "health_error"]

    def save(self, commit=True):
        source = super().save(commit=False)
        credentials = dict(source.credentials) if isinstance(source.credentials, dict) else {}
        for field, part in (("credential_username", "username"), ("credential_secret", "secret")):
            if self.cleaned_data.get(field):
                credentials[part] = self.cleaned_data[field]
        source.credentials = credentials
        if commit:
            source.save()
            self.save_m2m()
        return source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceAdminForm
    list_display = ["name", "provider", "base_url", "enabled", "health", "health_checked_at"]
    list_filter = ["provider", "enabled", "health"]
    search_fields = ["name", "base_url", "description"]
    readonly_fields = ["uuid", "health", "health_checked_at", "health_error", "created_at", "updated_at"]
    filter_horizontal = ["projects"]


@admin.register(ProjectIntegration)
class ProjectIntegrationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "source", "state", "is_primary"]
    list_filter = ["state", "is_primary", "source"]
    search_fields = ["project__key", "source__name", "external_project"]
    autocomplete_fields = ["project", "source"]
    list_select_related = ["project", "source"]


@admin.register(UserToken)
class UserTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "source", "kind", "expires_at", "last_refreshed_at"]
    list_filter = ["kind", "source"]
    search_fields = ["user__username", "source__name", "remote_account"]
    # Tokens are never shown or edited here; an admin may only revoke (delete) them.
    fields = ["user", "source", "kind", "expires_at", "scopes", "remote_account", "last_refreshed_at", "last_error"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "actor_name", "source_name", "project_key", "target", "success"]
    list_filter = ["action", "success", "created_at", "source_name", "actor_name"]
    search_fields = ["target", "message", "actor_name", "source_name"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
