"""GET /api/projects/{project}/tracker-options: what a project admin chooses from when connecting a source
(the tracker's projects, boards, issue types, fields, components, sprints), read from each tracker's fake
over real HTTP. A tracker that refuses to list answers ``listable: false`` with its reason (the form keeps
free text); only the project's admins may ask; another project's source or project answers 404."""

import pytest

from tests.factories import SourceFactory
from tests.fakes.fixtures import ADO_LOGIN, GITHUB_LOGIN, GITLAB_USERNAME
from tests.issues.sync_support import (
    azure_devops_source,
    github_source,
    gitlab_source,
    jira_cloud_source,
    jira_server_source,
    linear_source,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


def options(client, source, kind, *, at="SHOP", **params):
    """GET the options of ``kind`` in the project ``at``; ``project=`` names the external project."""
    query = {"source": source.pk, "kind": kind, **params}
    return client.get(f"/api/projects/{at}/tracker-options", query)


def listed(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["listable"] is True, body["reason"]
    return [(option["value"], option["label"]) for option in body["options"]]


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project(
        "SHOP", "Web shop", issue_types=("Bug", "Task", "Test"), components=("Checkout", "Cart")
    )
    fake_jira_cloud.add_issue_type("SHOP", "Sub-task", subtask=True)
    fake_jira_cloud.add_project("OPS", "Operations")
    board = fake_jira_cloud.add_board("SHOP", "Shop scrum board")
    fake_jira_cloud.add_board("OPS", "Ops kanban", board_type="kanban")
    fake_jira_cloud.add_sprint(board, "Sprint 7", state="active")
    fake_jira_cloud.add_field("SHOP", "Bug", "Severity", "select", options=("S1", "S2"))
    fake_jira_cloud.board = board
    fake_jira_cloud.source = jira_cloud_source(fake_jira_cloud)
    return fake_jira_cloud


class JiraTests:
    def test_projects_boards_issue_types_fields_components_and_sprints(self, client_as, jira):
        admin = client_as("admin")
        assert listed(options(admin, jira.source, "projects")) == [
            ("SHOP", "Web shop (SHOP)"),
            ("OPS", "Operations (OPS)"),
        ]
        assert listed(options(admin, jira.source, "boards", project="SHOP")) == [
            (str(jira.board), f"Shop scrum board ({jira.board})")
        ]
        assert [value for value, _ in listed(options(admin, jira.source, "issue_types", project="SHOP"))] == [
            "Bug",
            "Task",
            "Test",
        ]  # sub-tasks need a parent: never offered
        fields = dict(listed(options(admin, jira.source, "fields", project="SHOP", issue_type="Bug")))
        assert "Severity" in {label.split(" (")[0] for label in fields.values()}
        assert listed(options(admin, jira.source, "components", project="SHOP")) == [
            ("Checkout", "Checkout"),
            ("Cart", "Cart"),
        ]
        sprints = listed(options(admin, jira.source, "sprints", project="SHOP", board=str(jira.board)))
        assert [label.split(" (")[0] for _, label in sprints] == ["Sprint 7"]

    def test_q_narrows_the_list(self, client_as, jira):
        assert listed(options(client_as("admin"), jira.source, "projects", q="oper")) == [("OPS", "Operations (OPS)")]

    def test_jira_data_center_lists_its_projects_and_boards(self, client_as, fake_jira_server):
        fake_jira_server.add_project("SHOP", "Web shop")
        board = fake_jira_server.add_board("SHOP", "Shop board")
        source = jira_server_source(fake_jira_server)
        assert listed(options(client_as("admin"), source, "projects")) == [("SHOP", "Web shop (SHOP)")]
        assert listed(options(client_as("admin"), source, "boards", project="SHOP")) == [
            (str(board), f"Shop board ({board})")
        ]

    def test_an_unknown_project_has_no_issue_types_and_says_why(self, client_as, jira):
        body = options(client_as("admin"), jira.source, "issue_types", project="NOPE").json()
        assert body["listable"] is False and body["options"] == []
        assert "NOPE" in body["reason"]


class OtherTrackerTests:
    def test_github_lists_the_accounts_repositories(self, client_as, fake_github):
        fake_github.add_repo("acme/shop")
        fake_github.add_repo("acme/wiki", has_issues=False)
        fake_github.add_repo("other/secret", private=True)
        fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
        fake_github.grant("acme/wiki", GITHUB_LOGIN, "write")
        source = github_source(fake_github)
        assert listed(options(client_as("admin"), source, "projects")) == [("acme/shop", "acme/shop")]

    def test_gitlab_lists_projects_under_groups_and_subgroups(self, client_as, fake_gitlab):
        fake_gitlab.add_project("acme/web/shop")
        fake_gitlab.add_project("acme/infra")
        fake_gitlab.add_project("elsewhere/hidden")
        fake_gitlab.add_member("acme/web/shop", GITLAB_USERNAME, 30)
        fake_gitlab.add_member("acme/infra", GITLAB_USERNAME, 30)
        source = gitlab_source(fake_gitlab)
        assert [value for value, _ in listed(options(client_as("admin"), source, "projects"))] == [
            "acme/web/shop",
            "acme/infra",
        ]

    def test_azure_devops_lists_projects_and_work_item_types(self, client_as, fake_azure_devops):
        fake_azure_devops.add_project("Shop", members={ADO_LOGIN: "write"})
        source = azure_devops_source(fake_azure_devops)
        assert listed(options(client_as("admin"), source, "projects")) == [("Shop", "Shop")]
        types = [value for value, _ in listed(options(client_as("admin"), source, "issue_types", project="Shop"))]
        assert {"Bug", "Task", "User Story", "Test Case"} <= set(types)

    def test_linear_lists_teams(self, client_as, fake_linear):
        fake_linear.add_team("SHOP", "Web shop")
        source = linear_source(fake_linear)
        assert listed(options(client_as("admin"), source, "projects")) == [("SHOP", "Web shop (SHOP)")]

    def test_a_tracker_without_boards_says_so(self, client_as, fake_linear):
        fake_linear.add_team("SHOP", "Web shop")
        body = options(client_as("admin"), linear_source(fake_linear), "boards", project="SHOP").json()
        assert body["listable"] is False and "boards" in body["reason"]


class RefusalTests:
    def test_a_tracker_that_refuses_to_list_answers_the_reason_for_a_free_text_fallback(self, client_as, fake_github):
        source = github_source(fake_github)
        fake_github.fail_next(403, {"message": "Resource not accessible by personal access token"})
        response = options(client_as("admin"), source, "projects")
        assert response.status_code == 200
        body = response.json()
        assert body["listable"] is False and body["options"] == []
        assert "Resource not accessible" in body["reason"] or "permission" in body["reason"].lower()

    def test_a_tracker_that_is_down_answers_the_reason(self, client_as, jira):
        jira.server.stop()
        body = options(client_as("admin"), jira.source, "projects").json()
        assert body["listable"] is False and body["reason"]

    def test_a_kind_that_does_not_exist_or_lacks_its_project_is_a_400_naming_the_parameter(self, client_as, jira):
        response = options(client_as("admin"), jira.source, "wishes")
        assert response.status_code == 400 and "kind" in response.json()["errors"]
        response = options(client_as("admin"), jira.source, "issue_types", project="")
        assert response.status_code == 400 and "project" in response.json()["errors"]


class AccessTests:
    @pytest.mark.parametrize(
        ("role", "expected"), [("admin", 200), ("member", 403), ("viewer", 403), ("outsider", 404), ("anonymous", 401)]
    )
    def test_only_the_projects_admins_may_list(self, client_as, jira, role, expected):
        assert options(client_as(role), jira.source, "projects").status_code == expected

    def test_another_projects_source_answers_404(self, client_as, jira, world):
        elsewhere = SourceFactory(name="Bank only", all_projects=False)
        elsewhere.projects.set([world.other.project])
        assert options(client_as("admin"), elsewhere, "projects").status_code == 404

    def test_another_project_answers_404(self, client_as, jira):
        assert options(client_as("admin"), jira.source, "projects", at="BANK").status_code == 404
