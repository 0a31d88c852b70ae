"""Read queries on issues and links, shared by pages and the API.

Every query is scoped to one project and fetches related rows in a fixed number of
queries, however many issues or links there are (bench/pages.py measures it).
"""

import re

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404

from projects.models import Requirement, TestCase, TestResult, TestRun
from projects.selectors import cases_of, requirements_of

from .models import Issue, IssueStatus, Link
from .services import artefact_field

# The artefact kinds of the pages' query strings (`?result=17`) and forms.
ARTEFACT_KINDS = {"case": TestCase, "run": TestRun, "result": TestResult, "requirement": Requirement}
ARTEFACT_LABELS = {"case": "Test case", "run": "Test run", "result": "Test result", "requirement": "Requirement"}
UNRESOLVED = "unresolved"
UNASSIGNED = "none"
_ISSUE_NUMBER = re.compile(r"^(?:(?P<key>[A-Za-z][A-Za-z0-9]*)-|#)?(?P<number>\d{1,9})$")
_MARKDOWN_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]<>#|])")


def issues_of(project, *, status: str = "", priority: str = "", tag=None, assignee=None, text: str = ""):
    """The project's issues, newest first. `status` may be UNRESOLVED (open or in progress);
    `assignee` is a user id or UNASSIGNED; `text` matches name, description or a number
    ('12', '#12', 'SHOP-12')."""
    issues = Issue.objects.filter(project=project).select_related("project", "assignee").prefetch_related("tags")
    if status == UNRESOLVED:
        issues = issues.filter(status__in=[IssueStatus.OPEN, IssueStatus.IN_PROGRESS])
    elif status:
        issues = issues.filter(status=status)
    if priority:
        issues = issues.filter(priority=priority)
    if tag is not None:
        issues = issues.filter(tags=tag)
    if assignee == UNASSIGNED:
        issues = issues.filter(assignee__isnull=True)
    elif assignee:
        issues = issues.filter(assignee_id=assignee)
    if text:
        matches = Q(name__icontains=text) | Q(description__icontains=text)
        number = _ISSUE_NUMBER.match(text.strip())
        if number and number["key"] in (None, project.key, project.key.lower()):
            matches |= Q(number=int(number["number"]))
        issues = issues.filter(matches)
    return issues.order_by("-number")


def issue_in(project, number: int) -> Issue:
    issues = Issue.objects.filter(project=project).select_related("project", "assignee", "reporter")
    return get_object_or_404(issues.prefetch_related("tags", "attachments"), number=number)


def members_of(project):
    """Users who may be assigned issues of the project."""
    return get_user_model().objects.filter(memberships__project=project, is_active=True).order_by("username")


def artefacts_of(project, kind: str):
    """Test artefacts of one kind in the project; KeyError for an unknown kind."""
    model = ARTEFACT_KINDS[kind]
    if model is TestResult:
        return TestResult.objects.filter(run__project=project).select_related("case", "run")
    return model.objects.filter(project=project)


def artefact_in(project, kind: str, pk) -> object:
    """One artefact of the project; Http404 for another project's object or an unknown kind."""
    if kind not in ARTEFACT_KINDS:
        raise Http404("No such kind of test artefact.")
    return get_object_or_404(artefacts_of(project, kind), pk=pk)


def kind_of(artefact) -> str:
    return next(kind for kind, model in ARTEFACT_KINDS.items() if isinstance(artefact, model))


def linkable_artefacts(issue, kind: str, text: str, limit: int = 20):
    """Artefacts of the issue's project matching `text` that the issue is not linked to yet."""
    project = issue.project
    if kind == "case":
        candidates = cases_of(project, text=text)
    elif kind == "requirement":
        candidates = requirements_of(project, text=text)
    elif kind == "run":
        candidates = artefacts_of(project, "run").filter(name__icontains=text).order_by("-created_at", "-id")
    else:
        candidates = artefacts_of(project, "result").filter(
            Q(case__title__icontains=text) | Q(run__name__icontains=text)
        ).order_by("-run__created_at", "case__title", "id")
    return candidates.exclude(issue_links__issue=issue)[:limit]


def links_of_issue(issue):
    """The issue's links with their artefacts (and a result's case and run) in one query."""
    return issue.links.select_related(
        "test_case", "test_run", "test_result__case", "test_result__run", "requirement",
    ).order_by("created_at", "id")


def links_to(artefact):
    """Internal issues and tracker references linked to one artefact, in one query."""
    return (
        Link.objects.filter(**{artefact_field(artefact): artefact})
        .select_related("issue__project", "external_reference")
        .order_by("created_at", "id")
    )


def links_by_result(results) -> dict[int, list[Link]]:
    """Links of many results at once (a run's results table): result id -> links."""
    grouped: dict[int, list[Link]] = {}
    links = Link.objects.filter(test_result__in=[result.pk for result in results])
    for found in links.select_related("issue__project", "external_reference").order_by("created_at", "id"):
        grouped.setdefault(found.test_result_id, []).append(found)
    return grouped


def _inline(text: str) -> str:
    """Text that Markdown shows as it is, inside a line or a link label."""
    return _MARKDOWN_INLINE_SPECIALS.sub(r"\\\1", " ".join(text.split()))


def draft_from_result(result: TestResult, result_url: str) -> dict:
    """Name and Markdown description of an issue about a failed result, to be edited before filing."""
    case, run = result.case, result.run
    where = f" ({_inline(run.environment)})" if run.environment else ""
    sections = [
        f"Found in run [{_inline(run.name)}]({result_url}){where}: **{result.get_status_display()}**.",
        f"**Test case:** {_inline(case.title)}" + (f" in {_inline(case.folder)}" if case.folder else ""),
    ]
    for heading, body in (
        ("Preconditions", case.preconditions), ("Steps to reproduce", case.steps),
        ("Expected result", case.expected_result), ("Actual result", result.comment),
    ):
        if body.strip():
            sections.append(f"### {heading}\n\n{body.strip()}")
    sections.append(f"[Open the test result]({result_url})")
    name = f"{case.title} failed in {run.name}"
    return {"name": name if len(name) <= 300 else f"{name[:299]}…", "description": "\n\n".join(sections)}
