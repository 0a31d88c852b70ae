"""The tracker HTTP client, against a real HTTP server on 127.0.0.1.

Waiting is injected (``sleep``), so rate limits and backoff are checked by what the client
asked to wait, never by how long a test took.
"""

import base64
import gzip
import json
import logging
import os
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from email.utils import format_datetime
from urllib.parse import quote, quote_plus

import pytest
import redis

from integrations import http
from integrations.errors import (
    AddressNotAllowed,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    RemoteValidationError,
    Unreachable,
    UpstreamError,
)
from integrations.http import (
    BACKOFF_BASE_SECONDS,
    MAX_REDIRECTS,
    MiB,
    RemoteErrorDetail,
    TrackerHttpClient,
    UploadPart,
    address_refusal,
    retry_after_seconds,
)
from integrations.ratelimit import LocalRequestBudget, RedisRequestBudget, default_request_budget
from tests.support.processes import free_port
from tests.support.scripted_server import Reply, SaturatedListener, ScriptedServer, TricklingServer

JSON = {"Content-Type": "application/json"}
OK = Reply(200, JSON, b'{"ok": true}')
TOKEN = "tok-3xampl3-S3CRET/value+="


@pytest.fixture
def server():
    running = ScriptedServer()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def slept():
    """Every wait the client asked for, in seconds."""
    return []


@pytest.fixture
def make_client(server, slept):
    clients = []

    def make(**options):
        options = {"allow_private_hosts": True, "sleep": slept.append, "max_retries": 2, **options}
        client = TrackerHttpClient(options.pop("base_url", server.base_url), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# --- Requests and responses -----------------------------------------------------------


def test_a_get_returns_the_json_answer_and_sends_credentials_and_default_headers(server, make_client):
    server.script("/rest/api/3/myself", Reply(200, JSON, b'{"accountId": "42"}'))
    client = make_client(
        base_url=server.base_url + "/",
        auth_headers={"Authorization": f"Bearer {TOKEN}"},
        headers={"X-Api-Version": "3"},
    )

    response = client.get("/rest/api/3/myself", params={"expand": "groups"})

    assert (response.status, response.json()) == (200, {"accountId": "42"})
    assert response.headers["content-type"] == "application/json"
    [received] = server.received
    assert (received.method, received.path) == ("GET", "/rest/api/3/myself?expand=groups")
    assert received.headers["authorization"] == f"Bearer {TOKEN}"
    assert received.headers["x-api-version"] == "3"
    assert received.headers["accept"] == "application/json"


def test_a_post_sends_its_json_body(server, make_client):
    server.script("/issues", Reply(201, JSON, b'{"key": "PROJ-1"}'))

    response = make_client().post("/issues", json={"summary": "Login fails"})

    assert response.json() == {"key": "PROJ-1"}
    assert json.loads(server.received[0].body) == {"summary": "Login fails"}


def test_files_go_as_multipart_form_data_parts_with_their_names_types_and_bytes(server, make_client):
    server.script("/uploads", Reply(201, JSON, b'{"id": 5}'))

    make_client().post(
        "/uploads",
        files=[UploadPart("file", "trace.log", b"Traceback", "text/plain"), UploadPart("file", "a.png", b"\x89PNG")],
    )

    [received] = server.received
    content_type = received.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    envelope = f"Content-Type: {content_type}\r\n\r\n".encode() + received.body
    parts = list(BytesParser(policy=HTTP).parsebytes(envelope).iter_parts())
    assert [
        (p.get_param("name", header="content-disposition"), p.get_filename(), p.get_content_type()) for p in parts
    ] == [
        ("file", "trace.log", "text/plain"),
        ("file", "a.png", "application/octet-stream"),
    ]
    assert [p.get_payload(decode=True) for p in parts] == [b"Traceback", b"\x89PNG"]


def test_files_go_alone_not_with_a_json_body(make_client):
    with pytest.raises(ValueError, match="files go alone"):
        make_client().post("/uploads", json={}, files=[UploadPart("file", "a", b"a")])


def test_statuses_the_caller_accepts_are_returned_instead_of_raised(server, make_client):
    server.script("/etag", Reply(304))
    server.script("/gone", Reply(404))
    client = make_client()

    assert client.get("/etag", accept=[304]).status == 304
    assert client.get("/gone", accept=[404]).status == 404


def test_requests_made_counts_every_attempt_and_redirect_hop(server, make_client):
    server.script("/flaky", Reply(503), OK)
    server.script("/moved", Reply(302, {"Location": "/flaky"}))
    client = make_client()

    client.get("/flaky")
    client.get("/moved")

    assert client.requests_made == 4  # 503 + retry, then redirect + its target


# --- Timeouts and transport failures --------------------------------------------------


def test_a_tracker_slower_than_the_read_timeout_is_unreachable_and_a_get_is_retried(server, make_client, slept):
    server.script("/slow", Reply(200, JSON, b"{}", delay=2.0))
    client = make_client(read_timeout=0.2, max_retries=1)

    with pytest.raises(Unreachable) as raised:
        client.get("/slow")

    assert raised.value.reason == "read_timeout"
    assert f"127.0.0.1:{server.port} did not answer within 0.2 s" in str(raised.value)
    assert len(server.received_on("/slow")) == 2
    assert len(slept) == 1 and 0 <= slept[0] <= BACKOFF_BASE_SECONDS


def trickle(byte: bytes = b" ", every: float = 0.05):
    """A JSON body that never ends: one byte every `every` seconds, each restarting the read timeout."""
    yield b'{"issues": ['
    for _ in range(200):  # ten seconds, far past the deadlines below
        time.sleep(every)
        yield byte


def test_a_body_trickled_byte_by_byte_is_abandoned_at_the_request_deadline(server, make_client, slept):
    server.script("/search", Reply(200, {**JSON, "Content-Length": "100000"}, trickle()))
    client = make_client(read_timeout=0.5, request_deadline=0.6, max_retries=2)

    with pytest.raises(Unreachable) as raised:
        client.get("/search")

    assert raised.value.reason == "deadline"
    assert str(raised.value) == (
        f"127.0.0.1:{server.port} did not answer in time (within 0.6 s): "
        "the tracker may be overloaded or the network slow; try again later."
    )
    assert len(server.received_on("/search")) == 1 and slept == []  # a deadline is not retried


def test_a_body_without_a_length_cut_at_the_deadline_is_not_taken_for_the_whole_answer(server, make_client):
    server.script("/search", Reply(200, JSON, trickle()))  # ends when the connection closes

    with pytest.raises(Unreachable) as raised:
        make_client(read_timeout=0.5, request_deadline=0.6).get("/search")

    assert raised.value.reason == "deadline"


def test_headers_trickled_byte_by_byte_are_abandoned_at_the_request_deadline(make_client):
    trickling = TricklingServer()
    try:
        client = make_client(base_url=trickling.base_url, read_timeout=0.5, request_deadline=0.6)
        with pytest.raises(Unreachable) as raised:
            client.get("/search")
    finally:
        trickling.stop()

    assert raised.value.reason == "deadline" and trickling.connections == 1


def test_inside_a_deadline_a_silent_tracker_gives_up_with_a_clear_message_and_no_retry(server, make_client, slept):
    server.script("/search", Reply(200, JSON, b"{}", delay=5.0))
    client = make_client(read_timeout=20, max_retries=3)

    with http.deadline(0.5), pytest.raises(Unreachable) as raised:
        client.get("/search")

    assert raised.value.reason == "deadline"
    assert str(raised.value) == (
        f"127.0.0.1:{server.port} did not answer in time: the tracker may be overloaded or the network slow; "
        "try again later."
    )
    assert len(server.received_on("/search")) == 1 and slept == []


def test_a_rate_limit_wait_past_the_deadline_is_not_waited_for(server, make_client, slept):
    server.script("/search", Reply(429, {"Retry-After": "3"}), OK)

    with http.deadline(1.0), pytest.raises(RateLimited):
        make_client().get("/search")

    assert slept == [] and len(server.received_on("/search")) == 1


def test_a_post_that_timed_out_is_not_sent_again_because_the_server_may_have_acted_on_it(server, make_client, slept):
    server.script("/issues", Reply(201, JSON, b"{}", delay=2.0))

    with pytest.raises(Unreachable) as raised:
        make_client(read_timeout=0.2).post("/issues", json={"summary": "x"})

    assert raised.value.reason == "read_timeout"
    assert len(server.received_on("/issues")) == 1
    assert slept == []


def test_a_connect_timeout_is_reported_and_retried_even_for_a_post_since_nothing_was_sent(make_client, slept):
    listener = SaturatedListener()
    try:
        client = make_client(base_url=f"http://127.0.0.1:{listener.port}", connect_timeout=0.2, max_retries=1)
        with pytest.raises(Unreachable) as raised:
            client.post("/issues", json={})
    finally:
        listener.close()

    assert raised.value.reason == "connect_timeout"
    assert f"Could not connect to 127.0.0.1:{listener.port} within 0.2 s" in str(raised.value)
    assert len(slept) == 1


def test_a_closed_port_is_unreachable_with_connection_refused(make_client, slept):
    port = free_port()
    client = make_client(base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(Unreachable) as raised:
        client.post("/issues", json={})

    assert raised.value.reason == "refused"
    assert f"127.0.0.1:{port} refused the connection" in str(raised.value)
    assert len(slept) == 2  # retried: a refused connection carried no request


def test_an_unresolvable_host_name_is_unreachable_with_a_dns_message(make_client, slept):
    client = make_client(base_url="https://nonexistent.invalid")

    with pytest.raises(Unreachable) as raised:
        client.get("/rest/api/3/myself")

    assert raised.value.reason == "dns"
    assert "The host name nonexistent.invalid could not be resolved" in str(raised.value)
    assert slept == []


def test_tls_to_a_port_that_does_not_speak_tls_is_unreachable_with_a_tls_message(server, make_client):
    client = make_client(base_url=f"https://127.0.0.1:{server.port}", max_retries=0)

    with pytest.raises(Unreachable) as raised:
        client.get("/")

    assert raised.value.reason == "tls"
    assert f"The TLS connection to 127.0.0.1:{server.port} failed" in str(raised.value)


# --- Rate limits, retries and backoff -------------------------------------------------


def test_429_with_retry_after_waits_as_asked_then_succeeds(server, make_client, slept):
    server.script("/search", Reply(429, {"Retry-After": "2"}), OK)

    response = make_client().get("/search")

    assert response.json() == {"ok": True}
    assert slept == [2.0]


def test_a_retry_after_longer_than_max_wait_raises_rate_limited_without_waiting(server, make_client, slept):
    until = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    server.script("/search", Reply(429, {"Retry-After": until}), OK)

    with pytest.raises(RateLimited) as raised:
        make_client(max_wait=60).get("/search")

    assert 3500 < raised.value.retry_after <= 3600
    assert raised.value.status == 429
    assert "try again in" in str(raised.value)
    assert slept == []
    assert len(server.received) == 1


def test_an_exhausted_github_rate_limit_waits_until_its_reset(server, make_client, slept):
    reset = int(datetime.now(UTC).timestamp()) + 30
    exhausted = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    server.script("/repos/acme/app/issues", Reply(403, exhausted), OK)

    make_client().get("/repos/acme/app/issues")

    assert len(slept) == 1 and 0 < slept[0] <= 31


def test_503_then_200_is_retried_after_a_jittered_backoff(server, make_client, slept):
    server.script("/issue", Reply(503), OK)

    assert make_client().get("/issue").status == 200
    assert len(slept) == 1 and 0 <= slept[0] <= BACKOFF_BASE_SECONDS


def test_503_forever_gives_up_after_max_retries_with_rate_limited(server, make_client, slept):
    server.script("/issue", Reply(503))

    with pytest.raises(RateLimited) as raised:
        make_client(max_retries=2).get("/issue")

    assert raised.value.status == 503
    assert len(server.received) == 3
    assert len(slept) == 2
    assert 0 <= slept[0] <= BACKOFF_BASE_SECONDS and 0 <= slept[1] <= 2 * BACKOFF_BASE_SECONDS


def test_a_bad_gateway_forever_is_an_upstream_error_after_max_retries(server, make_client):
    server.script("/issue", Reply(502))

    with pytest.raises(UpstreamError) as raised:
        make_client(max_retries=1).get("/issue")

    assert raised.value.status == 502
    assert len(server.received) == 2


def test_a_post_is_not_retried_on_503(server, make_client, slept):
    server.script("/issues", Reply(503), Reply(201))

    with pytest.raises(RateLimited):
        make_client().post("/issues", json={"summary": "x"})

    assert len(server.received) == 1
    assert slept == []


def test_a_post_that_only_reads_can_be_marked_idempotent_and_is_retried(server, make_client):
    server.script("/rest/api/3/search/jql", Reply(503), OK)

    response = make_client().post("/rest/api/3/search/jql", json={"jql": "key in (A-1)"}, idempotent=True)

    assert response.status == 200
    assert len(server.received) == 2


def test_a_rate_limited_post_is_rate_limited_not_permission_denied(server, make_client):
    server.script("/repos/acme/app/issues", Reply(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"}))

    with pytest.raises(RateLimited) as raised:
        make_client().post("/repos/acme/app/issues", json={})

    assert raised.value.retry_after == 30


NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": format_datetime(datetime.fromtimestamp(NOW + 90, UTC), usegmt=True)}, 90.0),
        ({"Retry-After": format_datetime(datetime.fromtimestamp(NOW - 90, UTC), usegmt=True)}, 0.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW + 40))}, 40.0),  # GitHub
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(NOW + 50))}, 50.0),  # GitLab
        ({"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": str(int((NOW + 60) * 1000))}, 60.0),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "15"}, 15.0),  # delta seconds
        ({"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": str(int(NOW + 40))}, None),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_reads_the_standard_and_provider_rate_headers(headers, seconds):
    assert retry_after_seconds(headers, now=NOW) == seconds


# --- The per-source request budget ----------------------------------------------------


@pytest.fixture
def budget_per_process():
    """Makes the budget as another process would see it: through Redis when REDIS_URL is
    set (make test always sets it), else the one budget of this process."""
    url = os.environ.get("REDIS_URL")
    if url:
        return lambda: RedisRequestBudget(redis.Redis.from_url(url))
    local = LocalRequestBudget()
    return lambda: local


def test_clients_of_one_source_share_its_request_budget(server, make_client, budget_per_process):
    server.script("/issue", OK)
    source = str(uuid.uuid4())
    first = make_client(budget_key=source, budget_per_minute=2, budget=budget_per_process(), max_wait=0)
    second = make_client(budget_key=source, budget_per_minute=2, budget=budget_per_process(), max_wait=0)

    first.get("/issue")
    second.get("/issue")
    with pytest.raises(RateLimited) as raised:
        first.get("/issue")

    assert "2 requests a minute" in str(raised.value)
    assert 0 < raised.value.retry_after <= 60
    assert len(server.received) == 2


def test_each_source_has_its_own_budget(server, make_client, budget_per_process):
    server.script("/issue", OK)
    budget = budget_per_process()
    busy = make_client(budget_key=str(uuid.uuid4()), budget_per_minute=1, budget=budget, max_wait=0)
    quiet = make_client(budget_key=str(uuid.uuid4()), budget_per_minute=1, budget=budget, max_wait=0)

    busy.get("/issue")
    quiet.get("/issue")

    assert len(server.received) == 2


def test_an_exhausted_budget_waits_for_the_next_minute_when_that_is_within_max_wait(server, make_client):
    server.script("/issue", OK)
    now = [1_000_010.0]  # 10 s before a minute boundary
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    budget = LocalRequestBudget(clock=lambda: now[0])
    client = make_client(budget_key="source", budget_per_minute=1, budget=budget, sleep=sleep, max_wait=30)

    client.get("/issue")
    client.get("/issue")

    assert waits == [pytest.approx(10.0)]
    assert len(server.received) == 2


def test_an_exhausted_budget_raises_when_the_wait_exceeds_max_wait(server, make_client, slept):
    server.script("/issue", OK)
    budget = LocalRequestBudget(clock=lambda: 1_000_010.0)
    client = make_client(budget_key="source", budget_per_minute=1, budget=budget, max_wait=5)

    client.get("/issue")
    with pytest.raises(RateLimited) as raised:
        client.get("/issue")

    assert raised.value.retry_after == pytest.approx(10.0)
    assert slept == []
    assert len(server.received) == 1


def test_the_default_budget_is_redis_when_redis_url_is_set_else_this_process(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert isinstance(default_request_budget(), RedisRequestBudget)

    settings.REDIS_URL = ""
    assert isinstance(default_request_budget(), LocalRequestBudget)


def test_an_unavailable_redis_lets_requests_through_and_logs_a_warning(server, make_client, caplog):
    server.script("/issue", OK)
    unavailable = RedisRequestBudget(redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0"))
    client = make_client(budget_key="source", budget_per_minute=1, budget=unavailable)

    client.get("/issue")
    client.get("/issue")

    assert len(server.received) == 2
    assert "request budget not enforced: Redis is unavailable" in caplog.text


def test_a_budget_needs_both_its_key_and_its_size(server):
    with pytest.raises(ValueError, match="go together"):
        TrackerHttpClient(server.base_url, budget_key="source")


# --- Which addresses may be contacted -------------------------------------------------

NEVER = "never allowed"
PRIVATE = "TRACKER_ALLOW_PRIVATE_HOSTS"


@pytest.mark.parametrize(
    ("address", "refused", "refused_when_private_allowed"),
    [
        ("93.184.216.34", None, None),
        ("2606:2800:220:1:248:1893:25c8:1946", None, None),
        ("127.0.0.1", PRIVATE, None),
        ("::1", PRIVATE, None),
        ("::ffff:127.0.0.1", PRIVATE, None),
        ("10.1.2.3", PRIVATE, None),
        ("172.16.0.1", PRIVATE, None),
        ("192.168.1.1", PRIVATE, None),
        ("100.64.0.1", PRIVATE, None),
        ("fc00::1", PRIVATE, None),
        ("169.254.169.254", NEVER, NEVER),
        ("::ffff:169.254.169.254", NEVER, NEVER),
        ("64:ff9b::a9fe:a9fe", NEVER, NEVER),
        ("fd00:ec2::254", NEVER, NEVER),
        ("100.100.100.200", NEVER, NEVER),
        ("fe80::1%eth0", NEVER, NEVER),
        ("0.0.0.0", NEVER, NEVER),
        ("::", NEVER, NEVER),
        ("224.0.0.1", NEVER, NEVER),
        ("ff02::1", NEVER, NEVER),
        ("240.0.0.1", NEVER, NEVER),
        # 6to4 (2002::/16) embeds an IPv4 address in bits 16-48, and is judged as that address too.
        ("2002:808:808::1", None, None),
        ("2002:a00:1::1", PRIVATE, None),
        ("2002:7f00:1::1", PRIVATE, None),
        ("2002:a9fe:a9fe::1", NEVER, NEVER),
        # Teredo (2001::/32): server 65.54.227.120, client stored inverted in the last 32 bits.
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", PRIVATE, None),  # client 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:5601:5601", NEVER, NEVER),  # client 169.254.169.254
        ("2001:0:a9fe:a9fe:8000:63bf:3fff:fdd2", NEVER, NEVER),  # server 169.254.169.254
    ],
)
def test_which_addresses_are_refused(address, refused, refused_when_private_allowed):
    for allow_private_hosts, expected in ((False, refused), (True, refused_when_private_allowed)):
        refusal = address_refusal(address, allow_private_hosts)
        if expected is None:
            assert refusal is None
        else:
            assert expected in refusal


def test_loopback_is_refused_unless_private_hosts_are_allowed(server, make_client):
    server.script("/", OK)

    with pytest.raises(AddressNotAllowed) as raised:
        make_client(allow_private_hosts=False).get("/")

    assert "Refused to connect to 127.0.0.1 (127.0.0.1)" in str(raised.value)
    assert "TRACKER_ALLOW_PRIVATE_HOSTS" in str(raised.value)
    assert server.received == []


def test_a_host_name_is_judged_by_the_addresses_it_resolves_to(server, make_client):
    with pytest.raises(AddressNotAllowed) as raised:
        make_client(base_url=server.url("/", host="localhost"), allow_private_hosts=False).get("/")

    assert "Refused to connect to localhost" in str(raised.value)
    assert server.received == []


@pytest.mark.parametrize("allowed", [True, False])
def test_the_setting_decides_when_the_client_is_not_told(server, settings, allowed):
    server.script("/", OK)
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = allowed
    client = TrackerHttpClient(server.base_url)

    if allowed:
        assert client.get("/").status == 200
    else:
        with pytest.raises(AddressNotAllowed):
            client.get("/")
    client.close()


def test_a_redirect_to_the_metadata_address_is_refused_even_when_private_hosts_are_allowed(server, make_client):
    server.script("/start", Reply(302, {"Location": "http://169.254.169.254/latest/meta-data/"}))

    with pytest.raises(AddressNotAllowed) as raised:
        make_client(allow_private_hosts=True).get("/start")

    assert "169.254.169.254" in str(raised.value) and "never allowed" in str(raised.value)
    assert len(server.received) == 1


# --- Redirects ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "header"),
    [
        ({"auth_headers": {"Authorization": f"Bearer {TOKEN}"}}, "authorization"),
        ({"auth_headers": {"PRIVATE-TOKEN": TOKEN}}, "private-token"),
        ({"auth": ("me@example.com", TOKEN)}, "authorization"),
    ],
)
def test_credentials_are_never_sent_to_another_host(server, make_client, credentials, header):
    server.script("/start", Reply(302, {"Location": server.url("/elsewhere", host="localhost")}))
    server.script("/elsewhere", OK)
    client = make_client(**credentials)

    client.get("/start")
    client.get(server.url("/elsewhere", host="localhost"))  # an absolute link, e.g. pagination

    start, redirected, linked = server.received
    assert header in start.headers
    assert header not in redirected.headers
    assert header not in linked.headers


def test_credentials_follow_a_redirect_on_the_same_origin(server, make_client):
    server.script("/old", Reply(301, {"Location": "/new"}))
    server.script("/new", OK)

    make_client(auth_headers={"Authorization": f"Bearer {TOKEN}"}).get("/old")

    assert [request.headers.get("authorization") for request in server.received] == [f"Bearer {TOKEN}"] * 2


def test_a_302_after_a_post_continues_with_a_get_and_307_repeats_the_post(server, make_client):
    server.script("/found", Reply(302, {"Location": "/result"}))
    server.script("/temporary", Reply(307, {"Location": "/result"}))
    server.script("/result", OK)
    client = make_client()

    client.post("/found", json={"a": 1})
    client.post("/temporary", json={"a": 1})

    results = server.received_on("/result")
    assert [(request.method, request.body) for request in results] == [("GET", b""), ("POST", b'{"a": 1}')]


def test_endless_redirects_are_an_upstream_error(server, make_client):
    server.script("/loop", Reply(302, {"Location": "/loop"}))

    with pytest.raises(UpstreamError, match="redirected more than"):
        make_client().get("/loop")

    assert len(server.received) == MAX_REDIRECTS + 1


@pytest.mark.parametrize("location", [None, "ftp://files.example.com/x", "http://:8080/no-host"])
def test_a_redirect_without_a_usable_http_location_is_an_upstream_error(server, make_client, location):
    server.script("/moved", Reply(302, {"Location": location} if location else {}))

    with pytest.raises(UpstreamError, match="without a usable HTTP"):
        make_client().get("/moved")


# --- Size cap and malformed bodies ----------------------------------------------------


def fifty_mb():
    return (b"x" * (64 * 1024) for _ in range(800))


def test_a_declared_body_over_the_cap_is_refused_before_reading_it(server, make_client):
    server.script("/huge", Reply(200, {"Content-Length": str(50 * 1000 * 1000)}, fifty_mb()))

    with pytest.raises(UpstreamError, match=r"more than 1,048,576 bytes"):
        make_client(max_response_bytes=MiB).get("/huge")


def test_a_streamed_50_mb_body_is_abandoned_at_the_cap_without_holding_it_in_memory(server, make_client):
    server.script("/huge", Reply(200, JSON, fifty_mb()))
    client = make_client(max_response_bytes=MiB, max_retries=0)

    tracemalloc.start()
    try:
        with pytest.raises(UpstreamError) as raised:
            client.get("/huge")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert "the answer was abandoned" in str(raised.value)
    assert peak < 8 * MiB


def test_a_compressed_body_is_capped_by_its_decoded_size(server, make_client):
    bomb = gzip.compress(b"0" * (5 * MiB))
    server.script("/bomb", Reply(200, {"Content-Encoding": "gzip", **JSON}, bomb))

    assert len(bomb) < MiB
    with pytest.raises(UpstreamError, match="the answer was abandoned"):
        make_client(max_response_bytes=MiB).get("/bomb")


def test_truncated_json_is_an_upstream_error(server, make_client):
    server.script("/issue", Reply(200, JSON, b'{"key": "PROJ-1", "fields": {"summ'))

    response = make_client().get("/issue")

    with pytest.raises(UpstreamError, match="not valid JSON"):
        response.json()


def test_an_html_page_instead_of_json_is_an_upstream_error_pointing_at_the_base_url(server, make_client):
    server.script("/issue", Reply(200, {"Content-Type": "text/html"}, b"<html>Log in to continue</html>"))

    response = make_client().get("/issue")

    with pytest.raises(UpstreamError) as raised:
        response.json()
    assert "text/html" in str(raised.value)
    assert "check the base URL" in str(raised.value)


# --- Statuses mapped to typed errors --------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, RemoteValidationError),
        (401, AuthenticationFailed),
        (403, PermissionDenied),
        (404, NotFound),
        (409, RemoteValidationError),
        (410, NotFound),
        (422, RemoteValidationError),
        (500, UpstreamError),
        (418, UpstreamError),
    ],
)
def test_error_statuses_are_typed_errors_naming_the_host_and_status(server, make_client, status, error_class):
    server.script("/issue", Reply(status, JSON, b'{"message": "It went wrong."}'))

    with pytest.raises(error_class) as raised:
        make_client().get("/issue")

    assert type(raised.value) is error_class
    assert raised.value.status == status
    assert str(raised.value).startswith(f"127.0.0.1 answered HTTP {status}. {error_class.default_message}")
    assert str(raised.value).endswith("The tracker says: It went wrong.")


def test_a_provider_reads_its_own_error_shape_into_message_and_field_errors(server, make_client):
    def jira_error_detail(response):
        body = response.json()
        return RemoteErrorDetail(" ".join(body["errorMessages"]) or None, body["errors"])

    server.script(
        "/rest/api/3/issue",
        Reply(
            400,
            JSON,
            json.dumps(
                {
                    "errorMessages": ["Field 'priority' cannot be set."],
                    "errors": {"summary": "You must specify a summary of the issue."},
                }
            ).encode(),
        ),
    )

    with pytest.raises(RemoteValidationError) as raised:
        make_client(read_error_detail=jira_error_detail).post("/rest/api/3/issue", json={})

    assert raised.value.field_errors == {"summary": "You must specify a summary of the issue."}
    assert "The tracker says: Field 'priority' cannot be set." in str(raised.value)


def test_an_error_body_that_is_not_json_still_gives_the_typed_error(server, make_client):
    server.script("/issue", Reply(401, {"Content-Type": "text/html"}, b"<h1>Unauthorized</h1>"))

    with pytest.raises(AuthenticationFailed) as raised:
        make_client().get("/issue")

    assert "The tracker says" not in str(raised.value)


# --- Secrets and logs -----------------------------------------------------------------


def _forms_of(secret):
    basic = base64.b64encode(f"me@example.com:{secret}".encode()).decode()
    return [secret, quote_plus(secret), basic]


def test_secrets_in_the_url_headers_and_echoed_body_never_reach_errors_or_logs(server, make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="integrations.http")
    echo = json.dumps({"message": f"Token {TOKEN} is revoked", "errors": {"token": f"{TOKEN} revoked"}})
    server.script("/rest/api/3/myself", Reply(401, JSON, echo.encode()))
    client = make_client(auth=("me@example.com", TOKEN), secrets=[TOKEN])

    with pytest.raises(AuthenticationFailed) as raised:
        client.get("/rest/api/3/myself", params={"token": TOKEN})

    shown = f"{raised.value} {raised.value.to_dict()} {caplog.text}"
    for form in _forms_of(TOKEN):
        assert form not in shown
    assert "[redacted]" in str(raised.value)
    assert "token=[redacted]" in caplog.text


@pytest.mark.parametrize(
    "form, secret_part",
    [
        pytest.param(TOKEN, slice(0, None), id="raw"),
        pytest.param(quote_plus(TOKEN), slice(0, None), id="form-encoded"),
        pytest.param(quote(TOKEN, safe=""), slice(0, None), id="url-encoded"),
        # base64("me@example.com:" + token): its first 20 characters encode the user name.
        pytest.param(base64.b64encode(f"me@example.com:{TOKEN}".encode()).decode(), slice(20, None), id="basic"),
    ],
)
def test_a_secret_echoed_where_the_message_is_cut_is_redacted_before_the_cut(server, make_client, form, secret_part):
    # The tracker's message is cut at 300 characters; the secret's own characters start at 280.
    secret = form[secret_part]
    padding = "x" * (280 - len(form[: secret_part.start]))
    echo = json.dumps({"message": f"{padding}{form} was refused"})
    server.script("/rest/api/3/myself", Reply(401, JSON, echo.encode()))
    client = make_client(auth=("me@example.com", TOKEN), secrets=[TOKEN])

    with pytest.raises(AuthenticationFailed) as raised:
        client.get("/rest/api/3/myself")

    said = str(raised.value)
    assert "The tracker says: xxx" in said and "x[redacted]" in said
    assert secret[:8] not in said and secret[:8] not in str(raised.value.to_dict())


def test_transport_errors_hide_secrets_and_the_exceptions_they_came_from(make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="integrations.http")
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}", secrets=[TOKEN], max_retries=0)

    with pytest.raises(Unreachable) as raised:
        client.get("/issues", params={"token": TOKEN})

    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    for form in _forms_of(TOKEN):
        assert form not in f"{raised.value} {caplog.text}"


def test_each_attempt_is_logged_with_method_url_outcome_and_attempt(server, make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="integrations.http")
    server.script("/issue", Reply(503), OK)

    make_client().get("/issue")

    messages = [record.getMessage() for record in caplog.records if record.name == "integrations.http"]
    assert len(messages) == 2
    assert messages[0].startswith(f"GET {server.base_url}/issue -> 503 in ")
    assert messages[0].endswith("(attempt 1)")
    assert messages[1].startswith(f"GET {server.base_url}/issue -> 200 in ")
    assert messages[1].endswith("(attempt 2)")


def test_the_client_redacts_text_for_providers_messages(server):
    client = TrackerHttpClient(server.base_url, auth_headers={"PRIVATE-TOKEN": TOKEN})

    assert client.redact(f"failed with {TOKEN}") == "failed with [redacted]"
    client.close()
