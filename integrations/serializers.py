"""API shapes of project integrations and connection tests. No credential ever appears here."""

from rest_framework import serializers

from . import mappings
from .models import IntegrationState, ProjectIntegration, Provider, UserToken
from .services import SYNC_OPTIONS


class ProjectIntegrationSerializer(serializers.ModelSerializer):
    """A source assigned to a project. ``source`` is written once, on creation; ``state``
    moves with archive / unarchive / disconnect / reconnect."""

    project = serializers.CharField(source="project.key", read_only=True)
    source = serializers.IntegerField(source="source_id", help_text="Id of an enabled source in the project's scope.")
    source_name = serializers.CharField(source="source.name", read_only=True)
    provider = serializers.ChoiceField(choices=Provider.choices, source="source.provider", read_only=True)
    state = serializers.ChoiceField(choices=IntegrationState.choices, required=False)
    priority_mapping = serializers.JSONField(
        required=False,
        help_text='{"<tracker priority>": {"requirement": "P0".."P3", "defect": "blocker".."trivial"}}',
    )
    status_mapping = serializers.JSONField(
        required=False,
        help_text='{"open"|"in_progress"|"resolved"|"closed": ["<tracker status>", ...]}',
    )

    verification = serializers.SerializerMethodField(
        help_text="Whether the tracker confirmed the external project, issue types and board: state verified, "
        "not_verified (saved while the tracker could not be asked; reason says why) or not_checked."
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
            "verification",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["source"].required = False

    def get_verification(self, integration) -> dict:
        return {
            "state": integration.verification_state,
            "reason": integration.verification_error,
            "checked_at": integration.verification_checked_at,
            "verified_at": integration.verified_at,
        }

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


# The fields of an unsaved source a connection test takes, besides the ids.
UNSAVED_SOURCE_FIELDS = ("provider", "base_url", "allow_http", "auth_type", "credentials", "name")


class ConnectionTestRequestSerializer(serializers.Serializer):
    """Exactly one of: a source (system administrators), a project integration (its project's admins), or
    the fields of a source being created (system administrators): it is tested and never stored."""

    source = serializers.IntegerField(required=False)
    project_integration = serializers.IntegerField(required=False)
    provider = serializers.ChoiceField(
        choices=Provider.choices, required=False, help_text="With the fields below: a source not created yet."
    )
    base_url = serializers.CharField(required=False, allow_blank=True)
    allow_http = serializers.BooleanField(required=False, default=False)
    auth_type = serializers.CharField(required=False, allow_blank=True)
    credentials = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=2000),
        required=False,
        help_text='The credential parts by name, e.g. {"email": ..., "api_token": ...}; never echoed or stored.',
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=50)

    def validate(self, attrs):
        given = [name for name in ("source", "project_integration") if name in attrs]
        unsaved = "provider" in attrs
        if len(given) + unsaved != 1:
            raise serializers.ValidationError(
                "Give a source id, a project_integration id, or the fields of a new source (provider, base_url, "
                "auth_type, credentials)."
            )
        if not unsaved and any(name in self.initial_data for name in UNSAVED_SOURCE_FIELDS):
            raise serializers.ValidationError("The fields of a new source go without a source or integration id.")
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


class AuthorizationSerializer(serializers.ModelSerializer):
    """A member's own token for a source, described: who, which tracker account, since and until when.
    Never the token."""

    member = serializers.CharField(source="user.get_username", read_only=True)
    source_name = serializers.CharField(source="source.name", read_only=True)
    provider = serializers.ChoiceField(choices=Provider.choices, source="source.provider", read_only=True)
    tracker_account = serializers.CharField(source="remote_account", read_only=True)
    since = serializers.DateTimeField(source="created_at", read_only=True)
    expires = serializers.DateTimeField(source="expires_at", read_only=True, allow_null=True)
    renewable = serializers.SerializerMethodField()
    problem = serializers.CharField(source="last_error", read_only=True, help_text="Why it is no longer used, if so.")

    class Meta:
        model = UserToken
        fields = [
            "id",
            "member",
            "source",
            "source_name",
            "provider",
            "kind",
            "tracker_account",
            "since",
            "expires",
            "renewable",
            "problem",
        ]
        read_only_fields = fields

    def get_renewable(self, token) -> bool:
        return isinstance(token.refresh_token, str) and bool(token.refresh_token)


class MemberTokenSerializer(serializers.Serializer):
    """A member's own token, written only: it never comes back."""

    token = serializers.CharField(write_only=True, max_length=2000, trim_whitespace=True)
    refresh_token = serializers.CharField(
        write_only=True,
        max_length=2000,
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        help_text="OAuth 2.0 sources only: renews the access token when it expires.",
    )
