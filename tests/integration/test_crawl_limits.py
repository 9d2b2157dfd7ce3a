"""Limits of a real crawl: max_depth decided again on a shorter route, the known-URL queue cap."""

from __future__ import annotations

from pathlib import Path

from tests.support.crawl import StoreView, run_crawl
from tests.support.server import TestServer
from tests.support.site import SiteBuilder


def _page(site: SiteBuilder, path: str, *links: str, delay: float = 0.0) -> None:
    content = "".join(f'<a href="{link}">{link}</a> ' for link in links)
    site.page(path, path, content, nav=(), aside=(), footer=(), delay=delay)


def test_a_url_beyond_max_depth_is_fetched_when_a_shorter_route_reaches_it(
    tmp_path: Path,
) -> None:
    site = SiteBuilder().robots("User-agent: *\nAllow: /\n")
    # /target is 3 clicks away through /a and /b, which answer first, and 2
    # through /slow: max_depth=2 refuses it first, then must fetch it.
    _page(site, "/", "/a", "/slow")
    _page(site, "/a", "/b")
    _page(site, "/b", "/target", "/deep", "/via-sitemap")
    _page(site, "/slow", "/target", delay=1.5)
    _page(site, "/target")
    _page(site, "/deep")
    # A sitemap-only page is crawled from depth 0: its link is at depth 1.
    _page(site, "/orphan", "/via-sitemap")
    _page(site, "/via-sitemap")
    site.sitemap("/sitemap.xml", ["/orphan"])
    with TestServer(site.build()) as server:
        process = run_crawl(server.url("/"), tmp_path / "run", args={"max_depth": "2"})
    assert process.returncode == 0, process.stderr[-2000:]
    requested = server.paths()
    assert requested.index("/b") < requested.index("/target")  # refused first, then fetched
    for path in ("/target", "/via-sitemap"):
        assert requested.count(path) == 1, requested
    store = StoreView(tmp_path / "run" / "crawl.sqlite", server.base)
    rows = store.pages()
    assert (rows["/target"]["kind"], rows["/target"]["crawl_depth"]) == ("html", 2)
    assert (rows["/via-sitemap"]["kind"], rows["/via-sitemap"]["crawl_depth"]) == ("html", 1)
    # /deep has no shorter route: it stays refused, and the run says so.
    assert (rows["/deep"]["kind"], rows["/deep"]["error"]) == ("skipped", "beyond max_depth=2")
    assert "/deep" not in requested
    meta = store.meta()
    assert (meta["complete"], meta["caps_hit"]) == (False, ["max_depth"])
    assert "'linkspider/max_depth_reached_later': 2" in process.stderr
    store.close()


def test_every_refused_url_reached_later_leaves_the_run_complete(tmp_path: Path) -> None:
    site = SiteBuilder().robots("User-agent: *\nAllow: /\n")
    _page(site, "/", "/a", "/slow")
    _page(site, "/a", "/b")
    _page(site, "/b", "/target")
    _page(site, "/slow", "/target", delay=1.5)
    _page(site, "/target")
    with TestServer(site.build()) as server:
        process = run_crawl(
            server.url("/"), tmp_path / "run", args={"max_depth": "2", "sitemaps": "off"}
        )
    assert process.returncode == 0, process.stderr[-2000:]
    store = StoreView(tmp_path / "run" / "crawl.sqlite", server.base)
    assert store.pages()["/target"]["kind"] == "html"
    meta = store.meta()
    assert (meta["complete"], meta["caps_hit"]) == (True, [])
    store.close()


def test_known_urls_beyond_the_queue_cap_are_recorded_not_crawled(tmp_path: Path) -> None:
    site = SiteBuilder().robots("User-agent: *\nAllow: /\n")
    _page(site, "/")
    for i in range(5):
        _page(site, f"/s/{i}")
    site.sitemap("/sitemap.xml", [f"/s/{i}" for i in range(5)])
    with TestServer(site.build()) as server:
        process = run_crawl(
            server.url("/"), tmp_path / "run", settings={"LINKSPIDER_MAX_DEFERRED_URLS": "2"}
        )
    assert process.returncode == 0, process.stderr[-2000:]
    # The first two queued, in whichever order the two fetches reach the server.
    fetched = sorted(path for path in server.paths() if path.startswith("/s/"))
    assert fetched == ["/s/0", "/s/1"]
    assert "LINKSPIDER_MAX_DEFERRED_URLS=2 sitemap/backlink URLs waiting" in process.stderr
    assert "'linkspider/known_urls_not_queued': 3" in process.stderr
    store = StoreView(tmp_path / "run" / "crawl.sqlite", server.base)
    assert {url for url, source in store.known() if source == "sitemap"} == {
        f"/s/{i}" for i in range(5)
    }
    meta = store.meta()
    assert (meta["complete"], meta["caps_hit"]) == (False, ["max_deferred_urls"])
    store.close()
