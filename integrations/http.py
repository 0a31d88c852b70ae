"""The one HTTP client every tracker provider uses.

``TrackerHttpClient`` wraps a ``requests.Session`` and adds what talking to someone
else's server needs:

- connect and read timeouts on every request, and a wall-clock deadline on each one (a server
  sending a byte every few seconds never trips a read timeout), shortened for pages waiting on
  a tracker with ``deadline(seconds)``;
- retries with exponential backoff and full jitter, for idempotent requests only
  (a request that never reached the server is retried whatever its method);
- 429/503 (and GitHub's rate-limit 403) honouring ``Retry-After`` and the
  ``X-RateLimit-*``/``RateLimit-*`` headers, waiting at most ``max_wait`` seconds;
- a per-source budget of requests a minute shared across processes (``ratelimit``);
- refusal of loopback, private, link-local and other non-public addresses, checked on
  the resolved addresses of every connection, so also on every redirect hop;
- redirects followed by hand, credentials sent to the base URL's origin only;
- a response size cap, enforced while streaming;
- uploads: ``files`` as multipart/form-data, or raw bytes in ``data`` (a signed upload URL's PUT),
  held in memory so a retry sends exactly the same body;
- non-2xx statuses mapped to the typed errors of ``integrations.errors``;
- secrets redacted from every error message and log line.

Use one client per thread (``requests.Session`` is not thread-safe).
"""

import contextvars
import ipaddress
import json
import logging
import math
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import cache, partialmethod
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.filepost import encode_multipart_formdata
from urllib3.util.connection import allowed_gai_family, create_connection

from integrations.errors import (
    AddressNotAllowed,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    RemoteValidationError,
    TrackerError,
    Unreachable,
    UpstreamError,
    redact,
    redacted_excerpt,
)
from integrations.ratelimit import RequestBudget, default_request_budget

logger = logging.getLogger("integrations.http")

MiB = 1024 * 1024
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0
_CHUNK_BYTES = 64 * 1024

# Unreachable reasons meaning the request never left this machine: safe to retry any method.
_NOT_SENT = frozenset({"refused", "connect_failed", "connect_timeout"})
# Reasons where the server may have received the request: retried for idempotent requests only.
_MAYBE_SENT = frozenset({"read_timeout", "connection_lost"})


# --- Which addresses may be contacted -------------------------------------------------

# Cloud metadata endpoints outside link-local (AWS IPv6, Alibaba); link-local covers the rest.
_METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")})
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


def address_refusal(address: str, allow_private_hosts: bool) -> str | None:
    """Why connecting to the IP ``address`` is refused, or None when it is allowed.

    ``allow_private_hosts`` opens loopback and private networks (a tracker on the
    intranet, or a test fake on 127.0.0.1). Link-local addresses, which include the
    cloud metadata endpoint 169.254.169.254, stay refused: no tracker lives there and a
    redirect to it is the classic way to steal a server's cloud credentials.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    for reached in _addresses_reached(ip):
        refusal = _refusal_of(reached, allow_private_hosts)
        if refusal:
            return refusal
    return None


def _addresses_reached(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list:
    """The addresses a connection to ``ip`` may end up at, each to be judged.

    An IPv4 address wrapped in IPv6 (mapped, NAT64) is the IPv4 address it reaches. A 6to4
    (2002::/16) or Teredo (2001::/32) address is a tunnel to the IPv4 address it embeds (for
    Teredo: its server and its client): judged as itself and as every embedded address, so
    2002:a9fe:a9fe:: is refused like 169.254.169.254.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return [ip]
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    if ip in _NAT64_PREFIX:
        return [ipaddress.IPv4Address(ip.packed[-4:])]
    tunnelled = [ip.sixtofour] if ip.sixtofour else list(ip.teredo or ())
    return [*tunnelled, ip]


def _refusal_of(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private_hosts: bool) -> str | None:
    if ip.is_link_local or ip in _METADATA_ADDRESSES:
        return "link-local and cloud metadata addresses are never allowed"
    # Loopback before "reserved": IPv6's ::1 lies in the reserved block ::/8.
    if not ip.is_loopback and (ip.is_unspecified or ip.is_multicast or ip.is_reserved):
        return "unspecified, multicast and reserved addresses are never allowed"
    if not ip.is_global and not allow_private_hosts:
        return (
            "loopback and private network addresses are refused unless an administrator "
            "enables TRACKER_ALLOW_PRIVATE_HOSTS"
        )
    return None


def _permitted_addresses(host: str, port: int, allow_private_hosts: bool) -> list[str]:
    """Resolve ``host`` and return its addresses, refusing the host if any one is refused."""
    try:
        answers = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Unreachable(
            f"The host name {host} could not be resolved: check the base URL for typos "
            "and that this server's DNS can resolve it.",
            reason="dns",
        ) from None
    addresses = list(dict.fromkeys(answer[4][0] for answer in answers))
    for address in addresses:
        refusal = address_refusal(address, allow_private_hosts)
        if refusal:
            raise AddressNotAllowed(f"Refused to connect to {host} ({address}): {refusal}.")
    return addresses


class _AddressCheckingConnection:
    """Mixed into urllib3's connections: resolve once, check, connect to the checked address.

    Connecting to exactly the addresses that were checked, instead of checking and then
    letting the socket resolve the name again, is what defeats DNS rebinding: a second,
    different DNS answer is never used. TLS still verifies the certificate against the
    host name, which urllib3 keeps separately from the address.
    """

    allow_private_hosts = False

    def request(self, *args, **kwargs) -> None:
        super().request(*args, **kwargs)
        # The socket itself, for the deadline's watchdog: the connection forgets it when the
        # answer is read until the connection closes, while the answer still reads from it.
        _in_flight[threading.get_ident()] = self.sock

    def _new_conn(self) -> socket.socket:
        last_error: OSError | None = None
        for address in _permitted_addresses(self._dns_host.strip("[]"), self.port, self.allow_private_hosts):
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as error:
                last_error = error
        # The same exceptions urllib3 raises, so requests reports them as usual.
        if isinstance(last_error, TimeoutError):
            raise urllib3.exceptions.ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from last_error
        raise urllib3.exceptions.NewConnectionError(
            self, f"Failed to establish a new connection: {last_error}"
        ) from last_error


# --- The wall-clock deadline ---------------------------------------------------------------

# Thread -> the socket of the request that thread has on the wire now, for the watchdog to cut.
_in_flight: dict[int, socket.socket] = {}
# Monotonic time by which every request made in this context must be done (see `deadline`).
_give_up_at: contextvars.ContextVar[float | None] = contextvars.ContextVar("tracker_http_give_up_at", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every request made inside gives up `seconds` from now, retries and waits included.

    For pages and API calls a person waits on (search): a tracker that does not answer then
    ends in ``Unreachable(reason="deadline")`` within seconds instead of holding a web worker.
    """
    now = time.monotonic()
    outer = _give_up_at.get()
    token = _give_up_at.set(min(now + seconds, outer) if outer is not None else now + seconds)
    try:
        yield
    finally:
        _give_up_at.reset(token)


class _Watchdog:
    """Cuts the calling thread's connection once `seconds` have passed.

    Each byte that arrives restarts a socket's read timeout, so a server trickling its headers or
    body holds a reader for as long as it likes; only a clock outside the reads can end that.
    Shutting the socket down makes the blocked read return at once, whatever it was reading.
    """

    def __init__(self, seconds: float):
        self.expired = False
        self._thread = threading.get_ident()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()
        _in_flight.pop(self._thread, None)

    def _expire(self) -> None:
        self.expired = True
        sock = _in_flight.get(self._thread)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@cache
def _pool_classes(allow_private_hosts: bool) -> dict[str, type]:
    def checked_pool(pool_class: type, connection_class: type) -> type:
        connection = type(
            f"AddressChecking{connection_class.__name__}",
            (_AddressCheckingConnection, connection_class),
            {"allow_private_hosts": allow_private_hosts},
        )
        return type(f"AddressChecking{pool_class.__name__}", (pool_class,), {"ConnectionCls": connection})

    return {
        "http": checked_pool(HTTPConnectionPool, HTTPConnection),
        "https": checked_pool(HTTPSConnectionPool, HTTPSConnection),
    }


class _AddressCheckingAdapter(HTTPAdapter):
    def __init__(self, allow_private_hosts: bool):
        self._pool_classes = _pool_classes(allow_private_hosts)
        super().__init__(max_retries=0)  # TrackerHttpClient does its own retrying

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes


# --- Responses and their errors -------------------------------------------------------


@dataclass(frozen=True)
class TrackerResponse:
    """A complete answer: the body has been read (within the size cap)."""

    status: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes
    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    def json(self) -> Any:
        """The body as JSON; ``UpstreamError`` when it is not (HTML login page, truncation)."""
        try:
            return json.loads(self.content)
        except ValueError:
            content_type = self.headers.get("Content-Type") or "no content type"
            raise UpstreamError(
                f"{self.host} answered with something that is not valid JSON ({content_type}, "
                f"{len(self.content)} bytes): check the base URL; a login page or a proxy may be "
                "answering instead of the tracker's API.",
                status=self.status,
            ) from None


class RemoteErrorDetail(NamedTuple):
    """What a tracker said about an error, read from its body by a provider's hook."""

    message: str | None = None
    field_errors: Mapping[str, str] = MappingProxyType({})


ErrorDetailReader = Callable[[TrackerResponse], RemoteErrorDetail]


def generic_error_detail(response: TrackerResponse) -> RemoteErrorDetail:
    """Reads the common shapes ``{"message"|"error_description"|"error": "..."}`` and
    ``{"errors": {field: problem}}``. Providers pass their own reader for other shapes."""
    try:
        body = response.json()
    except UpstreamError:
        return RemoteErrorDetail()
    if not isinstance(body, dict):
        return RemoteErrorDetail()
    messages = (body.get(key) for key in ("message", "error_description", "error"))
    message = next((text for text in messages if isinstance(text, str) and text), None)
    errors = body.get("errors")
    field_errors = {str(field): str(problem) for field, problem in errors.items()} if isinstance(errors, dict) else {}
    return RemoteErrorDetail(message, field_errors)


_MAX_REMOTE_MESSAGE = 300

# Status -> error class; each class's default message says what to do about it.
_STATUS_ERRORS: dict[int, type[TrackerError]] = {
    400: RemoteValidationError,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: RemoteValidationError,
    410: NotFound,
    422: RemoteValidationError,
}


def error_from_response(
    response: TrackerResponse,
    read_detail: ErrorDetailReader = generic_error_detail,
    secrets: Iterable[str] = (),
) -> TrackerError:
    """The typed error for a response the caller cannot use, with secrets redacted."""
    secrets = list(secrets)
    status = response.status
    detail = read_detail(response)
    retry_after = None
    if _is_throttled(response):
        error_class = RateLimited
        retry_after = retry_after_seconds(response.headers)
        when = f"try again in {math.ceil(retry_after)} s" if retry_after is not None else "try again in a few minutes"
        explanation = f"The tracker is rate limiting requests or temporarily unavailable: {when}."
    else:
        error_class = _STATUS_ERRORS.get(status, UpstreamError)
        explanation = error_class.default_message
    message = f"{response.host} answered HTTP {status}. {explanation}"
    if detail.message:
        message += f" The tracker says: {redacted_excerpt(detail.message, secrets, _MAX_REMOTE_MESSAGE)}"
    return error_class(
        redact(message, secrets),
        status=status,
        retry_after=retry_after,
        field_errors={field: redact(problem, secrets) for field, problem in detail.field_errors.items()},
    )


def _is_throttled(response: TrackerResponse) -> bool:
    if response.status in (429, 503):
        return True
    # GitHub answers an exhausted rate limit with 403 and rate headers instead of 429.
    return response.status == 403 and retry_after_seconds(response.headers) is not None


# (remaining, reset) header pairs: GitHub, GitLab, Linear.
_RATE_LIMIT_HEADERS = (
    ("X-RateLimit-Remaining", "X-RateLimit-Reset"),
    ("RateLimit-Remaining", "RateLimit-Reset"),
    ("X-RateLimit-Requests-Remaining", "X-RateLimit-Requests-Reset"),
)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the tracker asks us to wait, or None when it does not say.

    ``Retry-After`` as delta seconds or an HTTP-date, else the reset time of an exhausted
    rate limit. Reset values are epoch milliseconds (Linear), epoch seconds (GitHub,
    GitLab) or, when small, delta seconds (the IETF RateLimit draft).
    """
    now = time.time() if now is None else now
    retry_after = (headers.get("Retry-After") or "").strip()
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
        except (TypeError, ValueError):
            pass
    for remaining_header, reset_header in _RATE_LIMIT_HEADERS:
        if (headers.get(remaining_header) or "").strip() != "0":
            continue
        try:
            reset = float(headers.get(reset_header) or "")
        except ValueError:
            continue
        if reset > 1e11:
            return max(0.0, reset / 1000 - now)
        if reset > 1e9:
            return max(0.0, reset - now)
        return max(0.0, reset)
    return None


def _waits_in_time(seconds: float) -> bool:
    """Whether waiting `seconds` before a retry still ends before the context's deadline."""
    give_up_at = _give_up_at.get()
    return give_up_at is None or time.monotonic() + seconds < give_up_at


def _backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter, so retrying workers spread out."""
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))


# --- The client -----------------------------------------------------------------------


class UploadPart(NamedTuple):
    """One file of a multipart/form-data upload: the form field it goes in, its name, bytes and type."""

    field: str
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default_port


def _host_and_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it wraps (requests and urllib3 nest them deeply)."""
    found: list[BaseException] = []
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is seen for seen in found):
            continue
        found.append(current)
        pending += [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args[:1]]
    return found


class TrackerHttpClient:
    """HTTP to one tracker: ``get``/``post``/``put``/``patch``/``delete``/``request``.

    Paths are relative to ``base_url``; absolute URLs are accepted too (pagination
    links), but credentials (``auth_headers``, ``auth``) only go to the base URL's origin.
    Every non-2xx answer that is not in ``accept`` raises a ``TrackerError``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth_headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | requests.auth.AuthBase | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        budget_key: str | None = None,
        budget_per_minute: int | None = None,
        budget: RequestBudget | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        request_deadline: float = 120.0,
        max_retries: int = 3,
        max_wait: float = 60.0,
        max_response_bytes: int = 10 * MiB,
        allow_private_hosts: bool | None = None,
        verify: bool | str = True,
        read_error_detail: ErrorDetailReader = generic_error_detail,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """
        auth_headers: credential headers (``Authorization``, ``PRIVATE-TOKEN``); their
            values are redacted automatically, like the password of a basic ``auth`` pair.
        headers: other default headers (``Accept``, API version).
        secrets: anything else to keep out of errors and logs.
        request_deadline: the most seconds one request on the wire may take, connecting and
            reading the whole answer included; ``deadline()`` shortens it for a context.
        budget_key, budget_per_minute: the per-source request budget (e.g. the source's
            uuid and its rate limit); both or neither. ``budget`` defaults to Redis when
            ``REDIS_URL`` is set, else this process.
        max_retries: retries after the first attempt.
        max_wait: the longest single wait for a rate limit; a longer one raises
            ``RateLimited`` at once.
        allow_private_hosts: defaults to the ``TRACKER_ALLOW_PRIVATE_HOSTS`` setting.
        verify: TLS verification, or the path of a CA bundle for an internal CA.
        read_error_detail: reads the tracker's own error message and field errors.
        sleep: how to wait (tests pass a recorder).
        """
        if (budget_key is None) != (budget_per_minute is None):
            raise ValueError("budget_key and budget_per_minute go together")
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.request_deadline = request_deadline
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.max_response_bytes = max_response_bytes
        self.requests_made = 0  # every attempt, retry and redirect hop counts
        self._origin = _origin(self.base_url)
        self._auth_headers = dict(auth_headers or {})
        self._auth = auth
        self._secrets = [*secrets, *self._auth_header_secrets(), *self._basic_auth_secrets()]
        self._budget_key = budget_key
        self._budget_per_minute = budget_per_minute
        self._budget = (budget or default_request_budget()) if budget_key is not None else None
        self._read_error_detail = read_error_detail
        self._sleep = sleep

        if allow_private_hosts is None:
            allow_private_hosts = settings.TRACKER_ALLOW_PRIVATE_HOSTS
        self._session = requests.Session()
        # Environment proxies would bypass the address check and ~/.netrc would add
        # credentials nobody configured: the client uses neither.
        self._session.trust_env = False
        self._session.verify = verify
        self._session.headers.update({"User-Agent": "testmanager", "Accept": "application/json", **(headers or {})})
        adapter = _AddressCheckingAdapter(allow_private_hosts)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def _auth_header_secrets(self) -> list[str]:
        secrets = []
        for value in self._auth_headers.values():
            secrets += [value, *value.split()[-1:]]  # "Bearer abc" may leak as "abc" alone
        return secrets

    def _basic_auth_secrets(self) -> list[str]:
        if isinstance(self._auth, tuple):
            user, password = self._auth
            return [password, f"{user}:{password}"]
        return []

    def redact(self, text: str) -> str:
        """``text`` without this client's secrets (for providers' own messages)."""
        return redact(text, self._secrets)

    def excerpt(self, text: str, limit: int = _MAX_REMOTE_MESSAGE) -> str:
        """A tracker's words for a message: on one line, this client's secrets removed, then cut."""
        return redacted_excerpt(text, self._secrets, limit)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "TrackerHttpClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Sequence[UploadPart] = (),
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        accept: Iterable[int] = (),
    ) -> TrackerResponse:
        """Send one request, retrying and following redirects as the module describes.

        files: multipart/form-data parts (``UploadPart``), encoded once into ``data``; not with
            ``json`` or ``data``.
        idempotent: whether a request that may have reached the server can be sent again;
            defaults by method (True for GET, HEAD, PUT, DELETE, OPTIONS). Pass True for a
            POST that only reads (a search).
        accept: non-2xx statuses returned instead of raised (304, a 404 the caller expects).
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        accept = frozenset(accept)
        if files:
            if json is not None or data is not None:
                raise ValueError("files go alone: not with json or data")
            data, content_type = encode_multipart_formdata(
                [(part.field, (part.filename, part.content, part.content_type)) for part in files]
            )
            headers = {**(headers or {}), "Content-Type": content_type}
        prepared = requests.PreparedRequest()
        prepared.prepare_url(self._absolute_url(path), params)
        attempt = 0
        while True:
            attempt += 1
            retries_left = attempt <= self.max_retries
            try:
                response = self._follow_redirects(method, prepared.url, json, data, headers, attempt)
            except Unreachable as error:
                retryable = error.reason in _NOT_SENT or (idempotent and error.reason in _MAYBE_SENT)
                backoff = _backoff_seconds(attempt)
                if not (retries_left and retryable and _waits_in_time(backoff)):
                    raise
                self._sleep(backoff)
                continue
            if 200 <= response.status < 300 or response.status in accept:
                return response
            if idempotent and retries_left and (_is_throttled(response) or response.status in (502, 504)):
                wait = retry_after_seconds(response.headers)
                wait = _backoff_seconds(attempt) if wait is None else wait
                if wait <= self.max_wait and _waits_in_time(wait):
                    self._sleep(wait)
                    continue
            raise error_from_response(response, self._read_error_detail, self._secrets)

    get = partialmethod(request, "GET")
    post = partialmethod(request, "POST")
    put = partialmethod(request, "PUT")
    patch = partialmethod(request, "PATCH")
    delete = partialmethod(request, "DELETE")

    def _absolute_url(self, path: str) -> str:
        if urlsplit(path).scheme in ("http", "https"):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _follow_redirects(self, method, url, json, data, headers, attempt) -> TrackerResponse:
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, json, data, headers, attempt)
            if response.status not in REDIRECT_STATUSES:
                return response
            target = response.headers.get("Location")
            location = urljoin(response.url, target) if target else ""
            parts = urlsplit(location)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UpstreamError(
                    f"{response.host} answered a redirect (HTTP {response.status}) without a usable "
                    "HTTP(S) location: check the base URL.",
                    status=response.status,
                )
            url = location
            # As browsers do: 303, and 301/302 after a POST, continue with a GET without body.
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, json, data = "GET", None, None
        raise UpstreamError(
            f"{response.host} redirected more than {MAX_REDIRECTS} times: check the base URL.",
            status=response.status,
        )

    def _send(self, method, url, json, data, headers, attempt) -> TrackerResponse:
        """One request on the wire within its deadline; its body read within the size cap."""
        self._spend_budget(url)
        same_origin = _origin(url) == self._origin
        started = time.monotonic()
        seconds = self._seconds_for_request(started)
        if seconds <= 0:
            raise self._deadline_error(url)
        self.requests_made += 1
        try:
            with (
                _Watchdog(seconds) as watchdog,
                self._session.request(
                    method,
                    url,
                    json=json,
                    data=data,
                    headers={**(headers or {}), **(self._auth_headers if same_origin else {})},
                    auth=self._auth if same_origin else None,
                    timeout=(min(self.connect_timeout, seconds), min(self.read_timeout, seconds)),
                    allow_redirects=False,
                    stream=True,
                ) as raw,
            ):
                response = TrackerResponse(raw.status_code, raw.headers, self._read_body(raw), raw.url)
            if watchdog.expired:  # a body read until the connection closed ends early when it is cut
                raise self._deadline_error(url)
        except requests.RequestException as error:
            past = watchdog.expired or time.monotonic() - started >= seconds
            failure = self._deadline_error(url) if past else self._transport_error(error, url)
            self._log(logging.WARNING, method, url, failure.reason, started, attempt)
            raise failure from None
        except TrackerError as error:
            self._log(logging.WARNING, method, url, getattr(error, "reason", error.code), started, attempt)
            raise
        level = logging.DEBUG if response.status < 400 else logging.WARNING
        self._log(level, method, url, response.status, started, attempt)
        return response

    def _seconds_for_request(self, now: float) -> float:
        give_up_at = _give_up_at.get()
        return self.request_deadline if give_up_at is None else min(self.request_deadline, give_up_at - now)

    def _deadline_error(self, url: str) -> Unreachable:
        give_up_at = _give_up_at.get()
        return Unreachable(
            f"{_host_and_port(url)} did not answer in time"
            + (f" (within {self.request_deadline:g} s)" if give_up_at is None else "")
            + ": the tracker may be overloaded or the network slow; try again later.",
            reason="deadline",
        )

    def _read_body(self, raw: requests.Response) -> bytes:
        # The decoded size counts, so a small compressed body that inflates hugely stops too.
        declared = raw.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise self._too_large(raw)
        body = bytearray()
        for chunk in raw.iter_content(_CHUNK_BYTES):
            body += chunk
            if len(body) > self.max_response_bytes:
                raise self._too_large(raw)
        return bytes(body)

    def _too_large(self, raw: requests.Response) -> UpstreamError:
        return UpstreamError(
            f"{urlsplit(raw.url).hostname} answered with more than {self.max_response_bytes:,} bytes; "
            "the answer was abandoned. Ask for less at a time (smaller pages or batches).",
            status=raw.status_code,
        )

    def _spend_budget(self, url: str) -> None:
        if self._budget is None:
            return
        for _ in range(self.max_retries + 1):
            wait = self._budget.acquire(self._budget_key, self._budget_per_minute)
            if wait <= 0:
                return
            if wait > self.max_wait:
                break
            self._sleep(wait)
        raise RateLimited(
            f"The request budget for {urlsplit(url).hostname} ({self._budget_per_minute} requests a minute) "
            f"is used up: try again in {math.ceil(wait)} s, or raise the source's rate limit.",
            retry_after=wait,
        )

    def _transport_error(self, error: requests.RequestException, url: str) -> Unreachable:
        """The precise ``Unreachable`` for a failure below HTTP."""
        host = _host_and_port(url)
        causes = _causes(error)
        if isinstance(error, requests.exceptions.ConnectTimeout):
            return Unreachable(
                f"Could not connect to {host} within {self.connect_timeout:g} s: check the base URL "
                "and that no firewall or proxy blocks this server.",
                reason="connect_timeout",
            )
        if any(isinstance(cause, (requests.Timeout, urllib3.exceptions.ReadTimeoutError)) for cause in causes):
            return Unreachable(
                f"{host} did not answer within {self.read_timeout:g} s: the tracker may be overloaded; "
                "try again later.",
                reason="read_timeout",
            )
        tls = next((cause for cause in causes if isinstance(cause, ssl.SSLError)), None)
        if tls is not None:
            problem = getattr(tls, "verify_message", None) or tls.reason or "handshake failed"
            return Unreachable(
                redact(
                    f"The TLS connection to {host} failed ({problem}): check the tracker's certificate "
                    "(or the CA bundle for an internal CA) and that the URL's scheme and port are right.",
                    self._secrets,
                ),
                reason="tls",
            )
        if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
            return Unreachable(
                f"{host} refused the connection: check the host and port in the base URL, "
                "and that the tracker is running.",
                reason="refused",
            )
        new_connection = next((c for c in causes if isinstance(c, urllib3.exceptions.NewConnectionError)), None)
        if new_connection is not None:
            problem = getattr(new_connection.__cause__, "strerror", None) or "network error"
            return Unreachable(
                f"Could not connect to {host} ({problem}): check the base URL and this server's network.",
                reason="connect_failed",
            )
        return Unreachable(
            f"The connection to {host} broke before the answer was complete: try again.",
            reason="connection_lost",
        )

    def _log(self, level: int, method: str, url: str, outcome: object, started: float, attempt: int) -> None:
        logger.log(
            level,
            "%s %s -> %s in %.3f s (attempt %d)",
            method,
            self.redact(url),
            outcome,
            time.monotonic() - started,
            attempt,
        )
