"""Sync on the pages: ``{% refresh_linked artefact %}`` queues a refresh of the stale tracker issues an
artefact page shows (never waiting for a tracker) and, for those who may, shows "Refresh now";
``{% issue_comments issue %}`` shows an issue's comments, the tracker issue a defect is kept in step
with, and the comment form.
"""

from django import template

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
    return {
        "issue": issue,
        "comments": issue.comments.select_related("author"),
        "sync": DefectSync.objects.filter(issue=issue).select_related("reference", "integration").first(),
        "can_comment": can(context["user"], Action.EDIT, issue.project),
    }
