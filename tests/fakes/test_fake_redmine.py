"""The fake Redmine answers as Redmine 5.0's documented REST API does.

These tests talk to the fake over real HTTP with plain `requests`, so what they pin is the wire
behaviour the project's own client will meet.
"""

import pytest
import requests

from tests.fakes.fixtures import REDMINE_API_KEY, REDMINE_LOGIN, REDMINE_PASSWORD


@pytest.fixture
def api(fake_redmine):
    session = requests.Session()
    session.headers["X-Redmine-API-Key"] = REDMINE_API_KEY
    base = fake_redmine.base_url

    def call(method, path, **kwargs):
        return session.request(method, base + path, timeout=10, **kwargs)

    return call


@pytest.fixture
def shop(fake_redmine):
    fake_redmine.add_user("alice", "Alice Liddell")
    return fake_redmine.add_project("shop", "Shop", members=(REDMINE_LOGIN, "alice"))


def test_the_current_user_answers_to_an_api_key_a_key_parameter_or_basic_auth(fake_redmine, api):
    assert api("GET", "/users/current.json").json()["user"]["login"] == REDMINE_LOGIN
    by_parameter = requests.get(f"{fake_redmine.base_url}/users/current.json?key={REDMINE_API_KEY}", timeout=10)
    assert by_parameter.status_code == 200
    basic = requests.get(
        f"{fake_redmine.base_url}/users/current.json", auth=(REDMINE_LOGIN, REDMINE_PASSWORD), timeout=10
    )
    assert basic.json()["user"]["id"] == by_parameter.json()["user"]["id"]


def test_without_valid_credentials_the_answer_is_401_without_a_json_body(fake_redmine):
    answer = requests.get(f"{fake_redmine.base_url}/users/current.json", auth=("testbot", "wrong"), timeout=10)

    assert (answer.status_code, answer.content) == (401, b"")


def test_issues_json_lists_open_issues_unless_status_id_is_a_star(fake_redmine, api, shop):
    fake_redmine.add_issue("shop", "Open", author="alice")
    fake_redmine.add_issue("shop", "Closed", author="alice", status_id=5)

    assert [i["subject"] for i in api("GET", "/issues.json").json()["issues"]] == ["Open"]
    everything = api("GET", "/issues.json", params={"status_id": "*", "sort": "id"}).json()
    assert [i["subject"] for i in everything["issues"]] == ["Open", "Closed"]
    assert "is_closed" not in everything["issues"][1]["status"]  # Redmine 5.1 added it


def test_listings_page_by_offset_and_limit_up_to_100_with_total_count(fake_redmine, api, shop):
    for number in range(130):
        fake_redmine.add_issue("shop", f"Issue {number}", author="alice")

    page = api("GET", "/issues.json", params={"limit": 500, "offset": 120}).json()

    assert (page["total_count"], page["offset"], page["limit"], len(page["issues"])) == (130, 120, 100, 10)
    assert len(api("GET", "/issues.json").json()["issues"]) == 25


def test_issue_id_takes_a_comma_separated_list(fake_redmine, api, shop):
    for subject in ("a", "b", "c"):
        fake_redmine.add_issue("shop", subject, author="alice")

    listed = api("GET", "/issues.json", params={"issue_id": "1,3", "status_id": "*"}).json()["issues"]

    assert sorted(issue["id"] for issue in listed) == [1, 3]


def test_an_unknown_id_in_a_filter_is_a_422_with_errors(fake_redmine, api, shop):
    answer = api("GET", "/issues.json", params={"tracker_id": "99"})

    assert (answer.status_code, answer.json()) == (422, {"errors": ["Tracker is invalid"]})


def test_a_hidden_issue_is_403_and_a_deleted_one_404(fake_redmine, api, shop):
    fake_redmine.add_project("secret")
    fake_redmine.add_issue("secret", "Hidden", author="alice")

    assert api("GET", "/issues/1.json").status_code == 403
    assert api("GET", "/issues/2.json").status_code == 404


def test_put_answers_204_without_a_body_and_notes_become_journals(fake_redmine, api, shop):
    fake_redmine.add_issue("shop", "Coupon", author="alice")

    answer = api("PUT", "/issues/1.json", json={"issue": {"notes": "Seen again", "priority_id": 3}})

    assert (answer.status_code, answer.content) == (204, b"")
    journals = api("GET", "/issues/1.json", params={"include": "journals"}).json()["issue"]["journals"]
    assert journals[0]["notes"] == "Seen again"
    assert journals[0]["details"][0]["name"] == "priority_id"


def test_a_status_change_the_workflow_refuses_is_ignored_without_an_error(fake_redmine, api, shop):
    fake_redmine.add_issue("shop", "Coupon", author="alice")
    fake_redmine.forbidden_transitions.add((1, 5))

    assert api("PUT", "/issues/1.json", json={"issue": {"status_id": 5}}).status_code == 204
    assert api("GET", "/issues/1.json").json()["issue"]["status"]["id"] == 1


def test_uploads_need_octet_stream_and_the_token_attaches_the_file(fake_redmine, api, shop):
    assert api("POST", "/uploads.json", data=b"x", headers={"Content-Type": "text/plain"}).status_code == 406
    upload = api(
        "POST",
        "/uploads.json",
        params={"filename": "log.txt"},
        data=b"boom",
        headers={"Content-Type": "application/octet-stream"},
    )
    token = upload.json()["upload"]["token"]

    created = api(
        "POST",
        "/projects/shop/issues.json",
        json={"issue": {"subject": "Crash", "uploads": [{"token": token, "filename": "log.txt"}]}},
    )

    assert created.status_code == 201
    issue = api("GET", f"/issues/{created.json()['issue']['id']}.json", params={"include": "attachments"}).json()
    assert [a["filename"] for a in issue["issue"]["attachments"]] == ["log.txt"]


def test_creating_without_a_subject_is_a_422_with_errors(fake_redmine, api, shop):
    answer = api("POST", "/issues.json", json={"issue": {"project_id": "shop", "subject": ""}})

    assert (answer.status_code, answer.json()) == (422, {"errors": ["Subject cannot be blank"]})


def test_custom_field_definitions_are_for_administrators_only(fake_redmine, api):
    fake_redmine.add_custom_field("Browser")
    fake_redmine.add_user("admin", "Admin", api_key="admin-key", admin=True)

    assert api("GET", "/custom_fields.json").status_code == 403
    answer = requests.get(
        f"{fake_redmine.base_url}/custom_fields.json", headers={"X-Redmine-API-Key": "admin-key"}, timeout=10
    )
    assert [field["name"] for field in answer.json()["custom_fields"]] == ["Browser"]


def test_the_fake_serves_injected_faults_first(fake_redmine, api):
    fake_redmine.fail_next(429, "", headers={"Retry-After": "30"})

    answer = api("GET", "/users/current.json")

    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "30")
    assert api("GET", "/users/current.json").status_code == 200
