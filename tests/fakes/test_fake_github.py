"""The fake GitHub answers as GitHub's documented REST API does (github.com and Enterprise Server).

These tests talk to the fake over real HTTP with plain `requests`, so what they pin is the wire
behaviour the project's own client will meet.
"""

import time
from datetime import UTC, datetime

import pytest
import requests

from tests.fakes.fixtures import GITHUB_LOGIN, GITHUB_TOKEN
from tests.fakes.github import GitHubFake


class ApiSession(requests.Session):
    """A session whose request paths are relative to the fake's API root."""

    def __init__(self, api_url, token=GITHUB_TOKEN):
        super().__init__()
        self.api_url = api_url
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, path, *args, **kwargs):
        url = path if path.startswith("http") else self.api_url + path
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def api(fake_github):
    return ApiSession(fake_github.api_url)


@pytest.fixture
def shop(fake_github):
    """A public repository the bot may write to, owned by the organization `acme`."""
    repo = fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    fake_github.add_user("alice", "Alice")
    fake_github.grant("acme/shop", "alice", "write")
    fake_github.add_user("mallory")
    return repo


# -- hosts and authentication --------------------------------------------------------------------


def test_enterprise_server_serves_the_api_under_api_v3(fake_github, api):
    assert fake_github.api_url == fake_github.web_url + "/api/v3"
    assert api.get("/user").status_code == 200
    assert requests.get(fake_github.web_url + "/user").status_code == 404


def test_github_dot_com_serves_the_api_at_the_root():
    fake = GitHubFake(enterprise=False)
    fake.add_token("octocat", "tok")
    with fake:
        me = ApiSession(fake.api_url, "tok").get("/user")
        assert fake.api_url == fake.web_url
    assert me.json()["login"] == "octocat"


def test_user_names_the_account_and_a_classic_token_lists_its_scopes(api):
    response = api.get("/user")

    assert response.json()["login"] == GITHUB_LOGIN
    assert response.json()["name"] == "Test Bot"
    assert response.headers["X-OAuth-Scopes"] == "repo, read:org"
    assert "GitHub-Authentication-Token-Expiration" not in response.headers


def test_the_token_prefix_is_accepted_like_bearer(fake_github):
    response = requests.get(fake_github.api_url + "/user", headers={"Authorization": f"token {GITHUB_TOKEN}"})
    assert response.status_code == 200


def test_an_expiring_fine_grained_token_names_its_expiry_and_has_no_scopes(fake_github):
    fake_github.add_token(
        GITHUB_LOGIN, "github_pat_x", kind="fine_grained", expires_at=datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    response = ApiSession(fake_github.api_url, "github_pat_x").get("/user")

    assert response.headers["GitHub-Authentication-Token-Expiration"] == "2031-01-02 03:04:05 UTC"
    assert "X-OAuth-Scopes" not in response.headers


def test_a_bad_token_is_refused_with_401_bad_credentials_even_for_public_data(fake_github, shop):
    fake_github.add_issue("acme/shop", "Public", author="alice")
    response = ApiSession(fake_github.api_url, "ghp_revoked").get("/repos/acme/shop/issues/1")

    assert response.status_code == 401
    assert response.json() == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }


def test_the_user_endpoint_needs_authentication(fake_github):
    response = ApiSession(fake_github.api_url, token=None).get("/user")
    assert response.status_code == 401
    assert response.json()["message"] == "Requires authentication"


def test_user_repos_pages_with_link_headers(fake_github, api):
    for index in range(5):
        fake_github.add_repo(f"acme/repo-{index}", private=True)
        fake_github.grant(f"acme/repo-{index}", GITHUB_LOGIN, "read")
    fake_github.add_repo("acme/hidden", private=True)

    first = api.get("/user/repos", params={"per_page": 2})
    last = api.get(first.links["last"]["url"])

    assert [repo["full_name"] for repo in first.json()] == ["acme/repo-0", "acme/repo-1"]
    assert first.json()[0]["permissions"]["pull"] is True and first.json()[0]["permissions"]["push"] is False
    assert set(first.links) == {"next", "last"}
    assert "per_page=2" in first.links["next"]["url"]
    assert [repo["full_name"] for repo in last.json()] == ["acme/repo-4"]
    assert set(last.links) == {"prev", "first"}


# -- reading issues ------------------------------------------------------------------------------


def test_an_issue_reads_with_its_fields_and_a_weak_etag(fake_github, api, shop):
    fake_github.add_milestone("acme/shop", "v1")
    fake_github.add_issue(
        "acme/shop", "Cart is empty", author="alice", body="Steps", labels=("bug",), assignees=("alice",)
    )

    response = api.get("/repos/acme/shop/issues/1")
    issue = response.json()

    assert response.status_code == 200
    assert response.headers["ETag"].startswith('W/"')
    assert issue["number"] == 1 and issue["title"] == "Cart is empty" and issue["body"] == "Steps"
    assert issue["state"] == "open" and issue["state_reason"] is None
    assert issue["html_url"] == f"{fake_github.web_url}/acme/shop/issues/1"
    assert [label["name"] for label in issue["labels"]] == ["bug"]
    assert [user["login"] for user in issue["assignees"]] == ["alice"]
    assert issue["user"]["login"] == "alice"
    assert issue["updated_at"].endswith("Z")
    assert "pull_request" not in issue


def test_a_matching_if_none_match_answers_304_without_spending_rate_limit(fake_github, api, shop):
    fake_github.add_issue("acme/shop", "Cart is empty", author="alice")
    first = api.get("/repos/acme/shop/issues/1")
    remaining = int(first.headers["X-RateLimit-Remaining"])

    again = api.get("/repos/acme/shop/issues/1", headers={"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert int(again.headers["X-RateLimit-Remaining"]) == remaining
    assert fake_github.quota(GITHUB_LOGIN).used == 1


def test_a_changed_issue_answers_200_with_a_new_etag_and_spends_rate_limit(fake_github, api, shop):
    fake_github.add_issue("acme/shop", "Cart is empty", author="alice")
    first = api.get("/repos/acme/shop/issues/1")
    fake_github.edit_issue("acme/shop", 1, title="Cart is empty after login")

    again = api.get("/repos/acme/shop/issues/1", headers={"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 200
    assert again.json()["title"] == "Cart is empty after login"
    assert again.headers["ETag"] != first.headers["ETag"]
    assert int(again.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1


def test_every_response_carries_the_primary_rate_limit_headers(api, shop):
    response = api.get("/repos/acme/shop/issues/99")

    assert response.status_code == 404
    assert response.headers["X-RateLimit-Limit"] == "5000"
    assert response.headers["X-RateLimit-Remaining"] == "4999"
    assert response.headers["X-RateLimit-Used"] == "1"
    assert response.headers["X-RateLimit-Resource"] == "core"
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()


def test_a_missing_issue_is_404_with_github_s_error_body(api, shop):
    response = api.get("/repos/acme/shop/issues/42")

    assert response.status_code == 404
    assert response.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/issues/issues#get-an-issue",
        "status": "404",
    }


def test_a_private_repository_reads_as_not_found_without_access_or_without_the_repo_scope(fake_github, api):
    fake_github.add_repo("acme/secret", private=True)
    fake_github.add_user("carol")
    fake_github.add_issue("acme/secret", "Hidden", author="carol")
    fake_github.add_repo("acme/vault", private=True)
    fake_github.grant("acme/vault", GITHUB_LOGIN, "write")
    fake_github.add_issue("acme/vault", "Visible to collaborators", author="carol")
    fake_github.add_token(GITHUB_LOGIN, "ghp_public_only", scopes=("public_repo",))

    assert api.get("/repos/acme/secret/issues/1").status_code == 404
    assert api.get("/repos/acme/vault/issues/1").status_code == 200
    assert ApiSession(fake_github.api_url, "ghp_public_only").get("/repos/acme/vault/issues/1").status_code == 404


def test_a_deleted_issue_is_410_gone(fake_github, api, shop):
    fake_github.add_issue("acme/shop", "Spam", author="mallory")
    fake_github.delete_issue("acme/shop", 1)

    response = api.get("/repos/acme/shop/issues/1")

    assert response.status_code == 410
    assert response.json()["message"] == "This issue was deleted"


def test_a_transferred_issue_redirects_permanently_to_its_new_home(fake_github, api, shop):
    fake_github.add_repo("acme/web")
    fake_github.add_issue("acme/web", "Existing", author="alice")
    fake_github.add_issue("acme/shop", "Belongs to web", author="alice")
    moved = fake_github.transfer_issue("acme/shop", 1, "acme/web")

    redirect = api.get("/repos/acme/shop/issues/1", allow_redirects=False)
    followed = api.get("/repos/acme/shop/issues/1")

    assert redirect.status_code == 301
    assert redirect.headers["Location"] == f"{fake_github.api_url}/repositories/{moved.repo.id}/issues/2"
    assert followed.json()["number"] == 2
    assert followed.json()["html_url"].endswith("/acme/web/issues/2")


def test_a_pull_request_is_an_issue_with_a_pull_request_object(fake_github, api, shop):
    fake_github.add_issue("acme/shop", "Add cart", author="alice", pull_request=True)

    issue = api.get("/repos/acme/shop/issues/1").json()

    assert issue["pull_request"]["url"].endswith("/repos/acme/shop/pulls/1")
    assert issue["html_url"].endswith("/acme/shop/pull/1")


def test_a_repository_reads_with_the_caller_s_permissions_or_as_not_found(fake_github, api, shop):
    fake_github.add_repo("acme/secret", private=True)

    repo = api.get("/repos/acme/shop").json()

    assert repo["full_name"] == "acme/shop" and repo["has_issues"] is True
    assert repo["permissions"]["push"] is True and repo["permissions"]["admin"] is False
    assert api.get("/repos/acme/secret").status_code == 404


def test_labels_open_milestones_and_assignees_of_a_repository(fake_github, api, shop):
    fake_github.add_label("acme/shop", "bug")
    fake_github.add_milestone("acme/shop", "Sprint 3")
    fake_github.add_milestone("acme/shop", "Sprint 2", state="closed")

    labels = api.get("/repos/acme/shop/labels").json()
    milestones = api.get("/repos/acme/shop/milestones").json()
    every_milestone = api.get("/repos/acme/shop/milestones", params={"state": "all"}).json()
    assignees = api.get("/repos/acme/shop/assignees").json()

    assert [label["name"] for label in labels] == ["bug"]
    assert [(m["number"], m["title"]) for m in milestones] == [(1, "Sprint 3")]
    assert len(every_milestone) == 2
    assert sorted(user["login"] for user in assignees) == ["alice", GITHUB_LOGIN]


def test_milestones_list_by_due_date_with_their_dates_and_issue_counts(fake_github, api, shop):
    fake_github.add_milestone("acme/shop", "Someday")
    release = fake_github.add_milestone(
        "acme/shop", "v2.0", due_on=datetime(2025, 9, 30, 7, tzinfo=UTC), description="Cards"
    )
    fake_github.add_milestone("acme/shop", "v1.0", state="closed", due_on=datetime(2025, 6, 30, 7, tzinfo=UTC))
    done = fake_github.add_issue("acme/shop", "Pay by card", author="alice", state="closed")
    fake_github.edit_issue("acme/shop", done.number, milestone=release)

    every = api.get("/repos/acme/shop/milestones", params={"state": "all"}).json()
    newest_first = api.get("/repos/acme/shop/milestones", params={"state": "all", "direction": "desc"}).json()
    closed = api.get("/repos/acme/shop/milestones", params={"state": "closed"}).json()

    assert [(m["title"], m["due_on"], m["state"]) for m in every] == [
        ("v1.0", "2025-06-30T07:00:00Z", "closed"),
        ("v2.0", "2025-09-30T07:00:00Z", "open"),
        ("Someday", None, "open"),
    ]
    assert [m["title"] for m in newest_first] == ["Someday", "v2.0", "v1.0"]
    assert [m["title"] for m in closed] == ["v1.0"] and closed[0]["closed_at"] is not None
    assert (every[1]["description"], every[1]["open_issues"], every[1]["closed_issues"]) == ("Cards", 0, 1)


def test_milestones_page_with_link_headers(fake_github, api, shop):
    for number in range(3):
        fake_github.add_milestone("acme/shop", f"v{number}", due_on=datetime(2025, 1, 1 + number, tzinfo=UTC))

    first = api.get("/repos/acme/shop/milestones", params={"per_page": 2})
    second = api.get(first.links["next"]["url"])

    assert [m["title"] for m in first.json()] == ["v0", "v1"]
    assert [m["title"] for m in second.json()] == ["v2"] and "next" not in second.links
    assert api.get("/repos/acme/secret/milestones").status_code == 404


def test_an_issue_comment_is_edited_in_place_by_its_author(fake_github, api, shop):
    issue = fake_github.add_issue("acme/shop", "Cart", author="alice")
    comment = fake_github.add_comment(
        "acme/shop", issue.number, "Covered by 1 test", author=GITHUB_LOGIN, created=datetime(2024, 1, 1, tzinfo=UTC)
    )

    response = api.patch(f"/repos/acme/shop/issues/comments/{comment.id}", json={"body": "Covered by 2 tests"})

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["body"]) == (comment.id, "Covered by 2 tests")
    assert response.json()["updated_at"] > response.json()["created_at"] == "2024-01-01T00:00:00Z"
    assert [c.body for c in issue.comments] == ["Covered by 2 tests"]


def test_editing_a_comment_needs_a_body_an_existing_comment_and_push_access_for_others(fake_github, api, shop):
    issue = fake_github.add_issue("acme/shop", "Cart", author="alice")
    alices = fake_github.add_comment("acme/shop", issue.number, "Alice's", author="alice")
    fake_github.add_token("mallory", "ghp_mallory")
    mallory = ApiSession(fake_github.api_url, "ghp_mallory")

    no_body = api.patch(f"/repos/acme/shop/issues/comments/{alices.id}", json={})
    empty = api.patch(f"/repos/acme/shop/issues/comments/{alices.id}", json={"body": " "})
    refused = mallory.patch(f"/repos/acme/shop/issues/comments/{alices.id}", json={"body": "Mallory's now"})
    missing = api.patch("/repos/acme/shop/issues/comments/424242", json={"body": "x"})
    by_maintainer = api.patch(f"/repos/acme/shop/issues/comments/{alices.id}", json={"body": "Edited by the bot"})
    fake_github.delete_issue("acme/shop", issue.number)
    of_deleted_issue = api.patch(f"/repos/acme/shop/issues/comments/{alices.id}", json={"body": "x"})

    assert (no_body.status_code, empty.status_code, refused.status_code) == (422, 422, 403)
    assert (missing.status_code, missing.json()["message"]) == (404, "Not Found")
    assert "documentation_url" in missing.json()
    assert by_maintainer.status_code == 200 and alices.body == "Edited by the bot"
    assert of_deleted_issue.status_code == 404


def test_issue_comments_list_oldest_first_in_pages(fake_github, api, shop):
    fake_github.add_issue("acme/shop", "Cart", author="alice")
    for number in range(3):
        fake_github.add_comment("acme/shop", 1, f"comment {number}", author="alice")

    first = api.get("/repos/acme/shop/issues/1/comments", params={"per_page": 2})
    second = api.get(first.links["next"]["url"])

    assert [c["body"] for c in first.json() + second.json()] == ["comment 0", "comment 1", "comment 2"]
    assert first.json()[0]["user"]["login"] == "alice"


# -- search --------------------------------------------------------------------------------------


def test_search_finds_issues_of_a_repository_and_leaves_pull_requests_out(fake_github, api, shop):
    fake_github.add_repo("acme/web")
    fake_github.add_issue("acme/shop", "Checkout crashes", author="alice")
    fake_github.add_issue("acme/shop", "Checkout redesign", author="alice", pull_request=True)
    fake_github.add_issue("acme/shop", "Login slow", author="alice", body="the checkout waits too")
    fake_github.add_issue("acme/web", "Checkout banner", author="alice")

    response = api.get("/search/issues", params={"q": "checkout repo:acme/shop is:issue"})

    body = response.json()
    assert response.status_code == 200
    assert body["total_count"] == 2 and body["incomplete_results"] is False
    assert sorted(item["number"] for item in body["items"]) == [1, 3]
    assert all("pull_request" not in item for item in body["items"])
    assert response.headers["X-RateLimit-Resource"] == "search"
    assert response.headers["X-RateLimit-Limit"] == "30"


def test_search_matches_only_the_fields_in_names_and_quoted_phrases(fake_github, api, shop):
    fake_github.add_issue("acme/shop", "Login slow", author="alice", body="the checkout waits")
    fake_github.add_issue("acme/shop", "Checkout waits", author="alice")

    in_title = api.get("/search/issues", params={"q": "checkout in:title repo:acme/shop is:issue"}).json()
    phrase = api.get("/search/issues", params={"q": '"checkout waits" repo:acme/shop type:issue'}).json()

    assert [item["number"] for item in in_title["items"]] == [2]
    assert sorted(item["number"] for item in phrase["items"]) == [1, 2]


def test_search_without_is_issue_or_is_pull_request_is_refused(api, shop):
    response = api.get("/search/issues", params={"q": "checkout repo:acme/shop"})

    assert response.status_code == 422
    assert response.json()["message"] == "Query must include 'is:issue' or 'is:pull-request'"


def test_search_in_a_repository_the_caller_cannot_see_is_a_validation_failure(fake_github, api):
    fake_github.add_repo("acme/secret", private=True)

    response = api.get("/search/issues", params={"q": "bug repo:acme/secret is:issue"})

    assert response.status_code == 422
    assert response.json()["message"] == "Validation Failed"
    assert response.json()["errors"][0]["field"] == "q"
    assert "cannot be searched" in response.json()["errors"][0]["message"]


def test_search_pages_with_link_headers_and_stops_at_1000_results(fake_github, api, shop):
    for number in range(5):
        fake_github.add_issue("acme/shop", f"Flaky test {number}", author="alice")

    first = api.get("/search/issues", params={"q": "flaky repo:acme/shop is:issue", "per_page": 2})
    second = api.get(first.links["next"]["url"])
    beyond = api.get("/search/issues", params={"q": "flaky repo:acme/shop is:issue", "per_page": 100, "page": 11})

    assert first.json()["total_count"] == 5
    assert len(first.json()["items"]) == 2
    assert "page=3" in first.links["last"]["url"]
    assert len(second.json()["items"]) == 2
    assert {item["number"] for item in first.json()["items"]}.isdisjoint(
        item["number"] for item in second.json()["items"]
    )
    assert beyond.status_code == 422
    assert beyond.json()["message"] == "Only the first 1000 search results are available"


def test_search_spends_its_own_smaller_rate_limit(fake_github, api, shop):
    api.get("/search/issues", params={"q": "x repo:acme/shop is:issue"})

    assert fake_github.quota(GITHUB_LOGIN, "search").used == 1
    assert fake_github.quota(GITHUB_LOGIN, "core").used == 0


# -- writing -------------------------------------------------------------------------------------


def test_create_issue_answers_201_with_location_and_creates_unknown_labels(fake_github, api, shop):
    milestone = fake_github.add_milestone("acme/shop", "Sprint 3")

    response = api.post(
        "/repos/acme/shop/issues",
        json={
            "title": "Checkout fails",
            "body": "**Steps**",
            "labels": ["bug", "from-tests"],
            "assignees": ["alice"],
            "milestone": milestone.number,
        },
    )

    issue = response.json()
    assert response.status_code == 201
    assert response.headers["Location"] == f"{fake_github.api_url}/repos/acme/shop/issues/1"
    assert issue["title"] == "Checkout fails" and issue["body"] == "**Steps**"
    assert [label["name"] for label in issue["labels"]] == ["bug", "from-tests"]
    assert [user["login"] for user in issue["assignees"]] == ["alice"]
    assert issue["milestone"]["title"] == "Sprint 3"
    assert issue["user"]["login"] == GITHUB_LOGIN
    assert set(fake_github.repo("acme/shop").labels) == {"bug", "from-tests"}


def test_without_push_access_labels_assignees_and_milestone_are_silently_dropped(fake_github, shop):
    fake_github.add_token("mallory", "ghp_mallory")
    fake_github.add_milestone("acme/shop", "Sprint 3")

    response = ApiSession(fake_github.api_url, "ghp_mallory").post(
        "/repos/acme/shop/issues",
        json={
            "title": "Please fix",
            "labels": ["urgent"],
            "assignees": ["alice"],
            "milestone": 1,
        },
    )

    assert response.status_code == 201
    assert response.json()["labels"] == [] and response.json()["assignees"] == []
    assert response.json()["milestone"] is None
    assert fake_github.repo("acme/shop").labels == {}


def test_create_issue_validates_assignees_and_milestone(api, shop):
    response = api.post("/repos/acme/shop/issues", json={"title": "x", "assignees": ["mallory"], "milestone": 7})

    assert response.status_code == 422
    assert response.json()["message"] == "Validation Failed"
    assert response.json()["errors"] == [
        {"value": "mallory", "resource": "Issue", "field": "assignees", "code": "invalid"},
        {"value": 7, "resource": "Issue", "field": "milestone", "code": "invalid"},
    ]


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        (b'{"title": "x"', 400, "Problems parsing JSON"),
        (b'["title"]', 400, "Body should be a JSON object"),
        (b'{"body": "no title"}', 422, 'Invalid request.\n\n"title" wasn\'t supplied.'),
    ],
    ids=["malformed", "not an object", "no title"],
)
def test_create_issue_refuses_unusable_bodies_and_creates_nothing(fake_github, api, shop, payload, status, message):
    response = api.post("/repos/acme/shop/issues", data=payload, headers={"Content-Type": "application/json"})

    assert response.status_code == status
    assert response.json()["message"] == message
    assert fake_github.repo("acme/shop").issues == {}


def test_create_issue_in_a_repository_with_issues_disabled_is_410(fake_github, api):
    fake_github.add_repo("acme/mirror", has_issues=False)
    fake_github.grant("acme/mirror", GITHUB_LOGIN, "admin")

    response = api.post("/repos/acme/mirror/issues", json={"title": "x"})

    assert response.status_code == 410
    assert response.json()["message"] == "Issues are disabled for this repo"


def test_a_fine_grained_token_without_issue_write_permission_is_refused_with_403(fake_github, shop):
    fake_github.add_token(GITHUB_LOGIN, "github_pat_read", kind="fine_grained", issues_permission="read")

    response = ApiSession(fake_github.api_url, "github_pat_read").post("/repos/acme/shop/issues", json={"title": "x"})

    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by personal access token"
    assert response.headers["X-Accepted-GitHub-Permissions"] == "issues=write"


def test_closing_and_reopening_set_state_reason_and_closed_fields(fake_github, api, shop):
    fake_github.add_issue("acme/shop", "Cart", author="alice")

    closed = api.patch("/repos/acme/shop/issues/1", json={"state": "closed", "state_reason": "not_planned"}).json()
    reopened = api.patch("/repos/acme/shop/issues/1", json={"state": "open"}).json()

    assert closed["state"] == "closed" and closed["state_reason"] == "not_planned"
    assert closed["closed_by"]["login"] == GITHUB_LOGIN and closed["closed_at"]
    assert reopened["state"] == "open" and reopened["state_reason"] == "reopened"
    assert reopened["closed_at"] is None


def test_closing_defaults_to_completed_and_an_unknown_state_is_invalid(fake_github, api, shop):
    fake_github.add_issue("acme/shop", "Cart", author="alice")

    closed = api.patch("/repos/acme/shop/issues/1", json={"state": "closed"}).json()
    invalid = api.patch("/repos/acme/shop/issues/1", json={"state": "done"})

    assert closed["state_reason"] == "completed"
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == [{"resource": "Issue", "field": "state", "code": "invalid"}]


def test_someone_with_read_access_may_close_only_their_own_issues(fake_github, shop):
    fake_github.add_token("mallory", "ghp_mallory")
    fake_github.add_issue("acme/shop", "Alice's", author="alice")
    fake_github.add_issue("acme/shop", "Mallory's", author="mallory")
    mallory = ApiSession(fake_github.api_url, "ghp_mallory")

    refused = mallory.patch("/repos/acme/shop/issues/1", json={"state": "closed"})
    own = mallory.patch("/repos/acme/shop/issues/2", json={"state": "closed"})

    assert refused.status_code == 403
    assert refused.json()["message"] == "Must have admin rights to Repository."
    assert fake_github.issue("acme/shop", 1).state == "open"
    assert own.status_code == 200


def test_a_comment_is_created_and_moves_the_issue_s_updated_at(fake_github, api, shop):
    issue = fake_github.add_issue("acme/shop", "Cart", author="alice", created=datetime(2024, 1, 1, tzinfo=UTC))

    response = api.post("/repos/acme/shop/issues/1/comments", json={"body": "Linked tests: `test_cart`"})

    assert response.status_code == 201
    assert response.json()["body"] == "Linked tests: `test_cart`"
    assert response.json()["html_url"].endswith(f"/acme/shop/issues/1#issuecomment-{response.json()['id']}")
    assert response.headers["Location"].endswith(f"/repos/acme/shop/issues/comments/{response.json()['id']}")
    assert len(issue.comments) == 1
    assert issue.updated > datetime(2024, 1, 1, tzinfo=UTC)


def test_a_comment_needs_a_body_and_an_existing_issue(api, shop):
    assert api.post("/repos/acme/shop/issues/1/comments", json={"body": "x"}).status_code == 404
    response = api.post("/repos/acme/shop/issues", json={"title": "x"})
    no_body = api.post(response.json()["comments_url"], json={})
    assert no_body.status_code == 422
    assert no_body.json()["message"] == 'Invalid request.\n\n"body" wasn\'t supplied.'


# -- rate limits and injected failures -----------------------------------------------------------


@pytest.mark.parametrize("status", [403, 429])
def test_an_exhausted_primary_rate_limit_answers_with_remaining_zero_and_the_reset(fake_github, api, shop, status):
    fake_github.exhaust_rate_limit(GITHUB_LOGIN, reset_in=1800, status=status)

    response = api.get("/repos/acme/shop/issues/1")

    assert response.status_code == status
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time()) + 1790
    assert response.json()["message"].startswith("API rate limit exceeded for user ID")


def test_the_primary_limit_is_per_account(fake_github, shop):
    fake_github.add_token("alice", "ghp_alice")
    fake_github.exhaust_rate_limit(GITHUB_LOGIN)

    assert ApiSession(fake_github.api_url, "ghp_alice").get("/user").status_code == 200


def test_a_secondary_rate_limit_names_itself_and_may_send_retry_after(fake_github, api):
    fake_github.secondary_limit_next(retry_after=90, status=429)

    limited = api.get("/user")
    after = api.get("/user")

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "90"
    assert "secondary rate limit" in limited.json()["message"]
    assert after.status_code == 200


def test_fail_next_serves_a_raw_body_once(fake_github, api):
    fake_github.fail_next(200, b'{"login": "trunc')

    broken = api.get("/user")

    assert broken.status_code == 200
    assert broken.content == b'{"login": "trunc'
    assert api.get("/user").json()["login"] == GITHUB_LOGIN


# -- GraphQL -------------------------------------------------------------------------------------

ITEM = (
    "... on Issue { number title closed state stateReason url closedAt assignees(first: 10) { nodes { login } } } "
    "... on PullRequest { number closed url }"
)


def graphql(fake, query, variables=None, token=GITHUB_TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        fake.web_url + fake.graphql_path, json={"query": query, "variables": variables or {}}, headers=headers
    )


def test_enterprise_server_serves_graphql_at_api_graphql_and_github_com_at_graphql(fake_github):
    assert fake_github.graphql_path == "/api/graphql"
    assert graphql(fake_github, "{ viewer { login } }").json() == {"data": {"viewer": {"login": GITHUB_LOGIN}}}
    dot_com = GitHubFake(enterprise=False)
    dot_com.add_token("octocat", "tok")
    with dot_com:
        response = requests.post(
            dot_com.api_url + "/graphql",
            json={"query": "{ viewer { login } }"},
            headers={"Authorization": "Bearer tok"},
        )
    assert response.json() == {"data": {"viewer": {"login": "octocat"}}}


def test_graphql_needs_a_token_and_refuses_a_bad_one(fake_github):
    anonymous = graphql(fake_github, "{ viewer { login } }", token=None)
    revoked = graphql(fake_github, "{ viewer { login } }", token="ghp_revoked")

    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "This endpoint requires you to be authenticated."
    assert revoked.status_code == 401
    assert revoked.json()["message"] == "Bad credentials"


def test_aliases_read_issues_and_pull_requests_and_name_what_they_cannot_resolve(fake_github, shop):
    fake_github.add_issue("acme/shop", "Cart empty", author="alice", assignees=("alice",))
    fake_github.add_issue("acme/shop", "Faster checkout", author="alice", pull_request=True)
    fake_github.add_issue("acme/shop", "Won't do", author="alice", state="closed", state_reason="not_planned")
    fake_github.add_repo("acme/secret", private=True)
    query = (
        f'{{ r0: repository(owner: "acme", name: "shop") {{ i1: issueOrPullRequest(number: 1) {{ {ITEM} }} '
        f"i2: issueOrPullRequest(number: 2) {{ {ITEM} }} i3: issueOrPullRequest(number: 3) {{ {ITEM} }} "
        f"i9: issueOrPullRequest(number: 9) {{ {ITEM} }} }} "
        f'r1: repository(owner: "acme", name: "secret") {{ name }} }}'
    )

    body = graphql(fake_github, query).json()

    shop_data = body["data"]["r0"]
    assert shop_data["i1"] == {
        "number": 1,
        "title": "Cart empty",
        "closed": False,
        "state": "OPEN",
        "stateReason": None,
        "url": f"{fake_github.web_url}/acme/shop/issues/1",
        "closedAt": None,
        "assignees": {"nodes": [{"login": "alice"}]},
    }
    assert shop_data["i2"] == {"number": 2, "closed": False, "url": f"{fake_github.web_url}/acme/shop/pull/2"}
    assert (shop_data["i3"]["state"], shop_data["i3"]["stateReason"]) == ("CLOSED", "NOT_PLANNED")
    assert shop_data["i9"] is None and body["data"]["r1"] is None
    assert [(error["type"], error["path"], error["message"]) for error in body["errors"]] == [
        ("NOT_FOUND", ["r0", "i9"], "Could not resolve to an issue or pull request with the number of 9."),
        ("NOT_FOUND", ["r1"], "Could not resolve to a Repository with the name 'acme/secret'."),
    ]


def test_deleted_and_transferred_issues_are_not_found_where_they_were(fake_github, shop):
    fake_github.add_repo("acme/web")
    fake_github.add_issue("acme/shop", "Spam", author="alice")
    fake_github.add_issue("acme/shop", "Moves", author="alice")
    fake_github.delete_issue("acme/shop", 1)
    fake_github.transfer_issue("acme/shop", 2, "acme/web")

    body = graphql(
        fake_github,
        '{ repository(owner: "acme", name: "shop") { a: issue(number: 1) { title } b: issue(number: 2) { title } } }',
    ).json()

    assert body["data"] == {"repository": {"a": None, "b": None}}
    assert [error["type"] for error in body["errors"]] == ["NOT_FOUND", "NOT_FOUND"]


def test_a_token_without_the_repo_scope_cannot_see_private_repositories_over_graphql(fake_github):
    fake_github.add_repo("acme/secret", private=True)
    fake_github.grant("acme/secret", GITHUB_LOGIN, "write")
    fake_github.add_token(GITHUB_LOGIN, "ghp_public", scopes=("public_repo",))
    query = '{ repository(owner: "acme", name: "secret") { nameWithOwner } }'

    assert graphql(fake_github, query).json() == {"data": {"repository": {"nameWithOwner": "acme/secret"}}}
    assert graphql(fake_github, query, token="ghp_public").json()["errors"][0]["type"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "page, kind", [("", "MISSING_PAGINATION_BOUNDARIES"), ("(first: 101)", "EXCESSIVE_PAGINATION")]
)
def test_every_connection_needs_first_or_last_within_1_to_100(fake_github, shop, page, kind):
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")

    body = graphql(
        fake_github,
        f'{{ repository(owner: "acme", name: "shop") {{ issue(number: 1) {{ '
        f"assignees{page} {{ nodes {{ login }} }} }} }} }}",
    ).json()

    assert "data" not in body
    assert body["errors"][0]["type"] == kind


def test_a_query_of_more_than_500000_nodes_is_refused(fake_github, shop):
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")
    issue = 'repository(owner: "acme", name: "shop") { issue(number: 1) { assignees(first: 100) { totalCount } } }'
    query = "{ " + " ".join(f"a{index}: {issue}" for index in range(5001)) + " }"

    body = graphql(fake_github, query).json()

    assert body["errors"][0]["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert fake_github.quota(GITHUB_LOGIN, "graphql").used == 0


def test_queries_spend_points_of_their_own_rate_limit_and_say_so(fake_github, shop):
    for number in range(150):
        fake_github.add_issue("acme/shop", f"Issue {number}", author="alice")
    issues = " ".join(f"i{n}: issue(number: {n}) {{ assignees(first: 10) {{ totalCount }} }}" for n in range(1, 151))

    response = graphql(
        fake_github, f'{{ repository(owner: "acme", name: "shop") {{ {issues} }} rateLimit {{ cost remaining used }} }}'
    )

    # 150 connections (one per issue) are 150 requests: 2 points.
    assert response.json()["data"]["rateLimit"] == {"cost": 2, "remaining": 4998, "used": 2}
    assert response.headers["X-RateLimit-Resource"] == "graphql"
    assert response.headers["X-RateLimit-Remaining"] == "4998"
    assert fake_github.quota(GITHUB_LOGIN).used == 0  # REST's limit is another


def test_a_used_up_graphql_limit_answers_200_with_a_rate_limited_error(fake_github):
    fake_github.exhaust_rate_limit(GITHUB_LOGIN, "graphql", reset_in=600)

    response = graphql(fake_github, "{ viewer { login } }")

    assert response.status_code == 200
    assert response.json()["errors"][0]["type"] == "RATE_LIMITED"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) - time.time() > 590


def test_a_query_that_does_not_parse_or_fit_the_schema_answers_errors_without_data(fake_github):
    unparsable = graphql(fake_github, "{ viewer { login }").json()
    unknown = graphql(fake_github, "{ viewer { nope } }").json()

    assert "data" not in unparsable and unparsable["errors"][0]["message"].startswith("Syntax Error")
    assert "data" not in unknown and "nope" in unknown["errors"][0]["message"]


def test_injected_faults_and_a_server_without_graphql_reach_api_graphql(fake_github):
    fake_github.fail_next(502, "Bad Gateway")
    assert graphql(fake_github, "{ viewer { login } }").status_code == 502

    fake_github.graphql_enabled = False
    assert graphql(fake_github, "{ viewer { login } }").status_code == 404
    assert len(fake_github.graphql_requests()) == 2
