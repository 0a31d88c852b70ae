"""Helpers of the TestRail import tests: the fixture files and an import through a job."""

from pathlib import Path

from issues import imports

FIXTURES = Path(__file__).parent / "fixtures" / "testrail"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def import_through_job(project, name, *, user=None, data=None, **options):
    """Upload, confirm with the preview's defaults changed by `options`, run: what the page and the task do."""
    job = imports.upload(project, user, name, fixture(name) if data is None else data)
    imports.confirm(job, {**job.options, **options})
    return imports.run_job(job.pk)
