"""Celery entry points of the pulls (beat runs ``pull_all``). Thin: each imports its service inside
the body, so that services may queue these tasks without an import cycle."""

import logging

from celery import shared_task
from django.conf import settings

from integrations.errors import TrackerError

logger = logging.getLogger(__name__)


@shared_task(
    name="issues.pull_integration",
    time_limit=settings.CELERY_LONG_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_LONG_TASK_SOFT_TIME_LIMIT,
)
def pull_integration(integration_id: int) -> list[dict]:
    """Run one integration's pulls now ("Pull now", "Sync"): what each did."""
    from integrations.models import ProjectIntegration
    from issues.pulls.runner import pull_integration as pull

    integration = ProjectIntegration.objects.select_related("source", "project").get(pk=integration_id)
    return pull(integration)


@shared_task(
    name="issues.pull_all",
    time_limit=settings.CELERY_LONG_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_LONG_TASK_SOFT_TIME_LIMIT,
)
def pull_all() -> dict[str, list[dict]]:
    """Every integration's pulls, in turn (beat); a tracker that fails stops none of the others."""
    from issues.pulls.runner import integrations_pulling
    from issues.pulls.runner import pull_integration as pull

    return {str(integration): pull(integration) for integration in integrations_pulling()}


@shared_task(name="issues.update_coverage_comment")
def update_coverage_comment(requirement_id: int, site_url: str) -> str:
    """Post or edit the covering-tests comment on a pulled requirement's remote item. A tracker error
    is logged and told: the comment is a courtesy to the tracker, the coverage is recorded anyway,
    and the next change of coverage posts the whole list again."""
    from issues.pulls.coverage import update_comment

    try:
        return update_comment(requirement_id, site_url)
    except TrackerError as error:
        logger.warning("The covering-tests comment of requirement %s was not updated: %s", requirement_id, error)
        return f"failed: {error}"
