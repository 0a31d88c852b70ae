"""Syncing a test case twice leaves one remote issue, edited, in every tracker with an API: the first
sync creates it as the integration's test issue type (Jira "Task", Azure DevOps "Test Case") or, where
issues have no test type, with the test label (GitHub, GitLab, Linear); the second edits it. Refresh
reads its status and comments. Against each tracker's fake over real HTTP."""

from dataclasses import dataclass

import pytest

from integrations.models import AuthType, Provider
from issues.filing import test_cases
from issues.filing.models import TestCaseSync
from tests.factories import ProjectIntegrationFactory, SourceFactory, TestCaseFactory, UserFactory
from tests.fakes.fixtures import ADO_PAT, GITHUB_LOGIN, GITHUB_TOKEN, GITLAB_PAT, GITLAB_USERNAME, LINEAR_API_KEY
from tests.fakes.gitlab import DEVELOPER
from tests.issues.filing_support import jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]

SITE = "http://testserver/"


@dataclass
class Tracker:
    integration: object
    fake: object
    issues: object  # () -> [(title, labels or type)] of the remote issues, read from the fake


def _integration(provider, base_url, auth_type, credentials, project, **settings):
    source = SourceFactory(
        provider=provider,
        base_url=base_url,
        allow_http=True,
        auth_type=auth_type,
        credentials=credentials,
        can_create_issues=True,
        issue_url_template="",
    )
    return ProjectIntegrationFactory(source=source, external_project=project, **settings)


@pytest.fixture
def jira(fake_jira_cloud):
    world = jira_world(fake_jira_cloud, TestCaseFactory().project, test_issue_type="Task")
    return Tracker(
        world.integration,
        fake_jira_cloud,
        lambda: [(i.summary, i.issue_type.name) for i in fake_jira_cloud.issues.values()],
    )


@pytest.fixture
def github(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    integration = _integration(
        Provider.GITHUB, fake_github.web_url, AuthType.PAT, {"token": GITHUB_TOKEN}, "acme/shop",
        test_issue_type="test-case",
    )  # fmt: skip
    repo = fake_github.repo("acme/shop")
    return Tracker(
        integration, fake_github, lambda: [(i.title, [label.name for label in i.labels]) for i in repo.issues.values()]
    )


@pytest.fixture
def gitlab(fake_gitlab):
    fake_gitlab.add_project("acme/web")
    fake_gitlab.add_member("acme/web", GITLAB_USERNAME, DEVELOPER)
    integration = _integration(
        Provider.GITLAB, fake_gitlab.web_url, AuthType.PAT, {"token": GITLAB_PAT}, "acme/web",
        test_issue_type="test-case",
    )  # fmt: skip
    project = fake_gitlab.project("acme/web")
    return Tracker(integration, fake_gitlab, lambda: [(i.title, list(i.labels)) for i in project.issues.values()])


@pytest.fixture
def azure_devops(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    integration = _integration(
        Provider.AZURE_DEVOPS, fake_azure_devops.base_url, AuthType.PAT, {"token": ADO_PAT}, "Fabrikam",
        default_issue_type="Bug", test_issue_type="Test Case",
    )  # fmt: skip
    return Tracker(
        integration,
        fake_azure_devops,
        lambda: [(i.fields["System.Title"], i.type.name) for i in fake_azure_devops.work_items.values()],
    )


@pytest.fixture
def linear(fake_linear):
    fake_linear.add_team("ENG", "Engineering")
    fake_linear.add_label("test-case", team="ENG")
    integration = _integration(
        Provider.LINEAR, fake_linear.base_url, AuthType.PAT, {"token": LINEAR_API_KEY}, "ENG",
        test_issue_type="test-case",
    )  # fmt: skip
    return Tracker(
        integration,
        fake_linear,
        lambda: [(i.title, [label.name for label in i.label_list]) for i in fake_linear.issues],
    )


@pytest.fixture
def tester():
    return UserFactory(username="tess", first_name="Tess", last_name="Tester")


EXPECTED_TYPE = {
    "jira": "Task",
    "github": ["test-case"],
    "gitlab": ["test-case"],
    "azure_devops": "Test Case",
    "linear": ["test-case"],
}


@pytest.mark.parametrize("name", list(EXPECTED_TYPE))
def test_syncing_twice_leaves_one_issue_edited(request, name, tester):
    tracker = request.getfixturevalue(name)
    case = TestCaseFactory(
        project=tracker.integration.project, title="Pay with card", steps=[{"action": "Open the cart", "expected": ""}]
    )

    first = test_cases.sync_case(case, tracker.integration, actor=tester, site_url=SITE)
    case.title = "Pay with a saved card"
    case.save()
    second = test_cases.sync_case(case, tracker.integration, actor=tester, site_url=SITE)

    assert first.created and not second.created
    assert second.sync.reference.key == first.sync.reference.key
    assert tracker.issues() == [("Pay with a saved card", EXPECTED_TYPE[name])]
    assert TestCaseSync.objects.get().reference.title == "Pay with a saved card"


def test_refresh_reads_the_status_and_comments(jira, tester):
    case = TestCaseFactory(project=jira.integration.project, title="Pay with card")
    synced = test_cases.sync_case(case, jira.integration, actor=tester, site_url=SITE)
    key = synced.sync.reference.key
    jira.fake.add_user("qa@example.com", display_name="Quinn QA")
    jira.fake.add_comment(key, "Needs a step for 3-D Secure", author="qa@example.com")
    jira.fake.edit_issue(key, status="In Progress")

    refreshed = test_cases.refresh_case_sync(synced.sync, actor=tester)

    assert refreshed.reference.status == "In Progress"
    assert [comment["body"] for comment in refreshed.comments] == ["Needs a step for 3-D Secure"]
    assert refreshed.refreshed_at is not None
