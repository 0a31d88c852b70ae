"""A member logs in with a real browser and sees the project's runs and cases."""

import pytest

from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, TestResultFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_member_sees_project_runs_and_cases(page, log_in):
    result = TestResultFactory(run__name="Nightly", case__title="Pay with card")
    membership = MembershipFactory(project=result.run.project, role=Role.VIEWER)
    log_in(membership.user)
    page.click(f"text={result.run.project.key}")
    assert page.locator("h1").inner_text().startswith(result.run.project.name)
    assert "1 failed" in page.locator("#runs").inner_text()
    assert "Pay with card" in page.locator("#cases").inner_text()


def test_outsider_gets_404_for_another_project(page, log_in):
    other = ProjectFactory(key="SECRET")
    membership = MembershipFactory(role=Role.MEMBER)
    log_in(membership.user)
    response = page.goto(f"/projects/{other.key}/")
    assert response.status == 404
    assert "SECRET" not in page.content()
