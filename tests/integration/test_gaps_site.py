"""Gaps and recommendations on a real crawl of the designed site (tests/support/gaps_site.py).

The site is served on 127.0.0.1 and crawled by the real ``scrapy crawl site``
with a backlink export and a priority file the test writes; the equity model
is computed from the store, then the findings and recommendations are checked
against what the site was designed to hide. Predicted gains are checked
against a full recomputation on a copy of the store with the links added.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from linkspider import settings as project_settings
from reports.config import EquityConfig
from reports.equity import EquityModel, compute_equity, solve_equity
from reports.gaps import Finding, GapReport, find_gaps, priority_nodes
from reports.gaps_config import GapsConfig
from reports.graph import load_graph
from reports.recommend import Recommendations, recommend_links
from tests.support.crawl import run_crawl
from tests.support.gaps_site import (
    BROKEN_BY_WASTE,
    BURIED,
    LOST_TARGET,
    ORPHAN_WITH_BACKLINKS,
    ORPHAN_WITHOUT_BACKLINKS,
    REDIRECT_SUGGESTION,
    ROUTING_GUIDE,
    STARVED,
    STRANDED_GUIDE,
    add_links,
    gaps_site,
    write_backlinks,
    write_priority,
)
from tests.support.server import TestServer

EXTENSIONS = json.dumps(
    {**project_settings.EXTENSIONS, "pipelines.backlinks.extension.BacklinksImport": 500}
)


@dataclass
class Run:
    base: str
    folder: Path
    store: Path
    config: EquityConfig
    model: EquityModel
    gaps: GapReport
    recs: Recommendations

    def url(self, path: str) -> str:
        return self.base + path

    def findings(self, kind: str) -> list[Finding]:
        return self.gaps.of_kind(kind)


def crawl_and_analyse(folder: Path, **args: str) -> Run:
    with TestServer(gaps_site().build()) as server:
        backlinks = write_backlinks(folder, server.base)
        priority = write_priority(folder, server.base)
        process = run_crawl(
            server.url("/"),
            folder / "run",
            args={"backlinks": str(backlinks), "priority": str(priority), **args},
            settings={"EXTENSIONS": EXTENSIONS},
        )
        base = server.base
    assert process.returncode == 0, process.stderr[-3000:]
    store = folder / "run" / "crawl.sqlite"
    config = EquityConfig(priority_file=str(priority))
    model = compute_equity(load_graph(store, config), config)
    gaps = find_gaps(model, store, GapsConfig())
    recs = recommend_links(model, store, GapsConfig())
    return Run(base, folder, store, config, model, gaps, recs)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return crawl_and_analyse(tmp_path_factory.mktemp("gaps-full"))


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return crawl_and_analyse(tmp_path_factory.mktemp("gaps-capped"), max_pages="6")


def evidence(finding: Finding) -> dict[str, Any]:
    return {e.label: e.value for e in finding.evidence}


def recompute(run: Run, links: list[tuple[str, str, str]], name: str) -> EquityModel:
    """The model of the same crawl with ``links`` added, from scratch."""
    copy = add_links(run.store, run.folder / name, links)
    return compute_equity(load_graph(copy, run.config), run.config)


# -- orphans ----------------------------------------------------------------------------


def test_the_orphan_with_backlinks_is_found_and_ranked_first(full: Run) -> None:
    orphans = full.findings("orphan")
    assert [f.pages[0].url for f in orphans] == [
        full.url(ORPHAN_WITH_BACKLINKS),
        full.url(ORPHAN_WITHOUT_BACKLINKS),
    ]
    first, second = orphans
    assert (first.verdict, first.severity) == ("orphan", "high")
    assert evidence(first)["Referring domains"] == 2
    assert evidence(first)["Known from"] == "backlinks"
    assert first.equity_at_stake is not None and first.equity_at_stake > 0
    assert (second.verdict, second.severity) == ("orphan", "medium")
    assert evidence(second)["Known from"] == "sitemap"
    assert full.gaps.complete and full.gaps.incomplete_reason == ""


def test_a_crawl_stopped_by_max_pages_reports_orphans_as_inconclusive(capped: Run) -> None:
    assert not capped.gaps.complete
    assert "max_pages=6" in capped.gaps.incomplete_reason
    orphans = capped.findings("orphan")
    assert orphans, "the known URLs the capped crawl never reached are candidates"
    assert {f.verdict for f in orphans} == {"inconclusive"}
    assert {f.severity for f in orphans} == {"low"}
    assert all("inconclusive" in f.title and "max_pages=6" in f.title for f in orphans)
    urls = [f.pages[0].url for f in orphans]
    # Backlinked candidates first; a skipped URL that a crawled page links is no candidate.
    assert urls[0] == capped.url(ORPHAN_WITH_BACKLINKS)
    assert capped.url(ORPHAN_WITHOUT_BACKLINKS) in urls
    assert capped.url(STRANDED_GUIDE) not in urls


def test_finding_ids_are_stable_from_run_to_run(full: Run, capped: Run) -> None:
    # Two servers, two ports, two runs: the same page gets the same id.
    assert full.base != capped.base
    ids_full = {f.pages[0].url.removeprefix(full.base): f.id for f in full.findings("orphan")}
    ids_capped = {f.pages[0].url.removeprefix(capped.base): f.id for f in capped.findings("orphan")}
    assert ids_full[ORPHAN_WITH_BACKLINKS] == ids_capped[ORPHAN_WITH_BACKLINKS]
    assert ids_full[ORPHAN_WITHOUT_BACKLINKS] == ids_capped[ORPHAN_WITHOUT_BACKLINKS]
    assert len({f.id for f in full.gaps.findings}) == len(full.gaps.findings)


def test_results_hold_plain_values_the_report_can_take_as_they_are(full: Run) -> None:
    for finding in full.gaps.findings:
        assert type(finding.equity_at_stake) in (float, type(None))
        for fact in finding.evidence:
            assert type(fact.value) in (int, float, str), (finding.id, fact)
    for rec in full.recs.links:
        values = (rec.gain, rec.equity_before, rec.equity_after, rec.relevance)
        assert all(type(v) is float for v in values)
        assert all(type(v) is int for v in (rec.rank_before, rec.rank_after))
    for redirect in full.recs.redirects:
        assert type(redirect.gain) is float and type(redirect.status) is int


# -- priority pages ---------------------------------------------------------------------


def test_the_deep_money_page_is_reported_with_its_depth_and_route(full: Run) -> None:
    (buried,) = full.findings("buried")
    assert evidence(buried)["Click depth"] == 4
    assert evidence(buried)["Threshold"] == 3
    route = [p.url.removeprefix(full.base) for p in buried.pages]
    assert route == ["/", "/shop/", "/shop/tents/", "/shop/tents/ultralight/", BURIED]
    assert "Ultralight tents" in buried.pages[2].note  # the anchor of the link taken


def test_the_starved_money_page_is_reported(full: Run) -> None:
    starved = {f.pages[0].url: f for f in full.findings("starved")}
    finding = starved[full.url(STARVED)]
    facts = evidence(finding)
    assert facts["Contextual inlinks"] == 0
    assert facts["Navigation, footer and sidebar inlinks"] == 2
    assert finding.severity == "high"


def test_the_stranded_guide_is_reported_and_the_routing_guide_is_not(full: Run) -> None:
    stranded = [f.pages[0].url for f in full.findings("stranded")]
    assert stranded[0] == full.url(STRANDED_GUIDE)  # it strands the most
    assert full.url(ROUTING_GUIDE) not in stranded
    finding = full.findings("stranded")[0]
    assert evidence(finding)["Contextual links to priority pages"] == 0
    assert evidence(finding)["Referring domains"] == 5


# -- recommendations --------------------------------------------------------------------


def test_the_top_recommendation_for_the_starved_page_comes_from_the_stranded_guide(
    full: Run,
) -> None:
    candidates = full.recs.candidates[full.url(STARVED)]
    top = candidates[0]
    assert top.source_url == full.url(STRANDED_GUIDE)
    assert top.relevance == max(c.relevance for c in candidates)
    chosen = [r for r in full.recs.links if r.target_url == full.url(STARVED)]
    assert chosen[0].source_url == full.url(STRANDED_GUIDE)
    assert chosen[0].anchor == "Waterproof hiking boots"
    assert not GapsConfig().is_vague(chosen[0].anchor)
    # Its predicted gain is the model's answer with the link really there.
    after = recompute(full, [(top.source_url, top.target_url, "content")], "one-link")
    goal = priority_nodes(full.model)
    gain = float(after.equity[priority_nodes(after)].sum() - full.model.equity[goal].sum())
    target = after.graph.resolve(top.target_url).node
    assert target is not None
    target_gain = float(
        after.equity[target] - full.model.equity[full.model.graph.node(top.target_url)]
    )
    assert top.gain == pytest.approx(gain, rel=1e-4)
    assert top.target_gain == pytest.approx(target_gain, rel=1e-4)


def test_the_sets_predicted_gain_is_a_full_recomputation_with_every_link(full: Run) -> None:
    recs = full.recs
    assert 1 < len(recs.links) <= GapsConfig().links
    links = [(r.source_url, r.target_url, "content") for r in recs.links]
    after = recompute(full, links, "all-links")
    assert recs.set_result is not None
    bound = recs.set_result.solve.error_bound + 1e-9
    assert abs(recs.priority_after - after.equity[priority_nodes(after)].sum()) <= bound
    assert sum(r.gain for r in recs.links) == pytest.approx(recs.set_gain, abs=1e-12)
    assert recs.set_gain > 0
    for rec in recs.links:
        page = after.graph.resolve(rec.target_url).node
        assert page is not None
        assert abs(rec.equity_after - after.equity[page]) <= bound
        assert rec.rank_after == after.rank[page]
    # Gains are marginal: not the sum of the links' gains on their own.
    assert recs.set_gain != pytest.approx(sum(r.single_gain for r in recs.links), rel=1e-6)


# -- leaks and anchors ------------------------------------------------------------------


def test_broken_links_are_ranked_by_the_equity_they_waste(full: Run) -> None:
    broken = full.findings("broken_link")
    assert [evidence(f)["Broken URL"] for f in broken] == [full.url(p) for p in BROKEN_BY_WASTE]
    wasted = [f.equity_at_stake or 0.0 for f in broken]
    assert wasted == sorted(wasted, reverse=True) and wasted[-1] > 0
    assert [p.url for p in broken[0].pages] == [full.url("/")]
    assert broken[0].pages[0].note == "“Camp lantern” (content)"
    assert evidence(broken[0])["Answer"] == "HTTP 404"


def test_links_to_redirects_name_the_final_url(full: Run) -> None:
    redirects = {f.title.split(" to ")[1].split(",")[0]: f for f in full.findings("redirect_link")}
    chain, single = redirects["/old-shop"], redirects["/sale"]
    assert evidence(chain)["Redirect hops"] == 2 and chain.severity == "medium"
    assert evidence(single)["Redirect hops"] == 1
    for finding in (chain, single):
        assert evidence(finding)["Link instead to"] == full.url("/shop/")


def test_vague_anchors_are_ranked_by_the_equity_they_carry_into_priority_pages(
    full: Run,
) -> None:
    vague = full.findings("vague_anchor")
    assert [evidence(f)["Links"] for f in vague] == [1, 3]  # not ranked by count
    assert vague[0].title.startswith("“Read more” carries")
    assert vague[1].title.startswith("“click here” carries")
    carried = [evidence(f)["Authority carried into priority pages"] for f in vague]
    assert carried[0] > carried[1]
    (image,) = full.findings("image_no_alt")
    assert image.pages[0].url == full.url("/shop/trail-runner")


def test_lost_backlink_equity_gets_a_sensible_redirect_and_its_gain(full: Run) -> None:
    (lost,) = full.findings("lost_backlinks")
    facts = evidence(lost)
    assert lost.pages[0].url == full.url(LOST_TARGET)
    assert facts["Referring domains"] == 2
    assert facts["Suggested redirect"] == full.url(REDIRECT_SUGGESTION)  # not the shop index
    (redirect,) = full.recs.redirects
    assert (redirect.from_url, redirect.to_url) == (full.url(LOST_TARGET), full.url(STARVED))
    assert (redirect.status, redirect.referring_domains) == (404, 2)
    # The gain is what a recomputation with the redirect in place gives, in the
    # base model's units (the recovered backlinks add authority on top of 1).
    copy = add_links(full.store, full.folder / "redirected", [])
    with sqlite3.connect(copy) as conn:
        (lost_id,) = conn.execute(
            "SELECT id FROM urls WHERE url = ?", (redirect.from_url,)
        ).fetchone()
        (to_id,) = conn.execute("SELECT id FROM urls WHERE url = ?", (redirect.to_url,)).fetchone()
        conn.execute(
            "UPDATE pages SET kind = 'redirect', status = 301 WHERE url_id = ?", (lost_id,)
        )
        conn.execute(
            "INSERT INTO redirects(src_id, dst_id, status) VALUES (?, ?, 301)", (lost_id, to_id)
        )
    after = compute_equity(load_graph(copy, full.config), full.config)
    assert np.isclose(after.budget.lost_backlink_share, 0.0)
    # In the base model's units the even part stays 1 - beta and the backlink
    # part grows by the recovered authority: solve that source on the new graph.
    beta = full.model.beta
    even = (1 - beta) / after.graph.n
    scale = after.backlink_raw_total / full.model.backlink_raw_total
    source = even + (after.deposit - even) * scale
    equity, _ = solve_equity(after.graph, source, full.config)
    assert redirect.gain == pytest.approx(equity.sum() - full.model.equity.sum(), rel=1e-4)
    goal = priority_nodes(after)
    before = full.model.equity[priority_nodes(full.model)].sum()
    assert redirect.priority_gain == pytest.approx(equity[goal].sum() - before, rel=1e-4)
    assert redirect.gain > redirect.priority_gain > 0
