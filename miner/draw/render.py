"""Pictures of a directly-follows graph for people: Graphviz DOT text, and SVG drawn here.

Both show an artificial start (▶) and end (■) node, a box per activity with how often it
happened, and per edge either how often one activity directly followed another
(frequency view) or the median time between the two (performance view). The SVG needs no
system binary: `miner/draw/layout.py` lays it out. Same DFG, same bytes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from .._typing import View
from .layout import Cubic, Edge, EdgeRoute, Layout, NodeBox, back_edges, layered_layout

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


FONT = "Helvetica, Arial, sans-serif"
NAME_SIZE = 12.0  # activity name, in px
COUNT_SIZE = 11.0  # the count under the name
LABEL_SIZE = 10.5  # edge labels and caption
MAX_NAME_EMS = 22.0  # longer names are cut with an ellipsis (the tooltip keeps them whole)
TERMINAL = 24.0  # diameter of the start and end circles
PALE, DEEP = (0xEE, 0xF3, 0xFA), (0x24, 0x57, 0x9B)  # node fill, rare to frequent
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
def _mix(lo: tuple[int, int, int], hi: tuple[int, int, int], t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(lo, hi, strict=True))


def _stroke_width(count: int, max_count: int) -> float:
    return round(1.0 + 5.0 * math.sqrt(max(count, 0) / max_count), 2)


def _node_colours(g: _Graph, i: int) -> tuple[str, str]:
    t = math.sqrt(g.occurrences[i] / max(max(g.occurrences), 1))
    return _mix(PALE, DEEP, t), ("#ffffff" if t > 0.6 else "#1b1f24")


def _edge_colour(g: _Graph, flow: _Flow, view: str, slowest: float) -> str:
    if flow.kind != "flow":
        return _mix(GREY, GREY, 0.0)
    if view == "performance":
        median = flow.stats.get("median")
        if median is None or not math.isfinite(median) or slowest <= 0:
            return _mix(GREY, RED, 0.0)
        return _mix(GREY, RED, math.sqrt(max(median, 0.0) / slowest))
    return _mix(GREY, BLUE, math.sqrt(flow.count / g.max_count))


def _slowest(g: _Graph) -> float:
    medians = [f.stats.get("median") for f in g.flows if f.kind == "flow"]
    return max((m for m in medians if m is not None and math.isfinite(m)), default=0.0)


# -- DOT ----------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _dot(text: str) -> str:
    """A DOT double-quoted string; backslash and quote escaped, line breaks as \\n."""
    text = _CONTROL.sub(" ", text).replace("\\", "\\\\").replace('"', '\\"')
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
            f"penwidth={_stroke_width(f.count, g.max_count):.2f}, "
            f'color="{_edge_colour(g, f, view, slowest)}", '
            + ("style=dashed, constraint=false, " if is_back else "")
            + f"tooltip={_dot(_edge_tooltip(g, f))}];"
        )
    out.append("}")
    return "\n".join(out) + "\n"


# -- SVG ----------------------------------------------------------------------------------
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTR = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#39;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def _xml(text: str) -> str:
    """Text safe in XML content and in double-quoted attributes; invalid characters become �."""
    return _NOT_XML.sub("\ufffd", text).translate(_ATTR)


def _ems(text: str) -> float:
    """Estimated width of `text` in ems (sans-serif): wide for CJK and emoji, zero for marks."""
    total = 0.0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            total += 1.0
        elif ch in "iljtf.,;:'|!()[] ":
            total += 0.32
        elif ch.isupper() or ch in "mwMW@%":
            total += 0.74
        else:
            total += 0.6
    return total


def _visible(name: str) -> str:
    """The name as shown in its box: one line, cut with an ellipsis when too wide."""
    text = " ".join(_CONTROL.sub(" ", name).split()) or " "
    if _ems(text) <= MAX_NAME_EMS:
        return text
    while text and _ems(text) > MAX_NAME_EMS - 0.6:
        text = text[:-1]
    return text + "…"


def _f(v: float) -> str:
    text = f"{v:.1f}"
    if text[-2:] == ".0":
        text = text[:-2]
    return "0" if text == "-0" else text


def _path(curves: tuple[Cubic, ...]) -> str:
    (x0, y0) = curves[0][0]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for p0, c1, c2, (x, y) in curves:
        if c1 == p0 and c2 == (x, y) and p0[1] == y:  # a straight run through a column
            parts.append(f"H{x:.1f}")
        else:
            parts.append(f"C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {x:.1f},{y:.1f}")
    return " ".join(parts)


def _with_arrow(curves: tuple[Cubic, ...], length: float) -> tuple[tuple[Cubic, ...], str]:
    """The curves shortened by `length` at the end, and an arrowhead filling that gap."""
    p0, c1, c2, tip = curves[-1]
    dx, dy = tip[0] - c2[0], tip[1] - c2[1]
    norm = math.hypot(dx, dy) or 1.0
    ux, uy = dx / norm, dy / norm
    base = (tip[0] - ux * length, tip[1] - uy * length)
    last = (p0, c1, (c2[0] - ux * length, c2[1] - uy * length), base)
    half = length * 0.45
    left = (base[0] - uy * half, base[1] + ux * half)
    right = (base[0] + uy * half, base[1] - ux * half)
    head = (
        f"M{_f(tip[0])},{_f(tip[1])} L{_f(left[0])},{_f(left[1])} L{_f(right[0])},{_f(right[1])} Z"
    )
    return (*curves[:-1], last), head


def _text(x: float, y: float, size: float, text: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    # 0.35em below the centre puts the middle of lowercase letters on `y`.
    return (
        f'<text x="{_f(x)}" y="{_f(y + size * 0.35)}" font-size="{_f(size)}" '
        f'text-anchor="middle"{extra}>{_xml(text)}</text>'
    )


def _layout(g: _Graph, view: str) -> Layout:
    sizes = [(TERMINAL, TERMINAL)]
    for i, name in enumerate(g.names):
        # Names are drawn semi-bold, about 8% wider than the estimate.
        name_px = _ems(_visible(name)) * NAME_SIZE * 1.08
        ems = max(name_px, _ems(f"{g.occurrences[i]:,}") * COUNT_SIZE)
        sizes.append((max(64.0, round(ems + 20)), 38.0))
    sizes.append((TERMINAL, TERMINAL))
    return layered_layout(sizes, _edges(g, view), first=0, last=len(sizes) - 1)


def _edges(g: _Graph, view: str) -> list[Edge]:
    return [
        Edge(
            f.source,
            f.target,
            weight=float(f.count),
            label_width=round(_ems(_edge_label(f, view)) * LABEL_SIZE + 8),
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
        return _svg_frame(
            160.0,
            48.0,
            width,
            "Directly-follows graph: no events",
            [_text(80, 24, 13, "no events", fill="#555555")],
        )
    lay = _layout(g, view)
    caption = CAPTION[view] + CAPTION_TAIL
    w = max(lay.width, _ems(caption) * LABEL_SIZE + 24)
    h = lay.height + LABEL_SIZE + 14
    slowest = _slowest(g)
    body = ['<g class="edges">']
    for f, route in zip(g.flows, lay.edges, strict=True):
        body += _svg_edge(g, f, route, view, slowest)
    body += ["</g>", '<g class="nodes">']
    for i, box in enumerate(lay.nodes):
        body += _svg_node(g, i, box)
    body.append("</g>")
    body.append(_text(w / 2, h - LABEL_SIZE / 2 - 6, LABEL_SIZE, caption, fill="#4a5360"))
    title = (
        f"Directly-follows graph, {view} view: {len(g.names):,} activities, "
        f"{sum(f.kind == 'flow' for f in g.flows):,} edges, {sum(g.start):,} cases"
    )
    return _svg_frame(w, h, width, title, body)


def _svg_frame(w: float, h: float, width: float | None, title: str, body: list[str]) -> str:
    shown_w, shown_h = (w, h) if width is None else (width, h * width / w)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_f(shown_w)}" '
        f'height="{_f(shown_h)}" viewBox="0 0 {_f(w)} {_f(h)}" role="img" '
        f'aria-label="{_xml(title)}" font-family="{FONT}">'
    )
    background = f'<rect x="0" y="0" width="{_f(w)}" height="{_f(h)}" fill="#ffffff"/>'
    return "\n".join([head, f"<title>{_xml(title)}</title>", background, *body, "</svg>"]) + "\n"


def _svg_node(g: _Graph, i: int, box: NodeBox) -> list[str]:
    n = len(g.names)
    if i == 0 or i == n + 1:
        kind, symbol, fill = ("start", "▶", START_FILL) if i == 0 else ("end", "■", END_FILL)
        total = sum(g.start) if i == 0 else sum(g.end)
        return [
            f'<g class="node" data-kind="{kind}" data-layer="{box.layer}">',
            f"<title>{kind}: {total:,} cases</title>",
            f'<circle cx="{_f(box.x)}" cy="{_f(box.y)}" r="{_f(box.width / 2)}" fill="{fill}"/>',
            _text(box.x, box.y - 1, 11, symbol, fill="#ffffff"),
            "</g>",
        ]
    a = i - 1
    fill, ink = _node_colours(g, a)
    left, top = box.x - box.width / 2, box.y - box.height / 2
    return [
        f'<g class="node" data-kind="activity" data-activity="{_xml(g.names[a])}" '
        f'data-count="{g.occurrences[a]}" data-layer="{box.layer}">',
        f"<title>{_xml(_node_tooltip(g, a))}</title>",
        f'<rect x="{_f(left)}" y="{_f(top)}" width="{_f(box.width)}" height="{_f(box.height)}" '
        f'rx="6" fill="{fill}" stroke="#34495e" stroke-width="1"/>',
        _text(box.x, box.y - 7, NAME_SIZE, _visible(g.names[a]), fill=ink, font_weight="600"),
        _text(box.x, box.y + 9, COUNT_SIZE, f"{g.occurrences[a]:,}", fill=ink),
        "</g>",
    ]


def _svg_edge(g: _Graph, f: _Flow, route: EdgeRoute, view: str, slowest: float) -> list[str]:
    colour = _edge_colour(g, f, view, slowest)
    sw = _stroke_width(f.count, g.max_count)
    curves, head = _with_arrow(route.curves, 6.0 + 1.3 * sw)
    ends = ["start" if f.source == 0 else g.names[f.source - 1]]
    ends.append("end" if f.target == len(g.names) + 1 else g.names[f.target - 1])
    dash = ' stroke-dasharray="6 4"' if route.back else ""
    label = _edge_label(f, view)
    lw, lh = _ems(label) * LABEL_SIZE + 6, LABEL_SIZE + 3
    lx, ly = route.label
    return [
        f'<g class="edge" data-kind="{f.kind}" data-source="{_xml(ends[0])}" '
        f'data-target="{_xml(ends[1])}" data-count="{f.count}" '
        f'data-back="{"true" if route.back else "false"}">',
        f"<title>{_xml(_edge_tooltip(g, f))}</title>",
        f'<path d="{_path(curves)}" fill="none" stroke="{colour}" stroke-width="{_f(sw)}"{dash}/>',
        f'<path d="{head}" fill="{colour}"/>',
        f'<rect x="{_f(lx - lw / 2)}" y="{_f(ly - lh / 2)}" width="{_f(lw)}" height="{_f(lh)}" '
        f'rx="3" fill="#ffffff" fill-opacity="0.9"/>',
        _text(lx, ly, LABEL_SIZE, label, fill="#1b1f24"),
        "</g>",
    ]
