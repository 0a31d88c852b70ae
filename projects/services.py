"""Writes on test cases, runs and results. Callers check permissions first (projects.permissions).

Single results are written here only (create_result, record_result), so ``results_recorded`` is
sent in one place whichever door the write came through: the pages or the REST API. (The JUnit
importer writes a report's results in bulk and sends it once per report.)
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import (
    DEFAULT_CASE_TYPES,
    CaseField,
    CaseFieldKind,
    CasePriority,
    CaseType,
    Milestone,
    Project,
    Requirement,
    ResultStatus,
    TestCase,
    TestPlan,
    TestResult,
    TestRun,
)
from .permissions import Action, can
from .selectors import case_type_named
from .signals import results_recorded

CASE_FIELDS = (
    "title",
    "folder",
    "description",
    "preconditions",
    "steps",
    "priority",
    "case_type",
    "estimate",
    "custom_fields",
    "automation_key",
)
MAX_STEPS = 500
STEP_KEYS = {"action", "expected"}


def seed_case_types(project: Project) -> None:
    """Give a project TestRail's default case types, unless it has types already."""
    if not project.case_types.exists():
        CaseType.objects.bulk_create(
            [CaseType(project=project, name=name, position=n) for n, name in enumerate(DEFAULT_CASE_TYPES)]
        )


def seed_case_types_of_new_project(sender, instance, created, raw=False, **kwargs):
    """post_save receiver of Project (connected in apps.py): every new project starts with the default types."""
    if created and not raw:
        seed_case_types(instance)


def add_case_type(project: Project, name: str) -> CaseType:
    name = " ".join(name.split())
    same = case_type_named(project, name)
    if same is not None:
        raise ValidationError({"name": f"{project.key} already has the case type “{same.name}”."})
    last = project.case_types.order_by("-position").values_list("position", flat=True).first()
    return CaseType.objects.create(project=project, name=name, position=(last or 0) + 1)


def remove_case_type(case_type: CaseType) -> int:
    """Remove the type from the project's list; its cases keep everything else and have no type. Returns their count."""
    count = case_type.cases.count()
    case_type.delete()
    return count


def add_case_field(project: Project, *, name: str, label: str, kind: str, options=()) -> CaseField:
    if project.case_fields.filter(name=name).exists():
        raise ValidationError({"name": f"{project.key} already has a custom field named {name}."})
    if kind == CaseFieldKind.SELECT and not options:
        raise ValidationError({"options": "A select field needs at least one option."})
    last = project.case_fields.order_by("-position").values_list("position", flat=True).first()
    options = list(dict.fromkeys(options)) if kind == CaseFieldKind.SELECT else []
    return CaseField.objects.create(
        project=project, name=name, label=label, kind=kind, options=options, position=(last or 0) + 1
    )


@transaction.atomic
def remove_case_field(field: CaseField) -> int:
    """Remove the field and its values from the project's cases (so no case keeps a value nobody can
    see or change); returns how many cases had one."""
    cases = list(TestCase.objects.filter(project=field.project_id, custom_fields__has_key=field.name))
    for case in cases:
        case.custom_fields.pop(field.name, None)
    TestCase.objects.bulk_update(cases, ["custom_fields"], batch_size=500)
    field.delete()
    return len(cases)


def clean_steps(value) -> list[dict]:
    """A case's steps as stored: a list of {"action", "expected"} strings, empty pairs dropped.

    Raises ValidationError({"steps": ...}) naming what is wrong with which step.
    """
    if not isinstance(value, list):
        raise ValidationError({"steps": 'Expected a list of {"action": ..., "expected": ...} objects.'})
    if len(value) > MAX_STEPS:
        raise ValidationError({"steps": f"A test case has at most {MAX_STEPS} steps."})
    pairs = [_step_pair(number, step, "steps") for number, step in enumerate(value, start=1)]
    return [pair for pair in pairs if pair["action"] or pair["expected"]]


def clean_step_results(value) -> list[dict]:
    """Steps as executed: {"action", "expected", "status"}, status one of the result statuses or empty."""
    if not isinstance(value, list):
        raise ValidationError({"step_results": "Expected a list of steps with a status each."})
    if len(value) > MAX_STEPS:
        raise ValidationError({"step_results": f"A result has at most {MAX_STEPS} steps."})
    cleaned = []
    for number, step in enumerate(value, start=1):
        pair = {key: text for key, text in step.items() if key != "status"} if isinstance(step, dict) else step
        status = step.get("status", "") if isinstance(step, dict) else ""
        if status not in ("", *ResultStatus.values):
            raise ValidationError({"step_results": f"Step {number}: unknown status {status!r}."})
        cleaned.append({**_step_pair(number, pair, "step_results"), "status": status})
    return cleaned


def _step_pair(number: int, step, field: str) -> dict:
    """One {"action", "expected"} pair, stripped; ValidationError under `field` naming the step."""
    if not isinstance(step, dict):
        raise ValidationError({field: f'Step {number}: expected an object {{"action": ..., "expected": ...}}.'})
    unknown = sorted(set(step) - STEP_KEYS)
    if unknown:
        raise ValidationError({field: f"Step {number}: unknown field {', '.join(unknown)}."})
    if not all(isinstance(step.get(key, ""), str) for key in STEP_KEYS):
        raise ValidationError({field: f"Step {number}: action and expected must be text."})
    return {"action": step.get("action", "").strip(), "expected": step.get("expected", "").strip()}


def _custom_value(field: CaseField, value):
    """The stored form of one custom field value; ValidationError naming the field when it does not fit."""
    if value in (None, ""):
        return None
    if field.kind == CaseFieldKind.CHECKBOX:
        if not isinstance(value, bool):
            raise ValidationError({field.name: "Expected true or false."})
        return value
    if field.kind == CaseFieldKind.NUMBER:
        if isinstance(value, bool):
            raise ValidationError({field.name: "Expected a number."})
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError({field.name: f"“{value}” is not a number."}) from None
        if not number.is_finite():
            raise ValidationError({field.name: f"“{value}” is not a number."})
        return int(number) if number == number.to_integral_value() else float(number)
    if not isinstance(value, str):
        raise ValidationError({field.name: "Expected text."})
    if field.kind == CaseFieldKind.SELECT and value not in field.options:
        raise ValidationError({field.name: f"“{value}” is not one of {', '.join(field.options)}."})
    return value.strip()


def clean_custom_fields(project: Project, values) -> dict:
    """Values of the project's custom fields by name; unknown names and values that do not fit are refused."""
    if not isinstance(values, dict):
        raise ValidationError({"custom_fields": "Expected an object of field name -> value."})
    fields = {field.name: field for field in project.case_fields.all()}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValidationError({"custom_fields": f"{project.key} has no custom field {', '.join(unknown)}."})
    cleaned = {}
    for name, value in values.items():
        stored = _custom_value(fields[name], value)
        if stored is not None:
            cleaned[name] = stored
    return cleaned


def _checked_case_fields(project: Project, fields: dict) -> dict:
    if "folder" in fields:
        fields["folder"] = normalize_folder(fields["folder"])
    if "steps" in fields:
        fields["steps"] = clean_steps(fields["steps"])
    if "custom_fields" in fields:
        fields["custom_fields"] = clean_custom_fields(project, fields["custom_fields"])
    if "priority" in fields and fields["priority"] not in CasePriority.values:
        raise ValidationError({"priority": f"Choose one of {', '.join(CasePriority.values)}."})
    case_type = fields.get("case_type")
    if case_type is not None and case_type.project_id != project.pk:
        raise ValidationError({"case_type": f"{project.key} has no such case type."})
    return fields


def normalize_folder(folder: str) -> str:
    """'/ Checkout //Payment/ ' -> 'Checkout/Payment': no empty segments, no stray spaces."""
    return "/".join(part.strip() for part in folder.split("/") if part.strip())


def _refuse_unknown(fields: dict) -> None:
    unknown = set(fields) - set(CASE_FIELDS)
    if unknown:
        raise ValidationError(f"A test case has no field {', '.join(sorted(unknown))}.")


def create_case(*, project: Project, actor=None, title: str, **fields) -> TestCase:
    """A new case; `fields` are any of CASE_FIELDS (steps as [{"action", "expected"}])."""
    _refuse_unknown(fields)
    fields = _checked_case_fields(project, fields)
    return TestCase.objects.create(project=project, title=title, created_by=actor, **fields)


def update_case(case: TestCase, **changes) -> TestCase:
    _refuse_unknown(changes)
    changes = _checked_case_fields(case.project, changes)
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
    step_results=(),
) -> TestResult:
    """A new result of ``case`` in ``run`` (a run has at most one per case)."""
    if status not in ResultStatus.values:
        raise ValidationError(f"Unknown result status {status!r}.")
    if run.project_id != case.project_id:
        raise ValidationError("The test case belongs to another project than the run.")
    result = TestResult.objects.create(
        run=run,
        case=case,
        status=status,
        comment=comment,
        duration=duration,
        recorded_by=actor,
        step_results=clean_step_results(list(step_results)),
    )
    results_recorded.send(sender=TestResult, run=result.run, case_ids=[result.case_id])
    return result


@transaction.atomic
def record_result(
    result: TestResult, *, status: str, comment: str = "", duration=None, actor=None, step_results=None
) -> TestResult:
    """Record the outcome; `step_results` (the steps with a status each) is kept as given, None leaves it."""
    if status not in ResultStatus.values:
        raise ValidationError(f"Unknown result status {status!r}.")
    result.status = status
    result.comment = comment
    result.duration = duration
    result.recorded_by = actor
    if step_results is not None:
        result.step_results = clean_step_results(step_results)
    result.save(update_fields=["status", "comment", "duration", "recorded_by", "recorded_at", "step_results"])
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


REQUIREMENT_FIELDS = ("title", "folder", "description", "state", "priority")
TRACKER_OWNED_REQUIREMENT_FIELDS = ("title", "description")


def tracker_owned_changes(requirement: Requirement, changes: dict) -> dict[str, list[str]]:
    """The changes a pulled requirement refuses: its tracker owns title and description while connected."""
    if requirement.pk is None or not requirement.origin_read_only:
        return {}
    owner = f"{requirement.origin_tracker or 'the tracker'} ({requirement.origin_key})"
    return {
        name: [f"Pulled from {owner}: the tracker owns the {name} while the integration is connected."]
        for name in TRACKER_OWNED_REQUIREMENT_FIELDS
        if name in changes and changes[name] != getattr(requirement, name)
    }


def save_requirement(requirement: Requirement, **changes) -> Requirement:
    """Create (no pk yet) or change a requirement written here; refuses what its tracker owns."""
    unknown = set(changes) - set(REQUIREMENT_FIELDS)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} of a requirement.")
    refused = tracker_owned_changes(requirement, changes)
    if refused:
        raise ValidationError(refused)
    if "folder" in changes:
        changes["folder"] = normalize_folder(changes["folder"])
    for field, value in changes.items():
        setattr(requirement, field, value)
    requirement.full_clean(exclude=["project"])
    requirement.save()
    return requirement
