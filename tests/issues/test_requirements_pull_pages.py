"""Pages of the requirement pull: its settings (project admins), "Pull now" (members), the panel on
the requirements page, the requirement's plan, and the admin form that keeps a pulled title."""

import pytest
from django.contrib.messages import get_messages

from integrations.mappings import default_priority_mapping
from integrations.models import AuthType, Provider
from issues.pulls.models import PullSettings
from projects.models import Requirement, Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


@pytest.fixture
def integration(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_version("SHOP", "2.0", release_date="2025-06-30")
    story = fake_jira_cloud.add_issue("SHOP", "Pay by card", issue_type="Story", labels=["requirement"])
    fake_jira_cloud.set_fix_versions(story.key, "2.0")
    source = SourceFactory(
        name="Acme Jira",
        provider=Provider.JIRA_CLOUD,
        base_url=fake_jira_cloud.base_url,
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


def user_with(integration, role):
    return MembershipFactory(project=integration.project, role=role).user


SETTINGS = {
    "pull_requirements": "on",
    "requirements_filter": "labels = requirement",
    "requirement_types": "Story, Epic",
    "state_mapping": "deprecated = Won't Do\ndraft = Backlog",
    "release_field": "fixVersions",
    "release_date_field_1": "customfield_10050",
    "release_date_field_2": "fixVersions",
    "release_date_field_3": "",
    "sprint_field": "customfield_10020",
    "comment_linked_tests": "on",
}


def test_a_project_admin_sets_up_the_pull(client, integration):
    client.force_login(user_with(integration, Role.ADMIN))
    url = f"/projects/SHOP/requirement-pulls/{integration.pk}/"

    form = client.get(url).content.decode()
    response = client.post(url, SETTINGS)

    assert "JQL, e.g. labels = requirement" in form
    assert response.status_code == 302
    integration.refresh_from_db()
    settings = PullSettings.objects.get(integration=integration)
    assert (integration.pull_requirements, integration.requirements_filter, integration.comment_linked_tests) == (
        True,
        "labels = requirement",
        True,
    )
    assert (settings.requirement_types, settings.state_mapping, settings.release_date_fields) == (
        ["Story", "Epic"],
        {"deprecated": ["Won't Do"], "draft": ["Backlog"]},
        ["customfield_10050", "fixVersions"],
    )
    trackers = client.get("/projects/SHOP/integrations/").content.decode()
    assert f'href="{url}"' in trackers


def test_a_state_mapping_that_does_not_parse_is_shown_and_nothing_saved(client, integration):
    client.force_login(user_with(integration, Role.ADMIN))

    response = client.post(
        f"/projects/SHOP/requirement-pulls/{integration.pk}/", {**SETTINGS, "state_mapping": "finished = Done"}
    )

    assert response.status_code == 200
    assert "“finished” is not a requirement state" in response.content.decode()
    assert not PullSettings.objects.exists()


def test_members_may_not_change_the_pull_settings(client, integration):
    client.force_login(user_with(integration, Role.MEMBER))
    url = f"/projects/SHOP/requirement-pulls/{integration.pk}/"
    assert client.get(url).status_code == 403
    assert client.post(url, SETTINGS).status_code == 403
    assert not PullSettings.objects.exists()


def test_a_member_pulls_now_and_reads_the_outcome_and_the_plan(client, integration):
    admin = user_with(integration, Role.ADMIN)
    client.force_login(admin)
    client.post(f"/projects/SHOP/requirement-pulls/{integration.pk}/", SETTINGS)
    client.force_login(user_with(integration, Role.MEMBER))

    listing = client.get("/projects/SHOP/requirements/").content.decode()
    response = client.post(f"/projects/SHOP/requirement-pulls/{integration.pk}/now/")

    settings_link = f'/requirement-pulls/{integration.pk}/">Settings</a>'
    assert "Acme Jira" in listing and "not pulled yet" in listing and settings_link not in listing
    assert response.status_code == 302 and response["Location"] == "/projects/SHOP/requirements/"
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "Pulled from Acme Jira: requirements: 1 new, 0 updated, 0 unchanged, 0 deleted in the tracker (now "
        "deprecated); releases and sprints: 1 new, 0 updated, 0 unchanged, 0 deleted in the tracker."
    ]
    requirement = Requirement.objects.get()
    detail = client.get(f"/projects/SHOP/requirements/{requirement.pk}/").content.decode()
    assert "2.0" in detail and "2025-06-30" in detail and "kept in sync by the tracker" in detail


def test_a_failing_pull_says_why(client, integration, fake_jira_cloud):
    client.force_login(user_with(integration, Role.ADMIN))
    client.post(f"/projects/SHOP/requirement-pulls/{integration.pk}/", SETTINGS)
    fake_jira_cloud.fail_next(400, {"errorMessages": ["The JQL is no longer valid."]}, path=r"/rest/api/3/search/jql")

    response = client.post(f"/projects/SHOP/requirement-pulls/{integration.pk}/now/", {"back": "settings"})

    *_, message = [str(message) for message in get_messages(response.wsgi_request)]
    assert message.startswith("Pulled from Acme Jira: requirements: failed, ") and "400" in message
    page = client.get(response["Location"]).content.decode()
    assert "Last error" in page and not Requirement.objects.exists()


def test_a_viewer_may_not_pull(client, integration):
    client.force_login(user_with(integration, Role.VIEWER))
    assert client.post(f"/projects/SHOP/requirement-pulls/{integration.pk}/now/").status_code == 403


def test_the_admin_form_keeps_a_pulled_title_and_explains_why(client, integration):
    staff = UserFactory(is_staff=True, is_superuser=True)
    requirement = Requirement.objects.create(
        project=integration.project,
        title="Pay by card",
        origin_tracker="Acme Jira",
        origin_key="SHOP-1",
        origin_read_only=True,
    )
    client.force_login(staff)

    page = client.get(f"/admin/projects/requirement/{requirement.pk}/change/").content.decode()

    assert 'name="title"' not in page and 'name="state"' in page
    assert "Pulled from Acme Jira (SHOP-1): the tracker owns the title and description" in page


def test_a_pulled_requirements_own_work_item_is_not_listed_among_the_issues(client, integration):
    client.force_login(user_with(integration, Role.ADMIN))
    client.post(f"/projects/SHOP/requirement-pulls/{integration.pk}/", SETTINGS)
    client.post(f"/projects/SHOP/requirement-pulls/{integration.pk}/now/")

    issues = client.get("/projects/SHOP/issues/").content.decode()

    assert Requirement.objects.get().origin_key == "SHOP-1" and "SHOP-1" not in issues
