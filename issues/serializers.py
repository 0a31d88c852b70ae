"""API representations of internal issues and their links to test artefacts."""

from rest_framework import serializers

from projects.serializers import ApiModelSerializer, UsernameField, VisibleProjectField

from .models import ExternalReference, Issue, Link
from .selectors import ARTEFACT_KINDS, ARTEFACT_LABELS, artefact_title, artefacts_of, kind_of, members_of
from .services import edit_issue, report_issue, update_issue


class LinkSerializer(serializers.ModelSerializer):
    type = serializers.SerializerMethodField(help_text="case, run, result or requirement.")
    artefact_id = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()
    created_by = UsernameField()

    class Meta:
        model = Link
        fields = ["id", "type", "artefact_id", "title", "created_by", "created_at"]

    def get_type(self, link) -> str:
        return kind_of(link.artefact)

    def get_artefact_id(self, link) -> int:
        return link.artefact.pk

    def get_title(self, link) -> str:
        return artefact_title(link.artefact)


class TagNamesField(serializers.ListField):
    child = serializers.CharField(max_length=50)

    def to_representation(self, tags):
        return [tag.name for tag in tags.all()]


class AssigneeField(serializers.CharField):
    """A project member by username; null (or empty) for nobody."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, allow_blank=True, required=False, **kwargs)

    def to_representation(self, user):
        return user.get_username()


class IssueSerializer(ApiModelSerializer):
    key = serializers.CharField(read_only=True, help_text="Project key and number, e.g. SHOP-12.")
    project = VisibleProjectField()
    assignee = AssigneeField(help_text="Username of a member of the project; null to unassign.")
    reporter = UsernameField()
    tags = TagNamesField(required=False, help_text="Tag names; new names create tags.")
    version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Increases with every change. Send the version you read with an update: if someone changed the "
        "issue since, the update is refused with 409 instead of silently overwriting their change.",
    )
    links = LinkSerializer(many=True, read_only=True)

    class Meta:
        model = Issue
        fields = [
            "id",
            "key",
            "project",
            "number",
            "name",
            "description",
            "status",
            "priority",
            "assignee",
            "reporter",
            "tags",
            "version",
            "links",
            "created_at",
            "updated_at",
            "resolved_at",
        ]
        create_only_fields = ["project"]

    def validate(self, attrs):
        if "assignee" in attrs:
            project = attrs["project"] if self.instance is None else self.instance.project
            username = attrs["assignee"]
            attrs["assignee"] = members_of(project).filter(username=username).first() if username else None
            if username and attrs["assignee"] is None:
                raise serializers.ValidationError({"assignee": [f"{project.key} has no member called {username}."]})
        return attrs

    def create(self, validated_data):
        validated_data.pop("version", None)
        tag_names = validated_data.pop("tags", ())
        return report_issue(reporter=self.context["request"].user, tag_names=tag_names, **validated_data)

    def update(self, issue, validated_data):
        expected_version = validated_data.pop("version", issue.version)
        if "tags" in validated_data:
            tag_names = validated_data.pop("tags")
            return edit_issue(issue, expected_version=expected_version, tag_names=tag_names, **validated_data)
        return update_issue(issue, expected_version=expected_version, **validated_data)


class ArtefactRefSerializer(serializers.Serializer):
    """A test artefact of the issue's project (or of the ``project`` in the context), named by type and id."""

    type = serializers.ChoiceField(choices=list(ARTEFACT_KINDS), help_text="case, run, result or requirement.")
    id = serializers.IntegerField(min_value=1)

    def validate(self, attrs):
        project = self.context["project"] if "project" in self.context else self.context["issue"].project
        artefact = artefacts_of(project, attrs["type"]).filter(pk=attrs["id"]).first()
        if artefact is None:
            label = ARTEFACT_LABELS[attrs["type"]].lower()
            raise serializers.ValidationError({"id": [f"{project.key} has no {label} with id {attrs['id']}."]})
        return {**attrs, "artefact": artefact}


# --- Tracker issues of a project integration (/api/integrations/{id}/...) -------------------


class RemoteIssueTypeSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    default = serializers.BooleanField(help_text="The project integration's default issue type.")


class RemoteFieldSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The key of the field in create-issue's `fields`.")
    name = serializers.CharField()
    required = serializers.BooleanField(help_text="The tracker needs a value and has no default.")
    kind = serializers.CharField(
        help_text="text, rich_text (Markdown), number, date, datetime, select, multi_select, checkboxes, user, "
        "multi_user, labels, or unsupported (testmanager cannot fill it)."
    )
    allowed_values = serializers.ListField(child=serializers.CharField())
    fills = serializers.CharField(
        help_text="The part of the issue the field is (title, description, priority, labels, assignee, components, "
        "due_date), or empty for a field of its own."
    )


class IssueFieldsSerializer(serializers.Serializer):
    issue_type = RemoteIssueTypeSerializer()
    fields = RemoteFieldSerializer(many=True)


class RemoteIssueSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    status_category = serializers.CharField(help_text="todo, in_progress, done or unknown.")
    assignee = serializers.CharField()
    priority = serializers.CharField()
    url = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)


class ReferenceSerializer(serializers.ModelSerializer):
    """A tracker issue as testmanager knows it (its last synced values)."""

    class Meta:
        model = ExternalReference
        fields = [
            "id",
            "source",
            "source_name",
            "key",
            "url",
            "title",
            "status",
            "status_category",
            "assignee",
            "priority",
            "remote_updated_at",
            "remote_created_at",
            "remote_resolved_at",
            "last_synced_at",
            "deleted_remotely",
        ]


class CreateTrackerIssueSerializer(serializers.Serializer):
    artefacts = ArtefactRefSerializer(
        many=True, allow_empty=False, help_text="The test artefacts the issue is about; it is linked to each."
    )
    issue_type = serializers.CharField(
        required=False, allow_blank=True, help_text="Id or name; the integration's default when left out."
    )
    title = serializers.CharField(
        required=False, max_length=255, help_text="Left out: written from the first artefact."
    )
    description = serializers.CharField(
        required=False, allow_blank=True, help_text="Markdown. Left out: written from the first artefact."
    )
    fields = serializers.DictField(required=False, help_text="Further values by field id (see the fields endpoint).")
    idempotency_key = serializers.RegexField(
        r"^[0-9a-z]{8,38}$",
        required=False,
        help_text="Send the same key when retrying after a timeout: if the first request did create the issue, it "
        "is found and linked instead of filed twice. 8-38 lowercase letters and digits.",
    )


class LinkTrackerIssueSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=200, help_text="The issue's key, as the tracker writes it.")
    artefacts = ArtefactRefSerializer(many=True, allow_empty=False)
    title = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="For trackers testmanager does not read (custom): the issue's title.",
    )


class FiledSerializer(serializers.Serializer):
    reference = ReferenceSerializer()
    links = LinkSerializer(many=True)
    created = serializers.BooleanField(help_text="False when an earlier request with the idempotency key created it.")
    notes = serializers.ListField(
        child=serializers.CharField(), help_text="What did not go as asked, e.g. a link back the tracker refused."
    )


class TrackerErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="The tracker's problems by field id."
    )
    code = serializers.CharField(
        help_text="validation, not_configured, auth, permission, not_found, rate_limited, unreachable, upstream, ..."
    )
