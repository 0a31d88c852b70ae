"""Cases with structure: steps as (action, expected) pairs, priority, type, estimate, custom fields;
results with a status per step; a failed step's text in the filed issue's description."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from issues.filing.drafts import draft_from_result
from projects import services
from projects.models import DEFAULT_CASE_TYPES, CaseField, CaseFieldKind, CasePriority, ResultStatus, Role, TestCase
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    RequirementFactory,
    TestCaseFactory,
    TestResultFactory,
)

pytestmark = pytest.mark.django_db

BEFORE = [("projects", "0004_result_status_retest")]
AFTER = [("projects", "0005_case_structure")]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def member(client, project):
    user = MembershipFactory(project=project, role=Role.MEMBER).user
    client.force_login(user)
    return user


def test_a_new_project_starts_with_testrails_default_case_types(project):
    assert list(project.case_types.values_list("name", flat=True)) == list(DEFAULT_CASE_TYPES)
    assert "Smoke & Sanity" in DEFAULT_CASE_TYPES and len(DEFAULT_CASE_TYPES) == 12


def test_a_case_is_written_with_its_structure(project):
    CaseField.objects.create(project=project, name="runs", label="Runs", kind=CaseFieldKind.NUMBER)
    CaseField.objects.create(project=project, name="mobile", label="Mobile", kind=CaseFieldKind.CHECKBOX)
    case = services.create_case(
        project=project,
        title="Pay",
        folder=" Checkout / ",
        steps=[
            {"action": " Open ", "expected": ""},
            {"action": "", "expected": ""},
            {"action": "Pay", "expected": "Paid"},
        ],
        priority="low",
        case_type=project.case_types.get(name="Regression"),
        estimate=timedelta(minutes=2),
        custom_fields={"runs": "3", "mobile": True},
    )
    case.refresh_from_db()
    assert case.folder == "Checkout"
    assert case.steps == [{"action": "Open", "expected": ""}, {"action": "Pay", "expected": "Paid"}]
    assert (case.priority, case.case_type.name, case.estimate) == ("low", "Regression", timedelta(minutes=2))
    assert case.custom_fields == {"runs": 3, "mobile": True}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"steps": "1. Pay"}, "steps"),
        ({"custom_fields": {"nope": 1}}, "custom_fields"),
    ],
)
def test_values_that_do_not_fit_are_refused_naming_the_field(project, fields, field):
    with pytest.raises(ValidationError) as refused:
        services.create_case(project=project, title="Pay", **fields)
    assert field in refused.value.message_dict
    assert not TestCase.objects.exists()


def test_another_projects_case_type_is_refused(project):
    elsewhere = ProjectFactory(key="BANK").case_types.first()
    with pytest.raises(ValidationError) as refused:
        services.create_case(project=project, title="Pay", case_type=elsewhere)
    assert "case_type" in refused.value.message_dict


def test_steps_render_as_a_numbered_list_with_expected_results():
    case = TestCase(steps=[{"action": "Open\nthe cart", "expected": "It opens"}, {"action": "Pay", "expected": ""}])
    assert case.steps_markdown() == "1. Open\n   the cart\n\n   **Expected:** It opens\n2. Pay"


def test_the_failed_steps_text_goes_into_the_filed_issues_description(project):
    result = TestResultFactory(run__project=project, status=ResultStatus.FAILED)
    services.record_result(
        result,
        status=ResultStatus.FAILED,
        comment="Spinner forever",
        step_results=[
            {"action": "Open the cart", "expected": "", "status": "passed"},
            {"action": "Press Pay", "expected": "A receipt", "status": "failed"},
        ],
    )

    description = draft_from_result(result, "http://testserver/r")["description"]

    assert "### Failed step\n\nStep 2: Press Pay\n\n**Expected:** A receipt" in description
    assert "**Status:** Failed" in description and "Spinner forever" in description


def test_a_step_status_that_is_no_result_status_is_refused(project):
    result = TestResultFactory(run__project=project)
    with pytest.raises(ValidationError):
        services.record_result(result, status="failed", step_results=[{"action": "Pay", "status": "broken"}])
    result.refresh_from_db()
    assert result.step_results == []


class PageTests:
    def test_the_result_form_records_a_status_per_step(self, client, member, project):
        result = TestResultFactory(run__project=project, status=ResultStatus.UNTESTED)
        url = reverse("projects:result", args=["SHOP", result.run_id, result.pk])
        page = client.get(url)
        assert 'name="step_2"' in page.text and "Step 2: Press the button" in page.text

        client.post(url, {"status": "failed", "step_1": "passed", "step_2": "failed", "comment": "Nothing happens"})

        result.refresh_from_db()
        assert [(step["action"], step["status"]) for step in result.step_results] == [
            ("Open the page", "passed"),
            ("Press the button", "failed"),
        ]
        assert "status-failed" in client.get(url).text.split('id="steps"')[1]

    def test_the_case_form_shows_and_saves_custom_fields(self, client, member, project):
        CaseField.objects.create(
            project=project, name="browser", label="Browser", kind=CaseFieldKind.SELECT, options=["Chrome", "Firefox"]
        )
        form = client.get(reverse("projects:case_create", args=["SHOP"]))
        assert '<label for="id_custom_browser">Browser:</label>' in form.text

        client.post(
            reverse("projects:case_create", args=["SHOP"]),
            {
                "title": "Pay",
                "priority": "medium",
                "custom_browser": "Firefox",
                "steps-TOTAL_FORMS": "0",
                "steps-INITIAL_FORMS": "0",
            },
        )

        case = TestCase.objects.get()
        assert case.custom_fields == {"browser": "Firefox"}
        assert "Firefox" in client.get(reverse("projects:case", args=["SHOP", case.pk])).text

    def test_the_estimate_is_typed_as_a_duration_and_shown_back_the_same_way(self, client, member, project):
        smoke = project.case_types.get(name="Smoke & Sanity")
        client.post(
            reverse("projects:case_create", args=["SHOP"]),
            {
                "title": "Pay",
                "priority": "medium",
                "case_type": smoke.pk,
                "estimate": "1m 30s",
                "steps-TOTAL_FORMS": "0",
                "steps-INITIAL_FORMS": "0",
            },
        )

        case = TestCase.objects.get()
        assert (case.estimate, case.case_type) == (timedelta(seconds=90), smoke)
        edit = client.get(reverse("projects:case_edit", args=["SHOP", case.pk])).text
        assert 'value="1m 30s"' in edit and f'<option value="{smoke.pk}" selected>Smoke &amp; Sanity</option>' in edit

    def test_the_case_form_shows_and_saves_each_kind_of_custom_field(self, client, member, project):
        for name, kind, options in (
            ("build", CaseFieldKind.TEXT, []),
            ("runs", CaseFieldKind.NUMBER, []),
            ("browser", CaseFieldKind.SELECT, ["Chrome", "Firefox"]),
            ("mobile", CaseFieldKind.CHECKBOX, []),
        ):
            CaseField.objects.create(project=project, name=name, label=name.title(), kind=kind, options=options)
        form = client.get(reverse("projects:case_create", args=["SHOP"])).text
        assert 'type="text" name="custom_build"' in form and 'type="number" name="custom_runs"' in form
        assert '<select name="custom_browser"' in form and 'type="checkbox" name="custom_mobile"' in form
        priorities = form.split('name="priority"')[1].split("</select>")[0]
        assert [label for label in ("Critical", "High", "Medium", "Low") if f">{label}</option>" in priorities] == [
            "Critical",
            "High",
            "Medium",
            "Low",
        ]

        client.post(
            reverse("projects:case_create", args=["SHOP"]),
            {
                "title": "Pay",
                "priority": "high",
                "custom_build": "2.4.1",
                "custom_runs": "3",
                "custom_browser": "Chrome",
                "custom_mobile": "on",
                "steps-TOTAL_FORMS": "0",
                "steps-INITIAL_FORMS": "0",
            },
        )

        case = TestCase.objects.get()
        assert case.custom_fields == {"build": "2.4.1", "runs": 3, "browser": "Chrome", "mobile": True}
        assert CasePriority.values == ["critical", "high", "medium", "low"]

    def test_a_bad_estimate_is_shown_on_the_form_and_nothing_is_saved(self, client, member, project):
        response = client.post(
            reverse("projects:case_create", args=["SHOP"]),
            {
                "title": "Pay",
                "priority": "medium",
                "estimate": "soon",
                "steps-TOTAL_FORMS": "0",
                "steps-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 200 and "Enter a duration such as" in response.text
        assert not TestCase.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_flat_steps_into_one_pair_each_losing_nothing():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    project = old.get_model("projects", "Project").objects.create(key="OLD", name="Old")
    OldCase = old.get_model("projects", "TestCase")
    written = OldCase.objects.create(project=project, title="Written", steps="1. Open\n2. Pay", expected_result="Paid")
    steps_only = OldCase.objects.create(project=project, title="Steps only", steps="Just do it")
    empty = OldCase.objects.create(project=project, title="Empty")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    cases = {case.pk: case for case in TestCase.objects.all()}
    assert cases[written.pk].steps == [{"action": "1. Open\n2. Pay", "expected": "Paid"}]
    assert cases[steps_only.pk].steps == [{"action": "Just do it", "expected": ""}]
    assert cases[empty.pk].steps == []
    assert TestCase.objects.get(pk=written.pk).project.case_types.count() == len(DEFAULT_CASE_TYPES)


def test_factories_still_build_structured_cases(project):
    assert TestCaseFactory(project=project).steps[1] == {"action": "Press the button", "expected": "It works"}


def test_the_requirement_list_has_folders(client, member, project):
    RequirementFactory(project=project, title="Cards", folder="Checkout/Pay")
    RequirementFactory(project=project, title="Login", folder="Accounts")
    page = client.get(reverse("projects:requirements", args=["SHOP"]), {"folder": "Checkout"})
    assert "Cards" in page.text and "Login" not in page.text.split('id="requirements"')[1]
    assert 'id="requirement-folders"' in page.text and 'aria-current="true"' in page.text
