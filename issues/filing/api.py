"""REST endpoints of a project integration's tracker: issue types, fields, search, create an issue
from test artefacts, link an existing one (`/api/integrations/{id}/...`)."""

import math

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import selectors as integration_selectors
from integrations.errors import Refused, TrackerError
from integrations.models import ProjectIntegration
from integrations.providers import provider_class
from integrations.providers.base import Capability, Unsupported
from issues.filing import drafts, selectors, services, test_cases
from issues.filing.serializers import (
    CaseSyncRequestSerializer,
    CaseSyncSerializer,
    CreateTrackerIssueSerializer,
    FiledSerializer,
    IssueFieldsSerializer,
    LinkTrackerIssueSerializer,
    RemoteIssueSerializer,
    RemoteIssueTypeSerializer,
    TrackerErrorSerializer,
)
from issues.links.selectors import links_to
from projects.models import TestCase, TestResult
from projects.permissions import Action, ensure, visible_projects

INTEGRATION_ID = OpenApiParameter(
    "id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="The project integration (a tracker assigned to a project).",
)


TRACKER_ERROR = OpenApiResponse(TrackerErrorSerializer, description="The tracker refused or failed; `code` says why.")


TRACKER_ERRORS = {400: TRACKER_ERROR, 409: TRACKER_ERROR, 502: TRACKER_ERROR, 503: TRACKER_ERROR}


# HTTP status of a tracker error, by its code; anything else the tracker did wrong is 502.
_TRACKER_STATUS = {
    "validation": 400,
    "authorization_required": 403,
    "not_configured": 409,
    "unsupported": 409,
    "in_progress": 409,
    "refused": 409,
    "rate_limited": 503,
    "unreachable": 503,
}


def tracker_error_response(error: TrackerError, project) -> Response:
    """A tracker's error as the API shows it: what went wrong and who can fix it, the tracker's
    problems by field id, and its code."""
    body = {
        "message": " ".join(filter(None, [str(error), selectors.who_can_fix(error.code, project)])),
        "errors": {field: [problem] for field, problem in error.field_errors.items()},
        "code": error.code,
    }
    if isinstance(error, Refused):  # testmanager's own refusal: its reason and who can change it, as pages say
        body.update(message=str(error), refusal=error.refusal.to_dict())
    response = Response(
        body,
        status=_TRACKER_STATUS.get(error.code, status.HTTP_502_BAD_GATEWAY),
    )
    if error.retry_after:
        response["Retry-After"] = str(math.ceil(error.retry_after))
    return response


class IntegrationIssuesView(APIView):
    """Base of the endpoints on one project integration: members of its project who may edit
    (viewers 403); another project's integration, or one no longer active, answers 404."""

    def find_integration(self, request, integration_id: int) -> ProjectIntegration:
        integration = get_object_or_404(
            ProjectIntegration.objects.select_related("project", "source"), pk=integration_id
        )
        ensure(request.user, Action.EDIT, integration.project)
        if not integration_selectors.pickable_integrations(integration.project).filter(pk=integration.pk).exists():
            raise exceptions.NotFound()
        source = integration.source
        if integration_selectors.needs_authorization(source, request.user):
            url = integration_selectors.authorization_url(source, "/")
            raise exceptions.PermissionDenied(f"Authorize your {source.name} account first: {url}")
        return integration

    def handle_exception(self, exc):
        if isinstance(exc, TrackerError):
            return tracker_error_response(exc, self.project)
        return super().handle_exception(exc)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.integration = self.find_integration(request, kwargs["id"])
        self.project = self.integration.project


class IssueTypesView(IntegrationIssuesView):
    @extend_schema(
        summary="Issue types testmanager can create through the integration",
        parameters=[INTEGRATION_ID],
        responses={200: RemoteIssueTypeSerializer(many=True), **TRACKER_ERRORS},
    )
    def get(self, request, id):
        integration = self.integration
        offered = services.issue_types(integration, request.user)
        default = services.find_issue_type(offered, integration.default_issue_type)
        return Response(
            RemoteIssueTypeSerializer(
                [{"id": t.id, "name": t.name, "default": t == default} for t in offered], many=True
            ).data
        )


class IssueFieldsView(IntegrationIssuesView):
    @extend_schema(
        summary="Fields of an issue type's create screen",
        parameters=[
            INTEGRATION_ID,
            OpenApiParameter(
                "issueType", OpenApiTypes.STR, description="Id or name; the integration's default when left out."
            ),
        ],
        responses={200: IssueFieldsSerializer, **TRACKER_ERRORS},
    )
    def get(self, request, id):
        integration = self.integration
        wanted = request.query_params.get("issueType", "")
        discovery = services.discover(integration, request.user, wanted)
        chosen = discovery.issue_type
        if chosen is None or (wanted and services.find_issue_type(discovery.issue_types, wanted) is None):
            offered = ", ".join(t.name for t in discovery.issue_types)
            raise exceptions.ValidationError(
                {"issueType": [f"Choose an issue type {integration.source.name} offers: {offered}."]}
            )
        fills = provider_class(integration.source.provider).draft_field_ids
        return Response(
            IssueFieldsSerializer(
                {
                    "issue_type": {
                        "id": chosen.id,
                        "name": chosen.name,
                        "default": chosen
                        == services.find_issue_type(discovery.issue_types, integration.default_issue_type),
                    },
                    "fields": [{**vars(field), "fills": fills.get(field.id, "")} for field in discovery.fields],
                }
            ).data
        )


class SearchView(IntegrationIssuesView):
    @extend_schema(
        summary="Search the tracker by key, title or description",
        parameters=[INTEGRATION_ID, OpenApiParameter("q", OpenApiTypes.STR, required=True)],
        responses={200: RemoteIssueSerializer(many=True), **TRACKER_ERRORS},
    )
    def get(self, request, id):
        integration = self.integration
        text = request.query_params.get("q", "").strip()
        if not text:
            raise exceptions.ValidationError({"q": ["Give a key or words to search for."]})
        if not integration_selectors.can(integration.source, Capability.READ_DETAILS):
            raise Unsupported(
                f"{integration.source.name} is not read by testmanager, so it cannot be searched: "
                "link its issues by key."
            )
        found = services.search(integration, request.user, text)
        return Response(RemoteIssueSerializer([vars(issue) for issue in found], many=True).data)


def _artefacts(serializer) -> list:
    return [reference["artefact"] for reference in serializer.validated_data["artefacts"]]


class CreateIssueView(IntegrationIssuesView):
    @extend_schema(
        summary="Create a tracker issue about test artefacts and link it to them",
        description="Files the issue through the tracker's API, stores its reference, links it to every artefact "
        "and puts a link back on the remote issue where the tracker supports it. Nothing is stored "
        "unless the tracker created the issue.",
        parameters=[INTEGRATION_ID],
        request=CreateTrackerIssueSerializer,
        responses={
            201: FiledSerializer,
            200: OpenApiResponse(
                FiledSerializer, description="Created before (same idempotency key): linked, not filed again."
            ),
            **TRACKER_ERRORS,
        },
    )
    def post(self, request, id):
        integration = self.integration
        source = integration.source
        serializer = CreateTrackerIssueSerializer(data=request.data, context={"project": self.project})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        refusal = integration_selectors.refusal(
            source, integration_selectors.TrackerAction.CREATE, integration=integration
        )
        if refusal is not None:
            raise Refused(refusal)
        if not integration_selectors.creates_through_api(source):
            raise Unsupported(
                f"{source.name} does not take new issues from testmanager's API: file it in the "
                "tracker, then link it with link-issue."
            )
        discovery = services.discover(integration, request.user, data.get("issue_type", ""))
        if discovery.issue_type is None or (
            data.get("issue_type") and services.find_issue_type(discovery.issue_types, data["issue_type"]) is None
        ):
            offered = ", ".join(t.name for t in discovery.issue_types)
            raise exceptions.ValidationError({"issue_type": [f"Choose an issue type {source.name} offers: {offered}."]})
        artefacts = _artefacts(serializer)
        site_url = request.build_absolute_uri("/")
        results = [artefact for artefact in artefacts if isinstance(artefact, TestResult)]
        text = (
            drafts.draft_from_results(results, site_url)
            if len(results) == len(artefacts) > 1
            else drafts.draft_for(artefacts[0], site_url)
        )
        draft = services.build_draft(
            integration,
            issue_type=discovery.issue_type.id,
            title=data.get("title") or text["name"],
            description=data.get("description", text["description"]),
            # What the field mappings give the first artefact (as the form is prefilled), then what was sent.
            values={**services.prefill(integration, discovery.fields, artefacts[0]), **data.get("fields", {})},
            kinds={field.id: field.kind for field in discovery.fields},
            reporter=request.user,
        )
        key = data.get("idempotency_key")
        filed = services.file_issue(
            integration=integration,
            actor=request.user,
            draft=draft,
            artefacts=artefacts,
            marker=services.MARKER_PREFIX + key if key else services.new_marker(),
            site_url=site_url,
            attachments=(
                *services.files_of_results(artefacts, site_url),
                *services.stored_files(data.get("attachments", []), site_url),
            ),
        )
        body = {
            "reference": filed.reference,
            "links": filed.links,
            "created": filed.created,
            "notes": filed.notes,
            "unsent_files": filed.unsent_files,
        }
        answer = status.HTTP_201_CREATED if filed.created else status.HTTP_200_OK
        return Response(FiledSerializer(body).data, status=answer)


class LinkIssueView(IntegrationIssuesView):
    @extend_schema(
        summary="Link an existing tracker issue to test artefacts",
        description="The key must match the source's key pattern. A key linked before reuses its reference; where "
        "the tracker is read, the issue must exist there.",
        parameters=[INTEGRATION_ID],
        request=LinkTrackerIssueSerializer,
        responses={
            201: FiledSerializer,
            200: OpenApiResponse(FiledSerializer, description="Already linked."),
            **TRACKER_ERRORS,
        },
    )
    def post(self, request, id):
        integration = self.integration
        serializer = LinkTrackerIssueSerializer(data=request.data, context={"project": self.project})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        artefacts = _artefacts(serializer)
        known = {link.pk for artefact in artefacts for link in links_to(artefact)}
        linked = [
            services.link_existing(
                integration=integration,
                actor=request.user,
                typed_key=data["key"],
                artefact=artefact,
                site_url=request.build_absolute_uri("/"),
                title=data.get("title", ""),
            )
            for artefact in artefacts
        ]
        created = any(result.link.pk not in known for result in linked)
        body = {
            "reference": linked[-1].reference,
            "links": [result.link for result in linked],
            "created": created,
            "notes": [note for result in linked for note in result.notes],
        }
        return Response(FiledSerializer(body).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class TestCaseSyncView(APIView):
    """Sync a test case with a tracker: the first call creates the remote issue (201), later calls edit
    that same issue (200). Members who may edit; viewers 403; another project's case 404; the tracker's
    failure answers its error with nothing stored."""

    def handle_exception(self, exc):
        if isinstance(exc, TrackerError):
            return tracker_error_response(exc, getattr(self, "project", None))
        return super().handle_exception(exc)

    @extend_schema(
        summary="Create or update a test case's issue in a tracker",
        request=CaseSyncRequestSerializer,
        responses={201: CaseSyncSerializer, 200: CaseSyncSerializer, **TRACKER_ERRORS},
    )
    def post(self, request, id):
        case = get_object_or_404(TestCase.objects.filter(project__in=visible_projects(request.user)), pk=id)
        ensure(request.user, Action.EDIT, case.project)
        self.project = case.project
        serializer = CaseSyncRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        integration = (
            integration_selectors.pickable_integrations(case.project)
            .filter(pk=serializer.validated_data["integration"])
            .select_related("source", "project")
            .first()
        )
        if integration is None:
            raise exceptions.ValidationError({"integration": ["No active tracker of this project has this id."]})
        source = integration.source
        if integration_selectors.needs_authorization(source, request.user):
            url = integration_selectors.authorization_url(source, "/")
            raise exceptions.PermissionDenied(f"Authorize your {source.name} account first: {url}")
        synced = test_cases.sync_case(case, integration, actor=request.user, site_url=request.build_absolute_uri("/"))
        body = {"sync": synced.sync, "created": synced.created, "notes": list(synced.notes)}
        answer = status.HTTP_201_CREATED if synced.created else status.HTTP_200_OK
        return Response(CaseSyncSerializer(body).data, status=answer)
