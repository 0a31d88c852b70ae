"""Project admins keep the list of case types and the custom fields of their project's cases."""

import pytest
from django.urls import reverse

from projects.models import CaseField, CaseFieldKind, Role, TestCase
from tests.factories import MembershipFactory, ProjectFactory, TestCaseFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/projects/SHOP/cases/settings/"


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


def logged_in(client, project, role):
    client.force_login(MembershipFactory(project=project, role=role).user)


def test_an_admin_adds_a_type_and_a_select_field(client, project):
    logged_in(client, project, Role.ADMIN)
    assert "Types and custom fields" in client.get(reverse("projects:cases", args=["SHOP"])).text

    client.post(URL, {"action": "add_type", "name": "Exploratory"})
    client.post(
        URL,
        {"action": "add_field", "label": "Browser", "name": "browser", "kind": "select", "options": "Chrome, Firefox"},
    )

    assert project.case_types.filter(name="Exploratory").exists()
    field = CaseField.objects.get(project=project)
    assert (field.name, field.label, field.kind, field.options) == (
        "browser",
        "Browser",
        "select",
        ["Chrome", "Firefox"],
    )
    page = client.get(URL).text
    assert "Exploratory" in page and "<code>browser</code>" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "add_field", "label": "Browser", "name": "browser", "kind": "select"}, "needs at least one option"),
        ({"action": "add_field", "label": "Browser", "name": "two words", "kind": "text"}, "Enter a valid “slug”"),
        ({"action": "add_type", "name": "functional"}, "already has the case type “Functional”"),
        ({"action": "add_type", "name": "smoke and sanity"}, "already has the case type “Smoke &amp; Sanity”"),
        ({"action": "add_type", "name": "SMOKE  &  SANITY"}, "already has the case type “Smoke &amp; Sanity”"),
    ],
)
def test_refused_additions_say_why_and_change_nothing(client, project, data, message):
    logged_in(client, project, Role.ADMIN)
    types_before = project.case_types.count()
    response = client.post(URL, data)
    assert response.status_code == 200 and message in response.text
    assert not CaseField.objects.exists() and project.case_types.count() == types_before


def test_removing_a_field_removes_its_values_from_the_cases(client, project):
    logged_in(client, project, Role.ADMIN)
    field = CaseField.objects.create(project=project, name="browser", label="Browser", kind=CaseFieldKind.TEXT)
    case = TestCaseFactory(project=project, custom_fields={"browser": "Firefox"})

    response = client.post(URL, {"action": "remove_field", "pk": field.pk}, follow=True)

    assert "Custom field “Browser” removed with its values in 1 case(s)." in response.text
    case.refresh_from_db()
    assert case.custom_fields == {} and not CaseField.objects.exists()


def test_removing_a_type_leaves_its_cases_without_a_type(client, project):
    logged_in(client, project, Role.ADMIN)
    regression = project.case_types.get(name="Regression")
    case = TestCaseFactory(project=project, case_type=regression)
    client.post(URL, {"action": "remove_type", "pk": regression.pk})
    case.refresh_from_db()
    assert case.case_type is None and TestCase.objects.count() == 1


@pytest.mark.parametrize(("role", "status"), [(Role.MEMBER, 403), (Role.VIEWER, 403)])
def test_only_project_admins_may_change_them(client, project, role, status):
    logged_in(client, project, role)
    assert client.get(URL).status_code == status
    assert client.post(URL, {"action": "add_type", "name": "Exploratory"}).status_code == status
    assert not project.case_types.filter(name="Exploratory").exists()
    assert "Types and custom fields" not in client.get(reverse("projects:cases", args=["SHOP"])).text


def test_outsiders_and_other_projects_answer_404(client, project):
    client.force_login(UserFactory())
    assert client.get(URL).status_code == 404
    logged_in(client, project, Role.ADMIN)
    elsewhere = ProjectFactory(key="BANK").case_types.first()
    assert client.post(URL, {"action": "remove_type", "pk": elsewhere.pk}).status_code == 404
