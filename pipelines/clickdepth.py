"""Exact click depth over the stored link graph.

Click depth is the breadth-first distance from the start URL(s) over
followed internal links; a redirect hop is not a level (the target of a
redirect gets the depth of the URL that redirected). Scrapy's request depth
can overshoot under concurrency, so the crawl computes the real one from the
store when it ends.

The search walks one level at a time and reads the packed ``edges`` of the
current frontier only, so memory holds one int32 per URL id, a frontier and
the redirect hops, whatever the number of links. Pure code: numpy and the
store, no Scrapy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numpy as np

from pipelines.storedb import EDGE_FLAG_FOLLOWED, EDGE_FLAG_INTERNAL, CrawlStore, unpack_edges

__all__ = ["click_depths", "write_click_depths"]

_CHUNK: Final = 900  # below SQLite's host-parameter limit
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
    frontier = np.unique(np.fromiter((i for i in start_ids if 0 <= i < size), dtype=np.int64))
    level = 0
    while frontier.size:
        frontier = frontier[depth[frontier] < 0]
        depth[frontier] = level
        # Redirect hops stay on the same level.
        hop = frontier
        reached = [frontier]
        while hop.size:
            nxt = np.unique(_hop(hop, sources, targets))
            nxt = nxt[nxt < size]
            nxt = nxt[depth[nxt] < 0]
            depth[nxt] = level
            reached.append(nxt)
            hop = nxt
        current = np.concatenate(reached)
        found: list[np.ndarray] = []
        for start in range(0, current.size, _CHUNK):
            chunk = current[start : start + _CHUNK].tolist()
            marks = ",".join("?" * len(chunk))
            for (blob,) in store.conn.execute(
                f"SELECT packed FROM edges WHERE src_id IN ({marks})", chunk
            ):
                dst, flags = unpack_edges(blob)
                found.append(dst[(flags & _WALKABLE) == _WALKABLE])
        if not found:
            break
        candidates = np.unique(np.concatenate(found))
        candidates = candidates[(candidates < size) & (candidates >= 0)]
        frontier = candidates[depth[candidates] < 0]
        level += 1
    return depth


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
        The largest depth found (-1 when no page is reachable).
    """
    ids = [store.url_id(url) for url in start_urls]
    depth = click_depths(store, (i for i in ids if i is not None))
    conn = store.conn
    conn.execute("BEGIN")
    conn.execute("UPDATE pages SET depth = NULL")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS click_depth (url_id INTEGER PRIMARY KEY, d INT)")
    conn.execute("DELETE FROM click_depth")
    reached = np.flatnonzero(depth >= 0)
    conn.executemany(
        "INSERT INTO click_depth (url_id, d) VALUES (?, ?)",
        zip(reached.tolist(), depth[reached].tolist(), strict=True),
    )
    conn.execute(
        "UPDATE pages SET depth = click_depth.d FROM click_depth "
        "WHERE click_depth.url_id = pages.url_id"
    )
    conn.execute("DROP TABLE click_depth")
    conn.execute("COMMIT")
    return int(depth.max()) if depth.size else -1
