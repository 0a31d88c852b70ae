"""Recurring failures: a test fails again while every issue linked to it is resolved. Testers are
offered to reopen the internal issue or to file a follow-up linked to the first; a project that opts
in gets the follow-up filed when the failure is recorded."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from issues.core.models import Issue, IssueStatus, StatusCategory
from issues.links.models import Link
from issues.links.services import link
from issues.quality.known_failures import create_rule
from issues.quality.models import FollowUp
from issues.quality.recurrences import follow_up, recurrences_of_run, reopen, set_policy
from projects.models import ResultStatus, Role
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db

REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="shop"><testcase classname="checkout" name="test_card"><failure message="Declined again"/></testcase>
<testcase classname="checkout" name="test_cash"/></testsuite>"""


@pytest.fixture
def shop():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def history(shop):
    """`test_card` failed in Build 1, was linked to SHOP-1, now resolved; Build 2 is the next run."""
    case = TestCaseFactory(project=shop, title="test_card", automation_key="checkout.test_card")
    first = TestResultFactory(run=TestRunFactory(project=shop, name="Build 1"), case=case, comment="Declined")
    link(artefact=first, issue=make_issue(shop, name="Card declined", status=IssueStatus.RESOLVED))
    return case, TestRunFactory(project=shop, name="Build 2")


def fail(run, case, comment="Declined again"):
    return TestResultFactory(run=run, case=case, status=ResultStatus.FAILED, comment=comment)


def test_a_failure_recurs_when_every_issue_of_its_test_is_resolved(shop, history):
    case, run = history
    again = fail(run, case)
    other = fail(run, TestCaseFactory(project=shop))  # never had an issue
    TestResultFactory(run=run, case=TestCaseFactory(project=shop), status=ResultStatus.PASSED)

    [recurrence] = recurrences_of_run(run)

    assert recurrence.result == again and [side.key for side in recurrence.resolved] == ["SHOP#1"]
    link(artefact=case, issue=make_issue(shop, name="Still flaky"))  # an unresolved issue: tracked, not recurring
    assert recurrences_of_run(run) == [] and other.issue_links.count() == 0


def test_a_tracker_issue_in_a_done_status_counts_as_resolved(shop):
    case = TestCaseFactory(project=shop)
    link(
        artefact=case,
        reference=ExternalReferenceFactory(key="BUG-9", status="Done", status_category=StatusCategory.DONE),
    )
    run = TestRunFactory(project=shop)
    fail(run, case)

    [recurrence] = recurrences_of_run(run)

    assert recurrence.latest.key == "BUG-9"


def test_reopening_links_the_issue_to_the_new_failure(shop, history):
    case, run = history
    again = fail(run, case)
    [recurrence] = recurrences_of_run(run)

    issue = reopen(recurrence.latest, again)

    assert issue.status == IssueStatus.OPEN and Link.objects.filter(issue=issue, test_result=again).exists()
    assert recurrences_of_run(run) == []


def test_a_follow_up_is_linked_to_the_failure_its_test_and_the_first_issue(shop, history):
    case, run = history
    again = fail(run, case)
    original = Issue.objects.get(number=1)

    issue = follow_up(original, again)

    assert (issue.key, issue.name, issue.status) == ("SHOP#2", "Fails again: Card declined", IssueStatus.OPEN)
    assert "fails again in Build 2, after [SHOP#1](/projects/SHOP/issues/1/)" in issue.description
    assert "Declined again" in issue.description
    assert set(Link.objects.filter(issue=issue).values_list("test_result", "test_case")) == {
        (again.pk, None),
        (None, case.pk),
    }
    assert FollowUp.objects.get(issue=issue).original_issue == original
    assert original.status == IssueStatus.RESOLVED and recurrences_of_run(run) == []


def upload(shop, run):
    client = APIClient()
    client.force_authenticate(MembershipFactory(project=shop, role=Role.MEMBER).user)
    report = SimpleUploadedFile("report.xml", REPORT, content_type="application/xml")
    return client.post(f"/api/testruns/{run.pk}/junit", {"file": report}, format="multipart")


def test_a_project_that_opts_in_gets_the_follow_up_when_the_failure_is_recorded(shop, history):
    case, run = history
    set_policy(shop, create_follow_ups=True)

    upload(shop, run)

    follow = FollowUp.objects.select_related("issue").get()
    assert (follow.issue.name, follow.original_issue.key, follow.result.case) == (
        "Fails again: Card declined",
        "SHOP#1",
        case,
    )
    upload(shop, run)  # the same failure again: the follow-up tracks it now
    assert FollowUp.objects.count() == 1


def test_without_opting_in_nothing_is_filed_and_a_known_failure_is_not_recurring(shop, history):
    case, run = history
    upload(shop, run)
    assert not FollowUp.objects.exists() and len(recurrences_of_run(run)) == 1

    set_policy(shop, create_follow_ups=True)
    create_rule(shop, pattern="Declined", issue_side=make_issue(shop, name="Known decline"))
    later = TestRunFactory(project=shop, name="Build 3")
    upload(shop, later)

    assert not FollowUp.objects.exists() and recurrences_of_run(later) == []


# -- pages ---------------------------------------------------------------------------------------


def test_the_run_page_points_to_the_recurring_failures_and_a_member_reopens(client, shop, history):
    case, run = history
    again = fail(run, case)
    client.force_login(MembershipFactory(project=shop, role=Role.MEMBER).user)

    run_page = client.get(f"/projects/SHOP/runs/{run.pk}/").content.decode()
    page = client.get(f"/projects/SHOP/runs/{run.pk}/recurring-failures/").content.decode()
    original = Issue.objects.get(number=1)
    response = client.post(
        f"/projects/SHOP/runs/{run.pk}/recurring-failures/",
        {"action": "reopen", "result": again.pk, "original": f"issue-{original.pk}"},
    )

    assert "1 recurs after its issue was resolved" in run_page
    assert "Reopen SHOP#1" in page and "File a follow-up of SHOP#1" in page
    assert response.status_code == 302
    original.refresh_from_db()
    assert original.status == IssueStatus.OPEN


def test_a_member_files_a_follow_up_of_a_tracker_issue(client, shop):
    case = TestCaseFactory(project=shop, title="Refund")
    reference = ExternalReferenceFactory(key="BUG-9", title="Refund fails", status_category=StatusCategory.DONE)
    link(artefact=case, reference=reference)
    run = TestRunFactory(project=shop)
    again = fail(run, case)
    client.force_login(MembershipFactory(project=shop, role=Role.MEMBER).user)

    url = f"/projects/SHOP/runs/{run.pk}/recurring-failures/"
    page = client.get(url).content.decode()
    reopening = client.post(url, {"action": "reopen", "result": again.pk, "original": f"reference-{reference.pk}"})
    client.post(url, {"action": "follow_up", "result": again.pk, "original": f"reference-{reference.pk}"})

    assert "Reopen BUG-9" not in page and reopening.status_code == 404  # reopened in its tracker, not here
    follow = FollowUp.objects.get()
    assert (follow.original_reference, follow.issue.name) == (reference, "Fails again: Refund fails")


def test_forged_recurrences_are_not_found_and_viewers_may_not_act(client, shop, history):
    case, run = history
    again = fail(run, case)
    unrelated = make_issue(shop, name="Unrelated", status=IssueStatus.CLOSED)
    member = MembershipFactory(project=shop, role=Role.MEMBER).user
    client.force_login(member)
    url = f"/projects/SHOP/runs/{run.pk}/recurring-failures/"

    assert (
        client.post(url, {"action": "reopen", "result": again.pk, "original": f"issue-{unrelated.pk}"}).status_code
        == 404
    )
    assert client.post(url, {"action": "reopen", "result": again.pk, "original": "everything"}).status_code == 404
    client.force_login(MembershipFactory(project=shop, role=Role.VIEWER).user)
    original = Issue.objects.get(number=1)
    assert (
        client.post(url, {"action": "reopen", "result": again.pk, "original": f"issue-{original.pk}"}).status_code
        == 403
    )
    assert Issue.objects.get(number=1).status == IssueStatus.RESOLVED and not FollowUp.objects.exists()


def test_only_project_admins_choose_to_file_follow_ups_by_themselves(client, shop, history):
    _, run = history
    client.force_login(MembershipFactory(project=shop, role=Role.MEMBER).user)
    assert client.post("/projects/SHOP/recurring-failures/policy/", {"create_follow_ups": "on"}).status_code == 403

    client.force_login(MembershipFactory(project=shop, role=Role.ADMIN).user)
    response = client.post("/projects/SHOP/recurring-failures/policy/", {"create_follow_ups": "on", "run": run.pk})

    assert response["Location"] == f"/projects/SHOP/runs/{run.pk}/recurring-failures/"
    assert shop.recurrence_policy.create_follow_ups is True
    page = client.get(response["Location"]).content.decode()
    assert "files a follow-up issue as soon as a failure recurs" in page
