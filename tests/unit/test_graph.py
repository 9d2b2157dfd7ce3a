"""Loading a store into the equity graph: resolution, merging, shares, leaks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from pipelines.storedb import StoreError
from reports.config import EquityConfig
from reports.graph import LEAK_KINDS, SiteGraph, bfs_depth, click_depth, load_graph
from tests.support.storebuilder import Link, StoreBuilder

UNIFORM = EquityConfig.from_settings({"EQUITY_POSITION_WEIGHTS": "uniform"})


def build(tmp_path: Path, site: StoreBuilder, config: EquityConfig | None = None) -> SiteGraph:
    return load_graph(site.build(tmp_path), config)


def node(graph: SiteGraph, path: str) -> int:
    index = graph.node("https://site.test" + path)
    assert index is not None, path
    return index


def flows_of(graph: SiteGraph, path: str) -> dict[str, float]:
    targets, shares = graph.shares(node(graph, path))
    pairs = zip(targets, shares, strict=True)
    return {graph.urls[t].removeprefix("https://site.test"): s for t, s in pairs}


def leaks_of(graph: SiteGraph, path: str) -> dict[str, float]:
    row = graph.leak_share[node(graph, path)]
    return {kind: float(v) for kind, v in zip(LEAK_KINDS, row, strict=True) if v}


def test_nodes_are_200_html_pages_in_url_id_order(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/b", "/a").page("/b").page("/a").page("/soft404", status=404)
    site.other("/doc.pdf")
    graph = build(tmp_path, site)
    assert graph.urls == ["https://site.test/", "https://site.test/b", "https://site.test/a"]
    assert graph.n == 3
    assert graph.resolve("https://site.test/soft404").outcome == "broken"
    assert graph.resolve("https://site.test/doc.pdf").outcome == "non_html"


def test_shares_use_position_weights_over_all_links(tmp_path: Path) -> None:
    # content 1.0 + nav 0.4 + footer 0.2 + external content 1.0 + nofollow aside 0.5 = 3.1
    site = StoreBuilder()
    site.page("/", "/a", "/b@nav", "/c@footer", "https://ext.test/", "/d@aside!")
    for path in "/a", "/b", "/c", "/d":
        site.page(path)
    graph = build(tmp_path, site)
    assert flows_of(graph, "/") == pytest.approx({"/a": 1 / 3.1, "/b": 0.4 / 3.1, "/c": 0.2 / 3.1})
    assert leaks_of(graph, "/") == pytest.approx({"external": 1 / 3.1, "nofollow": 0.5 / 3.1})
    # A page with no links leaks everything as a dead end.
    assert leaks_of(graph, "/a") == {"dead_end": 1.0}
    uniform = build(tmp_path / "u", site, UNIFORM)
    assert flows_of(uniform, "/") == pytest.approx({"/a": 0.2, "/b": 0.2, "/c": 0.2})


def test_parallel_links_merge_keeping_the_strongest(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page(
        "/",
        "/a@footer",
        "/a@content",  # strongest of two followed links
        "/b@content!",
        "/b@nav",  # followed beats a stronger nofollow link
        "/c@aside!",
        "/c@footer!",  # nofollow only: the strongest nofollow one counts
        "/old",  # redirects to /a: merges with the links to /a
    )
    site.page("/a").page("/b").page("/c").redirect("/old", "/a")
    graph = build(tmp_path, site)
    total = 1.0 + 0.4 + 0.5
    assert flows_of(graph, "/") == pytest.approx({"/a": 1.0 / total, "/b": 0.4 / total})
    assert leaks_of(graph, "/") == pytest.approx({"nofollow": 0.5 / total})
    assert graph.stats.links_from_nodes == 7
    assert graph.stats.flow_links == 2


def test_self_links_are_dropped_even_through_redirects(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/", "/home", "/a").page("/a").redirect("/home", "/")
    graph = build(tmp_path, site)
    assert flows_of(graph, "/") == {"/a": 1.0}
    assert graph.stats.self_links == 1


def test_only_self_links_make_a_dead_end(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/a").page("/a", "/a")
    graph = build(tmp_path, site)
    assert leaks_of(graph, "/a") == {"dead_end": 1.0}


def test_redirect_chains_resolve_and_loops_break(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/r1", "/loop-a", "/nowhere", "/away", "/later")
    site.redirect("/r1", "/r2", 301).redirect("/r2", "/r3", 302).redirect("/r3", "/a")
    site.redirect("/loop-a", "/loop-b").redirect("/loop-b", "/loop-c").redirect(
        "/loop-c", "/loop-a"
    )
    site.redirect("/nowhere", None)
    site.redirect("/away", "https://elsewhere.test/x")
    site.redirect("/later", "/never-fetched")
    site.page("/a")
    graph = build(tmp_path, site)
    assert graph.resolve("https://site.test/r1").node == node(graph, "/a")
    loop = graph.resolve("https://site.test/loop-b")
    assert (loop.outcome, loop.leak_kind, loop.node) == ("loop", "broken", None)
    assert graph.resolve("https://site.test/nowhere").outcome == "broken"
    # Redirect targets nobody links: external by host, internal-but-uncrawled otherwise.
    assert graph.resolve("https://site.test/away").outcome == "external"
    assert graph.resolve("https://site.test/later").outcome == "uncrawled"
    assert flows_of(graph, "/") == pytest.approx({"/a": 1 / 5})
    assert leaks_of(graph, "/") == pytest.approx(
        {"broken": 2 / 5, "external": 1 / 5, "blocked": 1 / 5}
    )
    assert graph.stats.redirect_loops == 3


def test_an_instant_meta_refresh_is_a_hop_like_a_redirect(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/moved", "/refresh-loop", "/leaving")
    site.meta_refresh("/moved", "/r").redirect("/r", "/a")  # a refresh, then a 301
    site.meta_refresh("/refresh-loop", "/refresh-back").meta_refresh(
        "/refresh-back", "/refresh-loop"
    )
    site.meta_refresh("/leaving", "https://elsewhere.test/")
    site.page("/a")
    graph = build(tmp_path, site)
    assert "https://site.test/moved" not in graph.urls  # folded into its target
    assert graph.resolve("https://site.test/moved").node == node(graph, "/a")
    assert graph.resolve("https://site.test/refresh-loop").outcome == "loop"
    assert graph.resolve("https://site.test/leaving").outcome == "external"
    assert flows_of(graph, "/") == pytest.approx({"/a": 1 / 3})
    assert leaks_of(graph, "/") == pytest.approx({"broken": 1 / 3, "external": 1 / 3})
    assert (graph.stats.meta_refreshes, graph.stats.redirects) == (4, 5)
    assert graph.stats.delayed_refreshes == 0


def test_a_delayed_meta_refresh_is_one_followed_content_link(tmp_path: Path) -> None:
    site = StoreBuilder()
    # Page-level nofollow is about links: the refresh still passes authority.
    site.page("/", "/a@footer", "/b", "/x!", refresh="/a", refresh_delay=5)
    site.page("/a", "/", nofollow=True, refresh="/b", refresh_delay=10)
    site.page("/b", "/b@nav", refresh="/gone", refresh_delay=3)
    site.error("/gone")
    site.page("/x", refresh="https://elsewhere.test/", refresh_delay=8)
    graph = build(tmp_path, site)
    # The footer link to /a merges with the refresh (content, the stronger position).
    assert flows_of(graph, "/") == pytest.approx({"/a": 1 / 3, "/b": 1 / 3})
    assert leaks_of(graph, "/") == pytest.approx({"nofollow": 1 / 3})
    assert flows_of(graph, "/a") == pytest.approx({"/b": 0.5})
    assert leaks_of(graph, "/a") == pytest.approx({"nofollow": 0.5})
    assert leaks_of(graph, "/b") == {"broken": 1.0}  # its only link is to itself
    assert leaks_of(graph, "/x") == {"external": 1.0}
    assert graph.stats.delayed_refreshes == 4
    assert click_depth(graph).tolist() == [0, 1, 1, -1]


def test_a_store_without_the_meta_refresh_columns_loads(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/old").redirect("/old", "/a").page("/a")
    path = site.build(tmp_path)
    conn = sqlite3.connect(path)
    for table, column in (("redirects", "kind"), ("redirects", "delay"), ("pages", "refresh_id")):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.commit()
    conn.close()
    graph = load_graph(path)
    assert flows_of(graph, "/") == {"/a": 1.0}
    assert (graph.stats.meta_refreshes, graph.stats.delayed_refreshes) == (0, 0)


def test_leak_kinds_of_targets(tmp_path: Path) -> None:
    site = StoreBuilder()
    targets = ["/e404", "/e500", "/fail", "/robots", "/huge", "/trap", "/cap", "/pdf", "/unseen"]
    site.page("/", *targets, "https://ext.test/")
    site.error("/e404", 404).error("/e500", 503).failed("/fail").blocked("/robots")
    site.cutoff("/huge", "oversize").cutoff("/trap", "trap").cutoff("/cap", "skipped")
    site.other("/pdf")
    graph = build(tmp_path, site)
    share = 1 / 10
    assert leaks_of(graph, "/") == pytest.approx(
        {"broken": 3 * share, "blocked": 5 * share, "dead_end": share, "external": share}
    )
    expected = {
        "/e404": "broken",
        "/fail": "broken",
        "/robots": "blocked",
        "/huge": "cutoff",
        "/cap": "cutoff",
        "/pdf": "non_html",
        "/unseen": "uncrawled",
    }
    for path, outcome in expected.items():
        assert graph.resolve("https://site.test" + path).outcome == outcome


def test_page_nofollow_makes_every_link_nofollow(tmp_path: Path) -> None:
    # The crawl clears the followed flag on such pages; the page flag is honoured anyway.
    site = StoreBuilder()
    site.page("/", "/a", "/b@nav", nofollow=True).page("/a").page("/b")
    graph = build(tmp_path, site)
    assert flows_of(graph, "/") == {}
    assert leaks_of(graph, "/") == pytest.approx({"nofollow": 1.0})
    assert bool(graph.nofollow[node(graph, "/")])


def test_canonicals_fold_into_their_target(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/shoe?colour=red", "/shoe")
    site.page("/shoe?colour=red", "/elsewhere", canonical="/shoe")
    site.page("/shoe", "/")
    site.page("/elsewhere")
    graph = build(tmp_path, site)
    assert graph.node("https://site.test/shoe?colour=red") == node(graph, "/shoe")
    # Two links resolving to one page merge; the folded page's own links are ignored.
    assert flows_of(graph, "/") == {"/shoe": 1.0}
    assert graph.stats.folded_by_canonical == 1
    assert "https://site.test/shoe?colour=red" not in graph.urls


def test_canonicals_that_lead_nowhere_or_conflict_are_ignored(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/to-404", "/to-ext", "/cycle-a", "/via-redirect")
    site.page("/to-404", canonical="/gone").error("/gone")
    site.page("/to-ext", canonical="https://other.test/page")
    site.page("/cycle-a", canonical="/cycle-b").page("/cycle-b", canonical="/cycle-a")
    site.page("/via-redirect", canonical="/moved").redirect("/moved", "/target").page("/target")
    graph = build(tmp_path, site)
    for path in "/to-404", "/to-ext", "/cycle-a", "/cycle-b":
        assert graph.resolve("https://site.test" + path).final_url == "https://site.test" + path
    assert graph.node("https://site.test/via-redirect") == node(graph, "/target")
    assert graph.stats.canonicals_ignored == 2
    assert graph.stats.canonical_cycles == 2


def test_transition_matrix_matches_the_shares(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/a", "/b@nav").page("/a", "/b", "/").page("/b", "https://x.test/")
    graph = build(tmp_path, site)
    dense = graph.transition.toarray()
    for u in range(graph.n):
        targets, shares = graph.shares(u)
        expected = np.zeros(graph.n)
        expected[targets] = shares
        assert dense[:, u] == pytest.approx(expected)
        assert dense[:, u].sum() + graph.leak_share[u].sum() == pytest.approx(1.0)


def test_batching_does_not_change_the_graph(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    site = StoreBuilder()
    paths = [f"/p{i}" for i in range(40)]
    for path in paths:
        links = [
            Link(
                str(paths[j]),
                position=str(rng.choice(["content", "nav", "footer", "aside"])),
                followed=bool(rng.random() > 0.2),
            )
            for j in rng.integers(0, 40, size=8)
        ]
        site.page(path, *links, "https://ext.test/")
    store = site.build(tmp_path)
    one = load_graph(store, batch_rows=1)
    many = load_graph(store, batch_rows=10_000)
    assert one.urls == many.urls
    assert (one.transition != many.transition).nnz == 0
    assert np.array_equal(one.leak_share, many.leak_share)


def test_zero_weight_positions_are_ignored(tmp_path: Path) -> None:
    config = EquityConfig.from_settings({"EQUITY_POSITION_WEIGHTS": {"footer": 0}})
    site = StoreBuilder()
    site.page("/", "/a", "/b@footer", "https://ext.test/@footer").page("/a").page("/b")
    graph = build(tmp_path, site, config)
    assert flows_of(graph, "/") == {"/a": 1.0}
    assert leaks_of(graph, "/") == {}


def test_backlink_votes_are_grouped_per_domain_and_target(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/a").page("/a")
    site.backlink("https://www.blog.example.com/1", "/a", authority=0.4)
    site.backlink("https://news.blog.example.com/2", "/a", authority=0.6)  # same domain
    site.backlink("https://other.example.org/", "/a")
    site.backlink("https://other.example.org/nf", "/", followed=False, authority=0.9)
    site.backlink("https://gone.example.net/", "/", lost=True, authority=0.9)
    graph = build(tmp_path, site)
    votes = graph.backlinks
    assert len(votes) == 2
    assert [votes.domains[i] for i in votes.domain] == ["example.com", "example.org"]
    assert votes.authority[0] == 0.6
    assert np.isnan(votes.authority[1])
    assert votes.rows.tolist() == [2, 1]
    assert (votes.total_rows, votes.nofollow_rows, votes.lost_rows) == (5, 1, 1)


def test_click_depth_follows_followed_links(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/a", "/nf!", "/r").page("/a", "/b").page("/b").page("/nf").redirect("/r", "/c")
    site.page("/c", "/b")
    graph = build(tmp_path, site)
    depth = click_depth(graph)
    got = {graph.urls[i].removeprefix("https://site.test"): int(depth[i]) for i in range(graph.n)}
    assert got == {"/": 0, "/a": 1, "/c": 1, "/b": 2, "/nf": -1}
    assert graph.start_nodes.tolist() == [node(graph, "/")]


def test_bfs_depth_on_plain_csr() -> None:
    ptr = np.array([0, 2, 3, 3, 4])
    targets = np.array([1, 2, 2, 0])
    assert bfs_depth(ptr, targets, [0]).tolist() == [0, 1, 1, -1]
    assert bfs_depth(ptr, targets, [3]).tolist() == [1, 2, 2, 0]
    assert bfs_depth(ptr, targets, []).tolist() == [-1, -1, -1, -1]


def test_resolve_unknown_and_by_id(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/a").page("/a")
    graph = build(tmp_path, site)
    assert graph.resolve("https://site.test/none").outcome == "unknown"
    assert graph.resolve(int(graph.node_url_id[1])).node == 1
    # Lookups normalise: tracking parameters and fragments do not matter.
    assert graph.node("https://SITE.test/a?utm_source=x#top") == 1


def test_store_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no crawl store"):
        load_graph(tmp_path / "missing")
    site = StoreBuilder()
    site.page("/", "/a").page("/a")
    path = site.build(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE edges SET packed = x'0102'")
    with pytest.raises(StoreError, match="whole number of int64"):
        load_graph(path)


def test_storebuilder_writes_link_rows(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", Link("/a", "nav", anchor="Shop"), "https://ext.test/!").page("/a")
    path = site.build(tmp_path)
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT ord, anchor, rel, followed, position, internal FROM links ORDER BY ord"
        ).fetchall()
    assert rows == [(0, "Shop", None, 1, 1, 1), (1, "", "nofollow", 0, 0, 0)]


def test_unfetched_urls_known_from_outside_are_internal_on_the_sites_hosts(
    tmp_path: Path,
) -> None:
    # Backlinks imported after the crawl (or cut off by a cap) and sitemap URLs
    # a cap left over have no page row and no link saying they are internal.
    site = StoreBuilder()
    site.page("/", "/a").page("/a")
    site.backlink("https://blog.example.com/1", "/old-product", authority=0.5)
    site.backlink("https://blog.example.com/2", "https://shop.site.test/x", authority=0.5)
    site.known("/only-in-sitemap", "sitemap")
    graph = build(tmp_path, site)
    assert graph.resolve("https://site.test/old-product").outcome == "uncrawled"
    assert graph.resolve("https://site.test/only-in-sitemap").outcome == "uncrawled"
    # Another host of the domain was not crawled: outside, as the crawl's scope said.
    assert graph.resolve("https://shop.site.test/x").outcome == "external"
