"""Small metrics for the project page, drawn as inline SVG bar charts: the defects found in each of
the latest runs, the median resolution time of the project's own issues and of each tracker whose
issues are linked in it, and how long the latest resolved issues took.

An internal issue is resolved when it enters resolved or closed (``Issue.resolved_at``); issues
resolved before that was kept are dated by their last change, and the charts say so. A tracker
issue's times are the tracker's own (``remote_created_at``, ``remote_resolved_at``), as the last
refresh or webhook read them; one the tracker gave no dates for is left out.
"""

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from issues.core.models import Issue
from issues.links.models import ExternalReference, Link
from projects.models import TestRun

RUNS_SHOWN = 10


ISSUES_SHOWN = 10


WIDTH, HEIGHT, GAP, LABEL = 300, 90, 4, 14  # SVG geometry, in its own units


INTERNAL = "Internal issues"


ESTIMATED_MARK = "≈"


ESTIMATED_NOTE = f"{ESTIMATED_MARK} dated by its last change: resolved before resolution times were kept."


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    note: str = ""


@dataclass
class Chart:
    title: str
    unit: str
    bars: list[Bar] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT + LABEL
    # Bars whose label matters (trackers rather than a sequence) are listed under the chart too.
    legend: bool = False
    note: str = ""
    empty_text: str = "Nothing to show yet."

    @property
    def empty(self) -> bool:
        return not self.bars


def bar_chart(
    title: str, unit: str, values: list[tuple[str, float]], notes: list[str] | None = None, **options
) -> Chart:
    """Bars for ``(label, value)`` pairs, scaled to the largest value, left to right; ``notes`` say
    more about each bar, in the same order."""
    chart = Chart(title, unit, **options)
    if not values:
        return chart
    notes = notes or [""] * len(values)
    top = max(value for _, value in values) or 1
    width = (WIDTH - GAP * (len(values) - 1)) / len(values)
    for index, ((label, value), note) in enumerate(zip(values, notes, strict=True)):
        height = round(HEIGHT * value / top, 2)
        chart.bars.append(
            Bar(label, value, round(index * (width + GAP), 2), round(HEIGHT - height, 2), round(width, 2), height, note)
        )
    return chart


def days_between(start: datetime, end: datetime) -> float:
    # A tracker's data may say resolved before created (imported issues): no negative bars.
    return max(0.0, (end - start).total_seconds() / 86400)


def defects_per_run(project) -> Chart:
    """How many distinct issues (internal or tracker) are linked to each of the latest runs' results."""
    runs = list(TestRun.objects.filter(project=project).order_by("-created_at", "-id")[:RUNS_SHOWN])[::-1]
    found: dict[int, set] = {run.pk: set() for run in runs}
    sides = Link.objects.filter(test_result__run__in=list(found)).values_list(
        "test_result__run", "issue", "external_reference"
    )
    for run_id, issue_id, reference_id in sides:
        found[run_id].add((issue_id, reference_id))
    return bar_chart("Defects found per run", "issues", [(run.name, len(found[run.pk])) for run in runs])


def _internal_issues(project):
    """The project's own resolved issues; a defect kept in step with a tracker issue counts under its
    tracker, with the tracker's dates, not twice."""
    return Issue.objects.filter(project=project, resolved_at__isnull=False, defect_sync__isnull=True)


def _references(project):
    """The tracker issues linked to this project's artefacts or issues that the tracker dated resolved."""
    return ExternalReference.objects.filter(
        pk__in=Link.objects.filter(project=project, external_reference__isnull=False).values("external_reference"),
        remote_created_at__isnull=False,
        remote_resolved_at__isnull=False,
    )


def _count(resolved: int, estimated: int = 0) -> str:
    text = f"{resolved} resolved issue{'s' if resolved != 1 else ''}"
    if estimated:
        text += f", {estimated} {ESTIMATED_MARK} dated by their last change"
    return text


def resolution_by_tracker(project) -> Chart:
    """Median days from creation to resolution: the project's own issues, then each tracker (by the
    source's name) whose resolved issues are linked in the project."""
    internal = list(_internal_issues(project).values_list("created_at", "resolved_at", "resolved_at_estimated"))
    by_source: dict[str, list[float]] = {}
    for source_name, created, resolved in _references(project).values_list(
        "source_name", "remote_created_at", "remote_resolved_at"
    ):
        by_source.setdefault(source_name, []).append(days_between(created, resolved))
    values, notes = [], []
    approximate = sum(flag for *_, flag in internal)
    if internal:
        values.append(
            (INTERNAL, round(median(days_between(created, resolved) for created, resolved, _ in internal), 1))
        )
        notes.append(_count(len(internal), approximate))
    for source_name in sorted(by_source, key=str.lower):
        values.append((source_name, round(median(by_source[source_name]), 1)))
        notes.append(_count(len(by_source[source_name])))
    return bar_chart(
        "Median days to resolve, per tracker",
        "days",
        values,
        notes,
        legend=True,
        note=ESTIMATED_NOTE if approximate else "",
        empty_text="No resolved issues yet. Tracker issues count once linked here and resolved in the tracker.",
    )


def resolution_times(project) -> Chart:
    """Days from creation to resolution of the latest resolved issues, internal and linked tracker ones."""
    issues = _internal_issues(project).select_related("project").order_by("-resolved_at", "-id")[:ISSUES_SHOWN]
    references = _references(project).order_by("-remote_resolved_at", "-id")[:ISSUES_SHOWN]
    latest = sorted(
        [
            (
                issue.resolved_at,
                issue.key + (f" {ESTIMATED_MARK}" if issue.resolved_at_estimated else ""),
                round(days_between(issue.created_at, issue.resolved_at), 1),
            )
            for issue in issues
        ]
        + [
            (
                reference.remote_resolved_at,
                reference.display_key,
                round(days_between(reference.remote_created_at, reference.remote_resolved_at), 1),
            )
            for reference in references
        ],
        key=lambda row: row[0],
    )[-ISSUES_SHOWN:]
    estimated = any(label.endswith(ESTIMATED_MARK) for _, label, _ in latest)
    return bar_chart(
        "Days to resolve, latest resolved issues",
        "days",
        [(label, days) for _, label, days in latest],
        note=ESTIMATED_NOTE if estimated else "",
        empty_text="No resolved issues yet.",
    )
