"""Traceability reads: requirement -> covering test cases -> their latest results -> linked issues.

``matrix`` answers in a fixed number of queries however many requirements, test cases, results
and links there are (a test counts them): requirements, coverage, latest results and links are
each one query, joined in Python.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import OuterRef, Q, Subquery

from issues.core.keys import tracker_key
from issues.core.models import IssueStatus, StatusCategory
from issues.links.models import Link
from issues.pulls.models import Coverage, PulledRequirement
from projects.models import Requirement, ResultStatus, TestCase, TestResult

UNCOVERED, FAILING, NOT_RUN, PASSING = "uncovered", "failing", "not_run", "passing"


COVERAGE_STATUSES = {
    UNCOVERED: "Not covered",
    FAILING: "Failing",
    NOT_RUN: "Not run yet",
    PASSING: "Passing",
}


FAILED_STATUSES = (ResultStatus.FAILED, ResultStatus.BLOCKED)


OPEN_ISSUE_STATUSES = (IssueStatus.OPEN, IssueStatus.IN_PROGRESS)


_SPREADSHEET_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_open(link: Link) -> bool:
    """Whether the link's issue still needs work: an open internal issue, a remote one not done."""
    if link.issue is not None:
        return link.issue.status in OPEN_ISSUE_STATUSES
    reference = link.external_reference
    return not reference.deleted_remotely and reference.status_category != StatusCategory.DONE


@dataclass
class CaseRow:
    case: TestCase
    latest: TestResult | None = None
    links: list[Link] = field(default_factory=list)  # linked to the case or to its latest result


@dataclass
class RequirementRow:
    requirement: Requirement
    pull: PulledRequirement | None = None
    cases: list[CaseRow] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)  # linked to the requirement, its own origin left out

    @property
    def coverage(self) -> str:
        if not self.cases:
            return UNCOVERED
        latest = [row.latest.status if row.latest else None for row in self.cases]
        if any(status in FAILED_STATUSES for status in latest):
            return FAILING
        return PASSING if all(status == ResultStatus.PASSED for status in latest) else NOT_RUN

    @property
    def coverage_label(self) -> str:
        return COVERAGE_STATUSES[self.coverage]

    def all_links(self) -> list[Link]:
        """Every issue of the row once: the requirement's, its cases' and their latest results'."""
        seen, found = set(), []
        for link in [*self.links, *(link for case in self.cases for link in case.links)]:
            identity = (link.issue_id, link.external_reference_id)
            if identity not in seen:
                seen.add(identity)
                found.append(link)
        return found

    def open_links(self) -> list[Link]:
        return [link for link in self.all_links() if is_open(link)]


def releases_of(project) -> list[str]:
    """The releases the project's pulled requirements are planned in, by name."""
    names = PulledRequirement.objects.filter(requirement__project=project).exclude(release="")
    return sorted(set(names.values_list("release", flat=True)), key=str.casefold)


def requirements_for(project, *, release: str = "", state: str = "", text: str = ""):
    requirements = Requirement.objects.filter(project=project)
    if release:
        requirements = requirements.filter(pull__release=release)
    if state:
        requirements = requirements.filter(state=state)
    if text:
        requirements = requirements.filter(
            Q(title__icontains=text) | Q(origin_key__iexact=text) | Q(coverage__test_case__title__icontains=text)
        ).distinct()
    return requirements


def matrix(requirements, *, coverage: str = "") -> list[RequirementRow]:
    """The traceability rows of ``requirements`` (a queryset), in its order; ``coverage`` keeps only
    rows with that coverage status (UNCOVERED, FAILING, NOT_RUN or PASSING)."""
    rows = [
        RequirementRow(requirement, getattr(requirement, "pull", None))
        for requirement in requirements.select_related("pull").order_by("priority", "title", "id")
    ]
    by_requirement = {row.requirement.pk: row for row in rows}
    chosen = requirements.values("pk")
    case_rows: dict[int, CaseRow] = {}
    covered = Coverage.objects.filter(requirement__in=chosen).select_related("test_case")
    for entry in covered.order_by("test_case__folder", "test_case__title", "test_case_id"):
        row = case_rows.setdefault(entry.test_case_id, CaseRow(entry.test_case))
        by_requirement[entry.requirement_id].cases.append(row)
    latest_of_case = TestResult.objects.filter(case=OuterRef("pk")).order_by("-run__created_at", "-run_id")
    latest_ids = (
        TestCase.objects.filter(coverage__requirement__in=chosen)
        .annotate(latest=Subquery(latest_of_case.values("pk")[:1]))
        .values("latest")
    )
    results_by_id = {}
    for result in TestResult.objects.filter(pk__in=latest_ids).select_related("run"):
        case_rows[result.case_id].latest = result
        results_by_id[result.pk] = case_rows[result.case_id]
    links = (
        Link.objects.filter(
            Q(requirement__in=chosen) | Q(test_case__coverage__requirement__in=chosen) | Q(test_result__in=latest_ids)
        )
        .distinct()
        .select_related("issue__project", "external_reference")
        .order_by("created_at", "id")
    )
    for link in links:
        if link.requirement_id is not None:
            row = by_requirement[link.requirement_id]
            origin = row.pull.reference_id if row.pull is not None else None
            if link.external_reference_id is None or link.external_reference_id != origin:
                row.links.append(link)
        elif link.test_case_id is not None:
            case_rows[link.test_case_id].links.append(link)
        else:
            results_by_id[link.test_result_id].links.append(link)
    return [row for row in rows if not coverage or row.coverage == coverage]


@dataclass(frozen=True)
class Totals:
    requirements: int
    covered: int
    passing: int
    failing: int
    not_run: int
    uncovered: int
    open_issues: int


def totals(rows: Iterable[RequirementRow]) -> Totals:
    rows = list(rows)
    counts = {status: sum(1 for row in rows if row.coverage == status) for status in COVERAGE_STATUSES}
    open_issues = {(link.issue_id, link.external_reference_id) for row in rows for link in row.open_links()}
    return Totals(
        requirements=len(rows),
        covered=len(rows) - counts[UNCOVERED],
        passing=counts[PASSING],
        failing=counts[FAILING],
        not_run=counts[NOT_RUN],
        uncovered=counts[UNCOVERED],
        open_issues=len(open_issues),
    )


def _cell(value) -> str:
    """A spreadsheet cell that shows the text, never a formula (tracker titles are untrusted)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_SPREADSHEET_FORMULA_STARTS) else text


def _issue_text(link: Link) -> str:
    if link.issue is not None:
        return f"{link.issue.key} ({link.issue.get_status_display()})"
    reference = link.external_reference
    status = reference.status or reference.get_status_category_display()
    status = "deleted in tracker" if reference.deleted_remotely else status
    return f"{reference.display_key} ({status})"


CSV_COLUMNS = [
    "Requirement",
    "Origin",
    "State",
    "Priority",
    "Release",
    "Release date",
    "Sprint",
    "Coverage",
    "Test case id",
    "Test case",
    "Latest result",
    "Run",
    "Recorded",
    "Issues",
]


def matrix_csv(rows: Iterable[RequirementRow]) -> str:
    """One line per requirement and covering test case (one line for an uncovered requirement)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        requirement, pull = row.requirement, row.pull
        origin = tracker_key(requirement.origin_key, requirement.origin_tracker) if requirement.origin_key else ""
        head = [
            requirement.title,
            origin,
            requirement.get_state_display(),
            requirement.priority,
            pull.release if pull else "",
            pull.release_date.isoformat() if pull and pull.release_date else "",
            pull.sprint if pull else "",
            row.coverage_label,
        ]
        requirement_issues = [_issue_text(link) for link in row.links]
        for case_row in row.cases or [None]:
            if case_row is None:
                tail = ["", "", "", "", "", "; ".join(requirement_issues)]
            else:
                latest = case_row.latest
                issues = requirement_issues + [_issue_text(link) for link in case_row.links]
                recorded = latest.recorded_at.strftime("%Y-%m-%d %H:%M") if latest else ""
                tail = [
                    case_row.case.pk,
                    case_row.case.title,
                    latest.get_status_display() if latest else "",
                    latest.run.name if latest else "",
                    recorded,
                    "; ".join(dict.fromkeys(issues)),
                ]
            writer.writerow([_cell(value) for value in head + tail])
    return out.getvalue()
