"""Exact click depth over the stored graph."""

from __future__ import annotations

from pathlib import Path

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
        store.conn.execute("INSERT INTO redirects VALUES (?, ?, 301)", (url[src], url[dst]))
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


def test_no_start_in_store_and_rewrites(tmp_path: Path) -> None:
    store = _store(tmp_path, edges={"x": [("y", WALK)]}, redirects={})
    assert click_depths(store, []).max() == -1
    assert write_click_depths(store, ["https://s.example/x"]) == 1
    store.conn.execute("DELETE FROM edges")
    write_click_depths(store, ["https://s.example/x"])
    assert _depths(store) == {"x": 0, "y": None}
