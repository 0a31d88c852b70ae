"""The "Refresh now" button of a test artefact's linked issues (issues.sync does the work)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from projects.permissions import Action
from projects.selectors import project_for

from . import selectors, sync


@require_POST
@login_required
def refresh_links(request, key):
    """Queue a refresh of the tracker issues linked to one artefact (``kind`` and ``pk`` posted)."""
    project = project_for(request.user, key, Action.EDIT)
    pk = request.POST.get("pk", "")
    if not pk.isdigit():
        raise Http404("No such test artefact.")
    artefact = selectors.artefact_in(project, request.POST.get("kind", ""), int(pk))
    queued = sync.refresh_now(link.external_reference for link in selectors.links_to(artefact)
                              if link.external_reference is not None)
    messages.success(request, f"Refreshing {queued} linked tracker issue(s).")
    return redirect(selectors.artefact_path(artefact))
