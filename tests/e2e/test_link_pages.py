"""An artefact with many linked issues, in a real browser (issue 21): the test case page shows the
counts by status of all its links and pages through them with plain links a keyboard reaches, every
link once, and stays free of serious or critical axe findings."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from issues.links.models import Link
from projects.models import Role
from tests.e2e.test_accessibility import _blocking
from tests.factories import MembershipFactory, ProjectFactory, TestCaseFactory, link_many

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_a_member_pages_through_120_linked_issues_by_keyboard_and_sees_their_counts(page, log_in):
    project = ProjectFactory(key="SHOP", name="Web shop")
    member = MembershipFactory(project=project, role=Role.MEMBER).user
    case = TestCaseFactory(project=project, title="Checkout")
    link_many(case, 120, synced=timezone.now())  # fresh: the page asks no tracker
    log_in(member)

    page.goto(f"/projects/SHOP/cases/{case.pk}/")

    counts = page.locator("#linked-issue-counts")
    expect(counts).to_contain_text("120 linked issues:")
    expect(counts.locator('[data-category="done"]')).to_have_text("36 done")
    expect(counts.locator('[data-category="todo"]')).to_have_text("30 to do")
    expect(counts.locator('[data-category="in_progress"]')).to_have_text("30 in progress")
    expect(counts.locator('[data-category="unknown"]')).to_have_text("24 unknown")
    assert _blocking(Axe().run(page).response["violations"]) == []

    seen = []
    for number in (1, 2, 3):
        expect(page.locator("#linked-issues-pages")).to_contain_text(f"page {number} of 3")
        seen += [
            int(row.get_attribute("id").removeprefix("link-"))
            for row in page.locator("#linked-issues-table tbody tr").all()
        ]
        if number < 3:
            page.locator('#linked-issues-pages a[rel="next"]').focus()
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(rf"links_page={number + 1}"))

    assert sorted(seen) == sorted(Link.objects.filter(test_case=case).values_list("pk", flat=True))
    expect(page.locator('#linked-issues-pages a[rel="next"]')).to_have_count(0)
    expect(counts).to_contain_text("120 linked issues:")  # every page counts all of them
    page.locator('#linked-issues-pages a[rel="prev"]').click()
    page.wait_for_url(re.compile(r"links_page=2"))
