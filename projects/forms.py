"""Forms of the project pages: they parse and validate input; services do the writes."""

import re
from datetime import timedelta

from django import forms

from .models import RequirementState, ResultStatus, TestCase, TestRun

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


class CaseForm(forms.Form):
    title = forms.CharField(max_length=TestCase._meta.get_field("title").max_length)
    folder = forms.CharField(
        required=False,
        max_length=500,
        help_text="Slash-separated path, e.g. Checkout/Payment.",
    )
    preconditions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Markdown.")
    steps = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}), help_text="Markdown.")
    expected_result = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Markdown.")

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if not title:
            raise forms.ValidationError("A test case needs a title.")
        return title


class RunForm(forms.Form):
    name = forms.CharField(max_length=TestRun._meta.get_field("name").max_length)
    environment = forms.CharField(required=False, max_length=200, help_text="e.g. staging, Chrome 131.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    folder = forms.ChoiceField(
        required=False,
        label="Cases",
        help_text="The run starts with one untested result per case.",
    )

    def __init__(self, *args, folders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["folder"].choices = [("", "All test cases")] + [
            (folder["path"], f"{folder['path']} ({folder['count']})") for folder in folders
        ]


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


class RunResultFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ResultStatus.choices])


class RequirementFilterForm(forms.Form):
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *RequirementState.choices])
    q = forms.CharField(required=False, max_length=200, label="Search")
