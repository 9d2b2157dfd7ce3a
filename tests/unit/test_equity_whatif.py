"""What-ifs: simulate() equals recomputing the changed store; estimates bound the truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reports.config import EquityConfig
from reports.equity import EquityModel, compute_equity, link_gain_estimates, simulate
from reports.graph import load_graph
from tests.support.storebuilder import Link, StoreBuilder

BASE = "https://site.test"
EXACT = 1e-12  # what-if tolerance for comparisons with a full recompute


def site(
    *,
    extra: dict[str, list[str | Link]] | None = None,
    drop: tuple[str, str] | None = None,
    gone_to: str | None = None,
    loop_to: str | None = None,
    merge_b_into: str | None = None,
    backlinks: bool = True,
) -> StoreBuilder:
    """A small site with every leak kind; the options describe the changed versions."""
    extra = extra or {}
    pages: dict[str, list[str | Link]] = {
        "/": ["/a", "/b@nav", "/c@nav", "/blog/@footer", "https://ext.test/", "/loop1"],
        "/a": ["/", "/c", "/gone", "/doc.pdf", "/b@footer"],
        "/b": ["/", "/a!", "/products/x"],
        "/c": ["/a", "/products/y@aside"],
        "/blog/": ["/blog/post", "/"],
        "/blog/post": ["/products/x", "https://ext.test/2", "/gone"],
        "/products/x": ["/", "/products/y"],
        "/products/y": [],
        "/quiet": ["/a@nav"],
    }
    builder = StoreBuilder()
    for path, links in pages.items():
        if merge_b_into and path == "/b":
            builder.redirect("/b", merge_b_into)
            continue
        kept = [link for link in links if drop is None or (path, str(link)) != drop]
        facts = {"nofollow": True} if path == "/quiet" else {}
        builder.page(path, *kept, *extra.get(path, []), **facts)
    if gone_to:
        builder.redirect("/gone", gone_to)
    else:
        builder.error("/gone", 404)
    builder.other("/doc.pdf")
    builder.redirect("/old-a", "/a")
    builder.redirect("/loop1", "/loop2")
    builder.redirect("/loop2", loop_to or "/loop1")
    if backlinks:
        builder.backlink("https://alpha.com/", "/blog/post", authority=0.9)
        builder.backlink("https://beta.com/", "/gone", authority=0.6)
        builder.backlink("https://gamma.com/", "/a", authority=0.3)
        builder.backlink("https://delta.com/", "/b", authority=0.5)
    return builder


def solved(
    tmp_path: Path, builder: StoreBuilder, config: EquityConfig | None = None
) -> EquityModel:
    config = config or EquityConfig()
    return compute_equity(load_graph(builder.build(tmp_path), config), config, priority=[])


def by_url(model: EquityModel, values: np.ndarray) -> dict[str, float]:
    return {url: float(v) for url, v in zip(model.graph.urls, values, strict=True)}


@pytest.fixture
def base(tmp_path: Path) -> EquityModel:
    return solved(tmp_path / "base", site())


def test_adding_links_equals_recomputing(base: EquityModel, tmp_path: Path) -> None:
    changed = solved(
        tmp_path / "changed",
        site(extra={"/c": ["/products/x"], "/blog/post": ["/products/y@breadcrumb", "/c"]}),
    )
    result = simulate(
        base,
        add=[
            (BASE + "/c", BASE + "/products/x", "content"),
            (BASE + "/blog/post", BASE + "/products/y", "breadcrumb"),
            (base.graph.node(BASE + "/blog/post"), base.graph.node(BASE + "/c"), "content"),
        ],
        tolerance=EXACT,
    )
    assert np.abs(result.equity - changed.equity).sum() < 1e-10
    assert result.delta == pytest.approx(changed.equity - base.equity, abs=1e-11)
    for kind, value in changed.budget.leaked.items():
        assert result.leaked[kind] == pytest.approx(value, abs=1e-10)
    assert result.entered == pytest.approx(1.0)
    assert result.solve.error_bound <= EXACT
    assert sorted(result.changed_pages.tolist()) == sorted(
        [base.graph.node(BASE + "/c"), base.graph.node(BASE + "/blog/post")]
    )


def test_removing_a_link_equals_recomputing(base: EquityModel, tmp_path: Path) -> None:
    changed = solved(tmp_path / "changed", site(drop=("/", "/c@nav")))
    result = simulate(base, remove=[(BASE + "/", BASE + "/c")], tolerance=EXACT)
    # Node order follows URL ids, which the changed store assigns differently.
    simulated, recomputed = by_url(base, result.equity), by_url(changed, changed.equity)
    assert simulated.keys() == recomputed.keys()
    assert sum(abs(simulated[url] - recomputed[url]) for url in recomputed) < 1e-10


def test_upgrading_a_position_equals_recomputing(base: EquityModel, tmp_path: Path) -> None:
    # "/a" links "/b" in the footer; a content link to it merges and wins.
    changed = solved(tmp_path / "changed", site(extra={"/a": ["/b"]}))
    result = simulate(base, add=[(BASE + "/a", BASE + "/b", "content")], tolerance=EXACT)
    assert np.abs(result.equity - changed.equity).sum() < 1e-10
    assert result.delta[base.graph.node(BASE + "/b")] > 0


def test_links_that_change_nothing(base: EquityModel) -> None:
    weaker = simulate(base, add=[(BASE + "/", BASE + "/a", "footer")], tolerance=EXACT)
    assert np.abs(weaker.delta).max() < 1e-13
    # A meta-nofollow page's new link is unfollowed: it passes nothing.
    quiet = simulate(base, add=[(BASE + "/quiet", BASE + "/products/y", "content")])
    assert np.abs(quiet.delta).max() < 1e-13


def test_redirecting_a_lost_url_recovers_its_backlinks(tmp_path: Path) -> None:
    # With beta = 1 the deposits of both models are the same up to scale.
    config = EquityConfig(backlink_mix=1.0)
    before = solved(tmp_path / "before", site(), config)
    after = solved(tmp_path / "after", site(gone_to="/products/y"), config)
    result = simulate(before, redirects={BASE + "/gone": BASE + "/products/y"}, tolerance=EXACT)
    assert result.entered == pytest.approx(1.0 + 0.6 / (0.9 + 0.3 + 0.5))
    assert np.abs(result.equity - result.entered * after.equity).sum() < 1e-10
    assert result.leaked["broken"] < before.budget.leaked["broken"]
    assert result.held + sum(result.leaked.values()) == pytest.approx(result.entered, abs=1e-9)


def test_redirect_budget_with_mixed_source(base: EquityModel) -> None:
    result = simulate(base, redirects={BASE + "/gone": BASE + "/products/y"}, tolerance=EXACT)
    y = base.graph.node(BASE + "/products/y")
    assert result.delta[y] > 0
    assert result.entered > 1.0
    assert result.held + sum(result.leaked.values()) == pytest.approx(result.entered, abs=1e-9)


def test_fixing_a_redirect_loop_equals_recomputing(base: EquityModel, tmp_path: Path) -> None:
    changed = solved(tmp_path / "changed", site(loop_to="/products/x"))
    result = simulate(base, redirects={BASE + "/loop2": BASE + "/products/x"}, tolerance=EXACT)
    assert np.abs(result.equity - changed.equity).sum() < 1e-10


def test_consolidating_a_page_equals_recomputing(tmp_path: Path) -> None:
    before = solved(tmp_path / "before", site(backlinks=False))
    after = solved(tmp_path / "after", site(backlinks=False, merge_b_into="/a"))
    result = simulate(before, redirects={BASE + "/b": BASE + "/a"}, tolerance=EXACT)
    b = before.graph.node(BASE + "/b")
    assert result.removed_pages.tolist() == [b]
    assert result.equity[b] == 0
    simulated = by_url(before, result.equity)
    recomputed = by_url(after, after.equity)
    assert set(simulated) - set(recomputed) == {BASE + "/b"}
    assert sum(abs(simulated[url] - recomputed[url]) for url in recomputed) < 1e-10


def test_warm_start(base: EquityModel) -> None:
    one = [(BASE + "/c", BASE + "/products/x", "content")]
    two = [*one, (BASE + "/blog/", BASE + "/products/y", "content")]
    first = simulate(base, add=one, tolerance=EXACT)
    cold = simulate(base, add=two, tolerance=EXACT)
    warm = simulate(base, add=two, start=first, tolerance=EXACT)
    assert np.abs(warm.equity - cold.equity).sum() < 1e-11
    # Starting from the answer, one step proves it.
    again = simulate(base, add=two, start=cold, tolerance=1e-11)
    assert again.solve.iterations == 1


def test_default_tolerance_is_relative_to_the_change(base: EquityModel) -> None:
    result = simulate(base, add=[(BASE + "/c", BASE + "/products/x", "content")])
    exact = simulate(base, add=[(BASE + "/c", BASE + "/products/x", "content")], tolerance=EXACT)
    assert np.abs(result.delta - exact.delta).sum() <= result.solve.error_bound + EXACT
    # c = z - d P'^T z, so |c|_1 <= (1 + d) |z|_1.
    first_effect = (1 + 0.85) * np.abs(exact.delta).sum()
    assert result.solve.error_bound <= max(1e-10, base.config.whatif_rtol * first_effect)


def test_what_if_errors_are_clear(base: EquityModel) -> None:
    with pytest.raises(ValueError, match="not a crawled page"):
        simulate(base, add=[(BASE + "/gone", BASE + "/a", "content")])
    with pytest.raises(ValueError, match="not in the store"):
        simulate(base, add=[(BASE + "/", BASE + "/never-seen", "content")])
    with pytest.raises(ValueError, match="unknown position"):
        simulate(base, add=[(BASE + "/", BASE + "/a", "sidebar")])
    with pytest.raises(ValueError, match="has no link to"):
        simulate(base, remove=[(BASE + "/c", BASE + "/b")])
    with pytest.raises(ValueError, match="is not in the store"):
        simulate(base, redirects={BASE + "/never-seen": BASE + "/a"})
    with pytest.raises(ValueError, match="not a page"):
        simulate(base, redirects={BASE + "/gone": BASE + "/doc.pdf"})
    with pytest.raises(IndexError):
        simulate(base, add=[(999, 0, "content")])


def test_redirect_from_a_url_that_already_redirects_is_refused(base: EquityModel) -> None:
    with pytest.raises(ValueError, match="already resolves to"):
        simulate(base, redirects={BASE + "/old-a": BASE + "/b"})
    # A page redirected onto a page that redirects back would loop.
    with pytest.raises(ValueError, match="not a page"):
        simulate(base, redirects={BASE + "/a": BASE + "/old-a"})


def test_estimates_bound_the_exact_gain(base: EquityModel) -> None:
    graph = base.graph
    target = graph.node(BASE + "/products/y")
    assert target is not None
    estimates = link_gain_estimates(base, target, position="content")
    assert estimates.sources.size == graph.n
    checked = 0
    for i, source in enumerate(estimates.sources.tolist()):
        exact = simulate(base, add=[(source, target, "content")], tolerance=EXACT).delta[target]
        assert estimates.lower[i] - 1e-12 <= exact <= estimates.upper[i] + 1e-12
        if estimates.estimate[i] != 0:
            checked += 1
            assert exact == pytest.approx(estimates.estimate[i], rel=0.3)
        else:
            assert abs(exact) < 1e-12
    assert checked >= 5
    best = estimates.best(3)
    assert target not in best.tolist()


def test_estimates_for_a_goal_group(base: EquityModel) -> None:
    graph = base.graph
    x, y = graph.node(BASE + "/products/x"), graph.node(BASE + "/products/y")
    estimates = link_gain_estimates(base, BASE + "/products/y", goal=[x, y], sources=[0, 1, 3])
    for i, source in enumerate(estimates.sources.tolist()):
        exact = simulate(base, add=[(source, y, "content")], tolerance=EXACT).gain([x, y])
        assert estimates.lower[i] - 1e-12 <= exact <= estimates.upper[i] + 1e-12
