"""What the Plans page reads about pulled releases and sprints: a timeline, and per release its
requirements, how many have covering tests, the latest results of those tests and the open issues
linked to them (pulls.plans pulls them). A pulled requirement belongs to the releases its release
field names (a name, or one part of a list or an iteration path)."""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from integrations.models import IntegrationState
from issues.links.models import Link
from issues.pulls.models import Plan, PlanKind
from issues.reports import traceability
from projects.models import ResultStatus

_RELEASE_PARTS = re.compile(r"\s*[,\\/]\s*")


def plans_of(project):
    """The project's releases and sprints the Plans page shows: not those of an archived integration
    (back on unarchive) nor of one whose plans a project admin chose not to show (pulls.plans)."""
    return (
        Plan.objects.filter(project=project)
        .exclude(integration__state=IntegrationState.ARCHIVED)
        .exclude(integration__pull_settings__plans=False)
        .select_related("integration__source")
        .order_by("kind", "end", "start", "name", "id")
    )


@dataclass
class Bar:
    """A plan on the timeline: ``left`` and ``width`` in percent of the timeline's span; a plan with
    one date is a marker (``width`` 0)."""

    plan: Plan
    left: float
    width: float


@dataclass
class Timeline:
    first: date | None
    last: date | None
    today: float | None  # where today is, in percent; None outside the span
    releases: list[Bar] = field(default_factory=list)
    sprints: list[Bar] = field(default_factory=list)
    undated: list[Plan] = field(default_factory=list)


def timeline(plans, today: date) -> Timeline:
    """Releases and sprints laid out between the earliest and the latest of their dates."""
    plans = [plan for plan in plans if not plan.deleted_remotely]
    days = [day for plan in plans for day in (plan.start, plan.end) if day]
    if not days:
        return Timeline(None, None, None, undated=plans)
    first, last = min(days), max(days)
    span = max((last - first).days, 1)

    def percent(day: date) -> float:
        return round(100 * (day - first).days / span, 2)

    result = Timeline(first, last, percent(today) if first <= today <= last else None)
    for plan in plans:
        if not (plan.start or plan.end):
            result.undated.append(plan)
            continue
        start, end = plan.start or plan.end, plan.end or plan.start
        bar = Bar(plan, percent(start), round(percent(end) - percent(start), 2))
        (result.releases if plan.kind == PlanKind.RELEASE else result.sprints).append(bar)
    return result


def release_parts(release: str) -> set[str]:
    """The release names a requirement's release field holds: one, a list, or an iteration path."""
    return {part.casefold() for part in _RELEASE_PARTS.split(release) if part}


@dataclass
class ReleaseOverview:
    plan: Plan
    rows: list = field(default_factory=list)  # traceability rows of its requirements

    @property
    def covered(self) -> int:
        return sum(1 for row in self.rows if row.cases)

    @property
    def results(self) -> list[tuple[str, str, int]]:
        """(status, label, count) of the latest results of the covering tests, each test once."""
        latest = {case.case.pk: case.latest for row in self.rows for case in row.cases}
        counts = Counter(result.status if result else "not_run" for result in latest.values())
        labels = [*ResultStatus.choices, ("not_run", "Not run yet")]
        return [(status, label, counts[status]) for status, label in labels if counts[status]]

    @property
    def open_issues(self) -> list[Link]:
        found = {}
        for row in self.rows:
            for link in row.open_links():
                found.setdefault((link.issue_id, link.external_reference_id), link)
        return list(found.values())


def release_overviews(project, releases) -> list[ReleaseOverview]:
    """Each release with the traceability rows of its requirements (read once for all releases)."""
    overviews = [ReleaseOverview(plan) for plan in releases if plan.kind == PlanKind.RELEASE]
    requirements = traceability.requirements_for(project).filter(pull__isnull=False).exclude(pull__release="")
    rows = traceability.matrix(requirements)
    for overview in overviews:
        name = overview.plan.name.casefold()
        overview.rows = [row for row in rows if name in release_parts(row.pull.release)]
    return overviews
