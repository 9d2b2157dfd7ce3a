"""The gap analysis as the report runs it: computed once, mapped onto the view's types.

:func:`analyse` is what :func:`reports.pipeline.generate_report` runs between
the equity model and the view: it builds the run's topical index once, finds
the gaps (:func:`reports.gaps.find_gaps`) and chooses the links and redirects
to add (:func:`reports.recommend.recommend_links`), both with the same
:class:`~reports.gaps_config.GapsConfig`. :func:`to_analysis` then maps their
results onto what :func:`reports.build.build_view` takes, field by field and
without computing anything again:

* every finding the analysis kept, with every page it lists (the builder
  cuts them for the HTML; ``findings.json`` gets them as they are), ids
  unchanged (they are stable run to run: the comparison matches them);
* the chosen set of links, each with its marginal gain (the gains add up to
  the set's gain), and the redirects;
* the anchor profiles of the priority pages;
* the redirect target of each dead backlinked URL, from its ``lost_backlinks``
  finding: the one source of the report's suggested redirects.

Pure: no Scrapy, Twisted or jinja2 import.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from pipelines.storedb import CrawlStore
from reports import gaps as gap_types
from reports import recommend as rec_types
from reports.build import Analysis, Recommendations
from reports.equity import EquityModel
from reports.gaps import GapReport, find_gaps
from reports.gaps_config import GapsConfig
from reports.recommend import recommend_links
from reports.relevance import build_topic_index
from reports.view import (
    AnchorProfile,
    AnchorUse,
    Fact,
    Finding,
    LinkRecommendation,
    PageRef,
    RedirectRecommendation,
)

__all__ = [
    "analyse",
    "redirect_targets",
    "to_analysis",
    "view_anchor_profiles",
    "view_findings",
    "view_recommendations",
]


def view_findings(findings: Sequence[gap_types.Finding]) -> list[Finding]:
    """The analysis's findings as the view's, in the same order, nothing cut.

    ``verdict`` is not carried: an orphan's verdict is already in its title
    (and in its severity: an inconclusive one is ``low``).
    """
    return [
        Finding(
            id=f.id,
            kind=f.kind,
            severity=f.severity,
            title=f.title,
            evidence=[Fact(e.label, e.value, e.unit) for e in f.evidence],
            fix=f.fix,
            pages=[PageRef(p.url, p.title, p.note) for p in f.pages],
            pages_total=f.pages_total,
            equity_at_stake=f.equity_at_stake,
        )
        for f in findings
    ]


def view_recommendations(recs: rec_types.Recommendations) -> Recommendations:
    """The chosen links (greedy order) and the redirects (largest gain first) as the view's.

    Each link keeps its marginal ``gain``, so the gains add up to
    ``set_gain``, the model's answer for the whole set.
    """
    links = [
        LinkRecommendation(
            id=r.id,
            source_url=r.source_url,
            source_title=r.source_title,
            target_url=r.target_url,
            target_title=r.target_title,
            anchor=r.anchor,
            gain=r.gain,
            equity_before=r.equity_before,
            equity_after=r.equity_after,
            rank_before=r.rank_before,
            rank_after=r.rank_after,
            relevance=r.relevance,
        )
        for r in recs.links
    ]
    redirects = [
        RedirectRecommendation(
            id=r.id,
            from_url=r.from_url,
            status=r.status,
            to_url=r.to_url,
            to_title=r.to_title,
            referring_domains=r.referring_domains,
            backlinks=r.backlinks,
            gain=r.gain,
            priority_gain=r.priority_gain,
            via_url=r.via_url or "",
        )
        for r in recs.redirects
    ]
    return Recommendations(
        links=links,
        redirects=redirects,
        set_gain=recs.set_gain,
        note=recs.note,
    )


def _uses(counts: Sequence[gap_types.AnchorCount]) -> list[AnchorUse]:
    return [AnchorUse(c.anchor, c.links, c.sources, c.vague) for c in counts]


def view_anchor_profiles(profiles: Sequence[gap_types.AnchorProfile]) -> list[AnchorProfile]:
    """The priority pages' anchor profiles, every anchor the analysis listed."""
    return [
        AnchorProfile(
            url=p.url,
            title=p.title,
            internal=_uses(p.internal),
            internal_total=len(p.internal),
            backlinks=_uses(p.backlinks),
            backlinks_total=len(p.backlinks),
        )
        for p in profiles
    ]


def redirect_targets(findings: Sequence[gap_types.Finding]) -> dict[str, str]:
    """Dead backlinked URL -> the live URL to redirect it to, from the ``lost_backlinks`` findings.

    The finding names the dead URL as its page and the suggested page as its
    one ``url`` fact (``reports.gaps.suggest_redirect``); a finding without a
    suggestion (a site with no live page to offer) is left out.
    """
    targets: dict[str, str] = {}
    for finding in findings:
        if finding.kind != "lost_backlinks" or not finding.pages:
            continue
        suggested = next((e.value for e in finding.evidence if e.unit == "url"), None)
        if isinstance(suggested, str) and suggested:
            targets[finding.pages[0].url] = suggested
    return targets


def to_analysis(gaps: GapReport, recs: rec_types.Recommendations) -> Analysis:
    """Map the gap analysis's results onto :class:`reports.build.Analysis`."""
    return Analysis(
        findings=view_findings(gaps.findings),
        recommendations=view_recommendations(recs),
        anchor_profiles=view_anchor_profiles(gaps.anchor_profiles),
        redirect_targets=redirect_targets(gaps.findings),
        kind_totals=dict(gaps.totals),
    )


def analyse(model: EquityModel, store: CrawlStore, config: GapsConfig) -> Analysis:
    """Run the gap analysis and the recommender on a solved model, for the report.

    The topical index (relevance between pages, closest live page to a dead
    URL) is built once and shared by both.

    Parameters
    ----------
    model : EquityModel
        From :func:`reports.equity.compute_equity`; its priority targets are
        the priority pages.
    store : CrawlStore
        The run's store (anchors, known URLs, statuses).
    config : GapsConfig
        The ``GAPS_*`` settings.

    Returns
    -------
    Analysis
        With ``seconds`` per step (``index``, ``gaps``, ``recommendations``).
    """
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    index = build_topic_index(model.graph, store)
    seconds["index"] = time.perf_counter() - clock
    clock = time.perf_counter()
    gaps = find_gaps(model, store, config, index=index)
    seconds["gaps"] = time.perf_counter() - clock
    clock = time.perf_counter()
    recs = recommend_links(model, store, config, index=index, redirects=True)
    seconds["recommendations"] = time.perf_counter() - clock
    return replace(to_analysis(gaps, recs), seconds=seconds)
