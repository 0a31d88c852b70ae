"""Releases and sprints pulled from trackers, and what the Plans page reads about them.

A project integration that pulls requirements also pulls its tracker's releases (Jira versions,
Azure DevOps iterations with sprints below them, GitHub and GitLab milestones, Linear projects) and
sprints (a Jira board's, the other Azure DevOps iterations, GitLab iterations, Linear cycles) with
their dates. One gone from the tracker stays, marked deleted. A pulled
requirement belongs to the releases its release field names (a name, or one part of a list or an
iteration path), so each release shows its requirements, how many have covering tests, the latest
results of those tests and the open issues linked to them.
"""

from django.db import transaction
from django.utils import timezone

from integrations.errors import TrackerError
from integrations.models import IntegrationState, ProjectIntegration
from integrations.providers import provider_for
from integrations.services import source_excerpt
from issues.pulls.models import Plan, PullSettings
from issues.pulls.requirements import pulls, settings_of
from issues.pulls.summary import PullSummary

ERROR_MAX = PullSettings._meta.get_field("last_error").max_length


def syncs_plans(integration: ProjectIntegration) -> bool:
    """Whether the integration's releases and sprints are pulled: with its requirements, unless a project
    admin chose not to show this tracker's plans."""
    return pulls(integration) and settings_of(integration).plans


def shows_plans(integration: ProjectIntegration) -> bool:
    """Whether the Plans page shows the integration's releases and sprints: chosen, and not archived (an
    archived integration's plans come back when it is unarchived)."""
    return integration.state != IntegrationState.ARCHIVED and settings_of(integration).plans


@transaction.atomic
def choose_plans(project, shown_ids) -> list[ProjectIntegration]:
    """Save, on each of the project's integrations not archived, whether its releases and sprints are
    shown and synced (``shown_ids``: the integrations chosen). Returns the integrations shown."""
    wanted = set(shown_ids)
    shown = []
    for integration in ProjectIntegration.objects.filter(project=project).exclude(state=IntegrationState.ARCHIVED):
        settings = settings_of(integration)
        settings.plans = integration.pk in wanted
        settings.save()
        if settings.plans:
            shown.append(integration)
    return shown


def pull_plans(integration: ProjectIntegration) -> PullSummary:
    """Bring the integration's releases and sprints up to date. A tracker error is recorded in the
    pull settings' last error and raised."""
    try:
        remote = provider_for(integration.source).plans(integration.external_project, integration.board)
    except TrackerError as error:
        settings = settings_of(integration)
        settings.last_error = source_excerpt(integration.source, f"Releases and sprints: {error}", ERROR_MAX)
        settings.save()
        raise
    existing = {(plan.kind, plan.remote_id): plan for plan in Plan.objects.filter(integration=integration)}
    summary = PullSummary()
    now = timezone.now()
    with transaction.atomic():
        for found in remote:
            values = {
                "name": found.name[:200],
                "start": found.start,
                "end": found.end,
                "done": found.done,
                "deleted_remotely": False,
            }
            plan = existing.pop((found.kind, found.id), None)
            if plan is None:
                Plan.objects.create(
                    project=integration.project,
                    integration=integration,
                    kind=found.kind,
                    remote_id=found.id,
                    pulled_at=now,
                    **values,
                )
                summary.created += 1
                continue
            changed = [name for name, value in values.items() if getattr(plan, name) != value]
            Plan.objects.filter(pk=plan.pk).update(pulled_at=now, **values)
            summary.updated += bool(changed)
            summary.unchanged += not changed
        gone = [plan.pk for plan in existing.values() if not plan.deleted_remotely]
        summary.deleted = Plan.objects.filter(pk__in=gone).update(deleted_remotely=True)
    return summary
