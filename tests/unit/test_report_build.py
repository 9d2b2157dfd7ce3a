"""The report builder against the equity model it reads: every number the view shows adds up.

A small shop is built as a crawl store (tests/support/storebuilder.py), solved
with the real model, and turned into a view; the view's budget, priority
pages, pages, backlinks and exports are checked against the model's own
arrays and against the budget identities (each column of the diagram sums to
1, a section passes on what it receives).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from pipelines.storedb import CrawlStore
from reports.build import Analysis, Recommendations, build_view, flow_rows, node_flags, page_rows
from reports.compare import load_previous
from reports.config import EquityConfig
from reports.equity import EquityModel, compute_equity
from reports.exports import PAGES_COLUMNS
from reports.graph import load_graph
from reports.report_config import ReportConfig
from reports.view import (
    Fact,
    Finding,
    LinkRecommendation,
    PageRef,
    RedirectRecommendation,
    ReportView,
    Sankey,
)
from reports.write import ExportData, write_report
from tests.support.storebuilder import Link, StoreBuilder

BASE = "https://site.test"
WHEN = datetime(2026, 3, 21, 12, 0, tzinfo=UTC)


def u(path: str) -> str:
    return BASE + path


def shop(*, with_blog_post: bool = True) -> StoreBuilder:
    """Home, a shop with two kettles, a blog, a dead end, an orphan, a 404 and backlinks."""
    site = StoreBuilder(BASE)
    site.page(
        "/",
        Link("/shop/", "nav", anchor="Shop"),
        Link("/blog/", "nav", anchor="Blog"),
        Link("/about", "footer", anchor="About us"),
        Link("https://partner.example/", anchor="Our partner"),
        title="Home",
    )
    site.page(
        "/shop/",
        Link("/shop/red", anchor="Red kettle"),
        Link("/shop/steel", anchor="Steel kettle"),
        Link("/", "breadcrumb", anchor="Home"),
        title="Shop",
    )
    site.page(
        "/shop/red",
        Link("/shop/", "breadcrumb", anchor="Shop"),
        Link("/old", anchor="Old kettle"),
        title="Red kettle",
    )
    site.page("/shop/steel", Link("/cart", followed=False, anchor="Add to cart"), title="Steel")
    blog_links = [Link("/blog/post", anchor="Read the post")] if with_blog_post else []
    site.page("/blog/", *blog_links, Link("/", "breadcrumb", anchor="Home"), title="Blog")
    if with_blog_post:
        site.page(
            "/blog/post",
            Link("/shop/red", anchor="our red kettle"),
            Link("/blog/", "breadcrumb", anchor="Blog"),
            title="A post",
        )
    site.page("/about", title="About")
    site.page("/orphan", Link("/", anchor="Home"), title="Orphan")
    site.error("/old", 404)
    site.error("/gone", 410)
    site.error("/cart", 403)
    site.known("/orphan", "sitemap")
    site.meta(
        complete=True,
        finish_reason="finished",
        started_at="2026-03-21T10:00:00+00:00",
        finished_at="2026-03-21T10:05:00+00:00",
        max_click_depth=2,
    )
    landing = "/blog/post" if with_blog_post else "/blog/"
    site.backlink("https://news.example/a", landing, authority=0.6, metric_name="DR")
    site.backlink("https://mag.example/b", "/shop/red", authority=0.3, metric_name="DR")
    site.backlink("https://old.example/c", "/gone", authority=0.5, metric_name="DR")
    return site


def solved(run: Path, site: StoreBuilder, priority: list[str]) -> tuple[EquityModel, CrawlStore]:
    site.build(run)
    store = CrawlStore(run)
    config = EquityConfig()
    model = compute_equity(load_graph(store, config), config, priority=priority)
    return model, store


@pytest.fixture
def built(tmp_path: Path) -> tuple[EquityModel, CrawlStore, ReportView]:
    model, store = solved(tmp_path / "run", shop(), [u("/shop/red")])
    view = build_view(model, store, ReportConfig(), generated_at=WHEN)
    yield model, store, view
    store.close()


def node(model: EquityModel, path: str) -> int:
    index = model.graph.node(u(path))
    assert index is not None
    return index


def flows_of(sankey: Sankey) -> tuple[dict[str, float], dict[str, float]]:
    inflow: dict[str, float] = defaultdict(float)
    outflow: dict[str, float] = defaultdict(float)
    for link in sankey.links:
        outflow[link.source] += link.value
        inflow[link.target] += link.value
    return inflow, outflow


def test_budget_diagram_is_a_complete_balanced_budget(built: tuple) -> None:
    model, _, view = built
    sankey = view.budget.sankey
    inflow, outflow = flows_of(sankey)
    columns = {node.id: node.column for node in sankey.nodes}
    entering = sum(v for k, v in outflow.items() if columns[k] == 0)
    ending = sum(v for k, v in inflow.items() if columns[k] == 2)
    assert entering == pytest.approx(1.0, abs=1e-9)
    assert ending == pytest.approx(1.0, abs=1e-9)
    for node_ in sankey.nodes:
        if node_.column == 1:  # a section passes on exactly what reaches it
            assert inflow[node_.id] == pytest.approx(outflow[node_.id], abs=1e-9)
    # The first band splits each section's deposit (one solve per entry section).
    deposits = {f"in:{i}": 0.0 for i in range(len(model.sections.names))}
    for link in sankey.links:
        if link.source in deposits:
            deposits[link.source] += link.value
    labels = {n.id: n.label for n in sankey.nodes}
    for s, name in enumerate(model.sections.names):
        label = "/ (home and top-level pages)" if name == "/" else name
        entry = next(k for k, v in labels.items() if v == label and k.startswith("in:"))
        assert deposits[entry] == pytest.approx(model.sections.deposit[s], abs=1e-9)
    # The last column: the priority page, other pages, each leak kind.
    assert inflow["leak:broken"] == pytest.approx(model.budget.leaked["broken"], abs=1e-12)
    priority_node = next(n for n in sankey.nodes if n.kind == "priority")
    assert priority_node.label == "Red kettle"
    assert inflow[priority_node.id] == pytest.approx(model.equity[node(model, "/shop/red")])
    assert view.budget.held_share + sum(r.share for r in view.budget.leaks) == pytest.approx(1.0)


def test_sections_say_how_much_of_what_enters_them_reaches_priority(built: tuple) -> None:
    model, _, view = built
    red = model.equity[node(model, "/shop/red")]
    assert sum(row.to_priority for row in view.budget.sections) == pytest.approx(red, rel=1e-9)
    assert {row.section for row in view.budget.sections} == set(model.sections.names)
    assert view.budget.section_rule.startswith("their first path segment")
    assert view.summary.priority_share == pytest.approx(red)
    assert view.summary.home_share == pytest.approx(model.equity[node(model, "/")])
    assert view.summary.leaked_share == pytest.approx(model.budget.leaked_total)


def test_priority_page_has_its_sources_and_the_route_with_anchors(built: tuple) -> None:
    model, _, view = built
    (page,) = view.priority.pages
    red = node(model, "/shop/red")
    assert (page.url, page.title, page.pages, page.rank) == (
        u("/shop/red"),
        "Red kettle",
        1,
        int(model.rank[red]),
    )
    assert page.equity == pytest.approx(model.equity[red])
    assert page.referring_domains == 1
    assert not view.priority.guessed
    # Backlinks land on /blog/post and on the page itself: both feed it.
    sources = {c.url: c.share for c in page.contributors}
    assert set(sources) == {u("/blog/post"), u("/shop/red")}
    assert all(0 < share <= 1 for share in sources.values())
    routes = {route.steps[0].url: route for route in page.routes}
    via_post = routes[u("/blog/post")]
    assert [(s.url, s.anchor, s.position) for s in via_post.steps] == [
        (u("/blog/post"), "our red kettle", "content"),
        (u("/shop/red"), "", ""),
    ]
    assert 0 < via_post.probability < 1
    # The page's own backlinks need no click: that is no route worth showing.
    assert u("/shop/red") not in routes
    assert all(len(route.steps) > 1 for route in page.routes)


def test_a_pattern_entry_is_one_row_for_all_its_pages(tmp_path: Path) -> None:
    model, store = solved(tmp_path / "run", shop(), ["re:/shop/(red|steel)$", u("/nowhere")])
    with store:
        view = build_view(model, store, generated_at=WHEN)
    group, missing = view.priority.pages
    red, steel = node(model, "/shop/red"), node(model, "/shop/steel")
    assert (group.url, group.pages, group.score) == ("re:/shop/(red|steel)$", 2, None)
    assert group.equity == pytest.approx(model.equity[red] + model.equity[steel])
    assert group.rank == min(model.rank[red], model.rank[steel])
    assert group.inlinks == 2  # /shop/ and /blog/post link into it from outside
    assert (missing.url, missing.pages, missing.rank, missing.note) == (
        u("/nowhere"),
        0,
        None,
        "not in the crawl",
    )
    assert view.summary.priority_pages == 2


def test_pages_rows_flags_and_distributions(built: tuple) -> None:
    model, _, view = built
    rows = {row.url: row for row in view.pages.rows}
    assert [row.rank for row in view.pages.rows] == sorted(row.rank for row in view.pages.rows)
    assert view.pages.total == model.n
    assert "priority" in rows[u("/shop/red")].flags
    assert "landing" in rows[u("/blog/post")].flags
    assert "dead_end" in rows[u("/about")].flags
    assert "orphan" in rows[u("/orphan")].flags
    assert "orphan" not in rows[u("/")].flags  # the start page is never an orphan
    by_key = {d.key: d for d in view.pages.distributions}
    assert sum(b.count for b in by_key["equity"].bins) == model.n
    assert sum(b.count for b in by_key["inlinks"].bins) == model.n
    depth_bins = {b.label: b.count for b in by_key["depth"].bins}
    assert sum(depth_bins.values()) == model.n


def test_orphans_are_not_called_so_when_the_crawl_stopped_early(tmp_path: Path) -> None:
    model, store = solved(tmp_path / "run", shop().meta(complete=False), [])
    with store:
        flags = node_flags(model, store)
    assert not flags[node(model, "/orphan")] & 4


def test_backlinks_section(built: tuple) -> None:
    model, _, view = built
    backlinks = view.backlinks
    assert (backlinks.merged, backlinks.referring_domains, backlinks.followed) == (3, 3, 3)
    (lost,) = backlinks.lost
    assert (lost.url, lost.status, lost.referring_domains) == (u("/gone"), 410, 1)
    # Where to redirect it is the gap analysis's call (tests/unit/test_report_analysis.py).
    assert lost.redirect_to == ""
    assert backlinks.lost_share == pytest.approx(model.budget.lost_backlink_share)
    assert [row.vendor for row in backlinks.vendors] == ["Ahrefs"]
    landing = {row.url: row for row in backlinks.landing}
    assert set(landing) == {u("/blog/post"), u("/shop/red")}
    # Of what lands on the priority page itself, at least 1 - d stays there.
    assert landing[u("/shop/red")].to_priority >= 0.15
    assert view.summary.vendors == ["Ahrefs"]


def test_without_the_gap_analysis_findings_are_not_computed(built: tuple, tmp_path: Path) -> None:
    _, store, view = built
    assert not view.findings.computed and not view.recommendations.computed
    assert view.summary.top_fixes == []
    files = write_report(view, tmp_path / "out", store=store)
    data = tmp_path / "out" / "data"
    document = json.loads((data / "findings.json").read_text())
    assert (document["computed"], document["findings"]) == (False, [])
    assert "not computed" in document["note"]
    assert (data / "recommendations.csv").read_text().count("\n") == 1  # the header only
    summary = json.loads((data / "summary.json").read_text())
    assert summary["findings"]["computed"] is False
    assert summary["recommendations"]["computed"] is False
    html = files.html.read_text()
    assert 'id="findings-not-computed"' in html and 'id="recommendations-not-computed"' in html


def finding(fid: str, severity: str, pages: list[str], stake: float | None) -> Finding:
    return Finding(
        id=fid,
        kind="starved" if fid.startswith("starved") else "broken_link",
        severity=severity,  # type: ignore[arg-type]
        title=f"Title of {fid}",
        evidence=[Fact("Linking pages", len(pages), "count")],
        fix="Do the fix.",
        pages=[PageRef(url) for url in pages],
        pages_total=len(pages),
        equity_at_stake=stake,
    )


def test_findings_and_recommendations_plug_in(built: tuple, tmp_path: Path) -> None:
    model, store, _ = built
    findings = [
        finding("starved-red", "high", [u("/shop/red")], 0.02),
        finding("broken-old", "medium", [u(f"/p{i}") for i in range(15)], 0.01),
        finding("broken-older", "low", [u("/shop/red")], 0.0),
    ]
    link = LinkRecommendation(
        id="link-post-red", source_url=u("/blog/"), source_title="Blog",
        target_url=u("/shop/red"), target_title="Red kettle", anchor="red kettle",
        gain=0.004, equity_before=0.1, equity_after=0.104, rank_before=3, rank_after=2,
        relevance=0.7,
    )  # fmt: skip
    redirect = RedirectRecommendation(
        id="redirect-gone", from_url=u("/gone"), status=410, to_url=u("/"), to_title="Home",
        referring_domains=1, backlinks=1, gain=0.03,
    )  # fmt: skip
    recommendations = Recommendations(links=[link], redirects=[redirect], set_gain=0.004)
    config = ReportConfig(finding_pages=10, top_fixes=3)
    view = build_view(
        model, store, config, analysis=Analysis(findings, recommendations), generated_at=WHEN
    )
    assert view.findings.computed and (view.findings.high, view.findings.medium) == (1, 1)
    groups = {g.kind: g for g in view.findings.groups}
    assert [g.kind for g in view.findings.groups] == ["starved", "broken_link"]
    broken = groups["broken_link"]
    assert [f.id for f in broken.findings] == ["broken-old", "broken-older"]
    assert len(broken.findings[0].pages) == 10 and broken.findings[0].pages_total == 15
    (page,) = view.priority.pages
    assert [f.id for f in page.findings] == ["starved-red", "broken-older"]
    # The largest amounts of authority first, gains and stakes alike.
    assert [fix.target for fix in view.summary.top_fixes] == [
        "redirect-gone",
        "starved-red",
        "broken-old",
    ]
    assert [(fix.gain, fix.stake) for fix in view.summary.top_fixes] == [
        (0.03, None),
        (None, 0.02),
        (None, 0.01),
    ]
    assert view.recommendations.links_total == 1 and view.recommendations.set_gain == 0.004
    data = ExportData(
        findings=findings, links=recommendations.links, redirects=recommendations.redirects
    )
    write_report(view, tmp_path / "out", data=data)
    written = json.loads((tmp_path / "out" / "data" / "findings.json").read_text())
    assert written["computed"] is True
    assert len(written["findings"][1]["pages"]) == 15  # every page, not the HTML's cut
    with (tmp_path / "out" / "data" / "recommendations.csv").open(newline="") as stream:
        assert [r["type"] for r in csv.DictReader(stream)] == ["link", "redirect"]


def test_top_fixes_name_different_things_to_do(built: tuple) -> None:
    model, store, _ = built
    findings = [
        finding("broken-a", "medium", [u("/blog/")], 0.05),
        finding("broken-b", "medium", [u("/blog/")], 0.04),
        finding("starved-red", "high", [u("/shop/red")], None),
        finding("broken-c", "low", [u("/blog/")], 0.03),
    ]
    link = LinkRecommendation(
        id="link-post-red", source_url=u("/blog/"), source_title="Blog",
        target_url=u("/shop/red"), target_title="Red kettle", anchor="red kettle",
        gain=0.001, equity_before=0.1, equity_after=0.101, rank_before=3, rank_after=3,
        relevance=0.7,
    )  # fmt: skip
    analysis = Analysis(findings, Recommendations(links=[link], set_gain=0.001))
    view = build_view(model, store, ReportConfig(top_fixes=4), analysis=analysis)
    # One of a kind first (the largest amount of each), findings with no amount after
    # those with one; a second broken link only once every other kind is in.
    assert [fix.target for fix in view.summary.top_fixes] == [
        "broken-a",
        "link-post-red",
        "starved-red",
        "broken-b",
    ]


def test_page_rows_cover_every_url_the_store_knows(built: tuple) -> None:
    model, store, _ = built
    rows = list(page_rows(model, store))
    assert all(len(row) == len(PAGES_COLUMNS) for row in rows)
    by_url = {row[0]: dict(zip(PAGES_COLUMNS, row, strict=True)) for row in rows}
    assert len(by_url) == len(rows)
    stored = {
        url
        for (url,) in store.conn.execute("SELECT u.url FROM pages p JOIN urls u ON u.id = p.url_id")
    }
    assert set(by_url) == stored
    for i, url in enumerate(model.graph.urls):
        assert by_url[url]["equity"] == model.equity[i]
        assert by_url[url]["rank"] == model.rank[i]
    ranks = [row[3] for row in rows if row[3] is not None]
    assert ranks == sorted(ranks) and len(ranks) == model.n  # nodes first, by rank
    old = by_url[u("/old")]
    assert (old["equity"], old["status"], old["kind"], old["inlinks"]) == (None, 404, "error", 1)
    gone = by_url[u("/gone")]
    assert gone["referring_domains"] == 1


def test_the_meta_refresh_flag_in_pages_csv_reads_with_the_kind(tmp_path: Path) -> None:
    # meta_refresh says the URL's HTML sends visitors on with a meta refresh;
    # the kind tells which: html = a delayed one (a link of the page), also on
    # a canonicalised page, redirect = an instant one (the hop, status 2xx).
    site = StoreBuilder(BASE)
    site.page("/", "/a", "/dup", "/hop", "/old", "/later")
    site.page("/a", "/")
    site.page("/dup", "/a", canonical="/a", refresh="/a", refresh_delay=5)
    site.page("/later", "/", refresh="/a", refresh_delay=5)
    site.meta_refresh("/hop", "/a")
    site.redirect("/old", "/a")
    model, store = solved(tmp_path / "run", site, [])
    with store:
        rows = {
            row[0]: dict(zip(PAGES_COLUMNS, row, strict=True)) for row in page_rows(model, store)
        }
    cells = {
        path: (rows[u(path)]["kind"], rows[u(path)]["status"], rows[u(path)]["flags"])
        for path in ("/dup", "/later", "/hop", "/old")
    }
    assert cells == {
        "/dup": ("html", 200, "canonicalised|meta_refresh"),
        "/later": ("html", 200, "meta_refresh"),
        "/hop": ("redirect", 200, "meta_refresh"),
        "/old": ("redirect", 301, ""),
    }
    assert rows[u("/later")]["rank"] is not None and rows[u("/dup")]["rank"] is None


def test_flow_rows_add_up(built: tuple) -> None:
    model, _, _ = built
    rows = list(flow_rows(model))
    deposits = sum(r.share for r in rows if r.kind == "deposit")
    held = sum(r.share for r in rows if r.kind == "held")
    leaked = sum(r.share for r in rows if r.kind == "leak")
    assert deposits == pytest.approx(1.0, abs=1e-12)
    assert held + leaked == pytest.approx(1.0, abs=1e-9)
    flows = {(r.source, r.target): r.share for r in rows if r.kind == "flow"}
    s = model.sections.names.index("/shop/")
    t = model.sections.names.index("/")
    assert flows[("/shop/", "/")] == model.sections.flow[s, t]


def test_comparison_with_the_previous_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs" / "site.test"
    before, store = solved(runs / "20260101T000000Z", shop(), [u("/shop/red")])
    with store:
        view = build_view(before, store, generated_at=WHEN)
        write_report(view, runs / "20260101T000000Z" / "report", store=store,
                     data=ExportData(pages=page_rows(before, store)))  # fmt: skip
    after, store = solved(runs / "20260201T000000Z", shop(with_blog_post=False), [u("/shop/red")])
    previous = load_previous(runs / "20260101T000000Z" / "report")
    with store:
        view = build_view(after, store, previous=previous, generated_at=WHEN)
    comparison = view.comparison
    assert comparison is not None
    assert comparison.previous_run == "20260101T000000Z"
    assert comparison.pages == (before.n, after.n)
    assert comparison.pages_lost == [u("/blog/post")] and comparison.pages_gained == []
    (delta,) = comparison.priority
    red_before = before.equity[node(before, "/shop/red")]
    red_after = after.equity[node(after, "/shop/red")]
    assert (delta.before, delta.after) == (pytest.approx(red_before), pytest.approx(red_after))
    # Neither run had findings computed: none is called fixed or new.
    assert not comparison.findings_compared and comparison.fixed == [] and comparison.new == []


def test_priority_shares_match_across_sankey_and_view_with_many_sections(tmp_path: Path) -> None:
    """More sections than the diagram's limit: the extra entry sections are lumped, sums hold."""
    site = StoreBuilder(BASE)
    sections = [f"/s{i}/" for i in range(14)]
    site.page("/", *[Link(f"{s}a", anchor=s) for s in sections], title="Home")
    for s in sections:
        site.page(f"{s}a", Link(f"{s}b"), Link("/"), title=f"{s}a")
        site.page(f"{s}b", Link("/s0/a"), title=f"{s}b")
    model, store = solved(tmp_path / "run", site, [u("/s0/a")])
    with store:
        view = build_view(model, store, ReportConfig(sankey_nodes=4), generated_at=WHEN)
    sankey = view.budget.sankey
    inflow, outflow = flows_of(sankey)
    by_column: dict[int, list[str]] = defaultdict(list)
    for n in sankey.nodes:
        by_column[n.column].append(n.id)
    assert len(by_column[0]) == 4 and any("other sections" in n.label for n in sankey.nodes)
    assert sum(outflow[i] for i in by_column[0]) == pytest.approx(1.0, abs=1e-9)
    assert sum(inflow[i] for i in by_column[2]) == pytest.approx(1.0, abs=1e-9)
    priority = next(n.id for n in sankey.nodes if n.kind == "priority")
    assert inflow[priority] == pytest.approx(float(model.equity[node(model, "/s0/a")]))
    assert np.isclose(view.summary.priority_share, inflow[priority])


def test_links_csv_is_reused_while_the_crawl_data_is_unchanged(
    built: tuple, tmp_path: Path
) -> None:
    _, store, view = built
    first = tmp_path / "first"
    files = write_report(view, first, store=store)
    links_csv = first / "data" / "links.csv"
    rows = files.exports["links.csv"]
    summary = json.loads((first / "data" / "summary.json").read_text())
    assert summary["exports"]["links.csv"]["rows"] == rows == store.count("links")
    inode = links_csv.stat().st_ino
    write_report(view, first, store=store)  # the same folder again: the file stays
    assert links_csv.stat().st_ino == inode
    second = tmp_path / "second"
    again = write_report(view, second, store=store, reuse=[first / "data"])
    assert (second / "data" / "links.csv").samefile(links_csv)  # linked, not streamed again
    assert again.exports["links.csv"] == rows
    # A crawl that resumes into the store changes its links: they are written again.
    store.conn.execute(
        "INSERT INTO links(src_id, ord, dst_id, href, anchor, is_image, followed, position,"
        " internal, kind) VALUES (1, 99, 1, '/', 'written again', 0, 1, 0, 1, 'http')"
    )
    write_report(view, second, store=store, reuse=[first / "data"])
    assert "written again" in (second / "data" / "links.csv").read_text()
    assert "written again" not in links_csv.read_text()
