"""Assigning a tracker in a real browser, against the fake Jira Cloud: a project admin picks the source,
then the Jira project, board and issue type from lists read from Jira, and saves; the choices arrive as
the tracker names them. Where Jira refuses to list, the field stays free text and says why. The pull
settings pick work item types, the severity field and the sprint field the same way."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from integrations.models import ProjectIntegration
from issues.pulls.models import BugPullSettings, PullSettings
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory
from tests.issues.sync_support import jira_cloud_source

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.e2e,
    pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache"),
]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def project_admin(project):
    return MembershipFactory(project=project, role=Role.ADMIN).user


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP", "Web shop", issue_types=("Bug", "Task", "Story"))
    fake_jira_cloud.add_project("OPS", "Operations", issue_types=("Incident", "Task"))
    fake_jira_cloud.shop_board = fake_jira_cloud.add_board("SHOP", "Shop scrum board")
    fake_jira_cloud.add_board("OPS", "Ops kanban", board_type="kanban")
    fake_jira_cloud.source = jira_cloud_source(fake_jira_cloud, name="Acme Jira")
    return fake_jira_cloud


def serious_findings(page):
    return [
        violation["id"]
        for violation in Axe().run(page).response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_an_admin_assigns_a_jira_source_by_picking_project_board_and_issue_type(page, log_in, project_admin, jira):
    log_in(project_admin)
    page.goto("/projects/SHOP/integrations/new/")
    page.select_option("#id_source", label="Acme Jira (Jira Cloud)")

    projects = page.locator("#id_external_project_choice")
    expect(projects).to_be_visible()
    expect(page.locator("#id_external_project")).to_be_hidden()
    expect(projects.locator("option")).to_have_text(["— choose —", "Web shop (SHOP)", "Operations (OPS)"])
    # Before a project is chosen, boards and types wait for it.
    expect(page.locator("#id_board_note")).to_contain_text("Choose the external project first")

    projects.select_option("SHOP")
    boards = page.locator("#id_board_choice")
    expect(boards.locator("option")).to_have_text(["— none —", f"Shop scrum board ({jira.shop_board})"])
    boards.select_option(str(jira.shop_board))
    types = page.locator("#id_default_issue_type_choice")
    expect(types.locator("option")).to_have_text(["— none —", "Bug", "Task", "Story"])
    types.select_option("Bug")
    assert serious_findings(page) == []

    page.click("form.integration button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Acme Jira is assigned to SHOP")
    integration = ProjectIntegration.objects.get()
    assert (integration.external_project, integration.board, integration.default_issue_type) == (
        "SHOP",
        str(jira.shop_board),
        "Bug",
    )
    assert integration.verification_state == "verified"


def test_choosing_another_project_reloads_its_issue_types(page, log_in, project_admin, jira):
    log_in(project_admin)
    page.goto("/projects/SHOP/integrations/new/")
    page.select_option("#id_source", label="Acme Jira (Jira Cloud)")
    page.locator("#id_external_project_choice").select_option("OPS")
    expect(page.locator("#id_default_issue_type_choice option")).to_have_text(["— none —", "Incident", "Task"])


def test_where_jira_refuses_to_list_the_field_stays_text_and_says_why(page, log_in, project_admin, jira):
    jira.fail_next(
        403, {"errorMessages": ["You do not have permission to browse projects."]}, path=r".*project/search", count=10
    )
    log_in(project_admin)
    page.goto("/projects/SHOP/integrations/new/")
    page.select_option("#id_source", label="Acme Jira (Jira Cloud)")
    expect(page.locator("#id_external_project_note")).to_contain_text("permission")
    expect(page.locator("#id_external_project")).to_be_visible()
    page.fill("#id_external_project", "SHOP")
    page.locator("#id_external_project").dispatch_event("change")
    expect(page.locator("#id_default_issue_type_choice")).to_be_visible()


def test_pull_settings_pick_the_work_item_types_and_the_severity_and_sprint_fields(
    page, log_in, project, project_admin, jira
):
    jira.add_issue_type("SHOP", "Epic")
    severity = jira.add_field("SHOP", "Bug", "Severity", "select", options=("S1", "S2"))
    sprint = jira.add_sprint_field("SHOP", "Story")
    integration = ProjectIntegration.objects.create(
        project=project,
        source=jira.source,
        external_project="SHOP",
        default_issue_type="Bug",
    )
    log_in(project_admin)
    page.goto(f"/projects/SHOP/requirement-pulls/{integration.pk}/")
    page.check("#id_pull_requirements")  # a pull switched off hides its settings
    page.check("#id_pull_bugs")

    types = page.locator("#id_requirement_types_choice")
    expect(types.locator("option")).to_have_text(["Bug", "Task", "Story", "Epic"])
    types.select_option(["Story", "Epic"])
    expect(page.locator("#id_requirement_types")).to_have_value("Story, Epic")
    page.locator("#id_severity_field_choice").select_option(severity.field_id)
    page.locator("#id_bug_types_choice").select_option(["Bug"])
    # The sprint field is a field of the requirement's type (Story), read once the types are saved.
    page.click("#pull-settings button[type=submit]")
    expect(page.locator(".messages")).to_be_visible()
    expect(page.locator("#id_sprint_field_choice")).to_contain_text("Sprint")
    page.locator("#id_sprint_field_choice").select_option(sprint.field_id)
    page.click("#pull-settings button[type=submit]")
    expect(page.locator(".messages")).to_be_visible()

    settings = PullSettings.objects.get(integration=integration)
    bug_settings = BugPullSettings.objects.get(integration=integration)
    assert settings.requirement_types == ["Story", "Epic"] and settings.sprint_field == sprint.field_id
    assert bug_settings.severity_field == severity.field_id and bug_settings.bug_types == ["Bug"]
    assert serious_findings(page) == []
