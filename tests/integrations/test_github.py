"""The GitHub provider against the fake GitHub Enterprise Server, over real HTTP.

Each test reads as a specification of what testmanager does with GitHub: what it asks, what it
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
from integrations.providers.base import DraftAttachment, IssueDraft, NotConfigured, Person, RemoteIssue
from integrations.providers.github import GitHub
from integrations.richtext.forge import WORD_JOINER
from tests.factories import ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.fakes.fixtures import GITHUB_LOGIN, GITHUB_TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


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
def shop(fake_github, source):
    """acme/shop: public, the bot may push, alice too; mallory is a stranger. The source files
    issues there for one project."""
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    fake_github.add_user("alice", "Alice")
    fake_github.grant("acme/shop", "alice", "write")
    fake_github.add_user("mallory")
    ProjectIntegrationFactory(source=source, external_project="acme/shop")
    return fake_github.repo("acme/shop")


def draft(**fields) -> IssueDraft:
    return IssueDraft(**{"project": "acme/shop", "issue_type": "Issue", "title": "Checkout fails", **fields})


# -- connection ----------------------------------------------------------------------------------


def test_the_connection_check_names_the_account_its_scopes_and_rate_limit(fake_github, github):
    report = github.check_connection()

    assert report.user == f"Test Bot ({GITHUB_LOGIN})"
    assert report.detail == f"Signed in to GitHub as Test Bot ({GITHUB_LOGIN})."
    assert report.access == "Token scopes: repo, read:org."
    assert (report.rate_limit_remaining, report.rate_limit_limit) == (4999, 5000)
    assert report.token_expires_at is None
    (sent,) = fake_github.requests_to("GET", "/user")
    assert sent.path == "/api/v3/user"
    assert sent.headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert sent.headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_an_expiring_fine_grained_token_reports_its_expiry(fake_github, source):
    expiry = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    fake_github.add_token(GITHUB_LOGIN, "github_pat_fine", kind="fine_grained", expires_at=expiry)
    source.credentials = {"token": "github_pat_fine"}

    report = provider_for(source).check_connection()

    assert report.token_expires_at == expiry
    assert "fine-grained" in report.access


def test_a_token_without_repo_scope_is_reported_as_unable_to_write(fake_github, source):
    fake_github.add_token(GITHUB_LOGIN, "ghp_readonly", scopes=("read:user",))
    source.credentials = {"token": "ghp_readonly"}

    report = provider_for(source).check_connection()

    assert "include neither repo nor public_repo" in report.access
    assert "Add the repo scope" in report.summary


def test_a_rejected_token_is_an_authentication_failure_without_the_token(source):
    source.credentials = {"token": "ghp_revoked_secret_value"}

    with pytest.raises(AuthenticationFailed) as caught:
        provider_for(source).check_connection()

    assert "Bad credentials" in str(caught.value)
    assert caught.value.status == 401
    assert "ghp_revoked_secret_value" not in str(caught.value)


def test_a_members_oauth_token_is_used_instead_of_the_sources(fake_github, source):
    fake_github.add_user("alice", "Alice")
    fake_github.add_token("alice", "gho_alice", kind="oauth", scopes=("repo",))
    source.auth_type = AuthType.OAUTH2
    source.credentials = {"client_id": "app", "client_secret": "app-secret"}
    token = UserToken(user=UserFactory(), source=source, kind=TokenKind.OAUTH2, access_token="gho_alice")

    report = provider_for(source, token).check_connection()

    assert report.user == "Alice (alice)"
    assert fake_github.requests[-1].headers["Authorization"] == "Bearer gho_alice"


# -- discovery -----------------------------------------------------------------------------------


def test_projects_are_the_repositories_taking_issues_across_pages(fake_github, github):
    for number in range(120):
        fake_github.add_repo(f"acme/repo-{number:03d}", private=True)
        fake_github.grant(f"acme/repo-{number:03d}", GITHUB_LOGIN, "read")
    fake_github.add_repo("acme/mirror", has_issues=False)
    fake_github.grant("acme/mirror", GITHUB_LOGIN, "write")

    projects = github.projects()

    assert len(projects) == 120
    assert projects[0].key == "acme/repo-000" and projects[-1].key == "acme/repo-119"
    assert len(fake_github.requests_to("GET", r"/user/repos")) == 2


def test_a_repository_offers_one_issue_type(github):
    assert [(t.id, t.name) for t in github.issue_types("acme/shop")] == [("issue", "Issue")]


def test_fields_offer_labels_open_milestones_and_assignees_to_someone_with_push_access(fake_github, github, shop):
    fake_github.add_label("acme/shop", "bug")
    fake_github.add_milestone("acme/shop", "Sprint 3")
    fake_github.add_milestone("acme/shop", "Sprint 1", state="closed")

    fields = {field.id: field for field in github.fields("acme/shop", "Issue")}

    assert fields["labels"].kind == "labels" and fields["labels"].allowed_values == ("bug",)
    assert fields["milestone"].kind == "select" and fields["milestone"].allowed_values == ("Sprint 3",)
    assert fields["assignees"].kind == "multi_user"
    assert sorted(fields["assignees"].allowed_values) == ["alice", GITHUB_LOGIN]
    assert not any(field.required for field in fields.values())


def test_without_push_access_there_are_no_fields_to_offer(fake_github, source):
    fake_github.add_repo("acme/public")

    assert provider_for(source).fields("acme/public", "Issue") == []


# -- keys ----------------------------------------------------------------------------------------


def test_short_keys_are_qualified_with_the_repository_and_the_default_pattern_takes_both(github):
    assert GitHub.qualify_key(" #12 ", "acme/shop") == "acme/shop#12"
    assert GitHub.qualify_key("12", "acme/shop") == "acme/shop#12"
    assert GitHub.qualify_key("octo/web#3", "acme/shop") == "octo/web#3"
    for key in ("#12", "12", "acme/shop#12", "my-org/repo.js#1"):
        assert keys.key_matches(GitHub.default_key_pattern, key)
    assert not keys.key_matches(GitHub.default_key_pattern, "SHOP-12")


# -- reading issues ------------------------------------------------------------------------------


def test_fetch_many_reads_status_assignees_url_and_updated_in_one_graphql_query(fake_github, github, shop):
    fake_github.add_issue("acme/shop", "Cart empty", author="alice", assignees=("alice", GITHUB_LOGIN))
    fake_github.add_issue("acme/shop", "Won't do", author="alice", state="closed", state_reason="not_planned")
    fake_github.add_issue("acme/shop", "Done", author="alice", state="closed")

    result = github.fetch_many(["acme/shop#1", "acme/shop#2", "ACME/Shop#3"])

    first = result.issues["acme/shop#1"]
    assert (first.title, first.status, first.status_category) == ("Cart empty", "Open", "todo")
    assert first.assignee == f"alice, {GITHUB_LOGIN}"
    assert first.priority == ""
    assert first.url == f"{fake_github.web_url}/acme/shop/issues/1"
    assert first.updated_at is not None and first.updated_at.tzinfo is not None
    assert first.etag == ""  # GraphQL has no conditional requests
    assert (result.issues["acme/shop#2"].status, result.issues["acme/shop#2"].status_category) == (
        "Closed (not planned)",
        "done",
    )
    assert result.issues["ACME/Shop#3"].key == "acme/shop#3"  # GitHub's spelling, under the key asked for
    assert result.issues["ACME/Shop#3"].status == "Closed"
    assert result.missing == result.forbidden == frozenset()
    assert len(fake_github.graphql_requests()) == 1
    assert fake_github.requests_to("GET", r"/repos/.*") == []


def test_without_graphql_refresh_keeps_the_cached_values_of_an_unchanged_issue_at_no_rate_limit_cost(
    fake_github, github, shop
):
    fake_github.graphql_enabled = False
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")
    fake_github.add_issue("acme/shop", "Login slow", author="alice")
    cached = github.fetch_many(["acme/shop#1", "acme/shop#2"]).issues
    spent_before = fake_github.quota(GITHUB_LOGIN).used
    fake_github.edit_issue("acme/shop", 2, title="Login slow on mobile")

    result = github.refresh(cached)

    assert result.issues["acme/shop#1"] is cached["acme/shop#1"]
    assert result.issues["acme/shop#2"].title == "Login slow on mobile"
    assert result.issues["acme/shop#2"].etag != cached["acme/shop#2"].etag
    sent = fake_github.requests_to("GET", r"/repos/acme/shop/issues/\d")[-2:]
    assert [request.headers["If-None-Match"] for request in sent] == [
        cached["acme/shop#1"].etag,
        cached["acme/shop#2"].etag,
    ]
    # Only the changed issue counted: GitHub does not charge a 304.
    assert fake_github.quota(GITHUB_LOGIN).used == spent_before + 1


def test_without_graphql_refresh_without_a_stored_etag_reads_the_issue_again(fake_github, github, shop):
    fake_github.graphql_enabled = False
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")
    stale = RemoteIssue(
        key="acme/shop#1",
        title="Old title",
        status="Open",
        status_category="todo",
        assignee="",
        priority="",
        url="",
        updated_at=None,
    )

    result = github.refresh({"acme/shop#1": stale})

    assert result.issues["acme/shop#1"].title == "Cart empty"
    assert "If-None-Match" not in fake_github.requests_to("GET", r"/repos/acme/shop/issues/1")[-1].headers


def test_deleted_and_nonexistent_issues_are_missing_while_hidden_ones_are_forbidden(fake_github, github, shop):
    fake_github.add_issue("acme/shop", "Spam", author="mallory")
    fake_github.delete_issue("acme/shop", 1)
    fake_github.add_repo("acme/secret", private=True)
    fake_github.add_issue("acme/secret", "Hidden", author="alice")

    result = github.fetch_many(["acme/shop#1", "acme/shop#99", "acme/secret#1", "#5", "SHOP-12"])

    assert result.issues == {}
    assert result.missing == {"acme/shop#1", "acme/shop#99", "SHOP-12"}
    assert result.forbidden == {"acme/secret#1", "#5"}


def test_a_transferred_issue_is_followed_and_answers_under_its_new_key(fake_github, github, shop):
    fake_github.add_repo("acme/web")
    fake_github.add_issue("acme/shop", "Belongs to web", author="alice")
    fake_github.transfer_issue("acme/shop", 1, "acme/web")

    issue = github.fetch_many(["acme/shop#1"]).issues["acme/shop#1"]

    assert issue.key == "acme/web#1"
    assert issue.title == "Belongs to web"
    assert issue.url == f"{fake_github.web_url}/acme/web/issues/1"


def test_a_malformed_answer_is_a_clear_upstream_error_and_nothing_is_returned(fake_github, github, shop):
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")
    fake_github.add_issue("acme/shop", "Login slow", author="alice")
    fake_github.fail_next(200, b'{"number": 2, "title": "Login sl', headers={"Content-Type": "application/json"})

    with pytest.raises(UpstreamError) as caught:
        github.fetch_many(["acme/shop#1", "acme/shop#2"])

    assert "not valid JSON" in str(caught.value)


@pytest.mark.parametrize("status", [403, 429])
def test_an_exhausted_primary_rate_limit_is_rate_limited_until_the_reset(fake_github, github, shop, status):
    fake_github.graphql_enabled = False  # REST's own answer (GraphQL's: tests/integrations/test_github_batch.py)
    fake_github.add_issue("acme/shop", "Cart empty", author="alice")
    fake_github.exhaust_rate_limit(GITHUB_LOGIN, reset_in=1800, status=status)

    with pytest.raises(RateLimited) as caught:
        github.fetch_many(["acme/shop#1"])

    assert 1790 <= caught.value.retry_after <= 1800
    assert "API rate limit exceeded" in str(caught.value)
    assert len(fake_github.requests_to("GET", r"/repos/acme/shop/issues/1")) == 1


def test_a_secondary_rate_limit_without_retry_after_waits_at_least_a_minute(fake_github, github, shop):
    fake_github.secondary_limit_next(retry_after=None)

    with pytest.raises(RateLimited) as caught:
        github.add_comment("acme/shop#1", "hello")

    assert caught.value.retry_after == 60
    assert "secondary rate limit" in str(caught.value)


def test_a_secondary_rate_limit_with_retry_after_names_the_wait(fake_github, github, shop):
    fake_github.secondary_limit_next(retry_after=120, status=429)

    with pytest.raises(RateLimited) as caught:
        github.fetch_many(["acme/shop#1"])

    assert caught.value.retry_after == 120


# -- search --------------------------------------------------------------------------------------


def test_search_finds_issues_by_words_in_the_assigned_repositories_and_never_pull_requests(fake_github, github, shop):
    fake_github.add_repo("acme/other")
    fake_github.add_issue("acme/shop", "Checkout crashes", author="alice")
    fake_github.add_issue("acme/shop", "Checkout redesign", author="alice", pull_request=True)
    fake_github.add_issue("acme/other", "Checkout elsewhere", author="alice")

    found = github.search("checkout")

    assert [(issue.key, issue.title) for issue in found] == [("acme/shop#1", "Checkout crashes")]
    (sent,) = fake_github.requests_to("GET", "/search/issues")
    assert sent.param("q") == '"checkout" is:issue repo:acme/shop'


def test_a_search_within_the_asking_projects_repositories_sends_only_their_repo_qualifiers(fake_github, github, shop):
    fake_github.add_repo("acme/web")
    ProjectIntegrationFactory(source=github.source, external_project="acme/web")  # another project's
    fake_github.add_issue("acme/shop", "Checkout crashes", author="alice")
    fake_github.add_issue("acme/web", "Checkout elsewhere", author="alice")

    found = github.search("checkout", within=["acme/shop"])

    assert [issue.key for issue in found] == ["acme/shop#1"]
    (sent,) = fake_github.requests_to("GET", "/search/issues")
    assert sent.param("q") == '"checkout" is:issue repo:acme/shop'
    assert github.search("acme/web#1", within=["acme/shop"]) == []  # another project's key: not looked up


def test_search_reads_keys_directly(fake_github, github, shop):
    fake_github.add_repo("acme/web")
    fake_github.add_issue("acme/web", "In web", author="alice")
    fake_github.add_issue("acme/shop", "In shop", author="alice")
    fake_github.add_issue("acme/shop", "A pull request", author="alice", pull_request=True)

    assert [issue.key for issue in github.search("acme/web#1")] == ["acme/web#1"]
    assert [issue.key for issue in github.search("#1")] == ["acme/shop#1"]
    assert github.search("#2") == []  # a pull request
    assert github.search("acme/shop#9") == []


def test_search_words_cannot_smuggle_qualifiers(fake_github, github, shop):
    fake_github.add_repo("acme/secret", private=True)

    assert github.search('repo:acme/secret OR "x"') == []
    assert fake_github.requests_to("GET", "/search/issues")[-1].param("q") == (
        '"repo:acme/secret" "OR" "x" is:issue repo:acme/shop'
    )


def test_search_by_words_needs_an_assigned_repository(fake_github, source):
    fake_github.add_repo("acme/web")
    fake_github.add_user("alice")
    fake_github.add_issue("acme/web", "In web", author="alice")
    github = provider_for(source)

    with pytest.raises(NotConfigured):
        github.search("checkout")
    assert [issue.key for issue in github.search("acme/web#1")] == ["acme/web#1"]


def test_search_in_a_repository_that_became_invisible_is_refused_with_githubs_reason(fake_github, source, shop):
    fake_github.add_repo("acme/secret", private=True)
    ProjectIntegrationFactory(source=source, external_project="acme/secret")

    with pytest.raises(RemoteValidationError) as caught:
        provider_for(source).search("checkout")

    assert "cannot be searched" in str(caught.value)
    assert caught.value.field_errors["q"].startswith("The listed users and repositories cannot be searched")


# -- creating ------------------------------------------------------------------------------------


def test_create_issue_files_markdown_labels_assignees_and_a_milestone_by_title(fake_github, github, shop):
    fake_github.add_milestone("acme/shop", "Sprint 3")

    created = github.create_issue(
        draft(
            description="**Steps**: log in as @admin\n\nFixes #12 `@kept` in code",
            labels=("bug",),
            assignee="alice",
            fields={"labels": ["from-tests"], "milestone": "sprint 3"},
        )
    )

    issue = fake_github.issue("acme/shop", 1)
    assert created.key == "acme/shop#1"
    assert created.url == f"{fake_github.web_url}/acme/shop/issues/1"
    assert (created.title, created.status, created.status_category) == ("Checkout fails", "Open", "todo")
    assert created.notes == ()
    assert issue.body == f"**Steps**: log in as @{WORD_JOINER}admin\n\nFixes #{WORD_JOINER}12 `@kept` in code"
    assert [label.name for label in issue.labels] == ["bug", "from-tests"]
    assert [user.login for user in issue.assignees] == ["alice"]
    assert issue.milestone.title == "Sprint 3"
    assert issue.user.login == GITHUB_LOGIN


def test_create_issue_notes_what_github_has_no_place_for_and_who_reported_it(fake_github, github, shop):
    created = github.create_issue(
        draft(
            description="It broke.",
            priority="High",
            components=("cart",),
            due_date=date(2031, 1, 1),
            reporter=Person("Ann Smith", "ann@example.com"),
            attachments=(DraftAttachment("log.txt", b"trace"),),
        )
    )

    assert fake_github.issue("acme/shop", 1).body == "It broke.\n\nReported by Ann Smith via testmanager."
    assert len(created.notes) == 4
    assert any("no priority" in note for note in created.notes)
    assert any("log.txt" in note for note in created.notes)


def test_without_push_access_github_drops_the_metadata_and_the_notes_say_so(fake_github, source):
    fake_github.add_repo("acme/public")
    fake_github.add_user("alice")
    fake_github.grant("acme/public", "alice", "write")

    created = provider_for(source).create_issue(draft(project="acme/public", labels=("bug",), assignee="alice"))

    assert created.key == "acme/public#1"
    assert created.notes == ("GitHub left out the labels, assignees: the account lacks push access to acme/public.",)


def test_an_assignee_github_refuses_is_a_validation_error_naming_the_field(fake_github, github, shop):
    with pytest.raises(RemoteValidationError) as caught:
        github.create_issue(draft(assignee="mallory"))

    assert caught.value.status == 422
    assert caught.value.field_errors == {"assignees": "'mallory' is not valid"}
    assert "Validation Failed: assignees: 'mallory' is not valid" in str(caught.value)
    assert shop.issues == {}


def test_an_unknown_milestone_title_or_field_is_refused_before_anything_is_filed(fake_github, github, shop):
    with pytest.raises(RemoteValidationError) as milestone:
        github.create_issue(draft(fields={"milestone": "Sprint 9"}))
    with pytest.raises(RemoteValidationError) as unknown:
        github.create_issue(draft(fields={"customfield_1": "x"}))

    assert milestone.value.field_errors == {"milestone": "acme/shop has no open milestone “Sprint 9”."}
    assert "customfield_1" in unknown.value.field_errors
    assert fake_github.requests_to("POST") == []


def test_create_issue_needs_a_repository(github):
    with pytest.raises(NotConfigured):
        github.create_issue(draft(project=""))
    with pytest.raises(NotConfigured):
        github.create_issue(draft(project="not a repo"))


def test_a_read_only_fine_grained_token_is_permission_denied_and_files_nothing(fake_github, source, shop):
    fake_github.add_token(GITHUB_LOGIN, "github_pat_read", kind="fine_grained", issues_permission="read")
    source.credentials = {"token": "github_pat_read"}

    with pytest.raises(PermissionDenied) as caught:
        provider_for(source).create_issue(draft())

    assert "Resource not accessible by personal access token" in str(caught.value)
    assert shop.issues == {}


# -- comments ------------------------------------------------------------------------------------


def test_a_comment_is_posted_as_inert_markdown_and_its_id_returned(fake_github, github, shop):
    fake_github.add_issue("acme/shop", "Cart", author="alice")

    comment_id = github.add_comment("acme/shop#1", "Linked tests: `test_cart` by @alice, closes acme/shop#1")

    (comment,) = fake_github.issue("acme/shop", 1).comments
    assert comment_id == str(comment.id)
    assert comment.body == f"Linked tests: `test_cart` by @{WORD_JOINER}alice, closes acme/shop#{WORD_JOINER}1"


def test_commenting_on_an_issue_that_does_not_exist_is_not_found(github, shop):
    with pytest.raises(NotFound):
        github.add_comment("acme/shop#7", "hello")


def test_comments_are_read_oldest_first_across_pages(fake_github, github, shop):
    fake_github.add_issue("acme/shop", "Cart", author="alice")
    for number in range(105):
        fake_github.add_comment("acme/shop", 1, f"comment {number}", author="alice")

    comments = github.comments("acme/shop#1")

    assert len(comments) == 105
    assert (comments[0].body, comments[0].author) == ("comment 0", "alice")
    assert comments[-1].body == "comment 104"
    assert len(fake_github.requests_to("GET", r"/repos/acme/shop/issues/1/comments")) == 2


def test_a_key_without_repository_cannot_be_commented_on(github):
    with pytest.raises(RemoteValidationError):
        github.add_comment("#1", "hello")


# -- transitions ---------------------------------------------------------------------------------


def test_transitions_close_as_completed_or_not_planned_and_reopen(fake_github, github, shop):
    fake_github.add_issue("acme/shop", "Cart", author="alice")
    issue = fake_github.issue("acme/shop", 1)

    github.transition("acme/shop#1", "Closed")
    assert (issue.state, issue.state_reason) == ("closed", "completed")
    github.transition("acme/shop#1", "closed (not planned)")
    assert (issue.state, issue.state_reason) == ("closed", "not_planned")
    github.transition("acme/shop#1", "Open")
    assert (issue.state, issue.state_reason) == ("open", "reopened")


def test_a_transition_to_the_current_state_sends_no_change(fake_github, github, shop):
    fake_github.add_issue("acme/shop", "Cart", author="alice")

    github.transition("acme/shop#1", "open")

    assert fake_github.requests_to("PATCH") == []


def test_an_unknown_status_is_refused_naming_githubs_states(github):
    with pytest.raises(RemoteValidationError) as caught:
        github.transition("acme/shop#1", "In Progress")

    assert caught.value.field_errors["status"] == (
        "GitHub issues are Open, Closed, Closed (not planned), Closed (duplicate), not “In Progress”."
    )


def test_closing_someone_elses_issue_without_triage_access_is_permission_denied(fake_github, source):
    fake_github.add_repo("acme/public")
    fake_github.add_user("alice")
    fake_github.add_issue("acme/public", "Theirs", author="alice")

    with pytest.raises(PermissionDenied) as caught:
        provider_for(source).transition("acme/public#1", "Closed")

    assert "Must have admin rights to Repository." in str(caught.value)
    assert fake_github.issue("acme/public", 1).state == "open"


# -- files ----------------------------------------------------------------------------------------


def test_files_are_linked_to_their_download_here_since_github_takes_no_files(fake_github, github, shop):
    download = "https://tm.example.com/projects/SHOP/issues/3/attachments/7/"
    files = (
        DraftAttachment("trace [1].log", b"Traceback", "text/plain", download_url=download),
        DraftAttachment("kept-nowhere.png", b"\x89PNG", "image/png"),
    )

    created = github.create_issue(draft(description="It broke.", attachments=files))

    assert fake_github.issue("acme/shop", 1).body == (
        f"It broke.\n\n**Attachments**\n\n- [trace \\[1\\].log]({download})"
    )
    assert created.unsent_files == ("kept-nowhere.png",)
    assert created.notes == (
        "kept-nowhere.png was not sent to GitHub: GitHub's API takes no files, and the file is not kept in "
        "testmanager to be linked.",
    )
    assert not any("upload" in request.path for request in fake_github.requests)
