"""The overlay drawn as SVG: phases as columns, touchpoints as boxes shaded by volume, flows
styled by kind (each with its own dash, text and legend entry), a hidden lane at the bottom."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .render import human_duration
from .svg import (
    COUNT_SIZE,
    DEEP,
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

    from ..maps.designed import DesignedMap
    from .geometry import Cubic

INK = {
    "designed": "#1f4e8c",
    "unexpected": "#c2410c",
    "unseen": "#9aa3ae",
    "unobservable": "#9aa3ae",
}
DASH = {"designed": "", "unexpected": "7 4", "unseen": "2 4", "unobservable": ""}
KIND_TEXT = {
    "designed": "designed flow",
    "unexpected": "unexpected flow: seen in the log, not in the map",
    "unseen": "designed flow, never seen in the log",
    "unobservable": "designed flow through an unobservable touchpoint (never in a log)",
}
MARGIN, HEADER_H, BOX_H, ROW_GAP, COL_GAP = 16.0, 44.0, 40.0, 16.0, 96.0
LANE_GAP, LANE_HEAD, SIDE = 28.0, 24.0, 72.0


@dataclass(frozen=True)
class _Box:
    cx: float
    cy: float
    w: float
    col: int


@dataclass(frozen=True)
class _Rect:
    x: float
    y: float
    w: float
    h: float

    def hits(self, other: _Rect) -> bool:
        return not (
            self.x + self.w <= other.x
            or other.x + other.w <= self.x
            or self.y + self.h <= other.y
            or other.y + other.h <= self.y
        )


# Where along its curve a label may sit (middle first), and how far off the curve it may move.
_ALONG = (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82)
_ACROSS = (0.0, -1.0, 1.0, -2.0, 2.0, -3.0, 3.0)


def _gap_widths(flows: list[dict[str, Any]], col: dict[str, int], ncol: int) -> list[float]:
    """Per gap between two columns: COL_GAP, wider by the labelled flows that cross it."""
    through = [0] * max(0, ncol - 1)
    for f in flows:
        if f["kind"] not in ("designed", "unexpected") or f["from"] == f["to"]:
            continue
        a, b = col.get(f["from"]), col.get(f["to"])
        if a is None or b is None:
            continue
        # Within a column: its arcs bulge into the gap on the right (a guess; enough room).
        span = range(min(a, b), max(a, b)) if a != b else range(a, a + 1)
        for g in span:
            if 0 <= g < len(through):
                through[g] += 1
    return [min(COL_GAP * 2.5, max(COL_GAP, 40.0 + 6.0 * n)) for n in through]


def _label_text(f: dict[str, Any]) -> str:
    return f"{f['count']:,}" if f["kind"] == "designed" else f"unexpected · {f['count']:,}"


def _place_labels(
    flows: list[dict[str, Any]],
    boxes: dict[str, _Box],
    taken: list[_Rect],
    band: tuple[float, float],
) -> dict[tuple[str, str], _Rect]:
    """A spot for each seen flow's label where it overlaps no box, header or other label.

    Busiest flows choose first. A label with no free spot near its curve is left out (its
    count stays in the flow's tooltip): an overlapping label would be unreadable anyway.
    """
    placed: dict[tuple[str, str], _Rect] = {}
    seen = [f for f in flows if f["kind"] in ("designed", "unexpected") and f["from"] != f["to"]]
    for f in sorted(seen, key=lambda f: (-f["count"], f["from"], f["to"])):
        text = _label_text(f)
        lw, lh = text_ems(text) * LABEL_SIZE + 6, LABEL_SIZE + 3
        p0, c1, c2, p3 = _route(boxes[f["from"]], boxes[f["to"]])[0]
        spot = None
        for across in _ACROSS:
            for t in _ALONG:
                u = 1 - t
                x = u**3 * p0[0] + 3 * u * u * t * c1[0] + 3 * u * t * t * c2[0] + t**3 * p3[0]
                y = u**3 * p0[1] + 3 * u * u * t * c1[1] + 3 * u * t * t * c2[1] + t**3 * p3[1]
                rect = _Rect(x - lw / 2, y + across * (lh + 1) - lh / 2, lw, lh)
                inside = band[0] <= rect.y and rect.y + rect.h <= band[1]
                if inside and not any(rect.hits(r) for r in taken):
                    spot = rect
                    break
            if spot is not None:
                break
        if spot is not None:
            placed[(f["from"], f["to"])] = spot
            taken.append(spot)
    return placed


def overlay_svg(
    designed: DesignedMap,
    touchpoints: pl.DataFrame,
    flows: pl.DataFrame,
    unknown: pl.DataFrame,
    phase_drop_offs: dict[str, int] | None,
) -> str:
    """The overlay's frames drawn as a deterministic, self-contained SVG (`Overlay.to_svg`)."""
    d = designed
    tps = touchpoints.to_dicts()
    lane = unknown.to_dicts()
    ncol = len(d.phases)
    col_of = {p.id: i for i, p in enumerate(d.phases)}
    max_count = max([1, *(r["count"] for r in tps), *(r["count"] for r in lane)])
    subtitles = []
    for p in d.phases:
        events = sum(r["count"] for r in tps if r["phase"] == p.id)
        drops = (phase_drop_offs or {}).get(p.id)
        subtitles.append(f"{events:,} events" + (f" · {drops:,} drop-offs" if drops else ""))
    # A column is as wide as its widest box, header or subtitle; boxes get 8px inside.
    widths = [
        max(96.0, text_ems(p.name) * 13 * 1.08 + 8, text_ems(sub) * LABEL_SIZE + 8)
        for p, sub in zip(d.phases, subtitles, strict=True)
    ]
    for r in [*tps, *({**u, "phase": u["column"], "label": u["id"]} for u in lane)]:
        name_px = text_ems(visible_name(human_name(r["label"]))) * NAME_SIZE * 1.08
        need = max(name_px, text_ems(_count_line(r)) * COUNT_SIZE) + 16
        i = col_of[r["phase"]]
        widths[i] = max(widths[i], float(round(need)))
    # SIDE leaves room for the arcs of flows within the first and the last column; each gap
    # between columns widens with the labelled flows through it, so their labels find room.
    col_by_id = {r["id"]: col_of[r["phase"]] for r in tps}
    col_by_id.update({u["id"]: col_of[u["column"]] for u in lane})
    gaps = _gap_widths(flows.to_dicts(), col_by_id, ncol)
    lefts = [MARGIN + SIDE + sum(widths[:i]) + sum(gaps[:i]) for i in range(ncol)]
    step = BOX_H + ROW_GAP
    boxes: dict[str, _Box] = {}
    rows = [0] * ncol
    for r in tps:
        i = col_of[r["phase"]]
        cy = MARGIN + HEADER_H + rows[i] * step + BOX_H / 2
        boxes[r["id"]] = _Box(lefts[i] + widths[i] / 2, cy, widths[i], i)
        rows[i] += 1
    map_bottom = MARGIN + HEADER_H + max([1, *rows]) * step
    lane_top = map_bottom + LANE_GAP
    lane_rows = [0] * ncol
    for u in lane:
        i = col_of[u["column"]]
        cy = lane_top + LANE_HEAD + lane_rows[i] * step + BOX_H / 2
        boxes[u["id"]] = _Box(lefts[i] + widths[i] / 2, cy, widths[i], i)
        lane_rows[i] += 1
    lane_bottom = lane_top + LANE_HEAD + max([0, *lane_rows]) * step + (8 if lane else 0)
    legend, legend_w = _legend(MARGIN, lane_bottom + 18)
    w = max(lefts[-1] + widths[-1] + SIDE + MARGIN, legend_w + 2 * MARGIN)
    h = lane_bottom + 18 + 6 * 18 + MARGIN

    body = ['<g class="phases">']
    for i, p in enumerate(d.phases):
        cx = lefts[i] + widths[i] / 2
        fill = "#f4f6f9" if i % 2 == 0 else "#fafbfc"
        body += [
            f'<g class="phase" data-phase="{escape(p.id)}" data-column="{i}">',
            f"<title>{escape(f'phase {i + 1}: {p.name} ({p.id})')}</title>",
            f'<rect x="{px(lefts[i] - 10)}" y="{px(MARGIN)}" width="{px(widths[i] + 20)}" '
            f'height="{px(map_bottom - MARGIN)}" rx="8" fill="{fill}"/>',
            svg_text(cx, MARGIN + 13, 13, p.name, fill="#1b1f24", font_weight="700"),
            svg_text(cx, MARGIN + 29, LABEL_SIZE, subtitles[i], fill="#4a5360"),
            "</g>",
        ]
    body.append("</g>")
    lane_text = "Hidden lane: touchpoints seen in the log but not in the map" + (
        "" if lane else " (none seen)"
    )
    body += [
        '<g class="hidden-lane" data-lane="hidden">',
        f"<title>{escape(lane_text)}</title>",
        f'<rect x="{px(MARGIN)}" y="{px(lane_top)}" width="{px(w - 2 * MARGIN)}" '
        f'height="{px(lane_bottom - lane_top)}" rx="8" fill="#fff7ef" stroke="#c2410c" '
        f'stroke-width="1" stroke-dasharray="7 4"/>',
        f'<text x="{px(MARGIN + 10)}" y="{px(lane_top + 16)}" font-size="{px(LABEL_SIZE + 1)}" '
        f'fill="#7c2d12" font-weight="600">{escape(lane_text)}</text>',
        "</g>",
    ]
    flow_rows = flows.to_dicts()
    observed_max = max([1, *(f["count"] for f in flow_rows)])
    # Every box and phase header is an obstacle for the flow labels, and so is each label placed.
    taken = [
        _Rect(b.cx - b.w / 2 - 2, b.cy - BOX_H / 2 - 2, b.w + 4, BOX_H + 4) for b in boxes.values()
    ]
    taken += [_Rect(lefts[i] - 10, MARGIN, widths[i] + 20, HEADER_H - 8) for i in range(ncol)]
    labels = _place_labels(flow_rows, boxes, taken, (MARGIN, lane_bottom))
    body.append('<g class="flows">')
    for kind in ("unseen", "unobservable", "designed", "unexpected"):  # busiest kinds drawn on top
        for f in flow_rows:
            if f["kind"] == kind and f["from"] != f["to"]:
                key = (f["from"], f["to"])
                body += _flow(f, boxes[f["from"]], boxes[f["to"]], observed_max, labels.get(key))
    body += ["</g>", '<g class="touchpoints">']
    for r in tps:
        body += _touchpoint(r, boxes[r["id"]], d.phases[col_of[r["phase"]]].name, max_count)
    for u in lane:
        body += _touchpoint({**u, "label": u["id"]}, boxes[u["id"]], None, max_count)
    body += ["</g>", *legend]
    title = (
        f"Journey map overlay: {d.name} ({d.version}), {ncol} phases, {len(tps)} touchpoints, "
        f"{sum(f['kind'] == 'unexpected' for f in flow_rows)} unexpected flows, "
        f"{len(lane)} touchpoints not in the map"
    )
    return svg_frame(w, h, None, title, body)


def human_name(label: str) -> str:
    """A touchpoint's name as people read it: `add_to_cart` shows as `add to cart` (the id
    stays in the tooltip and the data attributes)."""
    return label.replace("_", " ")


def _count_line(r: dict[str, Any]) -> str:
    if r.get("observable") is False and not r["count"]:
        return "not observable"
    text = f"{r['count']:,}" if r["count"] else "0 · never seen"
    if r.get("drop_offs"):
        text += f" · {r['drop_offs']:,} left"
    return text


def _touchpoint(r: dict[str, Any], box: _Box, phase: str | None, max_count: int) -> list[str]:
    hidden = phase is None
    t = math.sqrt(r["count"] / max_count)
    fill, ink = (mix(PALE, DEEP, t), "#ffffff" if t > 0.6 else "#1b1f24")
    stroke, dash = ("#c2410c", "") if hidden else ("#34495e", "")
    if r.get("observable") is False:
        fill, ink, dash = "#ffffff", "#4a5360", ' stroke-dasharray="4 3"'
    elif not r["count"]:
        fill, ink, stroke = "#ffffff", "#4a5360", "#9aa3ae"
    lines = [r["label"] if r["label"] == r["id"] else f"{r['label']} ({r['id']})"]
    lines.append("not in the map (hidden lane)" if hidden else f"phase: {phase}")
    if r.get("channel"):
        lines.append(f"channel: {r['channel']}")
    if r.get("observable") is False:
        lines.append("not observable: never expected in a log")
    lines.append(f"{r['count']:,} events")
    if r.get("cases") is not None:
        lines.append(f"{r['cases']:,} journeys reach it")
    if r.get("drop_offs") is not None:
        lines.append(f"{r['drop_offs']:,} drop-offs here")
    lines.append(f"{r['starts']:,} journeys start here, {r['ends']:,} end here")
    if r.get("rework"):
        lines.append(f"{r['rework']:,} journeys come back to it (rework)")
    elif r["repeats"] and r.get("rework") is None:
        lines.append(f"repeated {r['repeats']:,} times in a row")
    left, top = box.cx - box.w / 2, box.cy - BOX_H / 2
    return [
        f'<g class="touchpoint" data-touchpoint="{escape(r["id"])}" '
        f'data-phase="{"" if hidden else escape(r["phase"])}" '
        f'data-lane="{"hidden" if hidden else "map"}" data-count="{r["count"]}">',
        f"<title>{escape(chr(10).join(lines))}</title>",
        f'<rect x="{px(left)}" y="{px(top)}" width="{px(box.w)}" height="{px(BOX_H)}" rx="6" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{"1.5" if hidden else "1"}"{dash}/>',
        svg_text(
            box.cx,
            box.cy - 7,
            NAME_SIZE,
            visible_name(human_name(r["label"])),
            fill=ink,
            font_weight="600",
        ),
        svg_text(box.cx, box.cy + 9, COUNT_SIZE, _count_line(r), fill=ink),
        "</g>",
    ]


def _route(a: _Box, b: _Box) -> tuple[Cubic, ...]:
    """Right side to left side going forward; within a column, an arc on the right going
    down and on the left going up; backward, an arc below from left side to right side."""
    ar, al, br, bl = a.cx + a.w / 2, a.cx - a.w / 2, b.cx + b.w / 2, b.cx - b.w / 2
    if b.col > a.col:
        dx = (bl - ar) / 2
        return (((ar, a.cy), (ar + dx, a.cy), (bl - dx, b.cy), (bl, b.cy)),)
    if b.col == a.col:
        down = b.cy > a.cy
        x0, x1 = (ar, br) if down else (al, bl)
        bulge = (1 if down else -1) * (26 + min(60.0, abs(b.cy - a.cy) * 0.18))
        return (((x0, a.cy), (x0 + bulge, a.cy), (x1 + bulge, b.cy), (x1, b.cy)),)
    dx = (al - br) / 2  # sags below the forward flows between the same two columns
    return (((al, a.cy + 8), (al - dx, a.cy + 38), (br + dx, b.cy + 38), (br, b.cy + 8)),)


def _flow(
    f: dict[str, Any], a: _Box, b: _Box, max_count: int, spot: _Rect | None = None
) -> list[str]:
    kind = f["kind"]
    count = f["count"]
    width = stroke_width(count, max_count) if kind in ("designed", "unexpected") else 1.0
    route = _route(a, b)
    curves, head = with_arrow(route, 5.0 + 1.2 * width)
    dash = f' stroke-dasharray="{DASH[kind]}"' if DASH[kind] else ""
    tip = [f"{f['from']} → {f['to']}", KIND_TEXT[kind]]
    if count:
        tip.append(f"{count:,} times directly followed, median {human_duration(f['median_s'])}")
    out = [
        f'<g class="flow" data-from="{escape(f["from"])}" data-to="{escape(f["to"])}" '
        f'data-kind="{"designed" if kind == "unobservable" else kind}" data-count="{count}" '
        f'data-observable="{"false" if kind == "unobservable" else "true"}">',
        f"<title>{escape(chr(10).join(tip))}</title>",
        f'<path d="{path_data(curves)}" fill="none" stroke="{INK[kind]}" '
        f'stroke-width="{px(width)}"{dash}/>',
        f'<path d="{head}" fill="{INK[kind]}"/>',
    ]
    if spot is not None:
        label = _label_text(f)
        out += [
            f'<g class="flow-label"><rect x="{px(spot.x)}" y="{px(spot.y)}" '
            f'width="{px(spot.w)}" height="{px(spot.h)}" rx="3" fill="#ffffff" '
            f'fill-opacity="0.9"/>',
            svg_text(spot.x + spot.w / 2, spot.y + spot.h / 2, LABEL_SIZE, label, fill=INK[kind]),
            "</g>",
        ]
    return [*out, "</g>"]


def _legend(x: float, y: float) -> tuple[list[str], float]:
    """The key to every line and box style, one row each; returns the drawing and its width."""
    rows: list[tuple[str, str]] = [
        ("designed", "designed flow, seen (thicker: more often; label: times)"),
        ("unexpected", "unexpected flow: seen, not in the map (label: “unexpected”)"),
        ("unseen", "designed flow, never seen"),
        ("unobservable", "designed flow through an unobservable touchpoint"),
        ("box-hidden", "hidden lane: touchpoint seen in the log, not in the map"),
        ("box-unobservable", "unobservable touchpoint (TV, word of mouth): never in a log"),
    ]
    out = ['<g class="legend">']
    width = 0.0
    for i, (kind, text) in enumerate(rows):
        cy = y + i * 18 + 9
        if kind.startswith("box-"):
            stroke, dash = ("#c2410c", "") if kind == "box-hidden" else ("#34495e", "4 3")
            out.append(
                f'<rect x="{px(x)}" y="{px(cy - 6)}" width="36" height="12" rx="3" '
                f'fill="#ffffff" stroke="{stroke}"'
                + (f' stroke-dasharray="{dash}"' if dash else "")
                + "/>"
            )
        else:
            sw = 3.0 if kind in ("designed", "unexpected") else 1.0
            dash = f' stroke-dasharray="{DASH[kind]}"' if DASH[kind] else ""
            out.append(
                f'<path d="M{px(x)},{px(cy)} H{px(x + 36)}" stroke="{INK[kind]}" '
                f'stroke-width="{px(sw)}" fill="none"{dash}/>'
            )
        out.append(
            f'<text x="{px(x + 46)}" y="{px(cy + LABEL_SIZE * 0.35)}" '
            f'font-size="{px(LABEL_SIZE)}" fill="#1b1f24">{escape(text)}</text>'
        )
        width = max(width, 46 + text_ems(text) * LABEL_SIZE)
    out.append("</g>")
    return out, width
