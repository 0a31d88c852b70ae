"""A real HTTP server on 127.0.0.1 that answers from a script, for testing HTTP clients.

    server.script("/issue", Reply(503), Reply(200, body=b"{}"))

answers the first request to /issue with 503 and every later one with 200. It records
what it received, can answer slowly, stream bodies of any size and redirect anywhere.
"""

import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # bytes are sent with a Content-Length; an iterable of chunks is streamed without
    # one (the body ends when the connection closes), unless headers give one.
    body: bytes | Iterable[bytes] = b""
    delay: float = 0.0  # seconds to wait before answering


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # names lower-cased
    body: bytes


class ScriptedServer:
    def __init__(self):
        self.received: list[ReceivedRequest] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts[path] = list(replies)

    def received_on(self, path: str) -> list[ReceivedRequest]:
        return [request for request in self.received if urlsplit(request.path).path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # ends the delays of requests still being answered
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            replies = self._scripts.get(path)
            if not replies:
                return Reply(404, {"Content-Type": "application/json"}, b'{"message": "nothing scripted here"}')
            return replies.pop(0) if len(replies) > 1 else replies[0]


def _handler_for(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            server.received.append(
                ReceivedRequest(
                    self.command,
                    self.path,
                    {name.lower(): value for name, value in self.headers.items()},
                    self.rfile.read(length),
                )
            )
            reply = server._next_reply(urlsplit(self.path).path)
            if reply.delay and server._stopping.wait(reply.delay):
                return
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if isinstance(reply.body, bytes):
                    if "Content-Length" not in reply.headers:
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                else:
                    self.end_headers()
                    for chunk in reply.body:
                        self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on the answer, as clients under test may

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

        def log_message(self, format, *args):
            pass  # keep test output clean

    return Handler


class SaturatedListener:
    """A port whose accept queue is full: new connections neither succeed nor get
    refused, so a client's connect timeout fires (Linux drops the SYNs)."""

    def __init__(self):
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port = self._listener.getsockname()[1]
        self._queued = socket.create_connection(("127.0.0.1", self.port))

    def close(self) -> None:
        self._queued.close()
        self._listener.close()


class TricklingServer:
    """A server that answers every request one byte at a time, a byte every `interval` seconds, and
    never finishes: `head` first (e.g. part of a status line and headers), then header bytes forever.
    Each byte restarts a client's read timeout, so only a deadline on the whole request ends it."""

    def __init__(self, head: bytes = b"HTTP/1.1 200 OK\r\n", interval: float = 0.05):
        self._head, self._interval = head, interval
        self._stopping = threading.Event()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)  # the request; its content does not matter
            data = self._head + b"X-Padding: " + b"x" * 10_000_000
            for position in range(len(data)):
                if self._stopping.wait(self._interval):
                    return
                try:
                    connection.sendall(data[position : position + 1])
                except OSError:
                    return  # the client gave up

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
