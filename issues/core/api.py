"""REST endpoints of internal issues: `/api/issues` and its alias `/api/defects`.

Besides CRUD, the endpoints clients of the platform we replace call: `POST /api/issues/create`,
`GET /api/issues/{issueId}`, `POST /api/issues/{issueId}/link` and `.../unlink`, where
`{issueId}` is the numeric id or the issue key: SHOP#12 (sent URL-encoded, SHOP%2312) or the older SHOP-12."""

from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from issues.core import keys
from issues.core import selectors as core_selectors
from issues.core import services as core_services
from issues.core.artefacts import ARTEFACT_LABELS
from issues.core.models import Issue, IssuePriority, IssueStatus
from issues.core.selectors import UNASSIGNED
from issues.core.serializers import (
    LISTED_LINKS,
    ArtefactRefSerializer,
    HistoryEntrySerializer,
    IssueSerializer,
    LinkSerializer,
)
from issues.links import selectors as links_selectors
from issues.links import services as links_services
from issues.links.models import Link
from issues.links.selectors import links_to
from projects.api import ProjectFilter, ProjectScopedViewSet
from projects.models import Project
from projects.pagination import ApiPagination, PageOrCursorPagination
from projects.permissions import Action

ISSUE_ID = OpenApiParameter(
    "issueId",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The issue's id, or its key: SHOP#12 (URL-encoded SHOP%2312) or the older form SHOP-12.",
)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The issue changed since you read it."
    default_code = "conflict"


class IssueFilter(ProjectFilter):
    project = filters.CharFilter(method="in_project", help_text="Project key, e.g. SHOP.")
    status = filters.MultipleChoiceFilter(choices=IssueStatus.choices)
    priority = filters.MultipleChoiceFilter(choices=IssuePriority.choices)
    assignee = filters.CharFilter(method="assigned_to", help_text=f"Username, or `{UNASSIGNED}` for unassigned issues.")
    reporter = filters.CharFilter(field_name="reporter__username")
    tag = filters.CharFilter(field_name="tags__name", help_text="Tag name.")
    updated_after = filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Issue
        fields = ["project", "status", "priority", "assignee", "reporter", "tag", "updated_after"]

    def in_project(self, queryset, name, value):
        # By the project's id, read first: PostgreSQL then knows the project when it plans the page
        # and reads it from the (project, -number) index; joined by key, it guessed half the issues
        # of every project and sorted them all on disk (100,000 issues: 278 ms for the last page).
        return queryset.filter(project_id__in=list(Project.objects.filter(key=value).values_list("pk", flat=True)))

    def assigned_to(self, queryset, name, value):
        if value == UNASSIGNED:
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee__username=value)


@extend_schema_view(
    retrieve=extend_schema(parameters=[ISSUE_ID]),
    update=extend_schema(parameters=[ISSUE_ID]),
    partial_update=extend_schema(parameters=[ISSUE_ID]),
    destroy=extend_schema(parameters=[ISSUE_ID], description="Project admins only. Deletes its links and attachments."),
)
class IssueViewSet(ProjectScopedViewSet):
    """Internal issues of your projects, numbered per project (SHOP#12)."""

    serializer_class = IssueSerializer
    delete_action = Action.MANAGE
    lookup_url_kwarg = "issueId"
    lookup_value_regex = keys.ISSUE_ID_OR_KEY_REGEX
    filterset_class = IssueFilter
    pagination_class = PageOrCursorPagination
    search_fields = ["name", "description"]
    ordering_fields = ["number", "created_at", "updated_at", "status", "id"]
    # Both newest first: served by the (-project, -number) index, and a cursor reads on by one row
    # comparison that starts there in the index.
    ordering = ["-project_id", "-number"]

    def base_queryset(self):
        issues = Issue.objects.select_related("project", "assignee", "reporter")
        if self.action == "list":
            return issues  # list() reads the page's tags and links in one flat query each
        links = Link.objects.select_related(
            "test_case",
            "test_run",
            "test_result__case",
            "test_result__run",
            "requirement",
            "created_by",
        ).order_by("created_at", "id")
        return issues.prefetch_related("tags", Prefetch("links", queryset=links))

    # A page of issues with their tags and links costs the same queries (count, page, tags, links) for
    # 5 issues or 500, whatever they carry. (A comment, not a docstring: that would replace the API docs.)
    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        issues = page if page is not None else list(queryset)
        ids = [issue.pk for issue in issues]
        core_selectors.attach_listed_tags(issues)
        link_summaries = links_selectors.link_summaries_by_issue(ids)
        for issue in issues:
            setattr(issue, LISTED_LINKS, link_summaries[issue.pk])
        data = self.get_serializer(issues, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def find_object(self, queryset):
        issue_id = self.kwargs["issueId"]
        if issue_id.isdigit():
            return get_object_or_404(queryset, pk=issue_id)
        project_key, number = keys.parse_internal(issue_id)  # the URL pattern let only a key through
        return get_object_or_404(queryset, project__key=project_key, number=number)

    def perform_update(self, serializer):
        try:
            serializer.save()
        except core_services.EditConflict as conflict:
            raise Conflict(str(conflict)) from conflict

    def perform_destroy(self, instance):
        core_services.delete_issue(instance)

    @extend_schema(summary="Create an issue (same as POST on the collection)")
    @action(detail=False, methods=["post"], url_path="create")
    def create_issue(self, request):
        return self.create(request)

    @extend_schema(
        summary="The issue's history: every change (field, old -> new, who, when), comment, link and push",
        description="Newest first, paginated like the lists (`page`, `page_size`).",
        parameters=[ISSUE_ID],
        responses=HistoryEntrySerializer(many=True),
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=ApiPagination)
    def history(self, request, issueId=None):
        issue = self.get_object()
        records = self.paginate_queryset(core_selectors.history_of(issue))
        entries = core_selectors.history_entries(issue, records)
        return self.get_paginated_response(HistoryEntrySerializer(entries, many=True).data)

    def _artefact(self, request, issue):
        reference = ArtefactRefSerializer(data=request.data, context={"issue": issue})
        reference.is_valid(raise_exception=True)
        return reference.validated_data

    @extend_schema(
        summary="Link the issue to a test case, run, result or requirement of its project",
        parameters=[ISSUE_ID],
        request=ArtefactRefSerializer,
        responses={201: LinkSerializer, 200: OpenApiResponse(LinkSerializer, description="Already linked.")},
    )
    @action(detail=True, methods=["post"])
    def link(self, request, issueId=None):
        issue = self.get_object()
        artefact = self._artefact(request, issue)["artefact"]
        already = links_to(artefact).filter(issue=issue).exists()
        created = links_services.link(artefact=artefact, issue=issue, actor=request.user)
        return Response(LinkSerializer(created).data, status=status.HTTP_200_OK if already else status.HTTP_201_CREATED)

    @extend_schema(
        summary="Remove the link between the issue and a test artefact",
        parameters=[ISSUE_ID],
        request=ArtefactRefSerializer,
        responses={204: OpenApiResponse(description="Unlinked."), 404: OpenApiResponse(description="Not linked.")},
    )
    @action(detail=True, methods=["post"])
    def unlink(self, request, issueId=None):
        issue = self.get_object()
        reference = self._artefact(request, issue)
        existing = links_to(reference["artefact"]).filter(issue=issue).first()
        if existing is None:
            label = ARTEFACT_LABELS[reference["type"]].lower()
            raise exceptions.NotFound(f"{issue.key} is not linked to {label} {reference['id']}.")
        links_services.unlink(existing, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
