"""Journey statistics: per journey its duration, events, rework and channel switches; their
distributions; the most frequent n-grams of touchpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ...kernels.stats import case_durations, channel_switches, ngram_counts, rework_counts
from ..arrays import activity_names, first_case_ids, list_series
from ..log import CASE, EncodedLog, EventLog

US_PER_SECOND = 1_000_000.0
QUANTILES = {"p10": 0.10, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p90": 0.90}
# Measure name in results -> column of `JourneyStats.per_case`.
DISTRIBUTIONS = {
    "case_duration": "duration",
    "events_per_case": "events",
    "channel_switches": "channel_switches",
}


@dataclass(frozen=True)
class JourneyStats:
    """Distributions of case duration, events and channel switches; rework; top n-grams."""

    distributions: pl.DataFrame  # measure, p10, p25, p50, p75, p90, mean, min, max
    rework: pl.DataFrame  # activity, cases, rework_cases, repeats, rework_share
    ngrams: pl.DataFrame  # n, activities, count
    per_case: pl.DataFrame  # case_id, duration (s), events, channel_switches

    @property
    def frame(self) -> pl.DataFrame:
        """The distributions frame, one row per measure."""
        return self.distributions

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: one {p10..p90, mean, min, max} per measure, rework rows, n-gram rows."""
        out: dict[str, Any] = {row.pop("measure"): row for row in self.distributions.to_dicts()}
        out["rework"] = self.rework.to_dicts()
        out["ngrams"] = self.ngrams.to_dicts()
        return out


def journey_stats(
    log: EventLog, *, top_ngrams: int = 20, ngram_sizes: tuple[int, ...] = (2, 3)
) -> JourneyStats:
    """Journey statistics of `log`; n-grams count every occurrence, top `top_ngrams` per size."""
    enc = log.encoded
    return summarise_journeys(
        enc, first_case_ids(log), case_durations(enc.offsets, enc.ts), top_ngrams, ngram_sizes
    )


def summarise_journeys(
    enc: EncodedLog,
    case_ids: pl.Series,
    durations_us: np.ndarray,
    top_ngrams: int,
    ngram_sizes: tuple[int, ...],
) -> JourneyStats:
    names = activity_names(enc)
    per_case = pl.DataFrame(
        {
            CASE: case_ids,
            "duration": durations_us / US_PER_SECOND,
            "events": np.diff(enc.offsets),
            "channel_switches": channel_switches(enc.offsets, enc.channel),
        },
        schema={
            CASE: pl.String,
            "duration": pl.Float64,
            "events": pl.Int64,
            "channel_switches": pl.Int64,
        },
    )
    distributions = pl.concat(
        [per_case.select(_summary(column, measure)) for measure, column in DISTRIBUTIONS.items()]
    )
    holding, repeating, repeats = rework_counts(enc.offsets, enc.act, len(names))
    rework = (
        pl.DataFrame(
            {
                "activity": names,
                "cases": holding,
                "rework_cases": repeating,
                "repeats": repeats,
            },
            schema={
                "activity": pl.String,
                "cases": pl.Int64,
                "rework_cases": pl.Int64,
                "repeats": pl.Int64,
            },
        )
        .filter(pl.col("cases") > 0)
        .with_columns((pl.col("rework_cases") / pl.col("cases")).alias("rework_share"))
        .sort(["rework_cases", "repeats", "activity"], descending=[True, True, False])
    )
    ngrams = pl.concat(
        [pl.DataFrame(schema=NGRAM_SCHEMA)]
        + [_top_ngrams(enc, names, n, top_ngrams) for n in ngram_sizes]
    )
    return JourneyStats(
        distributions=distributions, rework=rework, ngrams=ngrams, per_case=per_case
    )


def _top_ngrams(enc: EncodedLog, names: pl.Series, n: int, top: int) -> pl.DataFrame:
    grams, count = ngram_counts(enc.offsets, enc.act, len(names), n)
    # The kernel sorts grams by code tuple; a stable sort by count keeps that as tie-break.
    order = np.argsort(-count, kind="stable")[:top]
    k = order.size
    offsets = np.arange(0, n * k + 1, n, dtype=np.int64)
    return pl.DataFrame(
        {
            "n": np.full(k, n, dtype=np.int64),
            "activities": list_series(offsets, names.gather(grams[order].ravel())).alias(
                "activities"
            ),
            "count": count[order],
        },
        schema=NGRAM_SCHEMA,
    )


def _summary(column: str, measure: str) -> list[pl.Expr]:
    x = pl.col(column).cast(pl.Float64)
    return [
        pl.lit(measure).alias("measure"),
        *[x.quantile(q, "linear").alias(key) for key, q in QUANTILES.items()],
        x.mean().alias("mean"),
        x.min().alias("min"),
        x.max().alias("max"),
    ]


NGRAM_SCHEMA: dict[str, Any] = {"n": pl.Int64, "activities": pl.List(pl.String), "count": pl.Int64}
