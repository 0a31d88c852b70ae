"""Azure DevOps Services and Azure DevOps Server work items (REST API 7.1).

One source is one organization (Services: https://dev.azure.com/{organization}; Server:
https://server/tfs/{collection}): a personal access token is issued for an organization
and every API path lives under it, so the organization belongs with the credentials. A
project integration names the project inside it.

- Personal access tokens travel as the password of basic auth with an empty user name;
  members' OAuth tokens as ``Bearer``. Every request carries ``X-TFS-FedAuthRedirect:
  Suppress``: without it an expired token gets a sign-in page (HTTP 203) instead of a 401.
- Work item ids are numbers, unique in the organization; reads go to the organization's
  ``workitemsbatch`` (200 ids a request) and need no project.
- A work item does not carry its state's category: it comes from the states of its type
  (``workitemtypes/{type}/states``), asked once per type and call; reads of work items
  (``fetch_many``, ``refresh``) ask once per type for the provider's lifetime, which is one
  refresh run: a run of 10,000 work items reads them in 50 batches but each type's states once.
- Descriptions and comments are HTML: Markdown is converted to sanitized HTML going out,
  HTML back to Markdown coming in. A Bug's description lives in Repro Steps.
- Azure DevOps answers "does not exist, or you do not have permissions to read it" (TF401232)
  for both, so work items a batch does not return are reported as forbidden, never as
  deleted: an unreadable work item must not mark its requirement deprecated.
"""

import base64
import binascii
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from integrations import keys
from integrations.errors import NotFound, RemoteValidationError, UpstreamError
from integrations.http import RemoteErrorDetail, TrackerHttpClient, TrackerResponse, generic_error_detail
from integrations.mappings import same_name
from integrations.models import AUTH_TYPES_BY_PROVIDER, AuthType, Provider
from integrations.richtext import html_to_markdown, markdown_to_safe_html

from .answers import chunks, iso_timestamp, json_object
from .base import (
    PULL_LIMIT,
    USERNAME,
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
    delivery_id,
    fields_missing,
    webhook_json,
)

API_VERSION = "7.1"
COMMENTS_API_VERSION = "7.1-preview.4"  # the comments resource is in preview
IDS_PER_BATCH = 200  # workitemsbatch's documented maximum
PRIORITY = "Microsoft.VSTS.Common.Priority"
# Service hook events of work items: each but a deletion is read again (see parse_webhook).
WEBHOOK_EVENTS = {
    "workitem.created": EventKind.CHANGED, "workitem.updated": EventKind.CHANGED,
    "workitem.restored": EventKind.CHANGED, "workitem.commented": EventKind.CHANGED,
    "workitem.deleted": EventKind.DELETED,
}  # fmt: skip
WEBHOOK_USER = "testmanager"  # the basic-auth user name subscriptions send (any name is accepted)
WEBHOOK_SECRET_HEADER = "X-Testmanager-Webhook-Secret"
SEARCH_LIMIT = 50
PAGE_SIZE = 100
PROJECTS_NAMED = 5
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
SUPPRESS_SIGN_IN = {"X-TFS-FedAuthRedirect": "Suppress"}
ISSUE_FIELDS = [
    "System.Id", "System.Title", "System.State", "System.WorkItemType", "System.TeamProject",
    "System.AssignedTo", "Microsoft.VSTS.Common.Priority", "System.ChangedDate", "System.CreatedDate",
    "Microsoft.VSTS.Common.ResolvedDate", "Microsoft.VSTS.Common.ClosedDate", "System.Tags",
]  # fmt: skip
PULL_FIELDS = [*ISSUE_FIELDS, "System.Description"]
STATE_CATEGORIES = {
    "Proposed": "todo",
    "InProgress": "in_progress",
    "Resolved": "done",
    "Completed": "done",
    "Removed": "done",
}
REPRO_STEPS = "Microsoft.VSTS.TCM.ReproSteps"
DUE_DATE = "Microsoft.VSTS.Scheduling.DueDate"
# Fields a new work item gets from Azure DevOps or its workflow, not from a form.
_NOT_FORM_FIELDS = frozenset({"System.WorkItemType", "System.TeamProject", "System.State", "System.Reason",
                              "System.History", "System.AreaId", "System.IterationId"})  # fmt: skip
_KINDS = {
    "string": "text",
    "plainText": "text",
    "treePath": "text",
    "html": "rich_text",
    "integer": "number",
    "double": "number",
    "dateTime": "datetime",
    "identity": "user",
}

ENTRA_LOGIN = "https://login.microsoftonline.com"
# Azure DevOps' resource id in Entra ID; offline_access brings a refresh token.
ENTRA_SCOPES = ("499b84ac-1321-427f-aa17-267ca6975798/.default", "offline_access")


def read_azure_devops_error(response: TrackerResponse) -> RemoteErrorDetail:
    """Azure DevOps' ``{"message": ..., "typeKey": ..., "customProperties": {...}}``; a rule
    violation names its field in ``customProperties``."""
    detail = generic_error_detail(response)
    try:
        body = response.json()
    except UpstreamError:
        return detail
    properties = body.get("customProperties") if isinstance(body, dict) else None
    if isinstance(properties, dict) and properties.get("FieldReferenceName"):
        problem = str(properties.get("ErrorMessage") or detail.message or "invalid value")
        return RemoteErrorDetail(detail.message, {str(properties["FieldReferenceName"]): problem})
    return detail


def _values(response: TrackerResponse, what: str) -> list[dict]:
    values = json_object(response, what).get("value")
    if not isinstance(values, list):
        raise UpstreamError(f"{response.host} answered without {what}: check the base URL.", status=response.status)
    return [value for value in values if isinstance(value, dict)]


def _wiql_string(value: str) -> str:
    """``value`` as a WIQL string literal: it can only ever be a value, never syntax."""
    return "'" + value.replace("'", "''") + "'"


def _nodes(value: Any) -> list[dict]:
    return [node for node in value if isinstance(node, dict)] if isinstance(value, list) else []


def _iteration(kind: str, node: dict) -> RemotePlan:
    attributes = node.get("attributes") if isinstance(node.get("attributes"), dict) else {}
    start, finish = iso_timestamp(attributes.get("startDate")), iso_timestamp(attributes.get("finishDate"))
    return RemotePlan(
        kind,
        str(node.get("identifier") or node.get("id")),
        str(node.get("name") or ""),
        start=start.date() if start else None,
        end=finish.date() if finish else None,
        done=finish is not None and finish.date() < date.today(),
    )


def _hooked_work_item(resource: dict) -> tuple[int | None, dict]:
    """(work item id, fields) of a service hook's resource. ``workitem.updated`` names the item in
    ``workItemId`` and carries it in ``revision``; the other work item events carry the item itself
    (``id``, ``fields``). Each is read wherever it is, so a resource shaped either way names its item."""
    revision = resource.get("revision") if isinstance(resource.get("revision"), dict) else {}
    item_id = next(
        (value for value in (resource.get("workItemId"), revision.get("id"), resource.get("id")) if _is_id(value)),
        None,
    )
    fields = next((value for value in (revision.get("fields"), resource.get("fields")) if isinstance(value, dict)), {})
    return item_id, fields


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _comment_id(raw: dict) -> str:
    """A work item comment's id: ``id`` in the comments API's current versions, ``commentId`` in the
    5.x previews (and in what servers on them answer)."""
    value = raw.get("id") if raw.get("id") not in (None, "") else raw.get("commentId")
    return "" if value is None else str(value)


def azure_devops_field_value(value: Any) -> FieldValue:
    """A field's value as pulls map it: a date-time (its date), an identity (its name), a path
    (an iteration's or area's, as it is), text or a number."""
    if value is None or value == "" or isinstance(value, bool):
        return FieldValue()
    if isinstance(value, dict):
        return FieldValue(text=str(value.get("displayName") or value.get("uniqueName") or ""))
    moment = iso_timestamp(value)
    if moment is not None:
        return FieldValue(text=moment.date().isoformat(), day=moment.date())
    return FieldValue(text=str(value).strip())


class AzureDevOps(TrackerProvider):
    key = Provider.AZURE_DEVOPS
    label = Provider.AZURE_DEVOPS.label
    uploads_files = True
    attachment_max_bytes = 130 * 1024**2  # the largest file one (not chunked) attachment upload takes
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.AZURE_DEVOPS]
    member_pats = True
    credential_fields = {
        **TrackerProvider.credential_fields,
        # Azure DevOps Server (on premises) takes basic authentication with a personal access token as the
        # password (its IIS basic authentication, or any user name with a PAT).
        AuthType.BASIC: (
            USERNAME,
            CredentialField(
                "password",
                "Personal access token (as password)",
                secret=True,
                help_text="Azure DevOps Server: a personal access token of the account above, sent as the password.",
            ),
        ),
    }
    default_key_pattern = r"^\d+$"
    default_issue_url_template = "{baseUrl}/{project}/_workitems/edit/{key}"
    default_create_url_template = "{baseUrl}/{project}/_workitems/create/Bug?[System.Title]={title}"
    capabilities = frozenset(
        {Capability.READ_DETAILS, Capability.CREATE_ISSUES, Capability.ADD_COMMENTS, Capability.PROCESS_WEBHOOKS}
    )
    external_project_hint = "Azure DevOps project name (the organization is part of the base URL)"
    external_project_pattern = r"^[^/\\:*?\"<>|#%&]+$"
    base_url_hint = (
        "The organization's address, e.g. https://dev.azure.com/fabrikam, or a collection on Azure DevOps "
        "Server, e.g. https://tfs.example.com/tfs/DefaultCollection."
    )
    read_error_detail = staticmethod(read_azure_devops_error)
    pull_filter_hint = (
        "A WIQL condition, what follows WHERE, e.g. [System.Tags] CONTAINS 'requirement'; testmanager adds the "
        "project and the work item types."
    )
    pull_field_hint = (
        "Field reference names: System.IterationPath (an iteration and its end date), "
        "Microsoft.VSTS.Scheduling.TargetDate, Microsoft.VSTS.Common.Severity, ..."
    )
    draft_field_ids = {
        "System.Title": "title", "System.Description": "description", REPRO_STEPS: "description",
        "Microsoft.VSTS.Common.Priority": "priority", "System.Tags": "labels", "System.AssignedTo": "assignee",
        DUE_DATE: "due_date",
    }  # fmt: skip
    links_back_natively = True  # hyperlink relations
    keys_per_request = IDS_PER_BATCH

    def __init__(self, source, user_token=None):
        super().__init__(source, user_token)
        # (project, type) -> state name -> category, kept for this provider's lifetime (one refresh run).
        self._read_states: dict[tuple[str, str], dict[str, str]] = {}

    def pat_authentication(self, token):
        # A personal access token is the password of basic auth with an empty user name.
        return {}, ("", token)

    def _http(self) -> TrackerHttpClient:
        return self.client(headers=SUPPRESS_SIGN_IN)

    def oauth_app(self) -> OAuthApp:
        """Microsoft Entra ID (the Microsoft identity platform, v2.0 endpoints) for Azure DevOps
        Services: the Azure DevOps resource's ``.default`` scope plus ``offline_access`` for a refresh
        token, PKCE with S256, the scope repeated in token requests. The ``organizations`` tenant
        takes work and school accounts of any directory (Azure DevOps Server has no OAuth 2.0)."""
        return OAuthApp(
            authorize_url=f"{ENTRA_LOGIN}/organizations/oauth2/v2.0/authorize",
            token_url=f"{ENTRA_LOGIN}/organizations/oauth2/v2.0/token",
            scopes=ENTRA_SCOPES,
            pkce=True,
            authorize_parameters={"response_mode": "query"},
            token_parameters={"scope": " ".join(ENTRA_SCOPES)},
        )

    # -- connection --

    def whoami(self) -> ConnectionReport:
        with self._http() as http:
            response = http.get("_apis/connectionData", params={"api-version": f"{API_VERSION}-preview"})
            body = response.json()
            account = body.get("authenticatedUser") if isinstance(body, dict) else None
            if response.status != 200 or not isinstance(account, dict):
                raise UpstreamError(
                    f"{response.host} did not answer with the signed-in account: check that the base URL is the "
                    "organization's address and that the token is valid.",
                    status=response.status,
                )
            projects = self._project_page(http, PROJECTS_NAMED + 1, None)[0]
        user = account.get("providerDisplayName") or account.get("customDisplayName") or account.get("id") or ""
        if projects:
            names = ", ".join(str(project.get("name")) for project in projects[:PROJECTS_NAMED])
            access = f"The account can see the projects {names}{', …' if len(projects) > PROJECTS_NAMED else ''}."
        else:
            access = "The account is a member of no project: add it to the projects testmanager files work items in."
        return ConnectionReport(user=user, detail=f"Signed in to Azure DevOps as {user}.", access=access)

    def owner_account(self) -> RemoteUser:
        """The authenticated user of ``connectionData``: identity fields take its account (unique) name."""
        with self._http() as http:
            response = http.get("_apis/connectionData", params={"api-version": f"{API_VERSION}-preview"})
        body = json_object(response, "the connection data")
        account = _identity_user(body.get("authenticatedUser"))
        if account is None:
            raise UpstreamError(f"{response.host} did not name the signed-in account.", status=response.status)
        return account

    def users(self, project: str, text: str) -> list[RemoteUser]:
        """Identities - Read Identities (``searchFilter=General``: display name, account or unique name) on the
        organization's identity service (vssps on Azure DevOps Services, the collection on Server). Identity
        fields take the account name, so that is the id; groups and inactive identities are left out."""
        if not text.strip():
            return []
        params = {
            "searchFilter": "General", "filterValue": " ".join(text.split()), "queryMembership": "None",
            "api-version": API_VERSION,
        }  # fmt: skip
        with self.client(self.identities_base_url, headers=SUPPRESS_SIGN_IN) as http:
            found = json_object(http.get("_apis/identities", params=params), "identities").get("value")
        users = [_identity_user(identity) for identity in found or [] if isinstance(identity, dict)]
        return [user for user in users if user is not None]

    @property
    def identities_base_url(self) -> str:
        """Azure DevOps Services serves identities on ``vssps.dev.azure.com/{organization}`` (or
        ``{organization}.vssps.visualstudio.com``); Server on the collection itself."""
        parts = urlsplit(self.source.base_url)
        host = (parts.hostname or "").lower()
        if host == "dev.azure.com":
            return urlunsplit((parts.scheme, "vssps.dev.azure.com", parts.path, "", ""))
        if host.endswith(".visualstudio.com") and ".vssps." not in host:
            return urlunsplit((parts.scheme, host.replace(".visualstudio.com", ".vssps.visualstudio.com"), "", "", ""))
        return self.source.base_url

    # -- discovery --

    def projects(self) -> list[RemoteProject]:
        """Every project of the organization the account can see, page after page."""
        found = []
        with self._http() as http:
            token = None
            while True:
                page, token = self._project_page(http, PAGE_SIZE, token)
                found += [RemoteProject(key=str(p.get("name")), name=str(p.get("name"))) for p in page]
                if token is None or not page:
                    return found

    def _project_page(self, http: TrackerHttpClient, size: int, token: str | None) -> tuple[list[dict], str | None]:
        params = {"api-version": API_VERSION, "$top": size, **({"continuationToken": token} if token else {})}
        response = http.get("_apis/projects", params=params)
        return _values(response, "a list of projects"), response.headers.get("x-ms-continuationtoken") or None

    def issue_types(self, project: str) -> list[RemoteIssueType]:
        return [RemoteIssueType(id=str(t.get("name")), name=str(t.get("name"))) for t in self._types(project)]

    def _types(self, project: str) -> list[dict]:
        with self._http() as http:
            response = http.get(
                f"{quote(project, safe='')}/_apis/wit/workitemtypes", params={"api-version": API_VERSION}
            )
        return [entry for entry in _values(response, "work item types") if not entry.get("isDisabled")]

    def fields(self, project: str, issue_type: str) -> list[RemoteField]:
        """The fields of a work item type a form may fill; ``required`` means Azure DevOps needs a value."""
        type_name = self._type(project, issue_type)["name"]
        with self._http() as http:
            response = http.get(
                f"{quote(project, safe='')}/_apis/wit/workitemtypes/{quote(type_name, safe='')}/fields",
                params={"api-version": API_VERSION, "$expand": "All"},
            )
            instances = _values(response, "the work item type's fields")
            response = http.get(f"{quote(project, safe='')}/_apis/wit/fields", params={"api-version": API_VERSION})
            definitions = {str(d.get("referenceName")): d for d in _values(response, "the fields")}
        found = []
        for instance in instances:
            reference = str(instance.get("referenceName"))
            definition = definitions.get(reference, {})
            if reference in _NOT_FORM_FIELDS or definition.get("readOnly"):
                continue
            allowed = tuple(str(value) for value in instance.get("allowedValues") or ())
            kind = "labels" if reference == "System.Tags" else _KINDS.get(str(definition.get("type")), "unsupported")
            found.append(
                RemoteField(
                    id=reference,
                    name=str(instance.get("name") or reference),
                    required=bool(instance.get("alwaysRequired")) and instance.get("defaultValue") is None,
                    kind="select" if allowed and kind in ("text", "number") else kind,
                    allowed_values=allowed,
                )
            )
        return found

    def _type(self, project: str, wanted: str) -> dict:
        offered = self._types(project)
        for entry in offered:
            if same_name(wanted, str(entry.get("name"))):
                return entry
        names = ", ".join(str(entry.get("name")) for entry in offered) or "none"
        problem = f"The Azure DevOps project {project} has no work item type “{wanted}”; it offers {names}."
        raise RemoteValidationError(
            f"{problem} A project administrator must choose one of them.", field_errors={"issuetype": problem}
        )

    # -- reading work items --

    def fetch_many(self, keys: Iterable[str]) -> FetchResult:
        """Current state of many work items, ``IDS_PER_BATCH`` ids a request."""
        asked: dict[int | None, list[str]] = {}
        for key in keys:
            digits = key.strip().lstrip("#")
            asked.setdefault(int(digits) if digits.isdigit() else None, []).append(key)
        wanted = [item_id for item_id in asked if item_id is not None]
        found: dict[int, RemoteIssue] = {}
        with self._http() as http:
            categories = _StateCategories(http, self._read_states)
            for batch in chunks(wanted, IDS_PER_BATCH):
                for raw in self._batch(http, batch, ISSUE_FIELDS, omit_missing=True):
                    issue = self._remote_issue(raw, categories)
                    found[int(issue.key)] = issue
        return FetchResult(
            issues={spelling: found[item_id] for item_id in found for spelling in asked[item_id]},
            missing=frozenset(asked.get(None, ())),
            forbidden=frozenset(spelling for item_id in wanted if item_id not in found for spelling in asked[item_id]),
        )

    def search(self, text: str, within: Sequence[str] | None = None) -> list[RemoteIssue]:
        """Work items whose id is ``text`` or whose title or description contain it, last changed first;
        with ``within``, only in those projects (``[System.TeamProject] IN (...)`` ANDed to the WIQL)."""
        text = " ".join(text.split())
        if not text:
            return []
        clauses = [f"[System.Title] CONTAINS {_wiql_string(text)}",
                   f"[System.Description] CONTAINS WORDS {_wiql_string(text)}"]  # fmt: skip
        if text.lstrip("#").isdigit():
            clauses.append(f"[System.Id] = {int(text.lstrip('#'))}")
        condition = " OR ".join(clauses)
        if within is not None:
            if not within:
                raise NotConfigured("This project's integration names no Azure DevOps project to search in.")
            projects = ", ".join(_wiql_string(project.strip()) for project in within)
            condition = f"({condition}) AND [System.TeamProject] IN ({projects})"
        query = f"SELECT [System.Id] FROM WorkItems WHERE {condition} ORDER BY [System.ChangedDate] DESC"
        with self._http() as http:
            ids = self._query_ids(http, "_apis/wit/wiql", query, SEARCH_LIMIT)
            if not ids:
                return []
            categories = _StateCategories(http)
            found = self._batch(http, ids, ISSUE_FIELDS, omit_missing=True)
            return [self._remote_issue(raw, categories) for raw in found]

    def pull(self, query: PullQuery, known: Iterable[str] = ()) -> PullResult:
        """Work items of the project matching the WIQL condition (what follows WHERE) and of the
        given types, by id. A known id the query leaves out is deleted when the project's recycle
        bin holds it: Azure DevOps reads deleted and unreadable work items alike, nothing else tells."""
        project, wiql = self._pull_wiql(query)
        fields = list(dict.fromkeys([*PULL_FIELDS, *query.fields]))
        items = []
        with self._http() as http:
            ids = self._query_ids(http, f"{quote(project, safe='')}/_apis/wit/wiql", wiql, PULL_LIMIT)
            categories = _StateCategories(http)
            for batch in chunks(ids, IDS_PER_BATCH):
                items += [
                    self._pulled_item(raw, categories, query.fields)
                    for raw in self._batch(http, batch, fields, omit_missing=True)
                ]
            seen = {item.key for item in items}
            digits = {key.strip().lstrip("#"): key for key in known}
            unseen = {number: key for number, key in digits.items() if number.isdigit() and number not in seen}
            deleted = self._in_recycle_bin(http, project, [int(number) for number in unseen])
        return PullResult(items=tuple(items), deleted=frozenset(unseen[number] for number in deleted))

    def count_matching(self, query: PullQuery) -> MatchCount:
        """How many ids the pull's WIQL query answers (WIQL answers ids only, so they are counted), at most
        ``PULL_LIMIT``: at that many the count is "at least"."""
        project, wiql = self._pull_wiql(query)
        with self._http() as http:
            ids = self._query_ids(http, f"{quote(project, safe='')}/_apis/wit/wiql", wiql, PULL_LIMIT)
        return MatchCount(len(ids), precision="at_least" if len(ids) >= PULL_LIMIT else "exact")

    @staticmethod
    def _pull_wiql(query: PullQuery) -> tuple[str, str]:
        """(the project, the WIQL query of a pull): the project, the condition, the types, by id."""
        project = query.project.strip()
        if not project:
            raise NotConfigured(
                "This project integration names no Azure DevOps project: a project administrator must choose the "
                "project that work items are pulled from."
            )
        condition = query.filter.strip()
        if condition[:6].lower() == "select":
            raise RemoteValidationError(
                "Write the WIQL condition only, what follows WHERE, e.g. [System.Tags] CONTAINS 'release': "
                "testmanager adds the project, the work item types and the order."
            )
        clauses = [f"[System.TeamProject] = {_wiql_string(project)}", *([f"({condition})"] if condition else [])]
        if query.item_types:
            clauses.append("[System.WorkItemType] IN (" + ", ".join(map(_wiql_string, query.item_types)) + ")")
        return project, f"SELECT [System.Id] FROM WorkItems WHERE {' AND '.join(clauses)} ORDER BY [System.Id]"

    def _pulled_item(self, raw: dict, categories: "_StateCategories", field_ids: Iterable[str]) -> PulledItem:
        fields = raw.get("fields") if isinstance(raw.get("fields"), dict) else {}
        return PulledItem(
            **vars(self._remote_issue(raw, categories)),
            description=html_to_markdown(str(fields.get("System.Description") or "")),
            item_type=str(fields.get("System.WorkItemType") or ""),
            fields={field_id: azure_devops_field_value(fields.get(field_id)) for field_id in field_ids},
        )

    def _in_recycle_bin(self, http: TrackerHttpClient, project: str, ids: list[int]) -> set[str]:
        """Which of the ids are work items deleted from the project (in its recycle bin)."""
        found = set()
        for batch in chunks(ids, IDS_PER_BATCH):
            response = http.get(
                f"{quote(project, safe='')}/_apis/wit/recyclebin",
                params={"ids": ",".join(map(str, batch)), "api-version": API_VERSION},
            )
            found |= {
                str(entry["id"])
                for entry in _values(response, "deleted work items")
                if isinstance(entry.get("id"), int) and entry.get("code") in (None, 200)
            }
        return found

    def plans(self, project: str, board: str = "") -> list[RemotePlan]:
        """The project's iterations: a top-level iteration with iterations below it is a release and
        those below are its sprints, any other top-level iteration is a sprint. Dates are the
        iterations' start and finish; one that finished before today is done."""
        project = project.strip()
        if not project:
            raise NotConfigured("This project integration names no Azure DevOps project to read iterations from.")
        with self._http() as http:
            response = http.get(
                f"{quote(project, safe='')}/_apis/wit/classificationnodes/Iterations",
                params={"$depth": 2, "api-version": API_VERSION},
            )
            root = json_object(response, "the iterations")
        found = []
        for node in _nodes(root.get("children")):
            sprints = _nodes(node.get("children"))
            found.append(_iteration("release" if sprints else "sprint", node))
            found += [_iteration("sprint", sprint) for sprint in sprints]
        return found

    def _query_ids(self, http: TrackerHttpClient, path: str, query: str, top: int) -> list[int]:
        """The ids a WIQL query answers (WIQL answers ids only), at most ``top``."""
        response = http.post(
            path, params={"api-version": API_VERSION, "$top": top}, json={"query": query}, idempotent=True
        )
        entries = json_object(response, "a query result").get("workItems") or []
        return [entry["id"] for entry in entries if isinstance(entry, dict) and isinstance(entry.get("id"), int)]

    def _batch(self, http: TrackerHttpClient, ids: list[int], fields: list[str], *, omit_missing: bool) -> list[dict]:
        """Work items by id, in the order asked; with ``omit_missing`` unreadable ones are left out,
        otherwise one of them fails the request (404)."""
        body = {"ids": ids, "fields": fields, "errorPolicy": "Omit" if omit_missing else "Fail"}
        response = http.post(
            "_apis/wit/workitemsbatch", params={"api-version": API_VERSION}, json=body, idempotent=True
        )
        items = json_object(response, "work items").get("value")
        if not isinstance(items, list):
            raise UpstreamError(f"{response.host} answered without work items.", status=response.status)
        return [item for item in items if isinstance(item, dict) and isinstance(item.get("id"), int)]

    def _remote_issue(self, raw: dict, categories: "_StateCategories") -> RemoteIssue:
        fields = raw.get("fields") if isinstance(raw.get("fields"), dict) else {}
        project = str(fields.get("System.TeamProject") or "")
        state = str(fields.get("System.State") or "")
        assignee = fields.get("System.AssignedTo")
        priority = fields.get("Microsoft.VSTS.Common.Priority")
        return RemoteIssue(
            key=str(raw["id"]),
            title=str(fields.get("System.Title") or ""),
            status=state,
            status_category=categories.of(project, str(fields.get("System.WorkItemType") or ""), state),
            assignee=str(assignee.get("displayName") or "") if isinstance(assignee, dict) else str(assignee or ""),
            priority="" if priority is None else str(priority),
            url=self._issue_url(str(raw["id"]), project),
            updated_at=iso_timestamp(fields.get("System.ChangedDate")),
            created_at=iso_timestamp(fields.get("System.CreatedDate")),
            # Processes with a Resolved state date it; the others date only the closing.
            resolved_at=iso_timestamp(fields.get("Microsoft.VSTS.Common.ResolvedDate"))
            or iso_timestamp(fields.get("Microsoft.VSTS.Common.ClosedDate")),
            # Azure DevOps leaves an empty field out of its answer: a work item read without tags has none.
            labels=_tags(fields.get("System.Tags")),
        )

    def _issue_url(self, key: str, project: str) -> str:
        template = self.source.issue_url_template or self.default_issue_url_template
        return keys.issue_url(template, base_url=self.source.base_url, key=key, project=project)

    # -- writing --

    def create_issue(self, draft: IssueDraft) -> CreatedIssue:
        """File ``draft`` as a work item through a JSON Patch document."""
        if not draft.project.strip():
            raise NotConfigured(
                "This project integration names no Azure DevOps project: a project administrator must choose the "
                "project that work items are filed in."
            )
        if not draft.issue_type.strip():
            raise NotConfigured(
                "No work item type was chosen and the project integration has no default type: choose one, or ask "
                "a project administrator to set a default."
            )
        project = draft.project.strip()
        work_item_type = self._type(project, draft.issue_type.strip())
        type_name = str(work_item_type["name"])
        on_type = {
            str(entry.get("referenceName")) for entry in work_item_type.get("fields") or [] if isinstance(entry, dict)
        }
        document, notes = self._create_document(draft, on_type)
        with self._http() as http:
            response = http.post(
                f"{quote(project, safe='')}/_apis/wit/workitems/${quote(type_name, safe='')}",
                params={"api-version": API_VERSION},
                json=document,
                headers=JSON_PATCH,
            )
            created = json_object(response, "the created work item")
            if not isinstance(created.get("id"), int):
                raise UpstreamError(
                    f"{response.host} created a work item but did not say its id.", status=response.status
                )
            issue = self._remote_issue(created, _StateCategories(http))
            sent = self.send_files(draft.attachments, lambda file: self._attach(http, project, created["id"], file))
        return CreatedIssue(**vars(issue), notes=(*notes, *sent.notes), unsent_files=sent.unsent)

    def _attach(self, http: TrackerHttpClient, project: str, item_id: int, file: DraftAttachment) -> None:
        """Upload ``file`` (its bytes as application/octet-stream, its name in ``fileName``), then add
        the ``AttachedFile`` relation to the attachment's URL on the work item."""
        response = http.post(
            f"{quote(project, safe='')}/_apis/wit/attachments",
            params={"fileName": file.filename, "api-version": API_VERSION},
            data=file.content,
            headers={"Content-Type": "application/octet-stream"},
        )
        url = json_object(response, "the uploaded attachment").get("url")
        if not isinstance(url, str) or not url:
            raise UpstreamError(f"{response.host} took {file.filename} but did not say its URL.")
        relation = {"rel": "AttachedFile", "url": url, "attributes": {"comment": "Attached by testmanager"}}
        http.patch(
            f"_apis/wit/workitems/{item_id}",
            params={"api-version": API_VERSION},
            json=[{"op": "add", "path": "/relations/-", "value": relation}],
            headers=JSON_PATCH,
        )

    def _create_document(self, draft: IssueDraft, on_type: set[str]) -> tuple[list[dict], list[str]]:
        values: dict[str, Any] = {"System.Title": draft.title}
        notes = []
        description = markdown_to_safe_html(draft.description) if draft.description.strip() else ""
        if draft.reporter is not None and self.user_token is None:
            who = draft.reporter.name or draft.reporter.email
            description += f"<p>Reported by {html.escape(who)} via testmanager.</p>"
        if description:
            # Bugs show Repro Steps where other types show Description.
            values[REPRO_STEPS if REPRO_STEPS in on_type else "System.Description"] = description
        errors = {}
        if draft.priority:
            if draft.priority.strip() in ("1", "2", "3", "4"):
                values["Microsoft.VSTS.Common.Priority"] = int(draft.priority)
            else:
                errors["priority"] = f"Azure DevOps priorities are 1 (highest) to 4 (lowest), not “{draft.priority}”."
        if any(";" in label for label in draft.labels):
            errors["labels"] = "Azure DevOps tags cannot contain “;”."
        elif draft.labels:
            values["System.Tags"] = "; ".join(label.strip() for label in draft.labels)
        if draft.assignee:
            values["System.AssignedTo"] = draft.assignee
        if draft.due_date is not None:
            if DUE_DATE in on_type:
                values[DUE_DATE] = draft.due_date.isoformat()
            else:
                notes.append(f"The due date was left out: a {draft.issue_type} has no Due Date field.")
        if draft.components:
            notes.append("Azure DevOps has no components; use the area path (System.AreaPath) instead.")
        if errors:
            raise RemoteValidationError(
                "Some values cannot be sent to Azure DevOps: " + " ".join(errors.values()), field_errors=errors
            )
        values.update(draft.fields)
        return [{"op": "add", "path": f"/fields/{name}", "value": value} for name, value in values.items()], notes

    def update_issue(self, key: str, draft: IssueDraft) -> None:
        """Update a work item (``PATCH _apis/wit/workitems/{id}``, a JSON Patch document): title,
        description (Repro Steps on types that have them), priority 1-4 and tags, which replace its own."""
        with self._http() as http:
            item_id, project, type_name, _ = self._locate(http, key)
            on_type = {
                str(entry.get("referenceName"))
                for entry in self._type(project, type_name).get("fields") or []
                if isinstance(entry, dict)
            }
            document, _ = self._create_document(replace(draft, reporter=None, assignee=None), on_type)
            if not draft.labels:
                document.append({"op": "add", "path": "/fields/System.Tags", "value": ""})
            http.patch(
                f"_apis/wit/workitems/{item_id}",
                params={"api-version": API_VERSION},
                json=document,
                headers=JSON_PATCH,
            )

    def add_comment(self, key: str, body: str) -> str:
        with self._http() as http:
            item_id, project, _, _ = self._locate(http, key)
            response = http.post(
                f"{quote(project, safe='')}/_apis/wit/workItems/{item_id}/comments",
                params={"api-version": COMMENTS_API_VERSION},
                json={"text": markdown_to_safe_html(body)},
            )
        return _comment_id(json_object(response, "the comment"))

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        with self._http() as http:
            item_id, project, _, _ = self._locate(http, key)
            http.patch(
                f"{quote(project, safe='')}/_apis/wit/workItems/{item_id}/comments/{quote(comment_id, safe='')}",
                params={"api-version": COMMENTS_API_VERSION},
                json={"text": markdown_to_safe_html(body)},
            )

    def comments(self, key: str) -> list[RemoteComment]:
        """Every comment on the work item, oldest first, in Markdown; deleted ones too, marked (Azure
        DevOps sends no event for an edited or deleted comment: reading them is how both arrive)."""
        found = []
        with self._http() as http:
            item_id, project, _, _ = self._locate(http, key)
            path = f"{quote(project, safe='')}/_apis/wit/workItems/{item_id}/comments"
            token = None
            while True:
                params = {"api-version": COMMENTS_API_VERSION, "$top": PAGE_SIZE, "includeDeleted": "true"}
                response = http.get(path, params={**params, **({"continuationToken": token} if token else {})})
                page = json_object(response, "comments")
                found += [self._comment(raw) for raw in page.get("comments") or [] if isinstance(raw, dict)]
                token = page.get("continuationToken")
                if not token:
                    break
        return sorted(found, key=lambda comment: (comment.created_at is None, comment.created_at, comment.id))

    def _comment(self, raw: dict) -> RemoteComment:
        author = raw.get("createdBy") if isinstance(raw.get("createdBy"), dict) else {}
        return RemoteComment(
            id=_comment_id(raw),
            author=str(author.get("displayName") or ""),
            body=html_to_markdown(str(raw.get("text") or "")),
            created_at=iso_timestamp(raw.get("createdDate")),
            updated_at=iso_timestamp(raw.get("modifiedDate")),
            deleted=raw.get("isDeleted") is True,
        )

    def transition(self, key: str, status: str) -> None:
        """Set the work item's state to ``status``, one of its type's states; nothing to do
        when it is there already."""
        with self._http() as http:
            item_id, project, type_name, current = self._locate(http, key)
            if same_name(current, status):
                return
            states = _StateCategories(http).states(project, type_name)
            chosen = next((name for name in states if same_name(name, status)), None)
            if chosen is None:
                offered = ", ".join(states) or "none"
                problem = (
                    f"Work item {item_id} cannot move from {current} to “{status}”: a {type_name} has the states "
                    f"{offered}."
                )
                raise RemoteValidationError(
                    f"{problem} Check the project integration's status mapping against the process in Azure DevOps.",
                    field_errors={"status": problem},
                )
            http.patch(
                f"_apis/wit/workitems/{item_id}",
                params={"api-version": API_VERSION},
                json=[{"op": "add", "path": "/fields/System.State", "value": chosen}],
                headers=JSON_PATCH,
            )

    def find_marked(self, marker: str) -> RemoteIssue | None:
        """Search reads System.Description, but a Bug's description is in Repro Steps: look in both."""
        word = _wiql_string(marker)
        query = (
            f"SELECT [System.Id] FROM WorkItems WHERE [System.Description] CONTAINS WORDS {word} "
            f"OR [{REPRO_STEPS}] CONTAINS WORDS {word} ORDER BY [System.Id] DESC"
        )
        with self._http() as http:
            ids = self._query_ids(http, "_apis/wit/wiql", query, 1)
            found = self._batch(http, ids, ISSUE_FIELDS, omit_missing=True) if ids else []
            return self._remote_issue(found[0], _StateCategories(http)) if found else None

    def link_back(self, key: str, link: BackLink) -> None:
        """A Hyperlink relation to the page, its comment naming the page and its test status; the
        relation to the same URL is updated rather than added again."""
        comment = f"testmanager: {link.title}" + (f" ({link.status})" if link.status else "")
        with self._http() as http:
            item_id, _, _, _ = self._locate(http, key)
            found = self._batch_relations(http, item_id)
            index = next(
                (
                    i
                    for i, relation in enumerate(found)
                    if relation.get("rel") == "Hyperlink" and relation.get("url") == link.url
                ),
                None,
            )
            if index is None:
                operation = {
                    "op": "add",
                    "path": "/relations/-",
                    "value": {"rel": "Hyperlink", "url": link.url, "attributes": {"comment": comment}},
                }
            elif (found[index].get("attributes") or {}).get("comment") != comment:
                operation = {"op": "replace", "path": f"/relations/{index}/attributes/comment", "value": comment}
            else:
                return
            http.patch(
                f"_apis/wit/workitems/{item_id}",
                params={"api-version": API_VERSION},
                json=[operation],
                headers=JSON_PATCH,
            )

    def set_priority(self, key: str, priority: str) -> None:
        """Work item priorities are the numbers 1 (highest) to 4."""
        if priority.strip() not in ("1", "2", "3", "4"):
            problem = f"Azure DevOps priorities are 1 to 4, not “{priority}”."
            raise RemoteValidationError(
                f"{problem} Check the project integration's priority mapping.", field_errors={"priority": problem}
            )
        with self._http() as http:
            item_id, _, _, _ = self._locate(http, key)
            http.patch(
                f"_apis/wit/workitems/{item_id}",
                params={"api-version": API_VERSION},
                json=[{"op": "add", "path": f"/fields/{PRIORITY}", "value": int(priority)}],
                headers=JSON_PATCH,
            )

    def set_labels(self, key: str, labels: Sequence[str]) -> None:
        """Update the work item's ``System.Tags`` (``;``-separated; they replace its tags, new ones are created)."""
        with self._http() as http:
            item_id, _, _, _ = self._locate(http, key)
            http.patch(
                f"_apis/wit/workitems/{item_id}",
                params={"api-version": API_VERSION},
                json=[{"op": "add", "path": "/fields/System.Tags", "value": "; ".join(dict.fromkeys(labels))}],
                headers=JSON_PATCH,
            )

    @classmethod
    def label_for(cls, tag: str) -> str:
        """Work item tags are separated by ``;``: a tag has none."""
        return " ".join(tag.replace(";", " ").split())

    # -- webhooks --

    def verify_webhook(self, request) -> None:
        """Service hooks authenticate with basic auth (any user name, the webhook secret as the
        password) or, when the subscription sets it, the secret in the ``WEBHOOK_SECRET_HEADER`` header."""
        header = request.headers.get(WEBHOOK_SECRET_HEADER)
        if header is not None:
            self.check_token(header)
            return
        scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        self.check_token(decoded.partition(":")[2] if scheme.lower() == "basic" else "")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] = MappingProxyType({})) -> list[IssueEvent]:
        """Work item created, updated, restored, commented and deleted events. A payload carries neither
        the state's category nor the comment's id, so every change but a deletion is read again; what the
        payload does say of the item (its title, description, priority) comes with the event, read as a
        pull reads it, its state left unknown until the read."""
        payload = webhook_json(body)
        kind = WEBHOOK_EVENTS.get(payload.get("eventType"))
        resource = payload.get("resource") if isinstance(payload.get("resource"), dict) else {}
        item_id, fields = _hooked_work_item(resource)
        if kind is None or item_id is None:
            return []
        changed = iso_timestamp(fields.get("System.ChangedDate"))
        delivery = str(payload.get("id") or "") or delivery_id(headers, body)
        issue = self._hooked_item(item_id, fields) if kind == EventKind.CHANGED and fields else None
        return [IssueEvent(kind, str(item_id), changed, delivery, issue=issue)]

    def _hooked_item(self, item_id: int, fields: dict) -> PulledItem:
        """A service hook's work item: the fields its payload leaves out are unknown, and so is its state
        (the payload has no category for it)."""
        missing = fields_missing(
            fields,
            title="System.Title",
            assignee="System.AssignedTo",
            priority="Microsoft.VSTS.Common.Priority",
            created_at="System.CreatedDate",
            description="System.Description",
        )
        item = self._pulled_item({"id": item_id, "fields": fields}, _UNREAD_CATEGORIES, ())
        labels = item.labels if "System.Tags" in fields else None  # a hook may leave the tags out: unknown
        return replace(item, unknown=missing | {"status", "status_category", "resolved_at"}, labels=labels)

    def register_webhook(self, url: str, secret: str) -> list[str]:
        """Service hook subscriptions posting to ``url`` (basic auth, ``secret`` as the password) for each
        work item event of each project of the source's project integrations; a subscription already
        posting that event of that project to ``url`` is updated rather than added again."""
        projects = self.assigned_projects()
        if not projects:
            raise NotConfigured(
                "No project integration names an Azure DevOps project: assign the source to a "
                "project with its project name first."
            )
        registered = []
        with self._http() as http:
            ids = self._project_ids(http)
            unknown = [project for project in projects if project.casefold() not in ids]
            if unknown:
                raise NotFound(f"Azure DevOps has no project {', '.join(unknown)}, or the account cannot see it.")
            path, params = "_apis/hooks/subscriptions", {"api-version": API_VERSION}
            existing = {
                (entry.get("eventType"), (entry.get("publisherInputs") or {}).get("projectId")): entry.get("id")
                for entry in _values(http.get(path, params=params), "subscriptions")
                if (entry.get("consumerInputs") or {}).get("url") == url
            }
            for project in projects:
                project_id = ids[project.casefold()]
                for event in WEBHOOK_EVENTS:
                    subscription = {
                        "publisherId": "tfs",
                        "eventType": event,
                        "resourceVersion": "1.0",
                        "consumerId": "webHooks",
                        "consumerActionId": "httpRequest",
                        "publisherInputs": {"projectId": project_id},
                        "consumerInputs": {"url": url, "basicAuthUsername": WEBHOOK_USER, "basicAuthPassword": secret},
                    }
                    known = existing.get((event, project_id))
                    if known is None:
                        response = http.post(path, params=params, json=subscription)
                    else:
                        response = http.put(f"{path}/{known}", params=params, json=subscription)
                    registered.append(str(json_object(response, "a subscription").get("id") or ""))
        return registered

    def _project_ids(self, http: TrackerHttpClient) -> dict[str, str]:
        """Project ids by case-folded name, for every project the account can see."""
        found, token = {}, None
        while True:
            page, token = self._project_page(http, PAGE_SIZE, token)
            found.update({str(entry.get("name")).casefold(): str(entry.get("id")) for entry in page})
            if token is None or not page:
                return found

    def _batch_relations(self, http: TrackerHttpClient, item_id: int) -> list[dict]:
        """The work item's relations (links to work items, hyperlinks, artifacts), in their order."""
        response = http.post(
            "_apis/wit/workitemsbatch",
            params={"api-version": API_VERSION},
            json={"ids": [item_id], "$expand": "Relations", "errorPolicy": "Fail"},
            idempotent=True,
        )
        items = json_object(response, "work items").get("value")
        raw = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
        return [relation for relation in raw.get("relations") or [] if isinstance(relation, dict)]

    def _locate(self, http: TrackerHttpClient, key: str) -> tuple[int, str, str, str]:
        """(id, project, type, state) of a work item; ``NotFound`` when it cannot be read."""
        digits = key.strip().lstrip("#")
        if not digits.isdigit():
            raise RemoteValidationError(f"“{key}” is not an Azure DevOps work item id: ids are numbers.")
        found = self._batch(
            http, [int(digits)], ["System.TeamProject", "System.WorkItemType", "System.State"], omit_missing=False
        )
        if not found:
            raise NotFound(f"Azure DevOps has no work item {digits}, or the account cannot read it.")
        raw = found[0]
        fields = raw.get("fields") if isinstance(raw.get("fields"), dict) else {}
        return (
            raw["id"],
            str(fields.get("System.TeamProject") or ""),
            str(fields.get("System.WorkItemType") or ""),
            str(fields.get("System.State") or ""),
        )


class _UnreadCategories:
    """No state categories: a service hook's payload names a state without its category."""

    def of(self, project: str, type_name: str, state: str) -> str:
        return "unknown"


_UNREAD_CATEGORIES = _UnreadCategories()


class _StateCategories:
    """State categories of work item types, asked once per (project, type) and kept for one call, or in
    ``known`` for as long as its owner keeps that (a provider: one refresh run, many calls)."""

    def __init__(self, http: TrackerHttpClient, known: dict[tuple[str, str], dict[str, str]] | None = None):
        self._http = http
        self._known: dict[tuple[str, str], dict[str, str]] = {} if known is None else known

    def states(self, project: str, type_name: str) -> dict[str, str]:
        """State name -> Azure DevOps category (Proposed, InProgress, Resolved, Completed, Removed)."""
        if (project, type_name) not in self._known:
            response = self._http.get(
                f"{quote(project, safe='')}/_apis/wit/workitemtypes/{quote(type_name, safe='')}/states",
                params={"api-version": API_VERSION},
            )
            self._known[project, type_name] = {
                str(state.get("name")): str(state.get("category")) for state in _values(response, "states")
            }
        return self._known[project, type_name]

    def of(self, project: str, type_name: str, state: str) -> str:
        if not (project and type_name and state):
            return "unknown"
        return STATE_CATEGORIES.get(self.states(project, type_name).get(state, ""), "unknown")


def _tags(value) -> tuple[str, ...]:
    """``System.Tags`` (``"ui; checkout"``) as tags; none when the field is empty or absent."""
    return tuple(tag.strip() for tag in str(value or "").split(";") if tag.strip())


def _identity_user(identity) -> RemoteUser | None:
    """An identity (Read Identities, connectionData) as a user field takes it: its account name; None for a
    group, an inactive identity or one without an account."""
    if not isinstance(identity, dict) or identity.get("isActive") is False or identity.get("isContainer"):
        return None
    properties = identity.get("properties") if isinstance(identity.get("properties"), dict) else {}
    account = properties.get("Account") if isinstance(properties.get("Account"), dict) else {}
    name = str(account.get("$value") or "")
    if not name:
        return None
    return RemoteUser(id=name, name=str(identity.get("providerDisplayName") or name))
