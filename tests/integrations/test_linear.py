"""The Linear provider against the fake Linear over real HTTP."""

from datetime import date

import pytest

from integrations.errors import (
    AddressNotAllowed,
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
from tests.factories import SourceFactory, UserFactory
from tests.fakes.fixtures import LINEAR_API_KEY, LINEAR_LOGIN, LINEAR_OAUTH_TOKEN
from tests.fakes.server import text_response

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fake_on_loopback(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def source(fake_linear):
    # A base URL other than linear.app is where Linear's API is served: here, the fake.
    return SourceFactory(
        provider=Provider.LINEAR,
        name="Example Linear",
        base_url=fake_linear.base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": LINEAR_API_KEY},
        issue_url_template="",
    )


@pytest.fixture
def linear(source):
    return provider_for(source)


@pytest.fixture
def fake(fake_linear):
    fake_linear.add_team("ENG", "Engineering")
    return fake_linear


def operations(fake):
    """The operation names of the GraphQL requests the fake received, in order."""
    return [body["query"].split("(")[0].split("{")[0].split()[-1] for body in fake.graphql_requests()]


# -- connection ------------------------------------------------------------------------------


def test_the_api_of_a_linear_app_workspace_is_api_linear_app():
    source = SourceFactory.build(
        provider=Provider.LINEAR,
        base_url="https://linear.app/example",
        auth_type=AuthType.PAT,
        credentials={"token": "k"},
    )

    assert provider_for(source).api_base_url == "https://api.linear.app"


def test_the_connection_check_names_the_account_and_both_budgets(linear, fake):
    report = linear.check_connection()

    assert report.user == f"Automation ({LINEAR_LOGIN})"
    assert report.rate_limit_limit == 5000
    assert report.rate_limit_remaining == 4999
    assert report.access == "The account can see the teams ENG."
    assert report.detail.endswith(" points left.")
    assert "Complexity budget:" in report.detail
    (request,) = fake.requests
    assert request.headers["Authorization"] == LINEAR_API_KEY  # an API key goes as it is, no "Bearer"


def test_a_members_oauth_token_is_sent_as_bearer(source, fake):
    source.auth_type = AuthType.OAUTH2
    source.credentials = {"client_id": "app", "client_secret": "app-secret"}
    source.save()
    token = UserToken.objects.create(
        user=UserFactory(), source=source, kind=TokenKind.OAUTH2, access_token=LINEAR_OAUTH_TOKEN
    )

    assert provider_for(source, token).check_connection().user.startswith("Automation")
    assert fake.requests[0].headers["Authorization"] == f"Bearer {LINEAR_OAUTH_TOKEN}"


def test_a_wrong_key_fails_authentication_without_showing_the_key(source, fake):
    source.credentials = {"token": "lin_api_revoked_value"}
    source.save()

    with pytest.raises(AuthenticationFailed) as raised:
        provider_for(source).check_connection()

    assert str(raised.value) == (
        "Linear rejected the credentials (You need to authenticate to access this operation. (Authentication "
        "required, not authenticated)): check the API key or authorize again."
    )
    assert raised.value.status == 400
    assert "lin_api_revoked_value" not in str(raised.value)


# -- discovery -------------------------------------------------------------------------------


def test_teams_are_the_projects_read_page_after_page(linear, fake_linear):
    for number in range(230):
        fake_linear.add_team(f"T{number:03d}", f"Team {number}")

    projects = linear.projects()

    assert len(projects) == 230
    assert {project.key for project in projects} == {f"T{number:03d}" for number in range(230)}
    assert len(fake_linear.graphql_requests()) == 3


def test_fields_offer_the_priorities_and_the_labels_of_the_team_and_workspace(linear, fake):
    fake.add_team("OPS")
    fake.add_label("Bug", "ENG")
    fake.add_label("Customer")
    fake.add_label("Infra", "OPS")

    fields = {field.id: field for field in linear.fields("ENG", "Issue")}

    assert set(fields["labels"].allowed_values) == {"Bug", "Customer"}
    assert fields["priority"].allowed_values == ("No priority", "Urgent", "High", "Medium", "Low")
    assert fields["title"].required is True
    assert fields["description"].kind == "rich_text"
    assert [issue_type.name for issue_type in linear.issue_types("ENG")] == ["Issue"]


def test_a_team_the_account_cannot_see_is_not_found(linear, fake):
    fake.add_team("SEC", private=True)

    with pytest.raises(NotFound) as raised:
        linear.fields("SEC", "Issue")

    assert "no team with the key SEC" in str(raised.value)


# -- reading issues --------------------------------------------------------------------------


def test_fetch_many_maps_state_type_assignee_priority_url_and_update_time(linear, fake):
    issue = fake.add_issue("ENG", "Checkout fails", state="In Progress", priority=1, assignee=LINEAR_LOGIN)

    result = linear.fetch_many(["eng-1"])

    remote = result.issues["eng-1"]
    assert (remote.key, remote.title, remote.status, remote.status_category) == (
        "ENG-1",
        "Checkout fails",
        "In Progress",
        "in_progress",
    )
    assert (remote.assignee, remote.priority) == ("Automation", "Urgent")
    assert remote.url == "https://linear.app/example/issue/ENG-1/checkout-fails"
    assert remote.updated_at == issue.updated_at


def test_fetch_many_asks_for_100_identifiers_a_request(linear, fake):
    fake.add_team("OPS")
    for number in range(150):
        fake.add_issue("ENG", f"Eng {number}")
        fake.add_issue("OPS", f"Ops {number}", state="Done")
    wanted = [f"ENG-{n}" for n in range(1, 151)] + [f"OPS-{n}" for n in range(1, 101)]

    result = linear.fetch_many(wanted)

    assert len(result.issues) == 250
    assert result.issues["OPS-3"].status_category == "done"
    requests = fake.graphql_requests()
    assert len(requests) == 3
    assert [request["variables"]["first"] for request in requests] == [100, 100, 50]


def test_gone_issues_are_missing_and_those_of_hidden_teams_forbidden(linear, fake):
    fake.add_team("SEC", private=True)
    fake.add_issue("SEC", "Secret")
    fake.add_issue("ENG", "Here")

    result = linear.fetch_many(["ENG-1", "ENG-99", "SEC-1", "not a key"])

    assert list(result.issues) == ["ENG-1"]
    assert result.missing == {"ENG-99", "not a key"}
    assert result.forbidden == {"SEC-1"}


def test_search_uses_linears_full_text_search(linear, fake):
    fake.add_issue("ENG", "Login page crashes", description="blank after submit")
    fake.add_issue("ENG", "Slow dashboard")

    assert [issue.key for issue in linear.search("submit")] == ["ENG-1"]
    assert [issue.key for issue in linear.search("ENG-2")] == ["ENG-2"]
    assert linear.search(" ") == []


def test_a_search_within_the_asking_projects_teams_filters_by_team_key(linear, fake):
    fake.add_team("OPS", "Operations")
    fake.add_issue("ENG", "Login page crashes")
    fake.add_issue("OPS", "Login server crashes")

    assert [issue.key for issue in linear.search("crashes", within=["ENG"])] == ["ENG-1"]
    sent = fake.graphql_requests()[-1]
    assert sent["variables"]["filter"] == {"team": {"key": {"in": ["ENG"]}}}


# -- creating --------------------------------------------------------------------------------


def draft(**changes):
    return IssueDraft(**({"project": "ENG", "issue_type": "Issue", "title": "Checkout fails"} | changes))


def test_create_sends_markdown_priority_labels_assignee_and_due_date(linear, fake):
    fake.add_label("Bug", "ENG")
    fake.add_label("Customer")
    viewer = fake.users[LINEAR_LOGIN]

    created = linear.create_issue(
        draft(
            description="Steps:\n\n1. Pay\n2. **Boom**",
            priority="high",
            labels=("bug", "Customer"),
            assignee=viewer.id,
            due_date=date(2024, 6, 1),
        )
    )

    stored = fake.issue(created.key)
    assert stored.description == "Steps:\n\n1. Pay\n2. **Boom**"
    assert stored.priority == 2
    assert {label.name for label in stored.label_list} == {"Bug", "Customer"}
    assert stored.assignee is viewer
    assert stored.due_date == "2024-06-01"
    assert (created.key, created.status, created.status_category, created.priority) == ("ENG-1", "Todo", "todo", "High")
    assert created.notes == ()


def test_the_reporter_is_named_in_the_description_as_literal_text(linear, fake):
    created = linear.create_issue(draft(reporter=Person("Ann *the* Tester", "ann@example.com")))

    assert fake.issue(created.key).description == r"Reported by Ann \*the\* Tester via testmanager."


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"priority": "Blocker"}, "priority"), ({"labels": ("nope",)}, "labels")],
    ids=["unknown priority", "unknown label"],
)
def test_values_linear_cannot_take_are_refused_before_anything_is_created(linear, fake, changes, field):
    with pytest.raises(RemoteValidationError) as raised:
        linear.create_issue(draft(**changes))

    assert set(raised.value.field_errors) == {field}
    assert fake.issues == []
    assert "CreateIssue" not in operations(fake)


def test_linears_own_input_errors_are_validation_errors(linear, fake):
    with pytest.raises(RemoteValidationError) as raised:
        linear.create_issue(draft(title=" "))

    assert "title must not be empty" in str(raised.value)
    assert fake.issues == []


def test_a_read_only_key_cannot_create_issues(source, fake):
    fake.add_api_key(LINEAR_LOGIN, "lin_api_readonly", scopes=["read"])
    source.credentials = {"token": "lin_api_readonly"}
    source.save()

    with pytest.raises(PermissionDenied) as raised:
        provider_for(source).create_issue(draft())

    assert "Invalid scope: `issues:create` required" in str(raised.value)
    assert fake.issues == []


def test_create_needs_a_team(linear, fake):
    with pytest.raises(NotConfigured):
        linear.create_issue(draft(project=""))

    assert fake.requests == []


# -- comments and states ---------------------------------------------------------------------


def test_a_comment_goes_out_as_markdown(linear, fake):
    issue = fake.add_issue("ENG", "Broken")

    comment_id = linear.add_comment("ENG-1", "Failed in **CI**")

    (comment,) = issue.comment_list
    assert (comment_id, comment.body) == (comment.id, "Failed in **CI**")


def test_comments_come_back_oldest_first_across_pages(linear, fake):
    fake.add_issue("ENG", "Broken")
    for number in range(230):
        fake.add_comment("ENG-1", f"Run **{number}** failed", author=LINEAR_LOGIN)

    comments = linear.comments("ENG-1")

    assert [comment.body for comment in comments[:2]] == ["Run **0** failed", "Run **1** failed"]
    assert len(comments) == 230
    assert comments[0].author == "Automation"
    assert len(fake.graphql_requests()) == 3


def test_a_transition_moves_the_issue_to_the_named_workflow_state(linear, fake):
    issue = fake.add_issue("ENG", "Broken")

    linear.transition("ENG-1", "done")

    assert issue.state.name == "Done"


def test_a_transition_to_the_current_state_sends_no_mutation(linear, fake):
    fake.add_issue("ENG", "Broken", state="Done")

    linear.transition("ENG-1", "Done")

    assert operations(fake) == ["IssueState"]


def test_a_state_the_workflow_lacks_is_refused_with_the_states_it_has(linear, fake):
    issue = fake.add_issue("ENG", "Broken")

    with pytest.raises(RemoteValidationError) as raised:
        linear.transition("ENG-1", "Resolved")

    assert "ENG-1 cannot move from Todo to “Resolved”" in str(raised.value)
    assert "Backlog" in raised.value.field_errors["status"]
    assert issue.state.name == "Todo"


def test_a_missing_issue_is_not_found_with_linears_words(linear, fake):
    with pytest.raises(NotFound) as raised:
        linear.add_comment("ENG-404", "Hello")

    assert "Could not find referenced Issue." in str(raised.value)


# -- rate limits and broken answers ----------------------------------------------------------


@pytest.mark.parametrize("budget", ["requests", "complexity"])
def test_a_ratelimited_answer_says_when_the_budget_refills(linear, fake, budget):
    fake.rate_limit_next(budget=budget, reset_in=120)

    with pytest.raises(RateLimited) as raised:
        linear.fetch_many(["ENG-1"])

    assert 100 < raised.value.retry_after <= 120


def test_a_request_the_complexity_budget_cannot_pay_for_is_not_sent(linear, fake):
    for number in range(150):
        fake.add_issue("ENG", f"Issue {number}")
    fake.complexity_remaining = 500  # a batch of 100 issues costs 401 points: enough for one, not two

    with pytest.raises(RateLimited) as raised:
        linear.fetch_many([f"ENG-{n}" for n in range(1, 151)])

    assert "complexity budget for this workspace is used up" in str(raised.value)
    assert raised.value.retry_after > 3000  # the budget refills within the hour
    assert len(fake.graphql_requests()) == 1


def test_a_query_linears_schema_refuses_is_reported_as_an_api_change(linear, fake):
    fake.fail_next(
        400,
        {
            "errors": [
                {
                    "message": "Cannot query field 'priorityLabel' on type 'Issue'.",
                    "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
                }
            ]
        },
    )

    with pytest.raises(UpstreamError) as raised:
        linear.search("login")

    assert "its API may have changed" in str(raised.value)
    assert "Cannot query field 'priorityLabel'" in str(raised.value)


def test_a_malformed_answer_is_a_clear_error_and_changes_nothing(linear, fake):
    issue = fake.add_issue("ENG", "Broken")
    fake.fail_next(200, b'{"data": {"issue": ')

    with pytest.raises(UpstreamError) as raised:
        linear.transition("ENG-1", "Done")

    assert "not valid JSON" in str(raised.value)
    assert issue.state.name == "Todo"
    assert operations(fake) == ["IssueState"]  # the broken answer stopped it before any update


# -- files ----------------------------------------------------------------------------------------


def test_each_file_goes_to_the_signed_upload_url_then_becomes_an_attachment_of_the_issue(linear, fake):
    files = (
        DraftAttachment("trace.log", b"Traceback", "text/plain"),
        DraftAttachment("shot.png", b"\x89PNG", "image/png"),
    )

    created = linear.create_issue(draft(attachments=files))

    (issue,) = fake.issues
    assert [(a["issue"], a["title"]) for a in fake.attachments] == [(issue, "trace.log"), (issue, "shot.png")]
    assert [fake.stored_files[a["url"]]["content"] for a in fake.attachments] == [b"Traceback", b"\x89PNG"]
    assert operations(fake)[-5:] == ["CreateIssue", "FileUpload", "AttachFile", "FileUpload", "AttachFile"]
    puts = fake.storage.requests
    assert [put.headers["Content-Type"] for put in puts] == ["text/plain", "image/png"]
    assert all("Authorization" not in put.headers for put in puts)  # the API key stays with the API
    assert (created.notes, created.unsent_files) == ((), ())


def test_a_file_linear_will_not_take_is_named_and_the_issue_is_created(linear, fake):
    fake.max_upload_bytes = 5
    files = (DraftAttachment("small.txt", b"ok"), DraftAttachment("huge.bin", b"0" * 10))

    created = linear.create_issue(draft(attachments=files))

    assert created.key == "ENG-1"
    assert [a["title"] for a in fake.attachments] == ["small.txt"]
    assert created.unsent_files == ("huge.bin",)
    (note,) = created.notes
    assert note.startswith("huge.bin was not sent to Example Linear:") and "too large" in note


def test_a_file_the_storage_refuses_is_named_and_the_others_are_attached(linear, fake):
    refused = []

    def refuse_first_put(request):
        if not refused:
            refused.append(request)
            return text_response(403, "SignatureDoesNotMatch")
        return None

    fake.storage.interceptor = refuse_first_put
    files = (DraftAttachment("first.log", b"1"), DraftAttachment("second.log", b"2"))

    created = linear.create_issue(draft(attachments=files))

    assert created.key == "ENG-1"
    assert [a["title"] for a in fake.attachments] == ["second.log"]
    assert created.unsent_files == ("first.log",)
    assert created.notes[0].startswith("first.log was not sent to Example Linear:")


def test_a_signed_upload_url_on_a_refused_address_is_not_contacted(linear, fake, settings):
    """The upload URL comes from the tracker's answer: the address check applies to it like to any URL."""
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = False
    with provider_for(linear.source).client() as http, pytest.raises(AddressNotAllowed):
        http.put(f"{fake.storage.base_url}/signed/abc", data=b"1")
    assert fake.storage.requests == []
