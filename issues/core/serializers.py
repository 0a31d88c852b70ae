"""API representations of internal issues and their links to test artefacts."""

from rest_framework import serializers

from issues.core.artefacts import ARTEFACT_KINDS, ARTEFACT_LABELS, artefact_title, artefacts_of, kind_of
from issues.core.models import Issue, IssueEvent
from issues.core.selectors import LISTED_TAGS, members_of
from issues.core.services import edit_issue, update_issue
from issues.links.models import Link
from issues.links.selectors import LinkSummary
from issues.links.services import report_issue
from projects.serializers import ApiModelSerializer, UsernameField, VisibleProjectField


class LinkSerializer(serializers.ModelSerializer):
    type = serializers.SerializerMethodField(help_text="case, run, result or requirement.")
    artefact_id = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()
    created_by = UsernameField()

    class Meta:
        model = Link
        fields = ["id", "type", "artefact_id", "title", "created_by", "created_at"]

    def to_representation(self, link):
        if isinstance(link, LinkSummary):  # a flat row read for a list of issues: the same fields
            # Field by field: asdict() deep-copies every value, a fifth of a 50-issue page's CPU.
            shown = {name: getattr(link, name) for name in self.Meta.fields}
            return {**shown, "created_at": self.fields["created_at"].to_representation(link.created_at)}
        return super().to_representation(link)

    def get_type(self, link) -> str:
        return kind_of(link.artefact)

    def get_artefact_id(self, link) -> int:
        return link.artefact.pk

    def get_title(self, link) -> str:
        return artefact_title(link.artefact)


# Set by the issue list on each issue of a page (read in one flat query for the whole page, as its tags
# are: LISTED_TAGS); an issue read on its own is shown from its relations instead.
LISTED_LINKS = "listed_links"


class TagNamesField(serializers.ListField):
    child = serializers.CharField(max_length=50)

    def get_attribute(self, issue):
        listed = getattr(issue, LISTED_TAGS, None)
        return listed if listed is not None else super().get_attribute(issue).all()

    def to_representation(self, tags):
        return [tag.name for tag in tags]


class IssueLinksSerializer(serializers.ListSerializer):
    """The issue's links: the page's flat summaries when the list read them, else its Link rows."""

    def get_attribute(self, issue):
        listed = getattr(issue, LISTED_LINKS, None)
        return listed if listed is not None else super().get_attribute(issue)


class AssigneeField(serializers.CharField):
    """A project member by username; null (or empty) for nobody."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, allow_blank=True, required=False, **kwargs)

    def to_representation(self, user):
        return user.get_username()


class IssueSerializer(ApiModelSerializer):
    key = serializers.CharField(
        read_only=True,
        help_text="Project key, '#' and number, e.g. SHOP#12: a form no tracker uses (before, SHOP-12, which "
        "lookups still accept).",
    )
    lives_in = serializers.SerializerMethodField(help_text="Where the issue lives: always 'testmanager' here.")
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
    links = IssueLinksSerializer(child=LinkSerializer(), read_only=True)

    class Meta:
        model = Issue
        fields = [
            "id",
            "key",
            "lives_in",
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

    def get_lives_in(self, issue) -> str:
        return "testmanager"

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
        actor = self.context["request"].user
        if "tags" in validated_data:
            tag_names = validated_data.pop("tags")
            return edit_issue(
                issue, expected_version=expected_version, tag_names=tag_names, actor=actor, **validated_data
            )
        return update_issue(issue, expected_version=expected_version, actor=actor, **validated_data)


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


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="name, status, priority, assignee (username), tags (names) or description.")
    old = serializers.JSONField(help_text="The value before the step; null for none.")
    new = serializers.JSONField(help_text="The value the step set; null for none.")


class HistoryEntrySerializer(serializers.Serializer):
    """One step of an issue's history."""

    id = serializers.IntegerField()
    event = serializers.ChoiceField(
        choices=IssueEvent.choices,
        help_text="created, edited or synced (its tracker changed it) carry `changes`; commented, linked, unlinked "
        "and pushed say what happened in `detail`; baseline is the state when history began to be kept.",
    )
    at = serializers.DateTimeField()
    user = serializers.SerializerMethodField(help_text="Who did it; null when a tracker or a task did.")
    detail = serializers.CharField()
    changes = FieldChangeSerializer(many=True, help_text="Each field the step changed, old -> new.")

    def get_user(self, entry) -> str | None:
        return entry.user.get_username() if entry.user is not None else None
