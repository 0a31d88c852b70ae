"""The contract every API tracker keeps, run against each one's fake over real HTTP.

One scenario, the same for every tracker: file an issue, read it back, find it, comment on it,
close it and read it closed; and say which asked-for keys do not exist. What differs between
trackers (the account, where issues live, the name of a done status, whether a missing key can
be told apart from a hidden one) lives in the table of tracker setups below: a new tracker is
held to the same bar by adding one row and one setup fixture.
"""

from dataclasses import dataclass

import pytest

from integrations.models import AuthType, Provider
from integrations.providers import provider_for
from integrations.providers.base import IssueDraft, TrackerProvider
from tests.factories import ProjectIntegrationFactory, SourceFactory
from tests.fakes.fixtures import (
    ADO_PAT,
    CLOUD_API_TOKEN,
    CLOUD_LOGIN,
    GITHUB_LOGIN,
    GITHUB_TOKEN,
    GITLAB_PAT,
    GITLAB_USERNAME,
    LINEAR_API_KEY,
    REDMINE_API_KEY,
    REDMINE_LOGIN,
    SERVER_PAT,
)
from tests.fakes.gitlab import DEVELOPER

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

OPEN_CATEGORIES = {"todo", "in_progress"}


@dataclass(frozen=True)
class TrackerSetup:
    """What the contract needs to know of one tracker."""

    fixture: str  # the fixture giving (provider, done_status)
    project: str  # where issues are filed (ProjectIntegration.external_project)
    issue_type: str
    absent_key: str  # a key of that project no issue has
    absent_is: str  # how fetch_many reports it: "missing", or "forbidden" where the tracker cannot tell
    labels: bool = True  # whether its issues have labels (Redmine's have none)


TRACKERS = {
    "jira_cloud": TrackerSetup("jira_cloud", "SHOP", "Bug", "SHOP-999", "missing"),
    "jira_data_center": TrackerSetup("jira_data_center", "SHOP", "Bug", "SHOP-999", "missing"),
    "github": TrackerSetup("github", "acme/shop", "Issue", "acme/shop#999", "missing"),
    "gitlab": TrackerSetup("gitlab", "acme/web", "Issue", "acme/web#999", "missing"),
    # Azure DevOps answers a batch read without the ids it will not show, deleted or hidden alike.
    "azure_devops": TrackerSetup("azure_devops", "Fabrikam", "Bug", "999999", "forbidden"),
    "linear": TrackerSetup("linear", "ENG", "Issue", "ENG-999", "missing"),
    # Redmine answers 404 for a deleted issue and 403 for a hidden one: the two are told apart.
    "redmine": TrackerSetup("redmine", "shop", "Bug", "999", "missing", labels=False),
}
LABELLED = [name for name, setup in TRACKERS.items() if setup.labels]


def connected(provider: str, base_url: str, auth_type: str, credentials: dict, project: str) -> TrackerProvider:
    """The provider of a source for the fake at ``base_url``, filing issues in ``project``."""
    source = SourceFactory(
        provider=provider,
        base_url=base_url,
        allow_http=True,
        auth_type=auth_type,
        credentials=credentials,
        issue_url_template="",
    )
    ProjectIntegrationFactory(source=source, external_project=project)
    return provider_for(source)


def reads_comments(provider: TrackerProvider) -> bool:
    """Whether the provider reads comments back (the base class's ``comments`` raises Unsupported)."""
    return type(provider).comments is not TrackerProvider.comments


# -- the setups: the minimum each fake needs, and the tracker's own done status -----------------


@pytest.fixture
def jira_cloud(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    credentials = {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN}
    return connected(Provider.JIRA_CLOUD, fake_jira_cloud.base_url, AuthType.API_TOKEN, credentials, "SHOP"), "Done"


@pytest.fixture
def jira_data_center(fake_jira_server):
    fake_jira_server.add_project("SHOP")
    credentials = {"token": SERVER_PAT}
    return connected(Provider.JIRA_SERVER, fake_jira_server.base_url, AuthType.PAT, credentials, "SHOP"), "Done"


@pytest.fixture
def github(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    credentials = {"token": GITHUB_TOKEN}
    return connected(Provider.GITHUB, fake_github.web_url, AuthType.PAT, credentials, "acme/shop"), "Closed"


@pytest.fixture
def gitlab(fake_gitlab):
    fake_gitlab.add_project("acme/web")
    fake_gitlab.add_member("acme/web", GITLAB_USERNAME, DEVELOPER)
    credentials = {"token": GITLAB_PAT}
    return connected(Provider.GITLAB, fake_gitlab.web_url, AuthType.PAT, credentials, "acme/web"), "Closed"


@pytest.fixture
def azure_devops(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    credentials = {"token": ADO_PAT}
    return (
        connected(Provider.AZURE_DEVOPS, fake_azure_devops.base_url, AuthType.PAT, credentials, "Fabrikam"),
        "Resolved",
    )


@pytest.fixture
def linear(fake_linear):
    fake_linear.add_team("ENG", "Engineering")
    fake_linear.add_label("test-case", team="ENG")  # Linear takes only labels its team has
    for name in ("checkout", "ui-bug", "regression"):
        fake_linear.add_label(name, team="ENG")
    credentials = {"token": LINEAR_API_KEY}
    return connected(Provider.LINEAR, fake_linear.base_url, AuthType.PAT, credentials, "ENG"), "Done"


@pytest.fixture
def redmine(fake_redmine):
    fake_redmine.add_project("shop", members=(REDMINE_LOGIN,))
    credentials = {"token": REDMINE_API_KEY}
    return connected(Provider.REDMINE, fake_redmine.base_url, AuthType.PAT, credentials, "shop"), "Closed"


@pytest.fixture(params=list(TRACKERS))
def tracker(request) -> tuple[TrackerSetup, TrackerProvider, str]:
    setup = TRACKERS[request.param]
    provider, done_status = request.getfixturevalue(setup.fixture)
    return setup, provider, done_status


@pytest.fixture(params=LABELLED)
def labelled_tracker(request) -> tuple[TrackerSetup, TrackerProvider, str]:
    """A tracker whose issues have labels."""
    setup = TRACKERS[request.param]
    provider, done_status = request.getfixturevalue(setup.fixture)
    return setup, provider, done_status


# -- the contract --------------------------------------------------------------------------------


def test_an_issue_is_filed_read_found_commented_and_closed(tracker):
    setup, provider, done_status = tracker
    title = "Checkout rejects valid coupons"
    draft = IssueDraft(
        project=setup.project,
        issue_type=setup.issue_type,
        title=title,
        description="Steps:\n\n1. Add a **coupon**\n2. Pay\n\nExpected: the discount applies.",
    )

    created = provider.create_issue(draft)

    assert created.title == title
    fetched = provider.fetch_many([created.key])
    assert set(fetched.issues) == {created.key}
    assert fetched.issues[created.key].title == title
    assert fetched.issues[created.key].status_category in OPEN_CATEGORIES

    assert created.key in [issue.key for issue in provider.search(title)]

    provider.add_comment(created.key, "Reproduced on build 1.4.2")
    if reads_comments(provider):
        assert any("Reproduced on build 1.4.2" in comment.body for comment in provider.comments(created.key))

    provider.transition(created.key, done_status)

    closed = provider.fetch_many([created.key]).issues[created.key]
    assert closed.status_category == "done"


def test_an_issue_is_updated_in_place(tracker):
    """Syncing a test case again edits its issue: the same key, the new title, description and labels."""
    setup, provider, _ = tracker
    draft = IssueDraft(project=setup.project, issue_type=setup.issue_type, title="Pay with card", description="Old")
    created = provider.create_issue(draft)

    provider.update_issue(
        created.key,
        IssueDraft(
            project=setup.project,
            issue_type=setup.issue_type,
            title="Pay with a saved card",
            description="### Steps\n\n1. Open the cart\n\n### Expected result\n\nA receipt",
            labels=("test-case",),
        ),
    )

    fetched = provider.fetch_many([created.key])
    assert set(fetched.issues) == {created.key}
    assert fetched.issues[created.key].title == "Pay with a saved card"
    assert [issue.key for issue in provider.search("saved card")] == [created.key]


def test_labels_are_read_with_the_issue_and_replaced_as_a_whole(labelled_tracker):
    """Labels <-> tags: each tracker with labels reads an issue's labels (Azure DevOps: its tags) and sets them
    all at once."""
    setup, provider, _ = labelled_tracker
    draft = IssueDraft(project=setup.project, issue_type=setup.issue_type, title="Coupon", labels=("checkout",))
    created = provider.create_issue(draft)
    assert provider.fetch_many([created.key]).issues[created.key].labels == ("checkout",)

    provider.set_labels(created.key, ["ui-bug", "regression"])

    assert sorted(provider.fetch_many([created.key]).issues[created.key].labels) == ["regression", "ui-bug"]
    provider.set_labels(created.key, [])
    assert provider.fetch_many([created.key]).issues[created.key].labels == ()


def test_a_key_no_issue_has_is_reported_missing_or_forbidden_as_the_tracker_can_tell(tracker):
    setup, provider, _ = tracker

    result = provider.fetch_many([setup.absent_key])

    assert result.issues == {}
    assert {"missing": result.missing, "forbidden": result.forbidden} == {
        "missing": frozenset(),
        "forbidden": frozenset(),
        setup.absent_is: frozenset({setup.absent_key}),
    }
