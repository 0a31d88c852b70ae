"""In a real browser: a member enters their own personal access token for the project's Jira Data Center
(on a shared service account), files a failure and the fake Jira records her token and shows her as the
reporter; then a project admin sees her authorization on the Trackers page and revokes it after
confirming."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from integrations.models import AuditAction, AuditEvent, AuthType, Provider, UserToken
from projects.models import ResultStatus, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestResultFactory,
    TestRunFactory,
)
from tests.fakes.fixtures import SERVER_PAT

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.e2e,
    pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache"),
]

MIAS_PAT = "mia-own-jira-personal-access-token"
CREATE_PATH = r"/rest/api/2/issue"


def serious_violations(page) -> list:
    return [
        (violation["id"], [node["target"] for node in violation["nodes"]][:3])
        for violation in Axe().run(page).response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_a_member_files_with_her_own_token_and_an_admin_revokes_it(page, log_in, fake_jira_server):
    fake_jira_server.add_project("SHOP", "Web shop", issue_types=("Bug",))
    fake_jira_server.add_user("mia", display_name="Mia Krystof")
    fake_jira_server.add_personal_access_token("mia", MIAS_PAT)
    project = ProjectFactory(key="SHOP", name="Web shop")
    source = SourceFactory(
        provider=Provider.JIRA_SERVER,
        name="Acme Jira",
        base_url=fake_jira_server.base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": SERVER_PAT},
        issue_url_template="",
        can_create_issues=True,
    )
    integration = ProjectIntegrationFactory(
        project=project, source=source, external_project="SHOP", default_issue_type="Bug", is_primary=True
    )
    mia = MembershipFactory(project=project, role=Role.MEMBER, user__username="mia").user
    admin = MembershipFactory(project=project, role=Role.ADMIN, user__username="ada").user
    result = TestResultFactory(
        run=TestRunFactory(project=project, name="Nightly"),
        case__project=project,
        case__title="Pay with card",
        status=ResultStatus.FAILED,
    )

    # Mia enters her own token on the Trackers page.
    log_in(mia)
    page.goto("/projects/SHOP/integrations/")
    expect(page.locator(f"#account-{integration.pk}")).to_contain_text("The tracker's own account")
    page.click(f"#enter-token-{integration.pk}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your personal access token for Acme Jira")
    assert serious_violations(page) == []
    page.get_by_label("Personal access token").fill("a-token-jira-does-not-know")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errorlist, .alert, .errornote").first).to_contain_text("Nothing was stored")
    assert page.get_by_label("Personal access token").input_value() == ""  # never put back in the page
    page.get_by_label("Personal access token").fill(MIAS_PAT)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Acme Jira now shows Mia Krystof")
    expect(page.locator(f"#account-{integration.pk}")).to_contain_text("Your own token")
    assert MIAS_PAT not in page.content()

    # She files the failure: Jira receives her token and makes her the reporter.
    fake_jira_server.server.requests.clear()
    page.goto(f"/projects/SHOP/runs/{result.run_id}/results/{result.pk}/")
    page.click("#create-issue")
    page.get_by_role("button", name="Create in Acme Jira").click()
    expect(page.locator("#linked-issues a.issue-key")).to_have_text("SHOP-1 · Acme Jira")
    (create,) = fake_jira_server.requests_to("POST", CREATE_PATH)
    assert create.headers["Authorization"] == f"Bearer {MIAS_PAT}"
    assert fake_jira_server.issue("SHOP-1").reporter.login == "mia"

    # Ada, a project admin, sees the authorization and revokes it after confirming.
    page.context.clear_cookies()
    log_in(admin)
    page.goto("/projects/SHOP/integrations/")
    token = UserToken.objects.get(user=mia)
    row = page.locator(f"#authorization-{token.pk}")
    expect(row).to_contain_text("mia")
    expect(row).to_contain_text("Mia Krystof")
    assert serious_violations(page) == []
    row.get_by_role("link", name="Revoke").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke the authorization of mia for Acme Jira?")
    assert UserToken.objects.filter(user=mia).exists()  # not before confirming
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator(".messages")).to_contain_text("The authorization of mia for Acme Jira is revoked")
    expect(page.locator("#no-authorizations")).to_be_visible()
    assert not UserToken.objects.exists()
    assert AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED).actor == admin

    # Mia is told on her next page, and files through the shared account again.
    page.context.clear_cookies()
    log_in(mia)
    page.goto("/projects/SHOP/integrations/")
    expect(page.get_by_role("status").filter(has_text="ada revoked your authorization for Acme Jira")).to_be_visible()
    expect(page.locator(f"#account-{integration.pk}")).to_contain_text("The tracker's own account")
