"""Chart geometry: the Sankey layout, node merging, histograms and bars."""

from __future__ import annotations

import re

import pytest

from reports.charts import (
    ChartError,
    hbar_layout,
    histogram_layout,
    limit_sankey,
    nice_ticks,
    sankey_layout,
)
from reports.view import Bin, Sankey, SankeyLink, SankeyNode
from tests.support.report_fixture import fixture_view


def _three_columns() -> Sankey:
    nodes = [
        SankeyNode("a", "Home", 0, "deposit"),
        SankeyNode("b", "/blog/", 0, "deposit"),
        SankeyNode("s", "/products/", 1, "section"),
        SankeyNode("t", "/blog/", 1, "section"),
        SankeyNode("p", "Red kettle", 2, "priority"),
        SankeyNode("o", "Other pages", 2, "other"),
        SankeyNode("x", "External links", 2, "leak"),
    ]
    links = [
        SankeyLink("a", "s", 0.5),
        SankeyLink("a", "t", 0.1),
        SankeyLink("b", "t", 0.4),
        SankeyLink("s", "p", 0.2),
        SankeyLink("s", "o", 0.3),
        SankeyLink("t", "o", 0.35),
        SankeyLink("t", "x", 0.15),
    ]
    return Sankey(["In", "Section", "Out"], nodes, links)


def _band_edges(d: str) -> tuple[float, float, float, float, float, float]:
    """x0, top0, bottom0, x1, top1, bottom1 of a ribbon path."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    x0, y0 = numbers[0], numbers[1]
    x1, y1 = numbers[6], numbers[7]
    bottom1 = numbers[9]
    bottom0 = numbers[-1]
    return x0, y0, bottom0, x1, y1, bottom1


def test_sankey_nodes_are_proportional_and_inside_the_drawing() -> None:
    layout = sankey_layout(_three_columns(), width=900, min_height=400, min_node_height=0)
    boxes = {n.id: n for n in layout.nodes}
    # One scale for the whole diagram: heights are in the ratio of the values.
    assert boxes["s"].height == pytest.approx(boxes["p"].height * 0.5 / 0.2, rel=0.02)
    assert boxes["a"].height == pytest.approx(boxes["s"].height * 0.6 / 0.5, rel=0.02)
    for box in layout.nodes:
        assert box.x >= 0 and box.x + box.width <= layout.width
        assert layout.top <= box.y and box.y + box.height <= layout.height + 0.1
    # Columns go left to right, nodes keep their order within a column.
    assert boxes["a"].x < boxes["s"].x < boxes["p"].x
    assert boxes["a"].y < boxes["b"].y and boxes["p"].y < boxes["o"].y < boxes["x"].y
    # First-column labels sit left of their node, the others right.
    assert boxes["a"].label_anchor == "end" and boxes["a"].label_x < boxes["a"].x
    assert boxes["p"].label_anchor == "start" and boxes["p"].label_x > boxes["p"].x


def test_sankey_bands_fill_their_nodes_end_to_end() -> None:
    layout = sankey_layout(_three_columns(), min_node_height=0)
    boxes = {n.id: n for n in layout.nodes}
    by_pair = {(b.source_label, b.target_label): b for b in layout.bands}
    assert len(layout.bands) == 7
    # The two bands out of "a" stack exactly over the node's height.
    a_s = _band_edges(by_pair[("Home", "/products/")].d)
    a_t = _band_edges(by_pair[("Home", "/blog/")].d)
    a = boxes["a"]
    tops = sorted([(a_s[1], a_s[2]), (a_t[1], a_t[2])])
    assert tops[0][0] == pytest.approx(a.y, abs=0.15)
    assert tops[0][1] == pytest.approx(tops[1][0], abs=0.15)
    assert tops[1][1] == pytest.approx(a.y + a.height, abs=0.15)
    # A band keeps its thickness from end to end and starts at its source's right edge.
    x0, top0, bottom0, x1, top1, bottom1 = a_s
    assert bottom0 - top0 == pytest.approx(bottom1 - top1, abs=0.15)
    assert x0 == pytest.approx(a.x + a.width) and x1 == pytest.approx(boxes["s"].x)
    # Bands into a leak or a priority page take its colour; others their source's.
    kinds = {(b.source_label, b.target_label): b.kind for b in layout.bands}
    assert kinds[("/blog/", "External links")] == "leak"
    assert kinds[("/products/", "Red kettle")] == "priority"
    assert kinds[("Home", "/products/")] == "deposit"


def test_sankey_rejects_bad_input() -> None:
    base = _three_columns()
    with pytest.raises(ChartError, match="unknown node 'nope'"):
        sankey_layout(Sankey(base.columns, base.nodes, [*base.links, SankeyLink("a", "nope", 1)]))
    with pytest.raises(ChartError, match="rightwards"):
        sankey_layout(Sankey(base.columns, base.nodes, [SankeyLink("p", "a", 0.1)]))
    with pytest.raises(ChartError, match="value"):
        sankey_layout(Sankey(base.columns, base.nodes, [SankeyLink("a", "s", float("nan"))]))


def test_sankey_empty_and_zero_nodes() -> None:
    empty = sankey_layout(Sankey([], [], []))
    assert empty.nodes == [] and empty.bands == []
    zero = Sankey(["In"], [SankeyNode("z", "Nothing", 0, "leak", value=0.0)], [])
    assert sankey_layout(zero).nodes == []


def test_long_labels_are_shortened_but_kept_whole_for_the_tooltip() -> None:
    long = "A very long priority page title that would run off the drawing | Shop"
    sankey = Sankey(
        ["In", "Out"],
        [SankeyNode("a", "Home", 0, "deposit"), SankeyNode("p", long, 1, "priority")],
        [SankeyLink("a", "p", 1.0)],
    )
    box = {n.id: n for n in sankey_layout(sankey, label_chars=20).nodes}["p"]
    assert len(box.label) == 20 and box.label.endswith("…")
    assert box.full_label == long


def test_limit_sankey_merges_the_smallest_and_keeps_the_flow() -> None:
    nodes = [SankeyNode("in", "In", 0, "deposit")]
    links = []
    for i in range(8):
        nodes.append(SankeyNode(f"s{i}", f"/s{i}/", 1, "section"))
        links.append(SankeyLink("in", f"s{i}", 0.01 * (i + 1)))
    nodes.append(SankeyNode("leak", "Leak", 1, "leak"))
    links.append(SankeyLink("in", "leak", 0.64))
    limited = limit_sankey(Sankey(["a", "b"], nodes, links), 4)
    sections = [n for n in limited.nodes if n.kind == "section"]
    assert [n.id for n in sections[:3]] == ["s5", "s6", "s7"]
    assert sections[3].label == "5 other sections"
    assert sections[3].value == pytest.approx(0.01 + 0.02 + 0.03 + 0.04 + 0.05)
    # The merged node sits with its kind, before the leak; the total flow is unchanged.
    assert [n.kind for n in limited.nodes][-1] == "leak"
    assert sum(link.value for link in limited.links) == pytest.approx(1.0)
    merged_links = [link for link in limited.links if link.target == sections[3].id]
    assert len(merged_links) == 1
    # Nothing to merge: the same object back.
    small = _three_columns()
    assert limit_sankey(small, 10) is small
    with pytest.raises(ChartError):
        limit_sankey(small, 1)


def test_fixture_budget_columns_each_sum_to_one() -> None:
    layout = sankey_layout(fixture_view().budget.sankey)
    by_column: dict[float, float] = {}
    for node in layout.nodes:
        by_column[node.x] = by_column.get(node.x, 0.0) + node.value
    assert len(by_column) == 3
    for total in by_column.values():
        assert total == pytest.approx(1.0, abs=1e-5)


def test_nice_ticks() -> None:
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(523) == [0, 200, 400, 600]
    assert nice_ticks(9) == [0.0, 5.0, 10.0]
    assert nice_ticks(7.5, target=8) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    ticks = nice_ticks(0.037)
    assert ticks[0] == 0 and ticks[-1] >= 0.037 and len(ticks) <= 6


def test_histogram_bars_scale_to_the_axis_and_labels_do_not_collide() -> None:
    bins = [Bin("0", 0), Bin("1", 10), Bin("2", 523), Bin("3", 1)]
    layout = histogram_layout(bins, width=300, height=200)
    heights = [bar.height for bar in layout.bars]
    assert heights[0] == 0 and heights[3] >= 1.0  # a non-empty bin always shows
    assert heights[2] == pytest.approx((layout.baseline - layout.plot_top) * 523 / 600, abs=0.1)
    assert [t.label for t in layout.ticks] == ["0", "200", "400", "600"]
    assert all(bar.y + bar.height == pytest.approx(layout.baseline, abs=0.1) for bar in layout.bars)
    # Short labels: one line. Long ones alternate between two lines before any is dropped.
    assert {bar.label_y for bar in layout.bars} == {layout.baseline + 14}
    wide = histogram_layout([Bin(f"{i}.001–{i}.01%", 5) for i in range(6)], width=360)
    assert len({bar.label_y for bar in wide.bars}) == 2
    assert all(bar.axis_label for bar in wide.bars)
    crowded = histogram_layout([Bin(f"{i}.001–{i}.01% of all", 5) for i in range(12)], width=360)
    shown = [bar for bar in crowded.bars if bar.axis_label]
    assert 0 < len(shown) < 12
    assert all(bar.label for bar in crowded.bars)  # every bar keeps its tooltip


def test_hbars() -> None:
    layout = hbar_layout([("a", "nofollow", 0.04), ("b", "external", 0.08), ("c", "blocked", 0.0)])
    widths = [bar.width for bar in layout.bars]
    assert widths[1] == pytest.approx(2 * widths[0], abs=0.1)
    assert widths[2] == 0
    assert layout.bars[1].y > layout.bars[0].y
    assert hbar_layout([]).bars == []
