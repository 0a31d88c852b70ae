"""GET/PUT /api/projects/{project}/integrations/{id}/pull-settings: what a project integration pulls, with the
checks of the settings page: each filter in use is checked by a dry run against the tracker (how many work
items it matches), a filter the tracker refuses answers 400 with the tracker's message and saves nothing,
an unanswering tracker saves it "not verified". Project admins write, members and viewers read, outsiders
and other projects get 404. Against the fake Jira Cloud over real HTTP."""

import json

import pytest
import yaml
from django.core.management import call_command

from integrations.models import ProjectIntegration
from issues.pulls.models import BugPullSettings, PullSettings
from tests.factories import ProjectIntegrationFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN
from tests.issues.filing_support import jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]

SETTINGS = {
    "pull_requirements": True,
    "requirements_filter": "labels = requirement",
    "requirement_types": ["Task"],
    "state_mapping": {"deprecated": ["Won't Do"]},
    "release_field": "fixVersions",
    "release_date_fields": ["fixVersions"],
    "pull_bugs": True,
    "bugs_filter": "labels = customer",
    "bug_types": ["Bug"],
    "severity_field": "priority",
}


@pytest.fixture
def jira(fake_jira_cloud, world):
    found = jira_world(fake_jira_cloud, world.project)
    for title in ("Pay by card", "Pay by invoice"):
        fake_jira_cloud.add_issue("SHOP", title, issue_type="Task", labels=["requirement"])
    fake_jira_cloud.add_issue("SHOP", "Card declined", issue_type="Bug", labels=["customer"])
    return found


def url(integration, project="SHOP"):
    return f"/api/projects/{project}/integrations/{integration.pk}/pull-settings"


def saved(integration) -> tuple:
    integration = ProjectIntegration.objects.get(pk=integration.pk)
    return (integration.pull_requirements, integration.requirements_filter, integration.bugs_filter)


class ReadTests:
    def test_an_integration_without_pull_settings_reads_the_defaults(self, client_as, jira):
        body = client_as("viewer").get(url(jira.integration)).json()

        assert body["pull_requirements"] is False and body["requirements_filter"] == ""
        assert body["state_mapping"] == {"deprecated": ["Removed", "Won't Do", "Cancelled", "Obsolete"]}
        assert body["bug_types"] == [] and body["requirements_last_pulled_at"] is None
        assert not PullSettings.objects.exists(), "reading saves nothing"

    def test_the_project_may_be_named_by_id(self, client_as, jira):
        response = client_as("member").get(url(jira.integration, project=str(jira.integration.project_id)))
        assert response.status_code == 200


class WriteTests:
    def test_an_admin_saves_and_learns_what_each_filter_matches(self, client_as, jira):
        response = client_as("admin").put(url(jira.integration), SETTINGS, format="json")

        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["filter_checks"] == [
            {
                "field": "requirements_filter",
                "verified": True,
                "message": "Requirement filter matches about 2 work items in Acme Jira.",
                "count": 2,
                "precision": "approximate",
            },
            {
                "field": "bugs_filter",
                "verified": True,
                "message": "Bug filter matches about 1 work item in Acme Jira.",
                "count": 1,
                "precision": "approximate",
            },
        ]
        assert body["requirement_types"] == ["Task"] and body["severity_field"] == "priority"
        assert body["status_from"] == "status"
        assert saved(jira.integration) == (True, "labels = requirement", "labels = customer")
        assert client_as("member").get(url(jira.integration)).json()["release_date_fields"] == ["fixVersions"]

    def test_fields_left_out_keep_their_values(self, client_as, jira):
        client_as("admin").put(url(jira.integration), SETTINGS, format="json")

        response = client_as("admin").put(url(jira.integration), {"pull_bugs": False}, format="json")

        assert response.status_code == 200
        assert response.json()["bugs_filter"] == "labels = customer" and response.json()["pull_bugs"] is False
        assert saved(jira.integration) == (True, "labels = requirement", "labels = customer")

    def test_a_filter_jira_refuses_answers_400_with_jiras_message_and_saves_nothing(self, client_as, jira):
        bad = {**SETTINGS, "requirements_filter": "labels = = requirement"}

        response = client_as("admin").put(url(jira.integration), bad, format="json")

        assert response.status_code == 400
        (problem,) = response.json()["errors"]["requirements_filter"]
        assert problem.startswith("Acme Jira refused the requirement filter: ")
        assert "The tracker says: Error in the JQL Query: Expecting either a value" in problem
        assert CLOUD_API_TOKEN not in response.content.decode()
        assert saved(jira.integration) == (False, "", "")
        assert not PullSettings.objects.exists() and not BugPullSettings.objects.exists()

    def test_both_refused_filters_are_named(self, client_as, jira):
        bad = {**SETTINGS, "requirements_filter": "labels = = a", "bugs_filter": "labels in ("}

        errors = client_as("admin").put(url(jira.integration), bad, format="json").json()["errors"]

        assert set(errors) == {"requirements_filter", "bugs_filter"}

    def test_an_unreachable_tracker_saves_the_filter_not_verified(self, client_as, jira):
        jira.fake.server.stop()

        response = client_as("admin").put(url(jira.integration), SETTINGS, format="json")

        assert response.status_code == 200
        checks = response.json()["filter_checks"]
        assert [check["verified"] for check in checks] == [False, False]
        assert checks[0]["message"].startswith("Requirement filter not verified: ") and checks[0]["count"] is None
        assert saved(jira.integration) == (True, "labels = requirement", "labels = customer")

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"state_mapping": {"finished": ["Done"]}}, "state_mapping"),
            ({"release_date_fields": ["a", "b", "c", "d"]}, "release_date_fields"),
            ({"pull_bugs": "maybe"}, "pull_bugs"),
            ({"bug_types": "Bug"}, "bug_types"),
            ({"status_from": "resolution", "resolution_field": ""}, "resolution_field"),
        ],
    )
    def test_an_invalid_value_is_refused_naming_the_field(self, client_as, jira, change, field):
        response = client_as("admin").put(url(jira.integration), {**SETTINGS, **change}, format="json")

        assert response.status_code == 400
        assert set(response.json()["errors"]) == {field}
        assert saved(jira.integration) == (False, "", "")
        assert not jira.fake.requests_to("POST", r"/rest/api/3/search/approximate-count"), "not asked"


class RoleTests:
    @pytest.mark.parametrize(
        ("role", "reads", "writes"),
        [
            ("admin", 200, 200),
            ("member", 200, 403),
            ("viewer", 200, 403),
            ("outsider", 404, 404),
            ("anonymous", 401, 401),
        ],
    )
    def test_project_admins_write_members_read_outsiders_see_nothing(self, client_as, jira, role, reads, writes):
        client = client_as(role)
        assert client.get(url(jira.integration)).status_code == reads
        assert client.put(url(jira.integration), SETTINGS, format="json").status_code == writes
        assert saved(jira.integration)[0] is (writes == 200)

    def test_another_projects_integration_is_not_found(self, client_as, jira, world):
        theirs = ProjectIntegrationFactory(project=world.other.project, source=jira.source, external_project="SHOP")
        assert client_as("admin").get(url(theirs)).status_code == 404
        assert client_as("admin").put(url(theirs), SETTINGS, format="json").status_code == 404
        assert client_as("admin").get(url(jira.integration, project="BANK")).status_code == 404
        assert saved(theirs) == (False, "", "")


def test_the_endpoint_is_documented_in_the_openapi_schema_without_warnings(tmp_path):
    schema = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema))
    document = yaml.safe_load(schema.read_text())
    operations = document["paths"]["/api/projects/{project}/integrations/{id}/pull-settings"]
    assert set(operations) >= {"get", "put"}
    assert "SavedPullSettings" in json.dumps(operations["put"]["responses"]["200"])
    assert "filter_checks" in document["components"]["schemas"]["SavedPullSettings"]["properties"]
