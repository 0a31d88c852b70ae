"""Known-failure rules: a failure whose message matches a rule (RE2, optionally with the test's name)
is linked to the rule's issue when results are recorded, from a JUnit upload, by hand or through the
API, and shown as known; other failures stay new. Rules are suggested from linked failures."""

import pytest
import re2
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from issues.links.models import Link
from issues.links.services import link
from issues.quality.known_failures import create_rule, delete_rule, issue_side_in, set_rule_enabled, suggested_pattern
from issues.quality.models import KnownFailure, KnownFailureRule
from projects.models import ResultStatus, Role, TestResult
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
<testsuite name="shop" tests="4">
  <testcase classname="checkout.test_pay" name="test_card" time="0.5">
    <failure message="OperationalError: connection to db-7:5432 refused">Traceback (most recent call last):
  File "db.py", line 12, in connect</failure>
  </testcase>
  <testcase classname="checkout.test_pay" name="test_invoice" time="0.2">
    <failure message="AssertionError: expected 2 items, got 3">assert 2 == 3</failure>
  </testcase>
  <testcase classname="search.test_find" name="test_query" time="0.1">
    <error message="OperationalError: connection to db-2:5432 refused">timeout</error>
  </testcase>
  <testcase classname="checkout.test_pay" name="test_cash" time="0.1"/>
</testsuite>
"""


@pytest.fixture
def shop():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def member(shop):
    return MembershipFactory(project=shop, role=Role.MEMBER).user


def upload(user, run, content=REPORT):
    client = APIClient()
    client.force_authenticate(user)
    report = SimpleUploadedFile("report.xml", content, content_type="application/xml")
    return client.post(f"/api/testruns/{run.pk}/junit", {"file": report}, format="multipart")


def known_links(run):
    return {
        mark.link.test_result.case.title: mark.link.issue_side
        for mark in KnownFailure.objects.filter(link__test_result__run=run).select_related(
            "link__test_result__case", "link__issue", "link__external_reference"
        )
    }


def test_a_junit_upload_links_the_matching_failure_and_not_the_others(shop, member):
    outage = make_issue(shop, name="Database outage")
    create_rule(shop, pattern=r"connection to db-\d+:5432 refused", test_pattern=r"^checkout\.", issue_side=outage)
    run = TestRunFactory(project=shop)

    assert upload(member, run).status_code == 200

    assert known_links(run) == {"test_card": outage}  # test_query matches the message, not the test name
    invoice = TestResult.objects.get(run=run, case__title="test_invoice")
    assert not invoice.issue_links.exists()
    card = TestResult.objects.get(run=run, case__title="test_card")
    assert Link.objects.get(test_result=card).issue == outage


def test_uploading_the_next_build_recognizes_again_without_duplicating(shop, member):
    outage = make_issue(shop, name="Database outage")
    create_rule(shop, pattern="refused", issue_side=outage)
    run = TestRunFactory(project=shop)

    upload(member, run)
    upload(member, run)

    assert set(known_links(run)) == {"test_card", "test_query"}
    assert Link.objects.filter(issue=outage).count() == KnownFailure.objects.count() == 2


def test_the_first_enabled_rule_that_matches_wins(shop, member):
    first, second = make_issue(shop, name="Flaky database"), make_issue(shop, name="Outage")
    set_rule_enabled(create_rule(shop, pattern="connection", issue_side=first), False)
    create_rule(shop, pattern="refused", issue_side=second)
    create_rule(shop, pattern="db-7", issue_side=first)
    run = TestRunFactory(project=shop)

    upload(member, run)

    assert known_links(run) == {"test_card": second, "test_query": second}


def test_a_rule_may_point_to_a_tracker_issue_linked_in_the_project(shop, member):
    reference = ExternalReferenceFactory(key="OPS-4")
    link(artefact=TestCaseFactory(project=shop), reference=reference)

    rule = create_rule(shop, pattern="expected \\d+ items", issue_side=issue_side_in(shop, "ops-4"))
    run = TestRunFactory(project=shop)
    upload(member, run)

    assert known_links(run) == {"test_invoice": reference}
    assert rule.matches.count() == 1


def test_a_result_recorded_by_hand_or_through_the_api_is_recognized(client, shop, member):
    outage = make_issue(shop, name="Database outage")
    create_rule(shop, pattern="connection refused", issue_side=outage)
    by_hand = TestResultFactory(run__project=shop, case__project=shop, status=ResultStatus.UNTESTED, comment="")
    through_api = TestResultFactory(run=by_hand.run, case__project=shop, status=ResultStatus.UNTESTED, comment="")
    passed = TestResultFactory(run=by_hand.run, case__project=shop, status=ResultStatus.UNTESTED, comment="")
    client.force_login(member)
    api = APIClient()
    api.force_authenticate(member)

    client.post(
        f"/projects/SHOP/runs/{by_hand.run_id}/results/{by_hand.pk}/",
        {"status": "failed", "comment": "db: connection refused", "duration": ""},
    )
    response = api.patch(
        f"/api/testresults/{through_api.pk}", {"status": "blocked", "comment": "connection refused"}, format="json"
    )
    api.patch(
        f"/api/testresults/{passed.pk}", {"status": "passed", "comment": "connection refused once"}, format="json"
    )

    assert response.status_code == 200
    assert set(KnownFailure.objects.values_list("link__test_result", flat=True)) == {by_hand.pk, through_api.pk}


def test_patterns_are_case_sensitive_unless_they_say_otherwise(shop, member):
    outage = make_issue(shop, name="Database outage")
    create_rule(shop, pattern="operationalerror", issue_side=outage)
    run = TestRunFactory(project=shop)
    upload(member, run)
    assert known_links(run) == {}

    create_rule(shop, pattern="(?i)operationalerror", issue_side=outage, apply_to_recent_runs=True)

    assert set(known_links(run)) == {"test_card", "test_query"}


def test_rules_only_recognize_failures_of_their_own_project(shop, member):
    create_rule(shop, pattern="refused", issue_side=make_issue(shop))
    elsewhere = TestRunFactory(project=ProjectFactory(key="BANK"))

    upload(MembershipFactory(project=elsewhere.project, role=Role.MEMBER).user, elsewhere)

    assert known_links(elsewhere) == {}


def test_patterns_must_be_re2_and_issues_must_exist_in_the_project(shop):
    with pytest.raises(ValidationError, match="Not a valid RE2 regular expression"):
        create_rule(shop, pattern=r"(a)\1", issue_side=make_issue(shop))
    with pytest.raises(ValidationError, match="SHOP has no issue JIRA-1"):
        issue_side_in(shop, "JIRA-1")
    foreign = make_issue(ProjectFactory(key="BANK"))
    with pytest.raises(ValidationError, match="SHOP has no issue BANK#1"):
        issue_side_in(shop, foreign.key)
    assert not KnownFailureRule.objects.exists()


def test_deleting_a_rule_keeps_the_links_it_made(shop, member):
    rule = create_rule(shop, pattern="refused", issue_side=make_issue(shop))
    run = TestRunFactory(project=shop)
    upload(member, run)

    delete_rule(rule)

    assert set(known_links(run)) == {"test_card", "test_query"}
    assert KnownFailure.objects.filter(rule__isnull=True).count() == 2


@pytest.mark.parametrize(
    ("message", "pattern", "variant"),
    [
        (
            "AssertionError: expected 200 but got 500 at 0x7f3aB2",
            r"AssertionError\:\ expected\ \d+\ but\ got\ \d+\ at\ "
            r"0x[0-9a-fA-F]+",
            "AssertionError: expected 201 but got 503 at 0x1c",
        ),
        ("\n  TimeoutError (30 s) [db]\nstack line 1", r"TimeoutError\ \(\d+\ s\)\ \[db\]", "TimeoutError (5 s) [db]"),
    ],
)
def test_a_suggested_pattern_matches_the_same_failure_with_other_numbers(message, pattern, variant):
    suggested = suggested_pattern(message)

    assert suggested == pattern
    assert re2.search(suggested, message) and re2.search(suggested, variant)


# -- pages ---------------------------------------------------------------------------------------


def test_a_member_makes_a_rule_from_a_suggested_link(client, shop, member):
    outage = make_issue(shop, name="Database outage")
    failed = TestResultFactory(run__project=shop, case__project=shop, comment="connection to db-7:5432 refused")
    suggested = link(artefact=failed, issue=outage)
    client.force_login(member)

    page = client.get("/projects/SHOP/known-failures/").content.decode()
    form = client.get(f"/projects/SHOP/known-failures/?link={suggested.pk}").content.decode()
    response = client.post(
        "/projects/SHOP/known-failures/",
        {
            "pattern": suggested_pattern(failed.comment),
            "issue": "SHOP-1",
            "apply_to_recent_runs": "on",
        },
    )

    assert f'href="?link={suggested.pk}#rule-form"' in page
    assert 'value="connection\\ to\\ db\\-\\d+\\:\\d+\\ refused"' in form and 'value="SHOP#1"' in form
    assert response.status_code == 302
    rule = KnownFailureRule.objects.get()
    assert (rule.issue, rule.created_by) == (outage, member)
    assert KnownFailure.objects.get().link == suggested  # the failure it came from is known now


def test_a_viewer_reads_the_rules_but_may_not_add_or_delete(client, shop):
    rule = create_rule(shop, pattern="refused", issue_side=make_issue(shop))
    client.force_login(MembershipFactory(project=shop, role=Role.VIEWER).user)

    page = client.get("/projects/SHOP/known-failures/").content.decode()

    assert "<code>refused</code>" in page and "New rule" not in page
    assert client.post("/projects/SHOP/known-failures/", {"pattern": "x", "issue": "SHOP-1"}).status_code == 403
    assert client.post(f"/projects/SHOP/known-failures/{rule.pk}/delete/").status_code == 403
    assert client.post(f"/projects/SHOP/known-failures/{rule.pk}/toggle/").status_code == 403
    assert KnownFailureRule.objects.filter(enabled=True).count() == 1


def test_a_paused_rule_recognizes_nothing_until_resumed(client, shop, member):
    rule = create_rule(shop, pattern="refused", issue_side=make_issue(shop))
    client.force_login(member)

    client.post(f"/projects/SHOP/known-failures/{rule.pk}/toggle/")
    paused_page = client.get("/projects/SHOP/known-failures/").content.decode()
    paused_run = TestRunFactory(project=shop)
    upload(member, paused_run)
    client.post(f"/projects/SHOP/known-failures/{rule.pk}/toggle/")
    resumed_run = TestRunFactory(project=shop)
    upload(member, resumed_run)

    assert "paused</span>" in paused_page and ">Resume</button>" in paused_page
    assert known_links(paused_run) == {} and set(known_links(resumed_run)) == {"test_card", "test_query"}


def test_an_invalid_pattern_is_explained_on_the_form(client, shop, member):
    make_issue(shop)
    client.force_login(member)

    page = client.post("/projects/SHOP/known-failures/", {"pattern": "(unclosed", "issue": "SHOP-1"}).content.decode()

    assert "Not a valid RE2 regular expression" in page and not KnownFailureRule.objects.exists()


def test_the_run_page_marks_known_failures_and_the_new_failures_page_leaves_them_out(client, shop, member):
    create_rule(shop, pattern="refused", issue_side=make_issue(shop))
    run = TestRunFactory(project=shop, name="Build 9")
    upload(member, run)
    client.force_login(member)

    run_page = client.get(f"/projects/SHOP/runs/{run.pk}/").content.decode()
    new_page = client.get(f"/projects/SHOP/runs/{run.pk}/new-failures/").content.decode()

    assert "<strong>1</strong> new failure" in run_page and "2 known" in run_page
    assert run_page.count('class="badge known-failure"') == 2
    assert "test_invoice" in new_page and "test_card" not in new_page and "test_query" not in new_page
