"""Meta refreshes on a real crawl: hops, delayed refreshes, loops, scope, bad content.

One real ``scrapy crawl site`` (through the Scrapy engine, in a subprocess) of
a small site served by :class:`tests.support.server.TestServer`, whose pages
refresh in every way the crawl must tell apart; then the store, the equity
model (:func:`reports.graph.load_graph`, :func:`reports.equity.compute_equity`)
and the report the crawl wrote. A second, tiny crawl starts on a URL that
refreshes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

import numpy as np
import pytest

from pipelines.storedb import POSITIONS
from reports.config import EquityConfig
from reports.equity import EquityModel, compute_equity
from reports.graph import SiteGraph, load_graph
from tests.support.crawl import StoreView, run_crawl
from tests.support.server import Response, TestServer, redirect
from tests.support.site import layout


def _page(title: str, *links: str, head: str = "", body: str = "") -> Response:
    content = "".join(f'<p><a href="{link}">{title} to {link}</a></p>' for link in links)
    return Response(layout(title, content=content + body, head=head, nav=(), aside=(), footer=()))


def _refresh(content: str) -> str:
    return f'<meta http-equiv="refresh" content="{content}">'


def _site(offsite: str) -> dict[str, Response]:
    return {
        "/robots.txt": Response("User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
        "/": _page(
            "Home",
            "/old",
            "/moved",
            "/loop-a",
            "/leaving",
            "/to-private",
            "/bad-content",
            "/noscript",
            "/in-body",
            "/reload",
            "/chain",
        ),
        # An instant refresh: a hop; /new is linked by nothing else.
        "/old": _page("Old", "/old-only-link", head=_refresh("0; url=/new")),
        "/new": _page("New"),
        # A delayed refresh: the page stays a page, its links count, /later is followed.
        "/moved": _page("Moved", "/kept", head=_refresh("5; URL='/later'")),
        "/kept": _page("Kept"),
        "/later": _page("Later"),
        # A loop of instant refreshes, in the spellings the parser must read.
        "/loop-a": _page("Loop A", head="<meta http-equiv=refresh content='0;url=\"/loop-b\"'>"),
        "/loop-b": _page("Loop B", head='<META HTTP-EQUIV="Refresh" CONTENT=" 0 , url = /loop-a">'),
        # Out of scope, and disallowed by robots.txt.
        "/leaving": _page("Leaving", head=_refresh(f"0;url={offsite}")),
        "/to-private": _page("To private", head=_refresh("0;url=/private/area")),
        # Not refreshes: malformed content, inside <noscript>, in the body, to itself.
        "/bad-content": _page("Bad content", head=_refresh("url=/nowhere")),
        "/noscript": _page("Noscript", head=f"<noscript>{_refresh('0; url=/no-js')}</noscript>"),
        "/in-body": _page("In body", body=_refresh("0; url=/from-body")),
        "/reload": _page("Reload", head=_refresh("30")),
        # A 301 to a page whose refresh is relative to its <base href>.
        "/chain": redirect("/docs/start", 301),
        "/docs/start": _page("Start", head='<base href="/guides/">' + _refresh("0; url=first")),
        "/guides/first": _page("First guide"),
    }


@dataclass
class Crawl:
    server: TestServer
    store: StoreView
    process: CompletedProcess[str]
    run_dir: Path
    feed: Path
    graph: SiteGraph
    model: EquityModel


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    tmp = tmp_path_factory.mktemp("refresh")
    with TestServer() as server:
        # Another host of the same server: out of scope, but it would answer.
        offsite = f"http://localhost:{server.port}/offsite"
        server.routes.update(_site(offsite))
        server.routes["/offsite"] = _page("Offsite")
        process = run_crawl(server.url("/"), tmp / "run", extra=["-O", str(tmp / "items.jsonl")])
    assert process.returncode == 0, process.stderr[-3000:]
    store = StoreView(tmp / "run" / "crawl.sqlite", server.base)
    graph = load_graph(tmp / "run")
    model = compute_equity(graph, EquityConfig(), priority=[], attribution=False, routes=False)
    yield Crawl(server, store, process, tmp / "run", tmp / "items.jsonl", graph, model)
    store.close()


def _hops(store: StoreView) -> dict[str, tuple[str | None, int, str, int | None]]:
    rows = store.conn.execute(
        "SELECT s.url, d.url, r.status, r.kind, r.delay FROM redirects r"
        " JOIN urls s ON s.id = r.src_id LEFT JOIN urls d ON d.id = r.dst_id"
    )
    return {
        str(store.rel(s)): (store.rel(d), status, kind, delay) for s, d, status, kind, delay in rows
    }


def _refresh_of(crawl: Crawl, path: str) -> tuple[str | None, str | None, int | None]:
    row = crawl.store.conn.execute(
        "SELECT p.meta_refresh, d.url, p.refresh_delay FROM pages p JOIN urls u ON u.id = p.url_id"
        " LEFT JOIN urls d ON d.id = p.refresh_id WHERE u.url = ?",
        (crawl.server.url(path),),
    ).fetchone()
    return row[0], crawl.store.rel(row[1]), row[2]


def test_instant_refreshes_are_hops_in_redirects(crawl: Crawl) -> None:
    offsite = f"http://localhost:{crawl.server.port}/offsite"
    assert _hops(crawl.store) == {
        "/old": ("/new", 200, "meta_refresh", 0),
        "/loop-a": ("/loop-b", 200, "meta_refresh", 0),
        "/loop-b": ("/loop-a", 200, "meta_refresh", 0),
        "/leaving": (offsite, 200, "meta_refresh", 0),
        "/to-private": ("/private/area", 200, "meta_refresh", 0),
        "/chain": ("/docs/start", 301, "http", None),
        "/docs/start": ("/guides/first", 200, "meta_refresh", 0),
    }


def test_an_instant_refresh_is_followed_and_its_page_is_a_redirect(crawl: Crawl) -> None:
    pages = crawl.store.pages()
    old = pages["/old"]
    assert (old["kind"], old["status"], old["error"]) == ("redirect", 200, None)
    assert old["content_type"] == "text/html; charset=utf-8"
    assert _refresh_of(crawl, "/old") == ("0; url=/new", "/new", 0)
    new = pages["/new"]
    assert (new["kind"], new["requested"]) == ("html", "/old")
    # A hop is not a click: /new is as deep as the link to /old.
    assert (old["depth"], new["depth"]) == (1, 1)
    # The hop's own links are not crawled, as an HTTP redirect's body is not.
    assert crawl.store.links("/old") == []
    assert "/old-only-link" not in crawl.server.paths()
    assert crawl.server.paths().count("/new") == 1


def test_equity_passes_through_an_instant_refresh(crawl: Crawl) -> None:
    graph, model = crawl.graph, crawl.model
    home, new = graph.node(crawl.server.url("/")), graph.node(crawl.server.url("/new"))
    assert home is not None and new is not None
    found = graph.resolve(crawl.server.url("/old"))
    assert (found.outcome, found.node) == ("node", new)
    assert crawl.server.url("/old") not in graph.urls
    # Home's link to /old flows to /new, and it is /new's only way in.
    targets, shares = graph.shares(home)
    share = float(shares[list(targets).index(new)])
    assert share > 0
    d = model.config.damping
    # Everything that reaches home (x / (1 - d)) is passed on in proportion to the shares.
    assert model.inflow[new] == pytest.approx(d * model.equity[home] / (1 - d) * share)
    assert graph.stats.meta_refreshes == 6


def test_a_delayed_refresh_keeps_the_page_and_follows_its_target(crawl: Crawl) -> None:
    pages = crawl.store.pages()
    moved = pages["/moved"]
    assert (moved["kind"], moved["status"]) == ("html", 200)
    assert _refresh_of(crawl, "/moved") == ("5; URL='/later'", "/later", 5)
    assert "/moved" not in _hops(crawl.store)
    assert [link[0] for link in crawl.store.links("/moved")] == ["/", "/kept"]  # stored
    assert pages["/kept"]["kind"] == "html"
    # The target is followed as a link of the page: one click deeper.
    assert (pages["/moved"]["depth"], pages["/later"]["depth"]) == (1, 2)
    assert pages["/later"]["requested"] is None
    graph = crawl.graph
    page, home, later, kept = (
        graph.node(crawl.server.url(p)) for p in ("/moved", "/", "/later", "/kept")
    )
    assert page is not None and later is not None and kept is not None
    targets, shares = graph.shares(page)
    # The refresh counts as one content link, next to the logo (header) and /kept (content).
    header = EquityConfig().position_weights[POSITIONS.index("header")]
    total = header + 2.0
    assert dict(zip(targets.tolist(), shares.tolist(), strict=True)) == {
        home: pytest.approx(header / total),
        kept: pytest.approx(1 / total),
        later: pytest.approx(1 / total),
    }
    assert graph.stats.delayed_refreshes == 1


def test_a_refresh_loop_stops(crawl: Crawl) -> None:
    pages = crawl.store.pages()
    assert pages["/loop-a"]["error"] is None
    assert pages["/loop-b"]["error"] == "redirect loop"
    assert crawl.server.paths().count("/loop-a") == 1
    assert crawl.server.paths().count("/loop-b") == 1
    assert crawl.graph.resolve(crawl.server.url("/loop-a")).outcome == "loop"


def test_refresh_targets_obey_scope_and_robots(crawl: Crawl) -> None:
    pages = crawl.store.pages()
    offsite = f"http://localhost:{crawl.server.port}/offsite"
    assert offsite not in pages  # recorded as the hop's target, not crawled
    assert "/offsite" not in crawl.server.paths()
    assert crawl.graph.resolve(crawl.server.url("/leaving")).outcome == "external"
    assert pages["/private/area"]["kind"] == "blocked"
    assert "/private/area" not in crawl.server.paths()


def test_what_is_not_a_refresh_leaves_the_page_a_page(crawl: Crawl) -> None:
    pages = crawl.store.pages()
    for path in ("/bad-content", "/noscript", "/in-body", "/reload"):
        assert (pages[path]["kind"], pages[path]["status"]) == ("html", 200), path
    # Malformed content is recorded as written and otherwise ignored.
    assert _refresh_of(crawl, "/bad-content") == ("url=/nowhere", None, None)
    assert _refresh_of(crawl, "/reload") == ("30", None, None)
    assert _refresh_of(crawl, "/noscript") == (None, None, None)
    assert _refresh_of(crawl, "/in-body") == (None, None, None)
    for never in ("/nowhere", "/no-js", "/from-body"):
        assert never not in crawl.server.paths()
    assert "Traceback" not in crawl.process.stderr
    assert crawl.store.meta()["complete"] is True


def test_a_refresh_after_a_301_is_one_chain_resolved_against_base_href(crawl: Crawl) -> None:
    pages = crawl.store.pages()
    first = pages["/guides/first"]
    assert (first["kind"], first["requested"]) == ("html", "/chain")
    assert pages["/docs/start"]["requested"] == "/chain"
    assert pages["/chain"]["depth"] == first["depth"] == 1
    home = crawl.graph.node(crawl.server.url("/"))
    node = crawl.graph.node(crawl.server.url("/guides/first"))
    assert home is not None and node is not None
    assert node in crawl.graph.shares(home)[0].tolist()
    items = [json.loads(line) for line in crawl.feed.read_text("utf-8").splitlines()]
    page = next(item for item in items if item["url"] == crawl.server.url("/guides/first"))
    assert page["redirect_chain"] == [
        {"url": crawl.server.url("/chain"), "status": 301, "kind": "http"},
        {"url": crawl.server.url("/docs/start"), "status": 200, "kind": "meta_refresh"},
    ]
    hop = next(item for item in items if item["url"] == crawl.server.url("/docs/start"))
    assert (hop["kind"], hop["delay"], hop["location"]) == ("meta_refresh", 0, "0; url=first")


def test_the_report_lists_meta_refreshes_with_the_redirects(crawl: Crawl) -> None:
    html = (crawl.run_dir / "report" / "index.html").read_text("utf-8")
    assert "6 of the redirects are HTML meta refreshes" in html
    assert "1 page refreshes to another URL after a delay" in html
    findings = json.loads((crawl.run_dir / "report" / "data" / "findings.json").read_text("utf-8"))
    titles = [f["title"] for f in findings["findings"] if f["kind"] == "redirect_link"]
    assert "1 page links to /old, which redirects to /new (an HTML meta refresh)" in titles
    pages_csv = (crawl.run_dir / "report" / "data" / "pages.csv").read_text("utf-8")
    rows = {line.split(",")[0]: line for line in pages_csv.splitlines()[1:]}
    assert ",meta_refresh,redirect," in rows[crawl.server.url("/old")]
    assert "meta_refresh" in rows[crawl.server.url("/moved")]
    assert "meta_refresh" not in rows[crawl.server.url("/chain")]


def test_a_start_url_that_refreshes_lands_on_its_target(tmp_path: Path) -> None:
    routes = {
        "/robots.txt": Response("User-agent: *\nAllow: /\n", content_type="text/plain"),
        "/": _page("Entry", head=_refresh("0; url=/en/")),
        "/en/": _page("English home", "/en/about"),
        "/en/about": _page("About"),
    }
    with TestServer(routes) as server:
        process = run_crawl(server.url("/"), tmp_path / "run", settings={"REPORT_ENABLED": "0"})
    assert process.returncode == 0, process.stderr[-3000:]
    store = StoreView(tmp_path / "run" / "crawl.sqlite", server.base)
    pages = store.pages()
    assert (pages["/"]["kind"], pages["/en/"]["kind"]) == ("redirect", "html")
    assert (pages["/en/"]["depth"], pages["/en/about"]["depth"]) == (0, 1)
    meta = store.meta()
    assert meta["complete"] is True and meta["fatal_error"] is None
    store.close()
    graph = load_graph(tmp_path / "run")
    assert [graph.urls[i] for i in graph.start_nodes] == [server.url("/en/")]
    assert np.all(graph.depth >= 0)
