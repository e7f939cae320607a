"""The designed map with what the log shows laid over it, as JSON and as SVG.

Touchpoints carry their observed events, the journeys that reach them and the drop-offs
there; designed flows carry how often they were seen (or that they never were); flows seen
but not designed are *unexpected*, and activities the map does not know go to a *hidden
lane*. The SVG (drawn by `overlay_svg.py`) shows phases as columns, left to right in map
order, touchpoints in map order within their column, and the hidden lane as a labelled row
at the bottom. Colour is never the only signal: each kind of flow has its own dash pattern,
text and legend entry. Same inputs, same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from ..discover.discovery import DFG
from ..maps.designed import DesignedMap
from .overlay_svg import overlay_svg

if TYPE_CHECKING:
    from ..discover.discovery import Variants

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
        return overlay_svg(
            self.designed, self.touchpoints, self.flows, self.unknown, self.phase_drop_offs
        )


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
    # Only the columns read below: a filter of the whole frame would copy its list columns.
    closed = cases.select(pl.col("leak_touchpoint", "leak_phase"))
    if "in_progress" in cases.columns:
        closed = closed.filter(~cases.get_column("in_progress").fill_null(False))
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


__all__ = ["FLOW_SCHEMA", "TOUCHPOINT_SCHEMA", "UNKNOWN_SCHEMA", "Overlay", "build_overlay"]
