"""One real crawl of the designed site, many assertions on the store and the server log."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from linkspider import settings as project_settings
from pipelines.storedb import EDGE_FLAG_FOLLOWED, EDGE_FLAG_INTERNAL, POSITION_CODES
from tests.support.crawl import StoreView, run_crawl
from tests.support.server import TestServer
from tests.support.site import (
    BLOCKED_PATHS,
    EXPECTED_DEPTHS,
    HEAD_ONLY_PATHS,
    NEVER_REQUESTED,
    designed_site,
)


@dataclass
class Crawl:
    server: TestServer
    store: StoreView
    process: CompletedProcess[str]
    feed: Path


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    tmp = tmp_path_factory.mktemp("designed")
    with TestServer(designed_site().build()) as server:
        process = run_crawl(
            server.url("/"),
            tmp / "run",
            settings={"LINKSPIDER_TRAP_CALENDAR_CAP": "5", "DOWNLOAD_MAXSIZE": "100000"},
            extra=["-O", str(tmp / "pages.jsonl")],
        )
    assert process.returncode == 0, process.stderr[-3000:]
    store = StoreView(tmp / "run" / "crawl.sqlite", server.base)
    yield Crawl(server, store, process, tmp / "pages.jsonl")
    store.close()


def test_every_url_has_its_exact_click_depth(crawl: Crawl) -> None:
    pages = crawl.store.pages()
    assert {path: row["depth"] for path, row in pages.items()} == EXPECTED_DEPTHS


def test_kinds_and_statuses(crawl: Crawl) -> None:
    pages = crawl.store.pages()
    got = {path: (row["kind"], row["status"]) for path, row in pages.items()}
    assert got["/"] == ("html", 200)
    assert got["/old-page"] == ("redirect", 301)
    assert got["/shop/socks"] == ("redirect", 302)
    assert got["/missing"] == ("error", 404)
    assert got["/shop/boots-large"] == ("error", 410)
    assert got["/private/secret"] == ("blocked", None)
    assert got["/files/catalog.pdf"] == ("other", 200)
    assert got["/files/report"] == ("other", 200)
    assert got["/big"] == ("oversize", 200)
    assert got["/busy"] == ("html", 200)
    assert got["/throttled"] == ("html", 200)
    assert got["/calendar/2024/06"] == ("trap", None)
    assert got["/trap/loop/loop/loop/"] == ("trap", None)
    assert pages["/big"]["size_bytes"] > 100_000
    assert "DOWNLOAD_MAXSIZE" in pages["/big"]["error"]
    assert pages["/files/report"]["content_type"] == "application/pdf"
    assert pages["/private/secret"]["error"] == "disallowed by robots.txt"


def test_home_links_exactly(crawl: Crawl) -> None:
    http = "http"
    assert crawl.store.links("/") == [
        ("/", "Northwind Outfitters", "header", None, True, True, http, False),
        ("/", "Home", "nav", None, True, True, http, False),
        ("/shop/", "Shop", "nav", None, True, True, http, False),
        ("/blog/", "Blog", "nav", None, True, True, http, False),
        ("/about", "About", "nav", None, True, True, http, False),
        ("/shop/boots", "Hiking boots", "content", None, True, True, http, False),
        ("/blog/hello", "Read our hello post", "content", None, True, True, http, False),
        ("/old-page", "Our story", "content", None, True, True, http, False),
        ("https://partner.example/deal", "Partner deal", "content", "sponsored noopener", False,
         False, http, False),
        ("/private/secret", "Staff area", "content", None, True, True, http, False),
        (None, "Email us", "content", None, False, False, "mailto", False),
        (None, "Call us", "content", None, False, False, "tel", False),
        (None, "Open menu", "content", None, False, False, "javascript", False),
        ("/files/catalog.pdf", "Catalogue (PDF)", "content", None, True, True, http, False),
        ("/shop/cart", "Cart", "content", "nofollow", False, True, http, False),
        ("/shop/boots", "Best seller: hiking boots", "aside", None, True, True, http, False),
        ("/contact", "Contact", "footer", None, True, True, http, False),
        ("/privacy", "Privacy", "footer", None, True, True, http, False),
    ]  # fmt: skip


def test_anchor_and_href_details(crawl: Crawl) -> None:
    contact = crawl.store.links("/contact")[5:8]
    assert contact == [
        ("/about", "About us now", "content", None, True, True, "http", False),
        ("/privacy", "", "content", None, True, True, "http", False),
        ("/shop/boots", "Boots again", "content", None, True, True, "http", False),
    ]
    boots = crawl.store.links("/shop/boots")
    assert (
        "/shop/boots-large",
        "Boots, large photo",
        "content",
        None,
        True,
        True,
        "http",
        True,
    ) in boots
    assert crawl.store.links("/shop/")[5] == (
        "/",
        "Home",
        "breadcrumb",
        None,
        True,
        True,
        "http",
        False,
    )
    about = crawl.store.links("/about")
    assert ("/contact", "Find us", "content", None, True, True, "http", True) in about
    # <base href="/shop/outer/"> resolves the relative link.
    assert ("/shop/outer/parka", "Parka", "content", None, True, True, "http", False) in (
        crawl.store.links("/shop/jackets")
    )
    ugc = [
        link for link in crawl.store.links("/blog/hello") if link[0] == "https://commenter.example/"
    ]
    assert ugc == [("https://commenter.example/", "A reader", "content", "ugc nofollow", False,
                    False, "http", False)]  # fmt: skip


def test_page_facts(crawl: Crawl) -> None:
    pages = crawl.store.pages()
    boots = pages["/shop/boots"]
    assert (boots["title"], boots["h1"], boots["canonical"]) == (
        "Hiking boots",
        "Hiking boots",
        "/shop/boots",
    )
    assert json.loads(boots["hreflang"]) == [["de", crawl.server.url("/de/shop/stiefel")]]
    assert boots["word_count"] == 12
    assert json.loads(boots["signature"])[:2] == ["boots", "hiking"]
    assert pages["/shop/jackets"]["canonical"] == "/shop/coats"
    tents = pages["/shop/tents"]
    assert (tents["meta_robots"], tents["noindex"], tents["nofollow"]) == (
        "noindex, nofollow",
        1,
        1,
    )
    assert {link[4] for link in crawl.store.links("/shop/tents")} == {False}
    hello = pages["/blog/hello"]
    assert (hello["x_robots_tag"], hello["noindex"], hello["nofollow"]) == (
        "googlebot: noindex",
        1,
        0,
    )
    assert pages["/slow"]["response_ms"] >= 1000
    assert pages["/"]["n_links"] == 18
    assert pages["/"]["fetched_at"] > 1e9


def test_redirect_hops_chains_and_loops(crawl: Crawl) -> None:
    assert crawl.store.redirects() == {
        "/old-page": ("/about", 301),
        "/shop/socks": ("/shop/socks-sale", 302),
        "/blog/chain-start": ("/blog/chain-2", 301),
        "/blog/chain-2": ("/blog/chain-end", 308),
        "/blog/loop-a": ("/blog/loop-b", 302),
        "/blog/loop-b": ("/blog/loop-a", 301),
    }
    pages = crawl.store.pages()
    assert pages["/blog/chain-end"]["requested"] == "/blog/chain-start"
    assert pages["/blog/chain-2"]["requested"] == "/blog/chain-start"
    assert pages["/blog/loop-b"]["error"] == "redirect loop"
    # Each hop of the loop was requested once.
    assert crawl.server.paths().count("/blog/loop-a") == 1


def test_edges_are_the_http_links_packed(crawl: Crawl) -> None:
    store = crawl.store
    for path in ("/", "/shop/", "/shop/tents", "/contact"):
        expected = [
            (
                target,
                POSITION_CODES[position]
                | (EDGE_FLAG_FOLLOWED if followed else 0)
                | (EDGE_FLAG_INTERNAL if internal else 0),
            )
            for target, _, position, _, followed, internal, kind, _ in store.links(path)
            if target is not None
        ]
        assert store.edges(path) == expected
    assert store.edges("/files/catalog.pdf") == []


def test_robots_disallowed_and_nofollow_urls_are_never_requested(crawl: Crawl) -> None:
    requested = set(crawl.server.paths())
    for path in NEVER_REQUESTED:
        assert path not in requested
    pages = crawl.store.pages()
    for path in BLOCKED_PATHS:
        assert pages[path]["kind"] == "blocked"
    assert "/shop/cart" not in pages and "/shop/tent-secret" not in pages


def test_each_url_is_fetched_once_and_non_html_files_by_head(crawl: Crawl) -> None:
    log = crawl.server.log
    gets = [entry.path for entry in log if entry.method == "GET"]
    retried = {"/busy": 3, "/throttled": 2}
    for path in set(gets):
        assert gets.count(path) == retried.get(path, 1), path
    for path in HEAD_ONLY_PATHS:
        assert [entry.method for entry in log if entry.path == path] == ["HEAD"]
    assert [e.method for e in log if e.path == "/files/report"] == ["GET"]


def test_backoff_honours_retry_after(crawl: Crawl) -> None:
    for path, answers in (("/busy", 3), ("/throttled", 2)):
        times = [entry.time for entry in crawl.server.requests_for(path)]
        assert len(times) == answers
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) >= 0.95, (path, gaps)


def test_user_agent_is_the_honest_default(crawl: Crawl) -> None:
    agents = {entry.user_agent for entry in crawl.server.log}
    assert agents == {project_settings.USER_AGENT}
    assert re.search(r"linkspider/\S+ \(\+https?://", project_settings.USER_AGENT)


def test_traps_are_recorded_with_their_pattern(crawl: Crawl) -> None:
    traps = crawl.store.traps()
    assert set(traps) == {"/calendar/2024/06", "/trap/loop/loop/loop/"}
    assert traps["/calendar/2024/06"][0] == crawl.server.base + "/calendar/#/#"
    assert traps["/trap/loop/loop/loop/"][0] == "repeated path segment /loop/"
    calendar = [p for p in crawl.server.paths() if p.startswith("/calendar/")]
    assert calendar == [f"/calendar/2024/0{m}" for m in range(1, 6)]


def test_sitemaps_and_known_urls(crawl: Crawl) -> None:
    assert crawl.store.known() == {
        ("/", "start"),
        ("/", "sitemap"),
        ("/shop/", "sitemap"),
        ("/about", "sitemap"),
        ("/orphan", "sitemap"),
        ("/blog/hello", "sitemap"),
        ("/blog/guide", "sitemap"),
    }
    pages = crawl.store.pages()
    in_sitemap = {path for path, row in pages.items() if row["in_sitemap"]}
    assert in_sitemap == {"/", "/shop/", "/about", "/orphan", "/blog/hello", "/blog/guide"}
    assert pages["/orphan"]["kind"] == "html" and pages["/orphan"]["depth"] is None
    # The gzipped sitemap came from the index that robots.txt lists.
    assert "/sitemap-blog.xml.gz" in crawl.server.paths()


def test_run_metadata(crawl: Crawl) -> None:
    meta = crawl.store.meta()
    assert meta["finish_reason"] == "finished"
    assert meta["complete"] is True
    assert meta["caps_hit"] == []
    assert meta["fatal_error"] is None
    assert meta["start_urls"] == [crawl.server.url("/")]
    assert meta["site_host"] == f"127.0.0.1:{crawl.server.port}"
    assert meta["scope"]["mode"] == "host"
    assert meta["max_pages"] == 50_000
    assert meta["pages"] == len(EXPECTED_DEPTHS)
    assert meta["links"] == crawl.store.conn.execute("SELECT count(*) FROM links").fetchone()[0]
    assert meta["settings"]["USER_AGENT"] == project_settings.USER_AGENT
    assert meta["settings"]["DOWNLOAD_MAXSIZE"] == 100000
    for stamp in ("started_at", "finished_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", meta[stamp])
    assert meta["arguments"]["url"] == crawl.server.url("/")
    assert (crawl.store.path.parent / "settings.json").is_file()
    assert crawl.process.stdout.strip().endswith(f"Run folder: {crawl.store.path.parent}")
    assert "Traceback" not in crawl.process.stderr


def test_feed_export_writes_page_items_with_their_links(crawl: Crawl) -> None:
    items = [json.loads(line) for line in crawl.feed.read_text("utf-8").splitlines()]
    pages = {item["url"]: item for item in items if "links" in item}
    home = pages[crawl.server.url("/")]
    for field in ("url", "status", "depth", "title", "canonical", "meta_robots", "redirect_chain"):
        assert field in home
    assert set(home["links"][0]) >= {
        "url",
        "href",
        "anchor",
        "rel",
        "followed",
        "position",
        "internal",
    }
    chain_end = pages[crawl.server.url("/blog/chain-end")]
    assert chain_end["redirect_chain"] == [
        {"url": crawl.server.url("/blog/chain-start"), "status": 301, "kind": "http"},
        {"url": crawl.server.url("/blog/chain-2"), "status": 308, "kind": "http"},
    ]
    redirects = [item for item in items if "target" in item]
    assert len(redirects) == 6
