"""Celery entry points of the issues app; each calls a service."""

from celery import shared_task

from . import filing, imports
from .models import FilingJob


@shared_task(name="issues.import_testrail")
def import_testrail(job_id: int) -> None:
    """Import a queued TestRail export (the Import page)."""
    imports.run_job(job_id)


@shared_task(name="issues.run_filing_job")
def run_filing_job(job_id: int) -> None:
    """File the waiting results of a filing job (bulk "Create issues" on a run)."""
    job = FilingJob.objects.select_related("integration__source", "integration__project", "created_by").filter(
        pk=job_id
    ).first()
    if job is not None:
        filing.run_job(job)
