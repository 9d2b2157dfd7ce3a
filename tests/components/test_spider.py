"""The site spider's callbacks, fed real Scrapy responses (no network)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from linkspider.extensions.gate import PAGE_META_KEY, STOPPED_META_KEY
from linkspider.items import ErrorItem, PageItem, RedirectItem
from linkspider.middlewares.depth import HOP_META_KEY, ClickDepthMiddleware
from linkspider.spiders.site import CHAIN_META_KEY, START_META_KEY, SiteConfig, SiteSpider

BASE = "https://shop.example"


def make_spider(tmp_path: Path, settings: dict[str, Any] | None = None, **args: str) -> SiteSpider:
    crawler = get_crawler(
        SiteSpider, {"LINKSPIDER_RUNS_DIR": str(tmp_path / "runs"), **(settings or {})}
    )
    spider = SiteSpider.from_crawler(crawler, url=f"{BASE}/", **args)
    crawler.spider = spider
    return spider


def respond(request: Request, body: str = "", status: int = 200, **headers: str) -> Response:
    request.meta.setdefault("depth", 0)
    head = {"Content-Type": "text/html; charset=utf-8", **headers}
    return HtmlResponse(
        request.url, status=status, body=body.encode(), headers=head, request=request
    )


def page_request(spider: SiteSpider, path: str, **meta: Any) -> Request:
    request = spider._page_request(BASE + path)
    request.meta.update(meta)
    return request


def test_default_run_folder_and_jobdir_reuse(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    assert spider.run_dir.parent == tmp_path / "runs" / "shop.example"
    assert spider.run_dir.is_dir()
    jobdir = tmp_path / "job"
    jobdir.mkdir()
    with (jobdir / "spider.state").open("wb") as handle:
        pickle.dump({"run_dir": str(tmp_path / "first-run")}, handle)
    resumed = make_spider(tmp_path, {"JOBDIR": str(jobdir)})
    assert resumed.run_dir == tmp_path / "first-run"
    assert json.loads((jobdir / "linkspider-run.json").read_text())["run_dir"] == str(
        tmp_path / "first-run"
    )


def test_page_item_links_and_follow_requests(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    html = """<html><head><link rel="canonical" href="/canon"></head><body>
    <nav><a href="/a">A</a><a href="/a#again">A again</a></nav>
    <a href="/b" rel="nofollow">B</a> <a href="https://other.example/">Out</a>
    <a href="/report.pdf">PDF</a> <a href="mailto:x@y.z">Mail</a></body></html>"""
    output = list(spider.parse(respond(page_request(spider, "/", depth=2), html)))
    item = output[0]
    assert isinstance(item, PageItem)
    assert (item.url, item.status, item.depth, item.kind, item.canonical) == (
        f"{BASE}/",
        200,
        2,
        "html",
        f"{BASE}/canon",
    )
    assert [(link.url, link.position, link.internal, link.followed) for link in item.links] == [
        (f"{BASE}/a", "nav", True, True),
        (f"{BASE}/a", "nav", True, True),
        (f"{BASE}/b", "content", True, False),
        ("https://other.example/", "content", False, True),
        (f"{BASE}/report.pdf", "content", True, True),
        (None, "content", False, False),
    ]
    requests = [o for o in output[1:] if isinstance(o, Request)]
    # Once per URL, no nofollow, no external; the PDF by HEAD; the canonical too.
    assert [(r.url, r.method) for r in requests] == [
        (f"{BASE}/a", "GET"),
        (f"{BASE}/report.pdf", "HEAD"),
        (f"{BASE}/canon", "GET"),
    ]
    assert all(r.meta[PAGE_META_KEY] and r.meta["dont_redirect"] for r in requests)
    # A second page linking to /a schedules nothing new.
    again = list(spider.parse(respond(page_request(spider, "/x"), '<a href="/a">A</a>')))
    assert [type(o) for o in again] == [PageItem]


def test_redirects_keep_the_chain_and_detect_loops(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    first = page_request(spider, "/old", depth=1)
    output = list(spider.parse(respond(first, status=301, Location="/new")))
    hop = output[0]
    assert isinstance(hop, RedirectItem)
    assert (hop.url, hop.status, hop.target, hop.loop, hop.error) == (
        f"{BASE}/old",
        301,
        f"{BASE}/new",
        False,
        None,
    )
    follow = output[1]
    assert isinstance(follow, Request) and follow.meta[HOP_META_KEY]
    assert follow.meta[CHAIN_META_KEY] == ((f"{BASE}/old", 301),)
    follow.meta["depth"] = 1
    looped = list(spider.parse(respond(follow, status=302, Location=f"{BASE}/old")))
    assert len(looped) == 1 and looped[0].loop and looped[0].error == "redirect loop"
    final = page_request(spider, "/end", depth=1)
    final.meta[CHAIN_META_KEY] = ((f"{BASE}/a", 301), (f"{BASE}/b", 308))
    page = next(iter(spider.parse(respond(final, "<p>x</p>"))))
    assert page.requested_url == f"{BASE}/a"
    assert [(h.url, h.status) for h in page.redirect_chain] == [
        (f"{BASE}/a", 301),
        (f"{BASE}/b", 308),
    ]


REFRESH_PAGE = """<html><head><meta http-equiv="refresh" content="{delay}; url=/target">
</head><body><a href="/link">Link</a></body></html>"""


def test_meta_refresh_delay_threshold_and_switch(tmp_path: Path) -> None:
    # Within LINKSPIDER_META_REFRESH_INSTANT: a hop that keeps the chain and the depth.
    spider = make_spider(tmp_path / "a", {"LINKSPIDER_META_REFRESH_INSTANT": 2})
    chain = ((f"{BASE}/first", 301),)
    request = page_request(spider, "/old", depth=1, **{CHAIN_META_KEY: chain})
    output = list(spider.parse(respond(request, REFRESH_PAGE.format(delay=2))))
    hop, follow = output
    assert isinstance(hop, RedirectItem)
    assert (hop.kind, hop.status, hop.delay, hop.target, hop.requested_url) == (
        "meta_refresh",
        200,
        2,
        f"{BASE}/target",
        f"{BASE}/first",
    )
    assert isinstance(follow, Request) and follow.meta[HOP_META_KEY]
    assert follow.meta[CHAIN_META_KEY] == (*chain, (f"{BASE}/old", 200, "meta_refresh"))
    # Past it: the page is a page, its link and then the refresh target are followed.
    request = page_request(spider, "/slow", depth=1)
    body = REFRESH_PAGE.format(delay=3).replace("/target", "/later")
    page, *follows = spider.parse(respond(request, body))
    assert isinstance(page, PageItem) and page.kind == "html"
    assert (page.refresh_url, page.refresh_delay) == (f"{BASE}/later", 3)
    assert [(r.url, r.meta.get(HOP_META_KEY)) for r in follows] == [
        (f"{BASE}/link", None),
        (f"{BASE}/later", None),
    ]
    # Switched off: recorded as written, neither a hop nor followed.
    off = make_spider(tmp_path / "b", {"LINKSPIDER_META_REFRESH": False})
    request = page_request(off, "/old", depth=1)
    page, *follows = off.parse(respond(request, REFRESH_PAGE.format(delay=0)))
    assert isinstance(page, PageItem)
    assert (page.meta_refresh, page.refresh_url) == ("0; url=/target", None)
    assert [r.url for r in follows] == [f"{BASE}/link"]
    crawler = get_crawler(settings_dict={"LINKSPIDER_META_REFRESH_INSTANT": -1})
    with pytest.raises(ValueError, match="LINKSPIDER_META_REFRESH_INSTANT"):
        SiteConfig.from_settings(crawler.settings)


def test_non_html_error_and_oversize_answers_are_recorded_not_parsed(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    pdf = page_request(spider, "/file", **{STOPPED_META_KEY: "not_html"})
    item = next(iter(spider.parse(respond(pdf, "", **{"Content-Type": "application/pdf"}))))
    assert (item.kind, item.content_type, item.links) == ("other", "application/pdf", [])
    big = page_request(spider, "/big", **{STOPPED_META_KEY: "oversize"})
    item = next(iter(spider.parse(respond(big, "", **{"Content-Length": "99999999"}))))
    assert (item.kind, item.size_bytes) == ("oversize", 99999999)
    missing = page_request(spider, "/gone")
    item = next(iter(spider.parse(respond(missing, '<a href="/never">x</a>', status=404))))
    assert (item.kind, item.error, item.links) == ("error", "HTTP 404", [])
    head = spider._page_request(f"{BASE}/f.pdf")
    head.meta["depth"] = 1
    output = list(spider.parse(respond(head, "", status=405)))
    assert [(r.method, r.meta[HOP_META_KEY]) for r in output] == [("GET", True)]


def test_skips_are_recorded_once(tmp_path: Path) -> None:
    spider = make_spider(
        tmp_path, {"LINKSPIDER_TRAP_SEGMENT_REPEATS": "2"}, exclude="/tag/", max_depth="1"
    )
    links = '<a href="/tag/x">t</a><a href="/a/a/">trap</a><a href="/deep">d</a>'
    output = list(spider.parse(respond(page_request(spider, "/", depth=1), links)))
    errors = [(o.url, o.kind, o.reason) for o in output if isinstance(o, ErrorItem)]
    assert errors == [
        (f"{BASE}/tag/x", "skipped", "not crawled: the URL matches exclude='/tag/'"),
        (f"{BASE}/a/a/", "trap", "crawler trap suspected: path segment 'a' occurs 2 times"),
        (f"{BASE}/deep", "skipped", "beyond max_depth=1"),
    ]
    assert spider.state["caps_hit"] == {"max_depth"}
    assert list(spider.parse(respond(page_request(spider, "/z", depth=1), links)))[1:] == []


def test_state_loaded_on_open_keeps_what_was_scheduled_before(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    assert spider.schedule_known_url("https://elsewhere.example/", "backlink") is False
    spider.state["seen"].add(1)
    spider.state["scheduled"] = 2
    spider.state = {"seen": {7}, "scheduled": 5, "trap_counts": {"s": 1}, "caps_hit": set()}
    assert spider.state["seen"] == {1, 7}
    assert spider.state["scheduled"] == 7
    assert spider.state["run_dir"] == str(spider.run_dir)
    assert spider._traps.counts is spider.state["trap_counts"]
    assert spider.drain_known_urls() == [("https://elsewhere.example/", "backlink")]
    assert spider.drain_known_urls() == []


def test_click_depth_middleware_does_not_count_hops(tmp_path: Path) -> None:
    middleware = ClickDepthMiddleware.from_crawler(get_crawler(settings_dict={"DEPTH_PRIORITY": 1}))
    response = HtmlResponse(f"{BASE}/", request=Request(f"{BASE}/", meta={"depth": 2}))
    hop = middleware.get_processed_request(
        Request(f"{BASE}/b", meta={HOP_META_KEY: True}), response
    )
    link = middleware.get_processed_request(Request(f"{BASE}/c"), response)
    assert hop is not None and link is not None
    assert (hop.meta["depth"], hop.priority) == (2, -2)
    assert (link.meta["depth"], link.priority) == (3, -3)


def test_config_errors_are_clear() -> None:
    crawler = get_crawler(settings_dict={"LINKSPIDER_POSITION_NAMES": {"promo": "sidebar"}})
    with pytest.raises(ValueError, match="'sidebar' in LINKSPIDER_POSITION_\\* is not one of"):
        SiteConfig.from_settings(crawler.settings)
    crawler = get_crawler(settings_dict={"LINKSPIDER_MAX_PAGES": 0})
    with pytest.raises(ValueError, match="LINKSPIDER_MAX_PAGES"):
        SiteConfig.from_settings(crawler.settings)
    names = {"LINKSPIDER_POSITION_NAMES": {"promo": "aside", "widget": None}}
    rules = SiteConfig.from_settings(get_crawler(settings_dict=names).settings).position_rules
    assert rules.names["promo"] == "aside" and "widget" not in rules.names


def _spider_for(tmp_path: Path, url: str) -> SiteSpider:
    crawler = get_crawler(SiteSpider, {"LINKSPIDER_RUNS_DIR": str(tmp_path / "runs")})
    spider = SiteSpider.from_crawler(crawler, url=url)
    crawler.spider = spider
    return spider


def test_start_redirect_to_www_adopts_the_host_and_a_resume_keeps_it(tmp_path: Path) -> None:
    apex, www = "https://example.com/", "https://www.example.com/"
    spider = _spider_for(tmp_path, apex)
    # Known before the start URL's redirect is: kept tentatively.
    assert spider.schedule_known_url(f"{www}listed", "backlink") is True
    assert spider.schedule_known_url("https://example.org/", "backlink") is False
    start = spider._page_request(apex, start=True)
    output = list(spider.parse(respond(start, status=301, Location=www)))
    assert isinstance(output[0], RedirectItem)
    sitemap, follow = output[1:]
    assert sitemap.url == f"{www}sitemap.xml"
    assert follow.url == www and follow.meta[START_META_KEY] == apex
    assert spider.scope.contains(f"{www}a") and spider._is_internal(f"{www}a")
    facts = spider.run_facts()
    assert (facts["site_host"], facts["start_redirects"]) == ("www.example.com", {apex: www})
    assert facts["scope"]["hosts"] == ["example.com", "www.example.com"]
    # The page at the end settles the start URL.
    list(spider.parse(respond(follow, "<p>home</p>")))
    assert spider._start_pending == set() and spider._start_landed
    # A resumed crawl keeps the adopted host.
    saved = pickle.loads(pickle.dumps(spider.state))
    resumed = _spider_for(tmp_path, apex)
    resumed.state = saved
    assert resumed._is_internal(f"{www}a")
    assert resumed.run_facts()["site_host"] == "www.example.com"
    assert list(resumed.state["deferred"]) == [f"{www}listed"]


def test_start_urls_keep_the_parameters_the_run_keeps(tmp_path: Path) -> None:
    """A start URL is normalised with the run's tracking list, not first with the
    default one (which would drop utm_source before the settings are known)."""
    crawler = get_crawler(
        SiteSpider,
        {"LINKSPIDER_RUNS_DIR": str(tmp_path / "runs"), "LINKSPIDER_TRACKING_PARAMS": "ref"},
    )
    spider = SiteSpider.from_crawler(
        crawler, url=f"{BASE}/?utm_source=home&ref=mail", sitemaps=f"{BASE}/map.xml?ref=x"
    )
    assert spider.start_urls == [f"{BASE}/?utm_source=home"]
    assert spider.arguments.sitemaps == f"{BASE}/map.xml"
    assert spider.run_facts()["start_urls"] == [f"{BASE}/?utm_source=home"]
    default = SiteSpider.from_crawler(
        get_crawler(SiteSpider, {"LINKSPIDER_RUNS_DIR": str(tmp_path / "runs")}),
        url=f"{BASE}/?utm_source=home&ref=mail",
    )
    assert default.start_urls == [f"{BASE}/?ref=mail"]
