"""The satisfaction (emotion) curve of the journeys, from a numeric score on their events.

Mean score per touchpoint and phase; a dip is a touchpoint whose mean lies below the mean of
the previous phase that has scores; peak and end are per journey (its highest and its last
score), averaged over the journeys with scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..errors import InputError
from ..log import ACTIVITY, CASE
from ..maps.designed import DesignedMap


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
    ev = scored_events(frame, score)
    return None if ev is None else curve_of(ev, designed)


def scored_events(frame: pl.DataFrame, score: str | None) -> pl.DataFrame | None:
    """The events of `frame` with a score, in log order: case_id, activity, score (float);
    None without the score attribute. Those of a log's partitions, sorted stably by case id,
    are the whole log's."""
    got = scored_rows(frame, score)
    if got is None:
        return None
    rows, scores = got
    return pl.DataFrame(
        [frame.get_column(CASE).gather(rows), frame.get_column(ACTIVITY).gather(rows), scores]
    )


def scored_rows(frame: pl.DataFrame, score: str | None) -> tuple[np.ndarray, pl.Series] | None:
    """The rows of `frame` whose `score` is set (int64, ascending) and those scores (Float64,
    named "score"); None without the score attribute, an error when it is not numeric."""
    if score is None or score not in frame.columns:
        return None
    if not frame.schema[score].is_numeric():
        raise InputError(
            f"the score attribute {score!r} is not numeric",
            column=score,
            expected="a numeric column such as csat or nps",
            found=str(frame.schema[score]),
        )
    values = frame.get_column(score).cast(pl.Float64).alias("score")
    kept = (values.is_not_null() & values.is_not_nan()).fill_null(False)
    return kept.arg_true().to_numpy().astype(np.int64), values.filter(kept)


def curve_of(ev: pl.DataFrame, designed: DesignedMap) -> Satisfaction | None:
    """The curve from the scored events (`scored_events`); None when there are none."""
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
    # The log is sorted by case, so each journey's scores are one run: group on its number.
    journeys = (
        ev.select(pl.col(CASE).rle_id(), "score")
        .group_by(CASE, maintain_order=True)
        .agg(pl.col("score").max().alias("peak"), pl.col("score").last().alias("end"))
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
