"""Refresh: reading linked tracker issues again, and deciding which are stale.

Every minute the beat fans out one task per source with stale references (older than the
source's refresh interval); a run reads them through the provider's ``refresh`` in batches sized to
what one request reads (taken from the database batch by batch, never all at once), and spends
at most ``REFRESH_BUDGET_SHARE`` of the source's per-minute request budget (members' own requests
keep the rest; the next run goes on). What the tracker
answered is stored (and told to the app: ``signals.remote_issues_heard``); a key it reports gone
marks the reference deleted remotely (a reference is never deleted); an error leaves every cached
value as it was and is recorded on each reference the run could not read and on the source's health,
and the source rests for ``FAILURE_BACKOFF_SECONDS`` (or the tracker's Retry-After) before the next
periodic run. Pages ask for the references they show
(``request_refresh``): those older than ``PAGE_STALE_SECONDS`` are queued, never waited for."""

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from celery.exceptions import TimeoutError as TaskTimeout
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Field, Q, QuerySet
from django.utils import timezone

from integrations import services as integration_services
from integrations.errors import TrackerError
from integrations.models import Source
from integrations.providers import provider_class, provider_for
from integrations.providers.base import (
    FetchResult,
    RemoteIssue,
    TrackerProvider,
)
from integrations.signals import RefreshOutcome
from issues.core.models import StatusCategory
from issues.links import services
from issues.links.key_moves import follow_move, is_move
from issues.links.models import STATE_FIELDS, ExternalReference
from issues.sync.cache_keys import add_all, backoff_key, lock_key, once_key
from issues.sync.comments import pull_comments
from issues.sync.defects import ActiveOptions, active_options, follow_changes, push_pending, tell_heard
from issues.sync.selectors import reads_details, webhook_fed

REFRESH_BUDGET_SHARE = 0.5  # of a source's per-minute request budget, what one refresh run may spend


MIN_BATCH = 25  # keys per fetch at least, for a provider that reads one issue a request


FAILURE_BACKOFF_SECONDS = 300


RUN_LOCK_SECONDS = 15 * 60  # the longest a refresh run that died keeps its source locked


PAGE_STALE_SECONDS = 120  # a reference a page shows is refreshed when it is older than this


PAGE_REQUEST_SECONDS = 60  # pages ask for one reference at most this often


HIDDEN = "The tracker did not return this issue: the account cannot see it (any more). The cached values are kept."


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
        and not cache.get(backoff_key(source))
        and not webhook_fed(source, now)
        and stale_references(source, now).exists()
    ]


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
    if (periodic or shown) and cache.get(backoff_key(source)):
        report.skipped = "The source rests after a failed refresh."
        return report
    if periodic and not cache.add(lock_key(source), 1, RUN_LOCK_SECONDS):
        if not redelivered:
            report.skipped = "Another run is refreshing the source."
            return report
        cache.set(lock_key(source), 1, RUN_LOCK_SECONDS)
    try:
        _refresh(source, reference_ids, report)
    finally:
        if periodic:
            cache.delete(lock_key(source))
    return report


def _refresh(source: Source, reference_ids: Sequence[int] | None, report: RefreshReport) -> None:
    per_request = max(1, provider_class(source.provider).keys_per_request)
    budget = max(1, math.floor(source.requests_per_minute * REFRESH_BUDGET_SHARE))  # requests
    plan = _RunPlan(source, reference_ids, budget * per_request, max(per_request, MIN_BATCH), report)
    try:
        provider = provider_for(source)
        options = active_options(source)  # once a run, like the tracker's states: what follows a change
        for batch in plan.batches():
            result = provider.refresh({reference.key: _cached(reference) for reference in batch})
            _apply_fetch(source, provider, batch, result, report, options, every_comment=reference_ids is not None)
        push_pending(source, provider)
    except TrackerError as error:
        _record_failure(source, plan.unread(), error, report)
    else:
        integration_services.record_sync_health(source, None)


class _RunPlan:
    """The references one run reads, at most ``capacity``, read from the database one batch at a time
    (keyset pages in the stale order), never all at once: 100,000 stale references held as rows
    would cost hundreds of MiB in the worker. Asked-for references beyond the capacity are deferred."""

    def __init__(
        self, source: Source, reference_ids: Sequence[int] | None, capacity: int, size: int, report: RefreshReport
    ):
        self.source, self.capacity, self.size = source, capacity, size
        self.stale = stale_references(source, timezone.now()) if reference_ids is None else None
        self.asked: list[int] = []
        if reference_ids is not None:
            asked = ExternalReference.objects.filter(source=source, pk__in=reference_ids).order_by("pk")
            self.asked = list(asked.values_list("pk", flat=True))
            self.asked, report.deferred = self.asked[:capacity], self.asked[capacity:]
        self.current: list[int] = []  # the batch being read
        self.cursor: tuple[datetime | None, int] | None = None  # (last_synced_at, pk) of the last row planned
        self.left = capacity  # how many more the run may read after the current batch
        self.done = False

    def batches(self) -> Iterator[list[ExternalReference]]:
        while not self.done:
            batch = self._next()
            self.current = [reference.pk for reference in batch]
            self.done = not batch or self.left <= 0 or (self.stale is not None and len(batch) < self.size)
            if batch:
                yield batch
        self.current = []

    def _next(self) -> list[ExternalReference]:
        if self.stale is None:
            ids, self.asked = self.asked[: self.size], self.asked[self.size :]
            self.left = len(self.asked)
            return list(ExternalReference.objects.filter(pk__in=ids).order_by("pk"))
        batch = list(self._after_cursor()[: min(self.size, self.left)])
        if batch:
            self.cursor, self.left = (batch[-1].last_synced_at, batch[-1].pk), self.left - len(batch)
        return batch

    def _after_cursor(self):
        """The stale references after the cursor, in the stale order (never read first, then oldest first).
        Rows a batch read are no longer stale; the cursor also steps past those it left as they were."""
        if self.cursor is None:
            return self.stale
        synced, pk = self.cursor
        if synced is None:
            return self.stale.filter(Q(last_synced_at__isnull=True, pk__gt=pk) | Q(last_synced_at__isnull=False))
        return self.stale.filter(Q(last_synced_at__gt=synced) | Q(last_synced_at=synced, pk__gt=pk))

    def unread(self) -> QuerySet:
        """The references the run meant to read and did not: the current batch and what the capacity left."""
        rest = Q(pk__in=self.current)
        if self.done:
            return ExternalReference.objects.filter(rest)
        if self.stale is None:
            rest |= Q(pk__in=self.asked)
        else:
            rest |= Q(pk__in=self._after_cursor()[: self.left].values("pk"))
        return ExternalReference.objects.filter(rest)


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
        # Labels never read (cached before labels were) are read again in full, not confirmed by an ETag.
        etag=reference.etag if reference.labels is not None else "",
        created_at=reference.remote_created_at,
        resolved_at=reference.remote_resolved_at,
        labels=None if reference.labels is None else tuple(reference.labels),
    )


CATEGORIES = frozenset(StatusCategory.values)  # built once: the enum builds the list again on every use


# The cached values each RemoteIssue field sets: what a reference keeps when an answer did not carry the field.
CACHED_BY_FIELD = {
    "title": ("title",),
    "status": ("status", "status_category", "remote_resolved_at"),
    "status_category": ("status_category", "remote_resolved_at"),
    "assignee": ("assignee",),
    "priority": ("priority",),
    "url": ("url",),
    "created_at": ("remote_created_at",),
    "resolved_at": ("remote_resolved_at",),
}


def remote_state(reference: ExternalReference, remote: RemoteIssue) -> dict:
    """The cached values a remote issue stands for. What the tracker's answer did not carry
    (``remote.unknown``, an empty URL or remote id) keeps the cached value: a missing state is unknown, not closed."""
    category = remote.status_category if remote.status_category in CATEGORIES else StatusCategory.UNKNOWN
    state = {
        "title": remote.title[:500],
        "status": remote.status[:100],
        "status_category": category,
        "assignee": remote.assignee[:200],
        "priority": remote.priority[:100],
        "url": remote.url or reference.url,
        "remote_updated_at": remote.updated_at,
        "etag": remote.etag[:200],
        "deleted_remotely": False,
        "deleted_remotely_at": None,
        "remote_created_at": reference.remote_created_at,
        "remote_resolved_at": reference.remote_resolved_at,
        "remote_id": remote.remote_id[:100] or reference.remote_id,
        "labels": reference.labels if remote.labels is None else services.label_list(remote.labels),
        **services.remote_dates(remote),
    }
    kept = {name for field in remote.unknown for name in CACHED_BY_FIELD.get(field, ())}
    return {name: getattr(reference, name) if name in kept else value for name, value in state.items()}


def _differs(reference: ExternalReference, state: dict) -> bool:
    return any(getattr(reference, name) != value for name, value in state.items())


def store_state(reference: ExternalReference, state: dict, now: datetime) -> bool:
    """Store an event's ``state`` unless the reference holds a newer remote state or was deleted at or after the
    state's time (both compared in the UPDATE, so a concurrent webhook or refresh cannot be undone by an
    older event). An event without a time never undoes a deletion; a refresh, which reads the issue as
    it is now, may (``_store_batch``)."""
    rows = ExternalReference.objects.filter(pk=reference.pk)
    when = state["remote_updated_at"]
    if when is None:
        return bool(rows.filter(deleted_remotely=False).update(**state, last_synced_at=now, last_error=""))
    rows = rows.filter(Q(remote_updated_at__isnull=True) | Q(remote_updated_at__lte=when))
    rows = rows.filter(Q(deleted_remotely=False) | Q(deleted_remotely_at__lt=when))
    return bool(rows.update(**state, last_synced_at=now, last_error=""))


def _store_batch(changes: list[tuple[ExternalReference, dict]], now: datetime) -> list[tuple[ExternalReference, dict]]:
    """``store_state`` for a batch, in two statements: the rows are locked, those holding a newer remote state
    are left alone, the others updated (``_update_rows``). Returns what was stored."""
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
    if stored:
        _update_rows([[reference.pk, *(state[name] for name in STATE_FIELDS), now, ""] for reference, state in stored])
    return stored


def _update_rows(rows: list[list]) -> None:
    """Each row's (pk, state fields, last_synced_at, last_error) written. On PostgreSQL one UPDATE a batch,
    each column's values sent as one array (``unnest``); elsewhere one UPDATE executed for every row. The
    ORM's bulk_update builds a CASE per field and row, and one statement per row costs the driver a
    round of work per row: either cost more CPU than the tracker's answers took to read."""
    meta, quote = ExternalReference._meta, connection.ops.quote_name
    fields = [meta.pk, *(meta.get_field(name) for name in (*STATE_FIELDS, "last_synced_at", "last_error"))]
    adapted = [(index, model_field) for index, model_field in enumerate(fields) if _adapts(model_field)]
    for row in rows:
        for index, model_field in adapted:
            row[index] = model_field.get_db_prep_save(row[index], connection)
    table, columns = quote(meta.db_table), [quote(model_field.column) for model_field in fields]
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{model_field.db_type(connection)}[]" for model_field in fields)
        sql = (
            f"UPDATE {table} SET {', '.join(f'{column} = new.{column}' for column in columns[1:])} "
            f"FROM unnest({arrays}) AS new({', '.join(columns)}) WHERE {table}.{columns[0]} = new.{columns[0]}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [list(column) for column in zip(*rows, strict=True)])
        return
    sql = f"UPDATE {table} SET {', '.join(f'{column} = %s' for column in columns[1:])} WHERE {columns[0]} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[*row[1:], row[0]] for row in rows])


def _adapts(field: Field) -> bool:
    """Whether a state value goes to the driver through the field (dates on SQLite, JSON). Fields that only
    coerce a value to their Python type (text, booleans) take ``remote_state``'s values as they are: calling
    them for every value of every row cost more CPU than the tracker's answers took to read."""
    return type(field).get_db_prep_value is not Field.get_db_prep_value


def _apply_fetch(
    source: Source,
    provider: TrackerProvider,
    batch: list[ExternalReference],
    result: FetchResult,
    report: RefreshReport,
    options: list[ActiveOptions],
    *,
    every_comment: bool = False,
) -> None:
    """Store what the tracker answered for a batch, then read the comments of the changed issues; a run
    asked for its references (the daily reconcile, "Refresh now") reads the comments of every one it read
    (``every_comment``): that catches a comment whose delivery was lost after a worker died between
    storing the issue's new state and reading its comments (the state no longer reads as a change)."""
    now = timezone.now()
    unchanged, gone, hidden, changes = [], [], [], []
    with transaction.atomic():
        answers = _followed_moves([(reference, result.issues.get(reference.key)) for reference in batch])
        for reference, remote in answers:
            if remote is not None:
                state = remote_state(reference, remote)
                if _differs(reference, state):
                    changes.append((reference, state))
                else:
                    unchanged.append(reference.pk)
            elif reference.key in result.missing:
                gone.append(reference.pk)
            else:
                hidden.append(reference.pk)
        batch = [reference for reference, _ in answers]
        stored = _store_batch(changes, now)
        said = {reference.pk: remote for reference, remote in answers}
        tell_heard(source, [(reference, said[reference.pk]) for reference, _ in stored], options)
        kept = {reference.pk for reference, _ in stored}
        # An answer older than what a webhook stored meanwhile is no change, but the reference was read.
        unchanged += [reference.pk for reference, _ in changes if reference.pk not in kept]
        ExternalReference.objects.filter(pk__in=unchanged).update(last_synced_at=now, last_error="")
        ExternalReference.objects.filter(pk__in=gone).update(
            deleted_remotely=True, deleted_remotely_at=now, last_synced_at=now, last_error=""
        )
        ExternalReference.objects.filter(pk__in=hidden).update(last_synced_at=now, last_error=HIDDEN)
        follow_changes(source, stored, [reference.pk for reference in batch], options)
    report.read += len(unchanged) + len(stored)
    report.changed += len(stored)
    report.missing += len(gone)
    report.hidden += len(hidden)
    if any(option.sync_defects and option.sync_comments for option in options):
        read = batch if every_comment else [reference for reference, _ in stored]
        pull_comments(provider, [reference.pk for reference in read])


def _followed_moves(answers: list[tuple[ExternalReference, RemoteIssue | None]]) -> list:
    """The answers with each reference the tracker answered under another key (the issue moved: GitHub
    follows a transfer's redirect, Jira and Linear answer an old key with the new one) under that key,
    its old one kept as an alias (issues.links.key_moves)."""
    return [
        (
            follow_move(reference, remote.key)
            if remote is not None and is_move(reference.key, remote.key)
            else reference,
            remote,
        )
        for reference, remote in answers
    ]


def _record_failure(source: Source, unread: QuerySet, error: TrackerError, report: RefreshReport) -> None:
    """The tracker failed: the references not read keep their values and say why; so does the source."""
    message = integration_services.source_excerpt(source, str(error), 500)
    report.failed, report.error = unread.update(last_error=message), message
    report.rest_seconds = max(FAILURE_BACKOFF_SECONDS, math.ceil(error.retry_after or 0))
    integration_services.record_sync_health(source, error)
    cache.set(backoff_key(source), 1, report.rest_seconds)


def request_refresh(references: Iterable[ExternalReference]) -> int:
    """Queue a refresh of the references a page shows that are older than ``PAGE_STALE_SECONDS``, each at
    most once every ``PAGE_REQUEST_SECONDS`` (marked in the cache in one round trip, however many are
    shown). Asks neither the tracker nor the database (the task sorts out sources that do not sync, rest
    after a failure or are fed by webhooks); returns how many were queued. Without a worker (tasks run
    eagerly, ``make run``) the task runs as the page is answered."""
    stale = timezone.now() - timedelta(seconds=PAGE_STALE_SECONDS)
    asked = [
        reference
        for reference in references
        if reference.source_id is not None
        and not reference.deleted_remotely
        and (reference.last_synced_at is None or reference.last_synced_at < stale)
    ]
    first_asks = add_all([once_key("asked", reference) for reference in asked], PAGE_REQUEST_SECONDS)
    due: dict[int, list[int]] = defaultdict(list)
    for reference, first in zip(asked, first_asks, strict=True):
        if first:
            due[reference.source_id].append(reference.pk)
    for source_id, ids in due.items():
        from issues.sync.tasks import refresh_references  # imported here: the task imports this module's callers

        transaction.on_commit(partial(refresh_references.delay, source_id, ids, shown=True))
    return sum(len(ids) for ids in due.values())


def _by_source(references: Iterable[ExternalReference]) -> dict[int, list[int]]:
    by_source: dict[int, list[int]] = defaultdict(list)
    for reference in references:
        if reference.source_id is not None:
            by_source[reference.source_id].append(reference.pk)
    return by_source


def refresh_and_report(references: Iterable[ExternalReference]) -> RefreshOutcome:
    """ "Refresh now" that tells how it went: each source's references are refreshed by a task whose
    answer is awaited at most ``TRACKER_INTERACTIVE_SECONDS`` (what a busy worker has not answered by
    then is reported as still refreshing in the background, never as done)."""
    from issues.sync.tasks import refresh_references  # imported here: the task imports this module's callers

    outcome = RefreshOutcome()
    for source_id, ids in _by_source(references).items():
        pending = refresh_references.delay(source_id, ids)
        try:
            report = pending.get(timeout=settings.TRACKER_INTERACTIVE_SECONDS)
        except TaskTimeout:
            outcome.add(RefreshOutcome(background=len(ids)))
        else:
            outcome.add(_outcome_of(report, len(ids)))
    return outcome


def _outcome_of(report: dict, asked: int) -> RefreshOutcome:
    """A run's report as "Refresh now" tells it: issues the tracker did not return (the account cannot see
    them) count as failed, as does every issue of a run that did not start (the source does not sync)."""
    if report["skipped"]:
        return RefreshOutcome(failed=asked, error=report["skipped"])
    error = report["error"]
    if report["hidden"] and not error:
        error = f"the tracker did not return {report['hidden']} issue(s): the account cannot see them."
    return RefreshOutcome(
        refreshed=report["read"] + report["missing"],
        failed=report["failed"] + report["hidden"],
        background=len(report["deferred"]),
        error=error,
    )


def refresh_now(references: Iterable[ExternalReference]) -> int:
    """Queue a refresh of these references whatever their age (references moved to another source);
    returns how many."""
    by_source = _by_source(references)
    for source_id, ids in by_source.items():
        from issues.sync.tasks import refresh_references  # imported here: the task imports this module's callers

        transaction.on_commit(partial(refresh_references.delay, source_id, ids))
    return sum(len(ids) for ids in by_source.values())
