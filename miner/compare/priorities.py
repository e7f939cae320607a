"""What to fix first: deviations and leak points of a comparison ranked by what they cost.

Each deviation (type, touchpoint, from, to, phase) and each leak point, with
  impact = closed journeys x conversion gap x mean value of converted journeys (x 1 when
  the log carries no value); a leak's impact is its value at risk (or conversions lost). A
  deviation's gap is the conversion of closed journeys without it minus with it. Deviations
  about the very same journeys (an unexpected transition and the touchpoints it skips) are
  one item with several aspects. What costs (impact > 0) is ranked by impact; a deviation
  whose journeys convert better than the rest (impact < 0) "works better than designed" and
  is listed apart, by gain; one that every journey showed only after reaching the goal (a late
  delivery) converts by construction and is listed apart again, by journeys.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..log import CASE

_KEY = ["type", "touchpoint", "from", "to", "phase"]
#: Seed of the per-journey hash whose sum (mod 2**64) fingerprints a set of journeys.
JOURNEY_SET_SEED = 1_2024
# Which aspect leads an item that merges several: what the journeys did first, then its effects.
_ASPECT_ORDER = {
    "unknown_touchpoint": 0,
    "unexpected_transition": 1,
    "wrong_start": 2,
    "skipped_touchpoint": 3,
    "phase_regression": 4,
    "rework": 5,
    "time_frame_breach": 6,
    "rule_breach": 7,
}
ASPECT = pl.Struct(
    {
        "type": pl.String,
        "touchpoint": pl.String,
        "from": pl.String,
        "to": pl.String,
        "phase": pl.String,
        "subject": pl.String,
        "title": pl.String,
    }
)


def priorities(
    cases: pl.DataFrame,
    deviations: pl.DataFrame,
    leaks: pl.DataFrame,
    mean_value: float | None,
    *,
    examples: int = 3,
) -> Priorities:
    """Deviations and leak points ranked by impact, each with its evidence (module docstring)."""
    closed = cases.select("converted", "in_progress").filter(~pl.col("in_progress"))
    grouped = (
        deviations.filter(pl.col("type") != "drop_off")
        .join(cases.select(CASE, "converted", "in_progress", "goal_position"), on=CASE, how="left")
        .group_by(_KEY, maintain_order=True)
        .agg(
            pl.col(CASE).n_unique().cast(pl.Int64).alias("journeys"),
            # journeys, not rows: a journey can show one deviation twice (a rule breached again)
            pl.col(CASE).filter(~pl.col("in_progress")).n_unique().cast(pl.Int64).alias("closed"),
            pl.col(CASE)
            .filter(pl.col("converted") & ~pl.col("in_progress"))
            .n_unique()
            .cast(pl.Int64)
            .alias("converted"),
            pl.col(CASE).head(examples).alias("examples"),
            pl.col(CASE).unique().hash(JOURNEY_SET_SEED).sum().alias("journey_set"),
            (pl.col("position") > pl.col("goal_position"))
            .fill_null(False)
            .all()
            .alias("after_goal"),
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
) -> Priorities:
    """`priorities` from the deviations grouped by (type, touchpoint, from, to, phase) in order
    of first appearance (journeys, closed, converted, examples, journey_set, after_goal per
    group) and the leak points.

    Deviations about the very same journeys (same `journey_set`, the sum of their case ids'
    hashes) are one item; `aspects` lists them, the lead first. An impact of 0 or unknown (no
    closed journey without the deviation, nobody passing a leak point) is in no list.
    """
    value = pl.lit(mean_value if mean_value is not None else 1.0, dtype=pl.Float64)
    with_ = pl.col("converted") / pl.col("closed")
    without = (total_converted - pl.col("converted")) / (total_closed - pl.col("closed"))
    subject = pl.coalesce(
        pl.concat_str(
            pl.col("touchpoint"), pl.lit(" ("), "from", pl.lit(" -> "), "to", pl.lit(")")
        ),
        "touchpoint",
        pl.concat_str("from", pl.lit(" -> "), "to"),
        pl.concat_str(pl.lit("phase "), "phase"),
    )
    devs = (
        grouped.with_columns(
            pl.when(pl.col("closed") > 0).then(with_).alias("conversion_rate"),
            pl.when(pl.col("closed") < total_closed).then(without).alias("baseline_rate"),
            subject.alias("subject"),
        )
        .with_columns(
            (pl.col("baseline_rate") - pl.col("conversion_rate")).alias("conversion_gap"),
            pl.concat_str(pl.col("type").str.replace_all("_", " "), pl.lit(": "), "subject").alias(
                "title"
            ),
        )
        .with_columns((pl.col("closed") * pl.col("conversion_gap") * value).alias("impact"))
    )
    # Same journeys, same counts, so the same rates and impact: one item, its aspects in order.
    order = pl.col("type").replace_strict(_ASPECT_ORDER, default=99, return_dtype=pl.Int64)
    merged = (
        devs.sort(order, maintain_order=True)
        .group_by("journey_set", "journeys", "closed", "converted", maintain_order=True)
        .agg(
            pl.first(*_KEY, "subject", "conversion_rate", "baseline_rate", "conversion_gap"),
            pl.first("impact", "examples"),
            pl.struct(*_KEY, "subject", "title").alias("aspects"),
            pl.col("after_goal").all(),
        )
        .select(
            pl.lit("deviation").alias("kind"),
            *_KEY,
            pl.col("aspects")
            .list.eval(pl.element().struct.field("title"))
            .list.join("; ")
            .alias("title"),
            "subject",
            "aspects",
            *_MEASURES,
            "after_goal",
            "journey_set",
        )
    )
    leak_rows = leaks.select(
        pl.lit("leak").alias("kind"),
        pl.lit("drop_off").alias("type"),
        "touchpoint",
        pl.lit(None, dtype=pl.String).alias("from"),
        pl.lit(None, dtype=pl.String).alias("to"),
        "phase",
        pl.concat_str(pl.lit("leak at "), _leak_subject()).alias("title"),
        _leak_subject().alias("subject"),
        pl.concat_list(
            pl.struct(
                pl.lit("drop_off").alias("type"),
                "touchpoint",
                pl.lit(None, dtype=pl.String).alias("from"),
                pl.lit(None, dtype=pl.String).alias("to"),
                "phase",
                _leak_subject().alias("subject"),
                pl.concat_str(pl.lit("leak at "), _leak_subject()).alias("title"),
            )
        ).alias("aspects"),
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
        pl.lit(False).alias("after_goal"),
        pl.lit(None, dtype=pl.UInt64).alias("journey_set"),
    )
    both = pl.concat([merged, leak_rows], how="vertical_relaxed").with_columns(
        pl.col("aspects").cast(pl.List(ASPECT))
    )
    costs = both.filter(pl.col("impact") > 0).sort(
        ["impact", "journeys", "title"], descending=[True, True, False]
    )
    # Journeys that converted before the deviation (a late delivery, a complaint loop) convert
    # "better" by construction: that says nothing about the deviation, so they go apart.
    later = pl.col("after_goal").fill_null(False)
    better = both.filter((pl.col("impact") < 0) & ~later).sort(
        ["impact", "journeys", "title"], descending=[False, True, False]
    )
    after = both.filter(later).sort(["journeys", "title"], descending=[True, False])
    rank = pl.int_range(1, pl.len() + 1).cast(pl.Int64).alias("rank")
    return Priorities(*(part.select(rank, pl.all()) for part in (costs, better, after)))


@dataclass(frozen=True)
class Priorities:
    """The ranked items: what costs conversions or value, what works better than designed,
    and what happens only after the goal (its conversion gap means nothing)."""

    costs: pl.DataFrame  # impact > 0, by impact
    better_than_designed: pl.DataFrame  # impact < 0, by gain (most negative impact first)
    after_goal: pl.DataFrame  # every journey had converted before it, by journeys


_MEASURES = (
    "journeys",
    "closed",
    "converted",
    "conversion_rate",
    "baseline_rate",
    "conversion_gap",
    "impact",
    "examples",
)


def _leak_subject() -> pl.Expr:
    return pl.concat_str(
        "touchpoint", pl.lit(" ("), pl.col("phase").fill_null("no phase"), pl.lit(")")
    )
