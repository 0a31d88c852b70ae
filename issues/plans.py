"""Releases and sprints pulled from trackers, and what the Plans page reads about them.

A project integration that pulls requirements also pulls its tracker's releases (Jira versions,
Azure DevOps iterations with sprints below them, GitHub and GitLab milestones, Linear projects) and
sprints (a Jira board's, the other Azure DevOps iterations, GitLab iterations, Linear cycles) with
their dates. One gone from the tracker stays, marked deleted. A pulled
requirement belongs to the releases its release field names (a name, or one part of a list or an
iteration path), so each release shows its requirements, how many have covering tests, the latest
results of those tests and the open issues linked to them.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone

from integrations.errors import TrackerError
from integrations.models import ProjectIntegration
from integrations.providers import provider_for
from projects.models import ResultStatus

from . import traceability
from .models import Link, Plan, PlanKind, PullSettings
from .requirements_pull import settings_of

ERROR_MAX = PullSettings._meta.get_field("last_error").max_length
_RELEASE_PARTS = re.compile(r"\s*[,\\/]\s*")


@dataclass
class PlanPullSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __str__(self):
        return (
            f"{self.created} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.deleted} deleted in the tracker"
        )


def pull_plans(integration: ProjectIntegration) -> PlanPullSummary:
    """Bring the integration's releases and sprints up to date. A tracker error is recorded in the
    pull settings' last error and raised."""
    try:
        remote = provider_for(integration.source).plans(integration.external_project, integration.board)
    except TrackerError as error:
        settings = settings_of(integration)
        settings.last_error = f"Releases and sprints: {error}"[:ERROR_MAX]
        settings.save()
        raise
    existing = {(plan.kind, plan.remote_id): plan for plan in Plan.objects.filter(integration=integration)}
    summary = PlanPullSummary()
    now = timezone.now()
    with transaction.atomic():
        for found in remote:
            values = {
                "name": found.name[:200],
                "start": found.start,
                "end": found.end,
                "done": found.done,
                "deleted_remotely": False,
            }
            plan = existing.pop((found.kind, found.id), None)
            if plan is None:
                Plan.objects.create(
                    project=integration.project,
                    integration=integration,
                    kind=found.kind,
                    remote_id=found.id,
                    pulled_at=now,
                    **values,
                )
                summary.created += 1
                continue
            changed = [name for name, value in values.items() if getattr(plan, name) != value]
            Plan.objects.filter(pk=plan.pk).update(pulled_at=now, **values)
            summary.updated += bool(changed)
            summary.unchanged += not changed
        gone = [plan.pk for plan in existing.values() if not plan.deleted_remotely]
        summary.deleted = Plan.objects.filter(pk__in=gone).update(deleted_remotely=True)
    return summary


# --- The Plans page ---------------------------------------------------------------------


def plans_of(project):
    return (
        Plan.objects.filter(project=project)
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
