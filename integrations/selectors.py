"""Reads about sources and project integrations that pages, the API, tasks and the issues app share."""

import copy
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from projects.permissions import ROLE_ACTIONS, Action, projects_where

from . import keys
from .fields import Unreadable
from .models import (
    AUTH_TYPES_BY_PROVIDER,
    MEMBER_PAT_AUTH_TYPES,
    AuditAction,
    AuditEvent,
    AuthType,
    Health,
    IntegrationState,
    ProjectIntegration,
    Provider,
    ReauthorizationNotice,
    Source,
    TokenKind,
    UserToken,
)
from .providers import provider_class
from .providers.base import CAPABILITY_FIELDS, Capability

# --- One source -----------------------------------------------------------------------


def key_pattern(source: Source) -> str:
    """The source's key pattern, or its provider's default when blank."""
    return source.key_pattern or provider_class(source.provider).default_key_pattern


def key_matches(source: Source, key: str) -> bool:
    return keys.key_matches(key_pattern(source), key)


def issue_url_template(source: Source) -> str:
    return source.issue_url_template or provider_class(source.provider).default_issue_url_template


def create_url_template(source: Source) -> str:
    return source.create_url_template or provider_class(source.provider).default_create_url_template


def issue_url(source: Source, key: str, *, external_project: str = "") -> str:
    """The browser URL of an issue; "" when the source has no issue URL template. A key that names its
    own repository or project (``acme/private#1``) is in that one, whatever ``external_project`` (the
    integration's) says."""
    template = issue_url_template(source)
    if not template:
        return ""
    project = provider_class(source.provider).project_of_key(key) or external_project
    return keys.issue_url(template, base_url=source.base_url, key=key, project=project)


def create_url(source: Source, *, external_project: str = "", title: str = "", description: str = "") -> str:
    """The page that files a new issue in the browser; "" when there is no create URL template."""
    template = create_url_template(source)
    if not template:
        return ""
    return keys.create_url(
        template,
        base_url=source.base_url,
        project=external_project,
        title=title,
        description=description,
    )


def can(source: Source, capability: Capability) -> bool:
    """Whether members may use the capability now: enabled source, switched on, implemented.

    Creating issues works through the provider's API or, failing that, a create URL template.
    Creating and commenting are refused for exactly the reasons ``refusal`` gives.
    """
    if capability in ACTION_OF_CAPABILITY:
        return _capability_refusal(source, ACTION_OF_CAPABILITY[capability]) is None
    provider = provider_class(source.provider)
    if not source.enabled or not getattr(source, CAPABILITY_FIELDS[capability]):
        return False
    return capability in provider.capabilities


# --- Why a member cannot do something with a tracker ---------------------------------------------


class TrackerAction(StrEnum):
    CREATE = "create"
    COMMENT = "comment"
    AUTHORIZE = "authorize"


CAPABILITY_OF_ACTION = {TrackerAction.CREATE: Capability.CREATE_ISSUES, TrackerAction.COMMENT: Capability.ADD_COMMENTS}
ACTION_OF_CAPABILITY = {capability: action for action, capability in CAPABILITY_OF_ACTION.items()}

# What each tracker's work items are called in a sentence ("Creating Jira issues is turned off ...").
TRACKER_ITEMS = {
    Provider.JIRA_CLOUD: "Jira issues",
    Provider.JIRA_SERVER: "Jira issues",
    Provider.GITHUB: "GitHub issues",
    Provider.GITLAB: "GitLab issues",
    Provider.AZURE_DEVOPS: "Azure DevOps work items",
    Provider.LINEAR: "Linear issues",
    Provider.REDMINE: "Redmine issues",
    Provider.CUSTOM: "tracker issues",
}
DOING = {TrackerAction.CREATE: "Creating {items}", TrackerAction.COMMENT: "Commenting on {items}"}

SITE_ADMIN, PROJECT_ADMIN = "a site admin", "a project admin"


@dataclass(frozen=True)
class Refusal:
    """Why a member cannot do something with a tracker, and who can change it: the one wording the
    filing form, the issue and case pages and the API's error bodies use (never a silent fallback)."""

    code: str
    reason: str  # "Creating Jira issues is turned off for Acme Jira"
    who: str  # "a site admin can turn it on"

    def __str__(self) -> str:
        return f"{self.reason}: {self.who}."

    def to_dict(self) -> dict:
        return {"code": self.code, "reason": self.reason, "who": self.who, "message": str(self)}


def refusal(source: Source, action: str, *, user=None, integration: ProjectIntegration | None = None):
    """Why ``user`` cannot ``action`` (create issues, comment, authorize their account) with ``source``
    (through ``integration``, when given); None when nothing stands in the way. The first reason found
    is given, in the order someone would fix them: the project's assignment, the source, the
    capability, the member's own authorization."""
    action = TrackerAction(action)
    return (
        (_integration_refusal(integration) if integration is not None else None)
        or _source_refusal(source)
        or (_authorize_refusal(source, user) if action == TrackerAction.AUTHORIZE else None)
        or (_capability_refusal(source, action) if action != TrackerAction.AUTHORIZE else None)
        or (_member_refusal(source, user) if action != TrackerAction.AUTHORIZE and user is not None else None)
    )


def refusals_of_project(project, action: str) -> list[tuple[ProjectIntegration, Refusal]]:
    """The project's trackers (archived ones aside: hidden on purpose) that refuse ``action``, each with
    why: what a page lists beside the trackers it offers, so that none is missing without a reason."""
    found = []
    for integration in project_integrations(project).exclude(state=IntegrationState.ARCHIVED):
        why = refusal(integration.source, action, integration=integration)
        if why is not None:
            found.append((integration, why))
    return found


def _integration_refusal(integration: ProjectIntegration) -> Refusal | None:
    name, key = integration.source.name, integration.project.key
    if integration.state == IntegrationState.ARCHIVED:
        return Refusal("integration_archived", f"{name} is archived in {key}", f"{PROJECT_ADMIN} can unarchive it")
    if integration.state == IntegrationState.DISCONNECTED:
        return Refusal(
            "integration_disconnected", f"{name} is disconnected from {key}", f"{PROJECT_ADMIN} can reconnect it"
        )
    source = integration.source
    if not source.all_projects and not source.projects.filter(pk=integration.project_id).exists():
        return Refusal(
            "source_out_of_scope", f"{name} is no longer available to {key}", f"{SITE_ADMIN} can make it available"
        )
    return None


def _source_refusal(source: Source) -> Refusal | None:
    if not source.enabled:
        return Refusal("source_disabled", f"{source.name} is disabled", f"{SITE_ADMIN} can enable it")
    return None


def _capability_refusal(source: Source, action: TrackerAction) -> Refusal | None:
    provider = provider_class(source.provider)
    capability = CAPABILITY_OF_ACTION[action]
    doing = DOING[action].format(items=TRACKER_ITEMS.get(source.provider, "tracker issues"))
    if not source.enabled:
        return _source_refusal(source)
    if not getattr(source, CAPABILITY_FIELDS[capability]):
        if capability not in provider.offered_capabilities():
            return Refusal(
                "not_supported", f"{provider.label} does not support {doing.lower()}", "no setting changes that"
            )
        return Refusal("capability_off", f"{doing} is turned off for {source.name}", f"{SITE_ADMIN} can turn it on")
    if action == TrackerAction.CREATE and not provider.creates_through_api():
        if not create_url_template(source):
            return Refusal(
                "no_create_template",
                f"{source.name} has no create URL template to open the tracker's form with",
                f"{SITE_ADMIN} can add one",
            )
        return None
    if capability not in provider.capabilities:
        return Refusal("not_supported", f"{provider.label} does not support {doing.lower()}", "no setting changes that")
    return None


def _member_refusal(source: Source, user) -> Refusal | None:
    if needs_authorization(source, user):
        return Refusal(
            "authorization_required",
            f"{source.name} acts as each member and your account is not authorized yet",
            "you can authorize it on the project's Trackers page",
        )
    return None


def _authorize_refusal(source: Source, user) -> Refusal | None:
    if source.auth_type != AuthType.OAUTH2:
        offers_oauth = AuthType.OAUTH2 in AUTH_TYPES_BY_PROVIDER.get(source.provider, [])
        return Refusal(
            "shared_credential",
            f"{source.name} uses one shared credential, not each member's own account",
            f"{SITE_ADMIN} can switch it to OAuth 2.0" if offers_oauth else "no setting changes that",
        )
    if user is None or not may_authorize(source, user):
        return Refusal(
            "not_a_filer",
            f"You do not file issues in a project that uses {source.name}",
            f"{PROJECT_ADMIN} can make you a member",
        )
    return None


def default_capabilities(provider: str) -> dict[str, bool]:
    """The capability toggles a new source of ``provider`` starts with (admin form, any creating caller):
    what the provider implements is on. For a provider not chosen yet every toggle starts on; the
    form then switches off what the chosen provider does not offer (``_clean_capabilities``)."""
    try:
        return provider_class(provider).default_capabilities()
    except KeyError:
        return dict.fromkeys(CAPABILITY_FIELDS.values(), True)


def creates_through_api(source: Source) -> bool:
    """Whether members file issues in the tracker from testmanager's own form (else, at most, a
    create URL opens the tracker's form)."""
    return can(source, Capability.CREATE_ISSUES) and provider_class(source.provider).creates_through_api()


def can_link_back(source: Source) -> bool:
    """Whether creating or linking an issue also shows the testmanager page on the remote issue:
    through the tracker's own kind of link, or else as a comment when comments are switched on."""
    if provider_class(source.provider).links_back_natively:
        return source.enabled
    return can(source, Capability.ADD_COMMENTS)


def missing_for_filing(integration: ProjectIntegration) -> list[str]:
    """What the integration lacks before issues can be filed through it, as sentences for members."""
    provider = provider_class(integration.source.provider)
    value = integration.external_project.strip()
    try:
        provider.validate_external_project(value)
    except ValidationError:
        if not value:
            return [f"{integration.source.name} names no {provider.external_project_hint} to file issues in."]
        return [f"“{value}” is not a valid {provider.external_project_hint}."]
    return []


def member_token(source: Source, user) -> UserToken | None:
    """The member's own credential for the source, if they stored or authorized one."""
    if not (user and user.is_authenticated):
        return None
    return UserToken.objects.filter(source=source, user=user).first()


def needs_authorization(source: Source, user) -> bool:
    """OAuth 2.0 sources act as each member: one who has not authorized yet cannot file or search."""
    return source.auth_type == AuthType.OAUTH2 and member_token(source, user) is None


def authorization_url(source: Source, next_url: str) -> str:
    """Where a member authorizes their own account for an OAuth 2.0 source, then returns to ``next_url``."""
    query = urlencode({"source": str(source.uuid), "next": next_url})
    return f"{reverse('oauth:authorize', args=[source.provider])}?{query}"


def credentials_state(source: Source) -> str:
    """A sentence about the stored credentials that never contains them."""
    credentials = source.credentials
    if isinstance(credentials, Unreadable):
        return (
            "Unreadable: the stored credentials cannot be decrypted (the encryption key may have changed); "
            "re-enter them."
        )
    parts = provider_class(source.provider).fields_for(source.auth_type)
    if not parts:
        return "None needed."
    stored = [part.label for part in parts if (credentials or {}).get(part.name)]
    if not stored:
        return "Missing: enter them."
    return "Stored: " + ", ".join(stored) + "."


@dataclass(frozen=True)
class SourceHealth:
    """A source's health as every page tells it: ``state`` (healthy, error, unchecked, disabled,
    disconnected), a short label, the redacted reason of an error and when it was last checked."""

    state: str
    label: str
    reason: str = ""
    checked_at: object = None

    @property
    def is_error(self) -> bool:
        return self.state == "error"


def health_of(source: Source) -> SourceHealth:
    """The source's real health: what the last connection check or refresh found (``health_error`` is
    stored redacted), unless it is switched off; never "Active" for a tracker that last failed."""
    if not source.enabled:
        return SourceHealth("disabled", "Disabled", "An administrator disabled this source.", source.health_checked_at)
    if not source.connected:
        return SourceHealth(
            "disconnected", "Disconnected", "It makes no requests until reconnected.", source.health_checked_at
        )
    if source.health == Health.ERROR:
        reason = source.health_error or "The last check failed."
        return SourceHealth("error", "Error", reason, source.health_checked_at)
    if source.health == Health.ACTIVE:
        return SourceHealth("healthy", "Healthy", "", source.health_checked_at)
    return SourceHealth("unchecked", "Not checked yet", "No connection check or refresh has run since it was set up.")


def sources_in_error(sources) -> list[tuple[Source, SourceHealth]]:
    """The distinct ``sources`` whose health is an error, with it (artefact pages warn that the values
    they show for those trackers' issues are the last known ones). Asks no query of its own."""
    distinct = {source.pk: source for source in sources if source is not None}
    return [(source, health) for source in distinct.values() if (health := health_of(source)).is_error]


def credentials_unreadable(source: Source) -> bool:
    return isinstance(source.credentials, Unreadable)


@dataclass(frozen=True)
class SourceUsage:
    references: int
    links: int
    project_integrations: int
    user_tokens: int


def source_usage(source: Source) -> SourceUsage:
    """What depends on a source; references and links are counted through the reverse
    relations the issues app declares, so this app imports nothing from it."""
    reference_counts = source.references.aggregate(references=Count("pk", distinct=True), links=Count("links"))
    return SourceUsage(
        references=reference_counts["references"],
        links=reference_counts["links"],
        project_integrations=source.project_integrations.count(),
        user_tokens=source.user_tokens.count(),
    )


# --- Sources and projects -------------------------------------------------------------


def _in_scope(project) -> Q:
    return Q(all_projects=True) | Q(projects=project)


def assignable_sources(project):
    """Enabled sources whose scope includes the project."""
    return Source.objects.filter(_in_scope(project), enabled=True).distinct().order_by("name")


def option_sources(project):
    """The sources whose tracker a project admin may list projects, types and boards of for the project:
    those it may be assigned, and those it already uses."""
    assigned = ProjectIntegration.objects.filter(project=project).values("source")
    return Source.objects.filter(Q(pk__in=assignable_sources(project).values("pk")) | Q(pk__in=assigned))


def project_integrations(project):
    """Every integration of the project, archived ones included, primary first."""
    return ProjectIntegration.objects.filter(project=project).select_related("source", "project")


def pickable_integrations(project):
    """What members pick from when linking or filing: active, enabled, still in scope."""
    in_scope = Source.objects.filter(_in_scope(project), enabled=True).values("pk")
    return project_integrations(project).filter(state=IntegrationState.ACTIVE, source__in=in_scope)


def searchable_projects(integration) -> list[str]:
    """The external projects a search through ``integration`` may look in: those of its project's
    active integrations on the same source, never another project's (a source shared with every
    project reaches them all)."""
    values = pickable_integrations(integration.project).filter(source=integration.source)
    return sorted({value.strip() for value in values.values_list("external_project", flat=True) if value.strip()})


def sources_due_for_health_check():
    """Sources the periodic health check visits: enabled and connected."""
    return Source.objects.filter(enabled=True, connected=True)


# --- Members' own tokens ------------------------------------------------------------------

# The periodic renewal takes OAuth tokens that expire sooner than this.
RENEW_AHEAD = timedelta(minutes=5)


def _files_through(source: Source, user) -> bool:
    """Whether one of the projects where ``user`` may file issues uses ``source`` (an active
    integration, in scope) and the source is enabled."""
    if not source.enabled:
        return False
    in_scope = Q(source__all_projects=True) | Q(project__in=source.projects.all())
    return ProjectIntegration.objects.filter(
        in_scope, source=source, state=IntegrationState.ACTIVE, project__in=projects_where(user, Action.EDIT)
    ).exists()


def may_authorize(source: Source, user) -> bool:
    """Whether ``user`` may authorize their own account for ``source``: an enabled OAuth 2.0 source
    that one of the projects where they may file issues uses (an active integration, in scope)."""
    return source.auth_type == AuthType.OAUTH2 and _files_through(source, user)


def entered_token_kind(source: Source) -> TokenKind | None:
    """The kind of token a member may enter by hand for ``source``: on an OAuth 2.0 source an access
    token the tracker issued outside a browser flow; on a source with a shared credential, a personal
    access token where the tracker takes them; None where neither applies (Jira Cloud's API tokens,
    custom trackers)."""
    if source.auth_type == AuthType.OAUTH2:
        return TokenKind.OAUTH2
    if source.auth_type in MEMBER_PAT_AUTH_TYPES and provider_class(source.provider).member_pats:
        return TokenKind.PAT
    return None


def may_enter_token(source: Source, user) -> bool:
    """Whether ``user`` may enter their own token for ``source`` (``entered_token_kind``): a member
    who may file issues through it."""
    return entered_token_kind(source) is not None and _files_through(source, user)


def member_token_label(source: Source) -> str:
    """What the tracker calls the token a member enters ("personal access token", "personal API key")."""
    if source.auth_type == AuthType.OAUTH2:
        return "OAuth access token"
    return provider_class(source.provider).member_pat_label


def members_filing_through(source: Source):
    """Active members who may file issues through ``source`` in some project: the people an OAuth 2.0
    source asks to authorize their own account (``may_authorize`` from their side)."""
    in_scope = Q(source__all_projects=True) | Q(project__in=source.projects.all())
    projects = ProjectIntegration.objects.filter(in_scope, source=source, state=IntegrationState.ACTIVE).values(
        "project"
    )
    filing_roles = [role for role, actions in ROLE_ACTIONS.items() if Action.EDIT in actions]
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__project__in=projects,
            memberships__role__in=filing_roles,
        )
        .distinct()
    )


def reauthorization_notices(user):
    """What the member is still to be told about sources that changed how they authenticate."""
    if not (user and user.is_authenticated):
        return ReauthorizationNotice.objects.none()
    return ReauthorizationNotice.objects.filter(user=user).select_related("source")


def project_authorizations(project):
    """The members' own tokens a project's administrators see and may revoke: those its members hold for
    the sources its integrations use (archived ones included), newest first."""
    sources = ProjectIntegration.objects.filter(project=project).values("source")
    members = project.memberships.values("user")
    return (
        UserToken.objects.filter(source__in=sources, user__in=members)
        .select_related("user", "source")
        .order_by("-created_at", "-pk")
    )


def all_authorizations():
    """Every member's token, for the administrators of integrations."""
    return UserToken.objects.select_related("user", "source").order_by("-created_at", "-pk")


def member_tokens(user) -> dict[int, UserToken]:
    """The member's own tokens, by source id."""
    return {token.source_id: token for token in UserToken.objects.filter(user=user)}


def tokens_due_for_renewal():
    """Members' OAuth tokens the periodic renewal takes: renewable, not waiting for the member to
    authorize again, expiring within ``RENEW_AHEAD``, of a source that may talk to its tracker."""
    return UserToken.objects.filter(
        kind=TokenKind.OAUTH2,
        refresh_token__isnull=False,
        last_error="",
        expires_at__lte=timezone.now() + RENEW_AHEAD,
        source__enabled=True,
        source__connected=True,
    )


# A delivery's source, its webhook secret decrypted once, kept in this process (never in the shared cache:
# that would put the secret in Redis) for at most WEBHOOK_SOURCE_SECONDS, and dropped when any source
# changes: at once in the process that changed it, within WEBHOOK_SOURCES_CHECK_SECONDS in the others, as
# every change bumps one generation token in the shared cache, which each process reads at most that often
# (a busy hook pays neither a query and a decryption nor a Redis round trip per delivery). Read before the
# row, so a row loaded while a change commits is dropped by the bump that follows the commit.
WEBHOOK_SOURCE_SECONDS = 60
WEBHOOK_SOURCES_CHECK_SECONDS = 1.0
WEBHOOK_SOURCES_KEPT = 256
WEBHOOK_SOURCES_GENERATION_KEY = "integrations:webhook-sources-generation"
_webhook_sources: dict[str, tuple[float, str, Source | None]] = {}
_generation_read: list = [float("-inf"), None]  # when this process last read the generation, and what it said


def webhook_source(source_uuid) -> Source | None:
    """The source with this webhook address (``/hooks/<uuid>/``), or None; kept briefly in this process."""
    key, now = str(source_uuid), time.monotonic()
    if now - _generation_read[0] >= WEBHOOK_SOURCES_CHECK_SECONDS:
        _generation_read[:] = [now, _webhook_sources_generation()]
    generation = _generation_read[1]
    kept = _webhook_sources.get(key)
    if kept is None or kept[0] <= now or kept[1] != generation:
        if len(_webhook_sources) >= WEBHOOK_SOURCES_KEPT:  # forged addresses must not grow the dict
            _webhook_sources.clear()
        kept = (now + WEBHOOK_SOURCE_SECONDS, generation, Source.objects.filter(uuid=source_uuid).first())
        _webhook_sources[key] = kept
    return copy.copy(kept[2])  # a delivery's writes to its instance stay its own


def _webhook_sources_generation() -> str:
    generation = cache.get(WEBHOOK_SOURCES_GENERATION_KEY)
    if generation is None:  # never bumped, or evicted: start one (every process then reloads once)
        cache.add(WEBHOOK_SOURCES_GENERATION_KEY, secrets.token_hex(8), timeout=None)
        generation = cache.get(WEBHOOK_SOURCES_GENERATION_KEY)
    return generation


def forget_webhook_sources() -> None:
    """Every process drops the sources it keeps for deliveries: now (this transaction's own later reads) and
    once the change commits (a process that read the row in between read the old one)."""
    _bump_webhook_sources_generation()
    transaction.on_commit(_bump_webhook_sources_generation)


def _bump_webhook_sources_generation() -> None:
    _webhook_sources.clear()
    _generation_read[0] = float("-inf")  # read the new one at the next delivery
    cache.set(WEBHOOK_SOURCES_GENERATION_KEY, secrets.token_hex(8), timeout=None)


def webhook_path(source: Source) -> str:
    """Where the tracker posts the source's events on this server (absolute once the host is added)."""
    return reverse("webhook", args=[source.uuid])


@dataclass(frozen=True)
class WebhookStatus:
    """Whether testmanager's webhook is registered in the tracker for an integration's source:
    ``registered``, or not with the ``reason`` (the tracker's refusal, redacted) and the manual action;
    ``pending`` while nothing was tried yet."""

    registered: bool
    pending: bool = False
    reason: str = ""
    when: object = None
    receiving: bool = False  # deliveries arrive (a hook set up by hand works too): ``when`` the last one came


def webhook_status(integration: ProjectIntegration) -> WebhookStatus | None:
    """The last registration of the source's webhook (for this project, or for the whole source by an
    administrator); None when the source does not process webhooks, so there is nothing to say."""
    source = integration.source
    implemented = Capability.PROCESS_WEBHOOKS in provider_class(source.provider).capabilities
    if not (source.can_process_webhooks and implemented):
        return None
    attempt = (
        AuditEvent.objects.filter(action=AuditAction.WEBHOOK_REGISTERED, source_id=source.pk)
        .filter(Q(project_id=integration.project_id) | Q(project__isnull=True))
        .order_by("-created_at", "-id")
        .first()
    )
    delivered = (
        AuditEvent.objects.filter(action=AuditAction.WEBHOOK_ACCEPTED, source_id=source.pk)
        .order_by("-created_at", "-id")
        .first()
    )
    if delivered is not None and (attempt is None or delivered.created_at >= attempt.created_at):
        return WebhookStatus(registered=True, receiving=True, when=delivered.created_at)
    if attempt is None:
        return WebhookStatus(registered=False, pending=True)
    return WebhookStatus(registered=attempt.success, reason=attempt.message, when=attempt.created_at)
