"""Exact click depth over the stored link graph.

Click depth is the breadth-first distance from the start URL(s) over
followed internal links; a redirect hop (3xx or instant meta refresh) is not a
level (the target of a redirect gets the depth of the URL that redirected),
and a page's delayed meta refresh to an internal URL counts as one of its
followed internal links (its target is one level below the page). Scrapy's request depth
can overshoot under concurrency, so the crawl computes the real one from the
store when it ends.

The search walks one level at a time. It reads the packed ``edges`` of the
current frontier a chunk of pages at a time and marks the targets not seen
yet at once, so what it holds is one int32 per URL id, the frontier and the
next one (URL ids, at most one per URL) and one chunk of links, whatever the
number of links on a level. Pure code: numpy and the store, no Scrapy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numpy as np

from pipelines.storedb import EDGE_FLAG_FOLLOWED, EDGE_FLAG_INTERNAL, CrawlStore, unpack_edges

__all__ = ["click_depths", "write_click_depths"]

_CHUNK: Final = 900  # below SQLite's host-parameter limit
_WRITE_SLICE: Final = 50_000
_WALKABLE: Final = EDGE_FLAG_FOLLOWED | EDGE_FLAG_INTERNAL


def _redirects(store: CrawlStore) -> tuple[np.ndarray, np.ndarray]:
    """Redirect hops as two arrays sorted by source id (few rows: no per-URL array)."""
    pairs = np.asarray(
        store.conn.execute(
            "SELECT src_id, dst_id FROM redirects WHERE dst_id IS NOT NULL ORDER BY src_id"
        ).fetchall(),
        dtype=np.int64,
    ).reshape(-1, 2)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def _delayed_refreshes(store: CrawlStore) -> tuple[np.ndarray, np.ndarray]:
    """HTML pages' delayed meta refreshes to internal URLs, sorted by page id (few rows).

    Only a target with a ``pages`` row counts: the spider decides about (and so
    records) a refresh target only when it is internal, as it does for links,
    while an external or out-of-scope target gets no row. Walking those would
    give a URL outside the site a click depth (and inflate the deepest level).
    """
    if not store.has_column("pages", "refresh_id"):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.asarray(
        store.conn.execute(
            "SELECT p.url_id, p.refresh_id FROM pages AS p"
            " WHERE p.kind = 'html' AND p.refresh_id IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM pages AS t WHERE t.url_id = p.refresh_id)"
            " ORDER BY p.url_id"
        ).fetchall(),
        dtype=np.int64,
    ).reshape(-1, 2)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def _hop(ids: np.ndarray, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Targets of the redirects among ``ids``."""
    if not sources.size or not ids.size:
        return ids[:0]
    pos = np.searchsorted(sources, ids)
    found = pos < sources.size
    found[found] = sources[pos[found]] == ids[found]
    return targets[pos[found]]


def click_depths(store: CrawlStore, start_ids: Iterable[int]) -> np.ndarray:
    """Breadth-first click depth of every URL id reachable from the start URLs.

    Parameters
    ----------
    store : CrawlStore
        An open store with ``edges`` and ``redirects`` written.
    start_ids : iterable of int
        URL ids of the start URLs (depth 0).

    Returns
    -------
    numpy.ndarray
        int32 array indexed by URL id; -1 where a URL is not reachable.
    """
    max_id = store.conn.execute("SELECT max(id) FROM urls").fetchone()[0]
    size = (max_id or 0) + 1
    depth = np.full(size, -1, dtype=np.int32)
    sources, targets = _redirects(store)
    refresh_pages, refresh_targets = _delayed_refreshes(store)
    frontier = np.unique(np.fromiter((i for i in start_ids if 0 <= i < size), dtype=np.int64))
    depth[frontier] = 0
    level = 0
    while frontier.size:
        frontier = _with_redirect_hops(frontier, depth, level, sources, targets)
        reached: list[np.ndarray] = []
        refreshed = _hop(frontier, refresh_pages, refresh_targets)
        refreshed = np.unique(refreshed[(refreshed >= 0) & (refreshed < size)])
        refreshed = refreshed[depth[refreshed] < 0]
        if refreshed.size:
            depth[refreshed] = level + 1
            reached.append(refreshed)
        for start in range(0, frontier.size, _CHUNK):
            chunk = frontier[start : start + _CHUNK].tolist()
            marks = ",".join("?" * len(chunk))
            blobs = [
                blob
                for (blob,) in store.conn.execute(
                    f"SELECT packed FROM edges WHERE src_id IN ({marks})", chunk
                )
            ]
            if not blobs:
                continue
            # One chunk of links at a time: the targets not reached yet are
            # marked now, so a level's links are never all held at once.
            dst, flags = unpack_edges(b"".join(blobs))
            del blobs
            dst = dst[((flags & _WALKABLE) == _WALKABLE) & (dst >= 0) & (dst < size)]
            new = np.unique(dst[depth[dst] < 0])
            if new.size:
                depth[new] = level + 1
                reached.append(new)
        level += 1
        frontier = np.concatenate(reached) if reached else frontier[:0]
    return depth


def _with_redirect_hops(
    frontier: np.ndarray,
    depth: np.ndarray,
    level: int,
    sources: np.ndarray,
    targets: np.ndarray,
) -> np.ndarray:
    """The frontier plus the redirect targets it leads to: a hop is not a level."""
    size = depth.size
    hop = frontier
    parts = [frontier]
    while hop.size:
        nxt = np.unique(_hop(hop, sources, targets))
        nxt = nxt[(nxt >= 0) & (nxt < size)]
        nxt = nxt[depth[nxt] < 0]
        depth[nxt] = level
        parts.append(nxt)
        hop = nxt
    return np.concatenate(parts) if len(parts) > 1 else frontier


def write_click_depths(store: CrawlStore, start_urls: Iterable[str]) -> int:
    """Compute click depths and write them to ``pages.depth``.

    Parameters
    ----------
    store : CrawlStore
    start_urls : iterable of str
        Normalised start URLs.

    Returns
    -------
    int
        The largest depth of a page (a ``pages`` row; -1 when no page is
        reachable).
    """
    ids = [store.url_id(url) for url in start_urls]
    depth = click_depths(store, (i for i in ids if i is not None))
    conn = store.conn
    conn.execute("BEGIN")
    conn.execute("UPDATE pages SET depth = NULL")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS click_depth (url_id INTEGER PRIMARY KEY, d INT)")
    conn.execute("DELETE FROM click_depth")
    reached = np.flatnonzero(depth >= 0)
    # In slices: Python ints for every URL at once would cost ~70 bytes each.
    for start in range(0, reached.size, _WRITE_SLICE):
        part = reached[start : start + _WRITE_SLICE]
        conn.executemany(
            "INSERT INTO click_depth (url_id, d) VALUES (?, ?)",
            zip(part.tolist(), depth[part].tolist(), strict=True),
        )
    conn.execute(
        "UPDATE pages SET depth = click_depth.d FROM click_depth "
        "WHERE click_depth.url_id = pages.url_id"
    )
    conn.execute("DROP TABLE click_depth")
    # The deepest *page*: a crawl cut by its page cap reaches URLs it never
    # fetched (links of its last pages), one level deeper than any page.
    (deepest,) = conn.execute("SELECT coalesce(max(depth), -1) FROM pages").fetchone()
    conn.execute("COMMIT")
    return int(deepest)
