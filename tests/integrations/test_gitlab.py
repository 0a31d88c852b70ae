"""The GitLab provider against the fake self-managed GitLab under /gitlab, over real HTTP.

Each test reads as a specification of what testmanager does with GitLab: what it asks, what it
makes of the answer, and how every failure reaches the caller.
"""

from datetime import UTC, date, datetime

import pytest

from integrations import keys
from integrations.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    RemoteValidationError,
    UpstreamError,
)
from integrations.models import AuthType, Provider, TokenKind, UserToken
from integrations.providers import provider_for
from integrations.providers.base import DraftAttachment, IssueDraft, NotConfigured, Person
from integrations.providers.gitlab import GitLab
from integrations.richtext.forge import WORD_JOINER
from tests.factories import ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.fakes.fixtures import GITLAB_OAUTH_TOKEN, GITLAB_PAT, GITLAB_USERNAME
from tests.fakes.gitlab import DEVELOPER, GUEST

pytestmark = pytest.mark.django_db

WEB = "acme/platform/frontend/web"
ENCODED = r"/projects/acme%2Fplatform%2Ffrontend%2Fweb"


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def source(fake_gitlab):
    return SourceFactory(
        provider=Provider.GITLAB,
        name="GitLab",
        base_url=fake_gitlab.web_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": GITLAB_PAT},
        issue_url_template="",
    )


@pytest.fixture
def gitlab(source) -> GitLab:
    return provider_for(source)


@pytest.fixture
def web(fake_gitlab, source):
    """A private project in nested subgroups where the bot and alice are Developers; the source
    files issues there for one project."""
    project = fake_gitlab.add_project(WEB)
    fake_gitlab.add_member(WEB, GITLAB_USERNAME, DEVELOPER)
    fake_gitlab.add_user("alice", "Alice Liddell")
    fake_gitlab.add_member(WEB, "alice", DEVELOPER)
    ProjectIntegrationFactory(source=source, external_project=WEB)
    return project


@pytest.fixture
def guest(fake_gitlab, source, web):
    """The provider signed in as a Guest of the project."""
    fake_gitlab.add_user("guest")
    fake_gitlab.add_member(WEB, "guest", GUEST)
    fake_gitlab.add_token("guest", "glpat-guest")
    source.credentials = {"token": "glpat-guest"}
    return provider_for(source)


def draft(**fields) -> IssueDraft:
    return IssueDraft(**{"project": WEB, "issue_type": "Issue", "title": "Checkout fails", **fields})


# -- connection ----------------------------------------------------------------------------------


def test_the_connection_check_names_the_account_the_token_scopes_expiry_and_rate_limit(fake_gitlab, source):
    fake_gitlab.add_token(GITLAB_USERNAME, "glpat-expiring", expires_at=date(2031, 3, 4))
    fake_gitlab.enable_throttle(600)
    source.credentials = {"token": "glpat-expiring"}

    report = provider_for(source).check_connection()

    assert report.user == f"Test Bot ({GITLAB_USERNAME})"
    assert report.detail == f"Signed in to GitLab as Test Bot ({GITLAB_USERNAME})."
    assert report.access == "Token scopes: api."
    assert report.token_expires_at == datetime(2031, 3, 4, tzinfo=UTC)
    assert (report.rate_limit_remaining, report.rate_limit_limit) == (599, 600)
    sent = fake_gitlab.requests[0]
    assert sent.path == "/gitlab/api/v4/user"
    assert sent.headers["PRIVATE-TOKEN"] == "glpat-expiring"
    assert "Authorization" not in sent.headers


def test_a_read_api_token_is_reported_as_unable_to_write(fake_gitlab, source):
    fake_gitlab.add_token(GITLAB_USERNAME, "glpat-read", scopes=("read_api",))
    source.credentials = {"token": "glpat-read"}

    report = provider_for(source).check_connection()

    assert report.access == (
        "Token scopes: read_api. Without the api scope it can read but neither file issues nor comment."
    )


def test_a_members_oauth_token_goes_as_bearer_and_is_not_asked_about_itself(fake_gitlab, source):
    source.auth_type = AuthType.OAUTH2
    source.credentials = {"client_id": "app", "client_secret": "app-secret"}
    token = UserToken(user=UserFactory(), source=source, kind=TokenKind.OAUTH2, access_token=GITLAB_OAUTH_TOKEN)

    report = provider_for(source, token).check_connection()

    assert report.user == f"Test Bot ({GITLAB_USERNAME})"
    assert fake_gitlab.requests[0].headers["Authorization"] == f"Bearer {GITLAB_OAUTH_TOKEN}"
    assert fake_gitlab.requests_to("GET", "/personal_access_tokens/self") == []


def test_a_rejected_token_is_an_authentication_failure_without_the_token(source):
    source.credentials = {"token": "glpat-revoked-secret"}

    with pytest.raises(AuthenticationFailed) as caught:
        provider_for(source).check_connection()

    assert "401 Unauthorized" in str(caught.value)
    assert "glpat-revoked-secret" not in str(caught.value)


# -- discovery -----------------------------------------------------------------------------------


def test_projects_are_the_memberships_with_issues_across_keyset_pages(fake_gitlab, gitlab):
    for number in range(130):
        fake_gitlab.add_project(f"acme/p{number:03d}")
        fake_gitlab.add_member(f"acme/p{number:03d}", GITLAB_USERNAME, GUEST)
    fake_gitlab.add_project("acme/docs", issues_enabled=False)
    fake_gitlab.add_member("acme/docs", GITLAB_USERNAME, DEVELOPER)
    fake_gitlab.add_project("other/not-mine", visibility="public")

    projects = gitlab.projects()

    assert len(projects) == 130
    assert (projects[0].key, projects[0].name) == ("acme/p000", "acme / P000")
    pages = fake_gitlab.requests_to("GET", "/projects")
    assert len(pages) == 2
    assert pages[1].param("id_after") == str(fake_gitlab.project("acme/p099").id)


def test_issue_types_are_issue_and_incident(gitlab):
    assert [(t.id, t.name) for t in gitlab.issue_types(WEB)] == [("issue", "Issue"), ("incident", "Incident")]


def test_fields_offer_labels_members_active_milestones_a_due_date_and_confidentiality(fake_gitlab, gitlab, web):
    fake_gitlab.add_label(WEB, "bug")
    fake_gitlab.add_milestone(WEB, "Sprint 3")
    fake_gitlab.add_milestone(WEB, "Sprint 1", state="closed")

    fields = {field.id: field for field in gitlab.fields(WEB, "Issue")}

    assert fields["labels"].allowed_values == ("bug",)
    assert sorted(fields["assignees"].allowed_values) == ["alice", GITLAB_USERNAME]
    assert fields["milestone"].allowed_values == ("Sprint 3",)
    assert (fields["due_date"].kind, fields["confidential"].allowed_values) == ("date", ("false", "true"))


# -- keys ----------------------------------------------------------------------------------------


def test_short_keys_are_qualified_with_the_project_path_and_the_default_pattern_takes_both():
    assert GitLab.qualify_key("#7", WEB) == f"{WEB}#7"
    assert GitLab.qualify_key("7", "acme/web") == "acme/web#7"
    assert GitLab.qualify_key("other/app#3", WEB) == "other/app#3"
    for key in ("#7", "7", f"{WEB}#7", "my.group/my_app#1"):
        assert keys.key_matches(GitLab.default_key_pattern, key)
    assert not keys.key_matches(GitLab.default_key_pattern, "WEB-7")


# -- reading issues ------------------------------------------------------------------------------


def test_fetch_many_reads_issues_of_a_nested_project_by_its_encoded_path(fake_gitlab, gitlab, web):
    fake_gitlab.add_issue(WEB, "Cart empty", author="alice", assignees=("alice",))
    fake_gitlab.add_issue(WEB, "Fixed", author="alice", state="closed")

    result = gitlab.fetch_many([f"{WEB}#1", "ACME/Platform/Frontend/Web#2"])

    first = result.issues[f"{WEB}#1"]
    assert (first.title, first.status, first.status_category) == ("Cart empty", "Open", "todo")
    assert first.assignee == "Alice Liddell"
    assert first.url == f"{fake_gitlab.web_url}/{WEB}/-/issues/1"
    assert first.updated_at is not None and first.updated_at.tzinfo is not None
    second = result.issues["ACME/Platform/Frontend/Web#2"]  # GitLab's spelling, under the key asked for
    assert (second.key, second.status, second.status_category) == (f"{WEB}#2", "Closed", "done")
    (sent,) = fake_gitlab.requests_to("GET", rf"{ENCODED}/issues")
    assert sent.path == "/gitlab/api/v4/projects/acme%2Fplatform%2Ffrontend%2Fweb/issues"
    assert sent.query["iids[]"] == ["1", "2"]
    assert (sent.param("scope"), sent.param("state"), sent.param("per_page")) == ("all", "all", "100")


def test_250_issues_of_a_project_are_read_in_three_requests(fake_gitlab, gitlab, web):
    for number in range(250):
        fake_gitlab.add_issue(WEB, f"Issue {number + 1}", author="alice")

    result = gitlab.fetch_many([f"{WEB}#{iid}" for iid in range(1, 251)])

    assert len(result.issues) == 250 and not result.missing
    sent = fake_gitlab.requests_to("GET", rf"{ENCODED}/issues")
    assert [len(request.query["iids[]"]) for request in sent] == [100, 100, 50]


def test_deleted_issues_are_missing_while_unreadable_projects_are_forbidden(fake_gitlab, gitlab, web):
    fake_gitlab.add_issue(WEB, "Spam", author="alice")
    fake_gitlab.delete_issue(WEB, 1)
    fake_gitlab.add_user("carol")
    fake_gitlab.add_project("other/secret")
    fake_gitlab.add_issue("other/secret", "Hidden", author="carol")
    fake_gitlab.add_project("acme/docs", issues_enabled=False)
    fake_gitlab.add_member("acme/docs", GITLAB_USERNAME, DEVELOPER)

    result = gitlab.fetch_many([f"{WEB}#1", "other/secret#1", "acme/docs#4", "#3", "JIRA-1"])

    assert result.issues == {}
    assert result.missing == {f"{WEB}#1", "JIRA-1"}
    assert result.forbidden == {"other/secret#1", "acme/docs#4", "#3"}


def test_a_malformed_answer_is_a_clear_upstream_error(fake_gitlab, gitlab, web):
    fake_gitlab.add_issue(WEB, "Cart empty", author="alice")
    fake_gitlab.fail_next(200, b'[{"iid": 1, "title": "Cart')

    with pytest.raises(UpstreamError) as caught:
        gitlab.fetch_many([f"{WEB}#1"])

    assert "not valid JSON" in str(caught.value)


def test_a_throttled_account_is_rate_limited_with_gitlabs_retry_after(fake_gitlab, gitlab, web):
    fake_gitlab.exhaust_rate_limit(GITLAB_USERNAME, reset_in=120)

    with pytest.raises(RateLimited) as caught:
        gitlab.fetch_many([f"{WEB}#1"])

    assert 115 <= caught.value.retry_after <= 120
    assert "Retry later" in str(caught.value)
    assert len(fake_gitlab.requests) == 1


# -- search --------------------------------------------------------------------------------------


def test_search_finds_words_in_titles_and_descriptions_of_assigned_projects_newest_first(fake_gitlab, source, web):
    fake_gitlab.add_project("acme/app")
    fake_gitlab.add_member("acme/app", GITLAB_USERNAME, DEVELOPER)
    ProjectIntegrationFactory(source=source, external_project="acme/app")
    fake_gitlab.add_project("acme/unassigned")
    fake_gitlab.add_member("acme/unassigned", GITLAB_USERNAME, DEVELOPER)
    fake_gitlab.add_issue(WEB, "Checkout broken", author="alice", created=datetime(2024, 1, 1, tzinfo=UTC))
    fake_gitlab.add_issue("acme/app", "Login slow", author="alice", description="checkout waits")
    fake_gitlab.add_issue("acme/unassigned", "Checkout elsewhere", author="alice")

    found = provider_for(source).search("checkout")

    assert [issue.key for issue in found] == ["acme/app#1", f"{WEB}#1"]
    sent = fake_gitlab.requests_to("GET", rf"{ENCODED}/issues")[0]
    assert (sent.param("search"), sent.param("in")) == ("checkout", "title,description")


def test_a_search_within_the_asking_projects_gitlab_projects_lists_only_theirs(fake_gitlab, source, web):
    fake_gitlab.add_project("acme/app")
    fake_gitlab.add_member("acme/app", GITLAB_USERNAME, DEVELOPER)
    ProjectIntegrationFactory(source=source, external_project="acme/app")  # another project's
    fake_gitlab.add_issue(WEB, "Checkout broken", author="alice")
    fake_gitlab.add_issue("acme/app", "Checkout slow", author="alice")

    found = provider_for(source).search("checkout", within=[WEB])

    assert [issue.key for issue in found] == [f"{WEB}#1"]
    assert [request.route_path for request in fake_gitlab.requests_to("GET", r".*/issues")] == [f"{ENCODED}/issues"]
    assert provider_for(source).search("acme/app#1", within=[WEB]) == []  # another project's key


def test_search_reads_keys_directly(fake_gitlab, gitlab, web):
    fake_gitlab.add_project("acme/app", visibility="internal")
    fake_gitlab.add_issue("acme/app", "In app", author="alice")
    fake_gitlab.add_issue(WEB, "In web", author="alice")

    assert [issue.key for issue in gitlab.search("acme/app#1")] == ["acme/app#1"]
    assert [issue.title for issue in gitlab.search("#1")] == ["In web"]
    assert gitlab.search(f"{WEB}#5") == []


def test_search_by_words_needs_an_assigned_project(fake_gitlab, source):
    fake_gitlab.add_project("acme/app", visibility="internal")
    fake_gitlab.add_user("alice")
    fake_gitlab.add_issue("acme/app", "In app", author="alice")
    gitlab = provider_for(source)

    with pytest.raises(NotConfigured):
        gitlab.search("checkout")
    assert [issue.key for issue in gitlab.search("acme/app#1")] == ["acme/app#1"]


# -- creating ------------------------------------------------------------------------------------


def test_create_issue_files_inert_markdown_labels_assignees_milestone_due_date_and_type(fake_gitlab, gitlab, web):
    fake_gitlab.add_milestone(WEB, "Sprint 3")

    created = gitlab.create_issue(
        draft(
            issue_type="Incident",
            description="Ping @all: fixes #3, see `@code`",
            labels=("bug",),
            assignee="alice",
            due_date=date(2031, 5, 6),
            fields={"labels": "from-tests", "milestone": "sprint 3", "confidential": "true"},
        )
    )

    issue = fake_gitlab.issue(WEB, 1)
    assert created.key == f"{WEB}#1"
    assert created.url == f"{fake_gitlab.web_url}/{WEB}/-/issues/1"
    assert (created.status, created.status_category, created.notes) == ("Open", "todo", ())
    assert issue.description == f"Ping @{WORD_JOINER}all: fixes #{WORD_JOINER}3, see `@code`"
    assert issue.labels == ["bug", "from-tests"]
    assert [user.username for user in issue.assignees] == ["alice"]
    assert issue.milestone.title == "Sprint 3"
    assert (issue.due_date, issue.confidential, issue.issue_type) == ("2031-05-06", True, "incident")


def test_create_issue_notes_what_gitlab_has_no_place_for_and_who_reported_it(fake_gitlab, gitlab, web):
    created = gitlab.create_issue(
        draft(
            description="It broke.",
            priority="High",
            components=("cart",),
            reporter=Person("Ann Smith"),
        )
    )

    assert fake_gitlab.issue(WEB, 1).description == "It broke.\n\nReported by Ann Smith via testmanager."
    assert len(created.notes) == 2


def test_a_guest_files_the_issue_but_gitlab_drops_the_metadata_and_the_notes_say_so(fake_gitlab, guest, web):
    created = guest.create_issue(draft(labels=("bug",), assignee="alice", due_date=date(2031, 1, 1)))

    assert created.key == f"{WEB}#1"
    assert created.notes == (
        f"GitLab left out the labels, assignees, due date: the account needs at least the Planner role in {WEB} "
        "to set them.",
    )


def test_assignees_must_be_members_and_milestones_active_before_anything_is_filed(fake_gitlab, gitlab, web):
    fake_gitlab.add_user("outsider")

    with pytest.raises(RemoteValidationError) as stranger:
        gitlab.create_issue(draft(assignee="outsider"))
    with pytest.raises(RemoteValidationError) as milestone:
        gitlab.create_issue(draft(fields={"milestone": "Sprint 9"}))

    assert stranger.value.field_errors == {"assignees": f"outsider is not a member of {WEB}."}
    assert milestone.value.field_errors == {"milestone": f"{WEB} has no active milestone “Sprint 9”."}
    assert fake_gitlab.requests_to("POST") == []


def test_gitlabs_own_validation_errors_name_the_field(fake_gitlab, gitlab, web):
    with pytest.raises(RemoteValidationError) as caught:
        gitlab.create_issue(draft(title="x" * 256))

    assert caught.value.field_errors == {"title": "is too long (maximum is 255 characters)"}
    assert "title is too long" in str(caught.value)
    assert web.issues == {}


def test_unknown_issue_types_fields_and_missing_projects_are_refused(gitlab):
    with pytest.raises(RemoteValidationError) as issue_type:
        gitlab.create_issue(draft(issue_type="Epic"))
    with pytest.raises(RemoteValidationError) as unknown:
        gitlab.create_issue(draft(fields={"weight": 3}))
    with pytest.raises(NotConfigured):
        gitlab.create_issue(draft(project=""))

    assert issue_type.value.field_errors["issuetype"] == ("GitLab issues are of the types Issue, Incident, not “Epic”.")
    assert "weight" in unknown.value.field_errors


def test_a_read_api_token_is_permission_denied_naming_the_missing_scope(fake_gitlab, source, web):
    fake_gitlab.add_token(GITLAB_USERNAME, "glpat-read", scopes=("read_api",))
    source.credentials = {"token": "glpat-read"}

    with pytest.raises(PermissionDenied) as caught:
        provider_for(source).create_issue(draft())

    assert "the token needs the api scope" in str(caught.value)
    assert web.issues == {}


def test_a_project_the_account_cannot_see_is_not_found(fake_gitlab, gitlab):
    fake_gitlab.add_project("other/secret")

    with pytest.raises(NotFound) as caught:
        gitlab.create_issue(draft(project="other/secret"))

    assert "404 Project Not Found" in str(caught.value)


# -- comments ------------------------------------------------------------------------------------


def test_a_note_is_posted_as_inert_markdown_and_its_id_returned(fake_gitlab, gitlab, web):
    fake_gitlab.add_issue(WEB, "Cart", author="alice")

    note_id = gitlab.add_comment(f"{WEB}#1", "Linked tests: `test_cart` (@alice)")

    (note,) = fake_gitlab.issue(WEB, 1).notes
    assert note_id == str(note.id)
    assert note.body == f"Linked tests: `test_cart` (@{WORD_JOINER}alice)"


def test_commenting_on_a_missing_issue_is_not_found(gitlab, web):
    with pytest.raises(NotFound) as caught:
        gitlab.add_comment(f"{WEB}#9", "hello")

    assert "404 Issue Not Found" in str(caught.value)


def test_comments_are_the_peoples_notes_oldest_first_across_pages(fake_gitlab, gitlab, web):
    fake_gitlab.add_issue(WEB, "Cart", author="alice")
    for number in range(110):
        fake_gitlab.add_note(WEB, 1, f"note {number}", author="alice")
    fake_gitlab.add_note(WEB, 1, "changed the description", author="alice", system=True)

    comments = gitlab.comments(f"{WEB}#1")

    assert len(comments) == 110
    assert (comments[0].body, comments[0].author) == ("note 0", "Alice Liddell")
    assert comments[-1].body == "note 109"
    assert len(fake_gitlab.requests_to("GET", rf"{ENCODED}/issues/1/notes")) == 2


# -- transitions ---------------------------------------------------------------------------------


def test_transitions_close_and_reopen_through_state_event(fake_gitlab, gitlab, web):
    fake_gitlab.add_issue(WEB, "Cart", author="alice")
    issue = fake_gitlab.issue(WEB, 1)

    gitlab.transition(f"{WEB}#1", "Closed")
    assert issue.state == "closed"
    gitlab.transition(f"{WEB}#1", "open")
    assert issue.state == "opened"
    assert [request.json() for request in fake_gitlab.requests_to("PUT")] == [
        {"state_event": "close"},
        {"state_event": "reopen"},
    ]


def test_a_transition_to_the_current_state_sends_no_change(fake_gitlab, gitlab, web):
    fake_gitlab.add_issue(WEB, "Cart", author="alice")

    gitlab.transition(f"{WEB}#1", "Open")

    assert fake_gitlab.requests_to("PUT") == []


def test_an_unknown_status_or_issue_is_refused(gitlab, web):
    with pytest.raises(RemoteValidationError) as status:
        gitlab.transition(f"{WEB}#1", "Resolved")
    with pytest.raises(NotFound):
        gitlab.transition(f"{WEB}#1", "Closed")

    assert status.value.field_errors["status"] == "GitLab issues are Open or Closed, not “Resolved”."


def test_a_guest_closing_someone_elses_issue_is_permission_denied(fake_gitlab, guest, web):
    fake_gitlab.add_issue(WEB, "Alice's", author="alice")

    with pytest.raises(PermissionDenied) as caught:
        guest.transition(f"{WEB}#1", "Closed")

    assert "403 Forbidden" in str(caught.value)
    assert fake_gitlab.issue(WEB, 1).state == "opened"


# -- files ----------------------------------------------------------------------------------------


def test_files_are_uploaded_to_the_project_and_linked_in_the_description(fake_gitlab, gitlab, web):
    files = (
        DraftAttachment("trace.log", b"Traceback", "text/plain"),
        DraftAttachment("shot.png", b"\x89PNG", "image/png"),
    )

    created = gitlab.create_issue(draft(description="It broke.", attachments=files))

    assert [(u.project.path_with_namespace, u.filename, u.content, u.content_type) for u in fake_gitlab.uploads] == [
        (WEB, "trace.log", b"Traceback", "text/plain"),
        (WEB, "shot.png", b"\x89PNG", "image/png"),
    ]
    log, shot = fake_gitlab.uploads
    assert fake_gitlab.issue(WEB, 1).description == (
        f"It broke.\n\n**Attachments**\n\n- [trace.log]({log.url})\n- ![shot]({shot.url})"
    )
    assert all(
        r.headers["Content-Type"].startswith("multipart/form-data")
        for r in fake_gitlab.requests_to("POST", rf"{ENCODED}/uploads")
    )
    assert (created.notes, created.unsent_files) == ((), ())


def test_a_file_over_gitlabs_maximum_attachment_size_is_named_and_the_issue_is_created(fake_gitlab, gitlab, web):
    fake_gitlab.max_attachment_bytes = 5
    files = (DraftAttachment("small.txt", b"ok"), DraftAttachment("huge.bin", b"0" * 10))

    created = gitlab.create_issue(draft(description="It broke.", attachments=files))

    assert created.key == f"{WEB}#1"
    assert [u.filename for u in fake_gitlab.uploads] == ["small.txt"]
    assert "huge.bin" not in fake_gitlab.issue(WEB, 1).description
    assert created.unsent_files == ("huge.bin",)
    (note,) = created.notes
    assert note.startswith("huge.bin was not sent to GitLab:") and "HTTP 413" in note


def test_a_file_gitlab_refuses_is_named_and_the_others_and_the_issue_go_through(fake_gitlab, gitlab, web):
    fake_gitlab.fail_next(500, {"message": "500 Internal Server Error"})
    files = (DraftAttachment("first.log", b"1"), DraftAttachment("second.log", b"2"))

    created = gitlab.create_issue(draft(attachments=files))

    assert created.key == f"{WEB}#1"
    assert [u.filename for u in fake_gitlab.uploads] == ["second.log"]
    assert created.unsent_files == ("first.log",)
    assert created.notes[0].startswith("first.log was not sent to GitLab:")
