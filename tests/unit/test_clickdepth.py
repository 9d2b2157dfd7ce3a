"""Exact click depth over the stored graph."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np

from pipelines.clickdepth import click_depths, write_click_depths
from pipelines.storedb import EDGE_FLAG_FOLLOWED, EDGE_FLAG_INTERNAL, CrawlStore, pack_edges

WALK = EDGE_FLAG_FOLLOWED | EDGE_FLAG_INTERNAL


def _store(
    tmp_path: Path, edges: dict[str, list[tuple[str, int]]], redirects: dict[str, str]
) -> CrawlStore:
    store = CrawlStore(tmp_path, create=True)
    names = set(edges) | {d for targets in edges.values() for d, _ in targets}
    names |= set(redirects) | set(redirects.values())
    ids = store.intern(f"https://s.example/{n}" for n in sorted(names))
    url = {n: ids[f"https://s.example/{n}"] for n in names}
    for name in sorted(names):
        kind = "redirect" if name in redirects else "html"
        store.conn.execute("INSERT INTO pages (url_id, kind) VALUES (?, ?)", (url[name], kind))
    for src, targets in edges.items():
        blob = pack_edges([url[d] for d, _ in targets], [f for _, f in targets])
        store.conn.execute("INSERT INTO edges VALUES (?, ?)", (url[src], blob))
    for src, dst in redirects.items():
        store.conn.execute(
            "INSERT INTO redirects (src_id, dst_id, status) VALUES (?, ?, 301)",
            (url[src], url[dst]),
        )
    return store


def _depths(store: CrawlStore) -> dict[str, int | None]:
    rows = store.conn.execute("SELECT u.url, p.depth FROM pages p JOIN urls u ON u.id = p.url_id")
    return {url.rsplit("/", 1)[1]: depth for url, depth in rows}


def test_breadth_first_over_followed_internal_links_with_free_redirect_hops(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        edges={
            "home": [
                ("a", WALK),
                ("old", WALK),
                ("nf", EDGE_FLAG_INTERNAL),
                ("ext", EDGE_FLAG_FOLLOWED),
            ],
            "a": [("b", WALK), ("home", WALK)],
            "b": [("c", WALK)],
            "new": [("d", WALK | 3)],  # position bits do not matter
            "c": [("a", WALK)],
            "island": [("a", WALK)],
        },
        redirects={"old": "new", "loop1": "loop2", "loop2": "loop1"},
    )
    assert write_click_depths(store, ["https://s.example/home"]) == 3
    assert _depths(store) == {
        "home": 0, "a": 1, "old": 1, "new": 1, "b": 2, "d": 2, "c": 3,
        "nf": None, "ext": None, "island": None, "loop1": None, "loop2": None,
    }  # fmt: skip


def test_a_delayed_meta_refresh_is_a_level_and_an_instant_one_is_not(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        edges={"home": [("moved", WALK), ("hop", WALK)], "later": [("end", WALK)]},
        redirects={"hop": "hopped"},
    )
    ids = store.intern(f"https://s.example/{n}" for n in ("moved", "later", "hop", "hopped"))
    store.conn.execute(
        "UPDATE redirects SET kind = 'meta_refresh', delay = 0, status = 200 WHERE src_id = ?",
        (ids["https://s.example/hop"],),
    )
    store.conn.execute(
        "UPDATE pages SET refresh_id = ?, refresh_delay = 5 WHERE url_id = ?",
        (ids["https://s.example/later"], ids["https://s.example/moved"]),
    )
    assert write_click_depths(store, ["https://s.example/home"]) == 3
    assert _depths(store) == {
        "home": 0, "moved": 1, "hop": 1, "hopped": 1, "later": 2, "end": 3,
    }  # fmt: skip


def test_a_delayed_meta_refresh_outside_the_site_is_not_a_level(tmp_path: Path) -> None:
    # The spider does not follow (nor record a page for) a refresh to another
    # site, as for an external link: it must not make the deepest level 2.
    store = _store(tmp_path, edges={"home": [("a", WALK)]}, redirects={})
    away = store.intern(["https://other.test/away"])["https://other.test/away"]
    ids = store.intern(["https://s.example/home", "https://s.example/a"])
    store.conn.execute(
        "UPDATE pages SET refresh_id = ?, refresh_delay = 5 WHERE url_id = ?",
        (away, ids["https://s.example/a"]),
    )
    assert write_click_depths(store, ["https://s.example/home"]) == 1
    assert click_depths(store, [ids["https://s.example/home"]])[away] == -1
    assert _depths(store) == {"home": 0, "a": 1}


def test_no_start_in_store_and_rewrites(tmp_path: Path) -> None:
    store = _store(tmp_path, edges={"x": [("y", WALK)]}, redirects={})
    assert click_depths(store, []).max() == -1
    assert write_click_depths(store, ["https://s.example/x"]) == 1
    store.conn.execute("DELETE FROM edges")
    write_click_depths(store, ["https://s.example/x"])
    assert _depths(store) == {"x": 0, "y": None}


def _random_store(tmp_path: Path, pages: int, links: int, seed: int) -> tuple[CrawlStore, dict]:
    """Page 1 links every page; every page links ``links`` random pages (and a redirect)."""
    rng = np.random.default_rng(seed)
    store = CrawlStore(tmp_path, create=True)
    store.begin()
    store.conn.executemany(
        "INSERT INTO urls (id, url) VALUES (?, ?)",
        ((i, f"https://s.example/{i}") for i in range(1, pages + 1)),
    )
    home = np.arange(2, pages // 2, dtype="<i8")
    targets = rng.integers(1, pages + 1, size=(pages, links)).astype("<i8")
    flags = np.where(rng.random((pages, links)) < 0.2, EDGE_FLAG_INTERNAL, WALK).astype("<i8")
    graph = {1: home.tolist()}
    rows = [(1, ((home << 8) | WALK).tobytes())]
    for src in range(2, pages + 1):
        row = targets[src - 1]
        rows.append((src, ((row << 8) | flags[src - 1]).tobytes()))
        graph[src] = row[flags[src - 1] == WALK].tolist()
    store.conn.executemany("INSERT INTO edges VALUES (?, ?)", rows)
    # A chain of redirects from the last pages: hops, not levels.
    redirects = {pages: pages - 1, pages - 1: pages - 2}
    store.conn.executemany(
        "INSERT INTO redirects (src_id, dst_id, status) VALUES (?, ?, 301)", redirects.items()
    )
    store.commit()
    return store, {"graph": graph, "redirects": redirects}


def _reference_depths(graph: dict, redirects: dict, start: int, size: int) -> np.ndarray:
    """Level by level in plain Python: redirect hops first (same level), then links."""
    depth = np.full(size, -1, dtype=np.int32)
    depth[start] = 0
    frontier, level = [start], 0
    while frontier:
        for node in frontier:  # grows while it is walked: chains of hops
            hop = redirects.get(node)
            if hop is not None and depth[hop] < 0:
                depth[hop] = level
                frontier.append(hop)
        reached = []
        for node in frontier:
            for target in graph.get(node, ()):
                if depth[target] < 0:
                    depth[target] = level + 1
                    reached.append(target)
        frontier, level = reached, level + 1
    return depth


def test_many_chunks_give_the_breadth_first_depths(tmp_path: Path) -> None:
    store, parts = _random_store(tmp_path, pages=3000, links=3, seed=5)
    depth = click_depths(store, [1])
    expected = _reference_depths(parts["graph"], parts["redirects"], 1, depth.size)
    assert depth.max() >= 4  # several levels, the widest over several chunks
    np.testing.assert_array_equal(depth, expected)


def test_memory_follows_the_pages_not_the_links(tmp_path: Path) -> None:
    # 20,000 pages, 1M links on one level: holding that level's links at once
    # takes 28 MB (measured before the search went chunk by chunk); a chunk
    # of links at a time, about 2.5 MB.
    store, _ = _random_store(tmp_path, pages=20_000, links=50, seed=3)
    tracemalloc.start()
    try:
        depth = click_depths(store, [1])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (depth >= 0).sum() > 19_000
    assert peak < 6_000_000, f"{peak / 1e6:.1f} MB"


def test_the_deepest_level_is_a_page_not_a_url_never_fetched(tmp_path: Path) -> None:
    # A crawl cut by its page cap: "b" was linked but never fetched (no pages row).
    store = _store(tmp_path, edges={"home": [("a", WALK)], "a": [("b", WALK)]}, redirects={})
    b = store.url_id("https://s.example/b")
    assert b is not None
    store.conn.execute("DELETE FROM pages WHERE url_id = ?", (b,))
    assert write_click_depths(store, ["https://s.example/home"]) == 1
    assert _depths(store) == {"home": 0, "a": 1}
