"""What one delivery to the hook costs the database: few queries, and one commit holding the delivery,
what it changed and its audit row (so nothing is recorded as received that was not applied)."""

import threading

import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from integrations import services as integration_services
from integrations.models import AuditAction, AuditEvent
from issues.links.models import ExternalReference
from issues.sync.models import WebhookDelivery
from tests.factories import ExternalReferenceFactory
from tests.issues.sync_support import SECRET, jira_cloud_source, post

# A delivery that changes a reference: the delivery recorded, its reference read and updated, the active
# integrations' options (no project pulls requirements: none told), the audit row. The source is read once
# per process and kept (integrations.selectors.webhook_source): one more query for the first delivery.
QUERIES_OF_A_CHANGING_DELIVERY = 5
# A duplicate: the delivery (not) recorded, the audit row.
QUERIES_OF_A_DUPLICATE = 2


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")
    source = jira_cloud_source(fake_jira_cloud)
    reference = ExternalReferenceFactory(
        source=source, key="SHOP-1", title="Checkout fails", status="To Do", status_category="todo"
    )
    fake_jira_cloud.edit_issue("SHOP-1", status="In Progress")
    return fake_jira_cloud, source, reference


def statements(captured):
    return [query["sql"] for query in captured if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]


def savepoints(captured):
    return [query["sql"] for query in captured if query["sql"].upper().startswith("SAVEPOINT")]


@pytest.mark.django_db
def test_a_delivery_runs_a_pinned_number_of_queries_in_one_transaction(jira):
    fake, source, reference = jira
    delivery = fake.issue_delivery("SHOP-1", secret=SECRET)
    client = Client(enforce_csrf_checks=True)

    with CaptureQueriesContext(connection) as cold:
        assert post(client, source, delivery).json() == {"message": "1 of 1 event(s) applied."}
    with CaptureQueriesContext(connection) as again:
        assert post(client, source, delivery).json() == {"message": "0 of 1 event(s) applied."}
    fake.edit_issue("SHOP-1", status="Done")
    with CaptureQueriesContext(connection) as warm:
        assert post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET)).json() == {
            "message": "1 of 1 event(s) applied."
        }

    assert len(statements(cold)) <= QUERIES_OF_A_CHANGING_DELIVERY + 1, statements(cold)
    assert len(statements(warm)) <= QUERIES_OF_A_CHANGING_DELIVERY, statements(warm)
    assert len(statements(again)) <= QUERIES_OF_A_DUPLICATE, statements(again)
    # inside the test's transaction the one atomic block is one savepoint: no savepoint per delivery id
    assert len(savepoints(cold)) == len(savepoints(again)) == len(savepoints(warm)) == 1
    reference.refresh_from_db()
    assert reference.status == "Done"
    assert WebhookDelivery.objects.filter(source=source).count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.WEBHOOK_ACCEPTED).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_one_commit_and_writes_nothing_outside_it(jira, monkeypatch):
    """With real transactions: every write of the delivery runs inside the one atomic block, which
    commits once (the audit row no longer commits on its own)."""
    fake, source, _ = jira
    delivery = fake.issue_delivery("SHOP-1", secret=SECRET)
    client = Client(enforce_csrf_checks=True)
    commits, writes = [], []
    real_commit = connection.commit
    monkeypatch.setattr(connection, "commit", lambda: commits.append(1) or real_commit())

    def watch(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append((sql.split()[2], connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        assert post(client, source, delivery).status_code == 200

    assert commits == [1]
    assert writes and all(in_block for _, in_block in writes), writes
    assert {table for table, _ in writes} >= {'"issues_webhookdelivery"', '"integrations_auditevent"'}


@pytest.mark.django_db(transaction=True)
def test_a_delivery_whose_audit_row_fails_is_not_recorded_and_its_redelivery_applies(jira, monkeypatch):
    """Nothing lost: when the transaction fails, the delivery is not kept as received, so the tracker's
    redelivery (same id) is applied, once."""
    fake, source, reference = jira
    delivery = fake.issue_delivery("SHOP-1", secret=SECRET)
    client = Client(enforce_csrf_checks=True, raise_request_exception=True)
    real_record = integration_services.record_audit

    def failing(*args, **kwargs):
        raise DatabaseError("the audit table is unavailable")

    monkeypatch.setattr(integration_services, "record_audit", failing)
    with pytest.raises(DatabaseError):
        post(client, source, delivery)
    assert not WebhookDelivery.objects.exists()
    assert ExternalReference.objects.get(pk=reference.pk).status == "To Do"

    monkeypatch.setattr(integration_services, "record_audit", real_record)
    assert post(client, source, delivery).json() == {"message": "1 of 1 event(s) applied."}
    assert post(client, source, delivery).json() == {"message": "0 of 1 event(s) applied."}
    assert ExternalReference.objects.get(pk=reference.pk).status == "In Progress"
    assert WebhookDelivery.objects.filter(source=source).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_posted_concurrently_is_applied_once(jira):
    """Two senders post one delivery at the same time (a tracker's retry racing its first attempt): the
    second INSERT waits for the first transaction and then counts as a duplicate."""
    fake, source, reference = jira
    delivery = fake.issue_delivery("SHOP-1", secret=SECRET)
    start = threading.Barrier(2)
    answers = []

    def sender():
        try:
            start.wait()
            answers.append(post(Client(enforce_csrf_checks=True), source, delivery).json()["message"])
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == ["0 of 1 event(s) applied.", "1 of 1 event(s) applied."]
    assert WebhookDelivery.objects.filter(source=source).count() == 1
    accepted = AuditEvent.objects.filter(action=AuditAction.WEBHOOK_ACCEPTED).order_by("id")
    assert sorted(event.details["applied"] for event in accepted) == [0, 1]
    assert ExternalReference.objects.get(pk=reference.pk).status == "In Progress"
