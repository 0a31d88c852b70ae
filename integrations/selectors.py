"""Reads about sources and project integrations that pages, the API, tasks and the issues app share."""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from projects.permissions import ROLE_ACTIONS, Action, projects_where

from . import keys
from .fields import Unreadable
from .models import (
    AuthType,
    Health,
    IntegrationState,
    ProjectIntegration,
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
    """
    provider = provider_class(source.provider)
    if not source.enabled or not getattr(source, CAPABILITY_FIELDS[capability]):
        return False
    if capability == Capability.CREATE_ISSUES and not provider.creates_through_api():
        return bool(create_url_template(source))
    return capability in provider.capabilities


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


def may_authorize(source: Source, user) -> bool:
    """Whether ``user`` may authorize their own account for ``source``: an enabled OAuth 2.0 source
    that one of the projects where they may file issues uses (an active integration, in scope)."""
    if source.auth_type != AuthType.OAUTH2 or not source.enabled:
        return False
    in_scope = Q(source__all_projects=True) | Q(project__in=source.projects.all())
    return ProjectIntegration.objects.filter(
        in_scope, source=source, state=IntegrationState.ACTIVE, project__in=projects_where(user, Action.EDIT)
    ).exists()


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
