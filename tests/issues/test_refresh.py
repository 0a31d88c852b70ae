"""Refreshing tracker references: the periodic fan-out, what a run stores, what a failing tracker
leaves intact, the budget, pages asking for fresh values, and "Refresh now".

Every tracker is a fake over real HTTP; Celery runs eagerly, so a queued task runs at once.
"""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from integrations.models import AuditAction, AuditEvent, Health, Source
from issues.links.models import ExternalReference
from issues.links.services import link
from issues.sync import cache_keys, refresh, tasks
from issues.sync.models import WebhookDelivery
from projects.models import Role
from tests.factories import MembershipFactory, TestResultFactory, UserFactory
from tests.fakes.fixtures import GITHUB_LOGIN, GITLAB_USERNAME
from tests.fakes.gitlab import DEVELOPER
from tests.issues.sync_support import azure_devops_source, github_source, gitlab_source, jira_cloud_source

pytestmark = pytest.mark.django_db

WEB = "acme/web"


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


def cached(source, keys, **values):
    """References as an earlier refresh left them: every cached value set, read an hour ago."""
    values = {
        "title": None,
        "status": "Cached",
        "status_category": "todo",
        "assignee": "Cached Person",
        "priority": "Cached",
        "last_synced_at": timezone.now() - timedelta(hours=1),
        **values,
    }
    ExternalReference.objects.bulk_create(
        [
            ExternalReference(source=source, source_name=source.name, key=key, **{**values, "title": f"Cached {key}"})
            for key in keys
        ]
    )
    return ExternalReference.objects.filter(source=source).order_by("pk")


def jira_with(fake, count):
    fake.add_project("SHOP")
    for number in range(count):
        fake.add_issue("SHOP", f"Issue {number + 1}", status="In Progress", priority="High")
    return jira_cloud_source(fake, can_process_webhooks=False)


def rows(references):
    """The references as they are now (a queryset read again, never its cache)."""
    return list(references.all())


def snapshot(references):
    return [
        (
            r.title,
            r.status,
            r.status_category,
            r.assignee,
            r.priority,
            r.remote_updated_at,
            r.last_synced_at,
            r.deleted_remotely,
        )
        for r in rows(references)
    ]


# -- a thousand references, three sources, one of them down ---------------------------------------


def test_one_source_down_delays_nobody_and_loses_nothing(fake_jira_cloud, fake_gitlab, fake_azure_devops):
    jira = jira_with(fake_jira_cloud, 500)
    fake_gitlab.add_project(WEB)
    fake_gitlab.add_member(WEB, GITLAB_USERNAME, DEVELOPER)
    for number in range(300):
        fake_gitlab.add_issue(WEB, f"Web issue {number + 1}", author=GITLAB_USERNAME, state="closed")
    gitlab = gitlab_source(fake_gitlab, can_process_webhooks=False)
    down = azure_devops_source(fake_azure_devops, can_process_webhooks=False, health=Health.ACTIVE)
    jira_refs = cached(jira, [f"SHOP-{n}" for n in range(1, 501)])
    gitlab_refs = cached(gitlab, [f"{WEB}#{n}" for n in range(1, 301)])
    down_refs = cached(down, [str(n) for n in range(1, 201)])
    before = snapshot(down_refs)
    fake_azure_devops.stop()  # the tracker goes away: connections are refused

    queued = tasks.refresh_stale_references()

    assert sorted(queued) == sorted([jira.pk, gitlab.pk, down.pk])
    assert [(r.title, r.status, r.status_category, r.priority, r.last_error) for r in rows(jira_refs)] == [
        (f"Issue {n}", "In Progress", "in_progress", "High", "") for n in range(1, 501)
    ]
    assert [(r.title, r.status, r.status_category, r.last_error) for r in rows(gitlab_refs)] == [
        (f"Web issue {n}", "Closed", "done", "") for n in range(1, 301)
    ]
    assert len(fake_jira_cloud.requests_to("POST", r"/rest/api/3/search/jql")) == 5  # 100 keys a request
    assert len(fake_gitlab.requests_to("GET", r"/projects/[^/]+/issues")) == 3  # 100 iids a request
    # The tracker that is down keeps every cached value, and every reference says why it is stale.
    assert snapshot(down_refs) == before
    (error,) = {r.last_error for r in rows(down_refs)}
    assert "refused the connection" in error
    down.refresh_from_db()
    assert down.health == Health.ERROR and down.health_error
    assert AuditEvent.objects.filter(action=AuditAction.HEALTH_CHANGED, source_id=down.pk, success=False).exists()
    jira.refresh_from_db()
    assert jira.health == Health.ACTIVE


def test_a_failed_source_rests_while_the_others_go_on(fake_jira_cloud, fake_azure_devops):
    jira = jira_with(fake_jira_cloud, 2)
    down = azure_devops_source(fake_azure_devops, can_process_webhooks=False)
    cached(down, ["1"])
    jira_refs = cached(jira, ["SHOP-1", "SHOP-2"])
    fake_azure_devops.stop()
    tasks.refresh_stale_references()
    ExternalReference.objects.filter(source=jira).update(last_synced_at=timezone.now() - timedelta(hours=1))

    assert tasks.refresh_stale_references() == [jira.pk]
    (reference,) = ExternalReference.objects.filter(source=down)
    assert refresh.refresh_source(down.pk).skipped == "The source rests after a failed refresh."
    # Pages do not wait on a resting tracker either; "Refresh now" asks it all the same.
    assert (
        refresh.refresh_source(down.pk, [reference.pk], shown=True).skipped
        == "The source rests after a failed refresh."
    )
    assert refresh.refresh_source(down.pk, [reference.pk]).failed == 1
    assert all(r.last_synced_at > timezone.now() - timedelta(minutes=1) for r in rows(jira_refs))


@pytest.mark.parametrize("failure", ["garbage", "rate_limited", "unauthorized"])
def test_a_tracker_answering_garbage_or_refusing_leaves_every_value(fake_jira_cloud, failure):
    source = jira_with(fake_jira_cloud, 3)
    references = cached(source, ["SHOP-1", "SHOP-2", "SHOP-3"])
    before = snapshot(references)
    if failure == "garbage":
        fake_jira_cloud.fail_next(200, "<html>Sign in to continue</html>", headers={"Content-Type": "text/html"})
    elif failure == "rate_limited":
        fake_jira_cloud.rate_limit_next(retry_after=3600)
    else:
        fake_jira_cloud.fail_next(401, "Client must be authenticated to access this resource.")

    report = refresh.refresh_source(source.pk)

    assert (report.read, report.failed, report.rest_seconds) == (0, 3, 3600 if failure == "rate_limited" else 300)
    assert snapshot(references) == before
    assert {r.last_error for r in rows(references)} == {report.error}
    source.refresh_from_db()
    assert (source.health, source.health_error) == (Health.ERROR, report.error)
    assert cache.get(cache_keys.backoff_key(source))


# -- what a run stores ---------------------------------------------------------------------------


def test_deleted_issues_are_marked_and_kept_and_hidden_ones_keep_their_values(fake_jira_cloud):
    source = jira_with(fake_jira_cloud, 3)
    fake_jira_cloud.add_project("SECRET")
    fake_jira_cloud.add_issue("SECRET", "Classified")
    fake_jira_cloud.forbid_project("SECRET")
    fake_jira_cloud.delete_issue("SHOP-2")
    references = cached(source, ["SHOP-1", "SHOP-2", "SECRET-1"])
    result = TestResultFactory()
    link(artefact=result, reference=references.get(key="SHOP-2"))

    report = refresh.refresh_source(source.pk)

    kept, gone, hidden = references.get(key="SHOP-1"), references.get(key="SHOP-2"), references.get(key="SECRET-1")
    assert (report.read, report.missing, report.hidden) == (1, 1, 1)
    assert (kept.title, kept.deleted_remotely) == ("Issue 1", False)
    assert (gone.deleted_remotely, gone.title, gone.links.count()) == (True, "Cached SHOP-2", 1)
    assert (hidden.deleted_remotely, hidden.title) == (False, "Cached SECRET-1")
    assert "cannot see it" in hidden.last_error
    assert ExternalReference.objects.count() == 3


def test_an_answer_older_than_the_stored_state_does_not_overwrite_it(fake_jira_cloud):
    source = jira_with(fake_jira_cloud, 1)
    newer = fake_jira_cloud.issue("SHOP-1").updated + timedelta(minutes=5)
    (reference,) = cached(source, ["SHOP-1"], remote_updated_at=newer)

    refresh.refresh_source(source.pk, [reference.pk])

    reference.refresh_from_db()
    assert (reference.title, reference.remote_updated_at, reference.last_error) == ("Cached SHOP-1", newer, "")
    assert reference.last_synced_at > timezone.now() - timedelta(minutes=1)  # read, nothing newer to store


def test_a_refresh_stores_when_the_tracker_created_and_resolved_an_issue_and_a_reopen_clears_it(fake_jira_cloud):
    source = jira_with(fake_jira_cloud, 1)
    (reference,) = cached(source, ["SHOP-1"])
    issue = fake_jira_cloud.edit_issue("SHOP-1", status="Done")

    refresh.refresh_source(source.pk, [reference.pk])

    reference.refresh_from_db()
    assert (reference.remote_created_at, reference.remote_resolved_at) == (issue.created, issue.resolved)
    assert reference.remote_resolved_at is not None

    fake_jira_cloud.edit_issue("SHOP-1", status="To Do")
    refresh.refresh_source(source.pk, [reference.pk])

    reference.refresh_from_db()
    assert (reference.status_category, reference.remote_created_at, reference.remote_resolved_at) == (
        "todo",
        issue.created,
        None,
    )


def test_github_dates_are_stored_from_a_batched_read(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    issue = fake_github.add_issue("acme/shop", "Cart empty", author=GITHUB_LOGIN, state="closed")
    source = github_source(fake_github, can_process_webhooks=False)
    (reference,) = cached(source, ["acme/shop#1"])

    refresh.refresh_source(source.pk, [reference.pk])

    reference.refresh_from_db()
    assert len(fake_github.graphql_requests()) == 1
    assert (reference.remote_created_at, reference.remote_resolved_at) == (issue.created, issue.closed)


def test_an_unchanged_github_issue_answered_304_keeps_its_dates(fake_github):
    fake_github.graphql_enabled = False  # an Enterprise Server without GraphQL: one conditional GET per issue
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    issue = fake_github.add_issue("acme/shop", "Cart empty", author=GITHUB_LOGIN, state="closed")
    source = github_source(fake_github, can_process_webhooks=False)
    (reference,) = cached(source, ["acme/shop#1"])
    refresh.refresh_source(source.pk, [reference.pk])

    refresh.refresh_source(source.pk, [reference.pk])

    reference.refresh_from_db()
    assert fake_github.requests_to("GET", r"/repos/acme/shop/issues/1")[-1].headers["If-None-Match"] == reference.etag
    assert (reference.remote_created_at, reference.remote_resolved_at) == (issue.created, issue.closed)


def test_a_run_spends_at_most_half_of_the_budget_and_the_next_run_goes_on(fake_jira_cloud):
    source = jira_with(fake_jira_cloud, 250)
    Source.objects.filter(pk=source.pk).update(rate_limit_per_minute=3)  # half of it: one request a run
    references = cached(source, [f"SHOP-{n}" for n in range(1, 251)], last_synced_at=None)

    first = refresh.refresh_source(source.pk)
    second = refresh.refresh_source(source.pk)
    third = refresh.refresh_source(source.pk)

    assert [first.read, second.read, third.read] == [100, 100, 50]
    assert len(fake_jira_cloud.requests_to("POST", r"/rest/api/3/search/jql")) == 3
    assert all(r.title.startswith("Issue ") for r in rows(references))


def test_a_run_leaves_a_source_another_run_holds_unless_it_is_that_run_delivered_again(fake_jira_cloud):
    source = jira_with(fake_jira_cloud, 2)
    references = cached(source, ["SHOP-1", "SHOP-2"])
    cache.add(cache_keys.lock_key(source), 1, refresh.RUN_LOCK_SECONDS)  # taken by a run, perhaps one whose worker died

    other = refresh.refresh_source(source.pk)
    redelivered = refresh.refresh_source(source.pk, redelivered=True)

    assert (other.skipped, other.read) == ("Another run is refreshing the source.", 0)
    assert (redelivered.skipped, redelivered.read) == ("", 2)
    assert all(r.title.startswith("Issue ") for r in rows(references))
    assert cache.get(cache_keys.lock_key(source)) is None  # released when the run ends


def test_asked_for_references_beyond_the_budget_are_refreshed_a_minute_later(fake_jira_cloud):
    source = jira_with(fake_jira_cloud, 150)
    Source.objects.filter(pk=source.pk).update(rate_limit_per_minute=3)
    references = cached(source, [f"SHOP-{n}" for n in range(1, 151)])

    result = tasks.refresh_references.delay(source.pk, [r.pk for r in rows(references)]).get()

    assert (result["read"], len(result["deferred"])) == (100, 50)
    assert all(r.title.startswith("Issue ") for r in rows(references))  # the deferred run ran (eagerly) too


@pytest.mark.parametrize("change", [{"enabled": False}, {"connected": False}, {"can_read_details": False}])
def test_disabled_disconnected_or_blind_sources_stop_syncing(fake_jira_cloud, change):
    source = jira_with(fake_jira_cloud, 1)
    (reference,) = cached(source, ["SHOP-1"])
    Source.objects.filter(pk=source.pk).update(**change)

    assert tasks.refresh_stale_references() == []
    assert refresh.refresh_source(source.pk, [reference.pk]).skipped
    assert fake_jira_cloud.requests == []


def test_webhook_fed_sources_are_not_polled_and_are_reconciled_daily(fake_jira_cloud):
    source = jira_with(fake_jira_cloud, 2)
    Source.objects.filter(pk=source.pk).update(can_process_webhooks=True)
    references = cached(source, ["SHOP-1", "SHOP-2"], last_synced_at=timezone.now() - timedelta(days=2))
    WebhookDelivery.objects.create(source=source, delivery_id="recent")

    assert tasks.refresh_stale_references() == []
    assert refresh.refresh_source(source.pk, [references[0].pk], shown=True).skipped == "The source is fed by webhooks."
    assert fake_jira_cloud.requests == []
    assert tasks.reconcile_webhook_sources() == [source.pk]
    assert [r.title for r in rows(references)] == ["Issue 1", "Issue 2"]

    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(days=2))  # the deliveries stopped
    ExternalReference.objects.update(last_synced_at=timezone.now() - timedelta(days=2))
    assert tasks.refresh_stale_references() == [source.pk]  # polled again
    assert tasks.reconcile_webhook_sources() == []


def test_old_delivery_ids_are_forgotten(fake_jira_cloud):
    source = jira_with(fake_jira_cloud, 0)
    WebhookDelivery.objects.create(source=source, delivery_id="old")
    WebhookDelivery.objects.create(source=source, delivery_id="new")
    WebhookDelivery.objects.filter(delivery_id="old").update(received_at=timezone.now() - timedelta(days=8))

    assert tasks.prune_webhook_deliveries() == 1
    assert list(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == ["new"]


# -- pages, and "Refresh now" --------------------------------------------------------------------


def test_a_page_queues_its_stale_references_once_a_minute_and_never_waits(
    fake_jira_cloud, django_capture_on_commit_callbacks
):
    source = jira_with(fake_jira_cloud, 3)
    references = list(cached(source, ["SHOP-1", "SHOP-2", "SHOP-3"]))
    ExternalReference.objects.filter(key="SHOP-3").update(last_synced_at=timezone.now())
    references[2].refresh_from_db()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert refresh.request_refresh(references) == 2
    with django_capture_on_commit_callbacks(execute=False) as again:
        assert refresh.request_refresh(references) == 0

    assert fake_jira_cloud.requests == []  # nothing was asked while the page was built
    assert (len(queued), len(again)) == (1, 0)
    queued[0]()
    assert [ExternalReference.objects.get(pk=r.pk).title for r in references] == ["Issue 1", "Issue 2", "Cached SHOP-3"]


def test_refresh_now_on_an_artefact_page_refreshes_its_references(
    client, fake_jira_cloud, django_capture_on_commit_callbacks
):
    source = jira_with(fake_jira_cloud, 2)
    references = cached(source, ["SHOP-1", "SHOP-2"], last_synced_at=timezone.now())
    result = TestResultFactory()
    for reference in references:
        link(artefact=result, reference=reference)
    member = UserFactory()
    MembershipFactory(project=result.run.project, user=member, role=Role.MEMBER)
    client.force_login(member)
    page = reverse("projects:result", args=[result.run.project.key, result.run.pk, result.pk])

    shown = client.get(page)
    assert b"Refresh now" in shown.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("issues:refresh_links", args=[result.run.project.key]), {"kind": "result", "pk": result.pk}
        )

    assert response.status_code == 302 and response["Location"] == page
    assert [r.title for r in rows(references)] == ["Issue 1", "Issue 2"]


def test_viewers_and_strangers_cannot_refresh(client, fake_jira_cloud):
    source = jira_with(fake_jira_cloud, 1)
    (reference,) = cached(source, ["SHOP-1"])
    result = TestResultFactory()
    link(artefact=result, reference=reference)
    viewer = UserFactory()
    MembershipFactory(project=result.run.project, user=viewer, role=Role.VIEWER)
    url = reverse("issues:refresh_links", args=[result.run.project.key])

    client.force_login(viewer)
    assert (
        b"Refresh now"
        not in client.get(reverse("projects:result", args=[result.run.project.key, result.run.pk, result.pk])).content
    )
    assert client.post(url, {"kind": "result", "pk": result.pk}).status_code == 403
    client.force_login(UserFactory())
    assert client.post(url, {"kind": "result", "pk": result.pk}).status_code == 404
    assert fake_jira_cloud.requests == []


def test_refresh_now_in_the_sources_admin(admin_client, fake_jira_cloud, django_capture_on_commit_callbacks):
    source = jira_with(fake_jira_cloud, 2)
    references = cached(source, ["SHOP-1", "SHOP-2"], last_synced_at=timezone.now())
    disabled = jira_cloud_source(fake_jira_cloud, name="Old Jira", enabled=False)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/integrations/source/",
            {"action": "refresh_now", "_selected_action": [source.pk, disabled.pk]},
            follow=True,
        )

    messages = [str(message) for message in response.context["messages"]]
    assert "Jira: 2 of 2 linked issue(s) refreshed." in messages
    assert "Old Jira is disabled or disconnected: it does not sync." in messages
    assert [r.title for r in rows(references)] == ["Issue 1", "Issue 2"]
