"""Small metrics for the project page, drawn as inline SVG bar charts: the defects found in each of
the latest runs, and how long the latest resolved issues took to resolve.

Issues keep no resolution time of their own, so an internal issue's is the time from its report to
its last change while resolved or closed (``updated_at``); the chart says so.
"""

from dataclasses import dataclass, field

from projects.models import TestRun

from .models import Issue, IssueStatus, Link

RUNS_SHOWN = 10
ISSUES_SHOWN = 10
WIDTH, HEIGHT, GAP, LABEL = 300, 90, 4, 14  # SVG geometry, in its own units


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float


@dataclass
class Chart:
    title: str
    unit: str
    bars: list[Bar] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT + LABEL

    @property
    def empty(self) -> bool:
        return not self.bars


def bar_chart(title: str, unit: str, values: list[tuple[str, float]]) -> Chart:
    """Bars for ``(label, value)`` pairs, scaled to the largest value, left to right."""
    chart = Chart(title, unit)
    if not values:
        return chart
    top = max(value for _, value in values) or 1
    width = (WIDTH - GAP * (len(values) - 1)) / len(values)
    for index, (label, value) in enumerate(values):
        height = round(HEIGHT * value / top, 2)
        chart.bars.append(Bar(label, value, round(index * (width + GAP), 2), round(HEIGHT - height, 2),
                              round(width, 2), height))
    return chart


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


def resolution_times(project) -> Chart:
    """Days from report to resolution (last change while resolved or closed) of the latest resolved issues."""
    issues = list(
        Issue.objects.filter(project=project, status__in=[IssueStatus.RESOLVED, IssueStatus.CLOSED])
        .select_related("project").order_by("-updated_at", "-id")[:ISSUES_SHOWN]
    )[::-1]
    values = [(issue.key, round((issue.updated_at - issue.created_at).total_seconds() / 86400, 1)) for issue in issues]
    return bar_chart("Days to resolve (report to last change)", "days", values)
