"""Pictures of a directly-follows graph for people: Graphviz DOT text, and SVG drawn here.

Both show an artificial start (▶) and end (■) node, a box per activity with how often it
happened, and per edge either how often one activity directly followed another
(frequency view) or the median time between the two (performance view). The SVG needs no
system binary: `layout.py` lays it out and `svg.py` holds the pieces it is drawn with.
Same DFG, same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from .._typing import View
from .geometry import Edge, EdgeRoute, Layout, NodeBox
from .layout import back_edges, layered_layout
from .svg import (
    CONTROL_CHARS,
    COUNT_SIZE,
    DEEP,
    FONT,
    LABEL_SIZE,
    NAME_SIZE,
    PALE,
    escape,
    mix,
    path_data,
    px,
    stroke_width,
    svg_frame,
    svg_text,
    text_ems,
    visible_name,
    with_arrow,
)

if TYPE_CHECKING:
    import polars as pl


class DFG(Protocol):
    """What drawing needs of a directly-follows graph (`discover.discovery.DFG` has it)."""

    @property
    def edges(self) -> pl.DataFrame: ...  # source, target, count and duration columns
    @property
    def start(self) -> pl.DataFrame: ...  # activity, count
    @property
    def end(self) -> pl.DataFrame: ...  # activity, count


TERMINAL = 24.0  # diameter of the start and end circles
GREY, BLUE, RED = (0x9A, 0xA3, 0xAE), (0x1F, 0x4E, 0x8C), (0xC2, 0x41, 0x0C)
START_FILL, END_FILL = "#2f7d46", "#8f1d21"
CAPTION = {
    "frequency": "Edge label: how often one activity directly followed the other.",
    "performance": "Edge label: median time from one activity to the next.",
}
CAPTION_TAIL = " Thicker: more often. Dashed: back to an earlier step. ▶ start, ■ end."


# -- the graph as drawn -------------------------------------------------------------------
@dataclass(frozen=True)
class _Flow:
    """One drawn edge; `stats` holds the DFG row (durations in seconds) for activity pairs."""

    source: int  # node index: 0 start, 1..n activities (sorted by name), n+1 end
    target: int
    count: int
    kind: Literal["start", "flow", "end"]
    stats: dict[str, Any]


@dataclass(frozen=True)
class _Graph:
    names: tuple[str, ...]  # activities, sorted
    occurrences: tuple[int, ...]  # times each activity happened: starts + edges into it
    start: tuple[int, ...]
    end: tuple[int, ...]
    flows: tuple[_Flow, ...]  # start edges, then activity pairs by (source, target), then ends
    max_count: int  # of any drawn edge, at least 1: the scale of stroke widths


def _graph(dfg: DFG) -> _Graph:
    edges = dfg.edges
    missing = {"source", "target", "count"} - set(edges.columns)
    if missing:
        raise ValueError(f"DFG.edges lacks column(s) {sorted(missing)}")
    rows = sorted(edges.to_dicts(), key=lambda row: (row["source"], row["target"]))
    if any(row["source"] is None or row["target"] is None for row in rows):
        raise ValueError("DFG.edges has a null source or target activity")
    starts = _counts(dfg.start)
    ends = _counts(dfg.end)
    names = sorted(
        {r["source"] for r in rows} | {r["target"] for r in rows} | set(starts) | set(ends)
    )
    index = {a: i + 1 for i, a in enumerate(names)}
    into = dict.fromkeys(names, 0)
    for row in rows:
        into[row["target"]] += int(row["count"] or 0)
    n = len(names)
    flows = [_Flow(0, index[a], starts[a], "start", {}) for a in names if a in starts]
    flows += [
        _Flow(index[r["source"]], index[r["target"]], int(r["count"] or 0), "flow", r) for r in rows
    ]
    flows += [_Flow(index[a], n + 1, ends[a], "end", {}) for a in names if a in ends]
    return _Graph(
        names=tuple(names),
        occurrences=tuple(starts.get(a, 0) + into[a] for a in names),
        start=tuple(starts.get(a, 0) for a in names),
        end=tuple(ends.get(a, 0) for a in names),
        flows=tuple(flows),
        max_count=max([1, *(f.count for f in flows)]),
    )


def _counts(frame: Any) -> dict[str, int]:
    return {
        str(a): int(c or 0)
        for a, c in zip(frame["activity"], frame["count"], strict=True)
        if a is not None
    }


def _check_view(view: str) -> None:
    if view not in get_args(View):
        raise ValueError(f"view must be one of {get_args(View)}, not {view!r}")


# -- numbers as people read them ----------------------------------------------------------
# (unit, seconds, smallest value shown in it): 59.7s rounds to 60, so it reads as 1m.
_UNITS = (
    ("w", 604_800.0, 13.5 / 7),
    ("d", 86_400.0, 23.5 / 24),
    ("h", 3600.0, 59.5 / 60),
    ("m", 60.0, 59.5 / 60),
)


def human_duration(seconds: float | None) -> str:
    """A short, rounded duration for a label: 350ms, 12s, 2.5h, 3d, 6w ('n/a' when unknown)."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if seconds < 0:
        return "-" + human_duration(-seconds)
    if seconds == 0:
        return "0s"
    if seconds < 0.9995:
        return f"{_short(seconds * 1000)}ms"
    for unit, size, floor in _UNITS:
        if seconds >= size * floor:
            return f"{_short(seconds / size)}{unit}"
    return f"{_short(seconds)}s"


def _short(value: float) -> str:
    if value < 9.95:
        text = f"{value:.1f}"
        return text[:-2] if text.endswith(".0") else text
    return f"{value:.0f}"


def _exact_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    text = f"{seconds:,.3f}".rstrip("0").rstrip(".")
    return f"{human_duration(seconds)} ({text} s)"


def _edge_label(flow: _Flow, view: str) -> str:
    if view == "performance" and flow.kind == "flow":
        return human_duration(flow.stats.get("median"))
    return f"{flow.count:,}"


def _edge_tooltip(g: _Graph, flow: _Flow) -> str:
    if flow.kind == "start":
        return f"start → {g.names[flow.target - 1]}\n{flow.count:,} cases start here"
    if flow.kind == "end":
        return f"{g.names[flow.source - 1]} → end\n{flow.count:,} cases end here"
    s = flow.stats
    lines = [
        f"{g.names[flow.source - 1]} → {g.names[flow.target - 1]}",
        f"{flow.count:,} times directly followed",
    ]
    for key in ("median", "mean", "min", "max", "stdev", "sum"):
        if key in s:
            lines.append(f"{'total' if key == 'sum' else key}: {_exact_seconds(s[key])}")
    return "\n".join(lines)


def _node_tooltip(g: _Graph, i: int) -> str:
    return (
        f"{g.names[i]}\n{g.occurrences[i]:,} times\n"
        f"{g.start[i]:,} cases start here, {g.end[i]:,} end here"
    )


# -- colours and widths (always paired with text, never the only signal) -------------------
def _node_colours(g: _Graph, i: int) -> tuple[str, str]:
    t = math.sqrt(g.occurrences[i] / max(max(g.occurrences), 1))
    return mix(PALE, DEEP, t), ("#ffffff" if t > 0.6 else "#1b1f24")


def _edge_colour(g: _Graph, flow: _Flow, view: str, slowest: float) -> str:
    if flow.kind != "flow":
        return mix(GREY, GREY, 0.0)
    if view == "performance":
        median = flow.stats.get("median")
        if median is None or not math.isfinite(median) or slowest <= 0:
            return mix(GREY, RED, 0.0)
        return mix(GREY, RED, math.sqrt(max(median, 0.0) / slowest))
    return mix(GREY, BLUE, math.sqrt(flow.count / g.max_count))


def _slowest(g: _Graph) -> float:
    medians = [f.stats.get("median") for f in g.flows if f.kind == "flow"]
    return max((m for m in medians if m is not None and math.isfinite(m)), default=0.0)


# -- DOT ----------------------------------------------------------------------------------
def _dot(text: str) -> str:
    """A DOT double-quoted string; backslash and quote escaped, line breaks as \\n."""
    text = CONTROL_CHARS.sub(" ", text).replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return '"' + text.replace("\n", "\\n") + '"'


def dfg_to_dot(dfg: DFG, *, view: View = "frequency") -> str:
    """Graphviz DOT text of `dfg`; edges show counts ("frequency") or median times ("performance")."""
    _check_view(view)
    g = _graph(dfg)
    out = [
        "digraph DFG {",
        f'  graph [rankdir=LR, fontname="{FONT}", label={_dot(CAPTION[view] + CAPTION_TAIL)}, '
        f"fontsize=10, labelloc=b];",
        f'  node [shape=box, style="rounded,filled", fontname="{FONT}", fontsize=12];',
        f'  edge [fontname="{FONT}", fontsize=10, arrowsize=0.7];',
    ]
    if not g.names:
        out += ['  empty [shape=plaintext, label="no events"];', "}"]
        return "\n".join(out) + "\n"
    cases = sum(g.start)
    out.append(
        f'  start [shape=circle, label="▶", fillcolor="{START_FILL}", fontcolor="#ffffff", '
        f"fixedsize=true, width=0.35, tooltip={_dot(f'start: {cases:,} cases')}];"
    )
    out.append(
        f'  end [shape=circle, label="■", fillcolor="{END_FILL}", fontcolor="#ffffff", '
        f"fixedsize=true, width=0.35, tooltip={_dot(f'end: {sum(g.end):,} cases')}];"
    )
    for i, name in enumerate(g.names):
        fill, ink = _node_colours(g, i)
        label = _dot(f"{name}\n{g.occurrences[i]:,}")
        out.append(
            f'  n{i} [label={label}, fillcolor="{fill}", fontcolor="{ink}", '
            f"tooltip={_dot(_node_tooltip(g, i))}];"
        )
    slowest = _slowest(g)
    ids = ["start", *(f"n{i}" for i in range(len(g.names))), "end"]
    # The same edges as in our SVG go back; constraint=false keeps Graphviz from ranking by them.
    back = back_edges(len(ids), _edges(g, view), first=0)
    for f, is_back in zip(g.flows, back, strict=True):
        out.append(
            f"  {ids[f.source]} -> {ids[f.target]} [label={_dot(_edge_label(f, view))}, "
            f"penwidth={stroke_width(f.count, g.max_count):.2f}, "
            f'color="{_edge_colour(g, f, view, slowest)}", '
            + ("style=dashed, constraint=false, " if is_back else "")
            + f"tooltip={_dot(_edge_tooltip(g, f))}];"
        )
    out.append("}")
    return "\n".join(out) + "\n"


# -- SVG ----------------------------------------------------------------------------------
def _layout(g: _Graph, view: str) -> Layout:
    sizes = [(TERMINAL, TERMINAL)]
    for i, name in enumerate(g.names):
        # Names are drawn semi-bold, about 8% wider than the estimate.
        name_px = text_ems(visible_name(name)) * NAME_SIZE * 1.08
        ems = max(name_px, text_ems(f"{g.occurrences[i]:,}") * COUNT_SIZE)
        sizes.append((max(64.0, round(ems + 20)), 38.0))
    sizes.append((TERMINAL, TERMINAL))
    return layered_layout(sizes, _edges(g, view), first=0, last=len(sizes) - 1)


def _edges(g: _Graph, view: str) -> list[Edge]:
    return [
        Edge(
            f.source,
            f.target,
            weight=float(f.count),
            label_width=round(text_ems(_edge_label(f, view)) * LABEL_SIZE + 8),
            label_height=LABEL_SIZE + 5,
        )
        for f in g.flows
    ]


def dfg_to_svg(dfg: DFG, *, view: View = "frequency", width: float | None = None) -> str:
    """A self-contained SVG of `dfg`, laid out here (no Graphviz); `width` scales it, in px."""
    _check_view(view)
    if width is not None and not (math.isfinite(width) and width > 0):
        raise ValueError(f"width must be a positive number of pixels, not {width!r}")
    g = _graph(dfg)
    if not g.names:
        return svg_frame(
            160.0,
            48.0,
            width,
            "Directly-follows graph: no events",
            [svg_text(80, 24, 13, "no events", fill="#555555")],
        )
    lay = _layout(g, view)
    caption = CAPTION[view] + CAPTION_TAIL
    w = max(lay.width, text_ems(caption) * LABEL_SIZE + 24)
    h = lay.height + LABEL_SIZE + 14
    slowest = _slowest(g)
    body = ['<g class="edges">']
    for f, route in zip(g.flows, lay.edges, strict=True):
        body += _svg_edge(g, f, route, view, slowest)
    body += ["</g>", '<g class="nodes">']
    for i, box in enumerate(lay.nodes):
        body += _svg_node(g, i, box)
    body.append("</g>")
    body.append(svg_text(w / 2, h - LABEL_SIZE / 2 - 6, LABEL_SIZE, caption, fill="#4a5360"))
    title = (
        f"Directly-follows graph, {view} view: {len(g.names):,} activities, "
        f"{sum(f.kind == 'flow' for f in g.flows):,} edges, {sum(g.start):,} cases"
    )
    return svg_frame(w, h, width, title, body)


def _svg_node(g: _Graph, i: int, box: NodeBox) -> list[str]:
    n = len(g.names)
    if i == 0 or i == n + 1:
        kind, symbol, fill = ("start", "▶", START_FILL) if i == 0 else ("end", "■", END_FILL)
        total = sum(g.start) if i == 0 else sum(g.end)
        return [
            f'<g class="node" data-kind="{kind}" data-layer="{box.layer}">',
            f"<title>{kind}: {total:,} cases</title>",
            f'<circle cx="{px(box.x)}" cy="{px(box.y)}" r="{px(box.width / 2)}" fill="{fill}"/>',
            svg_text(box.x, box.y - 1, 11, symbol, fill="#ffffff"),
            "</g>",
        ]
    a = i - 1
    fill, ink = _node_colours(g, a)
    left, top = box.x - box.width / 2, box.y - box.height / 2
    return [
        f'<g class="node" data-kind="activity" data-activity="{escape(g.names[a])}" '
        f'data-count="{g.occurrences[a]}" data-layer="{box.layer}">',
        f"<title>{escape(_node_tooltip(g, a))}</title>",
        f'<rect x="{px(left)}" y="{px(top)}" width="{px(box.width)}" height="{px(box.height)}" '
        f'rx="6" fill="{fill}" stroke="#34495e" stroke-width="1"/>',
        svg_text(
            box.x, box.y - 7, NAME_SIZE, visible_name(g.names[a]), fill=ink, font_weight="600"
        ),
        svg_text(box.x, box.y + 9, COUNT_SIZE, f"{g.occurrences[a]:,}", fill=ink),
        "</g>",
    ]


def _svg_edge(g: _Graph, f: _Flow, route: EdgeRoute, view: str, slowest: float) -> list[str]:
    colour = _edge_colour(g, f, view, slowest)
    sw = stroke_width(f.count, g.max_count)
    curves, head = with_arrow(route.curves, 6.0 + 1.3 * sw)
    ends = ["start" if f.source == 0 else g.names[f.source - 1]]
    ends.append("end" if f.target == len(g.names) + 1 else g.names[f.target - 1])
    dash = ' stroke-dasharray="6 4"' if route.back else ""
    label = _edge_label(f, view)
    lw, lh = text_ems(label) * LABEL_SIZE + 6, LABEL_SIZE + 3
    lx, ly = route.label
    return [
        f'<g class="edge" data-kind="{f.kind}" data-source="{escape(ends[0])}" '
        f'data-target="{escape(ends[1])}" data-count="{f.count}" '
        f'data-back="{"true" if route.back else "false"}">',
        f"<title>{escape(_edge_tooltip(g, f))}</title>",
        f'<path d="{path_data(curves)}" fill="none" stroke="{colour}" '
        f'stroke-width="{px(sw)}"{dash}/>',
        f'<path d="{head}" fill="{colour}"/>',
        f'<rect x="{px(lx - lw / 2)}" y="{px(ly - lh / 2)}" width="{px(lw)}" height="{px(lh)}" '
        f'rx="3" fill="#ffffff" fill-opacity="0.9"/>',
        svg_text(lx, ly, LABEL_SIZE, label, fill="#1b1f24"),
        "</g>",
    ]
