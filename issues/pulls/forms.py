"""Forms of the pull settings and of a requirement's coverage; pulls.requirements, pulls.bugs and
pulls.coverage write."""

from django import forms
from django.urls import reverse

from integrations.providers import provider_class
from issues.pulls.models import BugPullSettings, PullSettings, StatusFrom
from issues.pulls.requirements import parse_state_mapping, state_mapping_to_text
from projects.models import RequirementState

FIELD_MAX = PullSettings._meta.get_field("release_field").max_length


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


class PullSettingsForm(forms.Form):
    pull_requirements = forms.BooleanField(
        required=False,
        label="Pull requirements",
        help_text="New work items become requirements; the tracker owns their title and description while connected.",
    )
    requirements_filter = forms.CharField(required=False, label="Filter", widget=forms.Textarea(attrs={"rows": 3}))
    requirement_types = forms.CharField(
        required=False,
        label="Work item types",
        help_text="Comma-separated, e.g. Story, Epic; empty: every type.",
    )
    state_mapping = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One line per requirement state: “state = tracker status, tracker status” with states "
        f"{', '.join(RequirementState.values)}. Other statuses map by their category: to do is draft, "
        "in progress and done are active.",
    )
    release_field = forms.CharField(
        required=False,
        max_length=FIELD_MAX,
        help_text="The field naming the release.",
    )
    release_date_field_1 = forms.CharField(required=False, max_length=FIELD_MAX, label="Release date from")
    release_date_field_2 = forms.CharField(required=False, max_length=FIELD_MAX, label="else from")
    release_date_field_3 = forms.CharField(
        required=False,
        max_length=FIELD_MAX,
        label="else from",
        help_text="Up to three fields in priority order; the first with a date wins (a version's release date, "
        "a date field).",
    )
    sprint_field = forms.CharField(required=False, max_length=FIELD_MAX, help_text="The field naming the sprint.")
    comment_linked_tests = forms.BooleanField(
        required=False,
        label="Comment covering tests",
        help_text="List the test cases covering a pulled requirement in one comment on its work item, edited when "
        "they change (needs the source's “add comments” capability).",
    )
    pull_bugs = forms.BooleanField(
        required=False,
        label="Pull bugs",
        help_text="Bugs the filter selects are listed with the project's issues.",
    )
    bugs_filter = forms.CharField(required=False, label="Bug filter", widget=forms.Textarea(attrs={"rows": 3}))
    bug_types = forms.CharField(
        required=False,
        label="Bug types",
        help_text="Comma-separated, e.g. Bug; empty: every type.",
    )
    severity_field = forms.CharField(
        required=False,
        max_length=FIELD_MAX,
        help_text="The field holding the severity, mapped by the severity table of the field mappings (not the "
        "priority mapping); empty: the tracker's priority, mapped by the priority mapping.",
    )
    resolution_field = forms.CharField(required=False, max_length=FIELD_MAX, help_text="e.g. resolution.")
    status_from = forms.ChoiceField(
        label="Status decided by",
        required=False,
        choices=StatusFrom.choices,
        initial=StatusFrom.STATUS,
        widget=forms.RadioSelect,
        help_text="Choose the resolution where a bug can reach a done status without being resolved, or be "
        "resolved in any status.",
    )

    def __init__(self, *args, integration, settings: PullSettings, bug_settings: BugPullSettings, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "pull_bugs": integration.pull_bugs,
                "bugs_filter": integration.bugs_filter,
                "bug_types": ", ".join(bug_settings.bug_types),
                "severity_field": bug_settings.severity_field,
                "resolution_field": bug_settings.resolution_field,
                "status_from": bug_settings.status_from,
                "pull_requirements": integration.pull_requirements,
                "requirements_filter": integration.requirements_filter,
                "requirement_types": ", ".join(settings.requirement_types),
                "state_mapping": state_mapping_to_text(settings.state_mapping),
                "release_field": settings.release_field,
                "sprint_field": settings.sprint_field,
                "comment_linked_tests": integration.comment_linked_tests,
                **{f"release_date_field_{number}": name for number, name in enumerate(settings.release_date_fields, 1)},
            },
        )
        super().__init__(*args, **kwargs)
        provider = provider_class(integration.source.provider)
        if provider.pull_filter_hint:
            self.fields["requirements_filter"].help_text = provider.pull_filter_hint
            self.fields["bugs_filter"].help_text = provider.pull_filter_hint
        if provider.pull_field_hint:
            self.fields["release_field"].help_text = f"The field naming the release. {provider.pull_field_hint}"
        self._attach_pickers(integration, settings, bug_settings)

    def _attach_pickers(self, integration, settings: PullSettings, bug_settings: BugPullSettings) -> None:
        """Mark the types and fields for static/integrations/tracker_pickers.js, which offers the tracker's
        own (its work item types; the fields of a requirement's or a bug's type) as lists; they stay text
        inputs without JavaScript or when the tracker will not list."""
        common = {
            "data-options-url": reverse("api-project-tracker-options", args=[integration.project.key]),
            "data-source": str(integration.source_id),
            "data-project": integration.external_project,
        }
        requirement_type = next(iter(settings.requirement_types), "") or integration.default_issue_type
        bug_type = next(iter(bug_settings.bug_types), "") or integration.default_issue_type
        pickers = {
            "requirement_types": {"data-pick": "issue_types", "data-pick-multiple": ""},
            "bug_types": {"data-pick": "issue_types", "data-pick-multiple": ""},
            **{
                name: {"data-pick": "fields", "data-issue-type": requirement_type}
                for name in ("release_field", "sprint_field", *(f"release_date_field_{n}" for n in (1, 2, 3)))
            },
            **{
                name: {"data-pick": "fields", "data-issue-type": bug_type}
                for name in ("severity_field",)  # a resolution is not on create screens: typed
            },
        }
        for name, attrs in pickers.items():
            self.fields[name].widget.attrs.update({**common, **attrs})

    # The form's two sections: each switched on by its toggle, whose other fields only matter while it is on.
    SECTIONS = (
        (
            "requirements",
            "Requirements",
            "pull_requirements",
            (
                "requirements_filter",
                "requirement_types",
                "state_mapping",
                "release_field",
                "release_date_field_1",
                "release_date_field_2",
                "release_date_field_3",
                "sprint_field",
                "comment_linked_tests",
            ),
        ),
        (
            "bugs",
            "Bugs",
            "pull_bugs",
            ("bugs_filter", "bug_types", "severity_field", "resolution_field", "status_from"),
        ),
    )

    def sections(self) -> list[dict]:
        """The sections as the page lays them out (a fieldset each; its fields hidden while its toggle is
        off, unless one of them has an error to show); fields of neither section come after them."""
        placed = set()
        found = []
        for key, title, toggle, names in self.SECTIONS:
            fields = [self[name] for name in names if name in self.fields]
            placed.update([toggle, *names])
            found.append(
                {
                    "key": key,
                    "title": title,
                    "toggle": self[toggle],
                    "fields": fields,
                    "has_errors": any(field.errors for field in fields),
                }
            )
        self.other_fields = [field for field in self if field.name not in placed]
        return found

    def clean(self):
        data = super().clean()
        if data.get("status_from") == StatusFrom.RESOLUTION and not data.get("resolution_field"):
            self.add_error("resolution_field", "Name the resolution field: the resolution is to decide the status.")
        return data

    def clean_state_mapping(self):
        return parse_state_mapping(self.cleaned_data["state_mapping"])

    def settings(self) -> dict:
        """The cleaned values as pulls.requirements.save_settings takes them."""
        data = self.cleaned_data
        return {
            "pull_requirements": data["pull_requirements"],
            "requirements_filter": data["requirements_filter"],
            "requirement_types": _names(data["requirement_types"]),
            "state_mapping": data["state_mapping"],
            "release_field": data["release_field"],
            "release_date_fields": [data[f"release_date_field_{number}"] for number in (1, 2, 3)],
            "sprint_field": data["sprint_field"],
            "comment_linked_tests": data["comment_linked_tests"],
        }

    def bug_settings(self) -> dict:
        """The cleaned values as pulls.bugs.save_bug_settings takes them."""
        data = self.cleaned_data
        return {
            "pull_bugs": data["pull_bugs"],
            "bugs_filter": data["bugs_filter"],
            "bug_types": _names(data["bug_types"]),
            "severity_field": data["severity_field"],
            "resolution_field": data["resolution_field"],
            "status_from": data["status_from"] or StatusFrom.STATUS,
        }


class CaseSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Find test cases")


class CoverForm(forms.Form):
    case = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
