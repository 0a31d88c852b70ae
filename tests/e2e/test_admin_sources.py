"""An administrator configures a Jira Cloud source in a real browser, tests its connection
against the fake Jira, and a project admin assigns it to a project and archives it."""

import re

import pytest
from playwright.sync_api import expect

from integrations.models import Health, IntegrationState, ProjectIntegration, Source
from tests.factories import ProjectFactory, UserFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def admin(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True  # the fake Jira listens on 127.0.0.1
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def auth_type_choices(page):
    return page.eval_on_selector_all("#id_auth_type option", "options => options.map(option => option.value)")


def test_an_admin_configures_tests_and_assigns_a_jira_cloud_source(page, log_in, admin, fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    ProjectFactory(key="SHOP", name="Web shop")
    log_in(admin)
    page.goto("/admin/integrations/source/add/")

    # The form follows the provider and the auth type without reloading.
    page.select_option("#id_provider", "custom")
    assert auth_type_choices(page) == ["basic", "api_key", "none"]
    page.select_option("#id_auth_type", "none")
    for field in ("#id_credential_email", "#id_credential_api_token", "#id_credential_token", "#id_can_read_details"):
        expect(page.locator(field)).to_be_hidden()
    page.select_option("#id_auth_type", "api_key")  # a custom tracker's optional API key
    expect(page.locator("#id_credential_header_name")).to_be_visible()
    expect(page.locator("#id_credential_header_value")).to_be_visible()
    page.select_option("#id_provider", "jira_cloud")
    assert auth_type_choices(page) == ["api_token", "oauth2"]
    expect(page.locator("#id_credential_email")).to_be_visible()
    expect(page.locator("#id_credential_api_token")).to_be_visible()
    expect(page.locator("#id_credential_client_id")).to_be_hidden()
    page.select_option("#id_auth_type", "oauth2")
    expect(page.locator("#id_credential_client_id")).to_be_visible()
    expect(page.locator("#id_credential_client_secret")).to_be_visible()
    expect(page.locator("#id_credential_email")).to_be_hidden()
    page.select_option("#id_auth_type", "api_token")
    expect(page.locator("#id_credential_email")).to_be_visible()
    expect(page.locator("#id_key_pattern")).to_have_attribute("placeholder", r"^[A-Z][A-Z0-9_]+-\d+$")

    # The sample key is judged by the server's RE2.
    page.fill("#id_key_sample", "SHOP-12")
    expect(page.locator("#key-preview")).to_have_text(re.compile(r"^SHOP-12 matches "))
    page.fill("#id_key_sample", "#12")
    expect(page.locator("#key-preview")).to_have_text(re.compile(r"^#12 does not match "))

    page.fill("#id_name", "Fake Jira")
    page.fill("#id_base_url", fake_jira_cloud.base_url + "/")
    page.check("#id_allow_http")
    page.fill("#id_credential_email", CLOUD_LOGIN)
    page.fill("#id_credential_api_token", CLOUD_API_TOKEN)
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    source = Source.objects.get(name="Fake Jira")
    assert source.base_url == fake_jira_cloud.base_url
    assert source.health == Health.ACTIVE  # checked when saved
    assert CLOUD_API_TOKEN not in page.content()

    # Test connection: success, then a rejected token.
    page.click("#test-connection")
    expect(page.locator(".messagelist")).to_contain_text("Fake Jira: connection works. Signed in to Jira as Automation")
    page.fill("#id_credential_api_token", "revoked-token")
    page.click("input[name=_continue]")
    page.click("#test-connection")
    expect(page.locator(".messagelist")).to_contain_text("Fake Jira: connection failed.")
    expect(page.locator(".messagelist")).to_contain_text("HTTP 401")
    source.refresh_from_db()
    assert source.health == Health.ERROR and source.credentials["api_token"] == "revoked-token"

    # A project admin (here the system admin) assigns it to the project, then archives it.
    page.goto("/projects/SHOP/integrations/")
    page.click("#assign-source")
    page.select_option("#id_source", label="Fake Jira (Jira Cloud)")
    page.fill("#id_external_project", "SHOP")
    page.fill("#id_default_issue_type", "Bug")
    page.check("#id_is_primary")
    page.click("form.integration button[type=submit]")
    expect(page.locator("#integrations")).to_contain_text("Fake Jira")
    expect(page.locator("#integrations")).to_contain_text("primary")
    integration = ProjectIntegration.objects.get()
    page.locator(f"#integration-{integration.pk} button", has_text="Archive").click()
    expect(page.locator("#consequence")).to_contain_text("hidden from the project's pickers")
    page.click("#confirm")
    expect(page.locator("#archived-integrations")).to_contain_text("Fake Jira")
    integration.refresh_from_db()
    assert (integration.state, integration.is_primary) == (IntegrationState.ARCHIVED, False)
