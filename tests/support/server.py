"""A real HTTP server for tests: serves a dict of routes on 127.0.0.1, port 0.

Every request is logged (time, method, path, User-Agent, headers) so tests can
assert what the crawler fetched, in which order and how fast.

A route is either a :class:`Response` or a callable ``(request) -> Response``
for dynamic pages (an infinite calendar, a page that answers 503 twice, ...).
Paths are matched with their query string first, then without it.

``TestServer(routes, tls=True)`` answers plain HTTP and HTTPS (a self-signed
certificate) on the same port, so ``http://`` and ``https://`` of one host and
port can be told apart (``LoggedRequest.scheme``).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.support.tls import self_signed_context


@dataclass
class Response:
    """What the server answers for a route."""

    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow page)


@dataclass(frozen=True)
class LoggedRequest:
    """One request the server received."""

    time: float
    method: str
    path: str  # with the query string
    user_agent: str
    headers: Mapping[str, str]
    scheme: str = "http"  # "https" when the connection was TLS (TestServer(tls=True))


Route = Response | Callable[[LoggedRequest], Response]


def redirect(location: str, status: int = 301) -> Response:
    """A redirect response."""
    return Response(b"", status=status, headers={"Location": location})


class TestServer:
    """Serve ``routes`` on 127.0.0.1 with a free port; use as a context manager.

    Parameters
    ----------
    routes : mapping
        ``{"/path" or "/path?query": Response or callable}``. Unknown paths get 404.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, routes: Mapping[str, Route] | None = None, *, tls: bool = False) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest output clean; the log list records everything

            def _serve(self, send_body: bool) -> None:
                entry = LoggedRequest(
                    time=time.monotonic(),
                    method=self.command,
                    path=self.path,
                    user_agent=self.headers.get("User-Agent", ""),
                    headers=dict(self.headers.items()),
                    scheme="https" if isinstance(self.connection, ssl.SSLSocket) else "http",
                )
                with server._lock:
                    server.log.append(entry)
                route = server.routes.get(self.path)
                if route is None:
                    route = server.routes.get(urlsplit(self.path).path)
                response = (
                    Response("<h1>Not found</h1>", status=404)
                    if route is None
                    else route
                    if isinstance(route, Response)
                    else route(entry)
                )
                if response.delay:
                    time.sleep(response.delay)
                body = response.body.encode() if isinstance(response.body, str) else response.body
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", response.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if send_body:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler gave up on this answer (size cap, timeout)

            def do_GET(self) -> None:
                self._serve(send_body=True)

            def do_HEAD(self) -> None:
                self._serve(send_body=False)

        self._httpd = (
            _DualServer(("127.0.0.1", 0), Handler)
            if tls
            else ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        )
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of a path on this server."""
        return self.base + path

    def paths(self) -> list[str]:
        """Paths requested so far, in order."""
        with self._lock:
            return [entry.path for entry in self.log]

    def requests_for(self, path: str) -> list[LoggedRequest]:
        """Requests for one path (query string included in the comparison)."""
        with self._lock:
            return [entry for entry in self.log if entry.path == path]

    def start(self) -> TestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _DualServer(ThreadingHTTPServer):
    """Plain HTTP and HTTPS on one port: a TLS handshake's first byte (0x16) decides."""

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.tls_context = self_signed_context()

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        request.settimeout(10)  # a client that never speaks does not hold a thread
        try:
            first = request.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        request.settimeout(None)
        if first != b"\x16":
            super().finish_request(request, client_address)
            return
        try:
            secure = self.tls_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()
