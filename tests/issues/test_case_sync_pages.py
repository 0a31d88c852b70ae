"""The test case page's trackers panel: members who may edit see "Sync with <tracker>", viewers see the
issue but no buttons, a tracker that fails leaves nothing written and says why, outsiders get 404."""

import pytest
from django.urls import reverse

from issues.filing.models import TestCaseSync
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, TestCaseFactory, UserFactory
from tests.issues.filing_support import jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def jira(fake_jira_cloud, project):
    return jira_world(fake_jira_cloud, project, test_issue_type="Task")


@pytest.fixture
def case(project):
    return TestCaseFactory(project=project, title="Pay with card")


def as_role(client, project, role):
    client.force_login(MembershipFactory(project=project, role=role).user)
    return client


def sync_url(case):
    return reverse("issues:case_sync", args=["SHOP", case.pk])


def test_members_sync_from_the_case_page_and_see_the_reference(client, project, jira, case):
    as_role(client, project, Role.MEMBER)
    page = client.get(reverse("projects:case", args=["SHOP", case.pk])).text
    assert "Sync with Acme Jira" in page and "Not synced yet" in page
    response = client.post(sync_url(case), {"integration": jira.integration.pk}, follow=True)
    assert "SHOP-1 is created in Acme Jira." in response.text
    assert 'class="synced-key"' in response.text and "Refresh SHOP-1" in response.text


def test_viewers_see_the_issue_but_cannot_sync(client, project, jira, case):
    as_role(client, project, Role.VIEWER)
    assert "Sync with Acme Jira" not in client.get(reverse("projects:case", args=["SHOP", case.pk])).text
    assert client.post(sync_url(case), {"integration": jira.integration.pk}).status_code == 403
    assert not jira.fake.issues and not TestCaseSync.objects.exists()


def test_outsiders_get_not_found(client, jira, case):
    client.force_login(UserFactory())
    assert client.post(sync_url(case), {"integration": jira.integration.pk}).status_code == 404


def test_a_tracker_that_is_down_leaves_nothing_written_and_says_so(client, project, jira, case):
    as_role(client, project, Role.MEMBER)
    jira.fake.server.stop()
    response = client.post(sync_url(case), {"integration": jira.integration.pk}, follow=True)
    assert "Nothing was synced:" in response.text
    assert not TestCaseSync.objects.exists()
