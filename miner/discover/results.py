"""What discovery returns: the directly-follows graph, the variants, service times and the
whole `Discovery`, with their JSON and pm4py shapes. Computed by `miner.engine.discovery`."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..json_rows import FrameRows
from .journey_stats import JourneyStats

US_PER_SECOND = 1_000_000.0

if TYPE_CHECKING:
    from .._typing import View


# -- directly-follows graph ---------------------------------------------------------------
@dataclass(frozen=True)
class DFG:
    """Directly-follows graph: edge counts and durations (seconds), start and end activities."""

    edges: pl.DataFrame  # source, target, count, mean, median, min, max, stdev, sum
    start: pl.DataFrame  # activity, count: cases starting with the activity
    end: pl.DataFrame  # activity, count: cases ending with the activity

    @property
    def frame(self) -> pl.DataFrame:
        """The edges frame, one row per (source, target), sorted by source then target."""
        return self.edges

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"edges": [row, ...], "start": {activity: n}, "end": {activity: n}}."""
        return {
            "edges": self.edges.to_dicts(),
            "start": counts_dict(self.start),
            "end": counts_dict(self.end),
        }

    def to_dot(self, *, view: View = "frequency") -> str:
        """Graphviz DOT text of this graph (frequency or performance view)."""
        from ..draw.render import dfg_to_dot

        return dfg_to_dot(self, view=view)

    def to_svg(self, *, view: View = "frequency", width: float | None = None) -> str:
        """A self-contained, deterministic SVG of this graph; needs no system binary."""
        from ..draw.render import dfg_to_svg

        return dfg_to_svg(self, view=view, width=width)

    def to_pm4py(self) -> tuple[dict[tuple[str, str], int], dict[str, int], dict[str, int]]:
        """The (dfg, start_activities, end_activities) triple of `pm4py.discover_dfg`."""
        _require_pm4py()
        dfg = dict(
            zip(
                zip(self.edges["source"], self.edges["target"], strict=True),
                self.edges["count"],
                strict=True,
            )
        )
        return dfg, counts_dict(self.start), counts_dict(self.end)

    def to_pm4py_performance(
        self,
    ) -> tuple[dict[tuple[str, str], dict[str, float]], dict[str, int], dict[str, int]]:
        """The triple of `pm4py.discover_performance_dfg(perf_aggregation_key="all")`.

        As in pm4py, the stdev of an edge seen once is NaN here (null in `edges`).
        """
        _require_pm4py()
        measures = self.edges.select(
            "mean", "median", "max", "min", "sum", pl.col("stdev").fill_null(float("nan"))
        )
        keys = zip(self.edges["source"], self.edges["target"], strict=True)
        perf = dict(zip(keys, measures.to_dicts(), strict=True))
        return perf, counts_dict(self.start), counts_dict(self.end)


EDGE_SCHEMA: dict[str, Any] = {
    "source": pl.String,
    "target": pl.String,
    "count": pl.Int64,
    "mean": pl.Float64,
    "median": pl.Float64,
    "min": pl.Float64,
    "max": pl.Float64,
    "stdev": pl.Float64,
    "sum": pl.Float64,
}


SERVICE_SCHEMA: dict[str, Any] = {
    "activity": pl.String,
    "count": pl.Int64,
    "mean": pl.Float64,
    "median": pl.Float64,
    "min": pl.Float64,
    "max": pl.Float64,
    "sum": pl.Float64,
}


# -- variants -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Variants:
    """Distinct activity sequences, most frequent first, and the variant of every case."""

    frame: pl.DataFrame  # variant, activities, count, share, representative, durations
    cases: pl.DataFrame  # case_id, variant: each case inherits its variant's results

    def to_dicts(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per variant, in order (count desc, then activities)."""
        return self.frame.to_dicts()

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """JSON-ready: {"n_cases": n, "n_variants": k, "variants": [row, ...]}, the first
        `limit` variants only when given (only those become Python objects)."""
        frame = self.frame if limit is None else self.frame.head(limit)
        return {
            # Every case is in one variant: the counts add up to the cases (also when the
            # per-case table was not kept, as in a discovery over partitions without it).
            "n_cases": int(self.frame.get_column("count").sum()),
            "n_variants": self.frame.height,
            "variants": frame.to_dicts(),
        }

    def to_pm4py(self) -> dict[tuple[str, ...], int]:
        """The {activity tuple: count} dict of `pm4py.get_variants`."""
        _require_pm4py()
        keys = (tuple(a) for a in self.frame["activities"])
        return dict(zip(keys, self.frame["count"], strict=True))


VARIANT_SCHEMA: dict[str, Any] = {
    "variant": pl.Int64,
    "activities": pl.List(pl.String),
    "count": pl.Int64,
    "share": pl.Float64,
    "representative": pl.String,
    "mean_duration": pl.Float64,
    "median_duration": pl.Float64,
}


# -- everything at once -------------------------------------------------------------------
@dataclass(frozen=True)
class Discovery:
    """The directly-follows graph, variants and journey statistics of one log (and, for an
    interval log, each touchpoint's service time)."""

    dfg: DFG
    variants: Variants
    stats: JourneyStats
    service_times: pl.DataFrame | None = None  # activity, count, mean, median, min, max, sum

    def to_dict(self, *, lazy_rows: bool = False) -> dict[str, Any]:
        """JSON-ready: {"dfg": {...}, "variants": [...], "stats": {...}}, plus
        "service_times": [row, ...] for an interval log. `lazy_rows`: the variants as a
        `FrameRows`, made into dicts a slice at a time by `json_rows.write_json`."""
        data = {
            "dfg": self.dfg.to_dict(),
            "variants": FrameRows(self.variants.frame) if lazy_rows else self.variants.to_dicts(),
            "stats": self.stats.to_dict(),
        }
        if self.service_times is not None:
            data["service_times"] = self.service_times.to_dicts()
        return data


# -- helpers ------------------------------------------------------------------------------
def activity_counts(names: pl.Series, counts: np.ndarray) -> pl.DataFrame:
    return (
        pl.DataFrame(
            {"activity": names, "count": counts},
            schema={"activity": pl.String, "count": pl.Int64},
        )
        .filter(pl.col("count") > 0)
        .sort(["count", "activity"], descending=[True, False])
    )


def counts_dict(frame: pl.DataFrame) -> dict[str, int]:
    return dict(zip(frame["activity"], frame["count"], strict=True))


def _require_pm4py() -> None:
    if importlib.util.find_spec("pm4py") is None:
        raise ImportError(
            "pm4py is not installed; install the extra: pip install 'journeyminer[pm4py]'"
        )
