"""Jira Cloud (REST v3) and Jira Server / Data Center (REST v2).

One class, ``_Jira``, does the work; the two deployments differ in a few class attributes
and small methods:

- Cloud speaks REST v3, whose rich text is the Atlassian Document Format; Server/DC speaks
  v2, whose rich text is wiki markup.
- Cloud searches through ``POST /rest/api/3/search/jql`` with ``nextPageToken`` pages (the
  classic ``/rest/api/3/search`` answers 410 Gone there); Server/DC through
  ``POST /rest/api/2/search`` with ``startAt`` pages and ``validateQuery: false``, so a key
  that no longer exists is a warning instead of a 400 that fails the whole batch.
- Cloud identifies users by ``accountId``, Server/DC by ``name``.
- Cloud lists projects through the paged ``project/search``; Server/DC through ``project``.
- A member's OAuth 2.0 (3LO) token reaches a Cloud site through Atlassian's gateway,
  ``https://api.atlassian.com/ex/jira/{cloudId}``.

Both deployments answer ``/rest/api/2/serverInfo`` anonymously; its ``deploymentType``
tells the connection check whether the administrator chose the right kind of Jira.

An issue a search no longer returns is looked at through its project. When the account
cannot browse the project, Jira says nothing either way, so the issue is reported forbidden,
never deleted. When it can, the issue itself is asked for: Jira answers an issue moved to
another project under its new key, and 404 only for an issue that is gone.
"""

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import quote

from django.core.cache import cache

from integrations.errors import PermissionDenied, RemoteValidationError, TrackerError, UpstreamError
from integrations.http import RemoteErrorDetail, TrackerHttpClient, TrackerResponse, UploadPart, generic_error_detail
from integrations.keys import issue_url, key_matches
from integrations.mappings import same_name
from integrations.models import AUTH_TYPES_BY_PROVIDER, AuthType, Provider
from integrations.richtext import adf_to_markdown, markdown_to_adf, markdown_to_wiki, wiki_to_markdown

from .answers import chunks, json_object
from .base import (
    EMAIL,
    PULL_LIMIT,
    BackLink,
    Capability,
    ConnectionReport,
    CreatedIssue,
    CredentialField,
    DraftAttachment,
    EventKind,
    FetchResult,
    FieldValue,
    IssueDraft,
    IssueEvent,
    MatchCount,
    NotConfigured,
    OAuthAccount,
    OAuthApp,
    Person,
    PulledItem,
    PullQuery,
    PullResult,
    RemoteBoard,
    RemoteComment,
    RemoteComponent,
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
    rate_limit_headroom,
    webhook_json,
)

SERVER_INFO = "rest/api/2/serverInfo"  # served by Cloud and Server/DC alike
ATLASSIAN_API = "https://api.atlassian.com"
ATLASSIAN_AUTH = "https://auth.atlassian.com"  # Atlassian's OAuth 2.0 (3LO) authorization server
# Classic scopes: read and file issues, read users; offline_access brings a (rotating) refresh token.
OAUTH_SCOPES = ("read:jira-work", "write:jira-work", "read:jira-user", "offline_access")
KEYS_PER_SEARCH = 100  # issue keys per `key in (...)` request
PROJECT_KEYS_PER_REQUEST = 50  # Cloud's limit for project/search?keys=
SEARCH_LIMIT = 50  # issues search() returns
PROJECTS_NAMED = 5  # projects the connection check names
METADATA_CACHE_SECONDS = 300
CLOUD_ID_CACHE_SECONDS = 24 * 3600
ISSUE_FIELDS = ["summary", "status", "assignee", "priority", "updated", "created", "resolutiondate", "labels"]
WEBHOOKS_API = "rest/webhooks/1.0/webhook"  # administrators' webhooks, which may carry a secret
WEBHOOK_EVENTS = (
    "jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
    "comment_created", "comment_updated", "comment_deleted",
)  # fmt: skip
COMMENT_EVENTS = {
    "comment_created": EventKind.COMMENTED, "comment_updated": EventKind.COMMENT_EDITED,
    "comment_deleted": EventKind.COMMENT_DELETED,
}  # fmt: skip
PULL_FIELDS = [*ISSUE_FIELDS, "description", "issuetype"]
_JQL_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_JQL_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)

# Jira's own key syntax; a key outside it makes JQL fail instead of matching nothing.
JIRA_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-\d+")
# Older Jira Server and Data Center versions answer a sprint field with the toString of greenhopper's
# Sprint: "com.atlassian.greenhopper.service.sprint.Sprint@14b1c359[id=1,state=ACTIVE,
# name=Sprint 1,startDate=...,endDate=...,completeDate=<null>,sequence=1]".
_LEGACY_SPRINT = re.compile(r"com\.atlassian\.greenhopper\.service\.sprint\.Sprint@\w*\[(?P<fields>.*)\]", re.DOTALL)
_LEGACY_SPRINT_FIELD = re.compile(r",(?=\w+=)")  # a comma that starts the next name=value
# Lucene's query syntax characters. Jira's text index ignores punctuation anyway, so they
# become spaces; lower-casing disarms the operators AND, OR and NOT.
_LUCENE_SYNTAX = re.compile(r'[+\-&|!(){}\[\]^"~*?:\\/]')
# The status category (a StatusCategory value) of each Jira status category key.
JIRA_CATEGORY = {"new": "todo", "indeterminate": "in_progress", "done": "done"}
# The fields create_issue sets itself or that name where the issue goes.
_NOT_FORM_FIELDS = ("project", "issuetype")


class DeploymentMismatch(TrackerError):
    """serverInfo says this is another kind of Jira than the source is set up for."""

    code = "deployment_mismatch"
    default_message = "This Jira is not the kind of Jira the source is set up for."


def read_jira_error(response: TrackerResponse) -> RemoteErrorDetail:
    """Jira's ``{"errorMessages": [...], "errors": {field: problem}}``, or Cloud's plain-text sentence."""
    try:
        body = response.json()
    except UpstreamError:
        text = response.content.decode(errors="replace").strip()
        plain = (response.headers.get("Content-Type") or "").startswith("text/plain")
        return RemoteErrorDetail(text if plain and 0 < len(text) <= 300 else None)
    if not isinstance(body, dict) or "errorMessages" not in body:
        return generic_error_detail(response)
    messages = [str(message) for message in body.get("errorMessages") or []]
    errors = body.get("errors")
    field_errors = {str(name): str(problem) for name, problem in errors.items()} if isinstance(errors, dict) else {}
    return RemoteErrorDetail(" ".join(messages) or None, field_errors)


def jql_string(value: str) -> str:
    """``value`` as a JQL string literal: it can only ever be a value, never syntax."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_terms(text: str) -> str:
    """The words of ``text`` for Jira's ``~``, with no Lucene syntax left in them."""
    return " ".join(_LUCENE_SYNTAX.sub(" ", text).lower().split())


def _project_of(key: str) -> str:
    return key.rsplit("-", 1)[0]


def _list(value: Any, response: TrackerResponse, what: str) -> list:
    if not isinstance(value, list):
        raise UpstreamError(f"{response.host} answered without {what}: check the base URL.", status=response.status)
    return value


def _timestamp(value: Any) -> datetime | None:
    """Jira's ``2024-01-31T09:30:00.000+0000`` (ISO 8601; parsed by ``fromisoformat``, some 50 times cheaper
    than ``strptime``, three times an issue). A value without a time zone (a date field) is no timestamp."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _content_key(payload: dict, issue: dict) -> str:
    """The key of a webhook's signed content: its event, issue id and ``timestamp`` (epoch milliseconds),
    with the comment's id and the issue's updated time, which tell apart two changes sent within one
    millisecond. X-Atlassian-Webhook-Identifier is the same on every retry but the signature does not
    cover it, so a replayed body with a new identifier would pass for a new delivery; "" when the body
    lacks the time or the issue's id."""
    stamp, issue_id = payload.get("timestamp"), issue.get("id")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or not isinstance(issue_id, str | int) or not issue_id:
        return ""
    comment = payload.get("comment") if isinstance(payload.get("comment"), dict) else {}
    updated = (issue.get("fields") or {}).get("updated") if isinstance(issue.get("fields"), dict) else None
    parts = (payload.get("webhookEvent"), issue_id, stamp, comment.get("id"), updated)
    return ":".join(["jira", *(str(part or "") for part in parts)])[:200]


def _moved_from(payload: dict, key: str) -> str:
    """The key an issue had before the move to another project that a ``jira:issue_updated`` delivery
    reports: its changelog's ``Key`` item (``fromString`` the old key, ``toString`` the new one, which the
    payload's issue has); "" for any other change."""
    changelog = payload.get("changelog") if isinstance(payload.get("changelog"), dict) else {}
    items = changelog.get("items") if isinstance(changelog.get("items"), list) else []
    for item in items:
        if isinstance(item, dict) and str(item.get("field") or "").lower() == "key":
            old = item.get("fromString")
            if isinstance(old, str) and old.strip() and old.strip().lower() != key.lower():
                return old.strip()
    return ""


def _epoch_ms(value: Any) -> datetime | None:
    """A webhook's ``timestamp``: when the event happened, in milliseconds since the epoch."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _jira_datetime(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def _name(value: Any) -> str:
    """The ``name`` of a Jira object (status, priority), "" when absent."""
    return str(value.get("name") or "") if isinstance(value, dict) else ""


def _markdown_literal(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~&@])", r"\\\1", text)


def _is_rich_text(field_id: str, schema: dict) -> bool:
    return field_id in ("description", "environment") or str(schema.get("custom", "")).endswith(":textarea")


def field_kind(field_id: str, schema: dict) -> str:
    """The ``RemoteField.kind`` of a createmeta schema."""
    kind, items = schema.get("type"), schema.get("items")
    if kind == "string":
        return "rich_text" if _is_rich_text(field_id, schema) else "text"
    if kind == "array":
        if items == "option":
            return "checkboxes" if str(schema.get("custom", "")).endswith(":multicheckboxes") else "multi_select"
        return {"string": "labels", "user": "multi_user", "component": "multi_select", "version": "multi_select"}.get(
            items, "unsupported"
        )
    return {
        "number": "number",
        "date": "date",
        "datetime": "datetime",
        "option": "select",
        "priority": "select",
        "version": "select",
        "user": "user",
    }.get(kind, "unsupported")


def without_order_by(jql: str) -> str:
    """``jql`` without its ORDER BY clause (one outside string literals), so it can be combined."""
    masked = _JQL_STRING.sub(lambda literal: " " * len(literal.group()), jql)
    found = _JQL_ORDER_BY.search(masked)
    return jql[: found.start()] if found else jql


def _day(value: Any) -> date | None:
    """The date of Jira's ``2024-05-31`` or ``2024-05-31T17:00:00.000+0000``; None for other text."""
    if not isinstance(value, str) or len(value) < 10 or value[10:11] not in ("", "T"):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _legacy_sprint(value: Any) -> Any:
    """A sprint written in the legacy string form as the object Jira writes now; any other value
    (a malformed legacy string among them) as it is."""
    found = _LEGACY_SPRINT.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        return value
    fields = dict(part.split("=", 1) for part in _LEGACY_SPRINT_FIELD.split(found["fields"]) if "=" in part)
    if not fields.get("name") or "state" not in fields:
        return value
    return {"name": fields["name"], "state": fields["state"].lower(), "endDate": fields.get("endDate")}


def jira_field_value(value: Any) -> FieldValue:
    """A field's value as pulls map it: a version (its name and release date), a sprint (its name
    and end date, from the object or the legacy string form), an option, a user, a date or date-time,
    text or a number. Of several sprints the active one counts (else the last); of several versions
    the names and the earliest release date."""
    value = _legacy_sprint(value)
    if isinstance(value, list):
        entries = [_legacy_sprint(entry) for entry in value if entry not in (None, "")]
        sprints = [entry for entry in entries if isinstance(entry, dict) and "state" in entry]
        if sprints:
            return jira_field_value(next((s for s in sprints if s.get("state") == "active"), sprints[-1]))
        parts = [jira_field_value(entry) for entry in entries]
        days = [part.day for part in parts if part.day]
        return FieldValue(text=", ".join(part.text for part in parts if part.text), day=min(days, default=None))
    if isinstance(value, dict):
        text = value.get("name") or value.get("value") or value.get("displayName") or ""
        return FieldValue(text=str(text), day=_day(value.get("releaseDate") or value.get("endDate")))
    if value is None or isinstance(value, bool):
        return FieldValue()
    text = str(value).strip()
    return FieldValue(text=text, day=_day(text))


def _allowed_value(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("value") or value.get("name") or value.get("id") or "")
    return str(value)


def _labels(fields: dict) -> tuple[str, ...] | None:
    """An issue's ``labels`` field; None when the answer did not carry it."""
    if not isinstance(fields.get("labels"), list):
        return None
    return tuple(str(label) for label in fields["labels"] if isinstance(label, str) and label)


class _Jira(TrackerProvider, ABC):
    api_version: ClassVar[str]
    deployment_types: ClassVar[frozenset[str]]  # serverInfo deploymentType values of this kind of Jira
    user_id_field: ClassVar[str]  # how the API names a user: accountId or name
    user_search_parameter: ClassVar[str]
    default_key_pattern = r"^[A-Z][A-Z0-9_]+-\d+$"
    default_issue_url_template = "{baseUrl}/browse/{key}"
    default_create_url_template = "{baseUrl}/secure/CreateIssue!default.jspa"
    capabilities = frozenset(
        {Capability.READ_DETAILS, Capability.CREATE_ISSUES, Capability.ADD_COMMENTS, Capability.PROCESS_WEBHOOKS}
    )
    external_project_hint = "Jira project key, e.g. SHOP"
    external_project_pattern = r"^[A-Z][A-Z0-9_]+$"
    read_error_detail = staticmethod(read_jira_error)
    pull_filter_hint = (
        "JQL, e.g. labels = requirement AND status != Cancelled; testmanager adds the project and the types "
        "(an ORDER BY is ignored)."
    )
    pull_field_hint = (
        "Jira field ids: fixVersions (a version and its release date), duedate, resolution, priority, "
        "or a custom field's customfield_NNNNN (e.g. the Sprint field)."
    )
    page_size = 100  # items asked for per page
    draft_field_ids = {
        "summary": "title", "description": "description", "priority": "priority", "labels": "labels",
        "assignee": "assignee", "components": "components", "duedate": "due_date",
    }  # fmt: skip
    links_back_natively = True  # remote issue links
    keys_per_request = KEYS_PER_SEARCH

    # -- connection --

    def whoami(self) -> ConnectionReport:
        with self.client() as http:
            self._check_deployment(http)
            response = http.get(self._api("myself"))
            body = json_object(response, "a user")
            total, named = self._project_access(http)
        name = body.get("displayName") or ""
        login = body.get("emailAddress") or body.get("name") or body.get("accountId") or ""
        user = f"{name} ({login})" if name and login and name != login else name or login
        if total:
            among = ", among them" if total > len(named) else ":"
            access = f"The account can browse {total} project{'s' if total != 1 else ''}{among} {', '.join(named)}."
        else:
            access = "The account cannot browse any project: grant it the Browse Projects permission in Jira."
        remaining, limit = rate_limit_headroom(response)
        return ConnectionReport(
            user=user,
            detail=f"Signed in to Jira as {user}.",
            access=access,
            rate_limit_remaining=remaining,
            rate_limit_limit=limit,
        )

    def check_reachable(self) -> ConnectionReport:
        """serverInfo answers anonymously and says which Jira this is."""
        with self.client() as http:
            info, response = self._check_deployment(http)
        jira = " ".join(str(part) for part in ("Jira", info.get("deploymentType"), info.get("version")) if part)
        return ConnectionReport(
            user="",
            detail=f"{jira} answers at {response.host}; members authorize their own accounts.",
        )

    def _check_deployment(self, http: TrackerHttpClient) -> tuple[dict, TrackerResponse]:
        """serverInfo, or ``DeploymentMismatch`` when it names the other kind of Jira."""
        response = http.get(SERVER_INFO)
        info = json_object(response, "Jira's server information")
        # Cloud always names itself "Cloud"; a Jira that names no deployment type is not Cloud.
        deployment = str(info.get("deploymentType") or "Server")
        if deployment not in self.deployment_types:
            actual = JiraCloud if deployment == "Cloud" else JiraServer
            raise DeploymentMismatch(
                f"{response.host} is {actual.label} (deploymentType {deployment}), but this source is set up "
                f"as {self.label}: change the source's tracker to {actual.label}."
            )
        return info, response

    # -- discovery --

    def projects(self) -> list[RemoteProject]:
        with self.client() as http:
            return [
                RemoteProject(key=str(project.get("key")), name=str(project.get("name") or project.get("key")))
                for project in self._projects(http)
            ]

    def find_project(self, project: str) -> RemoteProject:
        """One project by key, among those the account can browse (an unknown project and one the
        account may not browse read alike in Jira)."""
        key = project.strip().upper()
        with self.client() as http:
            for found in self._projects(http, {key}):
                if str(found.get("key")).upper() == key:
                    return RemoteProject(key=str(found.get("key")), name=str(found.get("name") or key))
        raise UnknownProject(f"Jira has no project with the key {key} that the source's account can browse.")

    def boards(self, project: str) -> list[RemoteBoard]:
        """The project's boards (Jira Software's agile API, "Get all boards" with projectKeyOrId); a site
        without Jira Software has no agile API (404), so no boards."""
        key = project.strip().upper()
        with self.client() as http:
            return [
                RemoteBoard(id=str(board.get("id")), name=str(board.get("name") or board.get("id")))
                for board in self._pages(http, "rest/agile/1.0/board", "values", {"projectKeyOrId": key})
                if board.get("id") is not None
            ]

    def components(self, project: str) -> list[RemoteComponent]:
        """The project's components ("Get project components": every one, unpaged)."""
        key = project.strip().upper()
        with self.client() as http:
            response = http.get(self._api(f"project/{quote(key, safe='')}/components"))
            return [
                RemoteComponent(id=str(entry.get("id")), name=str(entry.get("name")))
                for entry in _list(response.json(), response, "a list of components")
                if isinstance(entry, dict) and entry.get("name")
            ]

    def issue_types(self, project: str) -> list[RemoteIssueType]:
        """The issue types testmanager can create in ``project`` (sub-tasks need a parent, so not those)."""
        project = project.upper()

        def load() -> list[RemoteIssueType]:
            with self.client() as http:
                entries = self._pages(
                    http, self._api(f"issue/createmeta/{quote(project, safe='')}/issuetypes"), "issueTypes"
                )
                return [
                    RemoteIssueType(id=str(entry.get("id")), name=str(entry.get("name")))
                    for entry in entries
                    if not entry.get("subtask")
                ]

        return self._cached(load, "issuetypes", project)

    def fields(self, project: str, issue_type: str) -> list[RemoteField]:
        """The create-screen fields of an issue type (by id or name); ``required`` means Jira needs
        a value and has no default."""
        found = self._issue_type(project, issue_type)
        return [
            RemoteField(
                id=field_id,
                name=str(meta.get("name") or field_id),
                required=bool(meta.get("required")) and not meta.get("hasDefaultValue"),
                kind=field_kind(field_id, meta.get("schema") or {}),
                allowed_values=tuple(_allowed_value(value) for value in meta.get("allowedValues") or ()),
            )
            for field_id, meta in self._field_meta(project, found.id).items()
            if field_id not in _NOT_FORM_FIELDS
        ]

    def _issue_type(self, project: str, wanted: str) -> RemoteIssueType:
        offered = self.issue_types(project)
        for issue_type in offered:
            if wanted == issue_type.id or same_name(wanted, issue_type.name):
                return issue_type
        names = ", ".join(issue_type.name for issue_type in offered) or "none testmanager can create"
        problem = f"The Jira project {project.upper()} has no issue type “{wanted}”; it offers {names}."
        raise RemoteValidationError(
            f"{problem} A project administrator must choose one of them.", field_errors={"issuetype": problem}
        )

    def _field_meta(self, project: str, issue_type_id: str) -> dict[str, dict]:
        project = project.upper()

        def load() -> dict[str, dict]:
            path = self._api(f"issue/createmeta/{quote(project, safe='')}/issuetypes/{quote(issue_type_id, safe='')}")
            with self.client() as http:
                return {str(meta.get("fieldId") or meta.get("key")): meta for meta in self._pages(http, path, "fields")}

        return self._cached(load, "fields", project, issue_type_id)

    # -- reading issues --

    def fetch_many(self, keys: Iterable[str]) -> FetchResult:
        """Current state of many issues, ``KEYS_PER_SEARCH`` keys per request."""
        asked: dict[str, list[str]] = {}  # upper-cased key -> the spellings asked for
        for key in keys:
            spellings = asked.setdefault(key.strip().upper(), [])
            if key not in spellings:
                spellings.append(key)
        malformed = [key for key in asked if not JIRA_KEY.fullmatch(key)]
        wanted = [key for key in asked if JIRA_KEY.fullmatch(key)]
        found: dict[str, RemoteIssue] = {}  # by the upper-cased key asked for
        gone, hidden = [], []
        with self.client() as http:
            for batch in chunks(wanted, KEYS_PER_SEARCH):
                jql = "key in (" + ", ".join(jql_string(key) for key in batch) + ")"
                for issue in self._jql(http, jql, len(batch)):
                    found[issue.key.upper()] = issue
            unseen = [key for key in wanted if key not in found]
            browsable = self._browsable_projects(http, {_project_of(key) for key in unseen}) if unseen else set()
            for key in unseen:
                if _project_of(key) not in browsable:
                    hidden.append(key)
                    continue
                response = http.get(
                    self._api(f"issue/{quote(key, safe='')}"), params={"fields": ",".join(ISSUE_FIELDS)}, accept=(404,)
                )
                if response.status == 404:
                    gone.append(key)
                else:
                    found[key] = self._remote_issue(json_object(response, "an issue"), response)

        def spellings(selected: Iterable[str]) -> frozenset[str]:
            return frozenset(spelling for key in selected for spelling in asked[key])

        return FetchResult(
            issues={spelling: issue for key, issue in found.items() if key in asked for spelling in asked[key]},
            missing=spellings([*malformed, *gone]),
            forbidden=spellings(hidden),
        )

    def search(self, text: str, within: Sequence[str] | None = None) -> list[RemoteIssue]:
        """Issues whose key is ``text`` or whose summary or description contain its words, newest first;
        with ``within``, only in those Jira projects (``project in (...)`` ANDed to the JQL)."""
        clauses = []
        candidate = text.strip().upper()
        key_pattern = self.source.key_pattern or self.default_key_pattern
        if JIRA_KEY.fullmatch(candidate) and key_matches(key_pattern, candidate):
            clauses.append(f"key = {jql_string(candidate)}")
        terms = text_terms(text)
        if terms:
            clauses += [f"summary ~ {jql_string(terms)}", f"description ~ {jql_string(terms)}"]
        if not clauses:
            return []
        condition = " OR ".join(clauses)
        if within is not None:
            if not within:
                raise NotConfigured("This project's integration names no Jira project to search in.")
            projects = ", ".join(jql_string(project.strip().upper()) for project in within)
            condition = f"({condition}) AND project in ({projects})"
        with self.client() as http:
            return list(self._jql(http, condition + " ORDER BY updated DESC", SEARCH_LIMIT))

    def pull(self, query: PullQuery, known: Iterable[str] = ()) -> PullResult:
        """Issues of the project matching the JQL filter (its ORDER BY dropped) and of the given
        types, by key. A known key the search leaves out is deleted when Jira answers 404 for the
        issue itself (see ``fetch_many``: a hidden project's issues are never taken for deleted)."""
        fields = list(dict.fromkeys([*PULL_FIELDS, *query.fields]))
        with self.client() as http:
            hits = self._hits(http, self._pull_jql(query) + " ORDER BY key ASC", PULL_LIMIT, fields)
            items = tuple(self._pulled_item(raw, response, query.fields) for raw, response in hits)
        seen = {item.key.upper() for item in items}
        unseen = [key for key in known if key.strip().upper() not in seen]
        return PullResult(items=items, deleted=self.fetch_many(unseen).missing if unseen else frozenset())

    def count_matching(self, query: PullQuery) -> MatchCount:
        """How many issues the pull's JQL selects; Jira's message when it refuses the JQL."""
        with self.client() as http:
            return self._count(http, self._pull_jql(query))

    @abstractmethod
    def _count(self, http: TrackerHttpClient, jql: str) -> MatchCount:
        """How many issues ``jql`` (no ORDER BY) selects, by the deployment's counting search."""

    @staticmethod
    def _pull_jql(query: PullQuery) -> str:
        """The JQL of a pull, without an order: the project, the filter (its ORDER BY dropped), the types."""
        clauses = []
        if query.project.strip():
            clauses.append(f"project = {jql_string(query.project.strip().upper())}")
        condition = without_order_by(query.filter).strip()
        if condition:
            clauses.append(f"({condition})")
        if query.item_types:
            clauses.append("issuetype in (" + ", ".join(jql_string(name) for name in query.item_types) + ")")
        if not clauses:
            raise NotConfigured(
                "Pulling from Jira needs a Jira project or a JQL filter: a project administrator must set one."
            )
        return " AND ".join(clauses)

    def _pulled_item(self, raw: Any, response: TrackerResponse, field_ids: Iterable[str]) -> PulledItem:
        issue = self._remote_issue(raw, response)
        fields = raw.get("fields") if isinstance(raw.get("fields"), dict) else {}
        return PulledItem(
            **vars(issue),
            description=self.markdown(fields.get("description")),
            item_type=_name(fields.get("issuetype")),
            fields={field_id: jira_field_value(fields.get(field_id)) for field_id in field_ids},
        )

    def plans(self, project: str, board: str = "") -> list[RemotePlan]:
        """The project's versions (not archived) as releases and, given a board id, the board's sprints
        (Jira Software's agile API)."""
        project, board = project.strip().upper(), board.strip()
        if not project:
            raise NotConfigured("This project integration names no Jira project to read releases from.")
        if board and not board.isdigit():
            raise RemoteValidationError(
                f"“{board}” is not a Jira board id: the board's number is in its address "
                "(…/boards/12), enter that in the project integration."
            )
        with self.client() as http:
            response = http.get(self._api(f"project/{quote(project, safe='')}/versions"))
            found = [
                RemotePlan(
                    "release",
                    str(version.get("id")),
                    str(version.get("name") or ""),
                    start=_day(version.get("startDate")),
                    end=_day(version.get("releaseDate")),
                    done=bool(version.get("released")),
                )
                for version in _list(response.json(), response, "a list of versions")
                if isinstance(version, dict) and not version.get("archived")
            ]
            if board:
                found += [
                    RemotePlan(
                        "sprint",
                        str(sprint.get("id")),
                        str(sprint.get("name") or ""),
                        start=_day(sprint.get("startDate")),
                        end=_day(sprint.get("endDate")),
                        done=sprint.get("state") == "closed",
                    )
                    for sprint in self._pages(http, f"rest/agile/1.0/board/{board}/sprint", "values")
                ]
        return found

    def _jql(self, http: TrackerHttpClient, jql: str, limit: int) -> Iterator[RemoteIssue]:
        """Up to ``limit`` issues matching ``jql``, page after page."""
        for raw, response in self._hits(http, jql, limit, ISSUE_FIELDS):
            yield self._remote_issue(raw, response)

    def _hits(
        self, http: TrackerHttpClient, jql: str, limit: int, fields: list[str]
    ) -> Iterator[tuple[Any, TrackerResponse]]:
        """Up to ``limit`` raw issues matching ``jql`` with ``fields``, each with the response it came in."""
        returned = 0
        cursor = None
        while returned < limit:
            response, issues, cursor = self._search_page(
                http, jql, min(self.page_size, limit - returned), cursor, fields
            )
            for raw in issues[: limit - returned]:
                yield raw, response
            returned += len(issues)
            if cursor is None or not issues:
                return

    @abstractmethod
    def _search_page(
        self, http: TrackerHttpClient, jql: str, size: int, cursor: Any, fields: list[str]
    ) -> tuple[TrackerResponse, list, Any]:
        """(response, issues with ``fields``, cursor of the next page or None); the first page has cursor None."""

    def _remote_issue(self, raw: Any, response: TrackerResponse) -> RemoteIssue:
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
            raise UpstreamError(
                f"{response.host} answered with an issue that has no key: check the base URL.", status=response.status
            )
        fields = raw.get("fields") if isinstance(raw.get("fields"), dict) else {}
        status = fields.get("status") if isinstance(fields.get("status"), dict) else {}
        category = (status.get("statusCategory") or {}).get("key")
        assignee = fields.get("assignee") if isinstance(fields.get("assignee"), dict) else {}
        return RemoteIssue(
            key=raw["key"],
            title=str(fields.get("summary") or ""),
            status=_name(status),
            status_category=JIRA_CATEGORY.get(category, "unknown"),
            assignee=str(assignee.get("displayName") or ""),
            priority=_name(fields.get("priority")),
            url=self._issue_url(raw["key"]),
            updated_at=_timestamp(fields.get("updated")),
            created_at=_timestamp(fields.get("created")),
            resolved_at=_timestamp(fields.get("resolutiondate")),
            labels=_labels(fields),
        )

    def _issue_url(self, key: str) -> str:
        template = self.source.issue_url_template or self.default_issue_url_template
        return issue_url(template, base_url=self.source.base_url, key=key)

    # -- writing --

    def create_issue(self, draft: IssueDraft) -> CreatedIssue:
        """File ``draft``; never somewhere it does not name. What Jira computes (status,
        assignee's name) arrives with the next refresh."""
        if not draft.project.strip():
            raise NotConfigured(
                "This project integration names no Jira project: a project administrator must choose the "
                "Jira project that issues are filed in."
            )
        if not draft.issue_type.strip():
            raise NotConfigured(
                "No issue type was chosen and the project integration has no default issue type: choose one, "
                "or ask a project administrator to set a default."
            )
        project = draft.project.strip().upper()
        issue_type = self._issue_type(project, draft.issue_type.strip())
        meta = self._field_meta(project, issue_type.id)
        notes = []
        with self.client() as http:
            reporter = self._reporter(http, draft.reporter, meta)
            description = draft.description.strip()
            if draft.reporter is not None and self.user_token is None and reporter is None:
                who = " ".join((draft.reporter.name or draft.reporter.email).split())
                note = f"Reported by {_markdown_literal(who)} via testmanager."
                description = f"{description}\n\n{note}" if description else note
                notes.append(
                    f"Jira records the integration's account as the reporter: no Jira user has {who}'s e-mail "
                    "address or display name, or the reporter cannot be set on this issue type."
                )
            values = {
                "summary": draft.title,
                "description": description,
                "priority": draft.priority,
                "labels": list(draft.labels),
                "components": list(draft.components),
                "duedate": draft.due_date,
                "assignee": draft.assignee,
                "reporter": reporter,
                **draft.fields,
            }
            fields = self._create_fields(project, issue_type, meta, values)
            response = http.post(self._api("issue"), json={"fields": fields})
            created = json_object(response, "the created issue")
            key = str(created.get("key") or "")
            if not key:
                raise UpstreamError(
                    f"{response.host} created an issue but did not say its key.", status=response.status
                )
            sent = self.send_files(draft.attachments, lambda file: self._attach(http, key, file))
            notes += sent.notes
        return CreatedIssue(
            key=key,
            title=draft.title,
            status="",
            status_category="unknown",
            assignee="",
            priority=draft.priority or "",
            url=self._issue_url(key),
            updated_at=None,
            notes=tuple(notes),
            unsent_files=sent.unsent,
        )

    def _reporter(self, http: TrackerHttpClient, person: Person | None, meta: dict[str, dict]) -> str | None:
        """The Jira account to record as reporter, when filing with a shared credential: the
        user with the person's e-mail address, else the one user with their display name.
        Jira lists the reporter among the create fields only to accounts that may set it."""
        if person is None or self.user_token is not None or "reporter" not in meta:
            return None
        for term, value_of in ((person.email, "emailAddress"), (person.name, "displayName")):
            if not term.strip():
                continue
            matches = [
                user
                for user in self._find_users(http, term)
                if user.get("active", True)
                and user.get(self.user_id_field)
                and same_name(str(user.get(value_of) or ""), term)
            ]
            if len(matches) == 1:
                return str(matches[0][self.user_id_field])
        return None

    def _find_users(self, http: TrackerHttpClient, term: str) -> list:
        query = " ".join(term.split())
        response = http.get(self._api("user/search"), params={self.user_search_parameter: query, "maxResults": 50})
        return [user for user in _list(response.json(), response, "a list of users") if isinstance(user, dict)]

    def owner_account(self) -> RemoteUser:
        """Get current user (``GET /myself``): Cloud's accountId, Data Center's user name."""
        with self.client() as http:
            body = json_object(http.get(self._api("myself")), "a user")
        account = str(body.get(self.user_id_field) or "")
        if not account:
            raise UpstreamError("Jira did not name the signed-in account.")
        return RemoteUser(id=account, name=str(body.get("displayName") or account))

    def users(self, project: str, text: str) -> list[RemoteUser]:
        """Active users whose name or e-mail address starts with ``text`` (Jira's user search)."""
        if not text.strip():
            return []
        with self.client() as http:
            found = self._find_users(http, text)
        return [
            RemoteUser(id=str(user[self.user_id_field]), name=str(user.get("displayName") or user[self.user_id_field]))
            for user in found
            if user.get("active", True) and user.get(self.user_id_field)
        ]

    def link_back(self, key: str, link: BackLink) -> None:
        """A remote issue link ("tested by") to the page, with its test status as the link's status.
        Its globalId is derived from the URL, so linking the same page again updates the link."""
        remote_link: dict[str, Any] = {
            "globalId": "testmanager:" + hashlib.sha256(link.url.encode()).hexdigest(),
            "application": {"type": "testmanager", "name": "testmanager"},
            "relationship": "tested by",
            "object": {
                "url": link.url,
                "title": link.title[:255],
                "summary": link.status,
                "status": {"resolved": link.resolved},
            },
        }
        if link.icon_url:
            remote_link["object"]["icon"] = {"url16x16": link.icon_url, "title": "testmanager"}
        if link.status_icon_url:
            remote_link["object"]["status"]["icon"] = {"url16x16": link.status_icon_url, "title": link.status}
        with self.client() as http:
            http.post(self._api(f"issue/{quote(key, safe='')}/remotelink"), json=remote_link)

    def _create_fields(
        self, project: str, issue_type: RemoteIssueType, meta: dict[str, dict], values: dict[str, Any]
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"project": {"key": project}, "issuetype": {"id": issue_type.id}}
        errors = {}
        for field_id, value in values.items():
            if value is None or value == "" or value == []:
                continue
            if field_id not in meta:
                errors[field_id] = (
                    f"“{field_id}” is not on the create screen of {issue_type.name} in {project}: add it to the "
                    "screen in Jira or leave it empty."
                )
                continue
            try:
                fields[field_id] = self._field_value(meta[field_id], field_id, value)
            except ValueError as error:
                errors[field_id] = str(error)
        if errors:
            raise RemoteValidationError(
                "Some values cannot be sent to Jira: " + " ".join(errors.values()), field_errors=errors
            )
        return fields

    def _field_value(self, meta: dict, field_id: str, value: Any) -> Any:
        """``value`` in the shape Jira's create API takes for the field; ``ValueError`` saying why not."""
        schema = meta.get("schema") or {}
        name = meta.get("name") or field_id
        if schema.get("type") == "array":
            items = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
            return [self._single_value(schema.get("items"), name, field_id, schema, item) for item in items]
        return self._single_value(schema.get("type"), name, field_id, schema, value)

    def _single_value(self, kind: Any, name: str, field_id: str, schema: dict, value: Any) -> Any:
        if kind == "string":
            return self.rich_text(str(value)) if _is_rich_text(field_id, schema) else str(value)
        if kind == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            try:
                return float(str(value))
            except ValueError:
                raise ValueError(f"{name} takes a number, not “{value}”.") from None
        if kind == "date":
            if isinstance(value, datetime) or not isinstance(value, (date, str)):
                raise ValueError(f"{name} takes a date (YYYY-MM-DD).")
            return value if isinstance(value, str) else value.isoformat()
        if kind == "datetime":
            if isinstance(value, datetime) and value.tzinfo is None:
                raise ValueError(f"{name} takes a date and time with a time zone.")
            if not isinstance(value, (datetime, str)):
                raise ValueError(f"{name} takes a date and time.")
            return value if isinstance(value, str) else _jira_datetime(value)
        if kind == "option":
            return {"value": str(value)}
        if kind in ("priority", "component", "version"):
            return {"name": str(value)}
        if kind == "user":
            return {self.user_id_field: str(value)}
        raise ValueError(f"testmanager cannot fill {name} (Jira field type {kind}): give it a default value in Jira.")

    @abstractmethod
    def rich_text(self, markdown: str) -> Any:
        """Markdown in this Jira's rich-text format."""

    @abstractmethod
    def markdown(self, rich_text: Any) -> str:
        """This Jira's rich text as Markdown."""

    def _attach(self, http: TrackerHttpClient, key: str, file: DraftAttachment) -> None:
        """One file to the issue's attachments (multipart, part ``file``). Jira's XSRF filter blocks a
        multipart post without ``X-Atlassian-Token: no-check``; one file a request, so a refusal
        (413 too large, 403 no attach permission) names that file alone."""
        http.post(
            self._api(f"issue/{quote(key, safe='')}/attachments"),
            files=[UploadPart("file", file.filename, file.content, file.content_type)],
            headers={"X-Atlassian-Token": "no-check"},
        )

    def add_comment(self, key: str, body: str) -> str:
        with self.client() as http:
            response = http.post(self._api(f"issue/{quote(key, safe='')}/comment"), json={"body": self.rich_text(body)})
        return str(json_object(response, "the comment").get("id") or "")

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        path = self._api(f"issue/{quote(key, safe='')}/comment/{quote(comment_id, safe='')}")
        with self.client() as http:
            http.put(path, json={"body": self.rich_text(body)})

    def comments(self, key: str) -> list[RemoteComment]:
        """Every comment on the issue, oldest first (Jira's order), as Markdown."""
        with self.client() as http:
            entries = list(self._pages(http, self._api(f"issue/{quote(key, safe='')}/comment"), "comments"))
        return [
            RemoteComment(
                id=str(entry.get("id") or ""),
                author=str((entry.get("author") or {}).get("displayName") or ""),
                body=self.markdown(entry.get("body")),
                created_at=_timestamp(entry.get("created")),
                updated_at=_timestamp(entry.get("updated")),
            )
            for entry in entries
        ]

    def transition(self, key: str, status: str) -> None:
        """Move the issue to the status named ``status`` through a transition Jira offers; nothing
        to do when it is there already."""
        issue_path = self._api(f"issue/{quote(key, safe='')}")
        with self.client() as http:
            response = http.get(f"{issue_path}/transitions")
            offered = [
                entry
                for entry in _list(json_object(response, "transitions").get("transitions"), response, "transitions")
                if isinstance(entry, dict)
            ]
            chosen = next((entry for entry in offered if same_name(_name(entry.get("to")), status)), None)
            if chosen is not None:
                http.post(f"{issue_path}/transitions", json={"transition": {"id": chosen.get("id")}})
                return
            issue = json_object(http.get(issue_path, params={"fields": "status"}), "an issue")
        current = _name((issue.get("fields") or {}).get("status"))
        if same_name(current, status):
            return
        reachable = ", ".join(sorted({_name(entry.get("to")) for entry in offered})) or "none"
        problem = f"{key} cannot move from {current or 'its status'} to “{status}”: Jira offers {reachable}."
        raise RemoteValidationError(
            f"{problem} Check the project integration's status mapping against the Jira workflow.",
            field_errors={"status": problem},
        )

    def update_issue(self, key: str, draft: IssueDraft) -> None:
        """Edit issue (``PUT /issue/{key}`` with ``fields``; Jira answers 204): the fields not sent stay."""
        fields: dict[str, Any] = {
            "summary": draft.title,
            "description": self.rich_text(draft.description.strip()),
            "labels": [label.replace(" ", "-") for label in dict.fromkeys(draft.labels)],
        }
        if draft.priority:
            fields["priority"] = {"name": draft.priority}
        with self.client() as http:
            http.put(self._api(f"issue/{quote(key, safe='')}"), json={"fields": fields})

    def set_priority(self, key: str, priority: str) -> None:
        with self.client() as http:
            http.put(self._api(f"issue/{quote(key, safe='')}"), json={"fields": {"priority": {"name": priority}}})

    def set_labels(self, key: str, labels: Sequence[str]) -> None:
        """Edit issue with ``fields.labels`` (the whole set; Jira answers 204)."""
        with self.client() as http:
            http.put(
                self._api(f"issue/{quote(key, safe='')}"),
                json={"fields": {"labels": [self.label_for(label) for label in dict.fromkeys(labels)]}},
            )

    @classmethod
    def label_for(cls, tag: str) -> str:
        """Jira labels take no spaces: "ui bug" is the label ``ui-bug``."""
        return "-".join(tag.split())

    # -- webhooks --

    def verify_webhook(self, request) -> None:
        """A webhook registered with a secret signs its body: ``X-Hub-Signature: sha256=<hex HMAC-SHA256>``."""
        self.check_signature(request.body, request.headers.get("X-Hub-Signature"), prefix="sha256=")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] = MappingProxyType({})) -> list[IssueEvent]:
        """Issue created/updated/deleted and comment created/updated/deleted events. Webhooks describe
        issues and comments as REST v2 does (a comment's body in wiki markup, also on Cloud). An issue's
        fields the payload leaves out are unknown; a comment event names its issue only in part, so its
        state is carried only when the payload dates it (``updated``), else the comment alone."""
        payload = webhook_json(body)
        raw = payload.get("issue")
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
            return []
        delivery = delivery_id(headers, body, "X-Atlassian-Webhook-Identifier")
        event, key = payload.get("webhookEvent"), raw["key"]
        content = _content_key(payload, raw)
        if event == "jira:issue_deleted":
            changed = _timestamp((raw.get("fields") or {}).get("updated"))
            return [IssueEvent(EventKind.DELETED, key, changed, delivery, content_key=content)]
        if event in ("jira:issue_created", "jira:issue_updated"):
            issue = self._hook_issue(raw, body)
            kind = EventKind.CREATED if event == "jira:issue_created" else EventKind.UPDATED
            moved_from = _moved_from(payload, key)
            return [
                IssueEvent(
                    kind, key, issue.updated_at, delivery, issue=issue, content_key=content, moved_from=moved_from
                )
            ]
        comment, kind = payload.get("comment"), COMMENT_EVENTS.get(str(event))
        if kind is None or not isinstance(comment, dict) or not comment.get("id"):
            return []
        created, updated = _timestamp(comment.get("created")), _timestamp(comment.get("updated"))
        remote_comment = RemoteComment(
            id=str(comment["id"]),
            author=str((comment.get("author") or {}).get("displayName") or ""),
            body=self._hook_markdown(comment.get("body")),
            created_at=created,
            updated_at=updated,
        )
        dated = isinstance(raw.get("fields"), dict) and "updated" in raw["fields"]
        when = _epoch_ms(payload.get("timestamp")) if kind == EventKind.COMMENT_DELETED else updated or created
        issue = self._hook_issue(raw, body) if dated else None
        return [IssueEvent(kind, key, when, delivery, issue=issue, comment=remote_comment, content_key=content)]

    def _hook_issue(self, raw: dict, body: bytes) -> PulledItem:
        """A webhook's issue, read as a pull reads it (its description in the webhook's rich text): the
        fields it leaves out are unknown."""
        fields = raw.get("fields") if isinstance(raw.get("fields"), dict) else {}
        missing = fields_missing(
            fields,
            title="summary",
            status="status",
            assignee="assignee",
            priority="priority",
            created_at="created",
            description="description",
        )
        item = self._pulled_item(raw, delivery_response(self.source, body), ())
        return replace(item, description=self._hook_markdown(fields.get("description")), unknown=missing)

    def _hook_markdown(self, rich_text: Any) -> str:
        """Rich text of a webhook as Markdown: webhooks send REST v2's wiki markup, also on Cloud (where the
        API's own answers are ADF)."""
        return wiki_to_markdown(rich_text) if isinstance(rich_text, str) else self.markdown(rich_text)

    def register_webhook(self, url: str, secret: str) -> list[str]:
        """An administrator's webhook (the account must administer Jira) for issue and comment events of
        the source's projects, signed with ``secret``; one already sending to ``url`` is updated."""
        projects = self.assigned_projects()
        if not projects:
            raise NotConfigured(
                "No project integration names a Jira project: assign the source to a project with "
                "its project key first."
            )
        hook = {
            "name": "testmanager",
            "url": url,
            "events": list(WEBHOOK_EVENTS),
            "excludeBody": False,
            "secret": secret,
            "filters": {"issue-related-events-section": f"project in ({', '.join(map(jql_string, projects))})"},
        }
        with self.client() as http:
            response = http.get(WEBHOOKS_API)
            existing = next(
                (
                    entry
                    for entry in _list(response.json(), response, "webhooks")
                    if isinstance(entry, dict) and entry.get("url") == url
                ),
                None,
            )
            if existing is None:
                response = http.post(WEBHOOKS_API, json=hook)
            else:
                response = http.put(f"{WEBHOOKS_API}/{str(existing.get('self') or '').rsplit('/', 1)[-1]}", json=hook)
        return [str(json_object(response, "a webhook").get("self") or "").rsplit("/", 1)[-1]]

    # -- plumbing --

    def _api(self, path: str) -> str:
        return f"rest/api/{self.api_version}/{path}"

    def _pages(self, http: TrackerHttpClient, path: str, items_key: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a ``startAt`` paged list (Cloud names the list ``items_key``, Server/DC ``values``)."""
        start = 0
        while True:
            response = http.get(path, params={**(params or {}), "startAt": start, "maxResults": self.page_size})
            body = json_object(response, "a page of results")
            items = _list(body.get(items_key, body.get("values")), response, "a list of results")
            yield from (item for item in items if isinstance(item, dict))
            start += len(items)
            last = body.get("isLast")
            if last is None:
                total = body.get("total")
                last = start >= total if isinstance(total, int) else len(items) < self.page_size
            if last or not items:
                return

    @abstractmethod
    def _projects(self, http: TrackerHttpClient, keys: Collection[str] = ()) -> Iterable[dict]:
        """The projects the account can browse, only those in ``keys`` when given."""

    @abstractmethod
    def _project_access(self, http: TrackerHttpClient) -> tuple[int, list[str]]:
        """(how many projects the account can browse, the first few keys)."""

    def _browsable_projects(self, http: TrackerHttpClient, keys: Collection[str]) -> set[str]:
        return {str(project.get("key")).upper() for project in self._projects(http, keys)} & set(keys)

    def _cached(self, load, *parts: str):
        """``load()``, kept for a few minutes per source (version), credential and ``parts``."""
        identity = [
            str(self.source.uuid),
            self.source.updated_at.isoformat() if self.source.updated_at else "",
            str(self.user_token.pk) if self.user_token is not None else "",
            *parts,
        ]
        key = "jira:" + hashlib.sha256("\x1f".join(identity).encode()).hexdigest()
        value = cache.get(key)
        if value is None:
            value = load()
            cache.set(key, value, METADATA_CACHE_SECONDS)
        return value


class JiraCloud(_Jira):
    key = Provider.JIRA_CLOUD
    label = Provider.JIRA_CLOUD.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.JIRA_CLOUD]
    api_version = "3"
    uploads_files = True
    deployment_types = frozenset({"Cloud"})
    attachment_max_bytes = 1024**3  # Jira Cloud's default attachment size (1 GB a file; at most 2 GB)
    user_id_field = "accountId"
    user_search_parameter = "query"
    base_url_hint = "Your site, e.g. https://example.atlassian.net."
    credential_fields = {
        **TrackerProvider.credential_fields,
        AuthType.API_TOKEN: (
            EMAIL,
            CredentialField(
                "api_token",
                "API token",
                secret=True,
                help_text="Created at id.atlassian.com under Security > API tokens, for the account above.",
            ),
        ),
    }

    @property
    def api_base_url(self) -> str:
        """The site itself, or Atlassian's gateway for a member's OAuth 2.0 token."""
        if self.user_token is None:
            return self.source.base_url
        return f"{ATLASSIAN_API}/ex/jira/{quote(self._cloud_id(), safe='')}"

    def _cloud_id(self) -> str:
        """The site's cloud id, from the sites the member's token may reach; remembered per source and site."""
        site = self.source.base_url.rstrip("/").lower()
        token = self.user_token
        if token is not None and token.resource_id and token.resource_url.rstrip("/").lower() == site:
            return token.resource_id  # found when the member authorized
        cache_key = "jira:cloud-id:" + hashlib.sha256(f"{self.source.uuid}\x1f{site}".encode()).hexdigest()
        cloud_id = cache.get(cache_key)
        if cloud_id is None:
            with self.client(base_url=ATLASSIAN_API) as http:
                response = http.get("oauth/token/accessible-resources")
            resources = _list(response.json(), response, "the sites the token may reach")
            cloud_id = next(
                (
                    str(resource["id"])
                    for resource in resources
                    if isinstance(resource, dict)
                    and resource.get("id")
                    and str(resource.get("url") or "").rstrip("/").lower() == site
                ),
                None,
            )
            if cloud_id is None:
                raise PermissionDenied(
                    f"Your Atlassian authorization does not include {self.source.base_url}: authorize "
                    "testmanager again and grant it access to this site."
                )
            cache.set(cache_key, cloud_id, CLOUD_ID_CACHE_SECONDS)
        return cloud_id

    def oauth_app(self) -> OAuthApp:
        """Atlassian's OAuth 2.0 (3LO): the token endpoint takes JSON and issues rotating refresh
        tokens; the authorization asks for the API gateway's audience and always shows consent.
        Atlassian documents no PKCE for 3LO apps."""
        return OAuthApp(
            authorize_url=f"{ATLASSIAN_AUTH}/authorize",
            token_url=f"{ATLASSIAN_AUTH}/oauth/token",
            scopes=OAUTH_SCOPES,
            json_token_requests=True,
            authorize_parameters={"audience": "api.atlassian.com", "prompt": "consent"},
        )

    def oauth_account(self) -> OAuthAccount:
        """The account, and the cloud id of this source's site among those the member granted."""
        return OAuthAccount(name=self.whoami().user, resource_id=self._cloud_id(), resource_url=self.source.base_url)

    def rich_text(self, markdown: str) -> dict:
        return markdown_to_adf(markdown)

    def markdown(self, rich_text: Any) -> str:
        return adf_to_markdown(rich_text) if isinstance(rich_text, dict) else ""

    def _search_page(self, http, jql, size, cursor, fields):
        payload = {"jql": jql, "fields": fields, "maxResults": size}
        if cursor is not None:
            payload["nextPageToken"] = cursor
        response = http.post(self._api("search/jql"), json=payload, idempotent=True)
        body = json_object(response, "search results")
        issues = _list(body.get("issues"), response, "a list of issues")
        token = body.get("nextPageToken")
        return response, issues, token if token and not body.get("isLast") else None

    def _count(self, http, jql):
        """Cloud's approximate count (``POST /rest/api/3/search/approximate-count``): an estimate that
        may miss the latest changes; the JQL must be bounded (a project bounds it)."""
        response = http.post(self._api("search/approximate-count"), json={"jql": jql}, idempotent=True)
        count = json_object(response, "a count of issues").get("count")
        if not isinstance(count, int):
            raise UpstreamError(f"{response.host} answered a count without a number.", status=response.status)
        return MatchCount(count, precision="approximate")

    def _projects(self, http, keys=()):
        path = self._api("project/search")
        if not keys:
            yield from self._pages(http, path, "values")
            return
        for chunk in chunks(sorted(keys), PROJECT_KEYS_PER_REQUEST):
            yield from self._pages(http, path, "values", params={"keys": chunk})

    def _project_access(self, http):
        response = http.get(self._api("project/search"), params={"maxResults": PROJECTS_NAMED})
        body = json_object(response, "a page of projects")
        projects = _list(body.get("values"), response, "a list of projects")
        total = body.get("total")
        return (total if isinstance(total, int) else len(projects)), [str(p.get("key")) for p in projects]


class JiraServer(_Jira):
    key = Provider.JIRA_SERVER
    label = Provider.JIRA_SERVER.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.JIRA_SERVER]
    member_pats = True
    api_version = "2"
    uploads_files = True
    deployment_types = frozenset({"Server", "DataCenter"})
    attachment_max_bytes = 10 * 1024**2  # Jira Data Center's default attachment size (10 MB, admins change it)
    user_id_field = "name"
    user_search_parameter = "username"
    base_url_hint = "Your Jira's address including any context path, e.g. https://jira.example.com/jira."

    def rich_text(self, markdown: str) -> str:
        return markdown_to_wiki(markdown)

    def markdown(self, rich_text: Any) -> str:
        return wiki_to_markdown(rich_text) if isinstance(rich_text, str) else ""

    def _search_page(self, http, jql, size, cursor, fields):
        start = cursor or 0
        # validateQuery false: a key that does not exist (any more) is a warning, not a 400.
        payload = {"jql": jql, "fields": fields, "startAt": start, "maxResults": size, "validateQuery": False}
        response = http.post(self._api("search"), json=payload, idempotent=True)
        body = json_object(response, "search results")
        issues = _list(body.get("issues"), response, "a list of issues")
        following = start + len(issues)
        total = body.get("total")
        return response, issues, following if issues and isinstance(total, int) and following < total else None

    def _count(self, http, jql):
        """The ``total`` of a classic search asking for no issue (``maxResults`` 0); the query is validated
        strictly (Jira's default), so a value that does not exist is Jira's 400 with its message."""
        payload = {"jql": jql, "maxResults": 0, "fields": ["id"]}
        response = http.post(self._api("search"), json=payload, idempotent=True)
        total = json_object(response, "search results").get("total")
        if not isinstance(total, int):
            raise UpstreamError(f"{response.host} answered a search without a total.", status=response.status)
        return MatchCount(total)

    def _projects(self, http, keys=()):
        response = http.get(self._api("project"))
        projects = [p for p in _list(response.json(), response, "a list of projects") if isinstance(p, dict)]
        return [p for p in projects if not keys or str(p.get("key")).upper() in keys]

    def _project_access(self, http):
        projects = self._projects(http)
        return len(projects), [str(p.get("key")) for p in projects[:PROJECTS_NAMED]]
