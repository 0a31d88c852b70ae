"""Read queries on links and tracker references, shared by pages and the API.

Every query is scoped to one project and fetches related rows in a fixed number of
queries, however many issues or links there are (bench/pages.py measures it)."""

import math
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse

from integrations import selectors as integration_selectors
from integrations.providers import provider_class
from integrations.providers.base import BackLink, Capability
from issues.core.artefacts import (
    ARTEFACT_LABELS,
    artefact_field,
    artefact_path,
    artefact_project,
    artefact_title,
    artefacts_of,
    kind_of,
)
from issues.core.models import RESOLVED_STATUSES, Issue, StatusCategory
from issues.core.selectors import CATEGORY_OF_STATUS, INTERNAL, attach_listed_tags, issues_of
from issues.links.key_moves import references_by_key
from issues.links.models import ExternalReference, Link, ReferenceAlias
from projects.models import Requirement, ResultStatus, TestResult
from projects.selectors import cases_of, requirements_of


@dataclass(frozen=True)
class LinkSummary:
    """What a list of issues shows of one link: the artefact's kind, id and title, who linked it and when."""

    id: int
    type: str
    artefact_id: int
    title: str
    created_by: str | None
    created_at: datetime


_LINK_SUMMARY_COLUMNS = {
    "case_title": F("test_case__title"),
    "run_name": F("test_run__name"),
    "result_case_title": F("test_result__case__title"),
    "result_run_name": F("test_result__run__name"),
    "requirement_title": F("requirement__title"),
    "creator": F("created_by__username"),
}


def _link_summary(row) -> LinkSummary:
    """The summary of one flat link row; the artefact is whichever of the four columns is set."""
    if row["test_case_id"]:
        kind, artefact_id, title = "case", row["test_case_id"], row["case_title"]
    elif row["test_run_id"]:
        kind, artefact_id, title = "run", row["test_run_id"], row["run_name"]
    elif row["test_result_id"]:
        kind, artefact_id = "result", row["test_result_id"]
        title = f"{row['result_case_title']} in {row['result_run_name']}"
    else:
        kind, artefact_id, title = "requirement", row["requirement_id"], row["requirement_title"]
    return LinkSummary(row["id"], kind, artefact_id, title, row["creator"], row["created_at"])


def link_summaries_by_issue(issue_ids) -> dict[int, list[LinkSummary]]:
    """Each internal issue's links, oldest first, from one flat query (the artefact's title read by
    left joins, no model instances): a list of issues costs the same queries for 5 links or 5,000."""
    summaries: dict[int, list[LinkSummary]] = {issue_id: [] for issue_id in issue_ids}
    rows = (
        Link.objects.filter(issue_id__in=list(summaries))
        .order_by("created_at", "id")
        .values(
            "id",
            "issue_id",
            "created_at",
            "test_case_id",
            "test_run_id",
            "test_result_id",
            "requirement_id",
            **_LINK_SUMMARY_COLUMNS,
        )
    )
    for row in rows:
        summaries[row["issue_id"]].append(_link_summary(row))
    return summaries


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
        .select_related("issue__project", "issue__assignee", "external_reference__source")
        .order_by("created_at", "id")
    )


LINKS_PER_PAGE = 50


# A link's status category, whichever its issue side: an internal issue's by its status, a tracker issue's as cached.
_LINK_CATEGORY = Case(
    *[When(issue__status=status, then=Value(category)) for status, category in CATEGORY_OF_STATUS.items()],
    When(issue__isnull=False, then=Value(StatusCategory.UNKNOWN)),
    default=F("external_reference__status_category"),
    output_field=CharField(),
)


@dataclass(frozen=True)
class StatusCount:
    category: str
    label: str
    count: int


@dataclass(frozen=True)
class LinkPage:
    """One page of an artefact's links (open issues first, then the most recently updated) with what
    all of them count by status category: the page costs the same for 50 links or 5,000."""

    links: list
    number: int
    pages: int
    counts: list[StatusCount]  # every category with links, in StatusCategory's order
    total: int
    to_trackers: int  # how many of all the links are to tracker issues

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def references(self) -> list:
        """The tracker issues this page shows."""
        return [link.external_reference for link in self.links if link.external_reference_id]


def _page_number(asked, pages: int) -> int:
    """The page asked for as a number from 1 to ``pages``: malformed or out of range, the nearest page."""
    text = str(asked)
    if not (text.isascii() and text.isdecimal()):
        return 1
    return pages if len(text) > 9 else min(max(int(text), 1), pages)  # int() refuses 4,301 digits


def _in_page_order(links):
    """Open issues first (internal or tracker), then the most recently updated, then the newest link."""
    done = Case(When(category=StatusCategory.DONE, then=Value(True)), default=Value(False))
    updated = Coalesce("issue__updated_at", "external_reference__remote_updated_at", "created_at")
    return links.annotate(category=_LINK_CATEGORY, done=done, updated=updated).order_by(
        "done", F("updated").desc(), "-pk"
    )


def link_page(artefact, asked=1, per_page: int = LINKS_PER_PAGE) -> LinkPage:
    """One page of the artefact's links in two queries: the counts by status category (one aggregate,
    also the total) and the page's links with their issue sides. Only the artefact's project's links."""
    links = Link.objects.filter(project=artefact_project(artefact), **{artefact_field(artefact): artefact})
    tracker = ExpressionWrapper(Q(external_reference__isnull=False), output_field=BooleanField())
    grouped = links.values(category=_LINK_CATEGORY, tracker=tracker).annotate(count=Count("pk")).order_by()
    by_category: dict[str, int] = {}
    to_trackers = 0
    for row in grouped:
        by_category[row["category"]] = by_category.get(row["category"], 0) + row["count"]
        to_trackers += row["count"] if row["tracker"] else 0
    total = sum(by_category.values())
    pages = max(1, math.ceil(total / per_page))
    number = _page_number(asked, pages)
    # The page's ids are sorted out of all links with the two joins the order needs; only those 50 rows
    # are then read with their issue sides' project, assignee and source (one query: a subquery).
    shown = _in_page_order(links).values("pk")[(number - 1) * per_page : number * per_page]
    page_links = _in_page_order(Link.objects.filter(pk__in=shown)).select_related(
        "issue__project", "issue__assignee", "external_reference__source"
    )
    return LinkPage(
        links=list(page_links),
        number=number,
        pages=pages,
        counts=[
            StatusCount(value, label, by_category[value])
            for value, label in StatusCategory.choices
            if by_category.get(value)
        ],
        total=total,
        to_trackers=to_trackers,
    )


@dataclass(frozen=True)
class ResultIssues:
    """The distinct issues linked to a run's results: ``internal`` and ``references`` as
    (issue or reference, number of the run's results it is linked to), most linked first."""

    internal: list
    references: list

    @property
    def total(self) -> int:
        return len(self.internal) + len(self.references)


def issues_of_results_in(run) -> ResultIssues:
    """What the run's linked-issues panel counts: every internal issue and tracker reference linked
    to one of the run's results, once each, in one query."""
    counted: dict[tuple[str, int], list] = {}
    links = Link.objects.filter(test_result__run=run).select_related(
        "issue__project", "issue__assignee", "external_reference"
    )
    for found in links.order_by("created_at", "id"):
        side = ("issue", found.issue_id) if found.issue_id else ("reference", found.external_reference_id)
        counted.setdefault(side, [found.issue or found.external_reference, 0])[1] += 1
    ranked = sorted(counted.items(), key=lambda item: -item[1][1])
    return ResultIssues(
        internal=[tuple(value) for (side, _), value in ranked if side == "issue"],
        references=[tuple(value) for (side, _), value in ranked if side == "reference"],
    )


def links_by_result(results) -> dict[int, list[Link]]:
    """Links of many results at once (a run's results table): result id -> links."""
    grouped: dict[int, list[Link]] = {}
    links = Link.objects.filter(test_result__in=[result.pk for result in results])
    for found in links.select_related("issue__project", "external_reference").order_by("created_at", "id"):
        grouped.setdefault(found.test_result_id, []).append(found)
    return grouped


def link_icon_url(site_url: str, name: str) -> str:
    """The address of a link icon by its plain file name, not the hashed one of collectstatic's
    manifest: trackers keep it in their remote links long after the next deploy changes the hash,
    and a worker host may never have collected static files (whitenoise serves both names)."""
    return urljoin(site_url, f"{settings.STATIC_URL}issues/link-icons/{name}.svg")


def back_link(artefact, site_url: str) -> BackLink:
    """How a remote issue shows the artefact it is linked to: a link to its page with its test status
    (an internal issue pushed to the tracker: its page with its status)."""
    if isinstance(artefact, Issue):
        return BackLink(
            url=urljoin(site_url, reverse("issues:detail", args=[artefact.project.key, artefact.number])),
            title=f"Issue {artefact.key}: {artefact.name}",
            status=artefact.get_status_display(),
            resolved=artefact.status in RESOLVED_STATUSES,
            icon_url=link_icon_url(site_url, "testmanager"),
        )
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
            issues = issues.filter(status__in=[value for value, kind in CATEGORY_OF_STATUS.items() if kind == category])
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
            former = ReferenceAlias.objects.filter(reference=OuterRef("pk"), key__icontains=text.strip())
            references = references.filter(
                Q(key__icontains=text.strip()) | Q(title__icontains=text) | Q(Exists(former))
            )
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
    issues = list(Issue.objects.filter(pk__in=wanted["issue"]).select_related("project", "assignee"))
    attach_listed_tags(issues)  # as /api/issues reads them
    references = ExternalReference.objects.filter(pk__in=wanted["reference"])
    found = {("issue", issue.pk): issue for issue in issues} | {("reference", ref.pk): ref for ref in references}
    return [found[row["kind"], row["ident"]] for row in rows if (row["kind"], row["ident"]) in found]


def reference_sources(project) -> list[tuple[int, str]]:
    """(source id, name) of the sources whose issues are linked in the project or pulled as its bugs,
    for the issue list's source filter."""
    linked = ExternalReference.objects.filter(
        Q(links__project=project) | Q(pulled_bugs__project=project), source__isnull=False
    )
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


def reference_of(source, key: str) -> ExternalReference | None:
    """The source's reference of ``key``: by its key, else by a key its issue had before it moved.
    Not scoped to a project: for what a project asks, see ``reference_for``."""
    found = ExternalReference.objects.filter(source=source, key=key).first()
    if found is None and source is not None:
        found = next(iter(references_by_key(source.pk, [key]).get(key.lower(), [])), None)
    return found


def reference_for(integration, key: str) -> ExternalReference | None:
    """The reference of ``key`` as the integration's project may see it, else None (a missing key).

    A project sees a reference linked in it. Otherwise only what the tracker itself says, read through
    an integration of this project: on a source whose details are read, and, where the key names its
    external project (``owner/repo#12``), one of this project's external projects on that source. A
    title someone typed in another project (a tracker that is not read) is that project's words."""
    source = integration.source
    reference = reference_of(source, key)
    if reference is None or reference.links.filter(project=integration.project).exists():
        return reference
    if not integration_selectors.can(source, Capability.READ_DETAILS):
        return None
    named = provider_class(source.provider).project_of_key(reference.key)
    scopes = integration_selectors.project_integrations(integration.project).filter(source=source)
    return reference if not named or named in {scope.external_project for scope in scopes} else None
