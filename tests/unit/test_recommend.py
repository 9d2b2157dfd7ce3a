"""Link and redirect recommendations: exact gains, the set's gain, filters, anchors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from reports.config import EquityConfig
from reports.equity import EquityModel, compute_equity
from reports.gaps import priority_nodes
from reports.gaps_config import GapsConfig
from reports.graph import load_graph
from reports.recommend import Recommendations, recommend_links, recommend_redirects, suggest_anchor
from tests.support.storebuilder import Link, StoreBuilder

BASE = "https://site.test"
NAV = ("/@nav", "/shop/@nav", "/guides/@nav")
PRIORITY = (BASE + "/shop/boots", BASE + "/shop/tent")


def shop(extra: dict[str, list[str]] | None = None) -> StoreBuilder:
    """A shop whose boots page is starved and whose boot-care guide holds the authority."""
    extra = extra or {}
    site = StoreBuilder(BASE)

    def page(path: str, *links: str | Link, **facts: object) -> None:
        site.page(path, *links, *extra.get(path, []), **facts)

    def words(*terms: str) -> str:
        return json.dumps(list(terms))

    page("/", *NAV, "/guides/boots-care", title="Home | Brand")
    page("/shop/", *NAV, "/shop/boots@footer", "/shop/tent", title="Shop | Brand")
    page(
        "/shop/boots",
        *NAV,
        title="Waterproof boots | Brand",
        h1="Waterproof boots",
        signature=words("boots", "waterproof", "leather"),
    )
    page("/shop/tent", *NAV, title="Ultralight tent | Brand", signature=words("tent", "ultralight"))
    page(
        "/guides/",
        *NAV,
        *(f"/guides/{p}" for p in ("boots-care", "tent-pitching", "leather", "quiet", "linked")),
        "/guides/big",
        "/about",
        title="Guides | Brand",
    )
    page(
        "/guides/boots-care",
        *NAV,
        title="Caring for waterproof boots | Brand",
        signature=words("boots", "waterproof", "care", "leather"),
    )
    page(
        "/guides/tent-pitching",
        *NAV,
        title="Pitching an ultralight tent | Brand",
        signature=words("tent", "pitch", "ultralight"),
    )
    # Relevant to the boots, but each unfit to carry a new link:
    page("/guides/leather", *NAV, title="Leather boots care", noindex=True)
    page("/guides/quiet", *NAV, title="Waterproof boots quietly", nofollow=True)
    page("/guides/linked", *NAV, "/shop/boots", title="Waterproof boots linked already")
    page(
        "/guides/big",
        *NAV,
        *(f"https://ext{i}.test/" for i in range(12)),
        title="Waterproof boots, the big list",
    )
    page("/about", *NAV, title="About us | Brand")
    for i in range(6):
        site.backlink(f"https://b{i}.example/", "/guides/boots-care", authority=0.8)
    site.backlink("https://t.example/", "/guides/tent-pitching", authority=0.5)
    site.error("/shop/waterproof-boots-2019", 404)
    site.backlink("https://old.example/", "/shop/waterproof-boots-2019", authority=0.6)
    site.redirect("/old-tent", "/old-tent-gone")
    site.error("/old-tent-gone", 410)
    site.backlink("https://old2.example/", "/old-tent", authority=0.4)
    site.meta(complete=True)
    return site


def model_of(site: StoreBuilder, folder: Path) -> tuple[EquityModel, Path]:
    store = site.build(folder)
    config = EquityConfig(priority_patterns=PRIORITY, priority_guess=False)
    return compute_equity(load_graph(store, config), config), store


def with_links(links: list[tuple[str, str]]) -> dict[str, list[str]]:
    extra: dict[str, list[str]] = {}
    for source, target in links:
        extra.setdefault(source.removeprefix(BASE), []).append(target.removeprefix(BASE))
    return extra


def priority_total(model: EquityModel) -> float:
    return float(model.equity[priority_nodes(model)].sum())


@pytest.fixture
def recommended(tmp_path: Path) -> tuple[EquityModel, Recommendations]:
    model, store = model_of(shop(), tmp_path / "base")
    return model, recommend_links(model, store, GapsConfig(links=4))


def test_the_sets_gain_is_the_models_answer_for_the_whole_set(
    recommended: tuple[EquityModel, Recommendations], tmp_path: Path
) -> None:
    model, recs = recommended
    assert len(recs.links) == 4
    assert [r.order for r in recs.links] == [1, 2, 3, 4]
    after, _ = model_of(
        shop(with_links([(r.source_url, r.target_url) for r in recs.links])), tmp_path / "after"
    )
    assert recs.set_result is not None
    bound = recs.set_result.solve.error_bound + 1e-12
    assert abs(recs.priority_after - priority_total(after)) <= bound
    assert recs.priority_before == pytest.approx(priority_total(model))
    assert recs.set_gain == pytest.approx(sum(r.gain for r in recs.links), abs=1e-15)
    assert all(r.gain > 0 for r in recs.links)
    for rec in recs.links:
        page = after.graph.node(rec.target_url)
        assert page is not None
        assert abs(rec.equity_after - after.equity[page]) <= bound
        assert rec.rank_after == after.rank[page]
        assert rec.equity_before == model.equity[model.graph.node(rec.target_url)]
        assert rec.target_gain == pytest.approx(rec.equity_after - rec.equity_before)


def test_each_candidates_gain_is_exact(
    recommended: tuple[EquityModel, Recommendations], tmp_path: Path
) -> None:
    model, recs = recommended
    before = priority_total(model)
    for target, candidates in recs.candidates.items():
        top = candidates[0]
        after, _ = model_of(shop(with_links([(top.source_url, target)])), tmp_path / target[-4:])
        assert top.gain == pytest.approx(priority_total(after) - before, rel=1e-4)
        page = after.graph.node(target)
        assert top.target_gain == pytest.approx(
            after.equity[page] - model.equity[model.graph.node(target)], rel=1e-4
        )
        scores = [c.score for c in candidates]
        assert scores == sorted(scores, reverse=True)


def test_the_best_source_is_relevant_and_holds_authority(
    recommended: tuple[EquityModel, Recommendations],
) -> None:
    _, recs = recommended
    boots = recs.candidates[BASE + "/shop/boots"]
    assert boots[0].source_url == BASE + "/guides/boots-care"
    tent = recs.candidates[BASE + "/shop/tent"]
    assert tent[0].source_url == BASE + "/guides/tent-pitching"
    assert recs.links[0].source_url == BASE + "/guides/boots-care"
    assert recs.links[0].anchor == "Waterproof boots"
    assert recs.targets == PRIORITY  # in the priority file's order


def test_unfit_sources_are_never_candidates(
    recommended: tuple[EquityModel, Recommendations], tmp_path: Path
) -> None:
    _, recs = recommended
    sources = {c.source_url for cs in recs.candidates.values() for c in cs}
    for path in ("/guides/leather", "/guides/quiet", "/guides/linked", "/about"):
        assert BASE + path not in sources, path
    # The big page is over a small outlink budget, not over the default one.
    model, store = model_of(shop(), tmp_path / "budget")
    small = recommend_links(model, store, GapsConfig(max_outlinks=10, candidates=20))
    large = recommend_links(model, store, GapsConfig(max_outlinks=150, candidates=20))
    big = BASE + "/guides/big"
    assert big not in {c.source_url for cs in small.candidates.values() for c in cs}
    assert big in {c.source_url for cs in large.candidates.values() for c in cs}
    # A page linking the target only from its footer can still add a contextual link.
    assert BASE + "/shop/" in {c.source_url for c in large.candidates[BASE + "/shop/boots"]}


def test_caps_per_target_and_per_source(tmp_path: Path) -> None:
    model, store = model_of(shop(), tmp_path)
    recs = recommend_links(
        model, store, GapsConfig(links=10, links_per_target=1, links_per_source=1)
    )
    assert len({r.target_url for r in recs.links}) == len(recs.links) == 2
    assert len({r.source_url for r in recs.links}) == len(recs.links)


def test_relevance_weight_trades_relevance_against_gain(tmp_path: Path) -> None:
    model, store = model_of(shop(), tmp_path)
    by_gain = recommend_links(model, store, GapsConfig(relevance_weight=0.0, links=1, targets=1))
    candidates = by_gain.candidates[by_gain.targets[0]]
    assert [c.gain for c in candidates] == sorted((c.gain for c in candidates), reverse=True)
    by_relevance = recommend_links(model, store, GapsConfig(relevance_weight=10.0, targets=1))
    ranked = by_relevance.candidates[by_relevance.targets[0]]
    assert ranked[0].relevance == max(c.relevance for c in ranked)


def test_anchors_are_never_vague(tmp_path: Path) -> None:
    site = StoreBuilder(BASE)
    site.page("/", "/h1", "/title", Link("/anchor", anchor="Best kettles"), "/my-tea-pot-2")
    site.page("/h1", title="Boots | Brand", h1="Hiking boots")
    site.page("/title", title="Tents for winter | Brand", h1="Read more")
    site.page("/anchor", title="Click here", h1="Here")
    site.page("/my-tea-pot-2", title="", h1="")
    store = site.build(tmp_path)
    model = compute_equity(load_graph(store), EquityConfig(priority_guess=False))
    with sqlite3.connect(store) as conn:
        anchors = [
            suggest_anchor(model, conn, model.graph.node(BASE + path) or 0)
            for path in ("/h1", "/title", "/anchor", "/my-tea-pot-2")
        ]
    assert anchors == ["Hiking boots", "Tents for winter", "Best kettles", "my tea pot"]


def test_without_priority_pages_there_is_nothing_to_recommend(tmp_path: Path) -> None:
    store = shop().build(tmp_path)
    config = EquityConfig(priority_guess=False)
    model = compute_equity(load_graph(store, config), config)
    recs = recommend_links(model, store)
    assert recs.links == () and recs.set_gain == 0.0
    assert recs.note.startswith("no priority pages")
    assert recs.redirects  # redirects do not need priority pages
    model, store = model_of(shop(), tmp_path / "k0")
    assert recommend_links(model, store, GapsConfig(links=0)).note == "GAPS_LINKS is 0"


def test_redirects_for_lost_backlinks(tmp_path: Path) -> None:
    model, store = model_of(shop(), tmp_path)
    redirects = recommend_redirects(model, store)
    by_url = {r.from_url: r for r in redirects}
    boots = by_url[BASE + "/shop/waterproof-boots-2019"]
    assert boots.to_url == BASE + "/shop/boots"
    assert (boots.status, boots.via_url, boots.referring_domains) == (404, None, 1)
    assert boots.gain > boots.priority_gain > 0
    assert boots.similarity > 0
    chain = by_url[BASE + "/old-tent"]
    assert chain.via_url == BASE + "/old-tent-gone"
    assert chain.status == 410
    gains = [r.gain for r in redirects]
    assert gains == sorted(gains, reverse=True)
    assert recommend_links(model, store, redirects=False).redirects == ()
    assert recommend_links(model, store, GapsConfig(redirects=1)).redirects_total == 2
    assert np.isfinite(gains).all()
