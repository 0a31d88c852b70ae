"""API shapes of project integrations and connection tests. No credential ever appears here."""

from rest_framework import serializers

from . import mappings
from .models import IntegrationState, ProjectIntegration
from .services import SYNC_OPTIONS


class ProjectIntegrationSerializer(serializers.ModelSerializer):
    """A source assigned to a project. ``source`` is written once, on creation; ``state``
    moves with archive / unarchive / disconnect / reconnect."""

    project = serializers.CharField(source="project.key", read_only=True)
    source = serializers.IntegerField(source="source_id", help_text="Id of an enabled source in the project's scope.")
    source_name = serializers.CharField(source="source.name", read_only=True)
    provider = serializers.CharField(source="source.provider", read_only=True)
    state = serializers.ChoiceField(choices=IntegrationState.choices, required=False)
    priority_mapping = serializers.JSONField(
        required=False,
        help_text='{"<tracker priority>": {"requirement": "P0".."P3", "defect": "blocker".."trivial"}}',
    )
    status_mapping = serializers.JSONField(
        required=False,
        help_text='{"open"|"in_progress"|"resolved"|"closed": ["<tracker status>", ...]}',
    )

    class Meta:
        model = ProjectIntegration
        fields = [
            "id",
            "project",
            "source",
            "source_name",
            "provider",
            "external_project",
            "default_issue_type",
            "test_issue_type",
            "board",
            "description",
            "is_primary",
            "state",
            "priority_mapping",
            "status_mapping",
            *SYNC_OPTIONS,
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["source"].required = False

    def validate_priority_mapping(self, value):
        return mappings.validate_priority_mapping(value)

    def validate_status_mapping(self, value):
        return mappings.validate_status_mapping(value)

    def validate_source(self, value):
        if self.instance is not None and value != self.instance.source_id:
            raise serializers.ValidationError(
                "The source of an assignment cannot change: assign the other source instead."
            )
        return value


class ConnectionTestRequestSerializer(serializers.Serializer):
    """Exactly one of: a source (system administrators) or a project integration (its project's admins)."""

    source = serializers.IntegerField(required=False)
    project_integration = serializers.IntegerField(required=False)

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError("Give either a source or a project_integration id.")
        return attrs


class ConnectionOutcomeSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    checked_at = serializers.DateTimeField()
    code = serializers.CharField(help_text="Why it failed: auth, permission, not_found, unreachable, ...")
    user = serializers.CharField(help_text="Who the tracker says the credentials are.")
    rate_limit_remaining = serializers.IntegerField(allow_null=True)
    rate_limit_limit = serializers.IntegerField(allow_null=True)
    token_expires_at = serializers.DateTimeField(allow_null=True)
