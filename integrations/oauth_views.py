"""Members authorize their own tracker accounts (OAuth 2.0 authorization code with PKCE) and revoke them.

``/api/auth/<provider>/login/?source=<uuid>&next=<page>`` sends the member to the tracker with a
``state`` kept in their session; the tracker sends them back to
``/api/auth/<name>/callback`` (the address an administrator registers in the tracker's
OAuth app, shown on the source's admin page), which must present that state again before the
code is exchanged. Only the member's own token is ever stored, replaced or revoked.

Jira Cloud's callback is the documented ``/api/auth/jira/callback``; ``/api/auth/jira_cloud/callback``,
the address shown before, still completes a flow, with the redirect URI the flow started with.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import oauth, selectors, services
from .errors import TrackerError
from .models import Provider, ReauthorizationNotice, Source, UserToken
from .providers import provider_for

PENDING_SESSION_KEY = "oauth_pending"
PENDING_LIMIT = 5  # authorizations a session may have under way at once (several tabs)
MAX_TRACKER_MESSAGE = 200


# The callback path of providers whose documented path is not their provider value.
CALLBACK_NAMES = {Provider.JIRA_CLOUD: "jira"}
PROVIDERS_BY_CALLBACK_NAME = {name: provider for provider, name in CALLBACK_NAMES.items()}


def callback_url(request, provider: str) -> str:
    """The redirect (callback) URL of ``provider`` on this server, as trackers must have it registered."""
    name = CALLBACK_NAMES.get(provider, provider)
    return request.build_absolute_uri(reverse("oauth:callback", args=[name]))


def _source(provider: str, value: str | None) -> Source:
    try:
        source_uuid = uuid.UUID(value or "")
    except ValueError:
        raise Http404("No such source.") from None
    return get_object_or_404(Source, uuid=source_uuid, provider=provider)


def _next_url(request, value: str | None) -> str:
    """Where to return: a page of this site, else the project list."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse("projects:list")


@require_GET
@login_required
def authorize(request, provider):
    """Start a member's authorization: remember state and PKCE verifier, send them to the tracker."""
    source = _source(provider, request.GET.get("source"))
    if not selectors.may_authorize(source, request.user):
        raise Http404("No such source.")
    next_url = _next_url(request, request.GET.get("next"))
    redirect_uri = callback_url(request, provider)
    try:
        started = oauth.authorization_request(provider_for(source), redirect_uri)
    except TrackerError as error:
        messages.error(request, f"Authorizing your account for {source.name} cannot start: {error}")
        return redirect(next_url)
    pending = request.session.get(PENDING_SESSION_KEY, {})
    pending[started.state] = {
        "source": str(source.uuid),
        "redirect_uri": redirect_uri,
        "verifier": started.code_verifier,
        "next": next_url,
        "user": request.user.pk,
    }
    request.session[PENDING_SESSION_KEY] = dict(list(pending.items())[-PENDING_LIMIT:])
    return redirect(started.url)


@require_GET
@login_required
def callback(request, provider):
    """The tracker's answer: refused unless it carries a state this session started (CSRF).
    ``provider`` is the path's name: a provider value, or a documented alias (``jira``)."""
    provider = PROVIDERS_BY_CALLBACK_NAME.get(provider, provider)
    pending = request.session.get(PENDING_SESSION_KEY, {})
    started = pending.pop(request.GET.get("state", ""), None)
    request.session[PENDING_SESSION_KEY] = pending
    if started is None or started["user"] != request.user.pk:
        return render(request, "integrations/oauth_state_refused.html", status=400)
    source = _source(provider, started["source"])
    if not selectors.may_authorize(source, request.user):
        raise Http404("No such source.")
    next_url = started["next"]
    if request.GET.get("error") or not request.GET.get("code"):
        said = services.source_excerpt(
            source, request.GET.get("error_description", request.GET.get("error", "")), MAX_TRACKER_MESSAGE
        )
        reason = f" ({said})" if said else ""
        messages.error(request, f"{source.name} did not authorize your account{reason}: nothing was stored.")
        return redirect(next_url)
    try:
        token = services.authorize_member(
            request.user,
            source,
            code=request.GET["code"],
            # The token endpoint wants the redirect URI of the authorization request, whichever path came back.
            redirect_uri=started.get("redirect_uri") or callback_url(request, provider),
            code_verifier=started["verifier"],
        )
    except TrackerError as error:
        messages.error(request, f"Authorizing your account for {source.name} failed: {error}")
    else:
        messages.success(request, f"Your account {token.remote_account} is authorized for {source.name}.")
    return redirect(next_url)


@require_http_methods(["GET", "POST"])
@login_required
def revoke(request, provider):
    """Confirm, then forget the member's own token for the source (404 when they have none)."""
    source = _source(provider, request.GET.get("source") or request.POST.get("source"))
    token = get_object_or_404(UserToken, user=request.user, source=source)
    next_url = _next_url(request, request.GET.get("next") or request.POST.get("next"))
    if request.method == "POST":
        services.revoke_member_token(token, actor=request.user)
        messages.success(request, f"Your authorization for {source.name} is revoked: testmanager forgot your token.")
        return redirect(next_url)
    return render(request, "integrations/oauth_revoke.html", {"source": source, "token": token, "next": next_url})


@require_POST
@login_required
def dismiss_notice(request, pk):
    """Stop showing the member a notice that a source switched how it authenticates (only their own)."""
    notice = get_object_or_404(ReauthorizationNotice, pk=pk, user=request.user)
    services.dismiss_reauthorization_notice(notice)
    return redirect(_next_url(request, request.POST.get("next")))
