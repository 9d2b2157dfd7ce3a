"""A start URL that redirects to another host: the same site is adopted, another site is not.

The host names are real ones (example.com, www.example.com, example.org); the
crawl resolves them to the local test server with
:class:`tests.support.dns.LoopbackResolver`, and the server answers per
``Host`` header.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pipelines.backlinks.store import site_of_store
from pipelines.storedb import CrawlStore
from tests.support.crawl import StoreView, run_crawl
from tests.support.server import LoggedRequest, Response, TestServer
from tests.support.site import layout

NAMES = "example.com,www.example.com,shop.example.org"


def _resolve(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "TWISTED_DNS_RESOLVER": "tests.support.dns.LoopbackResolver",
        "LOOPBACK_HOSTS": NAMES,
        **(extra or {}),
    }


def _host(request: LoggedRequest) -> str:
    return request.headers.get("Host", "").rpartition(":")[0]


def _by_host(
    answers: dict[str, Callable[[LoggedRequest], Response] | Response],
) -> Callable[[LoggedRequest], Response]:
    def route(request: LoggedRequest) -> Response:
        answer = answers.get(_host(request))
        if answer is None:
            return Response("<h1>Not found</h1>", status=404)
        return answer(request) if callable(answer) else answer

    return route


def _page(title: str, *links: str) -> Response:
    content = "".join(f'<a href="{link}">{link}</a> ' for link in links)
    return Response(layout(title, content=content, nav=(), aside=(), footer=()))


def _sitemap(*urls: str) -> Response:
    entries = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
    return Response(
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>',
        content_type="application/xml",
    )


def test_a_start_url_redirecting_to_www_crawls_the_www_host(tmp_path: Path) -> None:
    with TestServer() as server:
        port = server.port
        apex, www = f"http://example.com:{port}", f"http://www.example.com:{port}"
        robots = Response(f"User-agent: *\nAllow: /\nSitemap: {www}/sitemap-www.xml\n")
        server.routes.update(
            {
                "/robots.txt": robots,
                "/": _by_host(
                    {
                        "example.com": Response(status=301, headers={"Location": f"{www}/"}),
                        "www.example.com": _page("Home", "/a", f"{apex}/b"),
                    }
                ),
                "/a": _by_host({"www.example.com": _page("A", "/")}),
                "/b": _by_host(
                    {
                        "example.com": Response(status=301, headers={"Location": f"{www}/b"}),
                        "www.example.com": _page("B"),
                    }
                ),
                # The apex's /sitemap.xml (asked for at once) lists a www URL
                # before the start URL's redirect is known.
                "/sitemap.xml": _by_host({"example.com": _sitemap(f"{www}/listed")}),
                "/sitemap-www.xml": _by_host({"www.example.com": _sitemap(f"{www}/orphan")}),
                "/listed": _by_host({"www.example.com": _page("Listed")}),
                "/orphan": _by_host({"www.example.com": _page("Orphan")}),
            }
        )
        process = run_crawl(f"{apex}/", tmp_path / "run", settings=_resolve())
        hosts_asked = {(_host(entry), entry.path) for entry in server.log}
    assert process.returncode == 0, process.stderr[-3000:]
    assert f"start URL {apex}/ redirects to {www}/: crawling that host" in process.stderr
    assert {("www.example.com", p) for p in ("/", "/a", "/b", "/listed", "/orphan")} <= hosts_asked
    store = StoreView(tmp_path / "run" / "crawl.sqlite", "")
    pages = store.pages()
    for path in ("/", "/a", "/b", "/listed", "/orphan"):
        assert pages[f"{www}{path}"]["kind"] == "html", path
    assert pages[f"{apex}/"]["kind"] == "redirect"
    assert (pages[f"{www}/"]["depth"], pages[f"{www}/a"]["depth"]) == (0, 1)
    assert all(link[5] for link in store.links(f"{www}/"))  # internal links
    meta = store.meta()
    assert meta["complete"] is True
    assert meta["site_host"] == f"www.example.com:{port}"
    assert meta["scope"]["hosts"] == [f"example.com:{port}", f"www.example.com:{port}"]
    assert meta["start_redirects"] == {f"{apex}/": f"{www}/"}
    assert meta["start_urls"] == [f"{apex}/"]
    store.close()
    with CrawlStore(tmp_path / "run") as crawl_store:
        site = site_of_store(crawl_store)
    assert site is not None and f"www.example.com:{port}" in site.hosts


def test_a_start_url_redirecting_to_another_site_ends_with_one_line(tmp_path: Path) -> None:
    with TestServer() as server:
        port = server.port
        other = f"http://shop.example.org:{port}/"
        server.routes.update(
            {
                "/robots.txt": Response("User-agent: *\nAllow: /\n"),
                "/": _by_host(
                    {
                        "example.com": Response(status=301, headers={"Location": other}),
                        "shop.example.org": _page("Another shop", "/x"),
                    }
                ),
            }
        )
        process = run_crawl(f"http://example.com:{port}/", tmp_path / "run", settings=_resolve())
        asked = {_host(entry) for entry in server.log if entry.path != "/robots.txt"}
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    last = process.stderr.strip().splitlines()[-1]
    assert last == (
        f"error: start URL http://example.com:{port}/ redirects to {other}, another site: "
        f"not crawled. To crawl that site, use -a url={other}"
    )
    assert asked == {"example.com"}  # nothing of the other site was fetched
    store = StoreView(tmp_path / "run" / "crawl.sqlite", "")
    assert store.redirects() == {f"http://example.com:{port}/": (other, 301)}
    meta = store.meta()
    assert (meta["complete"], meta["finish_reason"]) == (False, "start_redirects_offsite")
    assert meta["fatal_error"] == last.removeprefix("error: ")
    store.close()


def test_backlinks_from_the_host_a_start_url_redirects_to_are_the_sites_own(
    tmp_path: Path,
) -> None:
    """The crawl-time import reads the exports before the start URL's redirect is
    known: rows from www.example.com count as backlinks then. Once the crawl adopts
    that host they are internal links: removed, and the file's record says so."""
    with TestServer() as server:
        port = server.port
        apex, www = f"http://example.com:{port}", f"http://www.example.com:{port}"
        export = tmp_path / "semrush.csv"
        export.write_text(
            "Page ascore,Source title,Source url,Target url,Anchor,External links,"
            "Internal links,Nofollow,Sponsored,Ugc,Text,Frame,Form,Image,Sitewide,"
            "First seen,Last seen,New link,Lost link\n"
            f"40,Blog,https://blog.other.example/post,{www}/a,a,1,1,false,false,false,"
            "true,false,false,false,false,2026-01-01,2026-03-01,false,false\n"
            f"40,Own,{www}/a,{www}/,home,1,1,false,false,false,"
            "true,false,false,false,false,2026-01-01,2026-03-01,false,false\n"
            f"40,Own too,{www}/,{www}/a,a,1,1,false,false,false,"
            "true,false,false,false,false,2026-01-01,2026-03-01,false,false\n"
        )
        server.routes.update(
            {
                "/robots.txt": Response("User-agent: *\nAllow: /\n"),
                "/": _by_host(
                    {
                        "example.com": Response(status=301, headers={"Location": f"{www}/"}),
                        "www.example.com": _page("Home", "/a"),
                    }
                ),
                "/a": _by_host({"www.example.com": _page("A", "/")}),
            }
        )
        process = run_crawl(
            f"{apex}/",
            tmp_path / "run",
            args={"backlinks": str(export), "sitemaps": "off"},
            settings=_resolve(),
        )
    assert process.returncode == 0, process.stderr[-3000:]
    assert (
        f"Backlinks: 2 backlink(s) from www.example.com:{port} removed: the start URL "
        "redirects there" in process.stderr
    )
    with CrawlStore(tmp_path / "run") as store:
        sources = [row[0] for row in store.conn.execute("SELECT source_url FROM backlinks")]
        ((kept, rejected, reject_counts, warnings),) = store.conn.execute(
            "SELECT kept, rejected, reject_counts, warnings FROM backlink_imports"
        ).fetchall()
    assert sources == ["https://blog.other.example/post"]
    assert (kept, rejected) == (1, 2)
    assert json.loads(reject_counts) == {"internal": 2}
    assert any(
        f"2 backlink(s) from www.example.com:{port} removed after the import" in w
        for w in json.loads(warnings)
    )
