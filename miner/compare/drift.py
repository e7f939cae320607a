"""Drift: the same map against two periods (or two logs), and what changed between them.

Compared, each with a test rather than a raw difference alone (what is measured is in
`drift_measures.py`, the tests in `significance.py`): rates (fitness, conversion, leak rate
per leak touchpoint and per leak phase, share of each hidden journey, conversion per hidden
journey) by a two-proportion test; durations (of closed journeys, overall and per hidden
journey) by the Mann-Whitney U test.

All p-values of one comparison form one family, corrected by Benjamini-Hochberg (false
discovery rate); an item is significant when its adjusted p-value is at most `alpha`.
Conversion and leak rates count closed journeys only (in-progress ones are right-censored);
leak rates are drop-offs at a leak point over closed journeys, read from `cases`. Pure
Python and polars: no scipy needed at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import polars as pl

from ..errors import InputError
from .drift_measures import (
    CLOSED,
    CONVERTED,
    DURATION_SCHEMA,
    RATE_SCHEMA,
    duration_tests,
    rate_tests,
)
from .hidden import CASE_COLUMNS as _CASE_COLUMNS
from .hidden import HiddenJourneys, find_hidden_journeys
from .significance import benjamini_hochberg


class HasCases(Protocol):
    """Anything with a `cases` frame, such as `Comparison`."""

    @property
    def cases(self) -> pl.DataFrame: ...


@dataclass(frozen=True)
class Drift:
    """What changed from one period to the next, each change with its test and adjusted p-value."""

    rates: pl.DataFrame  # one row per tested proportion; columns as RATE_SCHEMA
    durations: pl.DataFrame  # one row per tested duration distribution; DURATION_SCHEMA
    hidden: pl.DataFrame  # signature, label, status (new/vanished/persisting), support, test
    periods: pl.DataFrame  # period, cases, closed, converted, conversion_rate, fits, fitness
    alpha: float

    @property
    def new_hidden_journeys(self) -> pl.DataFrame:
        """Hidden journeys reported after but not before."""
        return self.hidden.filter(pl.col("status") == "new")

    @property
    def vanished_hidden_journeys(self) -> pl.DataFrame:
        """Hidden journeys reported before but not after."""
        return self.hidden.filter(pl.col("status") == "vanished")

    @property
    def significant(self) -> pl.DataFrame:
        """The significant changes, rates and durations together: kind, key, difference, p."""
        cols = ["kind", "key", "signature", "difference", "test", "p_value", "p_adjusted"]
        rates = self.rates.filter("significant").select(cols)
        durations = self.durations.filter("significant").rename({"difference_s": "difference"})
        return pl.concat([rates, durations.select(cols)]).sort("p_adjusted", "kind", "key")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: periods, new/vanished/persisting hidden journeys, rates, durations."""
        return {
            "alpha": self.alpha,
            "periods": {row.pop("period"): row for row in self.periods.to_dicts()},
            "hidden_journeys": {
                status: self.hidden.filter(pl.col("status") == status).to_dicts()
                for status in ("new", "vanished", "persisting")
            },
            "rates": self.rates.to_dicts(),
            "durations": self.durations.to_dicts(),
        }


def compare_periods(
    before: pl.DataFrame | HasCases,
    after: pl.DataFrame | HasCases,
    *,
    alpha: float = 0.05,
    min_support: int | float = 0.01,
) -> Drift:
    """Compare two comparisons (or their `cases` frames) of the same map; see the module doc.

    `min_support` decides, per period, which hidden journeys are reported (new/vanished).
    """
    if isinstance(alpha, bool) or not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise InputError("alpha must lie strictly between 0 and 1", found=repr(alpha))
    b, a = _cases(before, "before"), _cases(after, "after")
    hb = find_hidden_journeys(b, min_support=min_support, examples=0)
    ha = find_hidden_journeys(a, min_support=min_support, examples=0)
    union = pl.concat([hb.frame.select("signature"), ha.frame.select("signature")]).unique()
    both = hb.frame.select("signature").join(ha.frame.select("signature"), on="signature")
    rates = rate_tests(b, a, union, both)
    durations = duration_tests(b, a, both)
    rates, durations = _adjust(rates, durations, alpha)
    return Drift(
        rates=rates,
        durations=durations,
        hidden=_hidden_status(hb, ha, rates),
        periods=pl.concat([_period("before", b), _period("after", a)]),
        alpha=float(alpha),
    )


# -- correction and summaries ---------------------------------------------------------------
def _adjust(
    rates: pl.DataFrame, durations: pl.DataFrame, alpha: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One BH family across every rate and duration tested; significant at `alpha`."""
    p = np.concatenate(
        [
            rates["p_value"].fill_null(np.nan).to_numpy(),
            durations["p_value"].fill_null(np.nan).to_numpy(),
        ]
    )
    adjusted = pl.Series(benjamini_hochberg(p)).fill_nan(None)

    def mark(frame: pl.DataFrame, values: pl.Series, schema: dict[str, Any]) -> pl.DataFrame:
        out = frame.with_columns(
            p_value=pl.col("p_value").fill_nan(None),
            statistic=pl.col("statistic").fill_nan(None),
            p_adjusted=values,
        ).with_columns(significant=(pl.col("p_adjusted") <= alpha).fill_null(False))
        return out.select([pl.col(c).cast(t) for c, t in schema.items()])

    return (
        mark(rates, adjusted.head(rates.height), RATE_SCHEMA),
        mark(durations, adjusted.tail(durations.height), DURATION_SCHEMA),
    )


def _hidden_status(hb: HiddenJourneys, ha: HiddenJourneys, rates: pl.DataFrame) -> pl.DataFrame:
    shares = rates.filter(pl.col("kind") == "hidden_journey_share").select(
        "signature",
        "key",
        pl.col("before_count").alias("before_cases"),
        pl.col("before_rate").alias("before_share"),
        pl.col("after_count").alias("after_cases"),
        pl.col("after_rate").alias("after_share"),
        "difference",
        "test",
        "p_value",
        "p_adjusted",
        "significant",
    )
    flags = (
        shares.select("signature")
        .join(hb.frame.select("signature", before=pl.lit(True)), on="signature", how="left")
        .join(ha.frame.select("signature", after=pl.lit(True)), on="signature", how="left")
        .with_columns(pl.col("before", "after").fill_null(False))
    )
    status = (
        pl.when(pl.col("before") & pl.col("after"))
        .then(pl.lit("persisting"))
        .when(pl.col("after"))
        .then(pl.lit("new"))
        .otherwise(pl.lit("vanished"))
    )
    order = pl.col("status").replace_strict({"new": 0, "vanished": 1, "persisting": 2})
    return (
        shares.join(flags, on="signature", how="left")
        .with_columns(status=status)
        .rename({"key": "label"})
        .with_columns(top=pl.max_horizontal("before_cases", "after_cases"))
        .sort([order, pl.col("top"), pl.col("signature")], descending=[False, True, False])
        .drop("before", "after", "top")
        .select("signature", "label", "status", pl.exclude("signature", "label", "status"))
    )


def _period(name: str, c: pl.DataFrame) -> pl.DataFrame:
    return c.select(
        pl.lit(name).alias("period"),
        pl.len().cast(pl.Int64).alias("cases"),
        CLOSED.sum().cast(pl.Int64).alias("closed"),
        CONVERTED.sum().cast(pl.Int64).alias("converted"),
        (CONVERTED.sum() / CLOSED.sum()).alias("conversion_rate"),
        pl.col("fits").sum().cast(pl.Int64).alias("fits"),
        (pl.col("fits").sum() / pl.len()).alias("fitness"),
        pl.col("duration_s").filter(CLOSED).median().alias("median_duration_s"),
    ).with_columns(pl.col("conversion_rate", "fitness").fill_nan(None))


def _cases(value: pl.DataFrame | HasCases, which: str) -> pl.DataFrame:
    frame = value if isinstance(value, pl.DataFrame) else getattr(value, "cases", None)
    if not isinstance(frame, pl.DataFrame):
        raise InputError(
            f"{which}: expected a Comparison or its cases frame",
            found=type(value).__name__,
        )
    missing = [c for c in _CASE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"{which}: the cases frame lacks column(s) {missing}",
            expected=f"Comparison.cases with columns {list(_CASE_COLUMNS)}",
            found=str(frame.columns),
        )
    for column in ("leak_phase", "leak_touchpoint"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    return frame


__all__ = [
    "Drift",
    "compare_periods",
]
