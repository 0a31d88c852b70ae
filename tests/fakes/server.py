"""A real HTTP server on 127.0.0.1 for fake trackers.

Each fake tracker (Jira, GitHub, GitLab, Azure DevOps, Linear) is a `FakeHTTPServer` with
routes registered by method and path regex. The server binds a random free port, records
every request it receives so tests can count and inspect them, and serialises handlers
with one lock so a fake's in-memory state needs no locking of its own.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only view of HTTP headers (the last value of a repeated name wins)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        self._values: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            self._values[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()][1]

    def __iter__(self):
        return (original for original, _ in self._values.values())

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str  # as sent, including any mount prefix
    route_path: str | None  # relative to the mount prefix; None when outside it
    query: dict[str, list[str]]
    headers: Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def param(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadedPart:
    """One part of a multipart/form-data body."""

    name: str
    filename: str | None
    content_type: str
    content: bytes


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json;charset=UTF-8", **(headers or {})},
    )


def text_response(status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status=status,
        body=text.encode(),
        headers={"Content-Type": "text/plain;charset=UTF-8", **(headers or {})},
    )


def empty_response(status: int = HTTPStatus.NO_CONTENT) -> Response:
    return Response(status=status)


def parse_multipart(request: RecordedRequest) -> list[UploadedPart]:
    """Parts of a multipart/form-data request; an empty list when the body is not multipart."""
    content_type = request.headers.get("Content-Type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return []
    envelope = f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
    message = BytesParser(policy=HTTP).parsebytes(envelope)
    if not message.is_multipart():
        return []
    return [_uploaded_part(part) for part in message.iter_parts()]


def _uploaded_part(part: Message) -> UploadedPart:
    return UploadedPart(
        name=part.get_param("name", header="content-disposition") or "",
        filename=part.get_filename(),
        content_type=part.get_content_type(),
        content=part.get_payload(decode=True) or b"",
    )


def canned_response(
    status: int,
    body: bytes | str | dict | list | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A fixed answer: a dict or list as JSON, a str as plain text, bytes as they are, sent
    as JSON unless `headers` say otherwise (so a truncated or garbled JSON body can be served)."""
    if body is None:
        return Response(status, b"", dict(headers or {}))
    if isinstance(body, str):
        return text_response(status, body, headers)
    if isinstance(body, bytes):
        return Response(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    return json_response(status, body, headers)


class FaultQueue:
    """Answers queued for the next requests, served before a fake's authentication and routes.

    Each entry answers `count` requests in a row; the fake calls `take()` with its server lock held.
    """

    def __init__(self) -> None:
        self._pending: list[list] = []  # [make the response, requests left]

    def add(self, make_response: Callable[[], Response], count: int = 1) -> None:
        self._pending.append([make_response, count])

    def take(self) -> Response | None:
        if not self._pending:
            return None
        entry = self._pending[0]
        entry[1] -= 1
        if entry[1] <= 0:
            self._pending.pop(0)
        return entry[0]()


class Quota:
    """A fixed window of `limit` requests per `period` seconds, counted the way trackers count
    rate limits: the window opens with the first request and resets at `reset_at` (epoch seconds)."""

    def __init__(self, limit: int, period: int, clock: Callable[[], float] = time.time):
        self.limit = limit
        self.period = period
        self._clock = clock
        self.used = 0
        self.reset_at = int(clock()) + period

    @property
    def remaining(self) -> int:
        self._roll()
        return max(0, self.limit - self.used)

    def spend(self, amount: int = 1) -> None:
        self._roll()
        self.used += amount

    def exhaust(self, reset_in: int) -> None:
        """Use the window up; it resets `reset_in` seconds from now."""
        self.used = self.limit
        self.reset_at = int(self._clock()) + reset_in

    def _roll(self) -> None:
        now = self._clock()
        if now >= self.reset_at:
            self.used = 0
            self.reset_at = int(now) + self.period


def page_parameters(request: RecordedRequest, *, default_per_page: int, max_per_page: int) -> tuple[int, int]:
    """(page, per_page) of offset pagination: a missing, unreadable or too small value takes the
    default, a too large `per_page` the maximum (GitHub and GitLab both clamp rather than refuse)."""

    def number(name: str, default: int) -> int:
        value = request.param(name) or ""
        return int(value) if value.isdigit() and int(value) > 0 else default

    return number("page", 1), min(number("per_page", default_per_page), max_per_page)


def link_header(origin: str, request: RecordedRequest, links: Mapping[str, Mapping[str, str]]) -> str:
    """An RFC 8288 `Link` header: for each rel, the request's own URL with some query
    parameters replaced (a page number, a cursor), as GitHub and GitLab build theirs."""
    parts = []
    for rel, replaced in links.items():
        query = {**request.query, **{name: [value] for name, value in replaced.items()}}
        parts.append(f'<{origin}{request.path}?{urlencode(query, doseq=True)}>; rel="{rel}"')
    return ", ".join(parts)


class HeldAnswers:
    """The answers to some requests, kept back after the fake carried them out: the tracker did the
    work (an issue exists) while its client still waits, so a test can prove the client is mid-request
    and, say, kill it. Answers go once `release()` is called (or the server stops)."""

    def __init__(self, method: str, path: str, *, after: int, count: int):
        self.method, self.path = method.upper(), path
        self._skip, self._left = after, count
        self._waiting = 0
        self._changed = threading.Condition()
        self._released = threading.Event()

    def takes(self, request: RecordedRequest) -> bool:
        """Whether this request's answer is held: the matching ones after the first `after`, `count` of them."""
        if request.method != self.method or re.fullmatch(self.path, request.route_path or "") is None:
            return False
        if self._skip:
            self._skip -= 1
            return False
        if not self._left:
            return False
        self._left -= 1
        return True

    def hold(self) -> None:
        with self._changed:
            self._waiting += 1
            self._changed.notify_all()
        self._released.wait()

    def wait_until_held(self, count: int = 1, timeout: float = 30) -> None:
        """Return once `count` answers are held; AssertionError naming the request after `timeout` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._waiting >= count, timeout):
                raise AssertionError(
                    f"{self._waiting} of {count} answers to {self.method} {self.path} held after {timeout} s"
                )

    def release(self) -> None:
        self._released.set()


Handler = Callable[..., Response]
Interceptor = Callable[[RecordedRequest], Response | None]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class FakeHTTPServer:
    """A threaded HTTP server with a tiny router, mounted under an optional path prefix.

    Handlers receive the `RecordedRequest` and the named groups of their path regex as keyword
    arguments, and return a `Response`. An interceptor, when set, sees every request first and
    may answer it instead of the router (fault injection, authentication).
    """

    def __init__(self, prefix: str = ""):
        self.prefix = prefix.rstrip("/")
        self.requests: list[RecordedRequest] = []
        self.lock = threading.RLock()
        self.interceptor: Interceptor | None = None
        self._routes: list[_Route] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._outside: FakeHTTPServer | None = None  # routes outside the prefix (add_outside_route)
        self._held: list[HeldAnswers] = []

    # -- routing ----------------------------------------------------------------------------------

    def add_route(self, method: str, path_regex: str, handler: Handler) -> None:
        self._routes.append(_Route(method.upper(), re.compile(path_regex), handler))

    def dispatch(self, request: RecordedRequest) -> Response:
        with self.lock:
            self.requests.append(request)
            if request.route_path is None and self._outside is not None:
                return self._outside.dispatch(replace(request, route_path=request.path))
            if request.route_path is None:
                return text_response(HTTPStatus.NOT_FOUND, "Not Found")
            if self.interceptor is not None:
                intercepted = self.interceptor(request)
                if intercepted is not None:
                    return intercepted
            allowed = []
            for route in self._routes:
                match = route.pattern.fullmatch(request.route_path)
                if match is None:
                    continue
                if route.method == request.method:
                    return route.handler(request, **match.groupdict())
                allowed.append(route.method)
            if allowed:
                return text_response(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    "Method Not Allowed",
                    {"Allow": ", ".join(sorted(set(allowed)))},
                )
            return text_response(HTTPStatus.NOT_FOUND, "Not Found")

    def add_outside_route(self, method: str, path_regex: str, handler: Handler) -> None:
        """A route for a path outside the mount prefix, matched against the whole path and answered
        without the interceptor: what an instance serves next to its API (GitHub Enterprise Server's
        /login/oauth next to /api/v3, Atlassian's authorization server next to a site's gateway path)."""
        if self._outside is None:
            self._outside = FakeHTTPServer()
        self._outside.add_route(method, path_regex, handler)

    def hold_answers(self, method: str, path: str, *, after: int = 0, count: int = 1) -> HeldAnswers:
        """Hold back the answers to `count` requests of `method` to `path` (a regex over the route path,
        full match), after letting the first `after` of them through. The requests are carried out."""
        held = HeldAnswers(method, path, after=after, count=count)
        with self.lock:
            self._held.append(held)
        return held

    def _held_for(self, request: RecordedRequest) -> HeldAnswers | None:
        with self.lock:
            return next((held for held in self._held if held.takes(request)), None)

    # -- request log ------------------------------------------------------------------------------

    def requests_to(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, optionally filtered by method and by route path (a regex, full match)."""
        with self.lock:
            return [
                request
                for request in self.requests
                if (method is None or request.method == method.upper())
                and (path is None or re.fullmatch(path, request.route_path or ""))
            ]

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.origin + self.prefix

    @property
    def origin(self) -> str:
        """Scheme, host and port, without the mount prefix."""
        if self._httpd is None:
            raise RuntimeError("the fake server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHTTPServer:
        handler_class = type("BoundRequestHandler", (_RequestHandler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self._httpd.daemon_threads = True
        # A short poll interval keeps stop() quick: shutdown() waits for the serve loop to notice.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.01,), name=f"{type(self).__name__}-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open keep-alive connections, as a server going away does."""
        if self._httpd is None:
            return
        for held in self._held:
            held.release()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # the client may have closed it already
                    connection.shutdown(socket.SHUT_RDWR)
            self._connections.clear()
        self._httpd = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _route_path(self, path: str) -> str | None:
        if not self.prefix:
            return path
        if path == self.prefix or path.startswith(self.prefix + "/"):
            return path[len(self.prefix) :] or "/"
        return None


class _RequestHandler(BaseHTTPRequestHandler):
    fake: FakeHTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm the body of every answer
    # after the first on a keep-alive connection would wait for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        with self.fake._connections_lock:
            self.fake._connections.add(self.connection)

    def finish(self):
        with self.fake._connections_lock:
            self.fake._connections.discard(self.connection)
        super().finish()

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _handle(self) -> None:
        url = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=url.path,
            route_path=self.fake._route_path(url.path),
            query=parse_qs(url.query, keep_blank_values=True),
            headers=Headers(self.headers.items()),
            body=self._read_body(),
        )
        response = self.fake.dispatch(request)
        held = self.fake._held_for(request)
        if held is not None:
            held.hold()  # outside the server lock: the fake keeps answering other requests meanwhile
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            if held is None:
                raise
            self.close_connection = True  # the client went away while its answer was held

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def log_message(self, format, *args):
        # The request log on the fake is the record tests read; stderr noise helps nobody.
        pass


class TrackerFake:
    """What every fake tracker shares: it serves through ``self.server`` (a FakeHTTPServer mounted
    at the tracker's API root) and is used as a context manager. ``requests_to`` filters the
    request log by method and by a regex over the path below that mount point, still URL-encoded
    as sent (a GitLab project path appears as group%2Fproject)."""

    server: FakeHTTPServer

    def start(self):
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def requests_to(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        return self.server.requests_to(method, path)
