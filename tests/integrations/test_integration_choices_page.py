"""The project's Trackers connect/edit form checks the choices against the tracker (the Jira fake, over real
HTTP): an unknown project or issue type is a form error on that field and saves nothing; a tracker that
cannot be asked saves the integration as not verified, which the Trackers page shows with the reason and a
"Check again" action."""

import html

import pytest
from django.urls import reverse

from integrations import mappings
from integrations.models import ProjectIntegration
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory
from tests.issues.sync_support import jira_cloud_source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def admin_client(client, project):
    client.force_login(MembershipFactory(project=project, role=Role.ADMIN).user)
    return client


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP", "Web shop", issue_types=("Bug", "Task"))
    fake_jira_cloud.source = jira_cloud_source(fake_jira_cloud)
    return fake_jira_cloud


def assign(client, source, **fields):
    data = {
        "source": source.pk,
        "external_project": "SHOP",
        "default_issue_type": "Bug",
        "priority_mapping": mappings.priority_mapping_to_text(mappings.default_priority_mapping()),
        "status_mapping": mappings.status_mapping_to_text(mappings.default_status_mapping()),
        **fields,
    }
    return client.post(reverse("integrations:create", args=["SHOP"]), data)


def test_the_form_names_where_its_pickers_read_the_trackers_lists(admin_client, jira):
    page = admin_client.get(reverse("integrations:create", args=["SHOP"])).content.decode()
    assert 'data-options-url="/api/projects/SHOP/tracker-options"' in page
    assert "integrations/tracker_pickers.js" in page


def test_the_edit_form_names_its_source_for_the_pickers(admin_client, project, jira):
    integration = ProjectIntegration.objects.create(project=project, source=jira.source, external_project="SHOP")
    page = admin_client.get(reverse("integrations:edit", args=["SHOP", integration.pk])).content.decode()
    assert f'data-source="{jira.source.pk}"' in page
    assert 'data-pick="projects"' in page and 'data-pick="boards"' in page and 'data-pick="issue_types"' in page


def test_an_unknown_project_is_a_form_error_and_nothing_is_saved(admin_client, jira):
    response = assign(admin_client, jira.source, external_project="NOPE")
    assert response.status_code == 200
    assert "NOPE" in " ".join(response.context["form"].errors["external_project"])
    assert not ProjectIntegration.objects.exists()


def test_an_unknown_issue_type_is_a_form_error_and_nothing_is_saved(admin_client, jira):
    response = assign(admin_client, jira.source, default_issue_type="Epic")
    assert response.status_code == 200
    assert "Epic" in " ".join(response.context["form"].errors["default_issue_type"])
    assert not ProjectIntegration.objects.exists()


def test_a_tracker_that_is_down_saves_it_not_verified_and_check_again_verifies_it(admin_client, jira):
    jira.fail_next(503, {"errorMessages": ["Service unavailable"]}, count=20)
    response = assign(admin_client, jira.source)
    assert response.status_code == 302
    integration = ProjectIntegration.objects.get()
    assert integration.unverified and integration.verified_at is None
    page = html.unescape(admin_client.get(reverse("integrations:list", args=["SHOP"])).content.decode())
    assert "not verified" in page and integration.verification_error in page
    assert f'id="check-again-{integration.pk}"' in page

    jira._injected.clear()  # Jira answers again
    response = admin_client.post(reverse("integrations:check", args=["SHOP", integration.pk]), follow=True)
    assert "is verified" in html.unescape(response.content.decode())
    integration.refresh_from_db()
    assert not integration.unverified and integration.verified_at is not None
    assert (
        f'id="check-again-{integration.pk}"'
        not in admin_client.get(reverse("integrations:list", args=["SHOP"])).content.decode()
    )


def test_check_again_finding_the_project_gone_keeps_it_not_verified_with_the_reason(admin_client, jira):
    assign(admin_client, jira.source)
    integration = ProjectIntegration.objects.get()
    assert integration.verification_state == "verified"
    jira.forbid_project("SHOP")
    response = admin_client.post(reverse("integrations:check", args=["SHOP", integration.pk]), follow=True)
    assert "still not verified" in html.unescape(response.content.decode())
    integration.refresh_from_db()
    assert integration.unverified and "SHOP" in integration.verification_error


def test_only_the_projects_admins_check_again(client, project, jira):
    integration = ProjectIntegration.objects.create(project=project, source=jira.source, external_project="SHOP")
    member = MembershipFactory(project=project, role=Role.MEMBER).user
    client.force_login(member)
    assert client.post(reverse("integrations:check", args=["SHOP", integration.pk])).status_code == 403
    other = ProjectFactory(key="BANK")
    client.force_login(MembershipFactory(project=other, role=Role.ADMIN).user)
    assert client.post(reverse("integrations:check", args=["BANK", integration.pk])).status_code == 404
