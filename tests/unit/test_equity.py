"""The equity model against closed forms, networkx and its own invariants."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pipelines.storedb import POSITIONS
from reports.config import EquityConfig
from reports.equity import (
    EmptyGraphError,
    EquityModel,
    compute_equity,
    solve_equity,
    to_networkx,
)
from reports.graph import LEAK_KINDS, SiteGraph, load_graph
from tests.support.storebuilder import Link, StoreBuilder

D = 0.85
UNIFORM = EquityConfig.from_settings({"EQUITY_POSITION_WEIGHTS": "uniform"})
REASONABLE = EquityConfig()


def model_of(
    tmp_path: Path, site: StoreBuilder, config: EquityConfig = UNIFORM, **kwargs: object
) -> EquityModel:
    graph = load_graph(site.build(tmp_path), config)
    return compute_equity(graph, config, priority=kwargs.pop("priority", []), **kwargs)  # type: ignore[arg-type]


def x_of(model: EquityModel, path: str) -> float:
    index = model.graph.node("https://site.test" + path)
    assert index is not None
    return float(model.equity[index])


# -- closed forms (uniform weights, no backlinks: t = 1/n) ---------------------------


def test_chain(tmp_path: Path) -> None:
    site = StoreBuilder().page("/", "/b").page("/b", "/c").page("/c")
    model = model_of(tmp_path, site)
    a = (1 - D) / 3
    xa, xb = a, a + D * a
    xc = a + D * xb
    assert [x_of(model, p) for p in ("/", "/b", "/c")] == pytest.approx([xa, xb, xc], abs=1e-12)
    assert model.budget.leaked["dead_end"] == pytest.approx(D / (1 - D) * xc, abs=1e-12)
    assert model.budget.held + model.budget.leaked_total == pytest.approx(1.0, abs=1e-9)


def test_cycle_is_uniform_and_leak_free(tmp_path: Path) -> None:
    site = StoreBuilder()
    for i in range(5):
        site.page(f"/p{i}", f"/p{(i + 1) % 5}")
    model = model_of(tmp_path, site)
    assert model.equity == pytest.approx(np.full(5, 0.2), abs=1e-12)
    assert model.budget.leaked_total == pytest.approx(0.0, abs=1e-12)


def test_star(tmp_path: Path) -> None:
    k = 4
    site = StoreBuilder().page("/", *[f"/leaf{i}" for i in range(k)])
    for i in range(k):
        site.page(f"/leaf{i}", "/")
    model = model_of(tmp_path, site)
    a = (1 - D) / (k + 1)
    hub = a * (1 + D * k) / (1 - D**2)
    leaf = a + D * hub / k
    assert x_of(model, "/") == pytest.approx(hub, abs=1e-12)
    assert x_of(model, "/leaf0") == pytest.approx(leaf, abs=1e-12)
    assert model.equity.sum() == pytest.approx(1.0, abs=1e-10)


def test_page_with_only_external_links(tmp_path: Path) -> None:
    site = StoreBuilder().page("/", "/out").page("/out", "https://a.test/", "https://b.test/")
    model = model_of(tmp_path, site)
    a = (1 - D) / 2
    assert x_of(model, "/out") == pytest.approx(a + D * a, abs=1e-12)
    expected_external = D / (1 - D) * (a + D * a)
    assert model.budget.leaked["external"] == pytest.approx(expected_external, abs=1e-12)
    assert model.budget.leaked["dead_end"] == 0


def test_nofollow_only_page(tmp_path: Path) -> None:
    # "/" passes nothing: its only link is nofollow; "/b" links back.
    site = StoreBuilder().page("/", "/b!").page("/b", "/")
    model = model_of(tmp_path, site)
    a = (1 - D) / 2
    xb = a
    xa = a + D * xb
    assert [x_of(model, "/"), x_of(model, "/b")] == pytest.approx([xa, xb], abs=1e-12)
    assert model.budget.leaked["nofollow"] == pytest.approx(D / (1 - D) * xa, abs=1e-12)


def test_redirect_chain_into_a_loop_leaks_as_broken(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/r1", "/b").page("/b", "/")
    site.redirect("/r1", "/r2").redirect("/r2", "/r3").redirect("/r3", "/r2")
    model = model_of(tmp_path, site)
    a = (1 - D) / 2
    # x_a = a + d x_b ; x_b = a + d x_a / 2
    xa = (a + D * a) / (1 - D**2 / 2)
    xb = a + D * xa / 2
    assert [x_of(model, "/"), x_of(model, "/b")] == pytest.approx([xa, xb], abs=1e-12)
    assert model.budget.leaked["broken"] == pytest.approx(D / (1 - D) * xa / 2, abs=1e-12)


def test_redirect_passes_through_and_canonical_variant_folds(tmp_path: Path) -> None:
    direct = StoreBuilder().page("/", "/b").page("/b", "/")
    via = StoreBuilder().page("/", "/old").redirect("/old", "/b").page("/b", "/v")
    via.page("/v", "/elsewhere", canonical="/").page("/elsewhere")
    # "/elsewhere" is reachable only from the folded variant, whose links do not count.
    a_direct = model_of(tmp_path / "a", direct)
    b_via = model_of(tmp_path / "b", via)
    assert b_via.graph.n == 3
    assert x_of(b_via, "/elsewhere") == pytest.approx((1 - D) / 3, abs=1e-12)
    assert x_of(b_via, "/b") > x_of(b_via, "/elsewhere")
    assert x_of(a_direct, "/b") == pytest.approx(0.5, abs=1e-12)


# -- networkx -----------------------------------------------------------------------


def random_site(
    seed: int, n: int = 60, *, leaks: bool = False, backlinks: bool = False
) -> tuple[StoreBuilder, dict[tuple[int, int], float]]:
    """A random site; returns the builder and the merged weighted edges (reasonable)."""
    rng = np.random.default_rng(seed)
    weights = dict(zip(POSITIONS, EquityConfig().position_weights, strict=True))
    site = StoreBuilder()
    edges: dict[tuple[int, int], float] = {}
    for u in range(n):
        links: list[str | Link] = []
        for v in rng.choice([w for w in range(n) if w != u], size=int(rng.integers(1, 7))):
            position = str(rng.choice(POSITIONS))
            links.append(Link(f"/p{v}", position))
            edges[u, int(v)] = max(edges.get((u, int(v)), 0.0), weights[position])
        if rng.random() < 0.3:  # a parallel link in a weaker position
            v = next(iter(k[1] for k in edges if k[0] == u))
            links.append(Link(f"/p{v}", "footer"))
        if leaks and rng.random() < 0.5:
            links.append("https://ext.test/" + str(u))
            links.append(f"/p{int(rng.integers(n))}!")
        site.page(f"/p{u}", *links)
    if backlinks:
        for i, v in enumerate(rng.choice(n, size=12)):
            site.backlink(f"https://ref{i % 7}.example.com/{i}", f"/p{v}", authority=rng.random())
    return site, edges


@pytest.mark.parametrize("seed", [1, 2])
def test_equals_networkx_pagerank_without_leaks(tmp_path: Path, seed: int) -> None:
    site, edges = random_site(seed)
    graph = load_graph(site.build(tmp_path), REASONABLE)
    model = compute_equity(graph, REASONABLE, priority=[])
    nodes = [graph.node(f"https://site.test/p{u}") for u in range(60)]
    reference = nx.DiGraph()
    reference.add_nodes_from(range(60))
    reference.add_weighted_edges_from((u, v, w) for (u, v), w in edges.items())
    expected = nx.pagerank(reference, alpha=D, weight="weight", tol=1e-15, max_iter=100_000)
    got = np.array([model.equity[nodes[u]] for u in range(60)])
    assert np.abs(got - np.array([expected[u] for u in range(60)])).sum() < 1e-10
    assert model.budget.leaked_total == pytest.approx(0.0, abs=1e-12)


def test_equals_personalised_networkx_pagerank_with_backlinks(tmp_path: Path) -> None:
    site, edges = random_site(5, backlinks=True)
    graph = load_graph(site.build(tmp_path), REASONABLE)
    model = compute_equity(graph, REASONABLE, priority=[])
    assert model.beta == 0.85
    assert model.deposit.sum() == pytest.approx(1.0, abs=1e-14)
    nodes = [graph.node(f"https://site.test/p{u}") for u in range(60)]
    reference = nx.DiGraph()
    reference.add_weighted_edges_from((u, v, w) for (u, v), w in edges.items())
    personal = {u: float(model.deposit[nodes[u]]) for u in range(60)}
    expected = nx.pagerank(
        reference, alpha=D, personalization=personal, weight="weight", tol=1e-15, max_iter=100_000
    )
    got = np.array([model.equity[nodes[u]] for u in range(60)])
    assert np.abs(got - np.array([expected[u] for u in range(60)])).sum() < 1e-10


def test_plain_pagerank_is_networkx_on_the_internal_graph(tmp_path: Path) -> None:
    site, _ = random_site(7, leaks=True)
    site.page("/dangling")
    site.page("/to-dangling", "/dangling", "/p1")
    graph = load_graph(site.build(tmp_path), REASONABLE)
    model = compute_equity(graph, REASONABLE, priority=[])
    internal = to_networkx(graph)
    expected = nx.pagerank(internal, alpha=D, weight=None, tol=1e-15, max_iter=100_000)
    assert model.pagerank is not None
    assert np.abs(model.pagerank - np.array([expected[i] for i in range(graph.n)])).sum() < 1e-10
    assert model.pagerank.sum() == pytest.approx(1.0, abs=1e-12)


# -- invariants --------------------------------------------------------------------


@pytest.fixture
def messy(tmp_path: Path) -> EquityModel:
    site, _ = random_site(11, n=80, leaks=True, backlinks=True)
    site.page("/hub", "/p1", "/gone", "/doc.pdf", "/robots", "/r", "/p2@nav", "/p3@footer!")
    site.error("/gone").other("/doc.pdf").blocked("/robots").redirect("/r", "/r")
    site.page("/lonely")
    site.backlink("https://lost.example.com/", "/gone", authority=0.8)
    site.backlink("https://hub.example.com/", "/hub", authority=0.9)
    graph = load_graph(site.build(tmp_path), REASONABLE)
    return compute_equity(graph, REASONABLE, priority=[])


def test_budget_sums_to_one(messy: EquityModel) -> None:
    budget = messy.budget
    assert budget.entered == pytest.approx(1.0, abs=1e-14)
    assert abs(budget.held + budget.leaked_total - 1.0) < 1e-9
    assert abs(budget.residual) < 1e-9
    assert all(budget.leaked[kind] > 0 for kind in LEAK_KINDS)
    assert budget.forwarded == pytest.approx(messy.forwarded.sum())
    assert budget.forwarded == pytest.approx(messy.inflow.sum(), abs=1e-9)


def test_per_page_conservation(messy: EquityModel) -> None:
    came = messy.deposit + messy.inflow
    went = messy.equity + messy.forwarded + messy.leaked.sum(axis=1)
    assert np.abs(came - went).max() < 1e-14


def test_error_is_within_the_tolerance(messy: EquityModel) -> None:
    graph = messy.graph
    system = sp.identity(graph.n, format="csc") - D * graph.transition.tocsc()
    exact = spla.spsolve(system, (1 - D) * messy.deposit)
    assert np.abs(messy.equity - exact).sum() <= messy.solve.error_bound + 1e-14
    assert messy.solve.error_bound <= REASONABLE.tolerance
    loose = EquityConfig(tolerance=1e-3)
    x, info = solve_equity(graph, messy.deposit, loose)
    assert info.error_bound <= 1e-3
    assert np.abs(x - exact).sum() <= info.error_bound


def test_linearity_over_landing_pages(messy: EquityModel) -> None:
    graph, t = messy.graph, messy.deposit
    total = np.zeros(graph.n)
    for landing in range(graph.n):
        unit = np.zeros(graph.n)
        unit[landing] = 1.0
        x_l, _ = solve_equity(graph, unit)
        total += t[landing] * x_l
    assert np.abs(total - messy.equity).sum() < 1e-9


def test_attribution_sums_and_matches_forward_solves(messy: EquityModel) -> None:
    graph = messy.graph
    goal = [graph.node("https://site.test/p3"), graph.node("https://site.test/hub")]
    nodes = np.asarray(goal, dtype=np.int64)
    reverse = messy.reverse_vector(nodes)
    assert messy.deposit @ reverse == pytest.approx(messy.equity[nodes].sum(), abs=1e-10)
    for landing in (0, 5, graph.n - 1):
        unit = np.zeros(graph.n)
        unit[landing] = 1.0
        x_l, _ = solve_equity(graph, unit)
        assert reverse[landing] == pytest.approx(x_l[nodes].sum(), abs=1e-10)


def test_deterministic(tmp_path: Path) -> None:
    site, _ = random_site(13, leaks=True, backlinks=True)
    store = site.build(tmp_path)
    first = compute_equity(load_graph(store), priority=["re:/p1"])
    second = compute_equity(load_graph(store), priority=["re:/p1"])
    assert np.array_equal(first.equity, second.equity)
    assert first.pagerank is not None and second.pagerank is not None
    assert np.array_equal(first.pagerank, second.pagerank)
    assert np.array_equal(first.sections.flow, second.sections.flow)
    a, b = first.priority[0].attribution, second.priority[0].attribution
    assert a is not None and b is not None
    assert np.array_equal(a.reverse, b.reverse)
    assert first.priority[0].routes == second.priority[0].routes


def test_scores_and_ranks(messy: EquityModel) -> None:
    top = int(np.argmax(messy.equity))
    assert messy.rank[top] == 1
    assert messy.score[top] == pytest.approx(100.0)
    assert messy.score.min() == pytest.approx(0.0)
    assert sorted(messy.rank.tolist()) == list(range(1, messy.n + 1))
    order = np.argsort(messy.rank)
    assert np.all(np.diff(messy.equity[order]) <= 0)
    assert np.all(np.diff(messy.score[order]) <= 1e-12)


def test_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    site = StoreBuilder().error("/", 500)
    graph = load_graph(site.build(tmp_path))
    with pytest.raises(EmptyGraphError, match="nothing to model"):
        compute_equity(graph)


def test_config_weights_must_match_the_graph(tmp_path: Path) -> None:
    graph = load_graph(StoreBuilder().page("/").build(tmp_path), UNIFORM)
    with pytest.raises(ValueError, match="other position weights"):
        compute_equity(graph, REASONABLE)


# -- deposits and lost equity ----------------------------------------------------------


def backlinked_site() -> StoreBuilder:
    site = StoreBuilder()
    site.page("/", "/a", "/b", "/blog/").page("/a", "/").page("/b", "/").page("/blog/", "/")
    return site


def test_one_vote_per_domain_and_authority(tmp_path: Path) -> None:
    site = backlinked_site().redirect("/old-a", "/a")
    site.backlink("https://x.example.com/1", "/a", authority=0.8)
    site.backlink("https://y.example.com/2", "/old-a", authority=0.2)  # same domain, same page
    site.backlink("https://other.example.org/", "/b", authority=0.4)
    site.backlink("https://gsc.example.net/", "/b")  # unknown: the median of known domains
    config = EquityConfig(backlink_mix=1.0, position_weights=UNIFORM.position_weights)
    model = model_of(tmp_path, site, config)
    graph = model.graph
    a, b = graph.node("https://site.test/a"), graph.node("https://site.test/b")
    assert (model.referring_domains[a], model.referring_domains[b]) == (1, 2)
    median = float(np.median([0.8, 0.4]))
    raw = {a: 0.8, b: 0.4 + median}
    total = sum(raw.values())
    assert model.deposit[a] == pytest.approx(raw[a] / total)
    assert model.deposit[b] == pytest.approx(raw[b] / total)
    counted = EquityConfig(
        backlink_mix=1.0, authority="count", position_weights=UNIFORM.position_weights
    )
    by_count = model_of(tmp_path / "count", site, counted)
    assert by_count.deposit[a] == pytest.approx(1 / 3)
    assert by_count.deposit[b] == pytest.approx(2 / 3)


def test_without_backlinks_the_model_is_pagerank(tmp_path: Path) -> None:
    model = model_of(tmp_path, backlinked_site())
    assert model.beta == 0.0
    assert model.deposit == pytest.approx(np.full(4, 0.25))


def test_lost_equity_is_reported_with_a_redirect_suggestion(tmp_path: Path) -> None:
    site = backlinked_site()
    site.error("/blog/old-post", 404).redirect("/spin", "/spun").redirect("/spun", "/spin")
    site.backlink("https://alpha.com/", "/blog/old-post", authority=0.6)
    site.backlink("https://beta.com/", "/blog/old-post", authority=0.2)
    site.backlink("https://gamma.com/", "/spin", authority=0.3)
    site.backlink("https://delta.com/", "/a", authority=0.9)
    model = model_of(tmp_path, site)
    lost = {item.url.removeprefix("https://site.test"): item for item in model.lost_equity}
    assert set(lost) == {"/blog/old-post", "/spin"}
    post = lost["/blog/old-post"]
    assert (post.outcome, post.referring_domains, post.lost) == ("broken", 2, True)
    assert post.authority == pytest.approx(0.8)
    assert post.suggested_redirect == "https://site.test/blog/"
    assert lost["/spin"].outcome == "loop"
    assert lost["/spin"].suggested_redirect == "https://site.test/"
    assert model.budget.lost_backlink_share == pytest.approx(1.1 / 2.0)
    assert model.lost_equity[0].url.endswith("/blog/old-post")


# -- sections, priority, routes ----------------------------------------------------------


def test_sections_by_path_and_by_groups(tmp_path: Path) -> None:
    site = StoreBuilder()
    site.page("/", "/blog/", "/shop/a", "/shop/b", "/about")
    site.page("/blog/", "/blog/post", "/").page("/blog/post", "/shop/a", "https://x.test/")
    site.page("/shop/a", "/shop/b").page("/shop/b", "/").page("/about")
    model = model_of(tmp_path, site)
    sections = model.sections
    assert set(sections.names) == {"/", "/blog/", "/shop/"}
    assert sections.pages.sum() == model.n
    came = sections.deposit + sections.inflow
    went = sections.held + sections.outflow + sections.leaked.sum(axis=1)
    assert np.abs(came - went).max() < 1e-9
    assert sections.flow.sum() == pytest.approx(model.forwarded.sum(), abs=1e-12)
    blog, shop = sections.names.index("/blog/"), sections.names.index("/shop/")
    assert sections.flow[blog, shop] > 0
    assert sections.flow[shop, blog] == 0
    grouped = EquityConfig.from_settings(
        {"EQUITY_POSITION_WEIGHTS": "uniform", "EQUITY_SECTIONS": '{"Shop": "/shop/"}'}
    )
    by_group = model_of(tmp_path / "g", site, grouped)
    assert by_group.sections.names == ("Shop", "(other)")
    assert by_group.sections.pages.tolist() == [2, 4]


def test_sections_beyond_the_limit_merge_into_other(tmp_path: Path) -> None:
    site = StoreBuilder().page("/", *[f"/s{i}/p" for i in range(6)])
    for i in range(6):
        site.page(f"/s{i}/p", "/")
    config = EquityConfig(max_sections=3, position_weights=UNIFORM.position_weights)
    model = model_of(tmp_path, site, config)
    assert len(model.sections.names) == 3
    assert model.sections.names[-1] == "(other)"
    assert model.sections.names[0] == "/"
    assert model.sections.pages.sum() == model.n


def money_site() -> StoreBuilder:
    """Two guides with equal backlinks; only the first links on to the money pages."""
    site = StoreBuilder()
    site.page("/", "/guide-a", "/guide-b", "/about@footer")
    site.page("/guide-a", "/products/one", "/products/two", "/")
    site.page("/guide-b", "/about", "/")
    site.page("/products/one", "/").page("/products/two", "/products/one").page("/about", "/")
    site.backlink("https://a.example.com/", "/guide-a", authority=0.7)
    site.backlink("https://b.example.com/", "/guide-b", authority=0.7)
    return site


def test_priority_attribution_and_routes(tmp_path: Path) -> None:
    model = model_of(tmp_path, money_site(), REASONABLE, priority=["re:/products/"])
    (result,) = model.priority
    attribution = result.attribution
    assert attribution is not None
    assert attribution.total == pytest.approx(result.equity, abs=1e-10)
    assert attribution.from_backlinks + attribution.from_uniform == pytest.approx(attribution.total)
    graph = model.graph
    guide_a, guide_b = (
        graph.node("https://site.test/guide-a"),
        graph.node("https://site.test/guide-b"),
    )
    # The guide that links on passes the money pages far more than the one that does not.
    assert attribution.top_landing[0] == guide_a
    assert attribution.reverse[guide_a] > 2 * attribution.reverse[guide_b]
    routes = {r.landing: r for r in result.routes}
    assert routes[guide_a].nodes[0] == guide_a and routes[guide_a].clicks == 1
    assert routes[guide_a].nodes[-1] in result.target.nodes
    assert routes[guide_a].probability == pytest.approx(D * 1 / 3)
    assert routes[guide_b].nodes[-1] in result.target.nodes


def test_routes_are_the_most_probable_paths(tmp_path: Path) -> None:
    site, _ = random_site(17, n=50, leaks=True, backlinks=True)
    graph = load_graph(site.build(tmp_path), REASONABLE)
    model = compute_equity(graph, REASONABLE, priority=["https://site.test/p7"])
    (result,) = model.priority
    assert result.routes
    weighted = nx.DiGraph()
    for u in range(graph.n):
        for v, share in zip(*graph.shares(u), strict=True):
            weighted.add_edge(u, int(v), cost=-np.log(D * share))
    target = int(result.target.nodes[0])
    for route in result.routes:
        best = nx.dijkstra_path_length(weighted, route.landing, target, weight="cost")
        assert -np.log(route.probability) == pytest.approx(best, abs=1e-9)
        assert route.nodes[0] == route.landing and route.nodes[-1] == target


def test_priority_limit_and_unresolved_targets(tmp_path: Path) -> None:
    site = money_site().error("/gone")
    config = EquityConfig(priority_limit=1)
    model = model_of(
        tmp_path,
        site,
        config,
        priority=[
            "https://site.test/products/one",
            "https://site.test/about",
            "https://site.test/gone",
        ],
    )
    first, second, third = model.priority
    assert first.attribution is not None and first.routes
    assert second.attribution is None and second.best_rank is not None
    assert third.equity == 0 and not third.target.found
    assert "broken" in third.target.reason


def test_guessed_priority_is_labelled(tmp_path: Path) -> None:
    model = model_of(tmp_path, money_site(), REASONABLE, priority=None)
    (result,) = model.priority
    assert result.target.guessed
    assert result.target.label == "https://site.test/products/*"
    assert "guessed" in result.target.reason
    assert result.target.nodes.size == 2


def test_to_networkx_carries_the_figures(messy: EquityModel) -> None:
    exported = to_networkx(messy)
    graph = messy.graph
    assert exported.number_of_nodes() == graph.n
    assert exported.number_of_edges() == graph.transition.nnz
    u = int(np.argmax(messy.equity))
    assert exported.nodes[u]["equity"] == messy.equity[u]
    assert exported.nodes[u]["url"] == graph.urls[u]
    out_share = sum(data["share"] for _, _, data in exported.out_edges(u, data=True))
    assert out_share + graph.leak_share[u].sum() == pytest.approx(1.0)


def test_networkx_view_of_a_graph(tmp_path: Path) -> None:
    graph: SiteGraph = load_graph(backlinked_site().build(tmp_path))
    exported = to_networkx(graph)
    assert exported.number_of_edges() == 6
    assert "equity" not in exported.nodes[0]


def test_route_positions_and_in_degree(tmp_path: Path) -> None:
    model = model_of(tmp_path, money_site(), REASONABLE, priority=["re:/products/"])
    graph = model.graph
    for route in model.priority[0].routes:
        assert len(route.positions) == route.clicks
        assert set(route.positions) <= set(POSITIONS)
    home = graph.node("https://site.test/")
    # Linked (followed) from guide-a, guide-b, products/one and about.
    assert graph.in_degree[home] == 4


def test_section_contribution_adds_up_to_the_goal(messy: EquityModel) -> None:
    goal = [1, 2, 3]
    per_section = messy.section_contribution(goal)
    assert per_section.shape == (len(messy.sections.names),)
    assert per_section.sum() == pytest.approx(messy.equity[goal].sum(), abs=1e-10)


def test_a_single_page_without_links(tmp_path: Path) -> None:
    model = model_of(tmp_path, StoreBuilder().page("/"), REASONABLE, priority=None)
    assert model.equity.tolist() == pytest.approx([1 - D])
    assert model.budget.leaked["dead_end"] == pytest.approx(D)
    assert model.score.tolist() == [100.0] and model.rank.tolist() == [1]
    assert model.sections.names == ("/",)
    assert model.priority == ()


def test_model_modules_do_not_import_scrapy_or_jinja2() -> None:
    code = (
        "import sys, reports.equity, reports.graph, reports.priority, reports.config;"
        "bad = [m for m in ('scrapy', 'twisted', 'jinja2') if m in sys.modules];"
        "print(','.join(bad))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
