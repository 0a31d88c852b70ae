"""The Azure DevOps provider against the fake Azure DevOps over real HTTP."""

import base64
from datetime import UTC, date, datetime

import pytest

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
from tests.factories import SourceFactory, UserFactory
from tests.fakes.azure_devops import AzureDevOpsFake
from tests.fakes.fixtures import ADO_LOGIN, ADO_OAUTH_TOKEN, ADO_PAT
from tests.fakes.server import json_response

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fake_on_loopback(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def source(fake_azure_devops):
    return SourceFactory(
        provider=Provider.AZURE_DEVOPS,
        name="Fabrikam ADO",
        base_url=fake_azure_devops.base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": ADO_PAT},
        issue_url_template="",
    )


@pytest.fixture
def ado(source):
    return provider_for(source)


@pytest.fixture
def fake(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam", areas=["Web"], iterations=["Sprint 1"])
    return fake_azure_devops


def batch_requests(fake):
    return fake.requests_to("POST", r"/_apis/wit/workitemsbatch")


# -- connection ------------------------------------------------------------------------------


def test_the_connection_check_names_the_account_and_its_projects(ado, fake):
    report = ado.check_connection()

    assert report.user == "Automation"
    assert report.detail == "Signed in to Azure DevOps as Automation."
    assert report.access == "The account can see the projects Fabrikam."
    (request, *_) = fake.requests
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f":{ADO_PAT}".encode()).decode()
    assert request.headers["X-TFS-FedAuthRedirect"] == "Suppress"


def test_a_members_oauth_token_is_sent_as_bearer(source, fake):
    source.auth_type = AuthType.OAUTH2
    source.credentials = {"client_id": "app", "client_secret": "app-secret"}
    source.save()
    token = UserToken.objects.create(
        user=UserFactory(), source=source, kind=TokenKind.OAUTH2, access_token=ADO_OAUTH_TOKEN
    )

    report = provider_for(source, token).check_connection()

    assert report.user == "Automation"
    assert fake.requests[0].headers["Authorization"] == f"Bearer {ADO_OAUTH_TOKEN}"


def test_a_wrong_token_fails_authentication_without_showing_the_token(source, fake):
    source.credentials = {"token": "revoked-token-value"}
    source.save()

    with pytest.raises(AuthenticationFailed) as raised:
        provider_for(source).check_connection()

    assert "TF400813" in str(raised.value)
    assert "revoked-token-value" not in str(raised.value)


def test_an_account_without_projects_is_told_to_join_some(ado, fake_azure_devops):
    assert "member of no project" in ado.check_connection().access


# -- discovery -------------------------------------------------------------------------------


def test_projects_are_read_page_after_page(ado, fake_azure_devops):
    names = [f"Project {number:03d}" for number in range(205)]
    for name in names:
        fake_azure_devops.add_project(name)

    projects = ado.projects()

    assert [project.key for project in projects] == names
    assert len(fake_azure_devops.requests_to("GET", r"/_apis/projects")) == 3


def test_issue_types_are_the_projects_work_item_types(ado, fake):
    assert [t.name for t in ado.issue_types("Fabrikam")] == ["Bug", "Task", "User Story", "Test Case"]


def test_fields_say_what_is_required_their_kind_and_allowed_values(ado, fake):
    fake.add_field("Fabrikam", "Bug", "Custom.Browser", "Browser", required=True, allowed_values=["Firefox", "Chrome"])
    fake.add_field("Fabrikam", "Bug", "Custom.Build", "Build", "integer")

    fields = {field.id: field for field in ado.fields("Fabrikam", "bug")}

    assert fields["System.Title"].required is True
    assert fields["Custom.Browser"].required is True
    assert (fields["Custom.Browser"].kind, fields["Custom.Browser"].allowed_values) == ("select", ("Firefox", "Chrome"))
    assert fields["Custom.Build"].kind == "number"
    assert fields["Microsoft.VSTS.Common.Priority"].allowed_values == ("1", "2", "3", "4")
    assert fields["Microsoft.VSTS.TCM.ReproSteps"].kind == "rich_text"
    assert fields["System.AssignedTo"].kind == "user"
    assert fields["System.Tags"].kind == "labels"
    assert not {"System.Id", "System.State", "System.CreatedDate", "System.TeamProject"} & set(fields)


def test_an_unknown_work_item_type_names_the_types_on_offer(ado, fake):
    with pytest.raises(RemoteValidationError) as raised:
        ado.fields("Fabrikam", "Epic")

    assert "has no work item type “Epic”; it offers Bug, Task, User Story" in str(raised.value)


def test_a_project_the_account_cannot_see_is_not_found(ado, fake):
    with pytest.raises(NotFound) as raised:
        ado.issue_types("Secret")

    assert "TF200016" in str(raised.value)


# -- reading work items --------------------------------------------------------------------


def test_fetch_many_maps_state_category_assignee_priority_url_and_change_time(ado, fake):
    changed = datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
    item = fake.add_work_item(
        "Fabrikam",
        "Bug",
        "Checkout fails",
        state="Resolved",
        assigned_to=ADO_LOGIN,
        changed=changed,
        Microsoft_VSTS_Common_Priority=1,
    )

    result = ado.fetch_many([str(item.id)])

    issue = result.issues[str(item.id)]
    assert (issue.title, issue.status, issue.status_category) == ("Checkout fails", "Resolved", "done")
    assert (issue.assignee, issue.priority) == ("Automation", "1")
    assert issue.url == f"{fake.base_url}/Fabrikam/_workitems/edit/{item.id}"
    assert issue.updated_at == changed


def test_fetch_many_asks_the_batch_for_200_ids_at_a_time(ado, fake):
    ids = [fake.add_work_item("Fabrikam", "Task", f"Task {number}").id for number in range(450)]

    result = ado.fetch_many(str(item_id) for item_id in ids)

    assert len(result.issues) == 450
    assert [len(request.json()["ids"]) for request in batch_requests(fake)] == [200, 200, 50]
    # The category of a state is asked once per work item type, not once per work item.
    assert len(fake.requests_to("GET", r".*/states")) == 1


def test_unreadable_work_items_are_forbidden_and_non_numbers_missing(ado, fake):
    fake.add_project("Secret")
    hidden = fake.add_work_item("Secret", "Bug", "Hidden")
    fake.set_access("Secret", ADO_LOGIN, None)
    shown = fake.add_work_item("Fabrikam", "Bug", "Shown", state="Active")

    result = ado.fetch_many([f"#{shown.id}", str(hidden.id), "9999", "SHOP-1"])

    assert list(result.issues) == [f"#{shown.id}"]
    assert result.issues[f"#{shown.id}"].status_category == "in_progress"
    assert result.forbidden == {str(hidden.id), "9999"}
    assert result.missing == {"SHOP-1"}
    assert batch_requests(fake)[0].json()["errorPolicy"] == "Omit"


def test_search_finds_by_title_description_or_id_last_changed_first(ado, fake):
    older = fake.add_work_item("Fabrikam", "Bug", "Login fails", changed=datetime(2024, 1, 1, tzinfo=UTC))
    newer = fake.add_work_item(
        "Fabrikam",
        "Task",
        "Unrelated",
        System_Description="<p>the login page</p>",
        changed=datetime(2024, 2, 1, tzinfo=UTC),
    )
    fake.add_work_item("Fabrikam", "Task", "Something else")

    by_words = ado.search("login")
    by_id = ado.search(str(older.id))

    assert [issue.key for issue in by_words] == [str(newer.id), str(older.id)]
    assert [issue.key for issue in by_id] == [str(older.id)]
    assert ado.search("  ") == []


def test_a_search_within_the_asking_projects_ado_projects_restricts_the_wiql(ado, fake):
    fake.add_project("Secret")
    mine = fake.add_work_item("Fabrikam", "Bug", "Login fails")
    fake.add_work_item("Secret", "Bug", "Login fails elsewhere")

    found = ado.search("login", within=["Fabrikam"])

    assert [issue.key for issue in found] == [str(mine.id)]
    (sent,) = [request for request in fake.server.requests if request.path.endswith("/_apis/wit/wiql")]
    assert sent.json()["query"].endswith("AND [System.TeamProject] IN ('Fabrikam') ORDER BY [System.ChangedDate] DESC")


def test_a_quote_in_the_search_text_stays_a_value(ado, fake):
    item = fake.add_work_item("Fabrikam", "Bug", "Can't log in")

    assert [issue.key for issue in ado.search("can't")] == [str(item.id)]


# -- creating --------------------------------------------------------------------------------


def draft(**changes):
    values = {"project": "Fabrikam", "issue_type": "Bug", "title": "Checkout fails"}
    return IssueDraft(**(values | changes))


def test_create_sends_a_json_patch_document_with_the_mapped_fields(ado, fake):
    created = ado.create_issue(
        draft(
            description="Steps:\n\n1. Pay\n2. **Boom**",
            priority="1",
            labels=("checkout", "regression"),
            assignee=ADO_LOGIN,
            fields={
                "System.AreaPath": "Fabrikam\\Web",
                "System.IterationPath": "Fabrikam\\Sprint 1",
                "Microsoft.VSTS.Common.Severity": "2 - High",
            },
        )
    )

    (request,) = fake.requests_to("POST", r"/Fabrikam/_apis/wit/workitems/\$Bug")
    assert request.headers["Content-Type"] == "application/json-patch+json"
    stored = fake.work_item(int(created.key)).fields
    assert stored["System.Title"] == "Checkout fails"
    assert (
        stored["Microsoft.VSTS.TCM.ReproSteps"]
        == "<p>Steps:</p>\n<ol>\n<li>Pay</li>\n<li><strong>Boom</strong></li>\n</ol>\n"
    )
    assert "System.Description" not in stored  # a Bug's description is its Repro Steps
    assert stored["Microsoft.VSTS.Common.Priority"] == 1
    assert stored["System.Tags"] == "checkout; regression"
    assert stored["System.AreaPath"] == "Fabrikam\\Web"
    assert stored["Microsoft.VSTS.Common.Severity"] == "2 - High"
    assert stored["System.AssignedTo"].unique_name == ADO_LOGIN
    assert (created.status, created.status_category, created.priority) == ("New", "todo", "1")
    assert created.url == f"{fake.base_url}/Fabrikam/_workitems/edit/{created.key}"
    assert created.notes == ()


def test_other_types_take_the_description_as_description_and_scripts_are_dropped(ado, fake):
    created = ado.create_issue(draft(issue_type="task", description="Hello <script>alert(1)</script>"))

    description = fake.work_item(int(created.key)).fields["System.Description"]
    assert "Hello" in description
    assert "<script" not in description


def test_what_azure_devops_cannot_take_is_noted_or_refused(ado, fake):
    created = ado.create_issue(
        draft(
            reporter=Person("Ann Example", "ann@example.com"),
            components=("Web",),
            due_date=date(2024, 6, 1),
        )
    )

    assert (
        "Reported by Ann Example via testmanager."
        in fake.work_item(int(created.key)).fields["Microsoft.VSTS.TCM.ReproSteps"]
    )
    assert len(created.notes) == 2  # no due date field on a Bug, no components
    with pytest.raises(RemoteValidationError) as raised:
        ado.create_issue(draft(priority="High"))
    assert raised.value.field_errors == {
        "priority": "Azure DevOps priorities are 1 (highest) to 4 (lowest), not “High”."
    }
    assert len(fake.work_items) == 1


def test_a_rule_violation_names_the_field(ado, fake):
    fake.add_field("Fabrikam", "Bug", "Custom.Browser", "Browser", required=True)

    with pytest.raises(RemoteValidationError) as raised:
        ado.create_issue(draft())

    assert "TF401320: Rule Error for field Browser" in str(raised.value)
    assert raised.value.field_errors == {"Custom.Browser": "The field 'Browser' cannot be empty."}
    assert fake.work_items == {}


def test_a_reader_cannot_create_work_items(ado, fake):
    fake.set_access("Fabrikam", ADO_LOGIN, "read")

    with pytest.raises(PermissionDenied) as raised:
        ado.create_issue(draft())

    assert "TF237111" in str(raised.value)
    assert fake.work_items == {}


@pytest.mark.parametrize("missing", [{"project": " "}, {"issue_type": ""}])
def test_create_needs_a_project_and_a_type(ado, fake, missing):
    with pytest.raises(NotConfigured):
        ado.create_issue(draft(**missing))

    assert fake.requests == []


# -- comments and states ---------------------------------------------------------------------


def test_a_comment_goes_out_as_html_on_the_preview_api(ado, fake):
    item = fake.add_work_item("Fabrikam", "Bug", "Broken")

    comment_id = ado.add_comment(str(item.id), "Failed in **CI**: see `test_checkout`")

    (comment,) = fake.work_item(item.id).comments
    assert comment_id == str(comment.id)
    assert comment.text == "<p>Failed in <strong>CI</strong>: see <code>test_checkout</code></p>\n"
    (request,) = fake.requests_to("POST", r".*/comments")
    assert request.param("api-version") == "7.1-preview.4"


def test_comments_come_back_as_markdown_oldest_first_across_pages(ado, fake):
    item = fake.add_work_item("Fabrikam", "Bug", "Broken")
    for number in range(230):
        fake.add_comment(item.id, f"<p>Run <b>{number}</b> failed</p>", author=ADO_LOGIN)

    comments = ado.comments(str(item.id))

    assert len(comments) == 230
    assert comments[0].body == "Run **0** failed"
    assert comments[-1].body == "Run **229** failed"
    assert comments[0].author == "Automation"
    assert len(fake.requests_to("GET", r".*/comments")) == 3


def test_commenting_on_a_missing_work_item_is_not_found(ado, fake):
    with pytest.raises(NotFound) as raised:
        ado.add_comment("4242", "Hello")

    assert "TF401232: Work item 4242 does not exist" in str(raised.value)


def test_a_transition_sets_the_state(ado, fake):
    item = fake.add_work_item("Fabrikam", "Bug", "Broken")

    ado.transition(str(item.id), "resolved")

    assert fake.work_item(item.id).fields["System.State"] == "Resolved"


def test_a_transition_to_the_current_state_sends_nothing(ado, fake):
    item = fake.add_work_item("Fabrikam", "Bug", "Broken", state="Active")

    ado.transition(str(item.id), "Active")

    assert fake.requests_to("PATCH") == []


def test_a_state_the_type_lacks_is_refused_with_the_states_it_has(ado, fake):
    item = fake.add_work_item("Fabrikam", "Bug", "Broken")

    with pytest.raises(RemoteValidationError) as raised:
        ado.transition(str(item.id), "Removed")

    assert (
        f"Work item {item.id} cannot move from New to “Removed”: a Bug has the states New, Active, Resolved, Closed."
        in str(raised.value)
    )
    assert fake.work_item(item.id).fields["System.State"] == "New"


# -- failures --------------------------------------------------------------------------------


def test_a_blocked_request_is_rate_limited_with_the_trackers_retry_after(ado, fake):
    item = fake.add_work_item("Fabrikam", "Bug", "Broken")
    fake.rate_limit_next(retry_after=120)  # longer than the client waits by itself

    with pytest.raises(RateLimited) as raised:
        ado.fetch_many([str(item.id)])

    assert raised.value.retry_after == 120
    assert "TF400733" in str(raised.value)


def test_a_malformed_answer_is_a_clear_error_and_changes_nothing(ado, fake):
    item = fake.add_work_item("Fabrikam", "Bug", "Broken")
    fake.fail_next(200, b'{"count": 1, "value": [{"id": ', content_type="application/json")

    with pytest.raises(UpstreamError) as raised:
        ado.transition(str(item.id), "Active")

    assert "not valid JSON" in str(raised.value)
    assert fake.work_item(item.id).fields["System.State"] == "New"
    assert fake.requests_to("PATCH") == []


def test_an_azure_devops_server_collection_is_reached_under_its_path():
    server = AzureDevOpsFake("/tfs/DefaultCollection", deployment_type="onPremises")
    server.add_personal_access_token("CONTOSO\\builder", "server-token")
    with server:
        server.add_project("Contoso")
        item = server.add_work_item("Contoso", "Task", "Patch the build agents")
        source = SourceFactory(
            provider=Provider.AZURE_DEVOPS,
            name="Contoso TFS",
            base_url=server.base_url,
            allow_http=True,
            auth_type=AuthType.PAT,
            credentials={"token": "server-token"},
            issue_url_template="",
        )
        result = provider_for(source).fetch_many([str(item.id)])

        assert result.issues[str(item.id)].url == f"{server.base_url}/Contoso/_workitems/edit/{item.id}"
    assert result.issues[str(item.id)].title == "Patch the build agents"


# -- files ----------------------------------------------------------------------------------------

ATTACHMENTS = r"/Fabrikam/_apis/wit/attachments"


def attached_files(fake, item_id: int) -> list[tuple[str, bytes]]:
    """(name, bytes) of the files the work item's AttachedFile relations point to."""
    relations = [r for r in fake.work_items[item_id].relations if r["rel"] == "AttachedFile"]
    return [(fake.attachments[r["url"]].filename, fake.attachments[r["url"]].content) for r in relations]


def test_each_file_is_uploaded_as_bytes_then_attached_by_an_attachedfile_relation(ado, fake):
    files = (
        DraftAttachment("trace.log", b"Traceback", "text/plain"),
        DraftAttachment("shot.png", b"\x89PNG", "image/png"),
    )

    created = ado.create_issue(draft(attachments=files))

    assert attached_files(fake, int(created.key)) == [("trace.log", b"Traceback"), ("shot.png", b"\x89PNG")]
    uploads = fake.requests_to("POST", ATTACHMENTS)
    assert [(u.param("fileName"), u.headers["Content-Type"], u.body) for u in uploads] == [
        ("trace.log", "application/octet-stream", b"Traceback"),
        ("shot.png", "application/octet-stream", b"\x89PNG"),
    ]
    assert (created.notes, created.unsent_files) == ((), ())


def test_a_file_over_the_simple_upload_limit_is_named_and_the_work_item_is_created(ado, fake):
    fake.max_attachment_bytes = 5
    files = (DraftAttachment("small.txt", b"ok"), DraftAttachment("huge.bin", b"0" * 10))

    created = ado.create_issue(draft(attachments=files))

    assert attached_files(fake, int(created.key)) == [("small.txt", b"ok")]
    assert created.unsent_files == ("huge.bin",)
    (note,) = created.notes
    assert note.startswith("huge.bin was not sent to Fabrikam ADO:") and "HTTP 413" in note


def test_a_file_azure_devops_refuses_is_named_and_the_others_are_attached(ado, fake):
    original = fake.server.interceptor
    refused = []

    def refuse_first_upload(request):
        if request.method == "POST" and request.route_path.endswith("/_apis/wit/attachments") and not refused:
            refused.append(request)
            return json_response(500, {"message": "TF400898: An Internal Error Occurred."})
        return original(request) if original else None

    fake.server.interceptor = refuse_first_upload
    files = (DraftAttachment("first.log", b"1"), DraftAttachment("second.log", b"2"))

    created = ado.create_issue(draft(attachments=files))

    assert attached_files(fake, int(created.key)) == [("second.log", b"2")]
    assert created.unsent_files == ("first.log",)
    assert created.notes[0].startswith("first.log was not sent to Fabrikam ADO:")
