"""``{% push_panel issue %}``: on an issue page, "Push to <tracker>" for each tracker of the project that
takes new issues (the primary first) and "Keep in step with an existing tracker issue", for members who
may edit; nothing once the issue is kept in step with a tracker issue (the comments panel names it).
``{% push_targets_of project %}`` gives the issues list the trackers it can push selected issues to."""

from django import template

from integrations import selectors as integration_selectors
from issues.filing import pushes
from projects.permissions import Action, can

register = template.Library()


@register.inclusion_tag("issues/_push_panel.html", takes_context=True)
def push_panel(context, issue):
    show = can(context["user"], Action.EDIT, issue.project) and pushes.synced_defect_of(issue) is None
    unavailable = integration_selectors.refusals_of_project(issue.project, integration_selectors.TrackerAction.CREATE)
    return {
        "issue": issue,
        "targets": pushes.push_targets(issue.project) if show else [],
        "unavailable": unavailable if show else [],
        "show": show,
    }


@register.simple_tag(takes_context=True)
def push_targets_of(context, project):
    return pushes.push_targets(project) if can(context["user"], Action.EDIT, project) else []
