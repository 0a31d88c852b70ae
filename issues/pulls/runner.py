"""Everything a project integration pulls from its tracker, in one go: its requirements with their
releases and sprints, and its bugs. The Celery tasks and the pages' "Pull now" and "Sync" call this."""

from integrations.errors import TrackerError
from integrations.models import IntegrationState, ProjectIntegration
from integrations.services import source_excerpt
from issues.pulls import bugs, plans, requirements

# (what, whether the integration pulls it, the pull)
PULLS = (
    ("requirements", requirements.pulls, requirements.pull_requirements),
    ("releases and sprints", plans.syncs_plans, plans.pull_plans),
    ("bugs", bugs.pulls_bugs, bugs.pull_bugs),
)


def pulls_anything(integration: ProjectIntegration) -> bool:
    return any(enabled(integration) for _, enabled, _ in PULLS)


def pull_integration(integration: ProjectIntegration) -> list[dict]:
    """Run each pull the integration has switched on: ``{"what", "ok", "summary"}`` of each (plain
    values, a Celery result). A tracker error stops only its own pull: it is recorded in that pull's
    settings and is its summary."""
    outcomes = []
    for what, enabled, pull in PULLS:
        if not enabled(integration):
            continue
        try:
            outcomes.append({"what": what, "ok": True, "summary": str(pull(integration))})
        except TrackerError as error:
            outcomes.append(
                {"what": what, "ok": False, "summary": source_excerpt(integration.source, str(error), 1000)}
            )
    return outcomes


def in_words(outcomes: list[dict]) -> str:
    return "; ".join(
        f"{outcome['what']}: {'' if outcome['ok'] else 'failed, '}{outcome['summary']}" for outcome in outcomes
    )


def integrations_pulling(project=None):
    """Active integrations of syncing sources that pull something (of one project, when given)."""
    integrations = (
        ProjectIntegration.objects.filter(
            state=IntegrationState.ACTIVE,
            source__enabled=True,
            source__connected=True,
        )
        .exclude(pull_requirements=False, pull_bugs=False)
        .select_related("source", "project")
    )
    return integrations.filter(project=project) if project is not None else integrations
