"""Celery entry points of the issues app; each calls a service."""

import logging
from dataclasses import asdict

from celery import shared_task

from integrations.errors import TrackerError
from integrations.models import ProjectIntegration

from . import coverage, filing, imports, pulls, sync
from .models import FilingJob

logger = logging.getLogger(__name__)


@shared_task(name="issues.import_testrail")
def import_testrail(job_id: int) -> None:
    """Import a queued TestRail export (the Import page)."""
    imports.run_job(job_id)


@shared_task(name="issues.pull_integration")
def pull_integration(integration_id: int) -> list[dict]:
    """Run one integration's pulls now ("Pull now", "Sync"): what each did."""
    integration = ProjectIntegration.objects.select_related("source", "project").get(pk=integration_id)
    return pulls.pull_integration(integration)


@shared_task(name="issues.pull_all")
def pull_all() -> dict[str, list[dict]]:
    """Every integration's pulls, in turn (beat); a tracker that fails stops none of the others."""
    return {str(integration): pulls.pull_integration(integration) for integration in pulls.integrations_pulling()}


@shared_task(name="issues.update_coverage_comment")
def update_coverage_comment(requirement_id: int, site_url: str) -> str:
    """Post or edit the covering-tests comment on a pulled requirement's remote item. A tracker error
    is logged and told: the comment is a courtesy to the tracker, the coverage is recorded anyway,
    and the next change of coverage posts the whole list again."""
    try:
        return coverage.update_comment(requirement_id, site_url)
    except TrackerError as error:
        logger.warning("The covering-tests comment of requirement %s was not updated: %s", requirement_id, error)
        return f"failed: {error}"


def _redelivered(task) -> bool:
    """Whether the broker delivered this task before, to a worker that died before finishing it
    (tasks are acknowledged late): what that run left half done is this run's to finish."""
    return bool((task.request.delivery_info or {}).get("redelivered"))


@shared_task(bind=True, name="issues.run_filing_job")
def run_filing_job(self, job_id: int) -> None:
    """File the waiting results of a filing job (bulk "Create issues" on a run)."""
    job = (
        FilingJob.objects.select_related("integration__source", "integration__project", "created_by")
        .filter(pk=job_id)
        .first()
    )
    if job is not None:
        filing.run_job(job, redelivered=_redelivered(self))


# --- Sync (issues.sync) ------------------------------------------------------------------


@shared_task(name="issues.refresh_stale_references")
def refresh_stale_references() -> list[int]:
    """Beat, every minute: one refresh task per polled source with stale references, so that a slow
    or failing tracker delays nobody else. Returns the sources queued."""
    source_ids = sync.sources_due_for_refresh()
    for source_id in source_ids:
        refresh_source_references.delay(source_id)
    return source_ids


@shared_task(bind=True, name="issues.refresh_source_references")
def refresh_source_references(self, source_id: int) -> dict:
    """One refresh run of a source's stale references."""
    return asdict(sync.refresh_source(source_id, redelivered=_redelivered(self)))


@shared_task(name="issues.refresh_references")
def refresh_references(source_id: int, reference_ids: list[int], shown: bool = False) -> dict:
    """Refresh these references of a source (``shown`` on a page; "Refresh now"; a webhook without the
    state); what the run's budget leaves is refreshed a minute later."""
    report = sync.refresh_source(source_id, reference_ids, shown=shown)
    if report.deferred:
        refresh_references.apply_async((source_id, report.deferred), {"shown": shown}, countdown=60)
    return asdict(report)


@shared_task(name="issues.reconcile_webhook_sources")
def reconcile_webhook_sources() -> list[int]:
    """Beat, daily: read every reference of each webhook-fed source again, to catch a delivery the
    tracker never sent. Returns the sources queued."""
    source_ids = sync.webhook_fed_sources()
    for source_id in source_ids:
        refresh_references.delay(source_id, sync.reference_ids_of(source_id))
    return source_ids


@shared_task(name="issues.prune_webhook_deliveries")
def prune_webhook_deliveries() -> int:
    """Beat, daily: forget webhook delivery ids too old to be redelivered."""
    return sync.prune_deliveries()


@shared_task(name="issues.push_defect_changes")
def push_defect_changes(issue_id: int) -> bool:
    """Send a defect's status and priority changes to its tracker issue."""
    return sync.push_defect(issue_id)


@shared_task(name="issues.push_comment")
def push_comment(comment_id: int) -> bool:
    """Post a comment written on a defect on its tracker issue."""
    return sync.push_comment(comment_id)
