"""Ctrl-C, then resume with JOBDIR: same run folder, nothing lost, nothing doubled."""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path

from tests.support.crawl import StoreView, run_crawl, start_crawl
from tests.support.server import TestServer
from tests.support.site import SiteBuilder

PAGES = 150


def _chain_site() -> SiteBuilder:
    site = SiteBuilder().robots("User-agent: *\nAllow: /\n")
    site.page("/", "Home", '<a href="/p/0">Start</a>', nav=(), aside=(), footer=())
    for i in range(PAGES):
        links = "".join(f'<a href="/p/{j}">Page {j}</a>' for j in range(i + 1, min(i + 4, PAGES)))
        site.page(
            f"/p/{i}", f"Page {i}", links + '<a href="/">Home</a>', nav=(), aside=(), footer=()
        )
    return site


def test_interrupted_crawl_resumes_into_the_same_store(tmp_path: Path) -> None:
    settings = {
        "JOBDIR": str(tmp_path / "job"),
        "LINKSPIDER_RUNS_DIR": str(tmp_path / "runs"),
        "LINKSTORE_BATCH_PAGES": "10",
        "DOWNLOAD_DELAY": "0.03",
        "DOWNLOAD_DELAY_JITTER": "0",
    }
    with TestServer(_chain_site().build()) as server:
        first = start_crawl(server.url("/"), None, args={"sitemaps": "off"}, settings=settings)
        deadline = time.monotonic() + 60
        while len(server.log) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=60)
        requests_first = len(server.log)

        run_dir = Path(out.strip().splitlines()[-1].removeprefix("Run folder: "))
        interrupted = StoreView(run_dir / "crawl.sqlite", server.base)
        meta = interrupted.meta()
        assert (meta["finish_reason"], meta["complete"]) == ("shutdown", False), err[-2000:]
        stored_first = len(interrupted.pages())
        assert 0 < stored_first < PAGES
        interrupted.close()

        second = run_crawl(server.url("/"), None, args={"sitemaps": "off"}, settings=settings)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.strip() == f"Run folder: {run_dir}"
    assert len(list((tmp_path / "runs").rglob("crawl.sqlite"))) == 1

    store = StoreView(run_dir / "crawl.sqlite", server.base)
    meta = store.meta()
    assert (meta["finish_reason"], meta["complete"]) == ("finished", True)
    assert len(meta["resumed_at"]) == 1
    pages = store.pages()
    expected = {"/", *(f"/p/{i}" for i in range(PAGES))}
    assert set(pages) == expected
    assert {row["kind"] for row in pages.values()} == {"html"}
    # Every link of every page, exactly once.
    links = store.conn.execute("SELECT count(*), count(DISTINCT src_id || '-' || ord) FROM links")
    total, distinct = links.fetchone()
    # Each page: the logo link, its next pages and "Home"; the home page: logo and /p/0.
    expected_links = 2 + sum(1 + min(i + 4, PAGES) - (i + 1) + 1 for i in range(PAGES))
    assert total == distinct == expected_links
    assert store.conn.execute("SELECT count(*) FROM edges").fetchone()[0] == PAGES + 1
    for i in (0, 1, 3, 4, 77, PAGES - 1):
        assert pages[f"/p/{i}"]["depth"] == 1 + math.ceil(i / 3)
    # No page was fetched twice across the two runs.
    gets = [entry.path for entry in server.log if entry.path != "/robots.txt"]
    assert sorted(gets) == sorted(expected)
    assert requests_first < len(server.log)
    store.close()
