"""Journey statistics: per journey its duration, events, rework and channel switches; their
distributions; the most frequent n-grams of touchpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

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


NGRAM_SCHEMA: dict[str, Any] = {"n": pl.Int64, "activities": pl.List(pl.String), "count": pl.Int64}
