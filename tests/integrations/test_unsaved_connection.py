"""Test connection before a source exists: on the admin's add form (its "Test connection" button posts the
typed values) and through `POST /api/integrations/test-connection` with the fields of a new source. The
values are tried against the tracker and nothing is stored: no source, no health, no audit row; typed
secrets are never echoed; a wrong field is named (400). Against the fake Jira Cloud over real HTTP."""

import pytest
from rest_framework.test import APIClient

from integrations.models import AuditEvent, Source
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

API = "/api/integrations/test-connection"
ADMIN = "/admin/integrations/source/test-unsaved-connection/"
WRONG_TOKEN = "wrong-api-token-4242"


@pytest.fixture
def system_admin():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def api(system_admin):
    client = APIClient()
    client.force_authenticate(system_admin)
    return client


def new_source(fake, **changes) -> dict:
    return {
        "provider": "jira_cloud",
        "name": "Acme Jira",
        "base_url": fake.base_url,
        "allow_http": True,
        "auth_type": "api_token",
        "credentials": {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
        **changes,
    }


def nothing_stored():
    return not Source.objects.exists() and not AuditEvent.objects.exists()


# -- API -----------------------------------------------------------------------------------------


def test_the_fields_of_a_new_source_are_tested_and_nothing_is_stored(api, fake_jira_cloud):
    response = api.post(API, new_source(fake_jira_cloud), format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["ok"], body["user"], body["code"]) == (True, f"Automation ({CLOUD_LOGIN})", "")
    assert body["message"].startswith("Signed in to Jira as Automation")
    assert fake_jira_cloud.requests_to("GET", r"/rest/api/3/myself")
    assert nothing_stored()


def test_credentials_the_tracker_refuses_fail_without_echoing_the_secret_and_store_nothing(api, fake_jira_cloud):
    payload = new_source(fake_jira_cloud, credentials={"email": CLOUD_LOGIN, "api_token": WRONG_TOKEN})

    response = api.post(API, payload, format="json")

    body = response.json()
    assert (response.status_code, body["ok"], body["code"]) == (200, False, "auth")
    assert "HTTP 401" in body["message"]
    assert WRONG_TOKEN not in response.content.decode()
    assert nothing_stored()


def test_an_unreachable_tracker_fails_and_stores_nothing(api, fake_jira_cloud):
    payload = new_source(fake_jira_cloud)
    fake_jira_cloud.server.stop()

    body = api.post(API, payload, format="json").json()

    assert (body["ok"], body["code"]) == (False, "unreachable")
    assert nothing_stored()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"provider": "bugzilla"}, "provider"),
        ({"base_url": "not a url"}, "base_url"),
        ({"allow_http": False}, "base_url"),
        ({"auth_type": "pat"}, "auth_type"),
        ({"credentials": {"email": CLOUD_LOGIN}}, "credentials.api_token"),
        ({"credentials": {"email": CLOUD_LOGIN, "api_token": "x", "password": "y"}}, "credentials.password"),
    ],
)
def test_a_wrong_field_is_named_and_nothing_is_sent_or_stored(api, fake_jira_cloud, changes, field):
    response = api.post(API, new_source(fake_jira_cloud, **changes), format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert CLOUD_API_TOKEN not in response.content.decode()
    assert not fake_jira_cloud.requests_to()
    assert nothing_stored()


def test_a_new_source_goes_without_an_id(api, fake_jira_cloud):
    response = api.post(API, {"source": 1, **new_source(fake_jira_cloud)}, format="json")
    assert response.status_code == 400


def test_only_administrators_of_integrations_test_a_new_source(fake_jira_cloud):
    project_admin = MembershipFactory(project=ProjectFactory(), role=Role.ADMIN).user
    client = APIClient()
    client.force_authenticate(project_admin)

    response = client.post(API, new_source(fake_jira_cloud), format="json")

    assert response.status_code == 403
    assert not fake_jira_cloud.requests_to()


# -- the admin's add form ------------------------------------------------------------------------


def form_data(fake, **changes) -> dict:
    return {
        "provider": "jira_cloud",
        "name": "",  # not needed for a test
        "base_url": fake.base_url,
        "allow_http": "on",
        "auth_type": "api_token",
        "credential_email": CLOUD_LOGIN,
        "credential_api_token": CLOUD_API_TOKEN,
        **changes,
    }


def test_the_add_forms_button_tests_the_typed_values_and_stores_nothing(client, system_admin, fake_jira_cloud):
    client.force_login(system_admin)

    page = client.get("/admin/integrations/source/add/").content.decode()
    response = client.post(ADMIN, form_data(fake_jira_cloud))

    assert 'id="test-connection"' in page and 'data-test-unsaved-url="' + ADMIN + '"' in page
    assert response.status_code == 200
    assert response.json()["ok"] is True and response.json()["message"].startswith("Connection works. Signed in")
    assert nothing_stored()


def test_the_add_forms_button_says_why_it_failed_without_the_secret(client, system_admin, fake_jira_cloud):
    client.force_login(system_admin)

    response = client.post(ADMIN, form_data(fake_jira_cloud, credential_api_token=WRONG_TOKEN))

    assert response.json()["ok"] is False and response.json()["message"].startswith("Connection failed.")
    assert WRONG_TOKEN not in response.content.decode()
    assert nothing_stored()


def test_the_add_forms_button_names_a_missing_credential(client, system_admin, fake_jira_cloud):
    client.force_login(system_admin)

    response = client.post(ADMIN, form_data(fake_jira_cloud, credential_api_token=""))

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"credential_api_token"}
    assert response.json()["message"] == "API token: Enter the api token."
    assert not fake_jira_cloud.requests_to() and nothing_stored()


def test_staff_without_the_source_permission_may_not_test(client, fake_jira_cloud):
    client.force_login(UserFactory(is_staff=True))

    response = client.post(ADMIN, form_data(fake_jira_cloud))

    assert response.status_code in (302, 403)
    assert not fake_jira_cloud.requests_to()
