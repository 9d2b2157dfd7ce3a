"""Fill the report's view from the equity model and the crawl store (step 2 of 4).

The report is built in four steps (``docs/report.md``): the model computes
(:func:`reports.equity.compute_equity`, and the gap analysis when it runs);
:func:`build_view` turns the results into a :class:`reports.view.ReportView`;
:func:`reports.render.render` makes the HTML; :func:`reports.write.write_report`
puts it and the exports on disk. :func:`page_rows` and :func:`flow_rows` stream
the rows of ``pages.csv`` and ``flows.csv`` from the same model.

Findings, recommendations and anchor profiles come from the gap analysis
(:func:`reports.analysis.analyse`), which runs before the builder:
:func:`build_view` takes its results as one input, an :class:`Analysis` in the
view model's own types, and only arranges them (groups, cuts to the report's
limits, links them to the priority pages, picks the top fixes). Without it,
both sections say *not computed* rather than claiming there is nothing to fix.

Pure computation over the model's arrays and the store's SQL: no Scrapy,
Twisted or jinja2 import. Per-page work is vectorised or streamed; nothing is
held per link.
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np

from linkspider import __version__
from pipelines.backlinks.formats import FORMATS
from pipelines.storedb import POSITIONS, CrawlStore
from reports.charts import limit_sankey
from reports.compare import PreviousRun, ReportDataError, compare_runs, live_urls_from_pages_csv
from reports.equity import EquityModel, PriorityResult, solve_equity
from reports.equity import Route as ModelRoute
from reports.exports import FlowRow
from reports.gaps_config import GapsConfig
from reports.graph import LEAK_KINDS, NOFOLLOW, O_NODE
from reports.report_config import ReportConfig
from reports.view import (
    SEVERITIES,
    AnchorProfile,
    AnchorRow,
    BacklinksSection,
    Bin,
    Budget,
    Comparison,
    Contribution,
    CrawlInfo,
    Distribution,
    Finding,
    FindingGroup,
    FindingRef,
    FindingsSection,
    KindCount,
    LandingRow,
    LeakRow,
    LinkRecommendation,
    LostTarget,
    PageRow,
    PagesSection,
    PriorityPage,
    PrioritySection,
    RecommendationsSection,
    RedirectRecommendation,
    ReportView,
    Route,
    RouteStep,
    RunInfo,
    Sankey,
    SankeyLink,
    SankeyNode,
    SectionRow,
    Summary,
    TopFix,
    VendorRow,
)

__all__ = [
    "FINDING_TITLES",
    "VENDOR_NAMES",
    "Analysis",
    "Recommendations",
    "build_view",
    "flow_rows",
    "node_flags",
    "page_rows",
    "site_of",
]

logger = logging.getLogger(__name__)

#: Display names of the backlink tools (``backlink_imports.vendor``).
VENDOR_NAMES: Final = {
    "ahrefs": "Ahrefs",
    "semrush": "Semrush",
    "moz": "Moz",
    "majestic": "Majestic",
    "gsc": "Search Console",
    "screamingfrog": "Screaming Frog",
    "generic": "Other export",
    "custom": "Mapped export",
}

#: Headings of the finding kinds the gap analysis reports (docs/report.md).
FINDING_TITLES: Final = {
    "orphan": "Orphan pages",
    "buried": "Buried priority pages",
    "starved": "Starved priority pages",
    "pooling": "Authority pooling",
    "stranded": "Landing pages that strand their authority",
    "dead_end": "Dead ends",
    "broken_link": "Broken internal links",
    "redirect_link": "Internal links through redirects",
    "internal_nofollow": "Nofollow internal links",
    "noindex_link": "Links to noindex or canonicalised pages",
    "external_leak": "Pages leaking to other sites",
    "lost_backlinks": "Backlinks to dead URLs",
    "vague_anchor": "Vague anchors",
    "image_no_alt": "Image links without alt text",
    "anchor_cannibalisation": "One anchor text for several pages",
    "blocked_linked": "Links to blocked pages",
    "crawler_trap": "Crawler traps",
    "oversize": "Pages cut for size",
}

#: Page flags, in the order they are listed (bit, name).
_FLAGS: Final = (
    (1, "priority"),
    (2, "noindex"),
    (4, "orphan"),
    (8, "dead_end"),
    (16, "nofollow"),
    (32, "landing"),
    (64, "meta_refresh"),
)
F_PRIORITY, F_NOINDEX, F_ORPHAN, F_DEAD_END, F_NOFOLLOW, F_LANDING, F_META_REFRESH = (
    bit for bit, _ in _FLAGS
)
_FLAG_LISTS: Final = tuple(
    [name for bit, name in _FLAGS if mask & bit] for mask in range(1 << len(_FLAGS))
)
_FLAG_TEXT: Final = tuple("|".join(names) for names in _FLAG_LISTS)

_LEAK_LABELS: Final = {
    "nofollow": "Nofollow links",
    "external": "Links to other sites",
    "broken": "Broken links",
    "blocked": "Blocked or not crawled",
    "dead_end": "Dead ends",
}
_SANKEY_COLUMNS: Final = ["Where it enters", "Section holding or leaking it", "Where it ends up"]
# Bands thinner than this (a share) are left out of the diagram: invisible, and noise.
_MIN_BAND: Final = 1e-9
_COMPARISON_LIMIT: Final = 20


@dataclass(frozen=True, slots=True)
class Recommendations:
    """What the link recommender hands to :func:`build_view`.

    Attributes
    ----------
    links : sequence of LinkRecommendation
        Links to add, best first (all of them: the HTML shows the top rows,
        ``recommendations.csv`` gets every one).
    redirects : sequence of RedirectRecommendation
        Redirects to add, best first.
    set_gain : float
        Predicted change in the priority pages' share when every link in
        ``links`` is added together.
    note : str
        Why ``links`` is empty, when it is.
    """

    links: Sequence[LinkRecommendation] = ()
    redirects: Sequence[RedirectRecommendation] = ()
    set_gain: float = 0.0
    note: str = ""


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the gap analysis hands to :func:`build_view` (see :mod:`reports.analysis`).

    Attributes
    ----------
    findings : sequence of Finding
        Every finding kept, each with every page it lists and an id stable
        from run to run, most important first within a kind.
    recommendations : Recommendations
    anchor_profiles : sequence of AnchorProfile
        The priority pages' anchor profiles, every anchor listed.
    redirect_targets : mapping of str to str
        Dead backlinked URL -> the live URL to redirect it to: the suggested
        redirects of the lost backlinks table.
    kind_totals : mapping of str to int
        Findings per kind that exist, when the analysis kept fewer than that.
    seconds : dict of str to float
        Time per step of the analysis.
    """

    findings: Sequence[Finding] = ()
    recommendations: Recommendations = field(default_factory=Recommendations)
    anchor_profiles: Sequence[AnchorProfile] = ()
    redirect_targets: Mapping[str, str] = field(default_factory=dict)
    kind_totals: Mapping[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


# -- shared facts ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Priority:
    """The priority targets as node sets."""

    results: tuple[PriorityResult, ...]
    nodes: np.ndarray  # every priority node, sorted, unique
    first_target: np.ndarray  # per node: index of the first target holding it, -1 for none


def _priority(model: EquityModel) -> _Priority:
    first = np.full(model.n, -1, dtype=np.int64)
    for index in range(len(model.priority) - 1, -1, -1):
        first[model.priority[index].target.nodes] = index
    nodes = np.flatnonzero(first >= 0)
    return _Priority(model.priority, nodes, first)


def _table_exists(store: CrawlStore, name: str) -> bool:
    row = store.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", (name,)
    ).fetchone()
    return row is not None


def _linked_nodes(model: EquityModel) -> np.ndarray:
    """Whether some modelled page links each node (followed or not)."""
    graph = model.graph
    linked = graph.in_degree > 0
    nofollow = (
        graph.leaks.target[graph.leaks.kind == NOFOLLOW] if graph.leaks.kind is not None else []
    )
    targets = graph.node_of_url[np.asarray(nofollow, dtype=np.int64)]
    linked[targets[targets >= 0]] = True
    return linked


def node_flags(model: EquityModel, store: CrawlStore) -> np.ndarray:
    """The page flags of every node, as bit masks (see ``docs/exports.md``).

    ``priority`` (in a priority target), ``noindex``, ``orphan`` (known from a
    sitemap, a backlink or a URL list, linked by no crawled page and not a start
    page; only said when the crawl was complete, since otherwise the verdict is
    inconclusive), ``dead_end`` (no outgoing link), ``nofollow`` (robots meta),
    ``landing`` (receives backlink authority), ``meta_refresh`` (a delayed meta
    refresh sends visitors to another URL).

    Returns
    -------
    ndarray of uint8, shape (n,)
    """
    graph = model.graph
    flags = np.zeros(model.n, dtype=np.uint8)
    flags[_priority(model).nodes] |= F_PRIORITY
    flags[graph.noindex] |= F_NOINDEX
    flags[graph.nofollow] |= F_NOFOLLOW
    out_links = np.diff(graph.flows.ptr) + np.diff(graph.leaks.ptr)
    flags[out_links == 0] |= F_DEAD_END
    flags[model.referring_domains > 0] |= F_LANDING
    refreshing = _delayed_refresh_pages(store, graph.node_of_url.size)
    nodes = graph.node_of_url[refreshing]
    flags[nodes[nodes >= 0]] |= F_META_REFRESH
    if graph.meta.get("complete"):
        known_ids = np.fromiter(
            (
                row[0]
                for row in store.conn.execute(
                    "SELECT DISTINCT url_id FROM known_urls"
                    " WHERE source IN ('sitemap', 'backlink', 'list')"
                )
            ),
            dtype=np.int64,
        )
        known_ids = known_ids[known_ids < graph.url_final.size]
        reaching = known_ids[graph.url_outcome[known_ids] == O_NODE]
        known_nodes = graph.node_of_url[graph.url_final[reaching]]
        known = np.zeros(model.n, dtype=bool)
        known[known_nodes[known_nodes >= 0]] = True
        start = np.zeros(model.n, dtype=bool)
        start[graph.start_nodes] = True
        flags[known & ~_linked_nodes(model) & ~start] |= F_ORPHAN
    return flags


def _delayed_refresh_pages(store: CrawlStore, size: int) -> np.ndarray:
    """URL ids of HTML pages with a delayed meta refresh to another URL."""
    if not store.has_column("pages", "refresh_id"):  # a store written before the column
        return np.zeros(0, np.int64)
    ids = np.fromiter(
        (
            row[0]
            for row in store.conn.execute(
                "SELECT url_id FROM pages WHERE kind = 'html' AND refresh_id IS NOT NULL"
            )
        ),
        dtype=np.int64,
    )
    return ids[(ids >= 0) & (ids < size)]


def _depth(value: int) -> int | None:
    return None if value < 0 else value


def _home_node(model: EquityModel) -> int | None:
    graph = model.graph
    if graph.start_nodes.size:
        return int(graph.start_nodes[0])
    return None


# -- exports: pages.csv and flows.csv ---------------------------------------------------


def page_rows(
    model: EquityModel, store: CrawlStore, *, flags: np.ndarray | None = None
) -> Iterator[tuple[object, ...]]:
    """The rows of ``pages.csv``: every URL the store knows as a page, streamed.

    Model pages (nodes) come first, by rank, with their equity; then every
    other URL the crawl fetched or decided about (redirects, errors, files,
    blocked, skipped, canonicalised duplicates...) in store order, with its
    status and kind and no equity (``meta_refresh`` there marks an instant
    refresh hop on a ``redirect`` row, a delayed refresh on an ``html``
    one); then URLs known from sitemaps, backlinks or a URL list that were
    never fetched (kind ``not_crawled``).

    Parameters
    ----------
    model : EquityModel
    store : CrawlStore
        The store the model was loaded from.
    flags : ndarray, optional
        From :func:`node_flags` (computed when not given).

    Yields
    ------
    tuple
        Cells in :data:`reports.exports.PAGES_COLUMNS` order.
    """
    graph = model.graph
    if flags is None:
        flags = node_flags(model, store)
    order = np.lexsort((np.arange(model.n), model.rank)).tolist()
    urls, titles = graph.urls, graph.title
    equity, score, rank = model.equity.tolist(), model.score.tolist(), model.rank.tolist()
    depth, status = graph.depth.tolist(), graph.status.tolist()
    inlinks, domains = graph.in_degree.tolist(), model.referring_domains.tolist()
    deposit, leaked = model.deposit.tolist(), model.leaked.sum(axis=1).tolist()
    flag_codes = flags.tolist()
    for i in order:
        yield (
            urls[i], equity[i], score[i], rank[i], _depth(depth[i]), status[i], inlinks[i],
            domains[i], deposit[i], leaked[i], _FLAG_TEXT[flag_codes[i]], "html", titles[i],
        )  # fmt: skip

    # Other URLs: distinct modelled pages whose (merged) links end there, and the
    # referring domains of backlinks pointing at them.
    size = graph.url_final.size
    leak_in = np.bincount(graph.leaks.target, minlength=size) if graph.leaks.target.size else None
    backlink_domains: dict[int, int] = {}
    if _table_exists(store, "backlinks"):
        backlink_domains = dict(
            store.conn.execute(
                "SELECT target_id, count(DISTINCT source_domain) FROM backlinks GROUP BY target_id"
            ).fetchall()
        )
    node_of_url, url_final, outcome = graph.node_of_url, graph.url_final, graph.url_outcome
    refresh = "p.refresh_id" if store.has_column("pages", "refresh_id") else "NULL"
    cursor = store.conn.execute(
        "SELECT p.url_id, u.url, p.kind, p.status, p.depth, p.title, p.noindex,"
        f" {refresh} FROM pages AS p JOIN urls AS u ON u.id = p.url_id ORDER BY p.url_id"
    )
    while batch := cursor.fetchmany(10_000):
        for url_id, url, kind, page_status, page_depth, title, noindex, refresh_id in batch:
            if url_id < size and node_of_url[url_id] >= 0:
                continue
            terminal = url_id < size and url_final[url_id] == url_id
            names = []
            if (
                kind == "html"
                and url_id < size
                and not terminal
                and outcome[url_id] == O_NODE
                and page_status is not None
                and 200 <= page_status < 300
            ):
                names.append("canonicalised")
            if noindex:
                names.append("noindex")
            if refresh_id is not None:
                # Read with the kind: "redirect" is an instant refresh (the
                # hop), "html" a delayed one (a canonicalised page's).
                names.append("meta_refresh")
            yield (
                url, None, None, None, page_depth, page_status,
                int(leak_in[url_id]) if terminal and leak_in is not None else None,
                backlink_domains.get(url_id), None, None, "|".join(names), kind, title,
            )  # fmt: skip
    cursor = store.conn.execute(
        "SELECT DISTINCT k.url_id, u.url FROM known_urls AS k JOIN urls AS u ON u.id = k.url_id"
        " WHERE NOT EXISTS (SELECT 1 FROM pages AS p WHERE p.url_id = k.url_id)"
        " ORDER BY k.url_id"
    )
    while batch := cursor.fetchmany(10_000):
        for url_id, url in batch:
            yield (
                url, None, None, None, None, None, None, backlink_domains.get(url_id),
                None, None, "", "not_crawled", None,
            )  # fmt: skip


def flow_rows(model: EquityModel) -> Iterator[FlowRow]:
    """The rows of ``flows.csv``: the authority budget by section.

    Deposits per section, the section-to-section flows (only those that carry
    something), equity held per section, and each section's leaks by kind.
    Deposits sum to 1, and so do held plus leaks.
    """
    sections = model.sections
    names = sections.names
    for s, name in enumerate(names):
        yield FlowRow("deposit", "", name, float(sections.deposit[s]))
    sources, targets = np.nonzero(sections.flow > 0)
    for a, b in zip(sources.tolist(), targets.tolist(), strict=True):
        yield FlowRow("flow", names[a], names[b], float(sections.flow[a, b]))
    for s, name in enumerate(names):
        yield FlowRow("held", name, "", float(sections.held[s]))
    for s, name in enumerate(names):
        for k, kind in enumerate(LEAK_KINDS):
            yield FlowRow("leak", name, kind, float(sections.leaked[s, k]))


# -- run and crawl --------------------------------------------------------------------


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _weights_text(model: EquityModel) -> str:
    config = model.config
    if config.weights_name in ("reasonable", "uniform"):
        return config.weights_name
    pairs = ", ".join(
        f"{position} {weight:g}"
        for position, weight in zip(POSITIONS, config.position_weights, strict=True)
    )
    return f"custom: {pairs}"


def site_of(model: EquityModel) -> str:
    """The site a report is about: the crawl's first start URL."""
    starts = model.graph.meta.get("start_urls")
    if isinstance(starts, list) and starts and isinstance(starts[0], str):
        return starts[0]
    home = _home_node(model)
    return model.graph.urls[home] if home is not None else model.graph.urls[0]


def _run_info(
    model: EquityModel, store: CrawlStore, generated_at: datetime, run_id: str | None
) -> RunInfo:
    meta = model.graph.meta
    started = _parse_time(meta.get("started_at"))
    finished = _parse_time(meta.get("finished_at"))
    if started is None or finished is None:
        # A run whose crawl never recorded its times (killed, or built by hand).
        stamp = datetime.fromtimestamp(store.path.stat().st_mtime, tz=UTC)
        started = started or finished or stamp
        finished = finished or stamp
    return RunInfo(
        site=site_of(model),
        run_id=run_id or store.path.parent.name,
        generated_at=generated_at,
        crawl_started=started,
        crawl_finished=finished,
        version=__version__,
        damping=model.config.damping,
        weights=_weights_text(model),
        backlink_mix=model.beta,
    )


def _limit_note(meta: dict[str, Any]) -> str:
    if meta.get("complete"):
        return ""
    notes = []
    fatal = meta.get("fatal_error")
    if fatal:
        notes.append(f"It could not do its job: {fatal}.")
    caps = meta.get("caps_hit") or []
    for cap in caps:
        limit = meta.get(cap)
        if cap == "max_pages":
            notes.append(f"It stopped at its page limit (max_pages={limit}).")
        elif cap == "max_depth":
            notes.append(f"It did not go deeper than max_depth={limit}.")
        elif cap == "max_sitemaps":
            notes.append("It read no more sitemaps than its limit allows.")
        else:
            notes.append(f"It reached a limit ({cap}).")
    reason = meta.get("finish_reason")
    if reason == "shutdown":
        notes.append("It was stopped by hand before it finished.")
    elif reason is None:
        notes.append("It did not record an end: it was killed or is still running.")
    elif not notes and reason != "finished":
        notes.append(f"It ended with Scrapy's reason {reason!r}.")
    return " ".join(notes)


def _crawl_info(model: EquityModel, store: CrawlStore) -> CrawlInfo:
    meta = model.graph.meta
    by_kind = [
        KindCount(str(kind), int(count))
        for kind, count in store.conn.execute(
            "SELECT kind, count(*) FROM pages GROUP BY kind ORDER BY count(*) DESC, kind"
        )
    ]
    known_not_crawled = int(
        store.conn.execute(
            "SELECT count(DISTINCT k.url_id) FROM known_urls AS k"
            " WHERE NOT EXISTS (SELECT 1 FROM pages AS p WHERE p.url_id = k.url_id)"
        ).fetchone()[0]
    )
    meta_refresh_hops = delayed_refreshes = 0
    if store.has_column("pages", "refresh_id"):
        meta_refresh_hops, delayed_refreshes = store.conn.execute(
            "SELECT coalesce(sum(kind = 'redirect'), 0), coalesce(sum(kind = 'html'), 0)"
            " FROM pages WHERE refresh_id IS NOT NULL"
        ).fetchone()
    max_depth = meta.get("max_click_depth")
    if not isinstance(max_depth, int):
        depths = model.graph.depth
        max_depth = int(depths.max()) if depths.size and depths.max() >= 0 else None
    return CrawlInfo(
        complete=bool(meta.get("complete")),
        finish_reason=str(meta.get("finish_reason") or "unknown"),
        limit_note=_limit_note(meta),
        urls_seen=sum(row.count for row in by_kind),
        pages_html=model.n,
        by_kind=by_kind,
        known_not_crawled=known_not_crawled,
        max_depth=max_depth,
        meta_refresh_hops=int(meta_refresh_hops),
        delayed_refreshes=int(delayed_refreshes),
    )


# -- budget ------------------------------------------------------------------------------


def _section_rule(model: EquityModel) -> str:
    config = model.config
    if config.section_groups:
        names = ", ".join(name for name, _ in config.section_groups)
        return f"your groups ({names}); pages matching none are in (other)"
    multi_host = any(name.split("/", 1)[0] for name in model.sections.names if "/" in name)
    host = "their host and " if multi_host else ""
    if config.section_depth == 0:
        return "host"
    segments = (
        "first path segment"
        if config.section_depth == 1
        else f"first {config.section_depth} path segments"
    )
    return (
        f"{host}their {segments} (/blog/post and /blog/ are in /blog/; the home page and "
        f"top-level pages such as /about are in /)"
    )


def _section_label(name: str) -> str:
    return "/ (home and top-level pages)" if name == "/" else name


def _target_label(model: EquityModel, result: PriorityResult) -> str:
    target = result.target
    nodes = target.nodes
    if nodes.size == 1:
        title = model.graph.title[int(nodes[0])]
        return title or _path(model.graph.urls[int(nodes[0])])
    label = _path(target.label) if target.kind in ("guessed", "glob") else target.label
    return f"{label} ({nodes.size} pages)"


def _origin_destination(model: EquityModel, origins: list[np.ndarray]) -> np.ndarray:
    """Authority entering each origin group that ends (held or leaked) in each section.

    ``origins`` are disjoint section-index groups covering every section. By
    linearity each group's equity is one solve with the deposits of its pages;
    the last group is what remains, so ``len(origins) - 1`` solves.
    """
    graph, sections = model.graph, model.sections
    d = model.config.damping
    count = len(sections.names)
    # What ends on a page: the equity it holds plus what leaks from it.
    factor = 1.0 + d / (1.0 - d) * graph.leak_share.sum(axis=1)
    ends_total = np.bincount(sections.of_node, weights=model.equity * factor, minlength=count)
    matrix = np.zeros((len(origins), count))
    for g, group in enumerate(origins[:-1]):
        mask = np.isin(sections.of_node, group)
        x, _ = solve_equity(graph, np.where(mask, model.deposit, 0.0), model.config)
        matrix[g] = np.bincount(sections.of_node, weights=x * factor, minlength=count)
    matrix[-1] = np.maximum(ends_total - matrix[:-1].sum(axis=0), 0.0)
    return matrix


def _sankey(model: EquityModel, priority: _Priority, config: ReportConfig) -> Sankey:
    sections = model.sections
    names = sections.names
    count = len(names)
    by_deposit = sorted(range(count), key=lambda s: (-sections.deposit[s], names[s]))
    keep = config.sankey_nodes if count > config.sankey_nodes else count
    if count > keep:
        single = by_deposit[: keep - 1]
        rest = by_deposit[keep - 1 :]
        origins = [np.asarray([s]) for s in single] + [np.asarray(rest)]
        origin_labels = [_section_label(names[s]) for s in single] + [f"{len(rest)} other sections"]
    else:
        origins = [np.asarray([s]) for s in by_deposit]
        origin_labels = [_section_label(names[s]) for s in by_deposit]
    matrix = _origin_destination(model, origins)

    nodes: list[SankeyNode] = [
        SankeyNode(f"in:{g}", label, 0, "deposit") for g, label in enumerate(origin_labels)
    ]
    nodes += [
        SankeyNode(f"sec:{s}", _section_label(names[s]), 1, "section")
        for s in sorted(range(count), key=lambda s: -matrix[:, s].sum())
    ]
    links: list[SankeyLink] = []
    for g in range(len(origins)):
        for s in range(count):
            if matrix[g, s] > _MIN_BAND:
                links.append(SankeyLink(f"in:{g}", f"sec:{s}", float(matrix[g, s])))

    # Held per (section, priority target), each priority page counted once.
    held_priority: dict[tuple[int, int], float] = defaultdict(float)
    nodes_in = priority.nodes
    if nodes_in.size:
        pairs = (
            sections.of_node[nodes_in].astype(np.int64) * len(priority.results)
            + priority.first_target[nodes_in]
        )
        sums = np.bincount(pairs, weights=model.equity[nodes_in])
        for key in np.flatnonzero(sums).tolist():
            held_priority[divmod(key, len(priority.results))] = float(sums[key])
    targets = sorted({t for _, t in held_priority})
    nodes += [
        SankeyNode(f"pri:{t}", _target_label(model, priority.results[t]), 2, "priority")
        for t in sorted(
            targets, key=lambda t: -sum(v for (_, u), v in held_priority.items() if u == t)
        )
    ]
    nodes.append(SankeyNode("other", "Other pages" if targets else "Pages", 2, "other"))
    nodes += [SankeyNode(f"leak:{kind}", _LEAK_LABELS[kind], 2, "leak") for kind in LEAK_KINDS]
    for s in range(count):
        to_priority = 0.0
        for (section, t), value in held_priority.items():
            if section == s and value > _MIN_BAND:
                links.append(SankeyLink(f"sec:{s}", f"pri:{t}", value))
                to_priority += value
        other = float(sections.held[s]) - to_priority
        if other > _MIN_BAND:
            links.append(SankeyLink(f"sec:{s}", "other", other))
        for k, kind in enumerate(LEAK_KINDS):
            value = float(sections.leaked[s, k])
            if value > _MIN_BAND:
                links.append(SankeyLink(f"sec:{s}", f"leak:{kind}", value))
    used = {link.source for link in links} | {link.target for link in links}
    sankey = Sankey(
        columns=list(_SANKEY_COLUMNS),
        nodes=[node for node in nodes if node.id in used],
        links=links,
    )
    return limit_sankey(sankey, config.sankey_nodes)


def _budget(
    model: EquityModel, priority: _Priority, config: ReportConfig, to_priority: np.ndarray
) -> Budget:
    sections = model.sections
    leaked_pages = (model.leaked > 0).sum(axis=0)
    leaks = [
        LeakRow(kind, float(model.budget.leaked[kind]), int(leaked_pages[k]))
        for k, kind in enumerate(LEAK_KINDS)
    ]
    order = sorted(
        range(len(sections.names)), key=lambda s: (-sections.deposit[s], sections.names[s])
    )
    rows = [
        SectionRow(
            section=sections.names[s],
            pages=int(sections.pages[s]),
            deposit=float(sections.deposit[s]),
            equity=float(sections.held[s]),
            leaked=float(sections.leaked[s].sum()),
            to_priority=float(to_priority[s]),
        )
        for s in order[: config.top_rows]
    ]
    return Budget(
        sankey=_sankey(model, priority, config),
        held_share=float(model.budget.held),
        priority_share=float(model.equity[priority.nodes].sum()),
        baseline_share=1.0 - model.beta,
        leaks=leaks,
        sections=rows,
        sections_total=len(sections.names),
        section_rule=_section_rule(model),
    )


# -- priority pages ------------------------------------------------------------------------


class _Anchors:
    """Anchor text of the link a route follows, looked up in the store's ``links``."""

    def __init__(self, model: EquityModel, store: CrawlStore) -> None:
        self.graph = model.graph
        self.conn = store.conn

    def between(self, u: int, v: int, position: str) -> str:
        graph = self.graph
        rows = self.conn.execute(
            "SELECT dst_id, anchor, position, followed FROM links"
            " WHERE src_id = ? AND dst_id IS NOT NULL ORDER BY ord",
            (int(graph.node_url_id[u]),),
        ).fetchall()
        fallback: str | None = None
        size = graph.url_final.size
        for dst, anchor, code, followed in rows:
            if dst >= size or graph.url_outcome[dst] != O_NODE:
                continue
            if graph.node_of_url[graph.url_final[dst]] != v:
                continue
            text = anchor or ""
            if followed and 0 <= code < len(POSITIONS) and POSITIONS[code] == position:
                return text
            if fallback is None and followed:
                fallback = text
        return fallback or ""


def _route(model: EquityModel, anchors: _Anchors, route: ModelRoute) -> Route:
    graph = model.graph
    steps = []
    last = len(route.nodes) - 1
    for k, node in enumerate(route.nodes):
        anchor = position = ""
        if k < last:
            position = route.positions[k] if k < len(route.positions) else ""
            anchor = anchors.between(node, route.nodes[k + 1], position)
        steps.append(RouteStep(graph.urls[node], graph.title[node] or "", anchor, position))
    return Route(steps=steps, probability=float(route.probability))


def _group_inlinks(model: EquityModel, nodes: np.ndarray) -> int:
    """Distinct pages outside the group with a followed link into it."""
    transition = model.graph.transition
    parts = [
        transition.indices[transition.indptr[v] : transition.indptr[v + 1]] for v in nodes.tolist()
    ]
    if not parts:
        return 0
    sources = np.unique(np.concatenate(parts))
    return int(np.setdiff1d(sources, nodes, assume_unique=False).size)


def _group_domains(model: EquityModel, nodes: np.ndarray) -> int:
    """Distinct referring domains with a live followed backlink resolving into the group."""
    graph = model.graph
    votes = graph.backlinks
    if not len(votes):
        return 0
    targets = votes.target_url_id
    reaches = graph.url_outcome[targets] == O_NODE
    voted = graph.node_of_url[graph.url_final[targets[reaches]]]
    inside = np.isin(voted, nodes)
    return int(np.unique(votes.domain[reaches][inside]).size)


def _priority_page(
    model: EquityModel,
    result: PriorityResult,
    *,
    anchors: _Anchors,
    config: ReportConfig,
    findings_of: Callable[[Iterable[str]], list[FindingRef]],
    attributed: bool,
) -> PriorityPage:
    graph = model.graph
    target = result.target
    nodes = target.nodes
    note = "" if target.reason.startswith(("given", "guessed")) else target.reason
    contributors: list[Contribution] = []
    routes: list[Route] = []
    if result.attribution is not None and result.equity > 0:
        attribution = result.attribution
        for node, amount in zip(
            attribution.top_landing[: config.contributors].tolist(),
            attribution.top_amount[: config.contributors].tolist(),
            strict=True,
        ):
            contributors.append(
                Contribution(graph.urls[node], graph.title[node] or "", amount / result.equity)
            )
        # A landing page inside the target needs no click: such a "route" says
        # nothing about the links, so show one only when no other exists.
        clicked = [r for r in result.routes if r.clicks > 0] or list(result.routes[:1])
        routes = [_route(model, anchors, r) for r in clicked[: config.routes]]
    elif nodes.size and not attributed:
        note = (
            f"Sources and routes are traced for the first {model.config.priority_limit} "
            "entries only (EQUITY_PRIORITY_LIMIT)."
        )
    if nodes.size == 1:
        node = int(nodes[0])
        url = graph.urls[node]
        if target.kind in ("regex", "glob"):
            note = note or f"the only page matching {target.label}"
        elif url != target.label and not note:
            note = f"{target.label} leads here"
        return PriorityPage(
            url=url,
            title=graph.title[node] or "",
            equity=float(model.equity[node]),
            score=float(model.score[node]),
            rank=int(model.rank[node]),
            depth=_depth(int(graph.depth[node])),
            inlinks=int(graph.in_degree[node]),
            referring_domains=int(model.referring_domains[node]),
            contributors=contributors,
            findings=findings_of([url]),
            routes=routes,
            pages=1,
            note=note,
        )
    if nodes.size == 0:
        return PriorityPage(
            url=target.label, title="", equity=0.0, score=None, rank=None, depth=None,
            inlinks=0, referring_domains=0, contributors=[], findings=findings_of([target.label]),
            routes=[], pages=0, note=note or target.reason,
        )  # fmt: skip
    return PriorityPage(
        url=target.label,
        title="",
        equity=float(result.equity),
        score=None,
        rank=result.best_rank,
        depth=result.min_depth,
        inlinks=_group_inlinks(model, nodes),
        referring_domains=_group_domains(model, nodes),
        contributors=contributors,
        findings=findings_of(graph.urls[i] for i in nodes.tolist()),
        routes=routes,
        pages=int(nodes.size),
        note=note,
    )


def _priority_source(model: EquityModel) -> tuple[bool, str]:
    results = model.priority
    if not results:
        return False, "no list"
    if all(r.target.guessed for r in results):
        return True, "URL templates with a commerce word such as shop, products or pricing"
    origins = [r.target.origin for r in results if r.target.origin]
    files = sorted({o.rsplit(":", 1)[0] for o in origins if ":" in o})
    entries = len(results)
    noun = "entry" if entries == 1 else "entries"
    if files:
        return False, f"{', '.join(Path(f).name for f in files)} ({entries} {noun})"
    return False, f"the EQUITY_PRIORITY setting ({entries} {noun})"


def _priority_section(
    model: EquityModel,
    store: CrawlStore,
    config: ReportConfig,
    findings_of: Callable[[Iterable[str]], list[FindingRef]],
) -> tuple[PrioritySection, dict[int, int]]:
    """The priority table, and the position of each priority target in it."""
    anchors = _Anchors(model, store)
    guessed, source = _priority_source(model)
    pages: list[PriorityPage] = []
    attributed = 0
    for result in model.priority:
        if result.attribution is not None:
            attributed += 1
        pages.append(
            _priority_page(
                model,
                result,
                anchors=anchors,
                config=config,
                findings_of=findings_of,
                attributed=result.attribution is not None,
            )
        )
    order = list(range(len(pages)))
    if guessed:
        order.sort(key=lambda i: -pages[i].equity)
    section = PrioritySection(
        guessed=guessed, source=source, pages=[pages[i] for i in order], total=len(pages)
    )
    return section, {target: position for position, target in enumerate(order)}


# -- findings and recommendations ---------------------------------------------------------

_SEVERITY_ORDER: Final = {severity: i for i, severity in enumerate(SEVERITIES)}


def _severity_rank(finding: Finding) -> int:
    return _SEVERITY_ORDER.get(finding.severity, len(SEVERITIES))


def _finding_key(finding: Finding) -> tuple[int, float, str]:
    return (_severity_rank(finding), -(finding.equity_at_stake or 0.0), finding.id)


def _findings_section(
    findings: Sequence[Finding] | None, config: ReportConfig, totals: Mapping[str, int]
) -> FindingsSection:
    if findings is None:
        return FindingsSection(groups=[], high=0, medium=0, low=0, computed=False)
    by_kind: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_kind[finding.kind].append(finding)
    groups = []
    for kind, members in by_kind.items():
        # Most severe first; within a severity, the analysis's own order (most important first).
        members.sort(key=_severity_rank)
        shown = [
            replace(f, pages=list(f.pages[: config.finding_pages]))
            for f in members[: config.findings_per_kind]
        ]
        total = max(len(members), totals.get(kind, 0))
        groups.append(
            FindingGroup(
                kind=kind,
                title=FINDING_TITLES.get(kind, kind.replace("_", " ").capitalize()),
                findings=shown,
                total=total,
                exported=len(members) if total > len(members) else None,
            )
        )
    groups.sort(key=lambda g: (_finding_key(g.findings[0])[:2], g.kind))
    counts = {severity: 0 for severity in SEVERITIES}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return FindingsSection(
        groups=groups, high=counts["high"], medium=counts["medium"], low=counts["low"]
    )


def _recommendations_section(
    recommendations: Recommendations | None, config: ReportConfig
) -> RecommendationsSection:
    if recommendations is None:
        return RecommendationsSection(
            links=[], links_total=0, set_gain=0.0, redirects=[], redirects_total=0, computed=False
        )
    return RecommendationsSection(
        links=list(recommendations.links[: config.top_rows]),
        links_total=len(recommendations.links),
        set_gain=float(recommendations.set_gain),
        redirects=list(recommendations.redirects[: config.top_rows]),
        redirects_total=len(recommendations.redirects),
        note="" if recommendations.links else recommendations.note,
    )


def _path(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


def _link_fix(rec: LinkRecommendation) -> TopFix:
    target = rec.target_title or _path(rec.target_url)
    return TopFix(
        title=f"Add a link on {_path(rec.source_url)} to {_path(rec.target_url)}",
        detail=(
            f"In its body text, with the anchor “{rec.anchor}”. With the other recommended "
            f"links, {target} moves from rank {rec.rank_before:,} to {rec.rank_after:,}."
        ),
        gain=rec.gain,
        target=rec.id,
    )


def _redirect_fix(red: RedirectRecommendation) -> TopFix:
    answers = f"answers {red.status}" if red.status is not None else "loops or gets no answer"
    one = red.referring_domains == 1
    domains = (
        f"{red.referring_domains:,} referring domain{'' if one else 's'} "
        f"link{'s' if one else ''} to it"
    )
    if red.via_url:
        title = f"Point the redirect of {_path(red.via_url)} at {_path(red.to_url)}"
        where = f"it redirects to {_path(red.via_url)}, which {answers}"
    else:
        title = f"Redirect {_path(red.from_url)} to {_path(red.to_url)}"
        where = f"it {answers}"
    return TopFix(
        title=title,
        detail=f"{domains} and {where}: {'its' if one else 'their'} authority is lost today.",
        gain=red.gain,
        target=red.id,
    )


def _top_fixes(
    findings: Sequence[Finding] | None,
    recommendations: Recommendations | None,
    limit: int,
) -> list[TopFix]:
    """The fixes worth doing first: the largest amounts of authority, whatever proposes them.

    Candidates are every link to add (its amount: the rise in the priority
    pages' share the model predicts for it, as part of the set), every redirect
    to add (the share of authority it recovers) and every finding with an
    amount at stake (the share of authority it wastes or withholds). A
    ``lost_backlinks`` finding whose URL has a redirect recommendation is the
    same fix and is left to the recommendation. The largest amounts come first
    (on a tie, recommendations before findings, then the more severe), then
    high-severity findings without an amount, in the analysis's order; one per
    kind of fix (links, redirects, each finding kind) so that the list names
    different things to do, a second of a kind only when no other kind is left.
    """
    candidates: list[tuple[float, int, int, str, TopFix]] = []
    redirected: set[str] = set()
    if recommendations is not None:
        for rec in recommendations.links:
            candidates.append((rec.gain, 0, 0, "link", _link_fix(rec)))
        for red in recommendations.redirects:
            redirected.add(red.from_url)
            candidates.append((red.gain, 0, 0, "redirect", _redirect_fix(red)))
    unweighed: list[Finding] = []
    for finding in findings or ():
        if finding.kind == "lost_backlinks" and any(p.url in redirected for p in finding.pages):
            continue
        if finding.equity_at_stake is None or finding.equity_at_stake <= 0:
            if finding.severity == "high":
                unweighed.append(finding)
            continue
        fix = TopFix(
            title=finding.title,
            detail=finding.fix,
            gain=None,
            target=finding.id,
            stake=finding.equity_at_stake,
        )
        amount = finding.equity_at_stake
        candidates.append((amount, 1, _severity_rank(finding), finding.kind, fix))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    ordered = [(kind, fix) for amount, _, _, kind, fix in candidates if amount > 0]
    ordered += [
        (f.kind, TopFix(title=f.title, detail=f.fix, gain=None, target=f.id)) for f in unweighed
    ]
    kinds: set[str] = set()
    first: list[TopFix] = []
    later: list[TopFix] = []
    for kind, fix in ordered:
        (later if kind in kinds else first).append(fix)
        kinds.add(kind)
    return (first + later)[:limit]


def _profiles(
    model: EquityModel,
    profiles: Sequence[AnchorProfile],
    position_of_target: Mapping[int, int],
    limit: int,
) -> list[AnchorProfile]:
    """The anchor profiles in the order of the priority table, each cut to ``limit`` rows a side."""
    first_target = _priority(model).first_target
    keyed = []
    for k, profile in enumerate(profiles):
        node = model.graph.node(profile.url)
        target = int(first_target[node]) if node is not None else -1
        keyed.append((position_of_target.get(target, len(position_of_target)), k, profile))
    keyed.sort(key=lambda item: item[:2])
    return [
        replace(p, internal=list(p.internal[:limit]), backlinks=list(p.backlinks[:limit]))
        for _, _, p in keyed
    ]


# -- pages ------------------------------------------------------------------------------------


def _share_text(value: float) -> str:
    percent = value * 100
    return (
        f"{percent:.0f}%"
        if percent >= 1
        else f"{percent:.{max(0, -math.floor(math.log10(percent)))}f}%"
    )


def _equity_bins(equity: np.ndarray) -> list[Bin]:
    positive = equity[equity > 0]
    bins: list[Bin] = []
    zero = int((equity <= 0).sum())
    if zero:
        bins.append(Bin("0", zero))
    if not positive.size:
        return bins
    low = math.floor(math.log10(float(positive.min())))
    high = min(0, math.floor(math.log10(float(positive.max()))))
    decades = np.clip(np.floor(np.log10(positive)).astype(np.int64), low, high)
    counts = np.bincount(decades - low, minlength=high - low + 1)
    for k, count in enumerate(counts.tolist()):
        lo = 10.0 ** (low + k)
        bins.append(Bin(f"{_share_text(lo)}–{_share_text(lo * 10)}", int(count)))
    return bins


def _depth_bins(depth: np.ndarray) -> list[Bin]:
    reached = depth[depth >= 0]
    bins: list[Bin] = []
    if reached.size:
        top = int(reached.max())
        cap = 10
        counts = np.bincount(np.minimum(reached, cap), minlength=min(top, cap) + 1)
        for k, count in enumerate(counts.tolist()):
            bins.append(Bin(f"{k}+" if k == cap else str(k), int(count)))
    unreached = int((depth < 0).sum())
    if unreached:
        bins.append(Bin("not linked", unreached))
    return bins


_INLINK_EDGES: Final = (0, 1, 2, 3, 6, 11, 21, 51, 101, 1001)
_INLINK_LABELS: Final = (
    "0", "1", "2", "3–5", "6–10", "11–20", "21–50", "51–100", "101–1,000", "over 1,000",
)  # fmt: skip


def _inlink_bins(inlinks: np.ndarray) -> list[Bin]:
    index = np.searchsorted(np.asarray(_INLINK_EDGES), inlinks, side="right") - 1
    counts = np.bincount(index, minlength=len(_INLINK_EDGES)).tolist()
    while len(counts) > 1 and counts[-1] == 0:
        counts.pop()
    return [Bin(_INLINK_LABELS[k], int(c)) for k, c in enumerate(counts)]


def _pages_section(model: EquityModel, flags: np.ndarray, config: ReportConfig) -> PagesSection:
    graph = model.graph
    top = np.lexsort((np.arange(model.n), model.rank))[: config.top_pages]
    rows = [
        PageRow(
            url=graph.urls[i],
            title=graph.title[i] or "",
            equity=float(model.equity[i]),
            score=float(model.score[i]),
            rank=int(model.rank[i]),
            depth=_depth(int(graph.depth[i])),
            status=int(graph.status[i]),
            inlinks=int(graph.in_degree[i]),
            referring_domains=int(model.referring_domains[i]),
            deposit=float(model.deposit[i]),
            leaked=float(model.leaked[i].sum()),
            flags=list(_FLAG_LISTS[int(flags[i])]),
        )
        for i in top.tolist()
    ]
    distributions = [
        Distribution(
            "equity", "Equity", "Share of all authority a page holds (log scale)",
            _equity_bins(model.equity),
        ),
        Distribution(
            "depth", "Click depth", "Clicks from the start page", _depth_bins(graph.depth)
        ),
        Distribution(
            "inlinks", "Inlinks", "Distinct internal pages linking to a page",
            _inlink_bins(graph.in_degree),
        ),
    ]  # fmt: skip
    return PagesSection(rows=rows, total=model.n, distributions=distributions)


# -- backlinks --------------------------------------------------------------------------------


def _vendor_rows(store: CrawlStore) -> list[VendorRow]:
    metrics_of = {fmt.key: [name for _, name in fmt.metrics] for fmt in FORMATS}
    imports: dict[str, dict[str, Any]] = {}
    if _table_exists(store, "backlink_imports"):
        for vendor, fmt, rows_read in store.conn.execute(
            "SELECT vendor, format, rows_read FROM backlink_imports ORDER BY id"
        ):
            entry = imports.setdefault(vendor, {"files": 0, "rows": 0, "metrics": []})
            entry["files"] += 1
            entry["rows"] += int(rows_read)
            for name in metrics_of.get(fmt, []):
                if name not in entry["metrics"]:
                    entry["metrics"].append(name)
    merged: dict[str, tuple[int, int, int, int, int]] = {}
    for vendor, backlinks, unique, domains, followed, lost in store.conn.execute(
        "SELECT v.value, count(*), sum(json_array_length(b.vendors) = 1),"
        " count(DISTINCT b.source_domain), sum(b.followed AND NOT b.lost), sum(b.lost)"
        " FROM backlinks AS b, json_each(b.vendors) AS v GROUP BY v.value"
    ):
        merged[str(vendor)] = (backlinks, unique or 0, domains, followed or 0, lost or 0)
    order = list(imports) + sorted(v for v in merged if v not in imports)
    rows = []
    for vendor in order:
        entry = imports.get(vendor, {"files": 0, "rows": 0, "metrics": []})
        backlinks, unique, domains, followed, lost = merged.get(vendor, (0, 0, 0, 0, 0))
        rows.append(
            VendorRow(
                vendor=VENDOR_NAMES.get(vendor, vendor),
                files=entry["files"],
                rows=entry["rows"],
                backlinks=int(backlinks),
                unique=int(unique),
                referring_domains=int(domains),
                followed=int(followed),
                lost=int(lost),
                metric="/".join(entry["metrics"]),
            )
        )
    return rows


def _anchor_rows(
    store: CrawlStore, limit: int, is_vague: Callable[[str], bool]
) -> tuple[list[AnchorRow], int]:
    live = "followed = 1 AND lost = 0"
    total = int(store.conn.execute(f"SELECT count(*) FROM backlinks WHERE {live}").fetchone()[0])
    if not total:
        return [], 0
    distinct = int(
        store.conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM backlinks"
            f" WHERE {live} GROUP BY coalesce(anchor, '') COLLATE NOCASE)"
        ).fetchone()[0]
    )
    rows = [
        AnchorRow(
            anchor=str(anchor),
            backlinks=int(count),
            referring_domains=int(domains),
            share=count / total,
            vague=is_vague(str(anchor)),
        )
        for anchor, count, domains in store.conn.execute(
            "SELECT min(coalesce(anchor, '')), count(*), count(DISTINCT source_domain)"
            f" FROM backlinks WHERE {live} GROUP BY coalesce(anchor, '') COLLATE NOCASE"
            " ORDER BY count(*) DESC, count(DISTINCT source_domain) DESC, 1 LIMIT ?",
            (limit,),
        )
    ]
    return rows, distinct


def _status_of(store: CrawlStore, url: str | None) -> int | None:
    if not url:
        return None
    row = store.conn.execute(
        "SELECT p.status FROM pages AS p JOIN urls AS u ON u.id = p.url_id WHERE u.url = ?", (url,)
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _backlinks_section(
    model: EquityModel,
    store: CrawlStore,
    config: ReportConfig,
    reverse: np.ndarray | None,
    *,
    redirect_targets: Mapping[str, str],
    is_vague: Callable[[str], bool],
) -> BacklinksSection:
    graph = model.graph
    merged, domains, followed = store.conn.execute(
        "SELECT count(*), count(DISTINCT source_domain), coalesce(sum(followed AND NOT lost), 0)"
        " FROM backlinks"
    ).fetchone()
    lost_targets = [item for item in model.lost_equity if item.lost]
    lost = []
    for item in lost_targets[: config.top_rows]:
        status = None if item.outcome == "loop" else _status_of(store, item.final_url or item.url)
        # The gap analysis's suggestion (the live page most like the dead URL) is the
        # one the findings and the redirect recommendations use: the table shows it too.
        redirect_to = redirect_targets.get(item.url, "")
        redirect_node = graph.node(redirect_to) if redirect_to else None
        lost.append(
            LostTarget(
                url=item.url,
                status=status,
                referring_domains=item.referring_domains,
                backlinks=item.backlinks,
                lost_share=item.share,
                redirect_to=redirect_to,
                redirect_title=(graph.title[redirect_node] or "")
                if redirect_node is not None
                else "",
            )
        )
    anchors, anchors_total = _anchor_rows(store, config.top_rows, is_vague)
    landing_nodes = np.flatnonzero(model.referring_domains > 0)
    order = landing_nodes[np.lexsort((landing_nodes, -model.deposit[landing_nodes]))]
    landing = [
        LandingRow(
            url=graph.urls[i],
            title=graph.title[i] or "",
            referring_domains=int(model.referring_domains[i]),
            deposit=float(model.deposit[i]),
            to_priority=float(min(1.0, reverse[i])) if reverse is not None else 0.0,
        )
        for i in order[: config.top_rows].tolist()
    ]
    return BacklinksSection(
        vendors=_vendor_rows(store),
        merged=int(merged),
        referring_domains=int(domains),
        followed=int(followed),
        target_pages=int(landing_nodes.size),
        lost_share=float(model.budget.lost_backlink_share),
        lost=lost,
        lost_total=len(lost_targets),
        anchors=anchors,
        anchors_total=anchors_total,
        landing=landing,
        landing_total=int(landing_nodes.size),
    )


# -- comparison ----------------------------------------------------------------------------


def _live_urls(store: CrawlStore) -> Callable[[], Iterator[str]]:
    def urls() -> Iterator[str]:
        cursor = store.conn.execute(
            "SELECT u.url FROM pages AS p JOIN urls AS u ON u.id = p.url_id"
            " WHERE p.kind = 'html' AND p.status = 200"
        )
        while batch := cursor.fetchmany(10_000):
            for (url,) in batch:
                yield url

    return urls


def _comparison(
    previous: PreviousRun,
    store: CrawlStore,
    summary: Summary,
    priority: PrioritySection,
    findings: Sequence[Finding] | None,
) -> Comparison | None:
    pages_csv = previous.report_dir / "data" / "pages.csv"
    try:
        return compare_runs(
            previous,
            summary=summary,
            priority=priority.pages,
            findings=[FindingRef(f.id, f.title, f.severity) for f in findings or ()],
            current_live_urls=_live_urls(store),
            previous_live_urls=lambda: live_urls_from_pages_csv(pages_csv),
            limit=_COMPARISON_LIMIT,
            findings_computed=findings is not None,
        )
    except ReportDataError as exc:
        logger.warning("Not compared with the previous run: %s", exc)
        return None


# -- the view ----------------------------------------------------------------------------------


def _findings_index(
    findings: Sequence[Finding] | None,
) -> Callable[[Iterable[str]], list[FindingRef]]:
    by_url: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings or ():
        for page in finding.pages:
            by_url[page.url].append(finding)

    def findings_of(urls: Iterable[str]) -> list[FindingRef]:
        seen: dict[str, Finding] = {}
        for url in urls:
            for finding in by_url.get(url, ()):
                seen.setdefault(finding.id, finding)
        ordered = sorted(seen.values(), key=_finding_key)
        return [FindingRef(f.id, f.title, f.severity) for f in ordered]

    return findings_of


def _vendors(store: CrawlStore) -> list[str]:
    names: list[str] = []
    if _table_exists(store, "backlink_imports"):
        for (vendor,) in store.conn.execute(
            "SELECT vendor FROM backlink_imports GROUP BY vendor ORDER BY min(id)"
        ):
            names.append(VENDOR_NAMES.get(vendor, vendor))
    if not names:
        for (vendors,) in store.conn.execute("SELECT DISTINCT vendors FROM backlinks LIMIT 1000"):
            for vendor in json.loads(vendors or "[]"):
                name = VENDOR_NAMES.get(vendor, vendor)
                if name not in names:
                    names.append(name)
    return names


def build_view(
    model: EquityModel,
    store: CrawlStore,
    config: ReportConfig | None = None,
    *,
    analysis: Analysis | None = None,
    gaps_config: GapsConfig | None = None,
    previous: PreviousRun | None = None,
    generated_at: datetime | None = None,
    run_id: str | None = None,
) -> ReportView:
    """Build everything the report shows from a solved model and its store.

    Parameters
    ----------
    model : EquityModel
        From :func:`reports.equity.compute_equity` on the store's graph.
    store : CrawlStore
        The run's store (meta, backlinks, anchors of route links, URL kinds).
    config : ReportConfig, optional
        Limits of the HTML tables (defaults: :class:`ReportConfig` defaults).
    analysis : Analysis, optional
        The gap analysis's results (:func:`reports.analysis.analyse`):
        findings, recommendations, anchor profiles, suggested redirects.
        ``None``: it did not run; the report says *not computed* (an empty
        list of findings means it ran and found nothing).
    gaps_config : GapsConfig, optional
        The ``GAPS_*`` settings the analysis ran with: its vague-anchor list
        marks the backlink anchors too (default: the default list).
    previous : PreviousRun, optional
        The previous run of the same site (:func:`reports.compare.load_previous`);
        its ``data/pages.csv`` is read for the pages gained and lost.
    generated_at : datetime, optional
        When the report is made (now, by default; tests pin it).
    run_id : str, optional
        The run's name (default: the run folder's name).

    Returns
    -------
    ReportView
    """
    config = config or ReportConfig()
    gaps_config = gaps_config or GapsConfig()
    generated_at = generated_at or datetime.now(UTC)
    findings = list(analysis.findings) if analysis is not None else None
    recommendations = analysis.recommendations if analysis is not None else None
    priority = _priority(model)
    reverse = model.reverse_vector(priority.nodes) if priority.nodes.size else None
    to_priority = (
        model.section_contribution(priority.nodes)
        if priority.nodes.size
        else np.zeros(len(model.sections.names))
    )
    flags = node_flags(model, store)
    findings_of = _findings_index(findings)
    priority_section, position_of_target = _priority_section(model, store, config, findings_of)
    if analysis is not None and analysis.anchor_profiles:
        priority_section = replace(
            priority_section,
            anchor_profiles=_profiles(
                model, analysis.anchor_profiles, position_of_target, config.profile_anchors
            ),
        )
    backlinks = _backlinks_section(
        model,
        store,
        config,
        reverse,
        redirect_targets=analysis.redirect_targets if analysis is not None else {},
        is_vague=gaps_config.is_vague,
    )
    home = _home_node(model)
    summary = Summary(
        pages_crawled=model.n,
        backlinks=backlinks.merged,
        referring_domains=backlinks.referring_domains,
        vendors=_vendors(store) if backlinks.merged else [],
        priority_share=float(model.equity[priority.nodes].sum()),
        priority_pages=int(priority.nodes.size),
        priority_guessed=priority_section.guessed,
        home_share=float(model.equity[home]) if home is not None else 0.0,
        leaked_share=float(model.budget.leaked_total),
        top_fixes=_top_fixes(findings, recommendations, config.top_fixes),
    )
    comparison = (
        _comparison(previous, store, summary, priority_section, findings)
        if previous is not None
        else None
    )
    return ReportView(
        run=_run_info(model, store, generated_at, run_id),
        crawl=_crawl_info(model, store),
        summary=summary,
        budget=_budget(model, priority, config, to_priority),
        priority=priority_section,
        findings=_findings_section(
            findings, config, analysis.kind_totals if analysis is not None else {}
        ),
        recommendations=_recommendations_section(recommendations, config),
        pages=_pages_section(model, flags, config),
        backlinks=backlinks,
        comparison=comparison,
    )
