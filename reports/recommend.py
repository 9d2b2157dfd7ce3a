"""Recommendations: the internal links to add, and the redirects to add for lost backlinks.

:func:`recommend_links` chooses a **set** of K contextual links that raise the
priority pages' total equity the most, each with the gain the equity model
predicts for it:

1. For each priority page (up to ``GAPS_TARGETS``, the weakest pages of each
   target first), every indexable 200 page that is not a meta-nofollow page,
   not over ``GAPS_MAX_OUTLINKS`` links and not already linking to it from its
   content is a candidate source, if its topical relevance to the page
   (:mod:`reports.relevance`) is at least ``GAPS_MIN_RELEVANCE``.
2. :func:`reports.equity.link_gain_estimates` ranks all candidates at once by
   the gain in the priority pages' total equity, within proven bounds; the best
   ``GAPS_CANDIDATES`` by ``score = gain * relevance ** GAPS_RELEVANCE_WEIGHT``
   (and any other whose upper bound could beat them) are confirmed with an exact
   :func:`reports.equity.simulate`.
3. The set is grown greedily with recomputation (lazy greedy): the candidate
   with the best score is re-simulated together with the links already chosen,
   and taken only if its *marginal* score still beats every other candidate's
   last known score; otherwise it goes back with its new score. So each link's
   gain is its marginal gain given the links before it, the gains add up to the
   set's gain, and the set's gain is the model's answer for all K links at once
   (one ``simulate`` with the whole set), not a sum of independent guesses.

:func:`recommend_redirects` simulates, for each backlinked URL that answers an
error or loops, a 301 to its closest live page, and reports the authority it
recovers.

Pure computation over the model and the store; no Scrapy, Twisted or jinja2.
"""

from __future__ import annotations

import heapq
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

import numpy as np

from pipelines.storedb import POSITIONS, CrawlStore
from reports.equity import EquityModel, WhatIfResult, link_gain_estimates, simulate
from reports.gaps import (
    backlink_anchors,
    finding_id,
    links_to,
    lost_backlink_targets,
    open_store,
    priority_nodes,
    short_title,
    suggest_redirect,
)
from reports.gaps_config import GapsConfig, normalise_anchor
from reports.graph import NOFOLLOW, SiteGraph
from reports.relevance import TopicIndex, build_topic_index

__all__ = [
    "Candidate",
    "Recommendation",
    "Recommendations",
    "RedirectRecommendation",
    "recommend_links",
    "recommend_redirects",
    "suggest_anchor",
]

POSITION: Final = "content"
_MAX_ANCHOR_CHARS: Final = 70
_MAX_ANCHOR_WORDS: Final = 10
# Below this the gain of a link is within the what-if's own error: not a gain.
_GAIN_FLOOR: Final = 1e-12


@dataclass(frozen=True, slots=True)
class Candidate:
    """A source page for one priority page, with its exact single-link gain.

    Attributes
    ----------
    source_url, source_title, target_url : str
    gain : float
        Change in the priority pages' total share if this link alone is added
        (an exact what-if).
    target_gain : float
        Change in the target page's own share from this link alone.
    estimate : float
        The one-pass estimate it was shortlisted by.
    relevance : float
        Topical relevance of source and target (cosine, 0-1).
    score : float
        ``gain * relevance ** GAPS_RELEVANCE_WEIGHT``: what candidates are ranked by.
    """

    source_url: str
    source_title: str
    target_url: str
    gain: float
    target_gain: float
    estimate: float
    relevance: float
    score: float


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A link to add, as part of the chosen set.

    Maps one to one onto ``reports.view.LinkRecommendation`` (same field
    names; ``gain`` there is this ``gain``).

    Attributes
    ----------
    id : str
        Stable run to run: ``link-<target slug>-<hash of source and target>``.
    order : int
        1-based position in the greedy order.
    source_url, source_title : str
        The page to add the link on (in its body text).
    target_url, target_title : str
        The priority page to link to.
    anchor : str
        Suggested anchor (never a vague one).
    position : str
        Where the link goes (``content``).
    gain : float
        The link's marginal gain in the priority pages' total share, given the
        links before it in the set; the gains of the set add up to
        :attr:`Recommendations.set_gain`.
    single_gain : float
        Its gain had it been added alone.
    target_gain : float
        Change in the target's own share with the whole set added.
    equity_before, equity_after : float
        The target's share before and with the whole set.
    rank_before, rank_after : int
        The target's rank (1 = most equity) before and with the whole set.
    relevance : float
        Topical relevance, 0-1.
    score : float
        ``gain * relevance ** GAPS_RELEVANCE_WEIGHT`` when it was chosen.
    """

    id: str
    order: int
    source_url: str
    source_title: str
    target_url: str
    target_title: str
    anchor: str
    position: str
    gain: float
    single_gain: float
    target_gain: float
    equity_before: float
    equity_after: float
    rank_before: int
    rank_after: int
    relevance: float
    score: float


@dataclass(frozen=True, slots=True)
class RedirectRecommendation:
    """A 301 to add so the backlinks of a dead URL count again.

    Maps onto ``reports.view.RedirectRecommendation`` (same names; the view
    has no ``priority_gain``, ``via_url`` or ``similarity``).

    Attributes
    ----------
    id : str
        ``redirect-<slug>-<hash>`` of the dead URL.
    from_url : str
        The backlinked URL to redirect.
    status : int or None
        What it answers now (``None``: a redirect loop or no answer).
    via_url : str or None
        Where its current redirects end when that is the error (the redirect
        to change), else ``None``.
    to_url, to_title : str
        The live page to redirect to.
    referring_domains, backlinks : int
    gain : float
        Share of authority the pages hold in addition once it redirects (the
        recovered backlink authority minus what then leaks), in the base
        model's units.
    priority_gain : float
        The priority pages' part of ``gain``.
    similarity : float
        How closely the target matches the dead URL (0: chosen by the
        fallback: the closest page up the path, or the start page).
    """

    id: str
    from_url: str
    status: int | None
    via_url: str | None
    to_url: str
    to_title: str
    referring_domains: int
    backlinks: int
    gain: float
    priority_gain: float
    similarity: float


@dataclass(frozen=True)
class Recommendations:
    """The links and redirects to add.

    Attributes
    ----------
    links : tuple of Recommendation
        The chosen set, in greedy order.
    set_gain : float
        The model's predicted change in the priority pages' total share with
        every link of the set added together (one what-if with the whole set).
    priority_before, priority_after : float
        The priority pages' total share before and with the set.
    candidates : dict of str to tuple of Candidate
        Per target URL, the confirmed candidates, best score first.
    targets : tuple of str
        The priority pages links were looked for, in order.
    redirects : tuple of RedirectRecommendation
        Largest gain first.
    redirects_total : int
        Lost-equity URLs (the ones simulated are at most ``GAPS_REDIRECTS``).
    note : str
        Why there are no link recommendations, when there are none.
    set_result : WhatIfResult or None
        The what-if with the whole set (every page's equity after it).
    seconds : dict of str to float
    """

    links: tuple[Recommendation, ...]
    set_gain: float
    priority_before: float
    priority_after: float
    candidates: dict[str, tuple[Candidate, ...]]
    targets: tuple[str, ...]
    redirects: tuple[RedirectRecommendation, ...] = ()
    redirects_total: int = 0
    note: str = ""
    set_result: WhatIfResult | None = field(default=None, repr=False)
    seconds: dict[str, float] = field(default_factory=dict)


# -- anchors ----------------------------------------------------------------------------------


def _clean_anchor(text: str | None) -> str:
    if not text:
        return ""
    words = " ".join(text.split()).split(" ")
    if len(words) > _MAX_ANCHOR_WORDS:
        return ""
    anchor = " ".join(words)
    return anchor if 2 <= len(anchor) <= _MAX_ANCHOR_CHARS else ""


def _best_existing_anchor(
    graph: SiteGraph, model: EquityModel, conn: sqlite3.Connection, page: int, config: GapsConfig
) -> str:
    """The anchor of the links to ``page`` that carry the most authority (not vague, not empty)."""
    ids = np.flatnonzero(graph.url_final == graph.node_url_id[page])
    weights = np.asarray(graph.position_weights)
    scale = model.config.damping / (1.0 - model.config.damping)
    carried: dict[str, float] = {}
    shown: dict[str, str] = {}
    for row in links_to(conn, ids.tolist(), limit=5000):
        u = int(graph.node_of_url[row.src_id])
        text = _clean_anchor(row.anchor)
        if u < 0 or not text or not row.followed or config.is_vague(text) or row.is_image:
            continue
        key = normalise_anchor(text)
        weight = weights[POSITIONS.index(row.position)] / max(float(graph.weight_total[u]), 1e-300)
        carried[key] = carried.get(key, 0.0) + scale * float(model.equity[u]) * weight
        shown.setdefault(key, text)
    if not carried:
        return ""
    best = min(carried, key=lambda k: (-carried[k], k))
    return shown[best]


def _slug_words(url: str) -> str:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if not segments:
        return ""
    words = re.split(r"[-_+.\s]+", unquote(segments[-1]))
    words = [w for w in words if w and not w.isdigit() and w.lower() not in ("html", "htm", "php")]
    return " ".join(words)


def suggest_anchor(
    model: EquityModel, conn: sqlite3.Connection, page: int, config: GapsConfig | None = None
) -> str:
    """The anchor to use for a new link to ``page``; never a vague one.

    The page's h1 when it is short enough (at most 10 words, 70 characters),
    else its title without the site-name suffix, else the anchor of the
    existing links that carry the most authority to it, else the words of its
    URL's last segment. Candidates that are vague anchors
    (``GAPS_VAGUE_ANCHORS``) are skipped; the URL itself is the last resort.
    """
    config = config or GapsConfig()
    graph = model.graph
    row = conn.execute(
        "SELECT h1 FROM pages WHERE url_id = ?", (int(graph.node_url_id[page]),)
    ).fetchone()
    h1 = row[0] if row else None

    def candidates() -> list[str]:
        return [
            _clean_anchor(short_title(h1)),
            _clean_anchor(short_title(graph.title[page])),
            _best_existing_anchor(graph, model, conn, page, config),
            _clean_anchor(_slug_words(graph.urls[page])),
        ]

    for text in candidates():
        if text and not config.is_vague(text) and re.search(r"[^\W\d_]", text):
            return text
    return graph.urls[page]


# -- targets and candidates ---------------------------------------------------------------------


def _targets(model: EquityModel, limit: int) -> list[int]:
    """Priority pages to recommend links for: the weakest pages of each target, in turn."""
    queues = []
    for result in model.priority:
        nodes = result.target.nodes
        if nodes.size:
            queues.append(list(nodes[np.lexsort((nodes, model.equity[nodes]))].tolist()))
    chosen: list[int] = []
    seen: set[int] = set()
    while len(chosen) < limit and any(queues):
        for queue in queues:
            while queue and queue[0] in seen:
                queue.pop(0)
            if queue and len(chosen) < limit:
                page = queue.pop(0)
                seen.add(page)
                chosen.append(int(page))
    return chosen


def _rank_of(equity: np.ndarray, page: int) -> int:
    """1-based rank of ``page`` in ``equity`` (ties by node order, as the model ranks)."""
    value = equity[page]
    return int((equity > value).sum() + (equity[:page] == value).sum() + 1)


@dataclass
class _Pool:
    """A candidate link during the greedy choice."""

    source: int
    target: int
    relevance: float
    weight: float  # relevance ** GAPS_RELEVANCE_WEIGHT
    single_gain: float
    gain: float  # last known marginal gain
    fresh_at: int  # set size the gain was computed against
    result: WhatIfResult | None = None

    @property
    def score(self) -> float:
        return self.gain * self.weight


def _shortlist(
    model: EquityModel,
    page: int,
    *,
    goal: np.ndarray,
    eligible: np.ndarray,
    relevance: np.ndarray,
    config: GapsConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate sources for ``page`` worth an exact what-if, and their estimates."""
    graph = model.graph
    content = graph.position_weights[POSITIONS.index(POSITION)]
    mask = eligible & (relevance >= config.min_relevance)
    mask[page] = False
    # Pages already linking it from the content (or more strongly) add nothing;
    # a nofollow link to it is a finding (internal_nofollow), not a new link.
    transition = graph.transition
    lo, hi = int(transition.indptr[page]), int(transition.indptr[page + 1])
    sources = transition.indices[lo:hi]
    existing = transition.data[lo:hi] * graph.weight_total[sources]
    mask[sources[existing >= content * (1 - 1e-12)]] = False
    assert graph.leaks.kind is not None
    nofollowed = (graph.leaks.target == graph.node_url_id[page]) & (graph.leaks.kind == NOFOLLOW)
    if nofollowed.any():
        rows = np.searchsorted(graph.leaks.ptr, np.flatnonzero(nofollowed), side="right") - 1
        mask[rows] = False
    candidates = np.flatnonzero(mask)
    if not candidates.size:
        return candidates, np.zeros(0)
    found = link_gain_estimates(model, page, goal=goal, position=POSITION, sources=candidates)
    weight = relevance[found.sources] ** config.relevance_weight
    score = found.estimate * weight
    positive = score > 0
    if not positive.any():
        return np.zeros(0, np.int64), np.zeros(0)
    order = np.lexsort((found.sources, -score))
    order = order[positive[order]]
    keep = order[: config.candidates]
    # Any other source whose upper bound could beat the weakest kept one's lower
    # bound is confirmed too (the bounds are tight, so these are few).
    floor = float((found.lower[keep] * weight[keep]).min())
    rest = order[config.candidates :]
    contenders = rest[(found.upper[rest] * weight[rest]) >= floor][: 2 * config.candidates]
    chosen = np.concatenate([keep, contenders])
    return found.sources[chosen].astype(np.int64), found.estimate[chosen]


def _eligible_sources(model: EquityModel, config: GapsConfig) -> np.ndarray:
    graph = model.graph
    outlinks = np.diff(graph.flows.ptr) + np.diff(graph.leaks.ptr)
    return (
        (graph.status == 200) & ~graph.noindex & ~graph.nofollow & (outlinks <= config.max_outlinks)
    )


# -- the entry points ----------------------------------------------------------------------------


def recommend_links(
    model: EquityModel,
    store: CrawlStore | str | Path | None = None,
    config: GapsConfig | None = None,
    *,
    index: TopicIndex | None = None,
    redirects: bool = True,
) -> Recommendations:
    """Choose the links (and redirects) to add, with the gains the model predicts.

    Parameters
    ----------
    model : EquityModel
        Its priority targets are the pages to help.
    store : CrawlStore, str or Path, optional
        The run's store; default the file the graph was loaded from.
    config : GapsConfig, optional
    index : TopicIndex, optional
        The topical index when already built (built here otherwise).
    redirects : bool
        Also recommend redirects for lost backlink equity.

    Returns
    -------
    Recommendations
    """
    config = config or GapsConfig()
    graph = model.graph
    seconds: dict[str, float] = {}
    goal = priority_nodes(model)
    before = float(model.equity[goal].sum()) if goal.size else 0.0
    with open_store(store, graph) as conn:
        clock = time.perf_counter()
        if index is None:
            index = build_topic_index(graph, conn)
        seconds["relevance index"] = time.perf_counter() - clock
        redirect_list: tuple[RedirectRecommendation, ...] = ()
        redirects_total = 0
        if redirects:
            clock = time.perf_counter()
            redirect_list, redirects_total = _redirects(model, conn, config, index, goal)
            seconds["redirects"] = time.perf_counter() - clock
        if not goal.size:
            note = "no priority pages: give a priority file (-a priority=FILE) or EQUITY_PRIORITY"
            return _empty(note, 0.0, redirect_list, redirects_total, seconds)
        if config.links == 0:
            note = "GAPS_LINKS is 0"
            return _empty(note, before, redirect_list, redirects_total, seconds)
        targets = _targets(model, config.targets)
        clock = time.perf_counter()
        pool, candidates = _candidates(model, index, goal, targets, config)
        seconds["candidates"] = time.perf_counter() - clock
        clock = time.perf_counter()
        chosen, result = _greedy(model, goal, pool, config)
        seconds["greedy"] = time.perf_counter() - clock
        clock = time.perf_counter()
        links = _describe(model, conn, config, chosen, result)
        seconds["describe"] = time.perf_counter() - clock
    after = float(result.equity[goal].sum()) if result is not None else before
    note = "" if links else "no source page is both relevant and able to raise the priority pages"
    return Recommendations(
        links=tuple(links),
        set_gain=after - before,
        priority_before=before,
        priority_after=after,
        candidates={graph.urls[t]: tuple(candidates.get(t, ())) for t in targets},
        targets=tuple(graph.urls[t] for t in targets),
        redirects=redirect_list,
        redirects_total=redirects_total,
        note=note,
        set_result=result,
        seconds=seconds,
    )


def _empty(
    note: str,
    priority: float,
    redirects: tuple[RedirectRecommendation, ...],
    redirects_total: int,
    seconds: dict[str, float],
) -> Recommendations:
    return Recommendations(
        links=(),
        set_gain=0.0,
        priority_before=priority,
        priority_after=priority,
        candidates={},
        targets=(),
        redirects=redirects,
        redirects_total=redirects_total,
        note=note,
        seconds=seconds,
    )


def _candidates(
    model: EquityModel,
    index: TopicIndex,
    goal: np.ndarray,
    targets: list[int],
    config: GapsConfig,
) -> tuple[list[_Pool], dict[int, list[Candidate]]]:
    """Shortlist per target with the one-pass estimates, confirm each with a what-if."""
    graph = model.graph
    eligible = _eligible_sources(model, config)
    pool: list[_Pool] = []
    candidates: dict[int, list[Candidate]] = {}
    for page in targets:
        relevance = index.similarity(page)
        sources, estimates = _shortlist(
            model, page, goal=goal, eligible=eligible, relevance=relevance, config=config
        )
        found = []
        for source, estimate in zip(sources.tolist(), estimates.tolist(), strict=True):
            what = simulate(model, add=[(source, page, POSITION)])
            gain = what.gain(goal)
            weight = float(relevance[source]) ** config.relevance_weight
            found.append(
                Candidate(
                    source_url=graph.urls[source],
                    source_title=graph.title[source] or "",
                    target_url=graph.urls[page],
                    gain=gain,
                    target_gain=float(what.delta[page]),
                    estimate=float(estimate),
                    relevance=float(relevance[source]),
                    score=gain * weight,
                )
            )
            if gain > _GAIN_FLOOR:
                pool.append(
                    _Pool(source, page, float(relevance[source]), weight, gain, gain, 0, None)
                )
        found.sort(key=lambda c: (-c.score, c.source_url))
        candidates[page] = found
    return pool, candidates


def _greedy(
    model: EquityModel, goal: np.ndarray, pool: list[_Pool], config: GapsConfig
) -> tuple[list[_Pool], WhatIfResult | None]:
    """Lazy greedy choice of up to ``GAPS_LINKS`` links, each gain marginal to the set."""
    heap = [(-item.score, item.source, item.target, i) for i, item in enumerate(pool)]
    heapq.heapify(heap)
    chosen: list[_Pool] = []
    state: WhatIfResult | None = None
    current = 0.0
    per_target: dict[int, int] = {}
    per_source: dict[int, int] = {}
    while heap and len(chosen) < config.links:
        _, _, _, i = heapq.heappop(heap)
        item = pool[i]
        if (
            per_target.get(item.target, 0) >= config.links_per_target
            or per_source.get(item.source, 0) >= config.links_per_source
        ):
            continue
        if item.fresh_at != len(chosen) or item.result is None:
            links = [(c.source, c.target, POSITION) for c in chosen]
            links.append((item.source, item.target, POSITION))
            item.result = simulate(model, add=links, start=state)
            item.gain = item.result.gain(goal) - current
            fresh = item.fresh_at == len(chosen)
            item.fresh_at = len(chosen)
            if item.gain <= _GAIN_FLOOR:
                item.result = None
                continue
            if not fresh and heap and item.score < -heap[0][0]:
                # Another candidate's last known score is better: look at it first.
                heapq.heappush(heap, (-item.score, item.source, item.target, i))
                continue
        chosen.append(item)
        state = item.result
        current += item.gain
        per_target[item.target] = per_target.get(item.target, 0) + 1
        per_source[item.source] = per_source.get(item.source, 0) + 1
        # The other candidates' results were computed against the previous set.
        for other in pool:
            if other is not item:
                other.result = None
    return chosen, state


def _describe(
    model: EquityModel,
    conn: sqlite3.Connection,
    config: GapsConfig,
    chosen: list[_Pool],
    result: WhatIfResult | None,
) -> list[Recommendation]:
    graph = model.graph
    out = []
    anchors: dict[int, str] = {}
    for order, item in enumerate(chosen, start=1):
        page = item.target
        if page not in anchors:
            anchors[page] = suggest_anchor(model, conn, page, config)
        after = result.equity if result is not None else model.equity
        source_url, target_url = graph.urls[item.source], graph.urls[page]
        out.append(
            Recommendation(
                id=finding_id(
                    "link", _site_relative(target_url) + " <- " + _site_relative(source_url)
                ),
                order=order,
                source_url=source_url,
                source_title=graph.title[item.source] or "",
                target_url=target_url,
                target_title=graph.title[page] or "",
                anchor=anchors[page],
                position=POSITION,
                gain=item.gain,
                single_gain=item.single_gain,
                target_gain=float(after[page] - model.equity[page]),
                equity_before=float(model.equity[page]),
                equity_after=float(after[page]),
                rank_before=int(model.rank[page]),
                rank_after=_rank_of(after, page),
                relevance=item.relevance,
                score=item.score,
            )
        )
    return out


def _site_relative(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + ("?" + parts.query if parts.query else "")


# -- redirects ------------------------------------------------------------------------------------


def _redirects(
    model: EquityModel,
    conn: sqlite3.Connection,
    config: GapsConfig,
    index: TopicIndex,
    goal: np.ndarray,
) -> tuple[tuple[RedirectRecommendation, ...], int]:
    graph = model.graph
    lost = lost_backlink_targets(model)
    chosen = lost[: config.redirects]
    ids = {entry.url: graph.resolve(entry.url).url_id for entry in chosen}
    anchors = backlink_anchors(conn, (i for i in ids.values() if i is not None))
    out = []
    for entry in chosen:
        url_id = ids[entry.url]
        match = suggest_redirect(
            graph, index, entry.url, anchors.get(url_id, ()) if url_id is not None else ()
        )
        if match is None:
            continue
        target = match.node
        via = entry.final_url if entry.final_url and entry.final_url != entry.url else None
        end = graph.resolve(via or entry.url)
        try:
            what = simulate(model, redirects={end.url: int(target)})
        except ValueError:
            continue  # the model cannot apply it (e.g. the end is not where links stop)
        row = (
            conn.execute("SELECT status FROM pages WHERE url_id = ?", (end.url_id,)).fetchone()
            if end.url_id is not None
            else None
        )
        status = int(row[0]) if row and row[0] is not None and entry.outcome != "loop" else None
        out.append(
            RedirectRecommendation(
                id=finding_id("redirect", _site_relative(entry.url)),
                from_url=entry.url,
                status=status,
                via_url=via,
                to_url=graph.urls[target],
                to_title=graph.title[target] or "",
                referring_domains=entry.referring_domains,
                backlinks=entry.backlinks,
                gain=what.held - model.budget.held,
                priority_gain=what.gain(goal) if goal.size else 0.0,
                similarity=match.score,
            )
        )
    out.sort(key=lambda r: (-r.gain, r.from_url))
    return tuple(out), len(lost)


def recommend_redirects(
    model: EquityModel,
    store: CrawlStore | str | Path | None = None,
    config: GapsConfig | None = None,
    *,
    index: TopicIndex | None = None,
) -> tuple[RedirectRecommendation, ...]:
    """Only the redirects (see :func:`recommend_links`), largest gain first."""
    config = config or GapsConfig()
    with open_store(store, model.graph) as conn:
        if index is None:
            index = build_topic_index(model.graph, conn)
        found, _ = _redirects(model, conn, config, index, priority_nodes(model))
    return found
