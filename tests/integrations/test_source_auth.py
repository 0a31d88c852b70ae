"""Basic authentication where the tracker takes it (Jira Data Center, Azure DevOps Server with a personal
access token as the password, custom trackers) and a custom tracker's optional API key (header name and
value): sent when checking that the tracker's URL answers, refused credentials reported without them,
stored encrypted and never shown."""

import base64
from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse

from integrations import services
from integrations.models import AuthType, Health, Provider, Source
from tests.factories import SourceFactory, UserFactory
from tests.fakes.fixtures import ADO_LOGIN, ADO_PAT
from tests.fakes.server import FakeHTTPServer, empty_response, text_response

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

API_KEY = "custom-api-key-0123456789"


@pytest.fixture
def guarded():
    """A tracker's web server that answers only requests carrying X-API-Key: API_KEY or the basic
    credentials ops / API_KEY (401 otherwise)."""
    server = FakeHTTPServer()
    basic = "Basic " + base64.b64encode(f"ops:{API_KEY}".encode()).decode()

    def gate(request):
        if request.headers.get("X-API-Key") == API_KEY or request.headers.get("Authorization") == basic:
            return None
        return text_response(HTTPStatus.UNAUTHORIZED, "Unauthorized")

    server.interceptor = gate
    server.add_route("HEAD", r"/", lambda request: empty_response(HTTPStatus.OK))
    with server:
        yield server


def custom_source(server, auth_type, credentials):
    return SourceFactory(
        provider=Provider.CUSTOM,
        name="Ops tracker",
        base_url=server.base_url,
        allow_http=True,
        auth_type=auth_type,
        credentials=credentials,
        issue_url_template="{baseUrl}/issues/{key}",
    )


@pytest.mark.parametrize(
    ("auth_type", "credentials"),
    [
        (AuthType.API_KEY, {"header_name": "X-API-Key", "header_value": API_KEY}),
        (AuthType.BASIC, {"username": "ops", "password": API_KEY}),
    ],
)
def test_a_custom_trackers_credentials_are_sent_when_checking_that_it_answers(guarded, auth_type, credentials):
    source = custom_source(guarded, auth_type, credentials)

    outcome = services.test_connection(source)

    assert outcome.ok, outcome.message
    assert "answers (HTTP 200)" in outcome.message
    assert source.health == Health.ACTIVE
    (request,) = guarded.requests
    assert request.method == "HEAD"


@pytest.mark.parametrize(
    ("auth_type", "credentials", "what"),
    [
        (AuthType.API_KEY, {"header_name": "X-API-Key", "header_value": "wrong-key-value"}, "API key"),
        (AuthType.BASIC, {"username": "ops", "password": "wrong-key-value"}, "user name and password"),
    ],
)
def test_a_refused_key_is_an_error_that_does_not_contain_it(guarded, auth_type, credentials, what):
    source = custom_source(guarded, auth_type, credentials)

    outcome = services.test_connection(source)

    assert not outcome.ok and outcome.code == "auth"
    assert f"refused the source's {what} (HTTP 401)" in outcome.message
    assert "wrong-key-value" not in outcome.message + Source.objects.get().health_error
    assert Source.objects.get().health == Health.ERROR


def test_a_custom_tracker_without_credentials_sends_none(guarded):
    source = custom_source(guarded, AuthType.NONE, {})

    outcome = services.test_connection(source)

    assert outcome.ok and "no account is used" in outcome.message  # any answer, even 401, proves it is there
    assert "X-API-Key" not in guarded.requests[0].headers and "Authorization" not in guarded.requests[0].headers


def test_azure_devops_server_takes_a_personal_access_token_as_the_basic_password(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    source = SourceFactory(
        provider=Provider.AZURE_DEVOPS,
        base_url=fake_azure_devops.base_url,
        allow_http=True,
        auth_type=AuthType.BASIC,
        credentials={"username": "FABRIKAM\\automation", "password": ADO_PAT},
    )

    outcome = services.test_connection(source)

    assert outcome.ok, outcome.message
    assert outcome.user == ADO_LOGIN.split("@")[0].replace(".", " ").title()
    sent = fake_azure_devops.server.requests[-1].headers["Authorization"]
    assert sent == "Basic " + base64.b64encode(f"FABRIKAM\\automation:{ADO_PAT}".encode()).decode()


def test_azure_devops_basic_with_a_wrong_token_is_refused_without_it(fake_azure_devops):
    source = SourceFactory(
        provider=Provider.AZURE_DEVOPS,
        base_url=fake_azure_devops.base_url,
        allow_http=True,
        auth_type=AuthType.BASIC,
        credentials={"username": "automation", "password": "not-the-pat-value"},
    )

    outcome = services.test_connection(source)

    assert not outcome.ok and outcome.code == "auth"
    assert "not-the-pat-value" not in outcome.message


# --- The admin form -------------------------------------------------------------------------


def custom_form(**overrides):
    data = {
        "provider": "custom",
        "name": "Ops tracker",
        "enabled": "on",
        "base_url": "https://tracker.example.com",
        "auth_type": "api_key",
        "credential_header_name": "X-API-Key",
        "credential_header_value": API_KEY,
        "issue_url_template": "{baseUrl}/issues/{key}",
        "all_projects": "on",
        "refresh_interval_minutes": "15",
        "rate_limit_per_minute": "120",
    }
    return {**data, **overrides}


def test_an_admin_gives_a_custom_source_an_api_key_stored_encrypted_and_never_shown(client, monkeypatch):
    from integrations import tasks

    monkeypatch.setattr(tasks.check_source_health, "delay", lambda *args: None)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(reverse("admin:integrations_source_add"), custom_form())

    assert response.status_code == 302, response.context["adminform"].form.errors
    source = Source.objects.get()
    assert (source.auth_type, source.credentials) == ("api_key", {"header_name": "X-API-Key", "header_value": API_KEY})
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_source")
        assert API_KEY not in bytes(cursor.fetchone()[0]).decode("latin-1")
    page = client.get(reverse("admin:integrations_source_change", args=[source.pk])).content.decode()
    assert API_KEY not in page and "Stored: API key header, API key." in page


def test_a_header_name_that_is_no_header_name_is_refused(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(reverse("admin:integrations_source_add"), custom_form(credential_header_name="X API: Key"))

    assert response.status_code == 200
    assert "Enter a header name" in str(response.context["adminform"].form.errors["credential_header_name"])
    assert not Source.objects.exists()
