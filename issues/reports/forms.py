"""The traceability matrix's filters, and a test case's coverage of requirements."""

from django import forms

from issues.reports.traceability import COVERAGE_STATUSES
from projects.models import RequirementState


class MatrixFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    release = forms.ChoiceField(required=False)
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *RequirementState.choices])
    coverage = forms.ChoiceField(required=False, choices=[("", "Any coverage"), *COVERAGE_STATUSES.items()])

    def __init__(self, *args, releases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["release"].choices = [("", "Every release"), *((name, name) for name in releases)]


class CaseCoverageForm(forms.Form):
    """A requirement the test case starts (or, with `remove`, stops) covering."""

    requirement = forms.IntegerField(min_value=1, max_value=2**63 - 1, label="Requirement")
    remove = forms.BooleanField(required=False, widget=forms.HiddenInput)
