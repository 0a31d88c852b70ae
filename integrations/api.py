"""REST endpoints of the integrations app: project assignments and connection tests."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.models import Project
from projects.permissions import Action, can, can_administer_integrations, ensure

from . import field_mapping_services, selectors, services, tracker_options
from .errors import TrackerError
from .forms import CREDENTIAL_PREFIX, unsaved_source
from .models import IntegrationState, ProjectIntegration, Source, UserToken
from .providers import REGISTRY
from .serializers import (
    AuthorizationSerializer,
    ConnectionOutcomeSerializer,
    ConnectionTestRequestSerializer,
    MemberTokenSerializer,
    ProjectIntegrationSerializer,
)


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
        hook = request.build_absolute_uri(selectors.webhook_path(source))
        integration = services.assign_source(project, source, actor=request.user, webhook_url=hook, **data)
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

    @extend_schema(
        request=ConnectionTestRequestSerializer,
        responses={200: ConnectionOutcomeSerializer, 400: dict},
        description="With the fields of a source that is not created yet, the connection is tested with them and "
        "nothing is stored (no source, no health, no audit row); a wrong field answers 400 naming it "
        "(`credentials.<part>` for a credential part).",
    )
    def post(self, request):
        serializer = ConnectionTestRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "provider" in serializer.validated_data:
            if not can_administer_integrations(request.user):
                raise PermissionDenied("Only administrators of integrations create and test sources.")
            source = _unsaved_source(serializer.validated_data)
            outcome = services.test_unsaved_connection(source)
            return Response(ConnectionOutcomeSerializer(outcome.to_dict()).data)
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


def _unsaved_source(data: dict) -> Source:
    """The source the request's fields describe, by the source form's rules; 400 naming each wrong field
    (a credential part as ``credentials.<part>``)."""
    credentials = data.get("credentials") or {}
    form_data = {
        "provider": data["provider"],
        "base_url": data.get("base_url", ""),
        "allow_http": data.get("allow_http", False),
        "auth_type": data.get("auth_type", ""),
        "name": data.get("name", ""),
        **{CREDENTIAL_PREFIX + part: value for part, value in credentials.items()},
    }
    provider = REGISTRY.get(data["provider"])
    if provider is not None and form_data["auth_type"] in provider.auth_types:
        taken = {part.name for part in provider.fields_for(form_data["auth_type"])}
        parts = ", ".join(sorted(taken)) or "no credentials"
        unknown = sorted(set(credentials) - taken)
        if unknown:
            message = f"{provider.label} with this auth type takes {parts}."
            raise ValidationError({f"credentials.{name}": [message] for name in unknown})
    try:
        return unsaved_source(form_data)
    except DjangoValidationError as error:
        raise ValidationError(
            {
                name.replace(CREDENTIAL_PREFIX, "credentials.", 1): problems
                for name, problems in error.message_dict.items()
            }
        ) from None


def _tracker_refusal(error: TrackerError) -> Response:
    """A token the tracker refused or that could not be checked: 400 when refused, 503 when unreachable;
    the message is the provider's, redacted (never the token)."""
    refused = error.code in ("auth", "permission", "not_found", "validation", "oauth_refused")
    body = {"message": f"Nothing was stored: {error}", "code": error.code}
    return Response(body, status=status.HTTP_400_BAD_REQUEST if refused else status.HTTP_503_SERVICE_UNAVAILABLE)


class MemberTokenView(APIView):
    """The requesting member's own token for the integration's source: a personal access token used
    instead of the source's shared credential, or an OAuth 2.0 access token (and refresh token) issued
    outside a browser flow. Written with PUT, never returned; GET describes it; DELETE forgets it."""

    def _integration(self, request, project, pk) -> ProjectIntegration:
        project = _project(request, project, Action.EDIT)
        return get_object_or_404(selectors.project_integrations(project).select_related("source"), pk=pk)

    @extend_schema(responses={200: AuthorizationSerializer, 404: None})
    def get(self, request, project, pk):
        token = get_object_or_404(UserToken, user=request.user, source=self._integration(request, project, pk).source)
        return Response(AuthorizationSerializer(token).data)

    @extend_schema(request=MemberTokenSerializer, responses={200: AuthorizationSerializer, 400: dict, 503: dict})
    def put(self, request, project, pk):
        source = self._integration(request, project, pk).source
        if not selectors.may_enter_token(source, request.user):
            raise ValidationError({"token": [f"{source.name} takes no token of yours: it uses its own account."]})
        serializer = MemberTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token = services.save_member_token(
                request.user,
                source,
                access_token=serializer.validated_data["token"],
                refresh_token=serializer.validated_data.get("refresh_token", ""),
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages) from None
        except TrackerError as error:
            return _tracker_refusal(error)
        return Response(AuthorizationSerializer(token).data)

    @extend_schema(responses={204: None, 404: None})
    def delete(self, request, project, pk):
        token = get_object_or_404(UserToken, user=request.user, source=self._integration(request, project, pk).source)
        services.revoke_member_token(token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectAuthorizationListView(APIView):
    """The members' own tokens for the project's trackers: project admins see all of them, members their
    own; viewers are refused (403), outsiders do not learn the project exists (404)."""

    @extend_schema(responses=AuthorizationSerializer(many=True))
    def get(self, request, project):
        project = _project(request, project, Action.EDIT)
        tokens = selectors.project_authorizations(project)
        if not can(request.user, Action.MANAGE, project):
            tokens = tokens.filter(user=request.user)
        return Response(AuthorizationSerializer(tokens, many=True).data)


class ProjectAuthorizationDetailView(APIView):
    """One authorization of the project: its admins revoke any, a member only their own."""

    def _token(self, request, project, pk) -> UserToken:
        project = _project(request, project, Action.EDIT)
        token = get_object_or_404(selectors.project_authorizations(project), pk=pk)
        if token.user_id != request.user.pk and not can(request.user, Action.MANAGE, project):
            raise PermissionDenied(
                f"Only administrators of {project.key} see and revoke other members' authorizations."
            )
        return token

    @extend_schema(responses=AuthorizationSerializer)
    def get(self, request, project, pk):
        return Response(AuthorizationSerializer(self._token(request, project, pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, project, pk):
        services.revoke_member_token(self._token(request, project, pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuthorizationListView(APIView):
    """Every member's token on every source: administrators of integrations only."""

    @extend_schema(responses=AuthorizationSerializer(many=True))
    def get(self, request):
        if not can_administer_integrations(request.user):
            raise PermissionDenied("Only administrators of integrations see every authorization.")
        return Response(AuthorizationSerializer(selectors.all_authorizations(), many=True).data)


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
    path(
        "projects/<str:project>/integrations/<int:pk>/my-token",
        MemberTokenView.as_view(),
        name="api-project-integration-my-token",
    ),
    path(
        "projects/<str:project>/authorizations",
        ProjectAuthorizationListView.as_view(),
        name="api-project-authorizations",
    ),
    path(
        "projects/<str:project>/authorizations/<int:pk>",
        ProjectAuthorizationDetailView.as_view(),
        name="api-project-authorization",
    ),
    path("authorizations", AuthorizationListView.as_view(), name="api-authorizations"),
]
