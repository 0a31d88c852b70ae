"""A fake Jira (Cloud and Server/Data Center) speaking Jira's documented REST API over real HTTP.

Sources read to build it (Atlassian's own documentation unless marked otherwise):
- Jira Cloud platform REST API v3 OpenAPI document ("The Jira Cloud platform REST API"):
  serverInfo, myself, project/search, issue/createmeta/{project}/issuetypes[/{id}], issue,
  issue/{key}/comment, issue/{key}/transitions, issue/{key}/attachments, user/search.
- "Search for issues using JQL enhanced search" (GET/POST /rest/api/3/search/jql): default
  `fields` is `id`, `maxResults` defaults to 50, `nextPageToken` is absent on the last page,
  JQL must be bounded; "Count issues using JQL" (POST /rest/api/3/search/approximate-count, body
  `{"jql"}`, answer `{"count"}`: an estimate, the JQL bounded); changelog CHANGE-2046 and the KB
  "Run JQL search query using Jira Cloud REST API": /rest/api/{2,3}/search is removed from Cloud (410 Gone).
- Jira Data Center REST API 2 (docs.atlassian.com/software/jira/docs/api/REST/latest) and the KB
  "How to handle HTTP 400 Bad Request errors on Jira search REST API endpoint": /rest/api/2/search
  with startAt/maxResults/total and `validateQuery` (strict by default: a key or value that does
  not exist is a 400 naming it; `warn` drops it into `warningMessages`).
- "JIRA REST API Example - Discovering meta-data for creating issues" (createmeta field shapes:
  required, schema {type, items, system | custom, customId}, allowedValues, hasDefaultValue).
- "Rate limiting" (developer.atlassian.com/cloud/jira/platform/rate-limiting): 429 with
  Retry-After and X-RateLimit-Reset (ISO 8601), X-RateLimit-Limit / -Remaining / -NearLimit and
  RateLimit-Reason; Data Center's rate limiting sends X-RateLimit-Limit / -Remaining /
  -Interval-Seconds / -FillRate and Retry-After.
- Attachments: "The request must have a X-Atlassian-Token: no-check header, if not it is
  blocked"; the multipart part is named `file`; 403 when attachments are disabled or the user may
  not attach, 404 for an unknown issue, 413 when "the attachments exceed the maximum attachment
  size for issues" (the site's Attachment size setting: Cloud 1 GB by default, Data Center
  10 MB); a body that is not multipart/form-data is refused by the resource with 415.
- Remote issue links ("Create or update remote issue link", POST issue/{key}/remotelink): `object`
  with `url` and `title` is required; "If a globalId is provided and a remote issue link exists with
  that globalId, the remote issue link is updated" (200), otherwise one is created (201); both
  answer `{id, self}`. GET lists the issue's remote links.
- OAuth 2.0 (3LO) ("Implementing OAuth 2.0 (3LO)", "Implementing the Refresh Token Flow"): the
  authorization URL takes `audience=api.atlassian.com`, `client_id`, `scope`, `redirect_uri`,
  `state`, `response_type=code`, `prompt=consent`; `POST /oauth/token` takes a JSON body with
  `grant_type` authorization_code or refresh_token; `offline_access` brings a refresh token;
  refresh tokens rotate ("the refresh token you used for the request is disabled") and an unknown
  one answers 403 `{"error": "invalid_grant", "error_description": "Unknown or invalid refresh
  token."}`; `GET api.atlassian.com/oauth/token/accessible-resources` lists the sites (`id` is the
  cloudId, `url`) and `api.atlassian.com/ex/jira/{cloudId}/rest/...` serves a site's API.

- Jira Software REST API "Get all boards" (GET /rest/agile/1.0/board): startAt/maxResults pages with
  total and isLast, `values` of boards {id, self, name, type, location}; `projectKeyOrId` keeps the
  boards of one project (an unknown project is a 400 "No project could be found with key ..."),
  `name` those whose name contains the text. Jira platform "Get project components" (GET
  /rest/api/{2,3}/project/{projectIdOrKey}/components): every component, unpaged; 404 for a
  project that does not exist or that the caller may not browse.
- Jira Software's Sprint field (custom type com.pyxis.greenhopper.jira:gh-sprint): Cloud answers
  it as a list of sprint objects ("Deprecation notice - toString representation of sprints in Get
  issue response", 2020); older Server and Data Center versions as a list of strings, the toString
  of greenhopper's Sprint (`...Sprint@5f1ad4[id=1,rapidViewId=1,state=ACTIVE,name=...,startDate=...,
  endDate=...,completeDate=<null>,sequence=1]`, as quoted in atlassian-api/atlassian-python-api#794
  and rudiedirkx/jira#52), schema items "string". The server fake answers that legacy form.

Where the documentation is silent, the choice made is stated next to the code that makes it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal

from tests.fakes import jql
from tests.fakes.oauth import OAuthError, OAuthServer
from tests.fakes.server import (
    FakeHTTPServer,
    RecordedRequest,
    Response,
    TrackerFake,
    empty_response,
    json_response,
    parse_multipart,
    text_response,
)
from tests.fakes.webhooks import Delivery, RegisteredHook, body_of, hex_hmac

Deployment = Literal["cloud", "server"]
_ONE_MS = timedelta(milliseconds=1)

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
INVALID_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again."
NOT_A_DOCUMENT = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
SEARCH_REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED_JQL = "Unbounded JQL queries are not allowed here. Add a search restriction to the query."
BAD_PAGE_TOKEN = "The provided nextPageToken is invalid or has expired."

STATUS_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
PRIORITY_NAMES = ("Highest", "High", "Medium", "Low", "Lowest")
ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-\d+")

# Createmeta schemas for custom field kinds (Jira's built-in custom field types).
CUSTOM_FIELD_KINDS = {
    "text": ({"type": "string"}, "textfield"),
    "textarea": ({"type": "string"}, "textarea"),
    "select": ({"type": "option"}, "select"),
    "radio": ({"type": "option"}, "radiobuttons"),
    "multiselect": ({"type": "array", "items": "option"}, "multiselect"),
    "checkboxes": ({"type": "array", "items": "option"}, "multicheckboxes"),
    "user": ({"type": "user"}, "userpicker"),
    "date": ({"type": "date"}, "datepicker"),
    "datetime": ({"type": "datetime"}, "datetime"),
    "number": ({"type": "number"}, "float"),
    "labels": ({"type": "array", "items": "string"}, "labels"),
}

SPRINT_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"

# Fields the search endpoints return for `*navigable`; `*all` adds these non-navigable ones.
NON_NAVIGABLE_FIELDS = {"comment", "attachment"}

# Jira's `text` field covers summary, description, environment and comments.
TEXT_FIELD_SOURCES = ("summary", "description", "comment")

# Properties of SearchAndReconcileRequestBean (enhanced search) and SearchRequestBean (classic).
ENHANCED_SEARCH_BODY = {
    "jql",
    "nextPageToken",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "failFast",
    "reconcileIssues",
}
CLASSIC_SEARCH_BODY = {
    "jql",
    "startAt",
    "maxResults",
    "fields",
    "validateQuery",
    "expand",
    "properties",
    "fieldsByKeys",
}


def jira_timestamp(moment: datetime) -> str:
    """Jira's wire format for date-times: 2024-01-31T09:30:00.000+0000."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def document_from_text(text: str) -> dict:
    """Plain or wiki text as an Atlassian Document: one paragraph per non-empty line."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in text.splitlines() if line.strip()
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def text_from_document(document: dict) -> str:
    """The text of an Atlassian Document, one line per block."""

    def inline(node: dict) -> str:
        if node.get("type") == "text":
            return node.get("text", "")
        if node.get("type") == "hardBreak":
            return "\n"
        return "".join(inline(child) for child in node.get("content", []))

    return "\n".join(inline(block) for block in document.get("content", []))


def _takes_description(value: Any, version: str) -> bool:
    """Whether Jira takes ``value`` as a description: a document in API v3, text in v2 (null clears it)."""
    return value is None or (is_document(value) if version == "3" else isinstance(value, str))


def is_document(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
    )


def plain_text(value: str | dict | None) -> str:
    if value is None:
        return ""
    return text_from_document(value) if isinstance(value, dict) else value


# -- state ---------------------------------------------------------------------------------------


@dataclass
class JiraUser:
    login: str  # the e-mail address on Cloud, the username on Server/Data Center
    display_name: str
    email: str
    account_id: str  # Cloud's identifier; Server/Data Center's user key
    active: bool = True

    def names(self) -> set[str]:
        return {self.login.lower(), self.account_id.lower(), self.email.lower(), self.display_name.lower()}


@dataclass
class JiraStatus:
    id: str
    name: str
    category: str  # "new", "indeterminate" or "done"


@dataclass
class JiraTransition:
    """A global transition: available from every status except its target."""

    id: str
    name: str
    to: JiraStatus


@dataclass
class FieldSpec:
    field_id: str
    name: str
    schema: dict
    required: bool = False
    allowed_values: list[dict] | None = None
    has_default: bool = False
    default_value: Any = None

    @property
    def takes_document(self) -> bool:
        # Multi-line text takes Atlassian Document Format on REST v3 (Cloud "Create issue" docs).
        return self.field_id == "description" or self.schema.get("custom", "").endswith(":textarea")

    @property
    def is_custom(self) -> bool:
        return "custom" in self.schema


@dataclass
class JiraIssueType:
    id: str
    name: str
    subtask: bool
    fields: dict[str, FieldSpec]


@dataclass
class JiraProject:
    id: str
    key: str
    name: str
    issue_types: list[JiraIssueType]
    components: list[dict]
    browsable: bool = True
    versions: list[dict] = field(default_factory=list)  # as GET project/{key}/versions lists them

    def issue_type(self, reference: Any) -> JiraIssueType | None:
        if not isinstance(reference, dict):
            return None
        for issue_type in self.issue_types:
            if str(reference.get("id")) == issue_type.id or reference.get("name") == issue_type.name:
                return issue_type
        return None


@dataclass
class JiraComment:
    id: str
    body: str | dict
    author: JiraUser
    created: datetime
    updated: datetime | None = None  # None until edited


@dataclass
class JiraAttachment:
    id: str
    filename: str
    mime_type: str
    content: bytes
    author: JiraUser
    created: datetime


@dataclass
class JiraIssue:
    id: str
    key: str
    project: JiraProject
    issue_type: JiraIssueType
    summary: str
    status: JiraStatus
    created: datetime
    updated: datetime
    reporter: JiraUser | None
    description: str | dict | None = None
    assignee: JiraUser | None = None
    priority: str | None = "Medium"
    labels: list[str] = field(default_factory=list)
    components: list[dict] = field(default_factory=list)
    duedate: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    comments: list[JiraComment] = field(default_factory=list)
    deleted_comments: list[JiraComment] = field(default_factory=list)  # gone from the API, kept for their events
    attachments: list[JiraAttachment] = field(default_factory=list)
    fix_versions: list[dict] = field(default_factory=list)  # versions of its project
    former_keys: list[str] = field(default_factory=list)  # keys it had before moves
    remote_links: list[dict] = field(default_factory=list)  # as GET remotelink lists them
    # `resolutiondate`: the documentation leaves resolutions to the workflow; this fake's sets one on
    # entering a done status and clears it on leaving, as Jira's default workflows do.
    resolved: datetime | None = None

    def __post_init__(self):
        self.move_to(self.status, self.updated)

    def move_to(self, status: JiraStatus, moment: datetime) -> None:
        self.resolved = (self.resolved or moment) if status.category == "done" else None
        self.status = status

    @property
    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])


@dataclass
class _Injected:
    response: Callable[[], Response]
    remaining: int
    method: str | None = None  # only requests with this method (and path) take the injected answer
    path: str | None = None  # regex over the path below the context path, full match

    def applies_to(self, request: RecordedRequest) -> bool:
        return (self.method is None or request.method == self.method) and (
            self.path is None or re.fullmatch(self.path, request.route_path or "") is not None
        )


class JiraFake(TrackerFake):
    """An in-memory Jira behind a real HTTP server on 127.0.0.1.

    Cloud serves REST v2 and v3 (v3 bodies are Atlassian Documents, v2 bodies are wiki-markup
    strings); Server/Data Center serves REST v2 only. `context_path` mounts the whole site under
    a path, as an on-premises Jira at https://intranet.example.com/jira is.
    """

    def __init__(
        self,
        deployment: Deployment = "cloud",
        *,
        context_path: str = "",
        deployment_type: str | None = None,
    ):
        if deployment not in ("cloud", "server"):
            raise ValueError(f"unknown deployment {deployment!r}")
        self.deployment = deployment
        self.deployment_type = deployment_type or ("Cloud" if self.is_cloud else "Server")
        self.server = FakeHTTPServer(prefix=context_path)
        self.server.interceptor = self._intercept
        self.users: dict[str, JiraUser] = {}
        self.projects: dict[str, JiraProject] = {}
        self.issues: dict[str, JiraIssue] = {}
        self.statuses: list[JiraStatus] = []
        self.transitions: list[JiraTransition] = []
        self.board_sprints: dict[int, list[dict]] = {}  # Jira Software boards (agile API) and their sprints
        self.boards: dict[int, dict] = {}  # named boards of add_board: id -> {name, type, project key}
        self._passwords: dict[str, str] = {}
        self._bearer_tokens: dict[str, str] = {}
        self.oauth: OAuthServer | None = None  # enable_oauth
        self._injected: list[_Injected] = []
        self._viewer: JiraUser | None = None
        self._ids = itertools.count(10000)
        self._issue_numbers: dict[str, itertools.count] = {}
        self.hooks: list[RegisteredHook] = []  # administrators' webhooks (rest/webhooks/1.0)
        self._last_moment = datetime.min.replace(tzinfo=UTC)  # the latest time now() gave
        # The site's "Attachment size" setting; attachments_enabled False as when an admin turns them off.
        self.max_attachment_bytes = 1024**3 if self.is_cloud else 10 * 1024**2
        self.attachments_enabled = True
        for name, category in (("To Do", "new"), ("In Progress", "indeterminate"), ("Done", "done")):
            self.add_status(name, category)
        self._register_routes()

    @property
    def is_cloud(self) -> bool:
        return self.deployment == "cloud"

    # -- lifecycle and request log ----------------------------------------------------------------

    # -- seeding ----------------------------------------------------------------------------------

    def add_user(
        self, login: str, *, display_name: str | None = None, email: str | None = None, active: bool = True
    ) -> JiraUser:
        """A user; `login` is the e-mail address on Cloud and the username on Server/Data Center."""
        with self.server.lock:
            number = next(self._ids)
            account_id = f"5b10ac8d82e05b22cc7d{number:04x}" if self.is_cloud else f"JIRAUSER{number}"
            user = JiraUser(
                login=login,
                display_name=display_name or login.split("@")[0].replace(".", " ").title(),
                email=email or (login if "@" in login else f"{login}@example.com"),
                account_id=account_id,
                active=active,
            )
            self.users[login] = user
            return user

    def set_credentials(self, login: str, secret: str) -> JiraUser:
        """Basic credentials: e-mail and API token on Cloud, username and password on Server/DC."""
        with self.server.lock:
            user = self.users.get(login) or self.add_user(login)
            self._passwords[login] = secret
            return user

    def add_personal_access_token(self, login: str, token: str) -> JiraUser:
        """A Server/Data Center personal access token, sent as `Authorization: Bearer <token>`."""
        if self.is_cloud:
            raise ValueError("Jira Cloud takes API tokens over basic auth, not personal access tokens")
        with self.server.lock:
            user = self.users.get(login) or self.add_user(login)
            self._bearer_tokens[token] = login
            return user

    def add_status(self, name: str, category: str = "indeterminate") -> JiraStatus:
        """A status of the (single, shared) workflow, with a global transition into it."""
        if category not in STATUS_CATEGORIES:
            raise ValueError(f"status category must be one of {sorted(STATUS_CATEGORIES)}")
        with self.server.lock:
            status = JiraStatus(id=str(next(self._ids)), name=name, category=category)
            self.statuses.append(status)
            self.transitions.append(JiraTransition(id=str(11 + 10 * len(self.transitions)), name=name, to=status))
            return status

    def add_project(
        self,
        key: str,
        name: str | None = None,
        *,
        issue_types: Iterable[str] = ("Task", "Bug", "Story"),
        components: Iterable[str] = (),
    ) -> JiraProject:
        with self.server.lock:
            project = JiraProject(
                id=str(next(self._ids)),
                key=key,
                name=name or key.title(),
                issue_types=[],
                components=[{"id": str(next(self._ids)), "name": component} for component in components],
            )
            self.projects[key] = project
            self._issue_numbers[key] = itertools.count(1)
            for issue_type in issue_types:
                self.add_issue_type(key, issue_type)
            return project

    def add_issue_type(self, project_key: str, name: str, *, subtask: bool = False) -> JiraIssueType:
        with self.server.lock:
            project = self.projects[project_key]
            issue_type = JiraIssueType(id=str(next(self._ids)), name=name, subtask=subtask, fields={})
            project.issue_types.append(issue_type)
            for spec in self._system_fields(project, issue_type):
                issue_type.fields[spec.field_id] = spec
            return issue_type

    def add_field(
        self,
        project_key: str,
        issue_type: str,
        name: str,
        kind: str,
        *,
        required: bool = False,
        options: Iterable[str] = (),
        default: Any = None,
    ) -> FieldSpec:
        """A custom field on an issue type's create screen.

        `kind` is one of CUSTOM_FIELD_KINDS: text, textarea, select, radio, multiselect,
        checkboxes, user, date, datetime, number, labels. `options` are the allowed values of
        the option kinds.
        """
        schema, custom_type = CUSTOM_FIELD_KINDS[kind]
        with self.server.lock:
            custom_id = next(self._ids)
            allowed = None
            if schema["type"] == "option" or schema.get("items") == "option":
                allowed = [{"value": option, "id": str(next(self._ids))} for option in options]
            spec = FieldSpec(
                field_id=f"customfield_{custom_id}",
                name=name,
                schema={
                    **schema,
                    "custom": f"com.atlassian.jira.plugin.system.customfieldtypes:{custom_type}",
                    "customId": custom_id,
                },
                required=required,
                allowed_values=allowed,
                has_default=default is not None,
                default_value=default,
            )
            self._issue_type_named(project_key, issue_type).fields[spec.field_id] = spec
            return spec

    def add_issue(
        self,
        project_key: str,
        summary: str,
        *,
        issue_type: str | None = None,
        status: str = "To Do",
        description: str | dict | None = None,
        assignee: str | None = None,
        reporter: str | None = None,
        priority: str | None = "Medium",
        labels: Iterable[str] = (),
        created: datetime | None = None,
        updated: datetime | None = None,
    ) -> JiraIssue:
        """An issue; `assignee` and `reporter` are logins of users added before."""
        with self.server.lock:
            project = self.projects[project_key]
            created = created or self.now()
            issue = JiraIssue(
                id=str(next(self._ids)),
                key=f"{project_key}-{next(self._issue_numbers[project_key])}",
                project=project,
                issue_type=self._issue_type_named(project_key, issue_type) if issue_type else project.issue_types[0],
                summary=summary,
                status=self._status_named(status),
                created=created,
                updated=updated or created,
                reporter=self.users[reporter] if reporter else None,
                description=description,
                assignee=self.users[assignee] if assignee else None,
                priority=priority,
                labels=list(labels),
            )
            self.issues[issue.key] = issue
            return issue

    def add_comment(self, key: str, body: str | dict, *, author: str) -> JiraComment:
        with self.server.lock:
            comment = JiraComment(id=str(next(self._ids)), body=body, author=self.users[author], created=self.now())
            self.issues[key].comments.append(comment)
            return comment

    def edit_comment(self, key: str, comment_id: str, body: str | dict) -> JiraComment:
        """Someone edits a comment in Jira: its ``updated`` moves on."""
        with self.server.lock:
            comment = next(comment for comment in self.issues[key].comments if comment.id == comment_id)
            comment.body, comment.updated = body, self.now()
            return comment

    def delete_comment(self, key: str, comment_id: str) -> JiraComment:
        """Someone deletes a comment in Jira: the API no longer lists it."""
        with self.server.lock:
            issue = self.issues[key]
            comment = next(comment for comment in issue.comments if comment.id == comment_id)
            issue.comments.remove(comment)
            issue.deleted_comments.append(comment)
            return comment

    def add_version(
        self,
        project_key: str,
        name: str,
        *,
        release_date: str | None = None,
        start_date: str | None = None,
        released: bool = False,
    ) -> dict:
        """A version (release) of a project; dates are YYYY-MM-DD."""
        with self.server.lock:
            version_id = str(next(self._ids))
            version = {
                "self": f"{self.base_url}/rest/api/2/version/{version_id}",
                "id": version_id,
                "name": name,
                "archived": False,
                "released": released,
                "projectId": int(self.projects[project_key].id),
            }
            version |= {"startDate": start_date} if start_date else {}
            version |= {"releaseDate": release_date} if release_date else {}
            self.projects[project_key].versions.append(version)
            return version

    def add_sprint(
        self,
        board_id: int,
        name: str,
        *,
        state: str = "future",
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> dict:
        """A sprint of a Jira Software board (the board is created with its first sprint); `state` is
        future, active or closed; dates are ISO 8601 date-times as the agile API writes them."""
        with self.server.lock:
            sprint_id = next(self._ids)
            sprint = {
                "id": sprint_id,
                "self": f"{self.base_url}/rest/agile/1.0/sprint/{sprint_id}",
                "state": state,
                "name": name,
                "originBoardId": board_id,
            }
            sprint |= {"startDate": start_date} if start_date else {}
            sprint |= {"endDate": end_date} if end_date else {}
            self.board_sprints.setdefault(board_id, []).append(sprint)
            return sprint

    def add_board(self, project_key: str, name: str, *, board_type: str = "scrum", board_id: int | None = None) -> int:
        """A Jira Software board of the project (its sprints come with ``add_sprint``); returns its id."""
        with self.server.lock:
            number = board_id if board_id is not None else next(self._ids)
            self.boards[number] = {"name": name, "type": board_type, "project": project_key}
            self.board_sprints.setdefault(number, [])
            return number

    def add_sprint_field(self, project_key: str, issue_type: str, name: str = "Sprint") -> FieldSpec:
        """Jira Software's Sprint field on an issue type; its values are sprints of ``add_sprint``."""
        with self.server.lock:
            custom_id = next(self._ids)
            schema = {
                "type": "array",
                "items": "json" if self.is_cloud else "string",
                "custom": SPRINT_FIELD_TYPE,
                "customId": custom_id,
            }
            spec = FieldSpec(field_id=f"customfield_{custom_id}", name=name, schema=schema)
            self._issue_type_named(project_key, issue_type).fields[spec.field_id] = spec
            return spec

    def set_sprints(self, key: str, field_id: str, *sprints: dict) -> None:
        """The sprints the issue was in (closed ones) and is in (an active or future one)."""
        with self.server.lock:
            issue = self.issues[key]
            issue.custom_fields[field_id] = list(sprints)
            issue.updated = self.now()

    def set_fix_versions(self, key: str, *names: str) -> None:
        """The issue's fix versions, by name among its project's versions."""
        with self.server.lock:
            issue = self.issues[key]
            by_name = {version["name"]: version for version in issue.project.versions}
            issue.fix_versions = [by_name[name] for name in names]
            issue.updated = self.now()

    def issue(self, key: str) -> JiraIssue:
        return self.issues[key]

    def delete_issue(self, key: str) -> None:
        with self.server.lock:
            del self.issues[key]

    def move_issue(self, key: str, project_key: str) -> JiraIssue:
        """Move an issue to another project, where it gets a new key. Jira keeps the old key
        working ("Jira reserves all previous historical keys", KB "Migration of Jira's historical
        keys"): reading the issue or searching `key = OLD-1` finds it, under its new key."""
        with self.server.lock:
            issue = self.issues.pop(key)
            target = self.projects[project_key]
            issue.former_keys.append(issue.key)
            issue.key = f"{project_key}-{next(self._issue_numbers[project_key])}"
            issue.issue_type = target.issue_type({"name": issue.issue_type.name}) or target.issue_types[0]
            issue.project = target
            issue.updated = self.now()
            self.issues[issue.key] = issue
            return issue

    def forbid_project(self, key: str) -> None:
        """Nobody may browse the project: its issues vanish from searches and read as not found."""
        with self.server.lock:
            self.projects[key].browsable = False

    def now(self) -> datetime:
        """The time of a change, in Jira's millisecond precision; later than every time given before, so
        that two changes made within one millisecond are not dated alike (as they are not in a real Jira,
        where a change takes longer than that)."""
        moment = datetime.now(UTC)
        moment = max(moment.replace(microsecond=moment.microsecond // 1000 * 1000), self._last_moment + _ONE_MS)
        self._last_moment = moment
        return moment

    # -- changes and webhooks ---------------------------------------------------------------------

    def edit_issue(
        self,
        key: str,
        *,
        summary: str | None = None,
        status: str | None = None,
        priority: str | None = None,
        assignee: str | None = None,
        labels: Iterable[str] | None = None,
    ) -> JiraIssue:
        """Change an issue as someone in Jira would (``status`` by name, ``assignee`` by login, ``labels``
        the whole set); its ``updated`` moves on."""
        with self.server.lock:
            issue = self.issues[key]
            if summary is not None:
                issue.summary = summary
            if labels is not None:
                issue.labels = list(labels)
            issue.updated = self.now()
            if status is not None:
                issue.move_to(self._status_named(status), issue.updated)
            if priority is not None:
                issue.priority = priority
            if assignee is not None:
                issue.assignee = self.users[assignee]
            return issue

    def issue_delivery(self, key: str, *, event: str = "jira:issue_updated", secret: str) -> Delivery:
        """An issue event (``jira:issue_created``, ``jira:issue_updated``, ``jira:issue_deleted``) with the
        issue as it is now, in REST v2's representation as webhooks send it (also on Cloud)."""
        with self.server.lock:
            issue = self.issues[key]
            fields = self._selected_fields(issue, None, default="*navigable")
            payload = {
                "webhookEvent": event,
                "issue_event_type_name": "issue_generic",
                "issue": self._issue_json(issue, "2", fields),
            }
            return self._delivery(payload, issue, secret)

    def move_delivery(self, key: str, *, secret: str) -> Delivery:
        """The ``jira:issue_updated`` event of an issue moved with `move_issue` (``key`` its new key):
        ``issue_event_type_name`` ``issue_moved`` and a changelog whose ``Key`` and ``project`` items say
        where it came from, as Jira records a move in the issue's history."""
        with self.server.lock:
            issue = self.issues[key]
            old_key = issue.former_keys[-1]
            old_project = self.projects[old_key.rsplit("-", 1)[0]]
            items = [
                {"field": "Key", "fieldtype": "jira", "from": None, "fromString": old_key, "to": None, "toString": key},
                {
                    "field": "project",
                    "fieldtype": "jira",
                    "fieldId": "project",
                    "from": str(old_project.id),
                    "fromString": old_project.name,
                    "to": str(issue.project.id),
                    "toString": issue.project.name,
                },
            ]
            payload = {
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": "issue_moved",
                "issue": self._issue_json(issue, "2", self._selected_fields(issue, None, default="*navigable")),
                "changelog": {"id": str(next(self._ids)), "items": items},
            }
            return self._delivery(payload, issue, secret)

    def comment_delivery(self, key: str, comment_id: str, *, event: str = "comment_created", secret: str) -> Delivery:
        """A comment event (``comment_created``, ``comment_updated``, ``comment_deleted``): the comment (its
        body in wiki markup; a deleted one as it was) and the issue in part."""
        with self.server.lock:
            issue = self.issues[key]
            comment = next(
                comment for comment in [*issue.comments, *issue.deleted_comments] if comment.id == comment_id
            )
            partial = self._issue_json(issue, "2", ["summary", "issuetype", "project", "priority", "status"])
            payload = {
                "webhookEvent": event,
                "comment": self._comment_json(issue, comment, "2"),
                "issue": partial,
            }
            return self._delivery(payload, issue, secret)

    def _delivery(self, payload: dict, issue: JiraIssue, secret: str) -> Delivery:
        payload = {"timestamp": int(self.now().timestamp() * 1000), **payload}
        body = body_of(payload)
        return Delivery(
            {
                "X-Atlassian-Webhook-Identifier": str(next(self._ids)),
                "X-Hub-Signature": "sha256=" + hex_hmac(secret, body),
            },
            body,
        )

    def _edit_issue(self, request: RecordedRequest, version: str, key: str) -> Response:
        """PUT issue ("Edit issue"): the fake edits summary, description (ADF in v3, wiki text in v2),
        labels (no spaces) and priority; absent fields stay (204 No Content, as Jira answers)."""
        issue = self.visible_issue(key)
        if issue is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([ISSUE_NOT_FOUND]))
        payload = _json_object(request.body)
        fields = payload.get("fields") if isinstance(payload, dict) else None
        if not isinstance(fields, dict):
            return json_response(HTTPStatus.BAD_REQUEST, _errors([INVALID_PAYLOAD]))
        unknown = {
            name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            for name in fields
            if name not in ("summary", "priority", "description", "labels")
        }
        if "description" in fields and not _takes_description(fields["description"], version):
            wanted = "an Atlassian Document" if version == "3" else "a string"
            unknown["description"] = f"Operation value must be {wanted}."
        labels = fields.get("labels")
        if labels is not None and (
            not isinstance(labels, list) or any(not isinstance(label, str) or " " in label for label in labels)
        ):
            unknown["labels"] = "The label must not contain spaces."
        priority = fields.get("priority")
        if priority is not None and (not isinstance(priority, dict) or priority.get("name") not in PRIORITY_NAMES):
            unknown["priority"] = "Specify a valid 'id' or 'name' for Priority"
        if unknown:
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], unknown))
        if "summary" in fields:
            issue.summary = str(fields["summary"])
        if "description" in fields:
            issue.description = fields["description"]
        if labels is not None:
            issue.labels = list(labels)
        if priority is not None:
            issue.priority = priority["name"]
        issue.updated = self.now()
        return empty_response(HTTPStatus.NO_CONTENT)

    def _list_webhooks(self, request: RecordedRequest) -> Response:
        return json_response(HTTPStatus.OK, [self._webhook_json(hook) for hook in self.hooks])

    def _register_webhook(self, request: RecordedRequest) -> Response:
        payload = _json_object(request.body)
        if not isinstance(payload, dict) or not payload.get("url") or not payload.get("name"):
            return json_response(HTTPStatus.BAD_REQUEST, _errors(["A webhook needs a name and a URL."]))
        hook = RegisteredHook(
            next(self._ids),
            str(payload["url"]),
            str(payload.get("secret") or ""),
            list(payload.get("events") or []),
            str((payload.get("filters") or {}).get("issue-related-events-section") or ""),
        )
        self.hooks.append(hook)
        return json_response(HTTPStatus.CREATED, self._webhook_json(hook))

    def _update_webhook(self, request: RecordedRequest, hook_id: str) -> Response:
        hook = next((hook for hook in self.hooks if hook.id == int(hook_id)), None)
        payload = _json_object(request.body)
        if hook is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors(["Webhook not found."]))
        if not isinstance(payload, dict):
            return json_response(HTTPStatus.BAD_REQUEST, _errors([INVALID_PAYLOAD]))
        hook.url, hook.secret = str(payload.get("url", hook.url)), str(payload.get("secret", hook.secret))
        hook.events = list(payload.get("events", hook.events))
        hook.scope = str((payload.get("filters") or {}).get("issue-related-events-section", hook.scope))
        return json_response(HTTPStatus.OK, self._webhook_json(hook))

    def _webhook_json(self, hook: RegisteredHook) -> dict:
        # The secret is write-only: Jira never returns it.
        return {
            "name": "testmanager",
            "url": hook.url,
            "events": hook.events,
            "excludeBody": False,
            "filters": {"issue-related-events-section": hook.scope},
            "enabled": hook.active,
            "self": f"{self.base_url}/rest/webhooks/1.0/webhook/{hook.id}",
        }

    # -- fault injection --------------------------------------------------------------------------

    def rate_limit_next(self, count: int = 1, *, retry_after: int = 5, reason: str = "jira-burst-based") -> None:
        """Answer the next `count` requests with 429 and the deployment's rate-limit headers."""

        def too_many_requests() -> Response:
            headers = {"Retry-After": str(retry_after), "X-RateLimit-Remaining": "0"}
            if self.is_cloud:
                headers |= {
                    "X-RateLimit-Limit": "100",
                    "X-RateLimit-Reset": (self.now() + timedelta(seconds=retry_after)).strftime("%Y-%m-%dT%H:%MZ"),
                    "X-RateLimit-NearLimit": "true",
                    "RateLimit-Reason": reason,
                }
            else:
                headers |= {
                    "X-RateLimit-Limit": "20",
                    "X-RateLimit-Interval-Seconds": "1",
                    "X-RateLimit-FillRate": "10",
                }
            return json_response(HTTPStatus.TOO_MANY_REQUESTS, _errors(["Rate limit exceeded."]), headers)

        with self.server.lock:
            self._injected.append(_Injected(too_many_requests, count))

    def fail_next(
        self,
        status: int,
        body: dict | list | str | None = None,
        *,
        headers: dict[str, str] | None = None,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next `count` requests with `status`; a dict or list body is sent as JSON.
        With `method` and/or `path` (a regex over the path below the context path) only matching
        requests are answered so; the others go on as usual."""

        def failure() -> Response:
            if body is None:
                return Response(status, b"", dict(headers or {}))
            if isinstance(body, str):
                return text_response(status, body, headers)
            return json_response(status, body, headers)

        with self.server.lock:
            self._injected.append(_Injected(failure, count, method and method.upper(), path))

    # -- OAuth 2.0 (3LO) ------------------------------------------------------------------------------

    def enable_oauth(self, client_id: str, client_secret: str, redirect_uri: str) -> OAuthServer:
        """Atlassian's authorization server and API gateway for this Cloud site, on the fake's own origin:
        /authorize, /oauth/token and /oauth/token/accessible-resources. The site must be mounted where
        the gateway serves it (``context_path="/ex/jira/<cloud id>"``), so that the one fake answers as
        the site and as api.atlassian.com/ex/jira/<cloud id>; tests point the provider's
        ``ATLASSIAN_AUTH`` and ``ATLASSIAN_API`` at ``server.origin``. Members' access tokens are
        accepted as ``Bearer`` there. Returns the authorization server (its accounts are this fake's
        users, by login)."""
        if not self.is_cloud or re.fullmatch(r"/ex/jira/[^/]+", self.server.prefix) is None:
            raise ValueError("OAuth 2.0 (3LO) reaches Jira Cloud under /ex/jira/<cloud id>: use that context_path")
        self.oauth = OAuthServer(prefix="atlassian", lifetime=3600, refresh_scope="offline_access")
        self.oauth.register_client(client_id, client_secret, redirect_uri)
        self.server.add_outside_route("GET", r"/authorize", self._oauth_authorize)
        self.server.add_outside_route("POST", r"/oauth/token", self._oauth_token)
        self.server.add_outside_route("GET", r"/oauth/token/accessible-resources", self._accessible_resources)
        return self.oauth

    @property
    def cloud_id(self) -> str:
        return self.server.prefix.rsplit("/", 1)[-1]

    def _oauth_authorize(self, request: RecordedRequest) -> Response:
        query = {name: values[0] for name, values in request.query.items()}
        if query.get("audience") != "api.atlassian.com":
            # Without the gateway's audience the consent screen errs (the documented URL always has it).
            return text_response(HTTPStatus.BAD_REQUEST, "audience must be api.atlassian.com")
        try:
            location = self.oauth.authorize(query)
        except OAuthError as error:
            return text_response(HTTPStatus.BAD_REQUEST, error.description)
        return Response(HTTPStatus.FOUND, b"", {"Location": location})

    def _oauth_token(self, request: RecordedRequest) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return json_response(
                HTTPStatus.BAD_REQUEST, {"error": "invalid_request", "error_description": "A JSON body is required."}
            )
        try:
            return json_response(HTTPStatus.OK, self.oauth.token({name: str(value) for name, value in body.items()}))
        except OAuthError as error:
            # Not documented for a bad client: answered 401 access_denied, as RFC 6749 answers invalid_client.
            status, code = {
                "client": (HTTPStatus.UNAUTHORIZED, "access_denied"),
                "code": (HTTPStatus.FORBIDDEN, "invalid_grant"),
                "refresh": (HTTPStatus.FORBIDDEN, "invalid_grant"),
                "request": (HTTPStatus.BAD_REQUEST, "invalid_request"),
            }[error.kind]
            return json_response(status, {"error": code, "error_description": error.description})

    def _accessible_resources(self, request: RecordedRequest) -> Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.oauth.access_tokens:
            return json_response(HTTPStatus.UNAUTHORIZED, {"code": 401, "message": "Unauthorized"})
        site = {
            "id": self.cloud_id,
            "url": self.base_url,
            "name": "Fake Jira site",
            "scopes": ["read:jira-work", "write:jira-work", "read:jira-user"],
            "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/site.png",
        }
        return json_response(HTTPStatus.OK, [site])

    # -- authentication ---------------------------------------------------------------------------

    def _intercept(self, request: RecordedRequest) -> Response | None:
        injected = next((entry for entry in self._injected if entry.applies_to(request)), None)
        if injected is not None:
            injected.remaining -= 1
            if injected.remaining <= 0:
                self._injected.remove(injected)
            return injected.response()
        self._viewer = self._authenticate(request.headers.get("Authorization", ""))
        if self._viewer is None and not request.route_path.endswith("/serverInfo"):
            return self._unauthorized(credentials_sent="Authorization" in request.headers)
        return None

    def _authenticate(self, authorization: str) -> JiraUser | None:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "basic":
            try:
                login, _, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            if login in self._passwords and self._passwords[login] == secret:
                return self.users[login]
        if scheme.lower() == "bearer" and self.oauth is not None and credentials in self.oauth.access_tokens:
            return self.users[self.oauth.access_tokens[credentials]]
        if scheme.lower() == "bearer" and not self.is_cloud and credentials in self._bearer_tokens:
            return self.users[self._bearer_tokens[credentials]]
        return None

    def _unauthorized(self, credentials_sent: bool) -> Response:
        # Cloud answers a plain-text sentence (as its edge does for every REST path); Server/DC's
        # REST layer answers the JSON error collection, and Seraph names a failed login.
        if self.is_cloud:
            return text_response(
                HTTPStatus.UNAUTHORIZED,
                "Client must be authenticated to access this resource.",
                {"WWW-Authenticate": 'Basic realm="protected-area"'},
            )
        headers = {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"} if credentials_sent else {}
        return json_response(
            HTTPStatus.UNAUTHORIZED,
            _errors(["You are not authenticated. Authentication required to perform this operation."]),
            headers,
        )

    # -- routes -----------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        api = r"/rest/api/(?P<version>[23])" if self.is_cloud else r"/rest/api/(?P<version>2)"
        issue = rf"{api}/issue/(?P<key>[^/]+)"
        createmeta = rf"{api}/issue/createmeta/(?P<project_ref>[^/]+)/issuetypes"
        routes = [
            ("GET", rf"{api}/serverInfo", self._server_info),
            ("GET", rf"{api}/myself", self._myself),
            ("GET", rf"{api}/project", self._all_projects),
            ("GET", rf"{api}/user/search", self._user_search),
            ("GET", createmeta, self._createmeta_issue_types),
            ("GET", rf"{createmeta}/(?P<issue_type_id>[^/]+)", self._createmeta_fields),
            ("POST", rf"{api}/issue", self._create_issue),
            ("GET", issue, self._get_issue),
            ("GET", rf"{issue}/comment", self._get_comments),
            ("POST", rf"{issue}/comment", self._add_comment),
            ("PUT", rf"{issue}/comment/(?P<comment_id>[^/]+)", self._update_comment),
            ("GET", rf"{api}/project/(?P<project_ref>[^/]+)/versions", self._project_versions),
            ("GET", r"/rest/agile/1\.0/board/(?P<board_id>\d+)/sprint", self._board_sprints),
            ("GET", r"/rest/agile/1\.0/board", self._all_boards),
            ("GET", rf"{api}/project/(?P<project_ref>[^/]+)/components", self._project_components),
            ("GET", rf"{issue}/transitions", self._get_transitions),
            ("POST", rf"{issue}/transitions", self._do_transition),
            ("POST", rf"{issue}/attachments", self._add_attachments),
            ("GET", rf"{issue}/remotelink", self._get_remote_links),
            ("POST", rf"{issue}/remotelink", self._put_remote_link),
            ("PUT", issue, self._edit_issue),
            ("GET", r"/rest/webhooks/1.0/webhook", self._list_webhooks),
            ("POST", r"/rest/webhooks/1.0/webhook", self._register_webhook),
            ("PUT", r"/rest/webhooks/1.0/webhook/(?P<hook_id>\d+)", self._update_webhook),
        ]
        if self.is_cloud:
            routes += [
                ("GET", rf"{api}/project/search", self._project_search),
                ("GET", rf"{api}/search/jql", self._enhanced_search),
                ("POST", rf"{api}/search/jql", self._enhanced_search),
                ("POST", rf"{api}/search/approximate-count", self._approximate_count),
                ("GET", rf"{api}/search", self._removed_search),
                ("POST", rf"{api}/search", self._removed_search),
            ]
        else:
            routes += [
                ("GET", rf"{api}/search", self._classic_search),
                ("POST", rf"{api}/search", self._classic_search),
            ]
        for method, path, handler in routes:
            self.server.add_route(method, path, handler)

    # -- instance and users -----------------------------------------------------------------------

    def _server_info(self, request: RecordedRequest, version: str) -> Response:
        numbers = [1001, 0, 0] if self.is_cloud else [9, 12, 15]
        info = {
            "baseUrl": self.base_url,
            "displayUrl": self.base_url,
            "version": "1001.0.0-SNAPSHOT" if self.is_cloud else "9.12.15",
            "versionNumbers": numbers,
            "deploymentType": self.deployment_type,
            "buildNumber": 100282 if self.is_cloud else 9120015,
            "buildDate": "2024-11-04T00:00:00.000+0000",
            "serverTime": jira_timestamp(self.now()),
            "scmInfo": "5f2e8a9c0b1d4e6f7a8b9c0d1e2f3a4b5c6d7e8f",
            "serverTitle": "Jira",
        }
        return json_response(HTTPStatus.OK, info)

    def _myself(self, request: RecordedRequest, version: str) -> Response:
        return json_response(HTTPStatus.OK, self._user_json(self._viewer, version))

    def _user_search(self, request: RecordedRequest, version: str) -> Response:
        # Cloud matches `query` against the start of the display name, of its words and of the
        # e-mail ("The string can match the prefix of the attribute's value");
        # Server/DC matches `username` against username, display name and e-mail.
        term = request.param("query" if self.is_cloud else "username")
        if not term:
            message = (
                "The query parameter or the accountId parameter must be provided."
                if self.is_cloud
                else "The username query parameter was not provided"
            )
            return json_response(HTTPStatus.BAD_REQUEST, _errors([message]))
        term = term.lower()
        found = [
            user
            for user in self.users.values()
            if user.active
            and (
                user.email.lower().startswith(term)
                or user.login.lower().startswith(term)
                or user.display_name.lower().startswith(term)
                or any(word.startswith(term) for word in user.display_name.lower().split())
            )
        ]
        start, limit = _int_param(request, "startAt", 0), _int_param(request, "maxResults", 50)
        return json_response(HTTPStatus.OK, [self._user_json(user, version) for user in found[start : start + limit]])

    # -- projects and create metadata -------------------------------------------------------------

    def _project_search(self, request: RecordedRequest, version: str) -> Response:
        projects = self.visible_projects()
        if query := (request.param("query") or "").lower():
            projects = [p for p in projects if query in p.key.lower() or query in p.name.lower()]
        if keys := request.query.get("keys"):
            projects = [p for p in projects if p.key in keys]
        start, limit = _int_param(request, "startAt", 0), min(_int_param(request, "maxResults", 50), 100)
        page = projects[start : start + limit]
        is_last = start + len(page) >= len(projects)
        body = {
            "self": f"{self.base_url}/rest/api/{version}/project/search?startAt={start}&maxResults={limit}",
            "maxResults": limit,
            "startAt": start,
            "total": len(projects),
            "isLast": is_last,
            "values": [self._project_json(project, version) for project in page],
        }
        if not is_last:
            body["nextPage"] = (
                f"{self.base_url}/rest/api/{version}/project/search?startAt={start + limit}&maxResults={limit}"
            )
        return json_response(HTTPStatus.OK, body)

    def _all_projects(self, request: RecordedRequest, version: str) -> Response:
        return json_response(HTTPStatus.OK, [self._project_json(p, version) for p in self.visible_projects()])

    def _createmeta_issue_types(self, request: RecordedRequest, version: str, project_ref: str) -> Response:
        project = self.visible_project(project_ref)
        if project is None:
            return self._project_not_found(project_ref)
        items = [self._issue_type_json(issue_type, version) for issue_type in project.issue_types]
        return self._createmeta_page(request, items, "issueTypes")

    def _createmeta_fields(
        self, request: RecordedRequest, version: str, project_ref: str, issue_type_id: str
    ) -> Response:
        project = self.visible_project(project_ref)
        if project is None:
            return self._project_not_found(project_ref)
        issue_type = project.issue_type({"id": issue_type_id})
        if issue_type is None:
            return json_response(
                HTTPStatus.NOT_FOUND, _errors([f"Issue type with id '{issue_type_id}' does not exist."])
            )
        items = [self._field_meta_json(spec, version) for spec in issue_type.fields.values()]
        return self._createmeta_page(request, items, "fields")

    def _createmeta_page(self, request: RecordedRequest, items: list[dict], cloud_key: str) -> Response:
        start, limit = _int_param(request, "startAt", 0), _int_param(request, "maxResults", 50)
        if limit > 200:
            return json_response(
                HTTPStatus.BAD_REQUEST, _errors(["Parameter 'maxResults' must not exceed the limit '200'"])
            )
        page = items[start : start + limit]
        body = {"maxResults": limit, "startAt": start, "total": len(items)}
        # Cloud names the list after its content; Data Center pages carry `values` and `isLast`.
        if self.is_cloud:
            body[cloud_key] = page
        else:
            body |= {"isLast": start + len(page) >= len(items), "values": page}
        return json_response(HTTPStatus.OK, body)

    def _project_not_found(self, reference: str) -> Response:
        # A project the caller may not browse reads exactly like one that does not exist.
        kind = "id" if reference.isdigit() else "key"
        return json_response(HTTPStatus.NOT_FOUND, _errors([f"No project could be found with {kind} '{reference}'."]))

    # -- issues -----------------------------------------------------------------------------------

    def _get_issue(self, request: RecordedRequest, version: str, key: str) -> Response:
        issue = self.visible_issue(key)
        if issue is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([ISSUE_NOT_FOUND]))
        selected = self._selected_fields(issue, request.query.get("fields"), default="*all")
        return json_response(HTTPStatus.OK, self._issue_json(issue, version, selected))

    def _create_issue(self, request: RecordedRequest, version: str) -> Response:
        payload = _json_object(request.body)
        if payload is None or not isinstance(payload.get("fields", {}), dict):
            return json_response(HTTPStatus.BAD_REQUEST, _errors([INVALID_PAYLOAD]))
        fields = dict(payload.get("fields") or {})
        project = self._project_for_create(fields.pop("project", None))
        if project is None:
            message = "Specify a valid project ID or key" if self.is_cloud else "valid project is required"
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], {"project": message}))
        issue_type_reference = fields.pop("issuetype", None)
        issue_type = project.issue_type(issue_type_reference)
        if issue_type is None:
            message = "Specify an issue type" if issue_type_reference is None else "The issue type selected is invalid."
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], {"issuetype": message}))

        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for field_id, value in fields.items():
            spec = issue_type.fields.get(field_id)
            if spec is None:
                errors[field_id] = f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."
                continue
            problem, normalized = self._coerce(spec, value, version, project)
            if problem:
                errors[field_id] = problem
            else:
                values[field_id] = normalized
        sent = {*fields, "project", "issuetype"}
        for spec in issue_type.fields.values():
            if spec.required and not spec.has_default and spec.field_id not in sent:
                errors[spec.field_id] = _required_message(spec)
        if errors:
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], errors))

        issue = self._store_created_issue(project, issue_type, values)
        return json_response(
            HTTPStatus.CREATED,
            {
                "id": issue.id,
                "key": issue.key,
                "self": f"{self.base_url}/rest/api/{version}/issue/{issue.id}",
            },
        )

    def _store_created_issue(self, project: JiraProject, issue_type: JiraIssueType, values: dict) -> JiraIssue:
        now = self.now()
        priority = values.pop("priority", issue_type.fields["priority"].default_value)
        issue = JiraIssue(
            id=str(next(self._ids)),
            key=f"{project.key}-{next(self._issue_numbers[project.key])}",
            project=project,
            issue_type=issue_type,
            summary=values.pop("summary"),
            status=self.statuses[0],
            created=now,
            updated=now,
            reporter=values.pop("reporter", self._viewer),
            description=values.pop("description", None),
            assignee=values.pop("assignee", None),
            priority=priority["name"] if priority else None,
            labels=values.pop("labels", []),
            components=values.pop("components", []),
            duedate=values.pop("duedate", None),
            custom_fields=values,
        )
        self.issues[issue.key] = issue
        return issue

    def _project_for_create(self, reference: Any) -> JiraProject | None:
        if not isinstance(reference, dict):
            return None
        for project in self.visible_projects():
            if reference.get("key") == project.key or str(reference.get("id")) == project.id:
                return project
        return None

    def _coerce(self, spec: FieldSpec, value: Any, version: str, project: JiraProject) -> tuple[str | None, Any]:
        """(problem, normalized value) for a create-screen field, as Jira validates it."""
        kind, items = spec.schema["type"], spec.schema.get("items")
        if value is None or value == "" or value == []:
            if spec.required:
                return _required_message(spec), None
            return None, [] if kind == "array" else None
        if kind == "array":
            if not isinstance(value, list):
                return "data was not an array", None
            normalized = []
            for item in value:
                problem, item_value = self._coerce_single(spec, items, item, version, project)
                if problem:
                    return problem, None
                normalized.append(item_value)
            return None, normalized
        return self._coerce_single(spec, kind, value, version, project)

    def _coerce_single(
        self, spec: FieldSpec, kind: str, value: Any, version: str, project: JiraProject
    ) -> tuple[str | None, Any]:
        if kind == "string":
            if spec.takes_document and version == "3":
                return (None, value) if is_document(value) else (NOT_A_DOCUMENT, None)
            if not isinstance(value, str):
                return "Operation value must be a string", None
            if spec.field_id == "summary" and len(value) > 255:
                return "Summary must be less than 255 characters.", None
            return None, value
        if kind == "number":
            valid = isinstance(value, (int, float)) and not isinstance(value, bool)
            return (None, value) if valid else ("Operation value must be a number", None)
        if kind in ("date", "datetime"):
            return (None, value) if _parses_as(kind, value) else (f"Error parsing date string: {value}", None)
        if not isinstance(value, dict):
            if kind == "option":
                return "Could not find valid 'id' or 'value' in the Parent Option object.", None
            return "data was not an object", None
        if kind == "user":
            return self._coerce_user(value)
        allowed, by, invalid = {
            "option": (spec.allowed_values, "value", "Option value '{}' is not valid"),
            "priority": (spec.allowed_values, "name", "The priority selected is invalid."),
            "component": (project.components, "name", "Component name '{}' is not valid"),
        }[kind]
        return _choose(allowed, value, by, invalid)

    def _coerce_user(self, reference: dict) -> tuple[str | None, Any]:
        # Cloud identifies users by accountId only (GDPR); Server/DC by username.
        wanted = reference.get("accountId") if self.is_cloud else reference.get("name")
        for user in self.users.values():
            if wanted == (user.account_id if self.is_cloud else user.login):
                return None, user
        if self.is_cloud:
            return "Specified user does not exist or you do not have required permissions", None
        return f"User '{wanted}' does not exist.", None

    # -- comments ---------------------------------------------------------------------------------

    def _get_comments(self, request: RecordedRequest, version: str, key: str) -> Response:
        issue = self.visible_issue(key)
        if issue is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([ISSUE_NOT_FOUND]))
        start, limit = _int_param(request, "startAt", 0), _int_param(request, "maxResults", 5000)
        return json_response(HTTPStatus.OK, self._comments_json(issue, version, start, limit))

    def _add_comment(self, request: RecordedRequest, version: str, key: str) -> Response:
        issue = self.visible_issue(key)
        if issue is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([ISSUE_NOT_FOUND]))
        payload = _json_object(request.body)
        if payload is None:
            return json_response(HTTPStatus.BAD_REQUEST, _errors([INVALID_PAYLOAD]))
        body = payload.get("body")
        if not plain_text(body if isinstance(body, (str, dict)) else None).strip():
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], {"comment": "Comment body can not be empty!"}))
        if version == "3" and not is_document(body):
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], {"comment": NOT_A_DOCUMENT}))
        if version == "2" and not isinstance(body, str):
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], {"comment": "Operation value must be a string"}))
        comment = JiraComment(id=str(next(self._ids)), body=body, author=self._viewer, created=self.now())
        issue.comments.append(comment)
        issue.updated = comment.created
        return json_response(HTTPStatus.CREATED, self._comment_json(issue, comment, version))

    # -- remote issue links -----------------------------------------------------------------------

    def _get_remote_links(self, request: RecordedRequest, version: str, key: str) -> Response:
        issue = self.visible_issue(key)
        if issue is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([ISSUE_NOT_FOUND]))
        return json_response(HTTPStatus.OK, issue.remote_links)

    def _put_remote_link(self, request: RecordedRequest, version: str, key: str) -> Response:
        issue = self.visible_issue(key)
        if issue is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([ISSUE_NOT_FOUND]))
        payload = _json_object(request.body)
        linked = payload.get("object") if payload is not None else None
        if not isinstance(linked, dict):
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], {"object": "'object' is required."}))
        missing = {name: f"'{name}' is required." for name in ("url", "title") if not linked.get(name)}
        if missing:
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], missing))
        global_id = payload.get("globalId")
        existing = next((link for link in issue.remote_links if global_id and link.get("globalId") == global_id), None)
        if existing is None:
            link_id = next(self._ids)
            url = f"{self.base_url}/rest/api/{version}/issue/{issue.id}/remotelink/{link_id}"
            existing = {"id": link_id, "self": url}
            issue.remote_links.append(existing)
            status = HTTPStatus.CREATED
        else:
            status = HTTPStatus.OK
        for name in ("globalId", "application", "relationship"):
            if name in payload:
                existing[name] = payload[name]
        existing["object"] = linked
        return json_response(status, {"id": existing["id"], "self": existing["self"]})

    # -- comment edits and versions ---------------------------------------------------------------

    def _update_comment(self, request: RecordedRequest, version: str, key: str, comment_id: str) -> Response:
        """PUT issue/{key}/comment/{id} ("Update comment"): the new body replaces the old; only its
        author may edit a comment here (Jira also lets holders of "Edit all comments" do it)."""
        issue = self.visible_issue(key)
        if issue is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([ISSUE_NOT_FOUND]))
        comment = next((entry for entry in issue.comments if entry.id == comment_id), None)
        if comment is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([f"Can not find a comment for the id: {comment_id}."]))
        if comment.author is not self._viewer:
            return json_response(
                HTTPStatus.FORBIDDEN, _errors(["You do not have the permission to edit this comment."])
            )
        payload = _json_object(request.body)
        body = payload.get("body") if payload is not None else None
        if not plain_text(body if isinstance(body, (str, dict)) else None).strip():
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], {"comment": "Comment body can not be empty!"}))
        if (version == "3") != is_document(body):
            problem = NOT_A_DOCUMENT if version == "3" else "Operation value must be a string"
            return json_response(HTTPStatus.BAD_REQUEST, _errors([], {"comment": problem}))
        comment.body = body
        issue.updated = self.now()
        return json_response(HTTPStatus.OK, self._comment_json(issue, comment, version))

    def _board_sprints(self, request: RecordedRequest, board_id: str) -> Response:
        """GET /rest/agile/1.0/board/{boardId}/sprint ("Get all sprints"): startAt/maxResults pages with
        isLast; 404 for a board that does not exist."""
        if int(board_id) not in self.board_sprints:
            return json_response(
                HTTPStatus.NOT_FOUND,
                _errors([f"Board {board_id} does not exist or you do not have permission to view it."]),
            )
        sprints = self.board_sprints[int(board_id)]
        start, limit = _int_param(request, "startAt", 0), min(_int_param(request, "maxResults", 50), 50)
        page = sprints[start : start + limit]
        return json_response(
            HTTPStatus.OK,
            {"maxResults": limit, "startAt": start, "isLast": start + len(page) >= len(sprints), "values": page},
        )

    def _all_boards(self, request: RecordedRequest) -> Response:
        """GET /rest/agile/1.0/board ("Get all boards"): the boards the caller may view, by project and name."""
        boards = [(number, board) for number, board in self.boards.items() if self.visible_project(board["project"])]
        if reference := request.param("projectKeyOrId"):
            project = self.visible_project(reference)
            if project is None:
                return json_response(
                    HTTPStatus.BAD_REQUEST, _errors([f"No project could be found with key '{reference}'."])
                )
            boards = [(number, board) for number, board in boards if board["project"] == project.key]
        if name := (request.param("name") or "").lower():
            boards = [(number, board) for number, board in boards if name in board["name"].lower()]
        start, limit = _int_param(request, "startAt", 0), min(_int_param(request, "maxResults", 50), 50)
        page = boards[start : start + limit]
        values = []
        for number, board in page:
            project = self.projects[board["project"]]
            values.append(
                {
                    "id": number,
                    "self": f"{self.base_url}/rest/agile/1.0/board/{number}",
                    "name": board["name"],
                    "type": board["type"],
                    "location": {
                        "projectId": int(project.id),
                        "projectKey": project.key,
                        "projectName": project.name,
                        "displayName": f"{project.name} ({project.key})",
                    },
                }
            )
        body = {"maxResults": limit, "startAt": start, "total": len(boards), "isLast": start + len(page) >= len(boards)}
        return json_response(HTTPStatus.OK, {**body, "values": values})

    def _project_components(self, request: RecordedRequest, version: str, project_ref: str) -> Response:
        """GET project/{key}/components: every component of the project, unpaged."""
        project = self.visible_project(project_ref)
        if project is None:
            return self._project_not_found(project_ref)
        return json_response(HTTPStatus.OK, [self._component_json(entry, version) for entry in project.components])

    def _project_versions(self, request: RecordedRequest, version: str, project_ref: str) -> Response:
        """GET project/{key}/versions: every version of the project, unpaged."""
        project = self.visible_project(project_ref)
        if project is None:
            return self._project_not_found(project_ref)
        return json_response(HTTPStatus.OK, [dict(entry) for entry in project.versions])

    # -- transitions ------------------------------------------------------------------------------

    def _get_transitions(self, request: RecordedRequest, version: str, key: str) -> Response:
        issue = self.visible_issue(key)
        if issue is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([ISSUE_NOT_FOUND]))
        transitions = [
            {
                "id": transition.id,
                "name": transition.name,
                "to": self._status_json(transition.to, version),
                "hasScreen": False,
                "isGlobal": True,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for transition in self._available_transitions(issue)
        ]
        return json_response(HTTPStatus.OK, {"expand": "transitions", "transitions": transitions})

    def _do_transition(self, request: RecordedRequest, version: str, key: str) -> Response:
        issue = self.visible_issue(key)
        if issue is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([ISSUE_NOT_FOUND]))
        payload = _json_object(request.body)
        if payload is None:
            return json_response(HTTPStatus.BAD_REQUEST, _errors([INVALID_PAYLOAD]))
        transition_id = (payload.get("transition") or {}).get("id")
        if transition_id is None:
            return json_response(HTTPStatus.BAD_REQUEST, _errors(["Missing 'transition' identifier"]))
        chosen = next((t for t in self._available_transitions(issue) if t.id == str(transition_id)), None)
        if chosen is None:
            return json_response(
                HTTPStatus.BAD_REQUEST,
                _errors([f"Transition id '{transition_id}' is not valid for this issue."]),
            )
        issue.updated = self.now()
        issue.move_to(chosen.to, issue.updated)
        return empty_response()

    def _available_transitions(self, issue: JiraIssue) -> list[JiraTransition]:
        return [transition for transition in self.transitions if transition.to is not issue.status]

    # -- attachments ------------------------------------------------------------------------------

    def _add_attachments(self, request: RecordedRequest, version: str, key: str) -> Response:
        # Jira's XSRF filter runs before the resource: without the token header nothing else is looked at.
        if request.headers.get("X-Atlassian-Token", "").lower() not in ("no-check", "nocheck"):
            return text_response(HTTPStatus.FORBIDDEN, "XSRF check failed")
        if not request.headers.get("Content-Type", "").lower().startswith("multipart/form-data"):
            return text_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")
        issue = self.visible_issue(key)
        if issue is None:
            return json_response(HTTPStatus.NOT_FOUND, _errors([ISSUE_NOT_FOUND]))
        if not self.attachments_enabled:
            return json_response(
                HTTPStatus.FORBIDDEN, _errors(["You do not have permission to create attachments for this issue."])
            )
        files = [part for part in parse_multipart(request) if part.name == "file" and part.filename]
        too_big = [part.filename for part in files if len(part.content) > self.max_attachment_bytes]
        if too_big:
            return json_response(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                _errors([f"The file {too_big[0]} is too large to attach: the maximum attachment size is exceeded."]),
            )
        if not files:
            # The documentation names no message for a request without files; the fake picks one.
            return json_response(HTTPStatus.BAD_REQUEST, _errors(["No attachment was found in the 'file' part."]))
        added = []
        for part in files:
            attachment = JiraAttachment(
                id=str(next(self._ids)),
                filename=part.filename,
                mime_type=part.content_type,
                content=part.content,
                author=self._viewer,
                created=self.now(),
            )
            issue.attachments.append(attachment)
            added.append(self._attachment_json(attachment, version))
        issue.updated = self.now()
        return json_response(HTTPStatus.OK, added)

    # -- search -----------------------------------------------------------------------------------

    def _removed_search(self, request: RecordedRequest, version: str) -> Response:
        return json_response(HTTPStatus.GONE, _errors([SEARCH_REMOVED]))

    def _enhanced_search(self, request: RecordedRequest, version: str) -> Response:
        """Cloud's GET/POST /rest/api/{2,3}/search/jql: cursor pages, no total.

        Choice where Atlassian's documentation is silent: a key or value the query names that
        does not exist (or that the caller may not see) is not an error here; the clause simply
        matches nothing. The endpoint dropped `validateQuery`, the classic search's switch
        between the strict 400 and the lenient `warn`, and third-party measurements against Jira
        Cloud (recorded in an open-source fake's test suite) show `project = <unknown>` answered
        with an empty page rather than the classic 400.
        """
        if request.method == "POST":
            payload = _json_object(request.body)
            if payload is None or set(payload) - ENHANCED_SEARCH_BODY or not isinstance(payload.get("jql", ""), str):
                return json_response(HTTPStatus.BAD_REQUEST, {"errorMessages": [INVALID_PAYLOAD]})
            text, token, requested_fields = (
                payload.get("jql"),
                payload.get("nextPageToken"),
                payload.get("fields"),
            )
            max_results = payload.get("maxResults", 50)
        else:
            text, token, requested_fields = (
                request.param("jql"),
                request.param("nextPageToken"),
                request.query.get("fields"),
            )
            max_results = request.param("maxResults") or 50
        try:
            max_results = int(max_results)
        except (TypeError, ValueError):
            return json_response(HTTPStatus.BAD_REQUEST, {"errorMessages": [INVALID_PAYLOAD]})

        offset = 0
        if token:
            offset = _offset_from_token(token, text or "")
            if offset is None:
                return json_response(HTTPStatus.BAD_REQUEST, _errors([BAD_PAGE_TOKEN]))
        if not 1 <= max_results <= 5000:
            return json_response(
                HTTPStatus.BAD_REQUEST, _errors(["The maxResults parameter must be between 1 and 5,000."])
            )
        try:
            query = jql.parse(text or "")
            if not query.is_bounded:
                raise jql.JqlError(UNBOUNDED_JQL)
            search = _JqlSearch(self, query, self._viewer)
        except jql.JqlError as error:
            return json_response(HTTPStatus.BAD_REQUEST, _errors(error.messages))

        matched = search.run()
        field_names = _field_list(requested_fields) or ["id"]
        # "The greatest number of items returned per page is achieved when requesting id or key
        # only"; with issue fields requested Cloud serves at most 100 per page.
        page_size = max_results if set(field_names) <= {"id", "key"} else min(max_results, 100)
        page = matched[offset : offset + page_size]
        body: dict[str, Any] = {"issues": [self._search_hit_json(issue, version, field_names) for issue in page]}
        if offset + len(page) < len(matched):
            body["nextPageToken"] = _page_token(offset + len(page), text or "")
        body["isLast"] = "nextPageToken" not in body
        return json_response(HTTPStatus.OK, body)

    def _approximate_count(self, request: RecordedRequest, version: str) -> Response:
        """Cloud's POST /rest/api/{2,3}/search/approximate-count: `{"jql"}` in, `{"count"}` out. The JQL must
        be bounded and parse; like the enhanced search, a value that does not exist matches nothing. The fake's
        estimate is the exact count (Jira's may lag behind recent changes)."""
        payload = _json_object(request.body)
        if not isinstance(payload, dict) or set(payload) - {"jql"} or not isinstance(payload.get("jql", ""), str):
            return json_response(HTTPStatus.BAD_REQUEST, {"errorMessages": [INVALID_PAYLOAD]})
        try:
            query = jql.parse(payload.get("jql") or "")
            if not query.is_bounded:
                raise jql.JqlError(UNBOUNDED_JQL)
            search = _JqlSearch(self, query, self._viewer)
        except jql.JqlError as error:
            return json_response(HTTPStatus.BAD_REQUEST, _errors(error.messages))
        return json_response(HTTPStatus.OK, {"count": len(search.run())})

    def _classic_search(self, request: RecordedRequest, version: str) -> Response:
        """Server/Data Center's GET/POST /rest/api/2/search: startAt/maxResults/total pages."""
        if request.method == "POST":
            payload = _json_object(request.body)
            if payload is None:
                return json_response(HTTPStatus.BAD_REQUEST, _errors([INVALID_PAYLOAD]))
            if unknown := sorted(set(payload) - CLASSIC_SEARCH_BODY):
                # Jackson's refusal of an undeclared property, as Data Center relays it.
                message = (
                    f'Unrecognized field "{unknown[0]}" (Class '
                    "com.atlassian.jira.rest.v2.search.SearchRequestBean), not marked as ignorable"
                )
                return json_response(HTTPStatus.BAD_REQUEST, _errors([message]))
            text, requested_fields = payload.get("jql") or "", payload.get("fields")
            start, limit = payload.get("startAt", 0), payload.get("maxResults", 50)
            validation = str(payload.get("validateQuery", "strict")).lower()
        else:
            text, requested_fields = request.param("jql", ""), request.query.get("fields")
            start, limit = _int_param(request, "startAt", 0), _int_param(request, "maxResults", 50)
            validation = (request.param("validateQuery") or "strict").lower()
        try:
            search = _JqlSearch(self, jql.parse(text), self._viewer)
        except jql.JqlError as error:
            return json_response(HTTPStatus.BAD_REQUEST, _errors(error.messages))
        if search.missing_values and validation in ("strict", "true"):
            return json_response(HTTPStatus.BAD_REQUEST, _errors(search.missing_values))

        matched = search.run()
        # jira.search.views.default.max: Data Center serves at most 1000 issues per page by default.
        limit = min(int(limit), 1000)
        page = matched[int(start) : int(start) + limit]
        field_names = _field_list(requested_fields) or ["*navigable"]
        body: dict[str, Any] = {
            "expand": "schema,names",
            "startAt": int(start),
            "maxResults": limit,
            "total": len(matched),
            "issues": [self._search_hit_json(issue, version, field_names) for issue in page],
        }
        if search.missing_values and validation in ("warn", "false"):
            body["warningMessages"] = search.missing_values
        return json_response(HTTPStatus.OK, body)

    # -- visibility -------------------------------------------------------------------------------

    def visible_projects(self) -> list[JiraProject]:
        return [project for project in self.projects.values() if project.browsable]

    def visible_project(self, reference: str) -> JiraProject | None:
        return next((p for p in self.visible_projects() if reference.upper() == p.key or reference == p.id), None)

    def visible_issues(self) -> list[JiraIssue]:
        return [issue for issue in self.issues.values() if issue.project.browsable]

    def visible_issue(self, reference: str) -> JiraIssue | None:
        return next(
            (
                issue
                for issue in self.visible_issues()
                if reference.upper() == issue.key or reference == issue.id or reference.upper() in issue.former_keys
            ),
            None,
        )

    def _issue_type_named(self, project_key: str, name: str) -> JiraIssueType:
        return next(t for t in self.projects[project_key].issue_types if t.name == name)

    def _status_named(self, name: str) -> JiraStatus:
        return next(status for status in self.statuses if status.name == name)

    def _system_fields(self, project: JiraProject, issue_type: JiraIssueType) -> list[FieldSpec]:
        priorities = [{"name": name, "id": str(index)} for index, name in enumerate(PRIORITY_NAMES, start=1)]
        return [
            FieldSpec("summary", "Summary", {"type": "string", "system": "summary"}, required=True),
            FieldSpec(
                "issuetype",
                "Issue Type",
                {"type": "issuetype", "system": "issuetype"},
                required=True,
                allowed_values=[{"id": issue_type.id, "name": issue_type.name}],
            ),
            FieldSpec(
                "project",
                "Project",
                {"type": "project", "system": "project"},
                required=True,
                allowed_values=[{"id": project.id, "key": project.key, "name": project.name}],
            ),
            # Required, but Jira fills it with the caller when absent (hasDefaultValue).
            FieldSpec(
                "reporter",
                "Reporter",
                {"type": "user", "system": "reporter"},
                required=True,
                has_default=True,
            ),
            FieldSpec("description", "Description", {"type": "string", "system": "description"}),
            FieldSpec(
                "priority",
                "Priority",
                {"type": "priority", "system": "priority"},
                allowed_values=priorities,
                has_default=True,
                default_value=priorities[2],
            ),
            FieldSpec("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
            FieldSpec(
                "components",
                "Components",
                {"type": "array", "items": "component", "system": "components"},
                allowed_values=project.components,
            ),
            FieldSpec("assignee", "Assignee", {"type": "user", "system": "assignee"}),
            FieldSpec("duedate", "Due date", {"type": "date", "system": "duedate"}),
        ]

    # -- representations --------------------------------------------------------------------------

    def _user_json(self, user: JiraUser, version: str) -> dict:
        avatar = f"{self.base_url}/secure/useravatar?ownerId={user.account_id}"
        common = {
            "emailAddress": user.email,
            "avatarUrls": {size: f"{avatar}&size={size}" for size in ("16x16", "24x24", "32x32", "48x48")},
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": "Etc/UTC",
        }
        if self.is_cloud:
            return {
                "self": f"{self.base_url}/rest/api/{version}/user?accountId={user.account_id}",
                "accountId": user.account_id,
                "accountType": "atlassian",
                **common,
            }
        return {
            "self": f"{self.base_url}/rest/api/{version}/user?username={user.login}",
            "key": user.account_id,
            "name": user.login,
            **common,
        }

    def _project_json(self, project: JiraProject, version: str) -> dict:
        body = {
            "self": f"{self.base_url}/rest/api/{version}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
        }
        if self.is_cloud:
            body |= {"simplified": False, "style": "classic", "isPrivate": False}
        return body

    def _issue_type_json(self, issue_type: JiraIssueType, version: str) -> dict:
        return {
            "self": f"{self.base_url}/rest/api/{version}/issuetype/{issue_type.id}",
            "id": issue_type.id,
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/issuetypes/{issue_type.name.lower()}.svg",
            "name": issue_type.name,
            "subtask": issue_type.subtask,
        }

    def _status_json(self, status: JiraStatus, version: str) -> dict:
        category = STATUS_CATEGORIES[status.category]
        return {
            "self": f"{self.base_url}/rest/api/{version}/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": {
                "self": f"{self.base_url}/rest/api/{version}/statuscategory/{category['id']}",
                **category,
            },
        }

    def _priority_json(self, name: str, version: str) -> dict:
        priority_id = str(PRIORITY_NAMES.index(name) + 1)
        return {
            "self": f"{self.base_url}/rest/api/{version}/priority/{priority_id}",
            "iconUrl": f"{self.base_url}/images/icons/priorities/{name.lower()}.svg",
            "name": name,
            "id": priority_id,
        }

    def _allowed_value_json(self, spec: FieldSpec, value: dict, version: str) -> dict:
        kind = spec.schema.get("items") or spec.schema["type"]
        if kind == "option":
            return {"self": f"{self.base_url}/rest/api/{version}/customFieldOption/{value['id']}", **value}
        if kind == "priority":
            return self._priority_json(value["name"], version)
        if kind == "issuetype":
            return self._issue_type_json(self._issue_type_by_id(value["id"]), version)
        if kind == "project":
            return self._project_json(self.projects[value["key"]], version)
        return self._component_json(value, version)

    def _component_json(self, component: dict, version: str) -> dict:
        return {"self": f"{self.base_url}/rest/api/{version}/component/{component['id']}", **component}

    def _issue_type_by_id(self, issue_type_id: str) -> JiraIssueType:
        return next(t for p in self.projects.values() for t in p.issue_types if t.id == issue_type_id)

    def _field_meta_json(self, spec: FieldSpec, version: str) -> dict:
        operations = ["add", "set", "remove"] if spec.schema["type"] == "array" else ["set"]
        body = {
            "required": spec.required,
            "schema": spec.schema,
            "name": spec.name,
            "key": spec.field_id,
            "fieldId": spec.field_id,
            "hasDefaultValue": spec.has_default,
            "operations": operations,
        }
        if spec.allowed_values is not None:
            body["allowedValues"] = [self._allowed_value_json(spec, value, version) for value in spec.allowed_values]
        if isinstance(spec.default_value, dict):
            body["defaultValue"] = self._allowed_value_json(spec, spec.default_value, version)
        return body

    def _document_or_text(self, value: str | dict | None, version: str) -> str | dict | None:
        # One stored text, two renderings: v3 answers Atlassian Documents, v2 answers strings.
        if value is None:
            return None
        if version == "3":
            return value if isinstance(value, dict) else document_from_text(value)
        return plain_text(value)

    def _comment_json(self, issue: JiraIssue, comment: JiraComment, version: str) -> dict:
        author = self._user_json(comment.author, version)
        body = {
            "self": f"{self.base_url}/rest/api/{version}/issue/{issue.id}/comment/{comment.id}",
            "id": comment.id,
            "author": author,
            "body": self._document_or_text(comment.body, version),
            "updateAuthor": author,
            "created": jira_timestamp(comment.created),
            "updated": jira_timestamp(comment.updated or comment.created),
        }
        if self.is_cloud:
            body["jsdPublic"] = True
        return body

    def _comments_json(self, issue: JiraIssue, version: str, start: int, limit: int) -> dict:
        page = issue.comments[start : start + limit]
        return {
            "startAt": start,
            "maxResults": limit,
            "total": len(issue.comments),
            "comments": [self._comment_json(issue, comment, version) for comment in page],
        }

    def _attachment_json(self, attachment: JiraAttachment, version: str) -> dict:
        content = (
            f"{self.base_url}/rest/api/3/attachment/content/{attachment.id}"
            if self.is_cloud
            else f"{self.base_url}/secure/attachment/{attachment.id}/{attachment.filename}"
        )
        return {
            "self": f"{self.base_url}/rest/api/{version}/attachment/{attachment.id}",
            "id": attachment.id,
            "filename": attachment.filename,
            "author": self._user_json(attachment.author, version),
            "created": jira_timestamp(attachment.created),
            "size": len(attachment.content),
            "mimeType": attachment.mime_type,
            "content": content,
        }

    def _field_values(self, issue: JiraIssue, version: str) -> dict[str, Any]:
        def user(person: JiraUser | None) -> dict | None:
            return self._user_json(person, version) if person else None

        values = {
            "summary": issue.summary,
            "status": self._status_json(issue.status, version),
            "assignee": user(issue.assignee),
            "reporter": user(issue.reporter),
            "priority": self._priority_json(issue.priority, version) if issue.priority else None,
            "updated": jira_timestamp(issue.updated),
            "created": jira_timestamp(issue.created),
            "resolutiondate": jira_timestamp(issue.resolved) if issue.resolved else None,
            "issuetype": self._issue_type_json(issue.issue_type, version),
            "labels": issue.labels,
            "description": self._document_or_text(issue.description, version),
            "project": self._project_json(issue.project, version),
            "components": [self._component_json(component, version) for component in issue.components],
            "duedate": issue.duedate,
            "fixVersions": [dict(version) for version in issue.fix_versions],
            "comment": self._comments_json(issue, version, 0, 20),
            "attachment": [self._attachment_json(a, version) for a in issue.attachments],
        }
        for field_id, value in issue.custom_fields.items():
            values[field_id] = self._custom_value_json(issue.issue_type.fields[field_id], value, version)
        return values

    def _custom_value_json(self, spec: FieldSpec, value: Any, version: str) -> Any:
        if spec.schema.get("custom") == SPRINT_FIELD_TYPE:
            return [self._sprint_value_json(sprint) for sprint in value] or None
        if isinstance(value, JiraUser):
            return self._user_json(value, version)
        if isinstance(value, list):
            return [self._custom_value_json(spec, item, version) for item in value]
        if isinstance(value, dict) and spec.allowed_values is not None:
            return self._allowed_value_json(spec, value, version)
        if spec.takes_document:
            return self._document_or_text(value, version)
        return value

    def _sprint_value_json(self, sprint: dict) -> dict | str:
        if self.is_cloud:
            keys = ("id", "name", "state", "goal", "startDate", "endDate", "completeDate")
            return {key: sprint[key] for key in keys if key in sprint} | {"boardId": sprint["originBoardId"]}
        fields = {
            "id": sprint["id"],
            "rapidViewId": sprint["originBoardId"],
            "state": sprint["state"].upper(),
            "name": sprint["name"],
            "startDate": sprint.get("startDate") or "<null>",
            "endDate": sprint.get("endDate") or "<null>",
            "completeDate": sprint.get("completeDate") or "<null>",
            "sequence": sprint["id"],
        }
        identity = hashlib.sha256(str(sprint["id"]).encode()).hexdigest()[:8]  # Java's identity hash, made stable
        return (
            f"com.atlassian.greenhopper.service.sprint.Sprint@{identity}["
            + ",".join(f"{name}={value}" for name, value in fields.items())
            + "]"
        )

    def _selected_fields(self, issue: JiraIssue, requested: list[str] | None, default: str) -> list[str]:
        return _resolve_field_names(_field_list(requested) or [default], _field_names(issue))

    def _issue_json(self, issue: JiraIssue, version: str, field_names: list[str]) -> dict:
        body = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue.id,
            "self": f"{self.base_url}/rest/api/{version}/issue/{issue.id}",
            "key": issue.key,
        }
        wanted = [name for name in field_names if name not in ("id", "key")]
        if wanted:
            values = self._field_values(issue, version)
            body["fields"] = {name: values[name] for name in wanted if name in values}
        return body

    def _search_hit_json(self, issue: JiraIssue, version: str, requested: list[str]) -> dict:
        names = _resolve_field_names(requested, _field_names(issue))
        if names == ["id"]:
            return {"id": issue.id}
        return self._issue_json(issue, version, names)


# -- JQL evaluation ------------------------------------------------------------------------------

_FIELD_KINDS = {
    "key": "key",
    "issuekey": "key",
    "id": "key",
    "project": "project",
    "summary": "text",
    "description": "text",
    "comment": "text",
    "text": "text",
    "status": "status",
    "issuetype": "issuetype",
    "type": "issuetype",
    "priority": "priority",
    "assignee": "user",
    "reporter": "user",
    "labels": "labels",
    "created": "date",
    "createddate": "date",
    "updated": "date",
    "updateddate": "date",
}
_OPERATORS = {
    "key": {"=", "!=", "in", "not in", "<", "<=", ">", ">=", "is", "is not"},
    "text": {"~", "!~", "is", "is not"},
    "date": {"=", "!=", "<", "<=", ">", ">=", "is", "is not"},
}
_EQUALITY_OPERATORS = {"=", "!=", "in", "not in", "is", "is not"}
_COMPARISONS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SORTABLE = {
    "key",
    "issuekey",
    "id",
    "created",
    "updated",
    "summary",
    "status",
    "priority",
    "project",
    "issuetype",
    "type",
}


class _JqlSearch:
    """One JQL query compiled against the fake's state, as seen by the authenticated caller.

    Syntax, unknown fields and unsupported operators raise `JqlError` on construction (400 in
    every deployment). Values that name nothing the caller can see (an issue key, a project, a
    status...) are collected in `missing_values`, worded as Data Center's strict validation
    words them; each endpoint decides whether they are an error.
    """

    def __init__(self, fake: JiraFake, query: jql.Query, viewer: JiraUser):
        self.fake = fake
        self.viewer = viewer
        self.now = fake.now()
        self.missing_values: list[str] = []
        self.predicate = self._compile(query.where) if query.where is not None else (lambda issue: True)
        self.sort_keys = [self._sort_key(key) for key in query.order_by]

    def run(self) -> list[JiraIssue]:
        matched = [issue for issue in self.fake.visible_issues() if self.predicate(issue)]
        # Jira documents no order for a query without ORDER BY; the fake answers newest key first.
        matched.sort(key=lambda issue: (issue.project.key, issue.number), reverse=True)
        for key_function, descending in reversed(self.sort_keys):
            matched.sort(key=key_function, reverse=descending)
        return matched

    # -- compilation ------------------------------------------------------------------------------

    def _compile(self, node) -> Callable[[JiraIssue], bool]:
        if isinstance(node, jql.And):
            parts = [self._compile(part) for part in node.parts]
            return lambda issue: all(part(issue) for part in parts)
        if isinstance(node, jql.Or):
            parts = [self._compile(part) for part in node.parts]
            return lambda issue: any(part(issue) for part in parts)
        if isinstance(node, jql.Not):
            inner = self._compile(node.part)
            return lambda issue: not inner(issue)
        return self._compile_clause(node)

    def _compile_clause(self, clause: jql.Clause) -> Callable[[JiraIssue], bool]:
        kind = _FIELD_KINDS.get(clause.field)
        if kind is None:
            raise jql.JqlError(f"Field '{clause.field}' does not exist or you do not have permission to view it.")
        if clause.operator not in _OPERATORS.get(kind, _EQUALITY_OPERATORS):
            raise jql.JqlError(f"The operator '{clause.operator}' is not supported by the '{clause.field}' field.")
        comparison = clause.operator
        if not clause.values and comparison in ("=", "!="):
            # `field = EMPTY` reads as `field IS EMPTY`, `field != EMPTY` as `field IS NOT EMPTY`.
            comparison = "is" if comparison == "=" else "is not"
        if comparison in ("is", "is not"):
            if clause.values:
                raise jql.JqlError(f"The operator '{comparison}' only supports the 'EMPTY' value.")

            def empty(issue: JiraIssue) -> bool:
                return _is_empty(_field_value(issue, clause.field, kind))

            return empty if comparison == "is" else (lambda issue: not empty(issue))
        if not clause.values:
            raise jql.JqlError(f"The operator '{comparison}' does not support searching for EMPTY values.")
        if kind == "text":
            return self._text_clause(clause)
        if kind == "date":
            return self._date_clause(clause)
        if kind == "key" and clause.operator in ("<", "<=", ">", ">="):
            return self._key_range_clause(clause)
        accepted = self._resolve_values(clause, kind)
        negated = clause.operator in ("!=", "not in")

        def matches(issue: JiraIssue) -> bool:
            value = _field_value(issue, clause.field, kind)
            present = set(value) if isinstance(value, list) else {value}
            if negated:
                return not _is_empty(value) and not (present & accepted)
            return bool(present & accepted)

        return matches

    def _text_clause(self, clause: jql.Clause) -> Callable[[JiraIssue], bool]:
        (query,) = clause.values

        def found(issue: JiraIssue) -> bool:
            return jql.text_matches(str(query), _field_value(issue, clause.field, "text"))

        return found if clause.operator == "~" else (lambda issue: not found(issue))

    def _date_clause(self, clause: jql.Clause) -> Callable[[JiraIssue], bool]:
        (value,) = clause.values
        moment = jql.parse_date(str(value), clause.field, self.now)
        compare = _COMPARISONS[clause.operator]
        return lambda issue: compare(_field_value(issue, clause.field, "date"), moment)

    def _key_range_clause(self, clause: jql.Clause) -> Callable[[JiraIssue], bool]:
        (bound,) = self._resolve_values(clause, "key") or {None}
        if bound is None:
            return lambda issue: False
        project_key, number = bound.rsplit("-", 1)
        compare = _COMPARISONS[clause.operator]
        return lambda issue: issue.project.key == project_key and compare(issue.number, int(number))

    def _resolve_values(self, clause: jql.Clause, kind: str) -> set:
        """The stored values a clause's operands stand for; unknown operands are noted as missing."""
        accepted = set()
        for operand in clause.values:
            if isinstance(operand, jql.FunctionCall):
                accepted.add(self._call(operand, kind))
                continue
            resolved = self._resolve(kind, operand, clause.field)
            if resolved is None:
                self.missing_values.append(self._missing_message(kind, operand, clause.field))
            else:
                accepted.add(resolved)
        return accepted

    def _resolve(self, kind: str, operand: str, field_name: str):
        if kind == "key":
            if not (ISSUE_KEY.fullmatch(operand) or operand.isdigit()):
                raise jql.JqlError(f"The issue key '{operand}' for field '{field_name}' is invalid.")
            issue = self.fake.visible_issue(operand)
            return issue.key if issue else None
        if kind == "project":
            project = next(
                (p for p in self.fake.visible_projects() if operand.lower() in (p.key.lower(), p.name.lower(), p.id)),
                None,
            )
            return project.key if project else None
        if kind == "labels":
            return operand
        candidates = {
            "status": [status.name for status in self.fake.statuses],
            "priority": list(PRIORITY_NAMES),
            "issuetype": sorted({t.name for p in self.fake.projects.values() for t in p.issue_types}),
        }.get(kind)
        if candidates is not None:
            return next((name for name in candidates if name.lower() == operand.lower()), None)
        return next((user.login for user in self.fake.users.values() if operand.lower() in user.names()), None)

    def _missing_message(self, kind: str, operand: str, field_name: str) -> str:
        if kind == "key":
            return f"An issue with key '{operand}' does not exist for field '{field_name}'."
        return f"The value '{operand}' does not exist for the field '{field_name}'."

    def _call(self, function: jql.FunctionCall, kind: str):
        if function.name.lower() == "currentuser" and kind == "user":
            return self.viewer.login
        raise jql.JqlError(f"Unable to find JQL function '{function}'.")

    def _sort_key(self, key: jql.SortKey) -> tuple[Callable[[JiraIssue], Any], bool]:
        if key.field not in _FIELD_KINDS:
            raise jql.JqlError(f"Field '{key.field}' does not exist or you do not have permission to view it.")
        if key.field not in _SORTABLE:
            raise jql.JqlError(f"Not able to sort using field '{key.field}'.")
        functions = {
            "key": lambda issue: (issue.project.key, issue.number),
            "created": lambda issue: issue.created,
            "updated": lambda issue: issue.updated,
            "summary": lambda issue: issue.summary.lower(),
            "status": lambda issue: list(STATUS_CATEGORIES).index(issue.status.category),
            # DESC puts Highest first, as in Jira's navigator.
            "priority": lambda issue: -PRIORITY_NAMES.index(issue.priority) if issue.priority else -len(PRIORITY_NAMES),
            "project": lambda issue: issue.project.key,
            "issuetype": lambda issue: issue.issue_type.name,
        }
        canonical = {"issuekey": "key", "id": "key", "type": "issuetype"}.get(key.field, key.field)
        return functions[canonical], key.descending


SYSTEM_FIELD_NAMES = (
    "summary",
    "status",
    "assignee",
    "reporter",
    "priority",
    "updated",
    "created",
    "resolutiondate",
    "issuetype",
    "labels",
    "description",
    "project",
    "components",
    "duedate",
    "fixVersions",
    "comment",
    "attachment",
)


def _field_names(issue: JiraIssue) -> list[str]:
    return [*SYSTEM_FIELD_NAMES, *issue.custom_fields]


def _field_value(issue: JiraIssue, field_name: str, kind: str) -> Any:
    if kind == "text":
        sources = {
            "summary": [issue.summary],
            "description": [plain_text(issue.description)],
            "comment": [plain_text(comment.body) for comment in issue.comments],
        }
        if field_name == "text":
            return "\n".join(text for source in TEXT_FIELD_SOURCES for text in sources[source])
        return "\n".join(sources[field_name])
    if kind == "date":
        return issue.created if field_name.startswith("created") else issue.updated
    if kind == "user":
        person = issue.assignee if field_name == "assignee" else issue.reporter
        return person.login if person else None
    return {
        "key": issue.key,
        "project": issue.project.key,
        "status": issue.status.name,
        "issuetype": issue.issue_type.name,
        "priority": issue.priority,
        "labels": issue.labels,
    }[kind]


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


# -- small helpers -------------------------------------------------------------------------------


def _errors(messages: list[str], errors: dict[str, str] | None = None) -> dict:
    """Jira's error collection: {"errorMessages": [...], "errors": {field: message}}."""
    return {"errorMessages": messages, "errors": errors or {}}


def _json_object(body: bytes) -> dict | None:
    try:
        value = json.loads(body or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _int_param(request: RecordedRequest, name: str, default: int) -> int:
    value = request.param(name)
    return int(value) if value not in (None, "") else default


def _required_message(spec: FieldSpec) -> str:
    if spec.field_id == "summary":
        return "You must specify a summary of the issue."
    return f"{spec.name} is required."


def _choose(allowed: list[dict] | None, reference: dict, by: str, invalid: str) -> tuple[str | None, Any]:
    """Match a {"id": ...} or {by: ...} reference against allowed values; `invalid` names a miss."""
    for candidate in allowed or []:
        if ("id" in reference and str(reference["id"]) == candidate["id"]) or (
            by in reference and reference[by] == candidate[by]
        ):
            return None, candidate
    return invalid.format(reference.get(by, reference.get("id"))), None


def _parses_as(kind: str, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        if kind == "date":
            datetime.strptime(value, "%Y-%m-%d")
        else:
            datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return False
    return True


def _field_list(requested: list[str] | str | None) -> list[str]:
    """`fields` as Jira reads it: repeated parameters and comma-separated lists alike."""
    if requested is None:
        return []
    entries = [requested] if isinstance(requested, str) else requested
    return [name.strip() for entry in entries for name in str(entry).split(",") if name.strip()]


def _resolve_field_names(requested: list[str], available: list[str]) -> list[str]:
    """Expand `*all` / `*navigable`, apply `-field` exclusions, keep the explicitly named fields."""
    navigable = [name for name in available if name not in NON_NAVIGABLE_FIELDS]
    chosen: list[str] = []
    exclusions = {name[1:] for name in requested if name.startswith("-")}
    positive = [name for name in requested if not name.startswith("-")]
    if not positive:
        positive = ["*navigable"]
    for name in positive:
        expansion = {"*all": available, "*navigable": navigable}.get(name, [name])
        chosen += [entry for entry in expansion if entry not in chosen]
    return [name for name in chosen if name not in exclusions]


def _page_token(offset: int, text: str) -> str:
    fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
    return base64.urlsafe_b64encode(f"{offset}:{fingerprint}".encode()).decode()


def _offset_from_token(token: str, text: str) -> int | None:
    """The offset a token stands for, or None when it is malformed or was issued for another query."""
    try:
        offset, fingerprint = base64.urlsafe_b64decode(token.encode()).decode().split(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if fingerprint != hashlib.sha256(text.encode()).hexdigest()[:16] or not offset.isdigit():
        return None
    return int(offset)
