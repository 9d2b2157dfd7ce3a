"""The equity model: where authority enters a site, how it flows, where it leaks.

Exactly the model of DESIGN.md §2 (``docs/equity.md`` is the user-facing
account, with the few places where this implementation refines it and why):

* source ``t = (1 - beta) * uniform + beta * b``, ``b`` from the live followed
  backlinks, one vote per referring domain and page, authority-weighted;
* equity ``x = (1 - d) t + d P^T x`` with the leaking shares missing from ``P``;
* budget ``sum(x) + sum_k leak_k = 1`` with ``leak_k = d/(1-d) sum_u x_u leakshare_k(u)``.

Units. Everything is a share of the authority that entered (the deposits sum to
1). Per page, ``m = x / (1 - d)`` is the authority that reaches the page in
total; of it the page *holds* ``x`` (its equity), *forwards* ``d * m`` times its
internal share and *leaks* ``d * m`` times each leak share, so that
``deposit + inflow = equity + forwarded + leaked`` exactly for every page, and
section flows add up the same way.

Solving. Fixed-point iterations accelerated by Anderson mixing; the answer is
always one plain step ``F(z)`` from the last iterate, whose error is then
provably at most ``d/(1-d) * |F(z) - z|`` in the norm where ``d P^T`` contracts
(L1 for equity, max-norm for the reverse solves). That bound is checked against
``EQUITY_TOLERANCE`` and reported, so the tolerance is an absolute L1 error,
not networkx's per-node rule.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.sparse as sp

from pipelines.storedb import POSITIONS
from reports.config import EquityConfig
from reports.graph import (
    LEAK_KINDS,
    NOFOLLOW,
    O_LOOP,
    O_NODE,
    OUTCOMES,
    SiteGraph,
    _classify,
    _keep_strongest,
    _Packing,
    _strength,
    _weight_rank,
)
from reports.priority import PriorityTarget, priority_targets

__all__ = [
    "Attribution",
    "Budget",
    "ConvergenceError",
    "EmptyGraphError",
    "EquityModel",
    "LinkGainEstimates",
    "LostEquity",
    "PriorityResult",
    "Route",
    "Sections",
    "SolveInfo",
    "WhatIfResult",
    "compute_equity",
    "link_gain_estimates",
    "simulate",
    "solve_equity",
    "to_networkx",
]

_ANDERSON_MEMORY: Final = 3
_TOP_LANDING: Final = 20
_ROUTE_EXPANSIONS: Final = 200_000
OTHER_SECTION: Final = "(other)"


class ConvergenceError(RuntimeError):
    """The solver hit ``EQUITY_MAX_ITERATIONS`` before reaching the tolerance."""


class EmptyGraphError(ValueError):
    """The run has no crawled 200 HTML page: there is nothing to model."""


# -- the solver ---------------------------------------------------------------


@dataclass(frozen=True)
class SolveInfo:
    """How a linear solve went.

    Attributes
    ----------
    iterations : int
        Applications of the fixed-point map (one sparse mat-vec each).
    error_bound : float
        Proven bound on the error of the returned vector (L1 for equity and
        what-ifs, max-norm for reverse solves).
    seconds : float
    """

    iterations: int
    error_bound: float
    seconds: float


def _l1(v: np.ndarray) -> float:
    return float(np.abs(v).sum())


def _linf(v: np.ndarray) -> float:
    return float(np.abs(v).max()) if v.size else 0.0


def _solve_fixed_point(
    step: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    *,
    contraction: float,
    norm: Callable[[np.ndarray], float],
    tolerance: float,
    max_iterations: int,
    nonnegative: bool = False,
    memory: int = _ANDERSON_MEMORY,
) -> tuple[np.ndarray, SolveInfo]:
    """Fixed point of an affine map whose linear part has norm <= ``contraction``.

    Anderson mixing over the last ``memory`` steps, safeguarded: when a mixed
    point does worse than the plain step it replaced, the history is dropped
    and the plain step taken, so the iteration is never slower than Jacobi by
    more than one step per failure. The result is a plain step ``F(z)`` with
    ``|x* - F(z)| <= c/(1-c) |F(z) - z|``, which is what the tolerance bounds.
    """
    clock = time.perf_counter()
    factor = contraction / (1.0 - contraction)
    n = start.size
    x = np.array(start, dtype=np.float64, copy=True)
    fx = step(x)
    g = fx - x
    residual = norm(g)
    iterations = 1
    # Differences of the last steps: of F(x) (which is x + g) and of g.
    d_f = np.empty((n, memory), dtype=np.float64, order="F")
    d_g = np.empty((n, memory), dtype=np.float64, order="F")
    stored = 0
    head = 0
    previous: tuple[np.ndarray, np.ndarray, float] | None = None
    while factor * residual > tolerance:
        if iterations >= max_iterations:
            raise ConvergenceError(
                f"no convergence after {iterations} iterations "
                f"(error bound {factor * residual:.3g} > tolerance {tolerance:.3g}); "
                "raise EQUITY_MAX_ITERATIONS or EQUITY_TOLERANCE"
            )
        if previous is not None:
            prev_fx, prev_g, prev_residual = previous
            if residual > prev_residual:
                # The mixed point did worse: restart from the plain step.
                stored = 0
                x = prev_fx
                fx = step(x)
                g = fx - x
                residual = norm(g)
                iterations += 1
                previous = None
                continue
            column = head % memory
            np.subtract(fx, prev_fx, out=d_f[:, column])
            np.subtract(g, prev_g, out=d_g[:, column])
            head += 1
            stored = min(stored + 1, memory)
        previous = (fx, g, residual)
        if stored:
            # min |g - dG gamma| on the normal equations (m x m): the mixing only
            # has to be good, the plain step at the end keeps the answer exact.
            # einsum rather than BLAS: single-threaded (the machine's other core
            # stays free for the memory-bound mat-vec) and the same result run to run.
            dg = d_g[:, :stored]
            gram = np.einsum("ij,ik->jk", dg, dg)
            rhs = np.einsum("ij,i->j", dg, g)
            scale = float(np.trace(gram)) or 1.0
            gamma = np.linalg.lstsq(gram + 1e-14 * scale * np.eye(stored), rhs, rcond=None)[0]
            # x + g - (dX + dG) gamma, with dX + dG = dF.
            x = fx - np.einsum("ij,j->i", d_f[:, :stored], gamma)
        else:
            x = fx
        fx = step(x)
        g = fx - x
        residual = norm(g)
        iterations += 1
    if nonnegative:
        # The exact solution is nonnegative: clipping can only bring fx closer.
        np.maximum(fx, 0.0, out=fx)
    return fx, SolveInfo(iterations, factor * residual, time.perf_counter() - clock)


# -- result types ---------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """Where the authority that entered went (shares of the total that entered).

    Attributes
    ----------
    entered : float
        Sum of the deposits (1 by construction).
    from_backlinks, from_uniform : float
        The parts of ``entered`` from backlinks (beta) and spread evenly.
    held : float
        Equity held by pages (``sum(x)``).
    leaked : dict of str to float
        Per leak kind, in :data:`LEAK_KINDS` order.
    forwarded : float
        Authority passed along internal links (counted once per hop; not part
        of the balance, which it cancels out of).
    residual : float
        ``entered - held - sum(leaked)``: the solver's error, below 1e-9.
    lost_backlink_share : float
        Share of the live backlink authority whose target resolves to no page
        (it never entered; see ``EquityModel.lost_equity``).
    """

    entered: float
    from_backlinks: float
    from_uniform: float
    held: float
    leaked: dict[str, float]
    forwarded: float
    residual: float
    lost_backlink_share: float

    @property
    def leaked_total(self) -> float:
        """Sum of all leak kinds."""
        return float(sum(self.leaked.values()))


@dataclass(frozen=True, eq=False)
class Sections:
    """Pages grouped into sections, and the authority flowing between them.

    Sections are ordered by held equity (largest first), ``(other)`` last.
    For every section ``deposit + inflow == held + outflow + leaked.sum()``.

    Attributes
    ----------
    names : tuple of str
    of_node : ndarray of int32
        Section index of every node.
    pages : ndarray of int64
    deposit, held, internal, inflow, outflow : ndarray of float64
        Per section: authority entering by deposits, held as equity, flowing
        between its own pages, arriving from other sections, sent to others.
    leaked : ndarray of float64, shape (S, 5)
        Per section and leak kind.
    flow : ndarray of float64, shape (S, S)
        ``flow[a, b]``: authority sent by section ``a``'s links to section ``b``.
    """

    names: tuple[str, ...]
    of_node: np.ndarray
    pages: np.ndarray
    deposit: np.ndarray
    held: np.ndarray
    internal: np.ndarray
    inflow: np.ndarray
    outflow: np.ndarray
    leaked: np.ndarray
    flow: np.ndarray


@dataclass(frozen=True, eq=False)
class Attribution:
    """Where a target's equity came from.

    By linearity ``equity(target) = sum_l deposit_l * reverse_l``: ``reverse_l``
    is the equity the target gains per unit of authority deposited at page
    ``l`` (one reverse solve with ``P``).

    Attributes
    ----------
    reverse : ndarray of float64
        ``reverse_l`` for every node.
    total : float
        ``deposit @ reverse``: the target's equity (within the tolerance).
    from_backlinks, from_uniform : float
        The parts of ``total`` that came through backlink deposits and through
        the even spread.
    top_landing : ndarray of int32
        Pages contributing most (through backlinks when the run has any),
        largest first.
    top_amount : ndarray of float64
        Their contributions (``deposit_l * reverse_l``, or its backlink part).
    solve : SolveInfo
    """

    reverse: np.ndarray
    total: float
    from_backlinks: float
    from_uniform: float
    top_landing: np.ndarray
    top_amount: np.ndarray
    solve: SolveInfo


@dataclass(frozen=True)
class Route:
    """The most probable click path from a landing page to a target.

    Attributes
    ----------
    landing : int
        Start node.
    nodes : tuple of int
        The path, landing page first, a target page last.
    probability : float
        Product of ``d * share`` over its links: the chance a visitor from the
        landing page follows exactly this path.
    positions : tuple of str
        Position of each link followed (one fewer than ``nodes``).
    """

    landing: int
    nodes: tuple[int, ...]
    probability: float
    positions: tuple[str, ...] = ()

    @property
    def clicks(self) -> int:
        """Number of links followed."""
        return len(self.nodes) - 1


@dataclass(frozen=True, eq=False)
class PriorityResult:
    """One priority target in the model.

    Attributes
    ----------
    target : PriorityTarget
    equity : float
        Sum of its pages' equity.
    best_rank : int or None
        Best rank among its pages (1 = most equity).
    min_depth : int or None
        Smallest recorded click depth among its pages.
    attribution : Attribution or None
        ``None`` beyond ``EQUITY_PRIORITY_LIMIT`` or when it has no pages.
    routes : tuple of Route
        From its top landing pages (``EQUITY_ROUTES``), when attributed.
    """

    target: PriorityTarget
    equity: float
    best_rank: int | None
    min_depth: int | None
    attribution: Attribution | None
    routes: tuple[Route, ...]


@dataclass(frozen=True)
class LostEquity:
    """A backlinked URL that resolves to no page: its authority never enters.

    Attributes
    ----------
    url : str
        The URL the backlinks point at (where a redirect would go).
    outcome : str
        What it resolves to: ``broken`` or ``loop`` (lost), or ``blocked``,
        ``cutoff``, ``uncrawled``, ``non_html``, ``external`` (not seen).
    final_url : str or None
        Where its redirects end.
    referring_domains : int
    backlinks : int
        Live followed backlink rows.
    authority : float
        Sum of its votes (same units as the backlink deposits before scaling).
    share : float
        Its part of all live backlink authority.
    suggested_redirect : str or None
        The closest crawled page up its path (or the home page).
    """

    url: str
    outcome: str
    final_url: str | None
    referring_domains: int
    backlinks: int
    authority: float
    share: float
    suggested_redirect: str | None

    @property
    def lost(self) -> bool:
        """True when the target is an error or a loop (authority lost, not just unseen)."""
        return self.outcome in ("broken", "loop")


@dataclass(frozen=True, eq=False)
class EquityModel:
    """The solved model of one run (see the module docstring for units).

    Per-page arrays are indexed by node (``graph.urls[i]`` is page ``i``).

    Attributes
    ----------
    graph : SiteGraph
    config : EquityConfig
    beta : float
        Backlink mix actually used (0 without backlink deposits).
    deposit : ndarray
        ``t``: authority entering at each page (sums to 1).
    backlink_deposit : ndarray
        ``b``: the backlink part before mixing (sums to 1, or all 0).
    backlink_raw_total : float
        Sum of the backlink votes (authority units) that ``b`` is scaled by;
        what-ifs that recover backlinks are scaled by it too.
    referring_domains : ndarray of int64
        Referring domains voting for each page.
    equity : ndarray
        ``x``: authority each page holds (share of all that entered).
    inflow : ndarray
        Authority arriving through internal links.
    forwarded : ndarray
        Authority each page passes to other pages.
    leaked : ndarray, shape (n, 5)
        Authority each page leaks, by kind (:data:`LEAK_KINDS`).
    score : ndarray
        0-100 on a log scale (weakest page 0, strongest 100).
    rank : ndarray of int64
        1 = most equity; ties by node order.
    pagerank : ndarray or None
        Classic internal PageRank (uniform weights and source, dangling pages
        spread evenly, sums to 1), as networkx computes it.
    budget : Budget
    sections : Sections
    priority : tuple of PriorityResult
    lost_equity : tuple of LostEquity
        Largest first.
    solve, pagerank_solve : SolveInfo
    seconds : dict of str to float
    """

    graph: SiteGraph
    config: EquityConfig
    beta: float
    deposit: np.ndarray
    backlink_deposit: np.ndarray
    backlink_raw_total: float
    referring_domains: np.ndarray
    equity: np.ndarray
    inflow: np.ndarray
    forwarded: np.ndarray
    leaked: np.ndarray
    score: np.ndarray
    rank: np.ndarray
    pagerank: np.ndarray | None
    budget: Budget
    sections: Sections
    priority: tuple[PriorityResult, ...]
    lost_equity: tuple[LostEquity, ...]
    solve: SolveInfo
    pagerank_solve: SolveInfo | None
    seconds: dict[str, float]
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        """Number of pages."""
        return self.graph.n

    def reverse_vector(self, goal: Iterable[int] | int) -> np.ndarray:
        """Equity the goal pages gain per unit deposited at each page.

        ``equity[goal].sum() == deposit @ reverse_vector(goal)`` (linearity);
        ``reverse[u] * d/(1-d) * equity[u] * share`` is what a new link's share
        at ``u`` is worth to the goal, to first order. Cached per goal.

        Parameters
        ----------
        goal : int or iterable of int
            Node indices.

        Returns
        -------
        ndarray of float64
        """
        nodes = _as_nodes(goal, self.n)
        key = ("reverse", nodes.tobytes())
        if key not in self._cache:
            self._cache[key] = _reverse_solve(self, nodes)
        reverse: np.ndarray = self._cache[key][0]
        return reverse

    def section_contribution(self, goal: Iterable[int] | int) -> np.ndarray:
        """Per section, the share of all authority entering there that the goal holds.

        ``sum(deposit_l * reverse_l)`` over the section's pages; the sections add
        up to the goal's equity (e.g. the report's "to priority pages" column).
        """
        reverse = self.reverse_vector(goal)
        return np.bincount(
            self.sections.of_node,
            weights=self.deposit * reverse,
            minlength=len(self.sections.names),
        )

    def page(self, node: int) -> dict[str, Any]:
        """Everything the model knows about one page, as plain values."""
        g = self.graph
        return {
            "url": g.urls[node],
            "title": g.title[node],
            "depth": int(g.depth[node]),
            "status": int(g.status[node]),
            "noindex": bool(g.noindex[node]),
            "section": self.sections.names[self.sections.of_node[node]],
            "equity": float(self.equity[node]),
            "score": float(self.score[node]),
            "rank": int(self.rank[node]),
            "deposit": float(self.deposit[node]),
            "referring_domains": int(self.referring_domains[node]),
            "inflow": float(self.inflow[node]),
            "forwarded": float(self.forwarded[node]),
            "leaked": dict(zip(LEAK_KINDS, map(float, self.leaked[node]), strict=True)),
            "pagerank": None if self.pagerank is None else float(self.pagerank[node]),
        }

    def top(self, k: int = 20) -> np.ndarray:
        """Node indices of the ``k`` pages with the most equity."""
        return np.argsort(self.rank)[:k]


def _as_nodes(goal: Iterable[int] | int, n: int) -> np.ndarray:
    nodes = np.unique(np.atleast_1d(np.asarray(goal, dtype=np.int64)))
    if nodes.size == 0:
        raise ValueError("the goal has no pages")
    if nodes.min() < 0 or nodes.max() >= n:
        raise IndexError(f"node index out of range 0..{n - 1}")
    return nodes.astype(np.int32)


# -- deposits -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Votes:
    node: np.ndarray  # node per (domain, node) vote
    authority: np.ndarray
    lost: tuple[LostEquity, ...]
    lost_authority: float


def _fill_authority(graph: SiteGraph, config: EquityConfig) -> np.ndarray:
    votes = graph.backlinks
    if config.authority == "count":
        return np.ones(len(votes))
    authority = votes.authority.copy()
    # Authority is a property of the referring domain: rows of a domain with no
    # metric (Search Console) take the domain's best known one.
    best = np.full(len(votes.domains), np.nan)
    if len(votes):
        np.fmax.at(best, votes.domain, authority)
    authority = np.where(np.isnan(authority), best[votes.domain], authority)
    if config.unknown_authority is not None:
        fill = config.unknown_authority
    else:
        known = best[~np.isnan(best)]
        fill = float(np.median(known)) if known.size else 0.5
    return np.where(np.isnan(authority), fill, authority)


def _group_max(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique keys and the max value of each."""
    if keys.size == 0:
        return keys, values
    order = np.lexsort((values, keys))
    keys, values = keys[order], values[order]
    last = np.append(keys[1:] != keys[:-1], True)
    return keys[last], values[last]


def _votes(
    graph: SiteGraph,
    final: np.ndarray,
    outcome: np.ndarray,
    authority: np.ndarray,
    *,
    with_lost: bool = True,
) -> _Votes:
    """One vote per (referring domain, resolved page); the rest is lost equity."""
    votes = graph.backlinks
    n = graph.n
    targets = votes.target_url_id
    reaches = outcome[targets] == O_NODE
    node = graph.node_of_url[final[targets]].astype(np.int64)
    domain = votes.domain.astype(np.int64)
    keys, best = _group_max(domain[reaches] * n + node[reaches], authority[reaches])
    lost: list[LostEquity] = []
    lost_authority = 0.0
    if with_lost and (~reaches).any():
        miss = ~reaches
        # One vote per (domain, backlinked URL) among those that reach no page.
        miss_keys, miss_best = _group_max(
            targets[miss] * len(votes.domains) + domain[miss], authority[miss]
        )
        miss_url = miss_keys // max(len(votes.domains), 1)
        lost_authority = float(miss_best.sum())
        urls = np.unique(miss_url)
        per_url = np.bincount(np.searchsorted(urls, miss_url), weights=miss_best)
        domains_per_url = np.bincount(np.searchsorted(urls, miss_url))
        rows_per_url = np.bincount(
            np.searchsorted(urls, targets[miss]), weights=votes.rows[miss].astype(np.float64)
        )
        total = float(best.sum()) + lost_authority
        ends = final[urls]
        names = graph.urls_of_ids([*urls.tolist(), *ends.tolist()])
        for i, url_id in enumerate(urls.tolist()):
            url = names.get(url_id, f"#{url_id}")
            end = int(ends[i])
            lost.append(
                LostEquity(
                    url=url,
                    outcome=OUTCOMES[int(outcome[url_id])],
                    final_url=None if end == url_id else names.get(end),
                    referring_domains=int(domains_per_url[i]),
                    backlinks=int(rows_per_url[i]),
                    authority=float(per_url[i]),
                    share=float(per_url[i]) / total if total > 0 else 0.0,
                    suggested_redirect=_suggest_redirect(graph, url),
                )
            )
        lost.sort(key=lambda item: (-item.authority, item.url))
    return _Votes(keys % n, best, tuple(lost), lost_authority)


def _suggest_redirect(graph: SiteGraph, url: str) -> str | None:
    """The closest crawled page up the URL's path, else the first start page."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    index = graph._index_of_url
    for keep in range(len(segments) - 1, -1, -1):
        stem = f"{scheme}://{host}/" + "/".join(segments[:keep])
        for candidate in (stem + "/", stem) if keep else (stem,):
            if candidate != url and candidate in index:
                return candidate
    return graph.urls[int(graph.start_nodes[0])] if graph.start_nodes.size else None


def _source_vector(
    graph: SiteGraph, config: EquityConfig, votes: _Votes
) -> tuple[float, np.ndarray, np.ndarray, float]:
    """``(beta, t, b, raw backlink total)``."""
    n = graph.n
    raw = np.bincount(votes.node, weights=votes.authority, minlength=n).astype(np.float64)
    raw_total = float(raw.sum())
    uniform = np.full(n, 1.0 / n)
    if raw_total <= 0:
        return 0.0, uniform, np.zeros(n), 0.0
    beta = config.backlink_mix
    b = raw / raw_total
    return beta, (1.0 - beta) * uniform + beta * b, b, raw_total


# -- compute --------------------------------------------------------------------


def compute_equity(
    graph: SiteGraph,
    config: EquityConfig | None = None,
    *,
    priority: Sequence[str] | Sequence[PriorityTarget] | str | Path | None = None,
    pagerank: bool = True,
    attribution: bool = True,
    routes: bool = True,
) -> EquityModel:
    """Solve the equity model on a graph.

    Parameters
    ----------
    graph : SiteGraph
        From :func:`reports.graph.load_graph`, loaded with the same position
        weights as ``config``.
    config : EquityConfig, optional
    priority : optional
        Priority targets, URL/pattern strings, or a file; by default from the
        config (file, patterns, or guessed). ``[]`` for none.
    pagerank : bool
        Also compute the classic internal PageRank.
    attribution, routes : bool
        Reverse solves and routes for the priority targets.

    Returns
    -------
    EquityModel

    Raises
    ------
    EmptyGraphError
        The graph has no pages.
    ConvergenceError
        A solve hit ``EQUITY_MAX_ITERATIONS``.
    ValueError
        The graph was loaded with other position weights.
    """
    config = config or EquityConfig()
    if graph.n == 0:
        raise EmptyGraphError("the crawl has no page that answered 200 with HTML: nothing to model")
    if tuple(config.position_weights) != tuple(graph.position_weights):
        raise ValueError("the graph was loaded with other position weights: load it with config")
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    n, d = graph.n, config.damping

    authority = _fill_authority(graph, config)
    votes = _votes(graph, graph.url_final, graph.url_outcome, authority)
    beta, t, b, raw_total = _source_vector(graph, config, votes)
    referring = np.bincount(votes.node, minlength=n).astype(np.int64)
    seconds["deposits"] = time.perf_counter() - clock

    clock = time.perf_counter()
    x, solve = solve_equity(graph, t, config)
    seconds["equity"] = time.perf_counter() - clock

    clock = time.perf_counter()
    transition = graph.transition
    reach = x / (1.0 - d)
    inflow = reach - t
    internal_share = np.asarray(transition.sum(axis=0)).ravel()
    forwarded = d * reach * internal_share
    leaked = (d * reach)[:, None] * graph.leak_share
    leaked_total = leaked.sum(axis=0)
    held = float(x.sum())
    entered = float(t.sum())
    budget = Budget(
        entered=entered,
        from_backlinks=beta,
        from_uniform=1.0 - beta,
        held=held,
        leaked=dict(zip(LEAK_KINDS, map(float, leaked_total), strict=True)),
        forwarded=float(forwarded.sum()),
        residual=entered - held - float(leaked_total.sum()),
        lost_backlink_share=(
            votes.lost_authority / (raw_total + votes.lost_authority)
            if raw_total + votes.lost_authority > 0
            else 0.0
        ),
    )
    score, rank = _scores(x)
    seconds["budget"] = time.perf_counter() - clock

    plain: np.ndarray | None = None
    plain_solve: SolveInfo | None = None
    if pagerank:
        clock = time.perf_counter()
        plain, plain_solve = _plain_pagerank(graph, config)
        seconds["pagerank"] = time.perf_counter() - clock

    clock = time.perf_counter()
    sections = _sections(graph, config, t, x, reach, leaked)
    seconds["sections"] = time.perf_counter() - clock

    model = EquityModel(
        graph=graph,
        config=config,
        beta=beta,
        deposit=t,
        backlink_deposit=b,
        backlink_raw_total=raw_total,
        referring_domains=referring,
        equity=x,
        inflow=inflow,
        forwarded=forwarded,
        leaked=leaked,
        score=score,
        rank=rank,
        pagerank=plain,
        budget=budget,
        sections=sections,
        priority=(),
        lost_equity=votes.lost,
        solve=solve,
        pagerank_solve=plain_solve,
        seconds=seconds,
    )

    clock = time.perf_counter()
    targets = priority_targets(graph, config, priority)
    results = _priority_results(model, targets, attribution=attribution, routes=routes)
    seconds["priority"] = time.perf_counter() - clock
    # Keep the cache: it holds the priority targets' reverse vectors.
    return replace(model, priority=tuple(results), _cache=model._cache)


def solve_equity(
    graph: SiteGraph, source: np.ndarray, config: EquityConfig | None = None
) -> tuple[np.ndarray, SolveInfo]:
    """Equity for any source vector: the fixed point of ``x = (1-d) t + d P^T x``.

    The model is linear in ``t``: the equity from a single landing page ``l`` is
    ``solve_equity(graph, e_l)``, and these add up to the full solution.

    Parameters
    ----------
    graph : SiteGraph
    source : ndarray of float64, shape (n,)
        ``t``; it need not sum to 1.
    config : EquityConfig, optional
        Damping, tolerance and iteration cap.

    Returns
    -------
    (ndarray, SolveInfo)
        ``x`` with an L1 error of at most ``SolveInfo.error_bound``.
    """
    config = config or EquityConfig()
    d = config.damping
    source = np.asarray(source, dtype=np.float64)
    if source.shape != (graph.n,):
        raise ValueError(f"source must have shape ({graph.n},), got {source.shape}")
    transition = graph.transition
    base = (1.0 - d) * source

    def step(x: np.ndarray) -> np.ndarray:
        y = transition @ x
        y *= d
        y += base
        return y

    return _solve_fixed_point(
        step,
        source,
        contraction=d,
        norm=_l1,
        tolerance=config.tolerance,
        max_iterations=config.max_iterations,
        nonnegative=bool((source >= 0).all()),
    )


def _scores(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0-100 log-scaled score and 1-based rank (ties by node order)."""
    n = x.size
    order = np.lexsort((np.arange(n), -x))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    score = np.zeros(n)
    positive = x > 0
    if positive.any():
        logs = np.log(x[positive])
        low, high = float(logs.min()), float(logs.max())
        score[positive] = 100.0 * (logs - low) / (high - low) if high > low else 100.0
    return score, rank


def _plain_pagerank(graph: SiteGraph, config: EquityConfig) -> tuple[np.ndarray, SolveInfo]:
    """networkx's PageRank on the followed internal links (uniform weights)."""
    n, d = graph.n, config.damping
    transition = graph.transition
    out_degree = np.diff(graph.flows.ptr)
    inverse = np.zeros(n)
    np.divide(1.0, out_degree, out=inverse, where=out_degree > 0)
    uniform_matrix = sp.csr_array(
        (inverse[transition.indices], transition.indices, transition.indptr), shape=(n, n)
    )
    dangling = (out_degree == 0).astype(np.float64)

    def step(x: np.ndarray) -> np.ndarray:
        y = uniform_matrix @ x
        y *= d
        y += (d * float(dangling @ x) + (1.0 - d)) / n
        return y

    return _solve_fixed_point(
        step,
        np.full(n, 1.0 / n),
        contraction=d,
        norm=_l1,
        tolerance=config.tolerance,
        max_iterations=config.max_iterations,
        nonnegative=True,
    )


# -- sections -------------------------------------------------------------------


def _section_labels(graph: SiteGraph, config: EquityConfig) -> list[str]:
    if config.section_groups:
        compiled = [(name, re.compile(pattern)) for name, pattern in config.section_groups]
        return [
            next((name for name, rx in compiled if rx.search(url)), OTHER_SECTION)
            for url in graph.urls
        ]
    hosts = {url.split("/", 3)[2] for url in graph.urls}
    with_host = len(hosts) > 1 or config.section_depth == 0
    # The host and the first k directory segments (segments followed by "/"):
    # /blog/post and /blog/ -> /blog/; /pricing and / -> /.
    depth = config.section_depth
    prefix = re.compile(r"[^:]+://([^/]+)/((?:[^/?#]+/){0,%d})".replace("%d", str(depth)))
    labels = []
    for url in graph.urls:
        found = prefix.match(url)
        host, directories = (found.group(1), found.group(2)) if found else ("", "")
        labels.append(f"{host}/{directories}" if with_host else f"/{directories}")
    return labels


def _sections(  # noqa: PLR0917 - private, called once
    graph: SiteGraph,
    config: EquityConfig,
    t: np.ndarray,
    x: np.ndarray,
    reach: np.ndarray,
    leaked: np.ndarray,
) -> Sections:
    index: dict[str, int] = {}
    codes = np.fromiter(
        (index.setdefault(label, len(index)) for label in _section_labels(graph, config)),
        dtype=np.int64,
        count=graph.n,
    )
    names = np.asarray(list(index), dtype=object)
    held_by_label = np.bincount(codes, weights=x, minlength=names.size)
    order = sorted(
        range(names.size),
        key=lambda i: (names[i] == OTHER_SECTION, -held_by_label[i], str(names[i])),
    )
    keep = order
    if not config.section_groups and names.size > config.max_sections:
        keep = order[: config.max_sections - 1]
    final_names = [str(names[i]) for i in keep]
    remap = np.full(names.size, -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    if (remap < 0).any():
        if OTHER_SECTION not in final_names:
            final_names.append(OTHER_SECTION)
        remap[remap < 0] = final_names.index(OTHER_SECTION)
    of_node = remap[codes].astype(np.int32)
    count = len(final_names)

    transition = graph.transition
    d = config.damping
    flow = np.zeros(count * count)
    sent = d * reach
    # Sum d * m_u * s(u->v) per (section(u), section(v)) in row chunks, to keep
    # temporaries small at 50M links.
    indptr = transition.indptr
    chunk_rows = max(1, graph.n // max(1, transition.nnz // 4_000_000 + 1))
    for start in range(0, graph.n, chunk_rows):
        stop = min(graph.n, start + chunk_rows)
        lo, hi = int(indptr[start]), int(indptr[stop])
        if hi == lo:
            continue
        sources = transition.indices[lo:hi]
        rows = np.repeat(np.arange(start, stop), np.diff(indptr[start : stop + 1]))
        pair = of_node[sources].astype(np.int64) * count + of_node[rows]
        amount = transition.data[lo:hi] * sent[sources]
        flow += np.bincount(pair, weights=amount, minlength=count * count)
    matrix = flow.reshape(count, count)
    internal = np.diag(matrix).copy()
    leaked_by_section = np.stack(
        [
            np.bincount(of_node, weights=leaked[:, kind], minlength=count)
            for kind in range(len(LEAK_KINDS))
        ],
        axis=1,
    )
    return Sections(
        names=tuple(final_names),
        of_node=of_node,
        pages=np.bincount(of_node, minlength=count).astype(np.int64),
        deposit=np.bincount(of_node, weights=t, minlength=count),
        held=np.bincount(of_node, weights=x, minlength=count),
        internal=internal,
        inflow=matrix.sum(axis=0) - internal,
        outflow=matrix.sum(axis=1) - internal,
        leaked=leaked_by_section,
        flow=matrix,
    )


# -- attribution and routes -----------------------------------------------------


def _reverse_solve(model: EquityModel, nodes: np.ndarray) -> tuple[np.ndarray, SolveInfo]:
    """``r = (1-d) 1_goal + d P r``: equity the goal gains per unit deposited at each page."""
    config = model.config
    d = config.damping
    forward = model.graph.transition.T  # P, as a CSC view of P^T: no copy
    goal = np.zeros(model.n)
    goal[nodes] = 1.0 - d

    def step(r: np.ndarray) -> np.ndarray:
        y = forward @ r
        y *= d
        y += goal
        return y

    # Row sums of P are at most 1, so d P contracts in the max-norm, and
    # |sum_l t_l err_l| <= max|err| bounds the error of the attribution total.
    return _solve_fixed_point(
        step,
        goal,
        contraction=d,
        norm=_linf,
        tolerance=config.tolerance,
        max_iterations=config.max_iterations,
        nonnegative=True,
    )


def _attribution(model: EquityModel, nodes: np.ndarray) -> Attribution:
    reverse = model.reverse_vector(nodes)
    _, solve = model._cache[("reverse", nodes.tobytes())]
    n = model.n
    backlink_part = model.beta * model.backlink_deposit * reverse
    uniform_part = (1.0 - model.beta) / n * reverse
    ranking = backlink_part if model.beta > 0 else backlink_part + uniform_part
    k = min(_TOP_LANDING, n)
    candidates = np.argpartition(-ranking, k - 1)[:k] if k < n else np.arange(n)
    candidates = candidates[ranking[candidates] > 0]
    top = candidates[np.lexsort((candidates, -ranking[candidates]))]
    return Attribution(
        reverse=reverse,
        total=float(model.deposit @ reverse),
        from_backlinks=float(backlink_part.sum()),
        from_uniform=float(uniform_part.sum()),
        top_landing=top.astype(np.int32),
        top_amount=ranking[top],
        solve=solve,
    )


def _best_route(
    model: EquityModel,
    landing: int,
    goal: np.ndarray,
    reverse: np.ndarray,
    error: float,
    *,
    limit: int = _ROUTE_EXPANSIONS,
) -> Route | None:
    """A* for the path maximising the product of ``d * share``.

    The heuristic ``-log((reverse_v + error) / (1 - d))`` never overestimates:
    ``reverse_v / (1 - d)`` sums the probabilities of *all* paths from ``v`` to
    the goal, so it bounds the best one. Nodes that cannot reach the goal have
    ``reverse_v == 0`` and are never expanded.
    """
    graph = model.graph
    d = model.config.damping
    if goal[landing]:
        return Route(landing, (landing,), 1.0)
    weights = np.asarray(graph.position_weights)
    log_scale = math.log(1.0 - d)

    def heuristic(values: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return -(np.log(values + error) - log_scale)

    start_estimate = float(heuristic(reverse[[landing]])[0])
    if not math.isfinite(start_estimate):
        return None  # the goal cannot be reached from this page
    best: dict[int, float] = {landing: 0.0}
    parent: dict[int, int] = {}
    heap = [(start_estimate, 0.0, landing)]
    expansions = 0
    while heap:
        _, cost, u = heapq.heappop(heap)
        if cost > best.get(u, math.inf):
            continue  # stale entry
        if goal[u]:
            path = [u]
            while path[-1] != landing:
                path.append(parent[path[-1]])
            path.reverse()
            return Route(landing, tuple(path), math.exp(-cost), _positions(graph, path))
        expansions += 1
        if expansions > limit:
            return None
        rows = graph.flows.of(u)
        targets = graph.flows.target[rows]
        step_cost = -np.log(d * weights[graph.flows.position[rows]] / graph.weight_total[u])
        estimate = heuristic(reverse[targets])
        for v, c, h in zip(targets.tolist(), step_cost.tolist(), estimate.tolist(), strict=True):
            new_cost = cost + c
            if math.isfinite(h) and new_cost < best.get(v, math.inf):
                best[v] = new_cost
                parent[v] = u
                heapq.heappush(heap, (new_cost + h, new_cost, v))
    return None


def _positions(graph: SiteGraph, path: list[int]) -> tuple[str, ...]:
    """Positions of the links along a path of nodes."""
    names = []
    for u, v in itertools.pairwise(path):
        rows = graph.flows.of(u)
        hit = int(np.flatnonzero(graph.flows.target[rows] == v)[0])
        names.append(POSITIONS[int(graph.flows.position[rows][hit])])
    return tuple(names)


def _priority_results(
    model: EquityModel, targets: list[PriorityTarget], *, attribution: bool, routes: bool
) -> list[PriorityResult]:
    results = []
    attributed = 0
    for target in targets:
        nodes = target.nodes
        if not nodes.size:
            results.append(PriorityResult(target, 0.0, None, None, None, ()))
            continue
        depths = model.graph.depth[nodes]
        known = depths[depths >= 0]
        found: Attribution | None = None
        paths: list[Route] = []
        if attribution and attributed < model.config.priority_limit:
            attributed += 1
            found = _attribution(model, nodes)
            if routes:
                goal = np.zeros(model.n, dtype=bool)
                goal[nodes] = True
                for landing in found.top_landing[: model.config.routes].tolist():
                    route = _best_route(
                        model, landing, goal, found.reverse, found.solve.error_bound
                    )
                    if route is not None:
                        paths.append(route)
        results.append(
            PriorityResult(
                target=target,
                equity=float(model.equity[nodes].sum()),
                best_rank=int(model.rank[nodes].min()),
                min_depth=int(known.min()) if known.size else None,
                attribution=found,
                routes=tuple(paths),
            )
        )
    return results


# -- what-if ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WhatIfResult:
    """The model after a change, in the base model's units.

    1 is still "all the authority that entered the base model"; a redirect that
    recovers backlinks adds authority, so ``entered`` can exceed 1.

    Attributes
    ----------
    equity : ndarray
        New equity per page (a consolidated page holds 0).
    delta : ndarray
        ``equity - base equity``.
    entered, held : float
        New totals.
    leaked, leaked_delta : dict of str to float
        New leaks by kind, and their change.
    changed_pages : ndarray of int32
        Pages whose links changed.
    removed_pages : ndarray of int32
        Pages redirected away (they stop being pages).
    solve : SolveInfo
        The error bound is on ``delta`` in L1.
    """

    equity: np.ndarray
    delta: np.ndarray
    entered: float
    held: float
    leaked: dict[str, float]
    leaked_delta: dict[str, float]
    changed_pages: np.ndarray
    removed_pages: np.ndarray
    solve: SolveInfo

    def gain(self, nodes: Iterable[int] | int) -> float:
        """Change of the total equity of some pages."""
        return float(self.delta[np.atleast_1d(np.asarray(nodes, dtype=np.int64))].sum())


LinkEnd = int | str


def _node_of(graph: SiteGraph, page: LinkEnd, what: str) -> int:
    if isinstance(page, (int, np.integer)):
        if not 0 <= int(page) < graph.n:
            raise IndexError(f"{what}: node index {page} out of range 0..{graph.n - 1}")
        return int(page)
    found = graph.resolve(page)
    if found.node is None:
        raise ValueError(f"{what}: {page} is not a crawled page ({found.outcome})")
    return found.node


def _url_id_of(graph: SiteGraph, page: LinkEnd, what: str) -> int:
    if isinstance(page, (int, np.integer)):
        return int(graph.node_url_id[_node_of(graph, page, what)])
    found = graph.resolve(page)
    if found.url_id is None:
        raise ValueError(f"{what}: {page} is not in the store")
    return found.url_id


def _rows_of(
    graph: SiteGraph, pages: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merged links of some pages as (src, key, followed, position) arrays."""

    flow_src, flow_index = _gather_rows(graph.flows.ptr, pages)
    leak_src, leak_index = _gather_rows(graph.leaks.ptr, pages)
    assert graph.leaks.kind is not None
    src = np.concatenate([flow_src, leak_src]).astype(np.int32)
    key = np.concatenate(
        [graph.node_url_id[graph.flows.target[flow_index]], graph.leaks.target[leak_index]]
    )
    followed = np.concatenate(
        [np.ones(flow_index.size, bool), graph.leaks.kind[leak_index] != NOFOLLOW]
    )
    position = np.concatenate(
        [graph.flows.position[flow_index], graph.leaks.position[leak_index]]
    ).astype(np.int64)
    return src, key, followed, position


def simulate(
    model: EquityModel,
    add: Iterable[tuple[LinkEnd, LinkEnd, str]] = (),
    remove: Iterable[tuple[LinkEnd, LinkEnd]] = (),
    redirects: Mapping[str, LinkEnd] | None = None,
    *,
    start: WhatIfResult | None = None,
    tolerance: float | None = None,
) -> WhatIfResult:
    """Equity after adding or removing links, or adding redirects.

    Only the changed rows of ``P`` (and, for redirects, the deposits) are
    rebuilt, with exactly the rules of :func:`reports.graph.load_graph`, and
    only the change is solved for: ``z = c + d P'^T z`` with ``c`` the first
    effect of the change, warm-started from ``start``. The result equals
    solving the changed store from scratch, within the tolerance.

    Parameters
    ----------
    model : EquityModel
    add : iterable of (src, dst, position)
        Links to add. ``src`` is a page (node index or URL); ``dst`` a node index
        or a URL in the store; ``position`` a name from ``POSITIONS``. A link to
        a target the page already links merges with it (strongest position).
        Links added to a meta-nofollow page are unfollowed.
    remove : iterable of (src, dst)
        Merged links to remove (every link from ``src`` to what ``dst`` resolves to).
    redirects : mapping of URL to URL or node
        New redirects. The source must be where links end today: a page (it is
        consolidated into the target), an error, a blocked or uncrawled URL, or
        a URL in a redirect loop; the target must resolve to a page.
    start : WhatIfResult, optional
        A previous result to start from (e.g. the same change minus one link).
    tolerance : float, optional
        Absolute L1 bound for ``delta``; default
        ``max(EQUITY_TOLERANCE, EQUITY_WHATIF_RTOL * |first effect|_1)``.

    Returns
    -------
    WhatIfResult

    Raises
    ------
    ValueError, IndexError
        A page, URL or position is unknown, a removed link does not exist, or a
        redirect cannot be applied (the message says which and why).
    """
    graph, config = model.graph, model.config
    n, d = graph.n, config.damping
    weights = np.asarray(graph.position_weights)
    rank = _weight_rank(graph.position_weights)
    final, outcome = graph.url_final, graph.url_outcome
    deposit = model.deposit
    removed_pages = np.zeros(0, np.int32)
    touched: list[np.ndarray] = []

    if redirects:
        final, outcome, deposit, removed_pages, touched_by_redirect = _apply_redirects(
            model, redirects
        )
        touched.append(touched_by_redirect)

    added: list[tuple[int, int, int]] = []
    for link in add:
        if len(link) != 3:
            raise ValueError(f"add expects (src, dst, position), got {link!r}")
        src_page, dst_page, position_name = link
        if position_name not in POSITIONS:
            raise ValueError(
                f"unknown position {position_name!r}; positions are {', '.join(POSITIONS)}"
            )
        added.append(
            (
                _node_of(graph, src_page, "add"),
                int(final[_url_id_of(graph, dst_page, "add")]),
                POSITIONS.index(position_name),
            )
        )
    removed: list[tuple[int, int]] = []
    for pair in remove:
        if len(pair) != 2:
            raise ValueError(f"remove expects (src, dst), got {pair!r}")
        removed.append(
            (
                _node_of(graph, pair[0], "remove"),
                int(final[_url_id_of(graph, pair[1], "remove")]),
            )
        )
    touched.append(np.asarray([a[0] for a in added] + [r[0] for r in removed], dtype=np.int32))
    pages = np.unique(np.concatenate(touched)).astype(np.int64)

    # Rebuild the touched pages' rows with the load rules.
    packing = _Packing.for_sizes(n, final.size)
    src, key, followed, position = _rows_of(graph, pages)
    key = final[key]
    if removed:
        existing = packing.pack(src, key, np.zeros(src.size, np.int64))
        gone = packing.pack(
            np.asarray([r[0] for r in removed]),
            np.asarray([r[1] for r in removed]),
            np.zeros(len(removed), np.int64),
        )
        missing = ~np.isin(gone, existing)
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise ValueError(
                f"remove: {graph.urls[removed[i][0]]} has no link to "
                f"{graph.url_of_id(removed[i][1])}"
            )
        keep = ~np.isin(existing, gone)
        src, key, followed, position = src[keep], key[keep], followed[keep], position[keep]
    if added:
        add_src = np.asarray([a[0] for a in added], dtype=np.int32)
        add_pos = np.asarray([a[2] for a in added], dtype=np.int64)
        useful = weights[add_pos] > 0
        src = np.concatenate([src, add_src[useful]])
        key = np.concatenate([key, np.asarray([a[1] for a in added], dtype=np.int64)[useful]])
        followed = np.concatenate([followed, ~graph.nofollow[add_src[useful]]])
        position = np.concatenate([position, add_pos[useful]])
    merged = _keep_strongest(packing.pack(src, key, _strength(followed, position, rank)))
    new = _classify(
        *packing.unpack(merged),
        n=n,
        node_of_url=graph.node_of_url,
        outcome=outcome,
        weights=weights,
    )

    # Delta_S = new rows - old rows of the touched pages; P'^T z = P^T z + Delta_S^T z_S.
    # It touches few columns: keep it as a small dense block (columns x pages).
    local = np.full(n, -1, dtype=np.int64)
    local[pages] = np.arange(pages.size)
    old_src, old_index = _gather_rows(graph.flows.ptr, pages)
    old_share = weights[graph.flows.position[old_index]] / graph.weight_total[old_src]
    new_share = weights[new.flow_pos] / new.weight_total[new.flow_src]
    columns, inverse = np.unique(
        np.concatenate([new.flow_dst, graph.flows.target[old_index]]), return_inverse=True
    )
    change = np.zeros((columns.size, pages.size))
    np.add.at(
        change,
        (inverse, np.concatenate([local[new.flow_src], local[old_src]])),
        np.concatenate([new_share, -old_share]),
    )
    x = model.equity
    first = (1.0 - d) * (deposit - model.deposit)
    first[columns] += d * (change @ x[pages])
    transition = graph.transition

    def step(z: np.ndarray) -> np.ndarray:
        y = transition @ z
        y[columns] += change @ z[pages]
        y *= d
        y += first
        return y

    if tolerance is None:
        tolerance = max(config.tolerance, config.whatif_rtol * _l1(first))
    initial = start.delta if start is not None else first
    delta, solve = _solve_fixed_point(
        step,
        initial,
        contraction=d,
        norm=_l1,
        tolerance=tolerance,
        max_iterations=config.max_iterations,
    )
    equity = np.maximum(x + delta, 0.0)
    equity[removed_pages] = 0.0
    delta = equity - x

    # Leaks: base leak shares with the touched rows replaced.
    new_leak = np.zeros((pages.size, len(LEAK_KINDS)))
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse_total = np.where(new.weight_total > 0, 1.0 / new.weight_total, 0.0)
    for kind in range(len(LEAK_KINDS)):
        mask = new.leak_kind == kind
        new_leak[:, kind] = np.bincount(
            local[new.leak_src[mask]],
            weights=weights[new.leak_pos[mask]] * inverse_total[new.leak_src[mask]],
            minlength=pages.size,
        )
    dead = new.weight_total[pages] <= 0
    new_leak[dead] = 0.0
    new_leak[dead, LEAK_KINDS.index("dead_end")] = 1.0
    scale = d / (1.0 - d)
    leaked_totals = scale * (
        graph.leak_share.T @ equity + (new_leak - graph.leak_share[pages]).T @ equity[pages]
    )
    leaked = dict(zip(LEAK_KINDS, map(float, leaked_totals), strict=True))
    return WhatIfResult(
        equity=equity,
        delta=delta,
        entered=float(deposit.sum()),
        held=float(equity.sum()),
        leaked=leaked,
        leaked_delta={k: leaked[k] - model.budget.leaked[k] for k in LEAK_KINDS},
        changed_pages=pages.astype(np.int32),
        removed_pages=removed_pages,
        solve=solve,
    )


def _gather_rows(ptr: np.ndarray, pages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = ptr[pages]
    counts = ptr[pages + 1] - starts
    index = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    return np.repeat(pages, counts), index


def _apply_redirects(
    model: EquityModel, redirects: Mapping[str, LinkEnd]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Re-resolve with extra redirects: ``(final, outcome, deposit, removed, touched)``."""
    graph, config = model.graph, model.config
    old_final = graph.url_final
    sources: list[int] = []
    targets: list[int] = []
    for source, target in redirects.items():
        found = graph.resolve(source)
        if found.url_id is None:
            raise ValueError(f"redirect: {source} is not in the store; nothing links to it")
        is_end = int(old_final[found.url_id]) == found.url_id
        if not is_end and graph.url_outcome[found.url_id] != O_LOOP:
            raise ValueError(
                f"redirect: {source} already resolves to {found.final_url}; "
                "redirect that URL instead"
            )
        sources.append(found.url_id)
        targets.append(_url_id_of(graph, target, "redirect"))
    resolved = graph._resolver.resolve(
        np.asarray(sources, dtype=np.int64), np.asarray(targets, dtype=np.int64)
    )
    outcome = graph._resolver.finish(resolved)
    final = resolved.final
    for source, url_id in zip(redirects, sources, strict=True):
        if outcome[url_id] != O_NODE:
            raise ValueError(
                f"redirect: {source} would resolve to {OUTCOMES[int(outcome[url_id])]}, not a page"
            )
    changed_ids = np.flatnonzero(final != old_final)
    # Pages that stop being pages (consolidated into their redirect target).
    removed = graph.node_of_url[changed_ids]
    removed = removed[removed >= 0].astype(np.int32)
    # Pages whose links point at a URL whose resolution changed.
    flow_sources = graph.transition[removed].tocsr().indices if removed.size else np.zeros(0)
    leak_hit = np.isin(graph.leaks.target, changed_ids)
    leak_rows = np.searchsorted(graph.leaks.ptr, np.flatnonzero(leak_hit), side="right") - 1
    touched = np.unique(np.concatenate([flow_sources, leak_rows, removed])).astype(np.int32)
    touched = touched[~np.isin(touched, removed)]

    # Deposits in base units: the even part is spread over the pages that remain
    # (as a fresh crawl would), backlink votes are re-counted and scaled by the
    # base model's backlink total, so recovered backlinks add authority.
    n = graph.n
    uniform = np.full(n, 1.0 / (n - removed.size))
    uniform[removed] = 0.0
    deposit = (1.0 - model.beta) * uniform
    if model.beta > 0:
        authority = _fill_authority(graph, config)
        votes = _votes(graph, final, outcome, authority, with_lost=False)
        raw = np.bincount(votes.node, weights=votes.authority, minlength=n)
        deposit = deposit + model.beta * raw / model.backlink_raw_total
    return final, outcome, deposit, removed, touched


# -- fast estimates for choosing links -------------------------------------------


@dataclass(frozen=True, eq=False)
class LinkGainEstimates:
    """What adding one link ``source -> target`` is worth to a goal, per source.

    ``estimate`` is exact up to one factor, ``x'_source / x_source`` (how much
    the source page itself changes through links that lead back to it), which
    lies in a known interval: ``lower <= exact gain <= upper``. Use it to rank
    candidates in one pass, then :func:`simulate` the chosen set.

    Attributes
    ----------
    target : int
        The page that would receive the link.
    goal : ndarray of int32
        Pages whose total equity is measured.
    position : str
    sources : ndarray of int32
    estimate, lower, upper : ndarray of float64
    """

    target: int
    goal: np.ndarray
    position: str
    sources: np.ndarray
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def best(self, k: int = 20) -> np.ndarray:
        """Sources with the largest estimated gain, largest first."""
        order = np.lexsort((self.sources, -self.estimate))
        return self.sources[order[:k]]


def link_gain_estimates(
    model: EquityModel,
    target: LinkEnd,
    *,
    goal: Iterable[int] | int | None = None,
    position: str = "content",
    sources: Iterable[int] | None = None,
) -> LinkGainEstimates:
    """Estimate, for every candidate source, the goal's gain from one new link.

    Adding ``u -> target`` changes row ``u`` of ``P`` by
    ``delta = a (e_target - P_u)`` with ``a = (w_new - w_old) / W'_u``. By
    Sherman-Morrison the goal's equity changes by
    ``d/(1-d) x_u (r . delta) / (1 - d g_u)`` where ``r`` is the goal's reverse
    vector; ``estimate`` drops the feedback term ``1/(1 - d g_u)``, which is
    bounded by ``[1/(1 + a d/(1-d)), 1/(1 - a d)]``. One reverse solve (cached)
    and one mat-vec for all sources.

    Parameters
    ----------
    model : EquityModel
    target : int or str
        The page receiving the link.
    goal : int or iterable of int, optional
        Pages whose equity counts; default ``[target]``.
    position : str
        Position of the new link.
    sources : iterable of int, optional
        Candidate sources; default every page.

    Returns
    -------
    LinkGainEstimates
    """
    graph, config = model.graph, model.config
    d = config.damping
    weights = np.asarray(graph.position_weights)
    if position not in POSITIONS:
        raise ValueError(f"unknown position {position!r}; positions are {', '.join(POSITIONS)}")
    w_new = float(weights[POSITIONS.index(position)])
    page = _node_of(graph, target, "target")
    goal_nodes = _as_nodes(page if goal is None else goal, graph.n)
    reverse = model.reverse_vector(goal_nodes)
    key = ("forward-reverse", goal_nodes.tobytes())
    if key not in model._cache:
        model._cache[key] = graph.transition.T @ reverse
    pushed: np.ndarray = model._cache[key]
    candidates = (
        np.arange(graph.n, dtype=np.int32)
        if sources is None
        else np.unique(np.asarray(list(sources), dtype=np.int32))
    )
    total = graph.weight_total[candidates]
    # Existing followed link candidate -> page: its share is column `page` of P.
    column = graph.transition[[page]].tocsr()
    followed_share = np.zeros(graph.n)
    followed_share[column.indices] = column.data
    w_old = followed_share[candidates] * total
    # Existing nofollow link (and no followed one) to the page.
    assert graph.leaks.kind is not None
    nofollow_hit = (graph.leaks.target == graph.node_url_id[page]) & (graph.leaks.kind == NOFOLLOW)
    nofollow_weight = np.zeros(graph.n)
    hit_rows = np.searchsorted(graph.leaks.ptr, np.flatnonzero(nofollow_hit), side="right") - 1
    nofollow_weight[hit_rows] = weights[graph.leaks.position[nofollow_hit]]
    w_nf = np.where(w_old > 0, 0.0, nofollow_weight[candidates])

    upgrade = (w_old < w_new) & (w_nf == 0)
    convert = w_nf > 0
    active = (upgrade | convert) & (candidates != page) & ~graph.nofollow[candidates]
    new_total = total - w_old - w_nf + w_new
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(active, (w_new - w_old - w_nf) / new_total, 0.0)
        share_new = np.where(active, w_new / new_total, 0.0)
    scale = d / (1.0 - d)
    x = model.equity[candidates]
    # r . delta: an upgrade (or a new link) changes row u by alpha (e_target - P_u);
    # turning a nofollow link into a followed one by share_new e_target - alpha P_u.
    r_dot = np.where(
        convert,
        share_new * reverse[page] - alpha * pushed[candidates],
        alpha * (reverse[page] - pushed[candidates]),
    )
    estimate = np.where(active, scale * x * r_dot, 0.0)
    # Bounds on d g_u; the factor is 1 / (1 - d g_u).
    pos_alpha, neg_alpha = np.maximum(alpha, 0.0), np.maximum(-alpha, 0.0)
    low_dg = -pos_alpha * scale
    high_dg = np.where(convert, share_new * scale + neg_alpha * scale, alpha * d)
    factor_low = 1.0 / (1.0 - low_dg)
    with np.errstate(divide="ignore"):
        factor_high = np.where(high_dg < 1.0, 1.0 / (1.0 - high_dg), np.inf)
    a, b = estimate * factor_low, estimate * factor_high
    with np.errstate(invalid="ignore"):
        lower = np.where(active, np.nan_to_num(np.minimum(a, b), nan=0.0, neginf=-np.inf), 0.0)
        upper = np.where(active, np.nan_to_num(np.maximum(a, b), nan=0.0, posinf=np.inf), 0.0)
    return LinkGainEstimates(page, goal_nodes, position, candidates, estimate, lower, upper)


# -- export ------------------------------------------------------------------------


def to_networkx(model_or_graph: EquityModel | SiteGraph) -> Any:
    """The graph (and, for a model, its figures) as a ``networkx.DiGraph``.

    Nodes are node indices with ``url``, ``title``, ``depth``, ``status`` and
    ``noindex`` (plus ``equity``, ``score``, ``rank``, ``deposit``, ``pagerank``
    and ``section`` for a model); edges carry ``share``, ``position`` (and
    ``flow``, the authority the link passes, for a model). Meant for small sites
    and for analysis in networkx; it holds Python objects per link.
    """
    import networkx as nx  # noqa: PLC0415 - only this export needs it

    model = model_or_graph if isinstance(model_or_graph, EquityModel) else None
    graph = model.graph if model is not None else model_or_graph
    assert isinstance(graph, SiteGraph)
    out = nx.DiGraph()
    for i in range(graph.n):
        attributes: dict[str, Any] = {
            "url": graph.urls[i],
            "title": graph.title[i],
            "depth": int(graph.depth[i]),
            "status": int(graph.status[i]),
            "noindex": bool(graph.noindex[i]),
        }
        if model is not None:
            attributes.update(
                equity=float(model.equity[i]),
                score=float(model.score[i]),
                rank=int(model.rank[i]),
                deposit=float(model.deposit[i]),
                pagerank=None if model.pagerank is None else float(model.pagerank[i]),
                section=model.sections.names[model.sections.of_node[i]],
            )
        out.add_node(i, **attributes)
    for u in range(graph.n):
        rows = graph.flows.of(u)
        targets, shares = graph.shares(u)
        positions = graph.flows.position[rows]
        edges = zip(targets.tolist(), shares.tolist(), positions.tolist(), strict=True)
        for v, share, code in edges:
            attributes = {"share": share, "position": POSITIONS[code]}
            if model is not None:
                damping = model.config.damping
                attributes["flow"] = damping / (1 - damping) * float(model.equity[u]) * share
            out.add_edge(u, v, **attributes)
    return out
