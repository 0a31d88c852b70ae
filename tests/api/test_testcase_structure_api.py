"""/api/testcases with structure: steps as (action, expected) pairs, description, priority, type,
estimate in seconds, custom fields; the project from `project` (key or id) or the caller's only
project; unknown fields refused by name."""

from datetime import timedelta

import pytest

from projects.models import CaseField, CaseFieldKind, Role, TestCase
from tests.factories import MembershipFactory, ProjectFactory, TestCaseFactory

from .conftest import bearer_client
from .helpers import database_state

pytestmark = pytest.mark.django_db

STEPS = [{"action": "Open the cart", "expected": "The cart lists the item"}, {"action": "Pay", "expected": "Paid"}]


@pytest.fixture
def browser_field(world):
    return CaseField.objects.create(
        project=world.project, name="browser", label="Browser", kind=CaseFieldKind.SELECT, options=["Chrome", "Firefox"]
    )


def post(client, body):
    return client.post("/api/testcases", body, format="json")


def test_the_documented_example_works_as_given_for_a_member_of_one_project(world, client_as):
    response = post(client_as("member"), {"title": "Pay by card", "description": "Checks that **cards** are taken."})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["project"], body["title"], body["description"]) == (
        "SHOP",
        "Pay by card",
        "Checks that **cards** are taken.",
    )
    assert (body["priority"], body["type"], body["estimate"], body["steps"], body["custom_fields"]) == (
        "medium",
        None,
        None,
        [],
        {},
    )


def test_a_case_with_every_field_reads_back_as_written(world, client_as, browser_field):
    response = post(
        client_as("member"),
        {
            "project": world.project.pk,
            "title": "Pay by card",
            "priority": "critical",
            "type": "smoke & sanity",
            "estimate": 90,
            "preconditions": "A saved card",
            "steps": STEPS,
            "custom_fields": {"browser": "Firefox"},
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["priority"], body["type"], body["estimate"], body["steps"]) == (
        "critical",
        "Smoke & Sanity",
        90,
        STEPS,
    )
    case = TestCase.objects.get(pk=body["id"])
    assert (case.estimate, case.case_type.name, case.custom_fields) == (
        timedelta(seconds=90),
        "Smoke & Sanity",
        {"browser": "Firefox"},
    )
    assert client_as("viewer").get(f"/api/testcases/{case.pk}").json()["steps"] == STEPS


@pytest.mark.parametrize("estimate", ["1m 30s", "90s", "1:30", 90, "90"])
def test_an_estimate_may_be_written_as_a_duration_and_is_answered_in_whole_seconds(world, client_as, estimate):
    response = post(client_as("member"), {"project": "SHOP", "title": "Slow", "estimate": estimate})
    assert response.status_code == 201, response.json()
    answered = response.json()["estimate"]
    assert (answered, type(answered)) == (90, int)
    assert client_as("viewer").get(f"/api/testcases/{response.json()['id']}").content.count(b'"estimate":90,') == 1


@pytest.mark.parametrize(
    ("estimate", "problem"),
    [
        ("soon", "Enter whole seconds (90) or a duration such as 1m 30s."),
        (-5, "Enter whole seconds (90) or a duration such as 1m 30s."),
        (True, "Enter whole seconds (90) or a duration such as 1m 30s."),
        ("8d", "Enter whole seconds (90) or a duration such as 1m 30s."),
        ("200h", "An estimate cannot be longer than 7 days."),
    ],
)
def test_a_bad_estimate_is_refused_naming_estimate(world, client_as, estimate, problem):
    before = database_state()
    response = post(client_as("member"), {"project": "SHOP", "title": "Slow", "estimate": estimate})
    assert response.status_code == 400
    assert response.json()["errors"] == {"estimate": [problem]}
    assert database_state() == before


@pytest.mark.parametrize("spelling", ["Smoke & Sanity", "smoke and sanity", "SMOKE  &  SANITY", "Smoke And Sanity"])
def test_a_type_may_be_written_the_testrail_way_or_in_any_case(world, client_as, spelling):
    response = post(client_as("member"), {"project": "SHOP", "title": "Quick look", "type": spelling})
    assert response.status_code == 201, response.json()
    assert response.json()["type"] == "Smoke & Sanity"
    assert world.project.case_types.filter(name__icontains="smoke").count() == 1


def test_an_unknown_field_is_refused_naming_it(world, client_as):
    before = database_state()
    response = post(client_as("member"), {"project": "SHOP", "titel": "Typo", "title": "Pay", "expected_result": "x"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"expected_result": ["Unknown field."], "titel": ["Unknown field."]}
    assert database_state() == before


def test_without_a_project_a_member_of_several_projects_is_told_to_name_it(world, client_as):
    MembershipFactory(project=world.other.project, user=world.users["member"], role=Role.MEMBER)
    before = database_state()
    response = post(client_as("member"), {"title": "Where?"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["project"]
    assert database_state() == before


def test_another_projects_id_reads_as_nonexistent(world, client_as):
    response = post(client_as("member"), {"project": world.other.project.pk, "title": "Elsewhere"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"project": [f"No project with id {world.other.project.pk}."]}


@pytest.mark.parametrize(
    ("custom_fields", "problem"),
    [
        ({"browser": "Safari"}, "browser: “Safari” is not one of Chrome, Firefox."),
        ({"colour": "red"}, "custom_fields: SHOP has no custom field colour."),
    ],
)
def test_a_custom_value_the_project_does_not_know_is_refused(world, client_as, browser_field, custom_fields, problem):
    before = database_state()
    response = post(client_as("member"), {"project": "SHOP", "title": "Pay", "custom_fields": custom_fields})
    assert response.status_code == 400
    assert response.json()["errors"] == {"custom_fields": [problem]}
    assert database_state() == before


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ("1. Pay", 'Expected a list of {"action": ..., "expected": ...} objects.'),
        ([{"action": "Pay", "result": "Paid"}], "Step 1: unknown field result."),
        ([{"action": 3}], "Step 1: action and expected must be text."),
    ],
)
def test_steps_that_are_not_pairs_are_refused(world, client_as, steps, problem):
    response = post(client_as("member"), {"project": "SHOP", "title": "Pay", "steps": steps})
    assert response.status_code == 400
    assert response.json()["errors"] == {"steps": [problem]}


def test_an_unknown_type_is_refused_listing_the_projects_types(world, client_as):
    response = post(client_as("member"), {"project": "SHOP", "title": "Pay", "type": "Exploratory"})
    assert response.status_code == 400
    assert response.json()["errors"]["type"][0].startswith("SHOP has no case type “Exploratory”: Acceptance, ")


def test_a_patch_changes_the_steps_and_keeps_the_rest(world, client_as):
    case = TestCaseFactory(project=world.project, priority="high")
    response = client_as("member").patch(f"/api/testcases/{case.pk}", {"steps": STEPS[:1]}, format="json")
    assert response.status_code == 200, response.json()
    case.refresh_from_db()
    assert (case.steps, case.priority) == (STEPS[:1], "high")


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("member", 201), ("admin", 201), ("outsider", 400), ("anonymous", 401)]
)
def test_who_may_create_a_case(world, client_as, role, status):
    """projects.permissions: editing needs the member role; outsiders cannot even name the project."""
    response = post(client_as(role), {"project": "SHOP", "title": "Pay", "steps": STEPS})
    assert response.status_code == status


def test_a_superuser_in_no_project_must_name_it(world):
    admin = MembershipFactory(project=ProjectFactory(key="ZED"), role=Role.ADMIN).user
    admin.is_superuser = True
    admin.save()
    response = post(bearer_client(admin), {"title": "Where?"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["project"]


def test_requirements_have_folders_in_the_api(world, client_as):
    response = client_as("member").post(
        "/api/requirements", {"project": "SHOP", "title": "Cards", "folder": "/ Checkout // Pay /"}, format="json"
    )
    assert response.status_code == 201 and response.json()["folder"] == "Checkout/Pay"
    listed = client_as("viewer").get("/api/requirements", {"folder": "Checkout"}).json()["results"]
    assert [item["title"] for item in listed] == ["Cards"]
    assert client_as("viewer").get("/api/requirements", {"folder": "Check"}).json()["results"] == []


def test_a_result_records_a_status_per_step(world, client_as):
    result = world.mine.result
    steps = [{"action": "Open the page", "expected": "", "status": "passed"}, {"action": "Press", "status": "failed"}]
    response = client_as("member").patch(f"/api/testresults/{result.pk}", {"step_results": steps}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["step_results"] == [
        {"action": "Open the page", "expected": "", "status": "passed"},
        {"action": "Press", "expected": "", "status": "failed"},
    ]
    refused = client_as("member").patch(
        f"/api/testresults/{result.pk}", {"step_results": [{"action": "x", "status": "broken"}]}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["errors"] == {
        "step_results": ["Step 1: unknown status 'broken'."]
    }


def test_search_finds_text_inside_steps_and_descriptions(world, client_as):
    TestCaseFactory(project=world.project, title="A", steps=[{"action": "Scan the QR code", "expected": ""}])
    TestCaseFactory(project=world.project, title="B", description="Checks the **refund** path")
    client = client_as("viewer")
    assert [c["title"] for c in client.get("/api/testcases", {"search": "qr code"}).json()["results"]] == ["A"]
    assert [c["title"] for c in client.get("/api/testcases", {"search": "refund"}).json()["results"]] == ["B"]


def test_malformed_step_results_are_refused_naming_the_step_and_change_nothing(world, client_as):
    result = world.mine.result
    before = list(result.step_results)
    for steps, message in [
        ([{"action": "Open"}, {"action": 3}], "Step 2: action and expected must be text."),
        ([{"action": "Open", "colour": "red"}], "Step 1: unknown field colour."),
        (["Open"], 'Step 1: expected an object {"action": ..., "expected": ...}.'),
        ("Open", "Expected a list of steps with a status each."),
    ]:
        refused = client_as("member").patch(f"/api/testresults/{result.pk}", {"step_results": steps}, format="json")
        assert refused.status_code == 400 and refused.json()["errors"] == {"step_results": [message]}
    result.refresh_from_db()
    assert result.step_results == before
