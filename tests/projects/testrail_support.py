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


def nested_suite(levels: int) -> bytes:
    """TestRail's suite XML: `levels` sections ("Area 1", "Area 2", ...) each in the last, a case in the deepest."""
    case = (
        "<cases><case><id>C1</id><title>Deep</title><template>Test Case (Steps)</template>"
        "<custom><steps_separated><step><index>1</index><content>Open</content><expected>Open</expected>"
        "</step></steps_separated></custom></case></cases>"
    )
    opening = "".join(f"<section><name>Area {level}</name><sections>" for level in range(1, levels))
    closing = "</sections></section>" * (levels - 1)
    body = f"{opening}<section><name>Area {levels}</name>{case}</section>{closing}"
    return f'<?xml version="1.0" encoding="UTF-8"?><suite><name>Deep</name><sections>{body}</sections></suite>'.encode()
