"""Chart geometry for the report: pure functions from data to shapes.

The templates draw inline SVG from the dataclasses returned here; no markup is
produced in Python. All coordinates are SVG user units in a ``viewBox`` of
``width`` x ``height``, so the charts scale with the page.

* :func:`limit_sankey` merges the smallest nodes of a column so the budget
  diagram stays readable however many sections or priority pages exist.
* :func:`sankey_layout` places the budget diagram's nodes and bands.
* :func:`histogram_layout` places the bars of a distribution with a y axis.
* :func:`hbar_layout` places labelled horizontal bars (leaks, vendors).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reports.view import Bin, Sankey, SankeyKind, SankeyLink, SankeyNode

__all__ = [
    "AxisTick",
    "Band",
    "BarBox",
    "ChartError",
    "ColumnHeading",
    "HBar",
    "HBarLayout",
    "HistogramLayout",
    "NodeBox",
    "SankeyLayout",
    "hbar_layout",
    "histogram_layout",
    "limit_sankey",
    "nice_ticks",
    "sankey_layout",
]

Anchor = Literal["start", "middle", "end"]


class ChartError(ValueError):
    """The data cannot be drawn as asked (e.g. a link to an unknown node)."""


def _r(value: float) -> float:
    """Round a coordinate: one decimal is finer than a pixel and keeps the HTML small."""
    return round(value, 1)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- Sankey -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeBox:
    """A placed node: its rectangle, its label's position and its full text."""

    id: str
    kind: str
    value: float
    x: float
    y: float
    width: float
    height: float
    label: str
    full_label: str
    label_x: float
    label_y: float
    label_anchor: Anchor


@dataclass(frozen=True, slots=True)
class Band:
    """A placed flow: ``d`` is the SVG path data of the ribbon."""

    d: str
    kind: str
    value: float
    source_label: str
    target_label: str
    minor: bool


@dataclass(frozen=True, slots=True)
class ColumnHeading:
    """A column's heading above the diagram."""

    text: str
    x: float
    anchor: Anchor


@dataclass(frozen=True, slots=True)
class SankeyLayout:
    """The budget diagram, ready to draw."""

    width: float
    height: float
    top: float
    nodes: list[NodeBox]
    bands: list[Band]
    headings: list[ColumnHeading]


_OTHER_NOUNS = {
    "deposit": "other sections",
    "section": "other sections",
    "priority": "other priority pages",
    "other": "other page groups",
    "leak": "other leaks",
}


def limit_sankey(sankey: Sankey, max_nodes: int) -> Sankey:
    """Merge the smallest nodes so no column holds more than ``max_nodes`` of one kind.

    Parameters
    ----------
    sankey : Sankey
        The full diagram.
    max_nodes : int
        Most nodes of one kind in one column (at least 2). The smallest beyond
        ``max_nodes - 1`` merge into one node labelled e.g. "12 other sections".

    Returns
    -------
    Sankey
        A diagram with the same total flow; parallel links created by the
        merge are summed. The input is returned unchanged when nothing merges.
    """
    if max_nodes < 2:
        raise ChartError("max_nodes must be at least 2")
    values = _node_values(sankey)
    groups: dict[tuple[int, SankeyKind], list[SankeyNode]] = defaultdict(list)
    for node in sankey.nodes:
        groups[(node.column, node.kind)].append(node)
    merged_into: dict[str, str] = {}
    merged_nodes: dict[str, SankeyNode] = {}
    for (column, kind), members in groups.items():
        if len(members) <= max_nodes:
            continue
        ranked = sorted(members, key=lambda n: -values[n.id])
        dropped = ranked[max_nodes - 1 :]
        merged_id = f"__other__{column}__{kind}"
        for node in dropped:
            merged_into[node.id] = merged_id
        noun = _OTHER_NOUNS.get(kind, "others")
        merged_nodes[merged_id] = SankeyNode(
            id=merged_id,
            label=f"{len(dropped)} {noun}",
            column=column,
            kind=kind,
            value=sum(values[n.id] for n in dropped),
        )
    if not merged_into:
        return sankey
    nodes: list[SankeyNode] = []
    for node in sankey.nodes:
        if node.id not in merged_into:
            nodes.append(node)
    # Each merged node goes right after the last kept node of its column and kind.
    for merged in merged_nodes.values():
        position = len(nodes)
        for index, node in enumerate(nodes):
            if node.column == merged.column and node.kind == merged.kind:
                position = index + 1
        nodes.insert(position, merged)
    sums: dict[tuple[str, str], float] = {}
    for link in sankey.links:
        key = (merged_into.get(link.source, link.source), merged_into.get(link.target, link.target))
        sums[key] = sums.get(key, 0.0) + link.value
    links = [SankeyLink(source, target, value) for (source, target), value in sums.items()]
    return Sankey(columns=list(sankey.columns), nodes=nodes, links=links)


def _node_values(sankey: Sankey) -> dict[str, float]:
    inflow: dict[str, float] = defaultdict(float)
    outflow: dict[str, float] = defaultdict(float)
    ids = {node.id for node in sankey.nodes}
    for link in sankey.links:
        for end in (link.source, link.target):
            if end not in ids:
                raise ChartError(f"budget diagram link refers to unknown node {end!r}")
        if not math.isfinite(link.value) or link.value < 0:
            raise ChartError(
                f"budget diagram link {link.source!r} -> {link.target!r} has value {link.value!r}"
            )
        outflow[link.source] += link.value
        inflow[link.target] += link.value
    values = {}
    for node in sankey.nodes:
        if node.value is not None:
            if not math.isfinite(node.value) or node.value < 0:
                raise ChartError(f"budget diagram node {node.id!r} has value {node.value!r}")
            values[node.id] = node.value
        else:
            values[node.id] = max(inflow[node.id], outflow[node.id])
    return values


def sankey_layout(
    sankey: Sankey,
    *,
    width: float = 1100.0,
    min_height: float = 440.0,
    node_width: float = 14.0,
    node_gap: float = 12.0,
    min_node_height: float = 3.0,
    label_space: float = 230.0,
    heading_space: float = 30.0,
    label_chars: int = 28,
    minor_share: float = 0.004,
) -> SankeyLayout:
    """Place the budget diagram's nodes and bands.

    Node heights are proportional to their value with one scale for the whole
    diagram (so bands keep their thickness from end to end), with a minimum
    height so tiny nodes stay visible. Columns are centred vertically. A node's
    outgoing bands leave it ordered by their targets' positions, and enter
    their targets ordered by their sources' positions, which keeps crossings
    few.

    Parameters
    ----------
    sankey : Sankey
        Nodes (drawn in list order within a column) and links. Links must go
        from a lower to a higher column. Nodes of value 0 with no links are
        left out.
    width : float
        Width of the drawing.
    min_height : float
        Smallest height; the drawing grows with the busiest column.
    node_width, node_gap, min_node_height : float
        Node geometry.
    label_space : float
        Room kept left of the first column and right of the last for labels.
    heading_space : float
        Room above the nodes for the column headings.
    label_chars : int
        Labels longer than this are shortened (the full text is kept in
        ``full_label`` for a tooltip).
    minor_share : float
        Bands carrying less than this fraction of the busiest column's total
        are marked ``minor`` (drawn fainter, so the main flows stand out).

    Returns
    -------
    SankeyLayout

    Raises
    ------
    ChartError
        A link to an unknown node, a link that does not go rightwards, or a
        negative or non-finite value.
    """
    values = _node_values(sankey)
    by_id = {node.id: node for node in sankey.nodes}
    for link in sankey.links:
        if by_id[link.source].column >= by_id[link.target].column:
            raise ChartError(
                f"budget diagram link {link.source!r} -> {link.target!r} does not go rightwards"
            )
    linked = {end for link in sankey.links if link.value > 0 for end in (link.source, link.target)}
    nodes = [n for n in sankey.nodes if values[n.id] > 0 or n.id in linked]
    if not nodes:
        return SankeyLayout(width, min_height, heading_space, [], [], [])

    n_columns = max(max(n.column for n in nodes) + 1, len(sankey.columns), 1)
    columns: list[list[SankeyNode]] = [[] for _ in range(n_columns)]
    for node in nodes:
        columns[node.column].append(node)

    column_totals = [sum(values[n.id] for n in column) for column in columns]
    busiest = max(len(column) for column in columns)
    height = max(min_height, heading_space + busiest * (node_gap + 18.0))
    top = heading_space
    inner = height - top
    # One scale for the whole diagram; min heights and gaps must fit in every column.
    scale = math.inf
    for column in columns:
        total = sum(values[n.id] for n in column)
        if total > 0:
            room = inner - (len(column) - 1) * node_gap - len(column) * min_node_height
            scale = min(scale, max(room, 1.0) / total)
    if not math.isfinite(scale):
        scale = 0.0

    left = label_space
    right = width - label_space - node_width
    step = (right - left) / (n_columns - 1) if n_columns > 1 else 0.0
    boxes: dict[str, NodeBox] = {}
    for index, column in enumerate(columns):
        x = left + index * step
        heights = [max(min_node_height, values[n.id] * scale) for n in column]
        used = sum(heights) + node_gap * max(len(column) - 1, 0)
        y = top + (inner - used) / 2
        for node, node_height in zip(column, heights, strict=True):
            last = index == n_columns - 1
            first = index == 0
            anchor: Anchor = "end" if first else "start"
            label_x = x - 6 if first else x + node_width + 6
            boxes[node.id] = NodeBox(
                id=node.id,
                kind=node.kind,
                value=values[node.id],
                x=_r(x),
                y=_r(y),
                width=node_width,
                height=_r(node_height),
                label=_shorten(node.label, label_chars if (first or last) else label_chars - 6),
                full_label=node.label,
                label_x=_r(label_x),
                label_y=_r(y + node_height / 2),
                label_anchor=anchor,
            )
            y += node_height + node_gap

    def centre(node_id: str) -> float:
        box = boxes[node_id]
        return box.y + box.height / 2

    drawn = [
        link
        for link in sankey.links
        if link.value > 0 and link.source in boxes and link.target in boxes
    ]
    out_offset: dict[str, float] = defaultdict(float)
    in_offset: dict[str, float] = defaultdict(float)
    source_y: dict[int, float] = {}
    target_y: dict[int, float] = {}
    for i, link in sorted(enumerate(drawn), key=lambda p: (p[1].source, centre(p[1].target))):
        source_y[i] = boxes[link.source].y + out_offset[link.source]
        out_offset[link.source] += link.value * scale
    for i, link in sorted(enumerate(drawn), key=lambda p: (p[1].target, centre(p[1].source))):
        target_y[i] = boxes[link.target].y + in_offset[link.target]
        in_offset[link.target] += link.value * scale

    bands = []
    # Draw the widest bands first so thin ones stay visible on top.
    for i, link in sorted(enumerate(drawn), key=lambda p: -p[1].value):
        source, target = boxes[link.source], boxes[link.target]
        thickness = max(link.value * scale, 0.8)
        x0, x1 = source.x + source.width, target.x
        y0, y1 = source_y[i], target_y[i]
        xm = (x0 + x1) / 2
        b0, b1 = y0 + thickness, y1 + thickness
        # A ribbon: a cubic curve along the top edge, down, and back along the bottom edge.
        d = (
            f"M{_r(x0)} {_r(y0)}C{_r(xm)} {_r(y0)} {_r(xm)} {_r(y1)} {_r(x1)} {_r(y1)}"
            f"L{_r(x1)} {_r(b1)}C{_r(xm)} {_r(b1)} {_r(xm)} {_r(b0)} {_r(x0)} {_r(b0)}Z"
        )
        kind = target.kind if target.kind in ("leak", "priority") else source.kind
        minor = link.value < minor_share * max(column_totals)
        bands.append(Band(d, kind, link.value, source.full_label, target.full_label, minor))

    headings = []
    for index, text in enumerate(sankey.columns[:n_columns]):
        x = left + index * step
        if index == 0:
            headings.append(ColumnHeading(text, _r(x + node_width), "end"))
        elif index == n_columns - 1:
            headings.append(ColumnHeading(text, _r(x), "start"))
        else:
            headings.append(ColumnHeading(text, _r(x + node_width / 2), "middle"))
    return SankeyLayout(
        width=width,
        height=_r(height),
        top=top,
        nodes=[boxes[n.id] for n in nodes],
        bands=bands,
        headings=headings,
    )


# -- histograms -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BarBox:
    """A placed vertical bar and its x-axis label (``""`` when skipped for room).

    Long labels alternate between two lines (``label_y``) before any is skipped.
    """

    x: float
    y: float
    width: float
    height: float
    count: int
    label: str
    axis_label: str
    label_x: float
    label_y: float


@dataclass(frozen=True, slots=True)
class AxisTick:
    """A y-axis tick: its position and text."""

    y: float
    label: str


@dataclass(frozen=True, slots=True)
class HistogramLayout:
    """A distribution, ready to draw: the plot area, bars and ticks."""

    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    baseline: float
    bars: list[BarBox]
    ticks: list[AxisTick]


def nice_ticks(maximum: float, target: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``maximum`` (steps of 1, 2 or 5 times a power of 10).

    Parameters
    ----------
    maximum : float
        The largest value to cover (0 gives ``[0, 1]``).
    target : int
        About how many intervals to use.

    Returns
    -------
    list of float
        Ascending, starting at 0, the last at or above ``maximum``.
    """
    if maximum <= 0 or not math.isfinite(maximum):
        return [0.0, 1.0]
    raw = maximum / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    count = math.ceil(maximum / step - 1e-9)
    return [float(step * i) for i in range(count + 1)]


def _count_label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def histogram_layout(
    bins: Sequence[Bin],
    *,
    width: float = 360.0,
    height: float = 190.0,
    left: float = 40.0,
    bottom: float = 34.0,
    top: float = 10.0,
    max_axis_labels: int = 8,
    char_width: float = 6.0,
) -> HistogramLayout:
    """Place a distribution's bars on a plot with a y axis of counts.

    Parameters
    ----------
    bins : sequence of Bin
        In x order.
    width, height : float
        Size of the drawing.
    left, bottom, top : float
        Room for the y-axis labels, the x-axis labels and above the bars.
    max_axis_labels : int
        At most this many x labels are shown (every k-th bin); every bar keeps
        its label for its tooltip.
    char_width : float
        Estimated width of one label character, to keep labels from overlapping:
        labels wider than their bar alternate between two lines, and if that is
        not enough only every k-th is shown.

    Returns
    -------
    HistogramLayout
    """
    ticks = nice_ticks(max((b.count for b in bins), default=0))
    scale_top = ticks[-1]
    plot_left, plot_right = left, width - 6
    baseline = height - bottom
    plot_height = baseline - top
    bars: list[BarBox] = []
    if bins:
        slot = (plot_right - plot_left) / len(bins)
        gap = min(4.0, slot * 0.15)
        widest = max(len(b.label) for b in bins) * char_width
        room = slot * 0.95
        every = max(1, math.ceil(len(bins) / max_axis_labels))
        staggered = False
        if widest > room:
            if widest <= 2 * room:
                staggered = True
            else:
                every = max(every, math.ceil(widest / room))
        for index, item in enumerate(bins):
            bar_height = plot_height * item.count / scale_top
            if item.count > 0:
                bar_height = max(bar_height, 1.0)
            x = plot_left + index * slot + gap / 2
            bars.append(
                BarBox(
                    x=_r(x),
                    y=_r(baseline - bar_height),
                    width=_r(slot - gap),
                    height=_r(bar_height),
                    count=item.count,
                    label=item.label,
                    axis_label=item.label if index % every == 0 else "",
                    label_x=_r(x + (slot - gap) / 2),
                    label_y=_r(baseline + 14 + (13 if staggered and index % 2 else 0)),
                )
            )
    axis = [AxisTick(_r(baseline - plot_height * t / scale_top), _count_label(t)) for t in ticks]
    return HistogramLayout(width, height, plot_left, plot_right, top, baseline, bars, axis)


# -- horizontal bars ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HBar:
    """A placed horizontal bar with its label on the left and value on the right."""

    key: str
    label: str
    value: float
    y: float
    width: float
    label_y: float


@dataclass(frozen=True, slots=True)
class HBarLayout:
    """Horizontal bars, ready to draw; bars start at ``bar_left``."""

    width: float
    height: float
    bar_left: float
    bar_height: float
    bars: list[HBar]


def hbar_layout(
    items: Sequence[tuple[str, str, float]],
    *,
    width: float = 480.0,
    label_width: float = 130.0,
    value_width: float = 70.0,
    row_height: float = 26.0,
    bar_height: float = 16.0,
    maximum: float | None = None,
) -> HBarLayout:
    """Place labelled horizontal bars, one per row.

    Parameters
    ----------
    items : sequence of (key, label, value)
        In display order; ``key`` is for the template (e.g. a CSS class).
    width, label_width, value_width : float
        The drawing's width and the room for labels on the left and values on the right.
    row_height, bar_height : float
        Row pitch and bar thickness.
    maximum : float, optional
        The value of a full-length bar (default: the largest value).

    Returns
    -------
    HBarLayout
    """
    top = max((value for _, _, value in items), default=0.0)
    full = maximum if maximum is not None and maximum > 0 else top
    room = width - label_width - value_width
    bars = []
    for index, (key, label, value) in enumerate(items):
        length = room * value / full if full > 0 else 0.0
        if value > 0:
            length = max(length, 1.0)
        y = index * row_height + (row_height - bar_height) / 2
        bars.append(HBar(key, label, value, _r(y), _r(length), _r(y + bar_height / 2)))
    return HBarLayout(width, _r(len(items) * row_height), label_width, bar_height, bars)
