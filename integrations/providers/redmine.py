"""Redmine issues (the REST API of Redmine 5.0 and later, JSON).

- An account's API access key travels in ``X-Redmine-API-Key``; a login and password as HTTP Basic.
  The REST API answers only once an administrator turned it on (Administration > Settings > API).
- A key is the issue's id, ``123`` (``#123`` as typed): Redmine numbers issues across all projects.
  An external project is a project identifier (``shop``), which the API takes wherever it takes an id.
- Reading many issues is one listing, ``GET /issues.json?issue_id=1,2,3&status_id=*`` (without
  ``status_id=*`` Redmine lists open issues only), ``PAGE_SIZE`` ids a request (Redmine's largest
  ``limit``), pages followed by ``offset`` against ``total_count``. An id the listing leaves out is
  deleted or hidden from the account; one ``GET /issues/{id}.json`` tells them apart (404 deleted,
  403 hidden), so a refresh only pays it for issues that vanished.
- An issue's status says whether it is closed only from Redmine 5.1 on (``is_closed``): the statuses
  are read once per operation (``/issue_statuses.json``) to know which ones close an issue.
- Writing: ``PUT /issues/{id}.json`` answers 204 with no body. A comment is a note: the issue's
  journals (``include=journals``) with notes are its comments; journals without notes record changes
  of fields and are left out. Files go first to ``POST /uploads.json`` (``application/octet-stream``),
  whose token the new issue then carries.
- Descriptions and notes are written in the server's text formatting, which the REST API does not
  say: the source records it (``Source.text_formatting``). Textile, Redmine's default, is written
  from our Markdown with user text escaped; Markdown (Redmine's "Markdown" and "CommonMark
  Markdown") passes through, made inert like the forges' (an ``@login`` would notify that user).
- Custom field definitions (``/custom_fields.json``) are listed to administrators only: any other
  account gets 403, which the connection check and the field listing say in words; the rest works.
- No webhooks in Redmine 5 core: the source is polled (its refresh interval), the capability is off.
- Pulls filter the project's issues by Redmine's own issue list parameters (``tracker_id=2
  fixed_version_id=3 cf_4=~web``), counted by ``total_count``; versions are releases.
"""

import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from integrations.errors import NotFound, PermissionDenied, RemoteValidationError, UpstreamError
from integrations.http import RemoteErrorDetail, TrackerHttpClient, TrackerResponse
from integrations.mappings import same_name
from integrations.models import AUTH_TYPES_BY_PROVIDER, AuthType, Provider, TextFormatting
from integrations.richtext import markdown_to_textile, textile_to_markdown
from integrations.richtext.forge import inert_markdown

from .answers import chunks, iso_timestamp, json_object
from .base import (
    CREDENTIAL_FIELDS,
    PULL_LIMIT,
    Capability,
    ConnectionReport,
    CreatedIssue,
    CredentialField,
    DraftAttachment,
    FetchResult,
    FieldValue,
    IssueDraft,
    MatchCount,
    NotConfigured,
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
)

PAGE_SIZE = 100  # Redmine's largest ``limit``: ids a batched read asks for, and items a page lists
SEARCH_LIMIT = 50
ISSUE_KEY = re.compile(r"#?(?P<id>\d{1,10})")
API_KEY = CredentialField(
    "token",
    "API access key",
    secret=True,
    help_text="The account's key from My account > API access key (the REST API must be enabled).",
)
# The list-issues parameters a pull's filter may set (Redmine's own names; values as its API takes them).
FILTER_PARAMETERS = frozenset(
    {
        "status_id",
        "tracker_id",
        "priority_id",
        "assigned_to_id",
        "author_id",
        "category_id",
        "fixed_version_id",
        "subject",
        "description",
        "created_on",
        "updated_on",
        "closed_on",
        "start_date",
        "due_date",
        "done_ratio",
        "is_private",
        "parent_id",
        "subproject_id",
        "query_id",
    }
)
CUSTOM_FIELD_PARAMETER = re.compile(r"cf_\d+")
# Parameters testmanager sets itself.
_OWN_PARAMETERS = {
    "project_id": "the pull's project is the project integration's",
    "issue_id": "a pull takes every issue the filter selects",
    "offset": "testmanager reads every page itself",
    "limit": "testmanager reads every page itself",
    "page": "testmanager reads every page itself",
    "sort": "testmanager orders the pull itself",
    "include": "testmanager reads what it needs itself",
}
FILTER_HINT = (
    "Redmine's issue list parameters as name=value, quoted when the value has spaces, e.g. "
    'fixed_version_id=3 cf_4="~web shop" status_id=* (operators as Redmine writes them: ~ contains, '
    "! not, >= <=, o open, c closed); all statuses unless status_id says otherwise; testmanager adds the "
    "project and the trackers."
)
CREDENTIALS_NOTE = "Redmine lists custom field definitions to administrators only"


def read_redmine_error(response: TrackerResponse) -> RemoteErrorDetail:
    """Redmine's error bodies: ``{"errors": ["Subject cannot be blank", ...]}`` (422); 401, 403 and
    404 come with no JSON body."""
    try:
        body = response.json()
    except UpstreamError:
        return RemoteErrorDetail()
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        return RemoteErrorDetail("; ".join(str(error) for error in errors))
    if isinstance(errors, str) and errors:
        return RemoteErrorDetail(errors)
    return RemoteErrorDetail()


def _listed(response: TrackerResponse, name: str) -> list[dict]:
    """The objects under ``name`` of a Redmine answer (``{"issues": [...], "total_count": ...}``)."""
    items = json_object(response, f"a list of {name.replace('_', ' ')}").get(name)
    if not isinstance(items, list):
        raise UpstreamError(f"{response.host} answered without {name.replace('_', ' ')}: check the base URL.")
    return [item for item in items if isinstance(item, dict)]


def _named(value: Any) -> str:
    """The name of ``{"id": 3, "name": "High"}``; "" for anything else."""
    return str(value.get("name") or "") if isinstance(value, dict) else ""


def _id_of(value: Any) -> int | None:
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, int) else None


def issue_id(key: str) -> int | None:
    """The id of ``123`` or ``#123``; None for anything else."""
    found = ISSUE_KEY.fullmatch(key.strip())
    return int(found["id"]) if found else None


class Redmine(TrackerProvider):
    key = Provider.REDMINE
    label = Provider.REDMINE.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.REDMINE]
    credential_fields = {AuthType.PAT: (API_KEY,), AuthType.BASIC: CREDENTIAL_FIELDS[AuthType.BASIC]}
    default_key_pattern = r"^#?\d+$"
    default_issue_url_template = "{baseUrl}/issues/{number}"
    default_create_url_template = "{baseUrl}/projects/{project}/issues/new?issue[subject]={title}"
    # No webhooks in Redmine 5 core: sources are polled.
    capabilities = frozenset({Capability.READ_DETAILS, Capability.CREATE_ISSUES, Capability.ADD_COMMENTS})
    external_project_hint = "project identifier, e.g. shop"
    external_project_pattern = r"^[a-z0-9_-]*[a-z_-][a-z0-9_-]*$"
    base_url_hint = "Your Redmine's address, including any sub-URI (https://example.com/redmine)."
    read_error_detail = staticmethod(read_redmine_error)
    keys_per_request = PAGE_SIZE
    uploads_files = True
    attachment_max_bytes = 5 * 1024**2  # Redmine's default "Maximum attachment size" (an administrator's setting)
    creates_missing_labels = False  # Redmine issues have no labels at all
    member_pats = True
    member_pat_label = "API access key"
    no_webhooks_reason = "Redmine has no webhooks (not in Redmine 5 core)"
    pull_filter_hint = FILTER_HINT
    pull_field_hint = (
        "Issue fields: fixed_version (its name and due date), category, start_date, due_date, "
        "done_ratio, or a custom field as cf_4."
    )

    def __init__(self, source, user_token=None):
        super().__init__(source, user_token)
        self._categories: dict[str, str] | None = None  # status name (folded) -> status category

    @classmethod
    def qualify_key(cls, key: str, project: str) -> str:
        """``#123`` and ``0123`` are stored as ``123``: one issue, one key, however it was typed."""
        number = issue_id(key)
        return str(number) if number is not None else key.strip()

    def pat_authentication(self, token):
        return {"X-Redmine-API-Key": token}, None

    # -- connection --

    def whoami(self) -> ConnectionReport:
        """``GET /users/current.json``; whether the account is an administrator decides whether custom
        field definitions can be read. The answer carries the account's API key: it is never kept."""
        account = self._account()
        name = " ".join(str(account.get(part) or "") for part in ("firstname", "lastname")).strip()
        user = f"{name} ({account['login']})" if name else str(account["login"])
        access = (
            "The account is an administrator: custom field definitions can be read."
            if account.get("admin") is True
            else f"{CREDENTIALS_NOTE}: this account is not one, so custom fields are not offered; the rest works."
        )
        return ConnectionReport(user=user, detail=f"Signed in to Redmine as {user}.", access=access)

    def _account(self) -> dict:
        with self.client() as http:
            response = http.get("users/current.json")
        body = json_object(response, "an account").get("user")
        if not isinstance(body, dict) or not body.get("login") or not isinstance(body.get("id"), int):
            raise UpstreamError(f"{response.host} did not answer with an account: check the base URL.")
        return body

    def owner_account(self) -> RemoteUser:
        """The account the credentials belong to, by its numeric id (what ``assigned_to_id`` takes)."""
        account = self._account()
        name = " ".join(str(account.get(part) or "") for part in ("firstname", "lastname")).strip()
        return RemoteUser(id=str(account["id"]), name=name or str(account["login"]))

    # -- discovery --

    def projects(self) -> list[RemoteProject]:
        with self.client() as http:
            return [
                RemoteProject(key=str(project["identifier"]), name=str(project.get("name") or project["identifier"]))
                for project in self._pages(http, "projects.json", "projects")
                if project.get("identifier")
            ]

    def find_project(self, project: str) -> RemoteProject:
        """``GET /projects/{identifier}.json``: 404 for a project that does not exist, 403 for one the
        account may not see."""
        identifier = self._project(project)
        with self.client() as http:
            response = http.get(f"projects/{quote(identifier)}.json", accept=(403, 404))
        if response.status in (403, 404):
            raise UnknownProject(f"Redmine has no project “{identifier}” that the source's account can see.")
        body = json_object(response, "a project").get("project") or {}
        return RemoteProject(key=str(body.get("identifier") or identifier), name=str(body.get("name") or identifier))

    def issue_types(self, project: str) -> list[RemoteIssueType]:
        """The project's trackers (Bug, Feature, Support, ...)."""
        with self.client() as http:
            return [RemoteIssueType(id=str(t["id"]), name=_named(t)) for t in self._trackers(http, project)]

    def statuses(self) -> list[str]:
        """Every issue status, in Redmine's order."""
        with self.client() as http:
            return [_named(status) for status in _listed(http.get("issue_statuses.json"), "issue_statuses")]

    def priorities(self) -> list[str]:
        """The active issue priorities (``/enumerations/issue_priorities.json``), lowest first."""
        with self.client() as http:
            return [_named(priority) for priority in self._priorities(http)]

    def custom_fields(self, issue_type: str = "") -> list[RemoteField]:
        """The issue custom fields (of the tracker ``issue_type`` when given); ``PermissionDenied`` saying
        why for an account that is no administrator."""
        with self.client() as http:
            response = http.get("custom_fields.json", accept=(403,))
        if response.status == 403:
            raise PermissionDenied(
                f"{CREDENTIALS_NOTE}: the source's account is not one. Use an administrator's API key to "
                "map custom fields; everything else works without."
            )
        found = []
        for definition in _listed(response, "custom_fields"):
            trackers = definition.get("trackers") if isinstance(definition.get("trackers"), list) else []
            if definition.get("customized_type") != "issue" or not definition.get("visible", True):
                continue
            if issue_type and not any(
                same_name(issue_type, _named(t)) or issue_type.strip() == str(_id_of(t)) for t in trackers
            ):
                continue
            found.append(_custom_field(definition))
        return found

    def fields(self, project: str, issue_type: str) -> list[RemoteField]:
        """The standard fields a new issue takes, and the issue custom fields of that tracker when the
        account may read their definitions (administrators only: otherwise they are left out, and the
        connection check says why)."""
        with self.client() as http:
            priorities = tuple(_named(priority) for priority in self._priorities(http))
            members = tuple(user.name for user in self._members(http, project))
            versions = tuple(
                _named(version)
                for version in self._pages(http, f"projects/{quote(self._project(project))}/versions.json", "versions")
                if version.get("status") == "open"
            )
        standard = [
            RemoteField(id="priority", name="Priority", required=False, kind="select", allowed_values=priorities),
            RemoteField(id="assignee", name="Assignee", required=False, kind="user", allowed_values=members),
            RemoteField(
                id="fixed_version", name="Target version", required=False, kind="select", allowed_values=versions
            ),
            RemoteField(id="start_date", name="Start date", required=False, kind="date"),
            RemoteField(id="due_date", name="Due date", required=False, kind="date"),
        ]
        try:
            return standard + self.custom_fields(issue_type)
        except PermissionDenied:
            return standard

    def users(self, project: str, text: str) -> list[RemoteUser]:
        """The project's members (``/projects/{id}/memberships.json``, users only) whose name contains
        ``text``; their numeric id is what ``assigned_to_id`` takes."""
        wanted = " ".join(text.split()).casefold()
        if not wanted:
            return []
        with self.client() as http:
            return [user for user in self._members(http, project) if wanted in user.name.casefold()]

    def plans(self, project: str, board: str = "") -> list[RemotePlan]:
        """The project's versions (shared ones included) as releases: a closed version is done."""
        identifier = quote(self._project(project))
        with self.client() as http:
            return [
                RemotePlan(
                    "release",
                    str(version.get("id")),
                    _named(version),
                    end=_day(version.get("due_date")),
                    done=version.get("status") == "closed",
                )
                for version in self._pages(http, f"projects/{identifier}/versions.json", "versions")
            ]

    # -- reading issues --

    def fetch_many(self, keys: Iterable[str]) -> FetchResult:
        """Current state of many issues, ``PAGE_SIZE`` ids a listing (all statuses). An id the listing
        leaves out is read alone: 404 is missing (deleted), 403 forbidden (hidden from the account)."""
        spellings: dict[int, list[str]] = {}
        missing: set[str] = set()
        for key in keys:
            number = issue_id(key)
            if number is None:
                missing.add(key)
            else:
                spellings.setdefault(number, []).append(key)
        issues: dict[str, RemoteIssue] = {}
        forbidden: set[str] = set()
        with self.client() as http:
            found: dict[int, RemoteIssue] = {}
            for batch in chunks(sorted(spellings), PAGE_SIZE):
                params = {"issue_id": ",".join(map(str, batch)), "status_id": "*"}
                for raw, response in self._listed(http, "issues.json", "issues", params):
                    issue = self._remote_issue(http, raw, response)
                    found[int(issue.key)] = issue
            for number in sorted(set(spellings) - set(found)):
                response = http.get(f"issues/{number}.json", accept=(403, 404))
                if response.status == 200:
                    found[number] = self._remote_issue(http, json_object(response, "an issue").get("issue"), response)
                else:
                    (missing if response.status == 404 else forbidden).update(spellings[number])
        for number, issue in found.items():
            issues.update(dict.fromkeys(spellings.get(number, ()), issue))
        return FetchResult(issues=issues, missing=frozenset(missing), forbidden=frozenset(forbidden))

    def search(self, text: str, within: Sequence[str] | None = None) -> list[RemoteIssue]:
        """The issue ``text`` names (``123``, ``#123``), or the issues whose subject contains ``text``
        (Redmine's ``subject=~`` filter), in the source's projects (``within``: only those), most
        recently updated first."""
        text = " ".join(text.split())
        if not text:
            return []
        return self._matching({"subject": f"~{text}"}, text, within)

    def find_marked(self, marker: str) -> RemoteIssue | None:
        """The issue whose description carries ``marker`` (``description=~``)."""
        return next(iter(self._matching({"description": f"~{marker}"}, "", None)), None)

    def _matching(self, condition: dict, text: str, within: Sequence[str] | None) -> list[RemoteIssue]:
        projects = sorted({p.strip() for p in (self.assigned_projects() if within is None else within) if p.strip()})
        found: dict[str, RemoteIssue] = {}
        if issue_id(text) is not None:
            named = self.fetch_many([text]).issues.get(text)
            if named is not None:
                found[named.key] = named
        params = {**condition, "status_id": "*", "sort": "updated_on:desc", "limit": SEARCH_LIMIT}
        with self.client() as http:
            for project in projects or [None]:
                scoped = {**params, **({"project_id": project} if project else {})}
                response = http.get("issues.json", params=scoped)
                for raw in _listed(response, "issues"):
                    issue = self._remote_issue(http, raw, response)
                    found.setdefault(issue.key, issue)
        ordered = sorted(found.values(), key=lambda i: i.updated_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return ordered[:SEARCH_LIMIT]

    def comments(self, key: str) -> list[RemoteComment]:
        """The issue's notes, oldest first: its journals that have notes (journals without notes record
        changes of fields)."""
        return [
            RemoteComment(
                id=str(journal.get("id")),
                author=_named(journal.get("user")),
                body=self.from_server_text(str(journal["notes"])),
                created_at=iso_timestamp(journal.get("created_on")),
                updated_at=iso_timestamp(journal.get("updated_on")),
            )
            for journal in self._journals(key)
            if isinstance(journal.get("notes"), str) and journal["notes"].strip()
        ]

    def _journals(self, key: str) -> list[dict]:
        number = self._locate(key)
        with self.client() as http:
            response = http.get(f"issues/{number}.json", params={"include": "journals"})
        issue = json_object(response, "an issue").get("issue")
        journals = issue.get("journals") if isinstance(issue, dict) else None
        return [journal for journal in journals or [] if isinstance(journal, dict)]

    # -- pulls --

    def pull(self, query: PullQuery, known: Iterable[str] = ()) -> PullResult:
        """The project's issues the filter selects (all statuses unless it sets ``status_id``), of the
        given trackers, oldest first; at most ``PULL_LIMIT``. A known key the listing leaves out is
        deleted only when ``fetch_many`` finds it missing."""
        items: list[PulledItem] = []
        with self.client() as http:
            params = self._pull_parameters(http, query)
            for raw, response in self._listed(http, "issues.json", "issues", params):
                issue = self._remote_issue(http, raw, response)
                items.append(
                    PulledItem(
                        **vars(issue),
                        description=self.from_server_text(str(raw.get("description") or "")),
                        item_type=_named(raw.get("tracker")),
                        fields={field_id: redmine_field_value(raw, field_id) for field_id in query.fields},
                    )
                )
                if len(items) >= PULL_LIMIT:
                    break
        seen = {item.key for item in items}
        unseen = [key for key in known if str(issue_id(key)) not in seen]
        return PullResult(items=tuple(items), deleted=self.fetch_many(unseen).missing if unseen else frozenset())

    def count_matching(self, query: PullQuery) -> MatchCount:
        """The listing's ``total_count`` (one issue asked for)."""
        with self.client() as http:
            params = {**self._pull_parameters(http, query), "limit": 1}
            body = json_object(http.get("issues.json", params=params), "a list of issues")
        total = body.get("total_count")
        if not isinstance(total, int):
            raise UpstreamError("Redmine answered the issue listing without a total_count.")
        return MatchCount(total)

    def _pull_parameters(self, http: TrackerHttpClient, query: PullQuery) -> dict:
        parameters = pull_parameters(query.filter)
        params = {"status_id": "*", **parameters, "project_id": self._project(query.project), "sort": "id"}
        if query.item_types:
            offered = self._trackers(http, query.project)
            ids = []
            for name in query.item_types:
                tracker = next((t for t in offered if same_name(name, _named(t)) or name.strip() == str(t["id"])), None)
                if tracker is None:
                    names = ", ".join(_named(t) for t in offered)
                    raise RemoteValidationError(
                        f"The Redmine project {query.project} has the trackers {names}, not “{name}”: check the "
                        "work item types of the pull."
                    )
                ids.append(str(tracker["id"]))
            params["tracker_id"] = "|".join(dict.fromkeys(ids))
        return params

    # -- writing --

    def create_issue(self, draft: IssueDraft) -> CreatedIssue:
        """File ``draft`` in its project (``POST /projects/{identifier}/issues.json``) with its tracker,
        priority, assignee, dates, target version and custom fields (``cf_4`` or ``4``); files are
        uploaded first and attached by their tokens."""
        identifier = self._project(draft.project)
        description = draft.description.strip()
        if draft.reporter is not None and self.user_token is None:
            who = draft.reporter.name or draft.reporter.email
            description = "\n\n".join(filter(None, [description, f"Reported by {who} via testmanager."]))
        with self.client() as http:
            payload: dict[str, Any] = {"subject": draft.title, "tracker_id": self._tracker_id(http, draft)}
            payload.update(self._field_values(http, draft))
            sent = self.send_files(draft.attachments, lambda file: self._upload(http, file))
            payload["description"] = self.to_server_text(description)
            if sent.answers:
                payload["uploads"] = list(sent.answers)
            response = http.post(f"projects/{quote(identifier)}/issues.json", json={"issue": payload})
            issue = self._remote_issue(http, json_object(response, "the created issue").get("issue"), response)
        notes = list(sent.notes)
        if draft.labels:
            notes.append("Redmine issues have no labels, so the labels were left out.")
        return CreatedIssue(**vars(issue), notes=tuple(notes), unsent_files=sent.unsent)

    def _tracker_id(self, http: TrackerHttpClient, draft: IssueDraft) -> int:
        offered = self._trackers(http, draft.project)
        wanted = draft.issue_type.strip()
        tracker = next((t for t in offered if same_name(wanted, _named(t)) or wanted == str(t["id"])), None)
        if tracker is None:
            names = ", ".join(_named(t) for t in offered) or "none"
            problem = f"The Redmine project {draft.project} has the trackers {names}, not “{draft.issue_type}”."
            raise RemoteValidationError(
                f"{problem} A project administrator must choose one of them.", field_errors={"issuetype": problem}
            )
        return tracker["id"]

    def _field_values(self, http: TrackerHttpClient, draft: IssueDraft) -> dict[str, Any]:
        """The issue attributes of the draft's priority, assignee, due date and further fields."""
        extra = dict(draft.fields)
        values: dict[str, Any] = {}
        priority = draft.priority or extra.pop("priority", None)
        if priority:
            values["priority_id"] = self._priority_id(http, str(priority))
        assignee = draft.assignee or extra.pop("assignee", None)
        if assignee:
            values["assigned_to_id"] = self._member_id(http, draft.project, str(assignee))
        due = draft.due_date or extra.pop("due_date", None)
        if due:
            values["due_date"] = due.isoformat() if isinstance(due, date) else str(due)
        if extra.get("start_date"):
            start = extra.pop("start_date")
            values["start_date"] = start.isoformat() if isinstance(start, date) else str(start)
        if extra.get("fixed_version"):
            values["fixed_version_id"] = self._version_id(http, draft.project, str(extra.pop("fixed_version")))
        custom, unknown = [], []
        for field_id, value in extra.items():
            number = str(field_id).removeprefix("cf_")
            if number.isdigit():
                custom.append({"id": int(number), "value": _custom_value(value)})
            else:
                unknown.append(str(field_id))
        if unknown:
            raise RemoteValidationError(
                f"Redmine issues have no field {', '.join(unknown)}: custom fields are named cf_<id>.",
                field_errors=dict.fromkeys(unknown, "Redmine issues have no such field."),
            )
        if custom:
            values["custom_fields"] = custom
        return values

    def _upload(self, http: TrackerHttpClient, file: DraftAttachment) -> dict:
        """``POST /uploads.json`` with the raw bytes; the token the issue then attaches the file by."""
        response = http.post(
            "uploads.json",
            params={"filename": file.filename},
            data=file.content,
            headers={"Content-Type": "application/octet-stream"},
        )
        upload = json_object(response, "the uploaded file").get("upload")
        token = upload.get("token") if isinstance(upload, dict) else None
        if not isinstance(token, str) or not token:
            raise UpstreamError(f"{response.host} took {file.filename} but gave no upload token.")
        return {"token": token, "filename": file.filename, "content_type": file.content_type}

    def update_issue(self, key: str, draft: IssueDraft) -> None:
        """Edit the issue's subject and description, and its priority when the draft names one
        (``PUT /issues/{id}.json``, 204 with no body). Redmine issues have no labels."""
        payload: dict[str, Any] = {"subject": draft.title, "description": self.to_server_text(draft.description)}
        with self.client() as http:
            if draft.priority:
                payload["priority_id"] = self._priority_id(http, draft.priority)
            http.put(f"issues/{self._locate(key)}.json", json={"issue": payload})

    def set_labels(self, key: str, labels: Sequence[str]) -> None:
        raise self._unsupported("labels (Redmine issues have none)")

    def set_priority(self, key: str, priority: str) -> None:
        with self.client() as http:
            priority_id = self._priority_id(http, priority)
            http.put(f"issues/{self._locate(key)}.json", json={"issue": {"priority_id": priority_id}})

    def add_comment(self, key: str, body: str) -> str:
        """Add ``body`` as a note (``PUT /issues/{id}.json`` with ``notes``, 204 with no body); the note's
        id is read back from the issue's journals: the newest journal of the account carrying it."""
        text = self.to_server_text(body)
        number = self._locate(key)
        with self.client() as http:
            http.put(f"issues/{number}.json", json={"issue": {"notes": text}})
        journals = [journal for journal in self._journals(key) if str(journal.get("notes") or "") == text]
        return str(journals[-1].get("id")) if journals else ""

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        """Edit a note (``PUT /journals/{id}.json``, Redmine 5.0 on); ``NotFound`` when it is gone."""
        if not comment_id.strip().isdigit():
            raise NotFound(f"Redmine has no note “{comment_id}” on {key}: journal ids are numbers.")
        with self.client() as http:
            http.put(f"journals/{comment_id.strip()}.json", json={"journal": {"notes": self.to_server_text(body)}})

    def transition(self, key: str, status: str) -> None:
        """Move the issue to the status named ``status``. Redmine ignores a change its workflow does not
        allow (and still answers 204), so the issue is read back: a status it did not take is an error."""
        number = self._locate(key)
        with self.client() as http:
            offered = _listed(http.get("issue_statuses.json"), "issue_statuses")
            wanted = next((s for s in offered if same_name(status, _named(s))), None)
            if wanted is None:
                problem = f"Redmine has no status “{status}”: it has {', '.join(_named(s) for s in offered)}."
                raise RemoteValidationError(
                    f"{problem} Check the project integration's status mapping.", field_errors={"status": problem}
                )
            http.put(f"issues/{number}.json", json={"issue": {"status_id": wanted["id"]}})
            after = json_object(http.get(f"issues/{number}.json"), "an issue").get("issue") or {}
        if _id_of(after.get("status")) != wanted["id"]:
            raise RemoteValidationError(
                f"Redmine kept #{number} in “{_named(after.get('status'))}”: its workflow does not let the "
                f"source's account move it to “{_named(wanted)}”."
            )

    # -- text --

    @property
    def _writes_markdown(self) -> bool:
        return self.source.text_formatting == TextFormatting.MARKDOWN

    def to_server_text(self, markdown: str) -> str:
        """Our Markdown in the server's text formatting (see the module's docstring)."""
        return inert_markdown(markdown) if self._writes_markdown else markdown_to_textile(markdown)

    def from_server_text(self, text: str) -> str:
        return text if self._writes_markdown else textile_to_markdown(text)

    # -- plumbing --

    def _project(self, project: str) -> str:
        project = project.strip()
        if not project:
            raise NotConfigured(
                "This project integration names no Redmine project: a project administrator must choose the "
                "project identifier that issues are filed in."
            )
        return project

    def _locate(self, key: str) -> int:
        number = issue_id(key)
        if number is None:
            raise RemoteValidationError(f"“{key}” is not a Redmine issue: Redmine keys are issue numbers, e.g. 123.")
        return number

    def _trackers(self, http: TrackerHttpClient, project: str) -> list[dict]:
        """The project's trackers (``include=trackers``)."""
        identifier = self._project(project)
        response = http.get(f"projects/{quote(identifier)}.json", params={"include": "trackers"}, accept=(403, 404))
        if response.status in (403, 404):
            raise UnknownProject(f"Redmine has no project “{identifier}” that the source's account can see.")
        body = json_object(response, "a project").get("project") or {}
        trackers = body.get("trackers") if isinstance(body, dict) else None
        return [t for t in trackers or [] if isinstance(t, dict) and isinstance(t.get("id"), int)]

    def _priorities(self, http: TrackerHttpClient) -> list[dict]:
        found = _listed(http.get("enumerations/issue_priorities.json"), "issue_priorities")
        return [priority for priority in found if priority.get("active", True) and isinstance(priority.get("id"), int)]

    def _priority_id(self, http: TrackerHttpClient, name: str) -> int:
        offered = self._priorities(http)
        found = next((p for p in offered if same_name(name, _named(p))), None)
        if found is None:
            problem = f"Redmine has no priority “{name}”: it has {', '.join(_named(p) for p in offered)}."
            raise RemoteValidationError(
                f"{problem} Check the project integration's priority mapping.", field_errors={"priority": problem}
            )
        return found["id"]

    def _members(self, http: TrackerHttpClient, project: str) -> list[RemoteUser]:
        """The project's members that are users (groups left out), by numeric id."""
        memberships = self._pages(http, f"projects/{quote(self._project(project))}/memberships.json", "memberships")
        people = {_id_of(m.get("user")): _named(m.get("user")) for m in memberships if _id_of(m.get("user"))}
        return [RemoteUser(id=str(user), name=name) for user, name in people.items()]

    def _member_id(self, http: TrackerHttpClient, project: str, person: str) -> int:
        """The id of the project member ``person`` names (an id, or a name); a stranger is an error."""
        person = person.strip().lstrip("#")
        members = self._members(http, project)
        found = next((m for m in members if m.id == person or same_name(m.name, person)), None)
        if found is None:
            problem = f"{person} is not a member of the Redmine project {project}."
            raise RemoteValidationError(f"{problem} Only members can be assigned.", field_errors={"assignee": problem})
        return int(found.id)

    def _version_id(self, http: TrackerHttpClient, project: str, name: str) -> int:
        versions = self._pages(http, f"projects/{quote(self._project(project))}/versions.json", "versions")
        found = next((v for v in versions if v.get("status") == "open" and same_name(name, _named(v))), None)
        if found is None or _id_of(found) is None:
            problem = f"The Redmine project {project} has no open version “{name}”."
            raise RemoteValidationError(
                f"{problem} Choose an open version or leave it empty.", field_errors={"fixed_version": problem}
            )
        return found["id"]

    def _status_categories(self, http: TrackerHttpClient) -> dict[str, str]:
        """The category of each status (by folded name), read once per provider: a closing status is done,
        the first in Redmine's order (New, where new issues start) to do, every other open one in progress.
        Redmine 5.0's issues do not say whether their status closes them (5.1 added ``is_closed``)."""
        if self._categories is None:
            statuses = _listed(http.get("issue_statuses.json"), "issue_statuses")
            self._categories = {
                _named(status).casefold(): (
                    "done" if status.get("is_closed") is True else "todo" if index == 0 else "in_progress"
                )
                for index, status in enumerate(statuses)
            }
        return self._categories

    def _remote_issue(self, http: TrackerHttpClient, raw: Any, response: TrackerResponse) -> RemoteIssue:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
            raise UpstreamError(f"{response.host} answered with an issue that has no id.", status=response.status)
        status = raw.get("status") if isinstance(raw.get("status"), dict) else {}
        category = self._status_categories(http).get(_named(status).casefold(), "unknown")
        closed = category == "done"
        return RemoteIssue(
            key=str(raw["id"]),
            title=str(raw.get("subject") or ""),
            status=_named(status),
            status_category=category,
            assignee=_named(raw.get("assigned_to")),
            priority=_named(raw.get("priority")),
            url=f"{self.source.base_url}/issues/{raw['id']}",
            updated_at=iso_timestamp(raw.get("updated_on")),
            created_at=iso_timestamp(raw.get("created_on")),
            resolved_at=iso_timestamp(raw.get("closed_on")) if closed else None,
            remote_id=str(raw["id"]),
        )

    def _pages(self, http: TrackerHttpClient, path: str, name: str, params: dict | None = None) -> Iterator[dict]:
        for raw, _ in self._listed(http, path, name, params):
            yield raw

    def _listed(
        self, http: TrackerHttpClient, path: str, name: str, params: dict | None = None
    ) -> Iterator[tuple[dict, TrackerResponse]]:
        """Every item of a listing with the response it came in: ``PAGE_SIZE`` a page by ``offset``
        until ``total_count`` (a listing without one, such as ``/trackers.json``, is one page)."""
        offset = 0
        while True:
            response = http.get(path, params={**(params or {}), "offset": offset, "limit": PAGE_SIZE})
            items = _listed(response, name)
            for raw in items:
                yield raw, response
            total = json_object(response, "a list").get("total_count")
            offset += len(items)
            if not items or not isinstance(total, int) or offset >= total:
                return


def _custom_field(definition: dict) -> RemoteField:
    """A custom field definition as a form field: ``cf_<id>``, its kind by Redmine's field format."""
    formats = {
        "string": "text",
        "text": "rich_text",
        "int": "number",
        "float": "number",
        "date": "date",
        "list": "multi_select" if definition.get("multiple") else "select",
        "bool": "select",
        "user": "multi_user" if definition.get("multiple") else "user",
        "version": "select",
        "link": "text",
    }
    values = definition.get("possible_values") if isinstance(definition.get("possible_values"), list) else []
    allowed = tuple(str(v.get("value")) for v in values if isinstance(v, dict) and v.get("value") is not None)
    if definition.get("field_format") == "bool":
        allowed = ("1", "0")
    return RemoteField(
        id=f"cf_{definition.get('id')}",
        name=str(definition.get("name") or ""),
        required=definition.get("is_required") is True,
        kind=formats.get(str(definition.get("field_format")), "unsupported"),
        allowed_values=allowed,
    )


def _custom_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return str(value)


def pull_parameters(text: str) -> dict[str, str]:
    """The issue list parameters a pull's filter sets: ``name=value`` pairs separated by spaces, a value
    with spaces in double quotes, each parameter once, only ``FILTER_PARAMETERS`` and custom fields
    (``cf_4``). ``RemoteValidationError`` saying what is wrong with anything else."""
    try:
        words = shlex.split(text)
    except ValueError:
        raise RemoteValidationError(
            'The Redmine filter has an unclosed quote: write it as fixed_version_id=3 subject="~coupon code".'
        ) from None
    parameters: dict[str, str] = {}
    for word in words:
        name, equals, value = word.partition("=")
        name = name.strip()
        if not equals or not name:
            raise RemoteValidationError(
                f"“{word}” is not a Redmine filter parameter: write name=value, e.g. tracker_id=2."
            )
        if name in _OWN_PARAMETERS:
            raise RemoteValidationError(f"The Redmine filter cannot set {name}: {_OWN_PARAMETERS[name]}.")
        if name not in FILTER_PARAMETERS and not CUSTOM_FIELD_PARAMETER.fullmatch(name):
            raise RemoteValidationError(
                f"The Redmine filter has no parameter “{name}”: use {', '.join(sorted(FILTER_PARAMETERS))} "
                "or a custom field as cf_<id>."
            )
        if not value.strip():
            raise RemoteValidationError(f"The Redmine filter gives {name} no value: write {name}=value.")
        if name in parameters:
            raise RemoteValidationError(f"The Redmine filter sets {name} twice: give it once (several values as 1|2).")
        parameters[name] = value
    return parameters


def redmine_field_value(raw: dict, field_id: str) -> FieldValue:
    """A field of an issue as pulls map it: ``fixed_version`` (its name; the due date is the version's,
    which the issue does not carry), ``category``, a date, ``done_ratio``, or a custom field ``cf_4``."""
    if CUSTOM_FIELD_PARAMETER.fullmatch(field_id):
        fields = raw.get("custom_fields") if isinstance(raw.get("custom_fields"), list) else []
        value = next((f.get("value") for f in fields if isinstance(f, dict) and f"cf_{f.get('id')}" == field_id), None)
    else:
        value = raw.get(field_id)
    if isinstance(value, dict):
        return FieldValue(text=_named(value))
    if isinstance(value, list):
        return FieldValue(text=", ".join(str(item) for item in value if item not in (None, "")))
    if value is None or value == "":
        return FieldValue()
    return FieldValue(text=str(value), day=_day(value))


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
