"""Syncing a test case with the fake Jira Cloud in a real browser: "Sync with Acme Jira" creates the
case's issue, editing the case and syncing again edits that same issue (one remote issue, updated),
and "Refresh SHOP-1" brings its status and comments to the case page. A project admin maps fields on
the Trackers page: a wrong placeholder is shown next to its field, a right one is saved. axe finds
nothing wrong in either part of the page."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, TestCaseFactory
from tests.issues.filing_support import jira_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.e2e,
    pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache"),
]


def test_syncing_a_test_case_twice_leaves_one_jira_issue_updated(page, log_in, fake_jira_cloud):
    project = ProjectFactory(key="SHOP", name="Web shop")
    member = MembershipFactory(project=project, role=Role.MEMBER).user
    jira = jira_world(fake_jira_cloud, project, test_issue_type="Task")
    case = TestCaseFactory(
        project=project, title="Pay with card", steps=[{"action": "Open the cart", "expected": "Paid"}]
    )
    log_in(member)

    page.goto(f"/projects/SHOP/cases/{case.pk}/")
    trackers = page.locator("#case-trackers")
    expect(trackers).to_contain_text("Not synced yet")
    page.get_by_role("button", name="Sync with Acme Jira").click()
    expect(page.get_by_text("SHOP-1 is created in Acme Jira.")).to_be_visible()
    expect(trackers.locator(".synced-key")).to_have_text("SHOP-1")
    expect(trackers.locator(".synced-status")).to_have_text("To Do")
    assert jira.only_issue().issue_type.name == "Task"

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Title").fill("Pay with a saved card")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Sync with Acme Jira").click()

    expect(page.get_by_text("SHOP-1 is updated in Acme Jira.")).to_be_visible()
    assert len(jira.creates()) == 1
    assert jira.only_issue().summary == "Pay with a saved card"

    fake_jira_cloud.add_user("qa@example.com", display_name="Quinn QA")
    fake_jira_cloud.add_comment("SHOP-1", "Add a step for 3-D Secure", author="qa@example.com")
    fake_jira_cloud.edit_issue("SHOP-1", status="In Progress")
    page.get_by_role("button", name="Refresh SHOP-1").click()
    expect(trackers.locator(".synced-status")).to_have_text("In Progress")
    trackers.get_by_text("1 comment on SHOP-1").click()
    expect(trackers).to_contain_text("Add a step for 3-D Secure")
    assert violations(page, "#case-trackers") == []


def violations(page, selector: str) -> list:
    """What axe finds wrong inside ``selector`` (the part of the page this feature adds)."""
    found = Axe().run(page, context=selector).response["violations"]
    return [(violation["id"], [node["target"] for node in violation["nodes"]]) for violation in found]


def test_a_project_admin_maps_a_field_on_the_trackers_page(page, log_in, fake_jira_cloud):
    project = ProjectFactory(key="SHOP", name="Web shop")
    admin = MembershipFactory(project=project, role=Role.ADMIN).user
    jira = jira_world(fake_jira_cloud, project, test_issue_type="Task")
    log_in(admin)

    page.goto("/projects/SHOP/integrations/")
    page.get_by_role("link", name="Field mappings").click()
    expect(page.locator("#unmapped-defect")).to_contain_text("Environment")
    assert violations(page, "#field-mappings") == []
    page.get_by_label("Environment: source").first.select_option("constant")
    page.get_by_label("Environment: constant").first.select_option("Production")
    page.get_by_label("Labels: source").first.select_option("value")
    page.get_by_label("Labels: value").first.fill("{case.colour}")
    page.get_by_role("button", name="Save the field mappings").click()
    expect(page.locator("#field-mappings")).to_contain_text("{case.colour} is not a placeholder")

    page.get_by_label("Labels: value").first.fill("{run.name}")
    page.get_by_role("button", name="Save the field mappings").click()
    expect(page.get_by_text("are saved")).to_be_visible()
    expect(page.locator("#unmapped-defect")).to_have_count(0)
    jira.integration.refresh_from_db()
    assert jira.integration.field_mappings["defect"]["fields"][jira.environment]["value"] == "Production"
