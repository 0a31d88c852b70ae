"""Health that tells the truth (issue 19): the Trackers page, the sources admin and artefact pages show
a source's real health, an error with its redacted reason when the tracker is down or refuses the
credentials; "Refresh now" says how many linked issues were refreshed and how many failed, with a
warning (never a success banner) when any failed."""

import pytest
from django.contrib import messages as django_messages
from django.urls import reverse
from django.utils import timezone

from integrations import selectors
from integrations.models import Health, IntegrationState
from integrations.signals import RefreshOutcome
from issues.links.models import ExternalReference
from issues.links.services import link
from projects.models import Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    TestResultFactory,
    UserFactory,
)
from tests.fakes.fixtures import CLOUD_API_TOKEN
from tests.issues.test_refresh import cached, jira_with

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def shop(fake_jira_cloud):
    """A project whose Jira integration has two linked issues (on a test result), and a member."""
    project = ProjectFactory(key="SHOP")
    source = jira_with(fake_jira_cloud, 2)
    integration = ProjectIntegrationFactory(project=project, source=source)
    result = TestResultFactory(run__project=project, case__project=project)
    references = cached(source, ["SHOP-1", "SHOP-2"])
    for reference in references:
        link(artefact=result, reference=reference)
    member = UserFactory()
    MembershipFactory(project=project, user=member, role=Role.ADMIN)
    return {"project": project, "source": source, "integration": integration, "result": result, "member": member}


def page_messages(response):
    return [(message.level, str(message)) for message in response.context["messages"]]


def trackers_page(client, project):
    return client.get(reverse("integrations:list", args=[project.key]))


# --- The one health selector -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "state", "label"),
    [
        ({"health": Health.ACTIVE}, "healthy", "Healthy"),
        ({"health": Health.INACTIVE}, "unchecked", "Not checked yet"),
        ({"health": Health.ERROR, "health_error": "Jira did not answer."}, "error", "Error"),
        ({"health": Health.ACTIVE, "enabled": False}, "disabled", "Disabled"),
        ({"health": Health.ACTIVE, "connected": False}, "disconnected", "Disconnected"),
    ],
)
def test_health_of_a_source(fake_jira_cloud, fields, state, label):
    source = jira_with(fake_jira_cloud, 0)
    for name, value in fields.items():
        setattr(source, name, value)
    health = selectors.health_of(source)
    assert (health.state, health.label) == (state, label)
    assert health.is_error == (state == "error")


# --- The Trackers page ---------------------------------------------------------------------


def test_the_trackers_page_shows_error_with_the_reason_once_the_tracker_is_down(client, fake_jira_cloud, shop):
    client.force_login(shop["member"])
    response = client.post(reverse("integrations:refresh", args=["SHOP", shop["integration"].pk]), follow=True)
    assert page_messages(response) == [(django_messages.SUCCESS, "Jira: 2 of 2 linked issue(s) refreshed.")]
    assert b'data-health="healthy"' in response.content

    fake_jira_cloud.stop()  # Jira goes down: connections are refused
    response = client.post(reverse("integrations:refresh", args=["SHOP", shop["integration"].pk]), follow=True)

    ((level, text),) = page_messages(response)
    assert level == django_messages.WARNING
    assert text.startswith("Jira: 0 of 2 linked issue(s) refreshed, 2 failed: ")
    shop["source"].refresh_from_db()
    assert shop["source"].health == Health.ERROR and shop["source"].health_error
    page = trackers_page(client, shop["project"]).content.decode()
    assert 'data-health="error"' in page and shop["source"].health_error in page
    assert ">Active<" in page  # the integration's state stays active; its health is what changed
    assert '<li class="warning">' in response.content.decode()


def test_refused_credentials_show_as_an_error_without_the_secret(client, fake_jira_cloud, shop):
    fake_jira_cloud.fail_next(401, count=10)
    client.force_login(shop["member"])
    response = client.post(reverse("integrations:refresh", args=["SHOP", shop["integration"].pk]), follow=True)

    ((level, text),) = page_messages(response)
    assert level == django_messages.WARNING and "2 failed" in text
    page = trackers_page(client, shop["project"]).content.decode()
    assert 'data-health="error"' in page
    assert CLOUD_API_TOKEN not in page and CLOUD_API_TOKEN not in text


def test_refresh_now_only_reads_the_issues_linked_in_the_project(client, fake_jira_cloud, shop):
    cached(shop["source"], ["SHOP-9"], last_synced_at=None)  # linked nowhere in SHOP
    client.force_login(shop["member"])
    client.post(reverse("integrations:refresh", args=["SHOP", shop["integration"].pk]))
    other = ExternalReference.objects.get(key="SHOP-9")
    assert (other.last_synced_at, other.deleted_remotely) == (None, False)


def test_a_source_that_does_not_sync_is_not_refreshed_and_says_why(client, fake_jira_cloud, shop):
    shop["source"].connected = False
    shop["source"].save()
    client.force_login(shop["member"])
    response = client.post(reverse("integrations:refresh", args=["SHOP", shop["integration"].pk]), follow=True)
    ((level, text),) = page_messages(response)
    assert level == django_messages.WARNING and text.startswith("Jira is disconnected: nothing was refreshed.")
    assert fake_jira_cloud.requests == []


def test_viewers_cannot_refresh_and_strangers_get_404(client, fake_jira_cloud, shop):
    viewer = UserFactory()
    MembershipFactory(project=shop["project"], user=viewer, role=Role.VIEWER)
    url = reverse("integrations:refresh", args=["SHOP", shop["integration"].pk])
    client.force_login(viewer)
    assert client.post(url).status_code == 403
    client.force_login(UserFactory())
    assert client.post(url).status_code == 404
    other = ProjectIntegrationFactory(state=IntegrationState.ACTIVE)
    client.force_login(shop["member"])
    assert client.post(reverse("integrations:refresh", args=["SHOP", other.pk])).status_code == 404
    assert fake_jira_cloud.requests == []


# --- Artefact pages and their "Refresh now" -----------------------------------------------------


def test_an_artefact_page_says_its_tracker_is_in_error(client, fake_jira_cloud, shop):
    fake_jira_cloud.stop()
    client.force_login(shop["member"])
    result = shop["result"]
    response = client.post(
        reverse("issues:refresh_links", args=["SHOP"]), {"kind": "result", "pk": result.pk}, follow=True
    )
    ((level, text),) = page_messages(response)
    assert level == django_messages.WARNING and "0 of 2 linked issue(s) refreshed, 2 failed" in text
    page = client.get(reverse("projects:result", args=["SHOP", result.run.pk, result.pk])).content.decode()
    assert "Jira is in error:" in page and "last known values" in page


def test_a_healthy_tracker_puts_no_warning_on_artefact_pages(client, fake_jira_cloud, shop):
    shop["source"].health = Health.ACTIVE
    shop["source"].save()
    client.force_login(shop["member"])
    result = shop["result"]
    page = client.get(reverse("projects:result", args=["SHOP", result.run.pk, result.pk])).content.decode()
    assert "is in error" not in page


# --- The sources admin ---------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_sources_admin_shows_the_error_and_its_reason(admin_client, fake_jira_cloud, shop):
    fake_jira_cloud.stop()
    response = admin_client.post(
        "/admin/integrations/source/", {"action": "refresh_now", "_selected_action": [shop["source"].pk]}, follow=True
    )
    ((level, text),) = page_messages(response)
    assert level == django_messages.WARNING
    assert text.startswith("Jira: 0 of 2 linked issue(s) refreshed, 2 failed: ")
    shop["source"].refresh_from_db()
    listing = admin_client.get("/admin/integrations/source/").content.decode()
    assert 'data-health="error"' in listing and shop["source"].health_error in listing
    change = admin_client.get(reverse("admin:integrations_source_change", args=[shop["source"].pk])).content.decode()
    assert 'id="source-health-error"' in change and shop["source"].health_error in change


# --- What "Refresh now" tells ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "level", "sentence"),
    [
        (RefreshOutcome(refreshed=3), django_messages.SUCCESS, "3 of 3 linked issue(s) refreshed."),
        (
            RefreshOutcome(refreshed=1, failed=2, error="Jira did not answer."),
            django_messages.WARNING,
            "1 of 3 linked issue(s) refreshed, 2 failed: Jira did not answer.",
        ),
        (
            RefreshOutcome(refreshed=1, background=2),
            django_messages.INFO,
            "1 of 3 linked issue(s) refreshed, 2 still refreshing in the background.",
        ),
        (RefreshOutcome(), django_messages.INFO, "no linked issue to refresh."),
    ],
)
def test_refresh_outcomes_in_words(outcome, level, sentence):
    assert (outcome.level, outcome.sentence()) == (level, sentence)


def test_an_unanswered_refresh_is_reported_as_still_running(monkeypatch, fake_jira_cloud, shop):
    """A busy worker that does not answer within the wait: reported as background, never as refreshed."""
    from celery.exceptions import TimeoutError as TaskTimeout

    from issues.sync import refresh, tasks

    class Pending:
        def get(self, timeout):
            raise TaskTimeout()

    monkeypatch.setattr(tasks.refresh_references, "delay", lambda *args, **kwargs: Pending())
    outcome = refresh.refresh_and_report(ExternalReference.objects.filter(source=shop["source"]))
    assert (outcome.refreshed, outcome.failed, outcome.background) == (0, 0, 2)
    assert timezone.now()  # nothing else was waited on
