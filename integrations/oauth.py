"""OAuth 2.0 for members' own tracker accounts: the authorization-code grant (RFC 6749) with PKCE
(RFC 7636, S256) where the tracker takes it, and renewal with refresh tokens.

The provider classes say where their authorization server is and what it wants
(``TrackerProvider.oauth_app``); this module only speaks the protocol, through the provider's
``TrackerHttpClient`` (``oauth_client``). It writes nothing: ``integrations.services`` stores,
renews and revokes member tokens.

Why not social-auth-app-django, although it is installed: its backends read one client id and
secret per kind of tracker from settings (``SOCIAL_AUTH_<BACKEND>_KEY``) and one server address
(``SOCIAL_AUTH_GITLAB_API_URL``), while ours live encrypted on each ``Source`` and one
installation may have several sources of a kind (two GitLab instances, a Jira per site); its
backends send their requests with ``requests`` directly, past the one HTTP client that refuses
private addresses, redacts secrets and keeps the per-source budget; it is a login framework whose
pipeline creates and associates users and keeps tokens in ``UserSocialAuth.extra_data``,
unencrypted; and its Atlassian backend takes the first site a token reaches, not the source's.
What remained to reuse was the state and PKCE bookkeeping, a few lines here.
"""

import base64
import functools
import hashlib
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import redis
from django.conf import settings
from django.utils import timezone

from .errors import OAuthRefused, RenewalBusy, UpstreamError
from .http import TrackerHttpClient, TrackerResponse
from .providers.base import NotConfigured, TrackerProvider

logger = logging.getLogger("integrations.oauth")

STATE_BYTES = 32
VERIFIER_BYTES = 48  # 64 characters, within RFC 7636's 43 to 128
# Errors about testmanager's client registration rather than the member's grant (RFC 6749 5.2,
# GitHub's "incorrect_client_credentials" and "redirect_uri_mismatch").
CLIENT_ERRORS = frozenset(
    {"invalid_client", "unauthorized_client", "incorrect_client_credentials", "redirect_uri_mismatch"}
)
# A renewal holds its lock at most this long; a worker waits at most as long for another's.
LOCK_SECONDS = 60


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the member's browser, and what the callback must find again in the session."""

    url: str
    state: str
    code_verifier: str  # "" when the tracker takes no PKCE


@dataclass(frozen=True)
class Grant:
    """What the token endpoint issued."""

    access_token: str
    refresh_token: str | None  # None when the tracker issues none (GitHub OAuth apps)
    expires_at: datetime | None  # None when the token does not expire
    scopes: str  # as the tracker wrote them


def code_challenge(verifier: str) -> str:
    """RFC 7636's S256 challenge: the verifier's SHA-256, base64url without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_request(provider: TrackerProvider, redirect_uri: str) -> AuthorizationRequest:
    """The tracker's authorization URL for a new grant, with a fresh state and PKCE verifier."""
    app = provider.oauth_app()
    client_id, _secret = _client(provider)
    state = secrets.token_urlsafe(STATE_BYTES)
    verifier = secrets.token_urlsafe(VERIFIER_BYTES) if app.pkce else ""
    parameters = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": app.scope_separator.join(app.scopes),
        "state": state,
        **app.authorize_parameters,
    }
    if verifier:
        parameters |= {"code_challenge": code_challenge(verifier), "code_challenge_method": "S256"}
    return AuthorizationRequest(f"{app.authorize_url}?{urlencode(parameters)}", state, verifier)


def exchange_code(provider: TrackerProvider, code: str, redirect_uri: str, code_verifier: str) -> Grant:
    """The tokens for an authorization code (the redirect URI and verifier of its request)."""
    parameters = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        parameters["code_verifier"] = code_verifier
    return _token_request(provider, parameters, code, code_verifier)


def refresh(provider: TrackerProvider, refresh_token: str) -> Grant:
    """New tokens for a refresh token. Trackers with rotating refresh tokens (Atlassian, GitLab,
    Microsoft) disable the one used: the caller must store the new one before anyone renews again."""
    return _token_request(provider, {"grant_type": "refresh_token", "refresh_token": refresh_token}, refresh_token)


def _client(provider: TrackerProvider) -> tuple[str, str]:
    client_id = provider.credentials.get("client_id") or ""
    client_secret = provider.credentials.get("client_secret") or ""
    if not (client_id and client_secret):
        raise NotConfigured(
            f"{provider.source.name} has no OAuth client ID and secret: an administrator must enter those of the "
            "OAuth app registered in the tracker on the source."
        )
    return client_id, client_secret


def _token_request(provider: TrackerProvider, parameters: dict[str, str], *secret_values: str) -> Grant:
    app = provider.oauth_app()
    client_id, client_secret = _client(provider)
    body = {**parameters, **app.token_parameters, "client_id": client_id, "client_secret": client_secret}
    payload = {"json": body} if app.json_token_requests else {"data": body}
    with provider.oauth_client(*secret_values) as http:
        # Not idempotent: a refresh token that reached the server may already be spent.
        response = http.post(app.token_url, **payload, accept=(400, 401, 403))
        answer = _json_object(response)
        error = answer.get("error")
        # GitHub answers its errors with HTTP 200.
        if response.status >= 400 or error:
            raise _refusal(http, response, answer)
        return _issued(response, answer)


def _json_object(response: TrackerResponse) -> dict[str, Any]:
    answer = response.json()
    if not isinstance(answer, dict):
        raise UpstreamError(
            f"{response.host} did not answer the token request with a JSON object: check the source's base URL.",
            status=response.status,
        )
    return answer


def _refusal(http: TrackerHttpClient, response: TrackerResponse, answer: dict[str, Any]) -> OAuthRefused:
    error = str(answer.get("error") or "")
    described = http.excerpt(str(answer.get("error_description") or answer.get("message") or ""))
    detail = ": ".join(part for part in (error, described) if part)
    said = f" ({detail})" if detail else ""
    if error in CLIENT_ERRORS or response.status == 401:  # RFC 6749 answers a client it cannot authenticate 401
        remedy = (
            "an administrator must check the source's OAuth client ID and secret and that the callback URL "
            "shown on the source is registered in the tracker's OAuth app."
        )
        message = f"{response.host} refused testmanager's OAuth app{said}: {remedy}"
    else:
        message = (
            f"{response.host} refused the authorization{said}: it has expired, was revoked or was already "
            "used; authorize your account again."
        )
    return OAuthRefused(http.redact(message), error=error, status=response.status)


def _issued(response: TrackerResponse, answer: dict[str, Any]) -> Grant:
    access_token = answer.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise UpstreamError(
            f"{response.host} answered the token request without an access token.", status=response.status
        )
    refresh_token = answer.get("refresh_token")
    expires_in = answer.get("expires_in")
    # Some servers send the lifetime as a string; a missing or unreadable one means no expiry is known.
    seconds = int(expires_in) if isinstance(expires_in, int | str) and str(expires_in).isdigit() else None
    scopes = answer.get("scope")
    return Grant(
        access_token=access_token,
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        expires_at=timezone.now() + timedelta(seconds=seconds) if seconds is not None else None,
        scopes=scopes if isinstance(scopes, str) else "",
    )


# --- One renewal per token at a time ---------------------------------------------------


@contextmanager
def renewal_lock(token_id: int) -> Iterator[None]:
    """Hold the renewal of one member token against every other process: a Redis lock when
    ``REDIS_URL`` is set. The caller also locks the token's row (``select_for_update``), which is
    what serializes renewals without Redis, or while Redis is unavailable.

    ``RenewalBusy`` when another worker has held the lock for ``LOCK_SECONDS``.
    """
    if not settings.REDIS_URL:
        yield
        return
    database = settings.DATABASES["default"]["NAME"]
    lock = _redis(settings.REDIS_URL).lock(
        f"testmanager:oauth-renewal:{database}:{token_id}", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS
    )
    try:
        acquired = lock.acquire()
    except redis.RedisError as error:
        logger.warning(
            "OAuth renewal lock unavailable (%s): the database row lock alone serializes renewals", type(error).__name__
        )
        lock, acquired = None, True
    if not acquired:
        raise RenewalBusy()
    try:
        yield
    finally:
        if lock is not None:
            _release(lock)


def _release(lock) -> None:
    try:
        lock.release()
    except redis.RedisError as error:  # expired meanwhile (LockNotOwnedError) or Redis went away
        logger.warning("OAuth renewal lock not released (%s): it expires by itself", type(error).__name__)


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
