"""Two-way defect sync: a tracker issue linked in a project keeps an internal defect in step with it.

Tracker changes reach the defect through the project integration's mappings; the defect's own
changes go to the tracker; comments go both ways and never come back as new ones; a resolved
issue puts its failed results up for a retest. Every tracker is a fake over real HTTP.
"""

import itertools
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from integrations.http import TrackerHttpClient
from integrations.mappings import default_priority_mapping, default_status_mapping
from integrations.models import ProjectIntegration
from integrations.services import update_project_integration
from issues.core.models import CommentOrigin, Issue, IssueComment
from issues.core.selectors import history_entries, history_of
from issues.core.services import update_issue
from issues.links.models import ExternalReference
from issues.links.services import link
from issues.sync import comments, refresh
from issues.sync.models import DefectSync
from projects.models import ResultStatus, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    TestResultFactory,
    UserFactory,
)
from tests.fakes.fixtures import GITHUB_LOGIN
from tests.issues.sync_support import SECRET, azure_devops_source, github_source, jira_cloud_source, post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def hook():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def member():
    return UserFactory(username="grace")


def integration_for(project, source, external_project, **options):
    return ProjectIntegrationFactory(
        project=project,
        source=source,
        external_project=external_project,
        priority_mapping=default_priority_mapping(),
        status_mapping=default_status_mapping(),
        **{"sync_defects": True, "push_defect_changes": True, "sync_comments": True, **options},
    )


def linked(reference, project, actor, capture):
    """Link the reference to a failed result of the project, as filing an issue does."""
    result = TestResultFactory(run__project=project)
    with capture(execute=True):
        link(artefact=result, reference=reference, actor=actor)
    return result


class Shop:
    """Jira's SHOP-1, referenced, in a project whose integration keeps defects in step."""

    def __init__(self, fake, member, capture, **options):
        fake.add_project("SHOP")
        fake.add_issue(
            "SHOP", "Checkout fails", status="To Do", priority="High", created=fake.now() - timedelta(hours=1)
        )
        self.fake, self.capture = fake, capture
        self.source = jira_cloud_source(fake)
        self.project = ProjectFactory(key="SHOP")
        self.integration = integration_for(self.project, self.source, "SHOP", **options)
        self.reference = ExternalReference.objects.create(
            source=self.source,
            source_name=self.source.name,
            key="SHOP-1",
            url=f"{fake.base_url}/browse/SHOP-1",
            title="Checkout fails",
            status="To Do",
            status_category="todo",
            priority="High",
            remote_updated_at=fake.issue("SHOP-1").updated,
        )
        self.result = linked(self.reference, self.project, member, capture)

    @property
    def sync(self) -> DefectSync:
        return DefectSync.objects.select_related("issue").get(reference=self.reference)

    @property
    def defect(self) -> Issue:
        return self.sync.issue

    def deliver(self, client, delivery):
        with self.capture(execute=True):
            assert post(client, self.source, delivery).status_code == 200

    def tracker_changes(self, client, **changes):
        """Someone changes the issue in Jira, a second later than anything before; Jira sends its webhook."""
        issue = self.fake.edit_issue("SHOP-1", **changes)
        issue.updated += timedelta(seconds=1)
        self.deliver(client, self.fake.issue_delivery("SHOP-1", secret=SECRET))


@pytest.fixture
def shop(fake_jira_cloud, member, django_capture_on_commit_callbacks):
    return Shop(fake_jira_cloud, member, django_capture_on_commit_callbacks)


def refuse_the_next_transition(fake):
    fake.fail_next(
        403,
        {"errorMessages": ["You do not have permission to transition this issue."], "errors": {}},
        method="GET",
        path=r".*/transitions",
    )


def edit_here(shop, actor=None, **changes):
    with shop.capture(execute=True):
        update_issue(shop.defect, expected_version=shop.defect.version, **changes)


# -- the defect ----------------------------------------------------------------------------------


def test_linking_a_tracker_issue_gives_the_project_a_defect_in_step_with_it(shop, member):
    defect = shop.defect

    assert (defect.project, defect.name, defect.status, defect.priority, defect.reporter) == (
        shop.project,
        "Checkout fails",
        "open",
        "critical",
        member,
    )  # To Do = open, High = critical
    assert "[SHOP-1](" in defect.description
    assert (shop.sync.synced_status, shop.sync.synced_priority, shop.sync.integration) == (
        "open",
        "critical",
        shop.integration,
    )

    linked(shop.reference, shop.project, member, shop.capture)  # linked to a second failure

    assert DefectSync.objects.count() == Issue.objects.count() == 1


def test_projects_that_do_not_keep_defects_in_step_get_none(shop, member):
    other = ProjectFactory(key="OTHER")
    integration_for(other, shop.source, "SHOP", sync_defects=False)

    linked(shop.reference, other, member, shop.capture)

    assert not Issue.objects.filter(project=other).exists()


def test_a_defect_is_made_for_links_from_before_the_option_was_switched_on(shop, member):
    later = ProjectFactory(key="LATER")
    integration = integration_for(later, shop.source, "SHOP", sync_defects=False)
    linked(shop.reference, later, member, shop.capture)
    update_project_integration(integration, actor=member, sync_defects=True)

    refresh.refresh_source(shop.source.pk, [shop.reference.pk])

    assert Issue.objects.get(project=later).name == "Checkout fails"


def test_tracker_changes_reach_the_defect_through_the_mappings(shop, hook):
    version = shop.defect.version

    shop.tracker_changes(hook, status="In Progress", priority="Highest")
    assert (shop.defect.status, shop.defect.priority, shop.defect.version) == ("in_progress", "blocker", version + 1)

    shop.tracker_changes(hook, status="Done", priority="Lowest")
    assert (shop.defect.status, shop.defect.priority) == ("closed", "trivial")


def test_the_tracker_dates_the_resolution_of_its_issue_and_of_the_defect_and_a_reopen_undates_both(shop, hook):
    shop.tracker_changes(hook, status="Done")
    reference = ExternalReference.objects.get(pk=shop.reference.pk)
    remote = shop.fake.issue("SHOP-1")
    assert remote.resolved is not None
    assert (reference.remote_created_at, reference.remote_resolved_at) == (remote.created, remote.resolved)
    assert (shop.defect.status, shop.defect.resolved_at is not None) == ("closed", True)

    shop.tracker_changes(hook, status="To Do")
    reference.refresh_from_db()
    assert (reference.remote_resolved_at, shop.defect.status, shop.defect.resolved_at) == (None, "open", None)


def test_a_tracker_status_the_mapping_does_not_name_maps_by_its_category(shop, hook):
    shop.fake.add_status("Won't Do", "done")
    ProjectIntegration.objects.filter(pk=shop.integration.pk).update(
        status_mapping={**default_status_mapping(), "resolved": ["Fixed"]}
    )
    shop.fake.add_status("Fixed", "done")

    shop.tracker_changes(hook, status="Won't Do")
    assert shop.defect.status == "closed"
    shop.tracker_changes(hook, status="Fixed")
    assert shop.defect.status == "resolved"


# -- changes made here ---------------------------------------------------------------------------


def test_a_defect_changed_here_is_pushed_and_its_echo_changes_nothing(shop, hook):
    edit_here(shop, status="closed", priority="blocker")

    assert (shop.fake.issue("SHOP-1").status.name, shop.fake.issue("SHOP-1").priority) == ("Done", "Highest")
    assert (shop.sync.synced_status, shop.sync.synced_priority, shop.sync.last_error) == ("closed", "blocker", "")
    shop.reference.refresh_from_db()
    assert shop.reference.status == "Done"  # read back once pushed
    pushes = len(shop.fake.requests_to("POST", r".*/transitions")) + len(shop.fake.requests_to("PUT", r".*/issue/.*"))
    version = shop.defect.version

    shop.deliver(hook, shop.fake.issue_delivery("SHOP-1", secret=SECRET))  # Jira tells of the change it was sent

    assert (shop.defect.status, shop.defect.priority, shop.defect.version) == ("closed", "blocker", version)
    assert (
        len(shop.fake.requests_to("POST", r".*/transitions")) + len(shop.fake.requests_to("PUT", r".*/issue/.*"))
        == pushes
    )


def test_without_pushing_the_tracker_stays_the_source_of_truth(
    fake_jira_cloud, member, hook, django_capture_on_commit_callbacks
):
    shop = Shop(fake_jira_cloud, member, django_capture_on_commit_callbacks, push_defect_changes=False)
    edit_here(shop, status="closed")

    assert fake_jira_cloud.issue("SHOP-1").status.name == "To Do"
    shop.tracker_changes(hook, status="In Progress")
    assert shop.defect.status == "in_progress"


def test_a_change_made_here_outlives_an_older_tracker_state_and_yields_to_a_newer_one(shop, hook):
    older = shop.fake.issue_delivery("SHOP-1", secret=SECRET)
    refuse_the_next_transition(shop.fake)
    edit_here(shop, status="in_progress")
    assert "403" in shop.sync.last_error

    shop.fake.edit_issue("SHOP-1", priority="Low")  # someone else, before the change made here
    shop.fake.issue("SHOP-1").updated = shop.sync.changed_here_at - timedelta(seconds=5)
    shop.deliver(hook, shop.fake.issue_delivery("SHOP-1", secret=SECRET))
    shop.deliver(hook, older)
    assert (shop.defect.status, shop.defect.priority) == ("in_progress", "minor")  # the tracker's priority moved

    shop.tracker_changes(hook, status="Done")  # a tracker change after the one made here wins
    assert shop.defect.status == "closed"


def test_a_resolved_defect_stays_resolved_when_jira_edits_something_else(shop, hook):
    """Found by the convergence machine: "resolved" is sent as "Done", which maps back to "closed"; Jira's
    next edit of the title read as a status change and closed the defect."""
    edit_here(shop, status="resolved")
    assert shop.fake.issue("SHOP-1").status.name == "Done"

    shop.tracker_changes(hook, summary="Checkout fails for guests")

    assert (shop.defect.status, shop.sync.synced_status) == ("resolved", "resolved")
    shop.tracker_changes(hook, status="In Progress")  # a real move is followed
    assert (shop.defect.status, shop.sync.synced_status) == ("in_progress", "in_progress")


def test_a_push_that_failed_is_sent_with_the_next_refresh(shop):
    refuse_the_next_transition(shop.fake)
    edit_here(shop, status="in_progress")
    assert shop.fake.issue("SHOP-1").status.name == "To Do"

    with shop.capture(execute=True):
        refresh.refresh_source(shop.source.pk, [shop.reference.pk])

    assert shop.fake.issue("SHOP-1").status.name == "In Progress"
    assert (shop.sync.synced_status, shop.sync.last_error) == ("in_progress", "")


def test_a_status_the_tracker_cannot_reach_is_reported_on_the_defect(shop):
    ProjectIntegration.objects.filter(pk=shop.integration.pk).update(
        status_mapping={**default_status_mapping(), "in_progress": ["Doing"]}
    )

    edit_here(shop, status="in_progress")

    assert shop.fake.issue("SHOP-1").status.name == "To Do"
    assert shop.sync.last_error.startswith(
        "The tracker accepted none of the status names “in_progress” maps to (Doing)"
    )


def test_the_first_mapped_name_the_tracker_takes_is_used(fake_github, member, django_capture_on_commit_callbacks):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    fake_github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    source = github_source(fake_github)
    project = ProjectFactory(key="SHOP")
    integration_for(project, source, "acme/shop")
    reference = ExternalReference.objects.create(
        source=source,
        source_name="GitHub",
        key="acme/shop#1",
        title="Checkout fails",
        status="Open",
        status_category="todo",
    )
    linked(reference, project, member, django_capture_on_commit_callbacks)
    defect = DefectSync.objects.get().issue

    with django_capture_on_commit_callbacks(execute=True):
        update_issue(defect, expected_version=defect.version, status="closed", priority="blocker")

    issue = fake_github.issue("acme/shop", 1)
    assert (issue.state, issue.state_reason) == ("closed", "completed")  # "Done" refused, "Closed" taken
    synced = DefectSync.objects.get()
    # GitHub issues have no priority: nothing to send, nothing to report.
    assert (synced.synced_status, synced.synced_priority, synced.last_error) == ("closed", "blocker", "")


# -- comments ------------------------------------------------------------------------------------


def test_a_comment_written_here_reaches_the_tracker_once_and_never_comes_back(shop, hook, member):
    with shop.capture(execute=True):
        comment = comments.add_comment(shop.defect, author=member, body="Reproduced with **guest** checkout")

    (posted,) = shop.fake.issue("SHOP-1").comments
    comment.refresh_from_db()
    assert comment.remote_id == posted.id
    assert "Reproduced with" in str(posted.body) and "grace in testmanager" in str(posted.body)

    for _ in range(2):  # Jira's webhook for the comment, delivered twice
        shop.deliver(hook, shop.fake.comment_delivery("SHOP-1", posted.id, secret=SECRET))

    assert list(IssueComment.objects.values_list("origin", "remote_id")) == [(CommentOrigin.TESTMANAGER, posted.id)]
    assert len(shop.fake.issue("SHOP-1").comments) == 1
    assert len(shop.fake.requests_to("POST", r".*/comment")) == 1


def test_a_tracker_comment_arrives_once_as_markdown(shop, hook):
    author = next(iter(shop.fake.users))
    remote = shop.fake.add_comment("SHOP-1", "It fails for *every* card", author=author)
    delivery = shop.fake.comment_delivery("SHOP-1", remote.id, secret=SECRET)

    shop.deliver(hook, delivery)
    shop.deliver(hook, shop.fake.comment_delivery("SHOP-1", remote.id, secret=SECRET))  # a new delivery id

    (comment,) = IssueComment.objects.all()
    assert (comment.issue, comment.origin, comment.remote_id, comment.body) == (
        shop.defect,
        CommentOrigin.TRACKER,
        remote.id,
        "It fails for **every** card",
    )
    assert comment.author_name == shop.fake.users[author].display_name
    assert shop.fake.requests_to("POST", r".*/comment") == []  # never sent back


def test_an_echo_that_arrives_before_the_posting_is_recorded_is_dropped(shop, member):
    with shop.capture(execute=False):  # the comment's task has not run yet
        comment = comments.add_comment(shop.defect, author=member, body="Reproduced")
    upcoming = next(shop.fake._ids)  # the id Jira will give the comment
    shop.fake._ids = itertools.count(upcoming)
    # Jira's webhook for the comment is taken before Jira's answer to the posting is.
    IssueComment.objects.create(
        issue=shop.defect, body="Reproduced", origin=CommentOrigin.TRACKER, remote_id=str(upcoming)
    )

    assert comments.push_comment(comment.pk)

    assert list(IssueComment.objects.values_list("pk", "remote_id")) == [(comment.pk, str(upcoming))]


def test_comments_of_a_work_item_are_read_when_its_webhook_says_it_changed(
    fake_azure_devops, member, hook, django_capture_on_commit_callbacks
):
    fake_azure_devops.add_project("Shop")
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")
    source = azure_devops_source(fake_azure_devops)
    project = ProjectFactory(key="SHOP")
    integration_for(project, source, "Shop")
    reference = ExternalReference.objects.create(
        source=source, source_name="ADO", key=str(item.id), title="Checkout fails", status="New", status_category="todo"
    )
    linked(reference, project, member, django_capture_on_commit_callbacks)
    fake_azure_devops.add_comment(
        item.id, "<p>Fails on <strong>Edge</strong></p>", author=next(iter(fake_azure_devops.users))
    )
    fake_azure_devops.work_item(item.id).fields["System.ChangedDate"] += timedelta(seconds=1)

    with django_capture_on_commit_callbacks(execute=True):
        post(hook, source, fake_azure_devops.work_item_delivery(item.id, event="workitem.commented", password=SECRET))

    (comment,) = IssueComment.objects.all()
    assert (comment.origin, comment.body) == (CommentOrigin.TRACKER, "Fails on **Edge**")


class WorkerDied(BaseException):
    """The worker was killed: nothing in the code under test catches it."""


def test_a_comment_whose_worker_died_after_jira_took_it_is_kept_once_on_each_side(shop, hook, member):
    """Found by the convergence machine (tests/issues/sync/test_convergence.py): the post reached Jira, the
    worker died before the comment's id was kept; posting again showed it twice in Jira, and Jira's copy
    came back here as a tracker comment."""
    with shop.capture(execute=False):
        comment = comments.add_comment(shop.defect, author=member, body="Reproduced")
    send = TrackerHttpClient._send

    def dies_once_answered(client, method, *args, **kwargs):
        response = send(client, method, *args, **kwargs)
        if method == "POST":
            raise WorkerDied()
        return response

    with mock.patch.object(TrackerHttpClient, "_send", dies_once_answered), pytest.raises(WorkerDied):
        comments.push_comment(comment.pk)
    (posted,) = shop.fake.issue("SHOP-1").comments
    cache.clear()  # the posting lock of the dead worker has expired

    assert comments.push_comment(comment.pk)  # the task delivered again, or the refresh's retry
    shop.deliver(hook, shop.fake.comment_delivery("SHOP-1", posted.id, secret=SECRET))

    assert [entry.id for entry in shop.fake.issue("SHOP-1").comments] == [posted.id]
    assert list(IssueComment.objects.values_list("pk", "origin", "remote_id")) == [
        (comment.pk, CommentOrigin.TESTMANAGER, posted.id)
    ]


def test_a_comment_posted_without_a_failure_is_not_looked_for_first(shop, member):
    with shop.capture(execute=True):
        comments.add_comment(shop.defect, author=member, body="Reproduced")

    assert shop.fake.requests_to("GET", r".*/comment") == []
    assert len(shop.fake.requests_to("POST", r".*/comment")) == 1


def test_a_comment_a_dead_worker_did_not_read_arrives_with_the_next_asked_refresh(shop):
    """Found by the convergence machine: the refresh stored the issue's new state, its worker died before
    the comments were read, the comment's delivery was lost; the issue no longer read as changed, so its
    comments were never read again."""
    remote = shop.fake.add_comment("SHOP-1", "Fails on Edge", author=next(iter(shop.fake.users)))
    shop.fake.edit_issue("SHOP-1", priority="Highest")
    send = TrackerHttpClient._send

    def dies_reading_comments(client, method, url, *args, **kwargs):
        response = send(client, method, url, *args, **kwargs)
        if "/comment" in url:
            raise WorkerDied()
        return response

    with mock.patch.object(TrackerHttpClient, "_send", dies_reading_comments), pytest.raises(WorkerDied):
        refresh.refresh_source(shop.source.pk, [shop.reference.pk])
    assert (ExternalReference.objects.get(pk=shop.reference.pk).priority, IssueComment.objects.count()) == (
        "Highest",
        0,
    )

    refresh.refresh_source(shop.source.pk, [shop.reference.pk])  # delivered again, or the daily reconcile

    assert list(IssueComment.objects.values_list("remote_id", "body")) == [(remote.id, "Fails on Edge")]


def changed_in_jira_without_a_delivery(shop, comment_change) -> None:
    """A comment changes in Jira and its delivery is lost; the issue changes later and the refresh reads it."""
    comment_change()
    shop.fake.edit_issue("SHOP-1", summary="Checkout fails for guests")
    refresh.refresh_source(shop.source.pk, [shop.reference.pk])


def test_a_tracker_comment_deleted_while_its_delivery_was_lost_is_marked_deleted_by_the_refresh(shop, hook):
    """Found by the convergence machine: the refresh never noticed a comment Jira no longer lists."""
    remote = shop.fake.add_comment("SHOP-1", "Card number 4111 in the log", author=next(iter(shop.fake.users)))
    shop.deliver(hook, shop.fake.comment_delivery("SHOP-1", remote.id, secret=SECRET))

    changed_in_jira_without_a_delivery(shop, lambda: shop.fake.delete_comment("SHOP-1", remote.id))

    (copy,) = IssueComment.objects.all()
    assert (copy.remote_id, copy.body, copy.deleted_remotely_at is not None) == (remote.id, "", True)


def test_a_tracker_comment_edited_while_its_delivery_was_lost_takes_the_new_text_with_the_refresh(shop, hook):
    """Found by the convergence machine: Jira's comment listing dates edits, which the refresh did not read."""
    remote = shop.fake.add_comment("SHOP-1", "Fails on Edge", author=next(iter(shop.fake.users)))
    shop.deliver(hook, shop.fake.comment_delivery("SHOP-1", remote.id, secret=SECRET))

    changed_in_jira_without_a_delivery(
        shop, lambda: shop.fake.edit_comment("SHOP-1", remote.id, "Fails on Edge and Firefox")
    )

    assert list(IssueComment.objects.values_list("body", flat=True)) == ["Fails on Edge and Firefox"]


@pytest.mark.parametrize("sync_comments", [True, False])
def test_a_refresh_reads_the_comments_of_changed_issues_only_when_their_defects_sync_comments(
    fake_azure_devops, member, django_capture_on_commit_callbacks, sync_comments
):
    fake_azure_devops.add_project("Shop")
    item = fake_azure_devops.add_work_item("Shop", "Bug", "Checkout fails")
    source = azure_devops_source(fake_azure_devops, can_process_webhooks=False)
    project = ProjectFactory(key="SHOP")
    integration_for(project, source, "Shop", sync_comments=sync_comments)
    reference = ExternalReference.objects.create(
        source=source, source_name="ADO", key=str(item.id), title="Checkout fails", status="New", status_category="todo"
    )
    linked(reference, project, member, django_capture_on_commit_callbacks)
    fake_azure_devops.add_comment(item.id, "<p>Fails on Edge</p>", author=next(iter(fake_azure_devops.users)))
    fake_azure_devops.work_item(item.id).fields["System.Title"] = "Checkout fails on Edge"

    report = refresh.refresh_source(source.pk)

    assert (report.read, report.changed) == (1, 1)
    comment_reads = fake_azure_devops.requests_to("GET", r".*/comments")
    assert len(comment_reads) == (1 if sync_comments else 0)  # no request for comments nobody keeps
    assert list(IssueComment.objects.values_list("body", flat=True)) == (["Fails on Edge"] if sync_comments else [])


# -- results of resolved issues --------------------------------------------------------------------


def test_a_resolved_issue_puts_its_failed_and_blocked_results_up_for_retest(
    fake_jira_cloud, member, hook, django_capture_on_commit_callbacks
):
    shop = Shop(fake_jira_cloud, member, django_capture_on_commit_callbacks, update_test_status_on_resolve=True)
    blocked = TestResultFactory(run__project=shop.project, status=ResultStatus.BLOCKED)
    passed = TestResultFactory(run__project=shop.project, status=ResultStatus.PASSED)
    elsewhere = ProjectFactory(key="ELSE")
    integration_for(elsewhere, shop.source, "SHOP", sync_defects=False)  # does not ask for retests
    other = TestResultFactory(run__project=elsewhere)
    for result in (blocked, passed, other):
        link(artefact=result, reference=shop.reference)

    shop.tracker_changes(hook, status="In Progress")
    assert shop.result.__class__.objects.get(pk=shop.result.pk).status == ResultStatus.FAILED
    shop.tracker_changes(hook, status="Done")

    statuses = {
        result.pk: result.__class__.objects.get(pk=result.pk).status for result in (shop.result, blocked, passed, other)
    }
    assert statuses == {shop.result.pk: "retest", blocked.pk: "retest", passed.pk: "passed", other.pk: "failed"}


def test_the_options_are_a_project_administrators_to_set(shop, member):
    update_project_integration(
        shop.integration,
        actor=member,
        sync_defects=False,
        push_defect_changes=False,
        sync_comments=False,
        update_test_status_on_resolve=True,
    )

    shop.integration.refresh_from_db()
    assert (
        shop.integration.sync_defects,
        shop.integration.push_defect_changes,
        shop.integration.sync_comments,
        shop.integration.update_test_status_on_resolve,
    ) == (False, False, False, True)


def test_members_comment_on_the_defect_page_and_see_the_trackers_comments(shop, hook, member, client):
    MembershipFactory(project=shop.project, user=member, role=Role.MEMBER)
    viewer = UserFactory()
    MembershipFactory(project=shop.project, user=viewer, role=Role.VIEWER)
    page = reverse("issues:detail", args=["SHOP", shop.defect.number])
    remote = shop.fake.add_comment("SHOP-1", "Seen in *production*", author=next(iter(shop.fake.users)))
    shop.deliver(hook, shop.fake.comment_delivery("SHOP-1", remote.id, secret=SECRET))
    client.force_login(member)

    with shop.capture(execute=True):
        answer = client.post(
            reverse("issues:comment_add", args=["SHOP", shop.defect.number]), {"body": "Fixed by **#42**"}
        )

    assert answer.status_code == 302 and answer["Location"] == f"{page}#comments"
    text = client.get(page).text
    assert "Kept in step with" in text and "SHOP-1</a> in Jira" in text
    assert "<strong>production</strong>" in text and "in the tracker" in text
    assert "Fixed by <strong>#42</strong>" in text
    assert len(shop.fake.issue("SHOP-1").comments) == 2
    client.force_login(viewer)
    assert 'name="body"' not in client.get(page).text
    assert (
        client.post(reverse("issues:comment_add", args=["SHOP", shop.defect.number]), {"body": "Me too"}).status_code
        == 403
    )
    assert IssueComment.objects.count() == 2


def test_the_defects_history_tells_the_trackers_changes_and_the_pushes_apart(shop, hook):
    shop.tracker_changes(hook, status="In Progress", priority="Highest")
    edit_here(shop, status="closed", priority="blocker")

    steps = history_entries(shop.defect, history_of(shop.defect))
    pushed, edited, synced = steps[0], steps[1], steps[2]
    assert (pushed.event, pushed.user, pushed.changes) == ("pushed", None, [])
    assert "SHOP-1" in pushed.detail
    assert (edited.event, [(c.field, c.old, c.new) for c in edited.changes]) == (
        "edited",
        [("status", "in_progress", "closed")],
    )
    assert (synced.event, synced.user) == ("synced", None)
    assert [(c.field, c.old, c.new) for c in synced.changes] == [
        ("status", "open", "in_progress"),
        ("priority", "critical", "blocker"),
    ]
    assert "SHOP-1" in synced.detail
