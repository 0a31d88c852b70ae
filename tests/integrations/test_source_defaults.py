"""A new source starts with the capabilities its provider implements switched on (issue 19,
"Defaults and reasons"); an administrator can switch any of them off."""

import pytest
from django.urls import reverse

from integrations import selectors, tasks
from integrations.models import Source
from integrations.providers import REGISTRY
from integrations.providers.base import CAPABILITY_FIELDS
from tests.factories import UserFactory
from tests.integrations.test_sources import form_data

pytestmark = pytest.mark.django_db

CAPABILITIES = list(CAPABILITY_FIELDS.values())


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture(autouse=True)
def no_health_checks(monkeypatch):
    monkeypatch.setattr(tasks.check_source_health, "delay", lambda *args: None)


def initial_of(response) -> dict:
    form = response.context["adminform"].form
    return {name: form[name].value() for name in CAPABILITIES}


@pytest.mark.parametrize("provider", ["jira_cloud", "jira_server", "github", "gitlab", "azure_devops", "linear"])
def test_a_new_source_of_an_api_tracker_starts_with_every_capability_on(admin_client, provider):
    response = admin_client.get(reverse("admin:integrations_source_add") + f"?provider={provider}")
    assert initial_of(response) == dict.fromkeys(CAPABILITIES, True)


def test_a_custom_tracker_starts_with_nothing_on_it_does_not_implement(admin_client):
    """Creating issues without an API needs a create URL template the admin has to enter first."""
    response = admin_client.get(reverse("admin:integrations_source_add") + "?provider=custom")
    assert initial_of(response) == dict.fromkeys(CAPABILITIES, False)


def test_before_a_provider_is_chosen_every_capability_starts_on(admin_client):
    response = admin_client.get(reverse("admin:integrations_source_add"))
    assert initial_of(response) == dict.fromkeys(CAPABILITIES, True)


def test_the_form_script_is_told_each_providers_defaults(admin_client):
    meta = admin_client.get(reverse("admin:integrations_source_add")).context["provider_metadata"]
    assert meta["jira_cloud"]["default_capabilities"] == sorted(CAPABILITIES)
    assert meta["custom"]["default_capabilities"] == []


def test_the_defaults_are_what_each_provider_implements():
    for key, provider in REGISTRY.items():
        expected = {field: capability in provider.capabilities for capability, field in CAPABILITY_FIELDS.items()}
        assert selectors.default_capabilities(key) == expected


def test_a_source_saved_with_the_defaults_has_them_on(admin_client):
    page = admin_client.get(reverse("admin:integrations_source_add") + "?provider=jira_cloud")
    ticked = {name: "on" for name, value in initial_of(page).items() if value}
    response = admin_client.post(reverse("admin:integrations_source_add"), form_data(**ticked))
    assert response.status_code == 302
    source = Source.objects.get(name="Acme Jira")
    assert [getattr(source, name) for name in CAPABILITIES] == [True] * 4
    assert selectors.creates_through_api(source)


def test_an_admin_can_switch_a_default_off(admin_client):
    ticked = dict.fromkeys(CAPABILITIES, "on") | {"can_create_issues": None, "can_add_comments": None}
    response = admin_client.post(reverse("admin:integrations_source_add"), form_data(**ticked))
    assert response.status_code == 302
    source = Source.objects.get(name="Acme Jira")
    assert (source.can_read_details, source.can_create_issues, source.can_add_comments) == (True, False, False)
    assert not selectors.creates_through_api(source)
