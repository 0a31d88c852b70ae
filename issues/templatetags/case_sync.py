"""``{% case_trackers case %}`` on a test case's page: for each tracker of the project that takes issues
through its API, the case's issue there (key, status, last sync, comments as last refreshed) and, for
members who may edit, "Sync with <tracker>" and "Refresh"."""

from django import template

from integrations import selectors as integration_selectors
from issues.filing.models import TestCaseSync
from projects.permissions import Action, can

register = template.Library()


@register.inclusion_tag("issues/_case_trackers.html", takes_context=True)
def case_trackers(context, case):
    syncs = {
        sync.integration_id: sync
        for sync in TestCaseSync.objects.filter(case=case).select_related("reference", "integration__source")
    }
    integrations = integration_selectors.pickable_integrations(case.project).select_related("source")
    rows = [
        {"integration": integration, "sync": syncs.get(integration.pk)}
        for integration in integrations
        if integration_selectors.creates_through_api(integration.source)
    ]
    can_sync = can(context["user"], Action.EDIT, case.project)
    unavailable = integration_selectors.refusals_of_project(case.project, integration_selectors.TrackerAction.CREATE)
    return {
        "rows": rows,
        "unavailable": unavailable if can_sync else [],
        "case": case,
        "project": case.project,
        "can_sync": can_sync,
        "csrf_token": context.get("csrf_token"),
    }
