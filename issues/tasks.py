"""Celery entry points of the issues app; each calls a service."""

from celery import shared_task

from . import imports


@shared_task(name="issues.import_testrail")
def import_testrail(job_id: int) -> None:
    """Import a queued TestRail export (the Import page)."""
    imports.run_job(job_id)
