"""Forms: the admin's source form and the project settings page's integration form."""

from django import forms
from django.core.exceptions import ValidationError

from . import keys, mappings, selectors
from .fields import Unreadable
from .models import ProjectIntegration, Source
from .providers import REGISTRY
from .providers.base import CAPABILITY_FIELDS, Capability, CredentialField
from .services import SYNC_OPTIONS

CREDENTIAL_PREFIX = "credential_"


def credential_parts() -> dict[str, CredentialField]:
    """Every credential part any provider asks for, by name (one form field each)."""
    parts: dict[str, CredentialField] = {}
    for provider in REGISTRY.values():
        for fields in provider.credential_fields.values():
            for part in fields:
                parts.setdefault(part.name, part)
    return parts


def _credential_form_field(part: CredentialField) -> forms.CharField:
    # Write-only: the stored value is never put back into the page, not even masked.
    if part.secret:
        widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
    else:
        widget = forms.TextInput(attrs={"autocomplete": "off"})
    return forms.CharField(label=part.label, required=False, widget=widget, help_text=part.help_text, max_length=2000)


def provider_metadata() -> dict:
    """What the source form's script needs to adapt the form to the chosen provider."""
    return {
        key: {
            "label": provider.label,
            "auth_types": list(provider.auth_types),
            "credentials": {
                auth_type: [
                    {"name": part.name, "label": part.label, "help": part.help_text}
                    for part in provider.fields_for(auth_type)
                ]
                for auth_type in provider.auth_types
            },
            "capabilities": sorted(CAPABILITY_FIELDS[capability] for capability in provider.offered_capabilities()),
            "key_pattern": provider.default_key_pattern,
            "issue_url_template": provider.default_issue_url_template,
            "create_url_template": provider.default_create_url_template,
            "base_url_hint": provider.base_url_hint,
        }
        for key, provider in REGISTRY.items()
    }


class _SourceFormBase(forms.ModelForm):
    """Validates a source as an administrator expects; the credential fields are added below.

    Credentials are write-only. On edit a blank field keeps the stored part; a new auth
    type (or provider), or stored credentials that no longer decrypt, need every part again.
    ``new_credentials`` is the dict to store, or None to keep what is stored.
    """

    base_url = forms.CharField(
        label="Base URL",
        max_length=500,
        help_text='The tracker\'s address: https unless "allow http" is ticked; normalized, no trailing slash.',
    )
    refresh_interval_minutes = forms.IntegerField(
        min_value=1,
        initial=15,
        help_text="How often linked issues are refreshed from the tracker.",
    )
    rate_limit_per_minute = forms.IntegerField(
        min_value=1,
        initial=120,
        help_text="Most requests a minute sent to this tracker, shared by every worker.",
    )
    key_sample = forms.CharField(
        label="Try a key",
        required=False,
        max_length=keys.MAX_KEY_LENGTH,
        help_text="Type an issue key to see whether the key pattern accepts it. Not saved.",
    )
    webhook_secret_input = forms.CharField(
        label="Webhook secret",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: the secret the tracker signs or authenticates its webhook deliveries with (Linear "
        "shows it when the webhook is created; the “Register webhook” action sets one itself). Blank "
        "keeps the stored one.",
    )

    class Meta:
        model = Source
        fields = [
            "provider",
            "name",
            "description",
            "enabled",
            "base_url",
            "allow_http",
            "auth_type",
            "issue_url_template",
            "create_url_template",
            "key_pattern",
            "can_read_details",
            "can_create_issues",
            "can_add_comments",
            "can_process_webhooks",
            "all_projects",
            "projects",
            "refresh_interval_minutes",
            "rate_limit_per_minute",
        ]
        error_messages = {"name": {"unique": "Another source already has this display name: display names are unique."}}
        help_texts = {
            "issue_url_template": "Blank: the provider's default. Placeholders: "
            + ", ".join(f"{{{name}}}" for name in keys.ISSUE_URL_PLACEHOLDERS)
            + ".",
            "create_url_template": "Blank: the provider's default. Placeholders: "
            + ", ".join(f"{{{name}}}" for name in keys.CREATE_URL_PLACEHOLDERS)
            + ".",
            "key_pattern": "RE2 regular expression an issue key must match as a whole. Blank: the provider's default.",
            "projects": "Only these projects may use the source (at least one), "
            "unless it is available to all projects.",
        }

    new_credentials: dict | None = None

    @property
    def credential_field_names(self) -> list[str]:
        return [CREDENTIAL_PREFIX + name for name in credential_parts()]

    def clean(self):
        data = super().clean()
        provider = REGISTRY.get(data.get("provider") or "")
        if provider is None:
            return data  # the provider field already says what is wrong
        self._clean_base_url(data)
        self._clean_templates(data, provider)
        self._clean_capabilities(data, provider)
        if not data.get("all_projects") and not data.get("projects"):
            self.add_error("projects", "Choose at least one project, or make the source available to all projects.")
        if data.get("auth_type") in provider.auth_types:
            self._clean_credentials(data, provider)
        if data.get("webhook_secret_input"):
            self.instance.webhook_secret = data["webhook_secret_input"]
        return data

    def _clean_base_url(self, data):
        if "base_url" not in data:
            return
        try:
            data["base_url"] = keys.normalize_base_url(data["base_url"], allow_http=bool(data.get("allow_http")))
        except ValidationError as error:
            self.add_error("base_url", error)

    def _clean_templates(self, data, provider):
        for name, allowed, needs_key in (
            ("issue_url_template", keys.ISSUE_URL_PLACEHOLDERS, True),
            ("create_url_template", keys.CREATE_URL_PLACEHOLDERS, False),
        ):
            value = (data.get(name) or "").strip()
            data[name] = value
            if value:
                try:
                    keys.validate_url_template(value, allowed=allowed, needs_key=needs_key)
                except ValidationError as error:
                    self.add_error(name, error)
        if data.get("issue_url_template") == "" and not provider.default_issue_url_template:
            self.add_error(
                "issue_url_template",
                f"A {provider.label.lower()} needs an issue URL template, e.g. {{baseUrl}}/issues/{{key}}.",
            )
        pattern = (data.get("key_pattern") or "").strip()
        data["key_pattern"] = pattern
        if pattern:
            try:
                keys.validate_key_pattern(pattern)
            except ValidationError as error:
                self.add_error("key_pattern", error)

    def _clean_capabilities(self, data, provider):
        offered = provider.offered_capabilities()
        for capability, field in CAPABILITY_FIELDS.items():
            if capability not in offered:
                data[field] = False  # hidden for this provider: never switched on
        wants_create = data.get(CAPABILITY_FIELDS[Capability.CREATE_ISSUES])
        has_template = data.get("create_url_template") or provider.default_create_url_template
        if wants_create and not provider.creates_through_api() and not has_template:
            self.add_error(
                CAPABILITY_FIELDS[Capability.CREATE_ISSUES],
                f"{provider.label} sources create issues through a create URL template: enter one, or untick this.",
            )

    def _clean_credentials(self, data, provider):
        parts = provider.fields_for(data["auth_type"])
        entered = {part.name: data.get(CREDENTIAL_PREFIX + part.name) or "" for part in parts}
        stored = self.instance.credentials if self.instance.pk else {}
        same_setup = (
            self.instance.pk is not None
            and self.instance.provider == data["provider"]
            and self.instance.auth_type == data["auth_type"]
        )
        if same_setup and not any(entered.values()):
            self.new_credentials = None  # keep, even unreadable ones: the source keeps saying so
            return
        if same_setup and not isinstance(stored, Unreadable):
            merged = {part.name: entered[part.name] or (stored or {}).get(part.name, "") for part in parts}
        else:
            merged = entered
        missing = [part for part in parts if not merged[part.name]]
        for part in missing:
            if same_setup:  # unreadable: every part again
                message = "The stored credentials cannot be decrypted: re-enter every part, including this one."
            elif self.instance.pk is not None:
                message = f"Enter the {part.label.lower()}: a new auth type or provider needs new credentials."
            else:
                message = f"Enter the {part.label.lower()}."
            self.add_error(CREDENTIAL_PREFIX + part.name, message)
        if not missing:
            self.new_credentials = merged


SourceForm = type(
    "SourceForm",
    (_SourceFormBase,),
    {
        "__module__": __name__,
        **{CREDENTIAL_PREFIX + name: _credential_form_field(part) for name, part in credential_parts().items()},
    },
)


class ProjectIntegrationForm(forms.Form):
    """Assign a source to a project (``source`` only when creating) or edit the assignment."""

    source = forms.ModelChoiceField(queryset=Source.objects.none(), empty_label=None)
    external_project = forms.CharField(
        max_length=300,
        required=False,
        help_text="Jira project key, owner/repo, GitLab project path, Azure DevOps project or Linear team key.",
    )
    default_issue_type = forms.CharField(max_length=100, required=False, help_text="e.g. Bug")
    board = forms.CharField(max_length=100, required=False, help_text="Optional.")
    is_primary = forms.BooleanField(
        label="Primary",
        required=False,
        help_text="The project's default tracker; making this primary replaces the current primary one.",
    )
    description = forms.CharField(max_length=255, required=False)
    priority_mapping = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One line per tracker priority: “tracker priority = requirement priority, defect priority”, "
        f"requirement priorities {', '.join(mappings.REQUIREMENT_PRIORITIES)}, "
        f"defect priorities {', '.join(mappings.DEFECT_PRIORITIES)}.",
    )
    status_mapping = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One line per defect status: “defect status = tracker status, tracker status”, "
        f"defect statuses {', '.join(mappings.DEFECT_STATUSES)}.",
    )
    # Two-way sync options (editing only: an integration is assigned first, then tuned).
    sync_defects = forms.BooleanField(
        label="Keep defects in step",
        required=False,
        help_text=ProjectIntegration.sync_defects.field.help_text,
    )
    push_defect_changes = forms.BooleanField(
        label="Push defect changes",
        required=False,
        help_text=ProjectIntegration.push_defect_changes.field.help_text,
    )
    sync_comments = forms.BooleanField(
        label="Sync comments",
        required=False,
        help_text=ProjectIntegration.sync_comments.field.help_text,
    )
    update_test_status_on_resolve = forms.BooleanField(
        label="Retest on resolve",
        required=False,
        help_text="A failed or blocked test result linked to a tracker issue becomes “Retest” when the issue is "
        "resolved.",
    )

    def __init__(self, *args, project, integration: ProjectIntegration | None = None, **kwargs):
        if integration is not None:
            kwargs.setdefault(
                "initial",
                {
                    "external_project": integration.external_project,
                    "default_issue_type": integration.default_issue_type,
                    "board": integration.board,
                    "is_primary": integration.is_primary,
                    "description": integration.description,
                    "priority_mapping": mappings.priority_mapping_to_text(integration.priority_mapping),
                    "status_mapping": mappings.status_mapping_to_text(integration.status_mapping),
                    **{name: getattr(integration, name) for name in SYNC_OPTIONS},
                },
            )
        else:
            kwargs.setdefault(
                "initial",
                {
                    "priority_mapping": mappings.priority_mapping_to_text(mappings.default_priority_mapping()),
                    "status_mapping": mappings.status_mapping_to_text(mappings.default_status_mapping()),
                },
            )
        super().__init__(*args, **kwargs)
        if integration is None:
            self.fields["source"].queryset = selectors.assignable_sources(project)
            for name in SYNC_OPTIONS:
                del self.fields[name]
        else:
            del self.fields["source"]
            hint = REGISTRY[integration.source.provider].external_project_hint
            if hint:
                self.fields["external_project"].help_text = f"The {hint}."

    def clean_priority_mapping(self):
        return mappings.parse_priority_mapping(self.cleaned_data["priority_mapping"])

    def clean_status_mapping(self):
        return mappings.parse_status_mapping(self.cleaned_data["status_mapping"])
