"""Reading many GitHub issues at once: 100 issues to a GraphQL query, against the fake GitHub
Enterprise Server over real HTTP.

What a refresh may conclude stays what the REST path concluded: an issue is missing only when
it is really gone, an issue in a repository the account cannot see is forbidden, and a failure of
the query is a typed error that leaves every cached value and link as it was.
"""

import pytest

from integrations.errors import AuthenticationFailed, RateLimited, UpstreamError
from integrations.http import TrackerHttpClient
from integrations.models import AuthType, Provider
from integrations.providers import provider_for
from integrations.providers.github import GitHub
from issues.links.models import ExternalReference
from issues.sync.refresh import refresh_source
from tests.factories import ExternalReferenceFactory, ProjectIntegrationFactory, SourceFactory
from tests.fakes.fixtures import GITHUB_LOGIN, GITHUB_TOKEN

pytestmark = pytest.mark.django_db

JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def waits(monkeypatch):
    """Every wait of the HTTP client, recorded instead of slept."""
    recorded = []
    monkeypatch.setitem(TrackerHttpClient.__init__.__kwdefaults__, "sleep", recorded.append)
    return recorded


@pytest.fixture
def source(fake_github):
    return SourceFactory(
        provider=Provider.GITHUB,
        name="GitHub",
        base_url=fake_github.web_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": GITHUB_TOKEN},
        issue_url_template="",
    )


@pytest.fixture
def github(source) -> GitHub:
    return provider_for(source)


@pytest.fixture
def repos(fake_github, source):
    """acme/shop and acme/web, public, the bot may push to both; alice works there."""
    fake_github.add_user("alice", "Alice")
    for name in ("acme/shop", "acme/web"):
        fake_github.add_repo(name)
        fake_github.grant(name, GITHUB_LOGIN, "write")
        fake_github.grant(name, "alice", "write")
    ProjectIntegrationFactory(source=source, external_project="acme/shop")


def rest_reads(fake_github):
    return fake_github.requests_to("GET", r"/repos/.*")


def test_250_issues_in_two_repositories_are_refreshed_in_three_graphql_queries(fake_github, github, repos):
    for number in range(150):
        fake_github.add_issue("acme/shop", f"Shop {number + 1}", author="alice", assignees=("alice",))
    for number in range(100):
        fake_github.add_issue("acme/web", f"Web {number + 1}", author="alice", state="closed")
    keys = [f"acme/shop#{n}" for n in range(1, 151)] + [f"acme/web#{n}" for n in range(1, 101)]
    known = github.fetch_many(keys).issues
    fake_github.edit_issue("acme/shop", 150, title="Shop 150, renamed")
    before = len(fake_github.graphql_requests())

    result = github.refresh(known)

    assert len(fake_github.graphql_requests()) - before == 3
    assert rest_reads(fake_github) == []
    assert sorted(result.issues) == sorted(keys)
    assert result.issues["acme/shop#150"].title == "Shop 150, renamed"
    assert result.issues["acme/shop#150"].assignee == "alice"
    assert (result.issues["acme/web#100"].title, result.issues["acme/web#100"].status) == ("Web 100", "Closed")
    assert result.missing == result.forbidden == frozenset()
    # 100 issues a query, each with two connections (its assignees and its labels): 200 requests, two
    # points; the 50 issues of the third query cost one.
    assert fake_github.quota(GITHUB_LOGIN, "graphql").used == 10
    query = fake_github.graphql_requests()[-3].json()["query"]
    assert "r0: repository(owner: $o0, name: $n0)" in query and "i1: issueOrPullRequest(number: 1)" in query


def test_graphql_and_rest_map_an_issue_and_a_pull_request_alike(fake_github, source, repos):
    fake_github.add_issue("acme/shop", "Cart empty", author="alice", assignees=("alice", GITHUB_LOGIN))
    fake_github.add_issue("acme/shop", "Won't do", author="alice", state="closed", state_reason="not_planned")
    fake_github.add_issue("acme/shop", "Done", author="alice", state="closed")
    fake_github.add_issue("acme/shop", "Faster checkout", author="alice", pull_request=True)
    keys = ["acme/shop#1", "acme/shop#2", "ACME/Shop#3", "acme/shop#4"]

    over_graphql = provider_for(source).fetch_many(keys)
    fake_github.graphql_enabled = False
    over_rest = provider_for(source).fetch_many(keys)

    assert {key: vars(issue) | {"etag": ""} for key, issue in over_rest.issues.items()} == {
        key: vars(issue) for key, issue in over_graphql.issues.items()
    }
    assert over_graphql.issues["acme/shop#4"].url == f"{fake_github.web_url}/acme/shop/pull/4"
    assert over_graphql.issues["ACME/Shop#3"].key == "acme/shop#3"


def test_a_deleted_issue_is_missing_once_rest_confirms_it_is_gone(fake_github, github, repos):
    fake_github.add_issue("acme/shop", "Spam", author="alice")
    fake_github.add_issue("acme/shop", "Real", author="alice")
    fake_github.delete_issue("acme/shop", 1)

    result = github.fetch_many(["acme/shop#1", "acme/shop#2", "acme/shop#99"])

    assert result.missing == {"acme/shop#1", "acme/shop#99"}
    assert list(result.issues) == ["acme/shop#2"]
    # Only the issues GraphQL could not resolve were read again, one GET each.
    assert [request.path for request in rest_reads(fake_github)] == [
        "/api/v3/repos/acme/shop/issues/1",
        "/api/v3/repos/acme/shop/issues/99",
    ]


def test_a_transferred_issue_comes_back_under_its_new_key(fake_github, github, repos):
    fake_github.add_issue("acme/shop", "Belongs to web", author="alice")
    fake_github.transfer_issue("acme/shop", 1, "acme/web")

    result = github.fetch_many(["acme/shop#1"])

    issue = result.issues["acme/shop#1"]
    assert (issue.key, issue.title) == ("acme/web#1", "Belongs to web")
    assert issue.url == f"{fake_github.web_url}/acme/web/issues/1"
    assert result.missing == frozenset()


def test_issues_in_a_repository_the_account_cannot_see_are_forbidden_never_missing(fake_github, github, repos):
    fake_github.add_repo("acme/secret", private=True)
    fake_github.add_issue("acme/secret", "Hidden", author="alice")
    fake_github.add_issue("acme/shop", "Visible", author="alice")

    result = github.fetch_many(["acme/secret#1", "acme/secret#7", "acme/shop#1", "#3"])

    assert result.forbidden == {"acme/secret#1", "acme/secret#7", "#3"}
    assert result.missing == frozenset()
    assert list(result.issues) == ["acme/shop#1"]
    assert rest_reads(fake_github) == []


def test_a_partial_answer_keeps_what_github_resolved_and_forbids_what_saml_keeps_out(fake_github, github, repos):
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")
    fake_github.add_issue("acme/web", "Menu", author="alice")
    node = {
        "number": 1,
        "title": "Cart empty",
        "closed": False,
        "stateReason": None,
        "url": f"{fake_github.web_url}/acme/shop/issues/1",
        "createdAt": "2026-01-02T03:04:05Z",
        "updatedAt": "2026-01-03T03:04:05Z",
        "closedAt": None,
        "repository": {"nameWithOwner": "acme/shop"},
        "assignees": {"nodes": []},
    }
    saml = (
        "Resource protected by organization SAML enforcement. You must grant your Personal Access token "
        "access to this organization."
    )
    fake_github.fail_next(
        200,
        {"data": {"r0": {"i1": node}, "r1": None}, "errors": [{"type": "FORBIDDEN", "path": ["r1"], "message": saml}]},
        headers=JSON,
    )

    result = github.fetch_many(["acme/shop#1", "acme/web#1"])

    assert result.issues["acme/shop#1"].title == "Cart empty"
    assert result.forbidden == {"acme/web#1"}
    assert result.missing == frozenset()


def test_an_error_github_does_not_explain_fails_the_whole_read(fake_github, github, repos):
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")
    fake_github.fail_next(
        200,
        {
            "data": {"r0": None},
            "errors": [
                {
                    "type": "SERVICE_UNAVAILABLE",
                    "path": ["r0"],
                    "message": f"Something went wrong while executing your query for {GITHUB_TOKEN}.",
                }
            ],
        },
        headers=JSON,
    )

    with pytest.raises(UpstreamError) as caught:
        github.fetch_many(["acme/shop#1"])

    assert "Something went wrong while executing your query" in str(caught.value)
    assert GITHUB_TOKEN not in str(caught.value)


def test_a_query_github_refuses_is_an_upstream_error(fake_github, github, repos):
    fake_github.fail_next(
        200,
        {
            "errors": [
                {"message": "Field 'nope' doesn't exist on type 'Issue'", "locations": [{"line": 1, "column": 2}]}
            ]
        },
        headers=JSON,
    )

    with pytest.raises(UpstreamError) as caught:
        github.fetch_many(["acme/shop#1"])

    assert "Field 'nope' doesn't exist" in str(caught.value)


def test_an_instance_without_graphql_is_read_over_rest(fake_github, github, repos):
    fake_github.graphql_enabled = False
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")
    fake_github.add_issue("acme/shop", "Gone", author="alice")
    fake_github.delete_issue("acme/shop", 2)

    result = github.fetch_many(["acme/shop#1", "acme/shop#2"])

    assert result.issues["acme/shop#1"].etag.startswith('W/"')
    assert result.missing == {"acme/shop#2"}
    assert len(fake_github.graphql_requests()) == 1
    assert len(rest_reads(fake_github)) == 2

    github.fetch_many(["acme/shop#1"])

    assert len(fake_github.graphql_requests()) == 1, "the instance is known to serve no GraphQL for a while"
    assert len(rest_reads(fake_github)) == 3


def test_graphql_lives_at_api_graphql_on_enterprise_server_and_api_github_com_on_github_com(fake_github, github):
    assert github.graphql_url == f"{fake_github.web_url}/api/graphql"
    dot_com = SourceFactory(
        provider=Provider.GITHUB,
        base_url="https://github.com",
        auth_type=AuthType.PAT,
        credentials={"token": GITHUB_TOKEN},
    )
    assert provider_for(dot_com).graphql_url == "https://api.github.com/graphql"


def test_a_rejected_token_is_an_authentication_failure_without_the_token(fake_github, source, repos):
    source.credentials = {"token": "ghp_revoked_secret_value"}

    with pytest.raises(AuthenticationFailed) as caught:
        provider_for(source).fetch_many(["acme/shop#1"])

    assert caught.value.status == 401
    assert "Bad credentials" in str(caught.value)
    assert "ghp_revoked_secret_value" not in str(caught.value)
    assert rest_reads(fake_github) == []


def test_a_used_up_graphql_rate_limit_is_rate_limited_until_the_reset(fake_github, github, repos):
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")
    fake_github.exhaust_rate_limit(GITHUB_LOGIN, "graphql", reset_in=1800)

    with pytest.raises(RateLimited) as caught:
        github.fetch_many(["acme/shop#1"])

    assert 1790 <= caught.value.retry_after <= 1800
    assert "API rate limit exceeded" in str(caught.value)
    assert len(fake_github.graphql_requests()) == 1
    assert rest_reads(fake_github) == []


def test_a_secondary_rate_limit_on_graphql_is_rate_limited(fake_github, github, repos):
    fake_github.secondary_limit_next(retry_after=None)

    with pytest.raises(RateLimited) as caught:
        github.fetch_many(["acme/shop#1"])

    assert caught.value.retry_after == 60
    assert "secondary rate limit" in str(caught.value)


def test_graphql_down_is_an_upstream_error_after_bounded_retries(fake_github, github, repos, waits):
    fake_github.fail_next(502, "<html>Bad Gateway</html>", count=4)

    with pytest.raises(UpstreamError) as caught:
        github.fetch_many(["acme/shop#1"])

    assert caught.value.status == 502
    assert len(fake_github.graphql_requests()) == 4  # the query, and three retries: it only reads
    assert len(waits) == 3


@pytest.mark.parametrize("status", [500, 502])
def test_graphql_down_during_a_refresh_leaves_every_cached_value(fake_github, source, repos, waits, status):
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")
    reference = ExternalReferenceFactory(source=source, key="acme/shop#1", title="Cached title", status="Open")
    fake_github.fail_next(status, {"message": "Server Error"}, headers=JSON, count=4)

    report = refresh_source(source.pk, [reference.pk])

    assert report.failed == 1 and report.error
    kept = ExternalReference.objects.get(pk=reference.pk)
    assert (kept.title, kept.status, kept.deleted_remotely) == ("Cached title", "Open", False)
