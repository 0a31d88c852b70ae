"""The real Redmine (Debian 12's redmine 5.0.4, started by `make test`) behaves as the redmine provider
assumes: these tests pin, on the raw REST API, each fact the provider is built on."""

import re

import pytest

pytestmark = pytest.mark.redmine


def test_an_update_answers_204_with_no_body(real_redmine):
    issue = real_redmine.create_issue("Checkout fails")

    answer = real_redmine.request("PUT", f"issues/{issue['id']}.json", json={"issue": {"subject": "Checkout fails"}})

    assert answer.status_code == 204
    assert answer.content == b""


def test_the_issue_list_holds_closed_issues_only_with_status_id_star(real_redmine):
    open_issue = real_redmine.create_issue("Still open")
    closed_issue = real_redmine.create_issue("Done")
    real_redmine.set_status(closed_issue["id"], "Closed")
    project = {"project_id": real_redmine.identifier}

    default = real_redmine.call("GET", "issues.json", params=project)["issues"]
    every = real_redmine.call("GET", "issues.json", params={**project, "status_id": "*"})["issues"]

    assert [issue["id"] for issue in default] == [open_issue["id"]]
    assert {issue["id"] for issue in every} == {open_issue["id"], closed_issue["id"]}


def test_issue_id_reads_several_issues_in_one_request(real_redmine):
    first = real_redmine.create_issue("First")
    second = real_redmine.create_issue("Second")
    real_redmine.set_status(second["id"], "Rejected")
    real_redmine.create_issue("Not asked for")

    listed = real_redmine.call(
        "GET", "issues.json", params={"issue_id": f"{first['id']},{second['id']}", "status_id": "*"}
    )

    assert {issue["id"] for issue in listed["issues"]} == {first["id"], second["id"]}
    assert listed["total_count"] == 2


def test_a_listing_pages_100_issues_at_most_by_offset_against_total_count(real_redmine):
    ids = [real_redmine.create_issue(f"Issue {number}")["id"] for number in range(101)]
    asked = {"issue_id": ",".join(map(str, ids)), "status_id": "*", "sort": "id", "limit": 500}

    first = real_redmine.call("GET", "issues.json", params=asked)
    second = real_redmine.call("GET", "issues.json", params={**asked, "offset": 100})

    assert (first["total_count"], first["offset"], first["limit"]) == (101, 0, 100)
    assert [issue["id"] for issue in first["issues"]] == ids[:100]
    assert [issue["id"] for issue in second["issues"]] == ids[100:]


def test_notes_are_journals_with_notes_and_field_changes_are_journals_without(real_redmine):
    issue = real_redmine.create_issue("Flaky login")
    path = f"issues/{issue['id']}.json"
    real_redmine.call("PUT", path, json={"issue": {"notes": "Seen again on *staging*"}}, expect=204)
    real_redmine.call(
        "PUT", path, json={"issue": {"status_id": real_redmine.id_of("issue_statuses", "In Progress")}}, expect=204
    )

    journals = real_redmine.issue(issue["id"], include="journals")["journals"]

    assert [journal["notes"] for journal in journals] == ["Seen again on *staging*", ""]
    assert journals[0]["details"] == []
    assert [detail["name"] for detail in journals[1]["details"]] == ["status_id"]


def test_an_edited_note_keeps_its_journal_id(real_redmine):
    issue = real_redmine.create_issue("Flaky login")
    real_redmine.call("PUT", f"issues/{issue['id']}.json", json={"issue": {"notes": "first words"}}, expect=204)
    journal = real_redmine.issue(issue["id"], include="journals")["journals"][0]

    real_redmine.call("PUT", f"journals/{journal['id']}.json", json={"journal": {"notes": "better words"}}, expect=204)

    assert [(entry["id"], entry["notes"]) for entry in real_redmine.issue(issue["id"], "journals")["journals"]] == [
        (journal["id"], "better words")
    ]


def test_an_upload_must_be_sent_as_octet_stream_and_its_token_attaches_the_file(real_redmine):
    refused = real_redmine.request(
        "POST", "uploads.json", params={"filename": "log.txt"}, data=b"boom", headers={"Content-Type": "text/plain"}
    )
    uploaded = real_redmine.call(
        "POST",
        "uploads.json",
        params={"filename": "log.txt"},
        data=b"stack trace",
        headers={"Content-Type": "application/octet-stream"},
        expect=201,
    )["upload"]
    issue = real_redmine.create_issue(
        "Crash", uploads=[{"token": uploaded["token"], "filename": "log.txt", "content_type": "text/plain"}]
    )

    attachments = real_redmine.issue(issue["id"], include="attachments")["attachments"]
    content = real_redmine.request("GET", attachments[0]["content_url"].removeprefix(real_redmine.url))

    assert refused.status_code == 406
    assert [(attachment["filename"], attachment["filesize"]) for attachment in attachments] == [("log.txt", 11)]
    assert content.content == b"stack trace"


def test_descriptions_come_back_as_written_but_with_crlf_line_ends_and_are_rendered_as_textile(real_redmine):
    """Redmine 5's default text formatting is Textile (the provider writes Textile): the API hands the
    source back, its line ends turned into CRLF, and the issue's page renders it."""
    issue = real_redmine.create_issue("Formatting", description="h2. Steps\n\n*bold* and @code@")

    page = real_redmine.request("GET", f"issues/{issue['id']}").text

    assert real_redmine.issue(issue["id"])["description"] == "h2. Steps\r\n\r\n*bold* and @code@"
    assert re.search(r"<h2[^>]*>Steps<", page)
    assert "<strong>bold</strong>" in page
    assert "<code>code</code>" in page


def test_custom_field_definitions_are_listed_to_administrators_only(real_redmine):
    _, member_key = real_redmine.create_member()

    assert real_redmine.request("GET", "custom_fields.json").status_code == 200
    assert real_redmine.request("GET", "custom_fields.json", key=member_key).status_code == 403
    assert real_redmine.request("GET", f"projects/{real_redmine.identifier}.json", key=member_key).status_code == 200


def test_versions_are_listed_per_project_with_their_status_and_due_date(real_redmine):
    real_redmine.call(
        "POST",
        f"projects/{real_redmine.identifier}/versions.json",
        json={"version": {"name": "2.4", "due_date": "2027-01-31", "status": "locked"}},
        expect=201,
    )

    versions = real_redmine.call("GET", f"projects/{real_redmine.identifier}/versions.json")["versions"]

    assert [(version["name"], version["status"], version["due_date"]) for version in versions] == [
        ("2.4", "locked", "2027-01-31")
    ]
