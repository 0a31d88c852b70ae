"""Pulled requirements follow webhooks: a delivery that changes a pulled requirement's work item updates
the requirement (title, description, state, priority) at once, by the pull's own mapping, not at the next
pull. A delivery about an item no requirement was pulled from changes no requirement; a field the delivery
does not carry stays as it is.

Each tracker's fake builds its delivery as its documentation describes it, posted to the hook signed as the
tracker signs it (Azure DevOps' service hooks carry no state category, so the work item is read again at
once and its state follows that read)."""

from datetime import timedelta

import pytest
from django.test import Client

from integrations.mappings import default_priority_mapping, default_status_mapping, parse_priority_mapping
from integrations.providers import provider_for
from issues.links.models import ExternalReference
from issues.pulls.requirements import parse_state_mapping, pull_requirements, save_settings
from issues.sync import webhooks
from projects.models import Requirement
from tests.factories import ProjectFactory, ProjectIntegrationFactory
from tests.fakes.fixtures import GITHUB_LOGIN, GITLAB_USERNAME
from tests.fakes.gitlab import MAINTAINER
from tests.issues.sync_support import (
    SECRET,
    azure_devops_source,
    github_source,
    gitlab_source,
    jira_cloud_source,
    linear_source,
    post,
    stripped,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)  # trackers send no CSRF token


def pulling(source, external_project, requirements_filter, *, types=(), states="", priorities=None):
    """A project integration of ``source`` pulling requirements, pulled once."""
    integration = ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP"),
        source=source,
        external_project=external_project,
        priority_mapping=priorities or default_priority_mapping(),
        status_mapping=default_status_mapping(),
    )
    save_settings(
        integration,
        pull_requirements=True,
        requirements_filter=requirements_filter,
        requirement_types=list(types),
        state_mapping=parse_state_mapping(states),
        release_field="",
        release_date_fields=[],
        sprint_field="",
        comment_linked_tests=False,
    )
    pull_requirements(integration)
    return integration


def pulled(key):
    requirement = Requirement.objects.get(origin_key=key)
    return requirement.title, requirement.description, requirement.state, requirement.priority


# -- each tracker --------------------------------------------------------------------------------


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue(
        "SHOP", "Pay by card", issue_type="Story", labels=["requirement"], description="Cards", priority="Medium"
    )
    source = jira_cloud_source(fake_jira_cloud, issue_url_template="")
    pulling(source, "SHOP", "labels = requirement", types=["Story"])
    return fake_jira_cloud, source


def test_a_jira_delivery_updates_the_pulled_requirement_at_once(client, jira):
    fake, source = jira
    assert pulled("SHOP-1") == ("Pay by card", "Cards", "draft", "P2")
    fake.issue("SHOP-1").description = "Cards and *wallets*"
    fake.edit_issue("SHOP-1", summary="Pay by card or wallet", status="In Progress", priority="High")

    response = post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET))

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    assert pulled("SHOP-1") == ("Pay by card or wallet", "Cards and **wallets**", "active", "P1")


def test_a_jira_delivery_without_description_and_priority_leaves_them_as_they_are(jira):
    fake, source = jira
    fake.issue("SHOP-1").description = "Cards and wallets"
    fake.edit_issue("SHOP-1", summary="Pay by card or wallet", priority="Highest")
    delivery = fake.issue_delivery("SHOP-1", secret=SECRET)
    body = stripped(delivery, ("issue", "fields"), "description", "priority")

    webhooks.apply_events(source, provider_for(source).parse_webhook(body, delivery.headers))

    assert pulled("SHOP-1") == ("Pay by card or wallet", "Cards", "draft", "P2")


@pytest.fixture
def github(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "admin")
    fake_github.add_issue("acme/shop", "Pay by card", author=GITHUB_LOGIN, body="Cards", labels=("requirement",))
    source = github_source(fake_github)
    pulling(source, "acme/shop", "label:requirement")
    return fake_github, source


def test_a_github_delivery_updates_the_pulled_requirement_at_once(client, github):
    fake, source = github
    assert pulled("acme/shop#1") == ("Pay by card", "Cards", "draft", "P2")
    fake.edit_issue(
        "acme/shop",
        1,
        title="Pay by card or wallet",
        body="Cards and wallets",
        state="closed",
        state_reason="completed",
    )

    response = post(client, source, fake.issue_delivery("acme/shop", 1, action="closed", secret=SECRET))

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    assert pulled("acme/shop#1") == ("Pay by card or wallet", "Cards and wallets", "active", "P2")


def test_a_github_pinned_delivery_without_state_leaves_the_requirements_state(client, github):
    fake, source = github
    fake.edit_issue("acme/shop", 1, title="Pay by card or wallet", state="closed", state_reason="completed")

    post(client, source, fake.issue_delivery("acme/shop", 1, action="pinned", secret=SECRET))

    assert pulled("acme/shop#1") == ("Pay by card or wallet", "Cards", "draft", "P2")


@pytest.fixture
def gitlab(fake_gitlab):
    fake_gitlab.add_project("acme/web")
    fake_gitlab.add_member("acme/web", GITLAB_USERNAME, MAINTAINER)
    fake_gitlab.add_issue(
        "acme/web", "Pay by card", author=GITLAB_USERNAME, description="Cards", labels=("requirement",)
    )
    source = gitlab_source(fake_gitlab)
    pulling(source, "acme/web", "labels=requirement", states="deprecated = Closed")
    return fake_gitlab, source


def test_a_gitlab_issue_hook_updates_the_pulled_requirement_at_once(client, gitlab):
    fake, source = gitlab
    assert pulled("acme/web#1") == ("Pay by card", "Cards", "draft", "P2")
    fake.edit_issue("acme/web", 1, title="Pay by card or wallet", description="Cards and wallets", state="closed")

    response = post(client, source, fake.issue_delivery("acme/web", 1, action="close", secret=SECRET))

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    assert pulled("acme/web#1") == ("Pay by card or wallet", "Cards and wallets", "deprecated", "P2")


def test_a_gitlab_note_hook_updates_the_title_it_carries(client, gitlab):
    fake, source = gitlab
    fake.edit_issue("acme/web", 1, title="Pay by card or wallet")
    note = fake.add_note("acme/web", 1, "Wallets too", author=GITLAB_USERNAME)

    post(client, source, fake.note_delivery("acme/web", 1, note.id, action="create", secret=SECRET))

    assert pulled("acme/web#1") == ("Pay by card or wallet", "Cards", "draft", "P2")


def test_a_gitlab_move_keeps_the_requirement_and_the_next_pull_takes_nothing_back(
    client, gitlab, django_capture_on_commit_callbacks
):
    """The move's hook has the issue read where it went: the requirement takes the new key; the next pull
    of the old project passes over the closed original, so neither a second requirement nor a second
    reference appears, and the moved item is not deleted."""
    fake, source = gitlab
    fake.add_project("acme/ops")
    fake.add_member("acme/ops", GITLAB_USERNAME, MAINTAINER)
    fake.move_issue("acme/web", 1, "acme/ops", by=GITLAB_USERNAME)

    with django_capture_on_commit_callbacks(execute=True):
        post(client, source, fake.issue_delivery("acme/web", 1, action="close", secret=SECRET))
    summary = str(pull_requirements(source.project_integrations.get()))

    assert summary == "0 new, 0 updated, 0 unchanged, 0 deleted in the tracker (now deprecated)"
    requirement = Requirement.objects.get()
    assert (requirement.origin_key, requirement.state, requirement.origin_read_only) == ("acme/ops#1", "draft", True)
    assert requirement.origin_url == f"{fake.web_url}/acme/ops/-/issues/1"
    assert list(ExternalReference.objects.values_list("key", flat=True)) == ["acme/ops#1"]


@pytest.fixture
def azure(fake_azure_devops):
    fake_azure_devops.add_project("Shop")
    item = fake_azure_devops.add_work_item(
        "Shop",
        "User Story",
        "Pay by card",
        System_Tags="requirement",
        System_Description="<p>Cards</p>",
        Microsoft_VSTS_Common_Priority=3,
    )
    source = azure_devops_source(fake_azure_devops)
    priorities = parse_priority_mapping("1 = P0, blocker\n2 = P1, critical\n3 = P2, major\n4 = P3, minor")
    pulling(source, "Shop", "[System.Tags] CONTAINS 'requirement'", types=["User Story"], priorities=priorities)
    return fake_azure_devops, source, item


def test_an_azure_devops_service_hook_updates_the_pulled_requirement_at_once(
    client, azure, django_capture_on_commit_callbacks
):
    fake, source, item = azure
    key = str(item.id)
    assert pulled(key) == ("Pay by card", "Cards", "draft", "P2")
    item.fields |= {
        "System.Title": "Pay by card or wallet",
        "System.Description": "<p>Cards and <strong>wallets</strong></p>",
        "Microsoft.VSTS.Common.Priority": 2,
        "System.State": "Active",
        "System.ChangedDate": fake.now(),
    }
    item.rev += 1

    with django_capture_on_commit_callbacks(execute=True):  # the work item read again, as the hook asks
        response = post(client, source, fake.work_item_delivery(item.id, event="workitem.updated", password=SECRET))

    assert response.status_code == 200
    assert pulled(key) == ("Pay by card or wallet", "Cards and **wallets**", "active", "P1")


@pytest.fixture
def linear(fake_linear):
    fake_linear.add_team("ENG")
    fake_linear.add_label("requirement")
    fake_linear.add_issue("ENG", "Pay by card", description="Cards", priority=3, labels=["requirement"])
    source = linear_source(fake_linear)
    pulling(source, "ENG", "label:requirement", states="deprecated = Canceled")
    return fake_linear, source


def test_a_linear_delivery_updates_the_pulled_requirement_at_once(client, linear):
    fake, source = linear
    assert pulled("ENG-1") == ("Pay by card", "Cards", "draft", "P2")
    fake.edit_issue(
        "ENG-1", title="Pay by card or wallet", description="Cards and wallets", state="Canceled", priority=2
    )

    response = post(client, source, fake.issue_delivery("ENG-1", secret=SECRET))

    assert response.json() == {"message": "1 of 1 event(s) applied."}
    assert pulled("ENG-1") == ("Pay by card or wallet", "Cards and wallets", "deprecated", "P1")


def test_a_linear_delivery_without_title_and_state_leaves_them_as_they_are(linear):
    fake, source = linear
    fake.edit_issue("ENG-1", title="Pay by card or wallet", description="Cards and wallets", state="Canceled")
    delivery = fake.issue_delivery("ENG-1", secret=SECRET)
    body = stripped(delivery, ("data",), "title", "state", "stateId")

    webhooks.apply_events(source, provider_for(source).parse_webhook(body, delivery.headers))

    assert pulled("ENG-1") == ("Pay by card", "Cards and wallets", "draft", "P2")


def test_a_linear_team_move_gives_the_pulled_requirement_the_new_identifier(client, linear):
    fake, source = linear
    fake.add_team("OPS")
    moved = fake.move_issue("ENG-1", "OPS")

    post(client, source, fake.issue_delivery("OPS-1", secret=SECRET))

    requirement = Requirement.objects.get()
    assert (requirement.origin_key, requirement.origin_url, requirement.title) == ("OPS-1", moved.url, "Pay by card")
    assert requirement.pull.reference.key == "OPS-1"


# -- what is not a pulled requirement --------------------------------------------------------------


def test_a_delivery_for_an_item_no_requirement_was_pulled_from_changes_no_requirement(client, jira):
    fake, source = jira
    fake.add_issue("SHOP", "Checkout crashes", issue_type="Bug")  # not selected by the pull's filter
    before = list(Requirement.objects.values_list("title", "description", "state", "priority", "updated_at"))
    fake.edit_issue("SHOP-2", summary="Checkout crashes on Safari", status="In Progress")

    post(client, source, fake.issue_delivery("SHOP-2", event="jira:issue_created", secret=SECRET))

    assert list(Requirement.objects.values_list("title", "description", "state", "priority", "updated_at")) == before


def test_a_requirement_released_from_the_tracker_no_longer_follows_it(client, jira):
    """Switching the pull off makes the requirements editable: the tracker no longer owns them."""
    fake, source = jira
    integration = source.project_integrations.get()
    integration.pull_requirements = False
    integration.save()
    fake.edit_issue("SHOP-1", summary="Pay by card or wallet")

    post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET))

    requirement = Requirement.objects.get(origin_key="SHOP-1")
    assert (requirement.title, requirement.origin_read_only) == ("Pay by card", False)


def test_an_older_delivery_changes_no_requirement(client, jira):
    fake, source = jira
    edited = fake.now() + timedelta(minutes=1)
    fake.edit_issue("SHOP-1", summary="Pay by card or wallet")
    fake.issue("SHOP-1").updated = edited
    older = fake.issue_delivery("SHOP-1", secret=SECRET)
    fake.edit_issue("SHOP-1", summary="Pay by card, wallet or invoice")
    fake.issue("SHOP-1").updated = edited + timedelta(minutes=1)
    post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET))

    post(client, source, older)

    assert pulled("SHOP-1")[0] == "Pay by card, wallet or invoice"
