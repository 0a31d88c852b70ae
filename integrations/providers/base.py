"""The interface every tracker implements, its result types and its class metadata.

A provider is built for one ``Source`` (and optionally one member's ``UserToken``) and is
short-lived: build it, call an operation, drop it. Construction refuses credentials that
no longer decrypt before anything is sent. Every request goes through ``client()``, the
one ``TrackerHttpClient`` configured with the source's credentials (redacted from every
error and log line) and the source's request budget.

An operation a provider does not implement raises ``Unsupported``; what a provider does
implement is declared in ``capabilities`` (``OPERATIONS`` says which methods each
capability needs), and the admin only offers declared capabilities.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from integrations import keys
from integrations.errors import CredentialsUnreadable, NotFound, TrackerError
from integrations.fields import Unreadable
from integrations.http import ErrorDetailReader, TrackerHttpClient, TrackerResponse, generic_error_detail
from integrations.models import AuthType, IntegrationState, TokenKind

# --- Errors ---------------------------------------------------------------------------


class Unsupported(TrackerError):
    """The tracker (or this provider) does not offer the operation."""

    code = "unsupported"
    default_message = "This tracker does not support that operation."


class WebhookRejected(TrackerError):
    """A webhook delivery whose signature or shape is not acceptable."""

    code = "webhook_rejected"
    default_message = "The webhook delivery was rejected: its signature does not match the source's webhook secret."


class MalformedDelivery(WebhookRejected):
    """A delivery that passed or needs no signature check but cannot be read: a bad request (400), not a forgery."""

    code = "webhook_malformed"
    default_message = "The webhook delivery cannot be read."


class NotConfigured(TrackerError):
    """The project integration lacks a setting the operation needs (an external project, an issue type)."""

    code = "not_configured"
    default_message = "The project integration is not fully set up: a project administrator must complete it."


class UnknownProject(NotFound):
    """The tracker answers, and has no external project by that name that the credentials can see (as
    opposed to a 404 of the tracker's API itself: a wrong base URL is not an unknown project)."""


# --- Capabilities ---------------------------------------------------------------------


class Capability(StrEnum):
    READ_DETAILS = "read_details"
    CREATE_ISSUES = "create_issues"
    ADD_COMMENTS = "add_comments"
    PROCESS_WEBHOOKS = "process_webhooks"


# The Source toggle of each capability.
CAPABILITY_FIELDS = {
    Capability.READ_DETAILS: "can_read_details",
    Capability.CREATE_ISSUES: "can_create_issues",
    Capability.ADD_COMMENTS: "can_add_comments",
    Capability.PROCESS_WEBHOOKS: "can_process_webhooks",
}

# The operations a provider must implement to declare a capability.
OPERATIONS = {
    Capability.READ_DETAILS: ("fetch_many",),
    Capability.CREATE_ISSUES: ("create_issue",),
    Capability.ADD_COMMENTS: ("add_comment",),
    Capability.PROCESS_WEBHOOKS: ("verify_webhook", "parse_webhook"),
}

# --- Credentials ----------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialField:
    """One part of a source's credentials, as the admin form asks for it."""

    name: str  # key in Source.credentials
    label: str
    secret: bool
    help_text: str = ""


EMAIL = CredentialField("email", "Account email", secret=False, help_text="The account the API token belongs to.")
API_TOKEN = CredentialField("api_token", "API token", secret=True)
TOKEN = CredentialField("token", "Personal access token", secret=True)
USERNAME = CredentialField("username", "Username", secret=False)
PASSWORD = CredentialField("password", "Password", secret=True)
CLIENT_ID = CredentialField(
    "client_id",
    "OAuth client ID",
    secret=False,
    help_text="From the OAuth app registered in the tracker; each member authorizes their own account.",
)
CLIENT_SECRET = CredentialField("client_secret", "OAuth client secret", secret=True)
HEADER_NAME = CredentialField(
    "header_name", "API key header", secret=False, help_text="The request header the key travels in, e.g. X-API-Key."
)
HEADER_VALUE = CredentialField("header_value", "API key", secret=True)
# An HTTP header name (RFC 9110 token).
HEADER_NAME_PATTERN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

CREDENTIAL_FIELDS: Mapping[str, tuple[CredentialField, ...]] = {
    AuthType.API_TOKEN: (EMAIL, API_TOKEN),
    AuthType.PAT: (TOKEN,),
    AuthType.OAUTH2: (CLIENT_ID, CLIENT_SECRET),
    AuthType.BASIC: (USERNAME, PASSWORD),
    AuthType.API_KEY: (HEADER_NAME, HEADER_VALUE),
    AuthType.NONE: (),
}


# --- Results --------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionReport:
    """What a successful connection check found."""

    user: str  # who the tracker says the credentials are; "" when no account was checked
    detail: str  # one sentence for the administrator
    rate_limit_remaining: int | None = None
    rate_limit_limit: int | None = None
    token_expires_at: datetime | None = None
    access: str = ""  # one sentence on what the account may reach (projects, repositories)

    @property
    def summary(self) -> str:
        text = " ".join(filter(None, [self.detail, self.access]))
        if self.rate_limit_remaining is not None:
            limit = f" of {self.rate_limit_limit}" if self.rate_limit_limit is not None else ""
            text += f" Rate limit: {self.rate_limit_remaining}{limit} requests left."
        if self.token_expires_at is not None:
            text += f" The token expires at {self.token_expires_at:%Y-%m-%d %H:%M %Z}."
        return text


@dataclass(frozen=True)
class RemoteIssue:
    key: str
    title: str
    status: str
    status_category: str  # one of StatusCategory.values (integrations.mappings)
    assignee: str
    priority: str
    url: str
    updated_at: datetime | None
    # The tracker's validator for a conditional re-read (GitHub's ETag); "" when it gave none.
    etag: str = ""
    # When the tracker says the issue was created and resolved (closed, completed); None where it did not say.
    created_at: datetime | None = None
    resolved_at: datetime | None = None
    # The fields above (by name) that the tracker's answer did not carry: a webhook payload may describe
    # the issue in part (GitHub's ``pinned`` has no ``state``, a GitLab note's issue no assignees). They
    # are unknown, never "empty" or "closed": the reference keeps its values of them.
    unknown: frozenset[str] = frozenset()
    # The tracker's own id of the issue where it outlives the key (Linear's UUID survives a team move that
    # gives a new identifier): a delivery naming a new key with a known id is about a moved issue. "" where
    # the tracker has none or did not say.
    remote_id: str = ""
    # The issue's labels (Jira labels, GitHub/GitLab/Linear labels, Azure DevOps tags) as the tracker
    # spells them; None where the answer did not carry them (unknown: the cached labels stay).
    labels: tuple[str, ...] | None = None


def label_names(raw: dict) -> tuple[str, ...] | None:
    """An issue's labels by name (GitHub and GitLab give objects or names); None when the payload has none."""
    if not isinstance(raw.get("labels"), list):
        return None
    names = (entry.get("name") if isinstance(entry, dict) else entry for entry in raw["labels"])
    return tuple(str(name) for name in names if isinstance(name, str) and name)


def fields_missing(raw: Mapping[str, Any], **keys: str) -> frozenset[str]:
    """The RemoteIssue fields (the argument names) whose tracker ``keys`` the payload ``raw`` lacks:
    ``fields_missing(raw, status="state")`` is ``{"status"}`` when ``raw`` has no ``state``."""
    return frozenset(name for name, key in keys.items() if key not in raw)


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch_many`` found, by the keys asked for.

    ``missing`` keys no longer exist (callers mark them deleted remotely); ``forbidden``
    keys may exist but the credentials cannot see them (callers keep them as they are).
    """

    issues: Mapping[str, RemoteIssue]
    missing: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CreatedIssue(RemoteIssue):
    """A created issue; ``notes`` say what did not go as drafted (reporter, attachments);
    ``unsent_files`` names each attachment that did not reach the tracker (the notes say why)."""

    notes: tuple[str, ...] = ()
    unsent_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Person:
    """A testmanager user as a tracker may know them, for matching to a tracker account."""

    name: str
    email: str = ""


@dataclass(frozen=True)
class DraftAttachment:
    """A file to send with a new issue. ``download_url`` is where members download it from this
    installation (a permission-checked page): trackers that take no files link to it instead."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    download_url: str = ""
    problem: str = ""  # why it cannot be sent at all (its stored file is gone), said instead of sending it

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class FilesSent:
    """What sending a draft's attachments did: the tracker's answer for each file sent, in order,
    and the names and reasons of the files it does not have."""

    answers: tuple[Any, ...] = ()
    unsent: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class IssueDraft:
    """A new remote issue; ``description`` is Markdown, the provider converts it."""

    project: str  # external project, as in ProjectIntegration.external_project
    issue_type: str
    title: str
    description: str = ""
    priority: str | None = None  # tracker priority name
    labels: tuple[str, ...] = ()
    assignee: str | None = None  # tracker account id
    fields: Mapping[str, Any] = field(default_factory=dict)  # further tracker fields by id
    components: tuple[str, ...] = ()
    due_date: date | None = None
    reporter: Person | None = None  # who reports it in testmanager
    attachments: tuple[DraftAttachment, ...] = ()


class EventKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    COMMENTED = "commented"  # ``comment`` holds the new comment; ``issue`` the state when the payload has it
    COMMENT_EDITED = "comment_edited"  # ``comment`` holds the comment's new text; ``issue`` as for COMMENTED
    COMMENT_DELETED = "comment_deleted"  # ``comment`` names the deleted comment (its text may be empty)
    CHANGED = "changed"  # the payload does not carry the new state: read the issue (and its comments) again


@dataclass(frozen=True)
class IssueEvent:
    """One change a webhook reported, normalized for the issues app."""

    kind: EventKind
    key: str
    updated_at: datetime | None  # the remote time of the change: older events never win
    delivery_id: str  # for deduplication
    issue: RemoteIssue | None = None  # the new state; None for deletions
    comment: "RemoteComment | None" = None  # the comment a COMMENTED, COMMENT_EDITED or COMMENT_DELETED event is about
    # The key the issue had until this event moved it (a transfer, a move to another project or team):
    # ``key`` is the new one. "" when the issue did not move.
    moved_from: str = ""
    # Where the delivery id travels outside what the signature covers (a header), a key of the signed
    # content itself (issue, event type, time), the same for each event of a delivery: a signed body
    # replayed under a new id is a duplicate by it. "" where the delivery id is all there is.
    content_key: str = ""

    def as_json(self) -> dict:
        """The event as JSON, for a delivery queued until a worker applies it (``from_json`` reads it back)."""
        return _jsonable(asdict(self))

    @classmethod
    def from_json(cls, raw: dict) -> "IssueEvent":
        issue, comment = raw["issue"], raw["comment"]
        if issue is not None:
            dated = {name: _read_datetime(issue[name]) for name in ("updated_at", "created_at", "resolved_at")}
            labels = None if issue["labels"] is None else tuple(issue["labels"])
            issue = {**issue, **dated, "unknown": frozenset(issue["unknown"]), "labels": labels}
            if "fields" in issue:  # a PulledItem: the issue with its description, type and further fields
                issue["fields"] = {
                    name: FieldValue(value["text"], value["day"] and date.fromisoformat(value["day"]))
                    for name, value in issue["fields"].items()
                }
            issue = (PulledItem if "fields" in issue else RemoteIssue)(**issue)
        if comment is not None:
            dated = {name: _read_datetime(comment[name]) for name in ("created_at", "updated_at")}
            comment = RemoteComment(**{**comment, **dated})
        when = _read_datetime(raw["updated_at"])
        return cls(**{**raw, "kind": EventKind(raw["kind"]), "updated_at": when, "issue": issue, "comment": comment})


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, date):  # and datetime
        return value.isoformat()
    return value


def _read_datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class RemoteProject:
    key: str
    name: str


@dataclass(frozen=True)
class RemoteIssueType:
    id: str
    name: str


@dataclass(frozen=True)
class RemoteBoard:
    """A board of a project (Jira Software's agile boards): ``id`` is what the integration stores."""

    id: str
    name: str


@dataclass(frozen=True)
class RemoteComponent:
    id: str
    name: str


@dataclass(frozen=True)
class RemoteField:
    id: str
    name: str
    required: bool
    # "text", "rich_text" (Markdown, converted), "number", "date", "datetime", "select",
    # "multi_select", "checkboxes", "user", "multi_user", "labels"; "unsupported" for the rest
    kind: str
    allowed_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemoteComment:
    """A comment read from the tracker; ``body`` is Markdown, converted from the tracker's format."""

    id: str
    author: str
    body: str
    created_at: datetime | None
    updated_at: datetime | None = None  # when its text last changed; None where the tracker did not say
    deleted: bool = False  # listed although deleted (Azure DevOps lists deleted comments when asked to)


@dataclass(frozen=True)
class RemoteUser:
    """A tracker account a user field can take: ``id`` is what the field is given (Jira's
    accountId or username, Linear's user id), ``name`` what people read."""

    id: str
    name: str


# The IssueDraft attributes a form field can fill (see TrackerProvider.draft_field_ids).
DRAFT_ATTRIBUTES = ("title", "description", "priority", "labels", "assignee", "components", "due_date")
_MARKDOWN_LINK_TEXT = re.compile(r"([\\\[\]`*_<>])")


def markdown_link_text(text: str) -> str:
    """``text`` on one line, safe as the text of a Markdown link."""
    return _MARKDOWN_LINK_TEXT.sub(r"\\\1", " ".join(text.split()))


def with_file_links(description: str, links: Iterable[str]) -> str:
    """``description`` followed by an "Attachments" list of Markdown ``links`` (none: unchanged)."""
    links = list(links)
    if not links:
        return description
    listed = "\n".join(f"- {link}" for link in links)
    return "\n\n".join(filter(None, [description.rstrip(), f"**Attachments**\n\n{listed}"]))


@dataclass(frozen=True)
class BackLink:
    """A testmanager page to show on a remote issue, so that whoever reads the issue finds the
    failing test: ``url`` is the page (a test result, case, run or requirement), ``status`` its
    test status in words ("Failed"), ``resolved`` whether that status means nothing is wrong
    any more, the icons 16x16 images a tracker may show next to the link."""

    url: str
    title: str
    status: str = ""
    resolved: bool = False
    icon_url: str = ""
    status_icon_url: str = ""

    def markdown(self) -> str:
        """One line naming and linking the page, for trackers that take the link as a comment."""
        title = markdown_link_text(self.title)
        status = f" ({' '.join(self.status.split())})" if self.status.strip() else ""
        return f"Linked in testmanager: [{title}]({self.url}){status}"


# --- OAuth 2.0 ------------------------------------------------------------------------


@dataclass(frozen=True)
class OAuthApp:
    """How a tracker's OAuth 2.0 authorization server is reached, for members authorizing their own
    accounts with the authorization-code grant (``integrations.oauth`` speaks the protocol).

    ``authorize_url`` is where the member's browser goes, ``token_url`` where codes and refresh
    tokens are exchanged; ``pkce`` whether the server takes a S256 code challenge;
    ``json_token_requests`` whether the token endpoint takes JSON (Atlassian) rather than a form;
    ``authorize_parameters`` and ``token_parameters`` what the tracker wants on top of RFC 6749's.
    """

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    scope_separator: str = " "
    pkce: bool = False
    json_token_requests: bool = False
    authorize_parameters: Mapping[str, str] = field(default_factory=dict)
    token_parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OAuthAccount:
    """Who a member's freshly granted token belongs to, and (Jira Cloud) the site it reaches:
    ``resource_id`` is the tracker's id of that site (the cloudId), ``resource_url`` its address."""

    name: str
    resource_id: str = ""
    resource_url: str = ""


# --- Pulling work items (requirements, bugs) ------------------------------------------

PULL_LIMIT = 5000  # work items one pull reads at most


@dataclass(frozen=True)
class FieldValue:
    """A work item field as a pull reads it: ``text`` what people read (a version's, sprint's or
    iteration's name, an option, a date as written), ``day`` the date it carries (a date field, a
    version's release date, a sprint's end). Both empty when the item leaves the field empty."""

    text: str = ""
    day: date | None = None


@dataclass(frozen=True)
class PullQuery:
    """The work items a pull takes: those of ``project`` (the external project) matching ``filter``,
    written in the tracker's own terms (JQL, a WIQL condition, ...), whose type is one of
    ``item_types`` (any type when empty), read with the further tracker ``fields`` (by id) that
    releases, sprints, dates and severities are mapped from."""

    project: str
    filter: str = ""
    item_types: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchCount:
    """How many work items a pull's query selects, as a dry run of its filter found: ``exact``, an
    ``approximate`` figure the tracker estimated (Jira Cloud), or ``at_least`` where counting stopped at
    ``count`` (trackers counted by listing, up to ``PULL_LIMIT``)."""

    count: int
    precision: str = "exact"  # "exact", "approximate" or "at_least"

    def in_words(self) -> str:
        """ "matches 37 work items", "matches about 37 work items", "matches at least 5000 work items"."""
        qualifier = {"approximate": "about ", "at_least": "at least "}.get(self.precision, "")
        noun = "work item" if self.count == 1 else "work items"
        return f"matches {qualifier}{self.count} {noun}"


@dataclass(frozen=True)
class PulledItem(RemoteIssue):
    """A work item a pull read: its cached values, its description as Markdown, its type, and every
    field the query asked for (an empty ``FieldValue`` when the item has no value)."""

    description: str = ""
    item_type: str = ""
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True)
class PullResult:
    """What a pull found, and which of the keys it was told about are deleted in the tracker. A
    known item that merely stopped matching the filter, or that the account cannot see any more,
    is not deleted."""

    items: tuple[PulledItem, ...]
    deleted: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RemotePlan:
    """A release (Jira version, Azure DevOps iteration with sprints below it) or a sprint of the
    tracker: ``kind`` "release" or "sprint", the tracker's ``id``, its name and dates (``end`` is a
    release's date or a sprint's last day), and whether it is ``done`` (released, closed)."""

    kind: str
    id: str
    name: str
    start: date | None = None
    end: date | None = None
    done: bool = False


# --- The provider ---------------------------------------------------------------------


def rate_limit_headroom(response: TrackerResponse) -> tuple[int | None, int | None]:
    """(remaining, limit) from the rate-limit headers of Jira, GitHub, GitLab and Linear; None where absent."""

    def number(*names: str) -> int | None:
        for name in names:
            value = (response.headers.get(name) or "").strip()
            if value.isdigit():
                return int(value)
        return None

    return (
        number("X-RateLimit-Remaining", "RateLimit-Remaining", "X-RateLimit-Requests-Remaining"),
        number("X-RateLimit-Limit", "RateLimit-Limit", "X-RateLimit-Requests-Limit"),
    )


class TrackerProvider:
    """Base of every provider. Subclasses set the class metadata and implement operations."""

    # -- class metadata (read by the admin form, selectors and validation) --
    key: ClassVar[str]  # the Source.provider value
    label: ClassVar[str]
    auth_types: ClassVar[Sequence[str]]
    credential_fields: ClassVar[Mapping[str, tuple[CredentialField, ...]]] = CREDENTIAL_FIELDS
    default_key_pattern: ClassVar[str]
    default_issue_url_template: ClassVar[str] = ""
    default_create_url_template: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()  # implemented through the API
    external_project_hint: ClassVar[str] = ""
    external_project_pattern: ClassVar[str] = ""  # RE2; blank: free text and optional
    base_url_hint: ClassVar[str] = ""
    read_error_detail: ClassVar[ErrorDetailReader] = staticmethod(generic_error_detail)
    pull_filter_hint: ClassVar[str] = ""  # how a pull's filter is written, for the settings form
    pull_field_hint: ClassVar[str] = ""  # which field ids name releases, sprints, dates, for the settings form
    # Which discovered form fields (RemoteField.id) fill which IssueDraft attribute (DRAFT_ATTRIBUTES);
    # the values of every other field travel in IssueDraft.fields under their id.
    draft_field_ids: ClassVar[Mapping[str, str]] = MappingProxyType({name: name for name in DRAFT_ATTRIBUTES})
    # Whether a test issue type the tracker does not offer is a label put on an issue of the default type
    # (GitHub, GitLab, Linear: issues have no types, or none for tests).
    test_type_as_label: ClassVar[bool] = False
    # Whether a defect's severity travels as a label (``severity:major``): trackers without a severity field.
    severity_as_label: ClassVar[bool] = False
    # Whether link_back uses the tracker's own kind of link (then it needs no comment capability).
    links_back_natively: ClassVar[bool] = False
    # Whether a new issue may carry labels the tracker does not have yet (it creates them); where not,
    # only the labels its labels field offers are sent.
    creates_missing_labels: ClassVar[bool] = True
    # How many issues one request of fetch_many reads: refreshes size their batches, and the share of
    # the source's request budget they spend, by it.
    keys_per_request: ClassVar[int] = 1
    # The largest file the tracker takes, as its documentation says (the default where its administrator
    # can change it); None where it documents none. settings.TRACKER_ATTACHMENT_MAX_BYTES lowers it.
    attachment_max_bytes: ClassVar[int | None] = None
    # Whether the tracker takes files through its API; one that does not (GitHub) gets links instead.
    uploads_files: ClassVar[bool] = False
    # Whether members may enter their own personal access token (Linear: personal API key) for a source
    # that uses a shared credential, so that what they do is done by their account; what it is called.
    member_pats: ClassVar[bool] = False
    member_pat_label: ClassVar[str] = "personal access token"
    # Why a tracker without the webhook capability is polled instead, for the admin ("" where nothing
    # more than "polled" needs saying).
    no_webhooks_reason: ClassVar[str] = ""

    def __init__(self, source, user_token=None):
        """Refuses (``CredentialsUnreadable``) credentials that no longer decrypt: they are never sent."""
        if isinstance(source.credentials, Unreadable):
            raise CredentialsUnreadable()
        if user_token is not None and isinstance(user_token.access_token, Unreadable):
            raise CredentialsUnreadable(
                "Your stored token for this tracker cannot be decrypted (the encryption key may have changed): "
                "authorize your account again."
            )
        self.source = source
        self.user_token = user_token
        self.credentials: Mapping[str, str] = source.credentials or {}

    # -- metadata helpers --

    @classmethod
    def fields_for(cls, auth_type: str) -> tuple[CredentialField, ...]:
        return cls.credential_fields.get(auth_type, ())

    @classmethod
    def offered_capabilities(cls) -> frozenset[Capability]:
        """What an administrator may switch on: the API capabilities, plus creating issues
        through a create URL template, which works for every tracker."""
        return cls.capabilities | {Capability.CREATE_ISSUES}

    @classmethod
    def default_capabilities(cls) -> dict[str, bool]:
        """The capability toggles of a new source: on for what the provider implements through the
        tracker's API, off for the rest (creating issues without an API needs a create URL template
        the administrator has to enter first). An administrator may switch any of them off."""
        return {field: capability in cls.capabilities for capability, field in CAPABILITY_FIELDS.items()}

    @classmethod
    def creates_through_api(cls) -> bool:
        return Capability.CREATE_ISSUES in cls.capabilities

    @classmethod
    def validate_external_project(cls, value: str) -> None:
        """``ValidationError`` unless ``value`` names a project the way this tracker does."""
        if not cls.external_project_pattern:
            return
        if not value:
            raise ValidationError(f"Enter the {cls.external_project_hint}.")
        if not keys.key_matches(cls.external_project_pattern, value):
            raise ValidationError(f"{value} is not a valid {cls.external_project_hint}.")

    @classmethod
    def qualify_key(cls, key: str, project: str) -> str:
        """The key to store for ``key`` as typed in a project whose external project is ``project``.
        Trackers whose short keys are only unique per project (GitHub, GitLab: ``#12``) prefix the
        project; the others keep the key as it is."""
        return key.strip()

    @classmethod
    def project_of_key(cls, key: str) -> str:
        """The external project a key names itself (``owner/repo`` of ``owner/repo#12``), for the
        ``{project}`` of its URL; "" where keys do not name one (their URL takes the integration's)."""
        return ""

    # -- connection --

    @property
    def api_base_url(self) -> str:
        """Where the API lives; the base URL unless the tracker serves its API elsewhere."""
        return self.source.base_url

    @property
    def acts_as_account(self) -> bool:
        """Whether requests carry an account's credentials (a member's token or the source's)."""
        if self.user_token is not None:
            return True
        return self.source.auth_type not in (AuthType.NONE, AuthType.OAUTH2)

    def authentication(self) -> tuple[dict[str, str], tuple[str, str] | None]:
        """(credential headers, basic-auth pair) for requests: the member's token when there is one, else
        the source's credentials. A personal access token, the member's or the source's, travels the way
        the tracker takes those (``pat_authentication``); OAuth access tokens as Bearer."""
        if self.user_token is not None:
            if self.user_token.kind == TokenKind.PAT:
                return self.pat_authentication(self.user_token.access_token)
            return self.bearer(self.user_token.access_token), None
        auth_type = self.source.auth_type
        if auth_type == AuthType.API_TOKEN:
            return {}, (self.credentials.get("email", ""), self.credentials.get("api_token", ""))
        if auth_type == AuthType.BASIC:
            return {}, (self.credentials.get("username", ""), self.credentials.get("password", ""))
        if auth_type == AuthType.PAT:
            return self.pat_authentication(self.credentials.get("token", ""))
        if auth_type == AuthType.API_KEY:
            name = self.credentials.get("header_name", "").strip()
            # A name that is no header name (the form refuses one) is not sent rather than breaking the request.
            return (
                {name: self.credentials.get("header_value", "")} if HEADER_NAME_PATTERN.fullmatch(name) else {}
            ), None
        return {}, None  # none, or OAuth 2.0 without a member's token: anonymous

    def pat_authentication(self, token: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        """How the tracker takes a personal access token; Bearer unless a provider says otherwise."""
        return self.bearer(token), None

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    @property
    def uses_pat(self) -> bool:
        """Whether requests carry a personal access token (the member's or the source's)."""
        if self.user_token is not None:
            return self.user_token.kind == TokenKind.PAT
        return self.source.auth_type == AuthType.PAT

    def secrets(self) -> list[str]:
        """Every secret value this provider holds, to keep out of errors and logs."""
        values = [self.credentials.get(part.name) for part in self.fields_for(self.source.auth_type) if part.secret]
        if self.user_token is not None:
            values += [self.user_token.access_token, self.user_token.refresh_token]
        return [value for value in values if isinstance(value, str) and value]

    def client(
        self, base_url: str | None = None, *, auth_headers: dict[str, str] | None = None, **options
    ) -> TrackerHttpClient:
        """The HTTP client for this source: its credentials, redaction and request budget.
        ``base_url`` defaults to ``api_base_url``; ``auth_headers`` replace ``authentication()``'s headers
        for an API of the tracker that takes the same credentials in another form (GitLab's GraphQL)."""
        headers, basic = self.authentication()
        headers = headers if auth_headers is None else auth_headers
        return TrackerHttpClient(
            base_url or self.api_base_url,
            auth_headers=headers,
            auth=basic,
            secrets=self.secrets(),
            budget_key=str(self.source.uuid),
            budget_per_minute=self.source.requests_per_minute,
            read_error_detail=type(self).read_error_detail,
            **options,
        )

    # -- files --

    @classmethod
    def attachment_limit(cls) -> int | None:
        """The largest file sent to this tracker: its documented limit, lowered by the setting."""
        configured = settings.TRACKER_ATTACHMENT_MAX_BYTES or None
        limits = [limit for limit in (cls.attachment_max_bytes, configured) if limit]
        return min(limits) if limits else None

    def send_files(self, files: Iterable[DraftAttachment], send: Callable[[DraftAttachment], Any]) -> FilesSent:
        """Send each file with ``send``, one at a time so one refusal costs only that file: a file over
        the limit is not sent, a ``TrackerError`` refuses that file alone; both are named in the notes.
        The issue exists either way, so nothing here raises."""
        limit = self.attachment_limit()
        answers, unsent, notes = [], [], []
        for file in files:
            if file.problem:
                unsent.append(file.filename)
                notes.append(f"{file.filename} was not sent to {self.source.name}: {file.problem}.")
            elif limit is not None and file.size > limit:
                unsent.append(file.filename)
                notes.append(
                    f"{file.filename} was not sent to {self.source.name}: it is {filesizeformat(file.size)} and "
                    f"{self.label} takes files of at most {filesizeformat(limit)}."
                )
            else:
                try:
                    answers.append(send(file))
                except TrackerError as error:
                    unsent.append(file.filename)
                    notes.append(f"{file.filename} was not sent to {self.source.name}: {error}")
        return FilesSent(answers=tuple(answers), unsent=tuple(unsent), notes=tuple(notes))

    # -- OAuth 2.0 (members authorize their own accounts) --

    def oauth_app(self) -> OAuthApp:
        """The tracker's authorization server; ``Unsupported`` where members cannot use OAuth 2.0."""
        raise self._unsupported("OAuth 2.0 authorization")

    def oauth_client(self, *secrets: str) -> TrackerHttpClient:
        """The HTTP client for the token endpoint: no credential headers (the client and the grant
        travel in the body), the source's request budget, and ``secrets`` (codes, tokens) redacted
        along with the source's own."""
        return TrackerHttpClient(
            self.oauth_app().token_url,
            secrets=[*self.secrets(), *secrets],
            budget_key=str(self.source.uuid),
            budget_per_minute=self.source.requests_per_minute,
        )

    def oauth_account(self) -> OAuthAccount:
        """Who the member's token (this provider's ``user_token``) belongs to, by the who-am-I."""
        return OAuthAccount(name=self.whoami().user)

    # -- operations --

    def check_connection(self) -> ConnectionReport:
        """Who-am-I with the credentials; without an account to check (auth "none", or
        OAuth 2.0 before a member authorized), whether the tracker answers at all."""
        report = self.whoami() if self.acts_as_account else self.check_reachable()
        if self.user_token is not None and self.user_token.expires_at is not None:
            report = replace(report, token_expires_at=self.user_token.expires_at)
        return report

    def check_reachable(self) -> ConnectionReport:
        """A HEAD of the base URL without credentials: any HTTP answer proves that the name
        resolves, the address is allowed, TLS verifies and a web server answers."""
        with self.client() as http:
            response = http.request("HEAD", self.source.base_url, accept=range(300, 600))
        return ConnectionReport(
            user="",
            detail=f"{response.host} answers (HTTP {response.status}); no account is used, so none was checked.",
        )

    def whoami(self) -> ConnectionReport:
        raise self._unsupported("checking credentials")

    def fetch_many(self, keys: Iterable[str]) -> FetchResult:
        raise self._unsupported("reading issue details")

    def refresh(self, known: Mapping[str, RemoteIssue]) -> FetchResult:
        """``fetch_many`` for issues already cached: ``known`` maps each key to its cached values.
        A tracker with conditional requests answers an unchanged issue from ``known`` (its
        ``etag`` sent back), which costs no rate limit there; the others read everything again."""
        return self.fetch_many(known)

    def search(self, text: str, within: Sequence[str] | None = None) -> list[RemoteIssue]:
        """Issues matching ``text`` (a key, or words). ``within``: the only external projects to search
        (those of the asking project's integrations on this source); None searches as configured."""
        raise self._unsupported("searching issues")

    def projects(self) -> list[RemoteProject]:
        raise self._unsupported("listing projects")

    def find_project(self, project: str) -> RemoteProject:
        """The external project ``project`` names, as the tracker knows it; ``NotFound`` when the tracker
        has none by that name that the credentials can see. By default among ``projects()``; trackers
        that can ask for one project directly do so."""
        wanted = project.strip().casefold()
        for found in self.projects():
            if found.key.casefold() == wanted:
                return found
        raise UnknownProject(
            f"{self.label} has no {self.external_project_hint or 'project'} “{project.strip()}” that the "
            "source's account can see."
        )

    def boards(self, project: str) -> list[RemoteBoard]:
        """The boards of ``project`` (where sprints live on trackers that have boards)."""
        raise self._unsupported("boards")

    def components(self, project: str) -> list[RemoteComponent]:
        """The components issues of ``project`` can be filed under."""
        raise self._unsupported("components")

    def issue_types(self, project: str) -> list[RemoteIssueType]:
        raise self._unsupported("listing issue types")

    def fields(self, project: str, issue_type: str) -> list[RemoteField]:
        raise self._unsupported("listing fields")

    def create_issue(self, draft: IssueDraft) -> RemoteIssue:
        raise self._unsupported("creating issues through its API")

    def update_issue(self, key: str, draft: IssueDraft) -> None:
        """Give the existing issue the draft's title, description (Markdown, converted), priority and
        labels (which replace the issue's), so that syncing again edits the issue instead of filing
        another; ``NotFound`` when it is gone."""
        raise self._unsupported("editing issues")

    def add_comment(self, key: str, body: str) -> str:
        """Post ``body`` (Markdown) on the issue; returns the comment's id."""
        raise self._unsupported("adding comments")

    def comments(self, key: str) -> list[RemoteComment]:
        """Every comment on the issue, oldest first, as Markdown."""
        raise self._unsupported("reading comments")

    def transition(self, key: str, status: str) -> None:
        raise self._unsupported("changing issue status")

    def find_marked(self, marker: str) -> RemoteIssue | None:
        """The issue whose description carries ``marker``, a word testmanager writes there when filing,
        to find an issue created by a request whose answer was lost; None when there is none."""
        return next(iter(self.search(marker)), None)

    def owner_account(self) -> RemoteUser:
        """The tracker account the credentials belong to (the member's own with a member token), as a user
        field takes it: where no account of a person can be matched, the field names this one."""
        raise self._unsupported("naming the credentials' account")

    def users(self, project: str, text: str) -> list[RemoteUser]:
        """Accounts whose name or e-mail address starts with ``text``, for the user fields of a form
        filing in ``project``."""
        raise self._unsupported("searching users")

    def link_back(self, key: str, link: BackLink) -> None:
        """Show ``link`` on the remote issue, once: linking the same page again updates what the
        issue shows instead of adding it twice. Trackers without a kind of link of their own get
        a comment (``links_back_natively`` is False), posted unless one already names the URL."""
        if Capability.ADD_COMMENTS not in self.capabilities:
            raise self._unsupported("links back to testmanager")
        if any(link.url in comment.body for comment in self.comments(key) if not comment.deleted):
            return
        self.add_comment(key, link.markdown())

    def pull(self, query: PullQuery, known: Iterable[str] = ()) -> PullResult:
        """The work items ``query`` selects (at most ``PULL_LIMIT``), and which of the ``known``
        keys (items pulled before) are deleted in the tracker."""
        raise self._unsupported("pulling work items")

    def count_matching(self, query: PullQuery) -> MatchCount:
        """How many work items ``pull(query)`` would take, without reading them: the dry run of a pull
        filter when it is saved. A filter the tracker refuses raises its error (``RemoteValidationError``
        with the tracker's message), like the pull would."""
        raise self._unsupported("counting the work items a filter selects")

    def plans(self, project: str, board: str = "") -> list[RemotePlan]:
        """The releases and sprints of ``project`` (sprints of ``board`` where the tracker has boards)."""
        raise self._unsupported("reading releases and sprints")

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        """Replace the text of a comment the account posted with ``body`` (Markdown); ``NotFound``
        when the comment or the issue is gone."""
        raise self._unsupported("editing comments")

    def verify_webhook(self, request) -> None:
        """``WebhookRejected`` unless the delivery is authentic (checked in constant time)."""
        raise self._unsupported("webhooks")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str] = MappingProxyType({})) -> list[IssueEvent]:
        """The issue events of a verified delivery; ``headers`` (case-insensitive) carry the delivery id
        and, for some trackers, the event's kind. ``WebhookRejected`` for a body that is not one."""
        raise self._unsupported("webhooks")

    def register_webhook(self, url: str, secret: str) -> list[str]:
        """Ask the tracker to send issue and comment events to ``url``, authenticated with ``secret``,
        for the source's projects; returns the ids of the hooks it created (one per project where the
        tracker registers hooks per project)."""
        raise self._unsupported("registering webhooks")

    def set_priority(self, key: str, priority: str) -> None:
        """Give the issue the priority named ``priority`` (a name the tracker offers)."""
        raise self._unsupported("changing issue priority")

    def set_labels(self, key: str, labels: Sequence[str]) -> None:
        """Give the issue exactly these labels (they replace its own), as ``label_for`` spells them."""
        raise self._unsupported("changing issue labels")

    @classmethod
    def is_severity_field(cls, field: RemoteField) -> bool:
        """Whether a discovered field holds the issue's severity (Azure DevOps's
        ``Microsoft.VSTS.Common.Severity``, a Jira project's "Severity" custom field)."""
        return " ".join(field.name.split()).casefold() == "severity" or field.id == "Microsoft.VSTS.Common.Severity"

    @classmethod
    def label_for(cls, tag: str) -> str:
        """The label a testmanager tag is on this tracker (Jira labels take no spaces)."""
        return " ".join(tag.split())

    # -- webhook helpers --

    def assigned_projects(self) -> list[str]:
        """The external projects of the source's active project integrations, each once."""
        if self.source.pk is None:
            return []
        values = self.source.project_integrations.filter(state=IntegrationState.ACTIVE).values_list(
            "external_project", flat=True
        )
        return sorted({value.strip() for value in values if value.strip()})

    def webhook_secret(self) -> str:
        """The source's webhook secret; ``WebhookRejected`` when none is set or it no longer decrypts."""
        secret = self.source.webhook_secret
        if isinstance(secret, Unreadable):
            raise WebhookRejected(
                "The source's webhook secret cannot be decrypted (the encryption key may have changed): set it again."
            )
        if not secret:
            raise WebhookRejected("The source has no webhook secret, so no delivery can be verified: set one.")
        return secret

    def check_signature(self, body: bytes, given: str | None, prefix: str = "") -> None:
        """``WebhookRejected`` unless ``given`` is ``prefix`` + the hex HMAC-SHA256 of ``body`` keyed with
        the webhook secret; compared in constant time."""
        expected = prefix + hmac.new(self.webhook_secret().encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), (given or "").strip().encode()):
            raise WebhookRejected()

    def check_token(self, given: str | None) -> None:
        """``WebhookRejected`` unless ``given`` is the webhook secret itself; compared in constant time."""
        if not hmac.compare_digest(self.webhook_secret().encode(), (given or "").encode()):
            raise WebhookRejected()

    def _unsupported(self, what: str) -> Unsupported:
        return Unsupported(f"{self.label} sources do not support {what}.")


def webhook_json(body: bytes) -> dict:
    """A delivery's JSON object; ``MalformedDelivery`` for anything else.

    The one place deliveries are parsed: json.loads recurses once per nesting level, so a body of
    100,000 brackets raises RecursionError, which is a malformed delivery like any other.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        raise MalformedDelivery("The webhook delivery is not JSON.") from None
    except RecursionError:
        raise MalformedDelivery("The webhook delivery nests JSON deeper than any tracker writes.") from None
    if not isinstance(payload, dict):
        raise MalformedDelivery("The webhook delivery is not a JSON object.")
    return payload


def delivery_id(headers: Mapping[str, str], body: bytes, *names: str) -> str:
    """The delivery's id from the first header of ``names`` the tracker sent, else a digest of the
    body: a tracker that redelivers sends the same body again."""
    for name in names:
        value = (headers.get(name) or "").strip()
        if value:
            return value[:200]
    return "sha256:" + hashlib.sha256(body).hexdigest()


def delivery_response(source, body: bytes) -> TrackerResponse:
    """A verified delivery in the shape of an API answer, so that a provider reads the issue a webhook
    carries with the same code that reads its API's issues."""
    return TrackerResponse(status=200, headers={}, content=body, url=source.base_url)
