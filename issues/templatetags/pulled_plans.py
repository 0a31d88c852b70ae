"""Releases and sprints pulled from trackers, for the projects app's Milestones page (which must not
import issues): shown alongside the milestones made here, each marked with its tracker."""

from django import template

from issues.reports.plans import plans_of

register = template.Library()


@register.inclusion_tag("issues/_pulled_plans.html")
def pulled_plans(project):
    return {"project": project, "plans": [plan for plan in plans_of(project) if not plan.deleted_remotely]}
