"""Forms of the internal issue pages: they parse and validate input; core.services and
links.services do the writes."""

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.template.defaultfilters import filesizeformat

from issues.core.artefacts import ARTEFACT_LABELS
from issues.core.models import Issue, IssuePriority, IssueStatus, StatusCategory, Tag
from issues.core.selectors import INTERNAL, UNASSIGNED, UNRESOLVED, members_of

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
        widget=forms.Textarea(attrs={"rows": 12, "data-markdown-editor": ""}),
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
    category = forms.ChoiceField(
        required=False, label="Status category", choices=[("", "Any status category"), *StatusCategory.choices]
    )

    def __init__(self, *args, project, sources=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = Tag.objects.filter(project=project)
        self.fields["source"].choices = [("", "Internal and trackers"), (INTERNAL, "Internal issues")] + [
            (str(pk), name) for pk, name in sources
        ]
        self.fields["assignee"].choices = [("", "Anyone"), (UNASSIGNED, "Unassigned")] + [
            (str(user.pk), user.get_full_name() or user.get_username()) for user in members_of(project)
        ]
