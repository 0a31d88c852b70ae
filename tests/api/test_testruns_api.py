"""/api/testruns and /api/testresults: runs with their results."""

from datetime import timedelta

import pytest

from projects.models import ResultStatus, TestResult, TestRun
from tests.factories import MembershipFactory, TestCaseFactory, TestResultFactory, TestRunFactory

from .helpers import database_state

pytestmark = pytest.mark.django_db


def test_a_run_is_created_with_untested_results_for_the_chosen_cases(world, client_as):
    second = TestCaseFactory(project=world.project)
    response = client_as("member").post(
        "/api/testruns",
        {
            "project": "SHOP",
            "name": "Release 2.1",
            "environment": "staging",
            "cases": [world.mine.case.pk, second.pk],
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["created_by"], body["result_count"], body["untested_count"]) == (
        "Release 2.1",
        "member",
        2,
        2,
    )
    run = TestRun.objects.get(pk=body["id"])
    assert sorted(run.results.values_list("case_id", flat=True)) == sorted([world.mine.case.pk, second.pk])
    assert set(run.results.values_list("status", flat=True)) == {ResultStatus.UNTESTED}


def test_a_run_with_unknown_cases_is_refused_whole(world, client_as):
    before = database_state()
    response = client_as("member").post(
        "/api/testruns",
        {
            "project": "SHOP",
            "name": "Release 2.1",
            "cases": [world.mine.case.pk, 424242],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"cases": ["SHOP has no test case with id 424242."]}
    assert database_state() == before


def test_runs_list_counts_results_per_status(world, client_as):
    run = TestRunFactory(project=world.project)
    for status in ("passed", "passed", "failed", "blocked", "skipped"):
        TestResultFactory(run=run, status=status)

    listed = client_as("viewer").get("/api/testruns?project=SHOP").json()["results"]

    counts = next(r for r in listed if r["id"] == run.pk)
    assert {k: v for k, v in counts.items() if k.endswith("_count")} == {
        "result_count": 5,
        "passed_count": 2,
        "failed_count": 1,
        "blocked_count": 1,
        "skipped_count": 1,
        "untested_count": 0,
    }


def test_a_runs_detail_lists_its_results(world, client_as):
    detail = client_as("viewer").get(f"/api/testruns/{world.mine.run.pk}").json()
    (result,) = detail["results"]
    assert result == {
        "id": world.mine.result.pk,
        "case": world.mine.case.pk,
        "case_title": world.mine.case.title,
        "status": "failed",
        "comment": "Actual: it did not work",
        "duration": 3.0,
        "step_results": [],
        "recorded_by": None,
        "recorded_at": result["recorded_at"],
        "assignee": None,
    }


def test_runs_are_filtered_by_completion_and_a_run_is_completed_by_patch(world, client_as):
    client = client_as("member")
    done = client.patch(f"/api/testruns/{world.mine.run.pk}", {"completed_at": "2026-03-01T10:00:00Z"}, format="json")
    assert done.status_code == 200 and done.json()["completed_at"] == "2026-03-01T10:00:00Z"
    open_run = TestRunFactory(project=world.project)

    assert [r["id"] for r in client.get("/api/testruns?completed=true").json()["results"]] == [world.mine.run.pk]
    assert [r["id"] for r in client.get("/api/testruns?completed=false").json()["results"]] == [open_run.pk]


def test_a_result_is_recorded_with_its_duration_in_seconds(world, client_as):
    case = TestCaseFactory(project=world.project)
    response = client_as("member").post(
        "/api/testresults",
        {
            "run": world.mine.run.pk,
            "case": case.pk,
            "status": "passed",
            "duration": 1.5,
            "comment": "ok",
        },
        format="json",
    )

    assert response.status_code == 201
    assert (response.json()["duration"], response.json()["recorded_by"]) == (1.5, "member")
    result = TestResult.objects.get(pk=response.json()["id"])
    assert (result.status, result.duration) == ("passed", timedelta(seconds=1.5))


def test_a_case_has_one_result_per_run(world, client_as):
    before = database_state()
    response = client_as("member").post(
        "/api/testresults",
        {
            "run": world.mine.run.pk,
            "case": world.mine.case.pk,
            "status": "passed",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["message"] == "This run already has a result for this test case; change that result instead."
    assert database_state() == before


def test_a_result_joins_a_case_and_a_run_of_the_same_project(world, client_as):
    MembershipFactory(project=world.other.project, user=world.users["member"])
    before = database_state()
    response = client_as("member").post(
        "/api/testresults",
        {
            "run": world.mine.run.pk,
            "case": world.other.case.pk,
            "status": "passed",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"case": ["The test case belongs to another project than the run."]}
    assert database_state() == before


def test_changing_a_result_records_who_changed_it(world, client_as):
    response = client_as("admin").patch(f"/api/testresults/{world.mine.result.pk}", {"status": "passed"}, format="json")
    assert response.status_code == 200
    result = TestResult.objects.get(pk=world.mine.result.pk)
    assert (result.status, result.comment) == ("passed", "Actual: it did not work")
    assert result.recorded_by.username == "admin"


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"status": "exploded"}, {"status": ['"exploded" is not a valid choice.']}),
        ({"duration": -1}, {"duration": ["Ensure this value is greater than or equal to 0."]}),
        ({"run": 424242}, {"run": ["Can only be set on create."]}),
    ],
)
def test_bad_result_changes_are_refused(world, client_as, body, errors):
    before = database_state()
    response = client_as("member").patch(f"/api/testresults/{world.mine.result.pk}", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert database_state() == before


def test_results_are_filtered_by_run_and_status(world, client_as):
    run = TestRunFactory(project=world.project)
    passed = TestResultFactory(run=run, status="passed")
    skipped = TestResultFactory(run=run, status="skipped")
    TestResultFactory(run=run, status="failed")
    client = client_as("viewer")

    listed = client.get(f"/api/testresults?run={run.pk}&status=passed&status=skipped&ordering=id").json()["results"]

    assert [r["id"] for r in listed] == [passed.pk, skipped.pk]
    bad = client.get("/api/testresults?status=exploded")
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"status": ["Select a valid choice. exploded is not one of the available choices."]}
