"""The "Refresh now" button of a test artefact's linked issues, and comments on issues (a defect's go
to its tracker issue): issues.sync does the work."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
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
    queued = sync.refresh_now(
        link.external_reference for link in selectors.links_to(artefact) if link.external_reference is not None
    )
    messages.success(request, f"Refreshing {queued} linked tracker issue(s).")
    return redirect(selectors.artefact_path(artefact))


COMMENT_MAX_LENGTH = 20_000


@require_POST
@login_required
def comment_add(request, key, number):
    project = project_for(request.user, key, Action.EDIT)
    issue = selectors.issue_in(project, number)
    body = request.POST.get("body", "").strip()
    if not body or len(body) > COMMENT_MAX_LENGTH:
        messages.error(request, f"A comment needs text, at most {COMMENT_MAX_LENGTH:,} characters.")
    else:
        sync.add_comment(issue, author=request.user, body=body)
        messages.success(request, "Comment added.")
    return redirect(reverse("issues:detail", args=[project.key, issue.number]) + "#comments")
