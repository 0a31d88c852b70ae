"""The API's error shape, and its OpenAPI schema and documentation page."""

import re

import pytest
import yaml
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management import call_command
from rest_framework.test import APIClient

from integrations.models import Provider
from testmanager.api_exceptions import api_exception_handler

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_clear_400(world, client_as):
    response = client_as("member").post("/api/testcases", '{"project": "SHOP",', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("JSON parse error")
    assert response.json()["errors"] == {}


def test_an_unsupported_method_or_media_type_answers_in_the_same_shape(world, client_as):
    client = client_as("member")
    assert client.put("/api/testcases", {}, format="json").json() == {
        "message": 'Method "PUT" not allowed.',
        "errors": {},
    }
    unsupported = client.post("/api/testcases", "title=x", content_type="text/csv")
    assert unsupported.status_code == 415
    assert unsupported.json() == {"message": 'Unsupported media type "text/csv" in request.', "errors": {}}


@pytest.mark.parametrize(
    "error, body",
    [
        (
            DjangoValidationError({"name": ["Too long."], "__all__": ["Not allowed here."]}),
            {"message": "Not allowed here.", "errors": {"name": ["Too long."]}},
        ),
        (
            DjangoValidationError("Attachments may be at most 10 KiB."),
            {"message": "Attachments may be at most 10 KiB.", "errors": {}},
        ),
    ],
)
def test_validation_errors_of_services_answer_400_with_message_and_fields(error, body):
    response = api_exception_handler(error, {})
    assert (response.status_code, response.data) == (400, body)


def test_the_schema_validates_without_warnings(tmp_path):
    schema = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema))
    paths = yaml.safe_load(schema.read_text())["paths"]
    for path in (
        "/api/auth/token",
        "/api/auth/me",
        "/api/projects",
        "/api/testcases",
        "/api/testruns/{id}/junit",
        "/api/testresults",
        "/api/requirements",
        "/api/issues/create",
        "/api/issues/{issueId}",
        "/api/issues/{issueId}/link",
        "/api/issues/{issueId}/unlink",
        "/api/defects",
    ):
        assert path in paths


def test_the_schema_and_the_docs_page_are_served():
    client = APIClient()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert yaml.safe_load(schema.content)["openapi"].startswith("3.")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"/api/schema/" in docs.content
    # Served from this installation's static files, never from a CDN.
    sources = re.findall(r'(?:src|href)="([^"]+)"', docs.content.decode())
    assert sources and all(source.startswith("/static/") for source in sources if "swagger" in source)
    assert "cdn" not in docs.content.decode().lower()


def test_the_schema_lists_every_tracker_as_the_provider_enum(tmp_path):
    schema = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(schema))

    enum = yaml.safe_load(schema.read_text())["components"]["schemas"]["ProviderEnum"]["enum"]

    assert enum == list(Provider.values)
    assert "redmine" in enum
