"""A fake GitLab (GitLab.com or self-managed) speaking the documented REST API v4 over real HTTP.

Sources read to build it (GitLab's own documentation, gitlab-org/gitlab `doc/`, unless marked otherwise):
- "REST API" (doc/api/rest/_index.md): the API lives under `/api/v4` of the instance (which may
  itself live under a relative URL root such as `/gitlab`); a project is named by its id or its
  URL-encoded path (`/` as `%2F`) and an unencoded path "doesn't match an API endpoint and
  responds with a 404"; `id` vs `iid`; offset pagination (`page`, `per_page` default 20 max 100,
  `Link` with prev/next/first/last, x-page / x-per-page / x-total / x-total-pages / x-next-page /
  x-prev-page, the totals and `rel="last"` left out beyond 10,000 records) and keyset pagination
  (`pagination=keyset`, projects by `order_by=id` only, a `Link` `rel="next"` carrying `id_after`,
  and at the end no `Link` and an empty array).
- "Projects API", "Get a single project" (GET /projects/:id): the project by id or encoded path, 404
  `{"message": "404 Project Not Found"}` for one the caller may not see.
- "REST API authentication": access tokens in `PRIVATE-TOKEN` or `private_token`, OAuth tokens in
  `Authorization: Bearer` or `access_token` (access tokens are also accepted as Bearer); missing or
  bad credentials answer 401 {"message": "401 Unauthorized"}; a token lacking a scope answers 403
  {"error": "insufficient_scope", "error_description", "scope"}.
- "REST API troubleshooting": status codes; 400 for a missing attribute ({"message": "400 (Bad
  request) \\"title\\" not given"}) and for failed validations ({"message": {attribute: [problems]}}).
- "Issues API": list project issues (`iids[]`, `state`, `search` + `in`, `labels` (all of them;
  `None` for none, `Any` for at least one), `milestone` (a title, `None` or `Any`), `issue_type`
  (issue, incident, test_case or task), `iteration_title`, `not[labels]`, `not[milestone]`,
  `order_by`, `sort`; private projects answer 404 to non-members), new issue (`title`, `description`,
  `confidential`, `assignee_ids`, `milestone_id`, `labels` comma-separated, `due_date`
  YEAR-MONTH-DAY, `issue_type`), edit issue (`state_event` close / reopen; at least one attribute),
  and the issue representation (`state` opened / closed, `references`, `web_url` .../-/issues/iid;
  on Premium and up also `weight` and `iteration`; `severity` UNKNOWN unless an incident has one).
- "Notes API": `GET /projects/:id/issues/:issue_iid/notes` (`sort` asc or desc, default desc;
  `order_by` created_at or updated_at; system notes carry `system: true`), `POST` with `body`, and
  `PUT .../notes/:note_id` with `body` (only its author may edit a note).
- "Labels API", "Milestones API" (`state` active or closed; `start_date`, `due_date`, `expired`)
  and "Group and project members API"
  (`GET /projects/:id/members/all`, inherited members included, `query` by name, username or
  e-mail); "Projects API" filters `membership`, `search`, `simple` and `with_issues_enabled`.
- "Project iterations API" (Premium and Ultimate): `GET /projects/:id/iterations` lists the
  iterations of the project's ancestor groups (`state` opened, upcoming, current, closed or all;
  `include_ancestors`), each with `title` (null for automatically scheduled ones), `state` 1
  upcoming, 2 current, 3 closed, `start_date` and `due_date`. Without the licence GitLab EE answers
  403; the Community Edition has no such route, and GitLab answers an unknown route with 404
  {"error": "404 Not Found"}.
- "Personal access tokens API": `GET /personal_access_tokens/self` (GitLab 15.5+) with `scopes` and
  `expires_at`.
- "User and IP rate limits": `RateLimit-Limit` / `-Name` / `-Observed` / `-Remaining` / `-Reset` on
  every response while a throttle is enabled; beyond it 429 with the plain-text body "Retry later"
  and also `RateLimit-ResetTime` (an RFC 2616 date) and `Retry-After`.
- "Markdown uploads API": `POST /projects/:id/uploads` takes a multipart/form-data `file` and answers
  201 with `id`, `alt`, `url` (`/uploads/<secret>/<name>`, "can be used in Markdown contexts"),
  `full_path` (`/-/project/<id>/uploads/<secret>/<name>`) and `markdown` (`![alt](url)` for an image,
  `[name](url)` otherwise); files over the instance's "Maximum attachment size" (100 MB by default)
  are refused. Grape answers a missing `file` with 400 {"error": "file is missing"}; the fake answers
  a too large file with 413 {"message": "..."} (the status nginx and GitLab give a too large body).
- "Permissions and roles": Guests may create issues and comment but not set labels, assignees or
  milestones, and may close only their own issues; confidential issues are visible to Planners,
  Reporters and up, their author and their assignees.
- Moving an issue ("Issues API": move an issue; "Manage issues": move an issue to another project):
  GitLab creates a new issue in the target project (its next iid, a new `id`) with the title,
  description, labels and assignees, and closes the original, whose `moved_to_id` (in the REST issue
  and in the Issue Hook's `object_attributes`) is the new issue's `id`. The webhook GitLab sends for
  the original is its close (`action` "close"). The REST API resolves that id only for
  administrators (`GET /issues/:id`); the GraphQL API's `Issue.movedTo` ("Updated Issue after it got
  moved to another project") gives anyone who may see both issues the new one.
- "GraphQL API" (doc/api/graphql): one endpoint, `POST /api/graphql` beside `/api/v4`; tokens of
  every kind in `Authorization: Bearer` (or the `private_token` / `access_token` parameters); a bad
  token answers 401 `{"errors":[{"message":"Invalid token"}]}`; `read_api` or `api` scope for
  queries. The reference's `Query.project(fullPath:)`, `Project.issue(iid:)` and the Issue fields
  `iid`, `title`, `state`, `webUrl`, `reference(full:)`, `moved` and `movedTo` are served; a project or
  issue the user may not see is null.

Where the documentation is silent, the choice made is stated next to the code that makes it.
"""

from __future__ import annotations

import itertools
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from graphql import GraphQLError, build_schema, execute, parse, validate

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
    parse_multipart,
    text_response,
)
from tests.fakes.webhooks import Delivery, RegisteredHook, body_of

GUEST, PLANNER, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 15, 20, 30, 40, 50
ISSUE_TYPES = ("issue", "incident", "test_case", "task")
# The event flags of a project hook the fake records ("Project webhooks API": add and edit a webhook);
# GitLab sends confidential issues' and notes' events only to hooks with their own flags set.
HOOK_EVENTS = ("issues_events", "confidential_issues_events", "note_events", "confidential_note_events", "push_events")
# "community": the Community Edition (no iterations route); "free": GitLab EE without a licence
# (iterations answer 403); "premium": iterations, weights and their fields on issues.
TIERS = ("community", "free", "premium")
ITERATION_STATES = {"upcoming": 1, "current": 2, "closed": 3}
TOTALS_LIMIT = 10_000
TITLE_LIMIT = 255
EDITABLE = (
    "assignee_id",
    "assignee_ids",
    "confidential",
    "created_at",
    "description",
    "discussion_locked",
    "due_date",
    "labels",
    "add_labels",
    "remove_labels",
    "milestone_id",
    "state_event",
    "title",
    "issue_type",
)
UNAUTHORIZED = {"message": "401 Unauthorized"}
FORBIDDEN = {"message": "403 Forbidden"}
PROJECT_NOT_FOUND = {"message": "404 Project Not Found"}
ISSUE_NOT_FOUND = {"message": "404 Issue Not Found"}
NOT_FOUND = {"message": "404 Not found"}
NO_ROUTE = {"error": "404 Not Found"}
# The part of GitLab's GraphQL schema the fake serves, named as GitLab's reference names it.
GRAPHQL_SCHEMA = build_schema(
    """
    enum IssueState { opened closed locked all }
    type Issue {
      iid: String!
      title: String!
      state: IssueState!
      webUrl: String!
      reference(full: Boolean = false): String!
      moved: Boolean
      movedTo: Issue
    }
    type Project { id: ID! fullPath: ID! issue(iid: String): Issue }
    type Query { project(fullPath: ID!): Project }
    """
)


def gitlab_timestamp(moment: datetime) -> str:
    """GitLab's wire format for date-times: 2016-01-04T15:31:51.081Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def not_given(attribute: str) -> Response:
    return json_response(HTTPStatus.BAD_REQUEST, {"message": f'400 (Bad request) "{attribute}" not given'})


def invalid(attribute: str, problem: str) -> Response:
    return json_response(HTTPStatus.BAD_REQUEST, {"message": {attribute: [problem]}})


def bad_parameter(message: str) -> Response:
    # A parameter of the wrong type or value: GitLab's API framework (Grape) answers {"error": ...}.
    return json_response(HTTPStatus.BAD_REQUEST, {"error": message})


# -- state ---------------------------------------------------------------------------------------


@dataclass
class GitLabUser:
    id: int
    username: str
    name: str


@dataclass
class Token:
    id: int
    username: str
    kind: str  # "personal" (also project and group access tokens) or "oauth"
    scopes: tuple[str, ...]
    expires_at: date | None
    created: datetime


@dataclass
class Note:
    id: int
    body: str
    author: GitLabUser
    created: datetime
    system: bool = False
    updated: datetime | None = None


@dataclass
class Issue:
    id: int
    iid: int
    project: Project
    title: str
    description: str | None
    author: GitLabUser
    created: datetime
    updated: datetime
    state: str = "opened"
    closed: datetime | None = None
    closed_by: GitLabUser | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[GitLabUser] = field(default_factory=list)
    due_date: str | None = None
    confidential: bool = False
    issue_type: str = "issue"
    milestone: Milestone | None = None
    iteration: Iteration | None = None
    weight: int | None = None
    severity: str = "UNKNOWN"
    notes: list[Note] = field(default_factory=list)
    moved_to: Issue | None = None  # the issue a move to another project created


@dataclass
class Milestone:
    id: int
    iid: int
    title: str
    state: str = "active"  # or "closed"
    start_date: date | None = None
    due_date: date | None = None


@dataclass
class Iteration:
    id: int
    iid: int
    title: str | None  # None for iterations a cadence scheduled automatically
    start_date: date
    due_date: date
    state: int = 1  # 1 upcoming, 2 current, 3 closed


@dataclass
class Project:
    id: int
    path_with_namespace: str
    name: str
    visibility: str  # "private", "internal" or "public"
    issues_enabled: bool = True
    members: dict[str, int] = field(default_factory=dict)  # username -> access level
    issues: dict[int, Issue] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    iterations: list[Iteration] = field(default_factory=list)  # its ancestor groups' iterations
    iids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def path(self) -> str:
        return self.path_with_namespace.rsplit("/", 1)[1]

    @property
    def namespace(self) -> str:
        return self.path_with_namespace.rsplit("/", 1)[0]

    def access(self, user: GitLabUser | None) -> int | None:
        """The user's access level; 0 for someone who may only read; None when the project is hidden."""
        level = self.members.get(user.username) if user else None
        if level is not None:
            return level
        if self.visibility == "public" or (self.visibility == "internal" and user is not None):
            return 0
        return None

    def can_see(self, user: GitLabUser | None, issue: Issue) -> bool:
        if not issue.confidential:
            return True
        return (self.access(user) or 0) >= PLANNER or issue.author is user or user in issue.assignees


@dataclass
class Upload:
    """A file uploaded to a project for Markdown (an issue description links it by its url)."""

    id: int
    project: Project
    secret: str
    filename: str
    content: bytes
    content_type: str

    @property
    def url(self) -> str:
        return f"/uploads/{self.secret}/{self.filename}"


# -- the fake ------------------------------------------------------------------------------------


class GitLabFake(TrackerFake):
    """An in-memory GitLab behind a real HTTP server on 127.0.0.1, optionally under a relative URL
    root (`/gitlab`), as a self-managed instance at https://example.com/gitlab is."""

    def __init__(self, relative_url_root: str = "", *, tier: str = "free"):
        assert tier in TIERS, tier
        self.tier = tier
        self.relative_url_root = relative_url_root.rstrip("/")
        self.server = FakeHTTPServer(prefix=f"{self.relative_url_root}/api/v4")
        self.server.interceptor = self._intercept
        self.users: dict[str, GitLabUser] = {}
        self.projects: dict[str, Project] = {}  # lower-cased path -> project
        self.faults = FaultQueue()
        self.throttle_limit: int | None = None  # requests a minute per user; None: throttling disabled
        self.link_headers = True  # False: as behind a reverse proxy that drops Link (X-Next-Page stays)
        self.graphql_enabled = True  # False: as behind a reverse proxy that passes only /api/v4 on (404)
        self._tokens: dict[str, Token] = {}
        self._quotas: dict[str, Quota] = {}
        self._ids = itertools.count(101)
        self.hooks: dict[str, list[RegisteredHook]] = {}  # lower-cased project path -> its project hooks
        self.uploads: list[Upload] = []  # Markdown uploads, every project's
        self.max_attachment_bytes = 100 * 1024**2  # the instance's "Maximum attachment size"
        self._register_routes()

    # -- lifecycle and request log ----------------------------------------------------------------

    @property
    def web_url(self) -> str:
        """The instance's address (a source's base URL), including the relative URL root."""
        return self.server.origin + self.relative_url_root

    @property
    def api_url(self) -> str:
        return self.server.base_url

    # -- seeding ----------------------------------------------------------------------------------

    def add_user(self, username: str, name: str | None = None) -> GitLabUser:
        with self.server.lock:
            user = GitLabUser(next(self._ids), username, name or username.title())
            self.users[username] = user
            return user

    def add_token(
        self,
        username: str,
        token: str,
        *,
        kind: str = "personal",
        scopes: tuple[str, ...] = ("api",),
        expires_at: date | None = None,
    ) -> Token:
        """A personal access token (`kind="personal"`) or an OAuth access token (`kind="oauth"`)."""
        with self.server.lock:
            if username not in self.users:
                self.add_user(username)
            grant = Token(next(self._ids), username, kind, scopes, expires_at, self.now())
            self._tokens[token] = grant
            return grant

    def add_project(
        self, path_with_namespace: str, *, visibility: str = "private", issues_enabled: bool = True
    ) -> Project:
        """A project; its namespace may be a user, a group or nested subgroups (a/b/c/project)."""
        with self.server.lock:
            name = path_with_namespace.rsplit("/", 1)[1].replace("-", " ").title()
            project = Project(next(self._ids), path_with_namespace, name, visibility, issues_enabled)
            self.projects[path_with_namespace.lower()] = project
            return project

    def add_member(self, path: str, username: str, access_level: int) -> None:
        with self.server.lock:
            self.project(path).members[username] = access_level

    def add_issue(
        self,
        path: str,
        title: str,
        *,
        author: str,
        description: str | None = None,
        state: str = "opened",
        labels: tuple[str, ...] = (),
        assignees: tuple[str, ...] = (),
        confidential: bool = False,
        created: datetime | None = None,
    ) -> Issue:
        with self.server.lock:
            project = self.project(path)
            moment = created or self.now()
            issue = Issue(
                id=next(self._ids),
                iid=next(project.iids),
                project=project,
                title=title,
                description=description,
                author=self.users[author],
                created=moment,
                updated=moment,
                labels=self._with_labels(project, labels),
                assignees=[self.users[name] for name in assignees],
                confidential=confidential,
            )
            project.issues[issue.iid] = issue
            if state == "closed":
                self._set_state(issue, "close", issue.author)
            return issue

    def add_label(self, path: str, name: str) -> None:
        with self.server.lock:
            self.project(path).labels.append(name)

    def add_milestone(
        self,
        path: str,
        title: str,
        *,
        state: str = "active",
        start_date: date | None = None,
        due_date: date | None = None,
    ) -> Milestone:
        with self.server.lock:
            project = self.project(path)
            milestone = Milestone(next(self._ids), len(project.milestones) + 1, title, state, start_date, due_date)
            project.milestones.append(milestone)
            return milestone

    def add_iteration(
        self, path: str, title: str | None, start_date: date, due_date: date, *, state: str = "upcoming"
    ) -> Iteration:
        """An iteration of the project's group (the fake has no groups: it hangs on the project)."""
        with self.server.lock:
            project = self.project(path)
            iteration = Iteration(
                next(self._ids), len(project.iterations) + 1, title, start_date, due_date, ITERATION_STATES[state]
            )
            project.iterations.append(iteration)
            return iteration

    def add_note(self, path: str, iid: int, body: str, *, author: str, system: bool = False) -> Note:
        """A comment, or with `system` a note GitLab writes itself ("changed the description")."""
        with self.server.lock:
            note = Note(next(self._ids), body, self.users[author], self.now(), system)
            self.issue(path, iid).notes.append(note)
            return note

    def edit_note(self, path: str, iid: int, note_id: int, body: str) -> Note:
        """Someone edits a comment in GitLab: its ``updated_at`` moves on."""
        with self.server.lock:
            note = next(note for note in self.issue(path, iid).notes if note.id == note_id)
            note.body, note.updated = body, self.now()
            return note

    def project(self, path: str) -> Project:
        return self.projects[path.lower()]

    def issue(self, path: str, iid: int) -> Issue:
        return self.project(path).issues[iid]

    def edit_issue(self, path: str, iid: int, **changes: Any) -> Issue:
        """Change an issue as someone on the web would; its `updated_at` moves on."""
        with self.server.lock:
            issue = self.issue(path, iid)
            for name, value in changes.items():
                setattr(issue, name, value)
            issue.updated = self.now()
            return issue

    def move_issue(self, path: str, iid: int, target: str, *, by: str) -> Issue:
        """Move an issue to the ``target`` project as GitLab does: a new issue there (the next iid, a new
        id) with the title, description, labels and assignees; the original closed with ``moved_to``
        set and a system note on each. Returns the new issue."""
        with self.server.lock:
            original, project, mover = self.issue(path, iid), self.project(target), self.users[by]
            moment = self.now()
            moved = Issue(
                id=next(self._ids),
                iid=next(project.iids),
                project=project,
                title=original.title,
                description=original.description,
                author=original.author,
                created=moment,
                updated=moment,
                labels=self._with_labels(project, original.labels),
                assignees=list(original.assignees),
                confidential=original.confidential,
                issue_type=original.issue_type,
            )
            project.issues[moved.iid] = moved
            original.moved_to = moved
            self._set_state(original, "close", mover)
            old_reference, new_reference = self._full_reference(original), self._full_reference(moved)
            original.notes.append(Note(next(self._ids), f"moved to {new_reference}", mover, moment, system=True))
            moved.notes.append(Note(next(self._ids), f"moved from {old_reference}", mover, moment, system=True))
            return moved

    def _full_reference(self, issue: Issue) -> str:
        return f"{issue.project.path_with_namespace}#{issue.iid}"

    def delete_issue(self, path: str, iid: int) -> None:
        with self.server.lock:
            del self.project(path).issues[iid]

    def now(self) -> datetime:
        moment = datetime.now(UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    # -- rate limits and fault injection ----------------------------------------------------------

    def enable_throttle(self, requests_per_minute: int = 600) -> None:
        """Turn on the authenticated API throttle (off by default on self-managed GitLab)."""
        with self.server.lock:
            self.throttle_limit = requests_per_minute
            self._quotas.clear()

    def quota(self, username: str) -> Quota:
        with self.server.lock:
            if username not in self._quotas:
                self._quotas[username] = Quota(self.throttle_limit, 60)
            return self._quotas[username]

    def exhaust_rate_limit(self, username: str, *, reset_in: int = 60) -> None:
        """Use up `username`'s throttle: until it resets, requests answer 429 "Retry later"."""
        with self.server.lock:
            if self.throttle_limit is None:
                self.enable_throttle()
            self.quota(username).exhaust(reset_in)

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

    def _intercept(self, request: RecordedRequest) -> Response | None:
        return self.faults.take()

    # -- authentication and accounting ------------------------------------------------------------

    def _endpoint(self, handler, *, writes: bool = False):
        """Wrap a route: authenticate, check the token's scope, apply the throttle and its headers."""

        def serve(request: RecordedRequest, **groups: str) -> Response:
            token = self._token(request)
            if token is None:
                return json_response(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED)
            if writes and "api" not in token.scopes:
                return json_response(
                    HTTPStatus.FORBIDDEN,
                    {
                        "error": "insufficient_scope",
                        "error_description": (
                            "The request requires higher privileges than provided by the access token."
                        ),
                        "scope": "api",
                    },
                )
            user = self.users[token.username]
            if self.throttle_limit is None:
                return handler(request, user, **groups)
            quota = self.quota(user.username)
            if quota.remaining == 0:
                reset = datetime.fromtimestamp(quota.reset_at, UTC)
                response = text_response(
                    HTTPStatus.TOO_MANY_REQUESTS,
                    "Retry later",
                    {
                        "RateLimit-ResetTime": format_datetime(reset, usegmt=True),
                        "Retry-After": str(max(0, quota.reset_at - int(self.now().timestamp()))),
                    },
                )
            else:
                quota.spend()
                response = handler(request, user, **groups)
            response.headers.update(
                {
                    "RateLimit-Limit": str(quota.limit),
                    "RateLimit-Name": "throttle_authenticated_api",
                    "RateLimit-Observed": str(quota.used),
                    "RateLimit-Remaining": str(quota.remaining),
                    "RateLimit-Reset": str(quota.reset_at),
                }
            )
            return response

        return serve

    def _token(self, request: RecordedRequest) -> Token | None:
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        candidates = [
            (request.headers.get("PRIVATE-TOKEN"), ("personal",)),
            (request.param("private_token"), ("personal",)),
            (bearer.strip() if scheme.lower() == "bearer" else None, ("personal", "oauth")),
            (request.param("access_token"), ("oauth",)),
        ]
        for value, kinds in candidates:
            if value:
                grant = self._tokens.get(value)
                usable = grant is not None and grant.kind in kinds
                expired = usable and grant.expires_at is not None and grant.expires_at < self.now().date()
                return grant if usable and not expired else None
        return None

    # -- routes -----------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        project = r"/projects/(?P<project_id>[^/]+)"
        issue = rf"{project}/issues/(?P<iid>\d+)"
        routes = [
            ("GET", r"/user", self._endpoint(self._get_user)),
            ("GET", r"/personal_access_tokens/self", self._endpoint(self._token_self)),
            ("GET", r"/projects", self._endpoint(self._list_projects)),
            ("GET", project, self._endpoint(self._get_project)),
            ("GET", rf"{project}/labels", self._endpoint(self._list_labels)),
            ("GET", rf"{project}/milestones", self._endpoint(self._list_milestones)),
            ("GET", rf"{project}/members/all", self._endpoint(self._list_members)),
            ("GET", rf"{project}/issues", self._endpoint(self._list_issues)),
            ("GET", rf"{issue}/notes", self._endpoint(self._list_notes)),
            ("POST", rf"{project}/issues", self._endpoint(self._create_issue, writes=True)),
            ("POST", rf"{project}/uploads", self._endpoint(self._upload, writes=True)),
            ("PUT", issue, self._endpoint(self._edit_issue, writes=True)),
            ("POST", rf"{issue}/notes", self._endpoint(self._create_note, writes=True)),
            ("PUT", rf"{issue}/notes/(?P<note_id>\d+)", self._endpoint(self._edit_note, writes=True)),
            ("GET", rf"{project}/iterations", self._endpoint(self._list_iterations)),
            ("GET", rf"{project}/hooks", self._endpoint(self._list_hooks)),
            ("POST", rf"{project}/hooks", self._endpoint(self._create_hook, writes=True)),
            ("PUT", rf"{project}/hooks/(?P<hook_id>\d+)", self._endpoint(self._edit_hook, writes=True)),
        ]
        for method, path, handler in routes:
            self.server.add_route(method, path, handler)
        self.server.add_outside_route("POST", rf"{self.relative_url_root}/api/graphql", self._graphql)

    def _get_user(self, request: RecordedRequest, user: GitLabUser) -> Response:
        return json_response(
            HTTPStatus.OK,
            {**self._user_json(user), "email": f"{user.username}@example.com", "bot": False, "is_admin": False},
        )

    def _token_self(self, request: RecordedRequest, user: GitLabUser) -> Response:
        token = self._token(request)
        if token.kind != "personal":
            # The documentation names no answer for an OAuth token; the fake answers as for an
            # unknown token id.
            return json_response(HTTPStatus.NOT_FOUND, {"message": "404 Not Found"})
        return json_response(
            HTTPStatus.OK,
            {
                "id": token.id,
                "name": "testmanager",
                "revoked": False,
                "created_at": gitlab_timestamp(token.created),
                "scopes": list(token.scopes),
                "user_id": user.id,
                "last_used_at": gitlab_timestamp(self.now()),
                "active": True,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            },
        )

    def _list_projects(self, request: RecordedRequest, user: GitLabUser) -> Response:
        visible = [p for p in self.projects.values() if p.access(user) is not None]
        if (request.param("membership") or "").lower() == "true":
            visible = [p for p in visible if user.username in p.members]
        if search := (request.param("search") or "").lower():
            visible = [p for p in visible if search in p.path_with_namespace.lower() or search in p.name.lower()]
        if (request.param("with_issues_enabled") or "").lower() == "true":
            visible = [p for p in visible if p.issues_enabled]
        if request.param("pagination") == "keyset":
            return self._keyset_projects(request, user, visible)
        visible.sort(key=lambda p: p.id, reverse=(request.param("sort") or "desc") == "desc")
        return self._offset_page(request, visible, lambda p: self._project_json(p, user, request))

    def _get_project(self, request: RecordedRequest, user: GitLabUser, project_id: str) -> Response:
        """GET /projects/:id ("Get a single project"): by id or URL-encoded path; 404 for one the caller
        cannot see, as for one that does not exist."""
        project = self._project(user, project_id, for_issues=False)
        if isinstance(project, Response):
            return project
        return json_response(HTTPStatus.OK, self._project_json(project, user, request))

    def _keyset_projects(self, request: RecordedRequest, user: GitLabUser, visible: list[Project]) -> Response:
        if (request.param("order_by") or "id") != "id":
            # Keyset pagination of projects supports order_by=id only; GitLab refuses other orders.
            return bad_parameter("Keyset pagination is not supported for the given order_by")
        descending = (request.param("sort") or "desc") == "desc"
        visible.sort(key=lambda p: p.id, reverse=descending)
        bound_name = "id_before" if descending else "id_after"
        if (bound := request.param(bound_name) or "").isdigit():
            visible = [p for p in visible if (p.id < int(bound) if descending else p.id > int(bound))]
        _, per_page = page_parameters(request, default_per_page=20, max_per_page=100)
        page = visible[:per_page]
        response = json_response(HTTPStatus.OK, [self._project_json(p, user, request) for p in page])
        if len(page) == per_page:
            links = {"next": {bound_name: str(page[-1].id)}}
            response.headers["Link"] = link_header(self.server.origin, request, links)
        return response

    def _list_labels(self, request: RecordedRequest, user: GitLabUser, project_id: str) -> Response:
        project = self._project(user, project_id, for_issues=False)
        if isinstance(project, Response):
            return project
        return self._offset_page(
            request,
            list(enumerate(project.labels, 1)),
            lambda pair: {
                "id": pair[0],
                "name": pair[1],
                "color": "#dc143c",
                "description": None,
            },
        )

    def _list_milestones(self, request: RecordedRequest, user: GitLabUser, project_id: str) -> Response:
        project = self._project(user, project_id, for_issues=False)
        if isinstance(project, Response):
            return project
        state = request.param("state")
        chosen = [m for m in project.milestones if state is None or m.state == state]
        return self._offset_page(request, chosen, lambda m: self._milestone_json(project, m))

    def _list_iterations(self, request: RecordedRequest, user: GitLabUser, project_id: str) -> Response:
        if self.tier == "community":
            return json_response(HTTPStatus.NOT_FOUND, NO_ROUTE)
        project = self._project(user, project_id, for_issues=False)
        if isinstance(project, Response):
            return project
        if self.tier != "premium":
            return json_response(HTTPStatus.FORBIDDEN, FORBIDDEN)
        state = request.param("state") or "all"
        if state not in ("opened", "upcoming", "current", "closed", "all"):
            return bad_parameter("state does not have a valid value")
        # "opened" is upcoming and current alike.
        wanted = {"opened": {1, 2}, "all": {1, 2, 3}}.get(state, {ITERATION_STATES.get(state)})
        chosen = [iteration for iteration in project.iterations if iteration.state in wanted]
        return self._offset_page(request, chosen, self._iteration_json)

    def _list_members(self, request: RecordedRequest, user: GitLabUser, project_id: str) -> Response:
        """Members, inherited ones included (the fake has no groups, so only direct ones)."""
        project = self._project(user, project_id, for_issues=False)
        if isinstance(project, Response):
            return project
        members = [(self.users[name], level) for name, level in project.members.items()]
        # `query` filters by name, e-mail address or username, partial values matching ("List all members").
        if query := (request.param("query") or "").strip().lower():
            members = [
                (member, level)
                for member, level in members
                if query in member.name.lower()
                or query in member.username.lower()
                or query in f"{member.username}@example.com"
            ]
        return self._offset_page(request, members, lambda pair: {**self._user_json(pair[0]), "access_level": pair[1]})

    # -- issues -----------------------------------------------------------------------------------

    def _project(self, user: GitLabUser, project_id: str, *, for_issues: bool = True) -> Project | Response:
        reference = unquote(project_id)
        project = next(
            (p for p in self.projects.values() if reference.lower() in (p.path_with_namespace.lower(), str(p.id))),
            None,
        )
        if project is None or project.access(user) is None:
            return json_response(HTTPStatus.NOT_FOUND, PROJECT_NOT_FOUND)
        if for_issues and not project.issues_enabled:
            return json_response(HTTPStatus.FORBIDDEN, FORBIDDEN)
        return project

    def _list_issues(self, request: RecordedRequest, user: GitLabUser, project_id: str) -> Response:
        project = self._project(user, project_id)
        if isinstance(project, Response):
            return project
        issues = [issue for issue in project.issues.values() if project.can_see(user, issue)]
        iids = request.query.get("iids[]", [])
        if any(not iid.isdigit() for iid in iids):
            return bad_parameter("iids is invalid")
        if iids:
            issues = [issue for issue in issues if str(issue.iid) in iids]
        state = request.param("state") or "all"
        if state not in ("opened", "closed", "all"):
            return bad_parameter("state does not have a valid value")
        if state != "all":
            issues = [issue for issue in issues if issue.state == state]
        issue_type = request.param("issue_type")
        if issue_type is not None and issue_type not in ISSUE_TYPES:
            return bad_parameter("issue_type does not have a valid value")
        if issue_type is not None:
            issues = [issue for issue in issues if issue.issue_type == issue_type]
        if labels := request.param("labels"):
            issues = [issue for issue in issues if _has_labels(issue, labels)]
        if labels := request.param("not[labels]"):
            issues = [issue for issue in issues if not _has_labels(issue, labels)]
        if milestone := request.param("milestone"):
            issues = [issue for issue in issues if _in_milestone(issue, milestone)]
        if milestone := request.param("not[milestone]"):
            issues = [issue for issue in issues if not _in_milestone(issue, milestone)]
        if iteration := request.param("iteration_title"):
            issues = [
                issue
                for issue in issues
                if issue.iteration is not None and (issue.iteration.title or "").lower() == iteration.lower()
            ]
        if search := (request.param("search") or "").lower():
            scopes = (request.param("in") or "title,description").split(",")
            issues = [
                issue
                for issue in issues
                if any(
                    search in ((issue.title if scope == "title" else issue.description) or "").lower()
                    for scope in scopes
                    if scope in ("title", "description")
                )
            ]
        order = request.param("order_by") or "created_at"
        key = {"updated_at": lambda i: i.updated}.get(order, lambda i: (i.created, i.iid))
        issues.sort(key=key, reverse=(request.param("sort") or "desc") == "desc")
        return self._offset_page(request, issues, self._issue_json)

    def _upload(self, request: RecordedRequest, user: GitLabUser, project_id: str) -> Response:
        project = self._project(user, project_id, for_issues=False)
        if isinstance(project, Response):
            return project
        part = next((p for p in parse_multipart(request) if p.name == "file" and p.filename), None)
        if part is None:
            return bad_parameter("file is missing")
        if len(part.content) > self.max_attachment_bytes:
            return json_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"message": "File is too large"})
        upload = Upload(
            id=next(self._ids),
            project=project,
            secret=secrets.token_hex(16),
            filename=part.filename,
            content=part.content,
            content_type=part.content_type,
        )
        self.uploads.append(upload)
        alt = part.filename.rsplit(".", 1)[0]
        image = part.content_type.startswith("image/")
        return json_response(
            HTTPStatus.CREATED,
            {
                "id": upload.id,
                "alt": alt,
                "url": upload.url,
                "full_path": f"/-/project/{project.id}{upload.url}",
                "markdown": f"![{alt}]({upload.url})" if image else f"[{part.filename}]({upload.url})",
            },
        )

    def _create_issue(self, request: RecordedRequest, user: GitLabUser, project_id: str) -> Response:
        project = self._project(user, project_id)
        if isinstance(project, Response):
            return project
        params = _parameters(request)
        if isinstance(params, Response):
            return params
        title = params.get("title")
        if title is None or str(title).strip() == "":
            return not_given("title")
        if len(str(title)) > TITLE_LIMIT:
            return invalid("title", f"is too long (maximum is {TITLE_LIMIT} characters)")
        issue_type = params.get("issue_type") or "issue"
        if issue_type not in ISSUE_TYPES:
            return bad_parameter("issue_type does not have a valid value")
        due_date = params.get("due_date")
        if due_date is not None and not _is_date(due_date):
            return bad_parameter("due_date is invalid")
        assignee_ids = _id_list(params.get("assignee_ids"))
        if assignee_ids is None:
            return bad_parameter("assignee_ids is invalid")
        moment = self.now()
        issue = Issue(
            id=next(self._ids),
            iid=next(project.iids),
            project=project,
            title=str(title),
            description=params.get("description"),
            author=user,
            created=moment,
            updated=moment,
            confidential=_truthy(params.get("confidential")),
            issue_type=issue_type,
        )
        # Guests may not set metadata: GitLab drops it without an error.
        if (project.access(user) or 0) >= PLANNER:
            issue.labels = self._with_labels(project, _label_list(params.get("labels")))
            # Assignees must be members; GitLab leaves out the others.
            issue.assignees = [u for u in self.users.values() if u.id in assignee_ids and u.username in project.members]
            issue.due_date = due_date
            milestone_id = params.get("milestone_id")
            issue.milestone = next((m for m in project.milestones if str(m.id) == str(milestone_id)), None)
        project.issues[issue.iid] = issue
        return json_response(HTTPStatus.CREATED, self._issue_json(issue))

    def _edit_issue(self, request: RecordedRequest, user: GitLabUser, project_id: str, iid: str) -> Response:
        found = self._visible_issue(user, project_id, iid)
        if isinstance(found, Response):
            return found
        project, issue = found
        params = _parameters(request)
        if isinstance(params, Response):
            return params
        if not any(name in params for name in EDITABLE):
            return bad_parameter(f"{', '.join(EDITABLE)} are missing, at least one parameter must be provided")
        event = params.get("state_event")
        if event is not None and event not in ("close", "reopen"):
            return bad_parameter("state_event does not have a valid value")
        if (project.access(user) or 0) < PLANNER and issue.author is not user:
            return json_response(HTTPStatus.FORBIDDEN, FORBIDDEN)
        if event is not None:
            self._set_state(issue, event, user)
        if "title" in params:
            issue.title = str(params["title"])
        if "description" in params:
            issue.description = params["description"]
        if "labels" in params and (project.access(user) or 0) >= PLANNER:
            issue.labels = self._with_labels(project, _label_list(params.get("labels")))  # replaces them
        issue.updated = self.now()
        return json_response(HTTPStatus.OK, self._issue_json(issue))

    def _visible_issue(self, user: GitLabUser, project_id: str, iid: str) -> tuple[Project, Issue] | Response:
        """The project and issue a request names, or GitLab's 404 when the user may not see them."""
        project = self._project(user, project_id)
        if isinstance(project, Response):
            return project
        issue = project.issues.get(int(iid))
        if issue is None or not project.can_see(user, issue):
            return json_response(HTTPStatus.NOT_FOUND, ISSUE_NOT_FOUND)
        return project, issue

    def _set_state(self, issue: Issue, event: str, by: GitLabUser) -> None:
        closing = event == "close"
        issue.state = "closed" if closing else "opened"
        issue.closed = self.now() if closing else None
        issue.closed_by = by if closing else None
        issue.updated = self.now()

    def _list_notes(self, request: RecordedRequest, user: GitLabUser, project_id: str, iid: str) -> Response:
        found = self._visible_issue(user, project_id, iid)
        if isinstance(found, Response):
            return found
        _, issue = found
        # Newest first unless asked otherwise, ordered by created_at or updated_at (both the creation time here).
        notes = sorted(
            issue.notes, key=lambda note: (note.created, note.id), reverse=(request.param("sort") or "desc") == "desc"
        )
        return self._offset_page(request, notes, lambda note: self._note_json(issue, note))

    def _create_note(self, request: RecordedRequest, user: GitLabUser, project_id: str, iid: str) -> Response:
        found = self._visible_issue(user, project_id, iid)
        if isinstance(found, Response):
            return found
        _, issue = found
        params = _parameters(request)
        if isinstance(params, Response):
            return params
        body = params.get("body")
        if body is None or not str(body).strip():
            return not_given("body")
        note = Note(next(self._ids), str(body), user, self.now())
        issue.notes.append(note)
        issue.updated = note.created
        return json_response(HTTPStatus.CREATED, self._note_json(issue, note))

    def _edit_note(
        self, request: RecordedRequest, user: GitLabUser, project_id: str, iid: str, note_id: str
    ) -> Response:
        found = self._visible_issue(user, project_id, iid)
        if isinstance(found, Response):
            return found
        _, issue = found
        note = next((note for note in issue.notes if note.id == int(note_id)), None)
        if note is None:
            return json_response(HTTPStatus.NOT_FOUND, NOT_FOUND)
        params = _parameters(request)
        if isinstance(params, Response):
            return params
        if "body" not in params and "confidential" not in params:
            return bad_parameter("body, confidential are missing, at least one parameter must be provided")
        if note.author is not user or note.system:
            return json_response(HTTPStatus.FORBIDDEN, FORBIDDEN)
        if "body" in params:
            if not str(params["body"] or "").strip():
                return invalid("note", "can't be blank")
            note.body, note.updated = str(params["body"]), self.now()
        return json_response(HTTPStatus.OK, self._note_json(issue, note))

    def _with_labels(self, project: Project, names: list[str] | tuple[str, ...]) -> list[str]:
        """The labels by name, creating those the project does not have yet (as GitLab does)."""
        chosen = []
        for name in names:
            existing = next((label for label in project.labels if label.lower() == name.lower()), None)
            if existing is None:
                project.labels.append(name)
                existing = name
            if existing not in chosen:
                chosen.append(existing)
        return chosen

    # -- GraphQL ----------------------------------------------------------------------------------

    def _graphql(self, request: RecordedRequest) -> Response:
        """``POST /api/graphql``: outside ``/api/v4``, where the interceptor does not reach, so the
        injected faults are taken here. No token is an anonymous request (public data only)."""
        fault = self.faults.take()
        if fault is not None:
            return fault
        if not self.graphql_enabled:
            return text_response(HTTPStatus.NOT_FOUND, "Not Found")
        user, refusal = self._graphql_user(request)
        if refusal is not None:
            return refusal
        try:
            payload = json.loads(request.body or b"")
            document = parse(payload["query"])
        except (ValueError, TypeError, KeyError, GraphQLError):
            return json_response(HTTPStatus.BAD_REQUEST, {"errors": [{"message": "Invalid query"}]})
        problems = validate(GRAPHQL_SCHEMA, document)
        if problems:
            return json_response(HTTPStatus.OK, {"errors": [problem.formatted for problem in problems]})
        variables = payload.get("variables") if isinstance(payload.get("variables"), dict) else {}
        root = {"project": lambda info, fullPath: self._graphql_project(user, fullPath)}
        result = execute(GRAPHQL_SCHEMA, document, root_value=root, variable_values=variables)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [problem.formatted for problem in result.errors]
        return json_response(HTTPStatus.OK, body)

    def _graphql_user(self, request: RecordedRequest) -> tuple[GitLabUser | None, Response | None]:
        """The user a GraphQL request acts as: tokens of every kind as ``Authorization: Bearer``, access
        tokens as ``private_token`` and OAuth tokens as ``access_token``. A token given but not valid
        answers 401; one without ``read_api`` or ``api`` answers 403."""
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        candidates = [
            (bearer.strip() if scheme.lower() == "bearer" else None, ("personal", "oauth")),
            (request.param("private_token"), ("personal",)),
            (request.param("access_token"), ("oauth",)),
        ]
        value, kinds = next(((value, kinds) for value, kinds in candidates if value), (None, ()))
        if value is None:
            return None, None
        grant = self._tokens.get(value)
        if grant is None or grant.kind not in kinds or (grant.expires_at and grant.expires_at < self.now().date()):
            return None, json_response(HTTPStatus.UNAUTHORIZED, {"errors": [{"message": "Invalid token"}]})
        if not {"api", "read_api"} & set(grant.scopes):
            return None, json_response(HTTPStatus.FORBIDDEN, {"errors": [{"message": "insufficient_scope"}]})
        return self.users[grant.username], None

    def _graphql_project(self, user: GitLabUser | None, full_path: str) -> dict | None:
        project = self.projects.get(str(full_path).lower())
        if project is None or project.access(user) is None:
            return None
        return {
            "id": f"gid://gitlab/Project/{project.id}",
            "fullPath": project.path_with_namespace,
            "issue": lambda info, iid=None: self._graphql_issue(user, project.issues.get(int(iid or 0))),
        }

    def _graphql_issue(self, user: GitLabUser | None, issue: Issue | None) -> dict | None:
        """The issue as GraphQL shows it; null where the user may not see it (its project or itself)."""
        if issue is None or issue.project.access(user) is None or not issue.project.can_see(user, issue):
            return None
        return {
            "iid": str(issue.iid),
            "title": issue.title,
            "state": issue.state,
            "webUrl": self._issue_json(issue)["web_url"],
            "reference": lambda info, full=False: self._full_reference(issue) if full else f"#{issue.iid}",
            "moved": issue.moved_to is not None,
            "movedTo": lambda info: self._graphql_issue(user, issue.moved_to),
        }

    # -- pagination -------------------------------------------------------------------------------

    def _offset_page(self, request: RecordedRequest, items: list, render) -> Response:
        page, per_page = page_parameters(request, default_per_page=20, max_per_page=100)
        total_pages = max(1, -(-len(items) // per_page))
        shown = items[(page - 1) * per_page : page * per_page]
        response = json_response(HTTPStatus.OK, [render(item) for item in shown])
        next_page = str(page + 1) if page < total_pages else ""
        prev_page = str(page - 1) if 1 < page <= total_pages + 1 else ""
        response.headers.update(
            {
                "X-Page": str(page),
                "X-Per-Page": str(per_page),
                "X-Next-Page": next_page,
                "X-Prev-Page": prev_page,
            }
        )
        links = {"prev": {"page": prev_page}} if prev_page else {}
        links |= {"next": {"page": next_page}} if next_page else {}
        links["first"] = {"page": "1"}
        if len(items) <= TOTALS_LIMIT:
            response.headers.update({"X-Total": str(len(items)), "X-Total-Pages": str(total_pages)})
            links["last"] = {"page": str(total_pages)}
        if self.link_headers:
            response.headers["Link"] = link_header(self.server.origin, request, links)
        return response

    # -- representations --------------------------------------------------------------------------

    def _user_json(self, user: GitLabUser | None) -> dict | None:
        if user is None:
            return None
        return {
            "id": user.id,
            "username": user.username,
            "name": user.name,
            "state": "active",
            "avatar_url": None,
            "web_url": f"{self.web_url}/{user.username}",
        }

    def _project_json(self, project: Project, user: GitLabUser, request: RecordedRequest) -> dict:
        body = {
            "id": project.id,
            "description": None,
            "name": project.name,
            "name_with_namespace": f"{project.namespace.replace('/', ' / ')} / {project.name}",
            "path": project.path,
            "path_with_namespace": project.path_with_namespace,
            "created_at": gitlab_timestamp(self.now()),
            "default_branch": "main",
            "web_url": f"{self.web_url}/{project.path_with_namespace}",
            "namespace": {"full_path": project.namespace, "path": project.namespace.rsplit("/", 1)[-1]},
        }
        if (request.param("simple") or "").lower() != "true":
            level = project.members.get(user.username)
            body |= {
                "visibility": project.visibility,
                "issues_enabled": project.issues_enabled,
                "permissions": {"project_access": {"access_level": level} if level else None, "group_access": None},
            }
        return body

    def _note_json(self, issue: Issue, note: Note) -> dict:
        return {
            "id": note.id,
            "type": None,
            "body": note.body,
            "author": self._user_json(note.author),
            "created_at": gitlab_timestamp(note.created),
            "updated_at": gitlab_timestamp(note.updated or note.created),
            "system": note.system,
            "noteable_id": issue.id,
            "noteable_type": "Issue",
            "noteable_iid": issue.iid,
            "project_id": issue.project.id,
            "resolvable": False,
            "confidential": False,
            "internal": False,
        }

    def _milestone_json(self, project: Project, milestone: Milestone | None) -> dict | None:
        if milestone is None:
            return None
        return {
            "id": milestone.id,
            "iid": milestone.iid,
            "project_id": project.id,
            "title": milestone.title,
            "description": None,
            "state": milestone.state,
            "start_date": milestone.start_date.isoformat() if milestone.start_date else None,
            "due_date": milestone.due_date.isoformat() if milestone.due_date else None,
            "expired": milestone.due_date is not None and milestone.due_date < self.now().date(),
            "web_url": f"{self.web_url}/{project.path_with_namespace}/-/milestones/{milestone.iid}",
        }

    def _iteration_json(self, iteration: Iteration | None) -> dict | None:
        if iteration is None:
            return None
        return {
            "id": iteration.id,
            "iid": iteration.iid,
            "sequence": iteration.iid,
            "group_id": 1,
            "title": iteration.title,
            "description": None,
            "state": iteration.state,
            "start_date": iteration.start_date.isoformat(),
            "due_date": iteration.due_date.isoformat(),
            "web_url": f"{self.web_url}/groups/acme/-/iterations/{iteration.id}",
        }

    def _issue_json(self, issue: Issue) -> dict:
        project = issue.project
        api = f"{self.api_url}/projects/{project.id}"
        body = {
            "id": issue.id,
            "iid": issue.iid,
            "project_id": project.id,
            "title": issue.title,
            "description": issue.description,
            "state": issue.state,
            "created_at": gitlab_timestamp(issue.created),
            "updated_at": gitlab_timestamp(issue.updated),
            "closed_at": gitlab_timestamp(issue.closed) if issue.closed else None,
            "closed_by": self._user_json(issue.closed_by),
            "labels": list(issue.labels),
            "milestone": self._milestone_json(project, issue.milestone),
            "assignees": [self._user_json(user) for user in issue.assignees],
            "assignee": self._user_json(issue.assignees[0]) if issue.assignees else None,
            "author": self._user_json(issue.author),
            "type": issue.issue_type.upper(),
            "issue_type": issue.issue_type,
            "user_notes_count": len(issue.notes),
            "due_date": issue.due_date,
            "confidential": issue.confidential,
            "discussion_locked": None,
            "moved_to_id": issue.moved_to.id if issue.moved_to else None,
            "web_url": f"{self.web_url}/{project.path_with_namespace}/-/issues/{issue.iid}",
            "references": {
                "short": f"#{issue.iid}",
                "relative": f"#{issue.iid}",
                "full": self._full_reference(issue),
            },
            "severity": issue.severity,
            "_links": {
                "self": f"{api}/issues/{issue.iid}",
                "notes": f"{api}/issues/{issue.iid}/notes",
                "award_emoji": f"{api}/issues/{issue.iid}/award_emoji",
                "project": api,
            },
        }
        if self.tier == "premium":
            body |= {"weight": issue.weight, "iteration": self._iteration_json(issue.iteration)}
        return body

    # -- webhooks ---------------------------------------------------------------------------------

    def issue_delivery(self, path: str, iid: int, *, action: str = "update", secret: str) -> Delivery:
        """An Issue Hook delivery with the issue as it is now (``action``: open, update, close, reopen)."""
        with self.server.lock:
            issue = self.issue(path, iid)
            attributes = {
                **self._issue_json(issue),
                "url": self._issue_json(issue)["web_url"],
                "action": action,
                "assignee_ids": [user.id for user in issue.assignees],
                "author_id": issue.author.id,
            }
            payload = {
                "object_kind": "issue",
                "event_type": "issue",
                "object_attributes": attributes,
                "assignees": [self._user_json(user) for user in issue.assignees],
            }
            return self._delivery("Issue Hook", payload, issue, secret)

    def note_delivery(self, path: str, iid: int, note_id: int, *, action: str | None = None, secret: str) -> Delivery:
        """A Note Hook delivery for one of the issue's notes; its times in the older ``... UTC`` form
        GitLab still sends in note payloads. ``action`` (``create``, ``update`` for an edited note) is
        ``object_attributes.action``, sent since GitLab 16.11; None leaves it out, as older GitLabs do."""
        with self.server.lock:
            issue = self.issue(path, iid)
            note = next(note for note in issue.notes if note.id == note_id)
            attributes = {
                **self._note_json(issue, note),
                "note": note.body,
                "created_at": note.created.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "updated_at": (note.updated or note.created).strftime("%Y-%m-%d %H:%M:%S UTC"),
                "author_id": note.author.id,
                **({"action": action} if action else {}),
            }
            payload = {
                "object_kind": "note",
                "event_type": "note",
                "object_attributes": attributes,
                "issue": self._issue_json(issue),
            }
            return self._delivery("Note Hook", payload, issue, secret)

    def _delivery(self, event: str, payload: dict, issue: Issue, secret: str) -> Delivery:
        project = issue.project
        payload |= {
            "user": self._user_json(issue.author),
            "project": {
                "id": project.id,
                "name": project.name,
                "path_with_namespace": project.path_with_namespace,
                "web_url": f"{self.web_url}/{project.path_with_namespace}",
            },
        }
        body = body_of(payload)
        uuid = f"{next(self._ids):08d}-gitlab-hook"
        return Delivery(
            {
                "X-Gitlab-Event": event,
                "X-Gitlab-Token": secret,
                "X-Gitlab-Webhook-UUID": uuid,
                "X-Gitlab-Event-UUID": uuid,
                "Idempotency-Key": uuid,
            },
            body,
        )

    def _maintained(self, user: GitLabUser, project_id: str) -> Project | Response:
        """Project hooks are for Maintainers and Owners (403 for others who see the project)."""
        project = self._project(user, project_id, for_issues=False)
        if not isinstance(project, Response) and (project.access(user) or 0) < MAINTAINER:
            return json_response(HTTPStatus.FORBIDDEN, FORBIDDEN)
        return project

    def _list_hooks(self, request: RecordedRequest, user: GitLabUser, project_id: str) -> Response:
        project = self._maintained(user, project_id)
        if isinstance(project, Response):
            return project
        hooks = self.hooks.get(project.path_with_namespace.lower(), [])
        return self._offset_page(request, hooks, lambda hook: self._hook_json(project, hook))

    def _create_hook(self, request: RecordedRequest, user: GitLabUser, project_id: str) -> Response:
        project = self._maintained(user, project_id)
        if isinstance(project, Response):
            return project
        values = _parameters(request)
        if isinstance(values, Response):
            return values
        if not values.get("url"):
            return not_given("url")
        events = [name for name in HOOK_EVENTS if _truthy(values.get(name))]
        hook = RegisteredHook(
            next(self._ids), str(values["url"]), str(values.get("token") or ""), events, project.path_with_namespace
        )
        self.hooks.setdefault(project.path_with_namespace.lower(), []).append(hook)
        return json_response(HTTPStatus.CREATED, self._hook_json(project, hook))

    def _edit_hook(self, request: RecordedRequest, user: GitLabUser, project_id: str, hook_id: str) -> Response:
        project = self._maintained(user, project_id)
        if isinstance(project, Response):
            return project
        hook = next(
            (hook for hook in self.hooks.get(project.path_with_namespace.lower(), []) if hook.id == int(hook_id)), None
        )
        if hook is None:
            return json_response(HTTPStatus.NOT_FOUND, {"message": "404 Not found"})
        values = _parameters(request)
        if isinstance(values, Response):
            return values
        hook.url, hook.secret = str(values.get("url", hook.url)), str(values.get("token", hook.secret))
        hook.events = [name for name in HOOK_EVENTS if _truthy(values.get(name, name in hook.events))]
        return json_response(HTTPStatus.OK, self._hook_json(project, hook))

    def _hook_json(self, project: Project, hook: RegisteredHook) -> dict:
        # The token is write-only: GitLab never returns it.
        return {
            "id": hook.id,
            "url": hook.url,
            "project_id": project.id,
            "enable_ssl_verification": True,
            **{name: name in hook.events for name in HOOK_EVENTS},
        }


# -- request parameters --------------------------------------------------------------------------


def _parameters(request: RecordedRequest) -> dict | Response:
    """Attributes of a write request: GitLab reads them from the query string and from a JSON or
    form-encoded body alike."""
    params: dict[str, Any] = {
        name: values[-1] if not name.endswith("[]") else values for name, values in request.query.items()
    }
    content_type = request.headers.get("Content-Type", "").lower()
    if content_type.startswith("application/json") and request.body:
        try:
            payload = json.loads(request.body)
        except ValueError:
            # GitLab's API framework refuses a body it cannot parse; its exact wording is undocumented.
            return bad_parameter("The request body is not valid JSON")
        if not isinstance(payload, dict):
            return bad_parameter("The request body must be a JSON object")
        params |= payload
    elif content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        params |= {name: values[-1] if not name.endswith("[]") else values for name, values in form.items()}
    if "assignee_ids[]" in params:
        params["assignee_ids"] = params.pop("assignee_ids[]")
    return params


def _has_labels(issue: Issue, labels: str) -> bool:
    """All of the comma-separated labels; "None": no label at all; "Any": at least one."""
    if labels.lower() in ("none", "any"):
        return bool(issue.labels) == (labels.lower() == "any")
    wanted = {label.strip().lower() for label in labels.split(",") if label.strip()}
    return wanted <= {label.lower() for label in issue.labels}


def _in_milestone(issue: Issue, milestone: str) -> bool:
    """The milestone of that title; "None": without a milestone; "Any": with one."""
    if milestone.lower() in ("none", "any"):
        return (issue.milestone is not None) == (milestone.lower() == "any")
    return issue.milestone is not None and issue.milestone.title == milestone


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 10


def _id_list(value: Any) -> list[int] | None:
    """`assignee_ids` as integers (an array, or a comma-separated string); None when not integers."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    if not all(str(item).strip().isdigit() for item in items):
        return None
    return [int(item) for item in items]


def _label_list(value: Any) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]
