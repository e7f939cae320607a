"""What the comparison means for the business: funnel, leaks, time frames, rules, segments.

Every function here aggregates the per-journey frame of `miner.compare.comparison` (one row per journey)
with polars, optionally split by grouping columns (`by`, e.g. ["segment"]). Definitions:

- funnel, per phase in journey order: `reached` = journeys whose furthest phase is this one
  or a later one; `converted`, `closed` among those; `dropped` / `in_progress` = journeys
  whose last mapped touchpoint lies in this phase; drop_rate = dropped / closed.
- leak point = (last touchpoint, phase of the last mapped touchpoint) of dropped journeys.
  `pass_conversion`: conversion of the closed journeys that passed the same touchpoint and did
  not leave there: what a leaked journey gave up (its conversion gap; a leaked journey
  converts 0). `value_at_risk` = sum over the leaked journeys of (their own value, or the mean
  value of converted journeys when they have none) x pass_conversion; `conversions_lost` =
  journeys x pass_conversion.
- conversions_lost is an expected count (journeys x pass conversion), so a fraction; people
  read it rounded to whole journeys (the page, the CLI).

What to fix first is in `miner.compare.priorities`, effort before success in `miner.compare.effort`, the satisfaction curve in `miner.compare.satisfaction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..arrays import list_series
from ..log import CASE


def funnel_by_phase(cases: pl.DataFrame, phases: list[str], by: list[str]) -> pl.DataFrame:
    """Reached, converted, closed, dropped and in progress per phase (module docstring)."""
    index = {p: i for i, p in enumerate(phases)}
    c = cases.select(
        *by,
        pl.col("furthest_phase").replace_strict(index, default=-1, return_dtype=pl.Int64),
        pl.col("last_phase").replace_strict(index, default=-1, return_dtype=pl.Int64),
        "converted",
        "in_progress",
        "dropped",
    )
    parts = []
    for i, phase in enumerate(phases):
        reached = pl.col("furthest_phase") >= i
        aggs = [
            pl.lit(phase).alias("phase"),
            reached.sum().alias("reached"),
            (reached & pl.col("converted")).sum().alias("converted"),
            (reached & ~pl.col("in_progress")).sum().alias("closed"),
            (pl.col("dropped") & (pl.col("last_phase") == i)).sum().alias("dropped"),
            (pl.col("in_progress") & (pl.col("last_phase") == i)).sum().alias("in_progress"),
        ]
        parts.append(c.group_by(by, maintain_order=True).agg(aggs) if by else c.select(aggs))
    schema: dict[str, Any] = {**{b: cases.schema[b] for b in by}, "phase": pl.String}
    out = pl.concat([pl.DataFrame(schema=schema | _COUNTS), *[_counts(p) for p in parts]])
    if by:
        out = out.sort(by, maintain_order=True, nulls_last=True)
    return out.with_columns(
        _rate("dropped", "closed").alias("drop_rate"),
        _rate("converted", "closed").alias("conversion_rate"),
    )


def funnel_counts(
    phases: list[str],
    furthest: np.ndarray,
    last: np.ndarray,
    converted: np.ndarray,
    in_progress: np.ndarray,
    dropped: np.ndarray,
) -> pl.DataFrame:
    """`funnel_by_phase(cases, phases, [])` from per-journey numpy arrays: furthest and last
    phase as positions in `phases` (int, -1: none), converted, in_progress, dropped (bool)."""
    n = len(phases)
    # One histogram per (phase + 1, converted, closed) and per (phase + 1, dropped, in progress).
    at = np.bincount(
        (furthest + 1) * 4 + converted * 2 + ~in_progress, minlength=4 * (n + 1)
    ).reshape(-1, 4)[1:]
    ends = np.bincount((last + 1) * 4 + dropped * 2 + in_progress, minlength=4 * (n + 1))
    ends = ends.reshape(-1, 4)[1:]

    def reached(per_phase: np.ndarray) -> np.ndarray:  # journeys whose furthest phase >= i
        return np.cumsum(per_phase[::-1])[::-1]

    counts = {
        "reached": reached(at.sum(axis=1)),
        "converted": reached(at[:, 2] + at[:, 3]),
        "closed": reached(at[:, 1] + at[:, 3]),
        "dropped": ends[:, 2] + ends[:, 3],
        "in_progress": ends[:, 1] + ends[:, 3],
    }
    out = pl.DataFrame(
        {"phase": phases, **{c: v[:n].astype(np.int64) for c, v in counts.items()}},
        schema={"phase": pl.String, **_COUNTS},
    )
    return out.with_columns(
        _rate("dropped", "closed").alias("drop_rate"),
        _rate("converted", "closed").alias("conversion_rate"),
    )


_COUNTS = {k: pl.Int64 for k in ("reached", "converted", "closed", "dropped", "in_progress")}


def _counts(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(k).cast(pl.Int64) for k in _COUNTS)


def _rate(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))


def leak_points(
    cases: pl.DataFrame,
    variant_acts: pl.DataFrame,
    mean_value: float | None,
    by: list[str],
    *,
    examples: int = 3,
    through: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Leak points of dropped journeys with volume, shares and value at risk (module docstring).

    `through` (without `by` only): touchpoint, through, conv: closed journeys that show the
    touchpoint and the converted among them, when the caller has them already; touchpoints
    no closed journey shows are left out.
    """
    # Only the columns each part needs; a dropped journey is closed.
    closed = cases.select(*by, "variant", "converted", "dropped").filter(
        ~cases.get_column("in_progress")
    )
    dropped = cases.select(*by, CASE, "leak_touchpoint", "leak_phase", "value").filter(
        cases.get_column("dropped") & ~cases.get_column("in_progress")
    )
    through = (
        through
        if through is not None and not by
        else closed.group_by([*by, "variant"])
        .agg(pl.len().alias("n"), pl.col("converted").sum().alias("conv"))
        .join(variant_acts, on="variant")
        .group_by([*by, "activity"])
        .agg(pl.col("n").sum().alias("through"), pl.col("conv").sum().alias("conv"))
        .rename({"activity": "touchpoint"})
    )
    totals = (
        closed.group_by(by).agg(
            pl.len().alias("_closed"), pl.col("dropped").sum().alias("_dropped")
        )
        if by
        else closed.select(pl.len().alias("_closed"), pl.col("dropped").sum().alias("_dropped"))
    )
    value = pl.col("value")
    fill = pl.lit(mean_value, dtype=pl.Float64)
    leaks = (
        dropped.group_by([*by, "leak_touchpoint", "leak_phase"], maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("journeys"),
            (value.sum() + value.null_count() * fill).alias("_value"),
            pl.col(CASE).head(examples).alias("examples"),
        )
        .rename({"leak_touchpoint": "touchpoint", "leak_phase": "phase"})
    )
    return _rank_leaks(leaks, through, totals, by)


def leak_points_of(
    case: np.ndarray,
    key: np.ndarray,
    names: pl.DataFrame,
    value: pl.Series,
    case_ids: pl.Series,
    mean_value: float | None,
    closed: int,
    through: pl.DataFrame,
    *,
    examples: int = 3,
) -> pl.DataFrame:
    """`leak_points(cases, ..., [], through=through)` from the dropped journeys alone.

    case: int64[d], the dropped journeys (ascending indexes into `case_ids`); key: int64[d], an
    id of each one's (touchpoint, phase); names: _key, touchpoint, phase for every id; value:
    Float64[d] (null: none); closed: closed journeys in all.
    """
    fill = pl.lit(mean_value, dtype=pl.Float64)
    dropped = pl.DataFrame({"_key": key, "value": value, "_case": case})
    leaks = dropped.group_by("_key", maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("journeys"),
        (pl.col("value").sum() + pl.col("value").null_count() * fill).alias("_value"),
        pl.col("_case").head(examples).alias("examples"),
    )
    rows = leaks.get_column("examples")
    offsets = np.zeros(leaks.height + 1, dtype=np.int64)
    np.cumsum(rows.list.len().to_numpy(), out=offsets[1:])
    leaks = leaks.with_columns(
        list_series(offsets, case_ids.gather(rows.explode())).alias("examples")
    )
    leaks = leaks.join(names, on="_key", how="left", maintain_order="left").select(
        "touchpoint", "phase", "journeys", "_value", "examples"
    )
    totals = pl.DataFrame(
        {"_closed": [closed], "_dropped": [key.size]},
        schema={"_closed": pl.UInt32, "_dropped": pl.UInt32},
    )
    return _rank_leaks(leaks, through, totals, [])


def _rank_leaks(
    leaks: pl.DataFrame, through: pl.DataFrame, totals: pl.DataFrame, by: list[str]
) -> pl.DataFrame:
    # Leak points (by..., touchpoint, phase, journeys, _value, examples) with their through
    # counts and the closed/dropped totals: shares, pass conversion, value at risk, ranks.
    # Journeys without a segment value (null) are a group too: their keys must meet.
    leaks = leaks.join(through, on=[*by, "touchpoint"], how="left", nulls_equal=True)
    leaks = (
        leaks.join(totals, on=by, how="left", nulls_equal=True)
        if by
        else leaks.join(totals, how="cross")
    )
    passing = pl.col("through") - pl.col("journeys")
    pass_conversion = pl.when(passing > 0).then(pl.col("conv") / passing)
    out = leaks.with_columns(
        (pl.col("journeys") / pl.col("_closed")).alias("share_of_closed"),
        (pl.col("journeys") / pl.col("_dropped")).alias("share_of_dropped"),
        pass_conversion.alias("pass_conversion"),
        (pl.col("journeys") * pass_conversion).alias("conversions_lost"),
        (pl.col("_value") * pass_conversion).alias("value_at_risk"),
    ).sort([*by, "journeys", "touchpoint"], descending=[*[False] * len(by), True, False])
    rank = pl.col("value_at_risk").rank("ordinal", descending=True)
    return out.select(
        *by,
        "touchpoint",
        "phase",
        "journeys",
        "share_of_closed",
        "share_of_dropped",
        "pass_conversion",
        "conversions_lost",
        "value_at_risk",
        (pl.int_range(1, pl.len() + 1).over(by) if by else pl.int_range(1, pl.len() + 1))
        .cast(pl.Int64)
        .alias("rank_volume"),
        (rank.over(by) if by else rank).cast(pl.Int64).alias("rank_value"),
        "examples",
    )


def time_frames_summary(windows: pl.DataFrame, specs: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Per designed time frame: applicable, measured, breached, overdue, breach rate, duration."""
    aggs = [
        pl.len().cast(pl.Int64).alias("applicable"),
        pl.col("measured").sum().cast(pl.Int64).alias("measured"),
        pl.col("breached").sum().cast(pl.Int64).alias("breached"),
        pl.col("overdue").sum().cast(pl.Int64).alias("overdue"),
        pl.col("duration_s").median().alias("median_s"),
        pl.col("duration_s").quantile(0.9, "linear").alias("p90_s"),
    ]
    got = windows.group_by([*by, "frame"]).agg(aggs)
    keys = specs.join(got.select(by).unique(), how="cross") if by else specs
    out = keys.join(got, on=[*by, "frame"], how="left", nulls_equal=True).with_columns(
        pl.col(c).fill_null(0) for c in ("applicable", "measured", "breached", "overdue")
    )
    out = out.with_columns(_rate("breached", "measured").alias("breach_rate"))
    return out.sort(by, maintain_order=True, nulls_last=True) if by else out


def rules_summary(rules: pl.DataFrame, specs: pl.DataFrame) -> pl.DataFrame:
    """Per rule: journeys it applies to, journeys breaching it, breach rate, breaches in all."""
    got = rules.group_by("rule").agg(
        pl.len().cast(pl.Int64).alias("applicable"),
        (pl.col("breaches") > 0).sum().cast(pl.Int64).alias("breached"),
        pl.col("breaches").sum().cast(pl.Int64).alias("occurrences"),
    )
    return (
        specs.join(got, on="rule", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in ("applicable", "breached", "occurrences"))
        .with_columns(_rate("breached", "applicable").alias("breach_rate"))
    )


@dataclass(frozen=True)
class SegmentSplit:
    """The headline numbers per segment value: fitness, conversion, funnel, leaks, time frames."""

    attribute: str
    headline: pl.DataFrame  # segment, journeys, closed, converted, ..., fitness_cases
    funnel: pl.DataFrame
    leaks: pl.DataFrame
    time_frames: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"attribute", "headline", "funnel", "leaks", "time_frames"}."""
        return {
            "attribute": self.attribute,
            "headline": self.headline.to_dicts(),
            "funnel": self.funnel.to_dicts(),
            "leaks": self.leaks.to_dicts(),
            "time_frames": self.time_frames.to_dicts(),
        }


def segment_split(
    attribute: str,
    cases: pl.DataFrame,
    windows: pl.DataFrame,
    frame_specs: pl.DataFrame,
    variant_acts: pl.DataFrame,
    phases: list[str],
    mean_value: float | None,
) -> SegmentSplit:
    """Headline numbers, funnel, leaks and time-frame breach rates per value of `segment`."""
    by = ["segment"]
    n_events = pl.col("n_events")
    headline = (
        cases.group_by(by)
        .agg(
            pl.len().cast(pl.Int64).alias("journeys"),
            (~pl.col("in_progress")).sum().cast(pl.Int64).alias("closed"),
            pl.col("in_progress").sum().cast(pl.Int64).alias("in_progress"),
            pl.col("converted").sum().cast(pl.Int64).alias("converted"),
            pl.col("dropped").sum().cast(pl.Int64).alias("dropped"),
            pl.col("fits").sum().cast(pl.Int64).alias("fitting"),
            n_events.sum().cast(pl.Int64).alias("events"),
            n_events.filter(pl.col("fits")).sum().cast(pl.Int64).alias("fitting_events"),
        )
        .sort(by, nulls_last=True)
        .with_columns(
            _rate("converted", "closed").alias("conversion_rate"),
            (pl.col("fitting") / pl.col("journeys")).alias("fitness_cases"),
            _rate("fitting_events", "events").alias("fitness_events"),
        )
    )
    return SegmentSplit(
        attribute=attribute,
        headline=headline,
        funnel=funnel_by_phase(cases, phases, by),
        leaks=leak_points(cases, variant_acts, mean_value, by),
        time_frames=time_frames_summary(windows, frame_specs, by),
    )
