"""Pushing internal issues to a tracker through the API: `POST /api/issues/{issueId}/push` (one, 201),
`POST /api/issues/push` (several, 202 and a job to GET), `POST /api/issues/{issueId}/link-tracker`.

The pushed issue becomes the synced defect of the tracker issue; pushing it again is refused with
the key (409); a retry after a timeout finds the issue the first try created; a tracker that is down
leaves nothing written here. Every tracker with an API is a fake over real HTTP."""

import json
import re
import threading
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from integrations.http import TrackerHttpClient
from integrations.mappings import default_priority_mapping, default_status_mapping
from integrations.models import AuthType, Provider
from issues.core.services import add_attachment, tags_by_name
from issues.filing.models import FilingJob
from issues.links.models import ExternalReference, Link
from issues.links.services import link
from issues.sync.models import DefectSync
from tests.api.conftest import ROLES
from tests.api.helpers import database_state
from tests.factories import ProjectIntegrationFactory, SourceFactory, UserFactory, make_issue
from tests.fakes.fixtures import (
    ADO_PAT,
    CLOUD_API_TOKEN,
    CLOUD_LOGIN,
    GITHUB_LOGIN,
    GITHUB_TOKEN,
    GITLAB_PAT,
    GITLAB_USERNAME,
    LINEAR_API_KEY,
    SERVER_PAT,
)
from tests.fakes.gitlab import DEVELOPER
from tests.fakes.jira import plain_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]

REFUSED = {"viewer": 403, "outsider": 404, "anonymous": 401}


@dataclass
class Tracker:
    """One tracker's fake, with the project integration SHOP pushes to."""

    fake: object
    integration: object
    create_path: str  # the route path of the tracker's create request (a regex)
    create_word: str = ""  # what its body says (a GraphQL mutation's name), where the path says nothing

    def is_create(self, request) -> bool:
        return (
            request.method == "POST"
            and re.fullmatch(self.create_path, request.route_path or "") is not None
            and self.create_word.encode() in request.body
        )

    def creates(self):
        return [request for request in self.fake.requests_to("POST") if self.is_create(request)]

    def sent(self) -> str:
        """Everything the create requests carried, as text (JSON unescaped)."""
        return "\n".join(json.dumps(json.loads(request.body), ensure_ascii=False) for request in self.creates())


def integrate(project, provider, base_url, auth_type, credentials, external_project, issue_type, **options):
    source = SourceFactory(
        provider=provider,
        name=f"{provider} tracker",
        base_url=base_url,
        allow_http=True,
        auth_type=auth_type,
        credentials=credentials,
        issue_url_template="",
        can_create_issues=True,
    )
    return ProjectIntegrationFactory(
        project=project,
        source=source,
        external_project=external_project,
        default_issue_type=issue_type,
        is_primary=True,
        priority_mapping=default_priority_mapping(),
        status_mapping=default_status_mapping(),
        **{"sync_defects": True, "push_defect_changes": True, "sync_comments": True, **options},
    )


def jira_cloud(request, project):
    fake = request.getfixturevalue("fake_jira_cloud")
    fake.add_project("SHOP", issue_types=("Bug", "Task"))
    credentials = {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN}
    integration = integrate(project, Provider.JIRA_CLOUD, fake.base_url, AuthType.API_TOKEN, credentials, "SHOP", "Bug")
    return Tracker(fake, integration, r"/rest/api/3/issue")


def jira_data_center(request, project):
    fake = request.getfixturevalue("fake_jira_server")
    fake.add_project("SHOP", issue_types=("Bug", "Task"))
    credentials = {"token": SERVER_PAT}
    integration = integrate(project, Provider.JIRA_SERVER, fake.base_url, AuthType.PAT, credentials, "SHOP", "Bug")
    return Tracker(fake, integration, r"/rest/api/2/issue")


def github(request, project):
    fake = request.getfixturevalue("fake_github")
    fake.add_repo("acme/shop")
    fake.grant("acme/shop", GITHUB_LOGIN, "write")
    fake.add_label("acme/shop", "checkout")
    credentials = {"token": GITHUB_TOKEN}
    integration = integrate(project, Provider.GITHUB, fake.web_url, AuthType.PAT, credentials, "acme/shop", "Issue")
    return Tracker(fake, integration, r".*repos/acme/shop/issues")


def gitlab(request, project):
    fake = request.getfixturevalue("fake_gitlab")
    fake.add_project("acme/web")
    fake.add_member("acme/web", GITLAB_USERNAME, DEVELOPER)
    credentials = {"token": GITLAB_PAT}
    integration = integrate(project, Provider.GITLAB, fake.web_url, AuthType.PAT, credentials, "acme/web", "Issue")
    return Tracker(fake, integration, r".*projects/acme%2Fweb/issues")


def azure_devops(request, project):
    fake = request.getfixturevalue("fake_azure_devops")
    fake.add_project("Fabrikam")
    credentials = {"token": ADO_PAT}
    integration = integrate(project, Provider.AZURE_DEVOPS, fake.base_url, AuthType.PAT, credentials, "Fabrikam", "Bug")
    return Tracker(fake, integration, r".*/workitems/\$Bug")


def linear(request, project):
    fake = request.getfixturevalue("fake_linear")
    fake.add_team("ENG", "Engineering")
    credentials = {"token": LINEAR_API_KEY}
    integration = integrate(project, Provider.LINEAR, fake.base_url, AuthType.PAT, credentials, "ENG", "Issue")
    return Tracker(fake, integration, r".*graphql", create_word="issueCreate")


TRACKERS = {
    "jira_cloud": jira_cloud,
    "jira_data_center": jira_data_center,
    "github": github,
    "gitlab": gitlab,
    "azure_devops": azure_devops,
    "linear": linear,
}


@pytest.fixture(params=list(TRACKERS))
def tracker(request, world) -> Tracker:
    return TRACKERS[request.param](request, world.project)


@pytest.fixture
def jira(request, world) -> Tracker:
    return jira_cloud(request, world.project)


def push(client, issue, integration, **body):
    return client.post(
        f"/api/issues/{quote(issue.key, safe='')}/push", {"integration": integration.pk, **body}, format="json"
    )


def a_defect(world, **fields):
    """SHOP's issue, linked to a failed result, tagged."""
    issue = make_issue(world.project, name="Card payments time out", description="Pay with a *Visa* card.", **fields)
    issue.tags.set(tags_by_name(world.project, ["checkout"]))
    link(artefact=world.mine.result, issue=issue)
    return issue


# -- one issue -------------------------------------------------------------------------------------


def test_an_issue_pushed_to_each_tracker_becomes_the_synced_defect_of_the_new_issue(
    tracker, world, client_as, django_capture_on_commit_callbacks
):
    issue = a_defect(world)

    with django_capture_on_commit_callbacks(execute=True):
        response = push(client_as("member"), issue, tracker.integration)

    assert response.status_code == 201, response.content
    body = response.json()
    reference = ExternalReference.objects.get(key=body["reference"]["key"])
    assert body["issue"] == issue.key and body["created"] is True
    assert body["reference"]["url"] and body["reference"]["status"] == reference.status
    sync = DefectSync.objects.get(issue=issue)
    assert (sync.reference, sync.integration) == (reference, tracker.integration)
    assert len(tracker.creates()) == 1
    sent = tracker.sent()
    assert "Card payments time out" in sent
    assert f"/projects/SHOP/issues/{issue.number}/" in sent  # the link back
    assert f"/projects/SHOP/runs/{world.mine.run.pk}/results/{world.mine.result.pk}/" in sent  # linked artefacts
    assert not Link.objects.filter(external_reference=reference).exists()  # the issue is its defect, not a link


def test_the_remote_issue_gets_the_mapped_priority_and_the_tags_as_labels(jira, world, client_as):
    issue = a_defect(world, priority="critical")

    assert push(client_as("member"), issue, jira.integration).status_code == 201

    remote = jira.fake.issue("SHOP-1")
    assert remote.priority == "High"  # critical = High, Critical: the first the tracker offers
    assert remote.labels == ["checkout"]


def test_github_labels_carry_the_tags(request, world, client_as):
    github_tracker = github(request, world.project)
    issue = a_defect(world)

    assert push(client_as("member"), issue, github_tracker.integration).status_code == 201

    (created,) = github_tracker.fake.repo("acme/shop").issues.values()
    assert [label.name for label in created.labels] == ["checkout", "severity:major"]


# -- severity through the severity mapping -----------------------------------------------------------


def test_azure_devops_takes_the_severity_in_its_severity_field(request, world, client_as):
    ado = azure_devops(request, world.project)
    issue = a_defect(world, priority="critical")

    assert push(client_as("member"), issue, ado.integration).status_code == 201

    (item,) = ado.fake.work_items.values()
    assert item.fields["Microsoft.VSTS.Common.Severity"] == "1 - Critical"


def test_the_severity_table_of_the_field_mappings_decides_the_severity(request, world, client_as):
    ado = azure_devops(request, world.project)
    ado.integration.field_mappings = {"severity": {"2 - High": "critical", "1 - Critical": "blocker"}}
    ado.integration.save()
    issue = a_defect(world, priority="critical")

    assert push(client_as("member"), issue, ado.integration).status_code == 201

    (item,) = ado.fake.work_items.values()
    assert item.fields["Microsoft.VSTS.Common.Severity"] == "2 - High"


def test_jira_takes_the_severity_in_a_severity_custom_field_when_the_project_has_one(jira, world, client_as):
    field = jira.fake.add_field("SHOP", "Bug", "Severity", "select", options=("Critical", "Major", "Minor"))
    issue = a_defect(world, priority="minor")

    assert push(client_as("member"), issue, jira.integration).status_code == 201

    assert f'"{field.field_id}": {{"value": "Minor"}}' in jira.sent()


def test_jira_without_a_severity_field_gets_none_and_no_complaint(jira, world, client_as):
    issue = a_defect(world, priority="minor")

    response = push(client_as("member"), issue, jira.integration)

    assert response.status_code == 201
    assert "everity" not in jira.sent().split("Pushed from testmanager")[0]
    assert not [note for note in response.json()["notes"] if "everity" in note]


@pytest.mark.parametrize("name", ["github", "gitlab"])
def test_trackers_without_a_severity_field_take_it_as_a_label(request, world, client_as, name):
    tracker = TRACKERS[name](request, world.project)
    issue = a_defect(world, priority="blocker")

    assert push(client_as("member"), issue, tracker.integration).status_code == 201

    assert "severity:blocker" in tracker.sent()
    assert "checkout" in tracker.sent()


def test_linear_takes_the_severity_label_its_team_has_and_says_when_it_has_none(request, world, client_as):
    tracker = linear(request, world.project)
    tracker.fake.add_label("checkout", team="ENG")
    first = a_defect(world, priority="major")

    response = push(client_as("member"), first, tracker.integration)

    assert response.status_code == 201
    assert any("severity:major" in note for note in response.json()["notes"])
    tracker.fake.add_label("severity:trivial", team="ENG")
    second = make_issue(world.project, name="Typo on the receipt", priority="trivial")

    assert push(client_as("member"), second, tracker.integration).status_code == 201
    (issue,) = [i for i in tracker.fake.issues if i.title == "Typo on the receipt"]
    assert [label.name for label in issue.label_list] == ["severity:trivial"]


def test_pushing_an_issue_kept_in_step_already_is_refused_with_its_key(tracker, world, client_as):
    issue = a_defect(world)
    first = push(client_as("member"), issue, tracker.integration)
    key = first.json()["reference"]["key"]
    before = database_state()

    again = push(client_as("member"), issue, tracker.integration)

    assert again.status_code == 409
    assert again.json()["key"] == key and again.json()["code"] == "already_pushed" and key in again.json()["message"]
    assert len(tracker.creates()) == 1 and database_state() == before


@pytest.mark.parametrize("role", ROLES)
def test_who_may_push_follows_the_role_matrix(jira, world, client_as, role):
    issue = a_defect(world)
    before = database_state()

    response = push(client_as(role), issue, jira.integration)

    if role in ("member", "admin"):
        assert response.status_code == 201
    else:
        assert response.status_code == REFUSED[role]
        assert database_state() == before and jira.creates() == []


def test_another_projects_issue_answers_404_by_id_and_by_key(jira, world, client_as):
    foreign = world.other.issue

    by_key = push(client_as("member"), foreign, jira.integration)
    by_id = client_as("member").post(
        f"/api/issues/{foreign.pk}/push", {"integration": jira.integration.pk}, format="json"
    )

    assert by_key.status_code == by_id.status_code == 404
    assert jira.creates() == []


def test_an_integration_of_another_project_is_refused_naming_the_field(request, jira, world, client_as):
    elsewhere = jira_data_center(request, world.other.project)

    response = push(client_as("member"), a_defect(world), elsewhere.integration)

    assert response.status_code == 400
    assert "integration" in response.json()["errors"]


def test_a_tracker_that_is_down_writes_nothing_and_says_so(tracker, world, client_as):
    issue = a_defect(world)
    tracker.fake.stop()
    before = database_state()

    response = push(client_as("member"), issue, tracker.integration)

    assert response.status_code == 503
    assert response.json()["code"] == "unreachable" and response.json()["message"]
    assert database_state() == before
    assert not DefectSync.objects.exists() and not ExternalReference.objects.exists()


def test_a_field_the_tracker_refuses_is_named_and_nothing_is_written(jira, world, client_as):
    environment = jira.fake.add_field(
        "SHOP", "Bug", "Environment", "select", required=True, options=("Staging", "Production")
    )
    issue = a_defect(world)
    before = database_state()

    refused = push(client_as("member"), issue, jira.integration)

    assert refused.status_code == 400, refused.content
    assert refused.json()["code"] == "validation" and environment.field_id in refused.json()["errors"]
    assert database_state() == before and not DefectSync.objects.exists() and jira.fake.issues == {}


def test_fields_given_by_the_caller_reach_the_tracker(jira, world, client_as):
    environment = jira.fake.add_field(
        "SHOP", "Bug", "Environment", "select", required=True, options=("Staging", "Production")
    )

    response = push(client_as("member"), a_defect(world), jira.integration, fields={environment.field_id: "Staging"})

    assert response.status_code == 201, response.content
    assert "Staging" in jira.sent()


def test_a_retry_after_a_timeout_finds_the_issue_the_first_try_created(tracker, world, client_as, monkeypatch):
    """The tracker creates the issue but answers too late: the client gives up. The retry looks for the
    push's marker, finds that issue and makes it the defect: one issue in the tracker, never two."""
    issue = a_defect(world)
    monkeypatch.setitem(TrackerHttpClient.__init__.__kwdefaults__, "read_timeout", 0.2)
    server, intercept = tracker.fake.server, tracker.fake.server.interceptor
    client_gave_up, creating = threading.Event(), threading.Event()

    def create_then_time_out(recorded):
        if tracker.is_create(recorded) and not client_gave_up.is_set():
            server.lock.release()  # the fake serves nothing else while a request holds its lock
            try:
                client_gave_up.wait(10)
            finally:
                server.lock.acquire()
                creating.set()  # holding the lock again until the create is done: a retry waits for it
        return intercept(recorded)

    server.interceptor = create_then_time_out
    first = push(client_as("member"), issue, tracker.integration)
    client_gave_up.set()  # the tracker now carries out the create the client stopped waiting for
    assert creating.wait(10)  # before the retry asks: a tracker still creating would not find it yet
    assert first.status_code == 503 and first.json()["code"] == "unreachable"
    assert not ExternalReference.objects.exists()
    assert not DefectSync.objects.exists()

    monkeypatch.setitem(TrackerHttpClient.__init__.__kwdefaults__, "read_timeout", 20.0)
    retry = push(client_as("member"), issue, tracker.integration)

    assert retry.status_code == 201, retry.content
    assert len(tracker.creates()) == 1  # the retry searched for the marker and created nothing
    key = retry.json()["reference"]["key"]
    assert retry.json()["created"] is True and DefectSync.objects.get(issue=issue).reference.key == key


# -- linking to an existing tracker issue ----------------------------------------------------------


def test_linking_an_issue_to_an_existing_tracker_issue_makes_it_its_synced_defect(jira, world, client_as):
    jira.fake.add_issue("SHOP", "Card payments time out", status="In Progress", priority="High")
    issue = a_defect(world)

    response = client_as("member").post(
        f"/api/issues/{quote(issue.key, safe='')}/link-tracker",
        {"integration": jira.integration.pk, "key": "SHOP-1"},
        format="json",
    )

    assert response.status_code == 201, response.content
    sync = DefectSync.objects.get(issue=issue)
    assert sync.reference.key == "SHOP-1" and jira.creates() == []
    assert (sync.synced_status, sync.synced_priority) == ("in_progress", "critical")


def test_linking_a_key_the_tracker_does_not_have_is_refused_naming_the_key(jira, world, client_as):
    response = client_as("member").post(
        f"/api/issues/{quote(a_defect(world).key, safe='')}/link-tracker",
        {"integration": jira.integration.pk, "key": "SHOP-99"},
        format="json",
    )

    assert response.status_code == 400 and "key" in response.json()["errors"]
    assert not DefectSync.objects.exists()


# -- several issues ---------------------------------------------------------------------------------


def test_several_issues_are_pushed_by_a_job_whose_state_and_keys_the_api_gives(
    tracker, world, client_as, django_capture_on_commit_callbacks
):
    first, second = a_defect(world), make_issue(world.project, name="Receipts lack the VAT")
    client = client_as("member")

    with django_capture_on_commit_callbacks(execute=True):  # the job runs once committed (eager Celery)
        started = client.post(
            "/api/issues/push",
            {"integration": tracker.integration.pk, "issues": [first.key, str(second.pk)]},
            format="json",
        )

    assert started.status_code == 202, started.content
    assert started["Location"] == started.json()["url"]
    job = client.get(started["Location"])
    assert job.status_code == 200
    assert job.json()["state"] == "done"
    items = {item["issue"]: item for item in job.json()["items"]}
    assert set(items) == {first.key, second.key}
    assert all(item["state"] == "filed" and item["key"] and not item["error"] for item in items.values())
    assert {sync.issue_id for sync in DefectSync.objects.all()} == {first.pk, second.pk}
    assert len(tracker.creates()) == 2


def test_a_job_reports_per_issue_the_one_already_pushed(jira, world, client_as, django_capture_on_commit_callbacks):
    pushed, fresh = a_defect(world), make_issue(world.project, name="Receipts lack the VAT")
    client = client_as("member")
    push(client, pushed, jira.integration)

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            "/api/issues/push", {"integration": jira.integration.pk, "issues": [pushed.key, fresh.key]}, format="json"
        )

    items = {item["issue"]: item for item in client.get(started["Location"]).json()["items"]}
    assert items[pushed.key]["state"] == "failed" and "SHOP-1" in items[pushed.key]["error"]
    assert items[fresh.key]["state"] == "filed" and items[fresh.key]["key"] == "SHOP-2"


def test_a_job_waiting_for_a_worker_is_queued(jira, world, client_as):
    started = client_as("member").post(
        "/api/issues/push", {"integration": jira.integration.pk, "issues": [a_defect(world).key]}, format="json"
    )

    assert client_as("viewer").get(started["Location"]).json()["state"] == "queued"  # viewers may follow it
    assert client_as("outsider").get(started["Location"]).status_code == 404


def test_a_job_a_worker_has_started_on_is_running_until_every_issue_is_done(jira, world, client_as):
    first, second = a_defect(world), make_issue(world.project, name="Receipts lack the VAT")
    started = client_as("member").post(
        "/api/issues/push", {"integration": jira.integration.pk, "issues": [first.key, second.key]}, format="json"
    )
    job = FilingJob.objects.get()
    job.items.filter(issue=first).update(attempts=1)  # what a worker does as it starts on an issue

    state = client_as("member").get(started["Location"]).json()

    assert state["state"] == "running"
    assert {item["issue"]: item["state"] for item in state["items"]} == {first.key: "pending", second.key: "pending"}


def test_a_bulk_push_naming_an_issue_of_another_project_is_refused_and_starts_nothing(jira, world, client_as):
    response = client_as("member").post(
        "/api/issues/push",
        {"integration": jira.integration.pk, "issues": [a_defect(world).key, world.other.issue.key]},
        format="json",
    )

    assert response.status_code == 400 and world.other.issue.key in str(response.json())
    assert not FilingJob.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_who_may_start_a_bulk_push_follows_the_role_matrix(jira, world, client_as, role):
    response = client_as(role).post(
        "/api/issues/push", {"integration": jira.integration.pk, "issues": [a_defect(world).key]}, format="json"
    )

    assert response.status_code == (202 if role in ("member", "admin") else REFUSED[role])


def test_the_push_endpoints_are_in_the_openapi_schema(client_as):
    paths = client_as("member").get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    assert {"/api/issues/{issueId}/push", "/api/issues/push", "/api/issues/push/{id}"} <= set(paths)
    assert "/api/issues/{issueId}/link-tracker" in paths
    assert "409" in paths["/api/issues/{issueId}/push"]["post"]["responses"]


# -- user fields through user matching ----------------------------------------------------------------

ASSIGNEE = {"source": "value", "value": "{issue.assignee}"}


def test_an_assignee_without_a_tracker_account_names_the_credentials_owner_and_the_issue_says_so(
    jira, world, client_as
):
    tester = jira.fake.add_field("SHOP", "Bug", "Tester", "user")
    jira.integration.field_mappings = {"defect": {"fields": {tester.field_id: ASSIGNEE}}}
    jira.integration.save()
    issue = a_defect(world, assignee=UserFactory(email="no.account@example.com", first_name="Noa"))

    response = push(client_as("member"), issue, jira.integration)

    assert response.status_code == 201, response.content
    owner = jira.fake.users[CLOUD_LOGIN]
    remote = jira.fake.issue("SHOP-1")
    assert remote.custom_fields[tester.field_id] == owner
    (comment,) = [c for c in remote.comments if "Tester" in plain_text(c.body)]
    assert "names the account that filed the issue" in plain_text(comment.body)
    assert any("Tester:" in note for note in response.json()["notes"])


def test_an_assignee_matched_by_e_mail_address_gets_no_comment(jira, world, client_as):
    tester = jira.fake.add_field("SHOP", "Bug", "Tester", "user")
    jira.integration.field_mappings = {"defect": {"fields": {tester.field_id: ASSIGNEE}}}
    jira.integration.save()
    account = jira.fake.add_user("mia@example.com", display_name="Mia M.")
    issue = a_defect(world, assignee=UserFactory(email="mia@example.com"))

    assert push(client_as("member"), issue, jira.integration).status_code == 201

    remote = jira.fake.issue("SHOP-1")
    assert remote.custom_fields[tester.field_id] == account
    assert not [c for c in remote.comments if "Tester" in plain_text(c.body)]


# -- what each tracker receives: the description in its format, the issue's files where it takes files ------

# The description's emphasis as each tracker writes it, and where its documented upload goes.
RECEIVED = {
    "jira_cloud": ('"type": "em"', ("POST", r".*/issue/SHOP-1/attachments")),
    "jira_data_center": ("_Visa_", ("POST", r".*/issue/SHOP-1/attachments")),
    "github": ("*Visa*", None),  # no upload API: the description links the download here
    "gitlab": ("*Visa*", ("POST", r".*projects/acme%2Fweb/uploads")),
    "azure_devops": ("<em>Visa</em>", ("POST", r"(?i).*/_apis/wit/attachments")),
    "linear": ("*Visa*", ("POST", r".*graphql")),
}


def test_each_tracker_gets_the_description_in_its_format_and_the_issues_file_where_it_takes_files(
    request, tracker, world, client_as
):
    name = request.node.callspec.params["tracker"]
    emphasis, upload = RECEIVED[name]
    issue = a_defect(world)
    add_attachment(issue, SimpleUploadedFile("timeout.log", b"504 after 30 s", content_type="text/plain"))

    response = push(client_as("member"), issue, tracker.integration)

    assert response.status_code == 201, response.content
    assert emphasis in tracker.sent()
    assert not [note for note in response.json()["notes"] if "timeout.log" in note]
    if upload is None:
        assert f"/projects/SHOP/issues/{issue.number}/attachments/" in tracker.sent()
        return
    method, path = upload
    sent = [r for r in tracker.fake.requests_to(method, path) if not r.body.startswith(b"{") or b"fileUpload" in r.body]
    assert sent, f"{name} received no upload"
    assert any(b"504 after 30 s" in r.body or b"timeout.log" in r.body for r in sent)
