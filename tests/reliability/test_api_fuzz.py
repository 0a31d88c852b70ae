"""Property-based fuzzing of the REST API from its own OpenAPI document (/api/schema/): for every
operation, generated valid and invalid requests from an authenticated project admin never get a 5xx,
and every answer matches the documented content type and response schema."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from projects.models import ApiToken, Role, TestResult
from testmanager.wsgi import application
from tests.factories import MembershipFactory, RequirementFactory, TestResultFactory, make_issue

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _keep_the_test_connection_open():
    """Schemathesis calls the WSGI app directly, so Django would close the database connection at
    the end of each request, inside the test's transaction (PostgreSQL then answers "the connection
    is closed"). Django's own test client disconnects the same handlers for the same reason."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


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
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_error_and_every_answer_as_documented(case, api_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_token}"}, checks=CHECKS)


# What the fuzzing found, pinned so the fixes stay without relying on the generator finding them again.


def bearer(api_token):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token}"}


def test_a_duration_beyond_a_week_is_refused_not_a_server_error(client, api_token):
    result = TestResult.objects.get()
    body = {"run": result.run_id, "case": result.case_id, "status": "passed"}

    for seconds in (7 * 24 * 3600 + 1, 1e300):
        response = client.post(
            "/api/testresults", {**body, "duration": seconds}, content_type="application/json", **bearer(api_token)
        )
        assert response.status_code == 400 and "duration" in response.json()["errors"]


def test_a_project_reference_of_non_ascii_digits_is_a_missing_key(client, api_token):
    assert client.get("/api/projects/%C2%B3/integrations", **bearer(api_token)).status_code == 404


def test_users_gone_from_a_record_are_null_and_documented_as_nullable(client, api_token):
    document = client.get("/api/schema/?format=json").json()["components"]["schemas"]

    for schema, field in (
        ("TestCase", "created_by"),
        ("TestRun", "created_by"),
        ("TestResult", "recorded_by"),
        ("Issue", "reporter"),
    ):
        assert document[schema]["properties"][field].get("nullable") is True, (schema, field)
    assert "format" not in document["Requirement"]["properties"]["origin_url"]
