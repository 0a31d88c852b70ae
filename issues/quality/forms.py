"""Forms of failure triage: known-failure rules and the recurring-failure actions."""

from django import forms

from issues.quality.known_failures import RECENT_RUNS, check_pattern, issue_side_in
from issues.quality.models import KnownFailureRule


class KnownFailureRuleForm(forms.Form):
    pattern = forms.CharField(
        max_length=KnownFailureRule._meta.get_field("pattern").max_length,
        label="Failure message pattern",
        help_text="RE2 regular expression searched in the failure message and stack trace (the result's comment), "
        "e.g. Connection refused.*:5432",
    )
    test_pattern = forms.CharField(
        required=False,
        max_length=KnownFailureRule._meta.get_field("test_pattern").max_length,
        label="Test name pattern",
        help_text="Optional: RE2 regular expression searched in the test's title or automation key, e.g. ^checkout\\.",
    )
    issue = forms.CharField(
        max_length=200,
        label="Known issue",
        help_text="An internal issue (SHOP-12) or the key of a tracker issue linked in this project (JIRA-7).",
    )
    apply_to_recent_runs = forms.BooleanField(
        required=False,
        initial=True,
        label=f"Also recognize the failures of the last {RECENT_RUNS} runs",
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_pattern(self):
        return check_pattern(self.cleaned_data["pattern"].strip())

    def clean_test_pattern(self):
        text = self.cleaned_data["test_pattern"].strip()
        return check_pattern(text) if text else ""

    def clean_issue(self):
        return issue_side_in(self.project, self.cleaned_data["issue"])


class RecurrenceActionForm(forms.Form):
    action = forms.ChoiceField(choices=[("reopen", "Reopen"), ("follow_up", "File a follow-up")])
    result = forms.IntegerField(min_value=1)
    original = forms.RegexField(regex=r"^(issue|reference)-\d+$")
