"""A fake Linear speaking Linear's documented GraphQL API over real HTTP.

The API is one endpoint, `POST /graphql`, taking {query, variables, operationName}. The fake
executes requests with graphql-core against a subset of Linear's own published schema (the SDK's
`packages/sdk/src/schema.graphql` in github.com/linear/linear): the types, fields, arguments and
input fields below are copied from it, and everything the fake does not implement is simply
absent, so a request for it fails GraphQL validation exactly as an unknown field does on Linear.

Sources read to build it (Linear's developer documentation and its SDK, unless marked otherwise):
- "GraphQL API" / "Authentication": personal API keys go in `Authorization: <API_KEY>` as they
  are, OAuth access tokens as `Authorization: Bearer <ACCESS_TOKEN>`; OAuth scopes `read`,
  `write`, `issues:create`, `comments:create`.
- "Pagination": Relay connections with `first`/`after` and `pageInfo {hasNextPage, endCursor}`;
  "by default our pagination returns up to 50 records".
- "Filtering": comparators (`eq`, `in`, `neq`, `nin`, `eqIgnoreCase`, `containsIgnoreCase`, ...)
  and `and`/`or` filters, e.g. `issues(filter: {team: {key: {eq: "ENG"}}, number: {in: [1, 2]}})`.
- "Rate limiting": leaky buckets for requests and query complexity, reported on every response in
  `X-RateLimit-Requests-Limit/-Remaining/-Reset`, `X-Complexity`,
  `X-RateLimit-Complexity-Limit/-Remaining/-Reset` (resets in UTC epoch milliseconds); an
  exhausted budget answers a `RATELIMITED` error.
- The SDK's error parser (`packages/sdk/src/error.ts`): errors carry `extensions.type`
  ("authentication error", "forbidden", "invalid input", "ratelimited", ...) and
  `extensions.userPresentableMessage`; GraphQL errors arrive in `errors` next to `data`.
- "Delete and archive issues" (linear.app/docs/delete-archive-issues): a deleted issue waits in
  the team's archives (the schema's `trashed`, "trashed documents are archived and can be
  restored") for 30 days, then is removed for good; Linear archives closed issues by itself.
- "Move issues between teams" (linear.app/docs): a moved issue takes the new team's next number, so
  a new identifier; links to the old identifier still reach it (`issue(id:)` answers to it here). Its
  `id` (a UUID) stays the same.
- "Webhooks" (linear.app/developers/webhooks): a data change delivery carries `action`, `type`,
  `createdAt`, `data` (the entity as it is now), `url`, `webhookTimestamp` and, for updates,
  `updatedFrom`, "an object containing the previous values of all updated properties" (stored
  properties by their names, e.g. `stateId`, `teamId`, `number`, `updatedAt`; the identifier is a
  derived field the fake leaves out of it).
  Archived records are left out of connections unless `includeArchived: true` (the schema's
  "Should archived resources be included (default: false)"); `issue(id:)` still finds them.
- Creating webhooks ("Webhooks": "Only workspace admins, or OAuth applications with the admin scope, can
  create or read webhooks"; the schema's `webhookCreate(input: WebhookCreateInput!)` with url, teamId,
  resourceTypes, secret, label, enabled, `webhookUpdate(id:, input:)` and `webhooks`). Choice where the
  documentation is silent: anyone else is refused with a `forbidden` error (403).
- The schema's `Cycle` (startsAt, endsAt, completedAt), `Project` (startDate, targetDate,
  completedAt, canceledAt, shared by teams: `accessibleTeams`), the collection filters
  (`labels: {some: ...}`, `every`) and `commentUpdate(id:, input:)`; only a comment's author may
  edit it (Linear's app offers editing on one's own comments only).
- "How to upload a file to Linear" and "File Storage Authentication": the `fileUpload(contentType,
  filename, size)` mutation answers `uploadFile {uploadUrl, assetUrl, headers {key value}}`; the file
  goes to the pre-signed `uploadUrl` in a `PUT` carrying those headers (from a server, never a
  browser), and the `assetUrl` (on uploads.linear.app, readable with the API's credentials) can then
  be used in mutations, e.g. `attachmentCreate(input: {issueId, title, url})` (schema:
  AttachmentCreateInput, AttachmentPayload). The upload URL is on storage, another host: the fake
  serves it from a second server (`storage`, its own port), which refuses a PUT that lacks a header
  `fileUpload` gave or whose size differs from the one declared (403, as a signed URL whose signed
  headers do not match), and one carrying an `Authorization` header (400: a signed URL authorizes
  itself); `max_upload_bytes` (unset: no limit) refuses a larger `size` in `fileUpload`.
- The GraphQL specification ("Response", "Errors"): `data` is null when a non-null root field
  fails; each error has `message`, `locations`, `path`, `extensions`.

Choices where the documentation is silent, stated once here: requests refused before execution
(no or bad credentials, an exhausted rate limit, a body that is not JSON, a query that does not
parse or validate) answer HTTP 400 (for rate limits with `extensions.statusCode` 429, as clients
of the live API report it, e.g. vanillagreencom/kendex#1018; parse and validation failures with
the `GRAPHQL_PARSE_FAILED` / `GRAPHQL_VALIDATION_FAILED` codes of Linear's Apollo server); errors
raised while executing (not found, forbidden, invalid input) answer HTTP 200 with `errors`, as
GraphQL servers do. Connections list newest first.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

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
    parse,
    validate,
)

from tests.fakes.server import FakeHTTPServer, RecordedRequest, Response, TrackerFake, json_response, text_response
from tests.fakes.webhooks import Delivery, body_of, hex_hmac

DEFAULT_PAGE = 50
REQUESTS_PER_HOUR = 5000
COMPLEXITY_PER_HOUR = 3_000_000
PRIORITY_LABELS = ("No priority", "Urgent", "High", "Medium", "Low")
STATE_TYPES = ("triage", "backlog", "unstarted", "started", "completed", "canceled")

_ISSUE_FIELDS = """
  id: ID!
  identifier: String!
  number: Float!
  title: String!
  description: String
  dueDate: TimelessDate
  estimate: Float
  priority: Float!
  priorityLabel: String!
  url: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  completedAt: DateTime
  canceledAt: DateTime
  archivedAt: DateTime
  trashed: Boolean
  state: WorkflowState!
  team: Team!
  cycle: Cycle
  project: Project
  assignee: User
  creator: User
  labels(after: String, before: String, filter: IssueLabelFilter, first: Int, includeArchived: Boolean, last: Int, orderBy: PaginationOrderBy): IssueLabelConnection!
  comments(after: String, before: String, first: Int, includeArchived: Boolean, last: Int, orderBy: PaginationOrderBy): CommentConnection!
"""  # noqa: E501
_PAGING = "after: String, before: String, first: Int, includeArchived: Boolean, last: Int, orderBy: PaginationOrderBy"

SCHEMA = build_schema(
    f"""
scalar DateTime
scalar TimelessDate

enum PaginationOrderBy {{ createdAt updatedAt }}

type PageInfo {{ endCursor: String hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String }}

type User {{ id: ID! name: String! displayName: String! email: String! active: Boolean! url: String! }}
type UserEdge {{ cursor: String! node: User! }}
type UserConnection {{ edges: [UserEdge!]! nodes: [User!]! pageInfo: PageInfo! }}

type Team {{
  id: ID!
  key: String!
  name: String!
  description: String
  private: Boolean!
  states({_PAGING}, filter: WorkflowStateFilter): WorkflowStateConnection!
  labels({_PAGING}, filter: IssueLabelFilter): IssueLabelConnection!
  members({_PAGING}): UserConnection!
}}
type TeamEdge {{ cursor: String! node: Team! }}
type TeamConnection {{ edges: [TeamEdge!]! nodes: [Team!]! pageInfo: PageInfo! }}

type WorkflowState {{ id: ID! name: String! type: String! color: String! position: Float! team: Team! }}
type WorkflowStateEdge {{ cursor: String! node: WorkflowState! }}
type WorkflowStateConnection {{ edges: [WorkflowStateEdge!]! nodes: [WorkflowState!]! pageInfo: PageInfo! }}

type IssueLabel {{ id: ID! name: String! color: String! team: Team }}
type IssueLabelEdge {{ cursor: String! node: IssueLabel! }}
type IssueLabelConnection {{ edges: [IssueLabelEdge!]! nodes: [IssueLabel!]! pageInfo: PageInfo! }}

type Comment {{
  id: ID! body: String! createdAt: DateTime! updatedAt: DateTime! editedAt: DateTime url: String! user: User
  issue: Issue
}}
type CommentEdge {{ cursor: String! node: Comment! }}
type CommentConnection {{ edges: [CommentEdge!]! nodes: [Comment!]! pageInfo: PageInfo! }}

type Cycle {{
  id: ID! name: String number: Float! startsAt: DateTime! endsAt: DateTime! completedAt: DateTime archivedAt: DateTime
  createdAt: DateTime! updatedAt: DateTime! team: Team!
}}
type CycleEdge {{ cursor: String! node: Cycle! }}
type CycleConnection {{ edges: [CycleEdge!]! nodes: [Cycle!]! pageInfo: PageInfo! }}

type Project {{
  id: ID! name: String! url: String! startDate: TimelessDate targetDate: TimelessDate completedAt: DateTime
  canceledAt: DateTime archivedAt: DateTime createdAt: DateTime! updatedAt: DateTime!
}}
type ProjectEdge {{ cursor: String! node: Project! }}
type ProjectConnection {{ edges: [ProjectEdge!]! nodes: [Project!]! pageInfo: PageInfo! }}

type Issue {{ {_ISSUE_FIELDS} }}
type IssueEdge {{ cursor: String! node: Issue! }}
type IssueConnection {{ edges: [IssueEdge!]! nodes: [Issue!]! pageInfo: PageInfo! }}

type IssueSearchResult {{ {_ISSUE_FIELDS} }}
type IssueSearchResultEdge {{ cursor: String! node: IssueSearchResult! }}
type IssueSearchPayload {{
  edges: [IssueSearchResultEdge!]! nodes: [IssueSearchResult!]! pageInfo: PageInfo! totalCount: Float!
}}

type IssuePayload {{ issue: Issue lastSyncId: Float! success: Boolean! }}
type CommentPayload {{ comment: Comment! lastSyncId: Float! success: Boolean! }}

input IDComparator {{ eq: ID in: [ID!] neq: ID nin: [ID!] }}
input IssueIDComparator {{ eq: ID in: [ID!] neq: ID nin: [ID!] }}
input NumberComparator {{ eq: Float gt: Float gte: Float in: [Float!] lt: Float lte: Float neq: Float nin: [Float!] }}
input StringComparator {{
  contains: String containsIgnoreCase: String eq: String eqIgnoreCase: String in: [String!] neq: String
  nin: [String!] startsWith: String
}}
input TeamFilter {{
  and: [TeamFilter!] id: IDComparator key: StringComparator name: StringComparator or: [TeamFilter!]
}}
input WorkflowStateFilter {{
  and: [WorkflowStateFilter!] id: IDComparator name: StringComparator or: [WorkflowStateFilter!] team: TeamFilter
  type: StringComparator
}}
input NullableTeamFilter {{
  and: [NullableTeamFilter!] id: IDComparator key: StringComparator name: StringComparator null: Boolean
  or: [NullableTeamFilter!]
}}
input IssueLabelFilter {{
  and: [IssueLabelFilter!] id: IDComparator name: StringComparator or: [IssueLabelFilter!] team: NullableTeamFilter
}}
input IssueLabelCollectionFilter {{
  and: [IssueLabelCollectionFilter!] every: IssueLabelFilter or: [IssueLabelCollectionFilter!] some: IssueLabelFilter
}}
input TeamCollectionFilter {{
  and: [TeamCollectionFilter!] every: TeamFilter or: [TeamCollectionFilter!] some: TeamFilter
}}
input CycleFilter {{
  and: [CycleFilter!] id: IDComparator name: StringComparator number: NumberComparator or: [CycleFilter!]
  team: TeamFilter
}}
input NullableCycleFilter {{
  and: [NullableCycleFilter!] id: IDComparator name: StringComparator null: Boolean number: NumberComparator
  or: [NullableCycleFilter!] team: TeamFilter
}}
input ProjectFilter {{
  accessibleTeams: TeamCollectionFilter and: [ProjectFilter!] id: IDComparator name: StringComparator
  or: [ProjectFilter!]
}}
input NullableProjectFilter {{
  accessibleTeams: TeamCollectionFilter and: [NullableProjectFilter!] id: IDComparator name: StringComparator
  null: Boolean or: [NullableProjectFilter!]
}}
input IssueFilter {{
  and: [IssueFilter!] cycle: NullableCycleFilter id: IssueIDComparator labels: IssueLabelCollectionFilter
  number: NumberComparator or: [IssueFilter!] project: NullableProjectFilter state: WorkflowStateFilter
  team: TeamFilter title: StringComparator
}}

input IssueCreateInput {{
  assigneeId: String description: String dueDate: TimelessDate labelIds: [String!] priority: Int stateId: String
  teamId: String! title: String
}}
input IssueUpdateInput {{
  assigneeId: String description: String labelIds: [String!] priority: Int stateId: String title: String
}}
input CommentCreateInput {{ body: String issueId: String }}
input AttachmentCreateInput {{ iconUrl: String issueId: String! subtitle: String title: String! url: String! }}
type UploadFileHeader {{ key: String! value: String! }}
type UploadFile {{
  assetUrl: String! contentType: String! filename: String! headers: [UploadFileHeader!]! size: Int! uploadUrl: String!
}}
type UploadPayload {{ lastSyncId: Float! success: Boolean! uploadFile: UploadFile }}
type Attachment {{ id: ID! title: String! url: String! }}
type AttachmentPayload {{ attachment: Attachment! lastSyncId: Float! success: Boolean! }}
input CommentUpdateInput {{ body: String }}

type Webhook {{
  id: ID! url: String label: String enabled: Boolean! resourceTypes: [String!]! team: Team allPublicTeams: Boolean!
  createdAt: DateTime! updatedAt: DateTime!
}}
type WebhookConnection {{ nodes: [Webhook!]! pageInfo: PageInfo! }}
type WebhookPayload {{ lastSyncId: Float! success: Boolean! webhook: Webhook! }}
input WebhookCreateInput {{
  allPublicTeams: Boolean enabled: Boolean id: String label: String resourceTypes: [String!]! secret: String
  teamId: String url: String!
}}
input WebhookUpdateInput {{ enabled: Boolean label: String resourceTypes: [String!] secret: String url: String }}

type Query {{
  webhooks({_PAGING}): WebhookConnection!
  viewer: User!
  users({_PAGING}): UserConnection!
  team(id: String!): Team!
  teams({_PAGING}, filter: TeamFilter): TeamConnection!
  workflowStates({_PAGING}, filter: WorkflowStateFilter): WorkflowStateConnection!
  issueLabels({_PAGING}, filter: IssueLabelFilter): IssueLabelConnection!
  issue(id: String!): Issue!
  issues({_PAGING}, filter: IssueFilter): IssueConnection!
  cycles({_PAGING}, filter: CycleFilter): CycleConnection!
  projects({_PAGING}, filter: ProjectFilter): ProjectConnection!
  searchIssues(
    {_PAGING}, filter: IssueFilter, includeComments: Boolean, teamId: String, term: String!
  ): IssueSearchPayload!
}}

type Mutation {{
  issueCreate(input: IssueCreateInput!): IssuePayload!
  issueUpdate(id: String!, input: IssueUpdateInput!): IssuePayload!
  commentCreate(input: CommentCreateInput!): CommentPayload!
  commentUpdate(id: String!, input: CommentUpdateInput!): CommentPayload!
  fileUpload(contentType: String!, filename: String!, makePublic: Boolean, size: Int!): UploadPayload!
  attachmentCreate(input: AttachmentCreateInput!): AttachmentPayload!
  webhookCreate(input: WebhookCreateInput!): WebhookPayload!
  webhookUpdate(id: String!, input: WebhookUpdateInput!): WebhookPayload!
}}
"""
)


class LinearApiError(GraphQLError):
    """An error raised while executing, with the extensions Linear attaches."""

    def __init__(self, message: str, kind: str, code: str, status: int, presentable: str):
        super().__init__(
            message,
            extensions={
                "type": kind,
                "code": code,
                "statusCode": status,
                "userError": True,
                "userPresentableMessage": presentable,
            },
        )


def not_found(entity: str) -> LinearApiError:
    return LinearApiError(
        f"Entity not found: {entity}", "invalid input", "INPUT_ERROR", 400, f"Could not find referenced {entity}."
    )


def invalid_input(presentable: str) -> LinearApiError:
    return LinearApiError("Argument Validation Error", "invalid input", "INVALID_INPUT", 400, presentable)


# -- state ---------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now() -> datetime:
    """Now to the millisecond, the precision of Linear's timestamps."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(eq=False)
class LinearUser:
    id: str
    name: str
    display_name: str
    email: str
    active: bool = True
    admin: bool = False  # a workspace admin (may create and read webhooks)
    url: str = ""
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(eq=False)
class LinearWebhook:
    id: str
    url: str
    secret: str
    resource_types: list[str]
    team: LinearTeam | None
    created_at: datetime
    updated_at: datetime
    label: str = ""
    enabled: bool = True
    all_public_teams: bool = False
    archived_at: datetime | None = None


@dataclass(eq=False)
class LinearTeam:
    id: str
    key: str
    name: str
    description: str | None = None
    private: bool = False
    member_ids: set[str] = field(default_factory=set)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(eq=False)
class LinearState:
    id: str
    name: str
    type: str
    color: str
    position: float
    team: LinearTeam
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(eq=False)
class LinearLabel:
    id: str
    name: str
    color: str
    team: LinearTeam | None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(eq=False)
class LinearComment:
    id: str
    body: str
    user: LinearUser
    issue: LinearIssue
    created_at: datetime
    updated_at: datetime
    url: str = ""
    edited_at: datetime | None = None


@dataclass(eq=False)
class LinearCycle:
    """A team's cycle (Linear's sprint); unnamed cycles show as "Cycle <number>" in Linear's app."""

    id: str
    number: int
    team: LinearTeam
    starts_at: datetime
    ends_at: datetime
    name: str | None = None
    completed_at: datetime | None = None
    archived_at: datetime | None = None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(eq=False)
class LinearProject:
    """A project, shared by one or more teams; dates are timeless (YYYY-MM-DD)."""

    id: str
    name: str
    teams: list[LinearTeam]
    url: str
    start_date: str | None = None
    target_date: str | None = None
    completed_at: datetime | None = None
    canceled_at: datetime | None = None
    archived_at: datetime | None = None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(eq=False)
class LinearIssue:
    id: str
    number: int
    title: str
    team: LinearTeam
    state: LinearState
    url: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    due_date: str | None = None  # YYYY-MM-DD
    estimate: float | None = None
    priority: int = 0
    cycle: LinearCycle | None = None
    project: LinearProject | None = None
    trashed: bool | None = None  # deleted issues wait in the trash (archived) for 30 days
    archived_at: datetime | None = None
    assignee: LinearUser | None = None
    creator: LinearUser | None = None
    label_list: list[LinearLabel] = field(default_factory=list)
    comment_list: list[LinearComment] = field(default_factory=list)
    # Linear dates the move into a completed or canceled state, and clears it when the issue leaves it.
    completed_at: datetime | None = None
    canceled_at: datetime | None = None
    former_identifiers: list[str] = field(default_factory=list)  # identifiers it had before team moves
    # The previous values of the properties the last change updated, as an ``update`` delivery's
    # ``updatedFrom`` carries them (stored properties by their payload names: teamId, number, stateId, ...).
    updated_from: dict = field(default_factory=dict)

    def __post_init__(self):
        self.move_to(self.state, self.created_at)

    def move_to(self, state: LinearState, moment: datetime) -> None:
        self.completed_at = (self.completed_at or moment) if state.type == "completed" else None
        self.canceled_at = (self.canceled_at or moment) if state.type == "canceled" else None
        self.state = state

    @property
    def identifier(self) -> str:
        return f"{self.team.key}-{self.number}"

    def answers_to(self, id: Any) -> bool:
        """Whether an ``id`` argument names the issue: its UUID, its identifier or one it had before a team move."""
        return id in (self.id, self.identifier, *self.former_identifiers)

    @property
    def priority_label(self) -> str:
        return PRIORITY_LABELS[self.priority]


@dataclass
class _Credential:
    user_id: str
    scopes: frozenset[str]


@dataclass
class _Injected:
    response: Callable[[], Response]
    remaining: int


class LinearFake(TrackerFake):
    """An in-memory Linear workspace behind a real HTTP server on 127.0.0.1 (`/graphql`)."""

    def __init__(self, workspace: str = "example"):
        self.workspace = workspace
        self.server = FakeHTTPServer()
        self.server.interceptor = self._intercept
        self.server.add_route("POST", r"/graphql", self._graphql)
        self.users: dict[str, LinearUser] = {}
        self.teams: dict[str, LinearTeam] = {}
        self.states: list[LinearState] = []
        self.labels: list[LinearLabel] = []
        self.issues: list[LinearIssue] = []
        self.webhooks: list[LinearWebhook] = []
        self.cycles: list[LinearCycle] = []
        self.projects: list[LinearProject] = []
        self.requests_remaining = REQUESTS_PER_HOUR
        self.complexity_remaining = COMPLEXITY_PER_HOUR
        self._api_keys: dict[str, _Credential] = {}
        self._oauth_tokens: dict[str, _Credential] = {}
        self._credential: _Credential | None = None
        self._injected: list[_Injected] = []
        self._sync_ids = itertools.count(1000)
        self._last_moment = datetime.now(UTC).replace(microsecond=0)
        # Linear's file storage: another host, reached through pre-signed upload URLs.
        self.storage = FakeHTTPServer()
        self.storage.add_route("PUT", r"/signed/(?P<token>[0-9a-f]+)", self._store_upload)
        self.pending_uploads: dict[str, dict] = {}  # token -> what fileUpload was told
        self.stored_files: dict[str, dict] = {}  # asset url -> {filename, content_type, content}
        self.attachments: list[dict] = []  # {issue, title, url}, as attachmentCreate made them
        self.max_upload_bytes: int | None = None

    def start(self):
        self.storage.start()
        return super().start()

    def stop(self) -> None:
        super().stop()
        self.storage.stop()

    def _store_upload(self, request: RecordedRequest, token: str) -> Response:
        pending = self.pending_uploads.get(token)
        if pending is None:
            return text_response(HTTPStatus.NOT_FOUND, "NoSuchUpload")
        if "Authorization" in request.headers:
            return text_response(HTTPStatus.BAD_REQUEST, "A signed URL carries its own authorization.")
        signed = all(request.headers.get(key) == value for key, value in pending["headers"].items())
        if not signed or len(request.body) != pending["size"]:
            return text_response(HTTPStatus.FORBIDDEN, "SignatureDoesNotMatch")
        del self.pending_uploads[token]
        self.stored_files[pending["asset_url"]] = {
            "filename": pending["filename"],
            "content_type": pending["content_type"],
            "content": request.body,
        }
        return Response(HTTPStatus.OK)

    # -- lifecycle and request log ----------------------------------------------------------------

    def graphql_requests(self) -> list[dict]:
        """The JSON bodies of the GraphQL requests received."""
        return [json.loads(request.body) for request in self.server.requests_to("POST", r"/graphql")]

    # -- seeding ----------------------------------------------------------------------------------

    def add_user(self, email: str, name: str | None = None) -> LinearUser:
        with self.server.lock:
            name = name or email.split("@")[0].replace(".", " ").title()
            now = self._tick()
            user = LinearUser(
                id=str(uuid.uuid4()),
                name=name,
                display_name=name.split()[0].lower(),
                email=email,
                url=f"https://linear.app/{self.workspace}/profiles/{name.split()[0].lower()}",
                created_at=now,
                updated_at=now,
            )
            self.users[email] = user
            return user

    def add_api_key(self, email: str, key: str, *, scopes: Iterable[str] = ("read", "write")) -> LinearUser:
        """A personal API key; Linear lets a key be restricted to reading."""
        with self.server.lock:
            user = self.users.get(email) or self.add_user(email)
            self._api_keys[key] = _Credential(user.id, frozenset(scopes))
            return user

    def add_oauth_token(self, email: str, token: str, *, scopes: Iterable[str] = ("read", "write")) -> LinearUser:
        with self.server.lock:
            user = self.users.get(email) or self.add_user(email)
            self._oauth_tokens[token] = _Credential(user.id, frozenset(scopes))
            return user

    def add_team(
        self, key: str, name: str | None = None, *, private: bool = False, members: Iterable[str] = ()
    ) -> LinearTeam:
        """A team with Linear's default workflow; `members` (e-mails) matter for private teams only."""
        with self.server.lock:
            team = LinearTeam(
                id=str(uuid.uuid4()),
                key=key,
                name=name or key.title(),
                private=private,
                member_ids={self.users[email].id for email in members},
                created_at=self._tick(),
            )
            team.updated_at = team.created_at
            self.teams[key] = team
            defaults = (("Backlog", "backlog"), ("Todo", "unstarted"), ("In Progress", "started"),
                        ("Done", "completed"), ("Canceled", "canceled"))  # fmt: skip
            for position, (state_name, state_type) in enumerate(defaults):
                now = self._tick()
                self.states.append(
                    LinearState(str(uuid.uuid4()), state_name, state_type, "#bec2c8", float(position), team, now, now)
                )
            return team

    def add_label(self, name: str, team: str | None = None) -> LinearLabel:
        """A label of one team, or of the whole workspace when `team` is None."""
        with self.server.lock:
            now = self._tick()
            label = LinearLabel(str(uuid.uuid4()), name, "#5e6ad2", self.teams[team] if team else None, now, now)
            self.labels.append(label)
            return label

    def add_issue(
        self,
        team: str,
        title: str,
        *,
        state: str | None = None,
        description: str | None = None,
        priority: int = 0,
        assignee: str | None = None,
        labels: Iterable[str] = (),
        updated: datetime | None = None,
        due_date: str | None = None,
        estimate: float | None = None,
        cycle: int | None = None,
        project: str | None = None,
    ) -> LinearIssue:
        """An issue of ``team``; ``cycle`` by the team's cycle number, ``project`` by name."""
        with self.server.lock:
            team_ = self.teams[team]
            states = self.team_states(team_)
            chosen = next(s for s in states if s.name == state) if state else self._default_state(team_)
            issue = self._store_issue(
                team_,
                title,
                chosen,
                description=description,
                priority=priority,
                assignee=self.users[assignee] if assignee else None,
                labels=[label for label in self.labels if label.name in set(labels)],
                creator=None,
                updated=updated,
            )
            issue.due_date, issue.estimate = due_date, estimate
            issue.cycle = self.cycle(team, cycle) if cycle is not None else None
            issue.project = self.project(project) if project is not None else None
            return issue

    def add_cycle(
        self, team: str, starts_at: datetime, ends_at: datetime, *, name: str | None = None, completed: bool = False
    ) -> LinearCycle:
        """The team's next cycle (numbered from 1); a completed one has ``completedAt`` at its end."""
        with self.server.lock:
            team_ = self.teams[team]
            number = 1 + max((cycle.number for cycle in self.cycles if cycle.team is team_), default=0)
            now = self._tick()
            cycle = LinearCycle(
                str(uuid.uuid4()),
                number,
                team_,
                starts_at,
                ends_at,
                name=name,
                completed_at=ends_at if completed else None,
                created_at=now,
                updated_at=now,
            )
            self.cycles.append(cycle)
            return cycle

    def add_project(
        self,
        name: str,
        teams: Iterable[str],
        *,
        start_date: str | None = None,
        target_date: str | None = None,
        completed: bool = False,
        canceled: bool = False,
    ) -> LinearProject:
        with self.server.lock:
            now = self._tick()
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            project = LinearProject(
                str(uuid.uuid4()),
                name,
                [self.teams[key] for key in teams],
                f"https://linear.app/{self.workspace}/project/{slug}-{uuid.uuid4().hex[:12]}",
                start_date=start_date,
                target_date=target_date,
                completed_at=now if completed else None,
                canceled_at=now if canceled else None,
                created_at=now,
                updated_at=now,
            )
            self.projects.append(project)
            return project

    def cycle(self, team: str, number: int) -> LinearCycle:
        return next(cycle for cycle in self.cycles if cycle.team.key == team and cycle.number == number)

    def project(self, name: str) -> LinearProject:
        return next(project for project in self.projects if project.name == name)

    def add_comment(self, identifier: str, body: str, *, author: str) -> LinearComment:
        with self.server.lock:
            issue = self.issue(identifier)
            now = self._tick()
            comment = LinearComment(str(uuid.uuid4()), body, self.users[author], issue, now, now)
            comment.url = f"{issue.url}#comment-{comment.id[:8]}"
            issue.comment_list.append(comment)
            return comment

    def issue(self, identifier: str) -> LinearIssue:
        return next(issue for issue in self.issues if identifier in (issue.identifier, issue.id))

    def move_issue(self, identifier: str, team: str) -> LinearIssue:
        """Move an issue to another team, where it takes the team's next number and so a new identifier
        (and URL); its old identifier still finds it through ``issue(id:)``, while filters on team and
        number see it only where it is now."""
        with self.server.lock:
            issue, target = self.issue(identifier), self.teams[team]
            issue.updated_from = {
                "updatedAt": _iso(issue.updated_at),
                "teamId": issue.team.id,
                "number": issue.number,
                "stateId": issue.state.id,
            }
            issue.former_identifiers.append(issue.identifier)
            issue.number = 1 + max((other.number for other in self.issues if other.team is target), default=0)
            same_type = (state for state in self.team_states(target) if state.type == issue.state.type)
            issue.team, issue.state = target, next(same_type, self._default_state(target))
            issue.url = re.sub(r"/issue/[^/]+/", f"/issue/{issue.identifier}/", issue.url)
            issue.updated_at = self._tick()
            return issue

    def team_states(self, team: LinearTeam) -> list[LinearState]:
        return [state for state in self.states if state.team is team]

    # -- changes and webhooks ---------------------------------------------------------------------

    def edit_issue(
        self,
        identifier: str,
        *,
        title: str | None = None,
        description: str | None = None,
        state: str | None = None,
        priority: int | None = None,
        assignee: str | None = None,
        labels: Iterable[str] | None = None,
    ) -> LinearIssue:
        """Change an issue as someone in Linear would (``state`` and ``labels`` by name, ``assignee``
        by e-mail); its ``updatedAt`` moves on."""
        with self.server.lock:
            issue = self.issue(identifier)
            issue.updated_from = {"updatedAt": _iso(issue.updated_at)}
            if title is not None:
                issue.updated_from["title"] = issue.title
                issue.title = title
            if description is not None:
                issue.updated_from["description"] = issue.description
                issue.description = description
            if labels is not None:
                issue.label_list = [label for label in self.labels if label.name in set(labels)]
            issue.updated_at = self._tick()
            if state is not None:
                issue.updated_from["stateId"] = issue.state.id
                issue.move_to(next(s for s in self.team_states(issue.team) if s.name == state), issue.updated_at)
            if priority is not None:
                issue.updated_from["priority"] = issue.priority
                issue.priority = priority
            if assignee is not None:
                issue.assignee = self.users[assignee]
            return issue

    def delete_issue(self, identifier: str, *, permanently: bool = False) -> None:
        """Delete an issue as Linear's app does: it goes to the trash (archived, ``trashed``), where
        ``issue(id:)`` still finds it for 30 days; ``permanently`` it is gone at once."""
        with self.server.lock:
            issue = self.issue(identifier)
            if permanently:
                self.issues.remove(issue)
                return
            issue.trashed, issue.archived_at = True, self._tick()

    def archive_issue(self, identifier: str) -> None:
        """Archive an issue, as Linear does by itself with issues closed for a while."""
        with self.server.lock:
            self.issue(identifier).archived_at = self._tick()

    def delete_comment(self, identifier: str, comment_id: str) -> None:
        with self.server.lock:
            issue = self.issue(identifier)
            issue.comment_list = [comment for comment in issue.comment_list if comment.id != comment_id]

    def issue_delivery(
        self, identifier: str, *, action: str = "update", secret: str, sent_at: datetime | None = None
    ) -> Delivery:
        """An ``Issue`` data change delivery (``action``: create, update, remove) with the issue as it
        is now and, for an update, ``updatedFrom``: the previous values of the properties the last change
        updated; ``sent_at`` is the ``webhookTimestamp`` (now when not given)."""
        with self.server.lock:
            issue = self.issue(identifier)
            extra = {"updatedFrom": dict(issue.updated_from)} if action == "update" else {}
            return self._delivery(
                "Issue", action, self._issue_webhook_data(issue), issue.url, secret, sent_at, extra=extra
            )

    def comment_delivery(
        self,
        identifier: str,
        comment_id: str,
        *,
        action: str = "create",
        secret: str,
        sent_at: datetime | None = None,
    ) -> Delivery:
        """A ``Comment`` delivery (``action``: create, update, remove) for one of the issue's comments;
        the payload's ``createdAt`` is when the action happened (``sent_at``, now when not given)."""
        with self.server.lock:
            issue = self.issue(identifier)
            comment = next(comment for comment in issue.comment_list if comment.id == comment_id)
            data = {
                "id": comment.id,
                "createdAt": _iso(comment.created_at),
                "updatedAt": _iso(comment.updated_at),
                "body": comment.body,
                "issueId": issue.id,
                "userId": comment.user.id,
                "issue": {
                    "id": issue.id,
                    "identifier": issue.identifier,
                    "title": issue.title,
                    "teamId": issue.team.id,
                    "url": issue.url,
                },
                "user": {"id": comment.user.id, "name": comment.user.name, "email": comment.user.email},
            }
            return self._delivery("Comment", action, data, comment.url, secret, sent_at)

    def _issue_webhook_data(self, issue: LinearIssue) -> dict:
        state, team = issue.state, issue.team
        return {
            "id": issue.id,
            "createdAt": _iso(issue.created_at),
            "updatedAt": _iso(issue.updated_at),
            "completedAt": _iso(issue.completed_at) if issue.completed_at else None,
            "canceledAt": _iso(issue.canceled_at) if issue.canceled_at else None,
            "number": issue.number,
            "title": issue.title,
            "description": issue.description,
            "priority": issue.priority,
            "priorityLabel": issue.priority_label,
            "identifier": issue.identifier,
            "url": issue.url,
            "stateId": state.id,
            "state": {"id": state.id, "name": state.name, "type": state.type, "color": state.color},
            "teamId": team.id,
            "team": {"id": team.id, "key": team.key, "name": team.name},
            "assigneeId": issue.assignee.id if issue.assignee else None,
            "assignee": {"id": issue.assignee.id, "name": issue.assignee.name, "email": issue.assignee.email}
            if issue.assignee
            else None,
            "labelIds": [label.id for label in issue.label_list],
            # IssueWebhookPayload.labels: IssueLabelChildWebhookPayload (id, name, color, parentId).
            "labels": [
                {"id": label.id, "name": label.name, "color": label.color, "parentId": None}
                for label in issue.label_list
            ],
        }

    def _delivery(
        self,
        kind: str,
        action: str,
        data: dict,
        url: str,
        secret: str,
        sent_at: datetime | None,
        *,
        extra: dict | None = None,
    ) -> Delivery:
        sent = sent_at or _now()
        payload = {
            "action": action,
            "type": kind,
            "createdAt": _iso(sent),
            "data": data,
            **(extra or {}),
            "url": url,
            "organizationId": "00000000-0000-4000-8000-00000000f00d",
            "webhookId": str(uuid.uuid4()),
            "webhookTimestamp": int(sent.timestamp() * 1000),
        }
        body = body_of(payload)
        return Delivery(
            {
                "Linear-Delivery": str(uuid.uuid4()),
                "Linear-Event": kind,
                "Linear-Signature": hex_hmac(secret, body),
                "User-Agent": "Linear-Webhook",
            },
            body,
        )

    # -- fault injection --------------------------------------------------------------------------

    def rate_limit_next(self, count: int = 1, *, budget: str = "requests", reset_in: int = 120) -> None:
        """Refuse the next `count` requests as rate limited, with the `budget` ("requests" or
        "complexity") exhausted until `reset_in` seconds from now."""
        if budget not in ("requests", "complexity"):
            raise ValueError("budget is 'requests' or 'complexity'")

        def limited() -> Response:
            reset = str(int((datetime.now(UTC).timestamp() + reset_in) * 1000))
            headers = self._rate_headers(0)
            headers[f"X-RateLimit-{budget.title()}-Remaining"] = "0"
            headers[f"X-RateLimit-{budget.title()}-Reset"] = reset
            error = {
                "message": "Rate limit exceeded",
                "extensions": {
                    "type": "ratelimited",
                    "code": "RATELIMITED",
                    "statusCode": 429,
                    "userError": True,
                    "userPresentableMessage": "You have exceeded the rate limit. Please try again later.",
                },
            }
            return json_response(HTTPStatus.BAD_REQUEST, {"errors": [error]}, headers)

        with self.server.lock:
            self._injected.append(_Injected(limited, count))

    def fail_next(
        self, status: int, body: bytes | dict, *, count: int = 1, content_type: str = "application/json"
    ) -> None:
        """Answer the next `count` requests with `status` and `body` (a dict is sent as JSON)."""

        def failure() -> Response:
            if isinstance(body, dict):
                return json_response(status, body)
            return Response(status, body, {"Content-Type": content_type})

        with self.server.lock:
            self._injected.append(_Injected(failure, count))

    # -- HTTP -------------------------------------------------------------------------------------

    def _intercept(self, request: RecordedRequest) -> Response | None:
        if self._injected:
            injected = self._injected[0]
            injected.remaining -= 1
            if injected.remaining <= 0:
                self._injected.pop(0)
            return injected.response()
        authorization = request.headers.get("Authorization", "").strip()
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            self._credential = self._oauth_tokens.get(token.strip())
        else:
            # API keys are sent as they are; "Bearer <api key>" is not an API key.
            self._credential = self._api_keys.get(authorization)
        if self._credential is None:
            error = {
                "message": "Authentication required, not authenticated",
                "extensions": {
                    "type": "authentication error",
                    "code": "AUTHENTICATION_ERROR",
                    "statusCode": 401,
                    "userError": True,
                    "userPresentableMessage": "You need to authenticate to access this operation.",
                },
            }
            return json_response(HTTPStatus.BAD_REQUEST, {"errors": [error]})
        self.requests_remaining -= 1
        return None

    def _graphql(self, request: RecordedRequest) -> Response:
        try:
            payload = json.loads(request.body or b"")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return self._refusal("Body must be a JSON object with a 'query' string.", "BAD_REQUEST", 0)
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return self._refusal("Variables must be a JSON object.", "BAD_REQUEST", 0)
        try:
            document = parse(payload["query"])
        except GraphQLError as error:
            return self._refusal(error.message, "GRAPHQL_PARSE_FAILED", 0, error.formatted.get("locations"))
        problems = validate(SCHEMA, document)
        if problems:
            body = {"errors": [_formatted(problem, "GRAPHQL_VALIDATION_FAILED") for problem in problems]}
            return json_response(HTTPStatus.BAD_REQUEST, body, self._rate_headers(0))
        complexity = _complexity(document, payload.get("operationName"), variables)
        self.complexity_remaining -= complexity
        result = execute(
            SCHEMA,
            document,
            root_value=_Root(self),
            variable_values=variables,
            operation_name=payload.get("operationName"),
            field_resolver=_resolve_field,
        )
        if result.data is None and result.errors and all(error.path is None for error in result.errors):
            # Variables that do not fit their types fail the request before execution.
            body = {"errors": [_formatted(error, "BAD_USER_INPUT") for error in result.errors]}
            return json_response(HTTPStatus.BAD_REQUEST, body, self._rate_headers(complexity))
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        return json_response(HTTPStatus.OK, body, self._rate_headers(complexity))

    def _refusal(self, message: str, code: str, complexity: int, locations: Any = None) -> Response:
        error: dict[str, Any] = {"message": message, "extensions": {"code": code, "type": "graphql error"}}
        if locations:
            error["locations"] = locations
        return json_response(HTTPStatus.BAD_REQUEST, {"errors": [error]}, self._rate_headers(complexity))

    def _rate_headers(self, complexity: int) -> dict[str, str]:
        reset = str(int((datetime.now(UTC).timestamp() + 3600) * 1000))
        return {
            "X-RateLimit-Requests-Limit": str(REQUESTS_PER_HOUR),
            "X-RateLimit-Requests-Remaining": str(max(self.requests_remaining, 0)),
            "X-RateLimit-Requests-Reset": reset,
            "X-Complexity": str(complexity),
            "X-RateLimit-Complexity-Limit": str(COMPLEXITY_PER_HOUR),
            "X-RateLimit-Complexity-Remaining": str(max(self.complexity_remaining, 0)),
            "X-RateLimit-Complexity-Reset": reset,
        }

    # -- visibility and writes --------------------------------------------------------------------

    @property
    def viewer(self) -> LinearUser:
        return next(user for user in self.users.values() if user.id == self._credential.user_id)

    def visible_teams(self) -> list[LinearTeam]:
        return [team for team in self.teams.values() if not team.private or self.viewer.id in team.member_ids]

    def visible_issues(self) -> list[LinearIssue]:
        teams = self.visible_teams()
        return [issue for issue in self.issues if issue.team in teams]

    def require_scope(self, *scopes: str) -> None:
        """A mutation needs `write` or one of the narrower `scopes` (Linear's OAuth scopes)."""
        granted = self._credential.scopes
        if "write" in granted or "admin" in granted or granted & set(scopes):
            return
        raise LinearApiError(
            f"Invalid scope: `{scopes[0] if scopes else 'write'}` required",
            "forbidden",
            "FORBIDDEN",
            403,
            "You don't have permission to perform this action.",
        )

    def require_admin(self) -> None:
        """Webhooks are for workspace admins and OAuth applications granted the admin scope."""
        if self.viewer.admin or "admin" in self._credential.scopes:
            return
        raise LinearApiError(
            "Forbidden: only workspace admins can manage webhooks",
            "forbidden",
            "FORBIDDEN",
            403,
            "You need to be a workspace admin to manage webhooks.",
        )

    def next_sync_id(self) -> int:
        return next(self._sync_ids)

    def _default_state(self, team: LinearTeam) -> LinearState:
        return next(state for state in self.team_states(team) if state.type == "unstarted")

    def _store_issue(
        self,
        team: LinearTeam,
        title: str,
        state: LinearState,
        *,
        description,
        priority,
        assignee,
        labels,
        creator,
        updated=None,
    ) -> LinearIssue:
        now = self._tick()
        number = 1 + max((issue.number for issue in self.issues if issue.team is team), default=0)
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
        issue = LinearIssue(
            id=str(uuid.uuid4()),
            number=number,
            title=title,
            team=team,
            state=state,
            url=f"https://linear.app/{self.workspace}/issue/{team.key}-{number}/{slug}",
            created_at=now,
            updated_at=updated or now,
            description=description,
            priority=priority,
            assignee=assignee,
            creator=creator,
            label_list=list(labels),
        )
        self.issues.append(issue)
        return issue

    def _tick(self) -> datetime:
        """Now to the millisecond, made strictly increasing so that "newest first" is well defined."""
        moment = max(_now(), self._last_moment + timedelta(milliseconds=1))
        self._last_moment = moment
        return moment


# -- execution -----------------------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _resolve_field(source: Any, info, **arguments: Any) -> Any:
    """Fields resolve to the snake_case key, attribute or method (called with the snake_case
    arguments) of the same name; teams and issues are shown through their views."""
    name = _snake(info.field_name)
    value = source.get(name) if isinstance(source, dict) else getattr(source, name, None)
    if callable(value):
        value = value(info, **{_snake(argument): given for argument, given in arguments.items()})
    return _present(value, info.root_value.fake)


def _present(value: Any, fake: LinearFake) -> Any:
    if isinstance(value, list):
        return [_present(item, fake) for item in value]
    if isinstance(value, LinearTeam):
        return _TeamView(fake, value)
    if isinstance(value, LinearIssue):
        return _IssueView(value)
    if isinstance(value, datetime):
        return _iso(value)
    return value


class _Root:
    """Root fields of Query and Mutation, resolved against the fake's state."""

    def __init__(self, fake: LinearFake):
        self.fake = fake

    # -- queries --

    def viewer(self, info) -> LinearUser:
        return self.fake.viewer

    def users(self, info, **arguments) -> dict:
        return _connection(list(self.fake.users.values()), arguments)

    def team(self, info, id: str) -> LinearTeam:
        team = next((t for t in self.fake.visible_teams() if id in (t.id, t.key)), None)
        if team is None:
            raise not_found("Team")
        return team

    def teams(self, info, filter: dict | None = None, **arguments) -> dict:
        return _connection([team for team in self.fake.visible_teams() if _matches(team, filter, _TEAM)], arguments)

    def workflow_states(self, info, filter: dict | None = None, **arguments) -> dict:
        teams = self.fake.visible_teams()
        states = [s for s in self.fake.states if s.team in teams and _matches(s, filter, _STATE)]
        return _connection(states, arguments)

    def issue_labels(self, info, filter: dict | None = None, **arguments) -> dict:
        teams = self.fake.visible_teams()
        labels = [label for label in self.fake.labels if (label.team is None or label.team in teams)
                  and _matches(label, filter, _LABEL)]  # fmt: skip
        return _connection(labels, arguments)

    def issue(self, info, id: str) -> LinearIssue:
        issue = next((i for i in self.fake.visible_issues() if i.answers_to(id)), None)
        if issue is None:
            raise not_found("Issue")
        return issue

    def issues(self, info, filter: dict | None = None, **arguments) -> dict:
        return _connection([i for i in self.fake.visible_issues() if _matches(i, filter, _ISSUE)], arguments)

    def webhooks(self, info, **arguments) -> dict:
        self.fake.require_admin()
        return _connection(list(self.fake.webhooks), arguments)

    def webhook_create(self, info, input: dict) -> dict:
        self.fake.require_admin()
        team = None
        if input.get("teamId"):
            team = next((t for t in self.fake.visible_teams() if input["teamId"] in (t.id, t.key)), None)
            if team is None:
                raise not_found("Team")
        elif not input.get("allPublicTeams"):
            raise invalid_input("A webhook needs a team, or allPublicTeams.")
        if not str(input.get("url") or "").startswith(("https://", "http://")):
            raise invalid_input("url must be an URL address")
        now = self.fake._tick()
        hook = LinearWebhook(
            str(uuid.uuid4()),
            input["url"],
            input.get("secret") or f"lin_wh_{uuid.uuid4().hex}",
            list(input["resourceTypes"]),
            team,
            now,
            now,
            label=input.get("label") or "",
            enabled=input.get("enabled", True) is not False,
            all_public_teams=bool(input.get("allPublicTeams")),
        )
        self.fake.webhooks.append(hook)
        return {"success": True, "webhook": hook, "last_sync_id": self.fake.next_sync_id()}

    def webhook_update(self, info, id: str, input: dict) -> dict:
        self.fake.require_admin()
        hook = next((hook for hook in self.fake.webhooks if hook.id == id), None)
        if hook is None:
            raise not_found("Webhook")
        for key, attribute in (("url", "url"), ("secret", "secret"), ("label", "label"), ("enabled", "enabled")):
            if input.get(key) is not None:
                setattr(hook, attribute, input[key])
        if input.get("resourceTypes") is not None:
            hook.resource_types = list(input["resourceTypes"])
        hook.updated_at = self.fake._tick()
        return {"success": True, "webhook": hook, "last_sync_id": self.fake.next_sync_id()}

    def cycles(self, info, filter: dict | None = None, **arguments) -> dict:
        teams = self.fake.visible_teams()
        return _connection([c for c in self.fake.cycles if c.team in teams and _matches(c, filter, _CYCLE)], arguments)

    def projects(self, info, filter: dict | None = None, **arguments) -> dict:
        teams = self.fake.visible_teams()
        projects = [
            project
            for project in self.fake.projects
            if any(team in teams for team in project.teams) and _matches(project, filter, _PROJECT)
        ]
        return _connection(projects, arguments)

    def search_issues(
        self,
        info,
        term: str,
        filter: dict | None = None,
        team_id: str | None = None,
        include_comments: bool = False,
        **arguments,
    ) -> dict:
        words = re.findall(r"\w+", term.lower())
        found = []
        for issue in self.fake.visible_issues():
            if team_id and team_id not in (issue.team.id, issue.team.key):
                continue
            texts = [issue.identifier, issue.title, issue.description or ""]
            if include_comments:
                texts += [comment.body for comment in issue.comment_list]
            haystack = " ".join(texts).lower()
            if (term.upper() == issue.identifier or all(word in haystack for word in words)) and _matches(
                issue, filter, _ISSUE
            ):
                found.append(issue)
        page = _connection(found, arguments)
        return page | {"total_count": len(found)}

    # -- mutations --

    def issue_create(self, info, input: dict) -> dict:
        self.fake.require_scope("issues:create")
        team = next((t for t in self.fake.visible_teams() if input["teamId"] in (t.id, t.key)), None)
        if team is None:
            raise not_found("Team")
        if not (input.get("title") or "").strip():
            raise invalid_input("title must not be empty")
        values = self._issue_values(team, input)
        issue = self.fake._store_issue(
            team,
            input["title"],
            values.get("state") or self.fake._default_state(team),
            description=input.get("description"),
            priority=values.get("priority", 0),
            assignee=values.get("assignee"),
            labels=values.get("labels", []),
            creator=self.fake.viewer,
        )
        issue.due_date = input.get("dueDate")
        return {"success": True, "issue": issue, "last_sync_id": self.fake.next_sync_id()}

    def issue_update(self, info, id: str, input: dict) -> dict:
        self.fake.require_scope()
        issue = next((i for i in self.fake.visible_issues() if i.answers_to(id)), None)
        if issue is None:
            raise not_found("Issue")
        if "title" in input and not (input["title"] or "").strip():
            raise invalid_input("title must not be empty")
        values = self._issue_values(issue.team, input)
        for name in ("title", "description"):
            if name in input:
                setattr(issue, name, input[name])
        for name in ("priority", "assignee"):
            if name in values:
                setattr(issue, name, values[name])
        if "labels" in values:
            issue.label_list = values["labels"]
        issue.updated_at = self.fake._tick()
        if "state" in values:
            issue.move_to(values["state"], issue.updated_at)
        return {"success": True, "issue": issue, "last_sync_id": self.fake.next_sync_id()}

    def comment_create(self, info, input: dict) -> dict:
        self.fake.require_scope("comments:create")
        issue = next((i for i in self.fake.visible_issues() if i.answers_to(input.get("issueId"))), None)
        if issue is None:
            raise not_found("Issue")
        if not (input.get("body") or "").strip():
            raise invalid_input("body must not be empty")
        now = self.fake._tick()
        comment = LinearComment(str(uuid.uuid4()), input["body"], self.fake.viewer, issue, now, now)
        comment.url = f"{issue.url}#comment-{comment.id[:8]}"
        issue.comment_list.append(comment)
        issue.updated_at = now
        return {"success": True, "comment": comment, "last_sync_id": self.fake.next_sync_id()}

    def file_upload(self, info, content_type: str, filename: str, size: int, make_public: bool = False) -> dict:
        self.fake.require_scope()
        limit = self.fake.max_upload_bytes
        if limit is not None and size > limit:
            raise invalid_input(f"The file is too large: files may be at most {limit} bytes.")
        token = uuid.uuid4().hex
        asset_url = f"https://uploads.linear.app/{uuid.uuid4()}/{uuid.uuid4()}"
        headers = {"Content-Type": content_type, "x-goog-content-length-range": f"{size},{size}"}
        self.fake.pending_uploads[token] = {
            "filename": filename,
            "content_type": content_type,
            "size": size,
            "headers": headers,
            "asset_url": asset_url,
        }
        upload = {
            "asset_url": asset_url,
            "content_type": content_type,
            "filename": filename,
            "headers": [{"key": key, "value": value} for key, value in headers.items()],
            "size": size,
            "upload_url": f"{self.fake.storage.base_url}/signed/{token}",
        }
        return {"success": True, "upload_file": upload, "last_sync_id": self.fake.next_sync_id()}

    def attachment_create(self, info, input: dict) -> dict:
        self.fake.require_scope("issues:create")
        issue = next((i for i in self.fake.visible_issues() if i.answers_to(input.get("issueId"))), None)
        if issue is None:
            raise not_found("Issue")
        if not input["title"].strip():
            raise invalid_input("title must not be empty")
        attachment = {"id": str(uuid.uuid4()), "issue": issue, "title": input["title"], "url": input["url"]}
        self.fake.attachments.append(attachment)
        issue.updated_at = self.fake._tick()
        return {"success": True, "attachment": attachment, "last_sync_id": self.fake.next_sync_id()}

    def comment_update(self, info, id: str, input: dict) -> dict:
        """Only the comment's author may edit it (Linear's rule for comments)."""
        self.fake.require_scope()
        comments = (comment for issue in self.fake.visible_issues() for comment in issue.comment_list)
        comment = next((comment for comment in comments if comment.id == id), None)
        if comment is None:
            raise not_found("Comment")
        if comment.user is not self.fake.viewer:
            raise LinearApiError(
                "You can only edit your own comments",
                "forbidden",
                "FORBIDDEN",
                403,
                "You can only edit your own comments.",
            )
        if "body" in input and not (input["body"] or "").strip():
            raise invalid_input("body must not be empty")
        if "body" in input:
            comment.body = input["body"]
        comment.updated_at = comment.edited_at = self.fake._tick()
        return {"success": True, "comment": comment, "last_sync_id": self.fake.next_sync_id()}

    def _issue_values(self, team: LinearTeam, input: dict) -> dict:
        values: dict[str, Any] = {}
        if input.get("priority") is not None:
            if not 0 <= input["priority"] <= 4:
                raise invalid_input("priority must be between 0 and 4")
            values["priority"] = input["priority"]
        if input.get("stateId") is not None:
            state = next((s for s in self.fake.team_states(team) if s.id == input["stateId"]), None)
            if state is None:
                raise not_found("WorkflowState")
            values["state"] = state
        if input.get("assigneeId") is not None:
            assignee = next((u for u in self.fake.users.values() if u.id == input["assigneeId"]), None)
            if assignee is None:
                raise not_found("User")
            values["assignee"] = assignee
        if input.get("labelIds") is not None:
            labels = [label for label in self.fake.labels if label.id in set(input["labelIds"])]
            if len(labels) != len(set(input["labelIds"])):
                raise not_found("IssueLabel")
            if any(label.team not in (None, team) for label in labels):
                raise invalid_input("labels must belong to the issue's team or to the workspace")
            values["labels"] = labels
        return values


class _TeamView:
    """A team as the API shows it, with its connections."""

    def __init__(self, fake: LinearFake, team: LinearTeam):
        self._fake = fake
        self._team = team

    def __getattr__(self, name: str) -> Any:
        return getattr(self._team, name)

    def states(self, info, filter: dict | None = None, **arguments) -> dict:
        return _connection([s for s in self._fake.team_states(self._team) if _matches(s, filter, _STATE)], arguments)

    def labels(self, info, filter: dict | None = None, **arguments) -> dict:
        labels = [label for label in self._fake.labels if label.team in (None, self._team)
                  and _matches(label, filter, _LABEL)]  # fmt: skip
        return _connection(labels, arguments)

    def members(self, info, **arguments) -> dict:
        users = list(self._fake.users.values())
        if self._team.private:
            users = [user for user in users if user.id in self._team.member_ids]
        return _connection(users, arguments)


class _IssueView:
    """An issue as the API shows it, with its connections."""

    def __init__(self, issue: LinearIssue):
        self._issue = issue

    def __getattr__(self, name: str) -> Any:
        return getattr(self._issue, name)

    def labels(self, info, filter: dict | None = None, **arguments) -> dict:
        return _connection([label for label in self._issue.label_list if _matches(label, filter, _LABEL)], arguments)

    def comments(self, info, **arguments) -> dict:
        return _connection(self._issue.comment_list, arguments)


# -- connections and filters ---------------------------------------------------------------------


def _connection(items: list, arguments: dict) -> dict:
    """A Relay connection page: newest first by `orderBy` (createdAt unless updatedAt), `first`
    (default 50) nodes after the `after` cursor (the previous page's last node id). Archived
    records (trashed issues among them) are left out unless `includeArchived` is true."""
    order = _snake(arguments.get("order_by") or "createdAt")
    if not arguments.get("include_archived"):
        items = [item for item in items if getattr(item, "archived_at", None) is None]
    items = sorted(items, key=lambda item: getattr(item, order), reverse=True)
    first = arguments.get("first")
    if first is None:
        first = DEFAULT_PAGE
    if first < 0:
        raise invalid_input("first must be a positive number")
    start = 0
    if arguments.get("after"):
        ids = [item.id for item in items]
        if arguments["after"] not in ids:
            raise invalid_input("the after cursor does not match a record")
        start = ids.index(arguments["after"]) + 1
    page = items[start : start + first]
    return {
        "nodes": page,
        "edges": [{"cursor": item.id, "node": item} for item in page],
        "page_info": {
            "has_next_page": start + len(page) < len(items),
            "has_previous_page": start > 0,
            "start_cursor": page[0].id if page else None,
            "end_cursor": page[-1].id if page else None,
        },
    }


# Filter fields: name -> (value getter, comparator kind or nested field table).
_TEAM: dict[str, tuple[Callable, Any]] = {
    "id": (lambda team: team.id, "id"),
    "key": (lambda team: team.key, "string"),
    "name": (lambda team: team.name, "string"),
}
_STATE: dict[str, tuple[Callable, Any]] = {
    "id": (lambda state: state.id, "id"),
    "name": (lambda state: state.name, "string"),
    "type": (lambda state: state.type, "string"),
    "team": (lambda state: state.team, _TEAM),
}
_LABEL: dict[str, tuple[Callable, Any]] = {
    "id": (lambda label: label.id, "id"),
    "name": (lambda label: label.name, "string"),
    "team": (lambda label: label.team, _TEAM),
}
_CYCLE: dict[str, tuple[Callable, Any]] = {
    "id": (lambda cycle: cycle.id, "id"),
    "name": (lambda cycle: cycle.name, "string"),
    "number": (lambda cycle: cycle.number, "number"),
    "team": (lambda cycle: cycle.team, _TEAM),
}


@dataclass(frozen=True)
class _Each:
    """A to-many relation filtered by `some` / `every` of its members (Linear's collection filters)."""

    table: dict


_PROJECT: dict[str, tuple[Callable, Any]] = {
    "id": (lambda project: project.id, "id"),
    "name": (lambda project: project.name, "string"),
    "accessibleTeams": (lambda project: project.teams, _Each(_TEAM)),
}
_ISSUE: dict[str, tuple[Callable, Any]] = {
    "id": (lambda issue: issue.id, "id"),
    "number": (lambda issue: issue.number, "number"),
    "title": (lambda issue: issue.title, "string"),
    "state": (lambda issue: issue.state, _STATE),
    "team": (lambda issue: issue.team, _TEAM),
    "labels": (lambda issue: issue.label_list, _Each(_LABEL)),
    "cycle": (lambda issue: issue.cycle, _CYCLE),
    "project": (lambda issue: issue.project, _PROJECT),
}


def _matches(entity: Any, condition: dict | None, table: dict) -> bool:
    if not condition:
        return True
    for name, wanted in condition.items():
        if name == "null":  # nullable relations: {team: {null: true}} matches labels without a team
            if (entity is None) != wanted:
                return False
        elif entity is None:
            return False
        elif name == "and":
            if not all(_matches(entity, part, table) for part in wanted):
                return False
        elif name == "or":
            if not any(_matches(entity, part, table) for part in wanted):
                return False
        else:
            getter, kind = table[name]
            value = getter(entity)
            if isinstance(kind, _Each):
                passed = _matches_each(value, wanted, kind.table)
            elif isinstance(kind, dict):
                passed = _matches(value, wanted, kind)
            else:
                passed = _compare(value, wanted)
            if not passed:
                return False
    return True


def _matches_each(members: list, condition: dict, table: dict) -> bool:
    for name, wanted in condition.items():
        if name == "some" and not any(_matches(member, wanted, table) for member in members):
            return False
        if name == "every" and not all(_matches(member, wanted, table) for member in members):
            return False
        if name == "and" and not all(_matches_each(members, part, table) for part in wanted):
            return False
        if name == "or" and not any(_matches_each(members, part, table) for part in wanted):
            return False
    return True


def _compare(value: Any, comparator: dict) -> bool:
    text = str(value).lower() if value is not None else ""
    checks = {
        "eq": lambda wanted: value == wanted,
        "neq": lambda wanted: value != wanted,
        "in": lambda wanted: value in wanted,
        "nin": lambda wanted: value not in wanted,
        "eqIgnoreCase": lambda wanted: text == wanted.lower(),
        "contains": lambda wanted: wanted in str(value or ""),
        "containsIgnoreCase": lambda wanted: wanted.lower() in text,
        "startsWith": lambda wanted: str(value or "").startswith(wanted),
        "gt": lambda wanted: value > wanted,
        "gte": lambda wanted: value >= wanted,
        "lt": lambda wanted: value < wanted,
        "lte": lambda wanted: value <= wanted,
    }
    return all(checks[name](wanted) for name, wanted in comparator.items() if wanted is not None)


# -- complexity ----------------------------------------------------------------------------------


def _complexity(document, operation_name: str | None, variables: dict) -> int:
    """Linear's documented estimate: each property 0.1 point, each object 1 point, and a
    connection's children multiplied by its page size (`first`, 50 when absent); rounded up."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next((o for o in operations if o.name and o.name.value == operation_name), operations[0])

    def size(selection_set) -> float:
        total = 0.0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FragmentSpreadNode):
                total += size(fragments[selection.name.value].selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += size(selection.selection_set)
            elif isinstance(selection, FieldNode):
                total += _field_size(selection, size, variables)
        return total

    return math.ceil(size(operation.selection_set))


def _field_size(node: FieldNode, size: Callable, variables: dict) -> float:
    if node.selection_set is None:
        return 0.1
    arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
    multiplier = 1
    if any(isinstance(s, FieldNode) and s.name.value in ("nodes", "edges") for s in node.selection_set.selections):
        value = arguments.get("first")
        if isinstance(value, IntValueNode):
            multiplier = int(value.value)
        elif isinstance(value, VariableNode):
            multiplier = int(variables.get(value.name.value) or DEFAULT_PAGE)
        else:
            multiplier = DEFAULT_PAGE
    return 1 + multiplier * size(node.selection_set)


def _formatted(error: GraphQLError, code: str) -> dict:
    formatted = error.formatted
    formatted["extensions"] = {"code": code, "type": "graphql error"}
    return formatted
