"""/api/testcases: test cases of the caller's projects."""

import pytest

from projects.models import TestCase
from tests.factories import TestCaseFactory

from .helpers import database_state

pytestmark = pytest.mark.django_db


def test_a_member_creates_a_case_with_a_tidy_folder(world, client_as):
    response = client_as("member").post(
        "/api/testcases",
        {
            "project": "SHOP",
            "title": "Pay by card",
            "folder": "/ Checkout //Payment/ ",
            "steps": [{"action": "Pay", "expected": "Paid"}],
            "automation_key": "tests.test_pay.test_card",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["project"], body["folder"], body["created_by"]) == ("SHOP", "Checkout/Payment", "member")
    case = TestCase.objects.get(pk=body["id"])
    assert (case.title, case.automation_key, case.created_by.username) == (
        "Pay by card",
        "tests.test_pay.test_card",
        "member",
    )


def test_an_automation_key_is_unique_in_its_project(world, client_as):
    TestCaseFactory(project=world.project, automation_key="tests.test_pay.test_card")
    TestCaseFactory(project=world.other.project, automation_key="tests.test_pay.test_other")
    client = client_as("member")
    before = database_state()

    duplicate = client.post(
        "/api/testcases",
        {"project": "SHOP", "title": "Again", "automation_key": "tests.test_pay.test_card"},
        format="json",
    )

    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == {"automation_key": ["Another test case of SHOP has this automation key."]}
    assert database_state() == before
    # Manual cases have no key, and another project's keys are not in the way.
    for key in ("", "", "tests.test_pay.test_other"):
        assert (
            client.post(
                "/api/testcases", {"project": "SHOP", "title": "Manual", "automation_key": key}, format="json"
            ).status_code
            == 201
        )


def test_a_case_needs_a_title(world, client_as):
    before = database_state()
    response = client_as("member").post("/api/testcases", {"project": "SHOP", "title": " "}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "message": "title: This field may not be blank.",
        "errors": {"title": ["This field may not be blank."]},
    }
    assert database_state() == before


def test_several_bad_fields_are_all_reported(world, client_as):
    response = client_as("member").post("/api/testcases", {"project": "NOPE", "title": ""}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "message": "2 fields are invalid: project, title.",
        "errors": {"project": ["No project with key NOPE."], "title": ["This field may not be blank."]},
    }


def test_a_case_is_edited_but_stays_in_its_project(world, client_as):
    client = client_as("member")
    url = f"/api/testcases/{world.mine.case.pk}"
    assert client.patch(url, {"title": "Renamed", "folder": "A/B/"}, format="json").json()["folder"] == "A/B"

    moved = client.patch(url, {"project": "BANK"}, format="json")
    assert moved.status_code == 400 and moved.json()["errors"] == {"project": ["Can only be set on create."]}
    assert TestCase.objects.get(pk=world.mine.case.pk).project == world.project


def test_cases_are_filtered_by_folder_with_subfolders_searched_and_ordered(world, client_as):
    TestCase.objects.all().delete()
    for folder, title in (("Checkout", "Pay"), ("Checkout/Card", "Visa"), ("Checkouts", "Elsewhere"), ("Cart", "Add")):
        TestCaseFactory(project=world.project, folder=folder, title=title, steps="")
    client = client_as("viewer")

    def titles(query):
        return [case["title"] for case in client.get(f"/api/testcases?{query}").json()["results"]]

    assert titles("folder=Checkout") == ["Pay", "Visa"]
    assert titles("search=visa") == ["Visa"]
    assert titles("ordering=-title") == ["Visa", "Pay", "Elsewhere", "Add"]
    assert titles("project=SHOP&page_size=1&page=2") == ["Pay"]


def test_a_member_deletes_a_case(world, client_as):
    assert client_as("member").delete(f"/api/testcases/{world.mine.case.pk}").status_code == 204
    assert not TestCase.objects.filter(pk=world.mine.case.pk).exists()
