"""Keeping linked tracker issues in sync: refreshes, webhook events and two-way defects.

Refresh. Every minute the beat fans out one task per source with stale references (older than the
source's refresh interval); a run reads them through the provider's ``refresh`` in batches sized to
what one request reads, and spends at most ``REFRESH_BUDGET_SHARE`` of the source's per-minute
request budget (members' own requests keep the rest; the next run goes on). What the tracker
answered is stored; a key it reports gone marks the reference deleted remotely (a reference is never
deleted); an error leaves every cached value as it was and is recorded on each reference the run
could not read and on the source's health, and the source rests for ``FAILURE_BACKOFF_SECONDS`` (or
the tracker's Retry-After) before the next periodic run. Pages ask for the references they show
(``request_refresh``): those older than ``PAGE_STALE_SECONDS`` are queued, never waited for.

Webhooks. ``receive_webhook`` checks the source takes webhooks and the size, has the provider verify
the signature (constant time) and parse the delivery into ``IssueEvent``s, and ``apply_events``
applies them once per delivery id (``WebhookDelivery``) and only when they are not older than the
stored remote updated-at, so a replayed or late delivery never overwrites a newer state. A source
that received deliveries within ``RECONCILE_INTERVAL`` is webhook-fed: it is not polled, and a daily
reconcile reads all its references again to catch a delivery the tracker never sent.

Defects. With a project integration's ``sync_defects`` a tracker issue linked in the project gets an
internal issue, its defect (``DefectSync``), whose status and priority follow the tracker through
the integration's mappings; with ``push_defect_changes`` the defect's own status and priority
changes are sent to the tracker (retried with every refresh until they are); with ``sync_comments``
comments go both ways and the tracker's id of each is kept, so a comment sent from here never comes
back as a new one. With ``update_test_status_on_resolve`` a failed or blocked result linked to an
issue the tracker resolves becomes "retest".
"""

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.db.models.signals import post_save
from django.utils import timezone

from integrations import selectors as integration_selectors
from integrations import services as integration_services
from integrations.errors import RemoteValidationError, TrackerError
from integrations.models import AuditAction, IntegrationState, ProjectIntegration, Source
from integrations.providers import provider_class, provider_for
from integrations.providers.base import (
    Capability,
    EventKind,
    FetchResult,
    IssueEvent,
    RemoteComment,
    RemoteIssue,
    TrackerProvider,
    Unsupported,
    WebhookRejected,
)
from integrations.signals import refresh_requested
from projects.models import ResultStatus, TestResult

from . import services, tasks
from .models import (
    CommentOrigin,
    DefectSync,
    ExternalReference,
    Issue,
    IssueComment,
    IssuePriority,
    IssueStatus,
    Link,
    StatusCategory,
    WebhookDelivery,
)
from .selectors import STATUS_CATEGORIES
from .signals import issue_updated

REFRESH_BUDGET_SHARE = 0.5  # of a source's per-minute request budget, what one refresh run may spend
MIN_BATCH = 25  # keys per fetch at least, for a provider that reads one issue a request
FAILURE_BACKOFF_SECONDS = 300
RUN_LOCK_SECONDS = 15 * 60  # the longest a refresh run that died keeps its source locked
PAGE_STALE_SECONDS = 120  # a reference a page shows is refreshed when it is older than this
PAGE_REQUEST_SECONDS = 60  # pages ask for one reference at most this often
RECONCILE_INTERVAL = timedelta(days=1)
WEBHOOK_DELIVERY_DAYS = 7
PUSH_GRACE = timedelta(minutes=1)  # a comment this young is being sent by its own task
PUSH_LOCK_SECONDS = 300
RESOLVABLE_RESULTS = (ResultStatus.FAILED, ResultStatus.BLOCKED)
HIDDEN = "The tracker did not return this issue: the account cannot see it (any more). The cached values are kept."
# The defect status a tracker status category stands for, when the status mapping does not name it.
CATEGORY_STATUS = {
    StatusCategory.TO_DO: IssueStatus.OPEN, StatusCategory.IN_PROGRESS: IssueStatus.IN_PROGRESS,
    StatusCategory.DONE: IssueStatus.CLOSED,
}  # fmt: skip
_EPOCH = datetime.min.replace(tzinfo=UTC)


# --- Which sources and references ------------------------------------------------------


def reads_details(source: Source) -> bool:
    """Whether background work may read the source's issues: enabled, connected, reading details."""
    return source.syncs and integration_selectors.can(source, Capability.READ_DETAILS)


def webhook_fed(source: Source, now: datetime | None = None) -> bool:
    """Whether the tracker sends the source's changes: webhooks are on and one arrived lately."""
    since = (now or timezone.now()) - RECONCILE_INTERVAL
    return (
        source.can_process_webhooks and WebhookDelivery.objects.filter(source=source, received_at__gte=since).exists()
    )


def stale_references(source: Source, now: datetime):
    """The source's references older than its refresh interval (never read first, then oldest first)."""
    cutoff = now - timedelta(minutes=source.refresh_interval_minutes)
    return (
        ExternalReference.objects.filter(source=source, deleted_remotely=False)
        .filter(Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=cutoff))
        .order_by(F("last_synced_at").asc(nulls_first=True), "pk")
    )


def sources_due_for_refresh(now: datetime | None = None) -> list[int]:
    """Polled sources with stale references and no failure to rest from: each gets its own run."""
    now = now or timezone.now()
    return [
        source.pk
        for source in Source.objects.filter(enabled=True, connected=True, can_read_details=True)
        if reads_details(source)
        and not cache.get(_backoff_key(source))
        and not webhook_fed(source, now)
        and stale_references(source, now).exists()
    ]


def webhook_fed_sources(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return [
        source.pk
        for source in Source.objects.filter(enabled=True, connected=True, can_process_webhooks=True)
        if reads_details(source) and webhook_fed(source, now)
    ]


def reference_ids_of(source_id: int) -> list[int]:
    return list(ExternalReference.objects.filter(source_id=source_id).order_by("pk").values_list("pk", flat=True))


def _backoff_key(source: Source) -> str:
    return f"issues:sync:backoff:{source.uuid}"


def _once_key(what: str, row) -> str:
    """A cache key for one row: its id and creation time, so that a reused id is another key."""
    return f"issues:sync:{what}:{type(row).__name__}:{row.pk}:{row.created_at.timestamp()}"


def _lock_key(source: Source) -> str:
    return f"issues:sync:running:{source.uuid}"


# --- Refresh ---------------------------------------------------------------------------


@dataclass
class RefreshReport:
    """What one refresh run of a source did, by reference."""

    read: int = 0  # the tracker answered for them (changed or not)
    changed: int = 0
    missing: int = 0  # reported gone: marked deleted remotely
    hidden: int = 0  # not returned (forbidden): kept as they were
    failed: int = 0  # not read because the tracker failed: kept as they were, the error recorded
    deferred: list[int] = field(default_factory=list)  # asked for, left for a later run by the budget
    error: str = ""
    rest_seconds: int = 0  # after a failure, how long the source rests from periodic runs
    skipped: str = ""  # why the run read nothing


def refresh_source(
    source_id: int, reference_ids: Sequence[int] | None = None, *, shown: bool = False, redelivered: bool = False
) -> RefreshReport:
    """One refresh run: the source's stale references, or ``reference_ids`` (a page, "Refresh now", a
    webhook whose payload lacked the state), as many as the run's share of the budget reads. References
    a page ``shown`` are not read from a webhook-fed source: the webhooks keep them fresh. A periodic run
    ``redelivered`` after its worker died takes over the source's lock that run left behind."""
    report = RefreshReport()
    source = Source.objects.filter(pk=source_id).first()
    if source is None or not reads_details(source):
        report.skipped = "The source does not sync: it is gone, disabled, disconnected or reads no details."
        return report
    if shown and webhook_fed(source):
        report.skipped = "The source is fed by webhooks."
        return report
    periodic = reference_ids is None
    if (periodic or shown) and cache.get(_backoff_key(source)):
        report.skipped = "The source rests after a failed refresh."
        return report
    if periodic and not cache.add(_lock_key(source), 1, RUN_LOCK_SECONDS):
        if not redelivered:
            report.skipped = "Another run is refreshing the source."
            return report
        cache.set(_lock_key(source), 1, RUN_LOCK_SECONDS)
    try:
        _refresh(source, reference_ids, report)
    finally:
        if periodic:
            cache.delete(_lock_key(source))
    return report


def _refresh(source: Source, reference_ids: Sequence[int] | None, report: RefreshReport) -> None:
    per_request = max(1, provider_class(source.provider).keys_per_request)
    budget = max(1, math.floor(source.rate_limit_per_minute * REFRESH_BUDGET_SHARE))  # requests
    capacity = budget * per_request
    if reference_ids is None:
        references = list(stale_references(source, timezone.now())[:capacity])
    else:
        asked = list(ExternalReference.objects.filter(source=source, pk__in=reference_ids).order_by("pk"))
        references, report.deferred = asked[:capacity], [reference.pk for reference in asked[capacity:]]
    done = 0
    try:
        provider = provider_for(source)
        for batch in _chunks(references, max(per_request, MIN_BATCH)):
            result = provider.refresh({reference.key: _cached(reference) for reference in batch})
            _apply_fetch(source, provider, batch, result, report)
            done += len(batch)
        push_pending(source, provider)
    except TrackerError as error:
        _record_failure(source, references[done:], error, report)
    else:
        integration_services.record_sync_health(source, None)


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _cached(reference: ExternalReference) -> RemoteIssue:
    """The reference's cached values, for a provider's conditional re-read (GitHub's ETag)."""
    return RemoteIssue(
        key=reference.key,
        title=reference.title,
        status=reference.status,
        status_category=reference.status_category,
        assignee=reference.assignee,
        priority=reference.priority,
        url=reference.url,
        updated_at=reference.remote_updated_at,
        etag=reference.etag,
        created_at=reference.remote_created_at,
        resolved_at=reference.remote_resolved_at,
    )


# The cached values of a reference that a remote issue's state sets (see _state).
STATE_FIELDS = (
    "title",
    "status",
    "status_category",
    "assignee",
    "priority",
    "url",
    "remote_updated_at",
    "etag",
    "deleted_remotely",
    "remote_created_at",
    "remote_resolved_at",
)


def _state(reference: ExternalReference, remote: RemoteIssue) -> dict:
    """The cached values a remote issue stands for (an empty URL keeps the cached one)."""
    category = remote.status_category if remote.status_category in StatusCategory.values else StatusCategory.UNKNOWN
    return {
        "title": remote.title[:500],
        "status": remote.status[:100],
        "status_category": category,
        "assignee": remote.assignee[:200],
        "priority": remote.priority[:100],
        "url": remote.url or reference.url,
        "remote_updated_at": remote.updated_at,
        "etag": remote.etag[:200],
        "deleted_remotely": False,
        "remote_created_at": reference.remote_created_at,
        "remote_resolved_at": reference.remote_resolved_at,
        **services.remote_dates(remote),
    }


def _differs(reference: ExternalReference, state: dict) -> bool:
    return any(getattr(reference, name) != value for name, value in state.items())


def _store(reference: ExternalReference, state: dict, now: datetime) -> bool:
    """Store ``state`` unless the reference holds a newer remote state (compared in the UPDATE, so a
    concurrent webhook or refresh cannot be undone by an older answer)."""
    rows = ExternalReference.objects.filter(pk=reference.pk)
    if state["remote_updated_at"] is not None:
        rows = rows.filter(Q(remote_updated_at__isnull=True) | Q(remote_updated_at__lte=state["remote_updated_at"]))
    return bool(rows.update(**state, last_synced_at=now, last_error=""))


def _store_batch(changes: list[tuple[ExternalReference, dict]], now: datetime) -> list[tuple[ExternalReference, dict]]:
    """``_store`` for a batch, in two statements: the rows are locked, those holding a newer remote state
    are left alone, the others updated by one UPDATE executed for every row (the ORM's bulk_update
    builds a CASE per field and row, which costs more than the refresh itself). Returns what was stored."""
    held = dict(
        ExternalReference.objects.select_for_update()
        .filter(pk__in=[r.pk for r, _ in changes])
        .values_list("pk", "remote_updated_at")
    )
    stored = [
        (reference, state)
        for reference, state in changes
        if reference.pk in held
        and (
            held[reference.pk] is None
            or state["remote_updated_at"] is None
            or held[reference.pk] <= state["remote_updated_at"]
        )
    ]
    if not stored:
        return stored
    meta, quote = ExternalReference._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in (*STATE_FIELDS, "last_synced_at", "last_error")]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(field.column)} = %s' for field in fields)} "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    rows = [
        [
            field.get_db_prep_save({**state, "last_synced_at": now, "last_error": ""}[field.name], connection)
            for field in fields
        ]
        + [reference.pk]
        for reference, state in stored
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return stored


def _apply_fetch(
    source: Source,
    provider: TrackerProvider,
    batch: list[ExternalReference],
    result: FetchResult,
    report: RefreshReport,
) -> None:
    now = timezone.now()
    unchanged, gone, hidden, changes = [], [], [], []
    for reference in batch:
        remote = result.issues.get(reference.key)
        if remote is not None:
            state = _state(reference, remote)
            if _differs(reference, state):
                changes.append((reference, state))
            else:
                unchanged.append(reference.pk)
        elif reference.key in result.missing:
            gone.append(reference.pk)
        else:
            hidden.append(reference.pk)
    with transaction.atomic():
        stored = _store_batch(changes, now)
        kept = {reference.pk for reference, _ in stored}
        # An answer older than what a webhook stored meanwhile is no change, but the reference was read.
        unchanged += [reference.pk for reference, _ in changes if reference.pk not in kept]
        ExternalReference.objects.filter(pk__in=unchanged).update(last_synced_at=now, last_error="")
        ExternalReference.objects.filter(pk__in=gone).update(deleted_remotely=True, last_synced_at=now, last_error="")
        ExternalReference.objects.filter(pk__in=hidden).update(last_synced_at=now, last_error=HIDDEN)
        _follow_changes(source, stored, [reference.pk for reference in batch])
    report.read += len(unchanged) + len(stored)
    report.changed += len(stored)
    report.missing += len(gone)
    report.hidden += len(hidden)
    pull_comments(provider, [reference.pk for reference, _ in stored])


def _record_failure(
    source: Source, references: list[ExternalReference], error: TrackerError, report: RefreshReport
) -> None:
    """The tracker failed: the references not read keep their values and say why; so does the source."""
    message = str(error)[:500]  # tracker errors are redacted where they are raised
    ExternalReference.objects.filter(pk__in=[reference.pk for reference in references]).update(last_error=message)
    report.failed, report.error = len(references), message
    report.rest_seconds = max(FAILURE_BACKOFF_SECONDS, math.ceil(error.retry_after or 0))
    integration_services.record_sync_health(source, error)
    cache.set(_backoff_key(source), 1, report.rest_seconds)


def request_refresh(references: Iterable[ExternalReference]) -> int:
    """Queue a refresh of the references a page shows that are older than ``PAGE_STALE_SECONDS``, each at
    most once every ``PAGE_REQUEST_SECONDS``. Asks neither the tracker nor the database (the task sorts
    out sources that do not sync, rest after a failure or are fed by webhooks); returns how many were
    queued. Without a worker (tasks run eagerly, ``make run``) the task runs as the page is answered."""
    stale = timezone.now() - timedelta(seconds=PAGE_STALE_SECONDS)
    due: dict[int, list[int]] = defaultdict(list)
    for reference in references:
        fresh = reference.last_synced_at is not None and reference.last_synced_at >= stale
        if (
            reference.source_id is not None
            and not reference.deleted_remotely
            and not fresh
            and cache.add(_once_key("asked", reference), 1, PAGE_REQUEST_SECONDS)
        ):
            due[reference.source_id].append(reference.pk)
    for source_id, ids in due.items():
        transaction.on_commit(partial(tasks.refresh_references.delay, source_id, ids, shown=True))
    return sum(len(ids) for ids in due.values())


def refresh_now(references: Iterable[ExternalReference]) -> int:
    """Queue a refresh of these references whatever their age ("Refresh now"); returns how many."""
    by_source: dict[int, list[int]] = defaultdict(list)
    for reference in references:
        if reference.source_id is not None:
            by_source[reference.source_id].append(reference.pk)
    for source_id, ids in by_source.items():
        transaction.on_commit(partial(tasks.refresh_references.delay, source_id, ids))
    return sum(len(ids) for ids in by_source.values())


def prune_deliveries(now: datetime | None = None) -> int:
    """Forget deliveries older than ``WEBHOOK_DELIVERY_DAYS``; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=WEBHOOK_DELIVERY_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted


# --- Webhooks --------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookOutcome:
    """How the hook answers a delivery."""

    status: int
    message: str


@dataclass
class AppliedEvents:
    events: int = 0
    applied: int = 0  # changed a reference or added a comment
    stale: int = 0  # older than what the reference holds
    unknown: int = 0  # about keys no reference has
    duplicate: int = 0  # of a delivery received before
    refresh: list[int] = field(default_factory=list)  # references to read again (the payload lacked the state)


def receive_webhook(source_uuid, request) -> WebhookOutcome:
    """Verify, parse and apply one delivery to ``/hooks/<source uuid>/``."""
    source = Source.objects.filter(uuid=source_uuid).first()
    if source is None or not source.syncs or not integration_selectors.can(source, Capability.PROCESS_WEBHOOKS):
        return WebhookOutcome(404, "No source takes webhooks at this address.")
    limit = settings.WEBHOOK_MAX_BYTES
    if _declared_length(request) > limit or len(request.body) > limit:
        return _rejected(source, 413, f"The delivery is larger than {limit} bytes.")
    try:
        provider = provider_for(source)
        provider.verify_webhook(request)
    except WebhookRejected as error:
        return _rejected(source, 401, str(error))
    except TrackerError as error:  # the source's credentials no longer decrypt
        return _rejected(source, 503, str(error))
    try:
        events = provider.parse_webhook(request.body, request.headers)
    except TrackerError as error:
        return _rejected(source, 400, str(error))
    applied = apply_events(source, events)
    delivery = events[0].delivery_id if events else ""
    integration_services.record_audit(
        AuditAction.WEBHOOK_ACCEPTED,
        source=source,
        target=delivery,
        details={
            "events": applied.events,
            "applied": applied.applied,
            "stale": applied.stale,
            "unknown": applied.unknown,
            "duplicate": applied.duplicate,
            "refresh": len(applied.refresh),
        },
    )
    return WebhookOutcome(200, f"{applied.applied} of {applied.events} event(s) applied.")


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


# A flood of forged or broken deliveries must not flood the append-only audit log: per source and
# answer, one row a window, which counts the rejections left unwritten since the row before it.
REJECTION_AUDIT_SECONDS = 60


def rejection_window_key(source: Source, status: int) -> str:
    return f"issues:webhook-rejections:{source.pk}:{status}"


def _rejected(source: Source, status: int, message: str) -> WebhookOutcome:
    window = rejection_window_key(source, status)
    unwritten = f"{window}:unwritten"
    if cache.add(window, True, REJECTION_AUDIT_SECONDS):
        details = {"status": status}
        if skipped := cache.get(unwritten, 0):
            cache.delete(unwritten)
            details["unwritten_before"] = skipped
        integration_services.record_audit(
            AuditAction.WEBHOOK_REJECTED, source=source, success=False, message=message, details=details
        )
    else:
        cache.add(unwritten, 0, timeout=None)
        cache.incr(unwritten)
    return WebhookOutcome(status, message)


def apply_events(source: Source, events: Sequence[IssueEvent]) -> AppliedEvents:
    """Apply a verified delivery's events: once per delivery id, oldest first, each only when it is not
    older than the state the reference holds. Keys no reference has are ignored."""
    outcome = AppliedEvents(events=len(events))
    now = timezone.now()
    with transaction.atomic():
        fresh = _record_deliveries(source, events)
        wanted = sorted(
            (event for event in events if event.delivery_id in fresh), key=lambda event: event.updated_at or _EPOCH
        )
        outcome.duplicate = len(events) - len(wanted)
        references = _references_by_key(source, {event.key for event in wanted})
        stored = []
        for event in wanted:
            matched = references.get(event.key.lower(), [])
            outcome.unknown += not matched
            for reference in matched:
                if event.kind == EventKind.CHANGED:
                    outcome.refresh.append(reference.pk)
                    continue
                applied = _apply_event(reference, event, now, stored)
                outcome.applied += applied
                outcome.stale += not applied and event.comment is None
        _follow_changes(source, stored, [reference.pk for reference, _ in stored])
        if outcome.refresh:
            transaction.on_commit(partial(tasks.refresh_references.delay, source.pk, sorted(set(outcome.refresh))))
    return outcome


def _apply_event(reference: ExternalReference, event: IssueEvent, now: datetime, stored: list) -> bool:
    if event.kind == EventKind.DELETED:
        rows = ExternalReference.objects.filter(pk=reference.pk)
        if event.updated_at is not None:
            rows = rows.filter(Q(remote_updated_at__isnull=True) | Q(remote_updated_at__lte=event.updated_at))
        return bool(rows.update(deleted_remotely=True, last_synced_at=now, last_error=""))
    applied = False
    if event.issue is not None:
        state = _state(reference, event.issue)
        if _store(reference, state, now):
            stored.append((reference, state))
            applied = True
    if event.comment is not None:
        applied = receive_comment(reference, event.comment) or applied
    return applied


def _record_deliveries(source: Source, events: Sequence[IssueEvent]) -> set[str]:
    """The delivery ids not received before, now recorded."""
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        counts[event.delivery_id] += 1
    fresh = set()
    for delivery_id, count in counts.items():
        try:
            with transaction.atomic():
                WebhookDelivery.objects.create(source=source, delivery_id=delivery_id[:200], events=count)
        except IntegrityError:
            continue
        fresh.add(delivery_id)
    return fresh


def _references_by_key(source: Source, keys: set[str]) -> dict[str, list[ExternalReference]]:
    """The source's references of ``keys``, by lower-cased key (trackers' keys ignore case): exact
    spellings first, the others compared case-insensitively."""
    found: dict[str, list[ExternalReference]] = defaultdict(list)
    for reference in ExternalReference.objects.filter(source=source, key__in=keys):
        found[reference.key.lower()].append(reference)
    others = {key.lower() for key in keys} - set(found)
    if others:
        spelled = ExternalReference.objects.filter(source=source).annotate(lower_key=Lower("key"))
        for reference in spelled.filter(lower_key__in=others):
            found[reference.key.lower()].append(reference)
    return found


# --- What follows a change: resolved tests, defects --------------------------------------


def _follow_changes(source: Source, stored: list[tuple[ExternalReference, dict]], seen: Sequence[int]) -> None:
    """Results to retest for issues that became resolved; defects that follow the changed issues; defects
    for those of the ``seen`` references that have none yet. One query when no project asks for any."""
    options = ProjectIntegration.objects.filter(source=source, state=IntegrationState.ACTIVE).filter(
        Q(sync_defects=True) | Q(update_test_status_on_resolve=True)
    )
    options = list(options.values_list("project_id", "sync_defects", "update_test_status_on_resolve"))
    retesting = [project for project, _, asks in options if asks]
    defects = [project for project, asks, _ in options if asks]
    resolved = [
        reference.pk
        for reference, state in stored
        if state["status_category"] == StatusCategory.DONE and reference.status_category != StatusCategory.DONE
    ]
    if retesting and resolved:
        retest(retesting, resolved)
    if defects:
        follow_defects([reference.pk for reference, _ in stored])
        mirror_defects(defects, seen)


def retest(projects: Sequence[int], reference_ids: Sequence[int]) -> int:
    """Failed or blocked results of these projects linked to these (now resolved) issues become "retest";
    returns how many."""
    return TestResult.objects.filter(
        issue_links__external_reference_id__in=reference_ids,
        issue_links__project_id__in=projects,
        status__in=RESOLVABLE_RESULTS,
    ).update(status=ResultStatus.RETEST)


def _same(first: str, second: str) -> bool:
    return " ".join(first.split()).casefold() == " ".join(second.split()).casefold()


def defect_status(integration: ProjectIntegration, tracker_status: str, category: str) -> str | None:
    """The defect status a tracker status maps to: by the status mapping, else by its category."""
    for status, names in integration.status_mapping.items():
        if tracker_status and any(_same(name, tracker_status) for name in names):
            return status
    return CATEGORY_STATUS.get(category)


def defect_priority(integration: ProjectIntegration, tracker_priority: str) -> str | None:
    for name, target in integration.priority_mapping.items():
        if tracker_priority and _same(name, tracker_priority):
            return target.get("defect")
    return None


def tracker_statuses(integration: ProjectIntegration, status: str) -> list[str]:
    """The tracker statuses a defect status maps to, in the mapping's order; a status the mapping does
    not name takes those of the statuses of its category (resolved: closed's)."""
    names = list(integration.status_mapping.get(status, []))
    if names:
        return names
    category = STATUS_CATEGORIES.get(status)
    return [
        name
        for other, others in integration.status_mapping.items()
        if STATUS_CATEGORIES.get(other) == category
        for name in others
    ]


def tracker_priorities(integration: ProjectIntegration, priority: str) -> list[str]:
    return [name for name, target in integration.priority_mapping.items() if target.get("defect") == priority]


def _defect_syncs():
    return DefectSync.objects.filter(
        integration__isnull=False, integration__sync_defects=True, integration__state=IntegrationState.ACTIVE
    ).select_related("issue", "reference__source", "integration")


def mirror_defect(reference: ExternalReference, project, actor=None) -> DefectSync | None:
    """The project's defect for a tracker issue linked in it, created with the mapped status and
    priority when the project's integration of the issue's source keeps defects in step; None when
    none does."""
    if reference.source_id is None:
        return None
    integration = (
        ProjectIntegration.objects.filter(
            project=project,
            source_id=reference.source_id,
            sync_defects=True,
            state=IntegrationState.ACTIVE,
        )
        .order_by("-is_primary", "pk")
        .first()
    )
    if integration is None:
        return None
    existing = DefectSync.objects.filter(reference=reference, issue__project=project).first()
    if existing is not None:
        return existing
    status = defect_status(integration, reference.status, reference.status_category) or IssueStatus.OPEN
    priority = defect_priority(integration, reference.priority) or IssuePriority.MAJOR
    try:
        with transaction.atomic():
            issue = services.create_issue(
                project=project,
                name=(reference.title or reference.key)[:300],
                reporter=actor,
                status=status,
                priority=priority,
                description=_defect_description(reference),
            )
            return DefectSync.objects.create(
                issue=issue,
                reference=reference,
                integration=integration,
                synced_status=status,
                synced_priority=priority,
            )
    except IntegrityError:  # a concurrent link created it first
        return DefectSync.objects.filter(reference=reference, issue__project=project).first()


def _defect_description(reference: ExternalReference) -> str:
    where = (
        f"[{reference.key}]({reference.url})"
        if urlsplit(reference.url).scheme in ("http", "https")
        else f"`{reference.key}`"
    )
    return (
        f"Kept in step with {where} in {reference.source_name}: its status and priority follow the tracker, "
        "and comments go both ways when the project's integration says so."
    )


def mirror_defects(projects: Sequence[int], reference_ids: Sequence[int]) -> int:
    """Defects for those of the references linked in these projects (which keep defects in step) that have
    none yet (an integration switched on after they were linked); returns how many were created."""
    links = Link.objects.filter(external_reference_id__in=reference_ids, project_id__in=projects).select_related(
        "external_reference", "project", "created_by"
    )
    have = set(
        DefectSync.objects.filter(reference_id__in=reference_ids).values_list("reference_id", "issue__project_id")
    )
    created = 0
    for link in links:
        if (link.external_reference_id, link.project_id) not in have:
            created += mirror_defect(link.external_reference, link.project, link.created_by) is not None
            have.add((link.external_reference_id, link.project_id))
    return created


def follow_defects(reference_ids: Sequence[int]) -> None:
    """Bring the defects of these references to the tracker's state, through the mappings. A defect
    changed here more recently than the tracker's state (and still to push) keeps its own value."""
    for sync in _defect_syncs().filter(reference_id__in=reference_ids):
        _follow_defect(sync)


def _follow_defect(sync: DefectSync) -> None:
    reference, integration, issue = sync.reference, sync.integration, sync.issue
    tracker = {
        "status": defect_status(integration, reference.status, reference.status_category) or sync.synced_status,
        "priority": defect_priority(integration, reference.priority) or sync.synced_priority,
    }
    keep_here = (
        integration.push_defect_changes
        and sync.changed_here_at is not None
        and (reference.remote_updated_at is None or reference.remote_updated_at <= sync.changed_here_at)
    )
    moved = {name: value for name, value in tracker.items() if value != getattr(sync, f"synced_{name}")}
    if not moved:
        return  # the tracker did not move: a change made here stays to be pushed
    changes = {
        name: value
        for name, value in moved.items()
        if not (keep_here and getattr(issue, name) != getattr(sync, f"synced_{name}"))
    }
    if changes:
        Issue.objects.filter(pk=issue.pk).update(**changes, version=F("version") + 1, updated_at=timezone.now())
    for name, value in moved.items():
        setattr(sync, f"synced_{name}", value)
    sync.save(update_fields=["synced_status", "synced_priority"])


def _issue_updated(sender, issue: Issue, changed: frozenset, **kwargs) -> None:
    """A defect edited here: remember when, and send its status and priority to the tracker."""
    if not {"status", "priority"} & changed:
        return
    if DefectSync.objects.filter(issue=issue).update(changed_here_at=timezone.now()):
        transaction.on_commit(partial(tasks.push_defect_changes.delay, issue.pk))


def push_defect(issue_id: int) -> bool:
    """Send a defect's status and priority to the tracker where they differ from its last known state:
    each through the first of the mapped tracker names the tracker accepts. Returns whether anything
    was sent; a failure is kept on the defect's sync and retried by the source's next refresh."""
    sync = _defect_syncs().filter(issue_id=issue_id).first()
    source = sync.reference.source if sync is not None else None
    if source is None or not sync.integration.push_defect_changes or not source.syncs:
        return False
    try:
        provider = provider_for(source)
    except TrackerError as error:
        DefectSync.objects.filter(pk=sync.pk).update(last_error=str(error)[:500])
        return False
    return _push(sync, provider)


def _push(sync: DefectSync, provider: TrackerProvider) -> bool:
    issue, integration, key = sync.issue, sync.integration, sync.reference.key
    problems, sent = [], False
    operations: list[tuple[str, Callable[[str, str], None], list[str]]] = [
        ("status", provider.transition, tracker_statuses(integration, issue.status)),
        ("priority", provider.set_priority, tracker_priorities(integration, issue.priority)),
    ]
    for name, operation, targets in operations:
        value = getattr(issue, name)
        if value == getattr(sync, f"synced_{name}"):
            continue
        try:
            accepted = _first_accepted(partial(operation, key), targets)
        except Unsupported:  # the tracker has no such field (GitHub and GitLab priorities): nothing to send
            setattr(sync, f"synced_{name}", value)
            continue
        except TrackerError as error:  # kept, and retried by the source's next refresh
            problems.append(str(error))
            continue
        if accepted is None:
            problems.append(
                f"The tracker accepted none of the {name} names “{value}” maps to "
                f"({', '.join(targets) or 'none'}): check the integration's {name} mapping."
            )
            continue
        setattr(sync, f"synced_{name}", value)
        sent = True
    sync.last_error = " ".join(problems)[:500]
    sync.save(update_fields=["synced_status", "synced_priority", "last_error"])
    if sent:
        transaction.on_commit(partial(tasks.refresh_references.delay, sync.reference.source_id, [sync.reference_id]))
    return sent


def _first_accepted(operation: Callable[[str], None], names: list[str]) -> str | None:
    """The first name the tracker takes; a name it refuses as invalid makes way for the next one."""
    for name in names:
        try:
            operation(name)
        except RemoteValidationError:
            continue
        return name
    return None


def push_pending(source: Source, provider: TrackerProvider) -> None:
    """Send what is still to send for the source's defects: status and priority changes, comments."""
    now = timezone.now()
    pending = (
        _defect_syncs()
        .filter(reference__source=source, integration__push_defect_changes=True)
        .filter(~Q(issue__status=F("synced_status")) | ~Q(issue__priority=F("synced_priority")))
    )
    for sync in pending:
        _push(sync, provider)
    comments = IssueComment.objects.filter(
        origin=CommentOrigin.TESTMANAGER,
        remote_id="",
        created_at__lt=now - PUSH_GRACE,
        issue__defect_sync__reference__source=source,
        issue__defect_sync__integration__sync_comments=True,
    ).values_list("pk", flat=True)
    for comment_id in comments:
        push_comment(comment_id)


# --- Comments --------------------------------------------------------------------------


def add_comment(issue: Issue, *, author, body: str) -> IssueComment:
    """A comment written here; on a defect whose integration syncs comments it is sent to the tracker."""
    comment = IssueComment.objects.create(
        issue=issue,
        author=author,
        author_name=author.get_username(),
        body=body.strip(),
        origin=CommentOrigin.TESTMANAGER,
    )
    if _comment_sync(issue.pk) is not None:
        transaction.on_commit(partial(tasks.push_comment.delay, comment.pk))
    return comment


def _comment_sync(issue_id: int) -> DefectSync | None:
    sync = _defect_syncs().filter(issue_id=issue_id, integration__sync_comments=True).first()
    return sync if sync is not None and sync.reference.source is not None and sync.reference.source.syncs else None


def push_comment(comment_id: int) -> bool:
    """Post a comment written here on the tracker issue and keep the tracker's id of it; a copy that
    came back through a webhook before the id was known is dropped. Returns whether it was posted."""
    comment = IssueComment.objects.filter(pk=comment_id, origin=CommentOrigin.TESTMANAGER, remote_id="").first()
    sync = _comment_sync(comment.issue_id) if comment is not None else None
    if sync is None or not cache.add(_once_key("posting", comment), 1, PUSH_LOCK_SECONDS):
        return False
    try:
        remote_id = provider_for(sync.reference.source).add_comment(sync.reference.key, _attributed(comment))
    except TrackerError as error:
        DefectSync.objects.filter(pk=sync.pk).update(last_error=str(error)[:500])
        cache.delete(_once_key("posting", comment))
        return False
    with transaction.atomic():
        IssueComment.objects.filter(
            issue_id=comment.issue_id, remote_id=remote_id, origin=CommentOrigin.TRACKER
        ).delete()
        IssueComment.objects.filter(pk=comment.pk).update(remote_id=remote_id[:100])
    return True


def _attributed(comment: IssueComment) -> str:
    return f"{comment.body}\n\n— {comment.author_name or 'someone'} in testmanager"


def receive_comment(reference: ExternalReference, comment: RemoteComment) -> bool:
    """A tracker comment on the defects of ``reference`` that sync comments, unless its id is known
    there (a comment sent from here, or received before). Returns whether it was added anywhere."""
    if not comment.id or not comment.body.strip():
        return False
    added = False
    for sync in _defect_syncs().filter(reference=reference, integration__sync_comments=True):
        if IssueComment.objects.filter(issue_id=sync.issue_id, remote_id=comment.id[:100]).exists():
            continue
        try:
            with transaction.atomic():
                IssueComment.objects.create(
                    issue_id=sync.issue_id,
                    author_name=comment.author[:200],
                    body=comment.body.strip(),
                    origin=CommentOrigin.TRACKER,
                    remote_id=comment.id[:100],
                    created_at=comment.created_at or timezone.now(),
                )
        except IntegrityError:  # the same comment arrived concurrently
            continue
        added = True
    return added


def pull_comments(provider: TrackerProvider, reference_ids: Sequence[int]) -> None:
    """Read the comments of changed issues whose defects sync comments (a refresh, or a webhook that
    does not carry comments); a failure is kept on the defect's sync."""
    syncs = _defect_syncs().filter(reference_id__in=reference_ids, integration__sync_comments=True)
    for reference in {sync.reference for sync in syncs}:
        try:
            comments = provider.comments(reference.key)
        except TrackerError as error:
            DefectSync.objects.filter(reference=reference).update(last_error=str(error)[:500])
            continue
        for comment in comments:
            receive_comment(reference, comment)


# --- Receivers -------------------------------------------------------------------------


def _link_saved(sender, instance: Link, created: bool, **kwargs) -> None:
    if created and instance.external_reference_id is not None:
        transaction.on_commit(
            partial(mirror_defect, instance.external_reference, instance.project, instance.created_by)
        )


def _refresh_requested(sender, source: Source, actor, **kwargs) -> int:
    return refresh_now(ExternalReference.objects.filter(source=source).only("pk", "source_id"))


def connect() -> None:
    """Connect the receivers (IssuesConfig.ready)."""
    issue_updated.connect(_issue_updated, sender=Issue, dispatch_uid="issues.sync.issue_updated")
    post_save.connect(_link_saved, sender=Link, dispatch_uid="issues.sync.link_saved")
    refresh_requested.connect(_refresh_requested, sender=Source, dispatch_uid="issues.sync.refresh_requested")
