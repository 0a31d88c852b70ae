"""REST endpoints of the integrations app: project assignments and connection tests."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.models import Project
from projects.permissions import Action, can_administer_integrations, ensure

from . import field_mapping_services, selectors, services, tracker_options
from .errors import TrackerError
from .models import IntegrationState, ProjectIntegration, Source
from .serializers import ConnectionOutcomeSerializer, ConnectionTestRequestSerializer, ProjectIntegrationSerializer


def _project(request, reference: str, action: Action) -> Project:
    """The project by id or key (keys start with a letter); 404 for outsiders."""
    lookup = {"pk": int(reference)} if reference.isascii() and reference.isdigit() else {"key": reference}
    project = get_object_or_404(Project, **lookup)
    ensure(request.user, action, project)
    return project


class ProjectIntegrationListView(APIView):
    """The project's tracker assignments (members read, project admins assign)."""

    @extend_schema(responses=ProjectIntegrationSerializer(many=True))
    def get(self, request, project):
        project = _project(request, project, Action.VIEW)
        integrations = selectors.project_integrations(project)
        return Response(ProjectIntegrationSerializer(integrations, many=True).data)

    @extend_schema(request=ProjectIntegrationSerializer, responses={201: ProjectIntegrationSerializer})
    def post(self, request, project):
        project = _project(request, project, Action.MANAGE)
        serializer = ProjectIntegrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        source = selectors.assignable_sources(project).filter(pk=data.pop("source_id")).first()
        if source is None:
            raise ValidationError({"source": ["No enabled source with this id is available to the project."]})
        if data.pop("state", IntegrationState.ACTIVE) != IntegrationState.ACTIVE:
            raise ValidationError({"state": ["A new assignment starts active."]})
        options = {name: data.pop(name) for name in services.SYNC_OPTIONS if name in data}
        with transaction.atomic():
            integration = services.assign_source(project, source, actor=request.user, **data)
            if options:  # an assignment starts with its sync options off: these are changed on it
                services.update_project_integration(integration, actor=request.user, **options)
        return Response(ProjectIntegrationSerializer(integration).data, status=status.HTTP_201_CREATED)


class ProjectIntegrationDetailView(APIView):
    def _integration(self, request, project, pk, action) -> ProjectIntegration:
        project = _project(request, project, action)
        return get_object_or_404(selectors.project_integrations(project), pk=pk)

    @extend_schema(responses=ProjectIntegrationSerializer)
    def get(self, request, project, pk):
        return Response(ProjectIntegrationSerializer(self._integration(request, project, pk, Action.VIEW)).data)

    @extend_schema(request=ProjectIntegrationSerializer, responses=ProjectIntegrationSerializer)
    def put(self, request, project, pk):
        integration = self._integration(request, project, pk, Action.MANAGE)
        serializer = ProjectIntegrationSerializer(integration, data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("source_id", None)
        services.update_project_integration(integration, actor=request.user, **data)
        return Response(ProjectIntegrationSerializer(integration).data)

    @extend_schema(responses={204: None})
    def delete(self, request, project, pk):
        integration = self._integration(request, project, pk, Action.MANAGE)
        services.remove_project_integration(integration, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectIntegrationCheckView(APIView):
    """Ask the tracker again whether it has the integration's external project, issue types and board
    (project admins): the answer is the integration with its ``verification``, stored as found."""

    @extend_schema(request=None, responses=ProjectIntegrationSerializer)
    def post(self, request, project, pk):
        project = _project(request, project, Action.MANAGE)
        integration = get_object_or_404(selectors.project_integrations(project), pk=pk)
        services.check_integration_again(integration, actor=request.user)
        return Response(ProjectIntegrationSerializer(integration).data)


# HTTP status of a tracker error while the field mappings are checked against the tracker's fields.
_TRACKER_STATUS = {"validation": 400, "authorization_required": 403, "not_configured": 409, "unsupported": 409}


class FieldMappingsView(APIView):
    """The integration's field mappings per purpose (defect, test case) with the fields the tracker
    reports, and its status, priority and severity tables: members read, project admins write."""

    def _integration(self, request, project, pk, action) -> ProjectIntegration:
        project = _project(request, project, action)
        return get_object_or_404(selectors.project_integrations(project).select_related("source"), pk=pk)

    def handle_exception(self, exc):
        if isinstance(exc, TrackerError):
            body = {"message": str(exc), "errors": {k: [v] for k, v in exc.field_errors.items()}, "code": exc.code}
            return Response(body, status=_TRACKER_STATUS.get(exc.code, status.HTTP_503_SERVICE_UNAVAILABLE))
        return super().handle_exception(exc)

    @extend_schema(responses={200: dict})
    def get(self, request, project, pk):
        integration = self._integration(request, project, pk, Action.VIEW)
        return Response(field_mapping_services.document(integration, request.user))

    @extend_schema(request=dict, responses={200: dict, 400: dict})
    def put(self, request, project, pk):
        integration = self._integration(request, project, pk, Action.MANAGE)
        field_mapping_services.save(integration, request.data, actor=request.user)
        return Response(field_mapping_services.document(integration, request.user))


class TrackerOptionsView(APIView):
    """What the tracker of a source offers to choose from when connecting it to the project (project
    admins): ``kind`` projects, boards, issue_types, fields, components or sprints; ``project`` the
    external project the others belong to; ``q`` narrows the list. A tracker that will not list answers
    ``listable: false`` with the reason (the field stays free text)."""

    @extend_schema(responses={200: dict, 400: dict})
    def get(self, request, project):
        project = _project(request, project, Action.MANAGE)
        params = request.query_params
        reference = params.get("source", "")
        if not reference.isdigit():
            raise ValidationError({"source": ["Give the id of a source available to the project."]})
        source = get_object_or_404(selectors.option_sources(project), pk=int(reference))
        try:
            found = tracker_options.tracker_options(
                source,
                request.user,
                params.get("kind", ""),
                project=params.get("project", ""),
                issue_type=params.get("issue_type", ""),
                board=params.get("board", ""),
                q=params.get("q", ""),
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from None
        return Response(found.to_dict())


class ConnectionTestView(APIView):
    """Test a tracker connection now: a source (system administrators) or the source of a
    project integration (that project's admins). Answers 200 with the outcome either way."""

    @extend_schema(request=ConnectionTestRequestSerializer, responses=ConnectionOutcomeSerializer)
    def post(self, request):
        serializer = ConnectionTestRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "source" in serializer.validated_data:
            if not can_administer_integrations(request.user):
                raise PermissionDenied(
                    "Only administrators of integrations test sources directly; "
                    "project admins test their project's integrations."
                )
            source = get_object_or_404(Source, pk=serializer.validated_data["source"])
        else:
            integration = get_object_or_404(
                ProjectIntegration.objects.select_related("project", "source"),
                pk=serializer.validated_data["project_integration"],
            )
            ensure(request.user, Action.MANAGE, integration.project)
            source = integration.source
        outcome = services.test_connection(source, actor=request.user, waiting=True)
        return Response(ConnectionOutcomeSerializer(outcome.to_dict()).data)


urlpatterns = [
    path("projects/<str:project>/integrations", ProjectIntegrationListView.as_view(), name="api-project-integrations"),
    path(
        "projects/<str:project>/integrations/<int:pk>",
        ProjectIntegrationDetailView.as_view(),
        name="api-project-integration",
    ),
    path(
        "projects/<str:project>/integrations/<int:pk>/check",
        ProjectIntegrationCheckView.as_view(),
        name="api-project-integration-check",
    ),
    path(
        "projects/<str:project>/integrations/<int:pk>/field-mappings",
        FieldMappingsView.as_view(),
        name="api-project-integration-field-mappings",
    ),
    path("projects/<str:project>/tracker-options", TrackerOptionsView.as_view(), name="api-project-tracker-options"),
    path("integrations/test-connection", ConnectionTestView.as_view(), name="api-integrations-test-connection"),
]
