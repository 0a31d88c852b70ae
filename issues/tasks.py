"""Celery entry points of the issues app; each calls a service."""

from celery import shared_task

from integrations.errors import TrackerError
from integrations.models import ProjectIntegration

from . import coverage, requirements_pull
from . import filing, imports
from .models import FilingJob


@shared_task(name="issues.import_testrail")
def import_testrail(job_id: int) -> None:
    """Import a queued TestRail export (the Import page)."""
    imports.run_job(job_id)


@shared_task(name="issues.pull_requirements")
def pull_requirements(integration_id: int) -> str:
    """Pull one integration's requirements now (the Sync button); the summary in words."""
    integration = ProjectIntegration.objects.select_related("source", "project").get(pk=integration_id)
    return str(requirements_pull.pull_requirements(integration))


@shared_task(name="issues.pull_all_requirements")
def pull_all_requirements() -> dict[str, str]:
    """Every integration that pulls requirements, in turn (beat). A tracker that fails does not
    stop the others: its error is kept in its pull settings and reported here."""
    outcomes = {}
    for integration in requirements_pull.integrations_to_pull():
        try:
            outcomes[str(integration)] = str(requirements_pull.pull_requirements(integration))
        except TrackerError as error:
            outcomes[str(integration)] = f"failed: {error}"
    return outcomes


@shared_task(name="issues.update_coverage_comment")
def update_coverage_comment(requirement_id: int, site_url: str) -> str:
    """Post or edit the covering-tests comment on a pulled requirement's remote item."""
    return coverage.update_comment(requirement_id, site_url)


@shared_task(name="issues.run_filing_job")
def run_filing_job(job_id: int) -> None:
    """File the waiting results of a filing job (bulk "Create issues" on a run)."""
    job = FilingJob.objects.select_related("integration__source", "integration__project", "created_by").filter(
        pk=job_id
    ).first()
    if job is not None:
        filing.run_job(job)
