"""An issue is dated resolved when it enters resolved or closed and undated when it is reopened,
whichever way its status changes: created so, edited, saved (the admin), updated in bulk, reopened
after a recurring failure. Issues resolved before this was kept are dated by their last change.
A tracker reference keeps the tracker's dates the same way."""

from dataclasses import replace
from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.db import IntegrityError, connection
from django.test import Client
from django.utils import timezone

from integrations.providers.base import RemoteIssue
from issues.core.models import Issue, IssueStatus
from issues.core.services import update_issue
from issues.links.services import store_reference
from issues.quality.recurrences import reopen
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, SourceFactory, TestResultFactory, make_issue

pytestmark = pytest.mark.django_db


def fresh(issue):
    return Issue.objects.get(pk=issue.pk)


def edit(issue, **changes):
    return update_issue(issue, expected_version=fresh(issue).version, **changes)


def test_an_issue_filed_resolved_is_dated_and_an_open_one_is_not():
    before = timezone.now()

    filed_resolved, filed_open = make_issue(status=IssueStatus.RESOLVED), make_issue()

    assert before <= fresh(filed_resolved).resolved_at <= timezone.now()
    assert fresh(filed_open).resolved_at is None


def test_resolving_dates_closing_keeps_the_date_and_reopening_clears_it():
    issue = make_issue()
    edit(issue, status=IssueStatus.IN_PROGRESS)
    assert fresh(issue).resolved_at is None

    resolved_at = edit(issue, status=IssueStatus.RESOLVED).resolved_at
    assert resolved_at is not None
    assert edit(issue, status=IssueStatus.CLOSED).resolved_at == resolved_at  # resolved, then closed
    assert edit(issue, name="Renamed while closed").resolved_at == resolved_at

    assert edit(issue, status=IssueStatus.OPEN).resolved_at is None
    assert edit(issue, status=IssueStatus.CLOSED).resolved_at > resolved_at  # resolved again, later


def test_saving_the_model_as_the_admin_does_dates_and_undates():
    issue = make_issue()
    issue.status = IssueStatus.CLOSED
    issue.save(update_fields=["status"])
    assert fresh(issue).resolved_at is not None

    issue.status = IssueStatus.OPEN
    issue.save()
    assert (fresh(issue).resolved_at, fresh(issue).resolved_at_estimated) == (None, False)


def test_the_admin_reopens_an_issue(admin_client):
    issue = make_issue(ProjectFactory(key="SHOP"), status=IssueStatus.RESOLVED)
    form = {
        "project": issue.project.pk,
        "name": issue.name,
        "description": "",
        "status": "open",
        "priority": issue.priority,
        "attachments-TOTAL_FORMS": 0,
        "attachments-INITIAL_FORMS": 0,
    }

    response = admin_client.post(f"/admin/issues/issue/{issue.pk}/change/", form)

    assert response.status_code == 302
    assert (fresh(issue).status, fresh(issue).resolved_at) == ("open", None)


def test_a_bulk_update_of_the_status_dates_each_issue_as_a_save_would():
    earlier = timezone.now() - timedelta(days=3)
    resolved, still_open = make_issue(status=IssueStatus.RESOLVED), make_issue()
    Issue.objects.filter(pk=resolved.pk).update(resolved_at=earlier)

    Issue.objects.filter(pk__in=[resolved.pk, still_open.pk]).update(status=IssueStatus.CLOSED)

    assert fresh(resolved).resolved_at == earlier and fresh(still_open).resolved_at > earlier
    Issue.objects.filter(pk=resolved.pk).update(status=IssueStatus.IN_PROGRESS)
    assert fresh(resolved).resolved_at is None


def test_the_database_refuses_a_resolution_date_out_of_step_with_the_status():
    issue = make_issue()

    with pytest.raises(IntegrityError):
        Issue.objects.filter(pk=issue.pk).update(resolved_at=timezone.now())


def test_the_api_dates_the_resolution_and_shows_it():
    issue = make_issue(ProjectFactory(key="SHOP"))
    client = Client()
    client.force_login(MembershipFactory(project=issue.project, role=Role.MEMBER).user)

    body = client.patch(f"/api/issues/{issue.pk}", {"status": "resolved"}, content_type="application/json").json()

    assert body["resolved_at"] is not None and fresh(issue).resolved_at is not None
    assert (
        client.patch(f"/api/issues/{issue.pk}", {"status": "open"}, content_type="application/json").json()[
            "resolved_at"
        ]
        is None
    )


def test_reopening_after_a_recurring_failure_clears_the_resolution():
    issue = make_issue(status=IssueStatus.RESOLVED)

    reopened = reopen(issue, TestResultFactory(run__project=issue.project))

    assert (reopened.status, fresh(issue).resolved_at) == (IssueStatus.OPEN, None)


def test_issues_resolved_before_dates_were_kept_are_dated_by_their_last_change():
    """The data migration, run on rows as they were before it (the constraint it precedes is dropped
    inside the test's transaction, which puts it back)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE issues_issue DROP CONSTRAINT issue_resolved_at_iff_resolved")
    issue, still_open = make_issue(status=IssueStatus.CLOSED), make_issue()
    last_change = timezone.now() - timedelta(days=2)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE issues_issue SET resolved_at = NULL, updated_at = %s", [last_change])
    migration = import_module("issues.migrations.0008_resolution_times")

    migration.date_past_resolutions(apps, None)

    assert (fresh(issue).resolved_at, fresh(issue).resolved_at_estimated) == (last_change, True)
    assert (fresh(still_open).resolved_at, fresh(still_open).resolved_at_estimated) == (None, False)


def test_a_tracker_answer_without_dates_keeps_the_known_ones_and_one_not_done_clears_the_resolution():
    source = SourceFactory()
    created, resolved = timezone.now() - timedelta(days=5), timezone.now() - timedelta(days=1)
    done = RemoteIssue(
        key="SHOP-9",
        title="Bug",
        status="Done",
        status_category="done",
        assignee="",
        priority="",
        url="",
        updated_at=resolved,
        created_at=created,
        resolved_at=resolved,
    )
    store_reference(source, done)

    kept = store_reference(source, replace(done, created_at=None, resolved_at=None), synced=False)
    assert (kept.remote_created_at, kept.remote_resolved_at) == (created, resolved)

    reopened = store_reference(source, replace(done, status="To Do", status_category="todo", resolved_at=None))
    reopened.refresh_from_db()
    assert (reopened.remote_created_at, reopened.remote_resolved_at) == (created, None)


def test_issues_created_and_updated_in_bulk_are_dated_as_saved_ones():
    project = ProjectFactory()
    Issue.objects.bulk_create(
        [
            Issue(project=project, number=1, name="Fixed", status=IssueStatus.CLOSED),
            Issue(project=project, number=2, name="Broken"),
        ]
    )
    fixed, broken = Issue.objects.filter(project=project).order_by("number")
    assert (fixed.resolved_at is not None, broken.resolved_at) == (True, None)

    fixed.status, broken.status = IssueStatus.OPEN, IssueStatus.RESOLVED
    Issue.objects.bulk_update([fixed, broken], ["status"])

    assert (fresh(fixed).resolved_at, fresh(broken).resolved_at is not None) == (None, True)
