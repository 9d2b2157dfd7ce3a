"""End to end: crawl a local site with three overlapping backlink exports.

A real ``scrapy crawl site -a url=... -a backlinks=a,b,c`` (the real Scrapy
engine, the site spider and the project's settings, so the ``BacklinksImport``
extension and the store pipeline) of a site served on 127.0.0.1, given an
Ahrefs "for Excel" export (UTF-16 tab), a Semrush export and a Search Console
export whose links overlap. Then the merged set, the referring-domain counts,
the resolution of targets through a redirect and a canonical, and the
lost-equity list are checked, and ``scrapy backlinks`` re-imports into the
same run.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.backlinks import lost_equity, resolve_targets
from pipelines.storedb import CrawlStore
from tests.support.backlink_exports import AHREFS_HEADER, SEMRUSH_HEADER
from tests.support.crawl import ROOT, run_crawl
from tests.support.server import Response, TestServer, redirect


def page(title: str, body: str = "", head: str = "") -> Response:
    return Response(f"<html><head><title>{title}</title>{head}</head><body>{body}</body></html>")


def site_routes() -> dict[str, Any]:
    return {
        "/": page("Home", '<a href="/guide">Guide</a> <a href="/shop/">Shop</a>'),
        "/guide": page("Kettle guide", '<a href="/shop/kettles">Kettles</a>'),
        "/shop/": page("Shop", '<a href="/shop/kettles">Kettles</a>'),
        "/shop/kettles": page("Kettles", '<a href="/">Home</a>'),
        # Reached only through backlinks (no internal link points at them):
        "/old-guide": redirect("/guide", 301),
        "/kettles?ref=print": page(
            "Kettles (print)", head='<link rel="canonical" href="/shop/kettles">'
        ),
        "/retired-product": Response("<h1>Gone</h1>", status=404),
        "/shop/discontinued-kettle": Response("<h1>Gone</h1>", status=410),
        "/loop-a": redirect("/loop-b", 302),
        "/loop-b": redirect("/loop-a", 302),
    }


def ahrefs_row(source: str, target: str, dr: str, **flags: str) -> list[str]:
    row = dict.fromkeys(AHREFS_HEADER, "")
    row.update({
        "Referring page title": "A page", "Referring page URL": source, "Domain rating": dr,
        "UR": "10", "Target URL": target, "Anchor": "kettles", "Type": "text",
        "Nofollow": "false", "UGC": "false", "Sponsored": "false",
        "First seen": "2025-01-02 03:04:05", "Last seen": "2026-04-01 10:00:00",
    })  # fmt: skip
    row.update(flags)
    return [row[name] for name in AHREFS_HEADER]


def semrush_row(source: str, target: str, score: str, nofollow: str, last: str) -> list[str]:
    return [score, "A page", source, target, "kettle guide", "10", "20", nofollow, "false",
            "false", "true", "false", "false", "false", "false", "2025-03-01", last, "false",
            "false"]  # fmt: skip


def write_exports(folder: Path, site: str) -> list[Path]:
    ahrefs = [AHREFS_HEADER]
    ahrefs += [
        ahrefs_row("https://news.example.org/kettles", f"{site}/guide", "64"),
        ahrefs_row("https://blog.example.net/tea", f"{site}/old-guide", "40"),
        ahrefs_row("https://forum.example.co.uk/t/1", f"{site}/kettles?ref=print", "50",
                   UGC="true"),
        ahrefs_row("https://review.example.com/best", f"{site}/retired-product", "70"),
        ahrefs_row("https://review.example.com/best", f"{site}/", "70"),
        ahrefs_row("https://deals.example.io/x", f"{site}/loop-a", "20"),
    ]  # fmt: skip
    text = io.StringIO()
    csv.writer(text, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(ahrefs)
    (folder / "ahrefs.csv").write_bytes(b"\xff\xfe" + text.getvalue().encode("utf-16-le"))
    with open(folder / "semrush.csv", "w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([
            SEMRUSH_HEADER,
            semrush_row("https://news.example.org/kettles", f"{site}/guide", "45", "false",
                        "2026-05-01"),
            # Semrush saw it nofollow more recently than Ahrefs saw it followed:
            semrush_row("https://review.example.com/best", f"{site}/retired-product", "60", "true",
                        "2026-05-02"),
            semrush_row("https://review.example.com/archive", f"{site}/retired-product", "55",
                        "false", "2026-05-02"),
            semrush_row("https://shop.example.de/partners", f"{site}/shop/discontinued-kettle",
                        "30", "false", "2026-02-02"),
        ])  # fmt: skip
    (folder / "gsc.csv").write_bytes(
        b"Linking page,Last crawled\r\n"
        b"https://review.example.com/best,2026-05-03\r\n"
        b"https://fans.example.net/links,2026-04-20"
    )
    return [folder / "ahrefs.csv", folder / "semrush.csv", folder / "gsc.csv"]


def crawl(server: TestServer, run_dir: Path, backlinks: str) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl site -a url=... -a backlinks=...`` of the test site."""
    return run_crawl(server.url("/"), run_dir, args={"backlinks": backlinks}, timeout=120)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("backlinks-e2e")
    with TestServer(site_routes()) as server:
        files = write_exports(folder, server.base)
        done = crawl(server, folder / "run", ",".join(str(f) for f in files))
        assert done.returncode == 0, done.stderr[-3000:]
        yield server, folder, files, done.stderr


def test_targets_only_backlinks_reach_are_crawled(crawled: Any) -> None:
    server, _, _, log = crawled
    only_backlinked = (
        "/old-guide",
        "/kettles?ref=print",
        "/retired-product",
        "/shop/discontinued-kettle",
        "/loop-a",
    )
    for path in only_backlinked:
        assert len(server.requests_for(path)) == 1, path
    assert "Backlinks: 7 target(s) scheduled for crawling, 0 outside the crawl scope" in log


def test_merged_set_vendors_and_disagreement(crawled: Any) -> None:
    server, folder, _, _ = crawled
    with CrawlStore(folder / "run") as store:
        rows = store.conn.execute(
            "SELECT b.source_url, u.url, b.vendors, b.followed, b.conflicts FROM backlinks b "
            "JOIN urls u ON u.id = b.target_id ORDER BY b.source_url, u.url"
        ).fetchall()
    site = server.base
    assert [(s, t.removeprefix(site), json.loads(v), f, c) for s, t, v, f, c in rows] == [
        ("https://blog.example.net/tea", "/old-guide", ["ahrefs"], 1, None),
        ("https://deals.example.io/x", "/loop-a", ["ahrefs"], 1, None),
        ("https://fans.example.net/links", "/", ["gsc"], 1, None),
        ("https://forum.example.co.uk/t/1", "/kettles?ref=print", ["ahrefs"], 0, None),
        ("https://news.example.org/kettles", "/guide", ["ahrefs", "semrush"], 1, None),
        ("https://review.example.com/archive", "/retired-product", ["semrush"], 1, None),
        ("https://review.example.com/best", "/", ["ahrefs", "gsc"], 1, None),
        ("https://review.example.com/best", "/retired-product", ["ahrefs", "semrush"], 0,
         '["followed"]'),
        ("https://shop.example.de/partners", "/shop/discontinued-kettle", ["semrush"], 1, None),
    ]  # fmt: skip


def test_referring_domain_counts(crawled: Any) -> None:
    server, folder, _, _ = crawled
    with CrawlStore(folder / "run") as store:
        counts = {
            url.removeprefix(server.base): rest
            for url, *rest in store.conn.execute(
                "SELECT u.url, c.links, c.referring_pages, c.referring_domains, "
                "c.live_followed_domains FROM backlink_target_counts c "
                "JOIN urls u ON u.id = c.target_id"
            )
        }
    assert counts["/retired-product"] == [2, 2, 1, 1]  # two pages of review.example.com
    assert counts["/"] == [2, 2, 2, 2]
    assert counts["/guide"] == [1, 1, 1, 1]


def test_targets_resolve_through_redirects_and_canonicals(crawled: Any) -> None:
    server, folder, _, _ = crawled
    with CrawlStore(folder / "run") as store:
        resolved = {
            r.target_url.removeprefix(server.base): (r.outcome, r.final_url, r.status)
            for r in resolve_targets(store)
        }
    site = server.base
    assert resolved == {
        "/": ("page", f"{site}/", 200),
        "/guide": ("page", f"{site}/guide", 200),
        "/old-guide": ("redirect", f"{site}/guide", 200),
        "/kettles?ref=print": ("canonical", f"{site}/shop/kettles", 200),
        "/retired-product": ("error", f"{site}/retired-product", 404),
        "/shop/discontinued-kettle": ("error", f"{site}/shop/discontinued-kettle", 410),
        "/loop-a": ("loop", None, 302),
    }


def test_lost_equity_list(crawled: Any) -> None:
    server, folder, _, _ = crawled
    with CrawlStore(folder / "run") as store:
        lost = lost_equity(store)
    site = server.base
    assert [
        (e.resolution.target_url.removeprefix(site), e.links, e.referring_domains,
         e.live_followed_domains, e.redirect_to)
        for e in lost
    ] == [
        ("/loop-a", 1, 1, 1, f"{site}/"),
        ("/retired-product", 2, 1, 1, f"{site}/"),
        ("/shop/discontinued-kettle", 1, 1, 1, f"{site}/shop/"),
    ]  # fmt: skip


def test_the_command_reimports_into_the_run_and_says_what_it_did(crawled: Any) -> None:
    server, folder, files, _ = crawled
    with CrawlStore(folder / "run") as store:
        before = store.conn.execute("SELECT * FROM backlinks ORDER BY id").fetchall()
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "backlinks", str(folder / "run"), *map(str, files)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert (
        "Ahrefs backlinks (current format) [ahrefs/current]; utf-16-le (BOM), tab-separated" in out
    )
    assert f"target assumed: {server.base}/ (the export has no target column" in out
    assert "store: 9 backlink(s) in the run (0 added, 9 merged into stored ones)" in out
    assert "targets vs the crawl: 2 live page, 1 through a redirect, 1 to its canonical, " in out
    assert f"{server.base}/retired-product [404] 1 live followed referring domain(s)" in out
    with CrawlStore(folder / "run") as store:
        after = store.conn.execute("SELECT * FROM backlinks ORDER BY id").fetchall()
    assert after == before  # importing the same files again changes nothing


def test_an_unreadable_export_stops_the_crawl_before_it_starts(tmp_path: Path) -> None:
    bad = tmp_path / "export.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with TestServer(site_routes()) as server:
        done = crawl(server, tmp_path / "run", str(bad))
        assert server.paths() == []  # not even robots.txt
    why = f"backlinks not imported, crawl stopped: {bad}: is a ZIP archive"
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {why}")
    assert "'finish_reason': 'backlinks_error'" in done.stderr
    with CrawlStore(tmp_path / "run") as store:
        assert store.count("backlinks") == 0
        assert store.get_meta("finish_reason") == "backlinks_error"
        assert store.get_meta("complete") is False
        assert store.get_meta("fatal_error").startswith(why)
