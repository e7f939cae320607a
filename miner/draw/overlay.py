"""The designed map with what the log shows laid over it, as JSON and as SVG.

Touchpoints carry their observed events, the journeys that reach them and the drop-offs
there; designed flows carry how often they were seen (or that they never were); flows seen
but not designed are *unexpected*, and activities the map does not know go to a *hidden
lane*. The SVG draws phases as columns, left to right in map order, touchpoints in map
order within their column, and the hidden lane as a labelled row at the bottom. Colour is
never the only signal: each kind of flow has its own dash pattern, text and legend entry.
Same inputs, same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from ..discover.discovery import DFG
from ..maps.designed import DesignedMap
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
    from ..discover.discovery import Variants
    from .layout import Cubic

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
# repeats: times the touchpoint directly follows itself (a -> a); rework: journeys that show it
# more than once, anywhere (the comparison's definition of rework, as its priorities count it).
_STATS = ("count", "cases", "drop_offs", "starts", "ends", "repeats", "rework")


@dataclass(frozen=True)
class Overlay:
    """A designed map with observed volumes on its touchpoints and flows, and what it lacks."""

    designed: DesignedMap
    touchpoints: pl.DataFrame  # id, label, phase, channel, observable, count, cases, drop_offs, ...
    flows: pl.DataFrame  # from, to, designed, kind (designed/unexpected/unseen/unobservable), ...
    unknown: pl.DataFrame  # id, count, cases, drop_offs, starts, ends, repeats, column
    phase_drop_offs: dict[str, int] | None  # phase id -> drop-offs there; None without cases

    @property
    def frame(self) -> pl.DataFrame:
        """The flows frame: designed flows in map order, then unexpected ones by count."""
        return self.flows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"map", "phases": [{..., "touchpoints"}], "flows", "unknown_touchpoints",
        "hidden_lane"}."""
        rows = self.touchpoints.to_dicts()
        phases = []
        for p in self.designed.phases:
            mine = [
                {k: v for k, v in r.items() if k != "phase"} for r in rows if r["phase"] == p.id
            ]
            drops = None if self.phase_drop_offs is None else self.phase_drop_offs.get(p.id, 0)
            phases.append(
                {
                    "id": p.id,
                    "name": p.name,
                    "count": sum(r["count"] for r in mine),
                    "drop_offs": drops,
                    "touchpoints": mine,
                }
            )
        return {
            "map": {"name": self.designed.name, "version": self.designed.version},
            "phases": phases,
            "flows": self.flows.to_dicts(),
            "unknown_touchpoints": self.unknown.sort(
                ["count", "id"], descending=[True, False]
            ).to_dicts(),
            "hidden_lane": self.unknown.select("id", "column").to_dicts(),
        }

    def to_svg(self) -> str:
        """A deterministic, self-contained SVG: phases as columns, a hidden lane at the bottom."""
        return _draw(self)


def build_overlay(
    designed: DesignedMap,
    dfg: DFG,
    cases: pl.DataFrame | None = None,
    *,
    variants: Variants | pl.DataFrame | None = None,
) -> Overlay:
    """Annotate `designed` with the volumes of `dfg`; drop-offs come from `cases`
    (`leak_touchpoint`, `leak_phase`) and journeys per touchpoint from `variants`
    (`discover_variants`, or a frame of its `activities` and `count`, as `Comparison.variants`
    has)."""
    edges = dfg.edges.select("source", "target", "count", "median")
    events = (
        pl.concat(
            [
                dfg.start.select("activity", pl.col("count").cast(pl.Int64)),
                edges.select(pl.col("target").alias("activity"), pl.col("count").cast(pl.Int64)),
            ]
        )
        .group_by("activity")
        .agg(pl.col("count").sum())
    )
    stats = (
        events.join(_renamed(dfg.start, "starts"), on="activity", how="left")
        .join(_renamed(dfg.end, "ends"), on="activity", how="left")
        .join(
            edges.filter(pl.col("source") == pl.col("target")).select(
                pl.col("source").alias("activity"), pl.col("count").alias("repeats")
            ),
            on="activity",
            how="left",
        )
        .with_columns(pl.col("starts", "ends", "repeats").fill_null(0).cast(pl.Int64))
    )
    stats = stats.join(_reach(variants), on="activity", how="left")
    drops, phase_drops = _drop_offs(cases)
    stats = stats.join(drops, on="activity", how="left")
    if cases is not None:
        stats = stats.with_columns(pl.col("drop_offs").fill_null(0))
    if variants is not None:
        stats = stats.with_columns(pl.col("cases", "rework").fill_null(0))
    by_id = {r["activity"]: r for r in stats.to_dicts()}
    zero: dict[str, int | None] = {"count": 0, "starts": 0, "ends": 0, "repeats": 0}
    zero |= {k: 0 if variants is not None else None for k in ("cases", "rework")}
    zero |= {"drop_offs": 0 if cases is not None else None}
    tp_rows = [
        {
            "id": t.id,
            "label": t.label,
            "phase": t.phase,
            "channel": t.channel,
            "observable": t.observable,
            **{k: by_id.get(t.id, zero)[k] for k in _STATS},
        }
        for t in designed.touchpoints
    ]
    touchpoints = pl.DataFrame(tp_rows, schema=TOUCHPOINT_SCHEMA, orient="row")
    flows = _flows(designed, edges)
    unknown_ids = sorted(set(by_id) - set(designed.touchpoint_index))
    unknown = pl.DataFrame(
        [
            {"id": u, **{k: by_id[u][k] for k in _STATS}, "column": _column(designed, edges, u)}
            for u in unknown_ids
        ],
        schema=UNKNOWN_SCHEMA,
        orient="row",
    )
    order = {p.id: i for i, p in enumerate(designed.phases)}
    unknown = unknown.sort(
        pl.col("column").replace_strict(order, return_dtype=pl.Int64),
        "count",
        "id",
        descending=[False, True, False],
    )
    return Overlay(designed, touchpoints, flows, unknown, phase_drops)


TOUCHPOINT_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "label": pl.String,
    "phase": pl.String,
    "channel": pl.String,
    "observable": pl.Boolean,
    "count": pl.Int64,
    "cases": pl.Int64,
    "drop_offs": pl.Int64,
    "starts": pl.Int64,
    "ends": pl.Int64,
    "repeats": pl.Int64,
    "rework": pl.Int64,
}
UNKNOWN_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    **{k: pl.Int64 for k in _STATS},
    "column": pl.String,
}
FLOW_SCHEMA: dict[str, Any] = {
    "from": pl.String,
    "to": pl.String,
    "designed": pl.Boolean,
    "kind": pl.String,
    "count": pl.Int64,
    "median_s": pl.Float64,
}


def _renamed(counts: pl.DataFrame, name: str) -> pl.DataFrame:
    return counts.select("activity", pl.col("count").cast(pl.Int64).alias(name))


def _reach(variants: Variants | pl.DataFrame | None) -> pl.DataFrame:
    """Journeys that reach each activity (at least once), and that show it again (rework):
    variant counts summed."""
    if variants is None:
        return pl.DataFrame(schema={"activity": pl.String, "cases": pl.Int64, "rework": pl.Int64})
    frame = variants if isinstance(variants, pl.DataFrame) else variants.frame
    return (
        frame.select(pl.col("activities").alias("activity"), "count")
        .with_row_index("_variant")
        .explode("activity")
        .group_by("_variant", "activity")
        .agg(pl.col("count").first(), (pl.len() > 1).alias("again"))
        .group_by("activity")
        .agg(
            pl.col("count").sum().cast(pl.Int64).alias("cases"),
            pl.col("count").filter(pl.col("again")).sum().cast(pl.Int64).alias("rework"),
        )
    )


def _drop_offs(cases: pl.DataFrame | None) -> tuple[pl.DataFrame, dict[str, int] | None]:
    """Closed journeys that ended outside the goal, per leak touchpoint and per leak phase."""
    empty = pl.DataFrame(schema={"activity": pl.String, "drop_offs": pl.Int64})
    if cases is None:
        return empty, None
    for column in ("leak_touchpoint", "leak_phase"):
        if column not in cases.columns:
            raise ValueError(f"the cases frame lacks column {column!r} (Comparison.cases)")
    closed = cases
    if "in_progress" in cases.columns:
        closed = cases.filter(~pl.col("in_progress").fill_null(False))
    per_tp = (
        closed.drop_nulls("leak_touchpoint")
        .group_by(pl.col("leak_touchpoint").alias("activity"))
        .agg(pl.len().cast(pl.Int64).alias("drop_offs"))
    )
    per_phase = closed.drop_nulls("leak_phase").group_by("leak_phase").len()
    return per_tp, dict(per_phase.sort("leak_phase").iter_rows())


def _flows(designed: DesignedMap, edges: pl.DataFrame) -> pl.DataFrame:
    """Designed flows in map order (seen or not), then the observed rest by count."""
    seen = {(s, t): (int(c), m) for s, t, c, m in edges.iter_rows()}
    rows = []
    for a, b in designed.flows:
        count, median = seen.get((a, b), (0, None))
        observable = a in designed.observable and b in designed.observable
        kind = "designed" if count else ("unseen" if observable else "unobservable")
        rows.append((a, b, True, kind, count, median))
    written = set(designed.flows)
    extra = sorted(
        ((s, t) for s, t in seen if (s, t) not in written and s != t),
        key=lambda st: (-seen[st][0], st),
    )
    for s, t in extra:
        implied = (s, t) in designed.allowed  # through an unobservable touchpoint
        kind = "designed" if implied else "unexpected"
        rows.append((s, t, implied, kind, *seen[(s, t)]))
    return pl.DataFrame(rows, schema=FLOW_SCHEMA, orient="row")


def _column(designed: DesignedMap, edges: pl.DataFrame, unknown: str) -> str:
    """The phase an unknown touchpoint is drawn under: that of its busiest mapped neighbour
    (predecessors first), else the first phase."""
    known = list(designed.touchpoint_index)
    for near, far in (("target", "source"), ("source", "target")):
        hit = (
            edges.filter((pl.col(near) == unknown) & pl.col(far).is_in(known))
            .sort(["count", far], descending=[True, False])
            .head(1)
        )
        if hit.height:
            return designed.touchpoint_index[hit[far][0]].phase
    return designed.phases[0].id


# -- drawing ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Box:
    cx: float
    cy: float
    w: float
    col: int


def _draw(ov: Overlay) -> str:
    d = ov.designed
    tps = ov.touchpoints.to_dicts()
    unknown = ov.unknown.to_dicts()
    ncol = len(d.phases)
    col_of = {p.id: i for i, p in enumerate(d.phases)}
    max_count = max([1, *(r["count"] for r in tps), *(r["count"] for r in unknown)])
    subtitles = []
    for p in d.phases:
        events = sum(r["count"] for r in tps if r["phase"] == p.id)
        drops = (ov.phase_drop_offs or {}).get(p.id)
        subtitles.append(f"{events:,} events" + (f" · {drops:,} drop-offs" if drops else ""))
    # A column is as wide as its widest box, header or subtitle; boxes get 8px inside.
    widths = [
        max(96.0, text_ems(p.name) * 13 * 1.08 + 8, text_ems(sub) * LABEL_SIZE + 8)
        for p, sub in zip(d.phases, subtitles, strict=True)
    ]
    for r in [*tps, *({**u, "phase": u["column"], "label": u["id"]} for u in unknown)]:
        name_px = text_ems(visible_name(r["label"])) * NAME_SIZE * 1.08
        need = max(name_px, text_ems(_count_line(r)) * COUNT_SIZE) + 16
        i = col_of[r["phase"]]
        widths[i] = max(widths[i], float(round(need)))
    # SIDE leaves room for the arcs of flows within the first and the last column.
    lefts = [MARGIN + SIDE + sum(widths[:i]) + COL_GAP * i for i in range(ncol)]
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
    for u in unknown:
        i = col_of[u["column"]]
        cy = lane_top + LANE_HEAD + lane_rows[i] * step + BOX_H / 2
        boxes[u["id"]] = _Box(lefts[i] + widths[i] / 2, cy, widths[i], i)
        lane_rows[i] += 1
    lane_bottom = lane_top + LANE_HEAD + max([0, *lane_rows]) * step + (8 if unknown else 0)
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
        "" if unknown else " (none seen)"
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
    flows = ov.flows.to_dicts()
    observed_max = max([1, *(f["count"] for f in flows)])
    body.append('<g class="flows">')
    for kind in ("unseen", "unobservable", "designed", "unexpected"):  # busiest kinds drawn on top
        for f in flows:
            if f["kind"] == kind and f["from"] != f["to"]:
                body += _flow(f, boxes[f["from"]], boxes[f["to"]], observed_max)
    body += ["</g>", '<g class="touchpoints">']
    for r in tps:
        body += _touchpoint(r, boxes[r["id"]], d.phases[col_of[r["phase"]]].name, max_count)
    for u in unknown:
        body += _touchpoint({**u, "label": u["id"]}, boxes[u["id"]], None, max_count)
    body += ["</g>", *legend]
    title = (
        f"Journey map overlay: {d.name} ({d.version}), {ncol} phases, {len(tps)} touchpoints, "
        f"{sum(f['kind'] == 'unexpected' for f in flows)} unexpected flows, "
        f"{len(unknown)} touchpoints not in the map"
    )
    return svg_frame(w, h, None, title, body)


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
            box.cx, box.cy - 7, NAME_SIZE, visible_name(r["label"]), fill=ink, font_weight="600"
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


def _flow(f: dict[str, Any], a: _Box, b: _Box, max_count: int) -> list[str]:
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
    if kind in ("designed", "unexpected"):
        label = f"{count:,}" if kind == "designed" else f"unexpected · {count:,}"
        (p0, c1, c2, p3) = route[0]
        lx = (p0[0] + 3 * c1[0] + 3 * c2[0] + p3[0]) / 8
        ly = (p0[1] + 3 * c1[1] + 3 * c2[1] + p3[1]) / 8
        lw, lh = text_ems(label) * LABEL_SIZE + 6, LABEL_SIZE + 3
        out += [
            f'<rect x="{px(lx - lw / 2)}" y="{px(ly - lh / 2)}" width="{px(lw)}" '
            f'height="{px(lh)}" rx="3" fill="#ffffff" fill-opacity="0.9"/>',
            svg_text(lx, ly, LABEL_SIZE, label, fill=INK[kind]),
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


__all__ = ["FLOW_SCHEMA", "TOUCHPOINT_SCHEMA", "UNKNOWN_SCHEMA", "Overlay", "build_overlay"]
