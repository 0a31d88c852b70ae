"""A tracker that is down, slow, throttling, failing, garbled, oversized, redirecting to a private
address or refusing an expired token, while a member files an issue and while linked issues are read:
every failure is a typed TrackerError with a clear message and no secret, retries are bounded (the fake's
request log counts them), waits follow Retry-After, and no reference, cached value or link is lost or
duplicated."""

import threading

import pytest
from django.urls import reverse

from integrations.errors import (
    AddressNotAllowed,
    AuthenticationFailed,
    RateLimited,
    TrackerError,
    Unreachable,
    UpstreamError,
)
from integrations.http import TrackerHttpClient
from integrations.providers import provider_for
from issues.filing import services
from issues.links.models import ExternalReference, Link
from issues.links.services import link
from projects.models import ResultStatus
from tests.factories import ExternalReferenceFactory, MembershipFactory, ProjectFactory, TestResultFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN
from tests.issues.filing_support import CREATE_PATH, SEARCH_PATH, jira_world

pytestmark = pytest.mark.django_db

RETRIES = 3  # TrackerHttpClient's max_retries


@pytest.fixture
def waits(settings, monkeypatch):
    """Trackers on loopback are allowed; every wait of the HTTP client is recorded instead of slept."""
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    recorded = []
    monkeypatch.setitem(TrackerHttpClient.__init__.__kwdefaults__, "sleep", recorded.append)
    return recorded


@pytest.fixture
def jira(fake_jira_cloud, waits):
    project = ProjectFactory(key="SHOP")
    world = jira_world(fake_jira_cloud, project)
    world.result = TestResultFactory(run__project=project, case__project=project, status=ResultStatus.FAILED)
    fake_jira_cloud.add_issue("SHOP", "Checkout fails", status="In Progress")  # SHOP-1, linked before
    world.known = ExternalReferenceFactory(
        source=world.source, key="SHOP-1", title="Checkout fails", status="In Progress"
    )
    link(artefact=world.result.case, reference=world.known)
    return world


def kept(world):
    """What must survive any failure: every reference with its cached values, every link."""
    return (
        list(ExternalReference.objects.values_list("id", "key", "title", "status", "last_error").order_by("id")),
        list(Link.objects.values_list("id", "external_reference", "test_case", "test_result").order_by("id")),
    )


def file(world, marker=None):
    draft = services.build_draft(
        world.integration,
        issue_type="Bug",
        title="Payment declined",
        description="Card 4242 declined",
        values={world.environment: "Staging"},
        kinds={},
        reporter=None,
    )
    return services.file_issue(
        integration=world.integration,
        actor=None,
        draft=draft,
        artefacts=[world.result],
        marker=marker or services.new_marker(),
        site_url="http://testserver",
    )


def assert_clear(error: TrackerError):
    assert str(error) and CLOUD_API_TOKEN not in str(error)


def test_filing_works_against_the_fake(jira):
    filed = file(jira)

    assert filed.created and filed.reference.key == "SHOP-2"
    assert len(jira.creates()) == 1


JSON = {"Content-Type": "application/json"}
# The tracker's answer to the create request (status, body, headers), the error it must raise and
# what the error tells the member.
CREATE_FAULTS = {
    "500 storm": (500, {"errorMessages": ["boom"]}, {}, UpstreamError, "answered HTTP 500"),
    "503 storm": (503, "Service Unavailable", {}, RateLimited, "temporarily unavailable"),
    "429 with Retry-After": (
        429,
        {"errorMessages": ["Rate limit exceeded."]},
        {"Retry-After": "5"},
        RateLimited,
        "try again in 5 s",
    ),
    "expired token (401)": (
        401,
        {"errorMessages": ["token expired"]},
        {},
        AuthenticationFailed,
        "rejected the credentials",
    ),
    "truncated JSON": (201, '{"id": "10042", "key": "SHO', JSON, UpstreamError, "not valid JSON"),
    "malformed JSON": (201, "<html>proxy error</html>", JSON, UpstreamError, "not valid JSON"),
    "50 MB body": (201, "x" * (50 * 1024 * 1024), JSON, UpstreamError, "the answer was abandoned"),
    "redirect to the metadata address": (
        307,
        None,
        {"Location": "http://169.254.169.254/latest/meta-data/"},
        AddressNotAllowed,
        "cloud metadata addresses are never allowed",
    ),
}


@pytest.mark.parametrize("fault", CREATE_FAULTS.values(), ids=CREATE_FAULTS.keys())
def test_a_failed_create_is_typed_sent_once_and_loses_nothing(jira, fault):
    status, body, headers, error_class, says = fault
    before = kept(jira)
    jira.fake.fail_next(status, body, headers=headers, count=20, method="POST", path=CREATE_PATH)

    with pytest.raises(error_class, match=says) as raised:
        file(jira)

    assert_clear(raised.value)
    assert len(jira.creates()) == 1  # a create is never repeated blindly: it may have been carried out
    assert kept(jira) == before


def test_a_tracker_that_is_down_is_unreachable_after_bounded_retries(jira, waits):
    jira.fake.stop()
    before = kept(jira)

    with pytest.raises(Unreachable) as raised:
        file(jira)

    assert_clear(raised.value)
    assert len(waits) == RETRIES  # a refused connection never carried the request, so it is retried
    assert kept(jira) == before


def test_a_create_answered_too_late_is_found_by_its_marker_not_filed_twice(jira, monkeypatch):
    monkeypatch.setitem(TrackerHttpClient.__init__.__kwdefaults__, "read_timeout", 0.2)
    server, intercept = jira.fake.server, jira.fake.server.interceptor
    client_gave_up = threading.Event()

    def hold_back_the_first_create(request):
        if request.method == "POST" and request.route_path == CREATE_PATH and not client_gave_up.is_set():
            server.lock.release()  # the fake serves nothing else while a request holds its lock
            try:
                client_gave_up.wait(10)
            finally:
                server.lock.acquire()
        return intercept(request)

    server.interceptor = hold_back_the_first_create
    marker, before = services.new_marker(), kept(jira)
    with pytest.raises(Unreachable) as raised:
        file(jira, marker)
    client_gave_up.set()  # the tracker now carries out the create the client stopped waiting for
    assert raised.value.reason == "read_timeout" and services.may_have_been_created(raised.value)
    assert kept(jira) == before

    monkeypatch.setitem(TrackerHttpClient.__init__.__kwdefaults__, "read_timeout", 20.0)
    filed = file(jira, marker)  # the member submits the same form again

    assert len(jira.creates()) == 1 and len(jira.fake.issues) == 2  # SHOP-1 and the one issue filed
    assert filed.reference.key == "SHOP-2"
    assert ExternalReference.objects.filter(source=jira.source).count() == 2
    assert Link.objects.filter(external_reference=filed.reference, test_result=jira.result).count() == 1


# --- Reading linked issues (what a refresh asks the tracker) -----------------------------------


def fetch(world):
    return provider_for(world.source).fetch_many(["SHOP-1"])


def test_reading_retries_a_throttled_search_as_told_by_retry_after_then_gives_up(jira, waits):
    jira.fake.rate_limit_next(20, retry_after=7)

    with pytest.raises(RateLimited) as raised:
        fetch(jira)

    assert_clear(raised.value)
    assert waits == [7.0] * RETRIES
    assert len(jira.fake.requests_to("POST", SEARCH_PATH)) == 1 + RETRIES


def test_reading_recovers_when_the_throttling_ends_within_the_retries(jira, waits):
    jira.fake.rate_limit_next(2, retry_after=3)

    fetched = fetch(jira)

    assert fetched.issues["SHOP-1"].title == "Checkout fails"
    assert waits == [3.0, 3.0]


def test_a_retry_after_beyond_the_longest_wait_fails_at_once(jira, waits):
    jira.fake.rate_limit_next(20, retry_after=3600)

    with pytest.raises(RateLimited):
        fetch(jira)

    assert waits == [] and len(jira.fake.requests_to("POST", SEARCH_PATH)) == 1


@pytest.mark.parametrize("status", [500, 401])
def test_reading_does_not_hammer_a_failing_or_refusing_tracker(jira, waits, status):
    jira.fake.fail_next(status, {"errorMessages": ["no"]}, count=20)

    with pytest.raises(TrackerError) as raised:
        fetch(jira)

    assert_clear(raised.value)
    assert len(jira.fake.requests_to("POST", SEARCH_PATH)) == 1


@pytest.mark.parametrize("fault", CREATE_FAULTS.values(), ids=CREATE_FAULTS.keys())
def test_the_filing_page_shows_each_failure_and_keeps_the_members_form(client, jira, fault):
    status, body, headers, _, says = fault
    client.force_login(MembershipFactory(project=jira.integration.project).user)
    url = f"{reverse('issues:file_issue', args=['SHOP'])}?result={jira.result.pk}"
    form = client.get(url).context["form"]
    values = {field.html_name: field.value() for field in form if field.value() is not None}
    values |= {f"field_{jira.environment}": "Staging", "title": "Payment declined"}
    before = kept(jira)
    jira.fake.fail_next(status, body, headers=headers, count=20, method="POST", path=CREATE_PATH)

    response = client.post(url, values)

    assert response.status_code == 200
    assert says in " ".join(response.context["form"].non_field_errors())
    assert 'value="Payment declined"' in response.text  # what the member typed is still there
    assert CLOUD_API_TOKEN not in response.text
    assert len(jira.creates()) == 1 and kept(jira) == before
