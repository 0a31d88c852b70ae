"""Read queries on issues and links, shared by pages and the API.

Every query is scoped to one project and fetches related rows in a fixed number of
queries, however many issues or links there are (bench/pages.py measures it).
"""

import re
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, Q, Value
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from integrations.providers.base import BackLink
from projects.models import Requirement, ResultStatus, Role, TestCase, TestResult, TestRun
from projects.selectors import cases_of, requirements_of

from .models import ExternalReference, FilingJob, FilingState, Issue, IssueStatus, Link, StatusCategory
from .services import artefact_field, artefact_project

# The artefact kinds of the pages' query strings (`?result=17`) and forms.
ARTEFACT_KINDS = {"case": TestCase, "run": TestRun, "result": TestResult, "requirement": Requirement}
ARTEFACT_LABELS = {"case": "Test case", "run": "Test run", "result": "Test result", "requirement": "Requirement"}
UNRESOLVED = "unresolved"
UNASSIGNED = "none"
INTERNAL = "internal"  # the issue list's source filter: internal issues only
# The status category of each internal status, so internal and tracker issues share badges and filters.
STATUS_CATEGORIES = {
    IssueStatus.OPEN: StatusCategory.TO_DO,
    IssueStatus.IN_PROGRESS: StatusCategory.IN_PROGRESS,
    IssueStatus.RESOLVED: StatusCategory.DONE,
    IssueStatus.CLOSED: StatusCategory.DONE,
}
TITLE_MAX = 255  # the longest title every tracker takes
FILEABLE_RESULTS = (ResultStatus.FAILED, ResultStatus.BLOCKED)
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
        candidates = (
            artefacts_of(project, "result")
            .filter(Q(case__title__icontains=text) | Q(run__name__icontains=text))
            .order_by("-run__created_at", "case__title", "id")
        )
    return candidates.exclude(issue_links__issue=issue)[:limit]


def links_of_issue(issue):
    """The issue's links with their artefacts (and a result's case and run) in one query."""
    return issue.links.select_related(
        "test_case",
        "test_run",
        "test_result__case",
        "test_result__run",
        "requirement",
    ).order_by("created_at", "id")


def links_to(artefact):
    """Internal issues and tracker references linked to one artefact, in one query."""
    return (
        Link.objects.filter(**{artefact_field(artefact): artefact})
        .select_related("issue__project", "issue__assignee", "external_reference")
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
        ("Preconditions", case.preconditions),
        ("Steps to reproduce", case.steps),
        ("Expected result", case.expected_result),
        ("Actual result", result.comment),
    ):
        if body.strip():
            sections.append(f"### {heading}\n\n{body.strip()}")
    sections.append(f"[Open the test result]({result_url})")
    name = f"{case.title} failed in {run.name}"
    return {"name": name if len(name) <= 300 else f"{name[:299]}…", "description": "\n\n".join(sections)}


def web_url(url: str) -> str:
    """The URL if it is an http(s) address, else '' (a tracker could report javascript:...)."""
    return url if urlsplit(url or "").scheme.lower() in ("http", "https") else ""


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def admins_of(project):
    """Who can complete the project's tracker settings: its project admins."""
    return (
        get_user_model()
        .objects.filter(memberships__project=project, memberships__role=Role.ADMIN, is_active=True)
        .order_by("username")
    )


def artefact_title(artefact) -> str:
    if isinstance(artefact, TestResult):
        return f"{artefact.case.title} in {artefact.run.name}"
    return artefact.name if isinstance(artefact, TestRun) else artefact.title


def artefact_path(artefact) -> str:
    """The page of a test artefact."""
    project = artefact_project(artefact)
    if isinstance(artefact, TestResult):
        return reverse("projects:result", args=[project.key, artefact.run_id, artefact.pk])
    return reverse(f"projects:{kind_of(artefact)}", args=[project.key, artefact.pk])


def link_icon_url(site_url: str, name: str) -> str:
    """The address of a link icon by its plain file name, not the hashed one of collectstatic's
    manifest: trackers keep it in their remote links long after the next deploy changes the hash,
    and a worker host may never have collected static files (whitenoise serves both names)."""
    return urljoin(site_url, f"{settings.STATIC_URL}issues/link-icons/{name}.svg")


def back_link(artefact, site_url: str) -> BackLink:
    """How a remote issue shows the artefact it is linked to: a link to its page with its test status."""
    label = ARTEFACT_LABELS[kind_of(artefact)]
    status, resolved, status_icon = "", False, ""
    if isinstance(artefact, TestResult):
        status, resolved = artefact.get_status_display(), artefact.status == ResultStatus.PASSED
        status_icon = link_icon_url(site_url, artefact.status)
    elif isinstance(artefact, Requirement):
        status = artefact.get_state_display()
    return BackLink(
        url=urljoin(site_url, artefact_path(artefact)),
        title=f"{label}: {artefact_title(artefact)}",
        status=status,
        resolved=resolved,
        icon_url=link_icon_url(site_url, "testmanager"),
        status_icon_url=status_icon,
    )


def draft_for(artefact, site_url: str) -> dict:
    """Title and Markdown description of a tracker issue about an artefact, to edit before filing."""
    url = urljoin(site_url, artefact_path(artefact))
    if isinstance(artefact, TestResult):
        draft = draft_from_result(artefact, url)
    elif isinstance(artefact, TestRun):
        draft = draft_from_results(fileable_results(artefact), site_url, run=artefact)
    elif isinstance(artefact, TestCase):
        where = f" in {_inline(artefact.folder)}" if artefact.folder else ""
        sections = [f"**Test case:** [{_inline(artefact.title)}]({url}){where}"]
        for heading, body in (
            ("Preconditions", artefact.preconditions),
            ("Steps to reproduce", artefact.steps),
            ("Expected result", artefact.expected_result),
        ):
            if body.strip():
                sections.append(f"### {heading}\n\n{body.strip()}")
        draft = {"name": artefact.title, "description": "\n\n".join(sections)}
    else:
        facts = f"{artefact.get_priority_display()}, {artefact.get_state_display().lower()}"
        sections = [f"**Requirement:** [{_inline(artefact.title)}]({url}) ({facts})"]
        if artefact.description.strip():
            sections.append(artefact.description.strip())
        draft = {"name": artefact.title, "description": "\n\n".join(sections)}
    return {"name": _shorten(draft["name"], TITLE_MAX), "description": draft["description"]}


def fileable_results(run):
    """The run's results an issue is filed for (failed or blocked), in the run page's order."""
    return (
        run.results.filter(status__in=FILEABLE_RESULTS)
        .select_related("case", "run")
        .order_by("case__folder", "case__title", "id")
    )


def _cell(text: str) -> str:
    return _inline(text) or " "


def draft_from_results(results, site_url: str, run=None) -> dict:
    """Title and description of one issue for several results of a run: a table of them."""
    results = list(results)
    if len(results) == 1:
        result = results[0]
        draft = draft_from_result(result, urljoin(site_url, artefact_path(result)))
        return {"name": _shorten(draft["name"], TITLE_MAX), "description": draft["description"]}
    run = run or results[0].run
    where = f" ({_inline(run.environment)})" if run.environment else ""
    found_in = f"Found in run [{_inline(run.name)}]({urljoin(site_url, artefact_path(run))}){where}"
    if not results:
        return {"name": _shorten(f"Problem in {run.name}", TITLE_MAX), "description": f"{found_in}."}
    rows = [
        f"| [{_cell(result.case.title)}]({urljoin(site_url, artefact_path(result))}) | {_cell(result.case.folder)} "
        f"| {result.get_status_display()} | {_cell(result.comment)} |"
        for result in results
    ]
    description = "\n".join(
        [
            f"{found_in}: {len(results)} tests did not pass.",
            "",
            "| Test case | Folder | Status | Actual result |",
            "| --- | --- | --- | --- |",
            *rows,
        ]
    )
    return {"name": _shorten(f"{len(results)} tests failed in {run.name}", TITLE_MAX), "description": description}


def issues_and_references(
    project,
    *,
    source: str = "",
    category: str = "",
    text: str = "",
    status: str = "",
    priority: str = "",
    tag=None,
    assignee=None,
):
    """Rows (kind, ident, moment, number) of the project's internal issues and of the tracker issues
    linked in it, newest first, for one page at a time (``objects_of_rows``). ``source`` is INTERNAL
    or a source id; status, priority, tag and assignee are internal fields, so they leave tracker
    issues out; ``category`` is a status category of both."""
    rows = []
    if source in ("", INTERNAL):
        issues = issues_of(project, status=status, priority=priority, tag=tag, assignee=assignee, text=text)
        if category:
            issues = issues.filter(status__in=[value for value, kind in STATUS_CATEGORIES.items() if kind == category])
        rows.append(
            issues.order_by().values(kind=Value("issue"), ident=F("pk"), moment=F("created_at"), position=F("number"))
        )
    if source != INTERNAL and not (status or priority or tag is not None or assignee):
        # A requirement pulled from a tracker links its own work item: that is the requirement, not an issue.
        references = ExternalReference.objects.filter(links__project=project).exclude(
            pulled_requirements__requirement__project=project
        )
        if source:
            references = references.filter(source_id=source)
        if category:
            references = references.filter(status_category=category)
        if text:
            references = references.filter(Q(key__icontains=text.strip()) | Q(title__icontains=text))
        rows.append(
            references.order_by().values(
                kind=Value("reference"), ident=F("pk"), moment=F("created_at"), position=Value(0)
            )
        )
    combined = rows[0].union(*rows[1:]) if len(rows) > 1 else rows[0]
    return combined.order_by("-moment", "-position")


def objects_of_rows(rows) -> list:
    """The issues and references of a page of ``issues_and_references`` rows, in their order."""
    rows = list(rows)
    wanted = {kind: [row["ident"] for row in rows if row["kind"] == kind] for kind in ("issue", "reference")}
    issues = Issue.objects.filter(pk__in=wanted["issue"]).select_related("project", "assignee").prefetch_related("tags")
    references = ExternalReference.objects.filter(pk__in=wanted["reference"])
    found = {("issue", issue.pk): issue for issue in issues} | {("reference", ref.pk): ref for ref in references}
    return [found[row["kind"], row["ident"]] for row in rows if (row["kind"], row["ident"]) in found]


def reference_sources(project) -> list[tuple[int, str]]:
    """(source id, name) of the sources whose issues are linked in the project, for the source filter."""
    linked = ExternalReference.objects.filter(links__project=project, source__isnull=False)
    return list(linked.values_list("source_id", "source__name").distinct().order_by("source__name"))


def link_in(project, pk: int) -> Link:
    """One link of the project with its two sides; Http404 for another project's."""
    links = Link.objects.filter(project=project).select_related(
        "issue__project",
        "external_reference",
        "test_case",
        "test_run",
        "test_result__case",
        "test_result__run",
        "requirement",
    )
    return get_object_or_404(links, pk=pk)


def filing_job_in(project, pk: int) -> FilingJob:
    jobs = FilingJob.objects.filter(project=project).select_related("run", "integration__source", "created_by")
    return get_object_or_404(jobs, pk=pk)


def job_items(job: FilingJob):
    return job.items.select_related("result__case", "result__run", "reference").order_by("id")


def job_progress(job: FilingJob) -> dict:
    """How far a filing job is, for its progress bar: counts per state and whether it is over."""
    counts = dict.fromkeys(FilingState.values, 0)
    for state in job.items.values_list("state", flat=True):
        counts[state] += 1
    total = sum(counts.values())
    return {
        "total": total,
        "filed": counts[FilingState.FILED],
        "failed": counts[FilingState.FAILED],
        "pending": counts[FilingState.PENDING],
        "done": counts[FilingState.PENDING] == 0,
        "percent": round(100 * (total - counts[FilingState.PENDING]) / total) if total else 100,
    }


# Whose settings a tracker error points at, by TrackerError.code: the project integration's
# (project admins) or the source's (administrators of integrations); others usually pass.
PROJECT_SETTINGS, SOURCE_SETTINGS = "project", "source"
_OWNERS = {
    **dict.fromkeys(("not_configured", "not_found"), PROJECT_SETTINGS),
    **dict.fromkeys(
        ("auth", "permission", "credentials_unreadable", "address_not_allowed", "deployment_mismatch", "unsupported"),
        SOURCE_SETTINGS,
    ),
}


def settings_at_fault(code: str) -> str:
    return _OWNERS.get(code, "")


def who_can_fix(code: str, project) -> str:
    """A sentence naming who can fix a problem with a tracker, so nobody waits for it to go away;
    "" when the member fixes it as the message says (refused values, their own authorization)."""
    if code in ("validation", "authorization_required"):  # the message says what the member does
        return ""
    owner = settings_at_fault(code)
    if owner == PROJECT_SETTINGS:
        admins = ", ".join(user.get_username() for user in admins_of(project))
        who = f"A project administrator of {project.key} ({admins})" if admins else "A system administrator"
        return f"{who} can fix this in the project's tracker settings."
    if owner == SOURCE_SETTINGS:
        return "An administrator of integrations can fix this in the source's settings (Admin › Integrations)."
    return "This is usually temporary: try again in a few minutes, and tell an administrator if it persists."


def reference_of(source, key: str) -> ExternalReference | None:
    return ExternalReference.objects.filter(source=source, key=key).first()
