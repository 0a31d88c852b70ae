"""REST API of project integrations and connection tests."""

import pytest
from rest_framework.test import APIClient

from integrations import mappings
from integrations.models import AuditAction, AuditEvent, Health, IntegrationState, ProjectIntegration
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def jira():
    return SourceFactory(name="Acme Jira")


def api_as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def as_role(project):
    def as_role(role):
        if role == "outsider":
            return api_as(UserFactory())
        if role == "system_admin":
            return api_as(UserFactory(is_staff=True, is_superuser=True))
        return api_as(MembershipFactory(project=project, role=role).user)

    return as_role


def url(project_ref="SHOP", pk=None):
    return f"/api/projects/{project_ref}/integrations" + (f"/{pk}" if pk else "")


def test_a_project_admin_assigns_a_source_with_default_mappings(as_role, project, jira):
    response = as_role(Role.ADMIN).post(
        url(),
        {"source": jira.pk, "external_project": "SHOP", "default_issue_type": "Bug", "is_primary": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["project"] == "SHOP" and body["source"] == jira.pk and body["source_name"] == "Acme Jira"
    assert (body["provider"], body["state"], body["is_primary"]) == ("jira_cloud", "active", True)
    assert body["priority_mapping"] == mappings.default_priority_mapping()
    assert body["status_mapping"] == mappings.default_status_mapping()
    assert AuditEvent.objects.get().action == AuditAction.PROJECT_ASSIGNED


def test_the_list_is_readable_by_members_and_accepts_the_project_id(as_role, project, jira):
    integration = ProjectIntegrationFactory(project=project, source=jira)
    ProjectIntegrationFactory()  # another project's
    for reference in ("SHOP", str(project.pk)):
        response = as_role(Role.VIEWER).get(url(reference))
        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [integration.pk]


@pytest.mark.parametrize(
    "payload,field,message",
    [
        ({"external_project": "shop"}, "external_project", "shop is not a valid Jira project key, e.g. SHOP."),
        (
            {"priority_mapping": {"High": {"requirement": "P7", "defect": "major"}}},
            "priority_mapping",
            "High: “P7” is not a requirement priority",
        ),
        ({"status_mapping": {"open": "To Do"}}, "status_mapping", "open: list at least one tracker status."),
        ({"state": "archived"}, "state", "A new assignment starts active."),
    ],
)
def test_bad_input_answers_400_with_the_field_and_saves_nothing(as_role, project, jira, payload, field, message):
    response = as_role(Role.ADMIN).post(
        url(), {"source": jira.pk, "external_project": "SHOP", **payload}, format="json"
    )
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"][field])
    assert not ProjectIntegration.objects.exists() and not AuditEvent.objects.exists()


def test_a_source_the_project_may_not_use_is_refused_like_a_missing_one(as_role, project):
    hidden = SourceFactory(all_projects=False)
    for source_id in (hidden.pk, hidden.pk + 1000):
        response = as_role(Role.ADMIN).post(url(), {"source": source_id, "external_project": "SHOP"}, format="json")
        assert response.status_code == 400
        assert response.json()["errors"]["source"] == ["No enabled source with this id is available to the project."]


def test_put_changes_fields_and_state(as_role, project, jira):
    integration = ProjectIntegrationFactory(project=project, source=jira, is_primary=True)
    api = as_role(Role.ADMIN)
    response = api.put(url(pk=integration.pk), {"external_project": "OPS", "default_issue_type": "Task"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["external_project"], response.json()["default_issue_type"]) == ("OPS", "Task")
    response = api.put(url(pk=integration.pk), {"external_project": "OPS", "state": "archived"}, format="json")
    assert (response.json()["state"], response.json()["is_primary"]) == ("archived", False)
    response = api.put(url(pk=integration.pk), {"external_project": "OPS", "state": "disconnected"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["state"] == ["The integration is archived; it cannot become disconnected."]
    response = api.put(url(pk=integration.pk), {"external_project": "OPS", "state": "active"}, format="json")
    assert response.json()["state"] == "active"


def test_put_is_all_or_nothing(as_role, project, jira):
    integration = ProjectIntegrationFactory(project=project, source=jira)
    response = as_role(Role.ADMIN).put(
        url(pk=integration.pk), {"state": "archived", "is_primary": True, "external_project": "SHOP"}, format="json"
    )
    assert response.status_code == 400
    assert ProjectIntegration.objects.get().state == IntegrationState.ACTIVE
    assert not AuditEvent.objects.exists()


def test_the_source_of_an_assignment_cannot_change(as_role, project, jira):
    integration = ProjectIntegrationFactory(project=project, source=jira)
    response = as_role(Role.ADMIN).put(url(pk=integration.pk), {"source": SourceFactory().pk}, format="json")
    assert response.status_code == 400
    assert "cannot change" in response.json()["errors"]["source"][0]


def test_delete_removes_the_assignment(as_role, project, jira):
    integration = ProjectIntegrationFactory(project=project, source=jira)
    assert as_role(Role.ADMIN).delete(url(pk=integration.pk)).status_code == 204
    assert not ProjectIntegration.objects.exists()
    assert AuditEvent.objects.get().action == AuditAction.PROJECT_INTEGRATION_REMOVED


@pytest.mark.parametrize(
    "role,read,write",
    [
        (Role.VIEWER, 200, 403),
        (Role.MEMBER, 200, 403),
        (Role.ADMIN, 200, 200),
        ("outsider", 404, 404),
    ],
)
def test_who_may_read_and_change(as_role, project, jira, role, read, write):
    integration = ProjectIntegrationFactory(project=project, source=jira)
    api = as_role(role)
    assert api.get(url()).status_code == read
    assert api.get(url(pk=integration.pk)).status_code == read
    assert api.put(url(pk=integration.pk), {"board": "X"}, format="json").status_code == write
    expected_create = {200: 201}.get(write, write)
    response = api.post(url(), {"source": jira.pk, "external_project": "OPS"}, format="json")
    assert response.status_code == expected_create


def test_anonymous_callers_are_refused():
    ProjectFactory(key="SHOP")
    assert APIClient().get(url()).status_code in (401, 403)


def test_another_projects_integration_answers_404(as_role, jira):
    other = ProjectIntegrationFactory(project=ProjectFactory(key="OTHER"), source=jira)
    api = as_role(Role.ADMIN)
    assert api.get(url(pk=other.pk)).status_code == 404
    assert api.delete(url(pk=other.pk)).status_code == 404
    assert ProjectIntegration.objects.exists()


# --- Test connection ------------------------------------------------------------------


@pytest.fixture
def fake_source(fake_jira_cloud, settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    return SourceFactory(
        name="Fake Jira",
        base_url=fake_jira_cloud.base_url,
        allow_http=True,
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )


def test_a_system_admin_tests_a_source(as_role, fake_source):
    response = as_role("system_admin").post(
        "/api/integrations/test-connection", {"source": fake_source.pk}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["user"], body["code"]) == (True, f"Automation ({CLOUD_LOGIN})", "")
    assert body["message"].startswith("Signed in to Jira as Automation")
    fake_source.refresh_from_db()
    assert fake_source.health == Health.ACTIVE


def test_a_failed_test_says_why_without_the_secret(as_role, fake_source):
    fake_source.credentials = {"email": CLOUD_LOGIN, "api_token": "wrong-api-token-42"}
    fake_source.save()
    response = as_role("system_admin").post(
        "/api/integrations/test-connection", {"source": fake_source.pk}, format="json"
    )
    body = response.json()
    assert (response.status_code, body["ok"], body["code"]) == (200, False, "auth")
    assert "HTTP 401" in body["message"] and "wrong-api-token-42" not in response.content.decode()


def test_project_admins_test_their_projects_integration_only(as_role, project, fake_source):
    integration = ProjectIntegrationFactory(project=project, source=fake_source)
    admin = as_role(Role.ADMIN)
    assert (
        admin.post("/api/integrations/test-connection", {"project_integration": integration.pk}, format="json").json()[
            "ok"
        ]
        is True
    )
    assert admin.post("/api/integrations/test-connection", {"source": fake_source.pk}, format="json").status_code == 403
    other = ProjectIntegrationFactory(project=ProjectFactory(), source=fake_source, external_project="OPS")
    assert (
        admin.post("/api/integrations/test-connection", {"project_integration": other.pk}, format="json").status_code
        == 404
    )
    assert (
        as_role(Role.MEMBER)
        .post("/api/integrations/test-connection", {"project_integration": integration.pk}, format="json")
        .status_code
        == 403
    )


def test_test_connection_needs_exactly_one_target(as_role, fake_source):
    api = as_role("system_admin")
    for payload in ({}, {"source": fake_source.pk, "project_integration": 1}):
        response = api.post("/api/integrations/test-connection", payload, format="json")
        assert response.status_code == 400
        assert response.json()["message"].startswith("Give a source id, a project_integration id, or the fields")


def test_the_sync_options_are_read_and_written_through_the_api_label_sync_off_by_default(as_role, project, jira):
    api = as_role(Role.ADMIN)
    created = api.post(url(), {"source": jira.pk, "external_project": "SHOP"}, format="json").json()
    assert (created["sync_defects"], created["sync_labels"], created["sync_comments"]) == (False, False, False)

    response = api.put(
        url(pk=created["id"]), {"external_project": "SHOP", "sync_defects": True, "sync_labels": True}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["sync_defects"], response.json()["sync_labels"]) == (True, True)
    assert ProjectIntegration.objects.get().sync_labels is True
    other = api.post(
        url(), {"source": jira.pk, "external_project": "OPS", "sync_labels": True, "sync_defects": True}, format="json"
    )
    assert other.status_code == 201 and other.json()["sync_labels"] is True


def test_a_member_cannot_switch_label_sync_on(as_role, project, jira):
    integration = ProjectIntegrationFactory(project=project, source=jira)
    response = as_role(Role.MEMBER).put(url(pk=integration.pk), {"sync_labels": True}, format="json")
    assert response.status_code == 403
    assert ProjectIntegration.objects.get().sync_labels is False
