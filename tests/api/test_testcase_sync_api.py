"""POST /api/testcases/{id}/sync {"integration": id}: the first sync creates the remote issue of the
integration's test issue type (201), later syncs edit that same issue (200), never filing another. The
test-case field mappings fill its fields; a tracker that fails leaves nothing written; only members who
may edit sync, and another project's case is not found. Against the fake Jira Cloud over real HTTP."""

import pytest
from django.core.cache import cache

from issues.filing.models import TestCaseSync
from issues.links.models import ExternalReference, Link
from tests.factories import ProjectIntegrationFactory
from tests.issues.filing_support import CREATE_PATH, jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def jira(fake_jira_cloud, world):
    return jira_world(fake_jira_cloud, world.project, test_issue_type="Task")


@pytest.fixture
def case(world):
    case = world.mine.case
    case.title, case.folder = "Pay with card", "Checkout/Payment"
    case.steps = [{"action": "Open the cart", "expected": ""}, {"action": "Press Pay", "expected": "A receipt"}]
    case.save()
    return case


def sync(client, case, integration):
    return client.post(f"/api/testcases/{case.pk}/sync", {"integration": integration.pk}, format="json")


class CreateThenUpdateTests:
    def test_the_first_sync_creates_the_issue_of_the_test_issue_type(self, client_as, jira, case):
        response = sync(client_as("member"), case, jira.integration)
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["created"] is True and body["reference"]["key"] == "SHOP-1"
        assert body["reference"]["status"] == "To Do" and body["synced_at"]
        issue = jira.only_issue()
        assert issue.issue_type.name == "Task" and issue.summary == "Pay with card"
        description = jira.description_of("SHOP-1")
        assert "Steps" in description and all(
            text in description for text in ("Open the cart", "Press Pay", "Expected:", "A receipt")
        )
        assert TestCaseSync.objects.get(case=case).reference.key == "SHOP-1"

    def test_a_second_sync_edits_the_same_issue_instead_of_filing_another(self, client_as, jira, case):
        assert sync(client_as("member"), case, jira.integration).status_code == 201
        case.title, case.steps = (
            "Pay with a saved card",
            [
                {"action": "Open the cart", "expected": ""},
                {"action": "Choose the saved card", "expected": ""},
            ],
        )
        case.save()

        response = sync(client_as("member"), case, jira.integration)

        assert response.status_code == 200, response.json()
        assert response.json()["created"] is False and response.json()["reference"]["key"] == "SHOP-1"
        assert len(jira.creates()) == 1
        issue = jira.only_issue()
        assert issue.summary == "Pay with a saved card"
        assert "Choose the saved card" in jira.description_of("SHOP-1")
        assert ExternalReference.objects.get(key="SHOP-1").title == "Pay with a saved card"
        assert TestCaseSync.objects.count() == 1

    def test_the_test_case_field_mappings_fill_the_issue(self, client_as, jira, case):
        jira.integration.field_mappings = {
            "test_case": {"fields": {"labels": {"source": "value", "value": "{case.folder}, regression"}}}
        }
        jira.integration.save()
        assert sync(client_as("member"), case, jira.integration).status_code == 201
        assert jira.only_issue().labels == ["Checkout/Payment", "regression"]
        case.folder = "Refunds"
        case.save()
        assert sync(client_as("member"), case, jira.integration).status_code == 200
        assert jira.only_issue().labels == ["Refunds", "regression"]


class TrackerDownTests:
    def test_a_first_sync_that_fails_writes_nothing(self, client_as, jira, case):
        jira.fake.fail_next(
            400, {"errorMessages": ["Issue type is not on the screen."], "errors": {}}, method="POST", path=CREATE_PATH
        )
        response = sync(client_as("member"), case, jira.integration)
        assert response.status_code == 400 and response.json()["message"]
        assert not TestCaseSync.objects.exists()
        assert not ExternalReference.objects.exists() and not Link.objects.exists()

    def test_an_update_that_cannot_reach_the_tracker_changes_nothing(self, client_as, jira, case):
        assert sync(client_as("member"), case, jira.integration).status_code == 201
        before = TestCaseSync.objects.values().get()
        reference = ExternalReference.objects.values().get()
        jira.fake.server.stop()
        cache.clear()  # Jira's create metadata is cached: the sync must ask the tracker
        case.title = "Renamed"
        case.save()

        response = sync(client_as("member"), case, jira.integration)

        assert response.status_code == 503
        assert TestCaseSync.objects.values().get() == before
        assert ExternalReference.objects.values().get() == reference


class PermissionTests:
    @pytest.mark.parametrize(("role", "answer"), [("viewer", 403), ("outsider", 404), ("anonymous", 401)])
    def test_only_members_who_may_edit_sync(self, client_as, jira, case, role, answer):
        assert sync(client_as(role), case, jira.integration).status_code == answer
        assert not jira.fake.issues and not TestCaseSync.objects.exists()

    def test_another_projects_case_is_not_found(self, client_as, jira, world):
        assert sync(client_as("member"), world.other.case, jira.integration).status_code == 404
        assert not jira.fake.issues

    def test_another_projects_integration_is_refused_naming_it(self, client_as, jira, case, world):
        theirs = ProjectIntegrationFactory(project=world.other.project, source=jira.source, external_project="SHOP")
        response = sync(client_as("member"), case, theirs)
        assert response.status_code == 400 and "integration" in response.json()["errors"]
        assert not jira.fake.issues
