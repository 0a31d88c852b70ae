"""With a worker, the hook records a delivery and answers 202; one task per burst applies the queued
deliveries in batches (issues.sync.webhooks.apply_queued): each exactly once, duplicates never, in order
of their remote time, never an older state over a newer one, and a worker that dies mid-batch leaves
nothing half applied. Eager tasks (``make run``) still apply a delivery in its own request."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from integrations.models import AuditAction, AuditEvent
from integrations.providers import provider_for
from integrations.providers.base import IssueEvent
from issues.links.models import ExternalReference
from issues.sync import tasks, webhooks
from issues.sync.models import WebhookDelivery
from tests.factories import ExternalReferenceFactory
from tests.issues.sync_support import SECRET, jira_cloud_source, post
from tests.issues.test_webhook_queries import statements

# A queued delivery: the delivery recorded with its events, the audit row (the source is kept per process).
QUERIES_OF_A_QUEUED_DELIVERY = 2
QUERIES_OF_A_QUEUED_DUPLICATE = 2


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def worker(settings):
    """Tasks go to a worker: the hook queues. (Celery itself stays eager: a queued task runs at commit.)"""
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    for title in ("Checkout fails", "Cart empties", "Search is slow"):
        fake_jira_cloud.add_issue("SHOP", title)
    source = jira_cloud_source(fake_jira_cloud)
    for key in ("SHOP-1", "SHOP-2", "SHOP-3"):
        ExternalReferenceFactory(source=source, key=key, status="To Do", status_category="todo")
    return fake_jira_cloud, source


def delivery_at(fake, key: str, status: str, seconds: int):
    """A delivery of the issue in ``status``, changed ``seconds`` after a fixed moment."""
    fake.edit_issue(key, status=status)
    fake.issues[key].updated = fake.issues["SHOP-1"].created + timedelta(hours=1, seconds=seconds)
    return fake.issue_delivery(key, secret=SECRET)


def status_of(source, key: str) -> str:
    return ExternalReference.objects.get(source=source, key=key).status


def pending() -> int:
    return WebhookDelivery.objects.filter(pending_events__isnull=False).count()


@pytest.mark.django_db
def test_a_queued_delivery_is_recorded_answered_202_and_applied_by_the_worker(jira, worker):
    fake, source = jira
    client = Client(enforce_csrf_checks=True)
    first = delivery_at(fake, "SHOP-1", "In Progress", 1)
    post(client, source, delivery_at(fake, "SHOP-2", "In Progress", 1))  # the source is read once, then kept

    with CaptureQueriesContext(connection) as queued:
        answer = post(client, source, first)
    with CaptureQueriesContext(connection) as again:
        duplicate = post(client, source, first)

    assert (answer.status_code, answer.json()) == (202, {"message": "1 of 1 event(s) queued."})
    assert (duplicate.status_code, duplicate.json()) == (202, {"message": "0 of 1 event(s) queued."})
    assert len(statements(queued)) <= QUERIES_OF_A_QUEUED_DELIVERY, statements(queued)
    assert len(statements(again)) <= QUERIES_OF_A_QUEUED_DUPLICATE, statements(again)
    assert status_of(source, "SHOP-1") == "To Do" and pending() == 2
    audit = AuditEvent.objects.filter(action=AuditAction.WEBHOOK_ACCEPTED).order_by("id").last()
    assert audit.details == {"events": 1, "queued": 0, "duplicate": 1}

    outcome = webhooks.apply_queued(source.pk)

    assert (outcome.events, outcome.applied) == (2, 2)
    assert status_of(source, "SHOP-1") == status_of(source, "SHOP-2") == "In Progress"
    assert pending() == 0 and WebhookDelivery.objects.count() == 2
    assert webhooks.apply_queued(source.pk).events == 0  # nothing is applied twice


@pytest.mark.django_db
def test_one_task_per_burst_and_a_new_one_after_it_ran(jira, worker, django_capture_on_commit_callbacks, monkeypatch):
    fake, source = jira
    sent = []
    monkeypatch.setattr(tasks.apply_queued_deliveries, "delay", sent.append)
    client = Client()

    with django_capture_on_commit_callbacks(execute=True):
        for key in ("SHOP-1", "SHOP-2", "SHOP-3"):
            post(client, source, delivery_at(fake, key, "In Progress", 1))
    assert sent == [source.pk]

    webhooks.apply_queued(source.pk)  # lifts the mark before reading the queue
    with django_capture_on_commit_callbacks(execute=True):
        post(client, source, delivery_at(fake, "SHOP-1", "Done", 2))
    assert sent == [source.pk, source.pk]


@pytest.mark.django_db
def test_a_burst_applied_in_batches_keeps_the_newest_state_whatever_the_order_and_the_duplicates(
    jira, worker, monkeypatch
):
    """The tracker sends SHOP-1's changes out of order (the newest first), and some twice; batches of two."""
    fake, source = jira
    monkeypatch.setattr(webhooks, "QUEUED_BATCH", 2)
    client = Client()
    newest = delivery_at(fake, "SHOP-1", "Done", 30)
    middle = delivery_at(fake, "SHOP-1", "In Progress", 20)
    oldest = delivery_at(fake, "SHOP-1", "To Do", 10)
    other = delivery_at(fake, "SHOP-2", "Done", 5)
    for delivery in (newest, other, newest, middle, oldest, other, middle):
        assert post(client, source, delivery).status_code == 202

    outcome = webhooks.apply_queued(source.pk)

    assert (outcome.events, outcome.applied, outcome.stale) == (4, 2, 2)
    assert status_of(source, "SHOP-1") == "Done" and status_of(source, "SHOP-2") == "Done"
    assert WebhookDelivery.objects.count() == 4 and pending() == 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_dies_mid_batch_leaves_the_batch_queued_and_it_is_applied_once(jira, worker, monkeypatch):
    fake, source = jira
    monkeypatch.setattr(webhooks, "QUEUED_BATCH", 2)
    monkeypatch.setattr(tasks.apply_queued_deliveries, "delay", lambda source_id: None)  # the broker holds it
    client = Client()
    for key, seconds in (("SHOP-1", 1), ("SHOP-2", 2), ("SHOP-3", 3)):
        assert post(client, source, delivery_at(fake, key, "In Progress", seconds)).status_code == 202
    real_apply_event = webhooks._apply_event

    def dies_on_shop_3(reference, event, *args):
        if reference.key == "SHOP-3":
            raise DatabaseError("the worker lost its connection")
        return real_apply_event(reference, event, *args)

    monkeypatch.setattr(webhooks, "_apply_event", dies_on_shop_3)
    with pytest.raises(DatabaseError):
        webhooks.apply_queued(source.pk)
    assert [status_of(source, key) for key in ("SHOP-1", "SHOP-2", "SHOP-3")] == ["In Progress"] * 2 + ["To Do"]
    assert pending() == 1  # the first batch committed, the second rolled back

    monkeypatch.setattr(webhooks, "_apply_event", real_apply_event)
    redelivered = webhooks.apply_queued(source.pk)

    assert (redelivered.events, redelivered.applied) == (1, 1)
    assert status_of(source, "SHOP-3") == "In Progress" and pending() == 0


@pytest.mark.django_db
def test_eager_tasks_apply_a_delivery_in_its_own_request(jira):
    fake, source = jira

    answer = post(Client(), source, delivery_at(fake, "SHOP-1", "In Progress", 1))

    assert not webhooks.applies_in_worker()
    assert (answer.status_code, answer.json()) == (200, {"message": "1 of 1 event(s) applied."})
    assert status_of(source, "SHOP-1") == "In Progress" and pending() == 0


@pytest.mark.django_db
def test_queued_events_read_back_as_they_were_parsed(jira):
    """Issue, comment and deletion events survive the queue unchanged (datetimes, labels, unknown fields)."""
    fake, source = jira
    provider = provider_for(source)
    comment = fake.add_comment("SHOP-1", "Seen on staging", author=next(iter(fake.users)))
    deliveries = [
        fake.issue_delivery("SHOP-1", secret=SECRET),
        fake.comment_delivery("SHOP-1", comment.id, secret=SECRET),
        fake.issue_delivery("SHOP-2", event="jira:issue_deleted", secret=SECRET),
    ]
    events = [event for delivery in deliveries for event in provider.parse_webhook(delivery.body, delivery.headers)]

    assert [IssueEvent.from_json(json.loads(json.dumps(event.as_json()))) for event in events] == events
    assert {event.kind for event in events} >= {"updated", "commented", "deleted"}


@pytest.mark.django_db
def test_queued_deliveries_are_never_pruned_before_they_are_applied(jira, worker):
    fake, source = jira
    post(Client(), source, delivery_at(fake, "SHOP-1", "In Progress", 1))
    WebhookDelivery.objects.update(received_at=WebhookDelivery.objects.get().received_at - timedelta(days=30))

    assert webhooks.prune_deliveries() == 0
    webhooks.apply_queued(source.pk)
    assert webhooks.prune_deliveries() == 1


@pytest.mark.django_db
def test_beat_requeues_a_source_whose_task_was_lost_but_not_one_whose_task_is_queued(
    jira, worker, django_capture_on_commit_callbacks, monkeypatch
):
    fake, source = jira
    sent = []
    monkeypatch.setattr(tasks.apply_queued_deliveries, "delay", sent.append)  # the broker loses them
    with django_capture_on_commit_callbacks(execute=True):
        post(Client(), source, delivery_at(fake, "SHOP-1", "In Progress", 1))
    assert sent == [source.pk]

    assert tasks.apply_waiting_deliveries() == [source.pk]
    assert sent == [source.pk]  # its task is (as far as anyone knows) still queued: not twice
    cache.delete(webhooks._apply_scheduled_key(source.pk))  # the mark expired: the task was lost
    tasks.apply_waiting_deliveries()
    assert sent == [source.pk, source.pk]
