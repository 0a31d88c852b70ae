"""Labels <-> tags: where a project integration syncs labels, a defect's tags and its tracker issue's
labels follow each other both ways, by a three-way merge against what both sides last agreed on, so a
removal on either side is kept (never undone by the other side's stale copy) and nothing ping-pongs.
Every tracker is a fake over real HTTP."""

import pytest
from django.test import Client

from integrations.models import ProjectIntegration
from issues.core.models import Issue
from issues.core.services import edit_issue
from issues.links.models import ExternalReference
from issues.sync import refresh
from issues.sync.labels import three_way
from issues.sync.models import DefectSync
from tests.factories import ProjectFactory
from tests.issues.sync_support import SECRET, linear_source
from tests.issues.test_sync_defects import Shop, integration_for, linked

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def hook():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("grace", "grace@example.com", "pw")


def tags(issue) -> list[str]:
    return sorted(tag.name for tag in issue.tags.all())


def edit_tags(shop, names):
    defect = shop.defect
    with shop.capture(execute=True):
        edit_issue(defect, expected_version=defect.version, tag_names=names)


def label_writes(fake) -> int:
    edits = fake.requests_to("PUT", r".*/issue/SHOP-1")
    return len([edit for edit in edits if "labels" in (edit.json() or {}).get("fields", {})])


def refuse_the_next_edit(fake):
    fake.fail_next(
        403,
        {"errorMessages": ["You do not have permission to edit this issue."], "errors": {}},
        method="PUT",
        path=r".*/issue/SHOP-1",
    )


@pytest.fixture
def shop(fake_jira_cloud, member, django_capture_on_commit_callbacks):
    shop = Shop(fake_jira_cloud, member, django_capture_on_commit_callbacks, sync_labels=True)
    fake_jira_cloud.edit_issue("SHOP-1", labels=["checkout", "regression"])
    return shop


# -- the merge -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "remote", "local", "merged"),
    [
        (["a"], ["a", "b"], ["a"], ["a", "b"]),  # added there
        (["a"], ["a"], ["a", "c"], ["a", "c"]),  # added here
        (["a", "b"], ["a"], ["a", "b"], ["a"]),  # removed there: kept removed
        (["a", "b"], ["a", "b"], ["a"], ["a"]),  # removed here: kept removed
        (["a", "b"], ["b", "x"], ["a", "y"], ["x", "y"]),  # both sides at once
        (None, ["a"], ["B"], ["a", "B"]),  # no base yet: nothing counts as removed
        (["Bug"], ["bug"], ["BUG"], ["bug"]),  # case aside, the tracker's spelling
    ],
)
def test_the_three_way_merge_keeps_each_sides_additions_and_removals(base, remote, local, merged):
    assert three_way(base, remote, local) == merged


# -- Jira ----------------------------------------------------------------------------------------


def test_sync_labels_is_off_by_default_and_then_tags_and_labels_do_not_touch(
    fake_jira_cloud, member, hook, django_capture_on_commit_callbacks
):
    shop = Shop(fake_jira_cloud, member, django_capture_on_commit_callbacks)
    assert ProjectIntegration._meta.get_field("sync_labels").default is False
    shop.tracker_changes(hook, labels=["checkout"])
    assert tags(shop.defect) == []
    edit_tags(shop, ["ui"])
    assert fake_jira_cloud.issue("SHOP-1").labels == ["checkout"]


def test_the_tracker_labels_become_tags_and_tags_become_labels(shop, hook):
    shop.tracker_changes(hook)  # Jira tells of its labels
    assert tags(shop.defect) == ["checkout", "regression"]
    assert shop.sync.synced_labels == ["checkout", "regression"]

    edit_tags(shop, ["checkout", "regression", "ui bug"])  # a tag added here, with a space

    assert shop.fake.issue("SHOP-1").labels == ["checkout", "regression", "ui-bug"]
    assert (shop.sync.labels_pending, shop.sync.last_error) == (False, "")


def test_a_label_removed_in_the_tracker_is_removed_here_and_not_sent_back(shop, hook):
    shop.tracker_changes(hook)
    writes = label_writes(shop.fake)

    shop.tracker_changes(hook, labels=["checkout"])

    assert tags(shop.defect) == ["checkout"]
    assert shop.fake.issue("SHOP-1").labels == ["checkout"]
    assert label_writes(shop.fake) == writes  # nothing to send: no ping-pong


def test_a_tag_removed_here_is_removed_in_the_tracker_and_its_echo_changes_nothing(shop, hook):
    shop.tracker_changes(hook)
    edit_tags(shop, ["regression"])

    assert shop.fake.issue("SHOP-1").labels == ["regression"]
    writes, version = label_writes(shop.fake), shop.defect.version

    shop.deliver(hook, shop.fake.issue_delivery("SHOP-1", secret=SECRET))  # Jira tells of the change it was sent
    refresh.refresh_source(shop.source.pk, [shop.reference.pk])

    assert (tags(shop.defect), shop.defect.version, label_writes(shop.fake)) == (["regression"], version, writes)


def test_changes_on_both_sides_since_the_last_sync_are_both_kept(shop, hook):
    shop.tracker_changes(hook)
    refuse_the_next_edit(shop.fake)
    edit_tags(shop, ["checkout", "regression", "ui"])  # added here while Jira refuses: kept to send
    assert shop.sync.labels_pending
    assert "permission" in shop.sync.last_error

    shop.tracker_changes(hook, labels=["regression"])  # meanwhile checkout was removed in Jira

    assert tags(shop.defect) == ["regression", "ui"]
    assert shop.fake.issue("SHOP-1").labels == ["regression", "ui"]
    assert not shop.sync.labels_pending


def test_a_tracker_that_refuses_loses_no_label_and_the_next_refresh_sends_it(shop, hook):
    shop.tracker_changes(hook)
    refuse_the_next_edit(shop.fake)
    edit_tags(shop, ["checkout"])  # regression removed here, not sent
    assert shop.fake.issue("SHOP-1").labels == ["checkout", "regression"]
    assert tags(shop.defect) == ["checkout"]

    with shop.capture(execute=True):
        refresh.refresh_source(shop.source.pk, [shop.reference.pk])

    assert shop.fake.issue("SHOP-1").labels == ["checkout"]
    assert tags(shop.defect) == ["checkout"]


def test_the_reference_caches_the_labels_the_tracker_reports(shop):
    refresh.refresh_source(shop.source.pk, [shop.reference.pk])
    assert ExternalReference.objects.get(pk=shop.reference.pk).labels == ["checkout", "regression"]
    assert DefectSync.objects.get(reference=shop.reference).synced_labels == ["checkout", "regression"]


# -- a tracker that creates no label (Linear) ------------------------------------------------------


def test_a_tag_linear_has_no_label_for_stays_a_tag_and_is_not_offered_again_until_the_tags_are_edited(
    fake_linear, member, django_capture_on_commit_callbacks
):
    fake_linear.add_team("ENG", "Engineering")
    fake_linear.add_label("checkout", team="ENG")
    fake_linear.add_issue("ENG", "Checkout fails", labels=["checkout"])
    source = linear_source(fake_linear)
    project = ProjectFactory(key="SHOP")
    integration_for(project, source, "ENG", sync_labels=True)
    reference = ExternalReference.objects.create(source=source, source_name=source.name, key="ENG-1")
    refresh.refresh_source(source.pk, [reference.pk])
    reference.refresh_from_db()
    linked(reference, project, member, django_capture_on_commit_callbacks)
    sync = DefectSync.objects.select_related("issue").get(reference=reference)
    assert tags(sync.issue) == ["checkout"]

    with django_capture_on_commit_callbacks(execute=True):
        edit_issue(sync.issue, expected_version=sync.issue.version, tag_names=["checkout", "ui"])

    sync.refresh_from_db()
    assert (sync.unsent_labels, "“ui”" in sync.last_error, sync.labels_pending) == (["ui"], True, False)
    assert tags(sync.issue) == ["checkout", "ui"]  # kept here
    assert [label.name for label in fake_linear.issue("ENG-1").label_list] == ["checkout"]
    updates = len([r for r in fake_linear.requests_to("POST") if b"issueUpdate" in r.body])

    refresh.refresh_source(source.pk, [reference.pk])  # nothing new to offer: no request

    assert len([r for r in fake_linear.requests_to("POST") if b"issueUpdate" in r.body]) == updates
    fake_linear.add_label("ui", team="ENG")
    for names in (["checkout"], ["checkout", "ui"]):  # the tag taken off and put back: offered again
        defect = Issue.objects.get(pk=sync.issue_id)
        with django_capture_on_commit_callbacks(execute=True):
            edit_issue(defect, expected_version=defect.version, tag_names=names)
    assert sorted(label.name for label in fake_linear.issue("ENG-1").label_list) == ["checkout", "ui"]
