"""API representations of tracker issue types, fields, issues and filing answers."""

from rest_framework import serializers

from issues.core.selectors import attachments_in
from issues.core.serializers import ArtefactRefSerializer, LinkSerializer
from issues.links.models import ExternalReference


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

    display_key = serializers.CharField(
        read_only=True, help_text="The key with the tracker it lives in, as pages show it: 'SHOP-2 · Acme Jira'."
    )

    class Meta:
        model = ExternalReference
        fields = [
            "id",
            "source",
            "source_name",
            "key",
            "display_key",
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
    attachments = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=50,
        help_text="Ids of internal issues' attachments in this project to send with the issue (GitHub, which takes "
        "no files, gets links to their download here). A file the tracker does not take is named in "
        "`unsent_files`; the issue is created all the same. The attachments of the test results filed "
        "about always go along, before these.",
    )
    idempotency_key = serializers.RegexField(
        r"^[0-9a-z]{8,38}$",
        required=False,
        help_text="Send the same key when retrying after a timeout: if the first request did create the issue, it "
        "is found and linked instead of filed twice. 8-38 lowercase letters and digits.",
    )

    def validate_attachments(self, ids):
        """The attachments themselves, in the order given; every id must be one of the project's."""
        project = self.context["project"]
        found = {attachment.pk: attachment for attachment in attachments_in(project, ids)}
        unknown = [str(pk) for pk in ids if pk not in found]
        if unknown:
            raise serializers.ValidationError(f"{project.key} has no attachment with id {', '.join(unknown)}.")
        return [found[pk] for pk in dict.fromkeys(ids)]


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
    unsent_files = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Names of the files the tracker does not have (too large, refused); the notes say why.",
    )


class TrackerErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="The tracker's problems by field id."
    )
    code = serializers.CharField(
        help_text="validation, not_configured, auth, permission, not_found, rate_limited, unreachable, upstream, ..."
    )


# --- Pushing internal issues -----------------------------------------------------------------------


class PushIssueSerializer(serializers.Serializer):
    integration = serializers.IntegerField(
        help_text="The project integration to push to (one of the issue's project that creates issues)."
    )
    fields = serializers.DictField(
        required=False, help_text="Further tracker values by field id, on top of what the mappings give."
    )


class LinkToTrackerSerializer(serializers.Serializer):
    integration = serializers.IntegerField(help_text="The project integration the tracker issue lives in.")
    key = serializers.CharField(max_length=200, help_text="The tracker issue's key, as the tracker writes it.")


class PushIssuesSerializer(serializers.Serializer):
    integration = serializers.IntegerField(help_text="The project integration to push to.")
    issues = serializers.ListField(
        child=serializers.CharField(max_length=40),
        allow_empty=False,
        max_length=500,
        help_text="The internal issues, by id or key (SHOP-12), all of the integration's project.",
    )
    fields = serializers.DictField(required=False, help_text="Further tracker values by field id, for every issue.")


class PushedSerializer(serializers.Serializer):
    issue = serializers.CharField(help_text="The internal issue's key.")
    reference = ReferenceSerializer(help_text="The tracker issue it is now kept in step with.")
    created = serializers.BooleanField(
        help_text="False when an earlier try (a timeout) had created it: found by its marker, not filed twice."
    )
    notes = serializers.ListField(child=serializers.CharField(), help_text="What did not go as drafted.")


class AlreadyPushedSerializer(serializers.Serializer):
    message = serializers.CharField()
    code = serializers.CharField(help_text="already_pushed")
    key = serializers.CharField(help_text="The tracker issue the internal issue is kept in step with.")
    url = serializers.CharField()


class PushJobItemSerializer(serializers.Serializer):
    issue = serializers.CharField(help_text="The internal issue's key.")
    state = serializers.CharField(help_text="pending, filed or failed.")
    key = serializers.CharField(allow_blank=True, help_text="The tracker issue created (or found) for it.")
    url = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    notes = serializers.ListField(child=serializers.CharField())


class PushJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="Where to GET the job's state.")
    integration = serializers.IntegerField(allow_null=True)
    state = serializers.CharField(help_text="queued, running or done.")
    items = PushJobItemSerializer(many=True)


class CaseSyncRequestSerializer(serializers.Serializer):
    integration = serializers.IntegerField(help_text="The project integration (tracker) to sync the test case with.")


class CaseSyncSerializer(serializers.Serializer):
    """A test case's issue in a tracker: the reference (key, url, status), when it was last synced and
    refreshed, its comments as last read, and notes on what did not go as mapped."""

    integration = serializers.IntegerField(source="sync.integration_id")
    reference = ReferenceSerializer(source="sync.reference")
    created = serializers.BooleanField(help_text="True when this sync created the remote issue; False: it was edited.")
    synced_at = serializers.DateTimeField(source="sync.synced_at")
    refreshed_at = serializers.DateTimeField(source="sync.refreshed_at", allow_null=True)
    comments = serializers.ListField(source="sync.comments", child=serializers.DictField())
    notes = serializers.ListField(child=serializers.CharField())
