"""REST endpoint of a project integration's pull settings (``/api/projects/{project}/integrations/{id}/
pull-settings``): members read, project admins write, with the same checks as the settings page."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.models import ProjectIntegration
from issues.pulls import pull_settings
from issues.pulls.serializers import PullSettingsSerializer, SavedPullSettingsSerializer
from projects.models import Project
from projects.permissions import Action, ensure


def _integration(request, project: str, pk: int, action: Action) -> ProjectIntegration:
    """The integration of the project (by id or key) the user may ``action``; another project's
    integration answers 404 like a missing one, and so does a project the user is not in."""
    lookup = {"pk": int(project)} if project.isascii() and project.isdigit() else {"key": project}
    found = get_object_or_404(Project, **lookup)
    ensure(request.user, action, found)
    return get_object_or_404(ProjectIntegration.objects.select_related("source", "project"), pk=pk, project=found)


class PullSettingsView(APIView):
    @extend_schema(
        summary="What the project integration pulls from its tracker",
        responses={200: PullSettingsSerializer},
    )
    def get(self, request, project, pk):
        integration = _integration(request, project, pk, Action.VIEW)
        return Response(PullSettingsSerializer(pull_settings.document(integration)).data)

    @extend_schema(
        summary="Change what the project integration pulls (project admins)",
        description="Fields left out keep their values. Each filter in use (its pull on, or written) is checked "
        "by a dry run against the tracker: `filter_checks` says how many work items it matches, or why it could "
        "not be verified (the tracker did not answer: the filter is saved anyway). A filter the tracker refuses "
        "answers 400 with the tracker's message under the filter's name, and nothing is saved.",
        request=PullSettingsSerializer,
        responses={
            200: SavedPullSettingsSerializer,
            400: OpenApiResponse(description="A value is invalid or the tracker refused a filter; nothing saved."),
        },
    )
    def put(self, request, project, pk):
        integration = _integration(request, project, pk, Action.MANAGE)
        serializer = PullSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        checks = pull_settings.update(integration, dict(serializer.validated_data))
        body = {**pull_settings.document(integration), "filter_checks": [check.to_dict() for check in checks]}
        return Response(SavedPullSettingsSerializer(body).data)
