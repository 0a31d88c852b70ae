"""Trackers' deliveries take the lean path (testmanager.middleware): straight to the hook's view, without
the browser middleware, and still refused without a valid signature, never showing or logging a secret."""

import logging

import pytest
from django.test import Client

from issues.links.models import ExternalReference
from tests.factories import ExternalReferenceFactory
from tests.issues.sync_support import SECRET, jira_cloud_source, post

BROWSER_HEADERS = ("X-Frame-Options", "Vary", "Set-Cookie")


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")
    source = jira_cloud_source(fake_jira_cloud)
    reference = ExternalReferenceFactory(source=source, key="SHOP-1", status="To Do", status_category="todo")
    fake_jira_cloud.edit_issue("SHOP-1", status="In Progress")
    return fake_jira_cloud, source, reference


@pytest.mark.django_db
def test_a_delivery_skips_the_browser_middleware_and_is_applied(jira):
    fake, source, reference = jira
    client = Client(enforce_csrf_checks=True)  # no CSRF token: the hook's path never asks for one

    response = post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET))

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    # sessions, CSRF, authentication and framing middleware did not run: none of their headers or cookies
    assert not [name for name in BROWSER_HEADERS if name in response.headers]
    assert not response.cookies
    assert ExternalReference.objects.get(pk=reference.pk).status == "In Progress"


@pytest.mark.django_db
def test_pages_other_than_the_hook_keep_the_whole_middleware(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "csrftoken" in response.cookies


@pytest.mark.django_db
def test_the_lean_path_refuses_bad_signatures_and_never_shows_or_logs_the_secret(jira, caplog):
    fake, source, reference = jira
    genuine = fake.issue_delivery("SHOP-1", secret=SECRET)
    forged = fake.issue_delivery("SHOP-1", secret="guessed")
    caplog.set_level(logging.DEBUG)

    answers = [
        post(Client(), source, forged),
        post(Client(), source, genuine.with_headers({"X-Hub-Signature": ""})),
        post(Client(), source, genuine.with_headers({"X-Hub-Signature": "sha256=" + "0" * 64})),
    ]

    assert [answer.status_code for answer in answers] == [401, 401, 401]
    assert ExternalReference.objects.get(pk=reference.pk).status == "To Do"
    assert post(Client(), source, genuine).status_code == 200  # the kept source still verifies
    shown = b"".join(answer.content for answer in answers).decode() + caplog.text
    assert SECRET not in shown


@pytest.mark.django_db
def test_addresses_under_hooks_that_are_no_hook_answer_as_before(client):
    assert client.post("/hooks/not-a-uuid/", data=b"{}", content_type="application/json").status_code == 404
    assert client.get("/hooks/").status_code == 404
