"""Webhook deliveries as trackers really send them, at their edges.

- A delivery that does not carry a field leaves that field as it is: missing is unknown, never
  "empty" or "closed", and an unknown state never puts results up for a retest.
- Comment edits and deletions reach the mirrored comments of synced defects (a deleted one keeps its
  place in the thread, marked, without its text) and the issue state the delivery carries still applies.
- A deletion has a time: an event older than it never brings the issue or the comment back.

Deliveries come from the fake trackers, shaped as each tracker documents its payloads.
"""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from integrations.mappings import default_priority_mapping, default_status_mapping
from integrations.providers import provider_for
from issues.core.models import CommentOrigin, IssueComment, IssueStatus
from issues.links.models import ExternalReference
from issues.links.services import link
from issues.sync import refresh, webhooks
from issues.sync.models import DefectSync
from projects.models import ResultStatus, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    TestResultFactory,
    UserFactory,
)
from tests.fakes.fixtures import GITHUB_LOGIN, GITLAB_USERNAME, LINEAR_LOGIN
from tests.fakes.gitlab import MAINTAINER
from tests.fakes.webhooks import Delivery
from tests.issues.sync_support import (
    SECRET,
    azure_devops_source,
    github_source,
    gitlab_source,
    jira_cloud_source,
    linear_source,
    post,
    stripped,
)

pytestmark = pytest.mark.django_db

WEB = "acme/platform/web"


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def hook():
    return Client(enforce_csrf_checks=True)  # trackers send no CSRF token


@pytest.fixture
def member():
    return UserFactory(username="grace")


class Synced:
    """A tracker issue referenced in a project whose integration keeps defects (and their comments) in
    step and asks for retests, linked to a failed result: its defect exists."""

    def __init__(self, source, key, external_project, capture, **cached):
        self.source, self.capture = source, capture
        self.project = ProjectFactory(key="SHOP")
        ProjectIntegrationFactory(
            project=self.project,
            source=source,
            external_project=external_project,
            status_mapping=default_status_mapping(),
            priority_mapping=default_priority_mapping(),
            sync_defects=True,
            sync_comments=True,
            update_test_status_on_resolve=True,
        )
        self.reference = ExternalReference.objects.create(
            source=source, source_name=source.name, key=key, status_category="todo", **cached
        )
        self.result = TestResultFactory(run__project=self.project)
        with capture(execute=True):
            link(artefact=self.result, reference=self.reference)

    def deliver(self, client, delivery: Delivery) -> str:
        with self.capture(execute=True):
            response = post(client, self.source, delivery)
        assert response.status_code == 200
        return response.json()["message"]

    @property
    def defect(self):
        return DefectSync.objects.select_related("issue").get(reference=self.reference).issue

    def result_status(self) -> str:
        return self.result.__class__.objects.get(pk=self.result.pk).status

    def mirrored(self) -> IssueComment:
        (comment,) = IssueComment.objects.filter(issue=self.defect)
        return comment


# -- 1. what a delivery does not carry stays as it is -----------------------------------------------


@pytest.fixture
def github_shop(fake_github, django_capture_on_commit_callbacks):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "admin")
    fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    shop = Synced(
        github_source(fake_github),
        "acme/shop#1",
        "acme/shop",
        django_capture_on_commit_callbacks,
        title="Checkout fails",
        status="Open",
        remote_updated_at=fake_github.issue("acme/shop", 1).updated,
    )
    return fake_github, shop


def test_pinning_an_open_github_issue_leaves_it_open_and_puts_nothing_up_for_retest(hook, github_shop):
    fake, shop = github_shop
    fake.edit_issue("acme/shop", 1, title="Checkout fails for guests")
    delivery = fake.issue_delivery("acme/shop", 1, action="pinned", secret=SECRET)
    assert "state" not in delivery.json()["issue"]  # GitHub's webhook schema makes it optional

    assert shop.deliver(hook, delivery) == "1 of 1 event(s) applied."

    shop.reference.refresh_from_db()
    assert (shop.reference.title, shop.reference.status, shop.reference.status_category) == (
        "Checkout fails for guests",
        "Open",
        "todo",
    )
    assert shop.result_status() == ResultStatus.FAILED
    assert shop.defect.status == IssueStatus.OPEN


def test_unpinning_a_closed_github_issue_leaves_it_closed_with_its_resolution(hook, github_shop):
    fake, shop = github_shop
    fake.edit_issue("acme/shop", 1, state="closed", state_reason="completed", closed=fake.now())
    shop.deliver(hook, fake.issue_delivery("acme/shop", 1, action="closed", secret=SECRET))
    shop.reference.refresh_from_db()
    closed = (shop.reference.status, shop.reference.status_category, shop.reference.remote_resolved_at)
    assert closed[1] == "done" and closed[2] is not None

    fake.edit_issue("acme/shop", 1, title="Checkout fails for guests")
    shop.deliver(hook, fake.issue_delivery("acme/shop", 1, action="unpinned", secret=SECRET))

    shop.reference.refresh_from_db()
    assert (shop.reference.status, shop.reference.status_category, shop.reference.remote_resolved_at) == closed
    assert shop.reference.title == "Checkout fails for guests"


def test_a_state_github_does_not_name_is_unknown_too(github_shop):
    fake, shop = github_shop
    delivery = fake.issue_delivery("acme/shop", 1, action="edited", secret=SECRET)
    payload = delivery.json()
    payload["issue"]["state"] = "archived"

    (event,) = provider_for(shop.source).parse_webhook(json.dumps(payload).encode(), delivery.headers)

    assert event.issue.unknown == {"status"}


def test_a_gitlab_issue_hook_without_a_state_keeps_the_cached_one(fake_gitlab):
    fake_gitlab.add_project(WEB)
    fake_gitlab.add_member(WEB, GITLAB_USERNAME, MAINTAINER)
    fake_gitlab.add_issue(WEB, "Checkout fails", author=GITLAB_USERNAME)
    source = gitlab_source(fake_gitlab)
    reference = ExternalReference.objects.create(
        source=source, source_name="GitLab", key=f"{WEB}#1", status="Open", status_category="todo"
    )
    fake_gitlab.edit_issue(WEB, 1, title="Checkout fails for guests")
    delivery = fake_gitlab.issue_delivery(WEB, 1, secret=SECRET)

    events = provider_for(source).parse_webhook(stripped(delivery, ("object_attributes",), "state"), delivery.headers)
    webhooks.apply_events(source, events)

    reference.refresh_from_db()
    assert (reference.title, reference.status, reference.status_category) == (
        "Checkout fails for guests",
        "Open",
        "todo",
    )


def test_a_jira_issue_event_without_some_fields_keeps_their_cached_values(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails", status="In Progress", priority="High")
    source = jira_cloud_source(fake_jira_cloud)
    reference = ExternalReference.objects.create(
        source=source,
        source_name="Jira",
        key="SHOP-1",
        status="In Progress",
        status_category="in_progress",
        priority="High",
        assignee="Grace Hopper",
    )
    fake_jira_cloud.edit_issue("SHOP-1", summary="Checkout fails for guests")
    delivery = fake_jira_cloud.issue_delivery("SHOP-1", secret=SECRET)
    body = stripped(delivery, ("issue", "fields"), "status", "priority", "assignee")

    webhooks.apply_events(source, provider_for(source).parse_webhook(body, delivery.headers))

    reference.refresh_from_db()
    assert (reference.title, reference.status, reference.status_category, reference.priority, reference.assignee) == (
        "Checkout fails for guests",
        "In Progress",
        "in_progress",
        "High",
        "Grace Hopper",
    )


def test_a_linear_issue_event_without_its_state_or_assignee_keeps_them(fake_linear):
    fake_linear.add_team("ENG")
    fake_linear.add_issue("ENG", "Checkout fails", assignee=LINEAR_LOGIN)
    fake_linear.edit_issue("ENG-1", state="In Progress")
    source = linear_source(fake_linear)
    reference = ExternalReference.objects.create(
        source=source,
        source_name="Linear",
        key="ENG-1",
        status="In Progress",
        status_category="in_progress",
        assignee="Linear Bot",
    )
    fake_linear.edit_issue("ENG-1", title="Checkout fails for guests")
    delivery = fake_linear.issue_delivery("ENG-1", secret=SECRET)
    body = stripped(delivery, ("data",), "state", "stateId", "assignee", "assigneeId")

    webhooks.apply_events(source, provider_for(source).parse_webhook(body, delivery.headers))

    reference.refresh_from_db()
    assert (reference.title, reference.status, reference.status_category, reference.assignee) == (
        "Checkout fails for guests",
        "In Progress",
        "in_progress",
        "Linear Bot",
    )


def test_an_unassigned_linear_issue_says_so_and_loses_its_assignee(fake_linear):
    fake_linear.add_team("ENG")
    fake_linear.add_issue("ENG", "Checkout fails")
    source = linear_source(fake_linear)
    reference = ExternalReference.objects.create(source=source, source_name="Linear", key="ENG-1", assignee="Ada")
    delivery = fake_linear.issue_delivery("ENG-1", secret=SECRET)
    assert delivery.json()["data"]["assigneeId"] is None

    webhooks.apply_events(source, provider_for(source).parse_webhook(delivery.body, delivery.headers))

    reference.refresh_from_db()
    assert reference.assignee == ""


# -- 2. comment edits and deletions ----------------------------------------------------------------


def test_github_comment_edits_and_deletions_follow_the_mirrored_comment_and_apply_the_issue_state(
    hook, github_shop, client
):
    fake, shop = github_shop
    comment = fake.add_comment("acme/shop", 1, "Fails on *staging*", author=GITHUB_LOGIN)
    shop.deliver(hook, fake.comment_delivery("acme/shop", 1, comment.id, secret=SECRET))
    assert shop.mirrored().body == "Fails on *staging*"

    fake.edit_issue("acme/shop", 1, state="closed", state_reason="completed", closed=fake.now())
    fake.edit_comment("acme/shop", 1, comment.id, "Fails on *staging* and production")
    comment.updated += timedelta(seconds=1)  # after the comment's creation, whatever the clock's resolution
    edited = fake.comment_delivery("acme/shop", 1, comment.id, action="edited", secret=SECRET)
    redelivered = fake.comment_delivery("acme/shop", 1, comment.id, action="edited", secret=SECRET)  # a new id

    assert shop.deliver(hook, edited) == "1 of 1 event(s) applied."

    mirrored = shop.mirrored()
    assert (mirrored.body, mirrored.origin, mirrored.deleted_remotely_at) == (
        "Fails on *staging* and production",
        CommentOrigin.TRACKER,
        None,
    )
    shop.reference.refresh_from_db()
    assert (shop.reference.status, shop.reference.status_category) == ("Closed", "done")  # the issue state applies
    assert shop.result_status() == ResultStatus.RETEST

    fake.delete_comment("acme/shop", 1, comment.id)
    fake.issue("acme/shop", 1).updated += timedelta(seconds=2)  # later than the edit, whatever the clock's resolution
    assert shop.deliver(hook, fake.comment_delivery("acme/shop", 1, comment.id, action="deleted", secret=SECRET)) == (
        "1 of 1 event(s) applied."
    )

    mirrored = shop.mirrored()  # still in the thread, marked, without its text
    assert mirrored.deleted_remotely_at is not None and mirrored.body == ""
    viewer = UserFactory()
    MembershipFactory(project=shop.project, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    page = client.get(reverse("issues:detail", args=["SHOP", shop.defect.number])).text
    assert "deleted in tracker" in page and "This comment was deleted in the tracker" in page
    assert "staging" not in page

    # The edit redelivered (a new delivery id) after the deletion brings nothing back.
    assert shop.deliver(hook, redelivered) == "0 of 1 event(s) applied."
    assert shop.mirrored().body == ""


def test_an_older_github_comment_edit_never_overwrites_a_newer_one(hook, github_shop):
    fake, shop = github_shop
    comment = fake.add_comment("acme/shop", 1, "First", author=GITHUB_LOGIN)
    shop.deliver(hook, fake.comment_delivery("acme/shop", 1, comment.id, secret=SECRET))
    fake.edit_comment("acme/shop", 1, comment.id, "Second")
    older = fake.comment_delivery("acme/shop", 1, comment.id, action="edited", secret=SECRET)
    fake.edit_comment("acme/shop", 1, comment.id, "Third")
    comment.updated += timedelta(seconds=1)  # a later edit, whatever the clock's resolution
    newer = fake.comment_delivery("acme/shop", 1, comment.id, action="edited", secret=SECRET)

    shop.deliver(hook, newer)
    shop.deliver(hook, older)

    assert shop.mirrored().body == "Third"


def test_a_github_edit_of_a_comment_written_here_keeps_its_text_here(hook, github_shop, member):
    fake, shop = github_shop
    posted = fake.add_comment("acme/shop", 1, "Reproduced\n\n— grace in testmanager", author=GITHUB_LOGIN)
    IssueComment.objects.create(
        issue=shop.defect, author=member, body="Reproduced", origin=CommentOrigin.TESTMANAGER, remote_id=str(posted.id)
    )
    fake.edit_comment("acme/shop", 1, posted.id, "Reproduced (edited in GitHub)")

    shop.deliver(hook, fake.comment_delivery("acme/shop", 1, posted.id, action="edited", secret=SECRET))

    assert list(IssueComment.objects.values_list("body", "origin")) == [("Reproduced", CommentOrigin.TESTMANAGER)]


def test_jira_comment_updates_and_deletions_follow_the_mirrored_comment(
    hook, fake_jira_cloud, django_capture_on_commit_callbacks
):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")
    shop = Synced(
        jira_cloud_source(fake_jira_cloud), "SHOP-1", "SHOP", django_capture_on_commit_callbacks, status="To Do"
    )
    author = next(iter(fake_jira_cloud.users))
    remote = fake_jira_cloud.add_comment("SHOP-1", "It fails for *every* card", author=author)
    shop.deliver(hook, fake_jira_cloud.comment_delivery("SHOP-1", remote.id, secret=SECRET))
    assert shop.mirrored().body == "It fails for **every** card"

    fake_jira_cloud.edit_comment("SHOP-1", remote.id, "It fails for *some* cards")
    remote.updated += timedelta(seconds=1)
    updated = fake_jira_cloud.comment_delivery("SHOP-1", remote.id, event="comment_updated", secret=SECRET)
    assert shop.deliver(hook, updated) == "1 of 1 event(s) applied."
    assert shop.mirrored().body == "It fails for **some** cards"

    fake_jira_cloud.delete_comment("SHOP-1", remote.id)
    deleted = fake_jira_cloud.comment_delivery("SHOP-1", remote.id, event="comment_deleted", secret=SECRET)
    assert shop.deliver(hook, deleted) == "1 of 1 event(s) applied."
    mirrored = shop.mirrored()
    assert (mirrored.body, mirrored.deleted_remotely_at is not None) == ("", True)


def test_a_gitlab_note_update_edits_the_mirrored_comment_and_applies_the_issue_state(
    hook, fake_gitlab, django_capture_on_commit_callbacks
):
    fake_gitlab.add_project(WEB)
    fake_gitlab.add_member(WEB, GITLAB_USERNAME, MAINTAINER)
    fake_gitlab.add_issue(WEB, "Checkout fails", author=GITLAB_USERNAME, assignees=(GITLAB_USERNAME,))
    shop = Synced(
        gitlab_source(fake_gitlab),
        f"{WEB}#1",
        WEB,
        django_capture_on_commit_callbacks,
        status="Open",
        assignee="Test Bot",
    )
    note = fake_gitlab.add_note(WEB, 1, "Seen on staging", author=GITLAB_USERNAME)
    shop.deliver(hook, fake_gitlab.note_delivery(WEB, 1, note.id, action="create", secret=SECRET))
    assert shop.mirrored().body == "Seen on staging"

    fake_gitlab.edit_issue(WEB, 1, state="closed")
    fake_gitlab.edit_note(WEB, 1, note.id, "Seen on staging and production")
    note.updated += timedelta(seconds=1)
    assert shop.deliver(hook, fake_gitlab.note_delivery(WEB, 1, note.id, action="update", secret=SECRET)) == (
        "1 of 1 event(s) applied."
    )

    assert shop.mirrored().body == "Seen on staging and production"
    shop.reference.refresh_from_db()
    assert (shop.reference.status, shop.reference.status_category) == ("Closed", "done")
    assert shop.reference.assignee == "Test Bot"  # a note's payload names no assignees: they stay
    assert shop.result_status() == ResultStatus.RETEST


def test_linear_comment_updates_and_removals_follow_the_mirrored_comment(
    hook, fake_linear, django_capture_on_commit_callbacks
):
    fake_linear.add_team("ENG")
    fake_linear.add_issue("ENG", "Checkout fails")
    shop = Synced(linear_source(fake_linear), "ENG-1", "ENG", django_capture_on_commit_callbacks, status="Todo")
    comment = fake_linear.add_comment("ENG-1", "Fails on **staging**", author=LINEAR_LOGIN)
    shop.deliver(hook, fake_linear.comment_delivery("ENG-1", comment.id, secret=SECRET))
    assert shop.mirrored().body == "Fails on **staging**"

    comment.body, comment.updated_at = "Fails on **production** too", comment.updated_at + timedelta(seconds=1)
    updated = fake_linear.comment_delivery("ENG-1", comment.id, action="update", secret=SECRET)
    assert shop.deliver(hook, updated) == "1 of 1 event(s) applied."
    assert shop.mirrored().body == "Fails on **production** too"

    removed = fake_linear.comment_delivery("ENG-1", comment.id, action="remove", secret=SECRET)
    assert shop.deliver(hook, removed) == "1 of 1 event(s) applied."
    mirrored = shop.mirrored()
    assert (mirrored.body, mirrored.deleted_remotely_at is not None) == ("", True)
    assert shop.deliver(hook, updated) == "0 of 1 event(s) applied."  # the same delivery again
    stale = fake_linear.comment_delivery("ENG-1", comment.id, action="update", secret=SECRET)
    assert shop.deliver(hook, stale) == "0 of 1 event(s) applied."  # an edit after the removal: nothing comes back
    assert shop.mirrored().body == ""


def test_azure_devops_comment_edits_and_deletions_arrive_when_the_work_item_is_read_again(
    hook, fake_azure_devops, django_capture_on_commit_callbacks
):
    fake_azure_devops.add_project("Shop")
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")
    shop = Synced(azure_devops_source(fake_azure_devops), str(item.id), "Shop", django_capture_on_commit_callbacks)
    author = next(iter(fake_azure_devops.users))
    comment = fake_azure_devops.add_comment(item.id, "<p>Fails on <strong>Edge</strong></p>", author=author)

    def changed(event):
        """The item changed a second later than before (whatever the clock's resolution); its hook fires."""
        fake_azure_devops.work_item(item.id).fields["System.ChangedDate"] += timedelta(seconds=1)
        return shop.deliver(hook, fake_azure_devops.work_item_delivery(item.id, event=event, password=SECRET))

    changed("workitem.commented")
    assert shop.mirrored().body == "Fails on **Edge**"

    fake_azure_devops.edit_comment(item.id, comment.id, "<p>Fails on <strong>Edge</strong> and Firefox</p>")
    comment.modified += timedelta(seconds=1)
    changed("workitem.updated")
    assert shop.mirrored().body == "Fails on **Edge** and Firefox"

    fake_azure_devops.delete_comment(item.id, comment.id)
    comment.modified += timedelta(seconds=1)
    changed("workitem.updated")
    mirrored = shop.mirrored()
    assert (mirrored.body, mirrored.deleted_remotely_at) == ("", comment.modified)


# -- 3. a deletion has a time ----------------------------------------------------------------------


def test_an_event_older_than_a_deletion_never_undoes_it(hook, fake_jira_cloud, django_capture_on_commit_callbacks):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")
    shop = Synced(
        jira_cloud_source(fake_jira_cloud),
        "SHOP-1",
        "SHOP",
        django_capture_on_commit_callbacks,
        status="To Do",
        remote_updated_at=fake_jira_cloud.issue("SHOP-1").updated,
    )
    fake_jira_cloud.edit_issue("SHOP-1", summary="Checkout fails for guests")
    fake_jira_cloud.issue("SHOP-1").updated += timedelta(seconds=1)
    edit = fake_jira_cloud.issue_delivery("SHOP-1", secret=SECRET)  # stamped before the deletion
    deletion = fake_jira_cloud.issue_delivery("SHOP-1", event="jira:issue_deleted", secret=SECRET)

    assert shop.deliver(hook, deletion) == "1 of 1 event(s) applied."
    assert shop.deliver(hook, edit) == "0 of 1 event(s) applied."

    shop.reference.refresh_from_db()
    assert shop.reference.deleted_remotely
    assert shop.reference.deleted_remotely_at == fake_jira_cloud.issue("SHOP-1").updated
    assert shop.reference.title == ""  # the older edit did not apply either


def test_an_event_newer_than_the_deletion_brings_the_issue_back(
    hook, fake_jira_cloud, django_capture_on_commit_callbacks
):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")
    shop = Synced(jira_cloud_source(fake_jira_cloud), "SHOP-1", "SHOP", django_capture_on_commit_callbacks)
    shop.deliver(hook, fake_jira_cloud.issue_delivery("SHOP-1", event="jira:issue_deleted", secret=SECRET))
    fake_jira_cloud.edit_issue("SHOP-1", summary="Restored")
    fake_jira_cloud.issue("SHOP-1").updated += timedelta(seconds=1)

    shop.deliver(hook, fake_jira_cloud.issue_delivery("SHOP-1", secret=SECRET))

    shop.reference.refresh_from_db()
    assert (shop.reference.deleted_remotely, shop.reference.deleted_remotely_at, shop.reference.title) == (
        False,
        None,
        "Restored",
    )


def test_a_refresh_that_finds_the_issue_gone_dates_the_deletion(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "admin")
    fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    source = github_source(fake_github)
    reference = ExternalReference.objects.create(source=source, source_name="GitHub", key="acme/shop#1")
    fake_github.delete_issue("acme/shop", 1)

    refresh.refresh_source(source.pk, [reference.pk])

    reference.refresh_from_db()
    assert reference.deleted_remotely and reference.deleted_remotely_at is not None
