"""Saving a project integration through the API checks the choices against the tracker (its fake, over real
HTTP): an external project, issue type or board the tracker does not have is a 400 naming the field and
saves nothing; a tracker that cannot be asked saves the integration as not verified, with the reason and
when it was checked."""

import pytest

from integrations.models import AuditEvent, ProjectIntegration
from tests.factories import ProjectIntegrationFactory
from tests.fakes.fixtures import ADO_LOGIN, GITHUB_LOGIN, GITLAB_USERNAME
from tests.issues.sync_support import (
    azure_devops_source,
    github_source,
    gitlab_source,
    jira_cloud_source,
    linear_source,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


URL = "/api/projects/SHOP/integrations"


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP", "Web shop", issue_types=("Bug", "Task"))
    fake_jira_cloud.board = fake_jira_cloud.add_board("SHOP", "Shop board")
    fake_jira_cloud.source = jira_cloud_source(fake_jira_cloud)
    return fake_jira_cloud


def assign(client, source, **fields):
    return client.post(URL, {"source": source.pk, **fields}, format="json")


def refused(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body["errors"], body
    assert not ProjectIntegration.objects.exists()
    assert not AuditEvent.objects.exists()
    return " ".join(body["errors"][field])


class AssignTests:
    def test_choices_the_tracker_has_are_saved_as_verified(self, client_as, jira):
        response = assign(
            client_as("admin"),
            jira.source,
            external_project="SHOP",
            default_issue_type="bug",
            test_issue_type="Task",
            board=str(jira.board),
        )
        assert response.status_code == 201, response.json()
        verification = response.json()["verification"]
        assert verification["state"] == "verified" and verification["reason"] == ""
        assert verification["verified_at"] and verification["checked_at"]

    def test_an_unknown_project_is_refused_naming_the_field(self, client_as, jira):
        message = refused(assign(client_as("admin"), jira.source, external_project="NOPE"), "external_project")
        assert "NOPE" in message

    def test_an_unknown_issue_type_is_refused_naming_the_field_and_what_is_offered(self, client_as, jira):
        response = assign(client_as("admin"), jira.source, external_project="SHOP", default_issue_type="Epic")
        message = refused(response, "default_issue_type")
        assert "Epic" in message and "Bug, Task" in message

    def test_an_unknown_test_issue_type_is_refused_where_the_tracker_types_issues(self, client_as, jira):
        response = assign(client_as("admin"), jira.source, external_project="SHOP", test_issue_type="Xray Test")
        refused(response, "test_issue_type")

    def test_an_unknown_board_is_refused(self, client_as, jira):
        response = assign(client_as("admin"), jira.source, external_project="SHOP", board="999")
        assert "Shop board" in refused(response, "board")

    def test_an_unknown_github_repository_is_refused(self, client_as, fake_github):
        fake_github.add_repo("acme/shop")
        fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
        source = github_source(fake_github)
        refused(assign(client_as("admin"), source, external_project="acme/nope"), "external_project")
        # GitHub issues have no types: a test "type" is a label, any word will do.
        response = assign(client_as("admin"), source, external_project="acme/shop", test_issue_type="test-case")
        assert response.status_code == 201 and response.json()["verification"]["state"] == "verified"

    def test_an_unknown_gitlab_project_is_refused_and_one_in_a_subgroup_is_found(self, client_as, fake_gitlab):
        fake_gitlab.add_project("acme/web/shop")
        fake_gitlab.add_member("acme/web/shop", GITLAB_USERNAME, 30)
        fake_gitlab.add_project("acme/private")  # the account is no member: it cannot see it
        source = gitlab_source(fake_gitlab)
        refused(assign(client_as("admin"), source, external_project="acme/private"), "external_project")
        response = assign(client_as("admin"), source, external_project="acme/web/shop")
        assert response.status_code == 201 and response.json()["verification"]["state"] == "verified"

    def test_an_unknown_azure_devops_project_or_work_item_type_is_refused(self, client_as, fake_azure_devops):
        fake_azure_devops.add_project("Shop", members={ADO_LOGIN: "write"})
        source = azure_devops_source(fake_azure_devops)
        refused(assign(client_as("admin"), source, external_project="Nope"), "external_project")
        response = assign(client_as("admin"), source, external_project="Shop", default_issue_type="Epic")
        assert "Bug" in refused(response, "default_issue_type")
        response = assign(client_as("admin"), source, external_project="Shop", default_issue_type="Bug")
        assert response.status_code == 201 and response.json()["verification"]["state"] == "verified"

    def test_an_unknown_linear_team_is_refused(self, client_as, fake_linear):
        fake_linear.add_team("SHOP", "Web shop")
        refused(assign(client_as("admin"), linear_source(fake_linear), external_project="NOPE"), "external_project")

    def test_a_404_from_the_trackers_own_api_is_no_unknown_project_but_not_verified(self, client_as, jira):
        # A wrong base URL (or a proxy in the way) answers 404 for the project search itself.
        jira.fail_next(404, "Not Found", path=r".*project/search", count=5)
        response = assign(client_as("admin"), jira.source, external_project="SHOP")
        assert response.status_code == 201, response.json()
        assert response.json()["verification"]["state"] == "not_verified"

    def test_a_tracker_that_is_down_saves_it_as_not_verified_with_the_reason(self, client_as, jira):
        jira.server.stop()
        response = assign(client_as("admin"), jira.source, external_project="SHOP", default_issue_type="Epic")
        assert response.status_code == 201, response.json()
        verification = response.json()["verification"]
        assert verification["state"] == "not_verified" and verification["reason"]
        assert verification["checked_at"] and verification["verified_at"] is None
        integration = ProjectIntegration.objects.get()
        assert integration.unverified and integration.verification_error == verification["reason"]
        assert AuditEvent.objects.get().details["verified"] is False


class EditTests:
    @pytest.fixture
    def integration(self, jira, world):
        return ProjectIntegrationFactory(project=world.project, source=jira.source, external_project="SHOP")

    def put(self, client, integration, **fields):
        return client.put(
            f"{URL}/{integration.pk}",
            {"external_project": "SHOP", "default_issue_type": "Bug", **fields},
            format="json",
        )

    def test_an_unknown_issue_type_is_refused_and_nothing_changes(self, client_as, jira, integration):
        response = self.put(client_as("admin"), integration, default_issue_type="Epic", description="changed")
        assert response.status_code == 400 and "default_issue_type" in response.json()["errors"]
        integration.refresh_from_db()
        assert (integration.default_issue_type, integration.description) == ("Bug", "")

    def test_an_unknown_project_is_refused(self, client_as, jira, integration):
        response = self.put(client_as("admin"), integration, external_project="NOPE")
        assert response.status_code == 400 and "external_project" in response.json()["errors"]
        integration.refresh_from_db()
        assert integration.external_project == "SHOP"

    def test_a_change_that_retargets_nothing_does_not_ask_the_tracker(self, client_as, jira, integration):
        before = len(jira.server.requests)
        assert self.put(client_as("admin"), integration, description="Checkout").status_code == 200
        assert len(jira.server.requests) == before

    def test_a_tracker_that_is_down_saves_the_change_as_not_verified(self, client_as, jira, integration):
        jira.server.stop()
        response = self.put(client_as("admin"), integration, default_issue_type="Task")
        assert response.status_code == 200 and response.json()["verification"]["state"] == "not_verified"
        integration.refresh_from_db()
        assert integration.default_issue_type == "Task" and integration.unverified


class CheckAgainTests:
    @pytest.fixture
    def integration(self, jira, world):
        return ProjectIntegrationFactory(
            project=world.project, source=jira.source, external_project="SHOP", verification_error="Jira was down."
        )

    def check(self, client, integration, project="SHOP"):
        return client.post(f"/api/projects/{project}/integrations/{integration.pk}/check")

    def test_checking_again_verifies_what_the_tracker_now_confirms(self, client_as, jira, integration):
        response = self.check(client_as("admin"), integration)
        assert response.status_code == 200 and response.json()["verification"]["state"] == "verified"
        integration.refresh_from_db()
        assert not integration.unverified and integration.verified_at

    def test_checking_again_keeps_it_not_verified_when_the_project_is_gone(self, client_as, jira, integration):
        jira.forbid_project("SHOP")
        verification = self.check(client_as("admin"), integration).json()["verification"]
        assert verification["state"] == "not_verified" and "SHOP" in verification["reason"]

    @pytest.mark.parametrize(("role", "expected"), [("member", 403), ("viewer", 403), ("outsider", 404)])
    def test_only_the_projects_admins_check_again(self, client_as, jira, integration, role, expected):
        assert self.check(client_as(role), integration).status_code == expected

    def test_another_projects_integration_answers_404(self, client_as, jira, world):
        elsewhere = ProjectIntegrationFactory(project=world.other.project, source=jira.source)
        assert self.check(client_as("admin"), elsewhere).status_code == 404
