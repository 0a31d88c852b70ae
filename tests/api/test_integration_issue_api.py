"""/api/integrations/{id}/...: issue types, fields, search, create-issue and link-issue on a project
integration, for each role; another project's integration answers 404. Against the fake Jira Cloud."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from integrations.models import AuditAction, AuditEvent, AuthType, IntegrationState, Provider, Source
from issues.core.services import add_artefact_attachments, add_attachment
from issues.links.models import ExternalReference, Link
from tests.api.conftest import ROLES
from tests.api.helpers import database_state
from tests.factories import ProjectIntegrationFactory, SourceFactory
from tests.issues.filing_support import jira_world
from tests.support.scripted_server import Reply, ScriptedServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]

MAY_EDIT = {"member", "admin"}
REFUSED = {"viewer": 403, "outsider": 404, "anonymous": 401}


@pytest.fixture
def jira(fake_jira_cloud, world):
    return jira_world(fake_jira_cloud, world.project)


def api(integration, endpoint):
    return f"/api/integrations/{integration.pk}/{endpoint}"


def artefact(world, kind="result"):
    return [{"type": kind, "id": getattr(world.mine, kind).pk}]


def test_the_endpoints_are_in_the_openapi_schema(client_as):
    schema = client_as("member").get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for endpoint in ("issue-types", "fields", "search", "create-issue", "link-issue"):
        assert f"/api/integrations/{{id}}/{endpoint}" in schema["paths"]
    assert "issueType" in [p["name"] for p in schema["paths"]["/api/integrations/{id}/fields"]["get"]["parameters"]]


@pytest.mark.parametrize("role", ROLES)
def test_reading_endpoints_by_role(client_as, world, jira, role):
    jira.fake.add_issue("SHOP", "Card payments time out")
    for endpoint in ("issue-types", "fields", "search?q=payments"):
        response = client_as(role).get(api(jira.integration, endpoint))
        assert response.status_code == (200 if role in MAY_EDIT else REFUSED[role]), (endpoint, response.content)


@pytest.mark.parametrize("role", ROLES)
def test_writing_endpoints_by_role(client_as, world, jira, role):
    remote = jira.fake.add_issue("SHOP", "Card payments time out")
    before = database_state()
    created = client_as(role).post(
        api(jira.integration, "create-issue"),
        {"artefacts": artefact(world), "fields": {jira.environment: "Staging"}},
        format="json",
    )
    linked = client_as(role).post(
        api(jira.integration, "link-issue"), {"key": remote.key, "artefacts": artefact(world, "case")}, format="json"
    )
    if role in MAY_EDIT:
        assert (created.status_code, linked.status_code) == (201, 201)
    else:
        assert (created.status_code, linked.status_code) == (REFUSED[role], REFUSED[role])
        assert database_state() == before and len(jira.fake.issues) == 1


def test_issue_types_name_the_default(client_as, jira):
    body = client_as("member").get(api(jira.integration, "issue-types")).json()
    assert [(t["name"], t["default"]) for t in body] == [("Bug", True), ("Task", False)]


def test_fields_of_an_issue_type_say_what_they_are(client_as, jira):
    body = client_as("member").get(api(jira.integration, "fields")).json()
    assert body["issue_type"]["name"] == "Bug" and body["issue_type"]["default"] is True
    fields = {field["id"]: field for field in body["fields"]}
    assert fields[jira.environment] | {"id": "x"} == {
        "id": "x",
        "name": "Environment",
        "required": True,
        "kind": "select",
        "allowed_values": ["Staging", "Production"],
        "fills": "",
    }
    assert (fields["summary"]["fills"], fields["priority"]["fills"]) == ("title", "priority")
    task = client_as("member").get(api(jira.integration, "fields"), {"issueType": "task"}).json()
    assert task["issue_type"]["name"] == "Task" and jira.environment not in {f["id"] for f in task["fields"]}
    unknown = client_as("member").get(api(jira.integration, "fields"), {"issueType": "Epic"})
    assert unknown.status_code == 400
    assert unknown.json()["errors"]["issueType"] == ["Choose an issue type Acme Jira offers: Bug, Task."]


def test_search_needs_words_and_finds_by_words_or_key(client_as, jira):
    remote = jira.fake.add_issue("SHOP", "Card payments time out")
    assert client_as("member").get(api(jira.integration, "search")).status_code == 400
    found = client_as("member").get(api(jira.integration, "search"), {"q": "payments"}).json()
    assert [(issue["key"], issue["title"], issue["status_category"]) for issue in found] == [
        (remote.key, "Card payments time out", "todo")
    ]
    assert client_as("member").get(api(jira.integration, "search"), {"q": remote.key}).json()[0]["key"] == remote.key


def test_search_of_a_tracker_that_never_answers_gives_up_with_503_and_a_clear_message(client_as, jira, settings):
    settings.TRACKER_INTERACTIVE_SECONDS = 0.5
    silent = ScriptedServer()
    silent.script("/rest/api/3/search/jql", Reply(200, {"Content-Type": "application/json"}, b"{}", delay=10))
    silent.start()
    Source.objects.filter(pk=jira.integration.source_id).update(base_url=silent.base_url, allow_http=True)
    before = database_state()
    try:
        response = client_as("member").get(api(jira.integration, "search"), {"q": "payments"})
    finally:
        silent.stop()

    assert response.status_code == 503
    assert response.json()["code"] == "unreachable"
    assert response.json()["message"].startswith(
        "Acme Jira did not answer within 0.5 s: try again later, or link the issue by its key."
    )
    assert database_state() == before


def test_create_issue_files_writes_from_the_artefact_links_and_audits(client_as, world, jira):
    response = client_as("member").post(
        api(jira.integration, "create-issue"),
        {
            "artefacts": artefact(world),
            "fields": {jira.environment: "Production", "labels": ["api"]},
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    remote = jira.only_issue()
    assert body["created"] is True
    # No Jira account has the member's e-mail address: Jira's notes on what went otherwise come along.
    assert [note.split(":")[0] for note in body["notes"]] == ["Jira records the integration's account as the reporter"]
    assert body["reference"]["key"] == remote.key and body["reference"]["url"].endswith(f"/browse/{remote.key}")
    assert [(link["type"], link["artefact_id"]) for link in body["links"]] == [("result", world.mine.result.pk)]
    result = world.mine.result
    assert remote.summary == f"{result.case.title} failed in {result.run.name}"
    assert remote.labels == ["api"] and remote.custom_fields[jira.environment]["value"] == "Production"
    assert AuditEvent.objects.get(action=AuditAction.ISSUE_CREATED).actor.username == "member"


def test_an_issues_attachments_go_with_the_created_issue_and_a_refused_one_is_named(client_as, world, jira, settings):
    settings.TRACKER_ATTACHMENT_MAX_BYTES = 5
    small = add_attachment(world.mine.issue, SimpleUploadedFile("trace.log", b"boom", "text/plain"))
    large = add_attachment(world.mine.issue, SimpleUploadedFile("heap.bin", b"0" * 10))

    response = client_as("member").post(
        api(jira.integration, "create-issue"),
        {
            "artefacts": artefact(world),
            "fields": {jira.environment: "Production"},
            "attachments": [small.pk, large.pk],
        },
        format="json",
    )

    assert response.status_code == 201
    assert [(a.filename, a.content) for a in jira.only_issue().attachments] == [("trace.log", b"boom")]
    body = response.json()
    assert body["unsent_files"] == ["heap.bin"]
    assert any(note.startswith("heap.bin was not sent to Acme Jira") for note in body["notes"])


def test_the_results_own_files_go_before_the_issues_attachments_sent(client_as, world, jira):
    add_artefact_attachments(world.mine.result, [SimpleUploadedFile("failure.png", b"shot", "image/png")])
    sent = add_attachment(world.mine.issue, SimpleUploadedFile("trace.log", b"boom", "text/plain"))

    response = client_as("member").post(
        api(jira.integration, "create-issue"),
        {"artefacts": artefact(world), "fields": {jira.environment: "Production"}, "attachments": [sent.pk]},
        format="json",
    )

    assert response.status_code == 201 and response.json()["unsent_files"] == []
    assert [a.filename for a in jira.only_issue().attachments] == ["failure.png", "trace.log"]


def test_attachments_of_another_project_are_refused_by_id_and_nothing_is_filed(client_as, world, jira):
    foreign = add_attachment(world.other.issue, SimpleUploadedFile("secret.txt", b"secret"))
    before = database_state()

    response = client_as("member").post(
        api(jira.integration, "create-issue"),
        {"artefacts": artefact(world), "fields": {jira.environment: "Production"}, "attachments": [foreign.pk]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"attachments": [f"SHOP has no attachment with id {foreign.pk}."]}
    assert jira.fake.issues == {} and database_state() == before


def test_the_trackers_refusal_names_the_field_and_stores_nothing(client_as, world, jira):
    before = database_state()
    response = client_as("member").post(
        api(jira.integration, "create-issue"), {"artefacts": artefact(world), "title": "Checkout fails"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation" and body["errors"] == {jira.environment: ["Environment is required."]}
    assert database_state() == before and not ExternalReference.objects.exists() and jira.fake.issues == {}


def test_an_idempotency_key_makes_a_retry_link_instead_of_filing_twice(client_as, world, jira):
    payload = {
        "artefacts": artefact(world),
        "fields": {jira.environment: "Staging"},
        "idempotency_key": "ci-run-4711-retry",
    }
    assert client_as("member").post(api(jira.integration, "create-issue"), payload, format="json").status_code == 400
    payload["idempotency_key"] = "cirun4711"
    first = client_as("member").post(api(jira.integration, "create-issue"), payload, format="json")
    again = client_as("member").post(api(jira.integration, "create-issue"), payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False and again.json()["reference"]["key"] == first.json()["reference"]["key"]
    assert len(jira.fake.issues) == 1 and Link.objects.filter(external_reference__isnull=False).count() == 1
    assert "ref tmcirun4711" in jira.description_of(jira.only_issue().key)


def test_link_issue_reuses_the_reference_and_refuses_unknown_keys(client_as, world, jira):
    remote = jira.fake.add_issue("SHOP", "Card payments time out")
    first = client_as("member").post(
        api(jira.integration, "link-issue"), {"key": remote.key, "artefacts": artefact(world)}, format="json"
    )
    again = client_as("member").post(
        api(jira.integration, "link-issue"), {"key": remote.key, "artefacts": artefact(world)}, format="json"
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["reference"]["title"] == "Card payments time out"
    assert ExternalReference.objects.count() == 1
    bad = client_as("member").post(
        api(jira.integration, "link-issue"), {"key": "not a key", "artefacts": artefact(world)}, format="json"
    )
    assert bad.status_code == 400 and "is not an issue key of Acme Jira" in bad.json()["errors"]["key"][0]
    missing = client_as("member").post(
        api(jira.integration, "link-issue"), {"key": "SHOP-404", "artefacts": artefact(world)}, format="json"
    )
    assert missing.json()["errors"]["key"] == ["Acme Jira has no issue SHOP-404."]


def test_a_custom_tracker_links_by_key_but_files_nothing(client_as, world):
    source = SourceFactory(
        provider=Provider.CUSTOM,
        name="Bugzilla",
        auth_type=AuthType.NONE,
        credentials={},
        base_url="https://bugs.example.com",
        issue_url_template="{baseUrl}/show_bug.cgi?id={key}",
        can_create_issues=True,
        create_url_template="{baseUrl}/enter_bug.cgi",
    )
    custom = ProjectIntegrationFactory(project=world.project, source=source, external_project="", default_issue_type="")
    linked = client_as("member").post(
        api(custom, "link-issue"),
        {"key": "4711", "title": "Crash on refund", "artefacts": artefact(world)},
        format="json",
    )
    assert linked.status_code == 201
    assert linked.json()["reference"]["url"] == "https://bugs.example.com/show_bug.cgi?id=4711"
    created = client_as("member").post(api(custom, "create-issue"), {"artefacts": artefact(world)}, format="json")
    assert created.status_code == 409 and created.json()["code"] == "unsupported"
    searched = client_as("member").get(api(custom, "search"), {"q": "crash"})
    assert searched.status_code == 409


def test_another_projects_artefacts_and_integrations_are_not_found(client_as, world, jira):
    foreign = ProjectIntegrationFactory(project=world.other.project, source=jira.source, external_project="BANK")
    assert client_as("member").get(api(foreign, "issue-types")).status_code == 404
    assert (
        client_as("member")
        .post(api(foreign, "link-issue"), {"key": "SHOP-1", "artefacts": artefact(world)}, format="json")
        .status_code
        == 404
    )
    other_result = [{"type": "result", "id": world.other.result.pk}]
    response = client_as("member").post(
        api(jira.integration, "create-issue"), {"artefacts": other_result}, format="json"
    )
    assert response.status_code == 400 and jira.fake.issues == {}


def test_an_archived_integration_is_not_found(client_as, jira):
    jira.integration.is_primary = False
    jira.integration.state = IntegrationState.ARCHIVED
    jira.integration.save()
    assert client_as("member").get(api(jira.integration, "issue-types")).status_code == 404


def test_an_integration_without_a_project_says_who_fixes_it(client_as, jira):
    jira.integration.external_project = ""
    jira.integration.save()
    response = client_as("member").get(api(jira.integration, "issue-types"))
    assert response.status_code == 409 and response.json()["code"] == "not_configured"
    assert "A project administrator of SHOP (admin) can fix this" in response.json()["message"]


def test_an_oauth_source_needs_the_members_authorization(client_as, jira):
    jira.source.auth_type = AuthType.OAUTH2
    jira.source.credentials = {"client_id": "app", "client_secret": "app-secret"}
    jira.source.save()
    response = client_as("member").get(api(jira.integration, "issue-types"))
    assert response.status_code == 403 and "Authorize your Acme Jira account first" in response.json()["message"]
    assert jira.fake.requests == []
