"""A fake Redmine 5.0 answering its REST API in JSON, for the answers a real server cannot be made to
give (429 with Retry-After, 5xx, a hung or garbled answer) and for fast provider tests.

It follows Redmine's REST API documentation (Rest_api, Rest_Issues, Rest_IssueJournals, Rest_Uploads,
Rest_Projects, Rest_Memberships, Rest_Trackers, Rest_IssueStatuses, Rest_Enumerations,
Rest_CustomFields, Rest_Versions, Rest_Users) and what Redmine 5.0.4 was measured to do:

- credentials: ``X-Redmine-API-Key`` (or ``?key=``), or HTTP Basic with a login and password; without
  valid ones 401 with no JSON body (the server requires authentication);
- listings page by ``offset`` and ``limit`` (25 by default, 100 at most) and say ``total_count``;
  ``/issues.json`` lists open issues only unless ``status_id=*``, filters by ``issue_id=1,2,3``,
  ``project_id``, ``tracker_id``/``status_id``/``priority_id``/``fixed_version_id`` (ids joined by ``|``,
  ``o``/``c``/``*`` for statuses), ``subject``/``description``/``cf_<id>`` (``~`` contains, else equals);
  an unknown id in a filter answers 422 with ``{"errors": [...]}``;
- an issue the account may not see answers 403, a deleted one 404; statuses in issues carry no
  ``is_closed`` (5.1 added it);
- ``PUT /issues/{id}.json`` answers 204 with no body; ``notes`` add a journal, field changes add
  journal details; a status change the workflow forbids is ignored without an error;
- ``POST /uploads.json`` takes the raw bytes only as ``application/octet-stream`` (else 406) and
  answers a token that a new issue's ``uploads`` attach;
- ``/custom_fields.json`` answers 403 to anyone but an administrator.
"""

from __future__ import annotations

import base64
import itertools
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from tests.fakes.server import (
    FakeHTTPServer,
    FaultQueue,
    RecordedRequest,
    Response,
    TrackerFake,
    canned_response,
    empty_response,
    json_response,
)

DEFAULT_LIMIT, MAX_LIMIT = 25, 100
TRACKERS = {1: "Bug", 2: "Feature", 3: "Support"}
STATUSES = {1: ("New", False), 2: ("In Progress", False), 3: ("Resolved", False), 4: ("Feedback", False)}
STATUSES |= {5: ("Closed", True), 6: ("Rejected", True)}
PRIORITIES = {1: "Low", 2: "Normal", 3: "High", 4: "Urgent", 5: "Immediate"}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unprocessable(*errors: str) -> Response:
    return json_response(HTTPStatus.UNPROCESSABLE_ENTITY, {"errors": list(errors)})


@dataclass
class User:
    id: int
    login: str
    firstname: str
    lastname: str
    admin: bool = False
    api_key: str = ""
    password: str = ""

    @property
    def name(self) -> str:
        return f"{self.firstname} {self.lastname}".strip()

    def ref(self) -> dict:
        return {"id": self.id, "name": self.name}


@dataclass
class Journal:
    id: int
    user: User
    notes: str
    created_on: datetime
    details: list[dict] = field(default_factory=list)
    updated_on: datetime | None = None


@dataclass
class Issue:
    id: int
    project: Project
    tracker_id: int
    subject: str
    author: User
    created_on: datetime
    description: str = ""
    status_id: int = 1
    priority_id: int = 2
    assigned_to: User | None = None
    fixed_version_id: int | None = None
    start_date: str | None = None
    due_date: str | None = None
    closed_on: datetime | None = None
    updated_on: datetime | None = None
    custom_fields: dict[int, Any] = field(default_factory=dict)
    journals: list[Journal] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)


@dataclass
class Project:
    id: int
    identifier: str
    name: str
    trackers: list[int] = field(default_factory=lambda: list(TRACKERS))
    members: list[User] = field(default_factory=list)
    versions: list[dict] = field(default_factory=list)


class RedmineFake(TrackerFake):
    def __init__(self, sub_uri: str = ""):
        self.server = FakeHTTPServer(sub_uri)
        self.server.interceptor = self._intercept
        self.faults = FaultQueue()
        self.users: dict[int, User] = {}
        self.projects: dict[str, Project] = {}
        self.issues: dict[int, Issue] = {}
        self.custom_field_definitions: list[dict] = []
        self.uploads: dict[str, dict] = {}
        # (from status id, to status id) pairs the workflow refuses (silently, as Redmine does).
        self.forbidden_transitions: set[tuple[int, int]] = set()
        self._ids = itertools.count(1)
        self._issue_ids = itertools.count(1)  # issues are numbered on their own, from 1
        self._register_routes()

    # -- state ------------------------------------------------------------------------------------

    def add_user(self, login: str, name: str = "", *, api_key: str = "", password: str = "", admin: bool = False):
        firstname, _, lastname = (name or login).partition(" ")
        user = User(next(self._ids), login, firstname, lastname, admin, api_key, password)
        with self.server.lock:
            self.users[user.id] = user
        return user

    def user(self, login: str) -> User:
        return next(user for user in self.users.values() if user.login == login)

    def add_project(self, identifier: str, name: str = "", *, members: tuple[str, ...] = (), trackers=(1, 2, 3)):
        project = Project(next(self._ids), identifier, name or identifier.title(), list(trackers))
        project.members = [self.user(login) for login in members]
        with self.server.lock:
            self.projects[identifier] = project
        return project

    def add_version(self, identifier: str, name: str, *, status: str = "open", due_date: str | None = None) -> dict:
        version = {"id": next(self._ids), "name": name, "status": status, "due_date": due_date}
        with self.server.lock:
            self.projects[identifier].versions.append(version)
        return version

    def add_custom_field(self, name: str, field_format: str = "string", *, trackers=(1,), **more: Any) -> dict:
        definition = {
            "id": next(self._ids),
            "name": name,
            "customized_type": "issue",
            "field_format": field_format,
            "is_required": False,
            "visible": True,
            "trackers": [{"id": t, "name": TRACKERS[t]} for t in trackers],
            **more,
        }
        with self.server.lock:
            self.custom_field_definitions.append(definition)
        return definition

    def add_issue(self, identifier: str, subject: str, *, author: str, tracker_id: int = 1, **values: Any) -> Issue:
        with self.server.lock:
            issue = Issue(
                id=next(self._issue_ids),
                project=self.projects[identifier],
                tracker_id=tracker_id,
                subject=subject,
                author=self.user(author),
                created_on=self.now(),
                **values,
            )
            issue.updated_on = issue.created_on
            self.issues[issue.id] = issue
        return issue

    def add_note(self, issue_id: int, notes: str, *, author: str) -> Journal:
        with self.server.lock:
            issue = self.issues[issue_id]
            journal = Journal(next(self._ids), self.user(author), notes, self.now())
            issue.journals.append(journal)
            issue.updated_on = journal.created_on
        return journal

    def delete_issue(self, issue_id: int) -> None:
        with self.server.lock:
            del self.issues[issue_id]

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)

    # -- fault injection --------------------------------------------------------------------------

    def fail_next(self, status: int, body=None, *, headers: dict[str, str] | None = None, count: int = 1) -> None:
        """Answer the next `count` requests with `status` and `body` (bytes go out as they are)."""
        with self.server.lock:
            self.faults.add(lambda: canned_response(status, body, headers), count)

    def _intercept(self, request: RecordedRequest) -> Response | None:
        return self.faults.take()

    # -- authentication ---------------------------------------------------------------------------

    def _account(self, request: RecordedRequest) -> User | None:
        key = request.headers.get("X-Redmine-API-Key") or request.param("key")
        if key:
            return next((user for user in self.users.values() if user.api_key and user.api_key == key), None)
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        login, _, password = base64.b64decode(encoded.strip()).decode(errors="replace").partition(":")
        return next(
            (u for u in self.users.values() if u.login == login and u.password and u.password == password), None
        )

    def _endpoint(self, handler):
        def serve(request: RecordedRequest, **groups: str) -> Response:
            user = self._account(request)
            if user is None:
                return Response(HTTPStatus.UNAUTHORIZED, b"", {"WWW-Authenticate": 'Basic realm="Redmine API"'})
            return handler(request, user, **groups)

        return serve

    def _visible_project(self, user: User, project_id: str) -> Project | Response:
        project = next(
            (p for p in self.projects.values() if project_id in (p.identifier, str(p.id))),
            None,
        )
        if project is None:
            return empty_response(HTTPStatus.NOT_FOUND)
        if not (user.admin or user in project.members):
            return empty_response(HTTPStatus.FORBIDDEN)
        return project

    def _sees(self, user: User, issue: Issue) -> bool:
        return user.admin or user in issue.project.members

    # -- routes -----------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        project = r"/projects/(?P<project_id>[^/]+)"
        routes = [
            ("GET", r"/users/current\.json", self._current_user),
            ("GET", r"/projects\.json", self._list_projects),
            ("GET", rf"{project}\.json", self._get_project),
            ("GET", rf"{project}/memberships\.json", self._memberships),
            ("GET", rf"{project}/versions\.json", self._versions),
            ("GET", r"/trackers\.json", self._trackers),
            ("GET", r"/issue_statuses\.json", self._statuses),
            ("GET", r"/enumerations/issue_priorities\.json", self._priorities),
            ("GET", r"/custom_fields\.json", self._custom_fields),
            ("GET", r"/issues\.json", self._list_issues),
            ("GET", rf"{project}/issues\.json", self._list_issues),
            ("GET", r"/issues/(?P<issue_id>\d+)\.json", self._get_issue),
            ("POST", r"/issues\.json", self._create_issue),
            ("POST", rf"{project}/issues\.json", self._create_issue),
            ("PUT", r"/issues/(?P<issue_id>\d+)\.json", self._update_issue),
            ("PUT", r"/journals/(?P<journal_id>\d+)\.json", self._update_journal),
            ("POST", r"/uploads\.json", self._upload),
        ]
        for method, path, handler in routes:
            self.server.add_route(method, path, self._endpoint(handler))

    @staticmethod
    def _page(request: RecordedRequest, name: str, items: list, render=lambda item: item) -> Response:
        """One page of ``items`` by ``offset`` and ``limit``, each rendered as JSON by ``render``."""
        offset = int(request.param("offset") or 0) if (request.param("offset") or "0").isdigit() else 0
        limit_text = request.param("limit") or ""
        limit = min(int(limit_text), MAX_LIMIT) if limit_text.isdigit() and int(limit_text) > 0 else DEFAULT_LIMIT
        page = [render(item) for item in items[offset : offset + limit]]
        body = {name: page, "total_count": len(items), "offset": offset, "limit": limit}
        return json_response(HTTPStatus.OK, body)

    def _current_user(self, request, user: User) -> Response:
        body = {
            "id": user.id,
            "login": user.login,
            "admin": user.admin,
            "firstname": user.firstname,
            "lastname": user.lastname,
            "mail": f"{user.login}@example.com",
            "created_on": "2024-01-01T00:00:00Z",
            "last_login_on": stamp(self.now()),
            "api_key": user.api_key,
        }
        return json_response(HTTPStatus.OK, {"user": body})

    def _project_json(self, project: Project, include: str = "") -> dict:
        body = {"id": project.id, "name": project.name, "identifier": project.identifier, "status": 1}
        if "trackers" in include.split(","):
            body["trackers"] = [{"id": t, "name": TRACKERS[t]} for t in project.trackers]
        return body

    def _list_projects(self, request, user: User) -> Response:
        visible = [p for p in self.projects.values() if user.admin or user in p.members]
        return self._page(request, "projects", [self._project_json(p) for p in visible])

    def _get_project(self, request, user: User, project_id: str) -> Response:
        project = self._visible_project(user, project_id)
        if isinstance(project, Response):
            return project
        return json_response(HTTPStatus.OK, {"project": self._project_json(project, request.param("include") or "")})

    def _memberships(self, request, user: User, project_id: str) -> Response:
        project = self._visible_project(user, project_id)
        if isinstance(project, Response):
            return project
        memberships = [
            {
                "id": index,
                "project": {"id": project.id, "name": project.name},
                "user": member.ref(),
                "roles": [{"id": 4, "name": "Developer"}],
            }
            for index, member in enumerate(project.members, start=1)
        ]
        return self._page(request, "memberships", memberships)

    def _versions(self, request, user: User, project_id: str) -> Response:
        project = self._visible_project(user, project_id)
        if isinstance(project, Response):
            return project
        versions = [{**v, "project": {"id": project.id, "name": project.name}} for v in project.versions]
        # Redmine lists a project's versions in one answer, with total_count but without paging.
        return json_response(HTTPStatus.OK, {"versions": versions, "total_count": len(versions)})

    def _trackers(self, request, user: User) -> Response:
        trackers = [{"id": t, "name": name, "default_status": {"id": 1, "name": "New"}} for t, name in TRACKERS.items()]
        return json_response(HTTPStatus.OK, {"trackers": trackers})

    def _statuses(self, request, user: User) -> Response:
        statuses = [{"id": s, "name": name, "is_closed": closed} for s, (name, closed) in STATUSES.items()]
        return json_response(HTTPStatus.OK, {"issue_statuses": statuses})

    def _priorities(self, request, user: User) -> Response:
        priorities = [{"id": p, "name": name, "is_default": p == 2, "active": True} for p, name in PRIORITIES.items()]
        return json_response(HTTPStatus.OK, {"issue_priorities": priorities})

    def _custom_fields(self, request, user: User) -> Response:
        if not user.admin:
            return empty_response(HTTPStatus.FORBIDDEN)
        return json_response(HTTPStatus.OK, {"custom_fields": self.custom_field_definitions})

    # -- issues -----------------------------------------------------------------------------------

    def issue_json(self, issue: Issue, include: str = "") -> dict:
        status_name, closed = STATUSES[issue.status_id]
        body: dict[str, Any] = {
            "id": issue.id,
            "project": {"id": issue.project.id, "name": issue.project.name},
            "tracker": {"id": issue.tracker_id, "name": TRACKERS[issue.tracker_id]},
            "status": {"id": issue.status_id, "name": status_name},
            "priority": {"id": issue.priority_id, "name": PRIORITIES[issue.priority_id]},
            "author": issue.author.ref(),
            "subject": issue.subject,
            "description": issue.description,
            "start_date": issue.start_date,
            "due_date": issue.due_date,
            "done_ratio": 0,
            "is_private": False,
            "custom_fields": [
                {"id": d["id"], "name": d["name"], "value": issue.custom_fields.get(d["id"], "")}
                for d in self.custom_field_definitions
                if issue.tracker_id in [t["id"] for t in d["trackers"]]
            ],
            "created_on": stamp(issue.created_on),
            "updated_on": stamp(issue.updated_on or issue.created_on),
            "closed_on": stamp(issue.closed_on) if issue.closed_on else None,
        }
        if issue.assigned_to is not None:
            body["assigned_to"] = issue.assigned_to.ref()
        version = next((v for v in issue.project.versions if v["id"] == issue.fixed_version_id), None)
        if version is not None:
            body["fixed_version"] = {"id": version["id"], "name": version["name"]}
        included = include.split(",")
        if "journals" in included:
            body["journals"] = [
                {
                    "id": j.id,
                    "user": j.user.ref(),
                    "notes": j.notes,
                    "created_on": stamp(j.created_on),
                    "private_notes": False,
                    "details": j.details,
                }
                for j in issue.journals
            ]
        if "attachments" in included:
            body["attachments"] = issue.attachments
        return body

    def _list_issues(self, request: RecordedRequest, user: User, project_id: str | None = None) -> Response:
        project_id = project_id or request.param("project_id")
        issues = [issue for issue in self.issues.values() if self._sees(user, issue)]
        if project_id:
            project = self._visible_project(user, project_id)
            if isinstance(project, Response):
                return project
            issues = [issue for issue in issues if issue.project is project]
        status = request.param("status_id") or "o"
        errors = []
        if request.param("issue_id"):
            wanted = request.param("issue_id").split(",")
            if not all(part.strip().isdigit() for part in wanted):
                return unprocessable("Issue is invalid")
            issues = [issue for issue in issues if str(issue.id) in {part.strip() for part in wanted}]
        if status == "o":
            issues = [issue for issue in issues if not STATUSES[issue.status_id][1]]
        elif status == "c":
            issues = [issue for issue in issues if STATUSES[issue.status_id][1]]
        elif status != "*":
            issues, problem = self._by_ids(issues, "status_id", status, STATUSES, "Status")
            errors += [problem] if problem else []
        for parameter, offered, label in (
            ("tracker_id", TRACKERS, "Tracker"),
            ("priority_id", PRIORITIES, "Priority"),
        ):
            if request.param(parameter):
                issues, problem = self._by_ids(issues, parameter, request.param(parameter), offered, label)
                errors += [problem] if problem else []
        if request.param("fixed_version_id"):
            wanted = set(request.param("fixed_version_id").split("|"))
            issues = [issue for issue in issues if str(issue.fixed_version_id) in wanted]
        for name in ("subject", "description"):
            if request.param(name):
                issues = [issue for issue in issues if _matches(getattr(issue, name), request.param(name))]
        for name, values in request.query.items():
            if name.startswith("cf_") and name[3:].isdigit():
                issues = [i for i in issues if _matches(str(i.custom_fields.get(int(name[3:]), "")), values[0])]
        if errors:
            return unprocessable(*errors)
        sort = request.param("sort") or "id:desc"
        column, _, direction = sort.partition(":")
        key = (lambda i: i.updated_on or i.created_on) if column == "updated_on" else (lambda i: i.id)
        issues.sort(key=key, reverse=direction == "desc")
        return self._page(request, "issues", issues, self.issue_json)

    @staticmethod
    def _by_ids(issues: list[Issue], attribute: str, value: str, offered: dict, label: str):
        wanted = value.split("|")
        if not all(part.isdigit() and int(part) in offered for part in wanted):
            return issues, f"{label} is invalid"
        return [issue for issue in issues if str(getattr(issue, attribute)) in wanted], None

    def _issue(self, user: User, issue_id: str) -> Issue | Response:
        issue = self.issues.get(int(issue_id))
        if issue is None:
            return empty_response(HTTPStatus.NOT_FOUND)
        if not self._sees(user, issue):
            return empty_response(HTTPStatus.FORBIDDEN)
        return issue

    def _get_issue(self, request: RecordedRequest, user: User, issue_id: str) -> Response:
        issue = self._issue(user, issue_id)
        if isinstance(issue, Response):
            return issue
        return json_response(HTTPStatus.OK, {"issue": self.issue_json(issue, request.param("include") or "")})

    def _create_issue(self, request: RecordedRequest, user: User, project_id: str | None = None) -> Response:
        values = (request.json() or {}).get("issue") or {}
        project = self._visible_project(user, str(project_id or values.get("project_id") or ""))
        if isinstance(project, Response):
            return unprocessable("Project cannot be blank") if project.status == 404 and not project_id else project
        errors = []
        if not str(values.get("subject") or "").strip():
            errors.append("Subject cannot be blank")
        tracker_id = values.get("tracker_id") or project.trackers[0]
        if tracker_id not in project.trackers:
            errors.append("Tracker is not included in the list")
        assignee = self.users.get(values.get("assigned_to_id")) if values.get("assigned_to_id") else None
        if values.get("assigned_to_id") and assignee not in project.members:
            errors.append("Assignee is invalid")
        if values.get("priority_id") and values["priority_id"] not in PRIORITIES:
            errors.append("Priority cannot be blank")
        if errors:
            return unprocessable(*errors)
        issue = self.add_issue(
            project.identifier,
            values["subject"],
            author=user.login,
            tracker_id=tracker_id,
            description=str(values.get("description") or ""),
            priority_id=values.get("priority_id") or 2,
            assigned_to=assignee,
            due_date=values.get("due_date"),
            start_date=values.get("start_date"),
            fixed_version_id=values.get("fixed_version_id"),
            custom_fields={entry["id"]: entry["value"] for entry in values.get("custom_fields") or []},
        )
        issue.attachments = self._attach(values.get("uploads") or [], user)
        return json_response(HTTPStatus.CREATED, {"issue": self.issue_json(issue)})

    def _attach(self, uploads: list[dict], user: User) -> list[dict]:
        attached = []
        for upload in uploads:
            stored = self.uploads.pop(str(upload.get("token")), None)
            if stored is not None:
                attached.append(
                    {
                        "id": stored["id"],
                        "filename": upload.get("filename") or "",
                        "filesize": len(stored["content"]),
                        "content_type": upload.get("content_type") or "",
                        "author": user.ref(),
                    }
                )
        return attached

    def _update_issue(self, request: RecordedRequest, user: User, issue_id: str) -> Response:
        issue = self._issue(user, issue_id)
        if isinstance(issue, Response):
            return issue
        values = (request.json() or {}).get("issue") or {}
        if "subject" in values and not str(values["subject"] or "").strip():
            return unprocessable("Subject cannot be blank")
        if values.get("priority_id") and values["priority_id"] not in PRIORITIES:
            return unprocessable("Priority cannot be blank")
        details = []
        for name in ("subject", "description", "priority_id", "status_id"):
            if name in values and values[name] != getattr(issue, name):
                if name == "status_id" and (issue.status_id, values[name]) in self.forbidden_transitions:
                    continue
                if name == "status_id" and values[name] not in STATUSES:
                    return unprocessable("Status is invalid")
                details.append({"property": "attr", "name": name, "old_value": str(getattr(issue, name))})
                setattr(issue, name, values[name])
                details[-1]["new_value"] = str(values[name])
        if "status_id" in values:
            issue.closed_on = self.now() if STATUSES[issue.status_id][1] else issue.closed_on
        attachments = self._attach(values.get("uploads") or [], user)
        issue.attachments += attachments
        notes = str(values.get("notes") or "")
        if notes or details or attachments:
            issue.journals.append(Journal(next(self._ids), user, notes, self.now(), details))
            issue.updated_on = self.now()
        return empty_response(HTTPStatus.NO_CONTENT)

    def _update_journal(self, request: RecordedRequest, user: User, journal_id: str) -> Response:
        for issue in self.issues.values():
            for journal in issue.journals:
                if journal.id == int(journal_id) and self._sees(user, issue):
                    if journal.user is not user and not user.admin:
                        return empty_response(HTTPStatus.FORBIDDEN)
                    journal.notes = str(((request.json() or {}).get("journal") or {}).get("notes") or "")
                    journal.updated_on = self.now()
                    return empty_response(HTTPStatus.NO_CONTENT)
        return empty_response(HTTPStatus.NOT_FOUND)

    def _upload(self, request: RecordedRequest, user: User) -> Response:
        if request.headers.get("Content-Type", "").split(";")[0].strip() != "application/octet-stream":
            return empty_response(HTTPStatus.NOT_ACCEPTABLE)
        upload_id = next(self._ids)
        token = f"{upload_id}.{secrets.token_hex(16)}"
        self.uploads[token] = {"id": upload_id, "filename": request.param("filename") or "", "content": request.body}
        return json_response(HTTPStatus.CREATED, {"upload": {"id": upload_id, "token": token}})


def _matches(value: str, condition: str) -> bool:
    """Redmine's short filter syntax for text: ``~text`` contains (case-insensitive), else equals."""
    if condition.startswith("~"):
        return condition[1:].casefold() in (value or "").casefold()
    return (value or "") == condition
