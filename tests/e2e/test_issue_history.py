"""An issue's history in a real browser: two edits on the edit form are two entries, newest first,
each with the field's old and new value and the member who made it."""

import pytest
from playwright.sync_api import expect

from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, make_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_editing_an_issue_twice_shows_two_history_entries(page, log_in):
    project = ProjectFactory(key="SHOP", name="Web shop")
    member = MembershipFactory(project=project, role=Role.MEMBER, user__username="mia").user
    make_issue(project, name="Checkout fails", reporter=member)
    log_in(member)

    page.goto("/projects/SHOP/issues/1/edit/")
    page.select_option("#id_status", "in_progress")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Edit").click()
    page.fill("#id_name", "Checkout fails on Safari")
    page.select_option("#id_priority", "critical")
    page.get_by_role("button", name="Save").click()

    entries = page.locator("#history .history-entry")
    expect(entries).to_have_count(3)
    newest, older = entries.nth(0), entries.nth(1)
    expect(newest).to_contain_text("mia")
    expect(newest.locator("[data-field=name]")).to_have_text(
        "Title: Checkout fails → changed to Checkout fails on Safari"
    )
    expect(newest.locator("[data-field=priority]")).to_have_text("Priority: Major → changed to Critical")
    expect(older).to_contain_text("mia")
    expect(older.locator("[data-field=status]")).to_have_text("Status: Open → changed to In progress")
    expect(entries.nth(2)).to_contain_text("created")
    expect(page.locator("#issue-facts")).to_contain_text("Critical")
