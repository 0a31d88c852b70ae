"""Celery entry points of the TestRail import. Thin: the service is imported inside the body, so that
services may queue this task without an import cycle."""

from celery import shared_task
from django.conf import settings


@shared_task(
    name="issues.import_testrail",
    time_limit=settings.CELERY_LONG_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_LONG_TASK_SOFT_TIME_LIMIT,
)
def import_testrail(job_id: int) -> None:
    """Import a queued TestRail export (the Import page)."""
    from issues.imports.services import run_job

    run_job(job_id)
