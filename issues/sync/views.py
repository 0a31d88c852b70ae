"""Pages and endpoints of the sync: the "Refresh now" button of a test artefact's linked issues,
comments on issues (a defect's go to its tracker issue), and the webhook endpoint trackers post to,
``/hooks/<source uuid>/`` (sync.webhooks verifies and applies a delivery).

The webhook endpoint has no session and no CSRF token: a tracker is not a browser. What
authenticates a delivery is its signature, which the source's provider checks against the source's
webhook secret.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from issues.core import artefacts
from issues.core import selectors as core_selectors
from issues.links import selectors as links_selectors
from issues.sync import comments, refresh, webhooks
from projects.permissions import Action
from projects.selectors import project_for


@require_POST
@login_required
def refresh_links(request, key):
    """Queue a refresh of the tracker issues linked to one artefact (``kind`` and ``pk`` posted)."""
    project = project_for(request.user, key, Action.EDIT)
    pk = request.POST.get("pk", "")
    if not pk.isdigit():
        raise Http404("No such test artefact.")
    artefact = artefacts.artefact_in(project, request.POST.get("kind", ""), int(pk))
    outcome = refresh.refresh_and_report(
        link.external_reference for link in links_selectors.links_to(artefact) if link.external_reference is not None
    )
    messages.add_message(request, outcome.level, f"Refresh: {outcome.sentence()}")
    return redirect(artefacts.artefact_path(artefact))


COMMENT_MAX_LENGTH = 20_000


@require_POST
@login_required
def comment_add(request, key, number):
    project = project_for(request.user, key, Action.EDIT)
    issue = core_selectors.issue_in(project, number)
    body = request.POST.get("body", "").strip()
    if not body or len(body) > COMMENT_MAX_LENGTH:
        messages.error(request, f"A comment needs text, at most {COMMENT_MAX_LENGTH:,} characters.")
    else:
        comments.add_comment(issue, author=request.user, body=body)
        messages.success(request, "Comment added.")
    return redirect(reverse("issues:detail", args=[project.key, issue.number]) + "#comments")


@csrf_exempt
@require_POST
def receive(request, source_uuid):
    outcome = webhooks.receive_webhook(source_uuid, request)
    return JsonResponse({"message": outcome.message}, status=outcome.status)
