"""A fake Azure DevOps (Services or Server) speaking the documented REST API 7.1 over real HTTP.

Sources read to build it (Microsoft's own documentation and its REST specification repository,
MicrosoftDocs/vsts-rest-api-specs, `specification/{core,wit}/7.1`, unless marked otherwise):
- Core "Projects - List": `GET {organization}/_apis/projects` with `$top` and an integer
  `continuationToken` ("pointer that shows how many projects already been fetched"); the next
  token travels in the `x-ms-continuationtoken` response header.
- "Work Items - Get Work Items Batch": `POST {organization}/{project?}/_apis/wit/workitemsbatch`,
  body {ids, fields, $expand, errorPolicy, asOf}, "Maximum 200" ids; `errorPolicy` Fail (a
  missing id fails the request) or Omit (a missing id answers null in its place).
- "Wiql - Query By Wiql": `POST {organization}/{project?}/{team?}/_apis/wit/wiql?$top=`,
  answering {queryType, queryResultType, asOf, columns, sortColumns, workItems: [{id, url}]}
  and ids only ("No matter which fields you include in the SELECT statement, the API only
  returns the work item IDs"); WIQL syntax from "WIQL syntax reference", see wiql.py.
- "Work Item Types - List" (with `states`), "Work Item Type States - List" (name, color,
  category), "Work Item Types Field - List" with `$expand` None / AllowedValues /
  DependentFields / All (alwaysRequired, defaultValue, allowedValues, dependentFields),
  "Fields - List" (referenceName, name, type, readOnly, isIdentity, isPicklist).
- "Work Items - Create" and "Work Items - Update": media type `application/json-patch+json`,
  a JSON Patch document of {op, path: "/fields/<reference name>", value}; `validateOnly`.
  Relations ("Add a hyperlink" in the Update examples): `add` to `/relations/-` a value {rel, url,
  attributes: {comment}}, `replace` of `/relations/{index}/attributes/comment`; the batch lists them
  with `$expand: Relations` (or All).
- "Attachments - Create": `POST {organization}/{project?}/_apis/wit/attachments?fileName=&api-version=`
  with the file's bytes as `application/octet-stream`, answering 201 an AttachmentReference {id, url};
  a simple (not chunked) upload takes at most 130 MB. The file reaches a work item through an
  `AttachedFile` relation to that url (`add` to `/relations/-`, attributes {comment}). The fake
  refuses an upload without `fileName`, with another content type, or an `AttachedFile` relation to
  a url it never gave, with 400 (the documentation names no answer for them).
- "Comments - Add Comment" / "Comments - Get Comments" on api-version `7.1-preview.4` (a preview
  resource: a version without `-preview` is refused), CommentList {totalCount, count, comments,
  continuationToken, nextPage}; comment text is HTML. The 5.x previews of that resource named a
  comment's id `commentId` (`comment_id_name`), as servers on those versions still answer.
- "Rate and usage limits": blocked requests answer 429 with "TF400733: The request has been
  canceled: Request was blocked due to exceeding usage of resource ..." and the headers
  Retry-After, X-RateLimit-Resource, X-RateLimit-Delay, X-RateLimit-Limit,
  X-RateLimit-Remaining and X-RateLimit-Reset (Unix epoch seconds).
- "Authenticate with personal access tokens": basic auth with any user name and the token as the
  password; Microsoft Entra / OAuth access tokens as `Authorization: Bearer`.

Errors carry Azure DevOps' body {"$id", "innerException", "message", "typeName", "typeKey",
"errorCode", "eventId"}. Where the documentation is silent, the choice made is stated next to
the code that makes it.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, unquote

from tests.fakes import wiql
from tests.fakes.server import FakeHTTPServer, RecordedRequest, Response, TrackerFake, json_response
from tests.fakes.webhooks import Delivery, RegisteredHook, body_of

BATCH_LIMIT = 200
WIQL_LIMIT = 20000
COMMENTS_PAGE = 200
JSON_PATCH = "application/json-patch+json"
STATE_CATEGORIES = ("Proposed", "InProgress", "Resolved", "Completed", "Removed")
PRIORITIES = (1, 2, 3, 4)
SEVERITIES = ("1 - Critical", "2 - High", "3 - Medium", "4 - Low")


def ado_timestamp(moment: datetime) -> str:
    """Azure DevOps' wire format for date-times: 2024-01-31T09:30:00.123Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error_body(message: str, type_key: str, type_name: str | None = None, **extra: Any) -> dict:
    """Azure DevOps' error shape, as its REST layer serializes a server exception."""
    return {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": type_name
        or f"Microsoft.TeamFoundation.WorkItemTracking.Server.{type_key}, "
        "Microsoft.TeamFoundation.WorkItemTracking.Server",
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3200,
        **extra,
    }


# -- state ---------------------------------------------------------------------------------------


@dataclass
class AdoAttachment:
    """An uploaded file (Attachments - Create), on a work item once an AttachedFile relation names its url."""

    id: str
    url: str
    filename: str
    content: bytes


@dataclass
class AdoUser:
    id: str
    display_name: str
    unique_name: str  # the e-mail address on Services, DOMAIN\\user on Server

    def names(self) -> set[str]:
        return {self.id.lower(), self.display_name.lower(), self.unique_name.lower()}


@dataclass
class FieldDefinition:
    """An organization-wide field (Fields - List)."""

    reference_name: str
    name: str
    type: str  # string, integer, double, dateTime, html, plainText, treePath, identity, boolean
    read_only: bool = False

    @property
    def is_identity(self) -> bool:
        return self.type == "identity"


@dataclass
class TypeField:
    """A field on one work item type (Work Item Types Field - List)."""

    definition: FieldDefinition
    always_required: bool = False
    allowed_values: list[Any] = field(default_factory=list)
    default_value: Any = None


@dataclass
class WorkItemState:
    name: str
    category: str  # one of STATE_CATEGORIES
    color: str = "b2b2b2"


@dataclass
class WorkItemType:
    name: str
    reference_name: str
    states: list[WorkItemState]
    fields: dict[str, TypeField]  # by reference name


@dataclass
class AdoProject:
    id: str
    name: str
    description: str
    types: dict[str, WorkItemType]
    areas: list[str]
    iterations: list[str]
    members: dict[str, str] = field(default_factory=dict)  # user id -> "read" or "write"
    iteration_dates: dict[str, tuple[datetime | None, datetime | None]] = field(default_factory=dict)  # by path


# The work item events a web hook subscription may name.
SERVICE_HOOK_EVENTS = (
    "workitem.created",
    "workitem.updated",
    "workitem.deleted",
    "workitem.restored",
    "workitem.commented",
)


@dataclass
class AdoComment:
    id: int
    text: str  # HTML
    author: AdoUser
    created: datetime
    modified: datetime | None = None  # None until edited or deleted
    deleted: bool = False  # soft-deleted: listed only with includeDeleted=true, as isDeleted


@dataclass
class WorkItem:
    id: int
    project: AdoProject
    type: WorkItemType
    fields: dict[str, Any]  # reference name -> stored value (identity fields hold AdoUser)
    rev: int = 1
    comments: list[AdoComment] = field(default_factory=list)
    relations: list[dict] = field(default_factory=list)  # {rel, url, attributes}


@dataclass
class _Injected:
    response: Callable[[], Response]
    remaining: int


class AzureDevOpsFake(TrackerFake):
    """An in-memory Azure DevOps organization behind a real HTTP server on 127.0.0.1.

    `collection_path` is where the organization lives: `/fabrikam` as on
    https://dev.azure.com/fabrikam, or `/tfs/DefaultCollection` as on an Azure DevOps Server.
    """

    def __init__(self, collection_path: str = "/fabrikam", *, deployment_type: str = "hosted"):
        self.deployment_type = deployment_type  # "hosted" (Services) or "onPremises" (Server)
        self.server = FakeHTTPServer(prefix=collection_path)
        self.server.interceptor = self._intercept
        self.users: dict[str, AdoUser] = {}
        self.projects: dict[str, AdoProject] = {}
        self.work_items: dict[int, WorkItem] = {}
        self.recycle_bin: dict[int, tuple[WorkItem, datetime]] = {}  # deleted work items, when deleted
        self.field_definitions: dict[str, FieldDefinition] = {}
        self._tokens: dict[str, str] = {}  # personal access token -> user id
        self._bearer_tokens: dict[str, str] = {}  # OAuth access token -> user id
        self._injected: list[_Injected] = []
        self._viewer: AdoUser | None = None
        self._ids = itertools.count(1)
        self._comment_ids = itertools.count(1000)
        self.comment_id_name = "id"  # "commentId": comments as the 5.x previews of the comments API answer them
        self.hooks: list[RegisteredHook] = []  # service hook subscriptions (web hooks), one event each
        self.attachments: dict[str, AdoAttachment] = {}  # by url
        self.max_attachment_bytes = 130 * 1024**2  # a simple upload's limit
        for definition in _SYSTEM_FIELDS:
            self.field_definitions[definition.reference_name] = definition
        self._register_routes()

    # -- lifecycle and request log ----------------------------------------------------------------

    # -- seeding ----------------------------------------------------------------------------------

    def add_user(self, unique_name: str, display_name: str | None = None) -> AdoUser:
        with self.server.lock:
            user = AdoUser(
                id=str(uuid.uuid4()),
                display_name=display_name or unique_name.split("@")[0].replace(".", " ").title(),
                unique_name=unique_name,
            )
            self.users[unique_name] = user
            return user

    def add_personal_access_token(self, unique_name: str, token: str) -> AdoUser:
        with self.server.lock:
            user = self.users.get(unique_name) or self.add_user(unique_name)
            self._tokens[token] = user.id
            return user

    def add_oauth_token(self, unique_name: str, token: str) -> AdoUser:
        with self.server.lock:
            user = self.users.get(unique_name) or self.add_user(unique_name)
            self._bearer_tokens[token] = user.id
            return user

    def add_project(
        self,
        name: str,
        *,
        description: str = "",
        areas: Iterable[str] = (),
        iterations: Iterable[str] = (),
        members: dict[str, str] | None = None,
    ) -> AdoProject:
        """A project with the Agile process's Bug, Task, User Story and Test Case types.

        `members` maps unique names to "read" or "write"; every user is a writer when omitted.
        Area and iteration paths are given below the project's root node (`Web` for `Name\\Web`).
        """
        with self.server.lock:
            project = AdoProject(
                id=str(uuid.uuid4()),
                name=name,
                description=description,
                types={},
                areas=[name, *(f"{name}\\{area}" for area in areas)],
                iterations=[name, *(f"{name}\\{iteration}" for iteration in iterations)],
            )
            if members is None:
                members = {user.unique_name: "write" for user in self.users.values()}
            project.members = {self.users[login].id: access for login, access in members.items()}
            self.projects[name] = project
            for type_name, states in _AGILE_TYPES.items():
                self._add_type(project, type_name, states)
            return project

    def set_access(self, project: str, unique_name: str, access: str | None) -> None:
        """Make a user a reader ("read") or contributor ("write") of a project, or no member (None)."""
        with self.server.lock:
            user_id = self.users[unique_name].id
            if access is None:
                self.projects[project].members.pop(user_id, None)
            else:
                self.projects[project].members[user_id] = access

    def add_field(
        self,
        project: str,
        type_name: str,
        reference_name: str,
        name: str,
        kind: str = "string",
        *,
        required: bool = False,
        allowed_values: Iterable[Any] = (),
        default: Any = None,
    ) -> TypeField:
        """A custom field (`Custom.Something`) added to one work item type of a project."""
        with self.server.lock:
            definition = self.field_definitions.setdefault(reference_name, FieldDefinition(reference_name, name, kind))
            type_field = TypeField(definition, required, list(allowed_values), default)
            self.projects[project].types[type_name].fields[reference_name] = type_field
            return type_field

    def add_work_item(
        self,
        project: str,
        type_name: str,
        title: str,
        *,
        state: str | None = None,
        assigned_to: str | None = None,
        changed: datetime | None = None,
        **fields: Any,
    ) -> WorkItem:
        """A work item; `fields` are further values by reference name with dots as underscores
        (`Microsoft_VSTS_Common_Priority=1`), `assigned_to` a unique name."""
        with self.server.lock:
            project_ = self.projects[project]
            work_item_type = project_.types[type_name]
            now = changed or self.now()
            values = {
                "System.Title": title,
                "System.State": state or work_item_type.states[0].name,
                "System.AreaPath": project,
                "System.IterationPath": project,
                "System.CreatedDate": now,
                "System.ChangedDate": now,
            }
            for type_field in work_item_type.fields.values():
                if type_field.default_value is not None:
                    values.setdefault(type_field.definition.reference_name, type_field.default_value)
            values.update({name.replace("_", "."): value for name, value in fields.items()})
            _date_state(values, work_item_type, now)
            if assigned_to:
                values["System.AssignedTo"] = self.users[assigned_to]
            item = WorkItem(id=next(self._ids), project=project_, type=work_item_type, fields=values)
            self.work_items[item.id] = item
            return item

    def add_comment(self, work_item_id: int, text: str, *, author: str) -> AdoComment:
        with self.server.lock:
            comment = AdoComment(next(self._comment_ids), text, self.users[author], self.now())
            self.work_items[work_item_id].comments.append(comment)
            return comment

    def edit_comment(self, work_item_id: int, comment_id: int, text: str) -> AdoComment:
        """Someone edits a comment in Azure Boards: its modifiedDate and the item's changed date move on."""
        with self.server.lock:
            item = self.work_items[work_item_id]
            comment = next(comment for comment in item.comments if comment.id == comment_id)
            comment.text, comment.modified = text, self.now()
            item.fields["System.ChangedDate"] = comment.modified
            return comment

    def delete_comment(self, work_item_id: int, comment_id: int) -> AdoComment:
        """Someone deletes a comment in Azure Boards ("Comments - Delete" soft-deletes it)."""
        with self.server.lock:
            item = self.work_items[work_item_id]
            comment = next(comment for comment in item.comments if comment.id == comment_id)
            comment.deleted, comment.modified = True, self.now()
            item.fields["System.ChangedDate"] = comment.modified
            return comment

    def add_iteration(
        self, project: str, path: str, *, start: datetime | None = None, finish: datetime | None = None
    ) -> None:
        """An iteration below the project's root (`Release 1\\Sprint 2`), with its dates; its parents
        are added too (without dates) when missing."""
        with self.server.lock:
            project_ = self.projects[project]
            parts = path.split("\\")
            for depth in range(1, len(parts) + 1):
                full = "\\".join([project, *parts[:depth]])
                if full not in project_.iterations:
                    project_.iterations.append(full)
            project_.iteration_dates[f"{project}\\{path}"] = (start, finish)

    def delete_work_item(self, work_item_id: int) -> None:
        """Delete a work item: it goes to its project's recycle bin and reads like an unreadable one."""
        with self.server.lock:
            self.recycle_bin[work_item_id] = (self.work_items.pop(work_item_id), self.now())

    def work_item(self, work_item_id: int) -> WorkItem:
        return self.work_items[work_item_id]

    def now(self) -> datetime:
        moment = datetime.now(UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    # -- service hooks ----------------------------------------------------------------------------

    def work_item_delivery(
        self, item_id: int, *, event: str = "workitem.updated", password: str, username: str = "testmanager"
    ) -> Delivery:
        """A web hook delivery of a work item event (``workitem.created``, ``.updated``, ``.commented``,
        ``.restored``, ``.deleted``) with the item as it is now, sent with basic auth."""
        with self.server.lock:
            item = self.work_items.get(item_id) or self.recycle_bin[item_id][0]
            snapshot = self._item_json(item, None)
            if event == "workitem.updated":
                resource = {
                    "id": next(self._ids),
                    "workItemId": item.id,
                    "rev": item.rev,
                    "fields": {"System.Rev": {"oldValue": item.rev - 1, "newValue": item.rev}},
                    "revision": snapshot,
                    "url": f"{snapshot['url']}/updates/{item.rev}",
                }
            else:
                resource = snapshot
            payload = {
                "subscriptionId": str(uuid.uuid4()),
                "notificationId": next(self._ids),
                "id": str(uuid.uuid4()),
                "eventType": event,
                "publisherId": "tfs",
                "resource": resource,
                "resourceVersion": "1.0",
                "createdDate": ado_timestamp(self.now()),
            }
            credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
            return Delivery({"Authorization": f"Basic {credentials}"}, body_of(payload))

    def _list_subscriptions(self, request: RecordedRequest) -> Response:
        return json_response(
            HTTPStatus.OK, {"count": len(self.hooks), "value": [self._subscription_json(hook) for hook in self.hooks]}
        )

    def _create_subscription(self, request: RecordedRequest) -> Response:
        payload = _json_body(request)
        problem = self._subscription_problem(payload)
        if problem:
            return problem
        inputs = payload["consumerInputs"]
        hook = RegisteredHook(
            next(self._ids),
            inputs["url"],
            str(inputs.get("basicAuthPassword") or ""),
            [payload["eventType"]],
            str((payload.get("publisherInputs") or {}).get("projectId")),
        )
        self.hooks.append(hook)
        return json_response(HTTPStatus.OK, self._subscription_json(hook))

    def _update_subscription(self, request: RecordedRequest, subscription_id: str) -> Response:
        hook = next((hook for hook in self.hooks if str(uuid.UUID(int=hook.id)) == subscription_id), None)
        if hook is None:
            return json_response(
                HTTPStatus.NOT_FOUND,
                error_body(
                    f"TF400003: Subscription {subscription_id} does not exist.", "SubscriptionNotFoundException"
                ),
            )
        payload = _json_body(request)
        problem = self._subscription_problem(payload)
        if problem:
            return problem
        inputs = payload["consumerInputs"]
        hook.url, hook.secret, hook.events = (
            inputs["url"],
            str(inputs.get("basicAuthPassword") or ""),
            [payload["eventType"]],
        )
        hook.scope = str((payload.get("publisherInputs") or {}).get("projectId"))
        return json_response(HTTPStatus.OK, self._subscription_json(hook))

    def _subscription_problem(self, payload: Any) -> Response | None:
        wanted = ("publisherId", "eventType", "consumerId", "consumerActionId")
        if not isinstance(payload, dict) or any(not payload.get(name) for name in wanted):
            return self._bad_request(
                "The subscription needs a publisher, an event type, a consumer and an action.",
                "InvalidSubscriptionException",
            )
        if not (payload.get("consumerInputs") or {}).get("url"):
            return self._bad_request("The web hook needs a URL.", "InvalidSubscriptionException")
        if payload["eventType"] not in SERVICE_HOOK_EVENTS:
            return self._bad_request(f"Unknown event type {payload['eventType']}.", "InvalidSubscriptionException")
        return None

    def _subscription_json(self, hook: RegisteredHook) -> dict:
        # Azure DevOps masks secret inputs when it shows a subscription.
        subscription_id = str(uuid.UUID(int=hook.id))
        return {
            "id": subscription_id,
            "url": f"{self.base_url}/_apis/hooks/subscriptions/{subscription_id}",
            "status": "enabled",
            "publisherId": "tfs",
            "eventType": hook.events[0],
            "resourceVersion": "1.0",
            "consumerId": "webHooks",
            "consumerActionId": "httpRequest",
            "publisherInputs": {"projectId": hook.scope},
            "consumerInputs": {
                "url": hook.url,
                "basicAuthUsername": "testmanager",
                **({"basicAuthPassword": "********"} if hook.secret else {}),
            },
        }

    # -- fault injection --------------------------------------------------------------------------

    def rate_limit_next(self, count: int = 1, *, retry_after: int = 30) -> None:
        """Block the next `count` requests with 429 and the documented rate-limit headers."""

        def blocked() -> Response:
            resource = "WorkItemTrackingResource"
            headers = {
                "Retry-After": str(retry_after),
                "X-RateLimit-Resource": f"ATCPU.{resource}",
                "X-RateLimit-Delay": "0.000",
                "X-RateLimit-Limit": "200",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(self.now().timestamp()) + retry_after),
            }
            message = (
                "TF400733: The request has been canceled: Request was blocked due to exceeding usage of "
                f"resource '{resource}' in namespace 'User'."
            )
            body = error_body(
                message, "RequestBlockedException", "Microsoft.TeamFoundation.Framework.Server.RequestBlockedException"
            )
            return json_response(HTTPStatus.TOO_MANY_REQUESTS, body, headers)

        with self.server.lock:
            self._injected.append(_Injected(blocked, count))

    def fail_next(
        self, status: int, body: bytes | dict | None = None, *, count: int = 1, content_type: str = ""
    ) -> None:
        """Answer the next `count` requests with `status`; a dict body is sent as JSON, bytes as they are."""

        def failure() -> Response:
            if isinstance(body, dict):
                return json_response(status, body)
            headers = {"Content-Type": content_type} if content_type else {}
            return Response(status, body or b"", headers)

        with self.server.lock:
            self._injected.append(_Injected(failure, count))

    # -- authentication ---------------------------------------------------------------------------

    def _intercept(self, request: RecordedRequest) -> Response | None:
        if self._injected:
            injected = self._injected[0]
            injected.remaining -= 1
            if injected.remaining <= 0:
                self._injected.pop(0)
            return injected.response()
        self._viewer = self._authenticate(request.headers.get("Authorization", ""))
        if self._viewer is None:
            if request.headers.get("X-TFS-FedAuthRedirect", "").lower() != "suppress":
                # Without the header a browser-oriented sign-in page answers (HTTP 203), not a 401:
                # the reason clients send `X-TFS-FedAuthRedirect: Suppress`.
                return Response(
                    HTTPStatus.NON_AUTHORITATIVE_INFORMATION,
                    b"<html><head><title>Azure DevOps Services | Sign In</title></head></html>",
                    {"Content-Type": "text/html; charset=utf-8"},
                )
            message = (
                "TF400813: The user '' is not authorized to access this resource."
                if "Authorization" in request.headers
                else "TF400813: Resource not available for anonymous access. Client authentication required."
            )
            return json_response(
                HTTPStatus.UNAUTHORIZED,
                error_body(
                    message,
                    "UnauthorizedRequestException",
                    "Microsoft.TeamFoundation.Framework.Server."
                    "UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
                ),
                {"WWW-Authenticate": 'Bearer, Basic realm="https://dev.azure.com/"'},
            )
        version = request.param("api-version")
        if not version:
            return self._bad_request(
                "No api-version was supplied for the request. An api-version must be supplied.",
                "VssVersionNotSpecifiedException",
            )
        if request.route_path.lower().endswith("/comments") and "-preview" not in version:
            return self._bad_request(
                f'The requested version "{version}" of the resource is under preview. The -preview flag must be '
                f'supplied in the api-version for such requests. For example: "{version}-preview"',
                "VssInvalidPreviewVersionException",
            )
        return None

    def _authenticate(self, authorization: str) -> AdoUser | None:
        scheme, _, credentials = authorization.partition(" ")
        user_id = None
        if scheme.lower() == "basic":
            try:
                _, _, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            user_id = self._tokens.get(secret)  # the user name is ignored, as documented
        elif scheme.lower() == "bearer":
            user_id = self._bearer_tokens.get(credentials)
        return next((user for user in self.users.values() if user.id == user_id), None)

    # -- routes -----------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        project = r"/(?P<project>[^/_][^/]*)"
        optional_project = r"(?:/(?P<project>[^/_][^/]*))?"
        wit = rf"{project}/_apis/wit"
        routes = [
            ("GET", r"/_apis/connectionData", self._connection_data),
            ("GET", r"/_apis/identities", self._read_identities),
            ("GET", r"/_apis/projects", self._list_projects),
            ("GET", rf"{wit}/workitemtypes", self._list_types),
            ("GET", rf"{wit}/workitemtypes/(?P<type_name>[^/]+)/states", self._list_states),
            ("GET", rf"{wit}/workitemtypes/(?P<type_name>[^/]+)/fields", self._list_type_fields),
            ("GET", rf"{optional_project}/_apis/wit/fields", self._list_fields),
            ("POST", rf"{optional_project}(?:/[^/_][^/]*)?/_apis/wit/wiql", self._wiql),
            ("POST", rf"{optional_project}/_apis/wit/workitemsbatch", self._batch),
            ("POST", rf"{wit}/workitems/\$(?P<type_name>[^/]+)", self._create),
            ("POST", rf"{optional_project}/_apis/wit/attachments", self._upload_attachment),
            ("PATCH", rf"{optional_project}/_apis/wit/workitems/(?P<item_id>\d+)", self._update),
            ("POST", rf"{wit}/workItems/(?P<item_id>\d+)/comments", self._add_comment),
            ("GET", rf"{wit}/workItems/(?P<item_id>\d+)/comments", self._list_comments),
            ("PATCH", rf"{wit}/workItems/(?P<item_id>\d+)/comments/(?P<comment_id>\d+)", self._update_comment),
            ("GET", rf"{wit}/recyclebin", self._recycle_bin),
            ("GET", rf"{wit}/classificationnodes/Iterations", self._iteration_nodes),
            ("GET", r"/_apis/hooks/subscriptions", self._list_subscriptions),
            ("POST", r"/_apis/hooks/subscriptions", self._create_subscription),
            ("PUT", r"/_apis/hooks/subscriptions/(?P<subscription_id>[0-9a-f-]+)", self._update_subscription),
        ]
        for method, path, handler in routes:
            # Route segments are case-insensitive on Azure DevOps (workItems / workitems alike).
            self.server.add_route(method, f"(?i){path}", handler)

    # -- organization -----------------------------------------------------------------------------

    def _connection_data(self, request: RecordedRequest) -> Response:
        identity = self._identity(self._viewer)
        return json_response(
            HTTPStatus.OK,
            {
                "authenticatedUser": identity,
                "authorizedUser": identity,
                "instanceId": "b2d42a4d-05b5-4a4c-84c8-5a2c7c5e1f3a",
                "deploymentId": "6a0d2c1e-6e7d-4f58-9b2c-43d1b0d0e3aa",
                "deploymentType": self.deployment_type,
                "locationServiceData": {"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7"},
            },
        )

    def _identity(self, user: AdoUser) -> dict:
        return {
            "id": user.id,
            "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{user.unique_name}",
            "subjectDescriptor": f"aad.{base64.b64encode(user.id.encode()).decode()}",
            "providerDisplayName": user.display_name,
            "isActive": True,
            "properties": {
                "Account": {"$type": "System.String", "$value": user.unique_name},
                "Mail": {"$type": "System.String", "$value": user.unique_name if "@" in user.unique_name else ""},
            },
            "resourceVersion": 2,
            "metaTypeId": 0,
        }

    def _read_identities(self, request: RecordedRequest) -> Response:
        """Identities - Read Identities with ``searchFilter`` (General: display name, account name or unique
        name; DisplayName; AccountName; MailAddress) and ``filterValue``: {count, value: Identity[]}. Served
        on the organization, as Azure DevOps Server's collections serve it (Services serves it on
        vssps.dev.azure.com/{organization}). The fake matches a whole name, case aside."""
        search, value = request.param("searchFilter") or "", (request.param("filterValue") or "").strip().lower()
        fields = {
            "general": ("display_name", "unique_name"), "displayname": ("display_name",),
            "accountname": ("unique_name",), "mailaddress": ("unique_name",),
        }.get(search.lower())  # fmt: skip
        if fields is None or not value:
            message = "Give searchFilter (General, DisplayName, AccountName or MailAddress) and filterValue."
            return json_response(HTTPStatus.BAD_REQUEST, error_body(message, "ArgumentException"))
        found = [user for user in self.users.values() if any(getattr(user, name).lower() == value for name in fields)]
        return json_response(HTTPStatus.OK, {"count": len(found), "value": [self._identity(user) for user in found]})

    def _list_projects(self, request: RecordedRequest) -> Response:
        visible = self.visible_projects()
        start = _int_param(request, "continuationToken", 0) + _int_param(request, "$skip", 0)
        top = _int_param(request, "$top", 100)
        page = visible[start : start + top]
        headers = {}
        if start + len(page) < len(visible):
            headers["x-ms-continuationtoken"] = str(start + len(page))
        body = {"count": len(page), "value": [self._project_json(project) for project in page]}
        return json_response(HTTPStatus.OK, body, headers)

    # -- work item types and fields ---------------------------------------------------------------

    def _list_types(self, request: RecordedRequest, project: str) -> Response:
        project_ = self.visible_project(project)
        if project_ is None:
            return self._project_not_found(project)
        types = [self._type_json(project_, work_item_type) for work_item_type in project_.types.values()]
        return json_response(HTTPStatus.OK, {"count": len(types), "value": types})

    def _list_states(self, request: RecordedRequest, project: str, type_name: str) -> Response:
        project_, work_item_type, problem = self._type_of(project, type_name)
        if problem:
            return problem
        states = [_state_json(state) for state in work_item_type.states]
        return json_response(HTTPStatus.OK, {"count": len(states), "value": states})

    def _list_type_fields(self, request: RecordedRequest, project: str, type_name: str) -> Response:
        project_, work_item_type, problem = self._type_of(project, type_name)
        if problem:
            return problem
        expand = (request.param("$expand") or "none").lower()
        if expand not in ("none", "allowedvalues", "dependentfields", "all"):
            return self._bad_request(f"The value '{expand}' is not valid for $expand.", "ArgumentException")
        fields = [self._type_field_json(type_field, expand) for type_field in work_item_type.fields.values()]
        return json_response(HTTPStatus.OK, {"count": len(fields), "value": fields})

    def _list_fields(self, request: RecordedRequest, project: str | None = None) -> Response:
        if project is not None and self.visible_project(project) is None:
            return self._project_not_found(project)
        fields = [self._field_json(definition) for definition in self.field_definitions.values()]
        return json_response(HTTPStatus.OK, {"count": len(fields), "value": fields})

    # -- queries and reads ------------------------------------------------------------------------

    def _wiql(self, request: RecordedRequest, project: str | None = None) -> Response:
        payload = _json_body(request)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return self._bad_request(
                "The request body must be a JSON object with a 'query' string.", "ArgumentException"
            )
        project_ = None
        if project is not None:
            project_ = self.visible_project(project)
            if project_ is None:
                return self._project_not_found(project)
        try:
            query = wiql.parse(payload["query"])
            matched = _WiqlSearch(self, query, project_).run()
        except wiql.WiqlError as error:
            return self._bad_request(str(error), "WiqlSyntaxException")
        top = _int_param(request, "$top", WIQL_LIMIT)
        if len(matched) > WIQL_LIMIT and top >= WIQL_LIMIT:
            return self._bad_request(
                f"VS402337: The number of work items returned exceeds the size limit of {WIQL_LIMIT}. "
                "Change the query to return fewer items.",
                "WorkItemTrackingQueryResultSizeLimitExceededException",
            )
        columns = [self._field_reference(name) for name in query.fields]
        body = {
            "queryType": "flat",
            "queryResultType": "workItem",
            "asOf": ado_timestamp(self.now()),
            "columns": [column for column in columns if column],
            "sortColumns": [
                {"field": self._field_reference(key.field), "descending": key.descending} for key in query.order_by
            ],
            "workItems": [{"id": item.id, "url": self._item_url(item)} for item in matched[:top]],
        }
        return json_response(HTTPStatus.OK, body)

    def _batch(self, request: RecordedRequest, project: str | None = None) -> Response:
        payload = _json_body(request)
        ids = payload.get("ids") if isinstance(payload, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            return self._bad_request(
                "The request body must carry 'ids', a non-empty list of work item ids.", "ArgumentException"
            )
        if len(ids) > BATCH_LIMIT:
            return self._bad_request(
                f"The number of work items requested ({len(ids)}) exceeds the limit of {BATCH_LIMIT}.",
                "ArgumentOutOfRangeException",
            )
        requested = payload.get("fields")
        if requested is not None and payload.get("$expand") not in (None, "none", "None"):
            return self._bad_request(
                "The expand parameter can not be used with the fields parameter.", "ConflictingParametersException"
            )
        policy = str(payload.get("errorPolicy") or "fail").lower()
        with_relations = str(payload.get("$expand") or "").lower() in ("relations", "all")
        unknown = [name for name in requested or [] if self._definition(name) is None]
        if unknown:
            return self._field_missing(unknown[0])
        values = []
        for item_id in ids:
            item = self.visible_item(item_id)
            if item is None and policy != "omit":
                return self._item_not_found(item_id)
            values.append(None if item is None else self._item_json(item, requested, with_relations))
        return json_response(HTTPStatus.OK, {"count": len(values), "value": values})

    # -- writes -----------------------------------------------------------------------------------

    def _create(self, request: RecordedRequest, project: str, type_name: str) -> Response:
        project_, work_item_type, problem = self._type_of(project, type_name)
        if problem:
            return problem
        refusal = self._patch_refusal(request) or self._write_refusal(project_)
        if refusal:
            return refusal
        values: dict[str, Any] = {
            "System.AreaPath": project_.name,
            "System.IterationPath": project_.name,
            "System.State": work_item_type.states[0].name,
        }
        for type_field in work_item_type.fields.values():
            if type_field.default_value is not None:
                values[type_field.definition.reference_name] = type_field.default_value
        problem = self._apply_patch(_json_body(request), work_item_type, project_, values, item_id=-1)
        if problem:
            return problem
        if _truthy(request.param("validateOnly")):
            return json_response(HTTPStatus.OK, {"id": -1, "rev": 0, "fields": self._fields_json(values, None)})
        now = self.now()
        values |= {
            "System.CreatedDate": now,
            "System.ChangedDate": now,
            "System.CreatedBy": self._viewer,
            "System.ChangedBy": self._viewer,
        }
        _date_state(values, work_item_type, now)
        item = WorkItem(id=next(self._ids), project=project_, type=work_item_type, fields=values)
        self.work_items[item.id] = item
        return json_response(HTTPStatus.OK, self._item_json(item, None))

    def _update(self, request: RecordedRequest, item_id: str, project: str | None = None) -> Response:
        item = self.visible_item(int(item_id))
        if item is None:
            return self._item_not_found(int(item_id))
        refusal = self._patch_refusal(request) or self._write_refusal(item.project)
        if refusal:
            return refusal
        values = dict(item.fields)
        document = _json_body(request)
        relations = [dict(relation, attributes=dict(relation["attributes"])) for relation in item.relations]
        linking = [op for op in document if _is_relation_operation(op)] if isinstance(document, list) else []
        if linking:
            problem = self._apply_relations(linking, relations)
            if problem:
                return problem
            document = [op for op in document if not _is_relation_operation(op)]
        if document or not linking:
            problem = self._apply_patch(document, item.type, item.project, values, item_id=item.id)
            if problem:
                return problem
        if _truthy(request.param("validateOnly")):
            return json_response(HTTPStatus.OK, self._item_json(item, None))
        item.relations = relations
        item.fields = values | {"System.ChangedDate": self.now(), "System.ChangedBy": self._viewer}
        _date_state(item.fields, item.type, item.fields["System.ChangedDate"])
        item.rev += 1
        return json_response(HTTPStatus.OK, self._item_json(item, None))

    def _upload_attachment(self, request: RecordedRequest, project: str | None = None) -> Response:
        if project is not None and self.visible_project(project) is None:
            return self._project_not_found(project)
        name = (request.param("fileName") or "").strip()
        if not name:
            return self._bad_request("The fileName parameter is required.", "ArgumentNullException")
        if request.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/octet-stream":
            return self._bad_request("The attachment must be sent as application/octet-stream.", "ArgumentException")
        if len(request.body) > self.max_attachment_bytes:
            return json_response(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                error_body(
                    "VS402875: The attachment exceeds the maximum size of a simple upload.",
                    "AttachmentSizeExceededException",
                ),
            )
        attachment_id = str(uuid.uuid4())
        url = f"{self.base_url}/_apis/wit/attachments/{attachment_id}?fileName={quote(name)}"
        self.attachments[url] = AdoAttachment(id=attachment_id, url=url, filename=name, content=request.body)
        return json_response(HTTPStatus.CREATED, {"id": attachment_id, "url": url})

    def _apply_relations(self, operations: list[dict], relations: list[dict]) -> Response | None:
        """Applies relation operations to `relations` (a copy); a refusal when one is invalid. The
        documentation names no error for a link added twice; the fake answers what Azure DevOps
        Services answers, TF201035."""
        for operation in operations:
            op, path, value = str(operation.get("op", "")).lower(), operation["path"], operation.get("value")
            if op == "add" and path == "/relations/-":
                absolute = isinstance(value, dict) and str(value.get("url", "")).startswith(("http://", "https://"))
                if not absolute or not value.get("rel"):
                    return self._bad_request("A relation needs a rel and an absolute url.", "ArgumentException")
                if value["rel"] == "AttachedFile" and value["url"] not in self.attachments:
                    return self._bad_request(f"There is no attachment at {value['url']}.", "ArgumentException")
                if any((r["rel"], r["url"]) == (value["rel"], value["url"]) for r in relations):
                    return self._bad_request(
                        f"TF201035: The link {value['url']} already exists.", "WorkItemLinkAlreadyExistsException"
                    )
                relations.append(
                    {"rel": value["rel"], "url": value["url"], "attributes": dict(value.get("attributes") or {})}
                )
                continue
            index = path.removeprefix("/relations/").removesuffix("/attributes/comment")
            if op != "replace" or not path.endswith("/attributes/comment") or not index.isdigit():
                return self._bad_request(
                    f"The patch operation '{op} {path}' is not supported.", "VssPropertyValidationException"
                )
            if int(index) >= len(relations):
                return self._bad_request(f"There is no relation at index {index}.", "ArgumentOutOfRangeException")
            relations[int(index)]["attributes"]["comment"] = str(value or "")
        return None

    def _add_comment(self, request: RecordedRequest, project: str, item_id: str) -> Response:
        item = self.visible_item(int(item_id))
        if item is None or self.visible_project(project) is not item.project:
            return self._item_not_found(int(item_id))
        payload = _json_body(request)
        text = payload.get("text") if isinstance(payload, dict) else None
        if not isinstance(text, str) or not text.strip():
            return self._bad_request("The comment text cannot be empty.", "ArgumentNullException")
        refusal = self._write_refusal(item.project)
        if refusal:
            return refusal
        comment = AdoComment(next(self._comment_ids), text, self._viewer, self.now())
        item.comments.append(comment)
        item.fields["System.ChangedDate"] = comment.created
        item.rev += 1
        return json_response(HTTPStatus.OK, self._comment_json(item, comment))

    def _list_comments(self, request: RecordedRequest, project: str, item_id: str) -> Response:
        item = self.visible_item(int(item_id))
        if item is None or self.visible_project(project) is not item.project:
            return self._item_not_found(int(item_id))
        # Newest first, as the documented examples list them; the token is an offset (the
        # documentation calls it opaque).
        listed = [
            comment
            for comment in item.comments
            if not comment.deleted or (request.param("includeDeleted") or "").lower() == "true"
        ]
        comments = sorted(listed, key=lambda comment: comment.id, reverse=True)
        start = _int_param(request, "continuationToken", 0)
        top = min(_int_param(request, "$top", COMMENTS_PAGE), COMMENTS_PAGE)
        page = comments[start : start + top]
        body: dict[str, Any] = {
            "totalCount": len(comments),
            "count": len(page),
            "comments": [self._comment_json(item, comment) for comment in page],
        }
        if start + len(page) < len(comments):
            token = str(start + len(page))
            body["continuationToken"] = token
            body["nextPage"] = (
                f"{self.base_url}/{item.project.id}/_apis/wit/workItems/{item.id}/comments"
                f"?continuationToken={token}&api-version={request.param('api-version')}"
            )
        return json_response(HTTPStatus.OK, body)

    def _update_comment(self, request: RecordedRequest, project: str, item_id: str, comment_id: str) -> Response:
        """ "Comments - Update Comment" (7.1-preview.4): {text} replaces the text; only the comment's
        author may edit it."""
        if "-preview" not in (request.param("api-version") or ""):
            return self._bad_request(
                "The comments resource is under preview: supply -preview.", "VssInvalidPreviewVersionException"
            )
        item = self.visible_item(int(item_id))
        if item is None or self.visible_project(project) is not item.project:
            return self._item_not_found(int(item_id))
        comment = next((entry for entry in item.comments if entry.id == int(comment_id)), None)
        if comment is None:
            return json_response(
                HTTPStatus.NOT_FOUND,
                error_body(
                    f"TF401460: Comment with id {comment_id} does not exist for work item {item_id}.",
                    "CommentNotFoundException",
                ),
            )
        if comment.author is not self._viewer:
            return json_response(
                HTTPStatus.FORBIDDEN,
                error_body("TF401461: Only the author of a comment can edit it.", "CommentUpdateException"),
            )
        payload = _json_body(request)
        text = payload.get("text") if isinstance(payload, dict) else None
        if not isinstance(text, str) or not text.strip():
            return self._bad_request("The comment text cannot be empty.", "ArgumentNullException")
        comment.text, comment.modified = text, self.now()
        item.fields["System.ChangedDate"] = comment.modified
        return json_response(HTTPStatus.OK, self._comment_json(item, comment))

    def _iteration_nodes(self, request: RecordedRequest, project: str) -> Response:
        """ "Classification Nodes - Get" of the Iterations root with `$depth`: a WorkItemClassificationNode
        {id, identifier, name, structureType, hasChildren, path, attributes: {startDate, finishDate},
        children} tree, children only down to the depth asked for (0 by default)."""
        project_ = self.visible_project(project)
        if project_ is None:
            return self._project_not_found(project)
        depth = _int_param(request, "$depth", 0)

        def node(path: str, level: int) -> dict:
            children = [p for p in project_.iterations if p.rsplit("\\", 1)[0] == path and p != path]
            body = {
                "id": project_.iterations.index(path) + 1,
                "identifier": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{project_.id}/{path}")),
                "name": path.rsplit("\\", 1)[-1],
                "structureType": "iteration",
                "hasChildren": bool(children),
                "path": "\\" + path.replace("\\", "\\Iteration\\", 1) if "\\" in path else f"\\{path}\\Iteration",
            }
            start, finish = project_.iteration_dates.get(path, (None, None))
            if start or finish:
                body["attributes"] = {
                    name: ado_timestamp(moment)
                    for name, moment in (("startDate", start), ("finishDate", finish))
                    if moment
                }
            if children and level < depth:
                body["children"] = [node(child, level + 1) for child in children]
            return body

        return json_response(HTTPStatus.OK, node(project_.name, 0))

    def _recycle_bin(self, request: RecordedRequest, project: str) -> Response:
        """ "Recycle Bin - Get Deleted Work Items" (`ids` comma-separated): a WorkItemDeleteReference per
        id. The documentation does not say what an id that is not in the bin answers; the fake gives
        it the reference's `code` 404 and a message, the shape batch answers use for failures."""
        project_ = self.visible_project(project)
        if project_ is None:
            return self._project_not_found(project)
        ids = [int(part) for part in (request.param("ids") or "").split(",") if part.strip().isdigit()]
        if not ids:
            return self._bad_request("The ids parameter is required.", "ArgumentNullException")
        values = []
        for item_id in ids:
            item, deleted = self.recycle_bin.get(item_id, (None, None))
            if item is None or item.project is not project_:
                values.append(
                    {
                        "id": item_id,
                        "code": 404,
                        "message": (
                            f"TF401232: Work item {item_id} does not exist, or you do not have permissions to read it."
                        ),
                    }
                )
                continue
            values.append(
                {
                    "id": item_id,
                    "code": 200,
                    "name": item.fields.get("System.Title"),
                    "project": project_.name,
                    "type": item.type.name,
                    "deletedDate": ado_timestamp(deleted),
                    "url": f"{self.base_url}/{project_.id}/_apis/wit/recycleBin/{item_id}",
                }
            )
        return json_response(HTTPStatus.OK, {"count": len(values), "value": values})

    # -- JSON Patch -------------------------------------------------------------------------------

    def _patch_refusal(self, request: RecordedRequest) -> Response | None:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != JSON_PATCH:
            return json_response(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                error_body(
                    f'The request indicated a Content-Type of "{content_type}" for method type '
                    f'"{request.method}" which is not supported. Valid content types for this method are: '
                    f"{JSON_PATCH}.",
                    "VssRequestContentTypeNotSupportedException",
                    "Microsoft.VisualStudio.Services.WebApi.VssRequestContentTypeNotSupportedException",
                ),
            )
        return None

    def _apply_patch(
        self, document: Any, work_item_type: WorkItemType, project: AdoProject, values: dict, item_id: int
    ) -> Response | None:
        """Applies the patch to `values` (a copy); a refusal when the document or a value is invalid."""
        valid = (
            isinstance(document, list)
            and document
            and all(isinstance(operation, dict) and isinstance(operation.get("path"), str) for operation in document)
        )
        if not valid:
            return self._bad_request(
                "You must pass a valid patch document in the body of the request.", "VssPropertyValidationException"
            )
        for operation in document:
            op, path = str(operation.get("op", "")).lower(), operation["path"]
            if op not in ("add", "replace", "remove", "test") or not path.startswith("/fields/"):
                # The fake edits fields only; relations and links are outside it.
                return self._bad_request(
                    f"The patch operation '{op} {path}' is not supported.", "VssPropertyValidationException"
                )
            reference = path.removeprefix("/fields/")
            type_field = self._type_field(work_item_type, reference)
            if type_field is None:
                return self._field_missing(reference)
            name = type_field.definition.reference_name
            if op == "test":
                if _plain(values.get(name)) != operation.get("value"):
                    return self._bad_request(
                        f"Test operation failed for field {name}.", "WorkItemRevisionMismatchException"
                    )
                continue
            problem, value = self._coerce(
                type_field, None if op == "remove" else operation.get("value"), project, work_item_type, item_id
            )
            if problem:
                return problem
            values[name] = value
        for type_field in work_item_type.fields.values():
            if type_field.always_required and values.get(type_field.definition.reference_name) in (None, ""):
                return self._rule_error(type_field, "Required, InvalidEmpty", "The field '{}' cannot be empty.")
        return None

    def _coerce(
        self, type_field: TypeField, value: Any, project: AdoProject, work_item_type: WorkItemType, item_id: int
    ) -> tuple[Response | None, Any]:
        definition = type_field.definition
        if definition.read_only:
            return self._rule_error(type_field, "ReadOnly", "The field '{}' is read-only."), None
        if value in (None, ""):
            return None, None
        kind = definition.type
        if kind == "identity":
            wanted = str(value.get("uniqueName") if isinstance(value, dict) else value).lower()
            user = next((user for user in self.users.values() if wanted in user.names()), None)
            if user is None:
                message = f"The identity value '{value}' for field '{definition.name}' is an unknown identity."
                return self._rule_error(type_field, "InvalidIdentity", message), None
            return None, user
        if kind in ("integer", "double"):
            try:
                number = int(value) if kind == "integer" else float(value)
            except (TypeError, ValueError):
                message = f"The field '{definition.name}' contains a value that is not a number."
                return self._rule_error(type_field, "InvalidType", message), None
            value = number
        elif kind == "treePath":
            paths = project.areas if definition.reference_name == "System.AreaPath" else project.iterations
            if str(value) not in paths:
                message = (
                    f"TF401347: Invalid tree name given for work item {item_id}, field '{definition.reference_name}'."
                )
                return self._bad_request(message, "WorkItemTreeNodeNotFoundException"), None
        elif not isinstance(value, str):
            value = str(value)
        if definition.reference_name == "System.State":
            allowed = [state.name for state in work_item_type.states]
        else:
            allowed = type_field.allowed_values
        if allowed and value not in allowed:
            message = (
                f"The field '{definition.name}' contains the value '{value}' "
                "that is not in the list of supported values"
            )
            return self._rule_error(type_field, "HasValues, LimitedToValues, InvalidListValue", message), None
        return None, value

    def _rule_error(self, type_field: TypeField, code: str, detail: str) -> Response:
        name = type_field.definition.name
        message = detail.format(name) if "{}" in detail else detail
        body = error_body(
            f"TF401320: Rule Error for field {name}. Error code: {code}.",
            "RuleValidationException",
            customProperties={
                "FieldReferenceName": type_field.definition.reference_name,
                "FieldStatusFlags": code.lower(),
                "ErrorMessage": message,
                "FieldStatusCode": code.split(", ")[-1],
            },
        )
        return json_response(HTTPStatus.BAD_REQUEST, body)

    def _write_refusal(self, project: AdoProject) -> Response | None:
        if project.members.get(self._viewer.id) == "write":
            return None
        # The documentation names no status for a reader who writes; the fake answers 403 with the
        # area-path permission error the web UI shows.
        return json_response(
            HTTPStatus.FORBIDDEN,
            error_body(
                "TF237111: The current user does not have permissions to save work items "
                "under the specified area path.",
                "WorkItemSecurityException",
            ),
        )

    # -- visibility -------------------------------------------------------------------------------

    def visible_projects(self) -> list[AdoProject]:
        return [project for project in self.projects.values() if self._viewer and self._viewer.id in project.members]

    def visible_project(self, reference: str) -> AdoProject | None:
        reference = unquote(reference).lower()
        return next((p for p in self.visible_projects() if reference in (p.name.lower(), p.id.lower())), None)

    def visible_item(self, item_id: int) -> WorkItem | None:
        item = self.work_items.get(item_id)
        if item is None or self._viewer is None or self._viewer.id not in item.project.members:
            return None
        return item

    def _type_of(self, project: str, type_name: str) -> tuple[AdoProject | None, WorkItemType | None, Response | None]:
        project_ = self.visible_project(project)
        if project_ is None:
            return None, None, self._project_not_found(project)
        wanted = unquote(type_name).lower()
        work_item_type = next((t for t in project_.types.values() if t.name.lower() == wanted), None)
        if work_item_type is None:
            message = (
                f"TF201036: You cannot add a {unquote(type_name)} work item type "
                f"because it does not exist in project {project_.name}."
            )
            return (
                project_,
                None,
                json_response(HTTPStatus.NOT_FOUND, error_body(message, "WorkItemTypeNotFoundException")),
            )
        return project_, work_item_type, None

    def _definition(self, name: str) -> FieldDefinition | None:
        wanted = name.lower()
        return next(
            (d for d in self.field_definitions.values() if wanted in (d.reference_name.lower(), d.name.lower())), None
        )

    def _type_field(self, work_item_type: WorkItemType, name: str) -> TypeField | None:
        definition = self._definition(name)
        if definition is None:
            return None
        return work_item_type.fields.get(definition.reference_name)

    # -- errors -----------------------------------------------------------------------------------

    def _bad_request(self, message: str, type_key: str) -> Response:
        return json_response(HTTPStatus.BAD_REQUEST, error_body(message, type_key))

    def _project_not_found(self, reference: str) -> Response:
        # A project the caller is not a member of reads exactly like one that does not exist.
        message = (
            f"TF200016: The following project does not exist: {unquote(reference)}. Verify that the name of the "
            "project is correct and that the project exists on the specified Azure DevOps Server."
        )
        return json_response(HTTPStatus.NOT_FOUND, error_body(message, "ProjectDoesNotExistWithNameException"))

    def _item_not_found(self, item_id: int) -> Response:
        message = f"TF401232: Work item {item_id} does not exist, or you do not have permissions to read it."
        return json_response(HTTPStatus.NOT_FOUND, error_body(message, "WorkItemUnauthorizedAccessException"))

    def _field_missing(self, name: str) -> Response:
        return self._bad_request(f"TF51535: Cannot find field {name}.", "WorkItemFieldInvalidException")

    # -- representations --------------------------------------------------------------------------

    def _item_url(self, item: WorkItem) -> str:
        return f"{self.base_url}/_apis/wit/workItems/{item.id}"

    def _field_reference(self, name: str) -> dict | None:
        definition = self._definition(name)
        if definition is None:
            return None
        return {
            "referenceName": definition.reference_name,
            "name": definition.name,
            "url": f"{self.base_url}/_apis/wit/fields/{definition.reference_name}",
        }

    def _identity_json(self, user: AdoUser) -> dict:
        return {
            "displayName": user.display_name,
            "url": f"{self.base_url}/_apis/Identities/{user.id}",
            "id": user.id,
            "uniqueName": user.unique_name,
            "imageUrl": f"{self.base_url}/_api/_common/identityImage?id={user.id}",
            "descriptor": f"aad.{base64.b64encode(user.id.encode()).decode()}",
        }

    def _project_json(self, project: AdoProject) -> dict:
        return {
            "id": project.id,
            "name": project.name,
            "description": project.description,
            "url": f"{self.base_url}/_apis/projects/{project.id}",
            "state": "wellFormed",
            "revision": 1,
            "visibility": "private",
            "lastUpdateTime": "2024-01-01T00:00:00.000Z",
        }

    def _type_json(self, project: AdoProject, work_item_type: WorkItemType) -> dict:
        return {
            "name": work_item_type.name,
            "referenceName": work_item_type.reference_name,
            "description": "",
            "color": "CC293D",
            "icon": {"id": "icon_insect", "url": f"{self.base_url}/_apis/wit/workItemIcons/icon_insect"},
            "isDisabled": False,
            "states": [_state_json(state) for state in work_item_type.states],
            "fields": [
                {**self._field_reference(name), "alwaysRequired": type_field.always_required}
                for name, type_field in work_item_type.fields.items()
            ],
            "url": f"{self.base_url}/{project.id}/_apis/wit/workItemTypes/{work_item_type.name}",
        }

    def _type_field_json(self, type_field: TypeField, expand: str) -> dict:
        definition = type_field.definition
        body = {
            "alwaysRequired": type_field.always_required,
            "referenceName": definition.reference_name,
            "name": definition.name,
            "url": f"{self.base_url}/_apis/wit/fields/{definition.reference_name}",
        }
        if expand in ("allowedvalues", "all"):
            body["defaultValue"] = type_field.default_value
            body["allowedValues"] = list(type_field.allowed_values)
        if expand in ("dependentfields", "all"):
            body["dependentFields"] = []
        return body

    def _field_json(self, definition: FieldDefinition) -> dict:
        return {
            "name": definition.name,
            "referenceName": definition.reference_name,
            "type": definition.type,
            "usage": "workItem",
            "readOnly": definition.read_only,
            "canSortBy": True,
            "isQueryable": True,
            "isIdentity": definition.is_identity,
            "isPicklist": False,
            "isPicklistSuggested": False,
            "url": f"{self.base_url}/_apis/wit/fields/{definition.reference_name}",
        }

    def _fields_json(self, values: dict[str, Any], requested: list[str] | None) -> dict:
        names = list(values) if requested is None else [self._definition(name).reference_name for name in requested]
        body = {}
        for name in names:
            value = values.get(name)
            if value is None or value == "":
                continue  # fields without a value are left out, as Azure DevOps does
            if isinstance(value, AdoUser):
                value = self._identity_json(value)
            elif isinstance(value, datetime):
                value = ado_timestamp(value)
            body[name] = value
        return body

    def _item_json(self, item: WorkItem, requested: list[str] | None, with_relations: bool = False) -> dict:
        values = item.fields | {
            "System.Id": item.id,
            "System.Rev": item.rev,
            "System.WorkItemType": item.type.name,
            "System.TeamProject": item.project.name,
            "System.CommentCount": len(item.comments),
        }
        body = {
            "id": item.id,
            "rev": item.rev,
            "fields": self._fields_json(values, requested),
            "url": self._item_url(item),
        }
        if with_relations:
            body["relations"] = [dict(relation, attributes=dict(relation["attributes"])) for relation in item.relations]
        return body

    def _comment_json(self, item: WorkItem, comment: AdoComment) -> dict:
        author = self._identity_json(comment.author)
        return {
            "workItemId": item.id,
            self.comment_id_name: comment.id,
            "version": 2 if comment.modified else 1,
            "text": comment.text,
            "createdBy": author,
            "createdDate": ado_timestamp(comment.created),
            "modifiedBy": author,
            "modifiedDate": ado_timestamp(comment.modified or comment.created),
            "format": "html",
            "isDeleted": comment.deleted,
            "url": f"{self.base_url}/{item.project.id}/_apis/wit/workItems/{item.id}/comments/{comment.id}",
        }

    def _add_type(self, project: AdoProject, name: str, states: list[tuple[str, str]]) -> None:
        fields = {name: TypeField(self.field_definitions[name]) for name in _CORE_FIELDS}
        fields["System.Title"].always_required = True
        fields["Microsoft.VSTS.Common.Priority"] = TypeField(
            self.field_definitions["Microsoft.VSTS.Common.Priority"], allowed_values=list(PRIORITIES), default_value=2
        )
        if name == "Bug":
            fields["Microsoft.VSTS.Common.Severity"] = TypeField(
                self.field_definitions["Microsoft.VSTS.Common.Severity"],
                allowed_values=list(SEVERITIES),
                default_value="3 - Medium",
            )
            fields["Microsoft.VSTS.TCM.ReproSteps"] = TypeField(self.field_definitions["Microsoft.VSTS.TCM.ReproSteps"])
        reference = "Microsoft.VSTS.WorkItemTypes." + name.replace(" ", "")
        project.types[name] = WorkItemType(
            name, reference, [WorkItemState(state, category) for state, category in states], fields
        )


# Fields every type of the Agile process carries (Microsoft Learn, "Work item field index").
_SYSTEM_FIELDS = (
    FieldDefinition("System.Id", "ID", "integer", read_only=True),
    FieldDefinition("System.Rev", "Rev", "integer", read_only=True),
    FieldDefinition("System.WorkItemType", "Work Item Type", "string", read_only=True),
    FieldDefinition("System.TeamProject", "Team Project", "string", read_only=True),
    FieldDefinition("System.CommentCount", "Comment Count", "integer", read_only=True),
    FieldDefinition("System.CreatedDate", "Created Date", "dateTime", read_only=True),
    FieldDefinition("System.ChangedDate", "Changed Date", "dateTime", read_only=True),
    FieldDefinition("System.CreatedBy", "Created By", "identity", read_only=True),
    FieldDefinition("System.ChangedBy", "Changed By", "identity", read_only=True),
    FieldDefinition("System.Title", "Title", "string"),
    FieldDefinition("System.Description", "Description", "html"),
    FieldDefinition("System.State", "State", "string"),
    FieldDefinition("System.AreaPath", "Area Path", "treePath"),
    FieldDefinition("System.IterationPath", "Iteration Path", "treePath"),
    FieldDefinition("System.AssignedTo", "Assigned To", "identity"),
    FieldDefinition("System.Tags", "Tags", "plainText"),
    FieldDefinition("Microsoft.VSTS.Common.Priority", "Priority", "integer"),
    FieldDefinition("Microsoft.VSTS.Common.Severity", "Severity", "string"),
    FieldDefinition("Microsoft.VSTS.TCM.ReproSteps", "Repro Steps", "html"),
    FieldDefinition("Microsoft.VSTS.Common.ResolvedDate", "Resolved Date", "dateTime", read_only=True),
    FieldDefinition("Microsoft.VSTS.Common.ClosedDate", "Closed Date", "dateTime", read_only=True),
)


def _date_state(values: dict[str, Any], work_item_type: WorkItemType, now: datetime) -> None:
    """The Agile process's rules on the state dates (Microsoft Learn, "Work item field index"):
    Resolved Date is set on entering a Resolved state, Closed Date on entering a Completed or Removed
    one; a work item back in a Proposed or In Progress state has neither."""
    category = next(
        (state.category for state in work_item_type.states if state.name == values.get("System.State")), "Proposed"
    )
    if category in ("Proposed", "InProgress"):
        values.pop("Microsoft.VSTS.Common.ResolvedDate", None)
        values.pop("Microsoft.VSTS.Common.ClosedDate", None)
    elif category == "Resolved":
        values.setdefault("Microsoft.VSTS.Common.ResolvedDate", now)
        values.pop("Microsoft.VSTS.Common.ClosedDate", None)
    else:
        values.setdefault("Microsoft.VSTS.Common.ClosedDate", now)


_CORE_FIELDS = (
    "System.Id", "System.Rev", "System.WorkItemType", "System.TeamProject", "System.CommentCount",
    "System.CreatedDate", "System.ChangedDate", "System.CreatedBy", "System.ChangedBy", "System.Title",
    "System.Description", "System.State", "System.AreaPath", "System.IterationPath", "System.AssignedTo",
    "System.Tags",
)  # fmt: skip
# The Agile process's states and their categories (Microsoft Learn, "Workflow states and state categories").
_AGILE_TYPES = {
    "Bug": [("New", "Proposed"), ("Active", "InProgress"), ("Resolved", "Resolved"), ("Closed", "Completed")],
    "Task": [("New", "Proposed"), ("Active", "InProgress"), ("Closed", "Completed"), ("Removed", "Removed")],
    "User Story": [
        ("New", "Proposed"), ("Active", "InProgress"), ("Resolved", "Resolved"), ("Closed", "Completed"),
        ("Removed", "Removed"),
    ],
    # Every process has the test types; a Test Case is Design, Ready, then Closed.
    "Test Case": [("Design", "Proposed"), ("Ready", "InProgress"), ("Closed", "Completed")],
}  # fmt: skip


def _state_json(state: WorkItemState) -> dict:
    return {"name": state.name, "color": state.color, "category": state.category}


# -- WIQL evaluation -----------------------------------------------------------------------------


class _WiqlSearch:
    """One WIQL query against the fake's state, as the authenticated caller sees it."""

    def __init__(self, fake: AzureDevOpsFake, query: wiql.Query, project: AdoProject | None):
        self.fake = fake
        self.project = project
        for name in [*query.fields, *(key.field for key in query.order_by)]:
            self._reference(name)
        self.predicate = self._compile(query.where) if query.where is not None else (lambda item: True)
        self.order_by = [(self._reference(key.field), key.descending) for key in query.order_by]

    def run(self) -> list[WorkItem]:
        items = [
            item
            for item in self.fake.work_items.values()
            if self.fake.visible_item(item.id) is not None and self.predicate(item)
        ]
        items.sort(key=lambda item: item.id)
        for name, descending in reversed(self.order_by):
            items.sort(key=lambda item: _sortable(self._value(item, name)), reverse=descending)
        return items

    def _reference(self, name: str) -> str:
        definition = self.fake._definition(name)
        if definition is None:
            raise wiql.WiqlError(
                f"TF51005: The query references a field that does not exist. The error is caused by «[{name}]»."
            )
        return definition.reference_name

    def _value(self, item: WorkItem, name: str) -> Any:
        values = item.fields | {
            "System.Id": item.id,
            "System.WorkItemType": item.type.name,
            "System.TeamProject": item.project.name,
        }
        return values.get(name)

    def _resolve(self, operand: Any) -> Any:
        if isinstance(operand, wiql.Macro):
            if operand.name == "me":
                return self.fake._viewer
            if operand.name == "project":
                if self.project is None:
                    raise wiql.WiqlError("The @project macro needs a project in the request URL.")
                return self.project.name
            raise wiql.WiqlError(f"The macro '@{operand.name}' is not supported.")
        return operand

    def _compile(self, node: wiql.Expression) -> Callable[[WorkItem], bool]:
        if isinstance(node, wiql.BoolOp):
            parts = [self._compile(part) for part in node.parts]
            combine = all if node.kind == "and" else any
            return lambda item: combine(part(item) for part in parts)
        if isinstance(node, wiql.Not):
            inner = self._compile(node.part)
            return lambda item: not inner(item)
        name = self._reference(node.field)
        operator = node.operator
        negated = operator.startswith("not ") or operator == "<>"
        base = operator.removeprefix("not ")
        expected = [self._resolve(value) for value in node.value] if base == "in" else self._resolve(node.value)

        def test(item: WorkItem) -> bool:
            actual = self._value(item, name)
            if base == "contains":
                return str(expected).lower() in _text(actual).lower()
            if base == "contains words":
                return all(word in _words(actual) for word in _words(expected))
            if base == "under":
                return _text(actual).lower() == str(expected).lower() or _text(actual).lower().startswith(
                    str(expected).lower() + "\\"
                )
            if base == "in":
                return any(_equal(actual, value) for value in expected)
            if operator in ("=", "<>"):
                return _equal(actual, expected)
            comparison = {
                "<": lambda a, b: a < b,
                "<=": lambda a, b: a <= b,
                ">": lambda a, b: a > b,
                ">=": lambda a, b: a >= b,
            }[operator]
            return actual is not None and comparison(_sortable(actual), _sortable(expected))

        if negated:
            return lambda item: not test(item)
        return test


def _text(value: Any) -> str:
    if isinstance(value, AdoUser):
        return value.display_name
    return "" if value is None else str(value)


def _words(value: Any) -> set[str]:
    return set(re.findall(r"\w+", re.sub(r"<[^>]+>", " ", _text(value)).lower()))


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, AdoUser) or isinstance(expected, AdoUser):
        names = actual.names() if isinstance(actual, AdoUser) else {_text(actual).lower()}
        wanted = expected.names() if isinstance(expected, AdoUser) else {_text(expected).lower()}
        return bool(names & wanted)
    if isinstance(expected, float) and isinstance(actual, int | float):
        return float(actual) == expected
    return _text(actual).lower() == _text(expected).lower()


def _sortable(value: Any) -> tuple:
    if isinstance(value, int | float):
        return (0, float(value), "")
    if isinstance(value, datetime):
        return (0, value.timestamp(), "")
    return (1, 0.0, _text(value).lower())


# -- small helpers -------------------------------------------------------------------------------


def _json_body(request: RecordedRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


def _is_relation_operation(operation: Any) -> bool:
    return isinstance(operation, dict) and str(operation.get("path", "")).startswith("/relations/")


def _int_param(request: RecordedRequest, name: str, default: int) -> int:
    value = request.param(name)
    return int(value) if value not in (None, "") and value.isdigit() else default


def _truthy(value: str | None) -> bool:
    return (value or "").lower() == "true"


def _plain(value: Any) -> Any:
    return value.unique_name if isinstance(value, AdoUser) else value
