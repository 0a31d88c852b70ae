"""Pull filters are checked when they are saved on the settings page: a dry run against the tracker says
how many work items they match, a filter the tracker refuses is shown with the tracker's message and
nothing is saved, and a tracker that does not answer leaves the filter saved "not verified"."""

import pytest
from django.contrib.messages import get_messages

from integrations.mappings import default_priority_mapping
from integrations.models import AuthType, Provider
from issues.pulls.models import BugPullSettings, PullSettings
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

SETTINGS = {
    "pull_requirements": "on",
    "requirements_filter": "labels = requirement",
    "requirement_types": "Story",
    "state_mapping": "",
    "pull_bugs": "on",
    "bugs_filter": "labels = customer",
    "bug_types": "Bug",
}


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    for title in ("Pay by card", "Pay by invoice", "Refunds"):
        fake_jira_cloud.add_issue("SHOP", title, issue_type="Story", labels=["requirement"])
    fake_jira_cloud.add_issue("SHOP", "Card declined", issue_type="Bug", labels=["customer"])
    return fake_jira_cloud


@pytest.fixture
def integration(jira):
    source = SourceFactory(
        name="Acme Jira",
        provider=Provider.JIRA_CLOUD,
        base_url=jira.base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )
    return ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP"),
        source=source,
        external_project="SHOP",
        priority_mapping=default_priority_mapping(),
    )


@pytest.fixture
def admin_client(client, integration):
    client.force_login(MembershipFactory(project=integration.project, role=Role.ADMIN).user)
    return client


def url(integration):
    return f"/projects/SHOP/requirement-pulls/{integration.pk}/"


def test_saving_says_how_many_work_items_each_filter_matches(admin_client, integration, jira):
    response = admin_client.post(url(integration), SETTINGS)

    assert response.status_code == 302
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"What {integration} pulls is saved. Requirement filter matches about 3 work items in Acme Jira. "
        "Bug filter matches about 1 work item in Acme Jira."
    ]
    counted = [request.body for request in jira.requests_to("POST", r"/rest/api/3/search/approximate-count")]
    assert len(counted) == 2
    integration.refresh_from_db()
    assert integration.requirements_filter == "labels = requirement" and integration.bugs_filter == "labels = customer"


def test_a_filter_jira_refuses_is_shown_with_jiras_message_and_nothing_is_saved(admin_client, integration):
    response = admin_client.post(url(integration), {**SETTINGS, "requirements_filter": "labels = = requirement"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Acme Jira refused the requirement filter" in page
    assert "Error in the JQL Query: Expecting either a value, list or function but got &#x27;=&#x27;" in page
    assert CLOUD_API_TOKEN not in page
    integration.refresh_from_db()
    assert (integration.pull_requirements, integration.requirements_filter, integration.pull_bugs) == (False, "", False)
    assert not PullSettings.objects.exists() and not BugPullSettings.objects.exists()


def test_a_tracker_that_does_not_answer_leaves_the_filter_saved_not_verified(admin_client, integration, jira):
    jira.fail_next(503, {"errorMessages": ["Down for maintenance"]}, count=20, path=r".*approximate-count")

    response = admin_client.post(url(integration), SETTINGS)

    assert response.status_code == 302
    success, *warnings = list(get_messages(response.wsgi_request))
    assert str(success) == f"What {integration} pulls is saved."
    assert [message.level_tag for message in warnings] == ["warning", "warning"]
    assert str(warnings[0]).startswith("Requirement filter not verified: ") and "503" in str(warnings[0])
    integration.refresh_from_db()
    assert integration.requirements_filter == "labels = requirement"


def test_a_disconnected_source_is_not_asked_and_the_filter_is_saved_not_verified(admin_client, integration, jira):
    integration.source.connected = False
    integration.source.save()

    response = admin_client.post(url(integration), SETTINGS)

    assert response.status_code == 302
    assert "Requirement filter not verified: Acme Jira is disabled or disconnected" in " ".join(
        str(message) for message in get_messages(response.wsgi_request)
    )
    assert not jira.requests_to("POST", r"/rest/api/3/search/approximate-count")


def test_no_filter_and_no_pull_asks_the_tracker_nothing(admin_client, integration, jira):
    response = admin_client.post(url(integration), {"state_mapping": ""})

    assert response.status_code == 302
    assert not jira.requests_to("POST", r"/rest/api/3/search/approximate-count")
