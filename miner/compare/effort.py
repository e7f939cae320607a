"""Effort before success: how many touchpoints and channel switches a conversion takes.

For converted journeys: the events before the first goal event and the channel switches among
them (mean, median, p90, max). For closed journeys: conversion by contacts (events before the
goal, or all events when not converted) and by channel switches (likewise), capped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

CONTACTS_CAP = 20
SWITCHES_CAP = 10


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
    summary = pl.concat([_effort_row(converted, measure, column) for measure, column in _EFFORT])
    closed = cases.filter(~pl.col("in_progress"))
    contacts = pl.coalesce("goal_position", "n_events")
    switches = pl.coalesce("switches_before_goal", "channel_switches")
    return Effort(
        summary=summary,
        by_contacts=_by_count(closed, contacts, "contacts", CONTACTS_CAP),
        by_channel_switches=_by_count(closed, switches, "channel_switches", SWITCHES_CAP),
    )


def effort_counts(
    converted: np.ndarray,
    in_progress: np.ndarray,
    goal: np.ndarray,
    n_events: np.ndarray,
    before: np.ndarray,
    switches: np.ndarray,
) -> Effort:
    """`effort_before_goal(cases)` from per-journey numpy arrays [n_cases]: converted and
    in_progress (bool), goal position, events, channel switches before the goal and in all
    (int; goal and before are read for converted journeys only)."""
    won = pl.DataFrame(
        {"goal_position": goal[converted], "switches_before_goal": before[converted]},
        schema={"goal_position": pl.Int64, "switches_before_goal": pl.Int64},
    )
    summary = pl.concat([_effort_row(won, measure, column) for measure, column in _EFFORT])
    closed = ~in_progress
    contacts = np.where(converted, goal, n_events)[closed]
    moves = np.where(converted, before, switches)[closed]
    won_closed = converted[closed]
    return Effort(
        summary=summary,
        by_contacts=_histogram(contacts, won_closed, "contacts", CONTACTS_CAP),
        by_channel_switches=_histogram(moves, won_closed, "channel_switches", SWITCHES_CAP),
    )


_EFFORT = (
    ("touchpoints_before_goal", "goal_position"),
    ("channel_switches_before_goal", "switches_before_goal"),
)


def _effort_row(converted: pl.DataFrame, measure: str, column: str) -> pl.DataFrame:
    return converted.select(
        pl.lit(measure).alias("measure"),
        pl.col(column).count().cast(pl.Int64).alias("journeys"),
        pl.col(column).mean().alias("mean"),
        pl.col(column).median().cast(pl.Float64).alias("median"),
        pl.col(column).quantile(0.9, "linear").alias("p90"),
        pl.col(column).max().cast(pl.Int64).alias("max"),
    )


def _histogram(value: np.ndarray, won: np.ndarray, name: str, cap: int) -> pl.DataFrame:
    # `_by_count` on arrays: journeys and converted per min(value, cap), present values only.
    capped = np.minimum(value, cap)
    journeys = np.bincount(capped, minlength=cap + 1)
    converted = np.bincount(capped[won], minlength=cap + 1)
    shown = np.flatnonzero(journeys)
    return pl.DataFrame(
        {
            name: shown,
            "or_more": shown == cap,
            "journeys": journeys[shown],
            "converted": converted[shown],
            "conversion_rate": converted[shown] / journeys[shown],
        },
        schema={name: pl.Int64, "or_more": pl.Boolean, "journeys": pl.Int64}
        | {"converted": pl.Int64, "conversion_rate": pl.Float64},
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
