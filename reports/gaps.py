"""Findings: where authority is stranded, wasted, or fails to reach the priority pages.

:func:`find_gaps` reads the solved equity model and the run's store and returns
a :class:`GapReport`: plain dataclasses, one :class:`Finding` per problem, each
with a stable id (the same problem gets the same id run after run), a kind, a
severity, a one-line title, the evidence as labelled numbers, the pages
concerned and the fix in one sentence. ``docs/gaps.md`` documents every kind:
what it means, its evidence, its severity rule, its fix and its id.

Pure computation over the model's arrays; the store is read through
:mod:`pipelines.storedb` for what the model does not hold (anchors, the links
of one page, known URLs, traps). No Scrapy, Twisted or jinja2 imports.

Units: a *share* is a fraction of all the authority that entered the site
(the model's units: the budget sums to 1).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import numpy as np

from pipelines.storedb import POSITIONS, CrawlStore
from reports.equity import EquityModel, LostEquity, PriorityResult
from reports.gaps_config import GapsConfig, Severity, normalise_anchor
from reports.graph import (
    BLOCKED,
    BROKEN,
    DEAD_END,
    EXTERNAL,
    NOFOLLOW,
    O_BLOCKED,
    O_CUTOFF,
    O_EXTERNAL,
    O_LOOP,
    O_NODE,
    O_NON_HTML,
    O_UNCRAWLED,
    SiteGraph,
    bfs_depth,
)
from reports.relevance import PageMatch, TopicIndex, build_topic_index, closest_page

__all__ = [
    "KINDS",
    "AnchorCount",
    "AnchorProfile",
    "Evidence",
    "Finding",
    "FindingPage",
    "GapReport",
    "LinkRow",
    "backlink_anchors",
    "find_gaps",
    "finding_id",
    "flow_share",
    "format_share",
    "links_from",
    "links_to",
    "lost_backlink_targets",
    "open_store",
    "priority_nodes",
    "short_title",
    "suggest_redirect",
    "usual_spelling",
]

Unit = Literal["share", "count", "score", "rank", "depth", "probability", "url", "text"]
_SEVERITY_ORDER: Final = {"high": 0, "medium": 1, "low": 2}

#: Every finding kind, in report order, with the heading of its group.
KINDS: Final[dict[str, str]] = {
    "orphan": "Orphan pages",
    "buried": "Buried priority pages",
    "starved": "Starved priority pages",
    "pooling": "Authority pooling on the home page and hubs",
    "stranded": "Landing pages that strand their authority",
    "lost_backlinks": "Backlinks to dead URLs",
    "broken_link": "Broken internal links",
    "redirect_link": "Links through redirects",
    "internal_nofollow": "Internal nofollow links",
    "noindex_link": "Links to noindex and canonicalised pages",
    "dead_end": "Dead ends",
    "external_leak": "Pages leaking the most through external links",
    "vague_anchor": "Vague anchors",
    "image_no_alt": "Image links without alt text",
    "anchor_cannibalisation": "One anchor, several targets",
    "blocked_linked": "Linked pages blocked by robots.txt",
    "crawler_trap": "Suspected crawler traps",
    "oversize": "Pages cut off by size",
}


# -- result types -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """One labelled number behind a finding (``unit`` as in ``reports.view.Fact``)."""

    label: str
    value: float | int | str
    unit: Unit = "text"


@dataclass(frozen=True, slots=True)
class FindingPage:
    """A page named in a finding, with a note (an anchor, a status, a depth)."""

    url: str
    title: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, its evidence and its fix.

    Attributes
    ----------
    id : str
        Stable from run to run: ``<kind prefix>-<slug>-<hash>`` built from the
        site-relative URL (or anchor, or pattern) the finding is about.
    kind : str
        One of :data:`KINDS`.
    severity : {"high", "medium", "low"}
    title : str
        One line naming the problem.
    evidence : list of Evidence
    fix : str
        The fix, in one sentence.
    pages : list of FindingPage
        The pages concerned, most important first (cut to ``GAPS_FINDING_PAGES``).
    pages_total : int
        How many pages are concerned in all.
    equity_at_stake : float or None
        Share of all authority the problem wastes or withholds, when the model
        says.
    verdict : str
        ``"orphan"`` or ``"inconclusive"`` for orphans (inconclusive when the
        crawl stopped early); ``""`` for other kinds.
    """

    id: str
    kind: str
    severity: Severity
    title: str
    evidence: list[Evidence]
    fix: str
    pages: list[FindingPage]
    pages_total: int
    equity_at_stake: float | None = None
    verdict: str = ""


@dataclass(frozen=True, slots=True)
class AnchorCount:
    """An anchor text used for a page: ``links`` rows, from ``sources`` pages or domains."""

    anchor: str
    links: int
    sources: int
    vague: bool


@dataclass(frozen=True, slots=True)
class AnchorProfile:
    """The anchors pointing at one priority page, internal and from backlinks, side by side.

    ``internal`` counts links from crawled pages (``sources``: linking pages);
    ``backlinks`` counts live backlinks (``sources``: referring domains). Empty
    anchors are counted as ``""`` (an image without alt text, an empty link).
    """

    url: str
    title: str
    internal: list[AnchorCount]
    backlinks: list[AnchorCount]


@dataclass(frozen=True)
class GapReport:
    """Everything :func:`find_gaps` found.

    Attributes
    ----------
    findings : tuple of Finding
        Grouped by kind in :data:`KINDS` order, most important first within
        a kind; at most ``GAPS_MAX_FINDINGS`` per kind.
    totals : dict of str to int
        Findings per kind before the cut (every kind present, 0 included).
    anchor_profiles : tuple of AnchorProfile
        One per priority page (up to ``GAPS_TARGETS``).
    complete : bool
        Whether the crawl finished on its own; orphans are inconclusive otherwise.
    incomplete_reason : str
        Why not, in words (``""`` when complete).
    priority_pages : int
        Pages in the priority targets.
    seconds : dict of str to float
        Time per kind of analysis.
    """

    findings: tuple[Finding, ...]
    totals: dict[str, int]
    anchor_profiles: tuple[AnchorProfile, ...]
    complete: bool
    incomplete_reason: str
    priority_pages: int
    seconds: dict[str, float] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Finding]:
        """The findings of one kind, most important first."""
        return [f for f in self.findings if f.kind == kind]

    def by_id(self, finding_id: str) -> Finding | None:
        """The finding with that id, if any."""
        return next((f for f in self.findings if f.id == finding_id), None)

    def severity_counts(self) -> dict[str, int]:
        """Findings per severity (over the findings kept)."""
        counts = dict.fromkeys(_SEVERITY_ORDER, 0)
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts


# -- helpers shared with the recommendations --------------------------------------------


def priority_nodes(model: EquityModel) -> np.ndarray:
    """Every page of every priority target (sorted node indices, int32)."""
    parts = [r.target.nodes for r in model.priority if r.target.nodes.size]
    if not parts:
        return np.zeros(0, np.int32)
    return np.unique(np.concatenate(parts)).astype(np.int32)


def _site_key(url: str, site_host: str) -> str:
    """A URL without the site's own scheme and host, so ids survive a port change."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return path if parts.netloc == site_host else f"{parts.netloc}{path}"


def finding_id(prefix: str, key: str) -> str:
    """``prefix-slug-hash``: readable and unique for any key."""
    slug = re.sub(r"[^a-z0-9]+", "-", key.casefold()).strip("-")[:40].strip("-") or "home"
    digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{prefix}-{slug}-{digest}"


def format_share(share: float) -> str:
    """A share as a percentage with two significant digits (``0.061%``, ``25%``)."""
    value = share * 100.0
    if value >= 10:
        return f"{value:.0f}%"
    if value <= 0:
        return "0%"
    return np.format_float_positional(value, precision=2, fractional=False, trim="-") + "%"


def short_title(title: str | None) -> str:
    """A page title without its site-name suffix (``"Boots | Shop"`` -> ``"Boots"``)."""
    if not title:
        return ""
    head = re.split(r"\s+[|–—·•:-]\s+", title.strip(), maxsplit=1)[0].strip()
    return head or title.strip()


@contextmanager
def open_store(
    store: CrawlStore | str | Path | None, graph: SiteGraph
) -> Iterator[sqlite3.Connection]:
    """The store's connection: the open store given, or the graph's store file opened here."""
    if isinstance(store, CrawlStore):
        yield store.conn
        return
    path = store if store is not None else graph.store_path
    if path is None:
        raise ValueError("no store: pass the run's store (the graph was not loaded from a file)")
    with CrawlStore(path) as opened:
        yield opened.conn


def _chunks(values: Sequence[int], size: int = 900) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield [int(v) for v in values[start : start + size]]


@dataclass(frozen=True)
class LinkRow:
    """One ``<a href>`` from the store's ``links`` table."""

    src_id: int
    dst_id: int
    anchor: str
    position: str
    followed: bool
    is_image: bool


def links_to(
    conn: sqlite3.Connection, url_ids: Iterable[int], *, limit: int | None = None
) -> list[LinkRow]:
    """Internal http links whose target is one of ``url_ids`` (uses ``links_by_dst``)."""
    ids = sorted({int(i) for i in url_ids})
    rows: list[LinkRow] = []
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        query = (
            "SELECT src_id, dst_id, anchor, position, followed, is_image FROM links "
            f"WHERE dst_id IN ({marks}) AND internal = 1 AND kind = 'http'"
        )
        params: list[Any] = list(chunk)
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit - len(rows))
        for src, dst, anchor, position, followed, image in conn.execute(query, params):
            rows.append(
                LinkRow(src, dst, anchor or "", POSITIONS[position], bool(followed), bool(image))
            )
        if limit is not None and len(rows) >= limit:
            break
    return rows


def links_from(conn: sqlite3.Connection, url_id: int) -> list[LinkRow]:
    """The http links on one page, in page order."""
    return [
        LinkRow(url_id, dst, anchor or "", POSITIONS[position], bool(followed), bool(image))
        for dst, anchor, position, followed, image in conn.execute(
            "SELECT dst_id, anchor, position, followed, is_image FROM links "
            "WHERE src_id = ? AND dst_id IS NOT NULL ORDER BY ord",
            (url_id,),
        )
    ]


def flow_share(graph: SiteGraph, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Share of each source's links flowing to the matching target (0 when none).

    Looks up ``P^T`` (row = target, sorted columns = sources), one row per
    distinct target.
    """
    transition = graph.transition
    out = np.zeros(sources.size)
    if not sources.size:
        return out
    order = np.argsort(targets, kind="stable")
    sorted_targets = targets[order]
    bounds = np.flatnonzero(np.diff(sorted_targets)) + 1
    for group in np.split(order, bounds):
        v = int(targets[group[0]])
        if v < 0:
            continue
        lo, hi = int(transition.indptr[v]), int(transition.indptr[v + 1])
        columns = transition.indices[lo:hi]
        wanted = sources[group]
        position = np.searchsorted(columns, wanted)
        inside = position < columns.size
        hit = np.zeros(group.size, bool)
        hit[inside] = columns[position[inside]] == wanted[inside]
        out[group[hit]] = transition.data[lo + position[hit]]
    return out


# -- the analysis context ---------------------------------------------------------------


class _Context:
    """What every analysis needs, computed once."""

    def __init__(
        self,
        model: EquityModel,
        conn: sqlite3.Connection,
        config: GapsConfig,
        index: TopicIndex | None,
    ) -> None:
        graph = model.graph
        self.model = model
        self.graph = graph
        self.conn = conn
        self.config = config
        self._index = index
        self.n = graph.n
        self.d = model.config.damping
        self.scale = self.d / (1.0 - self.d)
        self.weights = np.asarray(graph.position_weights)
        self.priority = priority_nodes(model)
        self.is_priority = np.zeros(self.n, bool)
        self.is_priority[self.priority] = True
        self.reverse = model.reverse_vector(self.priority) if self.priority.size else None
        # What the average page passes on to the priority pages per unit of
        # authority reaching it: the yardstick for landing pages.
        self.typical_reach = 0.0
        if self.reverse is not None:
            others = self.reverse[~self.is_priority]
            self.typical_reach = float(others.mean() if others.size else self.reverse.mean())
        meta = graph.meta
        host = meta.get("site_host")
        if not isinstance(host, str) or not host:
            host = urlsplit(graph.urls[0]).netloc if graph.urls else ""
        self.site_host = host
        self.home = _home_node(graph)
        # Leaks, one row per merged leaking link: source page and the authority it carries.
        leaks = graph.leaks
        self.leak_src = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(leaks.ptr))
        assert leaks.kind is not None
        self.leak_kind = leaks.kind
        self.leak_target = leaks.target
        with np.errstate(divide="ignore", invalid="ignore"):
            share = self.weights[leaks.position] / graph.weight_total[self.leak_src]
        self.leak_amount = self.scale * model.equity[self.leak_src] * np.nan_to_num(share)
        self.outlinks = np.diff(graph.flows.ptr) + np.diff(leaks.ptr)
        # Findings left out before they were built (kept ones are counted later).
        self.dropped: dict[str, int] = defaultdict(int)

    def keep(self, kind: str, items: Any) -> Any:
        """The first ``GAPS_MAX_FINDINGS`` of ``items``; counts the rest as dropped."""
        limit = self.config.max_findings
        self.dropped[kind] += max(0, len(items) - limit)
        return items[:limit]

    @property
    def index(self) -> TopicIndex:
        if self._index is None:
            self._index = build_topic_index(self.graph, self.conn)
        return self._index

    # -- naming -------------------------------------------------------------

    def key(self, url: str) -> str:
        return _site_key(url, self.site_host)

    def id(self, prefix: str, url: str) -> str:
        return finding_id(prefix, self.key(url))

    def label(self, node: int) -> str:
        """How a title names a page: its short title, else its path."""
        return short_title(self.graph.title[node]) or self.key(self.graph.urls[node])

    def page(self, node: int, note: str = "") -> FindingPage:
        return FindingPage(self.graph.urls[node], self.graph.title[node] or "", note)

    def url_page(self, url_id: int, note: str = "") -> FindingPage:
        node = int(self.graph.node_of_url[url_id]) if url_id < self.graph.node_of_url.size else -1
        if node >= 0:
            return self.page(node, note)
        return FindingPage(self.graph.url_of_id(url_id) or f"#{url_id}", "", note)

    def url_id(self, url: str) -> int:
        """The store id of a URL (-1 when the store does not know it)."""
        found = self.graph.resolve(url).url_id
        return -1 if found is None else found

    def node_of_id(self, url_id: int) -> int:
        """The page a URL id resolves to, or -1."""
        graph = self.graph
        if not 0 <= url_id < graph.url_final.size or graph.url_outcome[url_id] != O_NODE:
            return -1
        return int(graph.node_of_url[graph.url_final[url_id]])

    def ids_resolving_to(self, final_ids: np.ndarray) -> np.ndarray:
        """Every URL id whose resolution ends at one of ``final_ids``."""
        return np.flatnonzero(np.isin(self.graph.url_final, final_ids))

    def statuses(self, url_ids: Iterable[int]) -> dict[int, tuple[str, int | None, str | None]]:
        """``url_id -> (kind, status, error)`` from the store's pages."""
        found: dict[int, tuple[str, int | None, str | None]] = {}
        for chunk in _chunks(sorted({int(i) for i in url_ids})):
            marks = ",".join("?" * len(chunk))
            for url_id, kind, status, error in self.conn.execute(
                f"SELECT url_id, kind, status, error FROM pages WHERE url_id IN ({marks})", chunk
            ):
                found[int(url_id)] = (kind, status, error)
        return found

    def cut(self, pages: list[FindingPage]) -> list[FindingPage]:
        return pages[: self.config.finding_pages]


def _home_node(graph: SiteGraph) -> int:
    """The page the first start URL resolves to (-1 when none)."""
    start_urls = graph.meta.get("start_urls") or []
    if isinstance(start_urls, list) and start_urls and isinstance(start_urls[0], str):
        found = graph.resolve(start_urls[0])
        if found.node is not None:
            return found.node
    return int(graph.start_nodes[0]) if graph.start_nodes.size else -1


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _link_to(count: int, noun: str = "page") -> str:
    """``1 page links to`` / ``3 pages link to`` (or another noun: ``1 domain links to``)."""
    return f"{count:,} {noun} links to" if count == 1 else f"{count:,} {noun}s link to"


def _anchor_note(row: LinkRow) -> str:
    text = f"“{row.anchor}”" if row.anchor else ("image without alt" if row.is_image else "no text")
    return f"{text} ({row.position}{'' if row.followed else ', nofollow'})"


# -- orphans ----------------------------------------------------------------------------


def _incomplete_reason(meta: dict[str, Any]) -> str:
    if meta.get("complete") is True:
        return ""
    caps = meta.get("caps_hit") or []
    if caps:
        limits = []
        for cap in caps:
            value = meta.get(cap)
            limits.append(f"{cap}={value}" if value is not None else str(cap))
        return "the crawl stopped at " + ", ".join(limits)
    if meta.get("fatal_error"):
        return f"the crawl failed: {meta['fatal_error']}"
    reason = meta.get("finish_reason")
    if reason and reason != "finished":
        return f"the crawl ended early ({reason})"
    if "complete" not in meta:
        return "the store does not say the crawl finished"
    return "the crawl did not finish"


def _orphans(ctx: _Context, complete: bool, reason: str) -> list[Finding]:
    graph, model = ctx.graph, ctx.model
    sources: dict[int, set[str]] = defaultdict(set)
    for url_id, source in ctx.conn.execute("SELECT url_id, source FROM known_urls"):
        sources[int(url_id)].add(str(source))
    if not sources:
        return []
    root = ctx.home
    # A page is linked when any other page links it, followed or not.
    linked = np.zeros(ctx.n, bool)
    linked[graph.flows.target] = True
    nofollow_targets = ctx.leak_target[ctx.leak_kind == NOFOLLOW]
    linked_nofollow = graph.node_of_url[nofollow_targets]
    linked[linked_nofollow[linked_nofollow >= 0]] = True
    # URLs the crawl did not see through but some page links (any link kind).
    linked_ids = np.unique(ctx.leak_target)
    hosts = {urlsplit(u).netloc for u in graph.urls}
    backlink_rows = np.zeros(ctx.n)
    votes = graph.backlinks
    if len(votes):
        targets = votes.target_url_id
        reach = graph.url_outcome[targets] == O_NODE
        nodes = graph.node_of_url[graph.url_final[targets[reach]]]
        backlink_rows += np.bincount(nodes, weights=votes.rows[reach], minlength=ctx.n)
    per_url: dict[int, tuple[int, int]] = {}
    if not complete:
        for url_id, domains, rows in ctx.conn.execute(
            "SELECT target_id, count(DISTINCT source_domain), count(*) FROM backlinks "
            "WHERE followed = 1 AND lost = 0 GROUP BY target_id"
        ):
            per_url[int(url_id)] = (int(domains), int(rows))

    # Candidates: live pages no page links (grouped by page), and, when the crawl
    # stopped early, known internal URLs it never saw through.
    by_node: dict[int, set[str]] = defaultdict(set)
    unseen: dict[int, set[str]] = {}
    for url_id, known in sources.items():
        if not 0 <= url_id < graph.url_outcome.size:
            continue
        outcome = int(graph.url_outcome[url_id])
        if outcome == O_NODE:
            node = int(graph.node_of_url[graph.url_final[url_id]])
            if node != root and not linked[node]:
                by_node[node].update(known)
        elif not complete and outcome in (O_UNCRAWLED, O_CUTOFF, O_EXTERNAL) and known - {"start"}:
            # Known, on a crawled host, never seen through: it may be linked from
            # the pages the crawl did not reach.
            url = graph.url_of_id(url_id)
            final = int(graph.url_final[url_id])
            linked_unseen = bool(np.isin([url_id, final], linked_ids).any())
            if url is not None and urlsplit(url).netloc in hosts and not linked_unseen:
                unseen[url_id] = known
    findings: list[tuple[tuple[Any, ...], Finding]] = []
    verdict = "orphan" if complete else "inconclusive"
    for node, known in by_node.items():
        url = graph.urls[node]
        domains = int(model.referring_domains[node])
        rows = int(backlink_rows[node])
        entering = float(model.beta * model.backlink_deposit[node])
        findings.append(
            (
                (-int(domains > 0), -domains, -entering, url),
                _orphan_finding(
                    ctx,
                    url,
                    node=node,
                    known=known,
                    domains=domains,
                    rows=rows,
                    entering=entering,
                    verdict=verdict,
                    reason=reason,
                ),
            )
        )
    for url_id, known in unseen.items():
        url = graph.url_of_id(url_id) or f"#{url_id}"
        domains, rows = per_url.get(url_id, (0, 0))
        findings.append(
            (
                (-int(domains > 0), -domains, 0.0, url),
                _orphan_finding(
                    ctx,
                    url,
                    node=None,
                    known=known,
                    domains=domains,
                    rows=rows,
                    entering=0.0,
                    verdict=verdict,
                    reason=reason,
                ),
            )
        )
    findings.sort(key=lambda item: item[0])
    return [f for _, f in findings]


_SOURCE_NAMES: Final = {
    "sitemap": "sitemap",
    "backlink": "backlinks",
    "list": "URL list",
    "start": "start URLs",
}


def _orphan_finding(
    ctx: _Context,
    url: str,
    *,
    node: int | None,
    known: set[str],
    domains: int,
    rows: int,
    entering: float,
    verdict: str,
    reason: str,
) -> Finding:
    label = ctx.label(node) if node is not None else ctx.key(url)
    known_from = ", ".join(_SOURCE_NAMES.get(s, s) for s in sorted(known))
    evidence = [Evidence("Known from", known_from, "text")]
    if domains:
        evidence += [
            Evidence("Referring domains", domains, "count"),
            Evidence("Backlinks", rows, "count"),
        ]
    if node is not None and entering > 0:
        evidence.append(Evidence("Authority entering from backlinks", entering, "share"))
    if node is not None:
        evidence.append(Evidence("Equity", float(ctx.model.equity[node]), "share"))
    if verdict == "inconclusive":
        crawled = "crawled" if node is not None else "not crawled"
        title = (
            f"{label} is linked from none of the pages crawled, but {reason}: "
            "orphan status inconclusive"
        )
        fix = (
            "Crawl the whole site (raise max_pages or fix what stopped the crawl) before "
            "acting: the pages not crawled may link to it."
        )
        severity: Severity = "low"
        note = f"{crawled}; known from {known_from}"
    else:
        title = f"{label} is linked from no crawled page"
        if domains:
            title += f" although {_link_to(domains, 'referring domain')} it"
            fix = (
                "Link to it from a related page's body text so the authority its backlinks "
                "bring joins the site's routes, or redirect it to its closest live page if it "
                "is obsolete."
            )
            severity = "high"
        else:
            fix = (
                "Link to it from a related page, or drop it from the "
                f"{known_from} if it is obsolete."
            )
            severity = "medium"
        note = f"known from {known_from}"
    page = ctx.page(node, note) if node is not None else FindingPage(url, "", note)
    return Finding(
        id=ctx.id("orphan", url),
        kind="orphan",
        severity=severity,
        title=title,
        evidence=evidence,
        fix=fix,
        pages=[page],
        pages_total=1,
        equity_at_stake=entering if entering > 0 else None,
        verdict=verdict,
    )


# -- priority pages: buried and starved -------------------------------------------------


def _bfs_parents(graph: SiteGraph) -> np.ndarray:
    """A breadth-first parent of every page from the start pages (-1: start or unreached)."""
    ptr, targets = graph.flows.ptr, graph.flows.target
    parent = np.full(graph.n, -1, dtype=np.int64)
    seen = np.zeros(graph.n, bool)
    frontier = np.unique(graph.start_nodes.astype(np.int64))
    seen[frontier] = True
    while frontier.size:
        starts = ptr[frontier]
        counts = ptr[frontier + 1] - starts
        total = int(counts.sum())
        if not total:
            break
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        neighbours = targets[offsets].astype(np.int64)
        origin = np.repeat(frontier, counts)
        fresh = ~seen[neighbours]
        neighbours, origin = neighbours[fresh], origin[fresh]
        reached, first = np.unique(neighbours, return_index=True)
        parent[reached] = origin[first]
        seen[reached] = True
        frontier = reached
    return parent


def _link_note(ctx: _Context, u: int, v: int) -> str:
    """The anchor and position of the strongest link from page ``u`` to page ``v``."""
    best: LinkRow | None = None
    for row in links_from(ctx.conn, int(ctx.graph.node_url_id[u])):
        if ctx.node_of_id(row.dst_id) != v:
            continue
        rank = (row.followed, ctx.weights[POSITIONS.index(row.position)])
        if best is None or rank > (best.followed, ctx.weights[POSITIONS.index(best.position)]):
            best = row
    return _anchor_note(best) if best is not None else ""


def _target_key(ctx: _Context, result: PriorityResult) -> str:
    """What a priority target's finding ids are built from, without the site's host."""
    target = result.target
    if target.kind == "url" and target.nodes.size == 1:
        return ctx.key(ctx.graph.urls[int(target.nodes[0])])
    # A glob over whole URLs names the site's own origin: drop it (a port may change).
    label = target.label
    for scheme in ("https://", "http://"):
        label = label.replace(scheme + ctx.site_host, "")
    return label


def _buried(ctx: _Context) -> list[Finding]:
    graph, threshold = ctx.graph, ctx.config.depth_threshold
    bfs = bfs_depth(graph.flows.ptr, graph.flows.target, graph.start_nodes)
    depth = np.where(graph.depth >= 0, graph.depth, bfs)
    parent: np.ndarray | None = None
    findings = []
    for result in ctx.model.priority:
        nodes = result.target.nodes
        if not nodes.size:
            continue
        page_depth = depth[nodes]
        buried = nodes[(page_depth > threshold) | (page_depth < 0)]
        if not buried.size:
            continue
        if parent is None:
            parent = _bfs_parents(graph)
        # Deepest (unreachable first), then by URL order.
        order = np.lexsort((buried, -np.where(depth[buried] < 0, 1 << 30, depth[buried])))
        buried = buried[order]
        unreachable = bool((depth[buried] < 0).any())
        deepest = int(depth[buried[0]])
        severity: Severity = "high" if unreachable or deepest > 2 * threshold else "medium"
        evidence = [Evidence("Threshold", threshold, "depth")]
        if nodes.size == 1:
            node = int(buried[0])
            label = ctx.label(node)
            pages, route_text = _route_pages(ctx, parent, node, depth)
            if deepest < 0:
                title = f"{label} cannot be reached by following links from the start page"
            else:
                title = f"{label} is {deepest} clicks deep"
                evidence.insert(0, Evidence("Click depth", deepest, "depth"))
            if route_text:
                evidence.append(Evidence("Shortest route", route_text, "text"))
            total = len(pages)
        else:
            label = _target_key(ctx, result)  # the pattern without the site's own origin
            title = (
                f"{len(buried):,} of {nodes.size:,} pages of {label} are more than "
                f"{threshold} clicks deep"
            )
            evidence.insert(0, Evidence("Pages buried", int(buried.size), "count"))
            if deepest >= 0:
                evidence.insert(1, Evidence("Deepest", deepest, "depth"))
            pages = [
                ctx.page(int(v), "not reachable" if depth[v] < 0 else f"depth {depth[v]}")
                for v in buried[: ctx.config.finding_pages]
            ]
            total = int(buried.size)
        findings.append(
            Finding(
                id=finding_id("buried", _target_key(ctx, result)),
                kind="buried",
                severity=severity,
                title=title,
                evidence=evidence,
                fix=(
                    "Link to it from the home page or a page one or two clicks from it (a "
                    f"category, a popular guide) so it is at most {threshold} clicks deep."
                ),
                pages=ctx.cut(pages),
                pages_total=total,
            )
        )
    return findings


def _route_pages(
    ctx: _Context, parent: np.ndarray, node: int, depth: np.ndarray
) -> tuple[list[FindingPage], str]:
    """The shortest click route to ``node`` as pages (with the link taken) and as text."""
    if depth[node] < 0 or (parent[node] < 0 and node not in set(ctx.graph.start_nodes.tolist())):
        return [ctx.page(node, "not reachable by links")], ""
    path = [node]
    while parent[path[-1]] >= 0 and len(path) <= ctx.n:
        path.append(int(parent[path[-1]]))
    path.reverse()
    pages = []
    for i, page in enumerate(path):
        note = f"depth {i}"
        if i + 1 < len(path):
            link = _link_note(ctx, page, path[i + 1])
            note += f", then {link}" if link else ""
        pages.append(ctx.page(page, note))
    text = " › ".join(ctx.label(p) for p in path)
    return pages, text


def _percentile(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Fraction of all values strictly below each of ``at``."""
    ordered = np.sort(values)
    return np.searchsorted(ordered, at, side="left") / max(values.size, 1)


def _starved(ctx: _Context) -> list[Finding]:
    graph, model, cut = ctx.graph, ctx.model, ctx.config.starved_percentile
    if not ctx.priority.size:
        return []
    flows = graph.flows
    by_position = np.bincount(
        flows.target.astype(np.int64) * len(POSITIONS) + flows.position,
        minlength=ctx.n * len(POSITIONS),
    ).reshape(ctx.n, len(POSITIONS))
    contextual = by_position[:, POSITIONS.index("content")]
    inlinks = graph.in_degree
    findings = []
    for result in model.priority:
        nodes = result.target.nodes
        if not nodes.size:
            continue
        equity_pct = _percentile(model.equity, model.equity[nodes])
        inlink_pct = _percentile(inlinks.astype(np.float64), inlinks[nodes].astype(np.float64))
        low_equity = equity_pct < cut
        low_inlinks = inlink_pct < cut
        # Nobody links the home page from their text: templates are how it is reached.
        no_context = (contextual[nodes] == 0) & (nodes != ctx.home)
        starved = low_equity | low_inlinks | no_context
        if not starved.any():
            continue
        chosen = nodes[starved]
        order = np.lexsort((chosen, model.equity[chosen]))
        chosen = chosen[order]
        flags = {
            int(v): (bool(e), bool(i), bool(c))
            for v, e, i, c in zip(nodes, low_equity, low_inlinks, no_context, strict=True)
        }
        severity: Severity = "high" if any(flags[int(v)][0] for v in chosen) else "medium"
        first = int(chosen[0])
        eq_flag, in_flag, ctx_flag = flags[first]
        pct = round(cut * 100)
        if nodes.size == 1:
            label = ctx.label(first)
            if eq_flag:
                title = (
                    f"{label} holds only {format_share(float(model.equity[first]))} of all "
                    f"authority (bottom {pct}% of pages)"
                )
            elif in_flag:
                title = f"{label} has only {_plural(int(inlinks[first]), 'internal inlink')}"
            else:
                title = f"{label} is linked only from navigation, header, footer or sidebars"
            if ctx_flag and (eq_flag or in_flag):
                title += ", none of them from page content"
        else:
            pattern = _target_key(ctx, result)  # without the site's own origin
            title = (
                f"{len(chosen):,} of {nodes.size:,} pages of {pattern} are starved "
                "of authority or contextual links"
            )
        template = int(by_position[first].sum() - contextual[first])
        evidence = [
            Evidence("Equity", float(model.equity[first]), "share"),
            Evidence("Rank", int(model.rank[first]), "rank"),
            Evidence("Pages with less equity", float(equity_pct[nodes == first][0]), "share"),
            Evidence("Internal inlinks", int(inlinks[first]), "count"),
            Evidence("Contextual inlinks", int(contextual[first]), "count"),
            Evidence("Navigation, footer and sidebar inlinks", template, "count"),
        ]
        if nodes.size > 1:
            evidence.insert(0, Evidence("Pages starved", int(chosen.size), "count"))
        pages = []
        for v in chosen[: ctx.config.finding_pages]:
            reasons = [
                text
                for text, on in zip(
                    (f"bottom {pct}% by equity", f"bottom {pct}% by inlinks", "no contextual link"),
                    flags[int(v)],
                    strict=True,
                )
                if on
            ]
            pages.append(ctx.page(int(v), "; ".join(reasons)))
        findings.append(
            Finding(
                id=finding_id("starved", _target_key(ctx, result)),
                kind="starved",
                severity=severity,
                title=title,
                evidence=evidence,
                fix=(
                    "Add links to it from the body text of relevant pages that hold authority "
                    "(see the recommended links)."
                ),
                pages=pages,
                pages_total=int(chosen.size),
            )
        )
    return findings


# -- where backlink authority lands: pooling and stranded -------------------------------


def _pooling(ctx: _Context) -> list[Finding]:
    """The home page's share of backlink authority, and where that authority goes."""
    model, config, home = ctx.model, ctx.config, ctx.home
    share = model.backlink_deposit
    if model.beta <= 0 or home < 0 or share[home] < config.pooling_share:
        return []
    entering = float(model.beta * share[home])
    kept = float(model.reverse_vector([home])[home])
    anywhere = float(model.reverse_vector(np.arange(ctx.n))[home])
    to_priority = float(ctx.reverse[home]) if ctx.reverse is not None else 0.0
    others = max(0.0, anywhere - kept - (0.0 if ctx.is_priority[home] else to_priority))
    hubs = np.flatnonzero(share > 0)
    hubs = hubs[hubs != home]
    hubs = hubs[np.lexsort((hubs, -share[hubs]))][: config.pooling_hubs]
    pooled = float(share[home] + share[hubs].sum())
    title = f"The home page receives {format_share(float(share[home]))} of all backlink authority"
    evidence = [
        Evidence("Share of all backlink authority", float(share[home]), "share"),
        Evidence(f"With the next {hubs.size} landing pages", pooled, "share"),
        Evidence("Authority entering from backlinks", entering, "share"),
        Evidence("Referring domains", int(model.referring_domains[home]), "count"),
        Evidence("Of it, kept by the home page", entering * kept, "share"),
    ]
    at_stake: float | None = None
    severity: Severity = "low"
    if ctx.reverse is not None:
        average = ctx.typical_reach
        title += (
            f"; {format_share(to_priority)} of it reaches priority pages "
            f"(the average page passes on {format_share(average)})"
        )
        evidence.append(Evidence("Of it, reaching priority pages", entering * to_priority, "share"))
        if to_priority < average:
            at_stake = entering * (average - to_priority)
            below = to_priority < config.stranded_ratio * average
            severity = "high" if below and share[home] >= 0.5 else ("medium" if below else "low")
    evidence += [
        Evidence("Of it, held by other pages", entering * others, "share"),
        Evidence("Of it, leaked", entering * max(0.0, 1.0 - anywhere), "share"),
    ]
    pages = [ctx.page(home, f"{format_share(float(share[home]))} of backlink authority")]
    pages += [
        ctx.page(int(h), f"{format_share(float(share[h]))} of backlink authority") for h in hubs
    ]
    return [
        Finding(
            id=ctx.id("pooling", ctx.graph.urls[home]),
            kind="pooling",
            severity=severity,
            title=title,
            evidence=evidence,
            fix=(
                "Link from the home page's main content to the priority pages (and trim the "
                "links that leak) so the authority it receives reaches them."
            ),
            pages=pages,
            pages_total=len(pages),
            equity_at_stake=at_stake,
        )
    ]


def _stranded(ctx: _Context) -> list[Finding]:
    model, config = ctx.model, ctx.config
    if ctx.reverse is None or model.beta <= 0:
        return []
    share = model.backlink_deposit
    average = ctx.typical_reach
    landing = np.flatnonzero((share >= config.landing_min_share) & (share > 0) & ~ctx.is_priority)
    landing = landing[landing != ctx.home]  # the home page has its own finding (pooling)
    if not landing.size:
        return []
    reach = ctx.reverse[landing]
    stranded = landing[reach < config.stranded_ratio * average]
    if not stranded.size:
        return []
    # Authority stranded: what enters, times how far the page falls short of the
    # average page at passing it on to the priority pages (all of it at 0).
    amount = model.beta * share[stranded] * (1.0 - ctx.reverse[stranded] / average)
    order = np.lexsort((stranded, -amount))
    graph = ctx.graph
    content = POSITIONS.index("content")
    src = np.repeat(np.arange(ctx.n), np.diff(graph.flows.ptr))
    mask = ctx.is_priority[graph.flows.target] & (graph.flows.position == content)
    contextual_to_priority = np.bincount(src[mask], minlength=ctx.n)
    findings = []
    for i in order.tolist():
        page = int(stranded[i])
        entering = float(model.beta * share[page])
        fraction = float(ctx.reverse[page])
        findings.append(
            Finding(
                id=ctx.id("stranded", graph.urls[page]),
                kind="stranded",
                severity=config.severity(float(amount[i])),
                title=(
                    f"{ctx.label(page)} receives {format_share(entering)} of all authority and "
                    f"passes {format_share(fraction)} of it on to priority pages (the average "
                    f"page passes on {format_share(average)})"
                ),
                evidence=[
                    Evidence("Authority entering from backlinks", entering, "share"),
                    Evidence("Of it, reaching priority pages", entering * fraction, "share"),
                    Evidence("Authority stranded", float(amount[i]), "share"),
                    Evidence("Referring domains", int(model.referring_domains[page]), "count"),
                    Evidence("Outgoing links", int(ctx.outlinks[page]), "count"),
                    Evidence(
                        "Contextual links to priority pages",
                        int(contextual_to_priority[page]),
                        "count",
                    ),
                ],
                fix=(
                    "Add links from its body text to the priority pages it is relevant to "
                    "(see the recommended links)."
                ),
                pages=[
                    ctx.page(page, _plural(int(model.referring_domains[page]), "referring domain"))
                ],
                pages_total=1,
                equity_at_stake=float(amount[i]),
            )
        )
    return findings


# -- leaks ------------------------------------------------------------------------------


def _grouped(keys: np.ndarray, amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique keys, the sum of ``amounts`` and the row count per key (largest sum first)."""
    if not keys.size:
        empty = np.zeros(0)
        return keys, empty, empty.astype(np.int64)
    unique, inverse = np.unique(keys, return_inverse=True)
    total = np.bincount(inverse, weights=amounts)
    count = np.bincount(inverse)
    order = np.lexsort((unique, -total))
    return unique[order], total[order], count[order]


def _rows_by_target(ctx: _Context, mask: np.ndarray) -> dict[int, np.ndarray]:
    """Indices of the leak rows selected by ``mask``, grouped by their target URL id."""
    rows = np.flatnonzero(mask)
    if not rows.size:
        return {}
    rows = rows[np.argsort(ctx.leak_target[rows], kind="stable")]
    targets = ctx.leak_target[rows]
    cuts = np.flatnonzero(np.diff(targets)) + 1
    starts = np.concatenate([[0], cuts]).tolist()
    stops = np.concatenate([cuts, [rows.size]]).tolist()
    return {
        int(targets[start]): rows[start:stop] for start, stop in zip(starts, stops, strict=True)
    }


def _source_pages(
    ctx: _Context, rows: list[LinkRow], amount_of: dict[int, float]
) -> list[FindingPage]:
    """Linking pages with their anchors, the ones carrying the most first."""
    notes: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        node = (
            int(ctx.graph.node_of_url[row.src_id])
            if row.src_id < ctx.graph.node_of_url.size
            else -1
        )
        if node >= 0:
            note = _anchor_note(row)
            if note not in notes[node]:
                notes[node].append(note)
    ordered = sorted(notes, key=lambda v: (-amount_of.get(v, 0.0), v))
    return [ctx.page(v, "; ".join(notes[v][:3])) for v in ordered]


def _target_rows(ctx: _Context, targets: np.ndarray) -> dict[int, list[LinkRow]]:
    """Links to URLs that end at each of ``targets`` (final URL ids), by target."""
    if not targets.size:
        return {}
    ids = ctx.ids_resolving_to(targets)
    final = ctx.graph.url_final
    out: dict[int, list[LinkRow]] = defaultdict(list)
    for row in links_to(ctx.conn, ids.tolist()):
        out[int(final[row.dst_id])].append(row)
    return out


def _broken_links(ctx: _Context) -> list[Finding]:
    graph, config = ctx.graph, ctx.config
    mask = ctx.leak_kind == BROKEN
    targets, wasted, _ = _grouped(ctx.leak_target[mask], ctx.leak_amount[mask])
    targets, wasted = ctx.keep("broken_link", targets), wasted[: config.max_findings]
    if not targets.size:
        return []
    leak_rows = _rows_by_target(ctx, mask)
    rows_by_target = _target_rows(ctx, targets)
    status = ctx.statuses(targets.tolist())
    findings = []
    for target, lost in zip(targets.tolist(), wasted.tolist(), strict=True):
        url = graph.url_of_id(target) or f"#{target}"
        path = ctx.key(url)
        hit = leak_rows[target]
        amount_of = dict(
            zip(ctx.leak_src[hit].tolist(), ctx.leak_amount[hit].tolist(), strict=True)
        )
        rows = rows_by_target.get(target, [])
        pages = _source_pages(ctx, rows, amount_of)
        if not pages:
            pages = [ctx.page(int(v)) for v in sorted(amount_of, key=lambda v: -amount_of[v])]
        _kind, code, _error = status.get(target, ("", None, None))
        if graph.url_outcome[target] == O_LOOP:
            what = "a redirect loop"
        elif code:
            what = f"HTTP {code}"
        else:
            what = "no answer"
        match = closest_page(ctx.index, graph, url)
        evidence = [
            Evidence("Broken URL", url, "url"),
            Evidence("Linking pages", len(amount_of), "count"),
            Evidence("Links", max(len(rows), len(amount_of)), "count"),
            Evidence("Authority wasted", float(lost), "share"),
            Evidence("Answer", what, "text"),
        ]
        if match is not None:
            evidence.append(Evidence("Closest live page", graph.urls[match.node], "url"))
            fix = (
                f"Point these links at {ctx.key(graph.urls[match.node])} (the closest live "
                f"page), or restore {path}."
            )
        else:
            fix = f"Remove these links or restore {path}."
        findings.append(
            Finding(
                id=finding_id("broken-link", path),
                kind="broken_link",
                severity=config.severity(float(lost)),
                title=f"{_link_to(len(amount_of))} {path} ({what})",
                evidence=evidence,
                fix=fix,
                pages=ctx.cut(pages),
                pages_total=len(pages),
                equity_at_stake=float(lost),
            )
        )
    return findings


def _redirect_hops(conn: sqlite3.Connection) -> tuple[dict[int, int], set[int]]:
    """Every hop (source -> target id, -1 when unusable), and the meta refresh sources."""
    hops = {
        int(s): (-1 if d is None else int(d))
        for s, d in conn.execute("SELECT src_id, dst_id FROM redirects")
    }
    columns = {row[1] for row in conn.execute("PRAGMA table_info(redirects)")}
    refreshes: set[int] = set()
    if "kind" in columns:  # a store written before meta refreshes has none
        refreshes = {
            int(s) for (s,) in conn.execute("SELECT src_id FROM redirects WHERE kind != 'http'")
        }
    return hops, refreshes


def _redirect_links(ctx: _Context) -> list[Finding]:
    graph, config = ctx.graph, ctx.config
    hops_of, refreshes = _redirect_hops(ctx.conn)
    if not hops_of:
        return []
    redirecting = np.asarray(sorted(hops_of), dtype=np.int64)
    redirecting = redirecting[graph.url_outcome[redirecting] == O_NODE]
    by_url: dict[int, list[LinkRow]] = defaultdict(list)
    for row in links_to(ctx.conn, redirecting.tolist()):
        if graph.node_of_url[row.src_id] >= 0:
            by_url[row.dst_id].append(row)
    scored = []
    for url_id, rows in by_url.items():
        # Each page's strongest link to the redirecting URL carries its share.
        best: dict[int, float] = {}
        for row in rows:
            u = int(graph.node_of_url[row.src_id])
            if u < 0 or not row.followed or graph.nofollow[u]:
                continue
            weight = float(ctx.weights[POSITIONS.index(row.position)])
            best[u] = max(best.get(u, 0.0), weight)
        amount_of = {
            u: ctx.scale * float(ctx.model.equity[u]) * w / float(graph.weight_total[u])
            for u, w in best.items()
            if graph.weight_total[u] > 0
        }
        scored.append((sum(amount_of.values()), url_id, rows, amount_of))
    scored.sort(key=lambda item: (-item[0], item[1]))
    findings = []
    for carried, url_id, rows, amount_of in ctx.keep("redirect_link", scored):
        hops, current, seen = 0, url_id, set()
        while current in hops_of and current not in seen and hops < 50:
            seen.add(current)
            current = hops_of[current]
            hops += 1
        meta_refreshes = len(seen & refreshes)
        final = ctx.node_of_id(url_id)
        url = graph.url_of_id(url_id) or f"#{url_id}"
        path, final_path = ctx.key(url), ctx.key(graph.urls[final])
        pages = _source_pages(ctx, rows, amount_of)
        linking = len({r.src_id for r in rows})
        severity: Severity = "medium" if hops > 1 or carried >= config.high_share else "low"
        title = f"{_link_to(linking)} {path}, which redirects to {final_path}"
        if hops > 1:
            title += f" through {hops} hops"
        evidence = [
            Evidence("Linking pages", linking, "count"),
            Evidence("Redirect hops", hops, "count"),
            Evidence("Authority through the redirect", carried, "share"),
            Evidence("Link instead to", graph.urls[final], "url"),
        ]
        fix = f"Change these links to point at {final_path} directly."
        if meta_refreshes:
            if hops == 1:
                title += " (an HTML meta refresh)"
            elif meta_refreshes == 1:
                title += " (one of them an HTML meta refresh)"
            else:
                title += f" ({meta_refreshes} of them HTML meta refreshes)"
            evidence.insert(2, Evidence("Meta refresh hops", meta_refreshes, "count"))
            fix += (
                " A server-side 301 serves visitors and search engines better than a meta refresh."
            )
        findings.append(
            Finding(
                id=finding_id("redirect-link", path),
                kind="redirect_link",
                severity=severity,
                title=title,
                evidence=evidence,
                fix=fix,
                pages=ctx.cut(pages),
                pages_total=len(pages),
            )
        )
    return findings


def _nofollow(ctx: _Context) -> list[Finding]:
    graph, config = ctx.graph, ctx.config
    internal = graph.url_outcome[ctx.leak_target] != O_EXTERNAL
    mask = (ctx.leak_kind == NOFOLLOW) & internal
    page_level = graph.nofollow[ctx.leak_src]
    findings: list[tuple[float, Finding]] = []
    # Pages whose robots meta says nofollow: every link evaporates.
    pages = np.flatnonzero(graph.nofollow)
    if pages.size:
        lost_by_page = np.bincount(
            ctx.leak_src[ctx.leak_kind == NOFOLLOW],
            weights=ctx.leak_amount[ctx.leak_kind == NOFOLLOW],
            minlength=ctx.n,
        )
        for page in pages.tolist():
            lost = float(lost_by_page[page])
            findings.append(
                (
                    lost,
                    Finding(
                        id=ctx.id("nofollow-page", graph.urls[page]),
                        kind="internal_nofollow",
                        severity=config.severity(lost),
                        title=(
                            f"{ctx.label(page)} has a nofollow robots directive: its "
                            f"{_plural(int(ctx.outlinks[page]), 'link')} pass nothing on"
                        ),
                        evidence=[
                            Evidence("Links", int(ctx.outlinks[page]), "count"),
                            Evidence("Authority evaporated", lost, "share"),
                        ],
                        fix=(
                            "Remove nofollow from the page's robots meta tag (or X-Robots-Tag) "
                            "unless none of its links should count."
                        ),
                        pages=[ctx.page(page, "meta robots nofollow")],
                        pages_total=1,
                        equity_at_stake=lost,
                    ),
                )
            )
    rel = mask & ~page_level
    targets, lost_total, counts = _grouped(ctx.leak_target[rel], ctx.leak_amount[rel])
    targets = ctx.keep("internal_nofollow", targets)
    rows_by_target = _target_rows(ctx, targets)
    leak_rows = _rows_by_target(ctx, rel)
    for target, lost, count in zip(
        targets.tolist(), lost_total.tolist(), counts.tolist(), strict=False
    ):
        url = graph.url_of_id(target) or f"#{target}"
        path = ctx.key(url)
        hit = leak_rows[target]
        amount_of = dict(
            zip(ctx.leak_src[hit].tolist(), ctx.leak_amount[hit].tolist(), strict=True)
        )
        rows = [r for r in rows_by_target.get(target, []) if not r.followed]
        listed = _source_pages(ctx, rows, amount_of) or [ctx.page(int(v)) for v in amount_of]
        findings.append(
            (
                float(lost),
                Finding(
                    id=finding_id("nofollow", path),
                    kind="internal_nofollow",
                    severity=config.severity(float(lost)),
                    title=(
                        f"{_link_to(int(count))} {path} with rel=nofollow: "
                        f"{format_share(float(lost))} of all authority evaporates"
                    ),
                    evidence=[
                        Evidence("Linking pages", int(count), "count"),
                        Evidence("Authority evaporated", float(lost), "share"),
                    ],
                    fix=(
                        "Remove rel=nofollow from these internal links (or remove the links if "
                        "the page should get no authority): a nofollow link's share is lost, "
                        "not passed to the other links."
                    ),
                    pages=ctx.cut(listed),
                    pages_total=len(listed),
                    equity_at_stake=float(lost),
                ),
            )
        )
    findings.sort(key=lambda item: (-item[0], item[1].id))
    return [f for _, f in findings]


def _noindex_links(ctx: _Context) -> list[Finding]:
    graph, model, config = ctx.graph, ctx.model, ctx.config
    findings: list[tuple[float, Finding]] = []
    transition = graph.transition
    for page in np.flatnonzero(graph.noindex & (graph.in_degree > 0)).tolist():
        lo, hi = int(transition.indptr[page]), int(transition.indptr[page + 1])
        sources = transition.indices[lo:hi]
        flows = ctx.scale * model.equity[sources] * transition.data[lo:hi]
        order = np.lexsort((sources, -flows))
        held = float(model.equity[page])
        listed = [
            ctx.page(int(sources[i]), f"passes {format_share(float(flows[i]))}")
            for i in order[: config.finding_pages]
        ]
        findings.append(
            (
                held,
                Finding(
                    id=ctx.id("noindex-link", graph.urls[page]),
                    kind="noindex_link",
                    severity=config.severity(held),
                    title=(
                        f"{_link_to(int(sources.size))} {ctx.label(page)}, which "
                        f"is noindex: it holds {format_share(held)} of all authority that cannot "
                        "help it rank"
                    ),
                    evidence=[
                        Evidence("Linking pages", int(sources.size), "count"),
                        Evidence("Authority flowing in", float(model.inflow[page]), "share"),
                        Evidence("Equity held", held, "share"),
                    ],
                    fix=(
                        "If it should rank, remove noindex; otherwise link to it from fewer "
                        "places (its equity cannot help rankings)."
                    ),
                    pages=[ctx.page(page, "noindex"), *listed],
                    pages_total=1 + int(sources.size),
                    equity_at_stake=held,
                ),
            )
        )
    # Canonicalised URLs that pages still link to.
    folded = []
    for (url_id,) in ctx.conn.execute(
        "SELECT url_id FROM pages WHERE kind = 'html' AND canonical_id IS NOT NULL "
        "AND canonical_id != url_id AND status BETWEEN 200 AND 299"
    ):
        if graph.node_of_url[url_id] < 0 and ctx.node_of_id(url_id) >= 0:
            folded.append(int(url_id))
    by_url: dict[int, list[LinkRow]] = defaultdict(list)
    for row in links_to(ctx.conn, folded):
        if graph.node_of_url[row.src_id] >= 0:
            by_url[row.dst_id].append(row)
    for url_id, rows in by_url.items():
        canonical = ctx.node_of_id(url_id)
        amount_of: dict[int, float] = {}
        for row in rows:
            u = int(graph.node_of_url[row.src_id])
            share = float(ctx.weights[POSITIONS.index(row.position)]) / max(
                float(graph.weight_total[u]), 1e-300
            )
            amount_of[u] = max(
                amount_of.get(u, 0.0), ctx.scale * float(model.equity[u]) * share * row.followed
            )
        carried = float(sum(amount_of.values()))
        url = graph.url_of_id(url_id) or f"#{url_id}"
        path, canonical_path = ctx.key(url), ctx.key(graph.urls[canonical])
        listed = _source_pages(ctx, rows, amount_of)
        findings.append(
            (
                carried,
                Finding(
                    id=finding_id("canonicalised-link", path),
                    kind="noindex_link",
                    severity="medium" if carried >= config.high_share else "low",
                    title=(f"{_link_to(len(listed))} {path}, whose canonical is {canonical_path}"),
                    evidence=[
                        Evidence("Linking pages", len(listed), "count"),
                        Evidence("Authority through the link", carried, "share"),
                        Evidence("Link instead to", graph.urls[canonical], "url"),
                    ],
                    fix=f"Link to the canonical URL {canonical_path} directly.",
                    pages=ctx.cut(listed),
                    pages_total=len(listed),
                ),
            )
        )
    findings.sort(key=lambda item: (-item[0], item[1].id))
    return [f for _, f in findings]


def _dead_ends(ctx: _Context) -> list[Finding]:
    graph, model, config = ctx.graph, ctx.model, ctx.config
    findings: list[tuple[float, Finding]] = []
    for page in np.flatnonzero(graph.weight_total <= 0).tolist():
        lost = float(model.leaked[page, DEAD_END])
        findings.append(
            (
                lost,
                Finding(
                    id=ctx.id("dead-end", graph.urls[page]),
                    kind="dead_end",
                    severity=config.severity(lost),
                    title=(
                        f"{ctx.label(page)} has no links: the {format_share(lost)} of all "
                        "authority reaching it goes nowhere"
                    ),
                    evidence=[
                        Evidence("Authority lost here", lost, "share"),
                        Evidence("Equity", float(model.equity[page]), "share"),
                        Evidence("Internal inlinks", int(graph.in_degree[page]), "count"),
                    ],
                    fix=(
                        "Give it links to related pages (at least the site's navigation and "
                        "a breadcrumb)."
                    ),
                    pages=[ctx.page(page, "no links")],
                    pages_total=1,
                    equity_at_stake=lost,
                ),
            )
        )
    # Documents (PDFs, images) linked from pages: live, but they pass nothing on.
    mask = (ctx.leak_kind == DEAD_END) & (graph.url_outcome[ctx.leak_target] == O_NON_HTML)
    targets, lost_total, counts = _grouped(ctx.leak_target[mask], ctx.leak_amount[mask])
    leak_rows = _rows_by_target(ctx, mask)
    for target, lost, count in zip(
        ctx.keep("dead_end", targets).tolist(), lost_total.tolist(), counts.tolist(), strict=False
    ):
        url = graph.url_of_id(target) or f"#{target}"
        path = ctx.key(url)
        hit = leak_rows[target]
        sources = ctx.leak_src[hit]
        order = np.lexsort((sources, -ctx.leak_amount[hit]))
        findings.append(
            (
                float(lost),
                Finding(
                    id=finding_id("dead-end-document", path),
                    kind="dead_end",
                    severity=config.severity(float(lost)),
                    title=(
                        f"{_link_to(int(count))} {path}, a document that passes "
                        f"nothing on ({format_share(float(lost))} of all authority)"
                    ),
                    evidence=[
                        Evidence("Linking pages", int(count), "count"),
                        Evidence("Authority absorbed", float(lost), "share"),
                    ],
                    fix=(
                        "Link to an HTML page that presents the document, and to the document "
                        "from there."
                    ),
                    pages=ctx.cut(
                        [FindingPage(url, "", "document")]
                        + [ctx.page(int(sources[i])) for i in order]
                    ),
                    pages_total=1 + int(count),
                    equity_at_stake=float(lost),
                ),
            )
        )
    findings.sort(key=lambda item: (-item[0], item[1].id))
    return [f for _, f in findings]


def _external_leaks(ctx: _Context) -> list[Finding]:
    graph, model, config = ctx.graph, ctx.model, ctx.config
    leaked = model.leaked[:, EXTERNAL]
    candidates = np.flatnonzero(leaked > 0)
    if not candidates.size or config.top_leakers == 0:
        return []
    top = candidates[np.lexsort((candidates, -leaked[candidates]))][: config.top_leakers]
    external_links = np.bincount(ctx.leak_src[ctx.leak_kind == EXTERNAL], minlength=ctx.n)
    findings = []
    for page in top.tolist():
        lost = float(leaked[page])
        share = float(graph.leak_share[page, EXTERNAL])
        findings.append(
            Finding(
                id=ctx.id("external-leak", graph.urls[page]),
                kind="external_leak",
                severity=config.severity(lost),
                title=(
                    f"{ctx.label(page)} sends {format_share(share)} of its link weight to other "
                    f"sites ({format_share(lost)} of all authority)"
                ),
                evidence=[
                    Evidence("External links", int(external_links[page]), "count"),
                    Evidence("External share of its links", share, "share"),
                    Evidence("Authority leaked", lost, "share"),
                    Evidence("Equity", float(model.equity[page]), "share"),
                ],
                fix=(
                    "Trim external links from templates (footer, sidebar) and keep the ones "
                    "readers need in the content."
                ),
                pages=[ctx.page(page, _plural(int(external_links[page]), "external link"))],
                pages_total=1,
                equity_at_stake=lost,
            )
        )
    return findings


# -- lost backlink equity ---------------------------------------------------------------


def backlink_anchors(conn: sqlite3.Connection, url_ids: Iterable[int]) -> dict[int, list[str]]:
    """The anchors of the backlinks pointing at each of ``url_ids`` (one pass over the table)."""
    wanted = {int(i) for i in url_ids}
    found: dict[int, list[str]] = defaultdict(list)
    if not wanted:
        return found
    for target, anchor in conn.execute(
        "SELECT target_id, anchor FROM backlinks WHERE anchor IS NOT NULL AND anchor != ''"
    ):
        if int(target) in wanted and anchor not in found[int(target)]:
            found[int(target)].append(str(anchor))
    return found


def lost_backlink_targets(model: EquityModel) -> list[LostEquity]:
    """The model's lost-equity entries whose target is an error or a loop (largest first)."""
    return [entry for entry in model.lost_equity if entry.lost]


def suggest_redirect(
    graph: SiteGraph, index: TopicIndex, url: str, anchors: Iterable[str] = ()
) -> PageMatch | None:
    """The live page to redirect a dead URL to.

    The indexable 200 page most similar by its path words and title to the
    URL's words and the anchors of the backlinks pointing at it (see
    :func:`reports.relevance.closest_page`), else the closest page up its path,
    else the start page.
    """
    words = [w for a in anchors for w in re.findall(r"[^\W\d_]{3,}", a.casefold())]
    allowed = ~graph.noindex & (graph.status == 200)
    return closest_page(index, graph, url, extra_terms=words, allowed=allowed)


def _lost_backlinks(ctx: _Context) -> list[Finding]:
    graph, model, config = ctx.graph, ctx.model, ctx.config
    lost = ctx.keep("lost_backlinks", lost_backlink_targets(model))
    if not lost:
        return []
    ends = []
    for entry in lost:
        found = graph.resolve(entry.final_url or entry.url)
        ends.append(found.url_id)
    status = ctx.statuses(i for i in ends if i is not None)
    anchors = backlink_anchors(ctx.conn, (ctx.url_id(e.url) for e in lost))
    findings = []
    for entry, end in zip(lost, ends, strict=True):
        path = ctx.key(entry.url)
        raw_total = model.backlink_raw_total
        at_stake = model.beta * entry.authority / raw_total if raw_total > 0 else entry.share
        code = status.get(end, ("", None, None))[1] if end is not None else None
        if entry.outcome == "loop":
            what = "loops between redirects"
        elif entry.final_url and entry.final_url != entry.url:
            what = f"redirects to {ctx.key(entry.final_url)}, which answers {code or 'nothing'}"
        else:
            what = f"answers {code}" if code else "gets no answer"
        match = suggest_redirect(
            graph, ctx.index, entry.url, anchors.get(ctx.url_id(entry.url), ())
        )
        target = None if match is None else match.node
        evidence = [
            Evidence("Referring domains", entry.referring_domains, "count"),
            Evidence("Backlinks", entry.backlinks, "count"),
            Evidence("Authority lost", float(at_stake), "share"),
            Evidence("Share of backlink authority", float(entry.share), "share"),
        ]
        if target is not None:
            evidence.append(Evidence("Suggested redirect", graph.urls[target], "url"))
            verb = (
                "Change the redirect of"
                if entry.final_url and entry.final_url != entry.url
                else "Redirect"
            )
            fix = f"{verb} {path} (301) to {ctx.key(graph.urls[target])}."
        else:
            fix = f"Restore {path} or redirect it (301) to the closest live page."
        findings.append(
            Finding(
                id=finding_id("lost", path),
                kind="lost_backlinks",
                severity=config.severity(float(at_stake)),
                title=f"{_link_to(entry.referring_domains, 'domain')} {path}, which {what}",
                evidence=evidence,
                fix=fix,
                pages=[
                    FindingPage(
                        entry.url,
                        "",
                        "redirect loop"
                        if entry.outcome == "loop"
                        else (f"HTTP {code}" if code else "no answer"),
                    )
                ],
                pages_total=1,
                equity_at_stake=float(at_stake),
            )
        )
    findings.sort(key=lambda f: (-(f.equity_at_stake or 0.0), f.id))
    return findings


# -- anchors ----------------------------------------------------------------------------


def _carried(ctx: _Context, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Authority each link (page -> page) passes, times the part that reaches priority pages."""
    share = flow_share(ctx.graph, sources, targets)
    passed = ctx.scale * ctx.model.equity[sources] * share
    if ctx.reverse is not None:
        passed = passed * ctx.reverse[targets]
    return passed


# How sites decorate an anchor ("Read more »", "[more]"): the forms looked up in SQL.
_DECORATIONS: Final = (
    "{}", "{} »", "{}»", "{} ›", "{}›", "{}…", "{} …", "{}...", "{} ...", "{} >", "{}>",
    "{} >>", "{}>>", "{} →", "{}→", "{}!", "{}:", "{} +", "{}+", "{} »»", "» {}", "> {}",
    "→ {}", "+ {}", "[{}]", "({})", "“{}”", '"{}"',
)  # fmt: skip
_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _sql_keys(key: str) -> set[str]:
    """The forms of a normalised anchor as SQLite's ``lower()`` (ASCII only) leaves them.

    Each casing an anchor is usually written in (lower, Capitalised, Title,
    UPPER), with each common decoration (:data:`_DECORATIONS`).
    """
    casings = {c.translate(_ASCII_LOWER) for c in (key, key.capitalize(), key.title(), key.upper())}
    return {decoration.format(c) for c in casings for decoration in _DECORATIONS}


def _scan_anchors(
    ctx: _Context, wanted: set[str]
) -> tuple[dict[str, list[LinkRow]], list[LinkRow], dict[str, list[LinkRow]]]:
    """One pass over the links: vague anchors, image links without alt, and the
    anchors of the priority pages (for cannibalisation).

    The matching runs in SQLite: ``lower(anchor)`` looked up in a temporary
    table of every usual casing and decoration of the wanted anchors. A Python
    callback per link costs about a microsecond a row, trimming in SQL about as
    much; this costs a third of that. Every row returned is checked again with
    :func:`normalise_anchor`.
    """
    vague_set = set(ctx.config.vague_anchors)
    keys = {form for key in vague_set | wanted for form in _sql_keys(key)}
    conn = ctx.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS linkspider_gaps_anchors (key TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM temp.linkspider_gaps_anchors")
    conn.executemany(
        "INSERT OR IGNORE INTO temp.linkspider_gaps_anchors VALUES (?)", ((k,) for k in keys)
    )
    by_vague: dict[str, list[LinkRow]] = defaultdict(list)
    by_wanted: dict[str, list[LinkRow]] = defaultdict(list)
    images: list[LinkRow] = []
    try:
        cursor = conn.execute(
            "SELECT src_id, dst_id, anchor, position, followed, is_image FROM links "
            "WHERE internal = 1 AND kind = 'http' AND dst_id IS NOT NULL AND ("
            "(is_image = 1 AND anchor = '') OR "
            "lower(anchor) IN (SELECT key FROM temp.linkspider_gaps_anchors))"
        )
        while batch := cursor.fetchmany(10_000):
            for src, dst, anchor, position, followed, image in batch:
                row = LinkRow(
                    src, dst, anchor or "", POSITIONS[position], bool(followed), bool(image)
                )
                if not anchor:
                    images.append(row)
                    continue
                key = normalise_anchor(anchor)
                if key in vague_set:
                    by_vague[key].append(row)
                elif key in wanted:
                    by_wanted[key].append(row)
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.linkspider_gaps_anchors")
    return by_vague, images, by_wanted


def _as_pairs(ctx: _Context, rows: list[LinkRow]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(source page, target page, followed)`` arrays; -1 where a side is not a page."""
    graph = ctx.graph
    src = np.fromiter((r.src_id for r in rows), np.int64, len(rows))
    dst = np.fromiter((r.dst_id for r in rows), np.int64, len(rows))
    followed = np.fromiter((r.followed for r in rows), bool, len(rows))
    u = graph.node_of_url[src].astype(np.int64)
    ok = graph.url_outcome[dst] == O_NODE
    v = np.where(ok, graph.node_of_url[graph.url_final[dst]], -1).astype(np.int64)
    return u, v, followed


def usual_spelling(anchors: Iterable[str]) -> str:
    """The spelling a group of matching anchors is shown by: the most used one.

    Parameters
    ----------
    anchors : iterable of str
        The anchors as written (they normalise to one key, such as "click here").

    Returns
    -------
    str
        The most frequent stripped spelling; a tie goes to the first in code-point
        order. The links' order in the store follows the crawl's, which varies from
        run to run, so it must not decide the title.
    """
    counts = Counter(anchor.strip() for anchor in anchors)
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def _vague_anchors(ctx: _Context, by_vague: dict[str, list[LinkRow]]) -> list[Finding]:
    config = ctx.config
    into = "into priority pages" if ctx.reverse is not None else ""
    scored = []
    for key, rows in by_vague.items():
        u, v, followed = _as_pairs(ctx, rows)
        ok = (u >= 0) & (v >= 0) & followed
        carried = np.zeros(len(rows))
        carried[ok] = _carried(ctx, u[ok], v[ok])
        # A page's several links to one target share one merged link: count it once.
        seen: dict[tuple[int, int], float] = {}
        for a, b, c in zip(u[ok].tolist(), v[ok].tolist(), carried[ok].tolist(), strict=True):
            seen[(a, b)] = c
        total = float(sum(seen.values()))
        scored.append((total, key, rows, u, v, carried))
    scored.sort(key=lambda item: (-item[0], item[1]))
    findings = []
    for total, key, rows, u, v, carried in ctx.keep("vague_anchor", scored):
        shown = usual_spelling(row.anchor for row in rows)
        linking = len({int(a) for a in u if a >= 0})
        order = np.lexsort((np.arange(len(rows)), -carried))
        pages = []
        listed: set[tuple[int, int]] = set()
        for i in order.tolist():
            a, b = int(u[i]), int(v[i])
            if a < 0 or (a, b) in listed:
                continue
            listed.add((a, b))
            target = ctx.label(b) if b >= 0 else ctx.key(ctx.graph.url_of_id(rows[i].dst_id) or "")
            pages.append(ctx.page(a, f"“{rows[i].anchor}” → {target} ({rows[i].position})"))
        title = f"“{shown}” carries {format_share(total)} of all authority"
        title += f" {into}" if into else ""
        findings.append(
            Finding(
                id=finding_id("vague-anchor", key),
                kind="vague_anchor",
                severity="medium" if total >= config.medium_share else "low",
                title=title,
                evidence=[
                    Evidence("Links", len(rows), "count"),
                    Evidence("Linking pages", linking, "count"),
                    Evidence(f"Authority carried {into}".strip(), total, "share"),
                ],
                fix=f"Replace “{shown}” with words that name each target, such as its title.",
                pages=ctx.cut(pages),
                pages_total=len(pages),
                equity_at_stake=None,
            )
        )
    return findings


def _images_without_alt(ctx: _Context, rows: list[LinkRow]) -> list[Finding]:
    if not rows:
        return []
    u, v, followed = _as_pairs(ctx, rows)
    ok = (u >= 0) & (v >= 0)
    carried = np.zeros(len(rows))
    good = ok & followed
    carried[good] = _carried(ctx, u[good], v[good])
    groups: dict[int, list[int]] = defaultdict(list)
    for i in np.flatnonzero(ok).tolist():
        groups[int(v[i])].append(i)
    scored = sorted(
        (
            (float(sum({int(u[i]): carried[i] for i in items}.values())), target, items)
            for target, items in groups.items()
        ),
        key=lambda item: (-item[0], item[1]),
    )
    findings = []
    for total, target, items in ctx.keep("image_no_alt", scored):
        sources = sorted(
            {int(u[i]) for i in items},
            key=lambda a: (-max(carried[i] for i in items if u[i] == a), a),
        )
        priority = bool(ctx.is_priority[target])
        findings.append(
            Finding(
                id=ctx.id("image-no-alt", ctx.graph.urls[target]),
                kind="image_no_alt",
                severity="medium" if priority else "low",
                title=(
                    f"{_plural(len(items), 'image link')} to {ctx.label(target)} have no alt text"
                ),
                evidence=[
                    Evidence("Links", len(items), "count"),
                    Evidence("Linking pages", len(sources), "count"),
                    Evidence(
                        "Authority carried"
                        + (" into priority pages" if ctx.reverse is not None else ""),
                        total,
                        "share",
                    ),
                ],
                fix=(
                    f"Give these images alt text that names {ctx.label(target)}: it is the "
                    "link's anchor."
                ),
                pages=ctx.cut(
                    [
                        ctx.page(target, "target"),
                        *(ctx.page(a, "image without alt") for a in sources),
                    ]
                ),
                pages_total=1 + len(sources),
            )
        )
    return findings


def _anchor_profiles(ctx: _Context) -> list[AnchorProfile]:
    graph, config = ctx.graph, ctx.config
    pages = ctx.priority[: config.targets].tolist()
    if not pages:
        return []
    ids_of = {
        page: ctx.ids_resolving_to(np.asarray([graph.node_url_id[page]])).tolist() for page in pages
    }
    page_of_id = {url_id: page for page, ids in ids_of.items() for url_id in ids}
    # Backlink anchors of every priority page in one pass over the backlinks.
    backlinks: dict[int, dict[str, list[Any]]] = defaultdict(dict)
    for target, anchor, domain in ctx.conn.execute(
        "SELECT target_id, coalesce(anchor, ''), source_domain FROM backlinks WHERE lost = 0"
    ):
        page = page_of_id.get(int(target))
        if page is None:
            continue
        entry = backlinks[page].setdefault(normalise_anchor(anchor), [anchor, 0, set()])
        entry[1] += 1
        entry[2].add(domain)
    profiles = []
    for page in pages:
        internal: dict[str, list[Any]] = {}
        for chunk in _chunks(ids_of[page]):
            marks = ",".join("?" * len(chunk))
            # Case is merged in SQL; other spellings of one anchor add their pages up.
            for anchor, links, sources in ctx.conn.execute(
                "SELECT min(anchor), count(*), count(DISTINCT src_id) FROM links "
                f"WHERE dst_id IN ({marks}) AND internal = 1 AND kind = 'http' "
                "GROUP BY lower(anchor)",
                chunk,
            ):
                entry = internal.setdefault(normalise_anchor(anchor), [anchor or "", 0, 0])
                entry[1] += int(links)
                entry[2] += int(sources)
        profiles.append(
            AnchorProfile(
                graph.urls[page],
                graph.title[page] or "",
                _anchor_counts(config, internal.values()),
                _anchor_counts(
                    config, ([a, n, len(d)] for a, n, d in backlinks.get(page, {}).values())
                ),
            )
        )
    return profiles


def _anchor_counts(config: GapsConfig, table: Iterable[list[Any]]) -> list[AnchorCount]:
    rows = [AnchorCount(str(a), int(n), int(s), config.is_vague(str(a))) for a, n, s in table]
    rows.sort(key=lambda r: (-r.links, -r.sources, r.anchor))
    return rows[: config.finding_pages]


def _cannibalisation(
    ctx: _Context, profiles: list[AnchorProfile], by_wanted: dict[str, list[LinkRow]]
) -> list[Finding]:
    owner: dict[str, int] = {}
    for profile in profiles:
        page = ctx.graph.resolve(profile.url).node
        if page is None:
            continue
        for count in profile.internal:
            key = normalise_anchor(count.anchor)
            if key and not count.vague and re.search(r"[^\W\d_]", key):
                owner.setdefault(key, page)
    findings = []
    for key, rows in sorted(by_wanted.items()):
        if key not in owner:
            continue
        u, v, _ = _as_pairs(ctx, rows)
        ok = (u >= 0) & (v >= 0)
        targets: dict[int, int] = defaultdict(int)
        for b in v[ok].tolist():
            targets[int(b)] += 1
        if len(targets) < 2:
            continue
        mine = owner[key]
        shown = usual_spelling(row.anchor for row in rows)
        ordered = sorted(targets, key=lambda b: (b != mine, -targets[b], b))
        findings.append(
            (
                -sum(targets.values()),
                Finding(
                    id=finding_id("anchor-cannibalisation", key),
                    kind="anchor_cannibalisation",
                    severity="medium",
                    title=(
                        f"“{shown}” links to {len(targets)} different pages, including "
                        f"{ctx.label(mine)}"
                    ),
                    evidence=[
                        Evidence("Targets", len(targets), "count"),
                        Evidence("Links", int(ok.sum()), "count"),
                        Evidence("Links to the priority page", targets.get(mine, 0), "count"),
                    ],
                    fix=(
                        f"Keep “{shown}” for {ctx.label(mine)} and give the links to the other "
                        "pages anchors of their own."
                    ),
                    pages=ctx.cut([ctx.page(b, _plural(targets[b], "link")) for b in ordered]),
                    pages_total=len(targets),
                ),
            )
        )
    findings.sort(key=lambda item: (item[0], item[1].id))
    return [f for _, f in findings]


# -- crawl health -----------------------------------------------------------------------


def _blocked(ctx: _Context) -> list[Finding]:
    graph, config = ctx.graph, ctx.config
    mask = (ctx.leak_kind == BLOCKED) & (graph.url_outcome[ctx.leak_target] == O_BLOCKED)
    targets, amounts, counts = _grouped(ctx.leak_target[mask], ctx.leak_amount[mask])
    leak_rows = _rows_by_target(ctx, mask)
    findings = []
    for target, amount, count in zip(
        ctx.keep("blocked_linked", targets).tolist(),
        amounts.tolist(),
        counts.tolist(),
        strict=False,
    ):
        url = graph.url_of_id(target) or f"#{target}"
        path = ctx.key(url)
        hit = leak_rows[target]
        sources = ctx.leak_src[hit]
        order = np.lexsort((sources, -ctx.leak_amount[hit]))
        findings.append(
            Finding(
                id=finding_id("blocked", path),
                kind="blocked_linked",
                severity=config.severity(float(amount)),
                title=f"{_link_to(int(count))} {path}, which robots.txt blocks",
                evidence=[
                    Evidence("Linking pages", int(count), "count"),
                    Evidence("Authority flowing into it", float(amount), "share"),
                ],
                fix=(
                    "Stop linking to it from crawlable pages, or allow it in robots.txt if it "
                    "should be crawled."
                ),
                pages=ctx.cut(
                    [
                        FindingPage(url, "", "blocked by robots.txt"),
                        *(ctx.page(int(sources[i])) for i in order),
                    ]
                ),
                pages_total=1 + int(count),
                equity_at_stake=float(amount),
            )
        )
    return findings


def _traps(ctx: _Context) -> list[Finding]:
    graph, config = ctx.graph, ctx.config
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    try:
        rows = ctx.conn.execute(
            "SELECT url_id, pattern, reason FROM traps ORDER BY url_id"
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    for url_id, pattern, reason in rows:
        groups[str(pattern)].append((int(url_id), str(reason)))
    inflow = np.bincount(
        ctx.leak_target[ctx.leak_kind == BLOCKED],
        weights=ctx.leak_amount[ctx.leak_kind == BLOCKED],
        minlength=graph.url_outcome.size,
    )
    findings = []
    for pattern, members in groups.items():
        ids = np.asarray([m[0] for m in members], dtype=np.int64)
        amount = float(inflow[ids[ids < inflow.size]].sum())
        example = graph.url_of_id(int(ids[0])) or f"#{ids[0]}"
        key = re.sub(r"^[a-z]+://[^/]+", "", pattern)
        findings.append(
            (
                -amount,
                Finding(
                    id=finding_id("crawler-trap", key),
                    kind="crawler_trap",
                    severity="medium"
                    if len(members) >= 100 or amount >= config.medium_share
                    else "low",
                    title=(
                        f"Suspected crawler trap: {_plural(len(members), 'URL')} like "
                        f"{ctx.key(example)} ({members[0][1]})"
                    ),
                    evidence=[
                        Evidence("URLs not crawled", len(members), "count"),
                        Evidence("Pattern", pattern, "text"),
                        Evidence("Authority flowing into them", amount, "share"),
                    ],
                    fix=(
                        "Stop the endless links at the source (e.g. calendar or filter links), "
                        "or keep crawlers out of the pattern with robots.txt."
                    ),
                    pages=ctx.cut([ctx.url_page(int(i), "not crawled") for i in ids]),
                    pages_total=len(members),
                    equity_at_stake=amount or None,
                ),
            )
        )
    findings.sort(key=lambda item: (item[0], item[1].id))
    return [f for _, f in findings]


def _oversize(ctx: _Context) -> list[Finding]:
    graph, config = ctx.graph, ctx.config
    rows = ctx.conn.execute(
        "SELECT url_id, size_bytes FROM pages WHERE kind = 'oversize'"
    ).fetchall()
    if not rows:
        return []
    leak_rows = _rows_by_target(ctx, ctx.leak_kind == BLOCKED)
    findings = []
    for url_id, size in rows:
        hit = leak_rows.get(int(url_id), np.zeros(0, np.int64))
        amount = float(ctx.leak_amount[hit].sum())
        sources = ctx.leak_src[hit]
        url = graph.url_of_id(int(url_id)) or f"#{url_id}"
        evidence = [
            Evidence("Linking pages", int(sources.size), "count"),
            Evidence("Authority flowing into it", amount, "share"),
        ]
        if size:
            evidence.insert(0, Evidence("Size in bytes", int(size), "count"))
        findings.append(
            (
                -amount,
                Finding(
                    id=finding_id("oversize", ctx.key(url)),
                    kind="oversize",
                    severity="high" if amount >= config.high_share else "medium",
                    title=f"{ctx.key(url)} is too big to crawl: the links on it are not seen",
                    evidence=evidence,
                    fix=(
                        "Make the page smaller than the crawl's size limit (DOWNLOAD_MAXSIZE) or "
                        "split it; search engines stop reading big pages too."
                    ),
                    pages=ctx.cut(
                        [
                            FindingPage(url, "", "cut off by size"),
                            *(ctx.page(int(s)) for s in sources),
                        ]
                    ),
                    pages_total=1 + int(sources.size),
                    equity_at_stake=amount or None,
                ),
            )
        )
    findings.sort(key=lambda item: (item[0], item[1].id))
    return [f for _, f in findings]


# -- entry point ------------------------------------------------------------------------


def find_gaps(
    model: EquityModel,
    store: CrawlStore | str | Path | None = None,
    config: GapsConfig | None = None,
    *,
    index: TopicIndex | None = None,
) -> GapReport:
    """Find every gap in how the site routes its authority.

    Parameters
    ----------
    model : EquityModel
        From :func:`reports.equity.compute_equity` (its priority targets are
        the priority pages).
    store : CrawlStore, str or Path, optional
        The run's store; default the file the graph was loaded from.
    config : GapsConfig, optional
    index : TopicIndex, optional
        The run's topical index, when already built (it is built on first use
        otherwise: broken links and lost backlinks need it for the closest
        live page).

    Returns
    -------
    GapReport
    """
    config = config or GapsConfig()
    seconds: dict[str, float] = {}
    with open_store(store, model.graph) as conn:
        ctx = _Context(model, conn, config, index)
        meta = model.graph.meta
        reason = _incomplete_reason(meta)
        complete = not reason
        groups: dict[str, list[Finding]] = {kind: [] for kind in KINDS}

        def timed(name: str, action: Any) -> Any:
            clock = time.perf_counter()
            out = action()
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - clock
            return out

        groups["orphan"] = timed("orphan", lambda: _orphans(ctx, complete, reason))
        groups["buried"] = timed("buried", lambda: _buried(ctx))
        groups["starved"] = timed("starved", lambda: _starved(ctx))
        groups["pooling"] = timed("pooling", lambda: _pooling(ctx))
        groups["stranded"] = timed("stranded", lambda: _stranded(ctx))
        groups["lost_backlinks"] = timed("lost_backlinks", lambda: _lost_backlinks(ctx))
        groups["broken_link"] = timed("broken_link", lambda: _broken_links(ctx))
        groups["redirect_link"] = timed("redirect_link", lambda: _redirect_links(ctx))
        groups["internal_nofollow"] = timed("internal_nofollow", lambda: _nofollow(ctx))
        groups["noindex_link"] = timed("noindex_link", lambda: _noindex_links(ctx))
        groups["dead_end"] = timed("dead_end", lambda: _dead_ends(ctx))
        groups["external_leak"] = timed("external_leak", lambda: _external_leaks(ctx))
        profiles = timed("anchor_profiles", lambda: _anchor_profiles(ctx))
        wanted = {
            normalise_anchor(c.anchor)
            for p in profiles
            for c in p.internal
            if c.anchor and not c.vague
        }
        by_vague, images, by_wanted = timed("anchor_scan", lambda: _scan_anchors(ctx, wanted))
        groups["vague_anchor"] = timed("vague_anchor", lambda: _vague_anchors(ctx, by_vague))
        groups["image_no_alt"] = timed("image_no_alt", lambda: _images_without_alt(ctx, images))
        groups["anchor_cannibalisation"] = timed(
            "anchor_cannibalisation", lambda: _cannibalisation(ctx, profiles, by_wanted)
        )
        groups["blocked_linked"] = timed("blocked_linked", lambda: _blocked(ctx))
        groups["crawler_trap"] = timed("crawler_trap", lambda: _traps(ctx))
        groups["oversize"] = timed("oversize", lambda: _oversize(ctx))
    totals = {kind: len(found) + ctx.dropped[kind] for kind, found in groups.items()}
    findings = tuple(f for kind in KINDS for f in groups[kind][: config.max_findings])
    return GapReport(
        findings=findings,
        totals=totals,
        anchor_profiles=tuple(profiles),
        complete=complete,
        incomplete_reason=reason,
        priority_pages=int(ctx.priority.size),
        seconds=seconds,
    )
