"""The requirement form: requirements are written and changed on a page (not only through the API or
a pull), with the Markdown editor and pasted screenshots; a pulled requirement keeps what its tracker owns."""

import pytest
from django.urls import reverse

from projects.models import Requirement, Role
from tests.factories import MembershipFactory, ProjectFactory, RequirementFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


def logged_in(client, project, role=Role.MEMBER):
    client.force_login(MembershipFactory(project=project, role=role).user)


def values(**changes):
    return {
        "title": "Pay by card",
        "folder": "Checkout",
        "description": "",
        "state": "active",
        "priority": "P1",
        **changes,
    }


def test_a_member_writes_a_requirement_on_a_page(client, project):
    logged_in(client, project)
    assert "New requirement" in client.get(reverse("projects:requirements", args=["SHOP"])).text

    response = client.post(reverse("projects:requirement_create", args=["SHOP"]), values(folder="/Checkout//Cards/"))

    requirement = Requirement.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "projects:requirement", args=["SHOP", requirement.pk]
    )
    assert (requirement.project, requirement.title, requirement.folder, requirement.state) == (
        project,
        "Pay by card",
        "Checkout/Cards",
        "active",
    )


def test_the_edit_page_changes_it_and_offers_the_editor_with_pasted_screenshots(client, project):
    requirement = RequirementFactory(project=project, title="Old")
    logged_in(client, project)
    url = reverse("projects:requirement_edit", args=["SHOP", requirement.pk])
    page = client.get(url).text
    assert "data-markdown-editor" in page
    upload = reverse("issues:artefact_attachment_add", args=["SHOP", "requirement", requirement.pk])
    assert f'<meta name="tm-attachment-upload" content="{upload}">' in page
    assert url in client.get(reverse("projects:requirement", args=["SHOP", requirement.pk])).text

    client.post(url, values(description="Cards **and** wallets"))

    requirement.refresh_from_db()
    assert (requirement.title, requirement.description) == ("Pay by card", "Cards **and** wallets")


def test_an_empty_title_is_refused_and_nothing_changes(client, project):
    requirement = RequirementFactory(project=project, title="Old")
    logged_in(client, project)
    response = client.post(reverse("projects:requirement_edit", args=["SHOP", requirement.pk]), values(title=""))
    assert response.status_code == 200 and response.context["form"].errors["title"]
    requirement.refresh_from_db()
    assert requirement.title == "Old"


def test_a_pulled_requirement_keeps_its_trackers_title_and_description(client, project):
    requirement = RequirementFactory(
        project=project,
        title="From Jira",
        description="Jira's text",
        origin_tracker="jira",
        origin_key="SHOP-7",
        origin_read_only=True,
    )
    logged_in(client, project)
    url = reverse("projects:requirement_edit", args=["SHOP", requirement.pk])
    assert "Kept in sync by jira." in client.get(url).text

    client.post(url, values(title="Mine", description="Mine", state="deprecated"))

    requirement.refresh_from_db()
    assert (requirement.title, requirement.description, requirement.state) == ("From Jira", "Jira's text", "deprecated")


@pytest.mark.parametrize(("role", "status"), [(Role.VIEWER, 403), (None, 404)])
def test_only_editors_of_the_project_may_write_requirements(client, project, role, status):
    requirement = RequirementFactory(project=project, title="Old")
    if role is None:
        client.force_login(MembershipFactory(project=ProjectFactory(key="CRM"), role=Role.ADMIN).user)
    else:
        logged_in(client, project, role)
    assert client.post(reverse("projects:requirement_edit", args=["SHOP", requirement.pk]), values()).status_code == (
        status
    )
    assert client.post(reverse("projects:requirement_create", args=["SHOP"]), values()).status_code == status
    requirement.refresh_from_db()
    assert requirement.title == "Old" and Requirement.objects.count() == 1


def test_another_projects_requirement_is_not_found_here(client, project):
    other = RequirementFactory(project=ProjectFactory(key="CRM"))
    logged_in(client, project)
    assert client.get(reverse("projects:requirement_edit", args=["SHOP", other.pk])).status_code == 404
    client.force_login(UserFactory())
    assert client.get(reverse("projects:requirement_create", args=["SHOP"])).status_code == 404
