"""Helpers of the TestRail import tests: the fixture files and an import through a job."""

from pathlib import Path

from issues.imports import services

FIXTURES = Path(__file__).parent / "fixtures" / "testrail"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def import_through_job(project, name, *, user=None, data=None, **options):
    """Upload, confirm with the preview's defaults changed by `options`, run: what the page and the task do."""
    job = services.upload(project, user, name, fixture(name) if data is None else data)
    services.confirm(job, {**job.options, **options})
    return services.run_job(job.pk)
