"""The hook at /hooks/<source uuid>/: what a delivery does to the references, and what it never does.

Deliveries come from the fake trackers, signed as each tracker signs them, and reach the hook the
way a tracker's do: a POST with no session and no CSRF token.
"""

import dataclasses
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from integrations.models import AuditAction, AuditEvent
from issues.links.models import ExternalReference, Link
from issues.links.services import link
from issues.sync import webhooks
from issues.sync.models import WebhookDelivery
from tests.factories import ExternalReferenceFactory, ProjectIntegrationFactory, TestResultFactory, UserFactory
from tests.fakes.fixtures import GITHUB_LOGIN, LINEAR_LOGIN
from tests.fakes.webhooks import hex_hmac, send
from tests.issues.sync_support import (
    SECRET,
    azure_devops_source,
    github_source,
    jira_cloud_source,
    linear_source,
    post,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)  # trackers send no CSRF token


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")
    source = jira_cloud_source(fake_jira_cloud)
    reference = ExternalReferenceFactory(
        source=source, key="SHOP-1", title="Checkout fails", status="To Do", status_category="todo", priority="Medium"
    )
    return fake_jira_cloud, source, reference


def audits(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# -- accepted deliveries -------------------------------------------------------------------------


def test_an_accepted_delivery_updates_the_reference_and_is_audited(client, jira):
    fake, source, reference = jira
    fake.edit_issue("SHOP-1", summary="Checkout fails for guests", status="In Progress", priority="High")
    delivery = fake.issue_delivery("SHOP-1", secret=SECRET)

    response = post(client, source, delivery)

    assert response.status_code == 200
    assert response.json() == {"message": "1 of 1 event(s) applied."}
    reference.refresh_from_db()
    assert (reference.title, reference.status, reference.status_category, reference.priority) == (
        "Checkout fails for guests",
        "In Progress",
        "in_progress",
        "High",
    )
    assert reference.remote_updated_at == fake.issue("SHOP-1").updated
    assert reference.last_synced_at is not None and reference.last_error == ""
    (accepted,) = audits(AuditAction.WEBHOOK_ACCEPTED)
    assert (accepted.source_id, accepted.target, accepted.success) == (
        source.pk,
        delivery.headers["X-Atlassian-Webhook-Identifier"],
        True,
    )
    assert accepted.details == {"events": 1, "applied": 1, "stale": 0, "unknown": 0, "duplicate": 0, "refresh": 0}
    assert SECRET not in json.dumps(accepted.details) + accepted.message
    assert fake.requests == []  # a webhook costs the tracker nothing


def test_replayed_and_out_of_order_deliveries_end_in_the_newest_state(client, jira):
    fake, source, reference = jira
    fake.edit_issue("SHOP-1", status="In Progress")
    older = fake.issue_delivery("SHOP-1", secret=SECRET)
    fake.edit_issue("SHOP-1", status="Done")
    fake.issue("SHOP-1").updated += timedelta(seconds=1)  # a later change, whatever the clock's resolution
    newer = fake.issue_delivery("SHOP-1", secret=SECRET)

    answers = [post(client, source, delivery).json()["message"] for delivery in (newer, older, newer, older)]

    reference.refresh_from_db()
    assert (reference.status, reference.status_category) == ("Done", "done")
    assert reference.remote_updated_at == fake.issue("SHOP-1").updated
    assert answers == [
        "1 of 1 event(s) applied.",
        "0 of 1 event(s) applied.",
        "0 of 1 event(s) applied.",
        "0 of 1 event(s) applied.",
    ]
    details = [event.details for event in audits(AuditAction.WEBHOOK_ACCEPTED)]
    assert [(d["applied"], d["stale"], d["duplicate"]) for d in details] == [(1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1)]
    assert WebhookDelivery.objects.filter(source=source).count() == 2


def test_a_signed_jira_body_replayed_under_a_new_identifier_is_a_duplicate(client, jira):
    """X-Atlassian-Webhook-Identifier is outside what X-Hub-Signature signs: whoever captured a delivery can
    send its body again with any identifier. The body's own event, issue id and timestamp tell it apart."""
    fake, source, reference = jira
    fake.edit_issue("SHOP-1", status="In Progress")
    delivery = fake.issue_delivery("SHOP-1", secret=SECRET)
    replayed = delivery.with_headers({"X-Atlassian-Webhook-Identifier": "a-new-identifier"})
    assert post(client, source, delivery).json() == {"message": "1 of 1 event(s) applied."}
    ExternalReference.objects.filter(pk=reference.pk).update(status="To Do")  # what the replay would undo
    synced = ExternalReference.objects.get(pk=reference.pk).last_synced_at

    response = post(client, source, replayed)

    assert (response.status_code, response.json()) == (200, {"message": "0 of 1 event(s) applied."})
    reference.refresh_from_db()
    assert (reference.status, reference.last_synced_at) == ("To Do", synced)
    assert audits(AuditAction.WEBHOOK_ACCEPTED)[-1].details["duplicate"] == 1
    assert WebhookDelivery.objects.filter(source=source).count() == 1


def test_a_later_jira_event_of_the_same_issue_and_type_is_applied(client, jira, monkeypatch):
    fake, source, reference = jira
    fake.edit_issue("SHOP-1", status="In Progress")
    first = fake.issue_delivery("SHOP-1", secret=SECRET)
    fake.edit_issue("SHOP-1", status="Done")
    fake.issue("SHOP-1").updated += timedelta(seconds=1)
    monkeypatch.setattr(fake, "now", lambda: fake.issue("SHOP-1").updated)  # sent as the change happened
    second = fake.issue_delivery("SHOP-1", secret=SECRET)
    assert first.json()["timestamp"] < second.json()["timestamp"]

    answers = [post(client, source, delivery).json()["message"] for delivery in (first, second)]

    assert answers == ["1 of 1 event(s) applied.", "1 of 1 event(s) applied."]
    reference.refresh_from_db()
    assert reference.status == "Done"


def test_a_delivery_for_keys_no_reference_has_is_ignored(client, jira):
    fake, source, reference = jira
    fake.add_issue("SHOP", "Unrelated")

    response = post(client, source, fake.issue_delivery("SHOP-2", secret=SECRET))

    assert response.status_code == 200
    assert not ExternalReference.objects.filter(key="SHOP-2").exists()
    assert audits(AuditAction.WEBHOOK_ACCEPTED)[0].details["unknown"] == 1


def test_a_deletion_marks_the_reference_and_keeps_it_and_its_links(client, jira):
    fake, source, reference = jira
    result = TestResultFactory()
    link(artefact=result, reference=reference)

    post(client, source, fake.issue_delivery("SHOP-1", event="jira:issue_deleted", secret=SECRET))

    reference.refresh_from_db()
    assert reference.deleted_remotely
    assert (reference.title, reference.status) == ("Checkout fails", "To Do")  # the cached values stay
    assert Link.objects.filter(external_reference=reference, test_result=result).exists()


def test_keys_match_whatever_their_case(client, fake_github):
    fake_github.add_repo("Acme/Shop")
    fake_github.add_issue("Acme/Shop", "Checkout fails", author=GITHUB_LOGIN)
    fake_github.edit_issue("Acme/Shop", 1, state="closed", state_reason="completed")
    source = github_source(fake_github)
    reference = ExternalReferenceFactory(source=source, key="acme/shop#1", status="Open")

    post(client, source, fake_github.issue_delivery("Acme/Shop", 1, action="closed", secret=SECRET))

    reference.refresh_from_db()
    assert (reference.key, reference.status, reference.status_category) == ("acme/shop#1", "Closed", "done")


def test_a_delivery_without_the_state_has_the_work_item_read_again(
    client, fake_azure_devops, django_capture_on_commit_callbacks
):
    fake_azure_devops.add_project("Shop")
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails", state="Active")
    source = azure_devops_source(fake_azure_devops)
    reference = ExternalReferenceFactory(source=source, key=str(item.id), status="New", status_category="todo")

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, source, fake_azure_devops.work_item_delivery(item.id, password=SECRET))

    assert response.status_code == 200
    reference.refresh_from_db()
    assert (reference.title, reference.status, reference.status_category) == ("Checkout fails", "Active", "in_progress")
    assert len(fake_azure_devops.requests_to("POST", r".*/workitemsbatch")) == 1


# -- refused deliveries --------------------------------------------------------------------------


def test_a_forged_signature_is_refused_audited_and_changes_nothing(client, jira):
    fake, source, reference = jira
    fake.edit_issue("SHOP-1", status="Done")
    forged = fake.issue_delivery("SHOP-1", secret="guessed")

    response = post(client, source, forged)

    assert response.status_code == 401
    reference.refresh_from_db()
    assert reference.status == "To Do"
    (rejected,) = audits(AuditAction.WEBHOOK_REJECTED)
    assert (rejected.success, rejected.details) == (False, {"status": 401})
    assert "signature" in rejected.message and SECRET not in rejected.message
    assert not WebhookDelivery.objects.exists()


def test_a_flood_of_forged_deliveries_writes_one_audit_row_a_minute_that_counts_the_rest(client, jira):
    fake, source, reference = jira
    forged = fake.issue_delivery("SHOP-1", secret="guessed")

    answers = {post(client, source, forged).status_code for _ in range(30)}
    assert answers == {401}
    assert len(audits(AuditAction.WEBHOOK_REJECTED)) == 1

    cache.delete(webhooks.rejection_window_key(source, 401))  # the minute passes
    post(client, source, forged)

    first, second = audits(AuditAction.WEBHOOK_REJECTED)
    assert second.details == {"status": 401, "unwritten_before": 29}
    reference.refresh_from_db()
    assert reference.status == "To Do"


def test_an_expired_linear_delivery_is_refused(client, fake_linear):
    fake_linear.add_team("ENG")
    issue = fake_linear.add_issue("ENG", "Checkout fails", assignee=LINEAR_LOGIN)
    source = linear_source(fake_linear)
    reference = ExternalReferenceFactory(source=source, key="ENG-1", title="Old title")
    late = fake_linear.issue_delivery("ENG-1", secret=SECRET, sent_at=issue.updated_at - timedelta(minutes=2))

    response = post(client, source, late)

    assert response.status_code == 401
    assert "webhookTimestamp" in response.json()["message"]
    reference.refresh_from_db()
    assert reference.title == "Old title"
    assert audits(AuditAction.WEBHOOK_REJECTED)[0].details == {"status": 401}


def test_a_signed_body_that_is_not_json_is_a_bad_request(client, fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    source = github_source(fake_github)
    genuine = fake_github.issue_delivery("acme/shop", 1, secret=SECRET)
    garbage = dataclasses.replace(genuine, body=b"{not json")
    garbage = garbage.with_headers({"X-Hub-Signature-256": "sha256=" + hex_hmac(SECRET, garbage.body)})

    response = post(client, source, garbage)

    assert response.status_code == 400
    assert response.json() == {"message": "The webhook delivery is not JSON."}
    (rejected,) = audits(AuditAction.WEBHOOK_REJECTED)
    assert (rejected.success, rejected.details) == (False, {"status": 400})


def deeply_nested(delivery, signature_header: str, prefix: str = ""):
    """The genuine delivery with a field nested 100,000 arrays deep added, signed again."""
    body = b'{"nested": ' + b"[" * 100_000 + b"]" * 100_000 + b", " + delivery.body.lstrip()[1:]
    return dataclasses.replace(delivery, body=body).with_headers({signature_header: prefix + hex_hmac(SECRET, body)})


def test_a_signed_github_delivery_nested_100000_levels_deep_is_a_bad_request(client, fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    source = github_source(fake_github)
    reference = ExternalReferenceFactory(source=source, key="acme/shop#1", title="Old title")
    genuine = fake_github.issue_delivery("acme/shop", 1, secret=SECRET)

    response = post(client, source, deeply_nested(genuine, "X-Hub-Signature-256", "sha256="))

    assert response.status_code == 400
    assert response.json() == {"message": "The webhook delivery nests JSON deeper than any tracker writes."}
    reference.refresh_from_db()
    assert reference.title == "Old title" and not WebhookDelivery.objects.exists()


def test_a_signed_linear_delivery_nested_100000_levels_deep_is_a_bad_request(client, fake_linear):
    fake_linear.add_team("ENG")
    fake_linear.add_issue("ENG", "Checkout fails", assignee=LINEAR_LOGIN)
    source = linear_source(fake_linear)
    reference = ExternalReferenceFactory(source=source, key="ENG-1", title="Old title")
    genuine = fake_linear.issue_delivery("ENG-1", secret=SECRET)

    response = post(client, source, deeply_nested(genuine, "Linear-Signature"))

    assert response.status_code == 400
    assert response.json() == {"message": "The webhook delivery nests JSON deeper than any tracker writes."}
    reference.refresh_from_db()
    assert reference.title == "Old title"
    assert audits(AuditAction.WEBHOOK_REJECTED)[0].details == {"status": 400}


def test_an_oversized_delivery_is_refused_before_it_is_read(client, jira, settings):
    fake, source, reference = jira
    settings.WEBHOOK_MAX_BYTES = 512
    delivery = fake.issue_delivery("SHOP-1", secret=SECRET)
    assert len(delivery.body) > 512

    response = post(client, source, delivery)

    assert response.status_code == 413
    assert audits(AuditAction.WEBHOOK_REJECTED)[0].details == {"status": 413}


@pytest.mark.parametrize(
    "change",
    [
        {"can_process_webhooks": False},
        {"enabled": False},
        {"connected": False},
    ],
)
def test_a_source_that_does_not_take_webhooks_answers_not_found(client, jira, change):
    fake, source, reference = jira
    for name, value in change.items():
        setattr(source, name, value)
    source.save()

    response = post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="webhook").exists()


def test_unknown_sources_and_other_methods(client, jira):
    fake, source, reference = jira

    assert (
        client.post(
            "/hooks/00000000-0000-4000-8000-000000000000/", data=b"{}", content_type="application/json"
        ).status_code
        == 404
    )
    assert client.get(reverse("webhook", args=[source.uuid])).status_code == 405


# -- registered hooks, over real HTTP ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_administrator_registers_the_hook_and_the_tracker_delivers_to_it(fake_github, live_server):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "admin")
    fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    source = github_source(fake_github, webhook_secret=None, can_process_webhooks=False)
    ProjectIntegrationFactory(source=source, external_project="acme/shop")
    reference = ExternalReferenceFactory(source=source, key="acme/shop#1", status="Open", status_category="todo")
    admin = Client(HTTP_HOST=live_server.url.split("//")[1])
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    admin.post("/admin/integrations/source/", {"action": "register_webhook", "_selected_action": [source.pk]})

    (hook,) = fake_github.hooks["acme/shop"]
    source.refresh_from_db()
    assert hook.url == f"{live_server.url}/hooks/{source.uuid}/"
    assert (hook.secret, source.can_process_webhooks) == (source.webhook_secret, True)
    assert len(hook.secret) >= 32
    (registered,) = audits(AuditAction.WEBHOOK_REGISTERED)
    assert (registered.target, registered.details) == (hook.url, {"hooks": 1})
    assert hook.secret not in json.dumps(registered.details) + registered.message

    fake_github.edit_issue("acme/shop", 1, state="closed", state_reason="completed")
    answer = send(fake_github.issue_delivery("acme/shop", 1, action="closed", secret=hook.secret), hook.url)

    assert answer.status_code == 200
    reference.refresh_from_db()
    assert (reference.status, reference.status_category) == ("Closed", "done")


def test_an_administrator_can_enter_the_secret_a_tracker_generated(admin_client, fake_linear):
    fake_linear.add_team("ENG")
    fake_linear.add_issue("ENG", "Checkout fails")
    source = linear_source(fake_linear, webhook_secret=None)
    page = f"/admin/integrations/source/{source.pk}/change/"
    form = admin_client.get(page).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "projects"}
    data |= {
        "provider": source.provider,
        "auth_type": source.auth_type,
        "credential_token": "",
        "webhook_secret_input": "lin_wh_generated_by_linear",
        "refresh_interval_minutes": 15,
        "rate_limit_per_minute": 120,
    }

    response = admin_client.post(page, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    source.refresh_from_db()
    assert source.webhook_secret == "lin_wh_generated_by_linear"
    assert b"lin_wh_generated_by_linear" not in admin_client.get(page).content  # write-only
    assert f"/hooks/{source.uuid}/".encode() in admin_client.get(page).content
    changed = AuditEvent.objects.get(action=AuditAction.CREDENTIALS_CHANGED)
    assert changed.details == {"parts": ["webhook_secret"]}
    delivery = fake_linear.issue_delivery("ENG-1", secret="lin_wh_generated_by_linear")
    assert post(Client(), source, delivery).status_code == 200


def test_a_registration_the_tracker_refuses_is_reported_audited_and_stores_nothing(admin_client, fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")  # not an administrator of the repository
    source = github_source(fake_github, webhook_secret=None, can_process_webhooks=False)
    ProjectIntegrationFactory(source=source, external_project="acme/shop")

    response = admin_client.post(
        "/admin/integrations/source/", {"action": "register_webhook", "_selected_action": [source.pk]}, follow=True
    )

    (message,) = [str(message) for message in response.context["messages"]]
    assert message.startswith("GitHub: the webhook was not registered.") and "404" in message
    source.refresh_from_db()
    assert (source.webhook_secret, source.can_process_webhooks) == (None, False)
    (failed,) = audits(AuditAction.WEBHOOK_REGISTERED)
    assert (failed.success, failed.details) == (False, {"code": "not_found"})
    assert fake_github.hooks == {}
