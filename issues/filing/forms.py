"""Forms of filing: create a tracker issue (fields read from the tracker), file a run's failures in
bulk, link an existing tracker issue."""

import re
from collections.abc import Mapping
from datetime import date, datetime

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.template.defaultfilters import filesizeformat

from integrations.providers.base import RemoteField
from issues.core.forms import AttachmentsField
from issues.filing.drafts import TITLE_MAX
from issues.filing.models import FilingMode
from issues.filing.services import MARKER_PATTERN


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
        takes_files: bool = False,
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
        if with_text and takes_files:
            self.fields["files"] = AttachmentsField(
                label="Files",
                required=False,
                help_text=f"Screenshots, logs: sent to {tracker} with the issue, "
                f"up to {filesizeformat(settings.ATTACHMENT_MAX_BYTES)} each.",
            )

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
