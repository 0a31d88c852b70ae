"""Sync on the pages: ``{% refresh_linked artefact %}`` queues a refresh of the stale tracker issues an
artefact page shows (never waiting for a tracker) and, for those who may, shows "Refresh now";
``{% issue_comments issue %}`` shows an issue's comments, the tracker issue a defect is kept in step
with, and the comment form.
"""

from django import template

from integrations import selectors as integration_selectors
from issues.core.artefacts import artefact_project, kind_of
from issues.links.selectors import links_to
from issues.sync import refresh
from issues.sync.models import DefectSync
from projects.permissions import Action, can

register = template.Library()


@register.inclusion_tag("issues/_refresh_linked.html", takes_context=True)
def refresh_linked(context, artefact):
    references = [link.external_reference for link in links_to(artefact) if link.external_reference is not None]
    refresh.request_refresh(references)
    project = artefact_project(artefact)
    return {
        "show": bool(references) and can(context["user"], Action.EDIT, project),
        "project": project,
        "kind": kind_of(artefact),
        "pk": artefact.pk,
    }


@register.inclusion_tag("issues/_issue_comments.html", takes_context=True)
def issue_comments(context, issue):
    sync = DefectSync.objects.filter(issue=issue).select_related("reference__source", "integration").first()
    return {
        "issue": issue,
        "comments": issue.comments.select_related("author"),
        "sync": sync,
        "can_comment": can(context["user"], Action.EDIT, issue.project),
        "comment_refusal": _comment_refusal(sync),
    }


def _comment_refusal(sync):
    """Why comments written here do not reach the tracker issue the defect is kept in step with, when
    its integration syncs comments but the tracker will not take them."""
    if sync is None or sync.integration is None or not sync.integration.sync_comments:
        return None
    source = sync.reference.source
    if source is None:
        return None
    return integration_selectors.refusal(
        source, integration_selectors.TrackerAction.COMMENT, integration=sync.integration
    )
