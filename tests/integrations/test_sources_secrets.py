"""A known secret goes through every path an administrator and the API can take; it never
comes back out: not in logs, audit rows, API output, admin HTML, CSV or error messages."""

import base64
import json
import logging

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from integrations import services, tasks
from integrations.models import AuditEvent, Source
from tests.factories import ProjectFactory, UserFactory
from tests.support.scripted_server import Reply, ScriptedServer

pytestmark = pytest.mark.django_db

SECRET = "Sup3r-Secret/Token+value=="
FORMS = [SECRET, base64.b64encode(f"bot:{SECRET}".encode()).decode(), SECRET.replace("/", "%2F")]


@pytest.fixture
def tracker(settings):
    """A tracker that rejects the token and, carelessly, repeats it in its error."""
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    server = ScriptedServer()
    server.script(
        "/rest/api/2/serverInfo",
        Reply(200, {"Content-Type": "application/json"}, b'{"deploymentType": "Server", "version": "9.12.15"}'),
    )
    server.script(
        "/rest/api/2/myself",
        Reply(
            401,
            {"Content-Type": "application/json"},
            json.dumps({"errorMessages": [f"Token {SECRET} is revoked"]}).encode(),
        ),
    )
    server.start()
    yield server
    server.stop()


def assert_clean(text: str, where: str) -> None:
    for form in FORMS:
        assert form not in text, f"the secret leaked into {where}"


def test_a_known_secret_never_comes_back_out(client, tracker, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    project = ProjectFactory(key="SHOP")
    seen: list[tuple[str, str]] = []

    def visit(url, **params):
        response = client.get(url, params)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        seen.append((url, body.decode()))

    with django_capture_on_commit_callbacks(execute=True):  # the save's health check runs too
        response = client.post(
            reverse("admin:integrations_source_add"),
            {
                "provider": "jira_server",
                "name": "Intranet Jira",
                "base_url": tracker.base_url,
                "allow_http": "on",
                "auth_type": "pat",
                "credential_token": SECRET,
                "enabled": "on",
                "all_projects": "on",
                "refresh_interval_minutes": "15",
                "rate_limit_per_minute": "120",
            },
        )
    assert response.status_code == 302
    source = Source.objects.get()
    assert source.credentials == {"token": SECRET}

    response = client.post(reverse("admin:integrations_source_test_connection", args=[source.pk]), follow=True)
    seen.append(("test connection page", response.content.decode()))
    assert "Token [redacted] is revoked" in response.content.decode()  # the tracker's words, without the token
    tasks.check_source_health(source.pk)
    outcome = services.test_connection(source)
    seen.append(("outcome", json.dumps(outcome.to_dict(), default=str)))
    integration = services.assign_source(project, source, actor=admin, external_project="SHOP")

    api = APIClient()
    api.force_authenticate(admin)
    for response in (
        api.get("/api/projects/SHOP/integrations"),
        api.get(f"/api/projects/SHOP/integrations/{integration.pk}"),
        api.post("/api/integrations/test-connection", {"source": source.pk}, format="json"),
    ):
        seen.append(("api", response.content.decode()))

    visit(reverse("admin:integrations_source_changelist"))
    visit(reverse("admin:integrations_source_change", args=[source.pk]))
    visit(reverse("admin:integrations_source_delete", args=[source.pk]))
    visit(reverse("admin:integrations_projectintegration_change", args=[integration.pk]))
    visit(reverse("admin:integrations_auditevent_changelist"))
    for event in AuditEvent.objects.all():
        visit(reverse("admin:integrations_auditevent_change", args=[event.pk]))
    visit(reverse("admin:integrations_auditevent_export"))
    visit(reverse("integrations:list", args=["SHOP"]))
    visit(reverse("integrations:edit", args=["SHOP", integration.pk]))

    for where, text in seen:
        assert_clean(text, where)
    for event in AuditEvent.objects.all():
        assert_clean(f"{event.message} {event.target} {json.dumps(event.details)}", f"audit row {event.action}")
    assert_clean(Source.objects.get().health_error, "the health error")
    assert_clean("\n".join(record.getMessage() for record in caplog.records), "the logs")
    # The save's check, the button, the task, the service and the API each asked who the token is.
    myself = tracker.received_on("/rest/api/2/myself")
    assert len(myself) == 5
    assert all(request.headers["authorization"] == f"Bearer {SECRET}" for request in myself)
