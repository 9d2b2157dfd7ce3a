"""Load a run's crawl store into the arrays the equity model solves on.

The graph is the model's view of the site (``docs/equity.md`` has the full
rules and the reasons behind them):

* **URL resolution.** Every URL id resolves to a node or to an outcome.
  Redirect chains are followed to their end, an instant meta refresh being a
  hop like a 3xx (the crawl records it in ``redirects``); loops and unusable
  ``Location`` headers are ``loop``/``broken``. A ``rel=canonical`` on a 200 HTML page that
  points at another URL *resolving to a node* folds the page into that node;
  a canonical pointing anywhere else (an error, another site, a page the crawl
  never saw) is ignored, as search engines ignore it, and canonical cycles are
  ignored too. Resolution is vectorised pointer jumping over all URL ids.
* **Nodes** are the resolved internal HTML pages that answered 2xx and were not
  folded into another page. Their order is the order of their URL ids.
* **Links** are read in bulk from the packed ``edges`` blobs. For each node the
  links are keyed by their resolved target and parallel links merged: the
  merged link is followed if any of them is, and takes the strongest position
  among those that decide (the followed ones if any, else all). A link to the
  page itself (after resolution) is dropped: it moves no one. Each remaining
  link's share is ``w(position) / sum of w`` over the page's merged links,
  internal and external, followed or not. A page's delayed meta refresh
  (``pages.refresh_id``) is one more followed link in the content position:
  the page stays a page, and the browser is sent on after a while.
* A share **flows** when the link is followed and its target is a node;
  otherwise it **leaks**, by kind: ``nofollow``, ``external``, ``broken``
  (errors, failures, redirect loops), ``blocked`` (robots.txt, and pages the
  crawl did not see through: oversize, trap, skipped, never fetched),
  ``dead_end`` (non-HTML 200 targets such as PDFs: live documents that pass
  nothing on; and pages with no links at all).

Memory: at 50M links the graph holds about 17 bytes per internal link and 10
per leaking link, plus a few arrays per URL id. No Python object per link.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.sparse as sp

from linkspider.urlnorm import TrackingParamsError, UrlNormaliser, run_normaliser
from pipelines.storedb import (
    EDGE_FLAG_FOLLOWED,
    EDGE_FLAG_INTERNAL,
    POSITIONS,
    CrawlStore,
    StoreError,
)
from reports.config import EquityConfig

__all__ = [
    "LEAK_KINDS",
    "OUTCOMES",
    "BacklinkVotes",
    "LinkRows",
    "LoadStats",
    "Resolution",
    "SiteGraph",
    "bfs_depth",
    "click_depth",
    "load_graph",
]

#: Where a leaking share goes, in the column order of ``SiteGraph.leak_share``.
LEAK_KINDS: Final = ("nofollow", "external", "broken", "blocked", "dead_end")
NOFOLLOW, EXTERNAL, BROKEN, BLOCKED, DEAD_END = range(5)

#: What a URL resolves to, by code (``SiteGraph.url_outcome``).
OUTCOMES: Final = (
    "node",  # a crawled 200 HTML page (possibly through redirects / a canonical)
    "external",  # outside the crawl scope
    "broken",  # 4xx/5xx, failed fetch, unusable redirect
    "loop",  # redirect loop
    "blocked",  # disallowed by robots.txt
    "cutoff",  # oversize, trap or skipped by a cap: fetched or found, not seen through
    "uncrawled",  # internal but never fetched (the crawl stopped first)
    "non_html",  # a 2xx answer that is not HTML (PDF, image, ...)
)
O_NODE, O_EXTERNAL, O_BROKEN, O_LOOP, O_BLOCKED, O_CUTOFF, O_UNCRAWLED, O_NON_HTML = range(8)
_O_REDIRECT: Final = 8  # transient codes used while resolving
_O_NO_ROW: Final = 9
_NOT_A_LEAK: Final = 255

#: Leak kind of a followed link whose target resolves to each outcome.
LEAK_OF_OUTCOME: Final = np.array(
    [_NOT_A_LEAK, EXTERNAL, BROKEN, BROKEN, BLOCKED, BLOCKED, BLOCKED, DEAD_END], dtype=np.uint8
)

_POSITION_MASK: Final = 0b111
#: Position a delayed meta refresh counts in (as a link of the page).
_REFRESH_POSITION: Final = POSITIONS.index("content")
_FOLLOWED_BIT: Final = 7
_EDGE_SHIFT: Final = 8
_KIND_CODES: Final = {
    "error": O_BROKEN,
    "failed": O_BROKEN,
    "blocked": O_BLOCKED,
    "oversize": O_CUTOFF,
    "trap": O_CUTOFF,
    "skipped": O_CUTOFF,
}


@dataclass(frozen=True)
class Resolution:
    """What one URL resolves to.

    Attributes
    ----------
    url : str
        The URL asked about (normalised).
    url_id : int or None
        Its id in the store; ``None`` when the store has never seen it.
    outcome : str
        One of :data:`OUTCOMES`, or ``unknown`` for a URL not in the store.
    node : int or None
        The node it resolves to (``outcome == "node"``).
    final_url : str or None
        Where resolution ended: the node's URL, or the last URL of a chain.
    leak_kind : str or None
        The leak kind a followed link to this URL falls into, if it leaks.
    """

    url: str
    url_id: int | None
    outcome: str
    node: int | None
    final_url: str | None
    leak_kind: str | None


@dataclass(frozen=True)
class LoadStats:
    """Counts and timings from :func:`load_graph` (for the report and benchmarks)."""

    pages_by_kind: dict[str, int]
    nodes: int
    folded_by_canonical: int
    canonicals_ignored: int
    canonical_cycles: int
    redirects: int
    redirect_loops: int
    links_read: int
    links_from_nodes: int
    merged_links: int
    self_links: int
    flow_links: int
    leak_links: dict[str, int]
    dead_ends: int
    seconds: dict[str, float] = field(default_factory=dict)
    meta_refreshes: int = 0
    delayed_refreshes: int = 0


@dataclass(frozen=True, eq=False)
class BacklinkVotes:
    """Live, followed backlinks grouped by (referring domain, target URL).

    Authority is aggregated per resolved node later (by the model, because how
    unknown metrics are filled is a setting).

    Attributes
    ----------
    target_url_id : ndarray of int64
        The backlink's target URL id (before resolution).
    domain : ndarray of int32
        Index into ``domains``.
    authority : ndarray of float64
        Best known authority in [0, 1] among the rows; NaN when none is known.
    rows : ndarray of int64
        How many backlink rows the vote stands for.
    domains : tuple of str
        Referring registrable domains.
    total_rows, nofollow_rows, lost_rows : int
        All rows in the table, and those left out because they are not followed
        or no longer live.
    """

    target_url_id: np.ndarray
    domain: np.ndarray
    authority: np.ndarray
    rows: np.ndarray
    domains: tuple[str, ...]
    total_rows: int = 0
    nofollow_rows: int = 0
    lost_rows: int = 0

    @classmethod
    def empty(cls) -> BacklinkVotes:
        """No backlinks."""
        return cls(
            np.zeros(0, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.float64),
            np.zeros(0, np.int64),
            (),
        )

    def __len__(self) -> int:
        return int(self.target_url_id.size)


@dataclass(frozen=True, eq=False)
class LinkRows:
    """Merged links grouped by source page (CSR layout), flows or leaks."""

    ptr: np.ndarray  # int64 (n + 1): links of page u are ptr[u]:ptr[u+1]
    target: np.ndarray  # flows: target node (int32); leaks: target URL id (int64)
    position: np.ndarray  # uint8 position code
    kind: np.ndarray | None = None  # leaks only: uint8 index into LEAK_KINDS

    def of(self, page: int) -> slice:
        """The slice of page ``page``'s links."""
        return slice(int(self.ptr[page]), int(self.ptr[page + 1]))


@dataclass(frozen=True, eq=False)
class SiteGraph:
    """A run's link graph as arrays (see the module docstring for the rules).

    Attributes
    ----------
    urls : list of str
        Node URLs, by node index.
    node_url_id : ndarray of int64
        Store URL id of each node.
    title : list of (str or None)
        Page titles.
    depth : ndarray of int32
        Click depth recorded by the crawl; -1 when unknown.
    status : ndarray of int16
        HTTP status.
    noindex, nofollow, in_sitemap : ndarray of bool
        Robots directives of the page and whether a sitemap listed it.
    position_weights : tuple of float
        Weights the shares were computed with (``POSITIONS`` order).
    weight_total : ndarray of float64
        Sum of the weights of each page's merged links (flows and leaks).
    flows : LinkRows
        Followed links to other nodes, by source; ``target`` is a node index.
    leaks : LinkRows
        Links whose share leaks, by source; ``target`` is the resolved URL id.
    leak_share : ndarray of float64, shape (n, 5)
        Share of each page's equity-passing budget leaking by kind
        (:data:`LEAK_KINDS`); ``dead_end`` is 1 for pages with no links.
    transition : scipy.sparse.csr_array
        ``P^T``: row v, column u holds the share of u's links that flows to v.
    url_final, url_outcome : ndarray
        For every URL id: where it resolves (URL id) and the outcome code.
    node_of_url : ndarray of int32
        Node index of a URL id, -1 when the id is not itself a node.
    backlinks : BacklinkVotes
        Live followed backlinks, grouped per referring domain and target URL.
    start_nodes : ndarray of int32
        Nodes the start URLs resolve to.
    store_path : Path or None
        The store file, for looking up URLs that are not nodes.
    meta : dict
        The store's ``meta`` values (``start_urls``, ``complete``, ``priority_file``...).
    stats : LoadStats
    normaliser : UrlNormaliser
        The run's URL normaliser (its ``tracking_params``): :meth:`resolve`
        puts a URL in the form the crawl stored it with this one, so a URL
        keeps exactly the query parameters the crawl kept.
    """

    urls: list[str]
    node_url_id: np.ndarray
    title: list[str | None]
    depth: np.ndarray
    status: np.ndarray
    noindex: np.ndarray
    nofollow: np.ndarray
    in_sitemap: np.ndarray
    position_weights: tuple[float, ...]
    weight_total: np.ndarray
    flows: LinkRows
    leaks: LinkRows
    leak_share: np.ndarray
    transition: sp.csr_array
    url_final: np.ndarray
    url_outcome: np.ndarray
    node_of_url: np.ndarray
    backlinks: BacklinkVotes
    start_nodes: np.ndarray
    store_path: Path | None
    meta: dict[str, Any]
    stats: LoadStats
    normaliser: UrlNormaliser = field(repr=False)
    _resolver: _Resolver = field(repr=False)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.urls)

    @cached_property
    def in_degree(self) -> np.ndarray:
        """Number of distinct pages with a followed link to each page."""
        return np.diff(self.transition.indptr).astype(np.int64)

    @cached_property
    def _index_of_url(self) -> dict[str, int]:
        return {url: i for i, url in enumerate(self.urls)}

    def node(self, url: str) -> int | None:
        """Node index of a URL that resolves to a node (through redirects too)."""
        found = self.resolve(url)
        return found.node

    def resolve(self, url: str | int) -> Resolution:
        """Resolve a URL (or a store URL id) the way links are resolved.

        Parameters
        ----------
        url : str or int
            An absolute URL (normalised here with :attr:`normaliser`, the
            run's own) or a URL id from the store.

        Returns
        -------
        Resolution
        """
        if isinstance(url, str):
            text = self.normaliser.normalise(url) or url
            index = self._index_of_url.get(text)
            url_id: int | None = int(self.node_url_id[index]) if index is not None else None
            if url_id is None:
                url_id = self._lookup_id(text)
        else:
            url_id = int(url)
            text = self._lookup_url(url_id) or f"#{url_id}"
        if url_id is None or not 0 <= url_id < self.url_final.size:
            return Resolution(text, url_id, "unknown", None, None, None)
        final = int(self.url_final[url_id])
        code = int(self.url_outcome[url_id])
        node = int(self.node_of_url[final]) if code == O_NODE else None
        final_url = self.urls[node] if node is not None else self._lookup_url(final)
        leak = None if code == O_NODE else LEAK_KINDS[int(LEAK_OF_OUTCOME[code])]
        return Resolution(text, url_id, OUTCOMES[code], node, final_url, leak)

    def url_of_id(self, url_id: int) -> str | None:
        """The URL behind a store URL id (a node's, or any other)."""
        node = int(self.node_of_url[url_id]) if 0 <= url_id < self.node_of_url.size else -1
        return self.urls[node] if node >= 0 else self._lookup_url(url_id)

    def urls_of_ids(self, url_ids: Iterable[int]) -> dict[int, str]:
        """URLs of many store URL ids at once (one query per 900 ids)."""
        found: dict[int, str] = {}
        missing: list[int] = []
        for url_id in url_ids:
            node = int(self.node_of_url[url_id]) if 0 <= url_id < self.node_of_url.size else -1
            if node >= 0:
                found[url_id] = self.urls[node]
            else:
                missing.append(int(url_id))
        conn = self._connect() if missing else None
        if conn is not None:
            try:
                found.update(_urls_of(conn, missing))
            finally:
                conn.close()
        return found

    def shares(self, page: int) -> tuple[np.ndarray, np.ndarray]:
        """Targets (node indices) and shares of one page's flowing links."""
        rows = self.flows.of(page)
        weights = np.asarray(self.position_weights)[self.flows.position[rows]]
        return self.flows.target[rows], weights / self.weight_total[page]

    def _connect(self) -> sqlite3.Connection | None:
        if self.store_path is None or not self.store_path.is_file():
            return None
        return sqlite3.connect(f"file:{self.store_path}?mode=ro", uri=True)

    def _lookup_id(self, url: str) -> int | None:
        conn = self._connect()
        if conn is None:
            return None
        try:
            row = conn.execute("SELECT id FROM urls WHERE url=?", (url,)).fetchone()
        finally:
            conn.close()
        return None if row is None else int(row[0])

    def _lookup_url(self, url_id: int) -> str | None:
        node = int(self.node_of_url[url_id]) if 0 <= url_id < self.node_of_url.size else -1
        if node >= 0:
            return self.urls[node]
        conn = self._connect()
        if conn is None:
            return None
        try:
            row = conn.execute("SELECT url FROM urls WHERE id=?", (url_id,)).fetchone()
        finally:
            conn.close()
        return None if row is None else str(row[0])


# -- URL resolution --------------------------------------------------------


def _follow(pointer: np.ndarray, terminal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Follow pointer chains to their ends by pointer doubling.

    Returns ``(end, looped)``: the terminal each id reaches, and a mask of ids
    whose chain never reaches one (they are on or lead into a cycle).
    """
    end = pointer
    # After r rounds every chain shorter than 2**r has reached its end.
    for _ in range(max(1, int(pointer.size).bit_length()) + 1):
        if terminal[end].all():
            break
        end = end[end]
    return end, ~terminal[end]


@dataclass(frozen=True, eq=False)
class _Resolver:
    """The inputs of URL resolution, kept so what-ifs can re-resolve with extra redirects."""

    base: np.ndarray  # uint8 outcome per id before resolution (incl. _O_REDIRECT, _O_NO_ROW)
    redirect_src: np.ndarray
    redirect_dst: np.ndarray  # -1 for an unusable Location
    canonical_src: np.ndarray
    canonical_dst: np.ndarray
    no_row_outcome: np.ndarray | None = None  # outcome of ids with no page row

    def finish(self, resolved: _Resolved) -> np.ndarray:
        """Outcome per id, with chains ending at a URL without a page row classified."""
        if self.no_row_outcome is None:  # pragma: no cover - set by load_graph
            raise AssertionError("no_row_outcome is not known yet")
        outcome = resolved.outcome.copy()
        pending = outcome == _O_NO_ROW
        outcome[pending] = self.no_row_outcome[resolved.final[pending]]
        return outcome

    def resolve(
        self, extra_src: np.ndarray | None = None, extra_dst: np.ndarray | None = None
    ) -> _Resolved:
        """Resolve every URL id; ``extra_*`` add (or replace) redirect hops."""
        size = self.base.size
        ids = np.arange(size, dtype=np.int64)
        base = self.base.copy()
        pointer = ids.copy()
        src, dst = self.redirect_src, self.redirect_dst
        if extra_src is not None and extra_dst is not None:
            src = np.concatenate([src, extra_src])
            dst = np.concatenate([dst, extra_dst])
        usable = dst >= 0
        base[src] = _O_REDIRECT
        base[src[~usable]] = O_BROKEN  # a redirect without a usable Location
        pointer[src[usable]] = dst[usable]
        hard, looped = _follow(pointer, base != _O_REDIRECT)

        # Canonicals: only a 200 HTML page's canonical counts, and only when it
        # leads to another node; soft pointers are resolved among nodes.
        soft = ids.copy()
        c_src, c_dst = self.canonical_src, self.canonical_dst
        keep = base[c_src] == O_NODE
        c_src, c_dst = c_src[keep], c_dst[keep]
        target = hard[c_dst]
        usable_canonical = (~looped[c_dst]) & (base[target] == O_NODE) & (target != c_src)
        soft[c_src[usable_canonical]] = target[usable_canonical]
        ignored = int((~usable_canonical).sum())
        soft_end, cyclic = _follow(soft, soft == ids)
        cycle_members = np.zeros(0, np.int64)
        if cyclic.any():
            # Pages on a canonical cycle keep themselves (the canonicals conflict).
            cycle_members = np.unique(soft_end[cyclic])
            soft[cycle_members] = cycle_members
            soft_end, _ = _follow(soft, soft == ids)

        final = np.where(base[hard] == O_NODE, soft_end[hard], hard)
        outcome = base[hard]
        final[looped] = ids[looped]
        outcome[looped] = O_LOOP
        is_node = (base == O_NODE) & (soft_end == ids)
        folded = int(((base == O_NODE) & ~is_node).sum())
        return _Resolved(final, outcome, is_node, folded, ignored, int(cycle_members.size))


@dataclass(frozen=True, eq=False)
class _Resolved:
    final: np.ndarray  # int64 per id
    outcome: np.ndarray  # uint8 per id (_O_NO_ROW still unresolved)
    is_node: np.ndarray  # bool per id
    folded: int
    canonicals_ignored: int
    canonical_cycles: int


# -- merging and classifying links ----------------------------------------


def _weight_rank(weights: tuple[float, ...]) -> np.ndarray:
    """Rank of each position by weight (ties: the lower position code wins)."""
    order = sorted(range(len(weights)), key=lambda p: (weights[p], -p))
    rank = np.empty(len(weights), np.int64)
    rank[order] = np.arange(len(weights))
    return rank


def _strength(followed: np.ndarray, position: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """One byte that orders parallel links: followed first, then by weight."""
    return (followed.astype(np.int64) << _FOLLOWED_BIT) | (rank[position] << 3) | position


@dataclass(frozen=True)
class _Packing:
    """Bit layout that packs (source, key, strength) into one sortable int64."""

    key_bits: int

    @classmethod
    def for_sizes(cls, n_nodes: int, n_ids: int) -> _Packing:
        key_bits = max(1, int(n_ids).bit_length())
        src_bits = max(1, int(n_nodes).bit_length())
        if src_bits + key_bits + _EDGE_SHIFT > 63:
            raise StoreError(
                f"{n_nodes} pages and URL ids up to {n_ids} do not fit the link packing"
            )
        return cls(key_bits)

    def pack(self, src: np.ndarray, key: np.ndarray, strength: np.ndarray) -> np.ndarray:
        shift = self.key_bits + _EDGE_SHIFT
        return (src.astype(np.int64) << shift) | (key.astype(np.int64) << _EDGE_SHIFT) | strength

    def unpack(self, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shift = self.key_bits + _EDGE_SHIFT
        src = (packed >> shift).astype(np.int32)
        key = (packed >> _EDGE_SHIFT) & ((1 << self.key_bits) - 1)
        strength = (packed & 0xFF).astype(np.uint8)
        return src, key, strength


def _keep_strongest(packed: np.ndarray) -> np.ndarray:
    """Sort packed links and keep the strongest of each (source, key) group."""
    packed.sort()
    if packed.size == 0:
        return packed
    last = np.empty(packed.size, dtype=bool)
    # Adjacent entries with equal high bits are parallel links; sorted ascending,
    # the last of a run has the largest strength byte.
    np.not_equal((packed[1:] ^ packed[:-1]) >> _EDGE_SHIFT, 0, out=last[:-1])
    last[-1] = True
    return packed[last]


@dataclass(frozen=True, eq=False)
class _Classified:
    flow_src: np.ndarray
    flow_dst: np.ndarray
    flow_pos: np.ndarray
    leak_src: np.ndarray
    leak_key: np.ndarray
    leak_kind: np.ndarray
    leak_pos: np.ndarray
    weight_total: np.ndarray
    self_links: int


def _classify(
    src: np.ndarray,
    key: np.ndarray,
    strength: np.ndarray,
    *,
    n: int,
    node_of_url: np.ndarray,
    outcome: np.ndarray,
    weights: np.ndarray,
) -> _Classified:
    """Split merged links (sorted by source) into flows and leaks by kind."""
    target = node_of_url[key]
    self_link = target == src
    followed = (strength >> _FOLLOWED_BIT).astype(bool)
    position = strength & _POSITION_MASK
    kept = ~self_link
    flow = kept & followed & (target >= 0)
    leak = kept & ~flow
    weight = weights[position]
    weight_total = np.bincount(src[kept], weights=weight[kept], minlength=n)
    leak_kind = np.where(followed[leak], LEAK_OF_OUTCOME[outcome[key[leak]]], NOFOLLOW)
    if (leak_kind == _NOT_A_LEAK).any():  # pragma: no cover - guarded by resolution
        raise AssertionError("a followed link to a node was classified as a leak")
    return _Classified(
        flow_src=src[flow],
        flow_dst=target[flow].astype(np.int32),
        flow_pos=position[flow],
        leak_src=src[leak],
        leak_key=key[leak].astype(np.int64),
        leak_kind=leak_kind.astype(np.uint8),
        leak_pos=position[leak],
        weight_total=weight_total,
        self_links=int(self_link.sum()),
    )


def _csr_ptr(sources: np.ndarray, n: int) -> np.ndarray:
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(sources, minlength=n), out=ptr[1:])
    return ptr


def _leak_share(c: _Classified, n: int, weights: np.ndarray) -> np.ndarray:
    share = np.zeros((n, len(LEAK_KINDS)), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse_total = np.where(c.weight_total > 0, 1.0 / c.weight_total, 0.0)
    leak_weight = weights[c.leak_pos] * inverse_total[c.leak_src]
    for kind in range(len(LEAK_KINDS)):
        mask = c.leak_kind == kind
        share[:, kind] = np.bincount(c.leak_src[mask], weights=leak_weight[mask], minlength=n)
    # A page whose links carry no weight at all passes nothing on.
    share[c.weight_total <= 0, :] = 0.0
    share[c.weight_total <= 0, DEAD_END] = 1.0
    return share


def _transition(c: _Classified, n: int, weights: np.ndarray) -> sp.csr_array:
    share = weights[c.flow_pos] / c.weight_total[c.flow_src]
    matrix = sp.csr_array((share, (c.flow_dst, c.flow_src)), shape=(n, n))
    matrix.sum_duplicates()  # no duplicates after merging: this only sorts if needed
    return matrix


# -- loading ----------------------------------------------------------------


def load_graph(
    store: CrawlStore | str | Path,
    config: EquityConfig | None = None,
    *,
    batch_rows: int = 20_000,
    normaliser: UrlNormaliser | None = None,
) -> SiteGraph:
    """Load a run's store into a :class:`SiteGraph`.

    Parameters
    ----------
    store : CrawlStore, str or Path
        An open store, a store file or a run folder.
    config : EquityConfig, optional
        Only ``position_weights`` is used here; defaults to the default config.
    batch_rows : int
        Pages per batch when reading the packed edges (bounds transient memory).
    normaliser : UrlNormaliser, optional
        Puts the run's start URLs and every URL given to
        :meth:`SiteGraph.resolve` in the form the crawl stored. Default: the
        one of the tracking parameters the run recorded (meta
        ``tracking_params``), the default list for a run that recorded none.
        ``scrapy report`` passes :func:`linkspider.urlnorm.run_normaliser`,
        which falls back on ``LINKSPIDER_TRACKING_PARAMS`` instead.

    Returns
    -------
    SiteGraph

    Raises
    ------
    StoreError
        The store is missing, unreadable, or holds inconsistent data
        (a recorded ``tracking_params`` that is not a list of names too).
    """
    config = config or EquityConfig()
    if isinstance(store, CrawlStore):
        return _load(store, config.position_weights, batch_rows, normaliser)
    with CrawlStore(store) as opened:
        return _load(opened, config.position_weights, batch_rows, normaliser)


def _recorded_normaliser(store: CrawlStore) -> UrlNormaliser:
    """The normaliser of the tracking parameters the run recorded (default list if none)."""
    try:
        return run_normaliser(store.get_meta("tracking_params"), None)
    except TrackingParamsError as exc:
        raise StoreError(f"{store.path}: the run's recorded tracking_params: {exc}") from None


def _load(
    store: CrawlStore,
    weights_tuple: tuple[float, ...],
    batch_rows: int,
    normaliser: UrlNormaliser | None,
) -> SiteGraph:
    if normaliser is None:
        normaliser = _recorded_normaliser(store)
    start_urls = _start_urls(store, normaliser)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    conn = store.conn
    weights = np.asarray(weights_tuple, dtype=np.float64)
    rank = _weight_rank(weights_tuple)

    url_count, max_id = conn.execute("SELECT count(*), coalesce(max(id), 0) FROM urls").fetchone()
    size = int(max_id) + 1
    if size > 8 * int(url_count) + 1_000_000:
        raise StoreError(
            f"{store.path}: URL ids are too sparse ({url_count} URLs, max id {max_id})"
        )

    # Pages: base outcome per URL id.
    base = np.full(size, _O_NO_ROW, dtype=np.uint8)
    rows = conn.execute(
        "SELECT url_id, kind, status, canonical_id FROM pages ORDER BY url_id"
    ).fetchall()
    pages_by_kind: dict[str, int] = {}
    page_ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    if page_ids.size and (page_ids.min() < 0 or page_ids.max() >= size):
        raise StoreError(f"{store.path}: pages refer to URL ids missing from urls")
    codes = np.empty(len(rows), np.uint8)
    canonical_src: list[int] = []
    canonical_dst: list[int] = []
    for i, (url_id, kind, status, canonical_id) in enumerate(rows):
        pages_by_kind[kind] = pages_by_kind.get(kind, 0) + 1
        ok = status is not None and 200 <= status < 300
        if kind == "html":
            code = O_NODE if ok else O_BROKEN
            if ok and canonical_id is not None and canonical_id != url_id:
                canonical_src.append(url_id)
                canonical_dst.append(canonical_id)
        elif kind == "other":
            code = O_NON_HTML if ok else O_BROKEN
        elif kind == "redirect":
            code = O_BROKEN  # unless a redirects row says where it goes
        else:
            # Unknown future kinds count as not seen through rather than failing.
            code = _KIND_CODES.get(kind, O_CUTOFF)
        codes[i] = code
    base[page_ids] = codes
    del rows, codes

    # An instant meta refresh is a redirects row like a 3xx: resolved the same way.
    redirect_rows = conn.execute("SELECT src_id, coalesce(dst_id, -1) FROM redirects").fetchall()
    redirect_src = np.fromiter((r[0] for r in redirect_rows), np.int64, len(redirect_rows))
    redirect_dst = np.fromiter((r[1] for r in redirect_rows), np.int64, len(redirect_rows))
    meta_refreshes = (
        int(
            conn.execute("SELECT count(*) FROM redirects WHERE kind = 'meta_refresh'").fetchone()[0]
        )
        if store.has_column("redirects", "kind")
        else 0
    )
    refresh_src, refresh_dst = _delayed_refreshes(store)
    canonical_src_a = np.asarray(canonical_src, dtype=np.int64)
    canonical_dst_a = np.asarray(canonical_dst, dtype=np.int64)
    for name, ids in (
        ("redirects", redirect_src),
        ("redirects", redirect_dst),
        ("canonicals", canonical_dst_a),
        ("meta refreshes", refresh_dst),
    ):
        if ids.size and (ids.min() < -1 or ids.max() >= size):
            raise StoreError(f"{store.path}: {name} refer to URL ids missing from urls")
    resolver = _Resolver(base, redirect_src, redirect_dst, canonical_src_a, canonical_dst_a)
    resolved = resolver.resolve()
    node_url_id = np.flatnonzero(resolved.is_node).astype(np.int64)
    n = int(node_url_id.size)
    node_of_url = np.full(size, -1, dtype=np.int32)
    node_of_url[node_url_id] = np.arange(n, dtype=np.int32)
    seconds["resolve"] = time.perf_counter() - clock

    # Node facts, in node order.
    clock = time.perf_counter()
    urls: list[str] = []
    titles: list[str | None] = []
    depth = np.full(n, -1, dtype=np.int32)
    status = np.zeros(n, dtype=np.int16)
    noindex = np.zeros(n, dtype=bool)
    nofollow = np.zeros(n, dtype=bool)
    in_sitemap = np.zeros(n, dtype=bool)
    cursor = conn.execute(
        "SELECT p.url_id, u.url, p.title, p.depth, p.status, p.noindex, p.nofollow, p.in_sitemap "
        "FROM pages p JOIN urls u ON u.id = p.url_id WHERE p.kind = 'html' ORDER BY p.url_id"
    )
    for url_id, url, title, page_depth, page_status, page_noindex, page_nofollow, sitemap in cursor:
        node = node_of_url[url_id]
        if node < 0:
            continue
        urls.append(url)
        titles.append(title)
        if page_depth is not None:
            depth[node] = page_depth
        status[node] = page_status
        noindex[node] = bool(page_noindex)
        nofollow[node] = bool(page_nofollow)
        in_sitemap[node] = bool(sitemap)
    if len(urls) != n:
        raise StoreError(f"{store.path}: {n} nodes but {len(urls)} page rows for them")
    seconds["pages"] = time.perf_counter() - clock

    # Edges: read the packed blobs in batches, keep links of nodes, key each by
    # its resolved target, and pack (source, key, strength) for one sort.
    clock = time.perf_counter()
    total = int(conn.execute("SELECT coalesce(sum(length(packed)), 0) FROM edges").fetchone()[0])
    if total % 8:
        raise StoreError(f"{store.path}: an edges blob is not a whole number of int64 values")
    packing = _Packing.for_sizes(n, size)
    packed_links = np.empty(total // 8 + refresh_src.size, dtype=np.int64)
    seen_internal = np.zeros(size, dtype=bool)
    filled = 0
    links_read = 0
    final = resolved.final
    cursor = conn.execute("SELECT src_id, packed FROM edges")
    while batch := cursor.fetchmany(batch_rows):
        src_ids = np.fromiter((r[0] for r in batch), np.int64, len(batch))
        blobs = [r[1] for r in batch]
        lengths = np.fromiter((len(b) for b in blobs), np.int64, len(batch))
        if (lengths % 8).any():
            raise StoreError(f"{store.path}: an edges blob is not a whole number of int64 values")
        if src_ids.size and (src_ids.min() < 0 or src_ids.max() >= size):
            raise StoreError(f"{store.path}: edges refer to URL ids missing from urls")
        values = np.frombuffer(b"".join(blobs), dtype="<i8")
        del blobs, batch
        links_read += values.size
        dst = values >> _EDGE_SHIFT
        flags = values & 0xFF
        if dst.size and (dst.min() < 0 or dst.max() >= size):
            raise StoreError(f"{store.path}: edges point at URL ids missing from urls")
        seen_internal[dst[(flags & EDGE_FLAG_INTERNAL) != 0]] = True
        src = node_of_url[np.repeat(src_ids, lengths // 8)]
        keep = src >= 0
        src, dst, flags = src[keep], dst[keep], flags[keep]
        position = flags & _POSITION_MASK
        if position.size and position.max() >= len(POSITIONS):
            raise StoreError(f"{store.path}: an edge has an unknown position code")
        weighted = weights[position] > 0  # a zero-weight position is as if absent
        src, dst = src[weighted], dst[weighted]
        flags, position = flags[weighted], position[weighted]
        followed = ((flags & EDGE_FLAG_FOLLOWED) != 0) & ~nofollow[src]
        chunk = packing.pack(src, final[dst], _strength(followed, position, rank))
        packed_links[filled : filled + chunk.size] = chunk
        filled += chunk.size
    # Delayed meta refreshes: one followed content link each, merged like the others.
    src = node_of_url[refresh_src]
    keep = src >= 0
    delayed_refreshes = int(keep.sum()) if weights[_REFRESH_POSITION] > 0 else 0
    if delayed_refreshes:
        position = np.full(delayed_refreshes, _REFRESH_POSITION, dtype=np.int64)
        followed = np.ones(delayed_refreshes, dtype=bool)
        chunk = packing.pack(
            src[keep], final[refresh_dst[keep]], _strength(followed, position, rank)
        )
        packed_links[filled : filled + chunk.size] = chunk
        filled += chunk.size
    packed_links = packed_links[:filled]
    seconds["edges_read"] = time.perf_counter() - clock

    clock = time.perf_counter()
    merged = _keep_strongest(packed_links)
    del packed_links
    seconds["merge"] = time.perf_counter() - clock

    # URLs without a page row end some chains: internal (never fetched) when a
    # page links them as internal, external otherwise.
    clock = time.perf_counter()
    no_row_outcome = np.where(seen_internal, O_UNCRAWLED, O_EXTERNAL).astype(np.uint8)
    pending = resolved.outcome == _O_NO_ROW
    # No link says whether these are internal: redirect ends nobody links, and
    # URLs known only from outside the link graph (backlink targets imported
    # after the crawl or left by a cap, sitemap URLs a cap cut off).
    outside_ids = _unfetched_known_ids(conn, size)
    loose = np.concatenate([redirect_src, refresh_dst, outside_ids])
    ends = np.unique(final[loose[pending[loose]]])
    ends = ends[~seen_internal[ends]]
    if ends.size:
        # Internal when on a host of the site: a start URL's or one we fetched pages from.
        hosts = {_host(url) for url in urls} | {_host(url) for url in start_urls}
        for url_id, url in _urls_of(conn, ends.tolist()):
            if _host(url) in hosts:
                no_row_outcome[url_id] = O_UNCRAWLED
    resolver = replace(resolver, no_row_outcome=no_row_outcome)
    outcome = resolver.finish(resolved)

    src, key, strength = packing.unpack(merged)
    del merged
    classified = _classify(
        src, key, strength, n=n, node_of_url=node_of_url, outcome=outcome, weights=weights
    )
    del src, key, strength
    transition = _transition(classified, n, weights)
    leak_share = _leak_share(classified, n, weights)
    flows = LinkRows(
        _csr_ptr(classified.flow_src, n), classified.flow_dst, classified.flow_pos.astype(np.uint8)
    )
    leaks = LinkRows(
        _csr_ptr(classified.leak_src, n),
        classified.leak_key,
        classified.leak_pos.astype(np.uint8),
        classified.leak_kind,
    )
    seconds["classify"] = time.perf_counter() - clock

    clock = time.perf_counter()
    backlinks = _load_backlinks(conn)
    start_nodes = _start_nodes(store, conn, final, outcome, node_of_url, start_urls=start_urls)
    seconds["backlinks"] = time.perf_counter() - clock

    stats = LoadStats(
        pages_by_kind=pages_by_kind,
        nodes=n,
        folded_by_canonical=resolved.folded,
        canonicals_ignored=resolved.canonicals_ignored,
        canonical_cycles=resolved.canonical_cycles,
        redirects=int(redirect_src.size),
        redirect_loops=int((outcome[redirect_src] == O_LOOP).sum()),
        links_read=links_read,
        links_from_nodes=int(filled),
        merged_links=int(classified.flow_src.size + classified.leak_src.size)
        + classified.self_links,
        self_links=classified.self_links,
        flow_links=int(classified.flow_src.size),
        leak_links={
            kind: int((classified.leak_kind == i).sum()) for i, kind in enumerate(LEAK_KINDS)
        },
        dead_ends=int((classified.weight_total <= 0).sum()),
        seconds=seconds,
        meta_refreshes=meta_refreshes,
        delayed_refreshes=delayed_refreshes,
    )
    return SiteGraph(
        urls=urls,
        node_url_id=node_url_id,
        title=titles,
        depth=depth,
        status=status,
        noindex=noindex,
        nofollow=nofollow,
        in_sitemap=in_sitemap,
        position_weights=weights_tuple,
        weight_total=classified.weight_total,
        flows=flows,
        leaks=leaks,
        leak_share=leak_share,
        transition=transition,
        url_final=final,
        url_outcome=outcome,
        node_of_url=node_of_url,
        backlinks=backlinks,
        start_nodes=start_nodes,
        store_path=store.path,
        meta=store.all_meta(),
        stats=stats,
        normaliser=normaliser,
        _resolver=resolver,
    )


def _delayed_refreshes(store: CrawlStore) -> tuple[np.ndarray, np.ndarray]:
    """``(page ids, target ids)`` of HTML pages' delayed meta refreshes (few rows)."""
    if not store.has_column("pages", "refresh_id"):  # a store written before the column
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows = store.conn.execute(
        "SELECT url_id, refresh_id FROM pages WHERE kind = 'html' AND refresh_id IS NOT NULL"
    ).fetchall()
    src = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    dst = np.fromiter((r[1] for r in rows), np.int64, len(rows))
    return src, dst


def _host(url: str) -> str:
    """Host of a normalised absolute URL (``scheme://host/...``)."""
    parts = url.split("/", 3)
    return parts[2] if len(parts) > 2 else ""


def _urls_of(conn: sqlite3.Connection, ids: list[int]) -> Iterable[tuple[int, str]]:
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        for url_id, url in conn.execute(f"SELECT id, url FROM urls WHERE id IN ({marks})", chunk):
            yield int(url_id), str(url)


def _unfetched_known_ids(conn: sqlite3.Connection, size: int) -> np.ndarray:
    """Ids from ``known_urls`` and backlink targets that have no page row.

    The anti-join runs in SQLite: at a million known URLs it returns only the
    few left unfetched, several times faster than reading them all.
    """
    unfetched = "NOT IN (SELECT url_id FROM pages)"
    query = f"SELECT url_id FROM known_urls WHERE url_id {unfetched}"
    has_backlinks = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'backlinks'"
    ).fetchone()
    if has_backlinks:
        query += f" UNION SELECT target_id FROM backlinks WHERE target_id {unfetched}"
    ids = np.fromiter((row[0] for row in conn.execute(query)), dtype=np.int64)
    return ids[(ids >= 0) & (ids < size)]


def _load_backlinks(conn: sqlite3.Connection) -> BacklinkVotes:
    """Live followed backlinks, one vote per (referring domain, target URL)."""
    try:
        total, nofollow_rows, lost_rows = conn.execute(
            "SELECT count(*), coalesce(sum(followed = 0), 0), coalesce(sum(lost != 0), 0) "
            "FROM backlinks"
        ).fetchone()
    except sqlite3.OperationalError:  # a store written before the table existed
        return BacklinkVotes.empty()
    rows = conn.execute(
        "SELECT target_id, source_domain, max(authority), count(*) FROM backlinks "
        "WHERE followed = 1 AND lost = 0 GROUP BY target_id, source_domain "
        "ORDER BY target_id, source_domain"
    ).fetchall()
    if not rows:
        return replace(
            BacklinkVotes.empty(),
            total_rows=int(total),
            nofollow_rows=int(nofollow_rows),
            lost_rows=int(lost_rows),
        )
    domains = sorted({r[1] for r in rows})
    domain_index = {d: i for i, d in enumerate(domains)}
    return BacklinkVotes(
        target_url_id=np.fromiter((r[0] for r in rows), np.int64, len(rows)),
        domain=np.fromiter((domain_index[r[1]] for r in rows), np.int32, len(rows)),
        authority=np.fromiter(
            (np.nan if r[2] is None else float(r[2]) for r in rows), np.float64, len(rows)
        ),
        rows=np.fromiter((r[3] for r in rows), np.int64, len(rows)),
        domains=tuple(domains),
        total_rows=int(total),
        nofollow_rows=int(nofollow_rows),
        lost_rows=int(lost_rows),
    )


def _start_urls(store: CrawlStore, normaliser: UrlNormaliser) -> list[str]:
    """The run's start URLs (meta ``start_urls``), normalised as the crawl did."""
    start_urls = store.get_meta("start_urls") or []
    if isinstance(start_urls, str):
        start_urls = [start_urls]
    return [normaliser.normalise(url) or url for url in start_urls if isinstance(url, str)]


def _start_nodes(
    store: CrawlStore,
    conn: sqlite3.Connection,
    final: np.ndarray,
    outcome: np.ndarray,
    node_of_url: np.ndarray,
    *,
    start_urls: list[str],
) -> np.ndarray:
    """Nodes the start URLs resolve to (meta ``start_urls`` and known start URLs)."""
    ids: set[int] = set()
    for url in start_urls:
        url_id = store.url_id(url)
        if url_id is not None:
            ids.add(url_id)
    ids.update(
        int(r[0]) for r in conn.execute("SELECT url_id FROM known_urls WHERE source = 'start'")
    )
    nodes = {
        int(node_of_url[final[i]]) for i in ids if 0 <= i < final.size and outcome[i] == O_NODE
    }
    return np.asarray(sorted(nodes), dtype=np.int32)


# -- breadth-first depth ------------------------------------------------------


def bfs_depth(ptr: np.ndarray, targets: np.ndarray, sources: Iterable[int]) -> np.ndarray:
    """Breadth-first distance over a CSR adjacency, level by level, vectorised.

    Parameters
    ----------
    ptr : ndarray of int64, shape (n + 1,)
        Row pointers: the neighbours of ``u`` are ``targets[ptr[u]:ptr[u+1]]``.
    targets : ndarray of int
        Neighbour indices.
    sources : iterable of int
        Where the search starts (distance 0).

    Returns
    -------
    ndarray of int32
        Distance of every vertex; -1 for those not reached.
    """
    n = ptr.size - 1
    depth = np.full(n, -1, dtype=np.int32)
    frontier = np.unique(np.asarray(list(sources), dtype=np.int64))
    if frontier.size == 0:
        return depth
    depth[frontier] = 0
    level = 0
    while frontier.size:
        starts = ptr[frontier]
        counts = ptr[frontier + 1] - starts
        total = int(counts.sum())
        if total == 0:
            break
        # Index of every neighbour slot of the frontier, without a Python loop.
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        neighbours = targets[offsets]
        fresh = np.unique(neighbours[depth[neighbours] < 0])
        level += 1
        depth[fresh] = level
        frontier = fresh.astype(np.int64)
    return depth


def click_depth(graph: SiteGraph, start: Iterable[int] | None = None) -> np.ndarray:
    """Click depth of every node over followed internal links.

    Redirects and canonicals are already folded into their targets, so a
    redirect hop is not a level.

    Parameters
    ----------
    graph : SiteGraph
    start : iterable of int, optional
        Start nodes; defaults to ``graph.start_nodes``.

    Returns
    -------
    ndarray of int32
        -1 for nodes no followed link path reaches.
    """
    sources = graph.start_nodes if start is None else start
    return bfs_depth(graph.flows.ptr, graph.flows.target, sources)
