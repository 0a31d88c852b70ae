"""Writes on test cases, runs and results. Callers check permissions first (projects.permissions).

Single results are written here only (create_result, record_result), so ``results_recorded`` is
sent in one place whichever door the write came through: the pages or the REST API. (The JUnit
importer writes a report's results in bulk and sends it once per report.)
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import Milestone, Project, ResultStatus, TestCase, TestPlan, TestResult, TestRun
from .permissions import Action, can
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
    *,
    project: Project,
    actor=None,
    name: str,
    environment: str = "",
    description: str = "",
    cases=(),
    milestone: Milestone | None = None,
) -> TestRun:
    """A run with one untested result per given case, ready to be executed."""
    case_ids = list(dict.fromkeys(case.pk for case in cases))
    if TestCase.objects.filter(pk__in=case_ids).exclude(project=project).exists():
        raise ValidationError("A run can only contain test cases of its own project.")
    _ensure_same_project(project, milestone, "milestone")
    run = TestRun.objects.create(
        project=project,
        name=name,
        environment=environment,
        description=description,
        created_by=actor,
        milestone=milestone,
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


def save_result(result: TestResult, *, actor=None, **changes) -> TestResult:
    """Change some of a result's status, comment and duration (one click or keystroke on the run page);
    the rest stays. Goes through record_result so known-failure rules and recurrences still answer."""
    unknown = set(changes) - {"status", "comment", "duration"}
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} of a result here.")
    values = {name: changes.get(name, getattr(result, name)) for name in ("status", "comment", "duration")}
    return record_result(result, actor=actor, **values)


@transaction.atomic
def record_results(results, *, status: str, actor=None) -> int:
    """Give every result of `results` the same status, keeping comments and durations.

    One UPDATE, then results_recorded once per run (as the JUnit importer does), so receivers see
    the whole selection at once. Answers how many results were written."""
    if status not in ResultStatus.values:
        raise ValidationError({"status": f"Unknown result status {status!r}."})
    ids = [result.pk for result in results]
    chosen = list(TestResult.objects.filter(pk__in=ids).values_list("pk", "run_id", "case_id"))
    TestResult.objects.filter(pk__in=[pk for pk, _, _ in chosen]).update(
        status=status, recorded_by=actor, recorded_at=timezone.now()
    )
    by_run: dict[int, list[int]] = {}
    for _, run_id, case_id in chosen:
        by_run.setdefault(run_id, []).append(case_id)
    for run in TestRun.objects.filter(pk__in=by_run):
        results_recorded.send(sender=TestResult, run=run, case_ids=by_run[run.pk])
    return len(chosen)


def assign_results(results, *, project: Project, assignee=None) -> int:
    """Assign results of the project to a member who may execute them (None: unassign)."""
    if assignee is not None and not can(assignee, Action.EDIT, project):
        raise ValidationError({"assignee": f"{assignee.get_username()} cannot record results in {project.key}."})
    ids = [result.pk for result in results]
    return TestResult.objects.filter(pk__in=ids, run__project=project).update(assignee=assignee)


def _ensure_same_project(project: Project, obj, field: str) -> None:
    if obj is not None and obj.project_id != project.pk:
        raise ValidationError({field: f"Choose one of {project.key}'s own."})


def _check_dates(start_date, due_date) -> None:
    if start_date and due_date and due_date < start_date:
        raise ValidationError({"due_date": "The due date cannot be before the start date."})


MILESTONE_FIELDS = ("name", "description", "start_date", "due_date")


def create_milestone(*, project: Project, actor=None, name: str, description="", start_date=None, due_date=None):
    _check_dates(start_date, due_date)
    return Milestone.objects.create(
        project=project,
        name=name,
        description=description,
        start_date=start_date,
        due_date=due_date,
        created_by=actor,
    )


def update_milestone(milestone: Milestone, **changes) -> Milestone:
    unknown = set(changes) - set(MILESTONE_FIELDS)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} of a milestone.")
    _check_dates(changes.get("start_date", milestone.start_date), changes.get("due_date", milestone.due_date))
    for field, value in changes.items():
        setattr(milestone, field, value)
    milestone.save(update_fields=list(changes))
    return milestone


def _check_plan(project: Project, milestone: Milestone, runs) -> list[TestRun]:
    _ensure_same_project(project, milestone, "milestone")
    runs = list(runs)
    if any(run.project_id != project.pk for run in runs):
        raise ValidationError({"runs": f"A plan can only hold runs of {project.key}."})
    return runs


@transaction.atomic
def create_plan(*, project: Project, milestone: Milestone, actor=None, name: str, description="", runs=()) -> TestPlan:
    runs = _check_plan(project, milestone, runs)
    plan = TestPlan.objects.create(
        project=project, milestone=milestone, name=name, description=description, created_by=actor
    )
    plan.runs.set(runs)
    return plan


@transaction.atomic
def update_plan(plan: TestPlan, *, runs=None, **changes) -> TestPlan:
    unknown = set(changes) - {"name", "description", "milestone"}
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} of a plan.")
    if runs is None:
        runs = plan.runs.all()
    runs = _check_plan(plan.project, changes.get("milestone", plan.milestone), runs)
    for field, value in changes.items():
        setattr(plan, field, value)
    if changes:
        plan.save(update_fields=list(changes))
    plan.runs.set(runs)
    return plan
