"""Celery entry points of filing. Thin: the service is imported inside the body, so that services may
queue this task without an import cycle."""

from celery import shared_task
from django.conf import settings

from issues.sync.tasks import redelivered


@shared_task(
    bind=True,
    name="issues.run_filing_job",
    time_limit=settings.CELERY_LONG_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_LONG_TASK_SOFT_TIME_LIMIT,
)
def run_filing_job(self, job_id: int) -> None:
    """File the waiting results of a filing job (bulk "Create issues" on a run), or push the waiting
    internal issues of a push job (its ``run`` is None)."""
    from issues.filing.models import FilingJob
    from issues.filing.pushes import run_push_job
    from issues.filing.services import run_job

    job = (
        FilingJob.objects.select_related("integration__source", "integration__project", "created_by")
        .filter(pk=job_id)
        .first()
    )
    if job is not None:
        (run_job if job.run_id is not None else run_push_job)(job, redelivered=redelivered(self))
