"""Invariants of projects and test artefacts, enforced by the database itself."""

import pytest
from django.db import DataError, IntegrityError

from projects.models import Membership, Project, Requirement, TestResult
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    RequirementFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key", ["SHOP", "AB", "QA2024", "ABCDEFGHIJ"])
def test_project_key_accepts_short_uppercase_keys(key):
    assert Project.objects.create(key=key, name="x").key == key


@pytest.mark.parametrize("key", ["shop", "A", "ABCDEFGHIJK", "1SHOP", "SH-OP", ""])
def test_project_key_rejects_bad_format(key):
    # PostgreSQL rejects an over-long key as a DataError before the CHECK runs.
    with pytest.raises((IntegrityError, DataError)):
        Project.objects.create(key=key, name="x")


def test_project_key_is_unique():
    Project.objects.create(key="SHOP", name="a")
    with pytest.raises(IntegrityError):
        Project.objects.create(key="SHOP", name="b")


def test_a_user_has_one_membership_per_project():
    membership = MembershipFactory()
    with pytest.raises(IntegrityError):
        Membership.objects.create(project=membership.project, user=membership.user, role="viewer")


def test_membership_role_must_be_known():
    with pytest.raises(IntegrityError):
        Membership.objects.create(project=ProjectFactory(), user=UserFactory(), role="owner")


def test_a_case_has_one_result_per_run():
    result = TestResultFactory()
    with pytest.raises(IntegrityError):
        TestResult.objects.create(run=result.run, case=result.case, status="passed")


def test_result_status_must_be_known():
    run = TestRunFactory()
    with pytest.raises(IntegrityError):
        TestResult.objects.create(run=run, case=TestCaseFactory(project=run.project), status="flaky")


def test_case_title_cannot_be_empty():
    with pytest.raises(IntegrityError):
        TestCaseFactory(title="")


def test_automation_key_is_unique_within_a_project_only():
    case = TestCaseFactory(automation_key="tests.test_cart::test_pay")
    TestCaseFactory(automation_key="tests.test_cart::test_pay")  # another project: fine
    TestCaseFactory(project=case.project, automation_key="")
    TestCaseFactory(project=case.project, automation_key="")  # blank keys never collide
    with pytest.raises(IntegrityError):
        TestCaseFactory(project=case.project, automation_key="tests.test_cart::test_pay")


@pytest.mark.parametrize("field,value", [("state", "archived"), ("priority", "P9")])
def test_requirement_choices_are_enforced(field, value):
    with pytest.raises(IntegrityError):
        RequirementFactory(**{field: value})


def test_read_only_requirement_needs_an_external_origin():
    with pytest.raises(IntegrityError):
        RequirementFactory(origin_read_only=True, origin_key="")


def test_pulled_requirement_is_unique_per_origin():
    requirement = RequirementFactory(origin_tracker="Jira", origin_key="SHOP-1")
    with pytest.raises(IntegrityError):
        Requirement.objects.create(project=requirement.project, title="dup", origin_tracker="Jira", origin_key="SHOP-1")
