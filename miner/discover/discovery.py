"""Discovery: the directly-follows graph, the variants and the journey statistics of a log.

Durations are float64 seconds, computed from exact integer microseconds. The numbers equal
pm4py's `discover_dfg`, `discover_performance_dfg` (aggregation "all") and `get_variants`
on the same log: stdev is the sample standard deviation (ddof=1), null for an edge seen
once (pm4py gives NaN there); an even count's median is the mean of the two middle values.
All heavy work runs in `journeyminer.kernels`; the rest is polars, never a Python loop
over events or cases.

Interval logs (a `start_timestamp` column) are measured as pm4py measures them on such a
frame: an edge (a, b) joins events consecutive by start time and lasts from a's complete
time to b's start time (negative where they overlap); each touchpoint's own duration
(complete minus start) is its service time.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ...kernels.dfg import (
    duration_stats,
    edge_durations,
    interval_edge_durations,
    service_times,
    start_end_counts,
)
from ...kernels.stats import case_durations
from ...kernels.variants import case_variants, variant_order
from ..arrays import activity_names, first_case_ids, list_series
from ..log import CASE, EncodedLog, EventLog
from .journey_stats import JourneyStats, summarise_journeys

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
            "start": _counts_dict(self.start),
            "end": _counts_dict(self.end),
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
        return dfg, _counts_dict(self.start), _counts_dict(self.end)

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
        return perf, _counts_dict(self.start), _counts_dict(self.end)


def discover_dfg(log: EventLog) -> DFG:
    """Directly-follows graph of `log`: each consecutive pair of a case counts once."""
    enc = log.encoded
    names = activity_names(enc)
    if enc.start is not None:
        src, dst, bounds, durations = interval_edge_durations(
            enc.offsets, enc.act, enc.ts, enc.start, len(names)
        )
    else:
        src, dst, bounds, durations = edge_durations(enc.offsets, enc.act, enc.ts, len(names))
    total, mean, median, stdev, lo, hi = duration_stats(bounds, durations)
    edges = pl.DataFrame(
        {
            "source": names.gather(src),
            "target": names.gather(dst),
            "count": np.diff(bounds),
            "mean": mean / US_PER_SECOND,
            "median": median / US_PER_SECOND,
            "min": lo / US_PER_SECOND,
            "max": hi / US_PER_SECOND,
            "stdev": pl.Series(stdev / US_PER_SECOND).fill_nan(None),
            "sum": total / US_PER_SECOND,
        },
        schema=EDGE_SCHEMA,
    )
    start, end = start_end_counts(enc.offsets, enc.act, len(names))
    return DFG(edges=edges, start=_activity_counts(names, start), end=_activity_counts(names, end))


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


# -- service times ------------------------------------------------------------------------
def discover_service_times(log: EventLog) -> pl.DataFrame | None:
    """Each touchpoint's own duration (complete minus start, seconds) in an interval log:
    activity, count, mean, median, min, max, sum; None when events have no start time."""
    enc = log.encoded
    if enc.start is None:
        return None
    names = activity_names(enc)
    act, bounds, durations = service_times(enc.act, enc.ts, enc.start, len(names))
    total, mean, median, _, lo, hi = duration_stats(bounds, durations)
    return pl.DataFrame(
        {
            "activity": names.gather(act),
            "count": np.diff(bounds),
            "mean": mean / US_PER_SECOND,
            "median": median / US_PER_SECOND,
            "min": lo / US_PER_SECOND,
            "max": hi / US_PER_SECOND,
            "sum": total / US_PER_SECOND,
        },
        schema=SERVICE_SCHEMA,
    )


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
            "n_cases": self.cases.height,
            "n_variants": self.frame.height,
            "variants": frame.to_dicts(),
        }

    def to_pm4py(self) -> dict[tuple[str, ...], int]:
        """The {activity tuple: count} dict of `pm4py.get_variants`."""
        _require_pm4py()
        keys = (tuple(a) for a in self.frame["activities"])
        return dict(zip(keys, self.frame["count"], strict=True))


def discover_variants(log: EventLog) -> Variants:
    """Variants of `log`: sorted by count desc, then by activity tuple; ids follow that order."""
    enc = log.encoded
    return _variants(enc, first_case_ids(log), case_durations(enc.offsets, enc.ts))


def _variants(enc: EncodedLog, case_ids: pl.Series, durations_us: np.ndarray) -> Variants:
    names = activity_names(enc)
    variant_of, count, rep, _ = case_variants(enc.offsets, enc.act)
    order = variant_order(enc.offsets, enc.act, count, rep)
    k = count.size
    new_id = np.empty(k, dtype=np.int64)
    new_id[order] = np.arange(k, dtype=np.int64)
    count, rep = count[order], rep[order]
    # The representative cases' events, laid end to end, become the activities list column.
    rep_len = np.diff(enc.offsets)[rep]
    list_offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(rep_len, out=list_offsets[1:])
    flat = np.repeat(enc.offsets[rep] - list_offsets[:-1], rep_len) + np.arange(
        list_offsets[-1], dtype=np.int64
    )
    activities = list_series(list_offsets, names.gather(enc.act[flat])).alias("activities")
    # Cases bucketed by variant, sorted by duration: the same exact mean and median as edges.
    case_variant = new_id[variant_of]
    by_variant = np.lexsort((durations_us, case_variant))
    bounds = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(count, out=bounds[1:])
    _, mean, median, _, _, _ = duration_stats(bounds, durations_us[by_variant])
    frame = pl.DataFrame(
        {
            "variant": np.arange(k, dtype=np.int64),
            "activities": activities,
            "count": count,
            "share": count / max(enc.n_cases, 1),
            "representative": case_ids.gather(rep),
            "mean_duration": mean / US_PER_SECOND,
            "median_duration": median / US_PER_SECOND,
        },
        schema=VARIANT_SCHEMA,
    )
    cases = pl.DataFrame(
        {CASE: case_ids, "variant": case_variant},
        schema={CASE: pl.String, "variant": pl.Int64},
    )
    return Variants(frame=frame, cases=cases)


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"dfg": {...}, "variants": [...], "stats": {...}}, plus
        "service_times": [row, ...] for an interval log."""
        data = {
            "dfg": self.dfg.to_dict(),
            "variants": self.variants.to_dicts(),
            "stats": self.stats.to_dict(),
        }
        if self.service_times is not None:
            data["service_times"] = self.service_times.to_dicts()
        return data


def discover(log: EventLog, *, top_ngrams: int = 20) -> Discovery:
    """Discover the DFG, the variants and the journey statistics of `log` in one pass of kernels."""
    enc = log.encoded
    case_ids = first_case_ids(log)
    durations = case_durations(enc.offsets, enc.ts)
    return Discovery(
        dfg=discover_dfg(log),
        variants=_variants(enc, case_ids, durations),
        stats=summarise_journeys(enc, case_ids, durations, top_ngrams, (2, 3)),
        service_times=discover_service_times(log),
    )


# -- helpers ------------------------------------------------------------------------------
def _activity_counts(names: pl.Series, counts: np.ndarray) -> pl.DataFrame:
    return (
        pl.DataFrame(
            {"activity": names, "count": counts},
            schema={"activity": pl.String, "count": pl.Int64},
        )
        .filter(pl.col("count") > 0)
        .sort(["count", "activity"], descending=[True, False])
    )


def _counts_dict(frame: pl.DataFrame) -> dict[str, int]:
    return dict(zip(frame["activity"], frame["count"], strict=True))


def _require_pm4py() -> None:
    if importlib.util.find_spec("pm4py") is None:
        raise ImportError(
            "pm4py is not installed; install the extra: pip install 'journeyminer[pm4py]'"
        )
