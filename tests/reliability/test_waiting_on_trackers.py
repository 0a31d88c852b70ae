"""Pages and API calls a person waits on give up on a tracker that trickles bytes or never answers,
with a message naming the tracker, instead of holding the web worker (issue 17 point 15): linking
by key, the filing form's account search, and testing a connection from the admin and the API.
The whole wait, retries included, is bounded by TRACKER_INTERACTIVE_SECONDS (0.5 s here); the
answer arriving at all is what proves the worker was released."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.models import AuditAction, AuditEvent, Health, Source
from issues.links.models import ExternalReference, Link
from projects.models import ResultStatus, Role
from tests.factories import MembershipFactory, ProjectFactory, TestResultFactory, UserFactory
from tests.issues.filing_support import jira_world
from tests.support.scripted_server import Reply, ScriptedServer, TricklingServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _waiting(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    settings.TRACKER_INTERACTIVE_SECONDS = 0.5
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def jira(fake_jira_cloud, project):
    return jira_world(fake_jira_cloud, project)


@pytest.fixture
def trickling(jira):
    """The source's tracker now answers one header byte at a time, forever."""
    server = TricklingServer()
    Source.objects.filter(pk=jira.source.pk).update(base_url=server.base_url)
    yield server
    server.stop()


@pytest.fixture
def silent(jira):
    """The source's tracker now accepts connections and says nothing for longer than anyone waits."""
    server = ScriptedServer()
    for path in ("/rest/api/3/myself", "/rest/api/2/myself", "/rest/api/3/serverInfo", "/rest/api/2/serverInfo"):
        server.script(path, Reply(200, {"Content-Type": "application/json"}, b"{}", delay=10))
    server.start()
    Source.objects.filter(pk=jira.source.pk).update(base_url=server.base_url)
    yield server
    server.stop()


@pytest.fixture
def member(client, project):
    user = MembershipFactory(project=project, role=Role.MEMBER).user
    client.force_login(user)
    return user


def test_linking_by_key_to_a_trickling_tracker_answers_the_form_with_a_message_and_saves_nothing(
    client, member, project, jira, trickling
):
    result = TestResultFactory(run__project=project, case__project=project, status=ResultStatus.FAILED)
    url = f"{reverse('issues:link_issue', args=['SHOP'])}?result={result.pk}&to={jira.integration.pk}"

    response = client.post(url, {"key": "SHOP-1"})

    assert response.status_code == 200
    assert "Acme Jira did not answer within 0.5 s: try again later." in response.content.decode()
    assert trickling.connections >= 1
    assert not ExternalReference.objects.exists() and not Link.objects.exists()


def test_the_account_search_of_a_filing_form_gives_up_on_a_trickling_tracker_with_a_message(
    client, member, jira, trickling
):
    response = client.get(reverse("issues:file_users", args=["SHOP"]), {"to": jira.integration.pk, "q": "dana"})

    assert response.status_code == 200
    assert response.json() == {
        "users": [],
        "message": "Acme Jira did not answer within 0.5 s: try again later, or type the account's id.",
    }


def test_testing_a_connection_in_the_admin_gives_up_on_a_trickling_tracker_with_a_message(client, jira, trickling):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)

    page = client.post(reverse("admin:integrations_source_test_connection", args=[jira.source.pk]), follow=True)

    assert page.status_code == 200
    told = [str(message) for message in page.context["messages"]]
    assert told == ["Acme Jira: connection failed. Acme Jira did not answer within 0.5 s: try again later."]
    source = Source.objects.get(pk=jira.source.pk)
    assert source.health == Health.ERROR and "did not answer within 0.5 s" in source.health_error
    assert AuditEvent.objects.get(action=AuditAction.CONNECTION_TESTED).success is False


def test_testing_a_connection_through_the_api_gives_up_on_a_silent_tracker_with_a_message(jira, silent):
    api = APIClient()
    api.force_authenticate(UserFactory(is_staff=True, is_superuser=True))

    response = api.post(reverse("api-integrations-test-connection"), {"source": jira.source.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert response.json()["message"] == "Acme Jira did not answer within 0.5 s: try again later."
