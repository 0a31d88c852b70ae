"""Refreshing what a tracker holds while the tracker misbehaves, on the refresh that is committed: the
requirements pull, which keeps pulled requirements, their ExternalReferences (cached title and status)
and links up to date. A failed pull records a clear error in the pull settings, retries only what may
be retried and only as often as allowed, and changes or loses nothing that earlier pulls stored."""

import pytest

from integrations.errors import (
    AddressNotAllowed,
    AuthenticationFailed,
    RateLimited,
    TrackerError,
    Unreachable,
    UpstreamError,
)
from integrations.http import TrackerHttpClient
from integrations.models import AuthType, Provider
from issues.links.models import ExternalReference, Link
from issues.pulls.models import PullSettings
from issues.pulls.requirements import pull_requirements
from projects.models import Requirement
from tests.factories import SourceFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN
from tests.issues.filing_support import SEARCH_PATH
from tests.issues.test_requirements_pull import pulling_integration, story

pytestmark = pytest.mark.django_db

RETRIES = 3  # TrackerHttpClient's max_retries
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def waits(settings, monkeypatch):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    recorded = []
    monkeypatch.setitem(TrackerHttpClient.__init__.__kwdefaults__, "sleep", recorded.append)
    return recorded


@pytest.fixture
def pulled(fake_jira_cloud, waits):
    """Two stories pulled once; then the tracker renames one, which a successful pull would take."""
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_status("Won't Do", "done")
    source = SourceFactory(
        name="Acme Jira",
        provider=Provider.JIRA_CLOUD,
        base_url=fake_jira_cloud.base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        issue_url_template="",
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )
    integration = pulling_integration(source, "SHOP", "labels = requirement")
    card = story(fake_jira_cloud, "Pay by card", status="In Progress")
    story(fake_jira_cloud, "Pay by invoice")
    pull_requirements(integration)
    fake_jira_cloud.issue(card.key).summary = "Pay by card or wallet"
    fake_jira_cloud.issue(card.key).updated = fake_jira_cloud.now()
    fake_jira_cloud.requests.clear()
    return integration


def stored():
    return (
        list(Requirement.objects.values_list("id", "title", "state", "origin_key").order_by("id")),
        list(ExternalReference.objects.values_list("id", "key", "title", "status", "deleted_remotely").order_by("id")),
        list(Link.objects.values_list("id", "external_reference", "requirement").order_by("id")),
    )


def searches(fake):
    return fake.requests_to("POST", SEARCH_PATH)


def test_the_pull_takes_the_rename_when_the_tracker_behaves(pulled, fake_jira_cloud):
    pull_requirements(pulled)

    assert Requirement.objects.filter(title="Pay by card or wallet").exists()


# status, body, headers of every answer to the search; the error; how many searches are allowed
FAULTS = {
    "500 storm": (500, {"errorMessages": ["boom"]}, {}, UpstreamError, 1),
    "503 storm": (503, "Service Unavailable", {}, RateLimited, 1 + RETRIES),
    "429 with Retry-After": (429, {"errorMessages": ["slow down"]}, {"Retry-After": "5"}, RateLimited, 1 + RETRIES),
    "expired token (401)": (401, {"errorMessages": ["token expired"]}, {}, AuthenticationFailed, 1),
    "truncated JSON": (200, '{"issues": [{"key": "SHOP-1", "fie', JSON, UpstreamError, 1),
    "malformed JSON": (200, "<html>Sign in</html>", JSON, UpstreamError, 1),
    "50 MB body": (200, "x" * (50 * 1024 * 1024), JSON, UpstreamError, 1),
    "redirect to the metadata address": (
        302,
        None,
        {"Location": "http://169.254.169.254/latest/meta-data/"},
        AddressNotAllowed,
        1,
    ),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_failed_pull_records_the_error_and_keeps_everything(pulled, fake_jira_cloud, fault):
    status, body, headers, error_class, allowed = fault
    before = stored()
    fake_jira_cloud.fail_next(status, body, headers=headers, count=20, path=SEARCH_PATH)

    with pytest.raises(error_class) as raised:
        pull_requirements(pulled)

    assert stored() == before
    assert len(searches(fake_jira_cloud)) == allowed
    recorded = PullSettings.objects.get(integration=pulled).last_error
    assert recorded == str(raised.value)[: len(recorded)] and recorded
    assert CLOUD_API_TOKEN not in recorded


def test_retry_after_is_honoured_between_the_bounded_retries(pulled, fake_jira_cloud, waits):
    fake_jira_cloud.fail_next(
        429, {"errorMessages": ["slow down"]}, headers={"Retry-After": "5"}, count=20, path=SEARCH_PATH
    )

    with pytest.raises(RateLimited):
        pull_requirements(pulled)

    assert waits == [5.0] * RETRIES


def test_a_tracker_that_is_down_keeps_everything(pulled, fake_jira_cloud, waits):
    before = stored()
    fake_jira_cloud.stop()

    with pytest.raises(Unreachable) as raised:
        pull_requirements(pulled)

    assert stored() == before and len(waits) == RETRIES
    assert PullSettings.objects.get(integration=pulled).last_error == str(raised.value)


def test_after_a_storm_the_next_pull_catches_up_and_clears_the_error(pulled, fake_jira_cloud):
    fake_jira_cloud.fail_next(500, {"errorMessages": ["boom"]}, count=1, path=SEARCH_PATH)
    with pytest.raises(TrackerError):
        pull_requirements(pulled)

    pull_requirements(pulled)

    assert Requirement.objects.filter(title="Pay by card or wallet").exists()
    assert PullSettings.objects.get(integration=pulled).last_error == ""
    assert Link.objects.count() == 2 and ExternalReference.objects.count() == 2
