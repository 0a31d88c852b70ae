"""Writes on test cases, runs and results. Callers check permissions first (projects.permissions).

Single results are written here only (create_result, record_result), so ``results_recorded`` is
sent in one place whichever door the write came through: the pages or the REST API. (The JUnit
importer writes a report's results in bulk and sends it once per report.)
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Project, ResultStatus, TestCase, TestResult, TestRun
from .signals import results_recorded

CASE_FIELDS = ("title", "folder", "preconditions", "steps", "expected_result")


def normalize_folder(folder: str) -> str:
    """'/ Checkout //Payment/ ' -> 'Checkout/Payment': no empty segments, no stray spaces."""
    return "/".join(part.strip() for part in folder.split("/") if part.strip())


def create_case(
    *,
    project: Project,
    actor=None,
    title: str,
    folder: str = "",
    preconditions: str = "",
    steps: str = "",
    expected_result: str = "",
) -> TestCase:
    return TestCase.objects.create(
        project=project,
        title=title,
        folder=normalize_folder(folder),
        preconditions=preconditions,
        steps=steps,
        expected_result=expected_result,
        created_by=actor,
    )


def update_case(case: TestCase, **changes) -> TestCase:
    unknown = set(changes) - set(CASE_FIELDS)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} of a test case.")
    if "folder" in changes:
        changes["folder"] = normalize_folder(changes["folder"])
    for field, value in changes.items():
        setattr(case, field, value)
    case.save(update_fields=[*changes, "updated_at"])
    return case


@transaction.atomic
def create_run(
    *, project: Project, actor=None, name: str, environment: str = "", description: str = "", cases=()
) -> TestRun:
    """A run with one untested result per given case, ready to be executed."""
    case_ids = list(dict.fromkeys(case.pk for case in cases))
    if TestCase.objects.filter(pk__in=case_ids).exclude(project=project).exists():
        raise ValidationError("A run can only contain test cases of its own project.")
    run = TestRun.objects.create(
        project=project, name=name, environment=environment, description=description, created_by=actor
    )
    TestResult.objects.bulk_create(
        [TestResult(run=run, case_id=case_id, status=ResultStatus.UNTESTED) for case_id in case_ids]
    )
    return run


@transaction.atomic
def create_result(
    *,
    run: TestRun,
    case: TestCase,
    status: str = ResultStatus.UNTESTED,
    comment: str = "",
    duration=None,
    actor=None,
) -> TestResult:
    """A new result of ``case`` in ``run`` (a run has at most one per case)."""
    if status not in ResultStatus.values:
        raise ValidationError(f"Unknown result status {status!r}.")
    if run.project_id != case.project_id:
        raise ValidationError("The test case belongs to another project than the run.")
    result = TestResult.objects.create(
        run=run, case=case, status=status, comment=comment, duration=duration, recorded_by=actor
    )
    results_recorded.send(sender=TestResult, run=result.run, case_ids=[result.case_id])
    return result


@transaction.atomic
def record_result(result: TestResult, *, status: str, comment: str = "", duration=None, actor=None) -> TestResult:
    if status not in ResultStatus.values:
        raise ValidationError(f"Unknown result status {status!r}.")
    result.status = status
    result.comment = comment
    result.duration = duration
    result.recorded_by = actor
    result.save(update_fields=["status", "comment", "duration", "recorded_by", "recorded_at"])
    results_recorded.send(sender=TestResult, run=result.run, case_ids=[result.case_id])
    return result
