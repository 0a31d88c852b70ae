"""The fake GitLab answers as GitLab's documented REST API v4 does.

These tests talk to the fake over real HTTP with plain `requests`, so what they pin is the wire
behaviour the project's own client will meet.
"""

import time
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

import pytest
import requests

from tests.fakes.fixtures import GITLAB_OAUTH_TOKEN, GITLAB_PAT, GITLAB_USERNAME
from tests.fakes.gitlab import DEVELOPER, GUEST, REPORTER


class ApiSession(requests.Session):
    """A session whose request paths are relative to the fake's /api/v4."""

    def __init__(self, api_url, headers=None):
        super().__init__()
        self.api_url = api_url
        self.headers.update(headers if headers is not None else {"PRIVATE-TOKEN": GITLAB_PAT})

    def request(self, method, path, *args, **kwargs):
        url = path if path.startswith("http") else self.api_url + path
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def api(fake_gitlab):
    return ApiSession(fake_gitlab.api_url)


@pytest.fixture
def web(fake_gitlab):
    """A private project deep in nested subgroups, where the bot is a Developer."""
    project = fake_gitlab.add_project("acme/platform/frontend/web")
    fake_gitlab.add_member("acme/platform/frontend/web", GITLAB_USERNAME, DEVELOPER)
    fake_gitlab.add_user("alice", "Alice")
    fake_gitlab.add_member("acme/platform/frontend/web", "alice", DEVELOPER)
    return project


ISSUES = "/projects/acme%2Fplatform%2Ffrontend%2Fweb/issues"


def titles(response):
    return [issue["title"] for issue in response.json()]


# -- instance, authentication, tokens ------------------------------------------------------------


def test_the_api_lives_under_api_v4_of_the_relative_url_root(fake_gitlab, api):
    assert fake_gitlab.api_url == fake_gitlab.web_url + "/api/v4"
    assert fake_gitlab.web_url.endswith("/gitlab")
    assert api.get("/user").json()["username"] == GITLAB_USERNAME
    assert (
        requests.get(fake_gitlab.server.origin + "/api/v4/user", headers={"PRIVATE-TOKEN": GITLAB_PAT}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"PRIVATE-TOKEN": GITLAB_PAT}, {}),
        ({}, {"private_token": GITLAB_PAT}),
        ({"Authorization": f"Bearer {GITLAB_PAT}"}, {}),
        ({"Authorization": f"Bearer {GITLAB_OAUTH_TOKEN}"}, {}),
        ({}, {"access_token": GITLAB_OAUTH_TOKEN}),
    ],
    ids=["PRIVATE-TOKEN", "private_token", "PAT as Bearer", "OAuth Bearer", "access_token"],
)
def test_every_documented_way_of_sending_a_token_signs_in(fake_gitlab, headers, params):
    response = ApiSession(fake_gitlab.api_url, headers).get("/user", params=params)
    assert response.status_code == 200
    assert response.json()["name"] == "Test Bot"


@pytest.mark.parametrize(
    "headers",
    [{}, {"PRIVATE-TOKEN": "glpat-revoked"}, {"PRIVATE-TOKEN": GITLAB_OAUTH_TOKEN}],
    ids=["none", "unknown", "OAuth token in PRIVATE-TOKEN"],
)
def test_missing_or_wrong_credentials_answer_401(fake_gitlab, headers):
    response = ApiSession(fake_gitlab.api_url, headers).get("/user")
    assert response.status_code == 401
    assert response.json() == {"message": "401 Unauthorized"}


def test_an_expired_token_answers_401(fake_gitlab):
    fake_gitlab.add_token(GITLAB_USERNAME, "glpat-old", expires_at=date(2020, 1, 1))
    assert ApiSession(fake_gitlab.api_url, {"PRIVATE-TOKEN": "glpat-old"}).get("/user").status_code == 401


def test_a_personal_access_token_describes_itself(fake_gitlab):
    fake_gitlab.add_token(GITLAB_USERNAME, "glpat-expiring", scopes=("read_api",), expires_at=date(2031, 3, 4))

    token = ApiSession(fake_gitlab.api_url, {"PRIVATE-TOKEN": "glpat-expiring"}).get("/personal_access_tokens/self")

    assert token.status_code == 200
    assert token.json()["scopes"] == ["read_api"]
    assert token.json()["expires_at"] == "2031-03-04"
    assert token.json()["active"] is True


def test_a_read_api_token_may_read_but_not_write(fake_gitlab, web):
    fake_gitlab.add_token(GITLAB_USERNAME, "glpat-read", scopes=("read_api",))
    reader = ApiSession(fake_gitlab.api_url, {"PRIVATE-TOKEN": "glpat-read"})

    assert reader.get(ISSUES).status_code == 200
    refused = reader.post(ISSUES, json={"title": "x"})

    assert refused.status_code == 403
    assert refused.json() == {
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the access token.",
        "scope": "api",
    }
    assert fake_gitlab.project("acme/platform/frontend/web").issues == {}


# -- projects ------------------------------------------------------------------------------------


def test_projects_page_by_keyset_on_id_until_an_empty_page_without_link(fake_gitlab, api):
    for name in ("one", "two", "three", "four"):
        fake_gitlab.add_project(f"acme/{name}")
        fake_gitlab.add_member(f"acme/{name}", GITLAB_USERNAME, REPORTER)
    fake_gitlab.add_project("acme/not-mine")
    params = {
        "membership": "true",
        "simple": "true",
        "pagination": "keyset",
        "order_by": "id",
        "sort": "asc",
        "per_page": 2,
    }

    first = api.get("/projects", params=params)
    second = api.get(first.links["next"]["url"])
    third = api.get(second.links["next"]["url"])

    assert [p["path_with_namespace"] for p in first.json()] == ["acme/one", "acme/two"]
    assert "id_after=" in first.links["next"]["url"]
    assert [p["path_with_namespace"] for p in second.json()] == ["acme/three", "acme/four"]
    assert third.status_code == 200 and third.json() == [] and "Link" not in third.headers
    assert "visibility" not in first.json()[0]


def test_projects_by_offset_pages_carry_the_x_headers(fake_gitlab, api):
    for index in range(3):
        fake_gitlab.add_project(f"acme/p{index}")
        fake_gitlab.add_member(f"acme/p{index}", GITLAB_USERNAME, GUEST)

    response = api.get("/projects", params={"membership": "true", "per_page": 2})

    assert response.headers["X-Total"] == "3" and response.headers["X-Total-Pages"] == "2"
    assert response.headers["X-Next-Page"] == "2" and response.headers["X-Prev-Page"] == ""
    assert set(response.links) == {"next", "first", "last"}


def test_projects_can_be_limited_to_those_with_issues_enabled(fake_gitlab, api):
    for path, enabled in (("acme/app", True), ("acme/docs", False)):
        fake_gitlab.add_project(path, issues_enabled=enabled)
        fake_gitlab.add_member(path, GITLAB_USERNAME, DEVELOPER)

    response = api.get("/projects", params={"membership": "true", "with_issues_enabled": "true"})

    assert [p["path_with_namespace"] for p in response.json()] == ["acme/app"]


def test_labels_milestones_and_members_of_a_project(fake_gitlab, api, web):
    fake_gitlab.add_label("acme/platform/frontend/web", "bug")
    fake_gitlab.add_milestone("acme/platform/frontend/web", "Sprint 3")
    fake_gitlab.add_milestone("acme/platform/frontend/web", "Sprint 2", state="closed")
    path = "/projects/acme%2Fplatform%2Ffrontend%2Fweb"

    labels = api.get(f"{path}/labels").json()
    active = api.get(f"{path}/milestones", params={"state": "active"}).json()
    members = api.get(f"{path}/members/all").json()

    assert [label["name"] for label in labels] == ["bug"]
    assert [milestone["title"] for milestone in active] == ["Sprint 3"]
    assert sorted((m["username"], m["access_level"]) for m in members) == [("alice", 30), (GITLAB_USERNAME, 30)]


# -- issues --------------------------------------------------------------------------------------


def test_a_single_project_is_read_by_encoded_path_and_a_hidden_one_reads_as_not_found(fake_gitlab, api, web):
    fake_gitlab.add_project("acme/secret")  # the bot is no member of this private project

    found = api.get("/projects/acme%2Fplatform%2Ffrontend%2Fweb")
    hidden = api.get("/projects/acme%2Fsecret")

    assert found.status_code == 200 and found.json()["path_with_namespace"] == "acme/platform/frontend/web"
    assert found.json()["issues_enabled"] is True
    assert hidden.status_code == 404 and hidden.json() == {"message": "404 Project Not Found"}


def test_a_nested_project_is_named_by_its_url_encoded_path_or_its_id(fake_gitlab, api, web):
    fake_gitlab.add_issue("acme/platform/frontend/web", "Broken", author="alice")

    by_path = api.get(ISSUES)
    by_id = api.get(f"/projects/{web.id}/issues")
    unencoded = api.get("/projects/acme/platform/frontend/web/issues")

    assert titles(by_path) == titles(by_id) == ["Broken"]
    assert unencoded.status_code == 404


def test_an_issue_has_the_documented_representation(fake_gitlab, api, web):
    fake_gitlab.add_issue(
        "acme/platform/frontend/web",
        "Broken",
        author="alice",
        description="Steps",
        labels=("bug",),
        assignees=("alice",),
    )

    (issue,) = api.get(ISSUES).json()

    assert issue["iid"] == 1 and issue["project_id"] == web.id
    assert issue["state"] == "opened"
    assert issue["description"] == "Steps"
    assert issue["labels"] == ["bug"]
    assert [user["username"] for user in issue["assignees"]] == ["alice"]
    assert issue["references"]["full"] == "acme/platform/frontend/web#1"
    assert issue["web_url"] == f"{fake_gitlab.web_url}/acme/platform/frontend/web/-/issues/1"
    assert issue["updated_at"].endswith("Z") and "." in issue["updated_at"]


def test_iids_select_issues_and_per_page_is_capped_at_100(fake_gitlab, api, web):
    for number in range(120):
        fake_gitlab.add_issue("acme/platform/frontend/web", f"Issue {number + 1}", author="alice")

    chosen = api.get(ISSUES, params={"iids[]": [3, 7, 500]})
    capped = api.get(ISSUES, params={"iids[]": list(range(1, 121)), "per_page": 250})

    assert sorted(issue["iid"] for issue in chosen.json()) == [3, 7]
    assert len(capped.json()) == 100
    assert capped.headers["X-Per-Page"] == "100"
    assert capped.headers["X-Total-Pages"] == "2"
    assert api.get(capped.links["next"]["url"]).json()[-1]["iid"] == 1


def test_search_matches_title_and_description_and_in_narrows_it(fake_gitlab, api, web):
    fake_gitlab.add_issue("acme/platform/frontend/web", "Checkout broken", author="alice")
    fake_gitlab.add_issue("acme/platform/frontend/web", "Login slow", author="alice", description="checkout too")

    both = api.get(ISSUES, params={"search": "checkout"})
    titles_only = api.get(ISSUES, params={"search": "checkout", "in": "title"})

    assert sorted(titles(both)) == ["Checkout broken", "Login slow"]
    assert titles(titles_only) == ["Checkout broken"]


def test_state_filters_and_invalid_iids_are_refused(fake_gitlab, api, web):
    fake_gitlab.add_issue("acme/platform/frontend/web", "Open one", author="alice")
    fake_gitlab.add_issue("acme/platform/frontend/web", "Closed one", author="alice", state="closed")

    assert titles(api.get(ISSUES, params={"state": "closed"})) == ["Closed one"]
    assert len(api.get(ISSUES).json()) == 2
    refused = api.get(ISSUES, params={"iids[]": "abc"})
    assert refused.status_code == 400 and refused.json() == {"error": "iids is invalid"}


def test_a_private_project_reads_as_not_found_to_non_members(fake_gitlab, api):
    fake_gitlab.add_project("other/secret")

    response = api.get("/projects/other%2Fsecret/issues")

    assert response.status_code == 404
    assert response.json() == {"message": "404 Project Not Found"}


def test_confidential_issues_are_hidden_from_guests_who_are_not_involved(fake_gitlab, web):
    fake_gitlab.add_user("guest")
    fake_gitlab.add_member("acme/platform/frontend/web", "guest", GUEST)
    fake_gitlab.add_token("guest", "glpat-guest")
    fake_gitlab.add_issue("acme/platform/frontend/web", "Security hole", author="alice", confidential=True)
    fake_gitlab.add_issue("acme/platform/frontend/web", "Typo", author="alice")

    seen = ApiSession(fake_gitlab.api_url, {"PRIVATE-TOKEN": "glpat-guest"}).get(ISSUES)

    assert titles(seen) == ["Typo"]


def test_a_project_with_issues_disabled_answers_403(fake_gitlab, api):
    fake_gitlab.add_project("acme/docs", issues_enabled=False)
    fake_gitlab.add_member("acme/docs", GITLAB_USERNAME, DEVELOPER)

    response = api.get("/projects/acme%2Fdocs/issues")

    assert response.status_code == 403
    assert response.json() == {"message": "403 Forbidden"}


def test_create_issue_with_labels_assignees_due_date_and_confidential(fake_gitlab, api, web):
    alice = fake_gitlab.users["alice"]
    outsider = fake_gitlab.add_user("outsider")

    response = api.post(
        ISSUES,
        json={
            "title": "Checkout fails",
            "description": "**Steps**",
            "labels": "bug,from-tests",
            "assignee_ids": [alice.id, outsider.id],
            "due_date": "2031-05-06",
            "confidential": True,
            "issue_type": "incident",
        },
    )

    issue = response.json()
    assert response.status_code == 201
    assert issue["iid"] == 1 and issue["title"] == "Checkout fails" and issue["description"] == "**Steps**"
    assert issue["labels"] == ["bug", "from-tests"]
    assert [user["username"] for user in issue["assignees"]] == ["alice"]
    assert issue["due_date"] == "2031-05-06" and issue["confidential"] is True
    assert issue["issue_type"] == "incident" and issue["author"]["username"] == GITLAB_USERNAME
    assert web.labels == ["bug", "from-tests"]


def test_create_issue_accepts_form_encoded_attributes(fake_gitlab, api, web):
    response = api.post(ISSUES, data={"title": "From a form", "labels": "ui"})

    assert response.status_code == 201
    assert response.json()["labels"] == ["ui"]


def test_a_guest_creates_issues_but_their_metadata_is_dropped(fake_gitlab, web):
    fake_gitlab.add_user("guest")
    fake_gitlab.add_member("acme/platform/frontend/web", "guest", GUEST)
    fake_gitlab.add_token("guest", "glpat-guest")

    response = ApiSession(fake_gitlab.api_url, {"PRIVATE-TOKEN": "glpat-guest"}).post(
        ISSUES, json={"title": "Please fix", "labels": "urgent", "assignee_ids": [fake_gitlab.users["alice"].id]}
    )

    assert response.status_code == 201
    assert response.json()["labels"] == [] and response.json()["assignees"] == []


@pytest.mark.parametrize(
    ("payload", "body"),
    [
        ({"description": "no title"}, {"message": '400 (Bad request) "title" not given'}),
        ({"title": "x" * 256}, {"message": {"title": ["is too long (maximum is 255 characters)"]}}),
        ({"title": "x", "due_date": "tomorrow"}, {"error": "due_date is invalid"}),
        ({"title": "x", "issue_type": "epic"}, {"error": "issue_type does not have a valid value"}),
    ],
    ids=["no title", "long title", "bad due date", "bad issue type"],
)
def test_create_issue_refuses_invalid_attributes_with_400_and_creates_nothing(fake_gitlab, api, web, payload, body):
    response = api.post(ISSUES, json=payload)

    assert response.status_code == 400
    assert response.json() == body
    assert web.issues == {}


def test_state_event_closes_and_reopens(fake_gitlab, api, web):
    fake_gitlab.add_issue("acme/platform/frontend/web", "Broken", author="alice")

    closed = api.put(f"{ISSUES}/1", json={"state_event": "close"}).json()
    reopened = api.put(f"{ISSUES}/1", json={"state_event": "reopen"}).json()

    assert closed["state"] == "closed" and closed["closed_by"]["username"] == GITLAB_USERNAME
    assert closed["closed_at"]
    assert reopened["state"] == "opened" and reopened["closed_at"] is None


def test_edit_issue_needs_an_attribute_and_a_known_state_event(fake_gitlab, api, web):
    fake_gitlab.add_issue("acme/platform/frontend/web", "Broken", author="alice")

    empty = api.put(f"{ISSUES}/1", json={})
    unknown = api.put(f"{ISSUES}/1", json={"state_event": "resolve"})
    missing = api.put(f"{ISSUES}/9", json={"state_event": "close"})

    assert empty.status_code == 400 and "at least one parameter must be provided" in empty.json()["error"]
    assert unknown.status_code == 400 and unknown.json() == {"error": "state_event does not have a valid value"}
    assert missing.status_code == 404 and missing.json() == {"message": "404 Issue Not Found"}


def test_a_guest_may_close_only_their_own_issues(fake_gitlab, web):
    fake_gitlab.add_user("guest")
    fake_gitlab.add_member("acme/platform/frontend/web", "guest", GUEST)
    fake_gitlab.add_token("guest", "glpat-guest")
    fake_gitlab.add_issue("acme/platform/frontend/web", "Alice's", author="alice")
    fake_gitlab.add_issue("acme/platform/frontend/web", "Guest's", author="guest")
    guest = ApiSession(fake_gitlab.api_url, {"PRIVATE-TOKEN": "glpat-guest"})

    refused = guest.put(f"{ISSUES}/1", json={"state_event": "close"})
    own = guest.put(f"{ISSUES}/2", json={"state_event": "close"})

    assert refused.status_code == 403 and refused.json() == {"message": "403 Forbidden"}
    assert fake_gitlab.issue("acme/platform/frontend/web", 1).state == "opened"
    assert own.status_code == 200


def test_a_note_is_created_and_moves_the_issue_s_updated_at(fake_gitlab, api, web):
    issue = fake_gitlab.add_issue(
        "acme/platform/frontend/web", "Broken", author="alice", created=datetime(2024, 1, 1, tzinfo=UTC)
    )

    response = api.post(f"{ISSUES}/1/notes", json={"body": "Linked tests: `test_cart`"})
    no_body = api.post(f"{ISSUES}/1/notes", json={})

    assert response.status_code == 201
    assert response.json()["body"] == "Linked tests: `test_cart`"
    assert response.json()["noteable_type"] == "Issue" and response.json()["noteable_iid"] == 1
    assert issue.updated > datetime(2024, 1, 1, tzinfo=UTC)
    assert no_body.status_code == 400 and no_body.json() == {"message": '400 (Bad request) "body" not given'}


def test_notes_list_newest_first_by_default_and_mark_system_notes(fake_gitlab, api, web):
    fake_gitlab.add_issue("acme/platform/frontend/web", "Broken", author="alice")
    fake_gitlab.add_note("acme/platform/frontend/web", 1, "first", author="alice")
    fake_gitlab.add_note("acme/platform/frontend/web", 1, "changed the description", author="alice", system=True)
    fake_gitlab.add_note("acme/platform/frontend/web", 1, "second", author="alice")

    newest_first = api.get(f"{ISSUES}/1/notes").json()
    oldest_first = api.get(f"{ISSUES}/1/notes", params={"sort": "asc", "per_page": 2})

    assert [note["body"] for note in newest_first] == ["second", "changed the description", "first"]
    assert [note["system"] for note in newest_first] == [False, True, False]
    assert [note["body"] for note in oldest_first.json()] == ["first", "changed the description"]
    assert oldest_first.headers["X-Next-Page"] == "2"


def test_an_issue_created_with_a_milestone_id_shows_it(fake_gitlab, api, web):
    milestone = fake_gitlab.add_milestone("acme/platform/frontend/web", "Sprint 3")

    issue = api.post(ISSUES, json={"title": "x", "milestone_id": milestone.id}).json()

    assert issue["milestone"]["title"] == "Sprint 3"


def test_only_its_author_edits_a_note_and_a_missing_note_answers_404(fake_gitlab, api, web):
    fake_gitlab.add_issue("acme/platform/frontend/web", "Broken", author="alice")
    own = api.post(f"{ISSUES}/1/notes", json={"body": "Covered by 1 test"}).json()
    theirs = fake_gitlab.add_note("acme/platform/frontend/web", 1, "mine", author="alice")

    edited = api.put(f"{ISSUES}/1/notes/{own['id']}", json={"body": "Covered by 2 tests"})
    refused = api.put(f"{ISSUES}/1/notes/{theirs.id}", json={"body": "hijacked"})
    missing = api.put(f"{ISSUES}/1/notes/999999", json={"body": "x"})
    no_issue = api.put(f"{ISSUES}/42/notes/{own['id']}", json={"body": "x"})
    nothing = api.put(f"{ISSUES}/1/notes/{own['id']}", json={})

    assert edited.status_code == 200
    assert (edited.json()["id"], edited.json()["body"]) == (own["id"], "Covered by 2 tests")
    assert edited.json()["updated_at"] >= edited.json()["created_at"]
    assert refused.status_code == 403 and theirs.body == "mine"
    assert missing.status_code == 404 and missing.json() == {"message": "404 Not found"}
    assert no_issue.status_code == 404 and no_issue.json() == {"message": "404 Issue Not Found"}
    assert nothing.status_code == 400 and "at least one parameter must be provided" in nothing.json()["error"]
    assert [note.body for note in fake_gitlab.issue("acme/platform/frontend/web", 1).notes] == [
        "Covered by 2 tests",
        "mine",
    ]


def test_issues_are_selected_by_labels_milestone_type_and_their_negations(fake_gitlab, api, web):
    path = "acme/platform/frontend/web"
    release = fake_gitlab.add_milestone(path, "2.0")
    fake_gitlab.add_issue(path, "Both labels", author="alice", labels=("req", "backend"))
    fake_gitlab.add_issue(path, "One label", author="alice", labels=("req",))
    fake_gitlab.add_issue(path, "No label", author="alice")
    fake_gitlab.edit_issue(path, 2, milestone=release)
    fake_gitlab.edit_issue(path, 3, issue_type="incident")

    def selected(**params):
        return sorted(titles(api.get(ISSUES, params=params)))

    assert selected(labels="req,backend") == ["Both labels"]  # all of them
    assert selected(labels="None") == ["No label"]
    assert selected(labels="Any") == ["Both labels", "One label"]
    assert selected(**{"not[labels]": "backend"}) == ["No label", "One label"]
    assert selected(milestone="2.0") == ["One label"]
    assert selected(milestone="None") == ["Both labels", "No label"]
    assert selected(**{"not[milestone]": "2.0"}) == ["Both labels", "No label"]
    assert selected(issue_type="incident") == ["No label"]
    refused = api.get(ISSUES, params={"issue_type": "story"})
    assert refused.status_code == 400 and refused.json() == {"error": "issue_type does not have a valid value"}


def test_milestones_carry_their_dates(fake_gitlab, api, web):
    fake_gitlab.add_milestone(
        "acme/platform/frontend/web", "2.0", start_date=date(2025, 4, 1), due_date=date(2025, 6, 30), state="closed"
    )

    [milestone] = api.get("/projects/acme%2Fplatform%2Ffrontend%2Fweb/milestones").json()

    assert (milestone["start_date"], milestone["due_date"], milestone["state"], milestone["expired"]) == (
        "2025-04-01",
        "2025-06-30",
        "closed",
        True,
    )


ITERATIONS = "/projects/acme%2Fplatform%2Ffrontend%2Fweb/iterations"


def test_iterations_are_listed_on_premium_with_integer_states(fake_gitlab, api, web):
    fake_gitlab.tier = "premium"
    fake_gitlab.add_iteration(
        "acme/platform/frontend/web", "Sprint 1", date(2025, 5, 1), date(2025, 5, 14), state="closed"
    )
    fake_gitlab.add_iteration("acme/platform/frontend/web", None, date(2025, 5, 15), date(2025, 5, 28), state="current")

    every = api.get(ITERATIONS).json()
    opened = api.get(ITERATIONS, params={"state": "opened"}).json()

    assert [(i["title"], i["state"], i["start_date"], i["due_date"]) for i in every] == [
        ("Sprint 1", 3, "2025-05-01", "2025-05-14"),
        (None, 2, "2025-05-15", "2025-05-28"),
    ]
    assert [i["state"] for i in opened] == [2]


def test_an_issue_shows_its_iteration_and_weight_on_premium_only(fake_gitlab, api, web):
    sprint = fake_gitlab.add_iteration("acme/platform/frontend/web", "Sprint 1", date(2025, 5, 1), date(2025, 5, 14))
    fake_gitlab.add_issue("acme/platform/frontend/web", "Broken", author="alice")
    fake_gitlab.edit_issue("acme/platform/frontend/web", 1, iteration=sprint, weight=3)

    free = api.get(ISSUES).json()[0]
    fake_gitlab.tier = "premium"
    premium = api.get(ISSUES).json()[0]
    chosen = api.get(ISSUES, params={"iteration_title": "sprint 1"}).json()

    assert "iteration" not in free and "weight" not in free
    assert (premium["iteration"]["title"], premium["iteration"]["due_date"], premium["weight"]) == (
        "Sprint 1",
        "2025-05-14",
        3,
    )
    assert [issue["iid"] for issue in chosen] == [1]


@pytest.mark.parametrize(
    ("tier", "status", "body"),
    [
        ("free", 403, {"message": "403 Forbidden"}),
        ("community", 404, {"error": "404 Not Found"}),
    ],
)
def test_without_a_licence_iterations_answer_403_and_the_community_edition_has_no_route(
    fake_gitlab, api, web, tier, status, body
):
    fake_gitlab.tier = tier

    response = api.get(ITERATIONS)

    assert (response.status_code, response.json()) == (status, body)


# -- rate limits and injected failures -----------------------------------------------------------


def test_no_rate_limit_headers_while_throttling_is_disabled(api, web):
    assert "RateLimit-Limit" not in api.get(ISSUES).headers


def test_an_enabled_throttle_reports_itself_on_every_response(fake_gitlab, api, web):
    fake_gitlab.enable_throttle(600)

    api.get(ISSUES)
    response = api.get(ISSUES)

    assert response.headers["RateLimit-Limit"] == "600"
    assert response.headers["RateLimit-Name"] == "throttle_authenticated_api"
    assert response.headers["RateLimit-Observed"] == "2"
    assert response.headers["RateLimit-Remaining"] == "598"
    assert int(response.headers["RateLimit-Reset"]) > time.time()


def test_an_exhausted_throttle_answers_429_retry_later_with_reset_headers(fake_gitlab, api, web):
    fake_gitlab.exhaust_rate_limit(GITLAB_USERNAME, reset_in=120)

    response = api.get(ISSUES)

    assert response.status_code == 429
    assert response.text == "Retry later"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert 115 <= int(response.headers["Retry-After"]) <= 120
    reset = parsedate_to_datetime(response.headers["RateLimit-ResetTime"])
    assert int(reset.timestamp()) == int(response.headers["RateLimit-Reset"])


def test_fail_next_serves_a_raw_body_once(fake_gitlab, api, web):
    fake_gitlab.fail_next(200, b'[{"iid": 1,')

    assert api.get(ISSUES).content == b'[{"iid": 1,'
    assert api.get(ISSUES).json() == []


# -- moved issues and GraphQL --------------------------------------------------------------------

MOVED_TO = """query($path: ID!, $iid: String) {
  project(fullPath: $path) { issue(iid: $iid) { iid state moved movedTo { iid webUrl reference(full: true) } } }
}"""


def graphql(fake, headers, variables):
    return requests.post(
        f"{fake.web_url}/api/graphql", json={"query": MOVED_TO, "variables": variables}, headers=headers, timeout=10
    )


def test_a_move_closes_the_original_with_moved_to_id_and_opens_the_issue_in_the_target(fake_gitlab, api, web):
    fake_gitlab.add_project("acme/ops")
    fake_gitlab.add_member("acme/ops", GITLAB_USERNAME, DEVELOPER)
    fake_gitlab.add_issue("acme/platform/frontend/web", "Checkout fails", author=GITLAB_USERNAME)

    moved = fake_gitlab.move_issue("acme/platform/frontend/web", 1, "acme/ops", by=GITLAB_USERNAME)

    (original,) = api.get(ISSUES, params={"iids[]": [1]}).json()
    assert (original["state"], original["moved_to_id"]) == ("closed", moved.id)
    (created,) = api.get("/projects/acme%2Fops/issues").json()
    assert (created["iid"], created["title"], created["state"], created["moved_to_id"]) == (
        1,
        "Checkout fails",
        "opened",
        None,
    )
    hook = fake_gitlab.issue_delivery("acme/platform/frontend/web", 1, action="close", secret="s").json()
    assert hook["object_attributes"]["moved_to_id"] == moved.id


def test_graphql_shows_where_a_moved_issue_went_to_a_bearer_token(fake_gitlab, web):
    fake_gitlab.add_project("acme/ops")
    fake_gitlab.add_member("acme/ops", GITLAB_USERNAME, DEVELOPER)
    fake_gitlab.add_issue("acme/platform/frontend/web", "Checkout fails", author=GITLAB_USERNAME)
    fake_gitlab.move_issue("acme/platform/frontend/web", 1, "acme/ops", by=GITLAB_USERNAME)
    variables = {"path": "acme/platform/frontend/web", "iid": "1"}

    answer = graphql(fake_gitlab, {"Authorization": f"Bearer {GITLAB_PAT}"}, variables).json()

    assert answer == {
        "data": {
            "project": {
                "issue": {
                    "iid": "1",
                    "state": "closed",
                    "moved": True,
                    "movedTo": {
                        "iid": "1",
                        "webUrl": f"{fake_gitlab.web_url}/acme/ops/-/issues/1",
                        "reference": "acme/ops#1",
                    },
                }
            }
        }
    }
    # OAuth tokens too; without a token a private project is not there; a bad token is refused.
    assert graphql(fake_gitlab, {"Authorization": f"Bearer {GITLAB_OAUTH_TOKEN}"}, variables).json() == answer
    assert graphql(fake_gitlab, {}, variables).json() == {"data": {"project": None}}
    refused = graphql(fake_gitlab, {"Authorization": "Bearer nonsense"}, variables)
    assert (refused.status_code, refused.json()) == (401, {"errors": [{"message": "Invalid token"}]})


def test_graphql_hides_the_new_issue_from_someone_who_cannot_see_its_project(fake_gitlab, web):
    fake_gitlab.add_project("acme/secret")
    fake_gitlab.add_member("acme/secret", "alice", DEVELOPER)
    fake_gitlab.add_issue("acme/platform/frontend/web", "Checkout fails", author=GITLAB_USERNAME)
    fake_gitlab.move_issue("acme/platform/frontend/web", 1, "acme/secret", by="alice")

    answer = graphql(
        fake_gitlab, {"Authorization": f"Bearer {GITLAB_PAT}"}, {"path": "acme/platform/frontend/web", "iid": "1"}
    ).json()

    assert answer["data"]["project"]["issue"]["movedTo"] is None


# -- Markdown uploads ----------------------------------------------------------------------------

UPLOADS = "/projects/acme%2Fplatform%2Ffrontend%2Fweb/uploads"


def test_an_upload_takes_the_file_part_and_answers_where_markdown_finds_it(fake_gitlab, api, web):
    response = api.post(UPLOADS, files={"file": ("dk.png", b"\x89PNG", "image/png")})

    assert response.status_code == 201
    body = response.json()
    (upload,) = fake_gitlab.uploads
    assert (upload.filename, upload.content) == ("dk.png", b"\x89PNG")
    assert body["url"] == upload.url and body["url"].startswith("/uploads/") and body["url"].endswith("/dk.png")
    assert body["full_path"] == f"/-/project/{web.id}{upload.url}"
    assert body["markdown"] == f"![dk]({upload.url})"


def test_an_upload_without_a_file_part_or_over_the_maximum_size_is_refused(fake_gitlab, api, web):
    fake_gitlab.max_attachment_bytes = 3

    missing = api.post(UPLOADS, files={"attachment": ("a.txt", b"a")})
    too_large = api.post(UPLOADS, files={"file": ("a.txt", b"abcd")})

    assert (missing.status_code, missing.json()) == (400, {"error": "file is missing"})
    assert too_large.status_code == 413
    assert fake_gitlab.uploads == []


def test_an_upload_needs_a_token_that_may_write(fake_gitlab, web):
    response = ApiSession(fake_gitlab.api_url, headers={}).post(UPLOADS, files={"file": ("a.txt", b"a")})

    assert response.status_code == 401
    assert fake_gitlab.uploads == []
