"""The field mappings page of a project integration (Trackers › Field mappings): a select per field the
tracker reports, constants from its allowed values, placeholders checked, errors next to the field and
nothing saved, required fields left unmapped flagged, the saved mappings shown when the tracker is down.
Project admins only. Against the fake Jira Cloud over real HTTP."""

import pytest
from django.urls import reverse

from integrations.models import ProjectIntegration
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.issues.filing_support import jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def jira(fake_jira_cloud, project):
    return jira_world(fake_jira_cloud, project, test_issue_type="Task")


@pytest.fixture
def admin(client, project):
    client.force_login(MembershipFactory(project=project, role=Role.ADMIN).user)
    return client


def url(jira):
    return reverse("integrations:field_mappings", args=["SHOP", jira.integration.pk])


def submitted(response) -> dict:
    """What a browser submits: every field of the form as rendered."""
    values = {}
    for field in response.context["form"]:
        value = field.value()
        if value not in (None, [], ""):
            values[field.html_name] = value
    return values


def test_each_field_gets_a_source_select_and_the_trackers_values(admin, jira):
    response = admin.get(url(jira))
    assert response.status_code == 200
    form = response.context["form"]
    environment = form.fields[f"defect__{jira.environment}__constant"]
    assert [value for value, _ in environment.choices] == ["", "Staging", "Production"]
    assert [value for value, _ in form.fields[f"defect__{jira.environment}__source"].choices] == [
        "unset",
        "constant",
        "value",
    ]
    assert f"test_case__{jira.environment}__source" not in form.fields  # a Task has no Environment
    assert "Required and not mapped: Environment" in response.text
    assert '<option value="{case.steps}">' in response.text


def test_a_project_admin_saves_constants_and_values(admin, jira):
    values = submitted(admin.get(url(jira)))
    values |= {
        f"defect__{jira.environment}__source": "constant",
        f"defect__{jira.environment}__constant": "Production",
        "defect__labels__source": "value",
        "defect__labels__value": "{run.name}",
        "test_case__issue_type": "Task",
        "severity": "S1 = blocker",
    }
    response = admin.post(url(jira), values, follow=True)
    assert "are saved" in response.text
    saved = ProjectIntegration.objects.get(pk=jira.integration.pk).field_mappings
    assert saved["defect"]["fields"] == {
        jira.environment: {"source": "constant", "value": "Production"},
        "labels": {"source": "value", "value": "{run.name}"},
    }
    assert saved["severity"] == {"S1": "blocker"}
    assert "Required and not mapped" not in response.text


def test_an_unknown_placeholder_is_shown_next_to_its_field_and_nothing_is_saved(admin, jira):
    values = submitted(admin.get(url(jira)))
    values |= {"defect__labels__source": "value", "defect__labels__value": "{case.colour}"}
    response = admin.post(url(jira), values)
    assert response.status_code == 200
    assert "{case.colour} is not a placeholder" in str(response.context["form"]["defect__labels__source"].errors)
    assert ProjectIntegration.objects.get(pk=jira.integration.pk).field_mappings == {}


def test_the_saved_mappings_are_shown_when_the_tracker_is_down(admin, jira):
    jira.integration.field_mappings = {"defect": {"fields": {"labels": {"source": "value", "value": "{run.name}"}}}}
    jira.integration.save()
    jira.fake.server.stop()
    response = admin.get(url(jira))
    assert response.status_code == 200
    assert "could not be read from Acme Jira" in response.text
    assert response.context["form"]["defect__labels__value"].value() == "{run.name}"


@pytest.mark.parametrize(("role", "answer"), [(Role.MEMBER, 403), (Role.VIEWER, 403)])
def test_only_project_admins_edit_the_mappings(client, project, jira, role, answer):
    client.force_login(MembershipFactory(project=project, role=role).user)
    assert client.get(url(jira)).status_code == answer


def test_outsiders_get_not_found(client, jira):
    client.force_login(UserFactory())
    assert client.get(url(jira)).status_code == 404


class AdminTests:
    def test_administrators_edit_the_mappings_in_the_admin_with_the_same_form(self, client, jira):
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
        admin_url = reverse("admin:integrations_projectintegration_field_mappings", args=[jira.integration.pk])
        assert "Edit field mappings" in client.get(reverse("admin:integrations_projectintegration_changelist")).text
        values = submitted(client.get(admin_url))
        values |= {
            f"defect__{jira.environment}__source": "constant",
            f"defect__{jira.environment}__constant": "Staging",
        }
        response = client.post(admin_url, values, follow=True)
        assert "are saved" in response.text
        saved = ProjectIntegration.objects.get(pk=jira.integration.pk).field_mappings
        assert saved["defect"]["fields"] == {jira.environment: {"source": "constant", "value": "Staging"}}

    def test_staff_who_do_not_administer_integrations_are_refused(self, client, jira):
        client.force_login(UserFactory(is_staff=True))
        admin_url = reverse("admin:integrations_projectintegration_field_mappings", args=[jira.integration.pk])
        assert client.get(admin_url).status_code == 403
