"""Celery entry points of the sync (beat names them in settings.CELERY_BEAT_SCHEDULE). Thin: each
imports its service inside the body, so that services may queue these tasks without an import cycle."""

from dataclasses import asdict

from celery import shared_task
from django.conf import settings


def redelivered(task) -> bool:
    """Whether the broker delivered this task before, to a worker that died before finishing it
    (tasks are acknowledged late): what that run left half done is this run's to finish."""
    return bool((task.request.delivery_info or {}).get("redelivered"))


@shared_task(name="issues.refresh_stale_references")
def refresh_stale_references() -> list[int]:
    """Beat, every minute: one refresh task per polled source with stale references, so that a slow
    or failing tracker delays nobody else. Returns the sources queued."""
    from issues.sync.refresh import sources_due_for_refresh

    source_ids = sources_due_for_refresh()
    for source_id in source_ids:
        refresh_source_references.delay(source_id)
    return source_ids


@shared_task(bind=True, name="issues.refresh_source_references")
def refresh_source_references(self, source_id: int) -> dict:
    """One refresh run of a source's stale references."""
    from issues.sync.refresh import refresh_source

    return asdict(refresh_source(source_id, redelivered=redelivered(self)))


@shared_task(name="issues.refresh_references")
def refresh_references(source_id: int, reference_ids: list[int], shown: bool = False) -> dict:
    """Refresh these references of a source (``shown`` on a page; "Refresh now"; a webhook without the
    state); what the run's budget leaves is refreshed a minute later."""
    from issues.sync.refresh import refresh_source

    report = refresh_source(source_id, reference_ids, shown=shown)
    if report.deferred:
        refresh_references.apply_async((source_id, report.deferred), {"shown": shown}, countdown=60)
    return asdict(report)


@shared_task(
    name="issues.reconcile_webhook_sources",
    time_limit=settings.CELERY_LONG_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_LONG_TASK_SOFT_TIME_LIMIT,
)
def reconcile_webhook_sources() -> list[int]:
    """Beat, daily: read every reference of each webhook-fed source again, to catch a delivery the
    tracker never sent. Returns the sources queued."""
    from issues.sync.selectors import reference_ids_of, webhook_fed_sources

    source_ids = webhook_fed_sources()
    for source_id in source_ids:
        refresh_references.delay(source_id, reference_ids_of(source_id))
    return source_ids


@shared_task(name="issues.prune_webhook_deliveries")
def prune_webhook_deliveries() -> int:
    """Beat, daily: forget webhook delivery ids too old to be redelivered."""
    from issues.sync.webhooks import prune_deliveries

    return prune_deliveries()


@shared_task(name="issues.push_defect_changes")
def push_defect_changes(issue_id: int) -> bool:
    """Send a defect's status and priority changes to its tracker issue."""
    from issues.sync.defects import push_defect

    return push_defect(issue_id)


@shared_task(name="issues.push_comment")
def push_comment(comment_id: int) -> bool:
    """Post a comment written on a defect on its tracker issue."""
    from issues.sync.comments import push_comment as post_comment

    return post_comment(comment_id)


@shared_task(name="issues.apply_queued_deliveries")
def apply_queued_deliveries(source_id: int) -> dict:
    """Apply the webhook deliveries the hook recorded for a source (one task per burst, batches inside)."""
    from issues.sync.webhooks import apply_queued

    return asdict(apply_queued(source_id))


@shared_task(name="issues.apply_waiting_deliveries")
def apply_waiting_deliveries() -> list[int]:
    """Beat, every minute: queue the apply task of each source whose recorded deliveries still wait (after a
    task the broker lost); a source whose task is queued or running is left to it."""
    from issues.sync.webhooks import schedule_waiting

    return schedule_waiting()
