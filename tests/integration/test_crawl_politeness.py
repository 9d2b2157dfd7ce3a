"""Politeness against real servers: Crawl-delay, robots.txt failures, server-error pauses."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.support.crawl import StoreView, run_crawl
from tests.support.server import LoggedRequest, Response, TestServer
from tests.support.site import SiteBuilder


def _gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def _small_site(robots: str, pages: int = 5) -> SiteBuilder:
    site = SiteBuilder().robots(robots)
    links = "".join(f'<a href="/p{i}">Page {i}</a>' for i in range(1, pages + 1))
    site.page("/", "Home", links, nav=(), aside=(), footer=())
    for i in range(1, pages + 1):
        site.page(f"/p{i}", f"Page {i}", nav=(), aside=(), footer=())
    return site


def test_crawl_delay_is_kept_even_with_autothrottle(tmp_path: Path) -> None:
    site = _small_site("User-agent: *\nCrawl-delay: 0.5\n")
    with TestServer(site.build()) as server:
        process = run_crawl(
            server.url("/"),
            tmp_path / "run",
            args={"sitemaps": "off"},
            settings={
                "AUTOTHROTTLE_ENABLED": "True",
                "AUTOTHROTTLE_START_DELAY": "0",
                "CONCURRENT_REQUESTS_PER_DOMAIN": "4",
            },
        )
    assert process.returncode == 0, process.stderr[-2000:]
    times = [entry.time for entry in server.log]
    assert len(times) == 7  # robots.txt and six pages
    assert min(_gaps(times)) >= 0.48, _gaps(times)
    assert "Crawl-delay: 0.5 s: keeping it" in process.stderr


def _robots_route(answers: list[Response]) -> object:
    served = iter(answers)

    def route(request: LoggedRequest) -> Response:
        return next(served, Response("User-agent: *\nAllow: /\n", content_type="text/plain"))

    return route


def test_robots_5xx_means_nothing_is_crawled(tmp_path: Path) -> None:
    site = _small_site("")
    site.add("/robots.txt", Response("oops", status=503))
    with TestServer(site.build()) as server:
        process = run_crawl(
            server.url("/"),
            tmp_path / "run",
            settings={"LINKSPIDER_ROBOTS_RETRY_TIMES": "2", "LINKSPIDER_ROBOTS_RETRY_DELAY": "0.3"},
        )
    assert process.returncode == 1
    assert set(server.paths()) == {"/robots.txt"}
    robots_times = [entry.time for entry in server.log]
    assert len(robots_times) == 3
    assert min(_gaps(robots_times)) >= 0.28
    last = process.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert "robots.txt stayed unavailable (HTTP 503) after 3 attempts" in last
    assert "RFC 9309" in last and "Try again later" in last
    assert "Traceback" not in process.stderr
    store = StoreView(tmp_path / "run" / "crawl.sqlite", server.base)
    meta = store.meta()
    assert (meta["complete"], meta["finish_reason"]) == (False, "robots_unavailable")
    assert "robots.txt stayed unavailable" in meta["fatal_error"]
    assert store.pages()["/"]["kind"] == "blocked"
    store.close()


def test_robots_5xx_then_available_crawls_after_waiting(tmp_path: Path) -> None:
    site = _small_site("")
    busy = Response("busy", status=500)
    site.add("/robots.txt", _robots_route([busy, busy]))  # type: ignore[arg-type]
    with TestServer(site.build()) as server:
        process = run_crawl(
            server.url("/"),
            tmp_path / "run",
            args={"sitemaps": "off"},
            settings={"LINKSPIDER_ROBOTS_RETRY_TIMES": "3", "LINKSPIDER_ROBOTS_RETRY_DELAY": "0.3"},
        )
    assert process.returncode == 0, process.stderr[-2000:]
    paths = server.paths()
    assert paths[:3] == ["/robots.txt"] * 3
    assert sorted(paths[3:]) == ["/", "/p1", "/p2", "/p3", "/p4", "/p5"]
    # Nothing was requested before robots.txt answered.
    first_page = server.requests_for("/")[0].time
    assert first_page >= server.log[2].time


def test_robots_forbidding_everything_ends_with_one_clear_line(tmp_path: Path) -> None:
    site = _small_site("User-agent: *\nDisallow: /\n")
    with TestServer(site.build()) as server:
        process = run_crawl(server.url("/"), tmp_path / "run")
    assert process.returncode == 1
    assert server.paths() == ["/robots.txt"]
    last = process.stderr.strip().splitlines()[-1]
    assert last.startswith("error: nothing was crawled")
    assert "disallowed by robots.txt" in last and "ask the site owner" in last
    assert "Traceback" not in process.stderr


def test_unreachable_site_is_one_clear_line_and_the_run_folder_says_so(tmp_path: Path) -> None:
    with TestServer({}) as server:
        url = server.url("/")  # the port is closed once the server stops
    process = run_crawl(url, tmp_path / "run")
    assert process.returncode == 1
    last = process.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot reach 127.0.0.1:")
    assert "connection refused" in last and "Check the URL" in last
    assert "Traceback" not in process.stderr
    assert process.stdout.strip() == f"Run folder: {tmp_path / 'run'}"
    meta = StoreView(tmp_path / "run" / "crawl.sqlite", url).meta()
    assert (meta["complete"], meta["finish_reason"]) == (False, "unreachable")
    assert meta["pages"] == 1  # the start URL, recorded as blocked


def test_dns_failure(tmp_path: Path) -> None:
    process = run_crawl("http://no-such-host.invalid/", tmp_path / "run")
    assert process.returncode == 1
    last = process.stderr.strip().splitlines()[-1]
    assert "cannot reach no-such-host.invalid (DNS lookup failed" in last
    assert "Traceback" not in process.stderr


def test_bad_arguments_are_one_line_without_a_run(tmp_path: Path) -> None:
    cases = [
        ({"max_pages": "abc"}, "http://127.0.0.1:9/", "max_pages='abc' is not a whole number"),
        ({}, "example.com", "has no scheme"),
        ({"scope": "galaxy"}, "http://127.0.0.1:9/", "unknown scope 'galaxy'"),
    ]
    for args, url, message in cases:
        process = run_crawl(url, tmp_path / "run", args=args)
        assert process.returncode == 2
        assert process.stdout == ""
        lines = process.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "run").exists()


def test_a_run_of_server_errors_pauses_the_host(tmp_path: Path) -> None:
    site = SiteBuilder().robots("User-agent: *\nAllow: /\n")
    links = "".join(f'<a href="/e{i}">e{i}</a>' for i in range(1, 7))
    site.page("/", "Home", links, nav=(), aside=(), footer=())
    for i in range(1, 7):
        site.add(f"/e{i}", Response("<h1>Broken</h1>", status=500))
    with TestServer(site.build()) as server:
        process = run_crawl(
            server.url("/"),
            tmp_path / "run",
            args={"sitemaps": "off"},
            settings={
                "RETRY_TIMES": "0",
                "LINKSPIDER_BACKOFF_ERROR_RUN": "3",
                "LINKSPIDER_BACKOFF_PAUSE": "1.0",
                # Requests spaced a little, so each answer is counted before the next
                # request leaves (a slot starts the next one as soon as a body is in).
                "DOWNLOAD_DELAY": "0.1",
                "DOWNLOAD_DELAY_JITTER": "0",
            },
        )
    assert process.returncode == 0, process.stderr[-2000:]
    errors = [entry.time for entry in server.log if entry.path.startswith("/e")]
    assert len(errors) == 6
    gaps = _gaps(errors)
    assert gaps[2] >= 0.95, gaps  # after the third error in a row
    assert max(gaps[:2]) < 0.5, gaps
    assert "3 server errors in a row from 127.0.0.1: pausing it for 1 s" in process.stderr
    assert "pausing it for 2 s" in process.stderr  # the next run doubles the pause
    store = StoreView(tmp_path / "run" / "crawl.sqlite", server.base)
    assert {row["status"] for path, row in store.pages().items() if path.startswith("/e")} == {500}
    store.close()


def test_caps_and_excludes_are_recorded_and_the_default_run_folder(tmp_path: Path) -> None:
    site = SiteBuilder().robots("User-agent: *\nAllow: /\n")
    site.page("/", "Home", '<a href="/p/1">1</a>', nav=(), aside=(), footer=())
    for i in range(1, 30):
        site.page(
            f"/p/{i}",
            f"Page {i}",
            f'<a href="/p/{i + 1}">next</a><a href="/x/{i}">excluded</a>',
            nav=(),
            aside=(),
            footer=(),
        )
    with TestServer(site.build()) as server:
        process = run_crawl(
            server.url("/"),
            None,
            args={"max_pages": "6", "exclude": "/x/", "sitemaps": "off"},
            settings={"LINKSPIDER_RUNS_DIR": str(tmp_path / "runs")},
        )
    assert process.returncode == 0, process.stderr[-2000:]
    run_dirs = list((tmp_path / "runs" / f"127.0.0.1_{server.port}").iterdir())
    assert len(run_dirs) == 1
    assert process.stdout.strip() == f"Run folder: {run_dirs[0]}"
    pages_requested = [p for p in server.paths() if p != "/robots.txt"]
    assert sorted(pages_requested) == ["/", "/p/1", "/p/2", "/p/3", "/p/4", "/p/5"]
    store = StoreView(run_dirs[0] / "crawl.sqlite", server.base)
    pages = store.pages()
    assert pages["/x/1"]["kind"] == "skipped"
    assert pages["/x/1"]["error"] == "not crawled: the URL matches exclude='/x/'"
    assert pages["/p/6"]["error"] == "beyond max_pages=6"
    meta = store.meta()
    assert (meta["complete"], meta["caps_hit"], meta["finish_reason"]) == (
        False,
        ["max_pages"],
        "finished",
    )
    assert "incomplete (max_pages reached)" in process.stderr
    store.close()


def test_requests_waiting_for_a_slow_robots_txt_all_obey_it(tmp_path: Path) -> None:
    # Scrapy 2.19's own middleware hands the parser to the first waiter only:
    # the others went out unchecked. Several start URLs wait here at once.
    site = _small_site("")
    site.add(
        "/robots.txt",
        Response("User-agent: *\nDisallow: /private/\n", content_type="text/plain", delay=0.5),
    )
    for i in range(4):
        site.page(f"/private/{i}", "Secret", nav=(), aside=(), footer=())
    starts = tmp_path / "starts.txt"
    with TestServer(site.build()) as server:
        starts.write_text(
            "\n".join(server.url(f"/private/{i}") for i in range(4)) + "\n" + server.url("/")
        )
        process = run_crawl(None, tmp_path / "run", args={"urls": str(starts), "sitemaps": "off"})
    assert process.returncode == 0, process.stderr[-2000:]
    assert not [path for path in server.paths() if path.startswith("/private/")]
    store = StoreView(tmp_path / "run" / "crawl.sqlite", server.base)
    pages = store.pages()
    assert {pages[f"/private/{i}"]["kind"] for i in range(4)} == {"blocked"}
    assert {url for url, source in store.known() if source == "start"} == {
        "/",
        *(f"/private/{i}" for i in range(4)),
    }
    store.close()


def test_sitemap_urls_wait_for_the_link_crawl_and_share_the_page_cap(tmp_path: Path) -> None:
    site = _small_site("User-agent: *\nAllow: /\n")
    for i in range(1, 11):
        site.page(f"/s/{i}", f"Orphan {i}", nav=(), aside=(), footer=())
    site.sitemap("/sitemap.xml", ["/p3", *(f"/s/{i}" for i in range(1, 11))])
    with TestServer(site.build()) as server:
        process = run_crawl(server.url("/"), tmp_path / "run", args={"max_pages": "8"})
    assert process.returncode == 0, process.stderr[-2000:]
    pages = [p for p in server.paths() if not p.endswith((".txt", ".xml"))]
    assert sorted(pages[:6]) == ["/", "/p1", "/p2", "/p3", "/p4", "/p5"]
    assert len(pages) == 8 and all(p.startswith("/s/") for p in pages[6:])
    store = StoreView(tmp_path / "run" / "crawl.sqlite", server.base)
    rows = store.pages()
    assert (rows["/p3"]["crawl_depth"], rows["/p3"]["depth"], rows["/p3"]["in_sitemap"]) == (
        1,
        1,
        1,
    )
    assert {(url, source) for url, source in store.known() if source == "sitemap"} == {
        ("/p3", "sitemap"),
        *((f"/s/{i}", "sitemap") for i in range(1, 11)),
    }
    assert store.meta()["caps_hit"] == ["max_pages"]
    store.close()


def test_retry_after_beyond_the_cap_pauses_for_the_cap_then_gives_the_page_up(
    tmp_path: Path,
) -> None:
    site = _small_site("User-agent: *\nAllow: /\n", pages=2)
    site.page("/", "Home", '<a href="/busy">Busy</a><a href="/p1">1</a>', nav=(), footer=())
    site.add("/busy", Response("busy", status=503, headers={"Retry-After": "3600"}))
    with TestServer(site.build()) as server:
        process = run_crawl(
            server.url("/"),
            tmp_path / "run",
            args={"sitemaps": "off"},
            settings={"LINKSPIDER_BACKOFF_MAX_DELAY": "0.5"},
        )
    assert process.returncode == 0, process.stderr[-2000:]
    # Paused for the cap, asked once more, then given up: not retried at the cap.
    times = [entry.time for entry in server.requests_for("/busy")]
    assert len(times) == 2
    assert times[1] - times[0] >= 0.45
    assert "asks again to wait 3600 s (Retry-After), longer than" in process.stderr
    row = StoreView(tmp_path / "run" / "crawl.sqlite", server.base).pages()["/busy"]
    assert (row["kind"], row["status"]) == ("error", 503)
    assert row["error"] == (
        "HTTP 503: Retry-After 3600 s twice, more than LINKSPIDER_BACKOFF_MAX_DELAY=0.5 s: given up"
    )


def test_robots_retry_waits_for_the_retry_after_it_was_given(tmp_path: Path) -> None:
    site = _small_site("", pages=1)
    busy = Response("busy", status=503, headers={"Retry-After": "1"})
    site.add("/robots.txt", _robots_route([busy]))  # type: ignore[arg-type]
    with TestServer(site.build()) as server:
        process = run_crawl(
            server.url("/"),
            tmp_path / "run",
            args={"sitemaps": "off"},
            settings={"LINKSPIDER_ROBOTS_RETRY_DELAY": "0.1"},
        )
    assert process.returncode == 0, process.stderr[-2000:]
    robots = [entry.time for entry in server.requests_for("/robots.txt")]
    assert len(robots) == 2
    assert robots[1] - robots[0] >= 0.95  # Retry-After: 1, not the 0.1 s setting
    assert sorted(server.paths()[2:]) == ["/", "/p1"]


def test_robots_txt_is_read_per_scheme(tmp_path: Path) -> None:
    # One host and port, two schemes, two robots.txt: the http one forbids /private.
    def robots(request: LoggedRequest) -> Response:
        rules = "Allow: /" if request.scheme == "https" else "Disallow: /private"
        return Response(f"User-agent: *\n{rules}\n", content_type="text/plain")

    with TestServer(tls=True) as server:
        host = f"127.0.0.1:{server.port}"
        site = SiteBuilder().add("/robots.txt", robots)
        site.html("/", f'<a href="http://{host}/private">Private</a><a href="/open">Open</a>')
        site.page("/open", "Open", nav=(), aside=(), footer=())
        site.page("/private", "Private", nav=(), aside=(), footer=())
        server.routes.update(site.build())
        process = run_crawl(f"https://{host}/", tmp_path / "run", args={"sitemaps": "off"})
    assert process.returncode == 0, process.stderr[-2000:]
    fetched = {(entry.scheme, entry.path) for entry in server.log}
    assert {("https", "/robots.txt"), ("http", "/robots.txt"), ("https", "/open")} <= fetched
    assert not any(path == "/private" for _, path in fetched)
    store = StoreView(tmp_path / "run" / "crawl.sqlite", "")
    row = store.pages()[f"http://{host}/private"]
    assert (row["kind"], row["error"]) == ("blocked", "disallowed by robots.txt")
    store.close()
