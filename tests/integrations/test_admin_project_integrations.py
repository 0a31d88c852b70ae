"""The admin's project-integration form: a site admin assigns a source to a project, or changes where it
points, choosing from the tracker's lists (the admin's tracker-options view) and checked against the
tracker (the Jira fake, over real HTTP) like the project's Trackers page: an unknown project or issue type
is a form error naming the field and saves nothing; a tracker that cannot be asked saves it as not
verified, said in a warning."""

import html

import pytest
from django.urls import reverse

from integrations.models import AuditAction, AuditEvent, ProjectIntegration
from tests.factories import ProjectFactory, UserFactory
from tests.issues.sync_support import jira_cloud_source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]

ADD = reverse("admin:integrations_projectintegration_add")
OPTIONS = reverse("admin:integrations_projectintegration_tracker_options")


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP", "Web shop", issue_types=("Bug", "Task"))
    fake_jira_cloud.board = fake_jira_cloud.add_board("SHOP", "Shop board")
    fake_jira_cloud.source = jira_cloud_source(fake_jira_cloud)
    return fake_jira_cloud


def add(client, project, source, **fields):
    data = {"project": project.pk, "source": source.pk, "external_project": "SHOP", "default_issue_type": "Bug"}
    return client.post(ADD, {**data, **fields})


def errors(response):
    assert response.status_code == 200, "the form was expected to be refused"
    return response.context["adminform"].form.errors


def test_the_form_marks_its_pickers_and_loads_the_script(admin_client, project, jira):
    page = admin_client.get(ADD).content.decode()
    assert 'data-pick="projects"' in page and 'data-pick="boards"' in page and 'data-pick="issue_types"' in page
    assert f'data-options-url="{OPTIONS}"' in page
    assert "integrations/tracker_pickers.js" in page


def test_a_site_admin_assigns_a_source_the_tracker_confirms(admin_client, project, jira):
    response = add(admin_client, project, jira.source, board=str(jira.board), test_issue_type="Task")
    assert response.status_code == 302
    integration = ProjectIntegration.objects.get()
    assert (integration.external_project, integration.default_issue_type, integration.board) == (
        "SHOP",
        "Bug",
        str(jira.board),
    )
    assert integration.verification_state == "verified"
    assert AuditEvent.objects.get().action == AuditAction.PROJECT_ASSIGNED


def test_an_unknown_project_is_a_form_error_and_nothing_is_saved(admin_client, project, jira):
    assert "NOPE" in " ".join(
        errors(add(admin_client, project, jira.source, external_project="NOPE"))["external_project"]
    )
    assert not ProjectIntegration.objects.exists() and not AuditEvent.objects.exists()


def test_an_unknown_issue_type_is_a_form_error_and_nothing_is_saved(admin_client, project, jira):
    problems = errors(add(admin_client, project, jira.source, default_issue_type="Epic"))
    assert "Epic" in " ".join(problems["default_issue_type"])
    assert not ProjectIntegration.objects.exists()


def test_a_tracker_that_is_down_saves_it_not_verified_with_a_warning(admin_client, project, jira):
    jira.server.stop()
    response = admin_client.get(add(admin_client, project, jira.source).url)
    integration = ProjectIntegration.objects.get()
    assert integration.unverified
    assert "saved but not verified" in html.unescape(response.content.decode())


def test_changing_to_an_unknown_issue_type_is_refused_and_nothing_changes(admin_client, project, jira):
    add(admin_client, project, jira.source)
    integration = ProjectIntegration.objects.get()
    url = reverse("admin:integrations_projectintegration_change", args=[integration.pk])
    data = {"external_project": "SHOP", "default_issue_type": "Epic", "test_issue_type": "", "board": ""}
    assert "default_issue_type" in errors(admin_client.post(url, {**data, "description": "x"}))
    integration.refresh_from_db()
    assert integration.default_issue_type == "Bug"
    assert admin_client.post(url, {**data, "default_issue_type": "Task", "description": "x"}).status_code == 302
    integration.refresh_from_db()
    assert (integration.default_issue_type, integration.description) == ("Task", "x")


def test_the_options_view_lists_the_trackers_projects_for_the_chosen_project(admin_client, project, jira):
    body = admin_client.get(OPTIONS, {"at": project.pk, "source": jira.source.pk, "kind": "projects"}).json()
    assert body["listable"] is True and [option["value"] for option in body["options"]] == ["SHOP"]
    response = admin_client.get(OPTIONS, {"source": jira.source.pk, "kind": "projects"})
    assert response.status_code == 400 and "at" in response.json()["errors"]


def test_staff_who_do_not_administer_integrations_are_refused(client, project, jira):
    client.force_login(UserFactory(is_staff=True))
    response = client.get(OPTIONS, {"at": project.pk, "source": jira.source.pk, "kind": "projects"})
    assert response.status_code == 403
    assert client.get(ADD).status_code == 403
