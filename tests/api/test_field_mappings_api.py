"""GET/PUT /api/projects/{project}/integrations/{id}/field-mappings: per purpose (defect, test case) the
issue type and every field the tracker reports for it with its mapping, plus the status, priority and
severity tables. Project admins write, members and viewers read, outsiders get 404; an invalid document
is refused naming the field and saves nothing. Against the fake Jira Cloud over real HTTP."""

import pytest
from django.core.cache import cache

from integrations.models import ProjectIntegration
from tests.factories import ProjectIntegrationFactory
from tests.issues.filing_support import jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def jira(fake_jira_cloud, world):
    return jira_world(fake_jira_cloud, world.project, test_issue_type="Task")


def url(integration, project="SHOP"):
    return f"/api/projects/{project}/integrations/{integration.pk}/field-mappings"


def field(body, purpose, field_id):
    return next(entry for entry in body[purpose]["fields"] if entry["id"] == field_id)


def valid_document(jira):
    return {
        "defect": {
            "issue_type": "Bug",
            "fields": [
                {"id": jira.environment, "mapping": {"source": "constant", "value": "Production"}},
                {"id": "labels", "mapping": {"source": "value", "value": "{run.name}, regression"}},
            ],
        },
        "test_case": {
            "issue_type": "Task",
            "fields": [{"id": "labels", "mapping": {"source": "value", "value": "{case.folder}"}}],
        },
        "severity": {"S1": "blocker", "S2": "major"},
    }


class ReadTests:
    def test_each_purpose_lists_the_trackers_fields_with_their_mapping(self, client_as, jira):
        body = client_as("member").get(url(jira.integration)).json()
        assert body["defect"]["issue_type"] == "Bug" and body["test_case"]["issue_type"] == "Task"
        assert body["defect"]["discovery"] == {"ok": True, "message": ""}
        environment = field(body, "defect", jira.environment)
        assert environment["name"] == "Environment" and environment["required"] is True
        assert environment["allowed_values"] == ["Staging", "Production"]
        assert environment["mapping"] == {"source": "unset", "value": None}
        assert body["defect"]["unmapped_required"] == ["Environment"]
        assert jira.environment not in {entry["id"] for entry in body["test_case"]["fields"]}  # Tasks lack it
        assert body["priority"]["High"] == {"requirement": "P1", "defect": "critical"}
        assert body["status"]["open"] == ["To Do", "Open"]
        assert body["severity"] == {}
        assert "{case.steps}" not in body["placeholders"] and "case.steps" in body["placeholders"]

    def test_a_tracker_that_cannot_be_reached_answers_the_saved_mappings_and_says_discovery_failed(
        self, client_as, jira
    ):
        assert client_as("admin").put(url(jira.integration), valid_document(jira), format="json").status_code == 200
        jira.fake.server.stop()
        cache.clear()  # Jira's create metadata is cached: this GET must ask the tracker
        response = client_as("member").get(url(jira.integration))
        assert response.status_code == 200
        body = response.json()
        assert body["defect"]["discovery"]["ok"] is False and body["defect"]["discovery"]["message"]
        assert field(body, "defect", jira.environment)["mapping"] == {"source": "constant", "value": "Production"}
        assert body["severity"] == {"S1": "blocker", "S2": "major"}


class WriteTests:
    def test_a_valid_document_is_saved_and_answered(self, client_as, jira):
        response = client_as("admin").put(url(jira.integration), valid_document(jira), format="json")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert field(body, "defect", jira.environment)["mapping"] == {"source": "constant", "value": "Production"}
        assert field(body, "defect", "labels")["mapping"] == {"source": "value", "value": "{run.name}, regression"}
        assert field(body, "test_case", "labels")["mapping"] == {"source": "value", "value": "{case.folder}"}
        assert body["defect"]["unmapped_required"] == []
        integration = ProjectIntegration.objects.get(pk=jira.integration.pk)
        assert integration.test_issue_type == "Task"
        assert integration.field_mappings["severity"] == {"S1": "blocker", "S2": "major"}

    def test_a_constant_takes_the_trackers_spelling_of_an_allowed_value(self, client_as, jira):
        document = valid_document(jira)
        document["defect"]["fields"][0]["mapping"]["value"] = "production"
        body = client_as("admin").put(url(jira.integration), document, format="json").json()
        assert field(body, "defect", jira.environment)["mapping"]["value"] == "Production"

    @pytest.mark.parametrize(
        ("change", "named", "says"),
        [
            (
                lambda d, j: d["defect"]["fields"].append(
                    {"id": "customfield_1", "mapping": {"source": "constant", "value": "x"}}
                ),
                "defect.fields.customfield_1",
                "reports no field",
            ),  # noqa: E501
            (
                lambda d, j: d["defect"]["fields"][0]["mapping"].update(value="Moon"),
                "defect.fields.{env}",
                "“Moon” is not one of its values",
            ),  # noqa: E501
            (
                lambda d, j: d["test_case"]["fields"][0]["mapping"].update(value="{case.colour}"),
                "test_case.fields.labels",
                "{case.colour} is not a placeholder",
            ),  # noqa: E501
            (
                lambda d, j: d["defect"]["fields"][0]["mapping"].update(source="formula"),
                "defect.fields.{env}",
                "the source is one of",
            ),  # noqa: E501
            (lambda d, j: d.update(severity={"S1": "urgent"}), "severity", "S1: map it to one of"),
            (lambda d, j: d.update(priority={"High": {"requirement": "P9", "defect": "major"}}), "priority", "P9"),
        ],
        ids=["unknown field", "value not allowed", "unknown placeholder", "unknown source", "severity", "priority"],
    )
    def test_an_invalid_document_is_refused_naming_the_field_and_nothing_is_saved(
        self, client_as, jira, change, named, says
    ):
        before = ProjectIntegration.objects.values().get(pk=jira.integration.pk)
        document = valid_document(jira)
        change(document, jira)
        response = client_as("admin").put(url(jira.integration), document, format="json")
        assert response.status_code == 400
        named = named.format(env=jira.environment)
        assert named in response.json()["errors"], response.json()
        assert says in response.json()["message"]
        assert ProjectIntegration.objects.values().get(pk=jira.integration.pk) == before

    def test_an_issue_type_the_tracker_does_not_offer_is_refused(self, client_as, jira):
        document = valid_document(jira)
        document["test_case"]["issue_type"] = "Test"
        response = client_as("admin").put(url(jira.integration), document, format="json")
        assert response.status_code == 409
        assert "offers no issue type “Test”" in response.json()["message"]
        assert ProjectIntegration.objects.get(pk=jira.integration.pk).test_issue_type == "Task"

    def test_a_tracker_that_cannot_be_reached_saves_nothing(self, client_as, jira):
        jira.fake.server.stop()
        response = client_as("admin").put(url(jira.integration), valid_document(jira), format="json")
        assert response.status_code == 503
        assert ProjectIntegration.objects.get(pk=jira.integration.pk).field_mappings == {}


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
        assert client.put(url(jira.integration), valid_document(jira), format="json").status_code == writes
        saved = ProjectIntegration.objects.get(pk=jira.integration.pk).field_mappings
        assert bool(saved) == (writes == 200)

    def test_another_projects_integration_is_not_found(self, client_as, jira, world):
        theirs = ProjectIntegrationFactory(project=world.other.project, source=jira.source, external_project="SHOP")
        assert client_as("admin").get(url(theirs)).status_code == 404
        assert client_as("admin").put(url(theirs), valid_document(jira), format="json").status_code == 404
        assert client_as("admin").get(url(jira.integration, project="BANK")).status_code == 404
