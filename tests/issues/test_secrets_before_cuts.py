"""A tracker that echoes the credential it was sent, placed just before where its message is cut,
leaves no fragment of it anywhere a person or a log can read: test-connection output (admin page
and API), the audit log, the source's health, the viewer's "refresh failed" tooltip and the Celery
result of the refresh. Every credential form is covered: the raw token, its URL encoding and the
base64 of ``email:token`` that HTTP basic authentication sends (issue 17 point 13).

The fake is Jira Cloud answering with its documented ErrorCollection
(``{"errorMessages": [...], "errors": {...}}``)."""

import base64
import json
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.models import AuditAction, AuditEvent, Source
from integrations.services import record_audit, source_excerpt
from issues.links.services import link
from issues.sync import tasks
from projects.models import Role
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    TestResultFactory,
    UserFactory,
)
from tests.fakes.fixtures import CLOUD_LOGIN
from tests.fakes.jira import JiraFake
from tests.issues.sync_support import jira_cloud_source

pytestmark = pytest.mark.django_db

# A Jira Cloud API token, with the characters URL encoding and base64 treat specially.
TOKEN = "ATATT3xFfGF0Qz+Wm2Rv/7LpYd=Hs8Nc5Tb"
TRACKER_CUT = 300  # the tracker's own words are cut there (integrations.http); the secret starts at 280


def _basic() -> tuple[str, str]:
    """(what the tracker received in the Authorization header, the part that encodes only the token)."""
    prefix = f"{CLOUD_LOGIN}:".encode()
    encoded = base64.b64encode(prefix + TOKEN.encode()).decode()
    first = -(-len(prefix) * 8 // 6)  # the first base64 character made only of the token's bits
    return encoded, encoded[first : (len(prefix) + len(TOKEN)) * 8 // 6]


FORMS = {
    "raw": (TOKEN, TOKEN),
    "url-encoded": (quote(TOKEN, safe=""), quote(TOKEN, safe="")),
    "basic": _basic(),
}


def echo(form: str, secret: str) -> dict:
    """Jira's error body repeating ``form`` so that its secret characters start at character 280."""
    padding = "x" * (TRACKER_CUT - 20 - form.index(secret))
    return {"errorMessages": [f"{padding}{form} is not a valid credential"], "errors": {}}


def assert_no_fragment(text: str, secret: str, where: str) -> None:
    """Not even six consecutive characters of the secret."""
    for start in range(len(secret) - 5):
        assert secret[start : start + 6] not in text, f"{secret[start : start + 6]!r} of the secret is in {where}"


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def jira():
    fake = JiraFake("cloud")
    fake.set_credentials(CLOUD_LOGIN, TOKEN)
    fake.add_project("SHOP")
    with fake:
        yield fake


@pytest.fixture
def source(jira):
    return jira_cloud_source(jira, credentials={"email": CLOUD_LOGIN, "api_token": TOKEN}, can_process_webhooks=False)


@pytest.mark.parametrize("form, secret", FORMS.values(), ids=FORMS.keys())
def test_test_connection_output_audit_log_and_health_hold_no_fragment_of_an_echoed_secret(
    client, jira, source, form, secret
):
    jira.fail_next(401, echo(form, secret), path=r"/rest/api/\d/myself", count=2)
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    api = APIClient()
    api.force_authenticate(admin)

    page = client.post(reverse("admin:integrations_source_test_connection", args=[source.pk]), follow=True)
    answer = api.post(reverse("api-integrations-test-connection"), {"source": source.pk}, format="json")

    assert answer.status_code == 200 and answer.json()["ok"] is False
    assert "The tracker says: xxx" in answer.json()["message"]  # the tracker's words are still told
    assert_no_fragment(page.content.decode(), secret, "the admin's test-connection page")
    assert_no_fragment(json.dumps(answer.json()), secret, "the API's test-connection answer")
    audit = list(AuditEvent.objects.values("target", "message", "details"))
    assert len(audit) >= 2
    assert_no_fragment(json.dumps(audit, default=str), secret, "the audit log")
    assert_no_fragment(Source.objects.get().health_error, secret, "the source's health")
    audit_page = client.get(reverse("admin:integrations_auditevent_changelist"))
    assert_no_fragment(audit_page.content.decode(), secret, "the audit log page")


@pytest.mark.parametrize("form, secret", FORMS.values(), ids=FORMS.keys())
def test_a_failed_refresh_shows_a_viewer_and_returns_to_celery_no_fragment_of_an_echoed_secret(
    client, jira, source, form, secret
):
    project = ProjectFactory(key="SHOP")
    result = TestResultFactory(run__project=project, case__project=project)
    reference = ExternalReferenceFactory(source=source, key="SHOP-1", url=f"{jira.base_url}/browse/SHOP-1")
    link(artefact=result, reference=reference)
    viewer = MembershipFactory(project=project, role=Role.VIEWER).user
    jira.fail_next(401, echo(form, secret), count=5)

    report = tasks.refresh_references.apply(args=(source.pk, [reference.pk])).get()

    assert report["failed"] == 1 and "The tracker says: xxx" in report["error"]
    assert_no_fragment(json.dumps(report), secret, "the refresh task's Celery result")
    client.force_login(viewer)
    page = client.get(reverse("projects:result", args=["SHOP", result.run_id, result.pk]))
    assert page.status_code == 200 and "refresh failed" in page.content.decode()
    assert_no_fragment(page.content.decode(), secret, "the viewer's result page and its tooltip")


@pytest.mark.parametrize("form, secret", FORMS.values(), ids=FORMS.keys())
def test_a_message_stored_with_a_secret_across_its_cut_keeps_no_fragment(source, form, secret):
    # Stored messages are cut at 500 characters: a secret straddling that cut is removed before it.
    message = "y" * (490 - form.index(secret)) + form
    event = record_audit(AuditAction.CONNECTION_TESTED, source=source, success=False, message=message)

    assert event.message.startswith("y" * 100) and len(event.message) <= 500
    assert_no_fragment(event.message, secret, "an audit row")
    assert_no_fragment(source_excerpt(source, message, 500), secret, "a stored excerpt")
