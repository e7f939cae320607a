"""What the comparison means for the business: funnel, leaks, effort, satisfaction, priorities.

Every function here aggregates the per-journey frame of `miner.compare` (one row per journey)
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
- effort before success: events before the first goal event and channel switches among
  them, for converted journeys; conversion of closed journeys by contacts (events before the
  goal, or all events when not converted) and by channel switches (likewise).
- satisfaction: mean score per touchpoint and phase; a dip is a touchpoint whose mean lies
  below the mean of the previous phase that has scores; peak and end are per journey (its
  highest and its last score), averaged over the journeys with scores.
- priorities: each deviation (type, touchpoint, from, to, phase) and each leak point, ranked
  by impact = closed journeys x conversion gap x mean value of converted journeys (x 1 when
  the log carries no value). A deviation's gap is the conversion of closed journeys without
  it minus with it, so a negative impact marks a deviation that converts better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from .designed import DesignedMap
from .errors import InputError
from .log import ACTIVITY, CASE

CONTACTS_CAP = 20
SWITCHES_CAP = 10


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
        .join(through, on=[*by, "touchpoint"], how="left")
    )
    leaks = leaks.join(totals, on=by, how="left") if by else leaks.join(totals, how="cross")
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
    out = keys.join(got, on=[*by, "frame"], how="left").with_columns(
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
class Effort:
    """Effort before success, and conversion by contacts and by channel switches."""

    summary: pl.DataFrame  # measure, journeys, mean, median, p90, max (converted journeys)
    by_contacts: pl.DataFrame  # contacts, or_more, journeys, converted, conversion_rate
    by_channel_switches: pl.DataFrame  # channel_switches, or_more, journeys, converted, rate

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"summary": [...], "by_contacts": [...], "by_channel_switches": [...]}."""
        return {
            "summary": self.summary.to_dicts(),
            "by_contacts": self.by_contacts.to_dicts(),
            "by_channel_switches": self.by_channel_switches.to_dicts(),
        }


def effort_before_goal(cases: pl.DataFrame) -> Effort:
    """Touchpoints and channel switches before the goal; conversion by contacts and switches."""
    cases = cases.select(
        "converted",
        "in_progress",
        "goal_position",
        "n_events",
        "switches_before_goal",
        "channel_switches",
    )
    converted = cases.filter(pl.col("converted"))
    summary = pl.concat(
        [
            converted.select(
                pl.lit(measure).alias("measure"),
                pl.col(column).count().cast(pl.Int64).alias("journeys"),
                pl.col(column).mean().alias("mean"),
                pl.col(column).median().cast(pl.Float64).alias("median"),
                pl.col(column).quantile(0.9, "linear").alias("p90"),
                pl.col(column).max().cast(pl.Int64).alias("max"),
            )
            for measure, column in (
                ("touchpoints_before_goal", "goal_position"),
                ("channel_switches_before_goal", "switches_before_goal"),
            )
        ]
    )
    closed = cases.filter(~pl.col("in_progress"))
    contacts = pl.coalesce("goal_position", "n_events")
    switches = pl.coalesce("switches_before_goal", "channel_switches")
    return Effort(
        summary=summary,
        by_contacts=_by_count(closed, contacts, "contacts", CONTACTS_CAP),
        by_channel_switches=_by_count(closed, switches, "channel_switches", SWITCHES_CAP),
    )


def _by_count(closed: pl.DataFrame, value: pl.Expr, name: str, cap: int) -> pl.DataFrame:
    return (
        closed.group_by(pl.min_horizontal(value, pl.lit(cap)).cast(pl.Int64).alias(name))
        .agg(
            pl.len().cast(pl.Int64).alias("journeys"),
            pl.col("converted").sum().cast(pl.Int64).alias("converted"),
        )
        .sort(name)
        .select(
            name,
            (pl.col(name) == cap).alias("or_more"),
            "journeys",
            "converted",
            (pl.col("converted") / pl.col("journeys")).alias("conversion_rate"),
        )
    )


@dataclass(frozen=True)
class Satisfaction:
    """The emotion curve: mean score per touchpoint and phase, dips, peak and end."""

    touchpoints: pl.DataFrame  # touchpoint, phase, scores, mean, previous_phase_mean, dip
    phases: pl.DataFrame  # phase, scores, mean
    summary: dict[str, Any]  # journeys_scored, mean, peak/low touchpoint, mean_peak, mean_end

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"touchpoints": [...], "phases": [...], **summary}."""
        return {
            "touchpoints": self.touchpoints.to_dicts(),
            "phases": self.phases.to_dicts(),
            **self.summary,
        }


def satisfaction_curve(
    frame: pl.DataFrame, designed: DesignedMap, score: str | None
) -> Satisfaction | None:
    """Satisfaction along the journey from a numeric score on events; None without scores."""
    if score is None or score not in frame.columns:
        return None
    if not frame.schema[score].is_numeric():
        raise InputError(
            f"the score attribute {score!r} is not numeric",
            column=score,
            expected="a numeric column such as csat or nps",
            found=str(frame.schema[score]),
        )
    ev = frame.select(CASE, ACTIVITY, pl.col(score).cast(pl.Float64).alias("score")).filter(
        pl.col("score").is_not_null() & pl.col("score").is_not_nan()
    )
    if ev.height == 0:
        return None
    phase_of = {t.id: t.phase for t in designed.touchpoints}
    phase_rank = {p.id: i for i, p in enumerate(designed.phases)}
    tp_rank = {t.id: i for i, t in enumerate(designed.touchpoints)}
    ev = ev.with_columns(
        pl.col(ACTIVITY)
        .replace_strict(phase_of, default=None, return_dtype=pl.String)
        .alias("phase")
    )
    phases = (
        ev.filter(pl.col("phase").is_not_null())
        .group_by("phase")
        .agg(pl.len().cast(pl.Int64).alias("scores"), pl.col("score").mean().alias("mean"))
        .sort(pl.col("phase").replace_strict(phase_rank, return_dtype=pl.Int64))
    )
    previous: dict[str, float] = {}
    last = None
    for phase in designed.phases:  # the mean of the previous phase that has scores
        if last is not None:
            previous[phase.id] = last
        got = phases.filter(pl.col("phase") == phase.id)
        if got.height:
            last = got.item(0, "mean")
    touchpoints = (
        ev.group_by(ACTIVITY, "phase")
        .agg(pl.len().cast(pl.Int64).alias("scores"), pl.col("score").mean().alias("mean"))
        .rename({ACTIVITY: "touchpoint"})
        .with_columns(
            pl.col("phase")
            .replace_strict(previous, default=None, return_dtype=pl.Float64)
            .alias("previous_phase_mean"),
        )
        .with_columns(
            pl.col("mean").lt(pl.col("previous_phase_mean")).fill_null(False).alias("dip")
        )
        .sort(
            pl.col("phase").replace_strict(phase_rank, default=None, return_dtype=pl.Int64),
            pl.col("touchpoint").replace_strict(tp_rank, default=None, return_dtype=pl.Int64),
            "touchpoint",
            nulls_last=True,
        )
    )
    journeys = ev.group_by(CASE).agg(
        pl.col("score").max().alias("peak"), pl.col("score").last().alias("end")
    )
    best = touchpoints.sort("mean", "touchpoint", descending=[True, False]).row(0, named=True)
    worst = touchpoints.sort("mean", "touchpoint").row(0, named=True)
    return Satisfaction(
        touchpoints=touchpoints,
        phases=phases,
        summary={
            "journeys_scored": journeys.height,
            "mean": ev.get_column("score").mean(),
            "peak_touchpoint": best["touchpoint"],
            "peak_mean": best["mean"],
            "low_touchpoint": worst["touchpoint"],
            "low_mean": worst["mean"],
            "mean_peak": journeys.get_column("peak").mean(),
            "mean_end": journeys.get_column("end").mean(),
        },
    )


_KEY = ["type", "touchpoint", "from", "to", "phase"]


def priorities(
    cases: pl.DataFrame,
    deviations: pl.DataFrame,
    leaks: pl.DataFrame,
    mean_value: float | None,
    *,
    examples: int = 3,
) -> pl.DataFrame:
    """Deviations and leak points ranked by impact, each with its evidence (module docstring)."""
    closed = cases.select("converted", "in_progress").filter(~pl.col("in_progress"))
    grouped = (
        deviations.filter(pl.col("type") != "drop_off")
        .join(cases.select(CASE, "converted", "in_progress"), on=CASE, how="left")
        .group_by(_KEY, maintain_order=True)
        .agg(
            pl.col(CASE).n_unique().cast(pl.Int64).alias("journeys"),
            (~pl.col("in_progress")).sum().cast(pl.Int64).alias("closed"),
            (pl.col("converted") & ~pl.col("in_progress")).sum().cast(pl.Int64).alias("converted"),
            pl.col(CASE).head(examples).alias("examples"),
        )
    )
    total_converted = int(closed.get_column("converted").sum())
    return rank_priorities(grouped, leaks, mean_value, closed.height, total_converted)


def rank_priorities(
    grouped: pl.DataFrame,
    leaks: pl.DataFrame,
    mean_value: float | None,
    total_closed: int,
    total_converted: int,
) -> pl.DataFrame:
    """`priorities` from the deviations grouped by (type, touchpoint, from, to, phase) in order
    of first appearance (journeys, closed, converted, examples per group) and the leak points."""
    value = pl.lit(mean_value if mean_value is not None else 1.0, dtype=pl.Float64)
    with_ = pl.col("converted") / pl.col("closed")
    without = (total_converted - pl.col("converted")) / (total_closed - pl.col("closed"))
    devs = (
        grouped.with_columns(
            pl.when(pl.col("closed") > 0).then(with_).alias("conversion_rate"),
            pl.when(pl.col("closed") < total_closed).then(without).alias("baseline_rate"),
        )
        .with_columns((pl.col("baseline_rate") - pl.col("conversion_rate")).alias("conversion_gap"))
        .select(
            pl.lit("deviation").alias("kind"),
            *_KEY,
            pl.concat_str(
                pl.col("type").str.replace_all("_", " "),
                pl.lit(": "),
                pl.coalesce(
                    pl.concat_str(
                        pl.col("touchpoint"),
                        pl.lit(" ("),
                        "from",
                        pl.lit(" -> "),
                        "to",
                        pl.lit(")"),
                    ),
                    "touchpoint",
                    pl.concat_str("from", pl.lit(" -> "), "to"),
                    pl.concat_str(pl.lit("phase "), "phase"),
                ),
            ).alias("title"),
            "journeys",
            "closed",
            "converted",
            "conversion_rate",
            "baseline_rate",
            "conversion_gap",
            (pl.col("closed") * pl.col("conversion_gap") * value).alias("impact"),
            "examples",
        )
    )
    leak_rows = leaks.select(
        pl.lit("leak").alias("kind"),
        pl.lit("drop_off").alias("type"),
        "touchpoint",
        pl.lit(None, dtype=pl.String).alias("from"),
        pl.lit(None, dtype=pl.String).alias("to"),
        "phase",
        pl.concat_str(
            pl.lit("leak at "),
            "touchpoint",
            pl.lit(" ("),
            pl.col("phase").fill_null("no phase"),
            pl.lit(")"),
        ).alias("title"),
        "journeys",
        pl.col("journeys").alias("closed"),
        pl.lit(0, dtype=pl.Int64).alias("converted"),
        pl.lit(0.0).alias("conversion_rate"),
        pl.col("pass_conversion").alias("baseline_rate"),
        pl.col("pass_conversion").alias("conversion_gap"),
        (pl.col("value_at_risk") if mean_value is not None else pl.col("conversions_lost")).alias(
            "impact"
        ),
        "examples",
    )
    both = pl.concat([devs, leak_rows], how="vertical_relaxed")
    return both.sort(
        ["impact", "journeys", "title"], descending=[True, True, False], nulls_last=True
    ).select(pl.int_range(1, pl.len() + 1).cast(pl.Int64).alias("rank"), pl.all())


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
