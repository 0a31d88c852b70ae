"""The test case page lists the requirements it covers and adds or removes coverage."""

import pytest
from django.urls import reverse

from issues.pulls.models import Coverage
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, RequirementFactory, TestCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def case(project):
    return TestCaseFactory(project=project, title="Pay by card")


def logged_in(client, project, role):
    user = MembershipFactory(project=project, role=role).user
    client.force_login(user)
    return user


def cover_url(case):
    return reverse("traceability:case_coverage", args=[case.project.key, case.pk])


def case_url(case):
    return reverse("projects:case", args=[case.project.key, case.pk])


def test_a_member_adds_and_removes_coverage_from_the_case_page(client, project, case):
    logged_in(client, project, Role.MEMBER)
    payments = RequirementFactory(project=project, title="Cards are accepted")
    RequirementFactory(project=project, title="Refunds")
    page = client.get(case_url(case))
    assert "This case covers no requirement yet." in page.text
    assert '<label for="id_cover_requirement">Covers requirement</label>' in page.text

    added = client.post(cover_url(case), {"requirement": payments.pk})

    assert added["Location"] == f"{case_url(case)}#covered-requirements"
    assert list(Coverage.objects.values_list("requirement", "test_case")) == [(payments.pk, case.pk)]
    section = client.get(case_url(case)).text.split('id="covered-requirements"')[1].split("</section>")[0]
    assert "Cards are accepted" in section and 'aria-label="Stop covering Cards are accepted"' in section
    # The requirement's own page lists the case too: one coverage, both sides.
    requirement_page = client.get(reverse("projects:requirement", args=["SHOP", payments.pk])).text
    assert "Pay by card" in requirement_page

    client.post(cover_url(case), {"requirement": payments.pk, "remove": "on"})
    assert not Coverage.objects.exists()


def test_viewers_see_the_coverage_but_cannot_change_it(client, project, case):
    requirement = RequirementFactory(project=project, title="Cards are accepted")
    Coverage.objects.create(project=project, requirement=requirement, test_case=case)
    logged_in(client, project, Role.VIEWER)

    page = client.get(case_url(case)).text
    assert "Cards are accepted" in page and "Add coverage" not in page and "Stop covering" not in page
    assert client.post(cover_url(case), {"requirement": requirement.pk, "remove": "on"}).status_code == 403
    assert Coverage.objects.count() == 1


def test_another_projects_requirement_or_case_answers_404(client, project, case):
    logged_in(client, project, Role.MEMBER)
    elsewhere = RequirementFactory(project=ProjectFactory(key="BANK"))
    assert client.post(cover_url(case), {"requirement": elsewhere.pk}).status_code == 404
    other_case = TestCaseFactory(project=elsewhere.project)
    assert client.post(cover_url(other_case), {"requirement": elsewhere.pk}).status_code == 404
    assert not Coverage.objects.exists()


def test_an_outsider_learns_nothing(client, project, case):
    requirement = RequirementFactory(project=project)
    client.force_login(UserFactory())
    assert client.post(cover_url(case), {"requirement": requirement.pk}).status_code == 404
    assert not Coverage.objects.exists()


def test_no_requirement_chosen_is_reported_and_changes_nothing(client, project, case):
    logged_in(client, project, Role.MEMBER)
    response = client.post(cover_url(case), {"requirement": "many"}, follow=True)
    assert "Choose a requirement." in response.text
    assert not Coverage.objects.exists()
