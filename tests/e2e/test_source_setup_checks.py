"""In a real browser: an administrator adds a Jira source in the admin and tests it before saving (a
working token, then a refused one: nothing is stored either time), saves it, and a project admin types
an invalid JQL in the pull settings and sees Jira's own message; a valid one says how many work items
it matches. Against the fake Jira Cloud."""

import re

import pytest
from playwright.sync_api import expect

from integrations.models import AuditEvent, Source
from tests.factories import ProjectFactory, ProjectIntegrationFactory, UserFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def admin(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True  # the fake Jira listens on 127.0.0.1
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_an_admin_tests_a_new_jira_source_before_saving_it(page, log_in, admin, fake_jira_cloud):
    log_in(admin)
    page.goto("/admin/integrations/source/add/")
    page.select_option("#id_provider", "jira_cloud")
    page.fill("#id_base_url", fake_jira_cloud.base_url)
    page.check("#id_allow_http")
    page.fill("#id_credential_email", CLOUD_LOGIN)
    page.fill("#id_credential_api_token", CLOUD_API_TOKEN)
    result = page.locator("#test-connection-result")

    page.click("#test-connection")
    expect(result).to_have_text(re.compile(r"^Connection works\. Signed in to Jira as Automation"))
    assert not Source.objects.exists() and not AuditEvent.objects.exists()

    page.fill("#id_credential_api_token", "revoked-token-123")
    page.click("#test-connection")
    expect(result).to_have_text(re.compile(r"^Connection failed\. .*HTTP 401"))
    expect(result).not_to_contain_text("revoked-token-123")
    assert not Source.objects.exists() and not AuditEvent.objects.exists()
    assert page.locator("#id_credential_api_token").input_value() == "revoked-token-123", "the form keeps its values"

    page.fill("#id_credential_api_token", "")
    page.click("#test-connection")
    expect(result).to_have_text(re.compile(r"API token: Enter the"))

    page.fill("#id_credential_api_token", CLOUD_API_TOKEN)
    page.fill("#id_name", "Acme Jira")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    assert Source.objects.get().name == "Acme Jira"


def test_a_project_admin_types_an_invalid_jql_and_reads_jiras_message(page, log_in, admin, fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    for title in ("Pay by card", "Pay by invoice"):
        fake_jira_cloud.add_issue("SHOP", title, issue_type="Story", labels=["requirement"])
    source = Source.objects.create(
        name="Acme Jira",
        provider="jira_cloud",
        base_url=fake_jira_cloud.base_url,
        allow_http=True,
        auth_type="api_token",
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )
    integration = ProjectIntegrationFactory(project=ProjectFactory(key="SHOP"), source=source, external_project="SHOP")
    log_in(admin)
    page.goto(f"/projects/SHOP/requirement-pulls/{integration.pk}/")

    page.check("#id_pull_requirements")
    page.fill("#id_requirements_filter", "labels = = requirement")
    page.click("#pull-settings button[type=submit]")
    expect(page.locator("#pull-settings")).to_contain_text("Acme Jira refused the requirement filter")
    expect(page.locator("#pull-settings")).to_contain_text("Error in the JQL Query: Expecting either a value")
    expect(page.locator("#id_requirements_filter")).to_have_value("labels = = requirement")
    integration.refresh_from_db()
    assert (integration.pull_requirements, integration.requirements_filter) == (False, "")

    page.fill("#id_requirements_filter", "labels = requirement")
    page.click("#pull-settings button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Requirement filter matches about 2 work items in Acme Jira.")
    integration.refresh_from_db()
    assert (integration.pull_requirements, integration.requirements_filter) == (True, "labels = requirement")
