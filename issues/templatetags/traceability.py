"""What the traceability feature shows on the projects app's pages (which must not import issues):
a requirement's covering tests and plan, the requirement pulls of a project, which failures of a run
are known issues, and the bugs pulled from trackers."""

from django import template

from issues.core.keys import tracker_key
from issues.pulls import bugs, requirements, runner
from issues.pulls.models import Coverage
from issues.quality import known_failures, recurrences
from issues.reports import metrics, traceability
from projects.permissions import Action, can

register = template.Library()
PULLED_BUGS_SHOWN = 100


@register.filter
def origin_key(requirement) -> str:
    """A pulled requirement's work item key with its tracker (``SHOP-100 · Acme Jira``), as issue keys are shown."""
    return tracker_key(requirement.origin_key, requirement.origin_tracker) if requirement.origin_key else ""


@register.inclusion_tag("issues/traceability_requirement_panel.html", takes_context=True)
def requirement_traceability(context, requirement):
    """Panel of the test cases covering a requirement (latest results, issues) and its release and sprint."""
    [row] = traceability.matrix(traceability.requirements_for(requirement.project).filter(pk=requirement.pk))
    project = requirement.project
    return {
        "project": project,
        "requirement": requirement,
        "row": row,
        "can_edit": can(context["user"], Action.EDIT, project),
    }


REQUIREMENTS_OFFERED = 500


@register.inclusion_tag("issues/traceability_case_coverage.html", takes_context=True)
def case_coverage(context, case):
    """The requirements a test case covers, with the controls to add and remove coverage."""
    project = case.project
    covered = list(
        Coverage.objects.filter(test_case=case).select_related("requirement").order_by("requirement__title", "id")
    )
    can_edit = can(context["user"], Action.EDIT, project)
    offered = []
    if can_edit:
        covered_ids = [found.requirement_id for found in covered]
        offered = list(project.requirements.exclude(pk__in=covered_ids).order_by("title", "id")[:REQUIREMENTS_OFFERED])
    return {
        "project": project,
        "case": case,
        "covered": covered,
        "offered": offered,
        "more_offered": len(offered) == REQUIREMENTS_OFFERED,
        "can_edit": can_edit,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("issues/traceability_pulls.html", takes_context=True)
def requirement_pulls(context, project):
    """The project's integrations that pull requirements: last pull, last error, pull now."""
    user = context["user"]
    return {
        "project": project,
        "csrf_token": context.get("csrf_token"),
        "pulls": [
            (integration, requirements.settings_of(integration))
            for integration in runner.integrations_pulling(project).filter(pull_requirements=True)
        ],
        "can_edit": can(user, Action.EDIT, project),
        "can_manage": can(user, Action.MANAGE, project),
    }


COVERAGE_BADGES = {
    traceability.PASSING: "status-passed",
    traceability.FAILING: "status-failed",
    traceability.UNCOVERED: "status-skipped",
    traceability.NOT_RUN: "",
}


@register.filter
def coverage_badge(coverage: str) -> str:
    """The badge colour of a coverage status."""
    return COVERAGE_BADGES.get(coverage, "")


@register.simple_tag
def known_failures_among(results):
    """`{% known_failures_among page.object_list as known %}`: known-failure marks by result id."""
    return known_failures.known_failures_among(results)


@register.inclusion_tag("issues/known_failure_run_summary.html")
def run_failure_summary(run):
    """How many of the run's failures are new, known and recurring, with the ways to them."""
    failures = known_failures.failures_of(run).count()
    new = known_failures.new_failures(run).count()
    return {
        "project": run.project,
        "run": run,
        "failures": failures,
        "new": new,
        "known": failures - new,
        "recurring": len(recurrences.recurrences_of_run(run)) if failures else 0,
    }


@register.inclusion_tag("issues/traceability_pulled_bugs.html")
def pulled_bugs(project, filters=None):
    """The bugs the project's trackers' bug pulls found, with severity, status and resolution mapped;
    ``filters`` are the issue list's (its form's cleaned data), which the panel obeys."""
    filters = filters or {}
    found = bugs.bugs_of(
        project,
        status=filters.get("status", ""),
        text=filters.get("q", ""),
        priority=filters.get("priority", ""),
        category=filters.get("category", ""),
        source=filters.get("source", ""),
        tag=filters.get("tag"),
        assignee=filters.get("assignee", ""),
    )
    return {
        "project": project,
        "bugs": list(found[:PULLED_BUGS_SHOWN]),
        "total": found.count(),
        "filtered": any(filters.values()),
    }


@register.inclusion_tag("issues/traceability_metrics.html")
def project_metrics(project):
    """Inline SVG charts of defects found per run and of issue resolution times, per tracker and latest."""
    return {
        "charts": [
            metrics.defects_per_run(project),
            metrics.resolution_by_tracker(project),
            metrics.resolution_times(project),
        ]
    }
