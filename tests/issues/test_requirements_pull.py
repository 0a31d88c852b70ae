"""Requirements pulled from a tracker: new items become read-only requirements with their origin,
state, priority, release and sprint; remote edits update them; a remote deletion deprecates; letting
go of the tracker (disconnect, archive, removal, ...) makes them editable and loses nothing.

Against the fake Jira Cloud (and the fake Azure DevOps for its recycle-bin deletions) over real HTTP."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from integrations import services as integration_services
from integrations.errors import RemoteValidationError
from integrations.mappings import default_priority_mapping, default_status_mapping
from integrations.models import AuthType, ProjectIntegration, Provider
from issues.links.models import ExternalReference, Link
from issues.pulls.models import PulledRequirement, PullSettings
from issues.pulls.requirements import parse_state_mapping, pull_requirements, save_settings
from projects.models import Requirement, Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.fakes.fixtures import ADO_PAT, CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


@dataclass
class Tracker:
    fake: object
    integration: ProjectIntegration

    def pull(self):
        self.integration.refresh_from_db()
        return str(pull_requirements(self.integration))


def pulling_integration(source, external_project, requirements_filter, **settings):
    integration = ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP"),
        source=source,
        external_project=external_project,
        priority_mapping=default_priority_mapping(),
        status_mapping=default_status_mapping(),
    )
    save_settings(
        integration,
        pull_requirements=True,
        requirements_filter=requirements_filter,
        comment_linked_tests=False,
        **{
            "requirement_types": ["Story"],
            "state_mapping": parse_state_mapping("deprecated = Won't Do"),
            "release_field": "",
            "release_date_fields": [],
            "sprint_field": "",
            **settings,
        },
    )
    return integration


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_status("Won't Do", "done")
    source = SourceFactory(
        name="Acme Jira",
        provider=Provider.JIRA_CLOUD,
        base_url=fake_jira_cloud.base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        issue_url_template="",
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )
    return Tracker(fake_jira_cloud, pulling_integration(source, "SHOP", "labels = requirement"))


def story(fake, summary, **fields):
    return fake.add_issue("SHOP", summary, issue_type="Story", labels=["requirement"], **fields)


def set_status(fake, key, name):
    fake.issue(key).status = next(status for status in fake.statuses if status.name == name)
    fake.issue(key).updated = fake.now()


def test_new_items_become_read_only_requirements_of_the_tracker(jira):
    card = story(jira.fake, "Pay by card", description="Cards and wallets", priority="High", status="In Progress")
    invoice = story(jira.fake, "Pay by invoice", priority="Lowest")
    jira.fake.add_issue("SHOP", "Checkout crashes", issue_type="Bug", labels=["requirement"])
    jira.fake.add_issue("SHOP", "Gift cards", issue_type="Story")

    assert jira.pull() == "2 new, 0 updated, 0 unchanged, 0 deleted in the tracker (now deprecated)"

    requirements = {r.origin_key: r for r in Requirement.objects.filter(project=jira.integration.project)}
    assert set(requirements) == {card.key, invoice.key}
    first = requirements[card.key]
    assert (first.title, first.description, first.state, first.priority) == (
        "Pay by card",
        "Cards and wallets",
        "active",
        "P1",
    )
    assert (first.origin_tracker, first.origin_url, first.origin_read_only) == (
        "Acme Jira",
        f"{jira.fake.base_url}/browse/{card.key}",
        True,
    )
    assert (requirements[invoice.key].state, requirements[invoice.key].priority) == ("draft", "P3")
    reference = Link.objects.get(requirement=first).external_reference
    assert (reference.source, reference.key, reference.title, reference.status) == (
        jira.integration.source,
        card.key,
        "Pay by card",
        "In Progress",
    )
    assert first.pull.integration == jira.integration and first.pull.reference == reference
    assert PullSettings.objects.get(integration=jira.integration).last_error == ""


def test_a_second_pull_after_an_edit_and_a_deletion_updates_and_deprecates(jira):
    card = story(jira.fake, "Pay by card", description="Cards")
    invoice = story(jira.fake, "Pay by invoice")
    vouchers = story(jira.fake, "Vouchers")
    dropped = story(jira.fake, "Cash on delivery")
    jira.pull()

    edited = jira.fake.issue(card.key)
    edited.summary, edited.description, edited.priority = "Pay by card or wallet", "Cards and wallets", "Highest"
    set_status(jira.fake, card.key, "Done")
    jira.fake.delete_issue(invoice.key)
    set_status(jira.fake, dropped.key, "Won't Do")

    assert jira.pull() == "0 new, 2 updated, 1 unchanged, 1 deleted in the tracker (now deprecated)"

    by_key = {r.origin_key: r for r in Requirement.objects.all()}
    assert (
        by_key[card.key].title,
        by_key[card.key].description,
        by_key[card.key].state,
        by_key[card.key].priority,
    ) == ("Pay by card or wallet", "Cards and wallets", "active", "P0")
    assert (by_key[invoice.key].state, by_key[invoice.key].origin_read_only) == ("deprecated", False)
    assert ExternalReference.objects.get(key=invoice.key).deleted_remotely
    assert (by_key[dropped.key].state, by_key[dropped.key].origin_read_only) == ("deprecated", True)
    assert (by_key[vouchers.key].state, by_key[vouchers.key].origin_read_only) == ("draft", True)
    assert jira.pull() == "0 new, 0 updated, 3 unchanged, 0 deleted in the tracker (now deprecated)"


def test_a_requirement_that_leaves_the_filter_is_kept_as_it_was(jira):
    card = story(jira.fake, "Pay by card")
    jira.pull()
    jira.fake.issue(card.key).labels = []

    assert jira.pull() == "0 new, 0 updated, 0 unchanged, 0 deleted in the tracker (now deprecated)"
    requirement = Requirement.objects.get()
    assert (requirement.state, requirement.origin_read_only) == ("draft", True)


def editable_through_the_api(requirement) -> bool:
    member = MembershipFactory(project=requirement.project, role=Role.MEMBER).user
    client = APIClient()
    client.force_authenticate(member)
    response = client.patch(f"/api/requirements/{requirement.pk}", {"title": "Our own words"}, format="json")
    return response.status_code == 200


def test_disconnecting_makes_the_requirements_editable_and_loses_nothing(jira):
    card = story(jira.fake, "Pay by card")
    jira.pull()
    requirement = Requirement.objects.get()
    assert not editable_through_the_api(requirement)
    admin = UserFactory()

    integration_services.change_integration_state(jira.integration, "disconnect", actor=admin)

    requirement.refresh_from_db()
    assert requirement.origin_read_only is False
    assert editable_through_the_api(requirement)
    requirement.refresh_from_db()
    assert (requirement.title, requirement.origin_key, requirement.origin_tracker) == (
        "Our own words",
        card.key,
        "Acme Jira",
    )
    assert Link.objects.filter(requirement=requirement, external_reference__key=card.key).exists()
    assert PulledRequirement.objects.get().integration == jira.integration
    with pytest.raises(ValidationError, match="does not pull requirements"):
        jira.pull()

    integration_services.change_integration_state(jira.integration, "reconnect", actor=admin)
    assert jira.pull() == "0 new, 1 updated, 0 unchanged, 0 deleted in the tracker (now deprecated)"
    requirement.refresh_from_db()
    assert (requirement.title, requirement.origin_read_only) == ("Pay by card", True)  # the tracker's again


@pytest.mark.parametrize("let_go", ["archive", "remove", "switch off", "delete source"])
def test_every_way_of_letting_go_of_the_tracker_makes_the_requirements_editable(jira, let_go):
    story(jira.fake, "Pay by card")
    jira.pull()
    integration, admin = jira.integration, UserFactory()

    if let_go == "archive":
        integration_services.change_integration_state(integration, "archive", actor=admin)
    elif let_go == "remove":
        integration_services.remove_project_integration(integration, actor=admin)
    elif let_go == "switch off":
        save_settings(
            integration,
            pull_requirements=False,
            requirements_filter="labels = requirement",
            requirement_types=[],
            state_mapping={},
            release_field="",
            release_date_fields=[],
            sprint_field="",
            comment_linked_tests=False,
        )
    else:
        integration_services.delete_source(integration.source, actor=admin)

    requirement = Requirement.objects.get()
    assert (requirement.title, requirement.origin_read_only) == ("Pay by card", False)
    assert Link.objects.filter(requirement=requirement).count() == 1


@pytest.mark.parametrize("pause", ["disconnect", "disable"])
def test_pausing_the_source_pauses_the_pulls_and_the_tracker_keeps_the_requirements(jira, pause):
    story(jira.fake, "Pay by card")
    jira.pull()
    source, admin = jira.integration.source, UserFactory()

    if pause == "disconnect":
        integration_services.disconnect_source(source, actor=admin)
    else:
        integration_services.set_source_enabled(source, False, actor=admin)

    assert Requirement.objects.get().origin_read_only is True
    with pytest.raises(ValidationError, match="does not pull requirements"):
        jira.pull()


def test_a_filter_the_tracker_refuses_is_recorded_and_writes_nothing(jira):
    story(jira.fake, "Pay by card")
    ProjectIntegration.objects.filter(pk=jira.integration.pk).update(requirements_filter="labels = = requirement")

    with pytest.raises(RemoteValidationError):
        jira.pull()

    settings = PullSettings.objects.get(integration=jira.integration)
    assert "400" in settings.last_error and settings.last_pulled_at is None
    assert not Requirement.objects.exists() and not ExternalReference.objects.exists()


# -- release, release date and sprint --------------------------------------------------------------


@pytest.fixture
def planned(jira):
    """Stories carry a target date (custom field), fix versions (with release dates), a due date and a sprint."""
    fake = jira.fake
    target = fake.add_field("SHOP", "Story", "Target date", "date")
    sprint = fake.add_field("SHOP", "Story", "Sprint", "text")
    fake.add_version("SHOP", "2.0", release_date="2025-06-30")
    fake.add_version("SHOP", "3.0")
    settings = PullSettings.objects.get(integration=jira.integration)
    settings.release_field, settings.sprint_field = "fixVersions", sprint.field_id
    settings.release_date_fields = [target.field_id, "fixVersions", "duedate"]
    settings.save()
    jira.target, jira.sprint = target, sprint
    return jira


@pytest.mark.parametrize(
    ("target", "version", "due", "expected"),
    [
        ("2025-05-15", "2.0", "2025-08-01", date(2025, 5, 15)),  # all three: the first
        ("", "2.0", "2025-08-01", date(2025, 6, 30)),  # the first empty: the version's release date
        ("2025-05-15", "3.0", "2025-08-01", date(2025, 5, 15)),  # the second empty (no release date)
        ("2025-05-15", "2.0", "", date(2025, 5, 15)),  # the third empty
        ("", "3.0", "2025-08-01", date(2025, 8, 1)),  # the first two empty: the due date
        ("", "", "", None),  # none
    ],
)
def test_the_release_date_is_the_first_of_the_three_fields_with_a_date(planned, target, version, due, expected):
    item = story(planned.fake, "Pay by card")
    if target:
        item.custom_fields[planned.target.field_id] = target
    if version:
        planned.fake.set_fix_versions(item.key, version)
    item.duedate = due or None
    item.custom_fields[planned.sprint.field_id] = [
        {"id": 7, "name": "Sprint 7", "state": "closed", "endDate": "2025-04-01T00:00:00.000Z"},
        {"id": 8, "name": "Sprint 8", "state": "active", "endDate": "2025-04-15T00:00:00.000Z"},
    ]

    planned.pull()

    pulled = PulledRequirement.objects.get()
    assert (pulled.release, pulled.release_date, pulled.sprint) == (version, expected, "Sprint 8")


def test_moving_an_item_to_another_release_updates_its_requirement(planned):
    item = story(planned.fake, "Pay by card")
    planned.fake.set_fix_versions(item.key, "2.0")
    planned.pull()
    planned.fake.set_fix_versions(item.key, "3.0")

    assert planned.pull() == "0 new, 1 updated, 0 unchanged, 0 deleted in the tracker (now deprecated)"
    assert (PulledRequirement.objects.get().release, PulledRequirement.objects.get().release_date) == ("3.0", None)


def test_pull_settings_take_at_most_three_release_date_fields_and_a_consistent_state_mapping(jira):
    common = {
        "pull_requirements": True,
        "requirements_filter": "",
        "requirement_types": [],
        "release_field": "",
        "sprint_field": "",
        "comment_linked_tests": False,
    }
    with pytest.raises(ValidationError, match="At most 3 release date fields"):
        save_settings(jira.integration, state_mapping={}, release_date_fields=["a", "b", "c", "d"], **common)
    with pytest.raises(ValidationError, match="mapped to both draft and deprecated"):
        parse_state_mapping("draft = Backlog\ndeprecated = backlog")
    with pytest.raises(ValidationError, match="“closed” is not a requirement state"):
        parse_state_mapping("closed = Done")


# -- Azure DevOps ----------------------------------------------------------------------------------


def test_an_azure_devops_work_item_deleted_to_the_recycle_bin_deprecates_its_requirement(fake_azure_devops):
    fake = fake_azure_devops
    fake.add_project("Fabrikam")
    kept = fake.add_work_item(
        "Fabrikam",
        "User Story",
        "Pay by card",
        System_Tags="requirement",
        Microsoft_VSTS_Common_Priority=1,
        changed=datetime(2025, 1, 2, tzinfo=UTC),
    )
    deleted = fake.add_work_item("Fabrikam", "User Story", "Pay by invoice", System_Tags="requirement")
    source = SourceFactory(
        name="Fabrikam",
        provider=Provider.AZURE_DEVOPS,
        base_url=fake.base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": ADO_PAT},
        issue_url_template="",
    )
    integration = pulling_integration(
        source, "Fabrikam", "[System.Tags] CONTAINS 'requirement'", requirement_types=["User Story"]
    )
    tracker = Tracker(fake, integration)
    assert tracker.pull() == "2 new, 0 updated, 0 unchanged, 0 deleted in the tracker (now deprecated)"

    fake.delete_work_item(deleted.id)

    assert tracker.pull() == "0 new, 0 updated, 1 unchanged, 1 deleted in the tracker (now deprecated)"
    by_key = {r.origin_key: r for r in Requirement.objects.all()}
    assert (by_key[str(kept.id)].state, by_key[str(kept.id)].origin_read_only) == ("draft", True)
    assert (by_key[str(deleted.id)].state, by_key[str(deleted.id)].title) == ("deprecated", "Pay by invoice")


def test_a_deletion_the_sync_engine_found_first_deprecates_at_the_next_pull(jira):
    card = story(jira.fake, "Pay by card")
    jira.pull()
    jira.fake.delete_issue(card.key)
    ExternalReference.objects.filter(key=card.key).update(deleted_remotely=True)  # as a refresh marks it

    assert jira.pull() == "0 new, 0 updated, 0 unchanged, 1 deleted in the tracker (now deprecated)"
    assert (Requirement.objects.get().state, Requirement.objects.get().origin_read_only) == ("deprecated", False)
    assert jira.pull() == "0 new, 0 updated, 0 unchanged, 0 deleted in the tracker (now deprecated)"
