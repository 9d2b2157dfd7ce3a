"""Serve the bundled demo site on 127.0.0.1 (used by ``scrapy demo``).

Paths map to files in ``site/``: ``/x`` to ``x.html``, ``/x/`` to
``x/index.html``, anything with an extension to itself. ``routes.json`` adds
redirects (``{"/old": [301, "/new"]}``), URLs that are gone (410) and aliases
for URLs with a query string. ``{{base}}`` in text files becomes the server's
own ``http://127.0.0.1:PORT`` (sitemaps and canonicals are absolute). Unknown
paths answer 404.

Standard library only; the files are read through ``importlib.resources`` so
the site is served from an installed package or an egg as well.
"""

from __future__ import annotations

import json
import posixpath
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, Final
from urllib.parse import unquote, urlsplit

__all__ = ["PUBLIC_BASE", "DemoServer", "DemoSite"]

#: Where the demo site "lives" on the web: the backlink exports point there.
PUBLIC_BASE: Final = "https://www.northwind-outfitters.example"

_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".pdf": "application/pdf",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".csv": "text/csv; charset=utf-8",
}
_TEXT: Final = (".html", ".xml", ".txt", ".css", ".svg")
_NOT_FOUND: Final = (
    b"<!DOCTYPE html><html><head><title>Page not found</title></head>"
    b'<body><h1>Page not found</h1><p><a href="/">Home</a></p></body></html>'
)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of the demo site."""

    status: int
    content_type: str
    body: bytes
    location: str | None = None


class DemoSite:
    """The demo site's routes, read from the package data."""

    def __init__(self, root: Traversable | None = None) -> None:
        self.root = root if root is not None else files("linkspider.demo")
        routes: dict[str, Any] = json.loads(self.root.joinpath("routes.json").read_text("utf-8"))
        self.redirects: dict[str, tuple[int, str]] = {
            path: (int(status), location)
            for path, (status, location) in routes["redirects"].items()
        }
        self.gone: frozenset[str] = frozenset(routes.get("gone", ()))
        self.aliases: dict[str, str] = dict(routes.get("aliases", {}))

    def _file(self, path: str) -> Traversable | None:
        clean = posixpath.normpath(unquote(path))
        if clean.startswith("..") or "/../" in clean:
            return None
        relative = clean.lstrip("/")
        if path.endswith("/"):
            relative = posixpath.join(relative, "index.html")
        elif not posixpath.splitext(relative)[1]:
            relative += ".html"
        node: Traversable = self.root.joinpath("site")
        for part in relative.split("/"):
            if part in ("", "."):
                continue
            node = node.joinpath(part)
        return node if node.is_file() else None

    def answer(self, target: str, base: str) -> Answer:
        """The answer for a request target (path and query), with ``base`` for ``{{base}}``."""
        if target in self.aliases:
            node: Traversable | None = self.root.joinpath("site").joinpath(
                *self.aliases[target].split("/")
            )
            path = "/" + self.aliases[target]
        else:
            path = urlsplit(target).path or "/"
            if path in self.redirects:
                status, location = self.redirects[path]
                return Answer(status, "text/html; charset=utf-8", b"", location=location)
            if path in self.gone:
                return Answer(410, "text/html; charset=utf-8", b"<h1>Gone</h1>")
            node = self._file(path)
        if node is None or not node.is_file():
            return Answer(404, "text/html; charset=utf-8", _NOT_FOUND)
        suffix = posixpath.splitext(path if "." in posixpath.basename(path) else path + ".html")[1]
        if path.endswith("/"):
            suffix = ".html"
        body = node.read_bytes()
        if suffix in _TEXT:
            body = body.replace(b"{{base}}", base.encode("ascii"))
        return Answer(200, _TYPES.get(suffix, "application/octet-stream"), body)


class DemoServer:
    """The demo site on ``127.0.0.1``; use as a context manager.

    Parameters
    ----------
    port : int
        0 picks a free port.
    """

    def __init__(self, port: int = 0, site: DemoSite | None = None) -> None:
        demo = site or DemoSite()
        own: dict[str, int] = {}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "NorthwindDemo/1.0"

            def log_message(self, format: str, *args: object) -> None:
                pass  # the crawl logs what matters

            def _serve(self, with_body: bool) -> None:
                host = self.headers.get("Host") or f"127.0.0.1:{own['port']}"
                answer = demo.answer(self.path, f"http://{host}")
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    if answer.location:
                        self.send_header("Location", answer.location)
                    self.end_headers()
                    if with_body:
                        self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                self._serve(with_body=True)

            def do_HEAD(self) -> None:
                self._serve(with_body=False)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        own["port"] = self.port
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DemoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
