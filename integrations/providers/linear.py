"""Linear (linear.app): the web app at linear.app/<workspace>, the GraphQL API at api.linear.app.

- Personal API keys go in the Authorization header as they are; members' OAuth tokens as
  ``Bearer``. Every call is one ``POST /graphql``.
- Linear answers errors in GraphQL's ``errors`` list, with ``extensions.type`` ("authentication
  error", "forbidden", "invalid input", "ratelimited") and a ``userPresentableMessage``: with
  HTTP 200 when a field failed while executing, with HTTP 400 when the request was refused
  (credentials, rate limit, a query Linear's schema does not accept). Both map to typed errors.
- Two budgets limit a workspace's use, requests and query complexity, reported on every answer
  (``X-RateLimit-Requests-*``, ``X-Complexity``, ``X-RateLimit-Complexity-*``, resets in epoch
  milliseconds). A provider remembers the last report and refuses, with the reset time, a
  request the budget can no longer pay for rather than spending it on a certain refusal.
- Teams are the external projects (keyed by their short key, e.g. ENG); issues are keyed by
  their identifier (ENG-123). Descriptions and comments are Markdown both ways. An issue moved to
  another team takes a new identifier but keeps its ``id`` (a UUID), which issues carry as their
  ``remote_id``: an ``Issue`` webhook's ``data`` has the new identifier and the same id, so the
  delivery finds the reference by that id (its ``updatedFrom``, "the previous values of all updated
  properties", is not documented to hold the old identifier, so it is not relied on).
- Pulls select a team's issues with a small filter language (see ``parse_pull_filter``) that
  becomes Linear's ``IssueFilter``; Linear issues have no types, so work item types are label
  names (Linear's default labels Bug, Feature and Improvement serve as types). Deleting an
  issue in Linear moves it to the trash (archived, ``trashed``) for 30 days, then removes it:
  both count as deleted; an issue merely archived (Linear archives closed issues by itself)
  does not.
- Linear is a cloud service: the API is at api.linear.app for a linear.app base URL; any other
  base URL is taken to serve Linear's API itself (an egress gateway, or a test double).
"""

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date
from itertools import islice
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from integrations import keys
from integrations.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    RemoteValidationError,
    UnknownLabels,
    UpstreamError,
)
from integrations.http import RemoteErrorDetail, TrackerHttpClient, TrackerResponse
from integrations.mappings import same_name
from integrations.models import AUTH_TYPES_BY_PROVIDER, Provider
from integrations.richtext import adf_to_markdown

from .answers import chunks, iso_timestamp
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
    WebhookRejected,
    delivery_id,
    fields_missing,
    rate_limit_headroom,
    webhook_json,
)

API_URL = "https://api.linear.app"
LINEAR_HOSTS = ("linear.app", "www.linear.app")
IDENTIFIERS_PER_REQUEST = 100
WEBHOOK_TOLERANCE_SECONDS = 60  # Linear's advice: refuse deliveries whose webhookTimestamp is further off
SEARCH_LIMIT = 50
PAGE_SIZE = 100
TEAMS_NAMED = 5
ISSUE_TYPE = RemoteIssueType(id="Issue", name="Issue")  # Linear has one kind of issue
PRIORITY_NAMES = ("No priority", "Urgent", "High", "Medium", "Low")  # Linear's priorities 0-4
STATE_CATEGORIES = {
    "triage": "todo",
    "backlog": "todo",
    "unstarted": "todo",
    "started": "in_progress",
    "completed": "done",
    "canceled": "done",
}
IDENTIFIER = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)")
COMMENT_ACTIONS = {
    "create": EventKind.COMMENTED, "update": EventKind.COMMENT_EDITED, "remove": EventKind.COMMENT_DELETED,
}  # fmt: skip
LABELS_PER_ISSUE = 50  # an issue's labels a read takes; Linear issues rarely carry more than a few
LABELS_SELECTION = f"labels(first: {LABELS_PER_ISSUE}) {{ nodes {{ name }} }}"
ISSUE_FIELDS = (
    "id identifier title priority priorityLabel url updatedAt createdAt completedAt canceledAt "
    f"state {{ name type }} assignee {{ name }} {LABELS_SELECTION}"
)

OWNER_QUERY = """query Owner { viewer { id name } }"""
VIEWER_QUERY = """query Viewer($first: Int) { viewer { name email } teams(first: $first) { nodes { key } } }"""
FETCH_QUERY = f"""query FetchIssues($filter: IssueFilter, $first: Int) {{
  issues(filter: $filter, first: $first, includeArchived: true) {{ nodes {{ {ISSUE_FIELDS} }} }}
}}"""
SEARCH_QUERY = f"""query SearchIssues($term: String!, $first: Int, $filter: IssueFilter) {{
  searchIssues(term: $term, first: $first, filter: $filter) {{ nodes {{ {ISSUE_FIELDS} }} }}
}}"""
TEAMS_QUERY = """query Teams($filter: TeamFilter, $first: Int, $after: String) {
  teams(filter: $filter, first: $first, after: $after) { nodes { id key name } pageInfo { hasNextPage endCursor } }
}"""
LABELS_QUERY = """query Labels($filter: IssueLabelFilter, $first: Int, $after: String) {
  issueLabels(filter: $filter, first: $first, after: $after) { nodes { id name } pageInfo { hasNextPage endCursor } }
}"""
CREATE_MUTATION = f"""mutation CreateIssue($input: IssueCreateInput!) {{
  issueCreate(input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }}
}}"""
FILE_UPLOAD_MUTATION = """mutation FileUpload($contentType: String!, $filename: String!, $size: Int!) {
  fileUpload(contentType: $contentType, filename: $filename, size: $size) {
    success uploadFile { uploadUrl assetUrl headers { key value } }
  }
}"""
ATTACHMENT_MUTATION = """mutation AttachFile($input: AttachmentCreateInput!) {
  attachmentCreate(input: $input) { success attachment { id } }
}"""
ISSUE_ID_QUERY = """query IssueId($id: String!) { issue(id: $id) { id } }"""
WEBHOOKS_QUERY = """query Webhooks($first: Int, $after: String) {
  webhooks(first: $first, after: $after) { nodes { id url team { id } } pageInfo { hasNextPage endCursor } }
}"""
WEBHOOK_CREATE_MUTATION = """mutation CreateWebhook($input: WebhookCreateInput!) {
  webhookCreate(input: $input) { success webhook { id } }
}"""
WEBHOOK_UPDATE_MUTATION = """mutation UpdateWebhook($id: String!, $input: WebhookUpdateInput!) {
  webhookUpdate(id: $id, input: $input) { success webhook { id } }
}"""
# The data change webhooks testmanager reads: issues and their comments.
WEBHOOK_RESOURCE_TYPES = ("Issue", "Comment")
COMMENT_MUTATION = """mutation AddComment($input: CommentCreateInput!) {
  commentCreate(input: $input) { success comment { id } }
}"""
ISSUE_STATE_QUERY = """query IssueState($id: String!) {
  issue(id: $id) { id identifier state { id name } team { states(first: 250) { nodes { id name } } } }
}"""
UPDATE_MUTATION = """mutation MoveIssue($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success }
}"""
USERS_QUERY = """query Users($first: Int, $after: String) {
  users(first: $first, after: $after) { nodes { id name displayName email active } pageInfo { hasNextPage endCursor } }
}"""
USERS_FOUND = 20  # accounts users() returns
COMMENTS_QUERY = """query Comments($id: String!, $first: Int, $after: String) {
  issue(id: $id) { comments(first: $first, after: $after) {
    nodes { id body createdAt user { name } } pageInfo { hasNextPage endCursor } } }
}"""
COMMENT_UPDATE_MUTATION = """mutation EditComment($id: String!, $input: CommentUpdateInput!) {
  commentUpdate(id: $id, input: $input) { success comment { id } }
}"""
# Known issues a pull no longer selects: trashed ones are deleted, archived ones are not.
TRASHED_QUERY = """query Trashed($filter: IssueFilter, $first: Int) {
  issues(filter: $filter, first: $first, includeArchived: true) { nodes { identifier trashed } }
}"""
ISSUE_TRASHED_QUERY = """query IssueTrashed($id: String!) { issue(id: $id) { identifier trashed } }"""
ISSUE_QUERY = f"""query Issue($id: String!) {{ issue(id: $id) {{ {ISSUE_FIELDS} trashed }} }}"""
CYCLES_QUERY = """query Cycles($filter: CycleFilter, $first: Int, $after: String) {
  cycles(filter: $filter, first: $first, after: $after) {
    nodes { id name number startsAt endsAt completedAt } pageInfo { hasNextPage endCursor } }
}"""
PROJECTS_QUERY = """query Projects($filter: ProjectFilter, $first: Int, $after: String) {
  projects(filter: $filter, first: $first, after: $after) {
    nodes { id name startDate targetDate completedAt canceledAt } pageInfo { hasNextPage endCursor } }
}"""


def read_linear_error(response: TrackerResponse) -> RemoteErrorDetail:
    """The first GraphQL error's message, for answers the provider does not read itself."""
    try:
        body = response.json()
    except UpstreamError:
        return RemoteErrorDetail()
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    return RemoteErrorDetail(_message(first) or None)


# A webhook's issue is read as a pull reads it, with no item types or further fields asked for.
HOOK_QUERY = PullQuery(project="")


def _uncarried(data: dict) -> frozenset[str]:
    """The fields an ``Issue`` webhook's data leaves out: unknown. An unassigned issue says so
    (``assigneeId`` null), so only the absence of both assignee keys leaves the assignee unknown."""
    missing = fields_missing(
        data,
        title="title",
        status="state",
        priority="priorityLabel",
        created_at="createdAt",
        description="description",
    )
    return missing | {"assignee"} if "assignee" not in data and "assigneeId" not in data else missing


def _message(error: dict) -> str:
    extensions = error.get("extensions") if isinstance(error.get("extensions"), dict) else {}
    presentable = str(extensions.get("userPresentableMessage") or "")
    message = str(error.get("message") or "")
    if presentable and message and presentable != message:
        return f"{presentable} ({message})"
    return presentable or message


def _day(value: Any) -> date | None:
    """The date of a TimelessDate (2025-06-30) or of a DateTime (its UTC day)."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _number_text(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _cycle_name(cycle: dict) -> str:
    """A cycle's name; unnamed cycles are "Cycle 12", as Linear's app shows them."""
    number = _number_text(cycle.get("number"))
    return str(cycle.get("name") or (f"Cycle {number}" if number else ""))


def _related(raw: dict, name: str) -> dict:
    return raw.get(name) if isinstance(raw.get(name), dict) else {}


def _label_names(raw: dict) -> list[str]:
    """An issue's label names: a query's connection (``nodes``), or a webhook's list of labels."""
    nodes = raw.get("labels") if isinstance(raw.get("labels"), list) else _related(raw, "labels").get("nodes") or []
    return [str(label.get("name")) for label in nodes if isinstance(label, dict) and label.get("name")]


def _issue_labels(raw: dict) -> tuple[str, ...] | None:
    """The issue's labels; None when the answer did not carry them."""
    return tuple(_label_names(raw)) if isinstance(raw.get("labels"), (dict, list)) else None


# The fields a pull reads by id: the selection each needs, and how its value reads.
PULL_FIELDS: Mapping[str, tuple[str, Callable[[dict], FieldValue]]] = MappingProxyType(
    {
        "cycle": (
            "cycle { name number endsAt }",
            lambda raw: FieldValue(_cycle_name(_related(raw, "cycle")), _day(_related(raw, "cycle").get("endsAt"))),
        ),
        "project": (
            "project { name targetDate }",
            lambda raw: FieldValue(
                str(_related(raw, "project").get("name") or ""), _day(_related(raw, "project").get("targetDate"))
            ),
        ),
        "dueDate": ("dueDate", lambda raw: FieldValue(str(raw.get("dueDate") or ""), _day(raw.get("dueDate")))),
        "estimate": ("estimate", lambda raw: FieldValue(_number_text(raw.get("estimate")))),
        "labels": (LABELS_SELECTION, lambda raw: FieldValue(", ".join(_label_names(raw)))),
    }
)

FILTER_KEYS = ("label", "project", "cycle", "state")
_FILTER_VALUE = r'(?:"[^"]*"|[^\s",]+)'
_FILTER_TERM = re.compile(rf"(?P<key>[A-Za-z]+):(?P<values>{_FILTER_VALUE}(?:,{_FILTER_VALUE})*)(?=\s|$)")
_FILTER_ITEM = re.compile(_FILTER_VALUE)


def parse_pull_filter(text: str) -> list[tuple[str, list[str]]]:
    """A pull filter's terms as (key, values). A term is ``key:value``: ``label:requirement``,
    ``project:"Checkout revamp"``, ``cycle:12`` (a number or a name), ``state:"In Progress"``;
    values with spaces go in double quotes, ``label:a,b`` means either. Every term must hold
    (``label:a label:b``: both labels). ``RemoteValidationError`` for anything else."""
    terms = []
    position, text = 0, text.strip()
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        term = _FILTER_TERM.match(text, position)
        if term is None:
            rest = text[position:].split()[0]
            raise RemoteValidationError(
                f"“{rest}” is not a term of a Linear filter: write terms like label:requirement or "
                'project:"Checkout revamp", separated by spaces.',
                field_errors={"filter": "Not a filter term."},
            )
        key = term["key"].lower()
        if key not in FILTER_KEYS:
            raise RemoteValidationError(
                f"A Linear filter selects by {', '.join(FILTER_KEYS)}, not by “{term['key']}”.",
                field_errors={"filter": f"Unknown key {term['key']}."},
            )
        values = [value.strip('"').strip() for value in _FILTER_ITEM.findall(term["values"])]
        if not all(values):
            raise RemoteValidationError(
                f"The Linear filter term “{term.group()}” names an empty value.",
                field_errors={"filter": "Empty value."},
            )
        terms.append((key, values))
        position = term.end()
    return terms


def _any_of(values: list[str], clause: Callable[[str], dict]) -> dict:
    return clause(values[0]) if len(values) == 1 else {"or": [clause(value) for value in values]}


def _term_filter(key: str, values: list[str]) -> dict:
    """Linear's IssueFilter for one term other than a label."""
    if key == "project":
        return _any_of(values, lambda name: {"project": {"name": {"eqIgnoreCase": name}}})
    if key == "state":
        return _any_of(values, lambda name: {"state": {"name": {"eqIgnoreCase": name}}})
    return _any_of(
        values,
        lambda value: (
            {"cycle": {"number": {"eq": int(value)}}}
            if value.isdigit()
            else {"cycle": {"name": {"eqIgnoreCase": value}}}
        ),
    )


def _identifiers_filter(identifiers: Iterable[str]) -> dict:
    """Linear's IssueFilter for issues by identifier (ENG-12): by team key and number."""
    numbers: dict[str, list[int]] = {}
    for identifier in identifiers:
        team, number = identifier.rsplit("-", 1)
        numbers.setdefault(team, []).append(int(number))
    return {"or": [{"team": {"key": {"eq": team}}, "number": {"in": values}} for team, values in numbers.items()]}


def _pull_query(selection: str) -> str:
    return (
        "query PullIssues($filter: IssueFilter, $first: Int, $after: String) {\n"
        f"  issues(filter: $filter, first: $first, after: $after) {{ nodes {{ {selection} }} "
        "pageInfo { hasNextPage endCursor } }\n}"
    )


def _plan_order(plan: RemotePlan) -> tuple:
    return (plan.start or plan.end or date.max, plan.name)


class Linear(TrackerProvider):
    key = Provider.LINEAR
    label = Provider.LINEAR.label
    uploads_files = True
    test_type_as_label = True
    severity_as_label = True
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.LINEAR]
    member_pats = True
    member_pat_label = "personal API key"
    default_key_pattern = r"^[A-Z]+-\d+$"
    default_issue_url_template = "{baseUrl}/issue/{key}"
    default_create_url_template = "{baseUrl}/team/{project}/new?title={title}&description={description}"
    capabilities = frozenset(
        {Capability.READ_DETAILS, Capability.CREATE_ISSUES, Capability.ADD_COMMENTS, Capability.PROCESS_WEBHOOKS}
    )
    keys_per_request = IDENTIFIERS_PER_REQUEST
    creates_missing_labels = False  # an issue takes only the team's (or workspace's) existing labels
    external_project_hint = "Linear team key, e.g. ENG"
    external_project_pattern = r"^[A-Z][A-Z0-9]*$"
    base_url_hint = "Your workspace's address, e.g. https://linear.app/example."
    read_error_detail = staticmethod(read_linear_error)
    pull_filter_hint = (
        'Terms like label:requirement project:"Checkout revamp" cycle:12 state:"In Progress", every one must hold '
        "(label:a,b means either); testmanager adds the team. Linear issues have no types: work item types are "
        "label names, e.g. Bug."
    )
    pull_field_hint = (
        "Issue fields: cycle (its name and end date), project (its name and target date), dueDate, estimate, labels."
    )

    def __init__(self, source, user_token=None):
        super().__init__(source, user_token)
        self._budget: dict[str, int] = {}  # what Linear's last answer said is left

    @property
    def api_base_url(self) -> str:
        if urlsplit(self.source.base_url).hostname in LINEAR_HOSTS:
            return API_URL
        return self.source.base_url

    def pat_authentication(self, token):
        # Personal API keys go in the Authorization header as they are; OAuth tokens as Bearer.
        return {"Authorization": token}, None

    # -- GraphQL --

    def _graphql(
        self, http: TrackerHttpClient, query: str, variables: dict, *, mutation: bool = False
    ) -> tuple[dict, TrackerResponse]:
        """``data`` of one GraphQL request, or the typed error for Linear's first error."""
        self._check_budget()
        response = http.post(
            "graphql", json={"query": query, "variables": variables}, idempotent=not mutation, accept=(400,)
        )
        self._remember_budget(response)
        body = response.json()
        if not isinstance(body, dict):
            raise UpstreamError(f"{response.host} did not answer with a GraphQL result.", status=response.status)
        errors = [error for error in body.get("errors") or [] if isinstance(error, dict)]
        if errors:
            raise self._error(errors[0], response, http)
        data = body.get("data")
        if response.status != 200 or not isinstance(data, dict):
            raise UpstreamError(
                f"{response.host} answered HTTP {response.status} without data.", status=response.status
            )
        return data, response

    def _error(self, error: dict, response: TrackerResponse, http: TrackerHttpClient) -> Exception:
        extensions = error.get("extensions") if isinstance(error.get("extensions"), dict) else {}
        kind = str(extensions.get("type") or "").lower()
        code = str(extensions.get("code") or "").upper()
        message = http.excerpt(_message(error)) or "no reason given"
        status = response.status
        if kind == "authentication error" or code == "AUTHENTICATION_ERROR":
            return AuthenticationFailed(
                f"Linear rejected the credentials ({message}): check the API key or authorize again.", status=status
            )
        if kind == "forbidden" or code == "FORBIDDEN":
            return PermissionDenied(
                f"Linear refused: {message}. Give the API key or the authorization the access it needs.",
                status=status,
            )
        if kind == "ratelimited" or code == "RATELIMITED":
            wait = self._reset_in(response)
            when = f"try again in {int(wait) + 1} s" if wait is not None else "try again in a few minutes"
            return RateLimited(
                f"Linear is rate limiting this workspace's requests: {when}.", status=status, retry_after=wait
            )
        if str(error.get("message") or "").startswith("Entity not found"):
            return NotFound(f"Linear has no such item, or the account cannot see it: {message}.", status=status)
        if code.startswith("GRAPHQL_") or kind == "graphql error":
            return UpstreamError(
                f"Linear refused testmanager's query ({message}): its API may have changed; testmanager needs an "
                "update.",
                status=status,
            )
        return RemoteValidationError(f"Linear refused the request: {message}", status=status)

    def _remember_budget(self, response: TrackerResponse) -> None:
        for budget in ("Requests", "Complexity"):
            for part in ("Remaining", "Reset"):
                value = (response.headers.get(f"X-RateLimit-{budget}-{part}") or "").strip()
                if value.isdigit():
                    self._budget[f"{budget}-{part}"] = int(value)
        cost = (response.headers.get("X-Complexity") or "").strip()
        if cost.isdigit():
            self._budget["cost"] = int(cost)

    def _check_budget(self) -> None:
        """``RateLimited`` when the last answer left too little for another request like it."""
        exhausted = [
            budget
            for budget, needed in (("Requests", 1), ("Complexity", self._budget.get("cost", 1)))
            if f"{budget}-Remaining" in self._budget and self._budget[f"{budget}-Remaining"] < needed
        ]
        if not exhausted:
            return
        reset = max(self._budget.get(f"{budget}-Reset", 0) for budget in exhausted)
        wait = max(0.0, reset / 1000 - time.time())
        raise RateLimited(
            f"Linear's {' and '.join(budget.lower() for budget in exhausted)} budget for this workspace is used up: "
            f"try again in {int(wait) + 1} s.",
            retry_after=wait,
        )

    def _reset_in(self, response: TrackerResponse) -> float | None:
        """Seconds until the exhausted budget of a rate-limited answer refills."""
        retry_after = (response.headers.get("Retry-After") or "").strip()
        if retry_after.isdigit():
            return float(retry_after)
        resets = [
            int(response.headers.get(f"X-RateLimit-{budget}-Reset") or 0)
            for budget in ("Requests", "Complexity")
            if (response.headers.get(f"X-RateLimit-{budget}-Remaining") or "").strip() == "0"
        ]
        return max(0.0, max(resets) / 1000 - time.time()) if resets else None

    def _pages(self, http: TrackerHttpClient, query: str, root: str, variables: dict) -> Iterator[dict]:
        """Every node of a connection, page after page."""
        after = None
        while True:
            data, response = self._graphql(http, query, {**variables, "first": PAGE_SIZE, "after": after})
            connection = data.get(root) if isinstance(data.get(root), dict) else {}
            yield from (node for node in connection.get("nodes") or [] if isinstance(node, dict))
            page = connection.get("pageInfo") or {}
            after = page.get("endCursor")
            if not page.get("hasNextPage") or not after:
                return

    def oauth_app(self) -> OAuthApp:
        """Linear's OAuth 2.0: consent on linear.app, tokens from the API host, comma-separated scopes,
        PKCE with S256, expiring access tokens with refresh tokens."""
        web = "https://linear.app" if urlsplit(self.source.base_url).hostname in LINEAR_HOSTS else self.source.base_url
        return OAuthApp(
            authorize_url=f"{web}/oauth/authorize",
            token_url=f"{self.api_base_url}/oauth/token",
            scopes=("read", "write"),
            scope_separator=",",
            pkce=True,
        )

    # -- connection --

    def whoami(self) -> ConnectionReport:
        with self.client() as http:
            data, response = self._graphql(http, VIEWER_QUERY, {"first": TEAMS_NAMED + 1})
        viewer = data.get("viewer")
        if not isinstance(viewer, dict) or not viewer.get("name"):
            raise UpstreamError("Linear did not answer with the signed-in account.", status=response.status)
        user = f"{viewer['name']} ({viewer['email']})" if viewer.get("email") else viewer["name"]
        detail = f"Signed in to Linear as {user}."
        if "Complexity-Remaining" in self._budget:
            limit = response.headers.get("X-RateLimit-Complexity-Limit") or "?"
            detail += f" Complexity budget: {self._budget['Complexity-Remaining']} of {limit} points left."
        teams = [team for team in (data.get("teams") or {}).get("nodes") or [] if isinstance(team, dict)]
        if teams:
            names = ", ".join(str(team.get("key")) for team in teams[:TEAMS_NAMED])
            access = f"The account can see the teams {names}{', …' if len(teams) > TEAMS_NAMED else ''}."
        else:
            access = "The account sees no team: add it to the teams testmanager files issues in."
        remaining, limit = rate_limit_headroom(response)
        return ConnectionReport(
            user=user, detail=detail, access=access, rate_limit_remaining=remaining, rate_limit_limit=limit
        )

    # -- discovery --

    def projects(self) -> list[RemoteProject]:
        with self.client() as http:
            return [
                RemoteProject(key=str(team.get("key")), name=str(team.get("name") or team.get("key")))
                for team in self._pages(http, TEAMS_QUERY, "teams", {})
            ]

    def find_project(self, project: str) -> RemoteProject:
        """The team by its key (``NotFound`` when the account is in no team of that key)."""
        with self.client() as http:
            try:
                team = self._team(http, project)
            except NotFound as error:  # Linear answered: no team by that key
                raise UnknownProject(str(error)) from None
        return RemoteProject(key=str(team.get("key")), name=str(team.get("name") or team.get("key")))

    def issue_types(self, project: str) -> list[RemoteIssueType]:
        return [ISSUE_TYPE]

    def fields(self, project: str, issue_type: str) -> list[RemoteField]:
        with self.client() as http:
            team = self._team(http, project)
            labels = self._labels(http, team["key"])
        return [
            RemoteField("title", "Title", required=True, kind="text"),
            RemoteField("description", "Description", required=False, kind="rich_text"),
            RemoteField("priority", "Priority", required=False, kind="select", allowed_values=PRIORITY_NAMES),
            RemoteField("labels", "Labels", required=False, kind="labels", allowed_values=tuple(labels)),
            RemoteField("assignee", "Assignee", required=False, kind="user"),
        ]

    def owner_account(self) -> RemoteUser:
        """The ``viewer`` (the API key's or token's user): user fields take its id."""
        with self.client() as http:
            data, response = self._graphql(http, OWNER_QUERY, {})
        viewer = data.get("viewer") if isinstance(data.get("viewer"), dict) else {}
        if not viewer.get("id"):
            raise UpstreamError("Linear did not answer with the signed-in account.", status=response.status)
        return RemoteUser(id=str(viewer["id"]), name=str(viewer.get("name") or viewer["id"]))

    def users(self, project: str, text: str) -> list[RemoteUser]:
        """Active workspace members whose name, display name or e-mail address starts with ``text``."""
        wanted = text.strip().casefold()
        if not wanted:
            return []
        found = []
        with self.client() as http:
            for user in self._pages(http, USERS_QUERY, "users", {}):
                names = [str(user.get(name) or "") for name in ("name", "displayName", "email")]
                if (
                    user.get("active", True)
                    and user.get("id")
                    and any(part.casefold().startswith(wanted) for name in names for part in [name, *name.split()])
                ):
                    found.append(RemoteUser(id=str(user["id"]), name=names[0] or names[1]))
                    if len(found) == USERS_FOUND:
                        break
        return found

    def _team(self, http: TrackerHttpClient, key: str) -> dict:
        wanted = key.strip().upper()
        for team in self._pages(http, TEAMS_QUERY, "teams", {"filter": {"key": {"eq": wanted}}}):
            if str(team.get("key")).upper() == wanted:
                return team
        raise NotFound(
            f"Linear has no team with the key {wanted}, or the account is not a member of it: check the project "
            "integration's team key."
        )

    def _labels(self, http: TrackerHttpClient, team_key: str) -> dict[str, str]:
        """Label name -> id, of the team and of the whole workspace."""
        scope = {"or": [{"team": {"key": {"eq": team_key}}}, {"team": {"null": True}}]}
        return {
            str(label.get("name")): str(label.get("id"))
            for label in self._pages(http, LABELS_QUERY, "issueLabels", {"filter": scope})
        }

    # -- reading issues --

    def fetch_many(self, keys: Iterable[str]) -> FetchResult:
        """Current state of many issues, ``IDENTIFIERS_PER_REQUEST`` identifiers a request."""
        asked: dict[str, list[str]] = {}
        for key in keys:
            asked.setdefault(key.strip().upper(), []).append(key)
        wanted = [identifier for identifier in asked if IDENTIFIER.fullmatch(identifier)]
        found: dict[str, RemoteIssue] = {}
        with self.client() as http:
            for batch in chunks(wanted, IDENTIFIERS_PER_REQUEST):
                data, _ = self._graphql(http, FETCH_QUERY, {"filter": _identifiers_filter(batch), "first": len(batch)})
                for raw in (data.get("issues") or {}).get("nodes") or []:
                    issue = self._remote_issue(raw)
                    found[issue.key.upper()] = issue
            unseen = [identifier for identifier in wanted if identifier not in found]
            visible = self._visible_teams(http, {identifier.rsplit("-", 1)[0] for identifier in unseen})
            found |= self._moved(http, [identifier for identifier in unseen if identifier.rsplit("-", 1)[0] in visible])
            unseen = [identifier for identifier in unseen if identifier not in found]

        def spellings(selected: Iterable[str]) -> frozenset[str]:
            return frozenset(spelling for identifier in selected for spelling in asked[identifier])

        malformed = [identifier for identifier in asked if not IDENTIFIER.fullmatch(identifier)]
        return FetchResult(
            issues={spelling: issue for identifier, issue in found.items() for spelling in asked.get(identifier, ())},
            # An issue of a team the account sees is gone; of a team it does not see, unknown.
            missing=spellings([*malformed, *(i for i in unseen if i.rsplit("-", 1)[0] in visible)]),
            forbidden=spellings(i for i in unseen if i.rsplit("-", 1)[0] not in visible),
        )

    def _moved(self, http: TrackerHttpClient, identifiers: list[str]) -> dict[str, RemoteIssue]:
        """Issues the filter on team and number did not find in a team the account sees, read by their
        identifier: one moved to another team answers to its old identifier with its new one (the
        refresh then follows the move); the others (and trashed ones) are gone. One request each, for
        these few only."""
        moved = {}
        for identifier in identifiers:
            try:
                data, _ = self._graphql(http, ISSUE_QUERY, {"id": identifier})
            except NotFound:
                continue
            if isinstance(data.get("issue"), dict) and not data["issue"].get("trashed"):
                moved[identifier] = self._remote_issue(data["issue"])
        return moved

    def _visible_teams(self, http: TrackerHttpClient, team_keys: set[str]) -> set[str]:
        if not team_keys:
            return set()
        teams = self._pages(http, TEAMS_QUERY, "teams", {"filter": {"key": {"in": sorted(team_keys)}}})
        return {str(team.get("key")).upper() for team in teams}

    # -- pulling work items and plans --

    def pull(self, query: PullQuery, known: Iterable[str] = ()) -> PullResult:
        """Issues of the team (the external project) that the filter selects (``parse_pull_filter``),
        in Linear's order, archived ones left out. ``item_types`` are label names: an issue carrying
        any of them is taken, its type the first it carries. Fields by id: ``cycle`` (its name, the
        day it ends), ``project`` (its name, target date), ``dueDate``, ``estimate``, ``labels``.
        Labels the filter or the types name must exist in the team or the workspace. A known issue
        the pull leaves out is deleted when it is in Linear's trash, or gone from a team the account
        sees; one merely filtered out, archived or in a team it cannot see is not."""
        unknown = [field_id for field_id in query.fields if field_id not in PULL_FIELDS]
        if unknown:
            names = ", ".join(f"“{field_id}”" for field_id in unknown)
            raise RemoteValidationError(
                f"Linear issues have no field {names} to pull: use {', '.join(PULL_FIELDS)}.",
                field_errors=dict.fromkeys(unknown, "Not a Linear issue field a pull reads."),
            )
        selection = [ISSUE_FIELDS, "description", *(PULL_FIELDS[field_id][0] for field_id in query.fields)]
        if query.item_types:
            selection.append(LABELS_SELECTION)
        with self.client() as http:
            issue_filter = self._pull_filter(http, query)
            found = self._pages(http, _pull_query(" ".join(dict.fromkeys(selection))), "issues", issue_filter)
            items = tuple(self._pulled_item(raw, query) for raw in islice(found, PULL_LIMIT))
            deleted = self._deleted(http, known, {item.key.upper() for item in items})
        return PullResult(items=items, deleted=deleted)

    def count_matching(self, query: PullQuery) -> MatchCount:
        """Linear's API counts no issues: the pull's issues are listed by id, page after page, up to
        ``PULL_LIMIT`` (then the count is "at least")."""
        with self.client() as http:
            found = self._pages(http, _pull_query("id"), "issues", self._pull_filter(http, query))
            count = sum(1 for _ in islice(found, PULL_LIMIT))
        return MatchCount(count, precision="at_least" if count >= PULL_LIMIT else "exact")

    def _pull_filter(self, http: TrackerHttpClient, query: PullQuery) -> dict:
        """The ``issues`` variables of a pull: its team, the filter's terms and the types (labels)."""
        if not query.project.strip():
            raise NotConfigured(
                "This project integration names no Linear team: a project administrator must choose the team that "
                "issues are pulled from."
            )
        terms = parse_pull_filter(query.filter)
        label_sets = [values for key, values in terms if key == "label"]
        if query.item_types:
            label_sets.append(list(query.item_types))
        team = self._team(http, query.project)
        clauses = [{"team": {"id": {"eq": team["id"]}}}]
        if label_sets:
            clauses += self._label_clauses(http, team["key"], label_sets)
        clauses += [_term_filter(key, values) for key, values in terms if key != "label"]
        return {"filter": {"and": clauses}}

    def _label_clauses(self, http: TrackerHttpClient, team_key: str, label_sets: list[list[str]]) -> list[dict]:
        """One IssueFilter clause per set of label names (an issue must carry one label of each set)."""
        offered: dict[str, list[str]] = {}  # label ids by casefolded name: Linear's names ignore case here
        for name, label_id in self._labels(http, team_key).items():
            offered.setdefault(name.casefold(), []).append(label_id)
        unknown = list(dict.fromkeys(name for names in label_sets for name in names if name.casefold() not in offered))
        if unknown:
            names = ", ".join(f"“{name}”" for name in unknown)
            raise RemoteValidationError(
                f"The Linear team {team_key} has no label {names}: check the filter and the work item types "
                "(Linear's types are labels).",
                field_errors={"filter": f"No label {names} in {team_key}."},
            )
        id_sets = [[label_id for name in names for label_id in offered[name.casefold()]] for names in label_sets]
        return [{"labels": {"some": {"id": {"in": label_ids}}}} for label_ids in id_sets]

    def _pulled_item(self, raw: dict, query: PullQuery) -> PulledItem:
        types = {name.casefold() for name in query.item_types}
        return PulledItem(
            **vars(self._remote_issue(raw)),
            description=str(raw.get("description") or ""),
            item_type=next((name for name in _label_names(raw) if name.casefold() in types), ""),
            fields={field_id: PULL_FIELDS[field_id][1](raw) for field_id in query.fields},
        )

    def _deleted(self, http: TrackerHttpClient, known: Iterable[str], seen: set[str]) -> frozenset[str]:
        """The known keys (as given) a pull did not see whose issues are trashed or gone."""
        unseen: dict[str, list[str]] = {}
        for key in known:
            identifier = key.strip().upper()
            if identifier not in seen and IDENTIFIER.fullmatch(identifier):
                unseen.setdefault(identifier, []).append(key)
        trashed: dict[str, bool] = {}
        for batch in chunks(list(unseen), IDENTIFIERS_PER_REQUEST):
            data, _ = self._graphql(http, TRASHED_QUERY, {"filter": _identifiers_filter(batch), "first": len(batch)})
            for raw in (data.get("issues") or {}).get("nodes") or []:
                if isinstance(raw, dict) and isinstance(raw.get("identifier"), str):
                    trashed[raw["identifier"].upper()] = bool(raw.get("trashed"))
        for identifier in [identifier for identifier in unseen if identifier not in trashed]:
            try:  # an issue moved to another team still answers to its old identifier
                data, _ = self._graphql(http, ISSUE_TRASHED_QUERY, {"id": identifier})
            except NotFound:
                continue
            trashed[identifier] = bool((data.get("issue") or {}).get("trashed"))
        absent = [identifier for identifier in unseen if identifier not in trashed]
        visible = self._visible_teams(http, {identifier.rsplit("-", 1)[0] for identifier in absent})
        gone = [
            *(identifier for identifier, is_trashed in trashed.items() if is_trashed),
            *(identifier for identifier in absent if identifier.rsplit("-", 1)[0] in visible),
        ]
        return frozenset(key for identifier in gone for key in unseen[identifier])

    def plans(self, project: str, board: str = "") -> list[RemotePlan]:
        """Releases are the projects the team takes part in (start and target date; done once
        completed or canceled), sprints the team's cycles (the days they start and end; done once
        completed), each by start date; archived ones are left out. Linear has no boards: ``board``
        is not used."""
        if not project.strip():
            raise NotConfigured("This project integration names no Linear team to read projects and cycles from.")
        with self.client() as http:
            team = self._team(http, project)
            projects = list(
                self._pages(
                    http,
                    PROJECTS_QUERY,
                    "projects",
                    {"filter": {"accessibleTeams": {"some": {"id": {"eq": team["id"]}}}}},
                )
            )
            cycles = list(self._pages(http, CYCLES_QUERY, "cycles", {"filter": {"team": {"id": {"eq": team["id"]}}}}))
        releases = [
            RemotePlan(
                "release",
                str(raw.get("id")),
                str(raw.get("name") or ""),
                start=_day(raw.get("startDate")),
                end=_day(raw.get("targetDate")),
                done=bool(raw.get("completedAt") or raw.get("canceledAt")),
            )
            for raw in projects
        ]
        sprints = [
            RemotePlan(
                "sprint",
                str(raw.get("id")),
                _cycle_name(raw),
                start=_day(raw.get("startsAt")),
                end=_day(raw.get("endsAt")),
                done=bool(raw.get("completedAt")),
            )
            for raw in cycles
        ]
        return sorted(releases, key=_plan_order) + sorted(sprints, key=_plan_order)

    def search(self, text: str, within: Sequence[str] | None = None) -> list[RemoteIssue]:
        """Linear's full-text search (identifier, title, description), most relevant first; with
        ``within`` (team keys), only issues of those teams (an IssueFilter on the team's key)."""
        text = " ".join(text.split())
        if not text:
            return []
        variables: dict[str, Any] = {"term": text, "first": SEARCH_LIMIT}
        if within is not None:
            if not within:
                raise NotConfigured("This project's integration names no Linear team to search in.")
            variables["filter"] = {"team": {"key": {"in": [team.strip().upper() for team in within]}}}
        with self.client() as http:
            data, _ = self._graphql(http, SEARCH_QUERY, variables)
        return [self._remote_issue(raw) for raw in (data.get("searchIssues") or {}).get("nodes") or []]

    def _remote_issue(self, raw: Any) -> RemoteIssue:
        if not isinstance(raw, dict) or not isinstance(raw.get("identifier"), str):
            raise UpstreamError("Linear answered with an issue that has no identifier.")
        state = raw.get("state") if isinstance(raw.get("state"), dict) else {}
        assignee = raw.get("assignee") if isinstance(raw.get("assignee"), dict) else {}
        template = self.source.issue_url_template
        url = keys.issue_url(template, base_url=self.source.base_url, key=raw["identifier"]) if template else ""
        return RemoteIssue(
            key=raw["identifier"],
            title=str(raw.get("title") or ""),
            status=str(state.get("name") or ""),
            status_category=STATE_CATEGORIES.get(str(state.get("type")), "unknown"),
            assignee=str(assignee.get("name") or ""),
            priority=str(raw.get("priorityLabel") or ""),
            url=url or str(raw.get("url") or ""),
            updated_at=iso_timestamp(raw.get("updatedAt")),
            created_at=iso_timestamp(raw.get("createdAt")),
            resolved_at=iso_timestamp(raw.get("completedAt")) or iso_timestamp(raw.get("canceledAt")),
            remote_id=str(raw.get("id") or ""),
            labels=_issue_labels(raw),
        )

    # -- writing --

    def create_issue(self, draft: IssueDraft) -> CreatedIssue:
        """File ``draft`` in the team it names, with Markdown as it is."""
        if not draft.project.strip():
            raise NotConfigured(
                "This project integration names no Linear team: a project administrator must choose the team that "
                "issues are filed in."
            )
        errors = {}
        priority = self._priority(draft.priority)
        if priority is None:
            errors["priority"] = f"Linear priorities are {', '.join(PRIORITY_NAMES)} (or 0-4), not “{draft.priority}”."
        notes = []
        description = draft.description.strip()
        if draft.reporter is not None and self.user_token is None:
            who = draft.reporter.name or draft.reporter.email
            line = {
                "type": "doc",
                "version": 1,
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": f"Reported by {who} via testmanager."}]}
                ],
            }
            description = "\n\n".join(filter(None, [description, adf_to_markdown(line).strip()]))
        if draft.components:
            notes.append("Linear has no components; use labels instead.")
        with self.client() as http:
            team = self._team(http, draft.project)
            label_ids = []
            if draft.labels:
                offered = {name.casefold(): label_id for name, label_id in self._labels(http, team["key"]).items()}
                unknown = [label for label in draft.labels if label.casefold() not in offered]
                if unknown:
                    errors["labels"] = (
                        f"The Linear team {team['key']} has no label {', '.join(f'“{name}”' for name in unknown)}: "
                        "create it in Linear or leave it out."
                    )
                label_ids = [offered[label.casefold()] for label in draft.labels if label.casefold() in offered]
            if errors:
                raise RemoteValidationError(
                    "Some values cannot be sent to Linear: " + " ".join(errors.values()), field_errors=errors
                )
            values = {
                "teamId": team["id"],
                "title": draft.title,
                "description": description or None,
                "priority": priority or None,
                "labelIds": label_ids or None,
                "assigneeId": draft.assignee,
                "dueDate": draft.due_date.isoformat() if draft.due_date else None,
                **draft.fields,
            }
            data, response = self._graphql(
                http,
                CREATE_MUTATION,
                {"input": {name: value for name, value in values.items() if value is not None}},
                mutation=True,
            )
            result = data.get("issueCreate") if isinstance(data.get("issueCreate"), dict) else {}
            if not result.get("success") or not isinstance(result.get("issue"), dict):
                raise UpstreamError("Linear did not confirm that the issue was created.", status=response.status)
            issue_id = str(result["issue"].get("id") or "")
            sent = self.send_files(draft.attachments, lambda file: self._attach(http, issue_id, file))
        issue = self._remote_issue(result["issue"])
        return CreatedIssue(**vars(issue), notes=(*notes, *sent.notes), unsent_files=sent.unsent)

    def _attach(self, http: TrackerHttpClient, issue_id: str, file: DraftAttachment) -> None:
        """Linear's upload: ``fileUpload`` gives a signed URL on its storage (another host: the credentials
        stay here, the address check applies), the bytes go there in a PUT with the headers it gave, and
        ``attachmentCreate`` shows the stored file on the issue."""
        data, response = self._graphql(
            http,
            FILE_UPLOAD_MUTATION,
            {"contentType": file.content_type, "filename": file.filename, "size": file.size},
            mutation=True,
        )
        upload = (data.get("fileUpload") or {}).get("uploadFile")
        if not isinstance(upload, dict) or not upload.get("uploadUrl") or not upload.get("assetUrl"):
            raise UpstreamError(f"Linear gave no upload address for {file.filename}.", status=response.status)
        given = {
            str(header.get("key")): str(header.get("value"))
            for header in upload.get("headers") or []
            if isinstance(header, dict) and header.get("key")
        }
        headers = {"Content-Type": file.content_type, "Cache-Control": "public, max-age=31536000", **given}
        http.put(str(upload["uploadUrl"]), data=file.content, headers=headers)
        data, response = self._graphql(
            http,
            ATTACHMENT_MUTATION,
            {"input": {"issueId": issue_id, "title": file.filename, "url": str(upload["assetUrl"])}},
            mutation=True,
        )
        if not (data.get("attachmentCreate") or {}).get("success"):
            raise UpstreamError(f"Linear did not confirm {file.filename} on the issue.", status=response.status)

    def update_issue(self, key: str, draft: IssueDraft) -> None:
        """``issueUpdate(id, input)``: title, description (Markdown), priority and labels (``labelIds``,
        which replace the issue's; each must be one of its team's labels)."""
        priority = self._priority(draft.priority)
        if priority is None:
            problem = f"Linear priorities are {', '.join(PRIORITY_NAMES)} (or 0-4), not “{draft.priority}”."
            raise RemoteValidationError(problem, field_errors={"priority": problem})
        with self.client() as http:
            data, _ = self._graphql(http, ISSUE_ID_QUERY, {"id": key.strip()})
            issue_id = (data.get("issue") or {}).get("id")
            if not issue_id:
                raise NotFound(f"Linear has no issue {key}, or the account cannot see it.")
            team = self._team(http, draft.project)
            offered = {name.casefold(): label_id for name, label_id in self._labels(http, team["key"]).items()}
            unknown = [label for label in draft.labels if label.casefold() not in offered]
            if unknown:
                problem = f"The Linear team {team['key']} has no label {', '.join(f'“{name}”' for name in unknown)}."
                raise RemoteValidationError(problem, field_errors={"labels": problem})
            values = {
                "title": draft.title,
                "description": draft.description.strip(),
                "priority": priority,
                "labelIds": [offered[label.casefold()] for label in dict.fromkeys(draft.labels)],
            }
            self._graphql(http, UPDATE_MUTATION, {"id": issue_id, "input": values}, mutation=True)

    def set_labels(self, key: str, labels: Sequence[str]) -> None:
        """``issueUpdate(id, input: {labelIds})``: the labels replace the issue's. Linear creates no label
        on the way: ``RemoteValidationError`` naming those its team (and workspace) do not have."""
        identifier = key.strip().upper()
        team_key = identifier.rsplit("-", 1)[0]
        with self.client() as http:
            data, _ = self._graphql(http, ISSUE_ID_QUERY, {"id": identifier})
            issue_id = (data.get("issue") or {}).get("id")
            if not issue_id:
                raise NotFound(f"Linear has no issue {key}, or the account cannot see it.")
            offered = {name.casefold(): label_id for name, label_id in self._labels(http, team_key).items()}
            unknown = [label for label in labels if label.casefold() not in offered]
            if unknown:
                problem = f"The Linear team {team_key} has no label {', '.join(f'“{name}”' for name in unknown)}."
                raise UnknownLabels(problem, unknown, field_errors={"labels": problem})
            label_ids = [offered[label.casefold()] for label in dict.fromkeys(labels)]
            self._graphql(http, UPDATE_MUTATION, {"id": issue_id, "input": {"labelIds": label_ids}}, mutation=True)

    def _priority(self, value: str | None) -> int | None:
        """Linear's priority number for a name or a number; 0 when none is given."""
        if not value or not value.strip():
            return 0
        value = value.strip()
        if value in ("0", "1", "2", "3", "4"):
            return int(value)
        return next((number for number, name in enumerate(PRIORITY_NAMES) if name.casefold() == value.casefold()), None)

    def add_comment(self, key: str, body: str) -> str:
        with self.client() as http:
            data, _ = self._graphql(http, ISSUE_ID_QUERY, {"id": key.strip()})
            issue_id = (data.get("issue") or {}).get("id")
            data, response = self._graphql(
                http, COMMENT_MUTATION, {"input": {"issueId": issue_id, "body": body}}, mutation=True
            )
        comment = (data.get("commentCreate") or {}).get("comment")
        if not isinstance(comment, dict) or not comment.get("id"):
            raise UpstreamError("Linear did not confirm that the comment was added.", status=response.status)
        return str(comment["id"])

    def register_webhook(self, url: str, secret: str) -> list[str]:
        """A webhook for issue and comment changes of each team of the source's project integrations,
        signed with ``secret`` (``webhookCreate``); one already sending a team's changes to ``url`` is
        updated instead. Linear lets only workspace admins (or OAuth apps with the admin scope) do it."""
        teams = self.assigned_projects()
        if not teams:
            raise NotConfigured(
                "No project integration names a Linear team: assign the source to a project with its team key first."
            )
        hook = {"url": url, "secret": secret, "resourceTypes": list(WEBHOOK_RESOURCE_TYPES), "enabled": True}
        registered = []
        with self.client() as http:
            existing = {
                (str((entry.get("team") or {}).get("id") or ""), entry.get("url")): str(entry.get("id"))
                for entry in self._pages(http, WEBHOOKS_QUERY, "webhooks", {})
            }
            for key in teams:
                team_id = str(self._team(http, key)["id"])
                hook_id = existing.get((team_id, url))
                if hook_id is None:
                    variables = {"input": {**hook, "teamId": team_id, "label": "testmanager"}}
                    data, response = self._graphql(http, WEBHOOK_CREATE_MUTATION, variables, mutation=True)
                    answer = data.get("webhookCreate") or {}
                else:
                    variables = {"id": hook_id, "input": hook}
                    data, response = self._graphql(http, WEBHOOK_UPDATE_MUTATION, variables, mutation=True)
                    answer = data.get("webhookUpdate") or {}
                webhook = answer.get("webhook") if answer.get("success") else None
                if not isinstance(webhook, dict) or not webhook.get("id"):
                    raise UpstreamError(f"Linear did not confirm the webhook of {key}.", status=response.status)
                registered.append(str(webhook["id"]))
        return registered

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        """Edit the comment in place (Linear lets only its author edit it); ``NotFound`` when it is gone."""
        with self.client() as http:
            data, response = self._graphql(
                http, COMMENT_UPDATE_MUTATION, {"id": comment_id.strip(), "input": {"body": body}}, mutation=True
            )
        if not (data.get("commentUpdate") or {}).get("success"):
            raise UpstreamError(f"Linear did not confirm that the comment on {key} was edited.", status=response.status)

    def comments(self, key: str) -> list[RemoteComment]:
        found = []
        with self.client() as http:
            after = None
            while True:
                data, _ = self._graphql(http, COMMENTS_QUERY, {"id": key.strip(), "first": PAGE_SIZE, "after": after})
                connection = ((data.get("issue") or {}).get("comments")) or {}
                for raw in connection.get("nodes") or []:
                    if isinstance(raw, dict):
                        found.append(
                            RemoteComment(
                                id=str(raw.get("id") or ""),
                                author=str((raw.get("user") or {}).get("name") or ""),
                                body=str(raw.get("body") or ""),
                                created_at=iso_timestamp(raw.get("createdAt")),
                            )
                        )
                page = connection.get("pageInfo") or {}
                after = page.get("endCursor")
                if not page.get("hasNextPage") or not after:
                    break
        return sorted(found, key=lambda comment: (comment.created_at is None, comment.created_at, comment.id))

    def transition(self, key: str, status: str) -> None:
        """Move the issue to the team's workflow state named ``status``; nothing to do when it is there."""
        with self.client() as http:
            data, _ = self._graphql(http, ISSUE_STATE_QUERY, {"id": key.strip()})
            issue = data.get("issue") if isinstance(data.get("issue"), dict) else {}
            current = str((issue.get("state") or {}).get("name") or "")
            if same_name(current, status):
                return
            nodes = ((issue.get("team") or {}).get("states") or {}).get("nodes") or []
            states = [state for state in nodes if isinstance(state, dict)]
            chosen = next((state for state in states if same_name(str(state.get("name")), status)), None)
            if chosen is None:
                offered = ", ".join(str(state.get("name")) for state in states) or "none"
                problem = f"{key} cannot move from {current} to “{status}”: its team's workflow has {offered}."
                raise RemoteValidationError(
                    f"{problem} Check the project integration's status mapping against the Linear workflow.",
                    field_errors={"status": problem},
                )
            self._graphql(
                http, UPDATE_MUTATION, {"id": issue.get("id"), "input": {"stateId": chosen["id"]}}, mutation=True
            )

    def set_priority(self, key: str, priority: str) -> None:
        """Linear's priorities are Urgent, High, Medium, Low and No priority (or 0-4)."""
        number = self._priority(priority)
        if number is None:
            problem = f"Linear priorities are {', '.join(PRIORITY_NAMES)} (or 0-4), not “{priority}”."
            raise RemoteValidationError(
                f"{problem} Check the project integration's priority mapping.", field_errors={"priority": problem}
            )
        with self.client() as http:
            data, _ = self._graphql(http, ISSUE_ID_QUERY, {"id": key.strip()})
            issue_id = (data.get("issue") or {}).get("id")
            if not issue_id:
                raise NotFound(f"Linear has no issue {key}, or the account cannot see it.")
            self._graphql(http, UPDATE_MUTATION, {"id": issue_id, "input": {"priority": number}}, mutation=True)

    # -- webhooks --

    def verify_webhook(self, request) -> None:
        """``Linear-Signature``: the hex HMAC-SHA256 of the body; then ``webhookTimestamp`` (epoch
        milliseconds, in the signed body) must be within a minute of now, so a captured delivery
        cannot be replayed later."""
        self.check_signature(request.body, request.headers.get("Linear-Signature"))
        sent = webhook_json(request.body).get("webhookTimestamp")
        if not isinstance(sent, (int, float)) or abs(time.time() * 1000 - sent) > WEBHOOK_TOLERANCE_SECONDS * 1000:
            raise WebhookRejected(
                f"The Linear delivery's webhookTimestamp is more than {WEBHOOK_TOLERANCE_SECONDS} s from now: a "
                "delayed or replayed delivery is refused (check this server's clock if every delivery is)."
            )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] = MappingProxyType({})) -> list[IssueEvent]:
        """``Issue`` create/update/remove and ``Comment`` create/update/remove events; other types carry
        nothing to apply. An issue's fields the data leaves out are unknown; a comment's data names its
        issue without its state, so it carries the comment alone."""
        payload = webhook_json(body)
        data, action = payload.get("data"), payload.get("action")
        if not isinstance(data, dict):
            return []
        delivery = delivery_id(headers, body, "Linear-Delivery")
        if payload.get("type") == "Issue" and isinstance(data.get("identifier"), str):
            if action == "remove":
                return [
                    IssueEvent(EventKind.DELETED, data["identifier"], iso_timestamp(data.get("updatedAt")), delivery)
                ]
            issue = replace(self._pulled_item(data, HOOK_QUERY), unknown=_uncarried(data))
            kind = EventKind.CREATED if action == "create" else EventKind.UPDATED
            return [IssueEvent(kind, issue.key, issue.updated_at, delivery, issue=issue)]
        identifier = (data.get("issue") or {}).get("identifier") if isinstance(data.get("issue"), dict) else None
        kind = COMMENT_ACTIONS.get(str(action))
        if payload.get("type") != "Comment" or kind is None or not isinstance(identifier, str) or not data.get("id"):
            return []
        created, updated = iso_timestamp(data.get("createdAt")), iso_timestamp(data.get("updatedAt"))
        comment = RemoteComment(
            id=str(data["id"]),
            author=str((data.get("user") or {}).get("name") or ""),
            body=str(data.get("body") or ""),
            created_at=created,
            updated_at=updated,
        )
        # The payload's own createdAt is when the action happened: for a removal, the deletion's time.
        when = iso_timestamp(payload.get("createdAt")) if kind == EventKind.COMMENT_DELETED else updated or created
        return [IssueEvent(kind, identifier, when, delivery, comment=comment)]
