"""Sync on the pages (an artefact page's linked issues ask for their own refresh: ``issue_links``):
``{% issue_comments issue %}`` shows an issue's comments, the tracker issue a defect is kept in step
with, and the comment form.
"""

from django import template

from integrations import selectors as integration_selectors
from issues.sync.models import DefectSync
from projects.permissions import Action, can

register = template.Library()


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
