"""Integer query parameters the database cannot hold answer 400 naming the parameter, on every
backend: SQLite used to raise OverflowError (a 500) and PostgreSQL to answer an empty page."""

import pytest
from django_filters import rest_framework as filters

from issues.core.api import IssueFilter
from projects.api import DatabaseIntegerFilter, ProjectFilter, TestResultFilter
from projects.models import TestResult

TOO_LARGE = "99999999999999999999"


@pytest.mark.parametrize("value", [TOO_LARGE, f"-{TOO_LARGE}", "1e30", "1.5", "nine"])
def test_the_filter_set_refuses_values_that_are_not_a_database_integer(value):
    # No query is made: this runs the same on SQLite and PostgreSQL.
    filterset = TestResultFilter(data={"run": value}, queryset=TestResult.objects.none())

    assert not filterset.is_valid()
    assert list(filterset.errors) == ["run"]


@pytest.mark.parametrize("value", ["1", str(2**63 - 1), str(-(2**63))])
def test_the_filter_set_accepts_the_whole_64_bit_range(value):
    assert TestResultFilter(data={"case": value}, queryset=TestResult.objects.none()).is_valid()


def test_every_number_filter_of_the_api_is_range_checked():
    filter_sets = {TestResultFilter, IssueFilter, *ProjectFilter.__subclasses__()}
    unchecked = [
        f"{filterset.__name__}.{name}"
        for filterset in filter_sets
        for name, declared in filterset.base_filters.items()
        if isinstance(declared, filters.NumberFilter) and not isinstance(declared, DatabaseIntegerFilter)
    ]

    assert unchecked == []
    assert isinstance(TestResultFilter.base_filters["run"], DatabaseIntegerFilter)


@pytest.mark.django_db
@pytest.mark.parametrize("parameter", ["run", "case"])
def test_the_api_answers_400_for_an_id_too_large_for_the_database(world, client_as, parameter):
    response = client_as("member").get(f"/api/testresults?{parameter}={TOO_LARGE}")

    assert response.status_code == 400
    assert response.json()["errors"] == {parameter: [f"Ensure this value is less than or equal to {2**63 - 1}."]}


@pytest.mark.django_db
def test_an_id_in_range_still_filters(world, client_as):
    response = client_as("member").get(f"/api/testresults?run={world.mine.run.pk}")

    assert response.status_code == 200 and response.json()["count"] >= 1
