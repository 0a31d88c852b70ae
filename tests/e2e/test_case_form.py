"""The test case form in Chromium: steps are (action, expected) rows, and more can be added."""

import pytest
from playwright.sync_api import expect

from projects.models import Role, TestCase
from tests.factories import MembershipFactory, ProjectFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(project):
    return MembershipFactory(project=project, role=Role.MEMBER).user


def test_steps_are_added_as_pairs_on_the_case_form(page, log_in, project, member):
    log_in(member)
    page.goto("/projects/SHOP/cases/new/")
    page.fill("#id_title", "Pay by card")
    for index in range(4):  # one more than the empty rows the page starts with
        if index == 3:
            page.get_by_role("button", name="Add step").click()
        page.fill(f"#id_steps-{index}-action", f"Action {index + 1}")
        page.fill(f"#id_steps-{index}-expected", f"Expected {index + 1}")
    page.get_by_role("button", name="Create test case").click()

    expect(page.locator("table#steps tbody tr")).to_have_count(4)
    assert TestCase.objects.get().steps[3] == {"action": "Action 4", "expected": "Expected 4"}
