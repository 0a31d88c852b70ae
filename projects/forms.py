"""Forms of the project pages: they parse and validate input; services do the writes."""

import re
from datetime import timedelta

from django import forms
from oauth2_provider.forms import ApplicationForm as OAuthApplicationForm
from oauth2_provider.models import Application as OAuthApplication

from .models import (
    CaseFieldKind,
    CasePriority,
    Milestone,
    Requirement,
    RequirementState,
    ResultStatus,
    TestCase,
    TestPlan,
    TestRun,
)
from .oauth_clients import service_user_problem

MAX_DURATION = timedelta(days=7)
_UNITS = re.compile(r"^(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s?)?$")
_CLOCK = re.compile(r"^(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d{1,2}(?:\.\d+)?)$")


def parse_duration_text(text: str) -> timedelta | None:
    """'90', '90s', '1m 30s', '1h 2m', '1:30' or '1:02:03'; None for an empty text.

    Raises forms.ValidationError with an example of what is accepted.
    """
    text = text.strip().lower()
    if not text:
        return None
    match = len(text) <= 50 and (_CLOCK.match(text) or _UNITS.match(text))
    if not match or not any(match.groupdict().values()):
        raise forms.ValidationError("Enter a duration such as 45, 45s, 1m 30s, 1h 5m or 1:30.", code="invalid_duration")
    parts = {unit: float(value) for unit, value in match.groupdict().items() if value}
    seconds = parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)
    if seconds > MAX_DURATION.total_seconds():
        raise forms.ValidationError("A single test result cannot take longer than 7 days.", code="duration_too_long")
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta | None) -> str:
    """'1h 2m 3s', '1m 30s', '2.5s': the same notation the duration field accepts."""
    if duration is None:
        return ""
    total = duration.total_seconds()
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{int(hours)}h" if hours else "", f"{int(minutes)}m" if minutes else ""]
    if seconds or not (hours or minutes):
        parts.append(f"{round(seconds, 3):g}s")
    return " ".join(part for part in parts if part)


class DurationTextField(forms.Field):
    widget = forms.TextInput

    def prepare_value(self, value):
        return format_duration(value) if isinstance(value, timedelta) else value

    def to_python(self, value):
        return parse_duration_text(str(value or ""))


class CaseFilterForm(forms.Form):
    folder = forms.CharField(required=False, max_length=500)
    q = forms.CharField(required=False, max_length=200, label="Search")


CUSTOM_PREFIX = "custom_"


def _custom_form_field(field) -> forms.Field:
    """The form input of one of the project's custom fields (projects.models.CaseField)."""
    common = {"label": field.label, "required": False}
    if field.kind == CaseFieldKind.CHECKBOX:
        return forms.BooleanField(**common)
    if field.kind == CaseFieldKind.NUMBER:
        return forms.DecimalField(**common)
    if field.kind == CaseFieldKind.SELECT:
        return forms.ChoiceField(choices=[("", "—"), *((option, option) for option in field.options)], **common)
    return forms.CharField(max_length=2000, **common)


class CaseForm(forms.Form):
    """A case's fields; its steps come from StepFormSet, its custom fields are added per project."""

    title = forms.CharField(max_length=TestCase._meta.get_field("title").max_length)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "data-markdown-editor": ""}),
        help_text="What the case checks. Markdown.",
    )
    folder = forms.CharField(
        required=False,
        max_length=500,
        help_text="Slash-separated path, e.g. Checkout/Payment.",
    )
    priority = forms.ChoiceField(choices=CasePriority.choices, initial=CasePriority.MEDIUM)
    case_type = forms.ModelChoiceField(queryset=None, required=False, label="Type", empty_label="—")
    estimate = DurationTextField(required=False, help_text="How long running it takes, e.g. 1m 30s.")
    preconditions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "data-markdown-editor": ""}), help_text="Markdown."
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case_type"].queryset = project.case_types.all()
        self.custom_fields = list(project.case_fields.all())
        for field in self.custom_fields:
            self.fields[CUSTOM_PREFIX + field.name] = _custom_form_field(field)

    @classmethod
    def initial_of(cls, case) -> dict:
        """The form's initial values for an existing case."""
        initial = {name: getattr(case, name) for name in ("title", "description", "folder", "priority", "estimate")}
        initial.update(case_type=case.case_type_id, preconditions=case.preconditions)
        initial.update((CUSTOM_PREFIX + name, value) for name, value in case.custom_fields.items())
        return initial

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if not title:
            raise forms.ValidationError("A test case needs a title.")
        return title

    def case_fields(self) -> dict:
        """The cleaned values as projects.services.create_case / update_case take them (steps aside)."""
        data = dict(self.cleaned_data)
        custom = {}
        for field in self.custom_fields:
            value = data.pop(CUSTOM_PREFIX + field.name)
            if field.kind == CaseFieldKind.CHECKBOX:
                custom[field.name] = bool(value)
            elif value not in (None, ""):
                custom[field.name] = float(value) if field.kind == CaseFieldKind.NUMBER else value
        data["custom_fields"] = custom
        return data


class StepForm(forms.Form):
    action = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Action")
    expected = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Expected result")


class BaseStepFormSet(forms.BaseFormSet):
    def steps(self) -> list[dict]:
        """The filled rows in order; rows left empty are not steps."""
        return [
            {"action": form.cleaned_data.get("action", ""), "expected": form.cleaned_data.get("expected", "")}
            for form in self.forms
            if form.cleaned_data.get("action", "").strip() or form.cleaned_data.get("expected", "").strip()
        ]


# Three empty rows below the steps for new ones; without JavaScript, saving adds three more.
StepFormSet = forms.formset_factory(StepForm, formset=BaseStepFormSet, extra=3, max_num=500, validate_max=True)


class RunForm(forms.Form):
    name = forms.CharField(max_length=TestRun._meta.get_field("name").max_length)
    environment = forms.CharField(required=False, max_length=200, help_text="e.g. staging, Chrome 131.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    folder = forms.ChoiceField(
        required=False,
        label="Cases",
        help_text="The run starts with one untested result per case.",
    )
    milestone = forms.ModelChoiceField(queryset=Milestone.objects.none(), required=False, empty_label="None")

    def __init__(self, *args, folders=(), milestones=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["folder"].choices = [("", "All test cases")] + [
            (folder["path"], f"{folder['path']} ({folder['count']})") for folder in folders
        ]
        self.fields["milestone"].queryset = milestones if milestones is not None else Milestone.objects.none()


class ResultForm(forms.Form):
    status = forms.ChoiceField(choices=ResultStatus.choices)
    duration = DurationTextField(
        required=False,
        help_text="e.g. 45s, 1m 30s or 1:30. Leave empty if unknown.",
    )
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What actually happened.",
    )

    STEP_STATUSES = [("", "—"), *((s.value, s.label) for s in ResultStatus if s != ResultStatus.UNTESTED)]

    def __init__(self, *args, steps=(), **kwargs):
        """`steps`: the case's steps (or the result's step results), each getting a status select."""
        super().__init__(*args, **kwargs)
        self.steps = list(steps)
        for number, step in enumerate(self.steps, start=1):
            summary = (step.get("action") or step.get("expected") or "").splitlines()[0][:80]
            self.fields[f"step_{number}"] = forms.ChoiceField(
                choices=self.STEP_STATUSES, required=False, label=f"Step {number}: {summary}"
            )

    @staticmethod
    def initial_steps(step_results) -> dict:
        return {f"step_{n}": step.get("status", "") for n, step in enumerate(step_results, start=1)}

    def result_fields(self) -> dict:
        """Status, comment, duration, and the steps with their statuses when the case has steps."""
        data = {name: self.cleaned_data[name] for name in ("status", "comment", "duration")}
        if self.steps:
            data["step_results"] = [
                {"action": step.get("action", ""), "expected": step.get("expected", ""), "status": status}
                for number, step in enumerate(self.steps, start=1)
                for status in [self.cleaned_data[f"step_{number}"]]
            ]
        return data


class RunResultFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ResultStatus.choices])


class RequirementFilterForm(forms.Form):
    folder = forms.CharField(required=False, max_length=500)
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *RequirementState.choices])
    q = forms.CharField(required=False, max_length=200, label="Search")


class QuickResultForm(forms.Form):
    """One change from the run page: a status button, or the row's comment or duration edited in place.
    Only the fields sent are changed."""

    status = forms.ChoiceField(required=False, choices=ResultStatus.choices)
    comment = forms.CharField(required=False, strip=False)
    duration = DurationTextField(required=False)

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields if name in self.data}


class BulkResultForm(forms.Form):
    """Several results of a run at once: one status for all, one assignee for all, or issues filed for them."""

    SET_STATUS, ASSIGN, FILE = "status", "assign", "file"

    result = forms.ModelMultipleChoiceField(queryset=None, error_messages={"required": "Select at least one result."})
    action = forms.ChoiceField(choices=[(SET_STATUS, "Set status"), (ASSIGN, "Assign"), (FILE, "Create issues")])
    status = forms.ChoiceField(required=False, choices=[("", "Status…"), *ResultStatus.choices])
    assignee = forms.ModelChoiceField(queryset=None, required=False, empty_label="Nobody")

    def __init__(self, *args, results, executors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["result"].queryset = results
        self.fields["assignee"].queryset = executors

    def clean(self):
        data = super().clean()
        if data.get("action") == self.SET_STATUS and not data.get("status"):
            self.add_error("status", "Choose the status to set.")
        return data


class MilestoneForm(forms.ModelForm):
    class Meta:
        model = Milestone
        fields = ["name", "start_date", "due_date", "description"]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "due_date": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {"description": "Markdown.", "due_date": "On or after the start date."}

    def clean(self):
        data = super().clean()
        start, due = data.get("start_date"), data.get("due_date")
        if start and due and due < start:
            self.add_error("due_date", "The due date cannot be before the start date.")
        return data

    def _post_clean(self):
        # The services write; the form only validates what it was given.
        pass


class RequirementForm(forms.ModelForm):
    """A requirement written here; a pulled one shows its tracker-owned title and description read-only."""

    class Meta:
        model = Requirement
        fields = ["title", "folder", "description", "state", "priority"]
        widgets = {"description": forms.Textarea(attrs={"rows": 8, "data-markdown-editor": ""})}
        help_texts = {"description": "Markdown."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        requirement = self.instance
        if requirement.pk and requirement.origin_read_only:
            for name in ("title", "description"):
                self.fields[name].disabled = True
                self.fields[name].help_text = f"Kept in sync by {requirement.origin_tracker or 'the tracker'}."

    def _post_clean(self):
        pass


class PlanForm(forms.ModelForm):
    class Meta:
        model = TestPlan
        fields = ["name", "milestone", "runs", "description"]
        widgets = {
            "runs": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"runs": "The runs this plan is made of."}

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["milestone"].queryset = Milestone.objects.filter(project=project)
        self.fields["runs"].queryset = TestRun.objects.filter(project=project).order_by("-created_at", "-id")
        self.fields["runs"].required = False

    def _post_clean(self):
        pass


class CaseTypeForm(forms.Form):
    name = forms.CharField(max_length=100, label="New case type")


class CaseFieldForm(forms.Form):
    label = forms.CharField(max_length=100)
    name = forms.SlugField(
        max_length=50, help_text="Key in the API and in filing placeholders ({custom.browser}), e.g. browser."
    )
    kind = forms.ChoiceField(choices=CaseFieldKind.choices, label="Kind")
    options = forms.CharField(
        required=False, max_length=2000, help_text="A select field's choices, separated by commas."
    )

    def clean_options(self):
        return [option.strip() for option in self.cleaned_data["options"].split(",") if option.strip()]


class ApiClientForm(OAuthApplicationForm):
    """An OAuth API client registered in the admin: client credentials for a machine (acting as the
    service user chosen in `user`) or authorization code with PKCE for a tool acting as the member
    who consents. The grants RFC 9700 retires (implicit, password) and OpenID hybrid are refused here
    rather than at the first token request."""

    SUPPORTED_GRANTS = {
        OAuthApplication.GRANT_CLIENT_CREDENTIALS: "client credentials",
        OAuthApplication.GRANT_AUTHORIZATION_CODE: "authorization code",
    }

    def clean(self):
        cleaned = super().clean()
        grant = cleaned.get("authorization_grant_type")
        if grant and grant not in self.SUPPORTED_GRANTS:
            self.add_error(
                "authorization_grant_type",
                "API clients use client credentials (machines) or authorization code with PKCE (tools acting as a "
                "member); other grants are refused.",
            )
        if grant == OAuthApplication.GRANT_CLIENT_CREDENTIALS:
            problem = service_user_problem(cleaned.get("user"))
            if problem:
                self.add_error("user", problem)
            if cleaned.get("client_type") != OAuthApplication.CLIENT_CONFIDENTIAL:
                self.add_error("client_type", "A client-credentials application is confidential: it holds a secret.")
        return cleaned
