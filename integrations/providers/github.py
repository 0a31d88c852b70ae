"""GitHub Issues on github.com and GitHub Enterprise Server (REST API, version 2022-11-28).

- github.com serves its API at api.github.com; Enterprise Server under ``/api/v3`` of the
  instance. Tokens (classic or fine-grained personal access tokens, members' OAuth tokens)
  travel as ``Bearer``.
- A key is ``owner/repo#number``; ``#12`` typed in a project is qualified with the project
  integration's repository (``qualify_key``).
- Reading many issues (``fetch_many``, ``refresh``) is one GraphQL query per 100 issues, at
  api.github.com/graphql or an Enterprise Server's /api/graphql. Where GraphQL is not served
  (404), it is one conditional GET per issue: with the ETag of the cached copy an unchanged
  issue answers 304, which GitHub does not count against the primary rate limit.
- A repository the token may not see answers as if it did not exist (REST 404, GraphQL
  NOT_FOUND): its issues are forbidden. In a visible repository, an issue that does not exist
  is missing; a deleted one answers 410; a transferred one redirects to its new repository, and
  comes back under the key asked for with its new key (as GitHub spells keys now) in ``key``.
  GraphQL says NOT_FOUND for deleted and transferred issues alike, so REST reads those again.
- Pull requests are issues to this API: search leaves them out.
- Descriptions and comments stay Markdown, with mentions and closing keywords made inert.
- Search runs in the repositories this source is assigned to (its project integrations).
- Releases are the repository's milestones (open and closed; a due date is the release date).
  GitHub has no sprints: a milestone is all there is to plan with, so ``plans`` never gives one.
"""

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from django.core.cache import cache

from integrations.errors import PermissionDenied, RateLimited, RemoteValidationError, UpstreamError
from integrations.http import (
    RemoteErrorDetail,
    TrackerHttpClient,
    TrackerResponse,
    generic_error_detail,
    retry_after_seconds,
)
from integrations.models import AUTH_TYPES_BY_PROVIDER, Provider
from integrations.richtext.forge import inert_markdown

from .answers import chunks, iso_timestamp, json_list, json_object
from .base import (
    PULL_LIMIT,
    Capability,
    ConnectionReport,
    CreatedIssue,
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

API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
PAGE_SIZE = 100  # the most GitHub serves per page
SEARCH_LIMIT = 50
SECONDARY_LIMIT_WAIT = 60  # "wait for at least one minute" when GitHub names no time
GRAPHQL_BATCH = 100  # issues a query: well within GitHub's node limit, one rate-limit point
NO_GRAPHQL_SECONDS = 3600  # how long an instance that answered 404 for GraphQL is read over REST only
GRAPHQL_RATE_LIMITED = ("RATE_LIMITED", "RATE_LIMIT")  # GitHub has answered both spellings
# The fields the REST mapping (``_remote_issue``) reads; an issue has at most 10 assignees.
# ``closed`` rather than ``state``: a pull request's state (OPEN, CLOSED, MERGED) is another type.
_ITEM_FIELDS = (
    "number title closed url createdAt updatedAt closedAt repository { nameWithOwner } "
    "assignees(first: 10) { nodes { login } } labels(first: 100) { nodes { name } }"
)
ITEM_FRAGMENT = (
    f"fragment item on IssueOrPullRequest {{ ... on Issue {{ {_ITEM_FIELDS} stateReason }} "
    f"... on PullRequest {{ {_ITEM_FIELDS} }} }}"
)
WRITE_SCOPES = frozenset({"repo", "public_repo"})
WEBHOOK_EVENTS = ("issues", "issue_comment")
COMMENT_ACTIONS = {
    "created": EventKind.COMMENTED, "edited": EventKind.COMMENT_EDITED, "deleted": EventKind.COMMENT_DELETED,
}  # fmt: skip

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


def _day(value: Any) -> date | None:
    moment = iso_timestamp(value)
    return moment.date() if moment else None


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


@dataclass
class _Read:
    """What reading many issues found, by the keys asked for."""

    issues: dict[str, RemoteIssue] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    forbidden: set[str] = field(default_factory=set)


def _batch_query(batch: list[tuple[str, int]]) -> tuple[str, dict[str, str]]:
    """One query for the issues of ``batch``: an alias per repository (``r0``...), within it one per
    issue number (``i12``...). Repository names travel as variables, numbers are integers."""
    repositories = list(dict.fromkeys(repo for repo, _ in batch))
    declarations, selections, variables = [], [], {}
    for index, repo in enumerate(repositories):
        owner, name = repo.split("/", 1)
        variables |= {f"o{index}": owner, f"n{index}": name}
        declarations.append(f"$o{index}: String!, $n{index}: String!")
        issues = " ".join(
            f"i{number}: issueOrPullRequest(number: {number}) {{ ...item }}"
            for wanted, number in batch
            if wanted == repo
        )
        selections.append(f"r{index}: repository(owner: $o{index}, name: $n{index}) {{ {issues} }}")
    query = f"query({', '.join(declarations)}) {{ {' '.join(selections)} }}\n{ITEM_FRAGMENT}"
    return query, variables


def _batch_answer(
    http: TrackerHttpClient, response: TrackerResponse, batch: list[tuple[str, int]]
) -> tuple[dict[tuple[str, int], dict], set[tuple[str, int]], set[tuple[str, int]]]:
    """(issues found, issues the account may not see, issues not found) in the answer to
    ``_batch_query(batch)``. GitHub answers what it could with ``data`` and names each part it could
    not in ``errors`` by ``type`` and ``path``: NOT_FOUND for a repository the account cannot see
    (or that does not exist) and for an issue that does not exist (any more, or not here), FORBIDDEN
    where an organization's SAML or IP allow list keeps the token out."""
    body = json_object(response, "a GraphQL answer")
    errors = [error for error in body.get("errors") or [] if isinstance(error, dict)]
    repositories = {f"r{index}": repo for index, repo in enumerate(dict.fromkeys(repo for repo, _ in batch))}
    hidden: set[tuple[str, int]] = set()
    not_found: set[tuple[str, int]] = set()
    for error in errors:
        kind, path = error.get("type"), error.get("path")
        message = http.excerpt(str(error.get("message") or ""))
        if kind in GRAPHQL_RATE_LIMITED or "rate limit" in message.lower():
            retry_after = retry_after_seconds(response.headers)
            when = f"try again in {math.ceil(retry_after)} s" if retry_after is not None else "try again later"
            raise RateLimited(
                f"GitHub's GraphQL rate limit is used up ({message}): {when}.",
                status=response.status,
                retry_after=retry_after,
            )
        repo = repositories.get(path[0]) if isinstance(path, list) and path else None
        number = _alias_number(path[1]) if repo and len(path) > 1 else None
        if kind not in ("NOT_FOUND", "FORBIDDEN") or repo is None or (len(path) > 1 and number is None):
            raise UpstreamError(
                f"{response.host} answered the GraphQL query with an error: {message}", status=response.status
            )
        parts = {(repo, number)} if number is not None else {wanted for wanted in batch if wanted[0] == repo}
        (not_found if kind == "NOT_FOUND" and number is not None else hidden).update(parts)
    data = body.get("data")
    if not isinstance(data, dict):
        raise UpstreamError(
            f"{response.host} answered the GraphQL query without data: check the base URL.", status=response.status
        )
    found = {}
    for alias, repo in repositories.items():
        for wanted in batch:
            if wanted[0] != repo or wanted in hidden or wanted in not_found:
                continue
            repository = data.get(alias)
            node = repository.get(f"i{wanted[1]}") if isinstance(repository, dict) else None
            if not isinstance(node, dict):
                raise UpstreamError(
                    f"{response.host} answered the GraphQL query without {repo}#{wanted[1]}.", status=response.status
                )
            found[wanted] = node
    return found, hidden, not_found


def _alias_number(alias: Any) -> int | None:
    found = re.fullmatch(r"i(\d+)", str(alias))
    return int(found[1]) if found else None


def _uncarried(raw: dict) -> frozenset[str]:
    """The fields a webhook's issue lacks: GitHub's webhook issue schema makes ``state`` optional (``pinned``,
    ``unpinned`` and others leave it out), and a state it does not name is no more known."""
    missing = fields_missing(
        raw, title="title", assignee="assignees", url="html_url", created_at="created_at", description="body"
    )
    return missing | {"status"} if raw.get("state") not in ("open", "closed") else missing


def _rest_shape(node: dict, api_base_url: str) -> dict:
    """A GraphQL issue or pull request in the REST API's field names, so that ``_remote_issue``
    maps both. A merged pull request is closed, as REST says; GraphQL's reasons are REST's in
    capitals (NOT_PLANNED)."""
    repository = (node.get("repository") or {}).get("nameWithOwner")
    assignees = (node.get("assignees") or {}).get("nodes") or []
    return {
        "number": node.get("number"),
        "repository_url": f"{api_base_url}/repos/{repository}" if isinstance(repository, str) else None,
        "title": node.get("title"),
        "state": "closed" if node.get("closed") else "open",
        "state_reason": str(node["stateReason"]).lower() if node.get("stateReason") else None,
        "assignees": [person for person in assignees if isinstance(person, dict)],
        **({"labels": (node.get("labels") or {}).get("nodes") or []} if isinstance(node.get("labels"), dict) else {}),
        "html_url": node.get("url"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "closed_at": node.get("closedAt"),
    }


def _repositories(projects: Iterable[str]) -> list[str]:
    """The ``owner/repo`` values among ``projects``, sorted."""
    return sorted({project.strip() for project in projects if REPOSITORY.fullmatch(project.strip())}, key=str.lower)


class GitHub(TrackerProvider):
    key = Provider.GITHUB
    label = Provider.GITHUB.label
    test_type_as_label = True
    severity_as_label = True
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.GITHUB]
    member_pats = True
    default_key_pattern = r"^(?:[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_.-]+#|#?)\d+$"
    default_issue_url_template = "{baseUrl}/{project}/issues/{number}"
    default_create_url_template = "{baseUrl}/{project}/issues/new?title={title}&body={description}"
    capabilities = frozenset(
        {Capability.READ_DETAILS, Capability.CREATE_ISSUES, Capability.ADD_COMMENTS, Capability.PROCESS_WEBHOOKS}
    )
    external_project_hint = "repository as owner/repo"
    external_project_pattern = r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9_.-]+$"
    base_url_hint = "https://github.com, or your GitHub Enterprise Server's address."
    read_error_detail = staticmethod(read_github_error)
    keys_per_request = GRAPHQL_BATCH
    pull_filter_hint = (
        "GitHub issue search qualifiers, e.g. label:requirement -label:wontfix; testmanager adds the repository "
        "and is:issue (GitHub issues have no work item types here)."
    )
    pull_field_hint = "Issue fields: milestone (its title and due date), labels, assignee, state_reason."

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

    @classmethod
    def project_of_key(cls, key: str) -> str:
        found = ISSUE_KEY.fullmatch(key.strip())
        return found["repo"] if found else ""

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
                status=error.status,
                retry_after=error.retry_after or SECONDARY_LIMIT_WAIT,
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
        body = json_object(response, "an account")
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
            return (
                f"The token's scopes ({granted}) include neither repo nor public_repo: it can read public "
                "repositories only and can neither file issues nor comment. Add the repo scope."
            )
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

    def find_project(self, project: str) -> RemoteProject:
        """The repository itself ("Get a repository"): 404 for one that does not exist or that the account
        cannot see; one with issues turned off takes none."""
        repo = self._repository(project)
        with self._github() as http:
            response = http.get(f"repos/{repo}", accept=(404,))
        if response.status == 404:
            raise UnknownProject(f"GitHub has no repository {repo} that the source's account can see.")
        body = json_object(response, "a repository")
        if not body.get("has_issues", True):
            raise UnknownProject(f"The GitHub repository {repo} has issues turned off.")
        name = str(body.get("full_name") or repo)
        return RemoteProject(key=name, name=name)

    def issue_types(self, project: str) -> list[RemoteIssueType]:
        """A repository's issues have no types to choose from."""
        return [RemoteIssueType(id="issue", name="Issue")]

    def fields(self, project: str, issue_type: str) -> list[RemoteField]:
        """Labels, milestone and assignees, which GitHub only takes from someone with push access."""
        repo = self._repository(project)
        with self._github() as http:
            permissions = json_object(http.get(f"repos/{repo}"), "a repository").get("permissions") or {}
            if not permissions.get("push"):
                return []
            labels = [str(item.get("name")) for item in self._pages(http, f"repos/{repo}/labels")]
            milestones = [str(item.get("title")) for item in self._pages(http, f"repos/{repo}/milestones")]
            people = [str(item.get("login")) for item in self._pages(http, f"repos/{repo}/assignees")]
        return [
            RemoteField(id="labels", name="Labels", required=False, kind="labels", allowed_values=tuple(labels)),
            RemoteField(
                id="milestone", name="Milestone", required=False, kind="select", allowed_values=tuple(milestones)
            ),
            RemoteField(
                id="assignees", name="Assignees", required=False, kind="multi_user", allowed_values=tuple(people)
            ),
        ]

    def owner_account(self) -> RemoteUser:
        """Get the authenticated user (``GET /user``): assignees take its login."""
        with self._github() as http:
            response = http.get("user")
        login = json_object(response, "an account").get("login")
        if not isinstance(login, str) or not login:
            raise UpstreamError(f"{response.host} did not answer /user with an account.", status=response.status)
        return RemoteUser(id=login, name=login)

    def users(self, project: str, text: str) -> list[RemoteUser]:
        """The repository's assignable people whose login starts with ``text`` (GitHub shows no one's
        e-mail address or name to a repository's list of assignees: a login is all it matches)."""
        wanted = text.strip().casefold()
        if not wanted:
            return []
        repo = self._repository(project)
        with self._github() as http:
            logins = [str(item.get("login")) for item in self._pages(http, f"repos/{repo}/assignees")]
        return [RemoteUser(id=login, name=login) for login in logins if login.casefold().startswith(wanted)]

    # -- reading issues --

    def fetch_many(self, keys: Iterable[str]) -> FetchResult:
        """Current state of many issues (and pull requests named by key), 100 to a GraphQL query."""
        return self._read(keys, {})

    def refresh(self, known: Mapping[str, RemoteIssue]) -> FetchResult:
        """Like ``fetch_many``. GraphQL has no conditional requests, so the cached ETags go unused
        and a refresh costs one query per 100 issues whether they changed or not: a REST 304 is
        free of the primary rate limit but still one request per issue, and those requests count
        toward the secondary limits (10,000 references were 10,000 requests). Where GraphQL is not
        served, the REST path sends the ETags and an unchanged issue keeps its cached values."""
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
        with self._github() as http:
            read = _Read() if not asked else None
            if asked and not cache.get(self._no_graphql_key):
                read = self._read_graphql(http, asked)
                if read is None:
                    # Remembered for a while, so reads on an instance without GraphQL don't each start with a 404.
                    cache.set(self._no_graphql_key, True, NO_GRAPHQL_SECONDS)
            if read is None:
                read = self._read_rest(http, asked, known)
        return FetchResult(
            issues=read.issues,
            missing=frozenset(read.missing | set(malformed)),
            forbidden=frozenset(read.forbidden | set(unreadable)),
        )

    @property
    def _no_graphql_key(self) -> str:
        return f"integrations:github:no-graphql:{self.source.pk}:{self.source.base_url}"

    @property
    def graphql_url(self) -> str:
        """api.github.com/graphql; Enterprise Server serves GraphQL at /api/graphql, beside /api/v3."""
        if urlsplit(self.source.base_url).hostname in ("github.com", "www.github.com"):
            return "https://api.github.com/graphql"
        return f"{self.source.base_url}/api/graphql"

    def _read_graphql(self, http: TrackerHttpClient, asked: dict[tuple[str, int], list[str]]) -> _Read | None:
        """Up to ``GRAPHQL_BATCH`` issues a query, aliased by repository and number; None when the
        instance serves no GraphQL (404). GraphQL answers NOT_FOUND alike for a deleted issue and a
        transferred one: those few are read again over REST, which follows a transfer and says 410
        for a deleted issue."""
        read = _Read()
        unresolved: list[tuple[str, int]] = []
        pairs = list(asked)
        for batch in chunks(pairs, GRAPHQL_BATCH):
            query, variables = _batch_query(batch)
            response = http.post(
                self.graphql_url, json={"query": query, "variables": variables}, idempotent=True, accept=(404,)
            )
            if response.status == 404:
                return None
            found, hidden, not_found = _batch_answer(http, response, batch)
            for wanted in batch:
                if wanted in hidden:
                    read.forbidden.update(asked[wanted])
                elif wanted in not_found:
                    unresolved.append(wanted)
                else:
                    issue = self._remote_issue(_rest_shape(found[wanted], self.api_base_url), response, etag=False)
                    read.issues.update(dict.fromkeys(asked[wanted], issue))
        for repo, number in unresolved:
            response = http.get(f"repos/{repo}/issues/{number}", accept=(404, 410))
            if response.status == 200:
                issue = self._remote_issue(json_object(response, "an issue"), response)
                read.issues.update(dict.fromkeys(asked[(repo, number)], issue))
            else:
                read.missing.update(asked[(repo, number)])
        return read

    def _read_rest(
        self, http: TrackerHttpClient, asked: dict[tuple[str, int], list[str]], known: Mapping[str, RemoteIssue]
    ) -> _Read:
        """One conditional GET per issue: with the cached copy's ETag an unchanged issue answers 304
        (free of the primary rate limit) and the cached values stand."""
        read = _Read()
        not_found: dict[str, list[str]] = {}  # repository -> spellings GitHub answered 404 for
        for (repo, number), spellings in asked.items():
            cached = next((known[s] for s in spellings if s in known and known[s].etag), None)
            headers = {"If-None-Match": cached.etag} if cached else None
            response = http.get(f"repos/{repo}/issues/{number}", headers=headers, accept=(304, 404, 410))
            if response.status == 304 and cached is not None:
                read.issues.update(dict.fromkeys(spellings, cached))
            elif response.status == 404:
                not_found.setdefault(repo, []).extend(spellings)
            elif response.status == 410:
                read.missing.update(spellings)
            else:
                issue = self._remote_issue(json_object(response, "an issue"), response)
                read.issues.update(dict.fromkeys(spellings, issue))
        for repo, spellings in not_found.items():
            visible = http.get(f"repos/{repo}", accept=(404,)).status == 200
            (read.missing if visible else read.forbidden).update(spellings)
        return read

    def search(self, text: str, within: Sequence[str] | None = None) -> list[RemoteIssue]:
        """Issues (never pull requests) whose key is ``text``, or whose title, body or comments
        contain its words, in the source's repositories (``within``: only those, one ``repo:``
        qualifier each, and keys only of those); most recently updated first."""
        text = text.strip()
        if not text:
            return []
        repositories = self._assigned_repositories() if within is None else _repositories(within)
        found: dict[str, RemoteIssue] = {}
        with self._github() as http:
            for repo, number in self._keys_in(text, repositories, scoped=within is not None):
                response = http.get(f"repos/{repo}/issues/{number}", accept=(404, 410))
                raw = json_object(response, "an issue") if response.status == 200 else {}
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
                items = json_object(response, "search results").get("items")
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
        search = self._pull_search(query)
        items: list[PulledItem] = []
        with self._github() as http:
            response = http.get(
                "search/issues", params={"q": search, "sort": "created", "order": "asc", "per_page": PAGE_SIZE}
            )
            while True:
                found = json_object(response, "search results").get("items")
                if not isinstance(found, list):
                    raise UpstreamError(f"{response.host} answered a search without items.", status=response.status)
                items += [
                    self._pulled_item(raw, response, query.fields)
                    for raw in found
                    if isinstance(raw, dict) and "pull_request" not in raw
                ]
                following = _next_page(response)
                if following is None or len(items) >= PULL_LIMIT:
                    break
                response = http.get(following)
        seen = {item.key.lower() for item in items}
        unseen = [key for key in known if key.strip().lower() not in seen]
        return PullResult(
            items=tuple(items[:PULL_LIMIT]), deleted=self.fetch_many(unseen).missing if unseen else frozenset()
        )

    def count_matching(self, query: PullQuery) -> MatchCount:
        """The ``total_count`` of the pull's issue search (one result asked for); approximate when GitHub
        says its results are incomplete (the search timed out)."""
        with self._github() as http:
            response = http.get("search/issues", params={"q": self._pull_search(query), "per_page": 1})
        body = json_object(response, "search results")
        total = body.get("total_count")
        if not isinstance(total, int):
            raise UpstreamError(f"{response.host} answered a search without a total.", status=response.status)
        return MatchCount(total, precision="approximate" if body.get("incomplete_results") else "exact")

    def _pull_search(self, query: PullQuery) -> str:
        """The search of a pull: the filter's qualifiers, issues only, in the repository."""
        repo = self._repository(query.project)
        if query.item_types:
            raise RemoteValidationError(
                "GitHub issues have no work item types here: leave the types empty and "
                "select issues by label in the filter."
            )
        return " ".join(part for part in (query.filter.strip(), "is:issue", f"repo:{repo}") if part)

    def plans(self, project: str, board: str = "") -> list[RemotePlan]:
        """The repository's milestones, open and closed, as releases: the due date is the release
        date, a closed milestone is done. GitHub has no sprints (nor boards), so ``board`` is unused."""
        repo = self._repository(project)
        with self._github() as http:
            return [
                RemotePlan(
                    "release",
                    str(milestone["number"]),
                    str(milestone.get("title") or ""),
                    end=_day(milestone.get("due_on")),
                    done=milestone.get("state") == "closed",
                )
                for milestone in self._pages(http, f"repos/{repo}/milestones", {"state": "all"})
                if isinstance(milestone.get("number"), int)
            ]

    def _pulled_item(self, raw: dict, response: TrackerResponse, field_ids: Iterable[str]) -> PulledItem:
        return PulledItem(
            **vars(self._remote_issue(raw, response, etag=False)),
            description=str(raw.get("body") or ""),
            fields={field_id: github_field_value(raw.get(field_id)) for field_id in field_ids},
        )

    def _keys_in(self, text: str, repositories: list[str], *, scoped: bool = False) -> list[tuple[str, int]]:
        """The issues ``text`` names by key: owner/repo#12 anywhere (``scoped``: only in ``repositories``),
        #12 in each of ``repositories``."""
        full = ISSUE_KEY.fullmatch(text)
        if full:
            if scoped and full["repo"].lower() not in {repo.lower() for repo in repositories}:
                return []
            return [(full["repo"], int(full["number"]))]
        short = SHORT_KEY.fullmatch(text)
        return [(repo, int(short["number"])) for repo in repositories] if short else []

    def _assigned_repositories(self) -> list[str]:
        """The repositories of this source's active project integrations."""
        return _repositories(self.assigned_projects())

    def _remote_issue(self, raw: dict, response: TrackerResponse, *, etag: bool = True) -> RemoteIssue:
        """The issue under the key GitHub spells it with now: a transferred issue has its new one."""
        repository = _REPOSITORY_URL.search(str(raw.get("repository_url") or ""))
        if not isinstance(raw.get("number"), int) or repository is None:
            raise UpstreamError(
                f"{response.host} answered with an issue without its number or repository.", status=response.status
            )
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
            updated_at=iso_timestamp(raw.get("updated_at")),
            etag=(response.headers.get("ETag") or "") if etag else "",
            created_at=iso_timestamp(raw.get("created_at")),
            resolved_at=None if is_open else iso_timestamp(raw.get("closed_at")),
            labels=label_names(raw),
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
                field_errors=dict.fromkeys(extra, "GitHub issues have no such field."),
            )
        notes = self._left_out(draft)
        description = draft.description.strip()
        if draft.reporter is not None and self.user_token is None:
            who = draft.reporter.name or draft.reporter.email
            description = "\n\n".join(filter(None, [description, f"Reported by {who} via testmanager."]))
        linked = [file for file in draft.attachments if file.download_url and not file.problem]
        unlinked = tuple(file.filename for file in draft.attachments if file not in linked)
        description = with_file_links(
            description, (f"[{markdown_link_text(file.filename)}]({file.download_url})" for file in linked)
        )
        payload: dict[str, Any] = {"title": draft.title, "body": inert_markdown(description)}
        if labels:
            payload["labels"] = list(dict.fromkeys(labels))
        if assignees:
            payload["assignees"] = list(dict.fromkeys(assignees))
        with self._github() as http:
            if milestone not in (None, ""):
                payload["milestone"] = self._milestone_number(http, repo, milestone)
            response = http.post(f"repos/{repo}/issues", json=payload)
            raw = json_object(response, "the created issue")
            issue = self._remote_issue(raw, response)
        dropped = [name for name in ("labels", "assignees") if payload.get(name) and not raw.get(name)]
        if "milestone" in payload and not raw.get("milestone"):
            dropped.append("milestone")
        if dropped:
            notes.append(f"GitHub left out the {', '.join(dropped)}: the account lacks push access to {repo}.")
        return CreatedIssue(**vars(issue), notes=tuple(notes), unsent_files=unlinked)

    def update_issue(self, key: str, draft: IssueDraft) -> None:
        """Update an issue (``PATCH /repos/{repo}/issues/{number}``): title, body, and labels, which
        replace the issue's (GitHub drops them without push access). GitHub issues have no priority."""
        repo, number = self._locate(key)
        payload: dict[str, Any] = {"title": draft.title, "body": inert_markdown(draft.description.strip())}
        labels = [*draft.labels, *_strings(dict(draft.fields).get("labels", ()))]
        if labels:
            payload["labels"] = list(dict.fromkeys(labels))
        with self._github() as http:
            http.patch(f"repos/{repo}/issues/{number}", json=payload)

    def set_labels(self, key: str, labels: Sequence[str]) -> None:
        """Update an issue with ``labels`` (they replace the issue's; GitHub creates a label it lacks)."""
        repo, number = self._locate(key)
        with self._github() as http:
            http.patch(f"repos/{repo}/issues/{number}", json={"labels": list(dict.fromkeys(labels))})

    def _left_out(self, draft: IssueDraft) -> list[str]:
        notes = []
        if draft.priority:
            notes.append(f"GitHub issues have no priority, so “{draft.priority}” was left out; a label can carry it.")
        if draft.components:
            notes.append("GitHub issues have no components; labels can carry them.")
        if draft.due_date is not None:
            notes.append("GitHub issues have no due date; a milestone can carry one.")
        for file in draft.attachments:
            if file.problem:
                notes.append(f"{file.filename} was not linked on GitHub: {file.problem}.")
            elif not file.download_url:
                notes.append(
                    f"{file.filename} was not sent to GitHub: GitHub's API takes no files, and the file is not "
                    "kept in testmanager to be linked."
                )
        return notes

    def _milestone_number(self, http: TrackerHttpClient, repo: str, milestone: Any) -> int:
        if isinstance(milestone, int) or str(milestone).strip().isdigit():
            return int(milestone)
        wanted = " ".join(str(milestone).split()).casefold()
        for entry in self._pages(http, f"repos/{repo}/milestones"):
            if " ".join(str(entry.get("title")).split()).casefold() == wanted and isinstance(entry.get("number"), int):
                return entry["number"]
        problem = f"{repo} has no open milestone “{milestone}”."
        raise RemoteValidationError(
            f"{problem} Choose an open milestone or leave it empty.", field_errors={"milestone": problem}
        )

    def add_comment(self, key: str, body: str) -> str:
        repo, number = self._locate(key)
        with self._github() as http:
            response = http.post(f"repos/{repo}/issues/{number}/comments", json={"body": inert_markdown(body)})
        return str(json_object(response, "the comment").get("id") or "")

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        """Replace the comment's text. GitHub addresses a comment by its id within the repository; a
        comment on an issue that was deleted is gone with it (404)."""
        repo, _ = self._locate(key)
        with self._github() as http:
            http.patch(
                f"repos/{repo}/issues/comments/{quote(comment_id.strip(), safe='')}",
                json={"body": inert_markdown(body)},
            )

    def comments(self, key: str) -> list[RemoteComment]:
        """Every comment on the issue, oldest first (GitHub's order); bodies are Markdown already."""
        repo, number = self._locate(key)
        with self._github() as http:
            return [
                RemoteComment(
                    id=str(raw.get("id") or ""),
                    author=str((raw.get("user") or {}).get("login") or ""),
                    body=str(raw.get("body") or ""),
                    created_at=iso_timestamp(raw.get("created_at")),
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
            raise RemoteValidationError(
                f"{problem} Check the project integration's status mapping.", field_errors={"status": problem}
            )
        state, reason = target
        repo, number = self._locate(key)
        path = f"repos/{repo}/issues/{number}"
        with self._github() as http:
            current = json_object(http.get(path), "an issue")
            if current.get("state") == state and (reason is None or current.get("state_reason") == reason):
                return
            http.patch(path, json={"state": state, **({"state_reason": reason} if reason else {})})

    # -- webhooks --

    def verify_webhook(self, request) -> None:
        """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``, keyed with the webhook secret."""
        self.check_signature(request.body, request.headers.get("X-Hub-Signature-256"), prefix="sha256=")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] = MappingProxyType({})) -> list[IssueEvent]:
        """``issues`` and ``issue_comment`` (created, edited, deleted) events of issues (``X-GitHub-Event``);
        pull requests and other events carry nothing to apply. A transfer is an update of the new issue that
        names the key it had (``moved_from``). An event's issue is read as a pull reads it (its body is the
        description); what it lacks is unknown: ``pinned`` and ``unpinned`` carry no ``state``."""
        event = headers.get("X-GitHub-Event", "")
        payload = webhook_json(body)
        raw, repo = payload.get("issue"), (payload.get("repository") or {}).get("full_name")
        if (
            event not in WEBHOOK_EVENTS
            or not isinstance(raw, dict)
            or "pull_request" in raw
            or not isinstance(repo, str)
            or not isinstance(raw.get("number"), int)
        ):
            return []
        delivery = delivery_id(headers, body, "X-GitHub-Delivery")
        key, action, updated = f"{repo}#{raw['number']}", payload.get("action"), iso_timestamp(raw.get("updated_at"))
        if event == "issues" and action == "deleted":
            return [IssueEvent(EventKind.DELETED, key, updated, delivery)]
        if event == "issues" and action == "transferred":
            return self._transferred(payload, key, delivery, body)
        issue = replace(self._pulled_item(raw, delivery_response(self.source, body), ()), unknown=_uncarried(raw))
        if event == "issues":
            kind = EventKind.CREATED if action == "opened" else EventKind.UPDATED
            return [IssueEvent(kind, key, updated, delivery, issue=issue)]
        comment, kind = payload.get("comment"), COMMENT_ACTIONS.get(str(action))
        if kind is None or not isinstance(comment, dict) or not comment.get("id"):
            return []
        remote_comment = RemoteComment(
            id=str(comment["id"]),
            author=str((comment.get("user") or {}).get("login") or ""),
            body=str(comment.get("body") or ""),
            created_at=iso_timestamp(comment.get("created_at")),
            updated_at=iso_timestamp(comment.get("updated_at")),
        )
        return [IssueEvent(kind, key, updated, delivery, issue=issue, comment=remote_comment)]

    def _transferred(self, payload: dict, key: str, delivery: str, body: bytes) -> list[IssueEvent]:
        """A transfer: ``issue`` is the issue as it was, ``changes.new_issue`` the one it became in
        ``changes.new_repository``. The event is about the new key and says which one the issue had; a
        payload without the new issue asks for the old key to be read again (REST follows the transfer)."""
        changes = payload.get("changes") if isinstance(payload.get("changes"), dict) else {}
        new_issue = changes.get("new_issue") if isinstance(changes.get("new_issue"), dict) else {}
        new_repository = changes.get("new_repository") if isinstance(changes.get("new_repository"), dict) else {}
        new_repo = new_repository.get("full_name")
        if not isinstance(new_issue.get("number"), int) or not isinstance(new_repo, str):
            return [IssueEvent(EventKind.CHANGED, key, None, delivery)]
        raw = {"repository_url": f"{self.api_base_url}/repos/{new_repo}", **new_issue}
        issue = self._remote_issue(raw, delivery_response(self.source, body), etag=False)
        return [IssueEvent(EventKind.UPDATED, issue.key, issue.updated_at, delivery, issue=issue, moved_from=key)]

    def register_webhook(self, url: str, secret: str) -> list[str]:
        """A repository hook for issue and comment events in each repository of the source's project
        integrations; a hook already sending to ``url`` is updated rather than added again."""
        repositories = self._assigned_repositories()
        if not repositories:
            raise NotConfigured(
                "No project integration names a GitHub repository: assign the source to a project "
                "with its owner/repo first."
            )
        config = {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}
        hook = {"active": True, "events": list(WEBHOOK_EVENTS), "config": config}
        registered = []
        with self._github() as http:
            for repo in repositories:
                existing = next(
                    (
                        entry
                        for entry in self._pages(http, f"repos/{repo}/hooks")
                        if (entry.get("config") or {}).get("url") == url
                    ),
                    None,
                )
                if existing is None:
                    response = http.post(f"repos/{repo}/hooks", json={"name": "web", **hook})
                else:
                    response = http.patch(f"repos/{repo}/hooks/{existing.get('id')}", json=hook)
                registered.append(str(json_object(response, "a hook").get("id") or ""))
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
            yield from json_list(response, "a list")
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
        return FieldValue(
            text=str(value.get("title") or value.get("name") or value.get("login") or ""), day=_day(value.get("due_on"))
        )
    if value is None or isinstance(value, bool):
        return FieldValue()
    return FieldValue(text=str(value), day=_day(value))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value or ()]
