"""Forms of the issue pages: they parse and validate input; issues.services does the writes."""

import re
from collections.abc import Mapping
from datetime import date, datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.template.defaultfilters import filesizeformat

from integrations.models import Source
from integrations.providers.base import RemoteField

from . import source_moves
from .filing import MARKER_PATTERN
from .models import FilingMode, Issue, IssuePriority, IssueStatus, StatusCategory, Tag
from .selectors import ARTEFACT_LABELS, INTERNAL, TITLE_MAX, UNASSIGNED, UNRESOLVED, members_of

DEFAULT_TAG_COLOR = Tag._meta.get_field("color").default
TAG_NAME_MAX = Tag._meta.get_field("name").max_length
ISSUE_FIELDS = ("name", "description", "status", "priority", "assignee")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Any number of files, each within settings.ATTACHMENT_MAX_BYTES; cleans to a list."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("help_text", f"Up to {filesizeformat(settings.ATTACHMENT_MAX_BYTES)} per file.")
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        uploads = [upload for upload in (data if isinstance(data, (list, tuple)) else [data]) if upload]
        if not uploads:
            return super().clean(None, initial) or []
        files = []
        for upload in uploads:
            files.append(super().clean(upload, initial))
        limit = settings.ATTACHMENT_MAX_BYTES
        too_big = [f"{upload.name} is {filesizeformat(upload.size)}" for upload in files if upload.size > limit]
        if too_big:
            raise forms.ValidationError(
                f"{'; '.join(too_big)}. Attachments may be at most {filesizeformat(limit)} each.", code="too_big"
            )
        return files


class IssueForm(forms.Form):
    name = forms.CharField(max_length=Issue._meta.get_field("name").max_length)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Markdown: **bold**, lists, `code`, [links](https://example.com), tables.",
    )
    status = forms.ChoiceField(choices=IssueStatus.choices, initial=IssueStatus.OPEN)
    priority = forms.ChoiceField(choices=IssuePriority.choices, initial=IssuePriority.MAJOR)
    assignee = forms.ModelChoiceField(queryset=None, required=False, empty_label="Unassigned")
    tags = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Comma-separated. A new name creates a tag in the colour below.",
    )
    tag_color = forms.CharField(
        label="Colour of new tags",
        initial=DEFAULT_TAG_COLOR,
        widget=forms.TextInput(attrs={"type": "color"}),
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}\Z", "Choose a colour as #rrggbb, e.g. #d97706.")],
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = members_of(project)
        self.fields["assignee"].label_from_instance = lambda user: user.get_full_name() or user.get_username()

    def clean_tags(self):
        names = list(dict.fromkeys(name.strip() for name in self.cleaned_data["tags"].split(",") if name.strip()))
        too_long = [name for name in names if len(name) > TAG_NAME_MAX]
        if too_long:
            raise forms.ValidationError(
                f"Tag names are at most {TAG_NAME_MAX} characters: “{too_long[0][:TAG_NAME_MAX]}…”."
            )
        return names

    def issue_fields(self) -> dict:
        return {field: self.cleaned_data[field] for field in ISSUE_FIELDS}

    @staticmethod
    def initial_for(issue: Issue) -> dict:
        initial = {field: getattr(issue, field) for field in ISSUE_FIELDS}
        return {**initial, "tags": ", ".join(tag.name for tag in issue.tags.all()), "version": issue.version}


class IssueCreateForm(IssueForm):
    attachments = AttachmentsField(required=False)


class IssueEditForm(IssueForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class AttachmentForm(forms.Form):
    attachments = AttachmentsField(error_messages={"required": "Choose at least one file to attach."})


class LinkForm(forms.Form):
    kind = forms.ChoiceField(choices=list(ARTEFACT_LABELS.items()))
    artefact = forms.IntegerField(min_value=1)
    q = forms.CharField(required=False, max_length=200)  # the search to show again after linking


class LinkSearchForm(forms.Form):
    kind = forms.ChoiceField(choices=list(ARTEFACT_LABELS.items()), initial="case", label="Find")
    q = forms.CharField(required=False, max_length=200, label="matching")


class IssueFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), (UNRESOLVED, "Open or in progress"), *IssueStatus.choices],
    )
    priority = forms.ChoiceField(required=False, choices=[("", "Any priority"), *IssuePriority.choices])
    tag = forms.ModelChoiceField(queryset=None, required=False, to_field_name="name", empty_label="Any tag")
    assignee = forms.ChoiceField(required=False)
    source = forms.ChoiceField(required=False, help_text="Status, priority, tag and assignee are of internal issues.")
    category = forms.ChoiceField(required=False, choices=[("", "Any status category"), *StatusCategory.choices])

    def __init__(self, *args, project, sources=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = Tag.objects.filter(project=project)
        self.fields["source"].choices = [("", "Internal and trackers"), (INTERNAL, "Internal issues")] + [
            (str(pk), name) for pk, name in sources
        ]
        self.fields["assignee"].choices = [("", "Anyone"), (UNASSIGNED, "Unassigned")] + [
            (str(user.pk), user.get_full_name() or user.get_username()) for user in members_of(project)
        ]


# --- Filing in and linking to trackers ------------------------------------------------------


def _json_safe(value):
    """A cleaned form value as a job stores it (JSON); filing.typed_value turns it back."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _comma_separated(value: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


class TrackerIssueForm(forms.Form):
    """A tracker's create screen: its issue type, title and description, then the fields the tracker
    lists for that type (``RemoteField``), each as the form field of its kind, required ones first.

    Form fields are named ``field_<id>``; ``values()`` gives what was entered by tracker field id,
    ``add_tracker_error`` puts a tracker's field errors next to the fields they are about.
    """

    marker = forms.CharField(widget=forms.HiddenInput, validators=[RegexValidator(MARKER_PATTERN)])

    def __init__(
        self,
        *args,
        discovery,
        fills: Mapping[str, str],
        tracker: str,
        users_url: str = "",
        prefill: Mapping | None = None,
        with_text: bool = True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        prefill = prefill or {}
        self.tracker = tracker
        self.fills = fills
        self.remote: dict[str, RemoteField] = {}  # form field name -> tracker field
        self.unfillable: list[str] = []  # required fields testmanager cannot fill
        choices = [(issue_type.id, issue_type.name) for issue_type in discovery.issue_types]
        if discovery.issue_type is None:
            choices.insert(0, ("", "Choose…"))
        self.fields["issue_type"] = forms.ChoiceField(
            label="Issue type",
            choices=choices,
            initial=discovery.issue_type.id if discovery.issue_type else "",
            widget=forms.HiddenInput if len(discovery.issue_types) == 1 else forms.Select,
        )
        self.fields["marker"].initial = prefill.get("marker", "")
        labels = {fills.get(field.id): field.name for field in discovery.fields if fills.get(field.id)}
        if with_text:
            self.fields["title"] = forms.CharField(
                label=labels.get("title", "Title"), max_length=TITLE_MAX, initial=prefill.get("title", "")
            )
            self.fields["description"] = forms.CharField(
                label=labels.get("description", "Description"),
                required=False,
                initial=prefill.get("description", ""),
                widget=forms.Textarea(attrs={"rows": 14}),
                help_text=f"Markdown; {tracker} receives it in its own format.",
            )
        values = prefill.get("values", {})
        ordered = sorted(discovery.fields, key=lambda field: not field.required)
        for remote in ordered:
            if fills.get(remote.id) in ("title", "description"):
                continue
            built = self._field_for(remote, users_url)
            if built is None:
                if remote.required:
                    self.unfillable.append(remote.name)
                continue
            name = self._name_for(remote.id)
            if remote.id in values:
                built.initial = values[remote.id]
            self.fields[name] = built
            self.remote[name] = remote

    def _name_for(self, field_id: str) -> str:
        name = "field_" + re.sub(r"[^A-Za-z0-9_]", "_", field_id)
        while name in self.fields:
            name += "_"
        return name

    def _field_for(self, remote: RemoteField, users_url: str) -> forms.Field | None:
        common = {"label": remote.name, "required": remote.required}
        allowed = [(value, value) for value in remote.allowed_values]
        kind = remote.kind
        if kind in ("select", "user") and allowed:
            return forms.ChoiceField(choices=[("", "Choose…" if remote.required else "—")] + allowed, **common)
        if kind in ("multi_select", "multi_user") and allowed:
            return forms.MultipleChoiceField(choices=allowed, **common)
        if kind == "checkboxes":
            return forms.MultipleChoiceField(choices=allowed, widget=forms.CheckboxSelectMultiple, **common)
        if kind in ("user", "multi_user"):
            multiple = kind == "multi_user"
            attrs = {"autocomplete": "off", "data-user-search": users_url, "class": "user-picker"}
            if multiple:
                attrs["data-multiple"] = "true"
            return forms.CharField(
                widget=forms.TextInput(attrs=attrs),
                max_length=1000,
                **common,
                help_text=f"Type a name or e-mail address: {self.tracker} accounts that match are suggested"
                + (" (one or more, comma-separated)." if multiple else "."),
            )
        if kind == "labels":
            hint = f" Known: {', '.join(remote.allowed_values[:20])}." if remote.allowed_values else ""
            return forms.CharField(max_length=1000, help_text=f"Comma-separated.{hint}", **common)
        if kind == "number":
            return forms.FloatField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
        if kind == "date":
            return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        if kind == "datetime":
            return forms.DateTimeField(
                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                **common,
            )
        if kind == "rich_text":
            return forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), help_text="Markdown.", **common)
        if kind == "text":
            return forms.CharField(max_length=10000, **common)
        return None

    def clean(self):
        cleaned = super().clean()
        if self.unfillable:
            raise forms.ValidationError(
                f"{self.tracker} requires {', '.join(self.unfillable)}, which testmanager cannot fill: ask the "
                f"{self.tracker} administrators to give it a default value or take it off the create screen."
            )
        return cleaned

    def values(self) -> dict:
        """What was entered, by tracker field id, as JSON-safe values; empty fields left out."""
        found = {}
        for name, remote in self.remote.items():
            value = self.cleaned_data.get(name)
            if remote.kind in ("labels", "multi_user") and isinstance(value, str):
                value = _comma_separated(value)
            if value in (None, "", []):
                continue
            found[remote.id] = _json_safe(value)
        return found

    def kinds(self) -> dict[str, str]:
        return {remote.id: remote.kind for remote in self.remote.values()}

    def add_tracker_error(self, error) -> None:
        """The tracker's message as the form's error, and each field error next to its field (by
        tracker field id, or by the draft attribute the field fills)."""
        by_id = {remote.id: name for name, remote in self.remote.items()}
        by_attribute = {self.fills[remote.id]: name for name, remote in self.remote.items() if remote.id in self.fills}
        by_attribute.update({"title": "title", "description": "description"})
        placed = []
        for field_id, problem in error.field_errors.items():
            name = by_id.get(field_id) or by_attribute.get(self.fills.get(field_id, field_id))
            if field_id in ("issuetype", "issue_type"):
                name = "issue_type"
            if name in self.fields:
                self.add_error(name, problem)
                placed.append(problem)
        if not placed or str(error) not in " ".join(placed):
            self.add_error(None, str(error))


class BulkFilingForm(TrackerIssueForm):
    """Filing several failed results of a run: which ones, one issue each or one for all, and the
    tracker fields every issue gets (titles and descriptions are written per result)."""

    def __init__(self, *args, results, **kwargs):
        super().__init__(*args, with_text=False, **kwargs)
        self.fields["results"] = forms.ModelMultipleChoiceField(
            queryset=results,
            widget=forms.CheckboxSelectMultiple,
            label="Results",
            error_messages={"required": "Choose at least one result."},
        )
        self.fields["results"].label_from_instance = lambda result: (
            f"{result.case.title} ({result.get_status_display().lower()})"
        )
        self.fields["mode"] = forms.ChoiceField(
            choices=FilingMode.choices,
            initial=FilingMode.EACH,
            widget=forms.RadioSelect,
            label="File",
        )
        self.order_fields(["results", "mode", "issue_type"])


class LinkIssueForm(forms.Form):
    """An existing tracker issue to link, by key; a title only where the tracker cannot be read."""

    key = forms.CharField(max_length=200, label="Issue key")
    title = forms.CharField(
        max_length=500,
        required=False,
        label="Title",
        help_text="This tracker is not read by testmanager: name the issue as you want to see it.",
    )

    def __init__(self, *args, reads_details: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if reads_details:
            del self.fields["title"]


class MoveLinksForm(forms.Form):
    """The "Move links to another source" admin page: the target and the key rule (issues.source_moves)."""

    target = forms.ModelChoiceField(queryset=None, label="Move to", empty_label="Choose the source to move to")
    pattern = forms.CharField(
        required=False,
        max_length=200,
        label="Rewrite keys matching",
        help_text="Blank: every key stays as it is. Otherwise an RE2 regular expression the whole key must match, "
        "e.g. JIRA-([A-Z]+-\\d+); keys it does not match stay as they are.",
    )
    replacement = forms.CharField(
        required=False,
        max_length=200,
        label="into",
        help_text="The new key; \\1 (or \\g<name>) is what the pattern's first (or named) group matched.",
    )

    def __init__(self, *args, source, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source
        self.fields["target"].queryset = Source.objects.exclude(pk=source.pk).order_by("name")

    def clean(self):
        data = super().clean()
        try:
            data["rule"] = source_moves.key_rule(data.get("pattern", ""), data.get("replacement", ""))
        except ValidationError as error:
            self.add_error(None, error)
        if data.get("target") is not None:
            try:
                source_moves.check_target(self.source, data["target"])
            except ValidationError as error:
                self.add_error(None, error)
        return data
