"""The dry run of a pull filter (``count_matching``): how many work items the pull's query selects,
read with each tracker's documented counting request, and the tracker's own message when it refuses
the filter. Over real HTTP against the fakes."""

import json

import pytest

from integrations.errors import RemoteValidationError
from integrations.models import AuthType, Provider
from integrations.providers import provider_for
from integrations.providers.base import PULL_LIMIT, MatchCount, PullQuery
from tests.factories import SourceFactory
from tests.fakes.fixtures import (
    ADO_PAT,
    CLOUD_API_TOKEN,
    CLOUD_LOGIN,
    GITHUB_LOGIN,
    GITHUB_TOKEN,
    GITLAB_PAT,
    GITLAB_USERNAME,
    LINEAR_API_KEY,
    SERVER_PAT,
)
from tests.fakes.gitlab import DEVELOPER

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


def _provider(fake, provider, base_url, auth_type, credentials):
    source = SourceFactory(
        provider=provider,
        base_url=base_url,
        allow_http=True,
        auth_type=auth_type,
        credentials=credentials,
        issue_url_template="",
    )
    fake.provider = provider_for(source)
    return fake


def test_the_words_of_a_count_say_how_exact_it_is():
    assert MatchCount(37).in_words() == "matches 37 work items"
    assert MatchCount(1).in_words() == "matches 1 work item"
    assert MatchCount(37, precision="approximate").in_words() == "matches about 37 work items"
    assert MatchCount(5000, precision="at_least").in_words() == "matches at least 5000 work items"


# -- Jira ----------------------------------------------------------------------------------------


@pytest.fixture
def jira_cloud(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_project("OTHER")
    return _provider(
        fake_jira_cloud,
        Provider.JIRA_CLOUD,
        fake_jira_cloud.base_url,
        AuthType.API_TOKEN,
        {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )


@pytest.fixture
def jira_server(fake_jira_server):
    fake_jira_server.add_project("SHOP")
    fake_jira_server.add_project("OTHER")
    return _provider(
        fake_jira_server, Provider.JIRA_SERVER, fake_jira_server.base_url, AuthType.PAT, {"token": SERVER_PAT}
    )


def _jira_issues(fake):
    fake.add_issue("SHOP", "Pay by card", issue_type="Story", labels=["req"])
    fake.add_issue("SHOP", "Pay by invoice", issue_type="Story", labels=["req"])
    fake.add_issue("SHOP", "Card declined", issue_type="Bug", labels=["req"])
    fake.add_issue("SHOP", "Not asked for", issue_type="Story")
    fake.add_issue("OTHER", "Another project", issue_type="Story", labels=["req"])


def test_jira_cloud_counts_with_the_approximate_count_of_the_pulls_jql(jira_cloud):
    _jira_issues(jira_cloud)

    count = jira_cloud.provider.count_matching(
        PullQuery(project="SHOP", filter="labels = req ORDER BY created DESC", item_types=("Story",))
    )

    assert count == MatchCount(2, precision="approximate")
    (request,) = jira_cloud.requests_to("POST", r"/rest/api/3/search/approximate-count")
    assert json.loads(request.body) == {"jql": 'project = "SHOP" AND (labels = req) AND issuetype in ("Story")'}
    assert not jira_cloud.requests_to("POST", r"/rest/api/3/search/jql"), "no issue is read"


def test_jira_data_center_counts_with_the_total_of_a_search_for_no_issue(jira_server):
    _jira_issues(jira_server)

    count = jira_server.provider.count_matching(PullQuery(project="SHOP", filter="labels = req"))

    assert count == MatchCount(3)
    (request,) = jira_server.requests_to("POST", r"/rest/api/2/search")
    body = json.loads(request.body)
    assert body["maxResults"] == 0 and "validateQuery" not in body  # Jira's default: strict


@pytest.mark.parametrize("deployment", ["jira_cloud", "jira_server"])
def test_a_jql_jira_refuses_raises_with_jiras_message(deployment, request):
    fake = request.getfixturevalue(deployment)

    with pytest.raises(RemoteValidationError) as refused:
        fake.provider.count_matching(PullQuery(project="SHOP", filter="labels = = req"))

    assert "The tracker says: Error in the JQL Query: Expecting either a value" in str(refused.value)


def test_jira_data_center_refuses_a_value_that_does_not_exist(jira_server):
    with pytest.raises(RemoteValidationError) as refused:
        jira_server.provider.count_matching(PullQuery(project="NOPE"))

    assert "NOPE" in str(refused.value)


# -- GitHub --------------------------------------------------------------------------------------


@pytest.fixture
def github(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.add_repo("acme/web")
    return _provider(fake_github, Provider.GITHUB, fake_github.web_url, AuthType.PAT, {"token": GITHUB_TOKEN})


def test_github_counts_with_the_total_count_of_the_pulls_issue_search(github):
    for title in ("Pay by card", "Pay by invoice"):
        github.add_issue("acme/shop", title, author=GITHUB_LOGIN, labels=("requirement",))
    github.add_issue("acme/shop", "Unlabelled", author=GITHUB_LOGIN)
    github.add_issue("acme/web", "Elsewhere", author=GITHUB_LOGIN, labels=("requirement",))

    count = github.provider.count_matching(PullQuery(project="acme/shop", filter="label:requirement"))

    assert count == MatchCount(2)
    (search,) = github.requests_to("GET", r"/search/issues")
    assert search.param("q") == "label:requirement is:issue repo:acme/shop"
    assert search.param("per_page") == "1"


def test_github_refuses_a_search_of_a_repository_the_account_cannot_see_with_its_message(github):
    with pytest.raises(RemoteValidationError) as refused:
        github.provider.count_matching(PullQuery(project="acme/shop", filter="repo:acme/secret"))

    assert "cannot be searched" in str(refused.value)


# -- GitLab --------------------------------------------------------------------------------------


@pytest.fixture
def gitlab(fake_gitlab):
    fake_gitlab.add_project("acme/web")
    fake_gitlab.add_member("acme/web", GITLAB_USERNAME, DEVELOPER)
    return _provider(fake_gitlab, Provider.GITLAB, fake_gitlab.web_url, AuthType.PAT, {"token": GITLAB_PAT})


def test_gitlab_counts_with_the_x_total_header_of_the_pulls_listing(gitlab):
    for title in ("Pay by card", "Pay by invoice", "Refunds"):
        gitlab.add_issue("acme/web", title, author=GITLAB_USERNAME, labels=("requirement",))
    gitlab.add_issue("acme/web", "Unlabelled", author=GITLAB_USERNAME)

    count = gitlab.provider.count_matching(PullQuery(project="acme/web", filter="labels=requirement"))

    assert count == MatchCount(3)
    (listing,) = gitlab.requests_to("GET", r"/projects/acme%2Fweb/issues")
    assert listing.param("per_page") == "1" and listing.param("labels") == "requirement"


def test_a_gitlab_filter_that_is_not_list_parameters_is_refused_before_anything_is_sent(gitlab):
    with pytest.raises(RemoteValidationError, match="no parameter “colour”"):
        gitlab.provider.count_matching(PullQuery(project="acme/web", filter="colour=blue"))

    assert not gitlab.requests_to("GET", r"/projects/acme%2Fweb/issues")


# -- Azure DevOps --------------------------------------------------------------------------------


@pytest.fixture
def ado(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    return _provider(
        fake_azure_devops, Provider.AZURE_DEVOPS, fake_azure_devops.base_url, AuthType.PAT, {"token": ADO_PAT}
    )


def test_azure_devops_counts_the_ids_the_pulls_wiql_answers(ado):
    ado.add_work_item("Fabrikam", "User Story", "Pay by card", System_Tags="requirement")
    ado.add_work_item("Fabrikam", "User Story", "Pay by invoice", System_Tags="requirement")
    ado.add_work_item("Fabrikam", "Bug", "Card declined", System_Tags="requirement")

    count = ado.provider.count_matching(
        PullQuery(project="Fabrikam", filter="[System.Tags] CONTAINS 'requirement'", item_types=("User Story",))
    )

    assert count == MatchCount(2)
    (query,) = ado.requests_to("POST", r"/Fabrikam/_apis/wit/wiql")
    assert query.param("$top") == str(PULL_LIMIT)


def test_a_wiql_condition_azure_devops_refuses_raises_with_its_message(ado):
    with pytest.raises(RemoteValidationError) as refused:
        ado.provider.count_matching(PullQuery(project="Fabrikam", filter="[System.Tags] CONTAINS"))

    assert "The tracker says: Expecting a value" in str(refused.value)


# -- Linear --------------------------------------------------------------------------------------


@pytest.fixture
def linear(fake_linear):
    fake_linear.add_team("ENG", "Engineering")
    fake_linear.add_label("requirement")
    return _provider(fake_linear, Provider.LINEAR, fake_linear.base_url, AuthType.PAT, {"token": LINEAR_API_KEY})


def test_linear_counts_the_issues_the_pulls_filter_lists_by_id(linear):
    linear.add_issue("ENG", "Pay by card", labels=["requirement"])
    linear.add_issue("ENG", "Pay by invoice", labels=["requirement"])
    linear.add_issue("ENG", "Unlabelled")

    count = linear.provider.count_matching(PullQuery(project="ENG", filter="label:requirement"))

    assert count == MatchCount(2)
    pulls = [body for body in linear.graphql_requests() if body["query"].startswith("query PullIssues")]
    assert all("nodes { id }" in body["query"] for body in pulls)


def test_a_linear_filter_naming_a_label_the_team_lacks_is_refused(linear):
    with pytest.raises(RemoteValidationError, match="no label “nope”"):
        linear.provider.count_matching(PullQuery(project="ENG", filter="label:nope"))


def test_linear_stops_counting_at_its_limit_and_says_at_least(linear, monkeypatch):
    monkeypatch.setattr("integrations.providers.linear.COUNT_LIMIT", 3)
    for number in range(5):
        linear.add_issue("ENG", f"Issue {number}", labels=["requirement"])

    count = linear.provider.count_matching(PullQuery(project="ENG", filter="label:requirement"))

    assert count == MatchCount(3, precision="at_least")
