"""Forms: the admin's source form and the project settings page's integration form."""

from django import forms
from django.core.exceptions import ValidationError

from . import field_mappings as fm
from . import keys, mappings, selectors, services
from .fields import Unreadable
from .models import ProjectIntegration, Provider, Source, TextFormatting
from .providers import REGISTRY
from .providers.base import CAPABILITY_FIELDS, HEADER_NAME_PATTERN, Capability, CredentialField
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
            "default_capabilities": sorted(name for name, on in provider.default_capabilities().items() if on),
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
        required=False,
        help_text="Most requests a minute sent to this tracker, shared by every worker. Blank: the tracker's "
        "documented default (Jira, GitHub, GitLab, Linear 200; Azure DevOps, custom 120), enough for one refresh "
        "run of 10,000 linked issues.",
    )
    text_formatting = forms.ChoiceField(
        choices=TextFormatting.choices,
        required=False,  # blank: Textile, as for a source saved before the choice existed
        help_text=Source.text_formatting.field.help_text,
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
            "text_formatting",
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
        self._clean_text_formatting(data)
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

    def _clean_text_formatting(self, data):
        """Blank is the default, Textile; only a Redmine server has a formatting to choose."""
        data["text_formatting"] = data.get("text_formatting") or TextFormatting.TEXTILE
        if data["text_formatting"] != TextFormatting.TEXTILE and data.get("provider") != Provider.REDMINE:
            self.add_error(
                "text_formatting",
                "Only a Redmine source has a text formatting to choose: the other trackers have one format each.",
            )

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
        name = merged.get("header_name", "").strip()
        if name and not HEADER_NAME_PATTERN.fullmatch(name):
            self.add_error(
                CREDENTIAL_PREFIX + "header_name", "Enter a header name: letters, digits and - only, e.g. X-API-Key."
            )
        elif not missing:
            self.new_credentials = merged


SourceForm = type(
    "SourceForm",
    (_SourceFormBase,),
    {
        "__module__": __name__,
        **{CREDENTIAL_PREFIX + name: _credential_form_field(part) for name, part in credential_parts().items()},
    },
)


# The fields of the source form a connection test reads; the others (name, scope, templates) are not its business.
CONNECTION_FORM_FIELDS = ("provider", "base_url", "allow_http", "auth_type")


def unsaved_source(data) -> Source:
    """The source that typed, unsaved values describe (the source form's fields, ``credential_<part>`` for
    each credential part), for a connection test; it is never saved. ``ValidationError`` by form field when
    a connection field is wrong, by the source form's own rules; the other fields are not looked at."""
    form = SourceForm(data=data)
    form.is_valid()
    errors = {
        name: problems
        for name, problems in form.errors.items()
        if name in CONNECTION_FORM_FIELDS or name.startswith(CREDENTIAL_PREFIX)
    }
    if errors:
        raise ValidationError(errors)
    values = form.cleaned_data
    return Source(
        provider=values["provider"],
        name=(values.get("name") or "").strip() or "New source",
        base_url=values["base_url"],
        allow_http=values["allow_http"],
        auth_type=values["auth_type"],
        credentials=form.new_credentials or {},
    )


class ProjectIntegrationForm(forms.Form):
    """Assign a source to a project (``source`` only when creating) or edit the assignment."""

    source = forms.ModelChoiceField(queryset=Source.objects.none(), empty_label=None)
    # data-pick: the list of the tracker's (tracker_options.KINDS) that static/integrations/tracker_pickers.js
    # offers for the field; without JavaScript, or when the tracker will not list, it stays a text input.
    external_project = forms.CharField(
        max_length=300,
        required=False,
        help_text="Jira project key, owner/repo, GitLab project path, Azure DevOps project or Linear team key.",
        widget=forms.TextInput(attrs={"data-pick": "projects"}),
    )
    default_issue_type = forms.CharField(
        max_length=100, required=False, help_text="e.g. Bug", widget=forms.TextInput(attrs={"data-pick": "issue_types"})
    )
    test_issue_type = forms.CharField(
        max_length=100,
        required=False,
        help_text=ProjectIntegration.test_issue_type.field.help_text,
        widget=forms.TextInput(attrs={"data-pick": "issue_types"}),
    )
    board = forms.CharField(
        max_length=100,
        required=False,
        help_text="Optional: the board whose sprints plans show (Jira Software).",
        widget=forms.TextInput(attrs={"data-pick": "boards"}),
    )
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
    sync_labels = forms.BooleanField(
        label="Sync labels and tags",
        required=False,
        help_text=ProjectIntegration.sync_labels.field.help_text,
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
                    "test_issue_type": integration.test_issue_type,
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


_LIST_KINDS = ("labels", "multi_select", "multi_user", "checkboxes")


def _mapping_name(purpose: str, field_id: str, part: str) -> str:
    return f"{purpose}__{field_id}__{part}"


class FieldMappingsForm(forms.Form):
    """The field mappings of a project integration as a project admin edits them: per purpose its issue
    type and, for each field the tracker reports, where the value comes from (a select), the constant
    (one of the tracker's allowed values where it lists them) or the value with placeholders; the
    severity table. ``document()`` gives what ``field_mapping_services.save`` takes; ``add_errors``
    puts its errors (keyed ``defect.fields.<id>``) next to the fields they name."""

    severity = forms.CharField(
        label="Severity table",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One line per tracker severity: “tracker severity = defect priority”, defect priorities "
        f"{', '.join(mappings.DEFECT_PRIORITIES)}. Pulled bugs take their priority from it.",
    )

    def __init__(self, *args, discovered, integration, **kwargs):
        super().__init__(*args, **kwargs)
        self.discovered = discovered  # purpose -> field_mapping_services.PurposeFields
        self.rows = {purpose: [] for purpose in discovered}  # purpose -> [(field, source, constant, value)]
        document = integration.field_mappings
        self.fields["severity"].initial = "\n".join(
            f"{name} = {priority}" for name, priority in fm.stored(document)["severity"].items()
        )
        for purpose, found in discovered.items():
            self.fields[f"{purpose}__issue_type"] = forms.CharField(
                label="Issue type" if purpose == fm.DEFECT else "Test issue type",
                max_length=100,
                required=False,
                initial=found.issue_type,
                help_text="An issue type the tracker offers."
                if purpose == fm.DEFECT
                else ProjectIntegration.test_issue_type.field.help_text,
            )
            for field in found.fields:
                self._add_field_rows(purpose, field, fm.mapping_of(document, purpose, field))

    def _add_field_rows(self, purpose, field, mapping) -> None:
        names = [_mapping_name(purpose, field.id, part) for part in ("source", "constant", "value")]
        source, constant, value = mapping["source"], mapping["value"], mapping["value"]
        self.fields[names[0]] = forms.ChoiceField(
            label=f"{field.name}: source",
            choices=[(fm.UNSET, "Not set"), (fm.CONSTANT, "A constant"), (fm.VALUE, "A value of the artefact")],
            initial=source,
        )
        listed = field.kind in _LIST_KINDS
        if field.allowed_values:
            options = [(option, option) for option in field.allowed_values]
            constant_field = (
                forms.MultipleChoiceField(choices=options, required=False)
                if listed
                else forms.ChoiceField(choices=[("", "—"), *options], required=False)
            )
        else:
            constant_field = forms.CharField(required=False, help_text="Comma-separated." if listed else "")
            if listed and isinstance(constant, list):
                constant = ", ".join(map(str, constant))
        constant_field.label = f"{field.name}: constant"
        constant_field.initial = constant if source == fm.CONSTANT else None
        self.fields[names[1]] = constant_field
        self.fields[names[2]] = forms.CharField(
            label=f"{field.name}: value",
            required=False,
            max_length=fm.MAX_VALUE_LENGTH,
            initial=value if source == fm.VALUE else "",
            widget=forms.TextInput(attrs={"list": "placeholders", "placeholder": "{case.title}"}),
        )
        self.rows[purpose].append((field, *(self[name] for name in names)))

    def clean_severity(self):
        table = {}
        for number, line in enumerate(self.cleaned_data["severity"].splitlines(), start=1):
            if not line.strip() or line.strip().startswith("#"):
                continue
            name, equals, priority = line.partition("=")
            if not equals or not name.strip() or not priority.strip():
                raise ValidationError(f"Line {number}: write it as “S1 = blocker”.")
            table[name.strip()] = priority.strip()
        return table

    def _constant(self, field, raw):
        if field.kind in _LIST_KINDS and isinstance(raw, str):
            return [part.strip() for part in raw.split(",") if part.strip()]
        return list(raw) if isinstance(raw, (list, tuple)) else raw

    def document(self) -> dict:
        data = self.cleaned_data
        document = {"severity": data.get("severity", {})}
        for purpose, found in self.discovered.items():
            entries = []
            for field in found.fields:
                source = data[_mapping_name(purpose, field.id, "source")]
                raw = data.get(_mapping_name(purpose, field.id, "constant" if source == fm.CONSTANT else "value"))
                value = self._constant(field, raw) if source == fm.CONSTANT else raw
                entries.append({"id": field.id, "mapping": {"source": source, "value": value}})
            document[purpose] = {"issue_type": data.get(f"{purpose}__issue_type", ""), "fields": entries}
        return document

    def add_errors(self, error: ValidationError) -> None:
        """The service's errors next to the form fields they name; the others on the form."""
        problems = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for key, messages in problems.items():
            self.add_error(self._form_field_of(key), messages)

    def _form_field_of(self, key) -> str | None:
        if key == "severity":
            return "severity"
        for purpose in self.discovered:
            if key == f"{purpose}.issue_type":
                return f"{purpose}__issue_type"
            prefix = f"{purpose}.fields."
            if isinstance(key, str) and key.startswith(prefix):
                name = _mapping_name(purpose, key[len(prefix) :], "source")
                return name if name in self.fields else None
        return None


# The settings of an integration the admin's form edits; the rest is tuned on the project's Trackers page.
ADMIN_INTEGRATION_FIELDS = (
    "project",
    "source",
    "external_project",
    "default_issue_type",
    "test_issue_type",
    "board",
    "description",
)


class ProjectIntegrationAdminForm(forms.ModelForm):
    """The admin's form for assigning a source to a project or changing where it points: the same pickers
    as the project's Trackers page (data-pick), and the same check against the tracker before saving
    (``services.verify_target``); ``checked`` holds what it found, for the service that saves."""

    class Meta:
        model = ProjectIntegration
        fields = ADMIN_INTEGRATION_FIELDS
        widgets = {
            "external_project": forms.TextInput(attrs={"data-pick": "projects"}),
            "default_issue_type": forms.TextInput(attrs={"data-pick": "issue_types"}),
            "test_issue_type": forms.TextInput(attrs={"data-pick": "issue_types"}),
            "board": forms.TextInput(attrs={"data-pick": "boards"}),
        }

    def __init__(self, *args, actor=None, options_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.checked = None
        for name in ("external_project", "default_issue_type", "test_issue_type", "board"):
            if name in self.fields:
                self.fields[name].widget.attrs["data-options-url"] = options_url
                if self.instance.pk is not None:
                    self.fields[name].widget.attrs["data-source"] = str(self.instance.source_id)
                    self.fields[name].widget.attrs["data-at"] = str(self.instance.project_id)

    def clean(self):
        data = super().clean()
        source = self.instance.source if self.instance.pk else data.get("source")
        project = self.instance.project if self.instance.pk else data.get("project")
        if source is None or project is None or self.errors:
            return data
        if self.instance.pk is None and not selectors.assignable_sources(project).filter(pk=source.pk).exists():
            self.add_error(
                "source", f"{source.name} is not available to {project.key}: it is disabled or not in scope."
            )
            return data
        choices = {name: (data.get(name) or "").strip() for name in services.VERIFIED_FIELDS}
        try:
            REGISTRY[source.provider].validate_external_project(choices["external_project"])
        except ValidationError as error:
            self.add_error("external_project", error)
            return data
        retargeted = self.instance.pk is None or any(
            choices[name] != getattr(self.instance, name) for name in services.VERIFIED_FIELDS
        )
        if retargeted:
            try:
                self.checked = services.verify_target(source, self.actor, **choices)
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    self.add_error(field, problems)
        return data


class MemberTokenForm(forms.Form):
    """A member's own token for a source (``services.save_member_token``). Write-only: the fields are
    never filled back in, not even after an error."""

    token = forms.CharField(
        max_length=2000,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    refresh_token = forms.CharField(
        label="Refresh token (optional)",
        max_length=2000,
        required=False,
        strip=True,
        help_text="When the tracker gave you one: testmanager renews the access token with it when it expires.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, source: Source, **kwargs):
        super().__init__(*args, **kwargs)
        label = selectors.member_token_label(source)
        self.fields["token"].label = label[:1].upper() + label[1:]
        if selectors.entered_token_kind(source) != "oauth2":
            del self.fields["refresh_token"]
