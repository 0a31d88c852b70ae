"""The Redmine provider against the fake Redmine 5.0 under /redmine, over real HTTP.

Each test reads as a specification of what testmanager does with Redmine: what it asks, what it
makes of the answer, and how every failure reaches the caller.
"""

import logging
from datetime import date

import pytest
from django.urls import reverse

from integrations.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    RemoteValidationError,
    Unreachable,
    UpstreamError,
)
from integrations.http import deadline
from integrations.mappings import default_priority_mapping, priority_for
from integrations.models import AuthType, Provider, TextFormatting, TokenKind, UserToken
from integrations.providers import provider_for
from integrations.providers.base import Capability, DraftAttachment, IssueDraft, PullQuery, UnknownProject, Unsupported
from integrations.providers.redmine import PAGE_SIZE, Redmine
from integrations.richtext.forge import WORD_JOINER
from tests.factories import ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.fakes.fixtures import REDMINE_API_KEY, REDMINE_LOGIN, REDMINE_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


@pytest.fixture
def source(fake_redmine):
    return SourceFactory(
        provider=Provider.REDMINE,
        name="Redmine",
        base_url=fake_redmine.base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": REDMINE_API_KEY},
        issue_url_template="",
    )


@pytest.fixture
def redmine(source) -> Redmine:
    return provider_for(source)


@pytest.fixture
def fake(fake_redmine, source):
    """The project ``shop`` where the bot and alice are members; the source files issues there."""
    fake_redmine.add_user("alice", "Alice Liddell")
    fake_redmine.add_project("shop", "Shop", members=(REDMINE_LOGIN, "alice"))
    ProjectIntegrationFactory(source=source, external_project="shop", default_issue_type="Bug")
    return fake_redmine


def listing_requests(fake):
    return fake.requests_to("GET", r"/issues\.json")


# -- registry and metadata ------------------------------------------------------------------


def test_redmine_is_a_registered_polled_tracker_with_api_key_and_basic_auth():
    assert Redmine.auth_types == [AuthType.PAT, AuthType.BASIC]
    assert [part.label for part in Redmine.fields_for(AuthType.PAT)] == ["API access key"]
    assert Capability.PROCESS_WEBHOOKS not in Redmine.capabilities
    assert Redmine.keys_per_request == PAGE_SIZE == 100


# -- connection ------------------------------------------------------------------------------


def test_the_api_key_travels_in_x_redmine_api_key_and_the_check_names_the_account(redmine, fake_redmine):
    report = redmine.check_connection()

    assert report.user == "Test Bot (testbot)"
    assert "not one, so custom fields are not offered" in report.access
    sent = fake_redmine.requests_to("GET", r"/users/current\.json")[0]
    assert sent.headers["X-Redmine-API-Key"] == REDMINE_API_KEY
    assert "Authorization" not in sent.headers


def test_basic_auth_signs_in_with_login_and_password(source, fake_redmine):
    source.auth_type, source.credentials = AuthType.BASIC, {"username": REDMINE_LOGIN, "password": REDMINE_PASSWORD}

    report = provider_for(source).check_connection()

    assert report.user == "Test Bot (testbot)"
    assert fake_redmine.requests_to("GET")[0].headers["Authorization"].startswith("Basic ")


def test_an_administrator_is_told_custom_fields_can_be_read(source, fake_redmine):
    fake_redmine.add_user("admin", "Redmine Admin", api_key="admin-key", admin=True)
    source.credentials = {"token": "admin-key"}

    assert "custom field definitions can be read" in provider_for(source).check_connection().access


def test_a_wrong_key_is_an_authentication_failure_that_never_shows_the_key(source, caplog):
    source.credentials = {"token": "wrong-key-0123456789"}

    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationFailed) as raised:
        provider_for(source).check_connection()

    assert raised.value.status == 401
    assert "wrong-key-0123456789" not in str(raised.value)
    assert "wrong-key-0123456789" not in caplog.text


# -- discovery -------------------------------------------------------------------------------


def test_projects_are_read_page_by_page_by_offset(redmine, fake_redmine):
    for number in range(130):
        fake_redmine.add_project(f"p{number:03}", members=(REDMINE_LOGIN,))
    fake_redmine.add_project("hidden")  # the bot is no member

    projects = redmine.projects()

    assert len(projects) == 130 and projects[0].key == "p000"
    offsets = [request.param("offset") for request in fake_redmine.requests_to("GET", r"/projects\.json")]
    assert offsets == ["0", "100"]


def test_a_project_is_found_by_identifier_and_a_hidden_one_is_unknown(redmine, fake):
    fake.add_project("secret")

    assert redmine.find_project("shop").name == "Shop"
    with pytest.raises(UnknownProject):
        redmine.find_project("secret")
    with pytest.raises(UnknownProject):
        redmine.find_project("nowhere")


def test_trackers_statuses_and_priorities_are_discovered(redmine, fake):
    assert [t.name for t in redmine.issue_types("shop")] == ["Bug", "Feature", "Support"]
    assert redmine.statuses()[:2] == ["New", "In Progress"]
    assert redmine.priorities() == ["Low", "Normal", "High", "Urgent", "Immediate"]


def test_custom_fields_need_an_administrator_and_the_refusal_says_so(redmine, fake):
    with pytest.raises(PermissionDenied, match="administrators only"):
        redmine.custom_fields()

    fields = redmine.fields("shop", "Bug")  # the standard fields still work

    assert [field.id for field in fields] == ["priority", "assignee", "fixed_version", "start_date", "due_date"]
    assert set(next(f for f in fields if f.id == "assignee").allowed_values) == {"Test Bot", "Alice Liddell"}


def test_an_administrator_gets_the_custom_fields_of_the_tracker(source, fake):
    fake.add_user("admin", "Redmine Admin", api_key="admin-key", admin=True)
    fake.add_custom_field("Browser", "list", trackers=(1,), possible_values=[{"value": "Firefox"}, {"value": "Edge"}])
    fake.add_custom_field("Story points", "int", trackers=(2,))
    source.credentials = {"token": "admin-key"}

    fields = provider_for(source).fields("shop", "Bug")

    browser = fields[-1]
    assert (browser.name, browser.kind, browser.allowed_values) == ("Browser", "select", ("Firefox", "Edge"))
    assert browser.id.startswith("cf_")
    assert "Story points" not in [field.name for field in fields]


def test_versions_are_releases_and_a_closed_one_is_done(redmine, fake):
    fake.add_version("shop", "1.0", status="closed", due_date="2026-06-30")
    fake.add_version("shop", "2.0")

    plans = redmine.plans("shop")

    assert [(p.kind, p.name, p.end, p.done) for p in plans] == [
        ("release", "1.0", date(2026, 6, 30), True),
        ("release", "2.0", None, False),
    ]


# -- reading issues --------------------------------------------------------------------------


def test_a_refresh_reads_100_issues_a_request_across_all_statuses(redmine, fake):
    for number in range(250):
        fake.add_issue("shop", f"Issue {number}", author="alice", status_id=5 if number % 2 else 1)

    result = redmine.fetch_many([str(number) for number in range(1, 251)])

    assert len(result.issues) == 250 and not result.missing and not result.forbidden
    requests = listing_requests(fake)
    assert len(requests) == 3
    assert all(request.param("status_id") == "*" for request in requests)
    assert len(requests[0].param("issue_id").split(",")) == 100
    assert result.issues["2"].status_category == "done" and result.issues["1"].status_category == "todo"
    # Redmine 5.0 says which statuses close an issue only in /issue_statuses.json: read once.
    assert len(fake.requests_to("GET", r"/issue_statuses\.json")) == 1


def test_an_issue_reads_with_its_tracker_values(redmine, fake, source):
    issue = fake.add_issue("shop", "Coupon rejected", author="alice", priority_id=3, status_id=2)
    issue.assigned_to = fake.user("alice")

    found = redmine.fetch_many(["#1"]).issues["#1"]

    assert (found.key, found.title, found.status, found.status_category) == (
        "1",
        "Coupon rejected",
        "In Progress",
        "in_progress",
    )
    assert (found.priority, found.assignee) == ("High", "Alice Liddell")
    assert found.url == f"{source.base_url}/issues/1"
    assert found.updated_at is not None and found.labels is None


def test_an_id_the_listing_leaves_out_is_missing_when_deleted_and_forbidden_when_hidden(redmine, fake):
    fake.add_project("secret")
    fake.add_issue("shop", "Visible", author="alice")
    fake.add_issue("secret", "Hidden", author="alice")

    result = redmine.fetch_many(["1", "2", "99", "SHOP-1"])

    assert set(result.issues) == {"1"}
    assert result.forbidden == {"2"}
    assert result.missing == {"99", "SHOP-1"}


def test_search_finds_by_id_and_by_words_in_the_subject(redmine, fake):
    fake.add_issue("shop", "Coupon rejected at checkout", author="alice")
    fake.add_issue("shop", "Login slow", author="alice", status_id=5)

    assert [issue.key for issue in redmine.search("coupon")] == ["1"]
    assert [issue.key for issue in redmine.search("#2")] == ["2"]
    listing = listing_requests(fake)[0]
    assert (listing.param("subject"), listing.param("project_id"), listing.param("status_id")) == (
        "~coupon",
        "shop",
        "*",
    )


def test_notes_are_comments_and_journals_without_notes_are_left_out(redmine, fake):
    fake.add_issue("shop", "Coupon", author="alice")
    fake.add_note(1, "Reproduced with *Firefox* on @staging@", author="alice")
    redmine.transition("1", "In Progress")  # a journal of changes, without notes

    comments = redmine.comments("1")

    assert [(c.author, c.body) for c in comments] == [("Alice Liddell", "Reproduced with **Firefox** on `staging`")]


# -- writing ---------------------------------------------------------------------------------


def test_an_issue_is_filed_with_tracker_priority_assignee_and_textile(redmine, fake):
    draft = IssueDraft(
        project="shop",
        issue_type="Feature",
        title="Checkout rejects coupons",
        description="Steps:\n\n1. Add a **coupon**\n2. Pay",
        priority="Urgent",
        assignee="Alice Liddell",
        due_date=date(2026, 12, 24),
    )

    created = redmine.create_issue(draft)

    sent = fake.requests_to("POST", r"/projects/shop/issues\.json")[0].json()["issue"]
    assert sent["tracker_id"] == 2 and sent["priority_id"] == 4
    assert sent["assigned_to_id"] == fake.user("alice").id
    assert sent["description"] == "Steps:\n\n# Add a *coupon*\n# Pay"
    assert sent["due_date"] == "2026-12-24"
    assert (created.key, created.priority, created.assignee) == ("1", "Urgent", "Alice Liddell")


def test_a_tracker_the_project_lacks_or_a_stranger_as_assignee_is_refused_before_filing(redmine, fake):
    with pytest.raises(RemoteValidationError, match="trackers Bug, Feature, Support"):
        redmine.create_issue(IssueDraft(project="shop", issue_type="Epic", title="x"))
    with pytest.raises(RemoteValidationError, match="not a member"):
        redmine.create_issue(IssueDraft(project="shop", issue_type="Bug", title="x", assignee="Mallory"))
    assert not fake.requests_to("POST")


def test_redmine_validation_errors_reach_the_caller_in_its_words(redmine, fake):
    with pytest.raises(RemoteValidationError, match="Subject cannot be blank"):
        redmine.create_issue(IssueDraft(project="shop", issue_type="Bug", title=""))


def test_custom_fields_travel_by_id(redmine, fake):
    field = fake.add_custom_field("Browser")

    redmine.create_issue(IssueDraft(project="shop", issue_type="Bug", title="x", fields={f"cf_{field['id']}": "Edge"}))

    assert fake.issues[1].custom_fields == {field["id"]: "Edge"}
    with pytest.raises(RemoteValidationError, match="no field color"):
        redmine.create_issue(IssueDraft(project="shop", issue_type="Bug", title="x", fields={"color": "red"}))


def test_files_are_uploaded_as_octet_stream_and_attached_by_token(redmine, fake):
    files = (DraftAttachment("trace.log", b"boom"), DraftAttachment("gone.png", b"", problem="its file is missing"))

    created = redmine.create_issue(IssueDraft(project="shop", issue_type="Bug", title="Crash", attachments=files))

    upload = fake.requests_to("POST", r"/uploads\.json")[0]
    assert upload.headers["Content-Type"] == "application/octet-stream"
    assert (upload.param("filename"), upload.body) == ("trace.log", b"boom")
    assert [a["filename"] for a in fake.issues[1].attachments] == ["trace.log"]
    assert created.unsent_files == ("gone.png",)


def test_an_update_is_a_put_answered_204_without_a_body(redmine, fake):
    fake.add_issue("shop", "Old", author="alice")

    redmine.update_issue("1", IssueDraft(project="shop", issue_type="Bug", title="New", description="**now**"))

    assert (fake.issues[1].subject, fake.issues[1].description) == ("New", "*now*")


def test_a_comment_is_a_note_and_its_journal_id_is_read_back(redmine, fake):
    fake.add_issue("shop", "Coupon", author="alice")

    comment_id = redmine.add_comment("1", "Fixed in **1.2**")
    redmine.update_comment("1", comment_id, "Fixed in 1.3")

    journal = fake.issues[1].journals[0]
    assert comment_id == str(journal.id)
    assert journal.notes == "Fixed in 1.3"


# The server's text formatting: the source says which, since Redmine's API does not.
WRITTEN = {
    TextFormatting.TEXTILE: ("Steps:\n\n# Add a *coupon*\n# Pay", "*now*", "Fixed in *1.2*", "Ask &#64;alice"),
    TextFormatting.MARKDOWN: ("Steps:\n\n1. Add a **coupon**\n2. Pay", "**now**", "Fixed in **1.2**", None),
}


@pytest.mark.parametrize("formatting", list(TextFormatting))
def test_descriptions_and_notes_are_written_in_the_sources_text_formatting(source, fake, formatting):
    source.text_formatting = formatting
    source.save()
    redmine = provider_for(source)
    description, updated, note, mention = WRITTEN[formatting]

    redmine.create_issue(
        IssueDraft(
            project="shop", issue_type="Bug", title="Coupon", description="Steps:\n\n1. Add a **coupon**\n2. Pay"
        )
    )
    assert fake.issues[1].description == description
    redmine.update_issue("1", IssueDraft(project="shop", issue_type="Bug", title="Coupon", description="**now**"))
    assert fake.issues[1].description == updated
    comment_id = redmine.add_comment("1", "Fixed in **1.2**")
    assert fake.issues[1].journals[-1].notes == note
    redmine.update_comment("1", comment_id, "Ask @alice")
    assert fake.issues[1].journals[-1].notes == (mention or f"Ask @{WORD_JOINER}alice")


def test_a_markdown_servers_notes_read_back_as_written(source, fake):
    source.text_formatting = TextFormatting.MARKDOWN
    source.save()
    fake.add_issue("shop", "Coupon", author="alice")
    fake.add_note(1, "Reproduced with **Firefox** on `staging` and *p*", author="alice")

    comments = provider_for(source).comments("1")

    assert [c.body for c in comments] == ["Reproduced with **Firefox** on `staging` and *p*"]


def test_a_source_writes_textile_unless_told_otherwise(source):
    assert source.text_formatting == TextFormatting.TEXTILE


def test_a_transition_the_workflow_ignores_is_an_error(redmine, fake):
    fake.add_issue("shop", "Coupon", author="alice")
    fake.forbidden_transitions.add((1, 5))

    with pytest.raises(RemoteValidationError, match="workflow does not let"):
        redmine.transition("1", "Closed")
    assert fake.issues[1].status_id == 1
    redmine.transition("1", "resolved")
    assert fake.issues[1].status_id == 3
    with pytest.raises(RemoteValidationError, match="no status “Done”"):
        redmine.transition("1", "Done")


def test_labels_are_not_a_redmine_thing(redmine):
    with pytest.raises(Unsupported):
        redmine.set_labels("1", ["x"])


# -- pulls -----------------------------------------------------------------------------------


def test_a_pull_takes_the_filtered_issues_of_the_trackers_and_counts_by_total_count(redmine, fake):
    release = fake.add_version("shop", "2.0")
    fake.add_issue("shop", "Requirement A", author="alice", tracker_id=2, fixed_version_id=release["id"])
    fake.add_issue("shop", "Requirement B", author="alice", tracker_id=2, status_id=5)
    fake.add_issue("shop", "A bug", author="alice", tracker_id=1)
    query = PullQuery(project="shop", filter="", item_types=("Feature",), fields=("fixed_version",))

    pulled = redmine.pull(query)

    assert [(item.key, item.item_type) for item in pulled.items] == [("1", "Feature"), ("2", "Feature")]
    assert pulled.items[0].fields["fixed_version"].text == "2.0"
    assert redmine.count_matching(query).count == 2
    assert redmine.count_matching(PullQuery(project="shop", filter="status_id=o")).count == 2


def test_a_pull_reports_deleted_known_issues_only(redmine, fake):
    fake.add_issue("shop", "Kept", author="alice")
    fake.add_issue("shop", "Deleted", author="alice")
    fake.delete_issue(2)

    assert redmine.pull(PullQuery(project="shop"), known=["1", "2"]).deleted == {"2"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("project_id=other", "cannot set project_id"),
        ("colour=red", "no parameter “colour”"),
        ("tracker_id", "not a Redmine filter parameter"),
        ('subject="~open', "unclosed quote"),
        ("status_id=1 status_id=2", "twice"),
    ],
)
def test_a_filter_is_validated_before_anything_is_sent(redmine, fake, text, problem):
    with pytest.raises(RemoteValidationError, match=problem):
        redmine.count_matching(PullQuery(project="shop", filter=text))
    assert not listing_requests(fake)


def test_a_filter_redmine_refuses_says_why(redmine, fake):
    with pytest.raises(RemoteValidationError, match="Status is invalid"):
        redmine.count_matching(PullQuery(project="shop", filter="status_id=99"))


# -- what a real server cannot be made to do -------------------------------------------------


def test_a_429_with_a_long_retry_after_is_rate_limited_without_waiting(redmine, fake):
    fake.fail_next(429, "", headers={"Retry-After": "120"})

    with pytest.raises(RateLimited) as raised:
        redmine.fetch_many(["1"])

    assert raised.value.retry_after == 120


def test_a_502_is_retried_and_a_persistent_500_is_an_upstream_error(redmine, fake, monkeypatch):
    monkeypatch.setattr("integrations.http.time.sleep", lambda seconds: None)
    fake.add_issue("shop", "Coupon", author="alice")
    fake.fail_next(502, "<html>Bad gateway</html>")
    assert set(redmine.fetch_many(["1"]).issues) == {"1"}

    fake.fail_next(500, "<html>Internal error</html>", count=10)
    with pytest.raises(UpstreamError):
        redmine.fetch_many(["1"])


def test_garbage_instead_of_json_is_an_upstream_error_pointing_at_the_base_url(redmine, fake):
    fake.fail_next(200, b"{not json")

    with pytest.raises(UpstreamError, match="check the base URL"):
        redmine.projects()


def test_a_server_that_does_not_answer_in_time_is_unreachable(redmine, fake):
    held = fake.server.hold_answers("GET", r"/users/current\.json")
    try:
        with deadline(0.5), pytest.raises(Unreachable):
            redmine.check_connection()
    finally:
        held.release()


def test_an_issue_gone_before_an_update_is_not_found(redmine, fake):
    with pytest.raises(NotFound):
        redmine.update_issue("42", IssueDraft(project="shop", issue_type="Bug", title="x"))


def test_the_admin_says_a_redmine_source_is_polled_because_redmine_has_no_webhooks(admin_client, source):
    page = admin_client.get(reverse("admin:integrations_source_change", args=[source.pk])).content.decode()

    assert "None, polled: Redmine has no webhooks (not in Redmine 5 core)" in page
    assert REDMINE_API_KEY not in page


@pytest.mark.parametrize(
    ("priority", "requirement", "defect"),
    [
        ("Immediate", "P0", "blocker"),
        ("Urgent", "P0", "blocker"),
        ("High", "P1", "critical"),
        ("Normal", "P2", "major"),
        ("Low", "P3", "minor"),
    ],
)
def test_redmine_default_priorities_are_mapped_by_default(priority, requirement, defect):
    mapping = default_priority_mapping()

    assert (priority_for(mapping, priority, "requirement"), priority_for(mapping, priority, "defect")) == (
        requirement,
        defect,
    )


@pytest.mark.parametrize(
    ("typed", "stored"), [("#123", "123"), (" 123 ", "123"), ("0123", "123"), ("SHOP-1", "SHOP-1")]
)
def test_a_typed_key_is_stored_as_the_issue_number(typed, stored):
    assert Redmine.qualify_key(typed, "shop") == stored


def test_a_members_own_api_key_is_what_their_requests_carry(source, fake):
    fake.add_user("carol", "Carol Danvers", api_key="carol-own-key")
    fake.projects["shop"].members.append(fake.user("carol"))
    token = UserToken.objects.create(
        user=UserFactory(), source=source, kind=TokenKind.PAT, access_token="carol-own-key"
    )

    assert provider_for(source, token).check_connection().user == "Carol Danvers (carol)"
    assert fake.requests_to("GET")[-1].headers["X-Redmine-API-Key"] == "carol-own-key"
