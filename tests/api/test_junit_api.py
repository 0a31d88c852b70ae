"""POST /api/testruns/{id}/junit: CI jobs upload JUnit XML reports into a run."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.importers import junit
from projects.models import TestCase, TestResult

from .helpers import database_state, junit_fixture

pytestmark = pytest.mark.django_db

REPORTS = {
    "pytest.xml": {"passed": 3, "failed": 2, "skipped": 1},
    "surefire-TEST-com.example.shop.CartTest.xml": {"passed": 1, "failed": 2, "skipped": 1},
    "jest-junit.xml": {"passed": 2, "failed": 1, "skipped": 1},
    "go-junit-report.xml": {"passed": 3, "failed": 1, "skipped": 1},
    "node-test.xml": {"passed": 4, "failed": 1, "skipped": 1},
    "ctest.xml": {"passed": 1, "failed": 2, "skipped": 2},
}


def upload(client, run, content, name="report.xml"):
    report = SimpleUploadedFile(name, content, content_type="application/xml")
    return client.post(f"/api/testruns/{run.pk}/junit", {"file": report}, format="multipart")


@pytest.mark.parametrize("fixture", REPORTS)
def test_a_report_of_each_tool_is_recorded(world, client_as, fixture):
    run = world.mine.run
    response = upload(client_as("member"), run, junit_fixture(fixture), fixture)

    assert response.status_code == 200
    total = sum(REPORTS[fixture].values())
    assert response.json() == {
        "cases_created": total,
        "results_created": total,
        "results_updated": 0,
        "statuses": REPORTS[fixture],
    }
    recorded = TestResult.objects.filter(run=run).exclude(pk=world.mine.result.pk)
    assert recorded.count() == total
    assert set(recorded.values_list("recorded_by__username", flat=True)) == {"member"}
    counts = client_as("viewer").get(f"/api/testruns/{run.pk}").json()
    assert counts["failed_count"] == REPORTS[fixture]["failed"] + 1  # plus the world's failed result


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml"])
def test_the_report_can_be_the_request_body(world, client_as, content_type):
    # curl -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/xml" --data-binary @report.xml ...
    response = client_as("member").post(
        f"/api/testruns/{world.mine.run.pk}/junit", junit_fixture("jest-junit.xml"), content_type=content_type
    )
    assert response.status_code == 200
    assert response.json()["results_created"] == 4


def test_uploading_the_next_builds_report_updates_the_same_cases(world, client_as):
    client = client_as("member")
    upload(client, world.mine.run, junit_fixture("pytest.xml"))
    again = upload(client, world.mine.run, junit_fixture("pytest.xml"))
    assert again.json()["cases_created"] == 0 and again.json()["results_updated"] == 6
    assert TestCase.objects.filter(project=world.project).exclude(automation_key="").count() == 6


@pytest.mark.parametrize(
    "fixture, message",
    [
        ("malformed.xml", "The report is not well-formed XML: mismatched tag: line 6, column 4."),
        (
            "billion-laughs.xml",
            "The report declares XML entities or external references, which are refused "
            "(JUnit reports never need them; they are how XML bombs work).",
        ),
    ],
)
def test_a_malformed_report_or_an_xml_bomb_is_refused_and_nothing_is_written(world, client_as, fixture, message):
    before = database_state()
    response = upload(client_as("member"), world.mine.run, junit_fixture(fixture))
    assert response.status_code == 400
    assert response.json() == {"message": message, "errors": {}}
    assert database_state() == before


def test_a_bomb_in_the_request_body_is_refused_too(world, client_as):
    before = database_state()
    response = client_as("member").post(
        f"/api/testruns/{world.mine.run.pk}/junit", junit_fixture("billion-laughs.xml"), content_type="application/xml"
    )
    assert response.status_code == 400
    assert database_state() == before


def test_a_report_nested_200000_levels_deep_is_refused_with_400_and_nothing_is_written(world, client_as):
    report = b"<testsuites>" + b"<testsuite>" * 200_000 + b"</testsuite>" * 200_000 + b"</testsuites>"
    before = database_state()
    response = upload(client_as("member"), world.mine.run, report)
    assert response.status_code == 400
    assert "nests elements more than 100 levels deep" in response.json()["message"]
    assert database_state() == before


def test_an_upload_without_a_file_says_what_is_missing(world, client_as):
    response = client_as("member").post(f"/api/testruns/{world.mine.run.pk}/junit", {}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {
        "message": "file: No file was submitted.",
        "errors": {"file": ["No file was submitted."]},
    }


def test_a_report_over_the_limit_is_refused(world, client_as, monkeypatch):
    monkeypatch.setattr(junit, "MAX_REPORT_BYTES", 1000)
    before = database_state()
    client = client_as("member")
    for response in (
        upload(client, world.mine.run, junit_fixture("surefire-TEST-com.example.shop.CartTest.xml")),
        client.post(
            f"/api/testruns/{world.mine.run.pk}/junit",
            junit_fixture("surefire-TEST-com.example.shop.CartTest.xml"),
            content_type="application/xml",
        ),
    ):
        assert response.status_code == 400
        assert response.json()["errors"] == {"file": ["The report is larger than 1000\xa0bytes."]}
    assert database_state() == before
