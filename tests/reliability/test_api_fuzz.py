"""Property-based fuzzing of the REST API from its own OpenAPI document (/api/schema/): for every
operation, generated valid and invalid requests from an authenticated project admin never get a 5xx,
and every answer matches the documented content type and response schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from projects.models import ApiToken, Role
from tests.factories import MembershipFactory, RequirementFactory, TestResultFactory, make_issue
from testmanager.wsgi import application

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_token(db):
    """A bearer token of an admin of FUZZ, a project holding one object of each kind."""
    membership = MembershipFactory(project__key="FUZZ", role=Role.ADMIN)
    result = TestResultFactory(run__project=membership.project, case__project=membership.project)
    RequirementFactory(project=membership.project)
    make_issue(membership.project)
    assert result.pk
    return ApiToken.objects.issue(user=membership.user, name="fuzzing")[1]


# The document is public and built without the database, so it is loaded once, at collection.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@schema.parametrize()
@hypothesis_settings(
    max_examples=12, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_error_and_every_answer_as_documented(case, api_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_token}"}, checks=CHECKS)
