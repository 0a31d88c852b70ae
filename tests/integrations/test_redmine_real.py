"""Redmine, tested against the real thing: Debian 12's redmine 5.0.4, started by `make test`.

First, on the raw REST API, each fact the redmine provider is built on; then the provider itself
against the server: connection, discovery, filing, updates, comments, files, search, batched refresh,
versions and pulls. The error paths a real server cannot be made to produce (429, 5xx, timeouts) are
tested against the fake in test_redmine.py.
"""

import re
from datetime import date

import pytest

from integrations.errors import AuthenticationFailed, PermissionDenied
from integrations.models import AuthType, Provider
from integrations.providers import provider_for
from integrations.providers.base import DraftAttachment, IssueDraft, PullQuery, UnknownProject
from integrations.providers.redmine import Redmine
from issues.filing.services import link_existing
from issues.links.models import ExternalReference
from issues.sync import refresh
from projects.models import Role
from tests.factories import MembershipFactory, ProjectIntegrationFactory, SourceFactory, TestResultFactory

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


def test_a_listing_gives_100_issues_at_most_and_pages_by_offset_against_total_count(real_redmine):
    """The cap is read from the answer's ``limit`` (a real listing of over 100 issues is the batched
    refresh test's, below)."""
    ids = [real_redmine.create_issue(f"Issue {number}")["id"] for number in range(3)]
    asked = {"issue_id": ",".join(map(str, ids)), "status_id": "*", "sort": "id"}

    capped = real_redmine.call("GET", "issues.json", params={**asked, "limit": 500})
    first = real_redmine.call("GET", "issues.json", params={**asked, "limit": 2})
    second = real_redmine.call("GET", "issues.json", params={**asked, "limit": 2, "offset": 2})

    assert (capped["total_count"], capped["offset"], capped["limit"]) == (3, 0, 100)
    assert [issue["id"] for issue in first["issues"]] == ids[:2]
    assert (second["total_count"], second["offset"], [issue["id"] for issue in second["issues"]]) == (3, 2, ids[2:])


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
    content = real_redmine.request("GET", attachments[0]["content_url"])

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


# -- the redmine provider against the real server --------------------------------------------------


@pytest.fixture
def source(real_redmine, db):
    """A Redmine source signing in with the administrator's API key; the test's project is its project."""
    source = SourceFactory(
        provider=Provider.REDMINE,
        name="Redmine",
        base_url=real_redmine.url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": real_redmine.api_key},
        issue_url_template="",
    )
    ProjectIntegrationFactory(source=source, external_project=real_redmine.identifier, default_issue_type="Bug")
    return source


@pytest.fixture
def redmine(source) -> Redmine:
    return provider_for(source)


def as_member(source, key: str) -> Redmine:
    source.credentials = {"token": key}
    return provider_for(source)


def test_the_connection_check_names_the_account_and_whether_custom_fields_can_be_read(real_redmine, source):
    member, member_key = real_redmine.create_member()

    admin_report = provider_for(source).check_connection()
    member_report = as_member(source, member_key).check_connection()

    assert admin_report.user == "Redmine Admin (admin)"
    assert "custom field definitions can be read" in admin_report.access
    assert member_report.user == f"Test {member['login']} ({member['login']})"
    assert "not one, so custom fields are not offered" in member_report.access


def test_a_wrong_key_is_an_authentication_failure(source):
    source.credentials = {"token": "0" * 40}

    with pytest.raises(AuthenticationFailed):
        provider_for(source).check_connection()


def test_projects_trackers_statuses_priorities_and_custom_fields_are_discovered(real_redmine, redmine):
    assert real_redmine.identifier in [project.key for project in redmine.projects()]
    assert redmine.find_project(real_redmine.identifier).name == real_redmine.project["name"]
    assert [tracker.name for tracker in redmine.issue_types(real_redmine.identifier)] == ["Bug", "Feature", "Support"]
    assert redmine.statuses() == ["New", "In Progress", "Resolved", "Feedback", "Closed", "Rejected"]
    assert redmine.priorities() == ["Low", "Normal", "High", "Urgent", "Immediate"]
    browser = next(field for field in redmine.custom_fields("Bug") if field.name == "Browser")
    assert (browser.kind, browser.allowed_values) == ("select", ("Firefox", "Chromium"))
    with pytest.raises(UnknownProject):
        redmine.find_project("tm-no-such-project")


def test_a_member_who_is_no_administrator_is_refused_custom_fields_in_words_but_gets_the_rest(real_redmine, source):
    _, member_key = real_redmine.create_member()
    member = as_member(source, member_key)

    with pytest.raises(PermissionDenied, match="administrators only"):
        member.custom_fields("Bug")

    fields = member.fields(real_redmine.identifier, "Bug")
    assert [field.id for field in fields] == ["priority", "assignee", "fixed_version", "start_date", "due_date"]


def test_an_issue_is_filed_with_tracker_priority_assignee_custom_field_and_textile(real_redmine, redmine):
    member, _ = real_redmine.create_member()
    browser = next(field for field in redmine.custom_fields("Feature") if field.name == "Browser")
    draft = IssueDraft(
        project=real_redmine.identifier,
        issue_type="Feature",
        title="Checkout rejects coupons",
        description="Steps:\n\n1. Add a **coupon**\n2. Pay",
        priority="Urgent",
        assignee=f"Test {member['login']}",
        due_date=date(2027, 1, 31),
        fields={browser.id: "Chromium"},
    )

    created = redmine.create_issue(draft)

    stored = real_redmine.issue(int(created.key))
    assert (stored["tracker"]["name"], stored["priority"]["name"]) == ("Feature", "Urgent")
    assert stored["assigned_to"]["id"] == member["id"]
    assert stored["due_date"] == "2027-01-31"
    assert [(field["name"], field["value"]) for field in stored["custom_fields"]] == [("Browser", "Chromium")]
    assert stored["description"] == "Steps:\r\n\r\n# Add a *coupon*\r\n# Pay"
    page = real_redmine.request("GET", f"issues/{created.key}").text
    assert "<strong>coupon</strong>" in page and "<ol>" in page


def test_an_issue_is_updated_in_place(real_redmine, redmine):
    issue = real_redmine.create_issue("Old title", description="old")

    redmine.update_issue(
        str(issue["id"]),
        IssueDraft(project=real_redmine.identifier, issue_type="Bug", title="New title", description="**now**"),
    )

    stored = real_redmine.issue(issue["id"])
    assert (stored["subject"], stored["description"]) == ("New title", "*now*")


def test_a_comment_round_trips_as_a_note_and_an_edit_keeps_its_id(real_redmine, redmine):
    issue = real_redmine.create_issue("Coupon")
    key = str(issue["id"])

    comment_id = redmine.add_comment(key, "Fixed in **1.2**\n\nSee the log")
    redmine.transition(key, "In Progress")  # a journal without notes: not a comment
    first = redmine.comments(key)
    redmine.update_comment(key, comment_id, "Fixed in `1.3`")

    assert [(comment.id, comment.body) for comment in first] == [(comment_id, "Fixed in **1.2**\n\nSee the log")]
    assert [(comment.id, comment.body) for comment in redmine.comments(key)] == [(comment_id, "Fixed in `1.3`")]
    assert real_redmine.issue(issue["id"], "journals")["journals"][0]["notes"] == "Fixed in @1.3@"


def test_a_file_is_uploaded_and_attached_to_the_new_issue(real_redmine, redmine):
    files = (DraftAttachment("trace.log", b"Traceback: boom"),)

    created = redmine.create_issue(
        IssueDraft(project=real_redmine.identifier, issue_type="Bug", title="Crash", attachments=files)
    )

    (attachment,) = real_redmine.issue(int(created.key), "attachments")["attachments"]
    assert (attachment["filename"], attachment["filesize"]) == ("trace.log", 15)
    assert real_redmine.request("GET", attachment["content_url"]).content == b"Traceback: boom"
    assert created.unsent_files == ()


def test_an_existing_issue_is_found_by_id_and_by_words_of_its_subject(real_redmine, redmine):
    wanted = real_redmine.create_issue("Coupon rejected at checkout")
    real_redmine.create_issue("Login slow")

    assert [issue.key for issue in redmine.search(f"#{wanted['id']}")] == [str(wanted["id"])]
    assert [issue.key for issue in redmine.search("coupon")] == [str(wanted["id"])]
    found = redmine.fetch_many([f"#{wanted['id']}"]).issues[f"#{wanted['id']}"]
    assert (found.title, found.status, found.status_category) == ("Coupon rejected at checkout", "New", "todo")
    assert found.url == f"{real_redmine.url}/issues/{wanted['id']}"


def test_a_refresh_of_more_than_100_issues_reads_them_all_across_statuses_and_finds_the_deleted(real_redmine, redmine):
    ids = [real_redmine.create_issue(f"Issue {number}")["id"] for number in range(102)]
    real_redmine.set_status(ids[0], "Closed")
    real_redmine.call("DELETE", f"issues/{ids[-1]}.json", expect=204)

    result = redmine.fetch_many([str(number) for number in ids])

    assert set(result.issues) == {str(number) for number in ids[:-1]}
    assert result.missing == {str(ids[-1])} and not result.forbidden
    assert result.issues[str(ids[0])].status_category == "done"
    assert result.issues[str(ids[1])].status_category == "todo"


def test_an_issue_closed_and_retitled_in_redmine_is_seen_after_a_refresh(real_redmine, source):
    issue = real_redmine.create_issue("Checkout fails")
    integration = source.project_integrations.get()
    member = MembershipFactory(project=integration.project, role=Role.MEMBER).user
    result = TestResultFactory(run__project=integration.project, case__project=integration.project)
    linked = link_existing(
        integration=integration, actor=member, typed_key=f"#{issue['id']}", artefact=result, site_url="http://t/"
    )
    assert (linked.reference.title, linked.reference.status) == ("Checkout fails", "New")
    real_redmine.call(
        "PUT", f"issues/{issue['id']}.json", json={"issue": {"subject": "Checkout fails on Edge"}}, expect=204
    )
    real_redmine.set_status(issue["id"], "Closed")

    report = refresh.refresh_source(source.pk, [linked.reference.pk])

    reference = ExternalReference.objects.get(pk=linked.reference.pk)
    assert report.error == ""
    assert (reference.title, reference.status, reference.status_category) == (
        "Checkout fails on Edge",
        "Closed",
        "done",
    )


def test_versions_are_releases_and_a_closed_one_is_done(real_redmine, redmine):
    for name, status, due in (("1.0", "closed", "2026-06-30"), ("2.0", "open", None)):
        real_redmine.call(
            "POST",
            f"projects/{real_redmine.identifier}/versions.json",
            json={"version": {"name": name, "status": status, "due_date": due}},
            expect=201,
        )

    plans = redmine.plans(real_redmine.identifier)

    assert [(plan.kind, plan.name, plan.end, plan.done) for plan in plans] == [
        ("release", "1.0", date(2026, 6, 30), True),
        ("release", "2.0", None, False),
    ]


def test_a_pull_takes_the_issues_of_the_trackers_that_the_filter_selects(real_redmine, redmine):
    release = real_redmine.call(
        "POST", f"projects/{real_redmine.identifier}/versions.json", json={"version": {"name": "2.0"}}, expect=201
    )["version"]
    feature = real_redmine.id_of("trackers", "Feature")
    browser = next(field for field in redmine.custom_fields("Feature") if field.name == "Browser")
    wanted = real_redmine.create_issue(
        "Requirement A",
        tracker_id=feature,
        fixed_version_id=release["id"],
        custom_fields=[{"id": int(browser.id.removeprefix("cf_")), "value": "Firefox"}],
    )
    closed = real_redmine.create_issue("Requirement B", tracker_id=feature, fixed_version_id=release["id"])
    real_redmine.set_status(closed["id"], "Closed")
    real_redmine.create_issue("Requirement C", tracker_id=feature)  # another version
    real_redmine.create_issue("A bug", fixed_version_id=release["id"])  # another tracker
    query = PullQuery(
        project=real_redmine.identifier,
        filter=f"fixed_version_id={release['id']}",
        item_types=("Feature",),
        fields=("fixed_version",),
    )

    pulled = redmine.pull(query)

    assert [(item.key, item.item_type) for item in pulled.items] == [
        (str(wanted["id"]), "Feature"),
        (str(closed["id"]), "Feature"),
    ]
    assert pulled.items[0].fields["fixed_version"].text == "2.0"
    assert redmine.count_matching(query).count == 2
    by_browser = PullQuery(project=real_redmine.identifier, filter=f"{browser.id}=Firefox", item_types=("Feature",))
    assert [item.key for item in redmine.pull(by_browser).items] == [str(wanted["id"])]
