"""A fake OAuth 2.0 authorization server: the authorization-code grant with PKCE and refresh tokens.

The fake trackers put it behind their own endpoints and answer in their own dialect (the
request format, the error codes and statuses): see ``JiraFake.enable_oauth`` and
``GitHubFake.enable_oauth``. What they share follows RFC 6749 (4.1 the authorization code grant:
one use per code, bound to its client and redirect URI; 5.2 error responses; 6 refreshing) and
RFC 7636 (PKCE: a S256 challenge at authorization, the verifier when the code is exchanged).

There is no browser and no consent screen: the member who consents is whoever the test signed
in with ``sign_in``, and the authorize endpoint answers at once with the redirect a consenting
browser would follow (or, after ``deny_next``, the ``access_denied`` one). Nothing expires by
the clock: tests withdraw access tokens with ``expire`` and refresh tokens with ``revoke``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

HOLD_TIMEOUT_SECONDS = 30  # a held token request gives up (and fails) after this, so a broken test ends


class OAuthError(Exception):
    """A refusal, by kind; each fake answers it in its tracker's words.

    Kinds: ``client`` (unknown client or wrong secret), ``code`` (an unknown, used or mismatched
    authorization code, or a verifier that does not match), ``refresh`` (an unknown, used or revoked
    refresh token), ``request`` (a malformed request).
    """

    def __init__(self, kind: str, description: str):
        super().__init__(description)
        self.kind = kind
        self.description = description


@dataclass
class _Client:
    secret: str
    redirect_uri: str


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    login: str
    scopes: tuple[str, ...]
    challenge: str | None


@dataclass
class _Refresh:
    client_id: str
    login: str
    scopes: tuple[str, ...]


@dataclass
class TokenRequest:
    """A token request as the server understood it (its log, in ``OAuthServer.token_requests``)."""

    grant_type: str
    parameters: Mapping[str, str]


@dataclass
class Hold:
    """Keeps the next token request waiting: ``arrived`` is set when it comes, it is answered once
    ``release`` is set."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class OAuthServer:
    """Clients, consents, codes and tokens.

    ``lifetime`` is the ``expires_in`` of access tokens (None: they do not expire, as GitHub OAuth
    apps' tokens); ``refresh_tokens`` whether refresh tokens are issued, ``refresh_scope`` a scope
    the grant must include for one (Atlassian's ``offline_access``). Refresh tokens rotate: each
    renewal issues a new one and the one used stops working (Atlassian, GitLab, GitHub's expiring
    user tokens). ``issued`` and ``withdrawn`` tell the fake tracker about access tokens to accept
    or refuse from now on.
    """

    def __init__(
        self,
        *,
        prefix: str,
        lifetime: int | None = 3600,
        refresh_tokens: bool = True,
        refresh_scope: str | None = None,
        scope_separator: str = " ",
        issued: Callable[[str, str, tuple[str, ...]], None] = lambda login, token, scopes: None,
        withdrawn: Callable[[str], None] = lambda token: None,
    ):
        self.prefix = prefix
        self.lifetime = lifetime
        self.refresh_tokens = refresh_tokens
        self.refresh_scope = refresh_scope
        self.scope_separator = scope_separator
        self.access_tokens: dict[str, str] = {}  # valid access token -> login
        self.token_requests: list[TokenRequest] = []
        self.authorize_requests: list[Mapping[str, str]] = []
        self.signed_in: str | None = None
        self._issued = issued
        self._withdrawn = withdrawn
        self._clients: dict[str, _Client] = {}
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._numbers = itertools.count(1)
        self._deny_next = False
        self._hold: Hold | None = None

    # -- what tests set up --------------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        """An OAuth app with its one registered callback URL."""
        self._clients[client_id] = _Client(client_secret, redirect_uri)

    def sign_in(self, login: str) -> None:
        """Who consents at the next authorizations (the account signed in to the tracker's web page)."""
        self.signed_in = login

    def deny_next(self) -> None:
        """The next authorization is declined by the member (``error=access_denied``)."""
        self._deny_next = True

    def grant(self, client_id: str, login: str, scopes: tuple[str, ...]) -> dict:
        """Tokens for ``login`` as if they had authorized the client (the token endpoint's answer)."""
        return self._tokens(client_id, login, scopes)

    def expire(self, access_token: str) -> None:
        """The access token stops working (it expired or was revoked)."""
        self.access_tokens.pop(access_token, None)
        self._withdrawn(access_token)

    def revoke(self, refresh_token: str) -> None:
        """The refresh token stops working (expired, revoked, or used elsewhere)."""
        self._refresh.pop(refresh_token, None)

    @contextmanager
    def holding_token_requests(self) -> Iterator[Hold]:
        """Keep the next token request waiting until the test releases it (``Hold``)."""
        hold = Hold()
        self._hold = hold
        try:
            yield hold
        finally:
            hold.release.set()
            self._hold = None

    # -- the endpoints --------------------------------------------------------------------------------

    def authorize(self, query: Mapping[str, str]) -> str:
        """The URL the member's browser is sent to after consenting (or declining)."""
        self.authorize_requests.append(dict(query))
        client = self._clients.get(query.get("client_id", ""))
        if client is None:
            raise OAuthError("client", "Unknown client_id.")
        if query.get("redirect_uri") != client.redirect_uri:
            raise OAuthError("request", "The redirect_uri does not match the registered callback URL.")
        if query.get("response_type") != "code":
            raise OAuthError("request", "Unsupported response_type.")
        challenge = query.get("code_challenge")
        if challenge is not None and query.get("code_challenge_method") != "S256":
            raise OAuthError("request", "code_challenge_method must be S256.")
        if self.signed_in is None:
            raise RuntimeError("no tracker account is signed in to consent: call sign_in() first")
        state = {"state": query["state"]} if "state" in query else {}
        if self._deny_next:
            self._deny_next = False
            return f"{client.redirect_uri}?" + urlencode({"error": "access_denied", **state})
        code = f"{self.prefix}-code-{next(self._numbers)}"
        scopes = tuple(scope for scope in query.get("scope", "").split(self.scope_separator) if scope)
        self._codes[code] = _Code(query["client_id"], client.redirect_uri, self.signed_in, scopes, challenge)
        return f"{client.redirect_uri}?" + urlencode({"code": code, **state})

    def token(self, parameters: Mapping[str, str]) -> dict:
        """The token endpoint: the issued tokens, or ``OAuthError``."""
        hold = self._hold
        if hold is not None and not hold.arrived.is_set():
            hold.arrived.set()
            if not hold.release.wait(HOLD_TIMEOUT_SECONDS):
                raise RuntimeError("a held token request was never released")
        grant_type = parameters.get("grant_type", "")
        self.token_requests.append(TokenRequest(grant_type, dict(parameters)))
        client_id = parameters.get("client_id", "")
        client = self._clients.get(client_id)
        if client is None or parameters.get("client_secret") != client.secret:
            raise OAuthError("client", "The client_id and/or client_secret passed are incorrect.")
        if grant_type == "authorization_code":
            return self._exchange(client_id, parameters)
        if grant_type == "refresh_token":
            return self._renew(client_id, parameters)
        raise OAuthError("request", f"Unsupported grant_type {grant_type!r}.")

    def _exchange(self, client_id: str, parameters: Mapping[str, str]) -> dict:
        code = self._codes.pop(parameters.get("code", ""), None)  # one use, even when it fails
        if code is None or code.client_id != client_id or parameters.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("code", "The code passed is incorrect or expired.")
        if code.challenge is not None and _s256(parameters.get("code_verifier", "")) != code.challenge:
            raise OAuthError("code", "The code_verifier does not match the code_challenge.")
        return self._tokens(client_id, code.login, code.scopes)

    def _renew(self, client_id: str, parameters: Mapping[str, str]) -> dict:
        refresh_token = parameters.get("refresh_token", "")
        grant = self._refresh.get(refresh_token)
        if grant is None or grant.client_id != client_id:
            raise OAuthError("refresh", "Unknown or invalid refresh token.")
        del self._refresh[refresh_token]
        return self._tokens(client_id, grant.login, grant.scopes)

    def _tokens(self, client_id: str, login: str, scopes: tuple[str, ...]) -> dict:
        number = next(self._numbers)
        access_token = f"{self.prefix}-access-{number}"
        self.access_tokens[access_token] = login
        self._issued(login, access_token, scopes)
        answer = {"access_token": access_token, "token_type": "bearer", "scope": self.scope_separator.join(scopes)}
        if self.lifetime is not None:
            answer["expires_in"] = self.lifetime
        if self.refresh_tokens and (self.refresh_scope is None or self.refresh_scope in scopes):
            answer["refresh_token"] = f"{self.prefix}-refresh-{number}"
            self._refresh[answer["refresh_token"]] = _Refresh(client_id, login, scopes)
        return answer


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
