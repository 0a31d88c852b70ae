"""API shapes of a project integration's pull settings (``pulls.pull_settings`` writes them)."""

from rest_framework import serializers

from issues.pulls.models import PullSettings, StatusFrom
from issues.pulls.requirements import validate_state_mapping

FIELD_MAX = PullSettings._meta.get_field("release_field").max_length


def _names(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=FIELD_MAX), **kwargs)


class PullSettingsSerializer(serializers.Serializer):
    """What the integration pulls: requirements (its filter, types, state mapping, the fields naming
    releases, their dates and sprints) and bugs (its filter, types, severity and resolution fields).
    Filters are in the tracker's own terms; on a write each filter in use is checked by a dry run
    against the tracker (``filter_checks``). Fields left out of a PUT keep their values."""

    pull_requirements = serializers.BooleanField(help_text="Whether work items become requirements.")
    requirements_filter = serializers.CharField(
        allow_blank=True, help_text="JQL, a WIQL condition, GitHub qualifiers, GitLab parameters or Linear terms."
    )
    requirement_types = _names(help_text="Work item types; empty: every type.")
    state_mapping = serializers.JSONField(help_text='{"draft"|"active"|"deprecated"|...: ["<tracker status>", ...]}')
    release_field = serializers.CharField(allow_blank=True, max_length=FIELD_MAX)
    release_date_fields = _names(max_length=PullSettings.MAX_RELEASE_DATE_FIELDS)
    sprint_field = serializers.CharField(allow_blank=True, max_length=FIELD_MAX)
    comment_linked_tests = serializers.BooleanField(help_text="Comment the covering test cases on each work item.")
    pull_bugs = serializers.BooleanField(help_text="Whether the filter's bugs are listed with the project's issues.")
    bugs_filter = serializers.CharField(allow_blank=True)
    bug_types = _names(help_text="Work item types; empty: every type.")
    severity_field = serializers.CharField(allow_blank=True, max_length=FIELD_MAX)
    resolution_field = serializers.CharField(allow_blank=True, max_length=FIELD_MAX)
    status_from = serializers.ChoiceField(
        choices=StatusFrom.choices, help_text="Whether the tracker's status or its resolution decides a bug's status."
    )
    requirements_last_pulled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    requirements_last_error = serializers.CharField(read_only=True)
    bugs_last_pulled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    bugs_last_error = serializers.CharField(read_only=True)

    def validate_state_mapping(self, value):
        return validate_state_mapping(value)  # DRF reports Django's ValidationError under the field


class FilterCheckSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="requirements_filter or bugs_filter")
    verified = serializers.BooleanField(help_text="False: the tracker could not answer; the filter is saved unchecked.")
    message = serializers.CharField(help_text='"Requirement filter matches 37 work items in Acme Jira." or why not.')
    count = serializers.IntegerField(allow_null=True)
    precision = serializers.CharField(allow_null=True, help_text="exact, approximate or at_least")


class SavedPullSettingsSerializer(PullSettingsSerializer):
    filter_checks = FilterCheckSerializer(many=True, read_only=True)
