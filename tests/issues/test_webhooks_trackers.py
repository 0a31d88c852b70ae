"""Each tracker's webhook as its provider reads it: verification in constant time, then parsing into
normalized issue events; webhook registration and priority changes through each tracker's API.

The deliveries come from the fake trackers, built and signed the way each tracker documents it.
A webhook's copy of an issue must read exactly as the API's copy does.
"""

import base64
import dataclasses
from datetime import timedelta

import pytest

from integrations.errors import NotFound, RemoteValidationError
from integrations.fields import Unreadable
from integrations.providers import provider_for
from integrations.providers.base import (
    EventKind,
    IssueEvent,
    NotConfigured,
    RemoteComment,
    RemoteIssue,
    WebhookRejected,
)
from tests.factories import ProjectIntegrationFactory
from tests.fakes.fixtures import GITHUB_LOGIN, GITLAB_USERNAME, LINEAR_LOGIN
from tests.fakes.gitlab import MAINTAINER
from tests.fakes.webhooks import body_of
from tests.issues.sync_support import (
    SECRET,
    azure_devops_source,
    github_source,
    gitlab_source,
    hook_request,
    jira_cloud_source,
    jira_server_source,
    linear_source,
)

pytestmark = pytest.mark.django_db

HOOK_URL = "https://testmanager.example.com/hooks/0b7c1c8e-5f7e-4d4b-9d7a-3c6a3f1b2e10/"


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


def read(provider, delivery) -> list[IssueEvent]:
    """Verify, then parse, as the hook does."""
    request = hook_request(delivery)
    provider.verify_webhook(request)
    return provider.parse_webhook(request.body, request.headers)


def fetched(provider, key):
    return dataclasses.replace(provider.fetch_many([key]).issues[key], etag="")


def as_read(issue):
    """A delivery's issue (read as a pull reads it: with its description) as the API's read shows it."""
    return RemoteIssue(**{part.name: getattr(issue, part.name) for part in dataclasses.fields(RemoteIssue)})


# -- GitHub --------------------------------------------------------------------------------------


@pytest.fixture
def github(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "admin")
    source = github_source(fake_github)
    ProjectIntegrationFactory(source=source, external_project="acme/shop")
    return provider_for(source)


def test_a_github_issue_event_reads_as_the_api_reads_the_issue(fake_github, github):
    issue = fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    fake_github.edit_issue("acme/shop", issue.number, state="closed", state_reason="not_planned")
    delivery = fake_github.issue_delivery("acme/shop", issue.number, action="closed", secret=SECRET)

    (event,) = read(github, delivery)

    assert event.kind == EventKind.UPDATED
    assert event.key == "acme/shop#1"
    assert event.delivery_id == delivery.headers["X-GitHub-Delivery"]
    assert as_read(event.issue) == fetched(github, "acme/shop#1")
    assert event.issue.status == "Closed (not planned)"
    assert event.updated_at == event.issue.updated_at


def test_a_github_comment_event_carries_the_comment_and_the_issue(fake_github, github):
    issue = fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    comment = fake_github.add_comment("acme/shop", issue.number, "Seen on **staging** too", author=GITHUB_LOGIN)

    (event,) = read(github, fake_github.comment_delivery("acme/shop", issue.number, comment.id, secret=SECRET))

    assert event.kind == EventKind.COMMENTED
    assert event.comment == RemoteComment(
        id=str(comment.id),
        author=GITHUB_LOGIN,
        body="Seen on **staging** too",
        created_at=comment.created,
        updated_at=comment.created,
    )
    assert as_read(event.issue) == fetched(github, "acme/shop#1")


def test_github_deletions_transfers_pull_requests_and_other_events(fake_github, github):
    issue = fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    pull = fake_github.add_issue("acme/shop", "Fix checkout", author=GITHUB_LOGIN, pull_request=True)

    (deleted,) = read(github, fake_github.issue_delivery("acme/shop", issue.number, action="deleted", secret=SECRET))
    (moved,) = read(github, fake_github.issue_delivery("acme/shop", issue.number, action="transferred", secret=SECRET))
    ping = fake_github.issue_delivery("acme/shop", issue.number, secret=SECRET)
    ping = dataclasses.replace(ping, headers={**ping.headers, "X-GitHub-Event": "ping"})

    assert (deleted.kind, deleted.key, deleted.issue) == (EventKind.DELETED, "acme/shop#1", None)
    assert (moved.kind, moved.issue) == (EventKind.CHANGED, None)  # read again: the key follows the issue
    assert read(github, fake_github.issue_delivery("acme/shop", pull.number, secret=SECRET)) == []
    assert read(github, ping) == []


def test_github_signatures_are_checked_against_the_secret(fake_github, github):
    issue = fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    genuine = fake_github.issue_delivery("acme/shop", issue.number, secret=SECRET)
    forged = fake_github.issue_delivery("acme/shop", issue.number, secret="guessed")
    tampered = dataclasses.replace(genuine, body=genuine.body.replace(b"Checkout fails", b"Checkout works"))
    unsigned = genuine.with_headers({"X-Hub-Signature-256": ""})
    sha1_only = genuine.with_headers({"X-Hub-Signature-256": genuine.headers["X-Hub-Signature-256"][7:]})

    for delivery in (forged, tampered, unsigned, sha1_only):
        with pytest.raises(WebhookRejected):
            github.verify_webhook(hook_request(delivery))
    github.verify_webhook(hook_request(genuine))


def test_without_a_webhook_secret_nothing_is_accepted(fake_github, github):
    issue = fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    github.source.webhook_secret = None

    with pytest.raises(WebhookRejected, match="no webhook secret"):
        github.verify_webhook(hook_request(fake_github.issue_delivery("acme/shop", issue.number, secret="")))


def test_registering_on_github_adds_one_repository_hook_and_updates_it_the_second_time(fake_github, github):
    (first,) = github.register_webhook(HOOK_URL, SECRET)
    (second,) = github.register_webhook(HOOK_URL, "rotated-secret")

    (hook,) = fake_github.hooks["acme/shop"]
    assert first == second == str(hook.id)
    assert (hook.url, hook.secret, hook.events, hook.active) == (
        HOOK_URL,
        "rotated-secret",
        ["issues", "issue_comment"],
        True,
    )


def test_registering_needs_a_repository_and_admin_rights_there(fake_github):
    fake_github.add_repo("acme/other")
    unassigned = provider_for(github_source(fake_github))
    with pytest.raises(NotConfigured):
        unassigned.register_webhook(HOOK_URL, SECRET)

    fake_github.grant("acme/other", GITHUB_LOGIN, "write")
    ProjectIntegrationFactory(source=unassigned.source, external_project="acme/other")
    with pytest.raises(NotFound):  # GitHub hides repository hooks from non-administrators
        unassigned.register_webhook(HOOK_URL, SECRET)
    assert "acme/other" not in fake_github.hooks


# -- GitLab --------------------------------------------------------------------------------------

WEB = "acme/platform/web"


@pytest.fixture
def gitlab(fake_gitlab):
    fake_gitlab.add_project(WEB)
    fake_gitlab.add_member(WEB, GITLAB_USERNAME, MAINTAINER)
    source = gitlab_source(fake_gitlab)
    ProjectIntegrationFactory(source=source, external_project=WEB)
    return provider_for(source)


def test_a_gitlab_issue_hook_reads_as_the_api_reads_the_issue(fake_gitlab, gitlab):
    issue = fake_gitlab.add_issue(WEB, "Checkout fails", author=GITLAB_USERNAME, assignees=(GITLAB_USERNAME,))
    fake_gitlab.edit_issue(WEB, issue.iid, state="closed")
    delivery = fake_gitlab.issue_delivery(WEB, issue.iid, action="close", secret=SECRET)

    (event,) = read(gitlab, delivery)

    assert (event.kind, event.key, event.delivery_id) == (
        EventKind.UPDATED,
        f"{WEB}#1",
        delivery.headers["Idempotency-Key"],
    )
    assert as_read(event.issue) == fetched(gitlab, f"{WEB}#1")
    assert (event.issue.status, event.issue.assignee) == ("Closed", "Test Bot")


def test_a_gitlab_note_hook_carries_the_comment_and_the_issue_without_its_assignees(fake_gitlab, gitlab):
    issue = fake_gitlab.add_issue(WEB, "Checkout fails", author=GITLAB_USERNAME)
    note = fake_gitlab.add_note(WEB, issue.iid, "Seen on staging", author=GITLAB_USERNAME)

    (event,) = read(gitlab, fake_gitlab.note_delivery(WEB, issue.iid, note.id, secret=SECRET))

    # The note's payload names the issue without its assignees: they are unknown, the rest applies.
    assert (event.kind, event.key) == (EventKind.COMMENTED, f"{WEB}#1")
    assert (event.issue.title, event.issue.status, event.issue.unknown) == ("Checkout fails", "Open", {"assignee"})
    stamp = note.created.replace(microsecond=0)
    assert event.comment == RemoteComment(
        id=str(note.id), author="Test Bot", body="Seen on staging", created_at=stamp, updated_at=stamp
    )


def test_gitlab_tokens_are_compared_with_the_secret(fake_gitlab, gitlab):
    issue = fake_gitlab.add_issue(WEB, "Checkout fails", author=GITLAB_USERNAME)
    genuine = fake_gitlab.issue_delivery(WEB, issue.iid, secret=SECRET)

    for token in ("", SECRET[:-1], SECRET + "x", SECRET.upper()):
        with pytest.raises(WebhookRejected):
            gitlab.verify_webhook(hook_request(genuine.with_headers({"X-Gitlab-Token": token})))
    gitlab.verify_webhook(hook_request(genuine))


def test_registering_on_gitlab_adds_one_project_hook_and_updates_it_the_second_time(fake_gitlab, gitlab):
    (first,) = gitlab.register_webhook(HOOK_URL, SECRET)
    (second,) = gitlab.register_webhook(HOOK_URL, "rotated-secret")

    (hook,) = fake_gitlab.hooks[WEB]
    assert first == second == str(hook.id)
    assert (hook.url, hook.secret) == (HOOK_URL, "rotated-secret")
    # Confidential issues (filing may create them) and their notes reach only hooks that ask for them.
    assert hook.events == ["issues_events", "confidential_issues_events", "note_events", "confidential_note_events"]


def test_registering_on_gitlab_turns_confidential_events_on_in_a_hook_registered_without_them(fake_gitlab, gitlab):
    (hook_id,) = gitlab.register_webhook(HOOK_URL, SECRET)
    (hook,) = fake_gitlab.hooks[WEB]
    hook.events = ["issues_events", "note_events"]  # registered by an older testmanager

    assert gitlab.register_webhook(HOOK_URL, SECRET) == [hook_id]

    assert "confidential_issues_events" in hook.events and "confidential_note_events" in hook.events


# -- Jira ----------------------------------------------------------------------------------------


@pytest.fixture(params=["cloud", "server"])
def jira(request):
    fake = request.getfixturevalue(f"fake_jira_{request.param}")
    fake.add_project("SHOP")
    source = (jira_cloud_source if request.param == "cloud" else jira_server_source)(fake)
    ProjectIntegrationFactory(source=source, external_project="SHOP")
    return fake, provider_for(source)


def test_a_jira_issue_event_reads_as_the_api_reads_the_issue(jira):
    fake, provider = jira
    fake.add_issue("SHOP", "Checkout fails")
    fake.edit_issue("SHOP-1", status="In Progress", priority="High")
    delivery = fake.issue_delivery("SHOP-1", secret=SECRET)

    (event,) = read(provider, delivery)

    assert (event.kind, event.key) == (EventKind.UPDATED, "SHOP-1")
    assert event.delivery_id == delivery.headers["X-Atlassian-Webhook-Identifier"]
    assert as_read(event.issue) == fetched(provider, "SHOP-1")
    assert (event.issue.status, event.issue.status_category, event.issue.priority) == (
        "In Progress",
        "in_progress",
        "High",
    )


def test_a_jira_comment_event_converts_wiki_markup_and_a_deletion_names_the_key(jira):
    fake, provider = jira
    fake.add_issue("SHOP", "Checkout fails")
    comment = fake.add_comment("SHOP-1", "Seen on *staging* too", author=next(iter(fake.users)))

    (commented,) = read(provider, fake.comment_delivery("SHOP-1", comment.id, secret=SECRET))
    (deleted,) = read(provider, fake.issue_delivery("SHOP-1", event="jira:issue_deleted", secret=SECRET))

    assert (commented.kind, commented.issue) == (EventKind.COMMENTED, None)
    assert (commented.comment.id, commented.comment.body) == (comment.id, "Seen on **staging** too")
    assert (deleted.kind, deleted.key, deleted.issue) == (EventKind.DELETED, "SHOP-1", None)


def test_jira_signatures_are_checked_against_the_secret(jira):
    fake, provider = jira
    fake.add_issue("SHOP", "Checkout fails")
    genuine = fake.issue_delivery("SHOP-1", secret=SECRET)

    for signature in (
        "",
        genuine.headers["X-Hub-Signature"].replace("sha256=", "sha1="),
        fake.issue_delivery("SHOP-1", secret="guessed").headers["X-Hub-Signature"],
    ):
        with pytest.raises(WebhookRejected):
            provider.verify_webhook(hook_request(genuine.with_headers({"X-Hub-Signature": signature})))
    provider.verify_webhook(hook_request(genuine))


def test_registering_on_jira_adds_a_signed_admin_webhook_for_the_projects_and_updates_it(jira):
    fake, provider = jira
    (first,) = provider.register_webhook(HOOK_URL, SECRET)
    (second,) = provider.register_webhook(HOOK_URL, "rotated-secret")

    (hook,) = fake.hooks
    assert first == second == str(hook.id)
    assert (hook.url, hook.secret, hook.scope) == (HOOK_URL, "rotated-secret", 'project in ("SHOP")')
    assert hook.events == [
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
        "comment_created",
        "comment_updated",
        "comment_deleted",
    ]


def test_jira_priorities_are_set_by_name_and_an_unknown_name_is_refused(jira):
    fake, provider = jira
    fake.add_issue("SHOP", "Checkout fails")

    provider.set_priority("SHOP-1", "Highest")
    with pytest.raises(RemoteValidationError):
        provider.set_priority("SHOP-1", "Blocker")

    assert fake.issue("SHOP-1").priority == "Highest"


# -- Azure DevOps --------------------------------------------------------------------------------


@pytest.fixture
def azure(fake_azure_devops):
    fake_azure_devops.add_project("Shop")
    source = azure_devops_source(fake_azure_devops)
    ProjectIntegrationFactory(source=source, external_project="Shop")
    return provider_for(source)


@pytest.mark.parametrize("event", ["workitem.created", "workitem.updated", "workitem.commented", "workitem.restored"])
def test_an_azure_devops_event_asks_for_the_work_item_to_be_read_again(fake_azure_devops, azure, event):
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")
    delivery = fake_azure_devops.work_item_delivery(item.id, event=event, password=SECRET)

    (parsed,) = read(azure, delivery)

    # A service hook carries neither the state's category nor a comment's id: the item is read again, and
    # what the payload does say of it comes along, its state unknown.
    assert dataclasses.replace(parsed, issue=None) == IssueEvent(
        EventKind.CHANGED, str(item.id), fetched(azure, str(item.id)).updated_at, delivery.json()["id"]
    )
    assert (parsed.issue.title, parsed.issue.description) == (
        "Checkout fails",
        item.fields.get("System.Description", ""),
    )
    assert {"status", "status_category"} <= parsed.issue.unknown


def test_an_azure_devops_event_names_its_work_item_wherever_the_resource_carries_it(fake_azure_devops, azure):
    """``workitem.updated`` resources name the item in ``workItemId`` (their own ``id`` is the update's)
    and carry it in ``revision``; the other events' resources are the item itself."""
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")
    fake_azure_devops.add_work_item("Shop", "Bug", "Another one")  # update ids are small numbers too
    updated = fake_azure_devops.work_item_delivery(item.id, event="workitem.updated", password=SECRET)
    changed = fetched(azure, str(item.id)).updated_at

    commented_as_update = {**updated.json(), "eventType": "workitem.commented"}
    without_item_id = {**updated.json(), "resource": {**updated.json()["resource"]}}
    del without_item_id["resource"]["workItemId"]
    assert commented_as_update["resource"]["id"] != item.id

    for payload in (commented_as_update, without_item_id):
        delivery = dataclasses.replace(updated, body=body_of(payload))
        (parsed,) = read(azure, delivery)
        assert (parsed.kind, parsed.key, parsed.updated_at) == (EventKind.CHANGED, str(item.id), changed)


def test_an_azure_devops_event_without_a_work_item_id_is_ignored(fake_azure_devops, azure):
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")
    updated = fake_azure_devops.work_item_delivery(item.id, event="workitem.updated", password=SECRET).json()
    anonymous = {**updated, "resource": {"workItemId": "5", "revision": {"id": True, "fields": {}}, "id": 0}}

    delivery = fake_azure_devops.work_item_delivery(item.id, event="workitem.updated", password=SECRET)
    assert read(azure, dataclasses.replace(delivery, body=body_of(anonymous))) == []


def test_azure_devops_comments_keep_their_id_when_the_server_calls_it_comment_id(fake_azure_devops, azure):
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")
    fake_azure_devops.comment_id_name = "commentId"

    posted = azure.add_comment(str(item.id), "Seen on staging")
    (comment,) = azure.comments(str(item.id))

    assert posted == comment.id == str(item.comments[0].id)


def test_an_azure_devops_deletion_names_the_work_item(fake_azure_devops, azure):
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")

    (parsed,) = read(azure, fake_azure_devops.work_item_delivery(item.id, event="workitem.deleted", password=SECRET))

    assert (parsed.kind, parsed.key) == (EventKind.DELETED, str(item.id))


def test_azure_devops_hooks_authenticate_with_basic_auth_or_the_secret_header(fake_azure_devops, azure):
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")
    genuine = fake_azure_devops.work_item_delivery(item.id, password=SECRET, username="anyone")
    wrong = fake_azure_devops.work_item_delivery(item.id, password="guessed")
    bearer = genuine.with_headers({"Authorization": f"Bearer {SECRET}"})
    garbage = genuine.with_headers({"Authorization": "Basic %%%not-base64"})
    header = dataclasses.replace(genuine, headers={"X-Testmanager-Webhook-Secret": SECRET})
    wrong_header = dataclasses.replace(genuine, headers={"X-Testmanager-Webhook-Secret": "guessed"})

    for delivery in (wrong, bearer, garbage, wrong_header):
        with pytest.raises(WebhookRejected):
            azure.verify_webhook(hook_request(delivery))
    azure.verify_webhook(hook_request(genuine))
    azure.verify_webhook(hook_request(header))


def test_registering_on_azure_devops_subscribes_each_work_item_event_once(fake_azure_devops, azure):
    first = azure.register_webhook(HOOK_URL, SECRET)
    second = azure.register_webhook(HOOK_URL, "rotated-secret")

    assert first == second and len(first) == 5
    assert sorted(hook.events[0] for hook in fake_azure_devops.hooks) == [
        "workitem.commented",
        "workitem.created",
        "workitem.deleted",
        "workitem.restored",
        "workitem.updated",
    ]
    assert {(hook.url, hook.secret, hook.scope) for hook in fake_azure_devops.hooks} == {
        (HOOK_URL, "rotated-secret", fake_azure_devops.projects["Shop"].id)
    }
    hook = fake_azure_devops.hooks[0]
    delivery = fake_azure_devops.work_item_delivery(
        fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails").id, password=hook.secret
    )
    azure.source.webhook_secret = "rotated-secret"
    azure.verify_webhook(hook_request(delivery))


def test_azure_devops_priorities_are_the_numbers_one_to_four(fake_azure_devops, azure):
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")

    azure.set_priority(str(item.id), "1")
    with pytest.raises(RemoteValidationError, match="1 to 4"):
        azure.set_priority(str(item.id), "Highest")

    assert fake_azure_devops.work_item(item.id).fields["Microsoft.VSTS.Common.Priority"] == 1


# -- Linear --------------------------------------------------------------------------------------


@pytest.fixture
def linear(fake_linear):
    fake_linear.add_team("ENG")
    return provider_for(linear_source(fake_linear))


def test_a_linear_issue_event_reads_as_the_api_reads_the_issue(fake_linear, linear):
    fake_linear.add_issue("ENG", "Checkout fails", assignee=LINEAR_LOGIN)
    fake_linear.edit_issue("ENG-1", state="In Progress", priority=2)
    delivery = fake_linear.issue_delivery("ENG-1", secret=SECRET)

    (event,) = read(linear, delivery)

    assert (event.kind, event.key, event.delivery_id) == (
        EventKind.UPDATED,
        "ENG-1",
        delivery.headers["Linear-Delivery"],
    )
    assert as_read(event.issue) == fetched(linear, "ENG-1")
    assert (event.issue.status, event.issue.priority) == ("In Progress", "High")


def test_linear_comments_and_removals(fake_linear, linear):
    fake_linear.add_issue("ENG", "Checkout fails")
    comment = fake_linear.add_comment("ENG-1", "Seen on staging", author=LINEAR_LOGIN)

    (commented,) = read(linear, fake_linear.comment_delivery("ENG-1", comment.id, secret=SECRET))
    (removed,) = read(linear, fake_linear.issue_delivery("ENG-1", action="remove", secret=SECRET))

    assert (commented.kind, commented.key, commented.comment.id, commented.comment.body) == (
        EventKind.COMMENTED,
        "ENG-1",
        comment.id,
        "Seen on staging",
    )
    assert (removed.kind, removed.key, removed.issue) == (EventKind.DELETED, "ENG-1", None)


def test_a_linear_delivery_must_be_signed_and_sent_within_a_minute(fake_linear, linear):
    issue = fake_linear.add_issue("ENG", "Checkout fails")
    late = fake_linear.issue_delivery("ENG-1", secret=SECRET, sent_at=issue.updated_at - timedelta(seconds=61))
    early = fake_linear.issue_delivery("ENG-1", secret=SECRET, sent_at=issue.updated_at + timedelta(minutes=5))
    forged = fake_linear.issue_delivery("ENG-1", secret="guessed")

    with pytest.raises(WebhookRejected, match="webhookTimestamp"):
        linear.verify_webhook(hook_request(late))
    with pytest.raises(WebhookRejected, match="webhookTimestamp"):
        linear.verify_webhook(hook_request(early))
    with pytest.raises(WebhookRejected, match="signature"):
        linear.verify_webhook(hook_request(forged))
    linear.verify_webhook(hook_request(fake_linear.issue_delivery("ENG-1", secret=SECRET)))


def test_linear_priorities_are_set_by_linears_names(fake_linear, linear):
    fake_linear.add_issue("ENG", "Checkout fails")

    linear.set_priority("ENG-1", "Urgent")
    with pytest.raises(RemoteValidationError, match="Urgent, High, Medium, Low"):
        linear.set_priority("ENG-1", "Highest")

    assert fake_linear.issue("ENG-1").priority == 1


def test_a_body_that_is_not_a_json_object_is_rejected_after_the_signature(fake_linear, linear):
    for body in (b"not json", b"[1, 2]"):
        with pytest.raises(WebhookRejected, match="JSON"):
            linear.parse_webhook(body, {})


def test_an_unreadable_secret_is_refused_with_a_remedy(fake_github, github):
    github.source.webhook_secret = Unreadable(b"ciphertext of a rotated-away key")
    issue = fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    with pytest.raises(WebhookRejected, match="cannot be decrypted"):
        github.verify_webhook(hook_request(fake_github.issue_delivery("acme/shop", issue.number, secret=SECRET)))


def test_basic_auth_helpers_are_not_fooled_by_a_password_with_colons(fake_azure_devops, azure):
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")
    azure.source.webhook_secret = "pa:ss:word"
    credentials = base64.b64encode(b"user:pa:ss:word").decode()
    delivery = fake_azure_devops.work_item_delivery(item.id, password="x").with_headers(
        {"Authorization": f"Basic {credentials}"}
    )

    azure.verify_webhook(hook_request(delivery))
