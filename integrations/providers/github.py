"""GitHub Issues on github.com and GitHub Enterprise Server (REST API, version 2022-11-28).

- github.com serves its API at api.github.com; Enterprise Server under ``/api/v3`` of the
  instance. Tokens (classic or fine-grained personal access tokens, members' OAuth tokens)
  travel as ``Bearer``.
- A key is ``owner/repo#number``; ``#12`` typed in a project is qualified with the project
  integration's repository (``qualify_key``).
- Reading many issues is one conditional GET per issue: with the ETag of the cached copy
  (``refresh``), an unchanged issue answers 304, which GitHub does not count against the
  rate limit, and the cached values stand.
- GitHub answers 404 for an issue that does not exist and for one in a repository the token
  may not see; the repository tells them apart (visible: the issue is missing; not: forbidden).
  A deleted issue answers 410; a transferred one redirects to its new repository, and comes
  back under the key asked for with its new key (as GitHub spells keys now) in ``key``.
- Pull requests are issues to this API: search leaves them out.
- Descriptions and comments stay Markdown, with mentions and closing keywords made inert.
- Search runs in the repositories this source is assigned to (its project integrations).
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import requests

from integrations.errors import PermissionDenied, RateLimited, RemoteValidationError, UpstreamError
from integrations.http import RemoteErrorDetail, TrackerHttpClient, TrackerResponse, generic_error_detail
from integrations.models import AUTH_TYPES_BY_PROVIDER, IntegrationState, Provider
from integrations.richtext.forge import inert_markdown

from .base import (
    Capability,
    ConnectionReport,
    CreatedIssue,
    EventKind,
    FetchResult,
    FieldValue,
    IssueDraft,
    IssueEvent,
    NotConfigured,
    OAuthApp,
    PULL_LIMIT,
    PulledItem,
    PullQuery,
    PullResult,
    RemoteComment,
    RemoteField,
    RemoteIssue,
    RemoteIssueType,
    RemoteProject,
    TrackerProvider,
    delivery_id,
    delivery_response,
    rate_limit_headroom,
    webhook_json,
)

API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
PAGE_SIZE = 100  # the most GitHub serves per page
SEARCH_LIMIT = 50
SECONDARY_LIMIT_WAIT = 60  # "wait for at least one minute" when GitHub names no time
WRITE_SCOPES = frozenset({"repo", "public_repo"})
WEBHOOK_EVENTS = ("issues", "issue_comment")

REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_.-]+")
ISSUE_KEY = re.compile(rf"(?P<repo>{REPOSITORY.pattern})#(?P<number>\d+)")
SHORT_KEY = re.compile(r"#?(?P<number>\d+)")
_REPOSITORY_URL = re.compile(rf"/repos/(?P<repo>{REPOSITORY.pattern})$")

# Closed issues say why; the status names testmanager shows and transition() accepts.
OPEN, CLOSED = "Open", "Closed"
CLOSED_AS = {"not_planned": "Closed (not planned)", "duplicate": "Closed (duplicate)"}
_TARGETS = {
    "open": ("open", None),
    "reopened": ("open", None),
    "closed": ("closed", "completed"),
    "completed": ("closed", "completed"),
    **{name.lower(): ("closed", reason) for reason, name in CLOSED_AS.items()},
}
_CODE_PROBLEMS = {
    "missing": "does not exist",
    "missing_field": "is required",
    "invalid": "is not valid",
    "already_exists": "already exists",
    "unprocessable": "cannot be processed",
}


def read_github_error(response: TrackerResponse) -> RemoteErrorDetail:
    """GitHub's ``{"message": ..., "errors": [{"resource", "field", "code", "value"?, "message"?}]}``."""
    detail = generic_error_detail(response)
    try:
        body = response.json()
    except UpstreamError:
        return detail
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return detail
    field_errors = {}
    for entry in errors:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("field") or entry.get("resource") or "request")
        problem = entry.get("message") or _CODE_PROBLEMS.get(str(entry.get("code")), str(entry.get("code")))
        if "value" in entry:
            problem = f"{entry['value']!r} {problem}"
        field_errors[name] = str(problem)
    summary = "; ".join(f"{name}: {problem}" for name, problem in field_errors.items())
    message = f"{detail.message}: {summary}" if detail.message and summary else detail.message or summary or None
    return RemoteErrorDetail(message, field_errors)


def _object(response: TrackerResponse, what: str) -> dict:
    body = response.json()
    if not isinstance(body, dict):
        raise UpstreamError(
            f"{response.host} answered with something other than {what}: check the base URL.", status=response.status
        )
    return body


def _list(response: TrackerResponse, what: str) -> list[dict]:
    body = response.json()
    if not isinstance(body, list):
        raise UpstreamError(f"{response.host} answered without {what}: check the base URL.", status=response.status)
    return [item for item in body if isinstance(item, dict)]


def _timestamp(value: Any) -> datetime | None:
    """GitHub's ``2011-04-22T13:33:48Z``."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _token_expiry(value: str | None) -> datetime | None:
    """``GitHub-Authentication-Token-Expiration: 2031-01-02 03:04:05 UTC``."""
    try:
        return datetime.strptime((value or "").strip(), "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    except ValueError:
        return None


def _next_page(response: TrackerResponse) -> str | None:
    links = requests.utils.parse_header_links(response.headers.get("Link") or "")
    return next((link["url"] for link in links if link.get("rel") == "next" and link.get("url")), None)


def _search_terms(text: str) -> str:
    """Each word of ``text`` quoted: GitHub reads a quoted word as text, never as a qualifier
    (``repo:``) or an operator (``OR``)."""
    return " ".join(f'"{word}"' for word in text.replace('"', " ").split())


class GitHub(TrackerProvider):
    key = Provider.GITHUB
    label = Provider.GITHUB.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.GITHUB]
    default_key_pattern = r"^(?:[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_.-]+#|#?)\d+$"
    default_issue_url_template = "{baseUrl}/{project}/issues/{number}"
    default_create_url_template = "{baseUrl}/{project}/issues/new?title={title}&body={description}"
    capabilities = frozenset({Capability.READ_DETAILS, Capability.CREATE_ISSUES, Capability.ADD_COMMENTS,
                              Capability.PROCESS_WEBHOOKS})
    external_project_hint = "repository as owner/repo"
    external_project_pattern = r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9_.-]+$"
    base_url_hint = "https://github.com, or your GitHub Enterprise Server's address."
    read_error_detail = staticmethod(read_github_error)
    pull_filter_hint = (
        "GitHub issue search qualifiers, e.g. label:requirement -label:wontfix; testmanager adds the repository "
        "and is:issue (GitHub issues have no work item types here)."
    )

    @property
    def api_base_url(self) -> str:
        """github.com serves its API on api.github.com; Enterprise Server under /api/v3."""
        if urlsplit(self.source.base_url).hostname in ("github.com", "www.github.com"):
            return "https://api.github.com"
        return f"{self.source.base_url}/api/v3"

    @classmethod
    def qualify_key(cls, key: str, project: str) -> str:
        key, project = key.strip(), project.strip()
        short = SHORT_KEY.fullmatch(key)
        if short and REPOSITORY.fullmatch(project):
            return f"{project}#{short['number']}"
        return key

    @contextmanager
    def _github(self) -> Iterator[TrackerHttpClient]:
        """The HTTP client; a secondary rate limit GitHub answers with a bare 403 becomes ``RateLimited``."""
        try:
            with self.client(headers=API_HEADERS) as http:
                yield http
        except PermissionDenied as error:
            if "secondary rate limit" not in error.message.lower():
                raise
            # The PermissionDenied's own wording (lacking permission) would mislead here.
            raise RateLimited(
                "GitHub's secondary rate limit stopped the request (too many requests at once or too fast): "
                "try again in a minute or more.",
                status=error.status, retry_after=error.retry_after or SECONDARY_LIMIT_WAIT,
            ) from None

    def oauth_app(self) -> OAuthApp:
        """GitHub's OAuth apps (github.com and Enterprise Server alike): the web flow on the instance's
        own address, PKCE with S256, a form-encoded token request answered as JSON when asked to.
        Issues in private repositories need the ``repo`` scope. Tokens of OAuth apps do not expire and
        come without a refresh token; GitHub Apps with expiring user tokens add one."""
        on_github_com = urlsplit(self.source.base_url).hostname in ("github.com", "www.github.com")
        web = "https://github.com" if on_github_com else self.source.base_url
        return OAuthApp(
            authorize_url=f"{web}/login/oauth/authorize",
            token_url=f"{web}/login/oauth/access_token",
            scopes=("repo",),
            pkce=True,
        )

    # -- connection --

    def whoami(self) -> ConnectionReport:
        with self._github() as http:
            response = http.get("user")
        body = _object(response, "an account")
        login = body.get("login")
        if not isinstance(login, str) or not login:
            raise UpstreamError(f"{response.host} did not answer /user with an account: check the base URL.")
        user = f"{body['name']} ({login})" if body.get("name") else login
        remaining, limit = rate_limit_headroom(response)
        return ConnectionReport(
            user=user,
            detail=f"Signed in to GitHub as {user}.",
            access=self._token_summary(response),
            rate_limit_remaining=remaining,
            rate_limit_limit=limit,
            token_expires_at=_token_expiry(response.headers.get("GitHub-Authentication-Token-Expiration")),
        )

    def _token_summary(self, response: TrackerResponse) -> str:
        scopes_header = response.headers.get("X-OAuth-Scopes")
        if scopes_header is None:
            return "The token is fine-grained: its repositories and Issues permission are chosen on GitHub."
        scopes = [scope.strip() for scope in scopes_header.split(",") if scope.strip()]
        if not WRITE_SCOPES & set(scopes):
            granted = ", ".join(scopes) or "none"
            return (f"The token's scopes ({granted}) include neither repo nor public_repo: it can read public "
                    "repositories only and can neither file issues nor comment. Add the repo scope.")
        return f"Token scopes: {', '.join(scopes)}."

    # -- discovery --

    def projects(self) -> list[RemoteProject]:
        """The repositories the account owns or collaborates on that take issues."""
        with self._github() as http:
            return [
                RemoteProject(key=str(repo["full_name"]), name=str(repo["full_name"]))
                for repo in self._pages(http, "user/repos", {"sort": "full_name"})
                if isinstance(repo.get("full_name"), str) and repo.get("has_issues", True)
            ]

    def issue_types(self, project: str) -> list[RemoteIssueType]:
        """A repository's issues have no types to choose from."""
        return [RemoteIssueType(id="issue", name="Issue")]

    def fields(self, project: str, issue_type: str) -> list[RemoteField]:
        """Labels, milestone and assignees, which GitHub only takes from someone with push access."""
        repo = self._repository(project)
        with self._github() as http:
            permissions = _object(http.get(f"repos/{repo}"), "a repository").get("permissions") or {}
            if not permissions.get("push"):
                return []
            labels = [str(item.get("name")) for item in self._pages(http, f"repos/{repo}/labels")]
            milestones = [str(item.get("title")) for item in self._pages(http, f"repos/{repo}/milestones")]
            people = [str(item.get("login")) for item in self._pages(http, f"repos/{repo}/assignees")]
        return [
            RemoteField(id="labels", name="Labels", required=False, kind="labels", allowed_values=tuple(labels)),
            RemoteField(id="milestone", name="Milestone", required=False, kind="select",
                        allowed_values=tuple(milestones)),
            RemoteField(id="assignees", name="Assignees", required=False, kind="multi_user",
                        allowed_values=tuple(people)),
        ]

    # -- reading issues --

    def fetch_many(self, keys: Iterable[str]) -> FetchResult:
        """Current state of many issues, one request each."""
        return self._read(keys, {})

    def refresh(self, known: Mapping[str, RemoteIssue]) -> FetchResult:
        """Like ``fetch_many``, sending each cached issue's ETag: an unchanged issue answers 304
        (free of rate limit) and keeps its cached values."""
        return self._read(known, known)

    def _read(self, keys: Iterable[str], known: Mapping[str, RemoteIssue]) -> FetchResult:
        asked: dict[tuple[str, int], list[str]] = {}
        unreadable: list[str] = []  # short keys: which repository they belong to is unknown
        malformed: list[str] = []
        for key in keys:
            found = ISSUE_KEY.fullmatch(key.strip())
            if found:
                asked.setdefault((found["repo"].lower(), int(found["number"])), []).append(key)
            else:
                (unreadable if SHORT_KEY.fullmatch(key.strip()) else malformed).append(key)
        issues: dict[str, RemoteIssue] = {}
        missing = set(malformed)
        not_found: dict[str, list[str]] = {}  # repository -> spellings GitHub answered 404 for
        with self._github() as http:
            for (repo, number), spellings in asked.items():
                cached = next((known[s] for s in spellings if s in known and known[s].etag), None)
                headers = {"If-None-Match": cached.etag} if cached else None
                response = http.get(f"repos/{repo}/issues/{number}", headers=headers, accept=(304, 404, 410))
                if response.status == 304 and cached is not None:
                    issues.update(dict.fromkeys(spellings, cached))
                elif response.status == 404:
                    not_found.setdefault(repo, []).extend(spellings)
                elif response.status == 410:
                    missing.update(spellings)
                else:
                    issues.update(dict.fromkeys(spellings, self._remote_issue(_object(response, "an issue"), response)))
            forbidden = set(unreadable)
            for repo, spellings in not_found.items():
                visible = http.get(f"repos/{repo}", accept=(404,)).status == 200
                (missing if visible else forbidden).update(spellings)
        return FetchResult(issues=issues, missing=frozenset(missing), forbidden=frozenset(forbidden))

    def search(self, text: str) -> list[RemoteIssue]:
        """Issues (never pull requests) whose key is ``text``, or whose title, body or comments
        contain its words, in the source's repositories; most recently updated first."""
        text = text.strip()
        if not text:
            return []
        repositories = self._assigned_repositories()
        found: dict[str, RemoteIssue] = {}
        with self._github() as http:
            for repo, number in self._keys_in(text, repositories):
                response = http.get(f"repos/{repo}/issues/{number}", accept=(404, 410))
                raw = _object(response, "an issue") if response.status == 200 else {}
                if raw and "pull_request" not in raw:
                    issue = self._remote_issue(raw, response)
                    found[issue.key.lower()] = issue
            if not repositories:
                if ISSUE_KEY.fullmatch(text):
                    return list(found.values())
                raise NotConfigured(
                    "Searching GitHub by words needs a repository: assign this source to a project with its "
                    "owner/repo, or search by key (owner/repo#12)."
                )
            terms = _search_terms(text)
            if terms:
                query = " ".join([terms, "is:issue", *(f"repo:{repo}" for repo in repositories)])
                params = {"q": query, "sort": "updated", "order": "desc", "per_page": SEARCH_LIMIT}
                response = http.get("search/issues", params=params)
                items = _object(response, "search results").get("items")
                if not isinstance(items, list):
                    raise UpstreamError(f"{response.host} answered a search without items.", status=response.status)
                for raw in items:
                    if isinstance(raw, dict) and "pull_request" not in raw:
                        issue = self._remote_issue(raw, response, etag=False)
                        found.setdefault(issue.key.lower(), issue)
        return list(found.values())[:SEARCH_LIMIT]

    def pull(self, query: PullQuery, known: Iterable[str] = ()) -> PullResult:
        """Issues (never pull requests) of the repository that the search qualifiers select, oldest
        first, through GitHub's issue search (which serves 1000 results at most). A known key the
        search leaves out is deleted when GitHub says so (see ``fetch_many``)."""
        repo = self._repository(query.project)
        if query.item_types:
            raise RemoteValidationError("GitHub issues have no work item types here: leave the types empty and "
                                        "select issues by label in the filter.")
        search = " ".join(part for part in (query.filter.strip(), "is:issue", f"repo:{repo}") if part)
        items: list[PulledItem] = []
        with self._github() as http:
            response = http.get("search/issues", params={"q": search, "sort": "created", "order": "asc",
                                                         "per_page": PAGE_SIZE})
            while True:
                found = _object(response, "search results").get("items")
                if not isinstance(found, list):
                    raise UpstreamError(f"{response.host} answered a search without items.", status=response.status)
                items += [self._pulled_item(raw, response, query.fields)
                          for raw in found if isinstance(raw, dict) and "pull_request" not in raw]
                following = _next_page(response)
                if following is None or len(items) >= PULL_LIMIT:
                    break
                response = http.get(following)
        seen = {item.key.lower() for item in items}
        unseen = [key for key in known if key.strip().lower() not in seen]
        return PullResult(items=tuple(items[:PULL_LIMIT]),
                          deleted=self.fetch_many(unseen).missing if unseen else frozenset())

    def _pulled_item(self, raw: dict, response: TrackerResponse, field_ids: Iterable[str]) -> PulledItem:
        return PulledItem(
            **vars(self._remote_issue(raw, response, etag=False)),
            description=str(raw.get("body") or ""),
            fields={field_id: github_field_value(raw.get(field_id)) for field_id in field_ids},
        )

    def _keys_in(self, text: str, repositories: list[str]) -> list[tuple[str, int]]:
        """The issues ``text`` names by key: owner/repo#12 anywhere, #12 in each assigned repository."""
        full = ISSUE_KEY.fullmatch(text)
        if full:
            return [(full["repo"], int(full["number"]))]
        short = SHORT_KEY.fullmatch(text)
        return [(repo, int(short["number"])) for repo in repositories] if short else []

    def _assigned_repositories(self) -> list[str]:
        """The repositories of this source's active project integrations."""
        if self.source.pk is None:
            return []
        values = (
            self.source.project_integrations.filter(state=IntegrationState.ACTIVE)
            .values_list("external_project", flat=True)
        )
        return sorted({value.strip() for value in values if REPOSITORY.fullmatch(value.strip())}, key=str.lower)

    def _remote_issue(self, raw: dict, response: TrackerResponse, *, etag: bool = True) -> RemoteIssue:
        """The issue under the key GitHub spells it with now: a transferred issue has its new one."""
        repository = _REPOSITORY_URL.search(str(raw.get("repository_url") or ""))
        if not isinstance(raw.get("number"), int) or repository is None:
            raise UpstreamError(f"{response.host} answered with an issue without its number or repository.",
                                status=response.status)
        is_open = raw.get("state") == "open"
        status = OPEN if is_open else CLOSED_AS.get(str(raw.get("state_reason")), CLOSED)
        assignees = raw.get("assignees") if isinstance(raw.get("assignees"), list) else []
        return RemoteIssue(
            key=f"{repository['repo']}#{raw['number']}",
            title=str(raw.get("title") or ""),
            status=status,
            status_category="todo" if is_open else "done",
            assignee=", ".join(str(person.get("login")) for person in assignees if isinstance(person, dict)),
            priority="",
            url=str(raw.get("html_url") or ""),
            updated_at=_timestamp(raw.get("updated_at")),
            etag=(response.headers.get("ETag") or "") if etag else "",
            created_at=_timestamp(raw.get("created_at")),
            resolved_at=None if is_open else _timestamp(raw.get("closed_at")),
        )

    # -- writing --

    def create_issue(self, draft: IssueDraft) -> CreatedIssue:
        """File ``draft`` in its repository. Labels, assignees and a milestone (by number or
        title) need push access: GitHub drops them otherwise, and the notes say so."""
        repo = self._repository(draft.project)
        extra = dict(draft.fields)
        labels = [*draft.labels, *_strings(extra.pop("labels", ()))]
        assignees = [*([draft.assignee] if draft.assignee else []), *_strings(extra.pop("assignees", ()))]
        milestone = extra.pop("milestone", None)
        if extra:
            names = ", ".join(sorted(extra))
            raise RemoteValidationError(
                f"GitHub issues have no field {names}: only labels, assignees and milestone can be set.",
                field_errors={name: "GitHub issues have no such field." for name in extra},
            )
        notes = self._left_out(draft)
        description = draft.description.strip()
        if draft.reporter is not None and self.user_token is None:
            who = draft.reporter.name or draft.reporter.email
            description = "\n\n".join(filter(None, [description, f"Reported by {who} via testmanager."]))
        payload: dict[str, Any] = {"title": draft.title, "body": inert_markdown(description)}
        if labels:
            payload["labels"] = list(dict.fromkeys(labels))
        if assignees:
            payload["assignees"] = list(dict.fromkeys(assignees))
        with self._github() as http:
            if milestone not in (None, ""):
                payload["milestone"] = self._milestone_number(http, repo, milestone)
            response = http.post(f"repos/{repo}/issues", json=payload)
            raw = _object(response, "the created issue")
            issue = self._remote_issue(raw, response)
        dropped = [name for name in ("labels", "assignees") if payload.get(name) and not raw.get(name)]
        if "milestone" in payload and not raw.get("milestone"):
            dropped.append("milestone")
        if dropped:
            notes.append(f"GitHub left out the {', '.join(dropped)}: the account lacks push access to {repo}.")
        return CreatedIssue(**vars(issue), notes=tuple(notes))

    def _left_out(self, draft: IssueDraft) -> list[str]:
        notes = []
        if draft.priority:
            notes.append(f"GitHub issues have no priority, so “{draft.priority}” was left out; "
                         "a label can carry it.")
        if draft.components:
            notes.append("GitHub issues have no components; labels can carry them.")
        if draft.due_date is not None:
            notes.append("GitHub issues have no due date; a milestone can carry one.")
        if draft.attachments:
            names = ", ".join(attachment.filename for attachment in draft.attachments)
            notes.append(f"Attachments stay in testmanager: GitHub's API takes no files on issues ({names}).")
        return notes

    def _milestone_number(self, http: TrackerHttpClient, repo: str, milestone: Any) -> int:
        if isinstance(milestone, int) or str(milestone).strip().isdigit():
            return int(milestone)
        wanted = " ".join(str(milestone).split()).casefold()
        for entry in self._pages(http, f"repos/{repo}/milestones"):
            if " ".join(str(entry.get("title")).split()).casefold() == wanted and isinstance(entry.get("number"), int):
                return entry["number"]
        problem = f"{repo} has no open milestone “{milestone}”."
        raise RemoteValidationError(f"{problem} Choose an open milestone or leave it empty.",
                                    field_errors={"milestone": problem})

    def add_comment(self, key: str, body: str) -> str:
        repo, number = self._locate(key)
        with self._github() as http:
            response = http.post(f"repos/{repo}/issues/{number}/comments", json={"body": inert_markdown(body)})
        return str(_object(response, "the comment").get("id") or "")

    def comments(self, key: str) -> list[RemoteComment]:
        """Every comment on the issue, oldest first (GitHub's order); bodies are Markdown already."""
        repo, number = self._locate(key)
        with self._github() as http:
            return [
                RemoteComment(
                    id=str(raw.get("id") or ""),
                    author=str((raw.get("user") or {}).get("login") or ""),
                    body=str(raw.get("body") or ""),
                    created_at=_timestamp(raw.get("created_at")),
                )
                for raw in self._pages(http, f"repos/{repo}/issues/{number}/comments")
            ]

    def transition(self, key: str, status: str) -> None:
        """Open or close the issue (closed as completed, not planned or duplicate); nothing to do
        when it is in that state already."""
        target = _TARGETS.get(" ".join(status.split()).casefold())
        if target is None:
            offered = ", ".join([OPEN, CLOSED, *CLOSED_AS.values()])
            problem = f"GitHub issues are {offered}, not “{status}”."
            raise RemoteValidationError(f"{problem} Check the project integration's status mapping.",
                                        field_errors={"status": problem})
        state, reason = target
        repo, number = self._locate(key)
        path = f"repos/{repo}/issues/{number}"
        with self._github() as http:
            current = _object(http.get(path), "an issue")
            if current.get("state") == state and (reason is None or current.get("state_reason") == reason):
                return
            http.patch(path, json={"state": state, **({"state_reason": reason} if reason else {})})

    # -- webhooks --

    def verify_webhook(self, request) -> None:
        """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``, keyed with the webhook secret."""
        self.check_signature(request.body, request.headers.get("X-Hub-Signature-256"), prefix="sha256=")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] = MappingProxyType({})) -> list[IssueEvent]:
        """``issues`` and ``issue_comment`` events of issues (``X-GitHub-Event``); pull requests, other
        events and comment edits carry nothing to apply. A transferred issue is read again (its key
        follows it)."""
        event = headers.get("X-GitHub-Event", "")
        payload = webhook_json(body)
        raw, repo = payload.get("issue"), (payload.get("repository") or {}).get("full_name")
        if (event not in WEBHOOK_EVENTS or not isinstance(raw, dict) or "pull_request" in raw
                or not isinstance(repo, str) or not isinstance(raw.get("number"), int)):
            return []
        delivery = delivery_id(headers, body, "X-GitHub-Delivery")
        key, action, updated = f"{repo}#{raw['number']}", payload.get("action"), _timestamp(raw.get("updated_at"))
        if event == "issues" and action == "deleted":
            return [IssueEvent(EventKind.DELETED, key, updated, delivery)]
        if event == "issues" and action == "transferred":
            return [IssueEvent(EventKind.CHANGED, key, updated, delivery)]
        issue = self._remote_issue(raw, delivery_response(self.source, body), etag=False)
        if event == "issues":
            kind = EventKind.CREATED if action == "opened" else EventKind.UPDATED
            return [IssueEvent(kind, key, updated, delivery, issue=issue)]
        comment = payload.get("comment")
        if action != "created" or not isinstance(comment, dict) or not comment.get("id"):
            return []
        remote_comment = RemoteComment(
            id=str(comment["id"]), author=str((comment.get("user") or {}).get("login") or ""),
            body=str(comment.get("body") or ""), created_at=_timestamp(comment.get("created_at")),
        )
        return [IssueEvent(EventKind.COMMENTED, key, updated, delivery, issue=issue, comment=remote_comment)]

    def register_webhook(self, url: str, secret: str) -> list[str]:
        """A repository hook for issue and comment events in each repository of the source's project
        integrations; a hook already sending to ``url`` is updated rather than added again."""
        repositories = self._assigned_repositories()
        if not repositories:
            raise NotConfigured("No project integration names a GitHub repository: assign the source to a project "
                                "with its owner/repo first.")
        config = {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}
        hook = {"active": True, "events": list(WEBHOOK_EVENTS), "config": config}
        registered = []
        with self._github() as http:
            for repo in repositories:
                existing = next((entry for entry in self._pages(http, f"repos/{repo}/hooks")
                                 if (entry.get("config") or {}).get("url") == url), None)
                if existing is None:
                    response = http.post(f"repos/{repo}/hooks", json={"name": "web", **hook})
                else:
                    response = http.patch(f"repos/{repo}/hooks/{existing.get('id')}", json=hook)
                registered.append(str(_object(response, "a hook").get("id") or ""))
        return registered

    # -- plumbing --

    def _repository(self, project: str) -> str:
        project = project.strip()
        if not project:
            raise NotConfigured(
                "This project integration names no GitHub repository: a project administrator must choose the "
                "repository (owner/repo) that issues are filed in."
            )
        if not REPOSITORY.fullmatch(project):
            raise NotConfigured(f"“{project}” is not a GitHub repository: write it as owner/repo.")
        return project

    def _locate(self, key: str) -> tuple[str, int]:
        found = ISSUE_KEY.fullmatch(key.strip())
        if found is None:
            raise RemoteValidationError(
                f"“{key}” does not say which repository it is in: GitHub keys are owner/repo#number."
            )
        return found["repo"], int(found["number"])

    def _pages(self, http: TrackerHttpClient, path: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a paged list, following the ``Link`` header's next page."""
        response = http.get(path, params={**(params or {}), "per_page": PAGE_SIZE})
        while True:
            yield from _list(response, "a list")
            following = _next_page(response)
            if following is None:
                return
            response = http.get(following)


def github_field_value(value: Any) -> FieldValue:
    """An issue field as pulls map it: a milestone (its title and due date), labels (their names),
    a person (the login), a date-time (its date), text or a number."""
    if isinstance(value, list):
        parts = [github_field_value(entry).text for entry in value]
        return FieldValue(text=", ".join(part for part in parts if part))
    if isinstance(value, dict):
        due = _timestamp(value.get("due_on"))
        return FieldValue(text=str(value.get("title") or value.get("name") or value.get("login") or ""),
                          day=due.date() if due else None)
    if value is None or isinstance(value, bool):
        return FieldValue()
    moment = _timestamp(value)
    return FieldValue(text=str(value), day=moment.date() if moment else None)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value or ()]
