"""Writes on sources, project integrations, tokens and the audit log.

Callers (admin, pages, API, tasks) check permissions first with projects.permissions;
these functions enforce the data rules and write one audit row per action. Audit rows
name fields and credential parts, never their values.
"""

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import http, oauth, selectors
from .errors import (
    AuthenticationFailed,
    AuthorizationRequired,
    OAuthRefused,
    TrackerError,
    Unreachable,
    redact,
    redacted_excerpt,
)
from .fields import Unreadable
from .mappings import (
    default_priority_mapping,
    default_status_mapping,
    find_type,
    validate_priority_mapping,
    validate_status_mapping,
)
from .models import (
    MEMBER_TOKEN_KINDS_BY_AUTH_TYPE,
    AuditAction,
    AuditEvent,
    AuthType,
    Health,
    IntegrationState,
    ProjectIntegration,
    ReauthorizationNotice,
    Source,
    TokenKind,
    UserToken,
)
from .providers import provider_class, provider_for
from .providers.base import Capability, OAuthAccount, TrackerProvider, UnknownProject, Unsupported


def record_audit(
    action, *, actor=None, source=None, project=None, target="", success=True, message="", details=None
) -> AuditEvent:
    """Append one audit row. Callers pass field names and outcomes, never secret values."""
    actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_name=actor.get_username() if actor else "",
        source=source,
        source_name=source.name if source else "",
        project=project,
        project_key=project.key if project else "",
        target=source_excerpt(source, target, 300),
        success=success,
        message=source_excerpt(source, message, 500),
        details=details or {},
    )


# --- Sources --------------------------------------------------------------------------

# Changing one of these (or the credentials) makes the last health check meaningless.
CONNECTION_FIELDS = ("provider", "base_url", "allow_http", "auth_type")
# Fields whose changes "source changed" lists; credentials, health and timestamps are not among them.
_NOT_AUDITED = {
    "id",
    "uuid",
    "credentials",
    "webhook_secret",
    "health",
    "health_checked_at",
    "health_error",
    "created_at",
    "updated_at",
    "enabled",
    "connected",
}
AUDITED_SOURCE_FIELDS = tuple(field.name for field in Source._meta.concrete_fields if field.name not in _NOT_AUDITED)


def _changed_parts(before, after: dict) -> list[str]:
    """Names of the credential parts that differ; all of them when the old ones are unreadable."""
    if isinstance(before, Unreadable):
        return sorted(after)
    before = before or {}
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def _secret_values(source: Source | None) -> list[str]:
    """The source's stored secrets: its credentials and its webhook secret."""
    if source is None:
        return []
    credentials = source.credentials
    values = [] if isinstance(credentials, Unreadable) or not credentials else list(credentials.values())
    values.append(source.webhook_secret)
    return [value for value in values if isinstance(value, str) and value]


def source_excerpt(source: Source | None, text: str, limit: int) -> str:
    """A tracker's (or an error's) words cut to ``limit`` for storage or display, with every form of
    the source's secrets (raw, URL-encoded, base64 basic auth) removed first: the one way messages
    are shortened outside the HTTP client, so that no cut leaves a fragment of a secret behind."""
    return redacted_excerpt(str(text), _secret_values(source), limit)


@transaction.atomic
def save_source(source: Source, *, actor, projects=None, credentials: dict | None = None) -> Source:
    """Create or change a source: its fields, its project scope and (when given) its credentials.

    ``credentials`` replaces the stored dict; None keeps it, even when it is unreadable.
    When the connection settings change, the health is reset and, for a syncing source,
    checked again once the change is committed.
    """
    creating = source._state.adding
    before = None if creating else Source.objects.select_for_update().get(pk=source.pk)
    before_projects = set() if creating else set(before.projects.values_list("pk", flat=True))
    parts: list[str] = []
    if credentials is not None:
        parts = _changed_parts(before.credentials if before else {}, credentials)
        source.credentials = credentials
    changed = [name for name in AUDITED_SOURCE_FIELDS if creating or getattr(before, name) != getattr(source, name)]
    reconnect = creating or bool(parts) or any(name in changed for name in CONNECTION_FIELDS)
    if reconnect:
        source.health, source.health_checked_at, source.health_error = Health.INACTIVE, None, ""
    source.save()
    if projects is not None:
        source.projects.set([] if source.all_projects else list(projects))
        if {project.pk for project in source.projects.all()} != before_projects and not creating:
            changed.append("projects")

    if creating:
        record_audit(
            AuditAction.SOURCE_CREATED,
            actor=actor,
            source=source,
            details={
                "provider": source.provider,
                "base_url": source.base_url,
                "auth_type": source.auth_type,
                "credential_parts": parts,
            },
        )
    else:
        if changed:
            record_audit(AuditAction.SOURCE_CHANGED, actor=actor, source=source, details={"fields": changed})
        if parts:
            record_audit(AuditAction.CREDENTIALS_CHANGED, actor=actor, source=source, details={"parts": parts})
        if before.enabled != source.enabled:
            _audit_enabled(source, actor)
    if reconnect and source.syncs:
        actor_id = actor.pk if actor is not None and actor.is_authenticated else None
        # The task is imported where it is queued: services never import tasks at module level (no cycle).
        from .tasks import check_source_health

        transaction.on_commit(lambda: check_source_health.delay(source.pk, actor_id))
    return source


def _audit_enabled(source: Source, actor) -> None:
    action = AuditAction.SOURCE_ENABLED if source.enabled else AuditAction.SOURCE_DISABLED
    record_audit(action, actor=actor, source=source)


@transaction.atomic
def set_source_enabled(source: Source, enabled: bool, *, actor) -> bool:
    """Enable or disable; returns whether anything changed. Disabled sources are hidden from
    members and stop syncing; their links stay."""
    if Source.objects.filter(pk=source.pk).exclude(enabled=enabled).update(enabled=enabled) == 0:
        return False
    selectors.forget_webhook_sources()  # an update() sends no post_save
    source.enabled = enabled
    _audit_enabled(source, actor)
    return True


@transaction.atomic
def disconnect_source(source: Source, *, actor) -> bool:
    """Stop every request to the tracker (sync, webhooks, health checks) until reconnected."""
    if Source.objects.filter(pk=source.pk, connected=True).update(connected=False, health=Health.INACTIVE) == 0:
        return False
    selectors.forget_webhook_sources()
    source.connected, source.health = False, Health.INACTIVE
    record_audit(AuditAction.SOURCE_DISCONNECTED, actor=actor, source=source)
    return True


def reconnect_source(source: Source, *, actor) -> "ConnectionOutcome":
    """Connect again and check the connection at once."""
    with transaction.atomic():
        if Source.objects.filter(pk=source.pk, connected=False).update(connected=True):
            selectors.forget_webhook_sources()
            record_audit(AuditAction.SOURCE_RECONNECTED, actor=actor, source=source)
        source.connected = True
    return test_connection(source, actor=actor)


@transaction.atomic
def delete_source(source: Source, *, actor) -> None:
    """Delete a source. References and links stay (their source becomes empty, the snapshot
    of its name and the issue URLs remain); project assignments and member tokens go."""
    usage = selectors.source_usage(source)
    record_audit(AuditAction.SOURCE_DELETED, actor=actor, source=source, details=asdict(usage))
    source.delete()


@dataclass(frozen=True)
class AuthSwitch:
    """What switching a source's authentication did to its members."""

    previous: str
    current: str
    tokens_removed: int
    users_told: int


def _switch_notice(source: Source) -> str:
    if source.auth_type == AuthType.OAUTH2:
        return (
            f"{source.name} now acts as each member (OAuth 2.0): authorize your own account for it to file and "
            "search its issues as you."
        )
    return (
        f"{source.name} now signs in with an account its administrators set up ({source.get_auth_type_display()}): "
        "your own authorization for it no longer applies and was removed. Nothing else to do."
    )


@transaction.atomic
def switch_authentication(source: Source, previous_auth_type: str, *, actor) -> AuthSwitch:
    """After ``source`` changed from ``previous_auth_type`` to its auth type (``save_source`` has stored it
    and its new credentials, which replace the old ones): remove the members' own tokens the new auth
    type does not use, and tell every member concerned, on their pages until they authorize again or
    dismiss it. Those are the holders of a removed token and, when the source now acts as each member
    (OAuth 2.0), every member who files through it and has not authorized yet. References and links
    are not touched. Audited (the auth types and counts)."""
    accepted = MEMBER_TOKEN_KINDS_BY_AUTH_TYPE.get(source.auth_type, set())
    outdated = UserToken.objects.filter(source=source).exclude(kind__in=accepted)
    told = set(outdated.values_list("user_id", flat=True))
    removed = outdated.delete()[1].get(UserToken._meta.label, 0)
    if source.auth_type == AuthType.OAUTH2:
        authorized = UserToken.objects.filter(source=source).values("user")
        told |= set(selectors.members_filing_through(source).exclude(pk__in=authorized).values_list("pk", flat=True))
    message = _switch_notice(source)
    # Notices of an earlier switch speak of an auth type the source no longer uses.
    ReauthorizationNotice.objects.filter(source=source).delete()
    ReauthorizationNotice.objects.bulk_create(
        [ReauthorizationNotice(user_id=user_id, source=source, message=message) for user_id in sorted(told)]
    )
    switch = AuthSwitch(
        previous=previous_auth_type, current=source.auth_type, tokens_removed=removed, users_told=len(told)
    )
    record_audit(
        AuditAction.AUTH_SWITCHED,
        actor=actor,
        source=source,
        message=f"{source.name} switched from {previous_auth_type} to {source.auth_type}.",
        details={
            "from": previous_auth_type,
            "to": source.auth_type,
            "tokens_removed": removed,
            "users_told": len(told),
        },
    )
    return switch


# --- Connection tests and health ------------------------------------------------------


@dataclass(frozen=True)
class ConnectionOutcome:
    """The result of a connection test, as pages and the API show it. Never holds a secret."""

    ok: bool
    message: str
    checked_at: datetime
    code: str = ""  # the TrackerError code when it failed
    user: str = ""
    rate_limit_remaining: int | None = None
    rate_limit_limit: int | None = None
    token_expires_at: datetime | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@contextmanager
def interactive(source: Source, advice: str = "try again later") -> Iterator[None]:
    """Tracker requests a person waits on (a page, an API call): all of them together, retries and
    waits included, give up after ``TRACKER_INTERACTIVE_SECONDS`` with ``Unreachable`` naming the
    tracker and ``advice``, so that a tracker trickling bytes or never answering releases the web
    worker within seconds instead of after every timeout (background work keeps the client's own
    per-request deadline)."""
    seconds = settings.TRACKER_INTERACTIVE_SECONDS
    try:
        with http.deadline(seconds):
            yield
    except Unreachable as error:
        if error.reason != "deadline":
            raise
        raise Unreachable(f"{source.name} did not answer within {seconds:g} s: {advice}.", reason="deadline") from None


def test_connection(source: Source, *, actor=None, waiting: bool = False) -> ConnectionOutcome:
    """Run the provider's connection check and record the source's health.

    Works on disabled sources. A disconnected source stays inactive: the result is
    reported and stored as its last check, but it does not come back to life.
    With an actor the test is audited; a system check only when the health changes.
    ``waiting``: a person waits on the answer (a page, the API), see ``interactive``.
    """
    now = timezone.now()
    try:
        with interactive(source) if waiting else nullcontext():
            report = provider_for(source).check_connection()
    except TrackerError as error:
        outcome = ConnectionOutcome(
            ok=False,
            message=redact(str(error), _secret_values(source)),
            checked_at=now,
            code=error.code,
        )
    else:
        outcome = ConnectionOutcome(
            ok=True,
            message=redact(report.summary, _secret_values(source)),
            checked_at=now,
            user=report.user,
            rate_limit_remaining=report.rate_limit_remaining,
            rate_limit_limit=report.rate_limit_limit,
            token_expires_at=report.token_expires_at,
        )
    _record_health(source, outcome, actor)
    return outcome


def test_unsaved_connection(source: Source) -> ConnectionOutcome:
    """Run the provider's connection check with the values an administrator typed and has not saved
    (``source`` is never saved: ``forms.unsaved_source`` builds it). Nothing is stored, neither health nor
    an audit row, since there is no source yet; the outcome has the typed secrets redacted."""
    now = timezone.now()
    try:
        with interactive(source):
            report = provider_for(source).check_connection()
    except TrackerError as error:
        return ConnectionOutcome(
            ok=False, message=redact(str(error), _secret_values(source)), checked_at=now, code=error.code
        )
    return ConnectionOutcome(
        ok=True,
        message=redact(report.summary, _secret_values(source)),
        checked_at=now,
        user=report.user,
        rate_limit_remaining=report.rate_limit_remaining,
        rate_limit_limit=report.rate_limit_limit,
        token_expires_at=report.token_expires_at,
    )


def _record_health(source: Source, outcome: ConnectionOutcome, actor) -> None:
    connected = Source.objects.filter(pk=source.pk).values_list("connected", flat=True).first()
    if connected is None:
        return  # deleted while being checked
    previous = source.health
    health = Health.INACTIVE if not connected else Health.ACTIVE if outcome.ok else Health.ERROR
    error = "" if outcome.ok else source_excerpt(source, outcome.message, 500)
    Source.objects.filter(pk=source.pk).update(health=health, health_checked_at=outcome.checked_at, health_error=error)
    source.health, source.health_checked_at, source.health_error = health, outcome.checked_at, error
    details = {"code": outcome.code} if not outcome.ok else {"user": outcome.user}
    if actor is not None and actor.is_authenticated:
        record_audit(
            AuditAction.CONNECTION_TESTED,
            actor=actor,
            source=source,
            success=outcome.ok,
            message=outcome.message,
            details=details,
        )
    elif previous != health:
        record_audit(
            AuditAction.HEALTH_CHANGED,
            source=source,
            success=outcome.ok,
            message=outcome.message,
            details={**details, "from": previous, "to": health},
        )


def record_sync_health(source: Source, error: TrackerError | None) -> None:
    """What a background sync (a refresh) found, as the source's health: an error makes it unhealthy,
    with the message redacted; an answer makes it healthy. Audited only when the health changes."""
    message = "The tracker answered a refresh." if error is None else redact(str(error), _secret_values(source))
    outcome = ConnectionOutcome(
        ok=error is None, message=message, checked_at=timezone.now(), code="" if error is None else error.code
    )
    _record_health(source, outcome, None)


def register_webhook(source: Source, url: str, *, actor, project=None) -> list[str]:
    """Have the tracker send issue and comment events to ``url`` (the source's hook), authenticated with
    the source's webhook secret (a new one when it has none that decrypts), and switch webhook
    processing on. Returns the tracker's hook ids; ``TrackerError`` when the tracker refuses. Audited
    (for ``project`` when connecting it asked for the registration)."""
    secret = source.webhook_secret or secrets.token_urlsafe(32)  # an Unreadable secret is falsy
    try:
        hooks = provider_for(source).register_webhook(url, secret)
    except TrackerError as error:
        record_audit(
            AuditAction.WEBHOOK_REGISTERED,
            actor=actor,
            source=source,
            project=project,
            target=url,
            success=False,
            message=redact(str(error), [*_secret_values(source), secret]),
            details={"code": error.code},
        )
        raise
    source.webhook_secret, source.can_process_webhooks = secret, True
    source.save(update_fields=["webhook_secret", "can_process_webhooks", "updated_at"])
    record_audit(
        AuditAction.WEBHOOK_REGISTERED,
        actor=actor,
        source=source,
        project=project,
        target=url,
        details={"hooks": len(hooks)},
    )
    return hooks


def registers_webhooks(source: Source) -> bool:
    """Whether connecting ``source`` to a project registers testmanager's webhook in the tracker: its
    provider processes webhooks, the source has that switched on, and it may talk to the tracker."""
    return (
        source.can_process_webhooks
        and Capability.PROCESS_WEBHOOKS in provider_class(source.provider).capabilities
        and source.syncs
    )


def register_integration_webhook(integration: ProjectIntegration, url: str, *, actor) -> bool:
    """Register the webhook for the source ``integration`` connects (``register_webhook``) after it was
    assigned; whether it worked. A refusal (the account may not create hooks, the tracker registers none
    through its API) is recorded, its reason shown on the project's Trackers page with the manual
    action, and never undoes the assignment."""
    try:
        register_webhook(integration.source, url, actor=actor, project=integration.project)
    except TrackerError:
        return False  # audited with its reason by register_webhook
    return True


def _queue_webhook_registration(integration: ProjectIntegration, url: str, actor) -> None:
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    # The task is imported where it is queued: services never import tasks at module level (no cycle).
    from .tasks import register_project_webhook

    transaction.on_commit(lambda: register_project_webhook.delay(integration.pk, url, actor_id))


# --- Project integrations -------------------------------------------------------------

# The two-way sync options a project administrator switches on an integration (issues.sync).
SYNC_OPTIONS = (
    "sync_defects",
    "push_defect_changes",
    "sync_comments",
    "sync_labels",
    "update_test_status_on_resolve",
)

EDITABLE_INTEGRATION_FIELDS = (
    "external_project",
    "default_issue_type",
    "test_issue_type",
    "board",
    "description",
    "priority_mapping",
    "status_mapping",
    "is_primary",
    *SYNC_OPTIONS,
)


def _check_external_project(source: Source, value: str) -> str:
    value = value.strip()
    try:
        provider_class(source.provider).validate_external_project(value)
    except ValidationError as error:
        raise ValidationError({"external_project": error.messages}) from None
    return value


def _check_unique_target(project, source: Source, external_project: str, exclude_pk=None) -> None:
    clash = ProjectIntegration.objects.filter(project=project, source=source, external_project=external_project)
    if clash.exclude(pk=exclude_pk).exists():
        target = f" for {external_project}" if external_project else ""
        raise ValidationError({"external_project": f"{project.key} already uses {source.name}{target}."})


def _take_primary(integration: ProjectIntegration, actor) -> None:
    """Make room for ``integration`` as the project's one primary (the database enforces one)."""
    others = ProjectIntegration.objects.select_for_update().filter(project=integration.project, is_primary=True)
    for other in others.exclude(pk=integration.pk).select_related("source"):
        other.is_primary = False
        other.save(update_fields=["is_primary", "updated_at"])
        record_audit(
            AuditAction.PROJECT_INTEGRATION_CHANGED,
            actor=actor,
            source=other.source,
            project=other.project,
            target=str(other),
            details={"fields": ["is_primary"], "replaced_by": integration.source.name},
        )


# The settings of an integration the tracker is asked about when they are saved.
VERIFIED_FIELDS = ("external_project", "default_issue_type", "test_issue_type", "board")


@dataclass(frozen=True)
class Verification:
    """What checking an integration's choices against its tracker found, at ``checked_at``: ``error`` says
    why they could not be confirmed (the tracker is down, refuses, acts as each member), "" when they were."""

    checked_at: datetime
    error: str = ""

    def model_fields(self) -> dict:
        confirmed = {} if self.error else {"verified_at": self.checked_at}
        return {"verification_checked_at": self.checked_at, "verification_error": self.error, **confirmed}


def _refusals(provider: TrackerProvider, source: Source, choices: dict) -> dict[str, str]:
    """The choices the tracker does not have, by field, as sentences; {} when it has them all.
    ``NotFound`` for an external project it does not have."""
    project = provider.find_project(choices["external_project"]).key
    offered = provider.issue_types(project)
    names = ", ".join(issue_type.name for issue_type in offered) or "none"
    refusals = {}
    for name in ("default_issue_type", "test_issue_type"):
        wanted = choices[name].strip()
        if not wanted or find_type(offered, wanted) is not None:
            continue
        if name == "test_issue_type" and provider.test_type_as_label:
            continue  # a label on trackers without a type for tests: any word will do
        refusals[name] = f"{source.name} has no issue type “{wanted}” in {project}; it offers {names}."
    board = choices["board"].strip()
    if board:
        try:
            boards = provider.boards(project)
        except Unsupported:
            boards = None  # a tracker without boards: the board is not used
        if boards is not None and board not in {found.id for found in boards}:
            listed = ", ".join(f"{found.name} ({found.id})" for found in boards) or "none"
            refusals["board"] = f"{project} has no board {board} in {source.name}; its boards: {listed}."
    return refusals


def verify_target(source: Source, actor, **choices: str) -> Verification | None:
    """Ask the tracker (as ``actor``, with their own token where the source acts as each member) whether it
    has the external project, issue types and board of ``choices`` (VERIFIED_FIELDS; missing ones blank).

    ``ValidationError`` naming each field the tracker does not have. A tracker that cannot be asked gives
    a Verification with the reason, so the integration can be saved as not verified; None when there is
    nothing to ask (no external project, a tracker that lists no projects)."""
    choices = {name: (choices.get(name) or "").strip() for name in VERIFIED_FIELDS}
    if not choices["external_project"]:
        return None
    now = timezone.now()
    try:
        with interactive(source, advice="saved as not verified; check again later"):
            refusals = with_member_token(actor, source, lambda provider: _refusals(provider, source, choices))
    except Unsupported:
        return None
    except UnknownProject as error:
        raise ValidationError({"external_project": str(error)}) from None
    except TrackerError as error:
        return Verification(checked_at=now, error=source_excerpt(source, str(error), 500))
    if refusals:
        raise ValidationError(refusals)
    return Verification(checked_at=now)


def assign_source(
    project, source: Source, *, actor, checked: Verification | None = None, **values
) -> ProjectIntegration:
    """Assign an enabled, in-scope source to the project, after the tracker confirmed the choices
    (``verify_target``; ``checked`` when the caller did that already): mappings default to the standard
    ones. A tracker that cannot be asked leaves the integration saved as not verified. The tracker is
    asked outside any transaction (renewing a member's token must commit on its own)."""
    if "external_project" in values:
        values["external_project"] = _check_external_project(source, values["external_project"])
    if checked is None:
        _check_unique_target(project, source, values.get("external_project", ""))
        checked = verify_target(source, actor, **{name: values.get(name, "") for name in VERIFIED_FIELDS})
    return _assign(project, source, actor=actor, checked=checked, **values)


@transaction.atomic
def _assign(
    project,
    source: Source,
    *,
    actor,
    checked: Verification | None,
    external_project: str = "",
    default_issue_type: str = "",
    test_issue_type: str = "",
    board: str = "",
    description: str = "",
    priority_mapping=None,
    status_mapping=None,
    is_primary: bool = False,
    webhook_url: str = "",
    **sync_options: bool,
) -> ProjectIntegration:
    """The assignment's write, sync options (``SYNC_OPTIONS``, off unless given) included. With
    ``webhook_url`` (the source's hook on this server) and a source that processes webhooks, the webhook
    is registered in the tracker once the assignment is committed (in the background: it never blocks)."""
    unknown = set(sync_options) - set(SYNC_OPTIONS)
    if unknown:
        raise ValidationError(f"These fields cannot be set here: {', '.join(sorted(unknown))}.")
    if not selectors.assignable_sources(project).filter(pk=source.pk).exists():
        raise ValidationError(
            {"source": f"{source.name} is not available to {project.key}: it is disabled or not in its scope."}
        )
    external_project = _check_external_project(source, external_project)
    _check_unique_target(project, source, external_project)
    integration = ProjectIntegration(
        project=project,
        source=source,
        external_project=external_project,
        default_issue_type=default_issue_type.strip(),
        test_issue_type=test_issue_type.strip(),
        board=board.strip(),
        description=description.strip(),
        priority_mapping=validate_priority_mapping(
            default_priority_mapping() if priority_mapping is None else priority_mapping
        ),
        status_mapping=validate_status_mapping(default_status_mapping() if status_mapping is None else status_mapping),
        is_primary=is_primary,
        **sync_options,
        **(checked.model_fields() if checked is not None else {}),
    )
    if is_primary:
        _take_primary(integration, actor)
    integration.save()
    record_audit(
        AuditAction.PROJECT_ASSIGNED,
        actor=actor,
        source=source,
        project=project,
        target=str(integration),
        details={
            "external_project": external_project,
            "primary": is_primary,
            "sync_options": sorted(name for name, on in sync_options.items() if on),
            **_verification_details(checked),
        },
    )
    if webhook_url and registers_webhooks(source):
        _queue_webhook_registration(integration, webhook_url, actor)
    return integration


def _verification_details(checked: Verification | None) -> dict:
    if checked is None:
        return {}
    return {"verified": not checked.error}


def _retargeted(integration: ProjectIntegration, changes: dict) -> bool:
    """Whether ``changes`` point the integration at another project, issue type or board."""
    return any(name in changes and str(changes[name]).strip() != getattr(integration, name) for name in VERIFIED_FIELDS)


def update_project_integration(
    integration: ProjectIntegration, *, actor, state: str | None = None, checked: Verification | None = None, **changes
) -> ProjectIntegration:
    """Change the editable fields (and, when ``state`` differs, move to that state first); the audit row
    lists the fields that changed. All or nothing. A new external project, issue type or board is checked
    against the tracker first (``verify_target``, outside the transaction), as when assigning."""
    if "external_project" in changes:
        changes["external_project"] = _check_external_project(integration.source, changes["external_project"])
    if checked is None and _retargeted(integration, changes):
        choices = {name: changes.get(name, getattr(integration, name)) for name in VERIFIED_FIELDS}
        checked = verify_target(integration.source, actor, **choices)
    return _update(integration, actor=actor, state=state, checked=checked, **changes)


@transaction.atomic
def _update(
    integration: ProjectIntegration, *, actor, state: str | None, checked: Verification | None, **changes
) -> ProjectIntegration:
    if state is not None and state != integration.state:
        set_integration_state(integration, state, actor=actor)
    unknown = set(changes) - set(EDITABLE_INTEGRATION_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if "external_project" in changes:
        changes["external_project"] = _check_external_project(integration.source, changes["external_project"])
        _check_unique_target(integration.project, integration.source, changes["external_project"], integration.pk)
    for name in ("default_issue_type", "test_issue_type", "board", "description"):
        if name in changes:
            changes[name] = changes[name].strip()
    if "priority_mapping" in changes:
        changes["priority_mapping"] = validate_priority_mapping(changes["priority_mapping"])
    if "status_mapping" in changes:
        changes["status_mapping"] = validate_status_mapping(changes["status_mapping"])
    if changes.get("is_primary") and integration.state != IntegrationState.ACTIVE:
        raise ValidationError({"is_primary": "Only an active integration can be the primary one."})
    changed = [name for name, value in changes.items() if getattr(integration, name) != value]
    if checked is not None:
        for name, value in checked.model_fields().items():
            setattr(integration, name, value)
    if not changed:
        if checked is not None:
            integration.save(update_fields=[*checked.model_fields(), "updated_at"])
        return integration
    for name in changed:
        setattr(integration, name, changes[name])
    if integration.is_primary and "is_primary" in changed:
        _take_primary(integration, actor)
    integration.save()
    record_audit(
        AuditAction.PROJECT_INTEGRATION_CHANGED,
        actor=actor,
        source=integration.source,
        project=integration.project,
        target=str(integration),
        details={"fields": changed, **_verification_details(checked)},
    )
    return integration


def check_integration_again(integration: ProjectIntegration, *, actor) -> Verification | None:
    """Ask the tracker again whether it has the integration's external project, issue types and board
    (the Trackers page's "Check again"); what it finds is stored, a choice it does not have as the reason
    the integration is not verified. Returns what was found (None: nothing to ask)."""
    choices = {name: getattr(integration, name) for name in VERIFIED_FIELDS}
    try:
        checked = verify_target(integration.source, actor, **choices)
    except ValidationError as error:
        reason = " ".join(message for messages in error.message_dict.values() for message in messages)
        checked = Verification(checked_at=timezone.now(), error=source_excerpt(integration.source, reason, 500))
    if checked is not None:
        for name, value in checked.model_fields().items():
            setattr(integration, name, value)
        integration.save(update_fields=[*checked.model_fields(), "updated_at"])
    return checked


_TRANSITIONS = {
    # name: (target state, states it may come from, audit action)
    "archive": (
        IntegrationState.ARCHIVED,
        {IntegrationState.ACTIVE, IntegrationState.DISCONNECTED},
        AuditAction.PROJECT_INTEGRATION_ARCHIVED,
    ),
    "unarchive": (IntegrationState.ACTIVE, {IntegrationState.ARCHIVED}, AuditAction.PROJECT_INTEGRATION_UNARCHIVED),
    "disconnect": (
        IntegrationState.DISCONNECTED,
        {IntegrationState.ACTIVE},
        AuditAction.PROJECT_INTEGRATION_DISCONNECTED,
    ),
    "reconnect": (
        IntegrationState.ACTIVE,
        {IntegrationState.DISCONNECTED},
        AuditAction.PROJECT_INTEGRATION_RECONNECTED,
    ),
}
INTEGRATION_TRANSITIONS = tuple(_TRANSITIONS)


@transaction.atomic
def change_integration_state(integration: ProjectIntegration, transition: str, *, actor) -> ProjectIntegration:
    """archive (hidden from pickers, data kept), unarchive, disconnect (stops syncing), reconnect.

    Leaving the active state gives up the primary flag.
    """
    target, sources, action = _TRANSITIONS[transition]
    if integration.state not in sources:
        raise ValidationError(
            f"{integration} is {integration.get_state_display().lower()}, so there is nothing to {transition}."
        )
    integration.state = target
    if target != IntegrationState.ACTIVE:
        integration.is_primary = False
    integration.save(update_fields=["state", "is_primary", "updated_at"])
    record_audit(action, actor=actor, source=integration.source, project=integration.project, target=str(integration))
    return integration


def set_integration_state(integration: ProjectIntegration, state: str, *, actor) -> ProjectIntegration:
    """Move to ``state`` by the one transition that leads there from the current state."""
    for name, (target, sources, _action) in _TRANSITIONS.items():
        if target == state and integration.state in sources:
            return change_integration_state(integration, name, actor=actor)
    raise ValidationError({"state": f"The integration is {integration.state}; it cannot become {state}."})


@transaction.atomic
def remove_project_integration(integration: ProjectIntegration, *, actor) -> None:
    """Remove the assignment (its mappings go; issues, references and links stay)."""
    record_audit(
        AuditAction.PROJECT_INTEGRATION_REMOVED,
        actor=actor,
        source=integration.source,
        project=integration.project,
        target=str(integration),
    )
    integration.delete()


# --- Members' own tokens (OAuth 2.0) ----------------------------------------------------
#
# Renewals must commit on their own: with rotating refresh tokens (Atlassian, GitLab, Microsoft)
# a renewal rolled back with an enclosing transaction loses the only refresh token that still
# works. Call these outside ``transaction.atomic``.

# Renewed before use when it expires sooner than this, so that an operation rarely meets a 401
# halfway (the periodic renewal, tasks.renew_expiring_tokens, looks further ahead).
RENEW_BEFORE_USE = timedelta(minutes=1)

Result = TypeVar("Result")


def _token_target(token: UserToken) -> str:
    account = f" ({token.remote_account})" if token.remote_account else ""
    return f"{token.user.get_username()}{account}"


def authorize_member(user, source: Source, *, code: str, redirect_uri: str, code_verifier: str) -> UserToken:
    """Exchange the code of a member's authorization, ask the tracker whose account it is (and, for
    Jira Cloud, which site it reaches), and store the tokens (encrypted), replacing any the member
    had for the source. Audited either way; ``TrackerError`` when it did not work."""
    try:
        grant = oauth.exchange_code(provider_for(source), code, redirect_uri, code_verifier)
        token = UserToken(
            user=user,
            source=source,
            kind=TokenKind.OAUTH2,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            expires_at=grant.expires_at,
            scopes=grant.scopes[:500],
        )
        account = provider_for(source, token).oauth_account()
    except TrackerError as error:
        record_audit(
            AuditAction.TOKEN_AUTHORIZED,
            actor=user,
            source=source,
            target=user.get_username(),
            success=False,
            message=str(error),
            details={"code": error.code},
        )
        raise
    return _keep_member_token(
        token,
        account,
        details={
            "scopes": token.scopes,
            "expires": grant.expires_at is not None,
            "renewable": grant.refresh_token is not None,
        },
    )


def _keep_member_token(checked: UserToken, account, *, details: dict) -> UserToken:
    """Store the member's token the tracker has just answered to (``checked``, unsaved) with the account
    it named, replacing any the member had for the source; audited, and their reauthorization notice
    goes: the one write of authorizing and entering a token."""
    with transaction.atomic():
        token, _created = UserToken.objects.update_or_create(
            user=checked.user,
            source=checked.source,
            defaults={
                "kind": checked.kind,
                "access_token": checked.access_token,
                "refresh_token": checked.refresh_token,
                "expires_at": checked.expires_at,
                "scopes": checked.scopes,
                "remote_account": account.name[:200],
                "resource_id": account.resource_id[:100],
                "resource_url": account.resource_url[:500],
                "last_refreshed_at": None,
                "last_error": "",
            },
        )
        record_audit(
            AuditAction.TOKEN_AUTHORIZED,
            actor=checked.user,
            source=checked.source,
            target=_token_target(token),
            details=details,
        )
        ReauthorizationNotice.objects.filter(user=checked.user, source=checked.source).delete()
    return token


def dismiss_reauthorization_notice(notice: ReauthorizationNotice) -> None:
    """The member read it: stop showing it."""
    notice.delete()


@transaction.atomic
def revoke_member_token(token: UserToken, *, actor) -> None:
    """Forget a member's token for a source (the tracker keeps its record of the grant until the
    member withdraws it there). Revoked by someone else (a project or site administrator), the member
    is told on their pages, never left to find out when filing fails or acts as the shared account."""
    by_someone_else = actor is not None and getattr(actor, "pk", None) != token.user_id
    record_audit(
        AuditAction.TOKEN_REVOKED,
        actor=actor,
        source=token.source,
        target=_token_target(token),
        details={"kind": token.kind, "by_someone_else": by_someone_else},
    )
    if by_someone_else:
        ReauthorizationNotice.objects.update_or_create(
            user_id=token.user_id,
            source=token.source,
            defaults={"message": _revocation_notice(token, actor)},
        )
    token.delete()


def _revocation_notice(token: UserToken, actor) -> str:
    source = token.source
    if source.auth_type == AuthType.OAUTH2:
        after = "authorize your account again to file and search its issues as you."
    else:
        after = "what you do there goes through the source's own account until you enter a token again."
    return f"{actor.get_username()} revoked your authorization for {source.name}: {after}"


def save_member_token(user, source: Source, *, access_token: str, refresh_token: str = "") -> UserToken:
    """Store a token the member entered by hand (``selectors.entered_token_kind``): their personal access
    token (Linear: personal API key) to use instead of the source's shared credential, or, on an OAuth
    2.0 source, an access token and optional refresh token the tracker issued outside a browser flow
    (renewed as authorized ones are). The tracker is first asked whose account it is: a token it
    refuses, or that cannot be checked, is not stored (``TrackerError``, redacted). Replaces the
    member's token for the source. Audited, never with the token. The caller checks
    ``selectors.may_enter_token``."""
    kind = selectors.entered_token_kind(source)
    access_token, refresh_token = access_token.strip(), (refresh_token or "").strip()
    if kind is None:
        raise ValidationError({"token": f"{source.name} takes no token of yours: it uses its own account."})
    if not access_token:
        raise ValidationError({"token": f"Enter your {selectors.member_token_label(source)}."})
    if refresh_token and kind != TokenKind.OAUTH2:
        raise ValidationError({"refresh_token": "Only OAuth 2.0 sources take a refresh token."})
    # Its expiry is unknown: it is renewed when the tracker refuses it (401), if it can be.
    token = UserToken(
        user=user, source=source, kind=kind, access_token=access_token, refresh_token=refresh_token or None
    )
    try:
        with interactive(source, "try again when it answers; nothing was stored"):
            account = _entered_token_account(token)
    except TrackerError as error:
        record_audit(
            AuditAction.TOKEN_AUTHORIZED,
            actor=user,
            source=source,
            target=user.get_username(),
            success=False,
            message=redact(str(error), [access_token, refresh_token]),
            details={"code": error.code, "kind": kind, "entered": True},
        )
        raise
    return _keep_member_token(token, account, details={"kind": kind, "entered": True, "renewable": bool(refresh_token)})


def _entered_token_account(token: UserToken):
    """Whose account the tracker says an entered token is (and, for a Jira Cloud OAuth token, its site)."""
    provider = provider_for(token.source, token)
    if token.kind == TokenKind.OAUTH2:
        return provider.oauth_account()
    return OAuthAccount(name=provider.whoami().user)


def renew_member_token(token: UserToken, *, actor=None) -> UserToken:
    """Renew the token with its refresh token and return the token to use now.

    One renewal per token at a time (``oauth.renewal_lock`` and the row lock): a worker that
    finds the token renewed or re-authorized since it read ``token`` uses that one instead.
    When the tracker refuses the renewal, or there is nothing to renew with, the token is marked
    (``last_error``, the reason shown to the member), TOKEN_REFRESH_FAILED is audited and
    ``AuthorizationRequired`` raised; a token so marked is not used until re-authorized. Other
    failures (the tracker unreachable) are audited and raised, leaving the token as it was.
    """
    seen = token.access_token
    with oauth.renewal_lock(token.pk), transaction.atomic():
        current = UserToken.objects.select_for_update().filter(pk=token.pk).first()
        if current is None:
            raise AuthorizationRequired(
                f"Your authorization for {token.source.name} was revoked: authorize your account again."
            )
        if current.access_token != seen:
            return current
        failure = _renew(current, actor)
    if failure is not None:
        raise failure
    return current


def _renew(token: UserToken, actor) -> TrackerError | None:
    """Renew the locked token and record the outcome; the error to raise once committed, if any."""
    source = token.source
    if token.kind == TokenKind.PAT:
        return _mark_for_reauthorization(
            token,
            actor,
            f"{source.name} no longer accepts your personal token (expired or revoked): enter a new one, or remove "
            "it to act through the source's own account.",
            code="not_renewable",
        )
    if not isinstance(token.refresh_token, str) or not token.refresh_token:
        return _mark_for_reauthorization(
            token,
            actor,
            f"{source.name} no longer accepts your token and it cannot be renewed: authorize your account again.",
            code="not_renewable",
        )
    try:
        grant = oauth.refresh(provider_for(source), token.refresh_token)
    except OAuthRefused as error:
        reason = error.error or f"HTTP {error.status}"
        return _mark_for_reauthorization(
            token,
            actor,
            f"{source.name} refused to renew your authorization ({reason}): authorize your account again.",
            code=error.code,
            oauth_error=error.error,
        )
    except TrackerError as error:
        record_audit(
            AuditAction.TOKEN_REFRESH_FAILED,
            actor=actor,
            source=source,
            target=_token_target(token),
            success=False,
            message=str(error),
            details={"code": error.code},
        )
        return error
    token.access_token = grant.access_token
    if grant.refresh_token is not None:  # rotated; a tracker that keeps the old one sends none
        token.refresh_token = grant.refresh_token
    token.expires_at = grant.expires_at
    token.scopes = grant.scopes[:500] or token.scopes
    token.last_refreshed_at = timezone.now()
    token.last_error = ""
    token.save(
        update_fields=["access_token", "refresh_token", "expires_at", "scopes", "last_refreshed_at", "last_error"]
    )
    record_audit(
        AuditAction.TOKEN_REFRESHED,
        actor=actor,
        source=source,
        target=_token_target(token),
        details={"expires_at": grant.expires_at.isoformat() if grant.expires_at else None},
    )
    return None


def _mark_for_reauthorization(token: UserToken, actor, reason: str, **details) -> AuthorizationRequired:
    token.last_error = source_excerpt(token.source, reason, 500)
    token.save(update_fields=["last_error"])
    record_audit(
        AuditAction.TOKEN_REFRESH_FAILED,
        actor=actor,
        source=token.source,
        target=_token_target(token),
        success=False,
        message=reason,
        details=details,
    )
    return AuthorizationRequired(reason)


def with_member_token(user, source: Source, operation: Callable[[TrackerProvider], Result]) -> Result:
    """Run ``operation`` with a provider acting as ``user``: their own token for the source when they
    have one, else the source's credentials (an OAuth 2.0 source has none: ``AuthorizationRequired``).

    A token about to expire is renewed first. When the tracker answers 401 the token is renewed
    once and the operation run once more; a second 401 is raised. A member's token only ever
    serves that member: each call builds its provider, and so its HTTP client, for this token.
    """
    token = UserToken.objects.filter(user=user, source=source).first() if user and user.is_authenticated else None
    if token is None:
        if source.auth_type == AuthType.OAUTH2:
            raise AuthorizationRequired(
                f"{source.name} acts as each member: authorize your own account for it on the project's Trackers "
                "page first."
            )
        return operation(provider_for(source))
    if token.last_error:
        raise AuthorizationRequired(token.last_error)
    if token.expires_at is not None and token.expires_at <= timezone.now() + RENEW_BEFORE_USE:
        token = renew_member_token(token, actor=user)
    try:
        return operation(provider_for(source, token))
    except AuthenticationFailed:
        token = renew_member_token(token, actor=user)
    return operation(provider_for(source, token))


def with_own_token_if_any(user, source: Source, operation: Callable[[TrackerProvider], Result]) -> Result:
    """Background work done on a member's behalf (a comment they wrote, posted later): as the member when
    they stored or authorized a token for ``source`` (``with_member_token``), else with the source's
    credentials, as before members had tokens."""
    if user is None or selectors.member_token(source, user) is None:
        return operation(provider_for(source))
    return with_member_token(user, source, operation)
