"""REST endpoints pushing internal issues to a tracker: one at once (`POST /api/issues/{issueId}/push`),
several in a background job (`POST /api/issues/push`, then `GET /api/issues/push/{id}`), and making an
issue the synced defect of an existing tracker issue (`POST /api/issues/{issueId}/link-tracker`)."""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import selectors as integration_selectors
from integrations.errors import TrackerError
from integrations.models import ProjectIntegration
from issues.core.models import Issue
from issues.filing import pushes
from issues.filing.api import TRACKER_ERRORS, tracker_error_response
from issues.filing.models import FilingJob
from issues.filing.serializers import (
    AlreadyPushedSerializer,
    LinkToTrackerSerializer,
    PushedSerializer,
    PushIssueSerializer,
    PushIssuesSerializer,
    PushJobSerializer,
)
from projects.permissions import Action, ensure, visible_projects

ISSUE_ID = OpenApiParameter(
    "issueId", OpenApiTypes.STR, OpenApiParameter.PATH, description="The issue's id, or its key such as SHOP-12."
)


ALREADY_PUSHED = OpenApiResponse(
    AlreadyPushedSerializer, description="The issue is kept in step with a tracker issue already: `key` names it."
)


_ISSUE_KEY = re.compile(r"^(?P<project>[A-Za-z][A-Za-z0-9]*)[-#](?P<number>[0-9]{1,9})$")


def issue_filter(text: str) -> dict | None:
    """The lookup of an issue written as its id or key (SHOP-12, SHOP#12); None when it is neither."""
    text = text.strip()
    if text.isdigit() and len(text) <= 18:
        return {"pk": int(text)}
    match = _ISSUE_KEY.match(text)
    return {"project__key": match["project"].upper(), "number": int(match["number"])} if match else None


def _invalid(error: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages)


class PushViewBase(APIView):
    """What the push endpoints share: tracker errors as the filing API shows them, a member who must
    authorize their own tracker account first, Django's validation errors as 400."""

    project = None

    def handle_exception(self, exc):
        if isinstance(exc, TrackerError) and self.project is not None:
            return tracker_error_response(exc, self.project)
        if isinstance(exc, DjangoValidationError):
            exc = _invalid(exc)
        return super().handle_exception(exc)

    def target(self, request, integration_id) -> ProjectIntegration:
        integration = pushes.push_target(self.project, integration_id)
        source = integration.source
        if integration_selectors.needs_authorization(source, request.user):
            url = integration_selectors.authorization_url(source, "/")
            raise exceptions.PermissionDenied(f"Authorize your {source.name} account first: {url}")
        return integration

    def issue(self, request, issue_id: str) -> Issue:
        """The issue (404 outside the projects the user sees), once the user may edit its project (else 403)."""
        lookup = issue_filter(issue_id)
        if lookup is None:
            raise exceptions.NotFound()
        issues = Issue.objects.filter(project__in=visible_projects(request.user)).select_related("project")
        issue = get_object_or_404(issues, **lookup)
        ensure(request.user, Action.EDIT, issue.project)
        self.project = issue.project
        return issue


class PushIssueView(PushViewBase):
    @extend_schema(
        operation_id="issue_push",
        summary="Push an internal issue to a tracker",
        description="Creates the issue in the integration's tracker (title, the description converted to the "
        "tracker's format with a link back and the linked test artefacts, priority through the priority mapping, "
        "tags as labels) and makes it the issue's synced defect: status, priority and comments then follow both "
        "ways. A retry after a timeout finds the issue the first try created. Nothing is stored unless the "
        "tracker created the issue.",
        parameters=[ISSUE_ID],
        request=PushIssueSerializer,
        responses={201: PushedSerializer, 409: ALREADY_PUSHED, **TRACKER_ERRORS},
    )
    def post(self, request, issueId):
        issue = self.issue(request, issueId)
        serializer = PushIssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        integration = self.target(request, serializer.validated_data["integration"])
        try:
            pushed = pushes.push_issue(
                issue=issue,
                integration=integration,
                actor=request.user,
                site_url=request.build_absolute_uri("/"),
                fields=serializer.validated_data.get("fields") or {},
            )
        except pushes.AlreadyPushed as refused:
            return already_pushed(refused)
        return Response(pushed_body(issue, pushed), status=status.HTTP_201_CREATED)


class LinkTrackerIssueView(PushViewBase):
    @extend_schema(
        operation_id="issue_link_tracker",
        summary="Keep an internal issue in step with an existing tracker issue",
        description="Makes the issue the synced defect of the tracker issue `key` (which must exist there) and "
        "shows a link back on it.",
        parameters=[ISSUE_ID],
        request=LinkToTrackerSerializer,
        responses={201: PushedSerializer, 409: ALREADY_PUSHED, **TRACKER_ERRORS},
    )
    def post(self, request, issueId):
        issue = self.issue(request, issueId)
        serializer = LinkToTrackerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        integration = self.target(request, serializer.validated_data["integration"])
        try:
            pushed = pushes.link_to_tracker(
                issue=issue,
                integration=integration,
                actor=request.user,
                typed_key=serializer.validated_data["key"],
                site_url=request.build_absolute_uri("/"),
            )
        except pushes.AlreadyPushed as refused:
            return already_pushed(refused)
        return Response(pushed_body(issue, pushed), status=status.HTTP_201_CREATED)


def already_pushed(refused: pushes.AlreadyPushed) -> Response:
    body = {"message": str(refused), "code": "already_pushed", "key": refused.key, "url": refused.url}
    return Response(AlreadyPushedSerializer(body).data, status=status.HTTP_409_CONFLICT)


def pushed_body(issue: Issue, pushed: pushes.Pushed) -> dict:
    body = {"issue": issue.key, "reference": pushed.reference, "created": pushed.created, "notes": pushed.notes}
    return PushedSerializer(body).data


class PushIssuesView(PushViewBase):
    @extend_schema(
        operation_id="issues_push_bulk",
        summary="Push several internal issues to a tracker, in the background",
        description="Answers 202 at once with the job (its address also in `Location`); GET it for its state "
        "(queued, running, done) and, per issue, the tracker key created or the error.",
        request=PushIssuesSerializer,
        responses={202: PushJobSerializer},
    )
    def post(self, request):
        serializer = PushIssuesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        chosen = get_object_or_404(
            ProjectIntegration.objects.filter(project__in=visible_projects(request.user)).select_related("project"),
            pk=data["integration"],
        )
        ensure(request.user, Action.EDIT, chosen.project)
        self.project = chosen.project
        integration = self.target(request, chosen.pk)
        issues = self.issues_of(data["issues"])
        job = pushes.start_push_job(
            integration=integration,
            issues=issues,
            actor=request.user,
            site_url=request.build_absolute_uri("/"),
            fields=data.get("fields") or {},
        )
        body = job_body(job, request)
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})

    def issues_of(self, written: list[str]) -> list[Issue]:
        """The project's issues named, each once, in the order given; 400 naming those it has not."""
        found, unknown = {}, []
        for text in written:
            lookup = issue_filter(text)
            issue = Issue.objects.filter(project=self.project, **lookup).first() if lookup else None
            if issue is None:
                unknown.append(text)
            else:
                found.setdefault(issue.pk, issue)
        if unknown:
            raise exceptions.ValidationError({"issues": [f"{self.project.key} has no issue {', '.join(unknown)}."]})
        return list(found.values())


class PushJobView(APIView):
    @extend_schema(
        operation_id="issues_push_job",
        summary="The state of a push job",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: PushJobSerializer},
    )
    def get(self, request, id):
        jobs = FilingJob.objects.filter(project__in=visible_projects(request.user), run__isnull=True)
        job = get_object_or_404(jobs.select_related("project"), pk=id)
        return Response(job_body(job, request))


def job_body(job: FilingJob, request) -> dict:
    items = job.items.select_related("issue__project", "reference").order_by("id")
    body = {
        "id": job.pk,
        "url": request.build_absolute_uri(reverse("api-issues-push-job", args=[job.pk])),
        "integration": job.integration_id,
        "state": pushes.job_state(job),
        "items": [
            {
                "issue": item.issue.key,
                "state": item.state,
                "key": item.reference.key if item.reference else "",
                "url": item.reference.url if item.reference else "",
                "error": item.error,
                "notes": item.notes,
            }
            for item in items
        ],
    }
    return PushJobSerializer(body).data
