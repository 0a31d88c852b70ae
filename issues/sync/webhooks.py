"""Webhooks: a delivery verified, parsed and applied.

``receive_webhook`` checks the source takes webhooks and the size, has the provider verify
the signature (constant time) and parse the delivery into ``IssueEvent``s, and ``apply_events``
applies them once per delivery id and signed content (``WebhookDelivery``) and only when they are not older than the
stored remote updated-at, so a replayed or late delivery never overwrites a newer state; what was
stored, and what a delivery that asks for a read still says, is told to the app
(``signals.remote_issues_heard``: pulled requirements follow it). A source
that received deliveries within ``RECONCILE_INTERVAL`` is webhook-fed: it is not polled, and a daily
reconcile reads all its references again to catch a delivery the tracker never sent.

When tasks go to a worker (``applies_in_worker``), the hook only verifies, parses and records a delivery
with its events and audit row, answers 202, and one task per burst (``apply_queued``) applies the queued
deliveries in batches; eager tasks (``make run``) apply a delivery in its own request."""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from integrations import selectors as integration_selectors
from integrations import services as integration_services
from integrations.errors import TrackerError
from integrations.models import AuditAction, Source
from integrations.providers import provider_for
from integrations.providers.base import (
    Capability,
    EventKind,
    IssueEvent,
    MalformedDelivery,
    WebhookRejected,
)
from issues.links.key_moves import follow_move, references_by_key, references_by_remote_id
from issues.links.models import ExternalReference
from issues.sync.comments import follow_comment
from issues.sync.defects import active_options, follow_changes, tell_heard
from issues.sync.models import WebhookDelivery
from issues.sync.refresh import remote_state, store_state

WEBHOOK_DELIVERY_DAYS = 7


_EPOCH = datetime.min.replace(tzinfo=UTC)


def prune_deliveries(now: datetime | None = None) -> int:
    """Forget applied deliveries older than ``WEBHOOK_DELIVERY_DAYS``; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=WEBHOOK_DELIVERY_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff, pending_events__isnull=True).delete()
    return deleted


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

    def add(self, other: "AppliedEvents") -> None:
        for name in ("events", "applied", "stale", "unknown", "duplicate"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.refresh += other.refresh


def receive_webhook(source_uuid, request) -> WebhookOutcome:
    """Verify, parse and apply one delivery to ``/hooks/<source uuid>/``.

    Recording the delivery, applying it and its audit row are one transaction: a delivery whose audit
    row cannot be written is not recorded either, so the tracker's redelivery applies it (exactly once);
    and one commit a delivery is what lets the hook keep up with a busy tracker."""
    source = integration_selectors.webhook_source(source_uuid)
    if source is None or not source.syncs or not integration_selectors.can(source, Capability.PROCESS_WEBHOOKS):
        return WebhookOutcome(404, "No source takes webhooks at this address.")
    limit = settings.WEBHOOK_MAX_BYTES
    if _declared_length(request) > limit or len(request.body) > limit:
        return _rejected(source, 413, f"The delivery is larger than {limit} bytes.")
    try:
        provider = provider_for(source)
        provider.verify_webhook(request)
    except MalformedDelivery as error:  # signed, then unreadable (Linear reads its timestamp from the body)
        return _rejected(source, 400, str(error))
    except WebhookRejected as error:
        return _rejected(source, 401, str(error))
    except TrackerError as error:  # the source's credentials no longer decrypt
        return _rejected(source, 503, str(error))
    try:
        events = provider.parse_webhook(request.body, request.headers)
    except TrackerError as error:
        return _rejected(source, 400, str(error))
    if applies_in_worker():
        return _queue(source, events)
    with transaction.atomic():  # the delivery, what it changed and its audit row: one commit, or none
        applied = apply_events(source, events)
        integration_services.record_audit(
            AuditAction.WEBHOOK_ACCEPTED,
            source=source,
            target=events[0].delivery_id if events else "",
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


def applies_in_worker() -> bool:
    """Whether deliveries are recorded and answered at once, then applied by a worker in batches: whenever
    tasks go to a worker. Eager tasks (``make run``, no Redis) apply a delivery in its own request."""
    return not settings.CELERY_TASK_ALWAYS_EAGER


# While a source's apply task is queued or running, deliveries recorded for it start no other: one task
# per burst. The task lifts the mark before reading the queue, so a delivery recorded after its last read
# queues the next one; the mark expires, so a task the broker lost delays a source's deliveries this long.
APPLY_SCHEDULED_SECONDS = 60
QUEUED_BATCH = 500


def _apply_scheduled_key(source_id: int) -> str:
    return f"issues:webhook-apply-scheduled:{source_id}"


def _queue(source: Source, events: Sequence[IssueEvent]) -> WebhookOutcome:
    """Record the delivery with its events and its audit row in one commit; a worker applies it. Answers
    202: the tracker need not wait for what the delivery changes."""
    with transaction.atomic():
        fresh = _record_deliveries(source, events, queued=True)
        queued = sum(event.delivery_id in fresh for event in events)
        integration_services.record_audit(
            AuditAction.WEBHOOK_ACCEPTED,
            source=source,
            target=events[0].delivery_id if events else "",
            details={"events": len(events), "queued": queued, "duplicate": len(events) - queued},
        )
        if fresh:
            transaction.on_commit(partial(schedule_apply, source.pk))
    return WebhookOutcome(202, f"{queued} of {len(events)} event(s) queued.")


def schedule_apply(source_id: int) -> None:
    """Queue the task that applies a source's recorded deliveries, unless one is queued already."""
    if cache.add(_apply_scheduled_key(source_id), True, APPLY_SCHEDULED_SECONDS):
        from issues.sync.tasks import apply_queued_deliveries  # the task imports this module

        apply_queued_deliveries.delay(source_id)


def schedule_waiting() -> list[int]:
    """``schedule_apply`` for every source with deliveries waiting; the sources."""
    waiting = WebhookDelivery.objects.filter(pending_events__isnull=False).order_by("source_id")
    source_ids = list(waiting.values_list("source_id", flat=True).distinct())
    for source_id in source_ids:
        schedule_apply(source_id)
    return source_ids


def apply_queued(source_id: int) -> AppliedEvents:
    """Apply a source's queued deliveries, oldest first, ``QUEUED_BATCH`` a transaction: each batch's
    changes and the clearing of its deliveries commit together, so a worker that dies mid-batch leaves
    the batch queued and the redelivered task applies it once. Within a batch, events are applied in
    order of their remote time, and no event older than the state a reference holds overwrites it."""
    cache.delete(_apply_scheduled_key(source_id))
    total = AppliedEvents()
    source = Source.objects.filter(pk=source_id).first()
    while source is not None and (batch := _apply_queued_batch(source)) is not None:
        total.add(batch)
    return total


def _apply_queued_batch(source: Source) -> AppliedEvents | None:
    with transaction.atomic():
        pending = WebhookDelivery.objects.filter(source=source, pending_events__isnull=False).order_by("id")
        # SKIP LOCKED: a second task (a redelivered one) takes the next batch instead of waiting for this one
        rows = list(pending.select_for_update(skip_locked=True).values_list("pk", "pending_events")[:QUEUED_BATCH])
        if not rows:
            return None
        events = [IssueEvent.from_json(raw) for _, stored in rows for raw in stored]
        outcome = AppliedEvents(events=len(events))
        _apply_fresh(source, events, outcome)
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(pending_events=None)
    return outcome


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
    with transaction.atomic(savepoint=False):  # within the hook's transaction, no savepoint of its own
        fresh = _record_deliveries(source, events)
        wanted = [event for event in events if event.delivery_id in fresh]
        outcome.duplicate = len(events) - len(wanted)
        if wanted:  # else all duplicates: nothing to read or change
            _apply_fresh(source, wanted, outcome)
    return outcome


def _apply_fresh(source: Source, events: Sequence[IssueEvent], outcome: AppliedEvents) -> None:
    """Apply events of deliveries not applied before (in the caller's transaction), oldest first."""
    now = timezone.now()
    wanted = sorted(events, key=lambda event: event.updated_at or _EPOCH)
    references = references_by_key(source.pk, {key for event in wanted for key in (event.key, event.moved_from) if key})
    by_remote_id = references_by_remote_id(source.pk, {event.issue.remote_id for event in wanted if event.issue})
    stored, heard = [], []
    for event in wanted:
        matched = _matched(references, by_remote_id, event)
        outcome.unknown += not matched
        for reference in matched:
            if event.kind == EventKind.CHANGED:
                outcome.refresh.append(reference.pk)
                heard += _heard_in_part(reference, event)
                continue
            before = len(stored)
            applied = _apply_event(reference, event, now, stored)
            if len(stored) > before:  # the event's state was newer than the reference's: stored
                heard.append((reference, event.issue))
            outcome.applied += applied
            outcome.stale += not applied and event.comment is None
    options = active_options(source) if stored or heard else []
    if stored:
        follow_changes(source, stored, [reference.pk for reference, _ in stored], options)
    tell_heard(source, heard, options)
    if outcome.refresh:
        from issues.sync.tasks import refresh_references  # imported here: the task imports this module's callers

        transaction.on_commit(partial(refresh_references.delay, source.pk, sorted(set(outcome.refresh))))


def _matched(
    references: dict[str, list[ExternalReference]], by_remote_id: dict[str, ExternalReference], event: IssueEvent
) -> list[ExternalReference]:
    """The references an event is about: those of its key and, when it moved the issue, those of the
    key it had, which take the new key (issues.links.key_moves) and are found under it from now on. An
    event whose key no reference has, about an issue whose tracker id a reference has (a Linear team move
    gives a new identifier to the same issue), moved that reference's issue too."""
    matched = {reference.pk: reference for reference in references.get(event.key.lower(), [])}
    moved = references.pop(event.moved_from.lower(), []) if event.moved_from else []
    known = by_remote_id.get(event.issue.remote_id) if event.issue is not None and event.issue.remote_id else None
    if not matched and not moved and known is not None and known.key.lower() != event.key.lower():
        references.pop(known.key.lower(), None)
        moved = [known]
    for reference in moved:
        kept = follow_move(reference, event.key)
        matched[kept.pk] = kept
    references[event.key.lower()] = list(matched.values())
    return references[event.key.lower()]


def _heard_in_part(reference: ExternalReference, event: IssueEvent) -> list:
    """What a delivery that has its issue read again still says (Azure DevOps' payload names the state but
    not its category: the read brings those; its title and description are heard now), unless it is older
    than what the reference holds."""
    if event.issue is None:
        return []
    held = reference.remote_updated_at
    older = held is not None and event.updated_at is not None and event.updated_at < held
    return [] if older else [(reference, event.issue)]


def _apply_event(reference: ExternalReference, event: IssueEvent, now: datetime, stored: list) -> bool:
    if event.kind == EventKind.DELETED:
        return _mark_deleted(reference, event.updated_at, now)
    applied = False
    if event.issue is not None:
        state = remote_state(reference, event.issue)
        if store_state(reference, state, now):
            stored.append((reference, state))
            applied = True
    if event.comment is not None:
        applied = follow_comment(reference, event.kind, event.comment, event.updated_at or now) or applied
    return applied


def _mark_deleted(reference: ExternalReference, when: datetime | None, now: datetime) -> bool:
    """Mark the reference deleted, with the deletion's time (the event's, else now) that later events are
    compared with; unless it holds a newer state or is already marked."""
    rows = ExternalReference.objects.filter(pk=reference.pk, deleted_remotely=False)
    if when is not None:
        rows = rows.filter(Q(remote_updated_at__isnull=True) | Q(remote_updated_at__lte=when))
    return bool(rows.update(deleted_remotely=True, deleted_remotely_at=when or now, last_synced_at=now, last_error=""))


def _record_deliveries(source: Source, events: Sequence[IssueEvent], queued: bool = False) -> set[str]:
    """The delivery ids not received before, now recorded (``queued``: with their events, for the worker).
    A delivery whose signed content was received before under another id (a replay with a new, unsigned
    identifier) is not fresh either.

    One ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` for all of them: no savepoint per id, and a
    concurrent delivery of the same id waits for the other's commit, then counts as a duplicate."""
    grouped: dict[str, list[IssueEvent]] = defaultdict(list)
    contents: dict[str, str] = {}
    for event in events:
        if event.delivery_id:  # an empty id can not be told from another: never applied
            grouped[event.delivery_id[:200]].append(event)
            contents.setdefault(event.delivery_id[:200], event.content_key[:200])
    if not grouped:
        return set()
    received = {delivery_id[:200]: delivery_id for delivery_id in (event.delivery_id for event in events)}
    pending = {
        delivery_id: json.dumps([event.as_json() for event in its]) if queued else None
        for delivery_id, its in grouped.items()
    }
    return {received[delivery_id] for delivery_id in _insert_new_deliveries(source, grouped, contents, pending)}


def _insert_new_deliveries(
    source: Source, grouped: dict[str, list], contents: dict[str, str], pending: dict[str, str | None]
) -> list[str]:
    """Insert the deliveries no unique constraint already holds; the ids inserted (the ORM's
    ``bulk_create(ignore_conflicts=True)`` does not say which)."""
    table, quote = WebhookDelivery._meta.db_table, connection.ops.quote_name
    names = ("source_id", "delivery_id", "content_key", "events", "received_at", "pending_events")
    columns = ", ".join(quote(name) for name in names)
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(grouped))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    values = [
        value
        for delivery_id, its in grouped.items()
        for value in (source.pk, delivery_id, contents[delivery_id], len(its), now, pending[delivery_id])
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(table)} ({columns}) VALUES {rows}"
            f" ON CONFLICT DO NOTHING RETURNING {quote('delivery_id')}",
            values,
        )
        return [delivery_id for (delivery_id,) in cursor.fetchall()]
