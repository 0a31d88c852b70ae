"""The project's Settings in a real browser with scripts switched off (issue 19): the Settings tab
leads to Trackers, Members and pull settings; the pull and bug toggles show and hide their sections as
a plain form; archiving asks for confirmation on its own page."""

import pytest
from playwright.sync_api import expect

from integrations.models import IntegrationState
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def page_without_js(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


def test_settings_toggles_and_confirmation_without_scripts(page_without_js):
    page = page_without_js
    project = ProjectFactory(key="SHOP", name="Web shop")
    integration = ProjectIntegrationFactory(project=project, source=SourceFactory(name="Acme Jira"))
    admin = UserFactory()
    MembershipFactory(project=project, user=admin, role=Role.ADMIN)
    page.goto("/accounts/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "correct horse battery staple")
    page.click("button[type=submit]")

    page.goto("/projects/SHOP/")
    page.click("#settings-tab")
    expect(page.locator("#settings-nav")).to_contain_text("Members")
    page.click("#settings-nav >> text=Members")
    expect(page.locator("#members")).to_contain_text(admin.username)
    page.click("#settings-nav >> text=Trackers")

    # Pull settings: each toggle shows or hides its section, no script involved.
    page.click(f"#pull-settings-table a[href$='/requirement-pulls/{integration.pk}/']")
    requirements, bugs = page.locator("#section-requirements-fields"), page.locator("#section-bugs-fields")
    expect(requirements).to_be_hidden()
    expect(bugs).to_be_hidden()
    page.check("#id_pull_bugs")
    expect(bugs).to_be_visible()
    expect(requirements).to_be_hidden()
    page.check("#id_pull_requirements")
    expect(requirements).to_be_visible()
    page.uncheck("#id_pull_bugs")
    expect(bugs).to_be_hidden()

    # Archive asks first; nothing changes until confirmed.
    page.goto("/projects/SHOP/integrations/")
    page.locator(f"#integration-{integration.pk} button", has_text="Archive").click()
    expect(page.locator("#consequence")).to_contain_text("hidden from the project's pickers")
    integration.refresh_from_db()
    assert integration.state == IntegrationState.ACTIVE
    page.click("#confirm")
    expect(page.locator("#archived-integrations")).to_contain_text("Acme Jira")
    integration.refresh_from_db()
    assert integration.state == IntegrationState.ARCHIVED
