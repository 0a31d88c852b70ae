"""Freshness of the tracker issues an artefact page shows: ``{% refresh_linked artefact %}``.

Loading the tag queues a refresh of the stale ones (never waiting for a tracker) and, for those who
may, shows a "Refresh now" button.
"""

from django import template

from projects.permissions import Action, can

from .. import sync
from ..selectors import kind_of, links_to
from ..services import artefact_project

register = template.Library()


@register.inclusion_tag("issues/_refresh_linked.html", takes_context=True)
def refresh_linked(context, artefact):
    references = [link.external_reference for link in links_to(artefact) if link.external_reference is not None]
    sync.request_refresh(references)
    project = artefact_project(artefact)
    return {
        "show": bool(references) and can(context["user"], Action.EDIT, project),
        "project": project, "kind": kind_of(artefact), "pk": artefact.pk,
    }
