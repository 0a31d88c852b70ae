"""Read queries shared by pages and the API."""

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Count, F, OuterRef, Q, Subquery, Value
from django.shortcuts import get_object_or_404

from .models import (
    Membership,
    Milestone,
    Project,
    Requirement,
    ResultStatus,
    Role,
    TestCase,
    TestPlan,
    TestResult,
    TestRun,
    case_type_key,
)
from .permissions import ROLE_ACTIONS, Action, ensure, is_system_admin, visible_projects


def project_for(user, key: str, action: Action) -> Project:
    """The project with this key if the user may perform `action` in it.

    Unknown keys and projects the user is not in both raise Http404, so a key's existence
    stays secret; members whose role forbids the action get PermissionDenied.
    """
    project = get_object_or_404(Project, key=key)
    ensure(user, action, project)
    return project


def projects_for(user):
    return visible_projects(user).annotate(case_count=Count("test_cases", distinct=True)).order_by("key")


def project_counts(project) -> dict:
    return {
        "cases": TestCase.objects.filter(project=project).count(),
        "runs": TestRun.objects.filter(project=project).count(),
        "requirements": Requirement.objects.filter(project=project).count(),
    }


def cases_of(project, *, folder: str = "", text: str = ""):
    """Cases of the project; `folder` includes its subfolders, `text` searches title and content."""
    cases = TestCase.objects.filter(project=project)
    if folder:
        cases = cases.filter(Q(folder=folder) | Q(folder__startswith=f"{folder}/"))
    if text:
        cases = cases.filter(
            Q(title__icontains=text)
            | Q(preconditions__icontains=text)
            | Q(steps__icontains=text)
            | Q(description__icontains=text)
        )
    return cases.order_by("folder", "title", "id")


def recent_cases(project, limit: int = 10):
    return TestCase.objects.filter(project=project).order_by("-updated_at", "-id")[:limit]


def folders_of(project, model=TestCase) -> list[dict]:
    """Every folder path with the number of cases (or requirements: `model`) in it and below it, parents
    before children."""
    totals: dict[str, int] = {}
    rows = model.objects.filter(project=project).exclude(folder="").values("folder").annotate(n=Count("id"))
    for row in rows:
        parts = row["folder"].split("/")
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            totals[path] = totals.get(path, 0) + row["n"]
    return [
        {"path": path, "name": path.rsplit("/", 1)[-1], "depth": path.count("/"), "count": count}
        for path, count in sorted(totals.items())
    ]


def case_in(project, pk: int) -> TestCase:
    return get_object_or_404(TestCase.objects.filter(project=project).select_related("case_type"), pk=pk)


def case_type_named(project, name: str):
    """The project's case type written this way (any case, "&" or "and"), or None."""
    key = case_type_key(name)
    return next((kind for kind in project.case_types.all() if case_type_key(kind.name) == key), None) if key else None


def case_types_with_counts(project):
    return project.case_types.annotate(case_count=Count("cases")).order_by("position", "name")


def case_fields_with_counts(project) -> list:
    """The project's custom fields, each with how many cases have a value for it."""
    fields = list(project.case_fields.order_by("position", "name"))
    for field in fields:
        field.case_count = TestCase.objects.filter(project=project, custom_fields__has_key=field.name).count()
    return fields


def custom_values_of(case) -> list[dict]:
    """The case's custom field values with their labels, in the project's order of fields."""
    return [
        {"label": field.label, "name": field.name, "kind": field.kind, "value": case.custom_fields[field.name]}
        for field in case.project.case_fields.all()
        if field.name in case.custom_fields
    ]


def runs_of(project):
    return with_result_counts(TestRun.objects.filter(project=project)).order_by("-created_at", "-id")


def run_in(project, pk: int) -> TestRun:
    return get_object_or_404(TestRun.objects.filter(project=project).select_related("created_by", "milestone"), pk=pk)


def status_counts(run) -> list[dict]:
    """How many results of the run have each status, in the order of ResultStatus."""
    return _counts_of(TestResult.objects.filter(run=run))


def _counts_of(results) -> list[dict]:
    counts = dict(results.order_by().values_list("status").annotate(n=Count("id")))
    return [
        {"status": status, "label": label, "count": counts.get(status, 0)} for status, label in ResultStatus.choices
    ]


def progress(counts: list[dict]) -> dict:
    """Progress of a set of results from their status counts: how many are tested (anything but
    untested and retest), the percentage, and each status's share of the bar in percent."""
    total = sum(count["count"] for count in counts)
    waiting = sum(count["count"] for count in counts if count["status"] in (ResultStatus.UNTESTED, ResultStatus.RETEST))
    return {
        "total": total,
        "tested": total - waiting,
        "percent": round(100 * (total - waiting) / total) if total else 0,
        "segments": [
            {**count, "share": round(100 * count["count"] / total, 2) if total else 0}
            for count in counts
            if count["count"]
        ],
    }


def milestone_counts(milestone) -> list[dict]:
    """Status counts over the results of every run of the milestone, its own and its plans'."""
    return counts_per_milestone([milestone])[milestone.pk]


def counts_per_milestone(milestones) -> dict[int, list[dict]]:
    """Status counts of several milestones in three queries whatever their number: a run counts
    once for a milestone even when it is both the milestone's own and in one of its plans."""
    ids = [milestone.pk for milestone in milestones]
    runs: dict[int, set[int]] = {pk: set() for pk in ids}
    for milestone_id, run_id in TestRun.objects.filter(milestone_id__in=ids).values_list("milestone_id", "pk"):
        runs[milestone_id].add(run_id)
    planned = TestPlan.runs.through.objects.filter(testplan__milestone_id__in=ids)
    for milestone_id, run_id in planned.values_list("testplan__milestone_id", "testrun_id"):
        runs[milestone_id].add(run_id)
    all_runs = set().union(*runs.values()) if runs else set()
    per_run: dict[int, dict[str, int]] = {}
    rows = TestResult.objects.filter(run_id__in=all_runs).order_by().values_list("run_id", "status")
    for run_id, status, n in rows.annotate(n=Count("id")):
        per_run.setdefault(run_id, {})[status] = n
    return {
        pk: [
            {
                "status": status,
                "label": label,
                "count": sum(per_run.get(run_id, {}).get(status, 0) for run_id in runs[pk]),
            }
            for status, label in ResultStatus.choices
        ]
        for pk in ids
    }


def results_of(run, *, status: str = ""):
    results = TestResult.objects.filter(run=run).select_related("case", "recorded_by", "assignee")
    if status:
        results = results.filter(status=status)
    return results.order_by("case__folder", "case__title", "id")


def results_of_case(case):
    """The case's results across runs, newest run first."""
    return TestResult.objects.filter(case=case).select_related("run").order_by("-run__created_at", "-run_id")


def result_in(run, pk: int) -> TestResult:
    return get_object_or_404(
        TestResult.objects.filter(run=run).select_related("case", "run__milestone", "recorded_by", "assignee"), pk=pk
    )


def requirements_of(project, *, state: str = "", text: str = "", folder: str = ""):
    requirements = Requirement.objects.filter(project=project)
    if folder:
        requirements = requirements.filter(Q(folder=folder) | Q(folder__startswith=f"{folder}/"))
    if state:
        requirements = requirements.filter(state=state)
    if text:
        requirements = requirements.filter(
            Q(title__icontains=text) | Q(description__icontains=text) | Q(origin_key__iexact=text)
        )
    return requirements.order_by("priority", "title", "id")


def requirement_in(project, pk: int) -> Requirement:
    return get_object_or_404(Requirement.objects.filter(project=project), pk=pk)


def page_of(queryset, number, per_page: int = 50):
    """One page of a queryset; out-of-range or malformed page numbers give the nearest page."""
    return Paginator(queryset, per_page).get_page(number)


def projects_with_role(user):
    """Projects the user can see, each annotated with `role`: theirs, or admin for a system admin."""
    if is_system_admin(user):
        role = Value(Role.ADMIN.value)
    else:
        role = Subquery(Membership.objects.filter(project=OuterRef("pk"), user_id=user.pk).values("role")[:1])
    return visible_projects(user).annotate(role=role)


def with_result_counts(runs):
    """Runs annotated with `result_count` and a `<status>_count` for every result status."""
    per_status = {
        f"{status}_count": Count("results", filter=Q(results__status=status)) for status in ResultStatus.values
    }
    return runs.annotate(result_count=Count("results"), **per_status)


def assigned_to(user):
    """Results assigned to the user in the projects they can still see, untested ones first."""
    waiting = [ResultStatus.UNTESTED, ResultStatus.RETEST]
    return (
        TestResult.objects.filter(assignee=user, run__project__in=visible_projects(user))
        .select_related("run__project", "case")
        .annotate(done=~Q(status__in=waiting))
        .order_by("done", "-run__created_at", "run_id", "case__folder", "case__title", "id")
    )


def executors_of(project):
    """Members who may record results in the project (the people results can be assigned to)."""
    roles = [role for role, actions in ROLE_ACTIONS.items() if Action.EDIT in actions]
    users = get_user_model().objects.filter(is_active=True)
    return users.filter(memberships__project=project, memberships__role__in=roles).order_by("username").distinct()


def milestones_of(project):
    milestones = Milestone.objects.filter(project=project).annotate(
        run_count=Count("runs", distinct=True), plan_count=Count("plans", distinct=True)
    )
    return milestones.order_by(F("due_date").asc(nulls_last=True), "name", "id")


def milestone_in(project, pk: int) -> Milestone:
    return get_object_or_404(Milestone.objects.filter(project=project), pk=pk)


def plans_of(project):
    plans = TestPlan.objects.filter(project=project).select_related("milestone").annotate(run_count=Count("runs"))
    return plans.order_by("name", "id")


def plan_in(project, pk: int) -> TestPlan:
    return get_object_or_404(TestPlan.objects.filter(project=project).select_related("milestone"), pk=pk)


def memberships_of(project):
    """The project's members with their roles, for its Settings › Members page."""
    return project.memberships.select_related("user").order_by("role", "user__username")
