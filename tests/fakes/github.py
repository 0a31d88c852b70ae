"""A fake GitHub (github.com or GitHub Enterprise Server) speaking the documented REST API over real HTTP.

Sources read to build it (GitHub's own documentation, github/docs, unless marked otherwise):
- "Authenticating to the REST API": tokens in `Authorization: Bearer` (or `token`); a bad token
  answers 401 "Bad credentials" whatever the resource. GHES serves the API under `/api/v3`.
- "Scopes for OAuth apps": `X-OAuth-Scopes` lists a classic or OAuth token's scopes, with
  `X-Accepted-OAuth-Scopes` the scopes the action checks for. Fine-grained tokens have no
  scopes; "Troubleshooting the REST API" ("Resource not accessible by personal access token",
  `X-Accepted-GitHub-Permissions`) covers what they lack. The changelog "Expiration options
  for personal access tokens" (2021-07-26): `GitHub-Authentication-Token-Expiration`.
- "Troubleshooting the REST API": a private resource the caller may not see is 404, never 403;
  "Problems parsing JSON" and "Body should be a JSON object" (400); "Invalid request" and
  "Validation Failed" with `errors[].code` (422); error bodies {message, documentation_url, status}.
- "Rate limits for the REST API" and "Best practices": x-ratelimit-limit / -remaining / -used /
  -reset (epoch seconds) / -resource on every response; an exhausted primary limit answers 403
  or 429 with remaining 0; a secondary limit 403 or 429 with an explaining message and maybe
  `retry-after`; a conditional request answered 304 does not count against the primary limit.
- "REST API endpoints for search": 30 requests a minute (resource `search`), at most 1,000
  results, 422 "Validation Failed" for a `repo:` the caller cannot see. Since 2025 a query
  without `is:issue` or `is:pull-request` (or the `type:` synonyms) is refused with 422 "Query
  must include 'is:issue' or 'is:pull-request'" (github/github-mcp-server#462, GitHub's changelog
  2026-04-02 "Improved search for GitHub Issues is now generally available").
- "Using pagination in the REST API": `page` / `per_page` (default 30, max 100) and a `Link`
  header with prev / next / last / first.
- "REST API endpoints for issues": get (200, 301 for a transferred issue, 304, 404, 410), create
  (201 with Location; labels, assignees and milestone "silently dropped" without push access; 410
  when issues are disabled), update (`state` open/closed with `state_reason`; 403 "Must have admin
  rights to Repository." for someone who may not, as GitHub answers it), comments (list, and
  create with 201; "Update an issue comment", PATCH /repos/{owner}/{repo}/issues/comments/{id}
  with `body`, 200 or 422), labels, assignees (people with push access); "Get a repository"
  (with the caller's `permissions`) and "List repositories for the authenticated user"
  (/user/repos). Pull requests are issues to this API and carry a `pull_request` object.
- "REST API endpoints for milestones", "List milestones": `state` open (default), closed or all;
  `sort` due_on (default) or completeness, `direction` asc (default) or desc; paged; 404 for a
  repository the caller cannot see. A milestone carries `due_on` (a date-time, or null),
  `closed_at`, `open_issues` and `closed_issues`.
- "Authorizing OAuth apps" (the web application flow): `GET /login/oauth/authorize` with
  `client_id`, `redirect_uri`, `scope` (space-delimited), `state`, `code_challenge` and
  `code_challenge_method` (S256 only; changelog 2025-07-14 "PKCE support for OAuth and GitHub App
  authentication"); `POST /login/oauth/access_token` with `client_id`, `client_secret`, `code`,
  `redirect_uri`, `code_verifier`, answering form-encoded or, with `Accept: application/json`, JSON
  (`access_token`, `scope` comma-separated, `token_type`). OAuth apps' tokens do not expire.
  "Troubleshooting OAuth app access token request errors": errors are answered with HTTP 200
  (`incorrect_client_credentials`, `redirect_uri_mismatch`, `bad_verification_code`).
  "Refreshing user access tokens" (GitHub Apps with expiring tokens): `expires_in` 28800,
  `refresh_token` with `refresh_token_expires_in`, `grant_type=refresh_token` gives a new pair;
  `bad_refresh_token` for an unusable one.

- GraphQL ("Forming calls with GraphQL", "Rate limits and query limits for the GraphQL API", the
  public schema): one endpoint, `POST /graphql` on api.github.com and `/api/graphql` on Enterprise
  Server (beside `/api/v3`), authenticated like REST (401 "Bad credentials"; "This endpoint
  requires you to be authenticated." without a token). Errors of execution come with HTTP 200 in
  `errors` with `type` (NOT_FOUND, FORBIDDEN...), `path` and `locations`, next to the `data` that
  could be resolved; a repository the caller may not see is NOT_FOUND, as REST's 404. Every
  connection needs `first` or `last` (1-100) and a query at most 500,000 nodes. Points: the
  requests its connections need, divided by 100 and rounded, at least 1, against 5,000 points an
  hour (resource `graphql` in the x-ratelimit headers, and the `rateLimit` object); a used-up
  limit answers 200 with an error of type RATE_LIMITED. The fake serves the schema's subset
  `GRAPHQL_SCHEMA`; an instance without GraphQL (`graphql_enabled = False`) answers 404.

Where the documentation is silent, the choice made is stated next to the code that makes it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
    build_schema,
    execute,
    get_named_type,
    parse,
    validate,
)

from tests.fakes.oauth import OAuthError, OAuthServer
from tests.fakes.server import (
    FakeHTTPServer,
    FaultQueue,
    Quota,
    RecordedRequest,
    Response,
    TrackerFake,
    canned_response,
    json_response,
    link_header,
    page_parameters,
)
from tests.fakes.webhooks import Delivery, RegisteredHook, body_of, hex_hmac

DOCS = "https://docs.github.com/rest"
OAUTH_ERRORS_DOC = (  # where GitHub's token errors point (error_uri)
    "https://docs.github.com/apps/oauth-apps/maintaining-oauth-apps/"
    "troubleshooting-oauth-app-access-token-request-errors"
)
PERMISSIONS = ("read", "triage", "write", "maintain", "admin")
TokenKind = Literal["classic", "oauth", "fine_grained"]

RATE_LIMITS = {"core": (5000, 3600), "search": (30, 60), "graphql": (5000, 3600)}
ANONYMOUS_RATE_LIMITS = {"core": (60, 3600), "search": (10, 60)}
SEARCH_RESULT_LIMIT = 1000
# ``issues`` actions whose payload issue GitHub's webhook schema describes with ``state`` optional, and which
# are sent without it.
STATELESS_ACTIONS = ("pinned", "unpinned")
SEARCH_TEXT_LIMIT = 256
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
NOT_ACCESSIBLE = "Resource not accessible by personal access token"
MUST_HAVE_ADMIN = "Must have admin rights to Repository."
# GitHub's documentation does not quote the refusal of an edit to someone else's comment: the fake's words.
NOT_ACCESSIBLE_TO_EDIT = "You must have push access to edit comments of others."
SEARCH_NOT_VISIBLE = (
    "The listed users and repositories cannot be searched either because the resources do not exist "
    "or you do not have permission to view them."
)
SEARCH_NEEDS_TYPE = "Query must include 'is:issue' or 'is:pull-request'"

GRAPHQL_DOC = "https://docs.github.com/graphql"
GRAPHQL_NODE_LIMIT = 500_000
_ITEM_FIELDS = """
  number: Int!
  title: String!
  body: String!
  url: URI!
  createdAt: DateTime!
  updatedAt: DateTime!
  closed: Boolean!
  closedAt: DateTime
  repository: Repository!
  assignees(after: String, before: String, first: Int, last: Int): UserConnection!
  labels(after: String, before: String, first: Int, last: Int): LabelConnection
"""
# The part of GitHub's public schema (schema.docs.graphql) the fake serves, as GitHub names it.
GRAPHQL_SCHEMA = build_schema(
    f"""
scalar DateTime
scalar URI

type Query {{
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  rateLimit(dryRun: Boolean = false): RateLimit
  viewer: User!
}}

type RateLimit {{
  cost: Int!
  limit: Int!
  nodeCount: Int!
  remaining: Int!
  resetAt: DateTime!
  used: Int!
}}

type User {{
  login: String!
  name: String
}}

type UserConnection {{
  nodes: [User]
  totalCount: Int!
}}

type Label {{
  name: String!
  color: String!
}}

type LabelConnection {{
  nodes: [Label]
  totalCount: Int!
}}

type Repository {{
  name: String!
  nameWithOwner: String!
  isPrivate: Boolean!
  url: URI!
  issue(number: Int!): Issue
  pullRequest(number: Int!): PullRequest
  issueOrPullRequest(number: Int!): IssueOrPullRequest
}}

enum IssueState {{ OPEN CLOSED }}
enum IssueStateReason {{ COMPLETED DUPLICATE NOT_PLANNED REOPENED }}
enum PullRequestState {{ OPEN CLOSED MERGED }}

type Issue {{
  {_ITEM_FIELDS}
  state: IssueState!
  stateReason: IssueStateReason
}}

type PullRequest {{
  {_ITEM_FIELDS}
  state: PullRequestState!
}}

union IssueOrPullRequest = Issue | PullRequest
"""
)


class GitHubGraphQLError(GraphQLError):
    """An error GitHub reports with its `type` (NOT_FOUND, FORBIDDEN...) beside the message."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def github_timestamp(moment: datetime) -> str:
    """GitHub's wire format for date-times: 2011-04-22T13:33:48Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error(status: int, message: str, doc: str = "", **extra: Any) -> Response:
    """GitHub's error body: {"message", "documentation_url", "status"} (the status as a string)."""
    body = {"message": message, **extra, "documentation_url": f"{DOCS}{doc}", "status": str(status)}
    return json_response(status, body)


def validation_failed(errors: list[dict], doc: str) -> Response:
    return error(HTTPStatus.UNPROCESSABLE_ENTITY, "Validation Failed", doc, errors=errors)


def invalid_request(problem: str, doc: str) -> Response:
    # The shape GitHub answers when a body breaks the endpoint's JSON schema.
    return error(HTTPStatus.UNPROCESSABLE_ENTITY, f"Invalid request.\n\n{problem}", doc)


# -- state ---------------------------------------------------------------------------------------


@dataclass
class GitHubUser:
    id: int
    login: str
    name: str | None
    kind: str = "User"  # or "Organization"
    # GET /user/emails: {"email", "verified", "primary", "visibility"}; the public one is /user's `email`.
    emails: list[dict] = field(default_factory=list)


@dataclass
class Token:
    login: str
    kind: TokenKind
    scopes: tuple[str, ...]  # classic and OAuth tokens
    issues_permission: str  # fine-grained tokens: "none", "read" or "write"
    expires_at: datetime | None


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"


@dataclass
class Milestone:
    id: int
    number: int
    title: str
    state: str = "open"
    due_on: datetime | None = None
    description: str | None = None
    created: datetime | None = None
    closed: datetime | None = None


@dataclass
class Comment:
    id: int
    body: str
    user: GitHubUser
    created: datetime
    updated: datetime | None = None  # None until edited
    previous_body: str | None = None  # before the last edit (an ``edited`` event's ``changes``)


@dataclass
class Issue:
    id: int
    number: int
    repo: Repository
    title: str
    body: str | None
    user: GitHubUser
    created: datetime
    updated: datetime
    state: str = "open"
    state_reason: str | None = None
    closed: datetime | None = None
    closed_by: GitHubUser | None = None
    labels: list[Label] = field(default_factory=list)
    assignees: list[GitHubUser] = field(default_factory=list)
    milestone: Milestone | None = None
    comments: list[Comment] = field(default_factory=list)
    deleted_comments: list[Comment] = field(default_factory=list)  # gone from the API, kept for their events
    pull_request: bool = False
    deleted: bool = False
    moved_to: Issue | None = None


@dataclass
class Repository:
    id: int
    owner: GitHubUser
    name: str
    private: bool
    has_issues: bool = True
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> permission
    issues: dict[int, Issue] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)  # lower-cased name -> label
    milestones: dict[int, Milestone] = field(default_factory=dict)
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def permission(self, user: GitHubUser | None) -> str | None:
        """The user's role here; "read" for anyone on a public repository, None when hidden."""
        if user is not None and user.login == self.owner.login:
            return "admin"
        role = self.collaborators.get(user.login) if user is not None else None
        if role is None and not self.private:
            return "read"
        return role


def at_least(role: str | None, needed: str) -> bool:
    return role is not None and PERMISSIONS.index(role) >= PERMISSIONS.index(needed)


@dataclass
class _Caller:
    user: GitHubUser | None
    token: Token | None

    @property
    def key(self) -> str:
        return self.user.login if self.user else ""


# -- the fake ------------------------------------------------------------------------------------


EMAILS_DOC = "/users/emails#list-email-addresses-for-the-authenticated-user"


class GitHubFake(TrackerFake):
    """An in-memory GitHub behind a real HTTP server on 127.0.0.1.

    `enterprise=True` serves the API as GitHub Enterprise Server does, under `/api/v3` of the
    instance's address (`web_url`); `enterprise=False` serves it at the root, as api.github.com.
    """

    def __init__(self, *, enterprise: bool = True):
        self.enterprise = enterprise
        self.server = FakeHTTPServer(prefix="/api/v3" if enterprise else "")
        self.server.interceptor = self._intercept
        self.users: dict[str, GitHubUser] = {}
        self.repos: dict[str, Repository] = {}  # lower-cased full name -> repository
        self.faults = FaultQueue()
        self._tokens: dict[str, Token] = {}
        self.oauth: OAuthServer | None = None  # enable_oauth
        self._quotas: dict[tuple[str, str], Quota] = {}
        self._exhausted_status: dict[str, int] = {}
        self._ids = itertools.count(1001)
        self.hooks: dict[str, list[RegisteredHook]] = {}  # lower-cased full name -> the repository's hooks
        self.graphql_enabled = True
        self._register_routes()
        if enterprise:
            self.server.add_outside_route("POST", r"/api/graphql", self._graphql)
        else:
            self.server.add_route("POST", r"/graphql", self._graphql)

    # -- lifecycle and request log ----------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.server.base_url

    @property
    def web_url(self) -> str:
        """Where people browse: the Enterprise Server's address, the base URL of a source."""
        return self.server.origin

    # -- seeding ----------------------------------------------------------------------------------

    def add_user(self, login: str, name: str | None = None, *, organization: bool = False) -> GitHubUser:
        with self.server.lock:
            user = GitHubUser(next(self._ids), login, name, "Organization" if organization else "User")
            self.users[login.lower()] = user
            return user

    def add_token(
        self,
        login: str,
        token: str,
        *,
        kind: TokenKind = "classic",
        scopes: tuple[str, ...] = ("repo",),
        issues_permission: str = "write",
        expires_at: datetime | None = None,
    ) -> Token:
        """A token of `login`: a classic PAT or OAuth token with `scopes`, or a fine-grained PAT
        whose Issues permission is `issues_permission` ("none", "read" or "write")."""
        with self.server.lock:
            if login.lower() not in self.users:
                self.add_user(login)
            grant = Token(login, kind, scopes if kind != "fine_grained" else (), issues_permission, expires_at)
            self._tokens[token] = grant
            return grant

    def add_repo(self, full_name: str, *, private: bool = False, has_issues: bool = True) -> Repository:
        owner_login, name = full_name.split("/")
        with self.server.lock:
            owner = self.users.get(owner_login.lower()) or self.add_user(owner_login, organization=True)
            repo = Repository(next(self._ids), owner, name, private, has_issues)
            self.repos[full_name.lower()] = repo
            return repo

    def grant(self, full_name: str, login: str, permission: str) -> None:
        if permission not in PERMISSIONS:
            raise ValueError(f"permission must be one of {PERMISSIONS}")
        with self.server.lock:
            self.repo(full_name).collaborators[login] = permission

    def add_label(self, full_name: str, name: str) -> Label:
        with self.server.lock:
            label = Label(next(self._ids), name)
            self.repo(full_name).labels[name.lower()] = label
            return label

    def add_milestone(
        self,
        full_name: str,
        title: str,
        *,
        state: str = "open",
        due_on: datetime | None = None,
        description: str | None = None,
    ) -> Milestone:
        """A milestone; GitHub keeps its due date as a date-time."""
        with self.server.lock:
            repo = self.repo(full_name)
            moment = self.now()
            milestone = Milestone(
                next(self._ids),
                len(repo.milestones) + 1,
                title,
                state,
                due_on=due_on,
                description=description,
                created=moment,
                closed=moment if state == "closed" else None,
            )
            repo.milestones[milestone.number] = milestone
            return milestone

    def add_issue(
        self,
        full_name: str,
        title: str,
        *,
        author: str,
        body: str | None = None,
        state: str = "open",
        state_reason: str | None = None,
        labels: tuple[str, ...] = (),
        assignees: tuple[str, ...] = (),
        pull_request: bool = False,
        created: datetime | None = None,
    ) -> Issue:
        """An issue (or, with `pull_request`, a pull request: it shares the issue numbers)."""
        with self.server.lock:
            repo = self.repo(full_name)
            moment = created or self.now()
            issue = Issue(
                id=next(self._ids),
                number=next(repo.numbers),
                repo=repo,
                title=title,
                body=body,
                user=self.users[author.lower()],
                created=moment,
                updated=moment,
                labels=[repo.labels.get(name.lower()) or self.add_label(full_name, name) for name in labels],
                assignees=[self.users[login.lower()] for login in assignees],
                pull_request=pull_request,
            )
            repo.issues[issue.number] = issue
            if state == "closed":
                self._set_state(issue, "closed", state_reason or "completed", issue.user)
            return issue

    def add_comment(
        self, full_name: str, number: int, body: str, *, author: str, created: datetime | None = None
    ) -> Comment:
        with self.server.lock:
            comment = Comment(next(self._ids), body, self.users[author.lower()], created or self.now())
            self.issue(full_name, number).comments.append(comment)
            return comment

    def repo(self, full_name: str) -> Repository:
        return self.repos[full_name.lower()]

    def issue(self, full_name: str, number: int) -> Issue:
        return self.repo(full_name).issues[number]

    def edit_issue(self, full_name: str, number: int, **changes: Any) -> Issue:
        """Change an issue as someone on the web would; its `updated_at` (and ETag) move on."""
        with self.server.lock:
            issue = self.issue(full_name, number)
            for name, value in changes.items():
                setattr(issue, name, value)
            issue.updated = self.now()
            return issue

    def delete_issue(self, full_name: str, number: int) -> None:
        with self.server.lock:
            self.issue(full_name, number).deleted = True

    def transfer_issue(self, full_name: str, number: int, to_full_name: str) -> Issue:
        """Move an issue to another repository, where it gets the next number there."""
        with self.server.lock:
            old = self.issue(full_name, number)
            target = self.repo(to_full_name)
            moved = Issue(
                id=old.id,
                number=next(target.numbers),
                repo=target,
                title=old.title,
                body=old.body,
                user=old.user,
                created=old.created,
                updated=self.now(),
                state=old.state,
                state_reason=old.state_reason,
                closed=old.closed,
                closed_by=old.closed_by,
                assignees=list(old.assignees),
                comments=list(old.comments),
            )
            target.issues[moved.number] = moved
            old.moved_to = moved
            return moved

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)

    # -- rate limits and fault injection ----------------------------------------------------------

    def quota(self, login: str, resource: str = "core") -> Quota:
        """The primary rate limit `login` spends on `resource` ("core" or "search"); "" is anonymous."""
        with self.server.lock:
            key = (login.lower(), resource)
            if key not in self._quotas:
                limit, period = (RATE_LIMITS if login else ANONYMOUS_RATE_LIMITS)[resource]
                self._quotas[key] = Quota(limit, period)
            return self._quotas[key]

    def exhaust_rate_limit(
        self, login: str, resource: str = "core", *, reset_in: int = 3600, status: int = HTTPStatus.FORBIDDEN
    ) -> None:
        """Use up `login`'s primary limit: until it resets, requests answer `status` (403 or 429)."""
        with self.server.lock:
            self.quota(login, resource).exhaust(reset_in)
            self._exhausted_status[resource] = status

    def secondary_limit_next(
        self, *, retry_after: int | None = 60, status: int = HTTPStatus.FORBIDDEN, count: int = 1
    ) -> None:
        """Answer the next `count` requests as GitHub's secondary rate limit does."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}

        def secondary() -> Response:
            response = error(status, SECONDARY_LIMIT_MESSAGE, "/overview/rate-limits-for-the-rest-api")
            response.headers.update(headers)
            return response

        with self.server.lock:
            self.faults.add(secondary, count)

    def fail_next(
        self,
        status: int,
        body: bytes | str | dict | list | None = None,
        *,
        headers: dict[str, str] | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next `count` requests with `status` and `body` (bytes go out as they are)."""
        with self.server.lock:
            self.faults.add(lambda: canned_response(status, body, headers), count)

    # -- OAuth apps ----------------------------------------------------------------------------------

    def enable_oauth(
        self, client_id: str, client_secret: str, redirect_uri: str, *, expiring: bool = False
    ) -> OAuthServer:
        """The web application flow at /login/oauth/ of the instance (outside /api/v3). Tokens are
        OAuth tokens with the scopes granted; `expiring` issues GitHub Apps' expiring user tokens
        (8 hours) with refresh tokens instead of OAuth apps' lasting ones. Returns the authorization
        server (its accounts are this fake's users, by login)."""
        self.oauth = OAuthServer(
            prefix="gho",
            lifetime=28800 if expiring else None,
            refresh_tokens=expiring,
            issued=lambda login, token, scopes: self.add_token(login, token, kind="oauth", scopes=scopes),
            withdrawn=lambda token: self._tokens.pop(token, None),
        )
        self.oauth.register_client(client_id, client_secret, redirect_uri)
        add_route = self.server.add_outside_route if self.server.prefix else self.server.add_route
        add_route("GET", r"/login/oauth/authorize", self._oauth_authorize)
        add_route("POST", r"/login/oauth/access_token", self._oauth_access_token)
        return self.oauth

    def _oauth_authorize(self, request: RecordedRequest) -> Response:
        # GitHub's web flow has no response_type parameter: it always answers with a code.
        query = {"response_type": "code", **{name: values[0] for name, values in request.query.items()}}
        try:
            location = self.oauth.authorize(query)
        except OAuthError as error:
            # GitHub shows an error page; the fake answers its sentence.
            return canned_response(HTTPStatus.BAD_REQUEST, error.description)
        return Response(HTTPStatus.FOUND, b"", {"Location": location})

    def _oauth_access_token(self, request: RecordedRequest) -> Response:
        if request.headers.get("Content-Type", "").startswith("application/json"):
            parameters = {name: str(value) for name, value in json.loads(request.body or b"{}").items()}
        else:
            parameters = dict(parse_qsl(request.body.decode()))
        # Exchanging a code takes no grant_type at GitHub; refreshing says grant_type=refresh_token.
        parameters.setdefault("grant_type", "authorization_code")
        try:
            answer = self.oauth.token(parameters)
        except OAuthError as refusal:
            code = {
                "client": "incorrect_client_credentials",
                "code": "bad_verification_code",
                "refresh": "bad_refresh_token",
                "request": "unsupported_grant_type",
            }[refusal.kind]
            answer = {"error": code, "error_description": refusal.description, "error_uri": OAUTH_ERRORS_DOC}
        else:
            answer["scope"] = answer["scope"].replace(" ", ",")
            if "refresh_token" in answer:
                answer["refresh_token_expires_in"] = 15897600
        if "application/json" in request.headers.get("Accept", ""):
            return json_response(HTTPStatus.OK, answer)
        return Response(
            HTTPStatus.OK,
            urlencode(answer).encode(),
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )

    def _intercept(self, request: RecordedRequest) -> Response | None:
        return self.faults.take()

    # -- authentication and accounting ------------------------------------------------------------

    def _endpoint(self, handler, resource: str = "core", *, needs_user: bool = False):
        """Wrap a route: authenticate, enforce and count the primary rate limit, add GitHub's headers."""

        def serve(request: RecordedRequest, **groups: str) -> Response:
            caller = self._caller(request)
            if isinstance(caller, Response):
                return caller
            if needs_user and caller.user is None:
                return error(HTTPStatus.UNAUTHORIZED, "Requires authentication", "")
            quota = self.quota(caller.key, resource)
            if quota.remaining == 0:
                response = self._rate_limited(caller, resource)
            else:
                response = handler(request, caller, **groups)
                if response.status != HTTPStatus.NOT_MODIFIED:
                    quota.spend()
            response.headers.update(self._rate_headers(quota, resource))
            if caller.token is not None:
                response.headers.update(self._token_headers(caller.token))
            return response

        return serve

    def _caller(self, request: RecordedRequest) -> _Caller | Response:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if not scheme:
            return _Caller(None, None)
        grant = self._tokens.get(credentials.strip()) if scheme.lower() in ("bearer", "token") else None
        if grant is None:
            return error(HTTPStatus.UNAUTHORIZED, "Bad credentials", "")
        return _Caller(self.users[grant.login.lower()], grant)

    def _rate_limited(self, caller: _Caller, resource: str) -> Response:
        who = f"user ID {caller.user.id}" if caller.user else "127.0.0.1"
        return error(
            self._exhausted_status.get(resource, HTTPStatus.FORBIDDEN),
            f"API rate limit exceeded for {who}. If you reach out to GitHub Support for help, "
            "please include the request ID.",
            "/overview/rate-limits-for-the-rest-api",
        )

    def _rate_headers(self, quota: Quota, resource: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(quota.limit),
            "X-RateLimit-Remaining": str(quota.remaining),
            "X-RateLimit-Used": str(quota.used),
            "X-RateLimit-Reset": str(quota.reset_at),
            "X-RateLimit-Resource": resource,
        }

    def _token_headers(self, token: Token) -> dict[str, str]:
        headers = {}
        if token.kind != "fine_grained":
            headers |= {"X-OAuth-Scopes": ", ".join(token.scopes), "X-Accepted-OAuth-Scopes": ""}
        if token.expires_at is not None:
            headers["GitHub-Authentication-Token-Expiration"] = token.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        return headers

    def _readable_repo(self, caller: _Caller, owner: str, name: str) -> Repository | None:
        """The repository if the caller can see it (a token without the `repo` scope sees public ones only)."""
        repo = self.repos.get(f"{owner}/{name}".lower())
        if repo is None or repo.permission(caller.user) is None:
            return None
        token = caller.token
        if repo.private and token is not None and token.kind != "fine_grained" and "repo" not in token.scopes:
            return None
        if token is not None and token.kind == "fine_grained" and token.issues_permission == "none" and repo.private:
            return None
        return repo

    def _write_refusal(self, caller: _Caller, repo: Repository, doc: str) -> Response | None:
        """Why the caller's token may not write issues here, or None when it may."""
        token = caller.token
        if token is None:
            return error(HTTPStatus.UNAUTHORIZED, "Requires authentication", doc)
        if token.kind == "fine_grained":
            if token.issues_permission != "write":
                response = error(HTTPStatus.FORBIDDEN, NOT_ACCESSIBLE, doc)
                response.headers["X-Accepted-GitHub-Permissions"] = "issues=write"
                return response
            return None
        # A classic token without a scope that covers the repository cannot see it for writing.
        if not ({"repo"} | ({"public_repo"} if not repo.private else set())) & set(token.scopes):
            return error(HTTPStatus.NOT_FOUND, "Not Found", doc)
        return None

    # -- routes -----------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        repo = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        issue = rf"{repo}/issues/(?P<number>\d+)"
        routes = [
            ("GET", r"/user", self._endpoint(self._get_user, needs_user=True)),
            ("GET", r"/user/emails", self._endpoint(self._list_emails, needs_user=True)),
            ("GET", r"/user/repos", self._endpoint(self._list_repos, needs_user=True)),
            ("GET", r"/search/issues", self._endpoint(self._search_issues, "search")),
            ("GET", repo, self._endpoint(self._get_repo)),
            ("GET", rf"{repo}/labels", self._endpoint(self._list_labels)),
            ("GET", rf"{repo}/milestones", self._endpoint(self._list_milestones)),
            ("GET", rf"{repo}/assignees", self._endpoint(self._list_assignees)),
            ("POST", rf"{repo}/issues", self._endpoint(self._create_issue)),
            ("GET", issue, self._endpoint(self._get_issue)),
            ("PATCH", issue, self._endpoint(self._update_issue)),
            ("GET", rf"{issue}/comments", self._endpoint(self._list_comments)),
            ("POST", rf"{issue}/comments", self._endpoint(self._create_comment)),
            ("PATCH", rf"{repo}/issues/comments/(?P<comment_id>\d+)", self._endpoint(self._update_comment)),
            ("GET", r"/repositories/(?P<repo_id>\d+)/issues/(?P<number>\d+)", self._endpoint(self._get_issue_by_id)),
            ("GET", rf"{repo}/hooks", self._endpoint(self._list_hooks)),
            ("POST", rf"{repo}/hooks", self._endpoint(self._create_hook)),
            ("PATCH", rf"{repo}/hooks/(?P<hook_id>\d+)", self._endpoint(self._update_hook)),
        ]
        for method, path, handler in routes:
            self.server.add_route(method, path, handler)

    def _get_user(self, request: RecordedRequest, caller: _Caller) -> Response:
        return json_response(HTTPStatus.OK, self._user_json(caller.user))

    def _list_emails(self, request: RecordedRequest, caller: _Caller) -> Response:
        # "List email addresses for the authenticated user": OAuth tokens need the user:email scope;
        # without it GitHub answers 404 Not Found, as for a resource the token cannot see.
        token = caller.token
        if token is not None and token.kind != "fine_grained" and not {"user", "user:email"} & set(token.scopes):
            return error(HTTPStatus.NOT_FOUND, "Not Found", EMAILS_DOC)
        return self._paged(request, caller.user.emails, lambda entry: dict(entry))

    def add_email(self, login: str, email: str, *, verified: bool = True, primary: bool = False) -> None:
        """An address of the account (GET /user/emails); a primary public one is also /user's ``email``."""
        with self.server.lock:
            self.users[login.lower()].emails.append(
                {"email": email, "verified": verified, "primary": primary, "visibility": "public" if primary else None}
            )

    def _list_repos(self, request: RecordedRequest, caller: _Caller) -> Response:
        # affiliation defaults to owner,collaborator,organization_member; sort to full_name.
        login = caller.user.login
        mine = sorted(
            (repo for repo in self.repos.values() if repo.owner.login == login or login in repo.collaborators),
            key=lambda repo: repo.full_name.lower(),
        )
        return self._paged(request, mine, lambda repo: self._repo_json(repo, caller))

    def _get_repo(self, request: RecordedRequest, caller: _Caller, owner: str, name: str) -> Response:
        repo = self._readable_repo(caller, owner, name)
        if repo is None:
            return error(HTTPStatus.NOT_FOUND, "Not Found", "/repos/repos#get-a-repository")
        return json_response(HTTPStatus.OK, self._repo_json(repo, caller))

    def _list_labels(self, request: RecordedRequest, caller: _Caller, owner: str, name: str) -> Response:
        repo = self._readable_repo(caller, owner, name)
        if repo is None:
            return error(HTTPStatus.NOT_FOUND, "Not Found", "/issues/labels#list-labels-for-a-repository")
        return self._paged(request, list(repo.labels.values()), lambda label: self._label_json(repo, label))

    def _list_milestones(self, request: RecordedRequest, caller: _Caller, owner: str, name: str) -> Response:
        repo = self._readable_repo(caller, owner, name)
        if repo is None:
            return error(HTTPStatus.NOT_FOUND, "Not Found", "/issues/milestones#list-milestones")
        state = request.param("state") or "open"
        chosen = [m for m in repo.milestones.values() if state == "all" or m.state == state]
        if (request.param("sort") or "due_on") == "completeness":
            chosen.sort(key=lambda milestone: self._completeness(repo, milestone))
        else:
            # The documentation does not say where milestones without a due date go: the fake puts them last.
            chosen.sort(key=lambda milestone: (milestone.due_on is None, milestone.due_on or datetime.min))
        if request.param("direction") == "desc":
            chosen.reverse()
        return self._paged(request, chosen, lambda milestone: self._milestone_json(repo, milestone))

    def _milestone_issues(self, repo: Repository, milestone: Milestone) -> list[Issue]:
        return [issue for issue in repo.issues.values() if issue.milestone is milestone and not issue.deleted]

    def _completeness(self, repo: Repository, milestone: Milestone) -> float:
        issues = self._milestone_issues(repo, milestone)
        return sum(issue.state == "closed" for issue in issues) / len(issues) if issues else 0.0

    def _list_assignees(self, request: RecordedRequest, caller: _Caller, owner: str, name: str) -> Response:
        """Everyone who may be assigned: people with push access (and a user who owns the repository)."""
        repo = self._readable_repo(caller, owner, name)
        if repo is None:
            return error(HTTPStatus.NOT_FOUND, "Not Found", "/issues/assignees#list-assignees")
        people = [
            user for user in self.users.values() if user.kind == "User" and at_least(repo.permission(user), "write")
        ]
        return self._paged(request, people, self._simple_user_json)

    def _paged(self, request: RecordedRequest, items: list, render) -> Response:
        page, per_page = page_parameters(request, default_per_page=30, max_per_page=100)
        shown = items[(page - 1) * per_page : page * per_page]
        response = json_response(HTTPStatus.OK, [render(item) for item in shown])
        self._add_page_links(response, request, page, per_page, len(items))
        return response

    # -- issues -----------------------------------------------------------------------------------

    def _get_issue(self, request: RecordedRequest, caller: _Caller, owner: str, name: str, number: str) -> Response:
        doc = "/issues/issues#get-an-issue"
        repo = self._readable_repo(caller, owner, name)
        issue = repo.issues.get(int(number)) if repo else None
        if issue is None:
            return error(HTTPStatus.NOT_FOUND, "Not Found", doc)
        if issue.moved_to is not None:
            location = f"{self.api_url}/repositories/{issue.moved_to.repo.id}/issues/{issue.moved_to.number}"
            response = error(HTTPStatus.MOVED_PERMANENTLY, "Moved Permanently", doc, url=location)
            response.headers["Location"] = location
            return response
        if issue.deleted:
            return error(HTTPStatus.GONE, "This issue was deleted", doc)
        return self._conditional(request, self._issue_json(issue))

    def _get_issue_by_id(self, request: RecordedRequest, caller: _Caller, repo_id: str, number: str) -> Response:
        repo = next((r for r in self.repos.values() if str(r.id) == repo_id), None)
        if repo is None:
            return error(HTTPStatus.NOT_FOUND, "Not Found", "/issues/issues#get-an-issue")
        return self._get_issue(request, caller, repo.owner.login, repo.name, number)

    def _conditional(self, request: RecordedRequest, body: dict) -> Response:
        """200 with a weak ETag over the representation, or 304 when `If-None-Match` names it."""
        content = json.dumps(body).encode()
        etag = f'W/"{hashlib.sha256(content).hexdigest()[:40]}"'
        wanted = {tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")}
        headers = {"ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60"}
        if etag.removeprefix("W/") in wanted or "*" in wanted:
            return Response(HTTPStatus.NOT_MODIFIED, b"", headers)
        return json_response(HTTPStatus.OK, body, headers)

    def _create_issue(self, request: RecordedRequest, caller: _Caller, owner: str, name: str) -> Response:
        doc = "/issues/issues#create-an-issue"
        payload = _json_body(request, doc)
        if isinstance(payload, Response):
            return payload
        repo = self._readable_repo(caller, owner, name)
        if repo is None:
            return error(HTTPStatus.NOT_FOUND, "Not Found", doc)
        if refusal := self._write_refusal(caller, repo, doc):
            return refusal
        if not repo.has_issues:
            return error(HTTPStatus.GONE, "Issues are disabled for this repo", doc)
        title = payload.get("title")
        if title is None:
            return invalid_request('"title" wasn\'t supplied.', doc)
        if not isinstance(title, (str, int)) or isinstance(title, bool) or str(title).strip() == "":
            return validation_failed([{"resource": "Issue", "field": "title", "code": "missing_field"}], doc)
        body = payload.get("body")
        if body is not None and not isinstance(body, str):
            return invalid_request(f"For 'properties/body', {json.dumps(body)} is not a string or null.", doc)

        pusher = at_least(repo.permission(caller.user), "write")
        extras = self._issue_extras(repo, payload) if pusher else ({}, [])
        values, errors = extras
        if errors:
            return validation_failed(errors, doc)
        moment = self.now()
        issue = Issue(
            id=next(self._ids),
            number=next(repo.numbers),
            repo=repo,
            title=str(title),
            body=body,
            user=caller.user,
            created=moment,
            updated=moment,
            **values,
        )
        repo.issues[issue.number] = issue
        response = json_response(HTTPStatus.CREATED, self._issue_json(issue))
        response.headers["Location"] = self._issue_api_url(issue)
        return response

    def _issue_extras(self, repo: Repository, payload: dict) -> tuple[dict, list[dict]]:
        """Labels, assignees and milestone of a create request by someone with push access."""
        values: dict[str, Any] = {}
        errors: list[dict] = []
        logins = list(payload.get("assignees") or [])
        if payload.get("assignee"):
            logins.append(payload["assignee"])
        assignees = []
        for login in logins:
            user = self.users.get(str(login).lower())
            if user is None or not at_least(repo.permission(user), "write") or user.kind != "User":
                errors.append({"value": login, "resource": "Issue", "field": "assignees", "code": "invalid"})
            elif user not in assignees:
                assignees.append(user)
        values["assignees"] = assignees
        milestone = payload.get("milestone")
        if milestone is not None:
            found = repo.milestones.get(int(milestone)) if str(milestone).isdigit() else None
            if found is None:
                errors.append({"value": milestone, "resource": "Issue", "field": "milestone", "code": "invalid"})
            values["milestone"] = found
        labels = []
        for entry in payload.get("labels") or []:
            label_name = entry.get("name") if isinstance(entry, dict) else entry
            # Labels that do not exist yet are created, as on GitHub.
            label = repo.labels.get(str(label_name).lower()) or self.add_label(repo.full_name, str(label_name))
            if label not in labels:
                labels.append(label)
        values["labels"] = labels
        return values, errors

    def _update_issue(self, request: RecordedRequest, caller: _Caller, owner: str, name: str, number: str) -> Response:
        doc = "/issues/issues#update-an-issue"
        payload = _json_body(request, doc)
        if isinstance(payload, Response):
            return payload
        repo = self._readable_repo(caller, owner, name)
        issue = repo.issues.get(int(number)) if repo else None
        if issue is None or issue.deleted:
            return error(HTTPStatus.NOT_FOUND, "Not Found", doc)
        if refusal := self._write_refusal(caller, repo, doc):
            return refusal
        state, reason = payload.get("state"), payload.get("state_reason")
        if state is not None and state not in ("open", "closed"):
            return validation_failed([{"resource": "Issue", "field": "state", "code": "invalid"}], doc)
        if reason is not None and reason not in ("completed", "not_planned", "reopened", "duplicate"):
            return validation_failed([{"resource": "Issue", "field": "state_reason", "code": "invalid"}], doc)
        triager = at_least(repo.permission(caller.user), "triage")
        if state is not None and not (triager or issue.user is caller.user):
            return error(HTTPStatus.FORBIDDEN, MUST_HAVE_ADMIN, doc)
        if state is not None and state != issue.state:
            default_reason = "completed" if state == "closed" else "reopened"
            self._set_state(issue, state, reason or default_reason, caller.user)
        elif reason is not None:
            issue.state_reason = reason
        if "title" in payload:
            issue.title = str(payload["title"])
        if "body" in payload:
            issue.body = payload["body"]
        if "labels" in payload and at_least(repo.permission(caller.user), "write"):
            # The labels replace the issue's; without push access GitHub silently drops them.
            issue.labels = []
            for entry in payload.get("labels") or []:
                label_name = str(entry.get("name") if isinstance(entry, dict) else entry)
                label = repo.labels.get(label_name.lower()) or self.add_label(repo.full_name, label_name)
                if label not in issue.labels:
                    issue.labels.append(label)
        issue.updated = self.now()
        return json_response(HTTPStatus.OK, self._issue_json(issue))

    def _set_state(self, issue: Issue, state: str, reason: str, by: GitHubUser) -> None:
        issue.state = state
        issue.state_reason = reason
        closing = state == "closed"
        issue.closed = self.now() if closing else None
        issue.closed_by = by if closing else None
        issue.updated = self.now()

    def _list_comments(self, request: RecordedRequest, caller: _Caller, owner: str, name: str, number: str) -> Response:
        repo = self._readable_repo(caller, owner, name)
        issue = repo.issues.get(int(number)) if repo else None
        if issue is None or issue.deleted:
            return error(HTTPStatus.NOT_FOUND, "Not Found", "/issues/comments#list-issue-comments")
        return self._paged(request, issue.comments, lambda comment: self._comment_json(issue, comment))

    def _create_comment(
        self, request: RecordedRequest, caller: _Caller, owner: str, name: str, number: str
    ) -> Response:
        doc = "/issues/comments#create-an-issue-comment"
        payload = _json_body(request, doc)
        if isinstance(payload, Response):
            return payload
        repo = self._readable_repo(caller, owner, name)
        issue = repo.issues.get(int(number)) if repo else None
        if issue is None or issue.deleted:
            return error(HTTPStatus.NOT_FOUND, "Not Found", doc)
        if refusal := self._write_refusal(caller, repo, doc):
            return refusal
        body = payload.get("body")
        if body is None:
            return invalid_request('"body" wasn\'t supplied.', doc)
        if not isinstance(body, str) or not body.strip():
            return validation_failed([{"resource": "IssueComment", "field": "body", "code": "missing_field"}], doc)
        comment = Comment(next(self._ids), body, caller.user, self.now())
        issue.comments.append(comment)
        issue.updated = comment.created
        response = json_response(HTTPStatus.CREATED, self._comment_json(issue, comment))
        response.headers["Location"] = f"{self.api_url}/repos/{repo.full_name}/issues/comments/{comment.id}"
        return response

    def _update_comment(
        self, request: RecordedRequest, caller: _Caller, owner: str, name: str, comment_id: str
    ) -> Response:
        """Its author, or someone with push access, may edit a comment (GitHub's "Managing disruptive
        comments"); a comment of a deleted issue is gone with it."""
        doc = "/issues/comments#update-an-issue-comment"
        payload = _json_body(request, doc)
        if isinstance(payload, Response):
            return payload
        repo = self._readable_repo(caller, owner, name)
        found = next(
            (
                (issue, comment)
                for issue in (repo.issues.values() if repo else ())
                if not issue.deleted
                for comment in issue.comments
                if comment.id == int(comment_id)
            ),
            None,
        )
        if found is None:
            return error(HTTPStatus.NOT_FOUND, "Not Found", doc)
        issue, comment = found
        if refusal := self._write_refusal(caller, repo, doc):
            return refusal
        if comment.user is not caller.user and not at_least(repo.permission(caller.user), "write"):
            return error(HTTPStatus.FORBIDDEN, NOT_ACCESSIBLE_TO_EDIT, doc)
        body = payload.get("body")
        if body is None:
            return invalid_request('"body" wasn\'t supplied.', doc)
        if not isinstance(body, str) or not body.strip():
            return validation_failed([{"resource": "IssueComment", "field": "body", "code": "missing_field"}], doc)
        comment.body, comment.updated = body, self.now()
        return json_response(HTTPStatus.OK, self._comment_json(issue, comment))

    # -- search -----------------------------------------------------------------------------------

    def _search_issues(self, request: RecordedRequest, caller: _Caller) -> Response:
        doc = "/search/search#search-issues-and-pull-requests"
        text = request.param("q") or ""
        if not text.strip():
            return validation_failed([{"resource": "Search", "field": "q", "code": "missing"}], doc)
        query = _SearchQuery.parse(text)
        if query.kind is None:
            return error(HTTPStatus.UNPROCESSABLE_ENTITY, SEARCH_NEEDS_TYPE, doc)
        if len(" ".join(query.terms)) > SEARCH_TEXT_LIMIT:
            message = f"The search is longer than {SEARCH_TEXT_LIMIT} characters."
            return validation_failed([{"message": message, "resource": "Search", "field": "q", "code": "invalid"}], doc)
        repos = []
        for full_name in query.repos:
            repo = self._readable_repo(caller, *full_name.split("/", 1)) if "/" in full_name else None
            if repo is None:
                return validation_failed(
                    [{"message": SEARCH_NOT_VISIBLE, "resource": "Search", "field": "q", "code": "invalid"}], doc
                )
            repos.append(repo)
        pool = repos or [r for r in self.repos.values() if self._readable_repo(caller, r.owner.login, r.name)]
        matched = [issue for repo in pool for issue in repo.issues.values() if query.matches(issue)]
        # Best match (the default) is GitHub's own ranking; the fake ranks the most recently updated first.
        sort = request.param("sort") or "updated"
        keys = {"created": lambda i: i.created, "updated": lambda i: i.updated, "comments": lambda i: len(i.comments)}
        matched.sort(key=keys.get(sort, keys["updated"]), reverse=(request.param("order") or "desc") == "desc")

        page, per_page = page_parameters(request, default_per_page=30, max_per_page=100)
        if (page - 1) * per_page >= SEARCH_RESULT_LIMIT:
            return error(HTTPStatus.UNPROCESSABLE_ENTITY, "Only the first 1000 search results are available", doc)
        available = matched[:SEARCH_RESULT_LIMIT]
        items = available[(page - 1) * per_page : page * per_page]
        body = {
            "total_count": len(matched),
            "incomplete_results": False,
            "items": [{**self._issue_json(issue), "score": 1.0} for issue in items],
        }
        response = json_response(HTTPStatus.OK, body)
        self._add_page_links(response, request, page, per_page, len(available))
        return response

    def _add_page_links(
        self, response: Response, request: RecordedRequest, page: int, per_page: int, total: int
    ) -> None:
        last = max(1, -(-total // per_page))
        links = {}
        if page > 1:
            links |= {"prev": {"page": str(page - 1)}, "first": {"page": "1"}}
        if page < last:
            links |= {"next": {"page": str(page + 1)}, "last": {"page": str(last)}}
        if links:
            response.headers["Link"] = link_header(self.server.origin, request, links)

    # -- GraphQL ----------------------------------------------------------------------------------

    @property
    def graphql_path(self) -> str:
        return "/api/graphql" if self.enterprise else "/graphql"

    def graphql_requests(self) -> list[RecordedRequest]:
        """The requests sent to the GraphQL endpoint, oldest first."""
        with self.server.lock:
            return [
                request
                for request in self.server.requests
                if request.method == "POST" and request.path == self.graphql_path
            ]

    def _graphql(self, request: RecordedRequest) -> Response:
        # Enterprise Server's /api/graphql is outside /api/v3, where the interceptor does not
        # reach: the same injected faults apply to it.
        fault = self.faults.take() if self.enterprise else None
        if fault is not None:
            return fault
        if not self.graphql_enabled:
            return error(HTTPStatus.NOT_FOUND, "Not Found", "")
        caller = self._caller(request)
        if isinstance(caller, Response):
            return caller
        if caller.user is None:
            return json_response(
                HTTPStatus.UNAUTHORIZED,
                {
                    "message": "This endpoint requires you to be authenticated.",
                    "documentation_url": f"{GRAPHQL_DOC}/guides/forming-calls-with-graphql#authenticating-with-graphql",
                },
            )
        quota = self.quota(caller.key, "graphql")
        response = self._graphql_answer(request, caller, quota)
        response.headers.update(self._rate_headers(quota, "graphql"))
        response.headers.update(self._token_headers(caller.token))
        return response

    def _graphql_answer(self, request: RecordedRequest, caller: _Caller, quota: Quota) -> Response:
        try:
            payload = json.loads(request.body or b"")
        except ValueError:
            return error(HTTPStatus.BAD_REQUEST, "Problems parsing JSON", "")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return json_response(
                HTTPStatus.BAD_REQUEST, {"message": "A query attribute must be specified and must be a string."}
            )
        if quota.remaining == 0:
            # A used-up limit is not an HTTP error to GraphQL: 200, and the error says it.
            message = f"API rate limit exceeded for user ID {caller.user.id}."
            return json_response(HTTPStatus.OK, {"errors": [{"type": "RATE_LIMITED", "message": message}]})
        try:
            document = parse(payload["query"])
        except GraphQLError as problem:
            return json_response(HTTPStatus.OK, {"errors": [problem.formatted]})
        problems = validate(GRAPHQL_SCHEMA, document)
        if problems:
            return json_response(HTTPStatus.OK, {"errors": [problem.formatted for problem in problems]})
        variables = payload.get("variables") if isinstance(payload.get("variables"), dict) else {}
        operation_name = payload.get("operationName")
        requests_needed, nodes, refusals = _query_size(document, operation_name, variables)
        if nodes > GRAPHQL_NODE_LIMIT:
            refusals.append(
                {
                    "type": "MAX_NODE_LIMIT_EXCEEDED",
                    "message": f"This query requests up to {nodes:,} possible nodes which exceeds the "
                    f"maximum limit of {GRAPHQL_NODE_LIMIT:,}.",
                }
            )
        if refusals:
            return json_response(HTTPStatus.OK, {"errors": refusals})
        cost = max(1, round(requests_needed / 100))
        quota.spend(cost)
        rate = {
            "cost": cost,
            "limit": quota.limit,
            "nodeCount": nodes,
            "remaining": quota.remaining,
            "resetAt": github_timestamp(datetime.fromtimestamp(quota.reset_at, UTC)),
            "used": quota.used,
        }
        result = execute(
            GRAPHQL_SCHEMA,
            document,
            root_value=_GraphQLRoot(self, caller, rate),
            variable_values=variables,
            operation_name=operation_name,
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [_graphql_error(problem) for problem in result.errors]
        return json_response(HTTPStatus.OK, body)

    def _graphql_repo(self, repo: Repository) -> dict:
        return {
            "name": repo.name,
            "nameWithOwner": repo.full_name,
            "isPrivate": repo.private,
            "url": f"{self.web_url}/{repo.full_name}",
            "issue": lambda info, number: self._graphql_item(repo, number, "Issue"),
            "pullRequest": lambda info, number: self._graphql_item(repo, number, "PullRequest"),
            "issueOrPullRequest": lambda info, number: self._graphql_item(repo, number, None),
        }

    def _graphql_item(self, repo: Repository, number: int, kind: str | None) -> dict:
        """The issue or pull request numbered `number`. GitHub's documentation does not say what
        GraphQL answers for a transferred issue at its old place: the fake says NOT_FOUND, as for
        a deleted one (REST redirects, and says 410 for a deleted issue)."""
        issue = repo.issues.get(number)
        if (
            issue is None
            or issue.deleted
            or issue.moved_to is not None
            or (kind is not None and (kind == "PullRequest") != issue.pull_request)
        ):
            what = {"Issue": "an Issue", "PullRequest": "a PullRequest", None: "an issue or pull request"}[kind]
            raise GitHubGraphQLError("NOT_FOUND", f"Could not resolve to {what} with the number of {number}.")
        return self._graphql_issue_json(issue)

    def _graphql_issue_json(self, issue: Issue) -> dict:
        people = [{"login": user.login, "name": user.name} for user in issue.assignees]

        names = [{"name": label.name, "color": "ededed"} for label in issue.labels]

        def labels(info, first=None, last=None, **cursors) -> dict:
            # Cursors are not served: the fake's issues carry few labels, within one page.
            shown = names[:first] if first is not None else names[-last:] if last else names
            return {"nodes": shown, "totalCount": len(names)}

        def assignees(info, first=None, last=None, **cursors) -> dict:
            # Cursors are not served: an issue has 10 assignees at most, within one page.
            shown = people[:first] if first is not None else people[-last:] if last else people
            return {"nodes": shown, "totalCount": len(people)}

        body = {
            "__typename": "PullRequest" if issue.pull_request else "Issue",
            "number": issue.number,
            "title": issue.title,
            "body": issue.body or "",
            "url": f"{self.web_url}/{issue.repo.full_name}/{'pull' if issue.pull_request else 'issues'}/{issue.number}",
            "createdAt": github_timestamp(issue.created),
            "updatedAt": github_timestamp(issue.updated),
            "closed": issue.state == "closed",
            "closedAt": github_timestamp(issue.closed) if issue.closed else None,
            "repository": self._graphql_repo(issue.repo),
            "state": issue.state.upper(),
            "assignees": assignees,
            "labels": labels,
        }
        if not issue.pull_request:
            body["stateReason"] = issue.state_reason.upper() if issue.state_reason else None
        return body

    # -- representations --------------------------------------------------------------------------

    def _user_json(self, user: GitHubUser) -> dict:
        return {
            "login": user.login,
            "id": user.id,
            "node_id": f"MDQ6VXNlcn{user.id}",
            "avatar_url": f"{self.web_url}/avatars/u/{user.id}",
            "url": f"{self.api_url}/users/{user.login}",
            "html_url": f"{self.web_url}/{user.login}",
            "type": user.kind,
            "site_admin": False,
            "name": user.name,
            "email": next((entry["email"] for entry in user.emails if entry["visibility"] == "public"), None),
        }

    def _simple_user_json(self, user: GitHubUser | None) -> dict | None:
        if user is None:
            return None
        return {key: value for key, value in self._user_json(user).items() if key not in ("name", "email")}

    def _repo_json(self, repo: Repository, caller: _Caller) -> dict:
        role = repo.permission(caller.user)
        return {
            "id": repo.id,
            "node_id": f"MDEwOlJlcG9zaXRvcn{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self._simple_user_json(repo.owner),
            "html_url": f"{self.web_url}/{repo.full_name}",
            "url": f"{self.api_url}/repos/{repo.full_name}",
            "has_issues": repo.has_issues,
            "visibility": "private" if repo.private else "public",
            "permissions": {level: at_least(role, level) for level in ("admin", "maintain", "triage")}
            | {"push": at_least(role, "write"), "pull": at_least(role, "read")},
        }

    def _issue_api_url(self, issue: Issue) -> str:
        return f"{self.api_url}/repos/{issue.repo.full_name}/issues/{issue.number}"

    def _issue_json(self, issue: Issue) -> dict:
        api = self._issue_api_url(issue)
        kind = "pull" if issue.pull_request else "issues"
        body = {
            "id": issue.id,
            "node_id": f"I_kwDO{issue.id}",
            "url": api,
            "repository_url": f"{self.api_url}/repos/{issue.repo.full_name}",
            "comments_url": f"{api}/comments",
            "html_url": f"{self.web_url}/{issue.repo.full_name}/{kind}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self._simple_user_json(issue.user),
            "labels": [self._label_json(issue.repo, label) for label in issue.labels],
            "assignee": self._simple_user_json(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self._simple_user_json(user) for user in issue.assignees],
            "milestone": self._milestone_json(issue.repo, issue.milestone),
            "locked": False,
            "comments": len(issue.comments),
            "created_at": github_timestamp(issue.created),
            "updated_at": github_timestamp(issue.updated),
            "closed_at": github_timestamp(issue.closed) if issue.closed else None,
            "closed_by": self._simple_user_json(issue.closed_by),
            "author_association": "OWNER" if issue.user is issue.repo.owner else "NONE",
        }
        if issue.pull_request:
            pulls = f"{self.api_url}/repos/{issue.repo.full_name}/pulls/{issue.number}"
            body["pull_request"] = {"url": pulls, "html_url": body["html_url"], "merged_at": None}
        return body

    def _label_json(self, repo: Repository, label: Label) -> dict:
        return {
            "id": label.id,
            "name": label.name,
            "color": label.color,
            "default": False,
            "url": f"{self.api_url}/repos/{repo.full_name}/labels/{label.name}",
        }

    def _milestone_json(self, repo: Repository, milestone: Milestone | None) -> dict | None:
        if milestone is None:
            return None
        issues = self._milestone_issues(repo, milestone)
        closed = sum(issue.state == "closed" for issue in issues)

        def moment(value: datetime | None) -> str | None:
            return github_timestamp(value) if value else None

        return {
            "id": milestone.id,
            "node_id": f"MI_kwDO{milestone.id}",
            "number": milestone.number,
            "title": milestone.title,
            "description": milestone.description,
            "state": milestone.state,
            "creator": None,
            "open_issues": len(issues) - closed,
            "closed_issues": closed,
            "created_at": moment(milestone.created),
            "updated_at": moment(milestone.closed or milestone.created),
            "closed_at": moment(milestone.closed),
            "due_on": moment(milestone.due_on),
            "url": f"{self.api_url}/repos/{repo.full_name}/milestones/{milestone.number}",
            "html_url": f"{self.web_url}/{repo.full_name}/milestone/{milestone.number}",
            "labels_url": f"{self.api_url}/repos/{repo.full_name}/milestones/{milestone.number}/labels",
        }

    def _comment_json(self, issue: Issue, comment: Comment) -> dict:
        return {
            "id": comment.id,
            "node_id": f"IC_kwDO{comment.id}",
            "url": f"{self.api_url}/repos/{issue.repo.full_name}/issues/comments/{comment.id}",
            "html_url": f"{self.web_url}/{issue.repo.full_name}/issues/{issue.number}#issuecomment-{comment.id}",
            "issue_url": self._issue_api_url(issue),
            "body": comment.body,
            "user": self._simple_user_json(comment.user),
            "created_at": github_timestamp(comment.created),
            "updated_at": github_timestamp(comment.updated or comment.created),
            "author_association": "OWNER" if comment.user is issue.repo.owner else "NONE",
        }

    # -- webhooks ---------------------------------------------------------------------------------

    def issue_delivery(self, full_name: str, number: int, *, action: str = "edited", secret: str) -> Delivery:
        """An ``issues`` event with the issue as it is now (``action``: opened, edited, closed,
        reopened, assigned, deleted, transferred, pinned...). The ``pinned`` and ``unpinned`` events'
        issue follows the webhook schema in which ``state`` is optional: it is left out."""
        with self.server.lock:
            issue = self.issue(full_name, number)
            raw = self._issue_json(issue)
            if action in STATELESS_ACTIONS:
                raw = {name: value for name, value in raw.items() if name not in ("state", "state_reason")}
            return self._delivery("issues", {"action": action, "issue": raw}, issue, secret)

    def transfer_delivery(self, full_name: str, number: int, *, secret: str) -> Delivery:
        """The ``issues`` ``transferred`` event of an issue moved with `transfer_issue`: sent by the old
        repository, ``issue`` the issue as it was there, ``changes.new_issue`` and
        ``changes.new_repository`` what it became ("Webhook events and payloads": issues, transferred)."""
        with self.server.lock:
            old = self.issue(full_name, number)
            moved = old.moved_to
            if moved is None:
                raise ValueError(f"{full_name}#{number} was not transferred")
            target = moved.repo
            changes = {
                "new_issue": self._issue_json(moved),
                "new_repository": {
                    "id": target.id,
                    "name": target.name,
                    "full_name": target.full_name,
                    "private": target.private,
                    "owner": self._simple_user_json(target.owner),
                },
            }
            payload = {"action": "transferred", "changes": changes, "issue": self._issue_json(old)}
            return self._delivery("issues", payload, old, secret)

    def comment_delivery(
        self, full_name: str, number: int, comment_id: int, *, action: str = "created", secret: str
    ) -> Delivery:
        """An ``issue_comment`` event (``action``: created, edited with ``changes.body.from``, deleted)
        for one of the issue's comments, deleted ones included."""
        with self.server.lock:
            issue = self.issue(full_name, number)
            comment = next(
                comment for comment in [*issue.comments, *issue.deleted_comments] if comment.id == comment_id
            )
            payload = {
                "action": action,
                "issue": self._issue_json(issue),
                "comment": self._comment_json(issue, comment),
            }
            if action == "edited":
                payload["changes"] = {"body": {"from": comment.previous_body}}
            return self._delivery("issue_comment", payload, issue, secret)

    def edit_comment(self, full_name: str, number: int, comment_id: int, body: str) -> Comment:
        """Someone edits a comment on the web: its ``updated_at`` moves on, the issue's too."""
        with self.server.lock:
            issue = self.issue(full_name, number)
            comment = next(comment for comment in issue.comments if comment.id == comment_id)
            comment.previous_body, comment.body, comment.updated = comment.body, body, self.now()
            issue.updated = comment.updated
            return comment

    def delete_comment(self, full_name: str, number: int, comment_id: int) -> Comment:
        """Someone deletes a comment on the web: the API no longer lists it."""
        with self.server.lock:
            issue = self.issue(full_name, number)
            comment = next(comment for comment in issue.comments if comment.id == comment_id)
            issue.comments.remove(comment)
            issue.deleted_comments.append(comment)
            issue.updated = self.now()
            return comment

    def _delivery(self, event: str, payload: dict, issue: Issue, secret: str) -> Delivery:
        repo = issue.repo
        payload |= {
            "repository": {
                "id": repo.id,
                "name": repo.name,
                "full_name": repo.full_name,
                "private": repo.private,
                "owner": self._simple_user_json(repo.owner),
            },
            "sender": self._simple_user_json(issue.user),
        }
        body = body_of(payload)
        return Delivery(
            {
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": f"{next(self._ids):08d}-github-delivery",
                "X-Hub-Signature-256": "sha256=" + hex_hmac(secret, body),
                "User-Agent": "GitHub-Hookshot/fake",
            },
            body,
        )

    def _admin_repo(self, caller: _Caller, owner: str, name: str) -> Repository | Response:
        """Repository hooks are for its administrators; others get 404, as GitHub answers."""
        repo = self._readable_repo(caller, owner, name)
        if repo is None or repo.permission(caller.user) != "admin":
            return error(HTTPStatus.NOT_FOUND, "Not Found", "/webhooks/repos#list-repository-webhooks")
        return repo

    def _list_hooks(self, request: RecordedRequest, caller: _Caller, owner: str, name: str) -> Response:
        repo = self._admin_repo(caller, owner, name)
        if isinstance(repo, Response):
            return repo
        return self._paged(
            request, self.hooks.get(repo.full_name.lower(), []), lambda hook: self._hook_json(repo, hook)
        )

    def _create_hook(self, request: RecordedRequest, caller: _Caller, owner: str, name: str) -> Response:
        repo = self._admin_repo(caller, owner, name)
        if isinstance(repo, Response):
            return repo
        payload = _json_body(request, "/webhooks/repos#create-a-repository-webhook")
        if isinstance(payload, Response):
            return payload
        config = payload.get("config") if isinstance(payload.get("config"), dict) else {}
        if not config.get("url"):
            return validation_failed(
                [{"resource": "Hook", "code": "custom", "message": "Config must contain url"}],
                "/webhooks/repos#create-a-repository-webhook",
            )
        hooks = self.hooks.setdefault(repo.full_name.lower(), [])
        if any(hook.url == config["url"] for hook in hooks):
            return validation_failed(
                [{"resource": "Hook", "code": "custom", "message": "Hook already exists on this repository"}],
                "/webhooks/repos#create-a-repository-webhook",
            )
        hook = RegisteredHook(
            next(self._ids),
            config["url"],
            str(config.get("secret") or ""),
            list(payload.get("events") or ["push"]),
            repo.full_name,
            payload.get("active", True),
        )
        hooks.append(hook)
        return json_response(HTTPStatus.CREATED, self._hook_json(repo, hook))

    def _update_hook(self, request: RecordedRequest, caller: _Caller, owner: str, name: str, hook_id: str) -> Response:
        repo = self._admin_repo(caller, owner, name)
        if isinstance(repo, Response):
            return repo
        hook = next((hook for hook in self.hooks.get(repo.full_name.lower(), []) if hook.id == int(hook_id)), None)
        if hook is None:
            return error(HTTPStatus.NOT_FOUND, "Not Found", "/webhooks/repos#update-a-repository-webhook")
        payload = _json_body(request, "/webhooks/repos#update-a-repository-webhook")
        if isinstance(payload, Response):
            return payload
        config = payload.get("config") if isinstance(payload.get("config"), dict) else {}
        hook.url, hook.secret = config.get("url", hook.url), str(config.get("secret", hook.secret))
        hook.events, hook.active = list(payload.get("events", hook.events)), payload.get("active", hook.active)
        return json_response(HTTPStatus.OK, self._hook_json(repo, hook))

    def _hook_json(self, repo: Repository, hook: RegisteredHook) -> dict:
        # GitHub never shows a hook's secret back: it answers ******** in its place.
        config = {"url": hook.url, "content_type": "json", "insecure_ssl": "0"}
        if hook.secret:
            config["secret"] = "********"
        return {
            "type": "Repository",
            "id": hook.id,
            "name": "web",
            "active": hook.active,
            "events": hook.events,
            "config": config,
            "url": f"{self.api_url}/repos/{repo.full_name}/hooks/{hook.id}",
        }


# -- search queries ------------------------------------------------------------------------------


# A quoted phrase (always text, whatever it contains) or a bare word or qualifier.
_SEARCH_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


@dataclass
class _SearchQuery:
    """The part of GitHub's issue search syntax the fake understands: free words and quoted phrases
    (all must occur, case-insensitively, in the fields `in:` names: title, body and comments by
    default; a quoted qualifier is text), `repo:`,
    `is:` / `type:` issue or pull request, `is:` / `state:` open or closed, `label:`, `author:` and
    `assignee:`. Other qualifiers are read as words, as GitHub reads an unknown qualifier."""

    terms: list[str] = field(default_factory=list)
    repos: list[str] = field(default_factory=list)
    kind: str | None = None  # "issue" or "pr"
    state: str | None = None
    fields: tuple[str, ...] = ("title", "body", "comments")
    labels: list[str] = field(default_factory=list)
    author: str | None = None
    assignee: str | None = None

    @classmethod
    def parse(cls, text: str) -> _SearchQuery:
        query = cls()
        for quoted, token in _SEARCH_TOKEN.findall(text):
            name, _, value = token.partition(":")
            name, value = name.lower(), value.strip()
            if quoted or not value or name not in ("repo", "is", "type", "state", "in", "label", "author", "assignee"):
                query.terms.append(quoted or token)
            elif name == "repo":
                query.repos.append(value.lower())
            elif name in ("is", "type") and value.lower() in ("issue", "pr", "pull-request"):
                query.kind = "issue" if value.lower() == "issue" else "pr"
            elif name in ("is", "state") and value.lower() in ("open", "closed"):
                query.state = value.lower()
            elif name == "in":
                query.fields = tuple(part for part in value.lower().split(",") if part)
            elif name == "label":
                query.labels.append(value.lower())
            elif name in ("author", "assignee"):
                setattr(query, name, value.lower())
            else:
                query.terms.append(token)
        return query

    def matches(self, issue: Issue) -> bool:
        if issue.deleted or issue.moved_to is not None:
            return False
        if (self.kind == "pr") != issue.pull_request:
            return False
        if self.state and issue.state != self.state:
            return False
        if any(label not in {label_.name.lower() for label_ in issue.labels} for label in self.labels):
            return False
        if self.author and issue.user.login.lower() != self.author:
            return False
        if self.assignee and self.assignee not in {user.login.lower() for user in issue.assignees}:
            return False
        sources = {
            "title": issue.title,
            "body": issue.body or "",
            "comments": "\n".join(comment.body for comment in issue.comments),
        }
        haystack = "\n".join(sources[name] for name in self.fields if name in sources).lower()
        return all(term.lower() in haystack for term in self.terms)


def _json_body(request: RecordedRequest, doc: str) -> dict | Response:
    try:
        payload = json.loads(request.body or b"null")
    except ValueError:
        return error(HTTPStatus.BAD_REQUEST, "Problems parsing JSON", doc)
    if not isinstance(payload, dict):
        return error(HTTPStatus.BAD_REQUEST, "Body should be a JSON object", doc)
    return payload


# -- GraphQL execution ---------------------------------------------------------------------------


class _GraphQLRoot:
    """The root fields of Query, resolved for one caller."""

    def __init__(self, fake: GitHubFake, caller: _Caller, rate: dict):
        self.fake, self.caller, self.rate = fake, caller, rate

    def repository(self, info, owner: str, name: str, **options) -> dict:
        repo = self.fake._readable_repo(self.caller, owner, name)
        if repo is None:
            raise GitHubGraphQLError("NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return self.fake._graphql_repo(repo)

    def rateLimit(self, info, **options) -> dict:  # noqa: N802 (the schema's name)
        return self.rate

    def viewer(self, info) -> dict:
        return {"login": self.caller.user.login, "name": self.caller.user.name}


def _graphql_error(problem: GraphQLError) -> dict:
    """GitHub's shape: the error's `type` beside message, locations and path."""
    formatted = problem.formatted
    original = problem if isinstance(problem, GitHubGraphQLError) else problem.original_error
    if isinstance(original, GitHubGraphQLError):
        formatted = {"type": original.kind, **formatted}
    return formatted


_CONNECTIONS = frozenset(
    name
    for graphql_type in GRAPHQL_SCHEMA.type_map.values()
    for name, definition in (getattr(graphql_type, "fields", None) or {}).items()
    if getattr(get_named_type(definition.type), "name", "").endswith("Connection")
)


def _query_size(document, operation_name: str | None, variables: dict) -> tuple[int, int, list[dict]]:
    """(requests its connections need, nodes it may return, refusals) of the operation, as GitHub
    counts them: each connection is one request per parent, its `first` or `last` (1-100, one of
    them required) multiplies the nodes below it. Fragments on different types are alternatives:
    the larger counts."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next((o for o in operations if o.name and o.name.value == operation_name), operations[0])
    refusals: list[dict] = []

    def page_size(node: FieldNode) -> int:
        arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
        for bound in ("first", "last"):
            value = arguments.get(bound)
            if isinstance(value, VariableNode):
                value = variables.get(value.name.value)
            elif isinstance(value, IntValueNode):
                value = int(value.value)
            if value is None:
                continue
            if not 1 <= int(value) <= 100:
                refusals.append(
                    {
                        "type": "EXCESSIVE_PAGINATION",
                        "message": f"Requesting {value} records on the `{node.name.value}` connection "
                        f"exceeds the `{bound}` limit of 100 records.",
                    }
                )
            return int(value)
        refusals.append(
            {
                "type": "MISSING_PAGINATION_BOUNDARIES",
                "message": f"You must provide a `first` or `last` value to properly paginate the "
                f"`{node.name.value}` connection.",
            }
        )
        return 0

    def size(selection_set, parents: int) -> tuple[int, int]:
        requests_needed = nodes = 0
        alternatives = [(0, 0)]
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FragmentSpreadNode):
                alternatives.append(size(fragments[selection.name.value].selection_set, parents))
            elif isinstance(selection, InlineFragmentNode):
                alternatives.append(size(selection.selection_set, parents))
            elif selection.name.value in _CONNECTIONS:
                page = page_size(selection)
                below = size(selection.selection_set, parents * page)
                requests_needed += parents + below[0]
                nodes += parents * page + below[1]
            elif selection.selection_set is not None:
                below = size(selection.selection_set, parents)
                requests_needed, nodes = requests_needed + below[0], nodes + below[1]
        widest = max(alternatives)
        return requests_needed + widest[0], nodes + widest[1]

    requests_needed, nodes = size(operation.selection_set, 1)
    return requests_needed, nodes, refusals
