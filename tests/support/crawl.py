"""Run the real ``scrapy crawl site`` in a subprocess and read what it stored.

Integration tests use :func:`run_crawl` (or :func:`start_crawl` to interrupt
it) and :class:`StoreView` to assert on the crawl store by path instead of
by URL id.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.storedb import POSITIONS, unpack_edges

ROOT = Path(__file__).resolve().parents[2]

#: Politeness off for speed; each test turns on what it measures.
FAST_SETTINGS: dict[str, str] = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "4",
    "LINKSPIDER_ROBOTS_RETRY_DELAY": "0.2",
    "LINKSTORE_BATCH_SECONDS": "0.5",
}


def crawl_command(
    url: str | None,
    run_dir: Path | None,
    *,
    args: Mapping[str, str] | None = None,
    settings: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``scrapy crawl site`` command line."""
    command = [sys.executable, "-m", "scrapy", "crawl", "site"]
    if url is not None:
        command += ["-a", f"url={url}"]
    if run_dir is not None:
        command += ["-a", f"run_dir={run_dir}"]
    for name, value in (args or {}).items():
        command += ["-a", f"{name}={value}"]
    for name, value in {**FAST_SETTINGS, **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    return [*command, *extra]


def run_crawl(
    url: str | None,
    run_dir: Path | None,
    *,
    args: Mapping[str, str] | None = None,
    settings: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run a crawl to its end; returns the finished process (stdout, stderr, returncode)."""
    return subprocess.run(
        crawl_command(url, run_dir, args=args, settings=settings, extra=extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_crawl(
    url: str | None,
    run_dir: Path | None,
    *,
    args: Mapping[str, str] | None = None,
    settings: Mapping[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start a crawl in the background (to interrupt it)."""
    return subprocess.Popen(
        crawl_command(url, run_dir, args=args, settings=settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass
class StoreView:
    """Read a crawl store with paths relative to one site base."""

    path: Path
    base: str

    def __post_init__(self) -> None:
        self.conn = sqlite3.connect(self.path)
        self.conn.row_factory = sqlite3.Row

    def close(self) -> None:
        self.conn.close()

    def rel(self, url: str | None) -> str | None:
        if url is None:
            return None
        return url[len(self.base) :] if url.startswith(self.base) else url

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def pages(self) -> dict[str, dict[str, Any]]:
        """Every pages row by path, with URL ids resolved."""
        rows = self.conn.execute(
            "SELECT u.url AS url, r.url AS requested, c.url AS canonical, p.* FROM pages p"
            " JOIN urls u ON u.id = p.url_id LEFT JOIN urls r ON r.id = p.requested_id"
            " LEFT JOIN urls c ON c.id = p.canonical_id"
        )
        out = {}
        for row in rows:
            record = dict(row)
            record["requested"] = self.rel(record["requested"])
            record["canonical"] = self.rel(record["canonical"])
            out[str(self.rel(row["url"]))] = record
        return out

    def links(self, path: str) -> list[tuple[Any, ...]]:
        """Links of a page in order: (target, anchor, position, rel, followed, internal,
        kind, is_image), targets as paths."""
        rows = self.conn.execute(
            "SELECT d.url, l.anchor, l.position, l.rel, l.followed, l.internal, l.kind, l.is_image"
            " FROM links l JOIN urls s ON s.id = l.src_id LEFT JOIN urls d ON d.id = l.dst_id"
            " WHERE s.url = ? ORDER BY l.ord",
            (self.base + path,),
        )
        return [
            (self.rel(r[0]), r[1], POSITIONS[r[2]], r[3], bool(r[4]), bool(r[5]), r[6], bool(r[7]))
            for r in rows
        ]

    def edges(self, path: str) -> list[tuple[str | None, int]]:
        """(target path, flags) of a page's packed edges."""
        row = self.conn.execute(
            "SELECT e.packed FROM edges e JOIN urls s ON s.id = e.src_id WHERE s.url = ?",
            (self.base + path,),
        ).fetchone()
        if row is None:
            return []
        dst, flags = unpack_edges(row[0])
        urls = dict(self.conn.execute("SELECT id, url FROM urls"))
        return [(self.rel(urls[int(d)]), int(f)) for d, f in zip(dst, flags, strict=True)]

    def redirects(self) -> dict[str, tuple[str | None, int]]:
        rows = self.conn.execute(
            "SELECT s.url, d.url, r.status FROM redirects r JOIN urls s ON s.id = r.src_id"
            " LEFT JOIN urls d ON d.id = r.dst_id"
        )
        return {str(self.rel(s)): (self.rel(d), status) for s, d, status in rows}

    def known(self) -> set[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT u.url, k.source FROM known_urls k JOIN urls u ON u.id = k.url_id"
        )
        return {(str(self.rel(url)), source) for url, source in rows}

    def traps(self) -> dict[str, tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT u.url, t.pattern, t.reason FROM traps t JOIN urls u ON u.id = t.url_id"
        )
        return {str(self.rel(url)): (pattern, reason) for url, pattern, reason in rows}
