"""GitLab Issues on GitLab.com and self-managed GitLab (REST API v4).

- The API lives under ``/api/v4`` of the instance, which may itself live under a relative
  URL root (https://example.com/gitlab): the base URL includes that root.
- Personal, project and group access tokens travel in ``PRIVATE-TOKEN``; members' OAuth
  tokens as ``Bearer``. The connection check reads a personal access token's scopes and
  expiry from ``/personal_access_tokens/self`` (GitLab 15.5 and later).
- A project is named in paths by its URL-encoded path (``group/sub/project`` as
  ``group%2Fsub%2Fproject``), so projects in nested subgroups need no id lookup.
- A key is ``path#iid``, GitLab's own full reference (issues come back with GitLab's spelling
  of it, under the key asked for); ``#12`` typed in a project is qualified with the project
  integration's path (``qualify_key``).
- Reading many issues asks each project for them by ``iids[]``, 100 a request (GitLab's
  ``per_page`` maximum): 250 issues of one project take three requests.
- An issue moved to another project is closed where it was, with ``moved_to_id`` (the new
  issue's global id, which only administrators can read by REST). Where it went comes from the
  GraphQL API (``/api/graphql``, every token as Bearer): ``project(fullPath:) { issue(iid:) {
  movedTo { reference(full: true) } } }``; the new issue is then read as any other, under the
  key asked for, so the refresh follows the move (issues.links.key_moves). A move the account
  cannot follow (the new project is hidden from it) leaves the issue forbidden, never closed or
  missing. The Issue Hook GitLab sends for a move is the original's close with ``moved_to_id``:
  it asks for the issue to be read again.
- GitLab answers 404 for a project the account may not see; its issues are forbidden, not
  missing. An issue a visible project does not list is missing (deleted, or confidential
  to someone below Reporter: GitLab does not tell the two apart).
- Descriptions and notes stay Markdown, with mentions and closing keywords made inert.
- Search runs in the projects this source is assigned to (its project integrations).
- A pull lists the project's issues (all states, oldest first, ``PAGE_SIZE`` a page, following
  the ``Link`` header or else ``X-Next-Page``) with the filter's parameters: the filter is written
  as GitLab's own list-issues parameters, ``labels=requirement,backend milestone="Release 2.0"``
  (see ``pull_parameters``). Work item types are GitLab's issue types (issue, incident, test case,
  task), one listing each. A known key the listing leaves out is deleted when ``fetch_many`` says
  it is missing, never when the project cannot be seen.
- Plans are the project's milestones (its groups' too) as releases and its groups' iterations as
  sprints. Iterations are a paid feature: GitLab EE without the licence answers 403 and the
  Community Edition has no such route (404 once the project was found), and then the plans are
  the milestones alone. A board names nothing in GitLab and is not used.
"""

import re
import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import requests

from integrations.errors import NotFound, RemoteValidationError, UpstreamError
from integrations.http import RemoteErrorDetail, TrackerHttpClient, TrackerResponse, UploadPart
from integrations.mappings import same_name
from integrations.models import AUTH_TYPES_BY_PROVIDER, AuthType, Provider
from integrations.richtext.forge import inert_markdown

from .answers import chunks, iso_timestamp, json_list, json_object
from .base import (
    PULL_LIMIT,
    Capability,
    ConnectionReport,
    CreatedIssue,
    DraftAttachment,
    EventKind,
    FetchResult,
    FieldValue,
    IssueDraft,
    IssueEvent,
    MatchCount,
    NotConfigured,
    OAuthApp,
    PulledItem,
    PullQuery,
    PullResult,
    RemoteComment,
    RemoteField,
    RemoteIssue,
    RemoteIssueType,
    RemotePlan,
    RemoteProject,
    RemoteUser,
    TrackerProvider,
    UnknownProject,
    delivery_id,
    delivery_response,
    fields_missing,
    label_names,
    markdown_link_text,
    rate_limit_headroom,
    webhook_json,
    with_file_links,
)

PAGE_SIZE = 100  # GitLab's per_page maximum, and so the iids a request can return
SEARCH_LIMIT = 50
# Above this many items GitLab leaves X-Total out of a listing ("Pagination response headers").
UNCOUNTED_TOTAL = 10_000
_SEGMENT = r"[A-Za-z0-9_.][A-Za-z0-9_.-]*"
PROJECT_PATH = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})+")
ISSUE_KEY = re.compile(rf"(?P<project>{PROJECT_PATH.pattern})#(?P<iid>\d+)")
SHORT_KEY = re.compile(r"#?(?P<iid>\d+)")

OPEN, CLOSED = "Open", "Closed"
# A Note Hook's ``object_attributes.action`` (GitLab 16.11 on; older ones send only new notes, without it).
NOTE_ACTIONS = {"create": EventKind.COMMENTED, "update": EventKind.COMMENT_EDITED}
_STATE_EVENTS = {"open": "reopen", "opened": "reopen", "reopened": "reopen", "closed": "close"}
# The issue types testmanager offers (test cases are GitLab Ultimate's own test management; tasks
# belong under an issue).
ISSUE_TYPES = {"issue": "Issue", "incident": "Incident"}
# Every issue type the list-issues API selects by, for pulls.
PULL_TYPES = {**ISSUE_TYPES, "test_case": "Test case", "task": "Task"}
_FORM_FIELDS = ("labels", "assignees", "milestone", "due_date", "confidential")
# The list-issues parameters a pull's filter may set (GitLab's own names and values).
FILTER_PARAMETERS = frozenset(
    {
        "labels",
        "not[labels]",
        "milestone",
        "not[milestone]",
        "iteration_title",
        "not[iteration_title]",
        "iteration_id",
        "state",
        "search",
        "in",
        "author_username",
        "not[author_username]",
        "assignee_username",
        "not[assignee_username]",
        "confidential",
        "weight",
        "health_status",
        "due_date",
        "created_after",
        "created_before",
        "updated_after",
        "updated_before",
        "epic_id",
    }
)
# Parameters testmanager sets itself: the project, the types, the order and the pages.
_OWN_PARAMETERS = {
    "issue_type": "choose the types in the work item types instead",
    "iids[]": "a pull takes every issue the filter selects",
    "scope": "a pull takes every issue of the project",
    "order_by": "testmanager orders the pull itself",
    "sort": "testmanager orders the pull itself",
    "page": "testmanager reads every page itself",
    "per_page": "testmanager reads every page itself",
    "pagination": "testmanager reads every page itself",
}
_CHOICES = {"state": ("opened", "closed", "all"), "confidential": ("true", "false")}
FILTER_HINT = (
    "GitLab's list-issues parameters as name=value, quoted when the value has spaces, e.g. "
    'labels=requirement,backend milestone="Release 2.0" (labels: all of them; None or Any also work); '
    "testmanager adds the project and the types (issue, incident, test_case, task)."
)
ITERATION_CLOSED = 3  # the REST API's iteration states: 1 upcoming, 2 current, 3 closed
MAX_MOVES = 5  # moves followed from one key (an issue moved on from the project it was moved to)
MOVED_TO_QUERY = """query MovedTo($path: ID!, $iid: String) {
  project(fullPath: $path) { issue(iid: $iid) { movedTo { reference(full: true) webUrl } } }
}"""


def read_gitlab_error(response: TrackerResponse) -> RemoteErrorDetail:
    """GitLab's error bodies: ``{"message": "404 Project Not Found"}``, validation errors as
    ``{"message": {attribute: [problems]}}``, parameter errors as ``{"error": ...}``, missing
    token scopes as ``{"error": "insufficient_scope", "error_description", "scope"}``, and a
    throttle's plain-text "Retry later"."""
    try:
        body = response.json()
    except UpstreamError:
        text = response.content.decode(errors="replace").strip()
        return RemoteErrorDetail(text if 0 < len(text) <= 300 else None)
    if not isinstance(body, dict):
        return RemoteErrorDetail()
    message = body.get("message")
    if isinstance(message, dict):
        field_errors = {
            str(name): "; ".join(str(problem) for problem in (problems if isinstance(problems, list) else [problems]))
            for name, problems in message.items()
        }
        return RemoteErrorDetail("; ".join(f"{name} {problem}" for name, problem in field_errors.items()), field_errors)
    if isinstance(message, str) and message:
        return RemoteErrorDetail(message)
    if body.get("error_description"):
        scope = f" (the token needs the {body['scope']} scope)" if body.get("scope") else ""
        return RemoteErrorDetail(f"{body['error_description']}{scope}")
    return RemoteErrorDetail(str(body["error"]) if body.get("error") else None)


def _unknown_state(raw: Mapping[str, Any]) -> frozenset[str]:
    """A webhook's issue without a state GitLab names (``opened``, ``closed``) leaves the state unknown;
    without a description, the description."""
    missing = fields_missing(raw, description="description")
    return missing if raw.get("state") in ("opened", "closed") else missing | {"status"}


def _hook_timestamp(value: Any) -> str | None:
    """A webhook's time in the API's ISO form: hooks send ``2013-12-03T17:15:43Z`` or, in older
    payloads, ``2013-12-03 17:15:43 UTC``."""
    if iso_timestamp(value) is not None:
        return value
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S %Z").replace(tzinfo=UTC).isoformat()
    except ValueError:
        return None


def _encoded(path: str) -> str:
    return quote(path, safe="")


def _project_paths(projects: Iterable[str]) -> list[str]:
    """The GitLab project paths among ``projects``, sorted."""
    return sorted({project.strip() for project in projects if PROJECT_PATH.fullmatch(project.strip())}, key=str.lower)


class GitLab(TrackerProvider):
    key = Provider.GITLAB
    label = Provider.GITLAB.label
    uploads_files = True
    attachment_max_bytes = 100 * 1024**2  # GitLab's default maximum attachment size (an administrator's setting)
    test_type_as_label = True
    severity_as_label = True
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.GITLAB]
    member_pats = True
    default_key_pattern = r"^(?:[A-Za-z0-9_.][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+#|#?)\d+$"
    default_issue_url_template = "{baseUrl}/{project}/-/issues/{number}"
    default_create_url_template = (
        "{baseUrl}/{project}/-/issues/new?issue[title]={title}&issue[description]={description}"
    )
    capabilities = frozenset(
        {Capability.READ_DETAILS, Capability.CREATE_ISSUES, Capability.ADD_COMMENTS, Capability.PROCESS_WEBHOOKS}
    )
    external_project_hint = "project path, e.g. group/subgroup/project"
    external_project_pattern = r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+$"
    base_url_hint = "https://gitlab.com, or your GitLab's address including any relative URL root."
    read_error_detail = staticmethod(read_gitlab_error)
    keys_per_request = PAGE_SIZE  # iids of one project
    pull_filter_hint = FILTER_HINT
    pull_field_hint = (
        "Issue fields: milestone or iteration (its title and due date), due_date, severity, weight, "
        "or a scoped label's prefix such as priority::."
    )

    @property
    def api_base_url(self) -> str:
        return f"{self.source.base_url}/api/v4"

    def pat_authentication(self, token):
        # GitLab takes personal access tokens in its own header; OAuth tokens as Bearer.
        return {"PRIVATE-TOKEN": token}, None

    def _graphql_headers(self) -> dict[str, str]:
        """GraphQL takes every kind of token as Bearer (``PRIVATE-TOKEN`` is REST's)."""
        if self.user_token is not None:
            return self.bearer(self.user_token.access_token)
        if self.source.auth_type == AuthType.PAT:
            return self.bearer(self.credentials.get("token", ""))
        return {}

    @classmethod
    def qualify_key(cls, key: str, project: str) -> str:
        key, project = key.strip(), project.strip()
        short = SHORT_KEY.fullmatch(key)
        if short and PROJECT_PATH.fullmatch(project):
            return f"{project}#{short['iid']}"
        return key

    @classmethod
    def project_of_key(cls, key: str) -> str:
        found = ISSUE_KEY.fullmatch(key.strip())
        return found["project"] if found else ""

    def oauth_app(self) -> OAuthApp:
        """GitLab as an OAuth 2.0 provider (doorkeeper): under the instance's relative URL root, PKCE
        with S256, access tokens for two hours with a refresh token; ``api`` reads and files issues."""
        return OAuthApp(
            authorize_url=f"{self.source.base_url}/oauth/authorize",
            token_url=f"{self.source.base_url}/oauth/token",
            scopes=("api",),
            pkce=True,
        )

    # -- connection --

    def whoami(self) -> ConnectionReport:
        uses_pat = self.uses_pat
        with self.client() as http:
            response = http.get("user")
            body = json_object(response, "an account")
            # Older GitLab (before 15.5) has no self-inform endpoint: then nothing more is known.
            token = http.get("personal_access_tokens/self", accept=(403, 404)) if uses_pat else None
        username = body.get("username")
        if not isinstance(username, str) or not username:
            raise UpstreamError(f"{response.host} did not answer /user with an account: check the base URL.")
        user = f"{body['name']} ({username})" if body.get("name") else username
        access, expires = "", None
        if token is not None and token.status == 200:
            about = json_object(token, "the token's details")
            scopes = [str(scope) for scope in about.get("scopes") or []]
            access = f"Token scopes: {', '.join(scopes) or 'none'}."
            if "api" not in scopes:
                access += " Without the api scope it can read but neither file issues nor comment."
            expires = _expiry(about.get("expires_at"))
        remaining, limit = rate_limit_headroom(response)
        return ConnectionReport(
            user=user,
            detail=f"Signed in to GitLab as {user}.",
            access=access,
            rate_limit_remaining=remaining,
            rate_limit_limit=limit,
            token_expires_at=expires,
        )

    # -- discovery --

    def projects(self) -> list[RemoteProject]:
        """The projects the account is a member of that take issues, by keyset pages."""
        params = {
            "membership": "true",
            "simple": "true",
            "with_issues_enabled": "true",
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
        }
        with self.client() as http:
            return [
                RemoteProject(
                    key=str(project["path_with_namespace"]),
                    name=str(project.get("name_with_namespace") or project["path_with_namespace"]),
                )
                for project in self._pages(http, "projects", params)
                if isinstance(project.get("path_with_namespace"), str)
            ]

    def find_project(self, project: str) -> RemoteProject:
        """The project by its path ("Get a single project"), in whichever group or subgroup it is; 404 for
        one that does not exist or that the account cannot see."""
        path = self._project(project)
        with self.client() as http:
            response = http.get(f"projects/{_encoded(path)}", accept=(404,))
        if response.status == 404:
            raise UnknownProject(f"GitLab has no project {path} that the source's account can see.")
        body = json_object(response, "a project")
        if body.get("issues_enabled") is False:
            raise UnknownProject(f"The GitLab project {path} has issues turned off.")
        key = str(body.get("path_with_namespace") or path)
        return RemoteProject(key=key, name=str(body.get("name_with_namespace") or key))

    def issue_types(self, project: str) -> list[RemoteIssueType]:
        return [RemoteIssueType(id=type_id, name=name) for type_id, name in ISSUE_TYPES.items()]

    def fields(self, project: str, issue_type: str) -> list[RemoteField]:
        path = _encoded(self._project(project))
        with self.client() as http:
            labels = [str(item.get("name")) for item in self._pages(http, f"projects/{path}/labels")]
            milestones = [
                str(item.get("title")) for item in self._pages(http, f"projects/{path}/milestones", {"state": "active"})
            ]
            members = [str(item.get("username")) for item in self._pages(http, f"projects/{path}/members/all")]
        return [
            RemoteField(id="labels", name="Labels", required=False, kind="labels", allowed_values=tuple(labels)),
            RemoteField(
                id="assignees", name="Assignees", required=False, kind="multi_user", allowed_values=tuple(members)
            ),
            RemoteField(
                id="milestone", name="Milestone", required=False, kind="select", allowed_values=tuple(milestones)
            ),
            RemoteField(id="due_date", name="Due date", required=False, kind="date"),
            RemoteField(
                id="confidential", name="Confidential", required=False, kind="select", allowed_values=("false", "true")
            ),
        ]

    def owner_account(self) -> RemoteUser:
        """The current user (``GET /user``): assignees take its username."""
        with self.client() as http:
            response = http.get("user")
        body = json_object(response, "an account")
        username = body.get("username")
        if not isinstance(username, str) or not username:
            raise UpstreamError(f"{response.host} did not answer /user with an account.", status=response.status)
        return RemoteUser(id=username, name=str(body.get("name") or username))

    def users(self, project: str, text: str) -> list[RemoteUser]:
        """Members of the project (inherited ones too) whose name, username or e-mail address matches
        ``text`` (``GET /projects/:id/members/all?query=``); their username is what assignees take."""
        if not text.strip():
            return []
        path = _encoded(self._project(project))
        with self.client() as http:
            found = list(self._pages(http, f"projects/{path}/members/all", {"query": " ".join(text.split())}))
        return [
            RemoteUser(id=str(member["username"]), name=str(member.get("name") or member["username"]))
            for member in found
            if member.get("username") and member.get("state", "active") == "active"
        ]

    # -- reading issues --

    def fetch_many(self, keys: Iterable[str]) -> FetchResult:
        """Current state of many issues: per project, ``PAGE_SIZE`` iids a request."""
        wanted: dict[str, tuple[str, dict[int, list[str]]]] = {}  # lower-cased path -> (path, iid -> spellings)
        unreadable: list[str] = []  # short keys: which project they belong to is unknown
        malformed: list[str] = []
        for key in keys:
            found = ISSUE_KEY.fullmatch(key.strip())
            if found:
                path, iids = wanted.setdefault(found["project"].lower(), (found["project"], {}))
                iids.setdefault(int(found["iid"]), []).append(key)
            else:
                (unreadable if SHORT_KEY.fullmatch(key.strip()) else malformed).append(key)
        issues: dict[str, RemoteIssue] = {}
        missing, forbidden = set(malformed), set(unreadable)
        with self.client() as http:
            for path, iids in wanted.values():
                read = self._read_project(http, path, sorted(iids))
                if read is None:
                    forbidden.update(spelling for spellings in iids.values() for spelling in spellings)
                    continue
                for iid, spellings in iids.items():
                    if read.get(iid) is not None:
                        issues.update(dict.fromkeys(spellings, read[iid]))
                    else:
                        (forbidden if iid in read else missing).update(spellings)
        return FetchResult(issues=issues, missing=frozenset(missing), forbidden=frozenset(forbidden))

    def _read_project(
        self, http: TrackerHttpClient, path: str, iids: list[int], moves: int = MAX_MOVES
    ) -> dict[int, RemoteIssue | None] | None:
        """The issues of ``iids`` the project lists, a moved one as the issue it became (None when the
        account cannot follow the move); None when the project cannot be seen (404) or has its issues
        turned off (403)."""
        found: dict[int, RemoteIssue | None] = {}
        moved: list[int] = []
        for batch in chunks(iids, PAGE_SIZE):
            params = {"iids[]": batch, "per_page": PAGE_SIZE, "scope": "all", "state": "all"}
            response = http.get(f"projects/{_encoded(path)}/issues", params=params, accept=(403, 404))
            if response.status in (403, 404):
                return None
            for raw in json_list(response, "a list of issues"):
                issue = self._remote_issue(raw, path, response)  # checks the iid
                if raw.get("moved_to_id"):
                    moved.append(int(raw["iid"]))
                else:
                    found[int(raw["iid"])] = issue
        for iid in moved:
            found[iid] = self._moved_to(http, path, iid, moves - 1) if moves > 0 else None
        return found

    def _moved_to(self, http: TrackerHttpClient, path: str, iid: int, moves: int) -> RemoteIssue | None:
        """The issue ``path#iid`` became by its move to another project, read as any other (and followed
        on when it moved again); None when GraphQL does not show it to the account (or, behind a proxy
        that does not pass /api/graphql on, is not there: 404)."""
        with self.client(auth_headers=self._graphql_headers()) as graphql:
            response = graphql.post(
                f"{self.source.base_url}/api/graphql",
                json={"query": MOVED_TO_QUERY, "variables": {"path": path, "iid": str(iid)}},
                idempotent=True,
                accept=(404,),
            )
        if response.status == 404:
            return None
        data = json_object(response, "a GraphQL answer").get("data")
        project = data.get("project") if isinstance(data, dict) else None
        issue = project.get("issue") if isinstance(project, dict) else None
        target = issue.get("movedTo") if isinstance(issue, dict) else None
        found = ISSUE_KEY.fullmatch(str(target.get("reference") or "")) if isinstance(target, dict) else None
        if found is None:
            return None
        read = self._read_project(http, found["project"], [int(found["iid"])], moves)
        return (read or {}).get(int(found["iid"]))

    def search(self, text: str, within: Sequence[str] | None = None) -> list[RemoteIssue]:
        """Issues whose key is ``text``, or whose title or description contain it, in the source's
        projects (``within``: only those, each searched through its own project-scoped listing, and
        keys only of those); most recently updated first."""
        text = " ".join(text.split())
        if not text:
            return []
        projects = self._assigned_projects() if within is None else _project_paths(within)
        full = ISSUE_KEY.fullmatch(text)
        short = SHORT_KEY.fullmatch(text)
        if full and within is not None and full["project"].lower() not in {path.lower() for path in projects}:
            named = []
        elif full:
            named = [(full["project"], int(full["iid"]))]
        else:
            named = [(path, int(short["iid"])) for path in projects] if short else []
        found: dict[str, RemoteIssue] = {}
        with self.client() as http:
            for path, iid in named:
                for issue in (self._read_project(http, path, [iid]) or {}).values():
                    if issue is not None:
                        found[issue.key.lower()] = issue
            if not projects:
                if full:
                    return list(found.values())
                raise NotConfigured(
                    "Searching GitLab by words needs a project: assign this source to a project with its GitLab "
                    "project path, or search by key (group/project#12)."
                )
            matches = []
            for path in projects:
                params = {
                    "search": text,
                    "in": "title,description",
                    "scope": "all",
                    "order_by": "updated_at",
                    "sort": "desc",
                    "per_page": SEARCH_LIMIT,
                }
                response = http.get(f"projects/{_encoded(path)}/issues", params=params)
                matches += [self._remote_issue(raw, path, response) for raw in json_list(response, "a list of issues")]
        matches.sort(key=lambda issue: issue.updated_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        for issue in matches:
            found.setdefault(issue.key.lower(), issue)
        return list(found.values())[:SEARCH_LIMIT]

    def pull(self, query: PullQuery, known: Iterable[str] = ()) -> PullResult:
        """The project's issues the filter's parameters select, of the given types (one listing per
        type), oldest first; at most ``PULL_LIMIT``; not the closed originals of issues moved to
        another project (their issue lives on there). A known key the listing leaves out is deleted
        only when ``fetch_many`` finds it missing (not when it merely stopped matching the filter, moved
        or the project cannot be seen)."""
        path = self._project(query.project)
        items: list[PulledItem] = []
        with self.client() as http:
            for params in self._pull_listings(query):
                for raw, response in self._listed(http, f"projects/{_encoded(path)}/issues", params):
                    if raw.get("moved_to_id"):
                        continue  # the closed original of an issue that lives in another project now
                    items.append(self._pulled_item(raw, path, response, query.fields))
                    if len(items) >= PULL_LIMIT:
                        break
                if len(items) >= PULL_LIMIT:
                    break
        seen = {item.key.lower() for item in items}
        unseen = [key for key in known if key.strip().lower() not in seen]
        return PullResult(items=tuple(items), deleted=self.fetch_many(unseen).missing if unseen else frozenset())

    def count_matching(self, query: PullQuery) -> MatchCount:
        """The ``X-Total`` header of each of the pull's listings (one issue asked for), added up. GitLab
        leaves the header out above 10,000 issues: then the count is at least that."""
        path = _encoded(self._project(query.project))
        total, precision = 0, "exact"
        with self.client() as http:
            for params in self._pull_listings(query):
                response = http.get(f"projects/{path}/issues", params={**params, "per_page": 1})
                header = (response.headers.get("X-Total") or "").strip()
                if header.isdigit():
                    total += int(header)
                else:
                    total, precision = total + UNCOUNTED_TOTAL, "at_least"
        return MatchCount(total, precision=precision)

    @staticmethod
    def _pull_listings(query: PullQuery) -> list[dict]:
        """The issue list parameters of a pull: the filter's, one listing per type (GitLab lists one type
        at a time), oldest first."""
        parameters = pull_parameters(query.filter)
        types = [pull_type(name) for name in query.item_types] or [None]
        return [
            {
                **parameters,
                "scope": "all",
                "order_by": "created_at",
                "sort": "asc",
                **({"issue_type": issue_type} if issue_type else {}),
            }
            for issue_type in dict.fromkeys(types)
        ]

    def _pulled_item(self, raw: dict, path: str, response: TrackerResponse, field_ids: Iterable[str]) -> PulledItem:
        return PulledItem(
            **vars(self._remote_issue(raw, path, response)),
            description=str(raw.get("description") or ""),
            item_type=PULL_TYPES.get(str(raw.get("issue_type")), str(raw.get("issue_type") or "")),
            fields={field_id: gitlab_field_value(raw, field_id) for field_id in field_ids},
        )

    def plans(self, project: str, board: str = "") -> list[RemotePlan]:
        """The project's milestones (and its groups') as releases, a closed one done; its groups'
        iterations as sprints, a closed one done. Without iterations (GitLab Free: 403; the
        Community Edition: no such route, 404) the milestones alone."""
        path = _encoded(self._project(project))
        with self.client() as http:
            found = [
                RemotePlan(
                    "release",
                    str(milestone.get("id")),
                    str(milestone.get("title") or ""),
                    start=_day(milestone.get("start_date")),
                    end=_day(milestone.get("due_date")),
                    done=milestone.get("state") == "closed",
                )
                for milestone in self._pages(http, f"projects/{path}/milestones", {"include_ancestors": "true"})
            ]
            iterations, params = f"projects/{path}/iterations", {"state": "all", "include_ancestors": "true"}
            first = http.get(iterations, params={**params, "per_page": PAGE_SIZE}, accept=(403, 404))
            if first.status == 200:
                found += [
                    RemotePlan(
                        "sprint",
                        str(iteration.get("id")),
                        iteration_name(iteration),
                        start=_day(iteration.get("start_date")),
                        end=_day(iteration.get("due_date")),
                        done=iteration.get("state") in (ITERATION_CLOSED, "closed"),
                    )
                    for iteration in self._pages(http, iterations, params, first=first)
                ]
        return found

    def _assigned_projects(self) -> list[str]:
        """The project paths of this source's active project integrations."""
        return _project_paths(self.assigned_projects())

    def _remote_issue(self, raw: dict, path: str, response: TrackerResponse) -> RemoteIssue:
        if not isinstance(raw.get("iid"), int):
            raise UpstreamError(f"{response.host} answered with an issue that has no iid.", status=response.status)
        references = raw.get("references") if isinstance(raw.get("references"), dict) else {}
        is_open = raw.get("state") == "opened"
        assignees = raw.get("assignees") if isinstance(raw.get("assignees"), list) else []
        return RemoteIssue(
            key=str(references.get("full") or f"{path}#{raw['iid']}"),
            title=str(raw.get("title") or ""),
            status=OPEN if is_open else CLOSED,
            status_category="todo" if is_open else "done",
            assignee=", ".join(
                str(person.get("name") or person.get("username")) for person in assignees if isinstance(person, dict)
            ),
            priority="",
            url=str(raw.get("web_url") or ""),
            updated_at=iso_timestamp(raw.get("updated_at")),
            created_at=iso_timestamp(raw.get("created_at")),
            resolved_at=None if is_open else iso_timestamp(raw.get("closed_at")),
            labels=label_names(raw),
        )

    # -- writing --

    def create_issue(self, draft: IssueDraft) -> CreatedIssue:
        """File ``draft`` in its project. Labels, assignees, a milestone and a due date need the
        Planner role or higher: GitLab drops them for Guests, and the notes say so."""
        path = self._project(draft.project)
        issue_type = next(
            (
                type_id
                for type_id, name in ISSUE_TYPES.items()
                if same_name(draft.issue_type, type_id) or same_name(draft.issue_type, name)
            ),
            None,
        )
        if issue_type is None and draft.issue_type.strip():
            offered = ", ".join(ISSUE_TYPES.values())
            problem = f"GitLab issues are of the types {offered}, not “{draft.issue_type}”."
            raise RemoteValidationError(
                f"{problem} A project administrator must choose one of them.", field_errors={"issuetype": problem}
            )
        extra = dict(draft.fields)
        unknown = sorted(set(extra) - set(_FORM_FIELDS))
        if unknown:
            raise RemoteValidationError(
                f"GitLab issues have no field {', '.join(unknown)}: only {', '.join(_FORM_FIELDS)} can be set.",
                field_errors=dict.fromkeys(unknown, "GitLab issues have no such field."),
            )
        description = draft.description.strip()
        if draft.reporter is not None and self.user_token is None:
            who = draft.reporter.name or draft.reporter.email
            description = "\n\n".join(filter(None, [description, f"Reported by {who} via testmanager."]))
        labels = list(dict.fromkeys([*draft.labels, *_strings(extra.get("labels"))]))
        assignees = [*([draft.assignee] if draft.assignee else []), *_strings(extra.get("assignees"))]
        due = draft.due_date or extra.get("due_date")
        payload: dict[str, Any] = {"title": draft.title, "issue_type": issue_type or "issue"}
        if labels:
            payload["labels"] = ",".join(labels)
        if due:
            payload["due_date"] = due.isoformat() if isinstance(due, date) else str(due)
        if str(extra.get("confidential", "")).lower() in ("true", "1", "yes"):
            payload["confidential"] = True
        encoded = _encoded(path)
        with self.client() as http:
            if assignees:
                payload["assignee_ids"] = self._member_ids(http, path, assignees)
            if extra.get("milestone"):
                payload["milestone_id"] = self._milestone_id(http, path, extra["milestone"])
            sent = self.send_files(draft.attachments, lambda file: self._upload(http, encoded, file))
            payload["description"] = inert_markdown(with_file_links(description, sent.answers))
            response = http.post(f"projects/{encoded}/issues", json=payload)
            raw = json_object(response, "the created issue")
            issue = self._remote_issue(raw, path, response)
        notes = [*self._left_out(draft), *sent.notes]
        dropped = [
            name
            for name, sent, kept in (
                ("labels", "labels" in payload, raw.get("labels")),
                ("assignees", "assignee_ids" in payload, raw.get("assignees")),
                ("milestone", "milestone_id" in payload, raw.get("milestone")),
                ("due date", "due_date" in payload, raw.get("due_date")),
            )
            if sent and not kept
        ]
        if dropped:
            notes.append(
                f"GitLab left out the {', '.join(dropped)}: the account needs at least the Planner role "
                f"in {path} to set them."
            )
        return CreatedIssue(**vars(issue), notes=tuple(notes), unsent_files=sent.unsent)

    def _upload(self, http: TrackerHttpClient, encoded: str, file: DraftAttachment) -> str:
        """Upload ``file`` to the project (multipart, part ``file``); the Markdown GitLab gives to link
        it, which the issue's description then carries."""
        response = http.post(
            f"projects/{encoded}/uploads", files=[UploadPart("file", file.filename, file.content, file.content_type)]
        )
        answer = json_object(response, "the uploaded file")
        markdown = str(answer.get("markdown") or "")
        if not markdown and answer.get("url"):
            markdown = f"[{markdown_link_text(file.filename)}]({answer['url']})"
        if not markdown:
            raise UpstreamError(f"{response.host} took {file.filename} but did not say where it is.")
        return markdown

    def _left_out(self, draft: IssueDraft) -> list[str]:
        notes = []
        if draft.priority:
            notes.append(f"GitLab issues have no priority, so “{draft.priority}” was left out; a label can carry it.")
        if draft.components:
            notes.append("GitLab issues have no components; labels can carry them.")
        return notes

    def _member_ids(self, http: TrackerHttpClient, path: str, people: list[str]) -> list[int]:
        """Member ids for usernames (or ids) of the project's members; a stranger is an error."""
        members = {
            str(m.get("username")).casefold(): m.get("id")
            for m in self._pages(http, f"projects/{_encoded(path)}/members/all")
        }
        ids, strangers = [], []
        for person in people:
            person = str(person).strip().lstrip("@")
            if person.isdigit():
                ids.append(int(person))
            elif isinstance(members.get(person.casefold()), int):
                ids.append(members[person.casefold()])
            else:
                strangers.append(person)
        if strangers:
            problem = f"{', '.join(strangers)} {'is' if len(strangers) == 1 else 'are'} not a member of {path}."
            raise RemoteValidationError(f"{problem} Only members can be assigned.", field_errors={"assignees": problem})
        return list(dict.fromkeys(ids))

    def _milestone_id(self, http: TrackerHttpClient, path: str, milestone: Any) -> int:
        for entry in self._pages(http, f"projects/{_encoded(path)}/milestones", {"state": "active"}):
            if same_name(str(entry.get("title")), str(milestone)) and isinstance(entry.get("id"), int):
                return entry["id"]
        problem = f"{path} has no active milestone “{milestone}”."
        raise RemoteValidationError(
            f"{problem} Choose an active milestone or leave it empty.", field_errors={"milestone": problem}
        )

    def update_issue(self, key: str, draft: IssueDraft) -> None:
        """Edit an issue (``PUT /projects/:id/issues/:issue_iid``): title, description, and labels (a
        comma-separated list that replaces the issue's). GitLab issues have no priority."""
        path, iid = self._locate(key)
        labels = list(dict.fromkeys([*draft.labels, *_strings(dict(draft.fields).get("labels"))]))
        payload = {
            "title": draft.title,
            "description": inert_markdown(draft.description.strip()),
            "labels": ",".join(labels),
        }
        with self.client() as http:
            http.put(f"projects/{_encoded(path)}/issues/{iid}", json=payload)

    def set_labels(self, key: str, labels: Sequence[str]) -> None:
        """Edit an issue's ``labels`` (comma-separated; they replace the issue's, GitLab creates new ones)."""
        path, iid = self._locate(key)
        with self.client() as http:
            http.put(
                f"projects/{_encoded(path)}/issues/{iid}",
                json={"labels": ",".join(self.label_for(label) for label in dict.fromkeys(labels))},
            )

    @classmethod
    def label_for(cls, tag: str) -> str:
        """GitLab takes labels as a comma-separated list: a label has no comma."""
        return " ".join(tag.replace(",", " ").split())

    def add_comment(self, key: str, body: str) -> str:
        path, iid = self._locate(key)
        with self.client() as http:
            response = http.post(f"projects/{_encoded(path)}/issues/{iid}/notes", json={"body": inert_markdown(body)})
        return str(json_object(response, "the note").get("id") or "")

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        """Edit a note the account wrote; ``NotFound`` when the note or the issue is gone."""
        path, iid = self._locate(key)
        if not comment_id.strip().isdigit():
            raise NotFound(f"GitLab has no note “{comment_id}” on {key}: note ids are numbers.")
        with self.client() as http:
            http.put(
                f"projects/{_encoded(path)}/issues/{iid}/notes/{comment_id.strip()}",
                json={"body": inert_markdown(body)},
            )

    def comments(self, key: str) -> list[RemoteComment]:
        """The people's notes on the issue, oldest first (GitLab's own system notes left out)."""
        path, iid = self._locate(key)
        with self.client() as http:
            notes = list(
                self._pages(
                    http, f"projects/{_encoded(path)}/issues/{iid}/notes", {"sort": "asc", "order_by": "created_at"}
                )
            )
        return [
            RemoteComment(
                id=str(note.get("id") or ""),
                author=str((note.get("author") or {}).get("name") or (note.get("author") or {}).get("username") or ""),
                body=str(note.get("body") or ""),
                created_at=iso_timestamp(note.get("created_at")),
            )
            for note in notes
            if not note.get("system")
        ]

    def transition(self, key: str, status: str) -> None:
        """Close or reopen the issue (``state_event``); nothing to do when it is there already."""
        event = _STATE_EVENTS.get(" ".join(status.split()).casefold())
        if event is None:
            problem = f"GitLab issues are {OPEN} or {CLOSED}, not “{status}”."
            raise RemoteValidationError(
                f"{problem} Check the project integration's status mapping.", field_errors={"status": problem}
            )
        path, iid = self._locate(key)
        with self.client() as http:
            params = {"iids[]": [iid], "scope": "all", "state": "all"}
            current = json_list(http.get(f"projects/{_encoded(path)}/issues", params=params), "a list of issues")
            if not current:
                raise NotFound(f"{key} does not exist in GitLab, or the account cannot see it.")
            if current[0].get("state") == ("closed" if event == "close" else "opened"):
                return
            http.put(f"projects/{_encoded(path)}/issues/{iid}", json={"state_event": event})

    # -- webhooks --

    def verify_webhook(self, request) -> None:
        """``X-Gitlab-Token``: the hook's secret token itself."""
        self.check_token(request.headers.get("X-Gitlab-Token"))

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] = MappingProxyType({})) -> list[IssueEvent]:
        """Issue Hook and Note Hook (comments on issues, created or, with ``object_attributes.action``
        ``update``, edited; GitLab sends no event for a deleted note) events. A note's payload describes
        the issue in part: its assignees are unknown, the rest applies. An Issue Hook of an issue moved
        to another project (``moved_to_id``) has its key read again: the payload's "closed" is the
        original's, and only a read finds the issue it became."""
        payload = webhook_json(body)
        path = (payload.get("project") or {}).get("path_with_namespace")
        attributes = payload.get("object_attributes")
        if not isinstance(path, str) or not isinstance(attributes, dict):
            return []
        delivery = delivery_id(headers, body, "Idempotency-Key", "X-Gitlab-Webhook-UUID", "X-Gitlab-Event-UUID")
        if payload.get("object_kind") == "issue" and isinstance(attributes.get("iid"), int):
            if attributes.get("moved_to_id"):
                return [IssueEvent(EventKind.CHANGED, f"{path}#{attributes['iid']}", None, delivery)]
            raw = {
                **attributes,
                **{name: _hook_timestamp(attributes.get(name)) for name in ("updated_at", "created_at", "closed_at")},
                "web_url": attributes.get("url"),
                "assignees": payload.get("assignees") or [],
            }
            issue = replace(
                self._pulled_item(raw, path, delivery_response(self.source, body), ()), unknown=_unknown_state(raw)
            )
            kind = EventKind.CREATED if attributes.get("action") == "open" else EventKind.UPDATED
            return [IssueEvent(kind, issue.key, issue.updated_at, delivery, issue=issue)]
        issue = payload.get("issue")
        if (
            payload.get("object_kind") != "note"
            or attributes.get("noteable_type") != "Issue"
            or not isinstance(issue, dict)
            or not isinstance(issue.get("iid"), int)
            or not attributes.get("id")
            or NOTE_ACTIONS.get(str(attributes.get("action") or "create")) is None
        ):
            return []
        author = payload.get("user") if isinstance(payload.get("user"), dict) else {}
        created = iso_timestamp(_hook_timestamp(attributes.get("created_at")))
        comment = RemoteComment(
            id=str(attributes["id"]),
            author=str(author.get("name") or author.get("username") or ""),
            body=str(attributes.get("note") or ""),
            created_at=created,
            updated_at=iso_timestamp(_hook_timestamp(attributes.get("updated_at"))),
        )
        raw = {
            **issue,
            **{name: _hook_timestamp(issue.get(name)) for name in ("updated_at", "created_at", "closed_at")},
            "web_url": issue.get("url") or issue.get("web_url"),
        }
        state = replace(
            self._pulled_item(raw, path, delivery_response(self.source, body), ()),
            unknown=_unknown_state(raw) | {"assignee"},
        )
        kind = NOTE_ACTIONS[str(attributes.get("action") or "create")]
        when = comment.updated_at or created
        return [IssueEvent(kind, f"{path}#{issue['iid']}", when, delivery, issue=state, comment=comment)]

    def register_webhook(self, url: str, secret: str) -> list[str]:
        """A project hook for issue and comment events in each project of the source's project
        integrations, confidential ones included (GitLab sends those only to hooks that ask for them,
        and filing may create confidential issues); a hook already sending to ``url`` is updated rather
        than added again."""
        projects = self._assigned_projects()
        if not projects:
            raise NotConfigured(
                "No project integration names a GitLab project: assign the source to a project with "
                "its project path first."
            )
        hook = {
            "url": url,
            "token": secret,
            "issues_events": True,
            "note_events": True,
            "confidential_issues_events": True,
            "confidential_note_events": True,
            "push_events": False,
            "enable_ssl_verification": True,
        }
        registered = []
        with self.client() as http:
            for path in projects:
                hooks = f"projects/{_encoded(path)}/hooks"
                existing = next((entry for entry in self._pages(http, hooks) if entry.get("url") == url), None)
                if existing is None:
                    response = http.post(hooks, json=hook)
                else:
                    response = http.put(f"{hooks}/{existing.get('id')}", json=hook)
                registered.append(str(json_object(response, "a hook").get("id") or ""))
        return registered

    # -- plumbing --

    def _project(self, project: str) -> str:
        project = project.strip().strip("/")
        if not project:
            raise NotConfigured(
                "This project integration names no GitLab project: a project administrator must choose the "
                "project path (group/project) that issues are filed in."
            )
        if not PROJECT_PATH.fullmatch(project):
            raise NotConfigured(f"“{project}” is not a GitLab project path: write it as group/project.")
        return project

    def _locate(self, key: str) -> tuple[str, int]:
        found = ISSUE_KEY.fullmatch(key.strip())
        if found is None:
            raise RemoteValidationError(
                f"“{key}” does not say which project it is in: GitLab keys are group/project#iid."
            )
        return found["project"], int(found["iid"])

    def _pages(
        self, http: TrackerHttpClient, path: str, params: dict | None = None, *, first: TrackerResponse | None = None
    ) -> Iterator[dict]:
        """Every item of a list, page after page (``first``: its first page, read already)."""
        for raw, _ in self._listed(http, path, params, first=first):
            yield raw

    def _listed(
        self, http: TrackerHttpClient, path: str, params: dict | None = None, *, first: TrackerResponse | None = None
    ) -> Iterator[tuple[dict, TrackerResponse]]:
        """Every item of a list with the response it came in, following the ``Link`` header's next
        page (offset or keyset), or else ``X-Next-Page`` (a proxy may drop ``Link``)."""
        params = {**(params or {}), "per_page": PAGE_SIZE}
        response = first if first is not None else http.get(path, params=params)
        while True:
            for raw in json_list(response, "a list"):
                yield raw, response
            links = requests.utils.parse_header_links(response.headers.get("Link") or "")
            following = next((link["url"] for link in links if link.get("rel") == "next" and link.get("url")), None)
            next_page = (response.headers.get("X-Next-Page") or "").strip()
            if following is not None:
                response = http.get(following)
            elif next_page.isdigit():
                response = http.get(path, params={**params, "page": next_page})
            else:
                return


def pull_parameters(text: str) -> dict[str, str]:
    """The list-issues parameters a pull's filter sets: ``name=value`` pairs separated by spaces, a
    value with spaces in double quotes, each parameter once, only ``FILTER_PARAMETERS``.
    ``RemoteValidationError`` saying what is wrong with anything else."""
    try:
        words = shlex.split(text)
    except ValueError:
        raise RemoteValidationError(
            'The GitLab filter has an unclosed quote: write it as labels=requirement milestone="Release 2.0".'
        ) from None
    parameters: dict[str, str] = {}
    for word in words:
        name, equals, value = word.partition("=")
        name = name.strip()
        if not equals or not name:
            raise RemoteValidationError(
                f"“{word}” is not a GitLab filter parameter: write name=value, e.g. labels=requirement."
            )
        if name in _OWN_PARAMETERS:
            raise RemoteValidationError(f"The GitLab filter cannot set {name}: {_OWN_PARAMETERS[name]}.")
        if name not in FILTER_PARAMETERS:
            raise RemoteValidationError(
                f"The GitLab filter has no parameter “{name}”: use {', '.join(sorted(FILTER_PARAMETERS))}."
            )
        if not value.strip():
            raise RemoteValidationError(
                f"The GitLab filter gives {name} no value: write {name}=value, or leave {name} out."
            )
        if name in parameters:
            raise RemoteValidationError(
                f"The GitLab filter sets {name} twice: give it once (labels take a comma-separated list)."
            )
        if name in _CHOICES and value not in _CHOICES[name]:
            offered = " or ".join(_CHOICES[name])
            raise RemoteValidationError(f"The GitLab filter's {name} is “{value}”: use {offered}.")
        parameters[name] = value
    return parameters


def pull_type(name: str) -> str:
    """The ``issue_type`` of a work item type named by id (test_case) or name (Test case)."""
    wanted = " ".join(name.replace("_", " ").split()).casefold()
    found = next((type_id for type_id, label in PULL_TYPES.items() if wanted == label.casefold()), None)
    if found is None:
        offered = ", ".join(PULL_TYPES.values())
        raise RemoteValidationError(
            f"GitLab issues are of the types {offered}, not “{name}”: check the work item types of the pull."
        )
    return found


def iteration_name(iteration: dict) -> str:
    """An iteration's title; automatically scheduled ones have none and are named by their dates."""
    if iteration.get("title"):
        return str(iteration["title"])
    dates = " – ".join(str(iteration[name]) for name in ("start_date", "due_date") if iteration.get(name))
    return dates or f"Iteration {iteration.get('iid') or iteration.get('id')}"


def gitlab_field_value(raw: dict, field_id: str) -> FieldValue:
    """A field of an issue as pulls map it, by its name in the issue's JSON: a milestone or an
    iteration (its title and due date), labels or people (their names), a date or date-time, a
    number or text; ``severity`` as GitLab shows it (Critical). A field id ending in ``::`` reads
    the scoped label of that scope (``priority::`` gives High of ``priority::High``)."""
    if field_id.endswith("::") and len(field_id) > 2:
        labels = raw.get("labels") if isinstance(raw.get("labels"), list) else []
        scoped = next(
            (str(label)[len(field_id) :] for label in labels if str(label).casefold().startswith(field_id.casefold())),
            "",
        )
        return FieldValue(text=scoped)
    value = raw.get(field_id)
    if field_id == "iteration" and isinstance(value, dict):
        return FieldValue(text=iteration_name(value), day=_day(value.get("due_date")))
    if field_id == "severity" and isinstance(value, str):
        return FieldValue(text=value.capitalize())
    return _field_value(value)


def _field_value(value: Any) -> FieldValue:
    if isinstance(value, list):
        parts = [_field_value(entry).text for entry in value]
        return FieldValue(text=", ".join(part for part in parts if part))
    if isinstance(value, dict):
        text = value.get("title") or value.get("name") or value.get("username") or ""
        return FieldValue(text=str(text), day=_day(value.get("due_date")))
    if value is None or isinstance(value, bool):
        return FieldValue()
    text = str(value).strip()
    moment = iso_timestamp(text) if len(text) > 10 else None
    return FieldValue(text=text, day=moment.date() if moment else _day(text))


def _day(value: Any) -> date | None:
    """The date of GitLab's ``2025-06-30``; None for anything else."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _expiry(value: Any) -> datetime | None:
    """A token's ``expires_at`` date; it stops working at the start of that day (UTC)."""
    try:
        return datetime.combine(date.fromisoformat(str(value)), time.min, UTC)
    except ValueError:
        return None


def _strings(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value]
