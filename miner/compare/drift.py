"""Drift: the same map against two periods (or two logs), and what changed between them.

Compared, each with a test rather than a raw difference alone (the tests are in
`significance.py`): rates (fitness, conversion, leak rate per leak touchpoint and per leak
phase, share of each hidden journey, conversion per hidden journey) by a two-proportion test;
durations (of closed journeys, overall and per hidden journey) by the Mann-Whitney U test.

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
from .hidden import CASE_COLUMNS as _CASE_COLUMNS
from .hidden import HiddenJourneys, find_hidden_journeys, signature_label
from .significance import benjamini_hochberg, mann_whitney_u, two_proportion_test

RATE_KINDS = (
    "fitness",
    "conversion",
    "hidden_journey_share",
    "hidden_journey_conversion",
    "leak_phase",
    "leak_touchpoint",
)
RATE_SCHEMA: dict[str, Any] = {
    "kind": pl.String,
    "key": pl.String,
    "signature": pl.List(pl.String),
    "before_count": pl.Int64,
    "before_total": pl.Int64,
    "before_rate": pl.Float64,
    "after_count": pl.Int64,
    "after_total": pl.Int64,
    "after_rate": pl.Float64,
    "difference": pl.Float64,
    "test": pl.String,
    "statistic": pl.Float64,
    "p_value": pl.Float64,
    "p_adjusted": pl.Float64,
    "significant": pl.Boolean,
}
DURATION_SCHEMA: dict[str, Any] = {
    "kind": pl.String,
    "key": pl.String,
    "signature": pl.List(pl.String),
    "before_n": pl.Int64,
    "before_median_s": pl.Float64,
    "after_n": pl.Int64,
    "after_median_s": pl.Float64,
    "difference_s": pl.Float64,
    "test": pl.String,
    "statistic": pl.Float64,
    "p_value": pl.Float64,
    "p_adjusted": pl.Float64,
    "significant": pl.Boolean,
}
_SIG = pl.List(pl.String)
_CLOSED = ~pl.col("in_progress").fill_null(False)
_CONVERTED = pl.col("converted").fill_null(False) & _CLOSED
_HIDDEN = ~pl.col("fits") & (pl.col("signature").list.len() > 0)


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
    rates = _rate_tests(b, a, union, both)
    durations = _duration_tests(b, a, both)
    rates, durations = _adjust(rates, durations, alpha)
    return Drift(
        rates=rates,
        durations=durations,
        hidden=_hidden_status(hb, ha, rates),
        periods=pl.concat([_period("before", b), _period("after", a)]),
        alpha=float(alpha),
    )


# -- rates --------------------------------------------------------------------------------
def _rate_tests(
    b: pl.DataFrame, a: pl.DataFrame, union: pl.DataFrame, both: pl.DataFrame
) -> pl.DataFrame:
    parts = []
    for kind in RATE_KINDS:
        xb, nb = _proportion(kind, b, union, both)
        xa, na = _proportion(kind, a, union, both)
        key = "signature" if kind.startswith("hidden") else "key"
        joined = xb.join(xa, on=key, how="full", coalesce=True, suffix="_after")
        joined = joined.rename({"x": "before_count", "x_after": "after_count"})
        if nb is not None and na is not None:
            joined = joined.with_columns(before_total=pl.lit(nb), after_total=pl.lit(na))
        else:  # per-group totals: both periods have the group (an inner set)
            joined = joined.rename({"n": "before_total", "n_after": "after_total"})
        if key == "signature":
            joined = joined.with_columns(key=signature_label(pl.col("signature")))
        else:
            joined = joined.with_columns(signature=pl.lit(None, dtype=_SIG))
        parts.append(
            joined.with_columns(kind=pl.lit(kind))
            .with_columns(pl.col("before_count", "after_count").fill_null(0))
            .sort("key", "signature")
        )
    frame = pl.concat(
        [p.select([pl.col(c).cast(RATE_SCHEMA[c]) for c in _RATE_INPUT]) for p in parts]
    )
    tests = [
        two_proportion_test(x1, n1, x2, n2)
        for x1, n1, x2, n2 in frame.select(
            "before_count", "before_total", "after_count", "after_total"
        ).iter_rows()
    ]
    return frame.with_columns(
        before_rate=_ratio("before_count", "before_total"),
        after_rate=_ratio("after_count", "after_total"),
        test=pl.Series([t[0] for t in tests], dtype=pl.String),
        statistic=pl.Series([t[1] for t in tests], dtype=pl.Float64),
        p_value=pl.Series([t[2] for t in tests], dtype=pl.Float64),
    ).with_columns(difference=pl.col("after_rate") - pl.col("before_rate"))


_RATE_INPUT = (
    "kind",
    "key",
    "signature",
    "before_count",
    "before_total",
    "after_count",
    "after_total",
)


def _proportion(
    kind: str, c: pl.DataFrame, union: pl.DataFrame, both: pl.DataFrame
) -> tuple[pl.DataFrame, int | None]:
    """Successes per key in one period, and the shared total (None: per-key totals in `n`)."""
    closed = int(c.select(_CLOSED.sum()).item() or 0)
    if kind == "fitness":
        return c.select(pl.lit("all").alias("key"), pl.col("fits").sum().alias("x")), c.height
    if kind == "conversion":
        return c.select(pl.lit("all").alias("key"), _CONVERTED.sum().alias("x")), closed
    if kind in ("leak_phase", "leak_touchpoint"):
        column = kind
        leaks = c.filter(_CLOSED & pl.col(column).is_not_null())
        return leaks.group_by(pl.col(column).alias("key")).agg(pl.len().alias("x")), closed
    hidden = c.filter(_HIDDEN)
    if kind == "hidden_journey_share":
        counts = hidden.group_by("signature").agg(pl.len().alias("x"))
        return union.join(counts, on="signature", how="left"), c.height
    counts = hidden.group_by("signature").agg(_CONVERTED.sum().alias("x"), _CLOSED.sum().alias("n"))
    return both.join(counts, on="signature", how="left"), None


def _ratio(x: str, n: str) -> pl.Expr:
    return pl.when(pl.col(n) > 0).then(pl.col(x) / pl.col(n))


# -- durations ----------------------------------------------------------------------------
def _duration_tests(b: pl.DataFrame, a: pl.DataFrame, both: pl.DataFrame) -> pl.DataFrame:
    # Samples are numbered: 0 all closed journeys, 1.. each hidden journey seen in both
    # periods; ranking and tie counting over a small integer key is fast on millions.
    groups = both.sort("signature").with_row_index("sample", offset=1)

    def sample(c: pl.DataFrame, period: int) -> pl.DataFrame:
        closed = c.filter(_CLOSED & pl.col("duration_s").is_not_null())
        overall = closed.select(pl.lit(0, dtype=pl.UInt32).alias("sample"), "duration_s")
        grouped = closed.filter(_HIDDEN).join(groups, on="signature", how="inner")
        return pl.concat([overall, grouped.select("sample", "duration_s")]).with_columns(
            period=pl.lit(period, dtype=pl.Int8)
        )

    data = pl.concat([sample(b, 0), sample(a, 1)]).with_columns(
        rank=pl.col("duration_s").rank("average").over("sample")
    )
    ties = (
        data.group_by("sample", "duration_s")
        .agg(pl.len().alias("t"))
        .group_by("sample")
        .agg(
            (pl.col("t").cast(pl.Float64) ** 3 - pl.col("t")).sum().alias("tie_sum"),
            (pl.col("t") > 1).any().alias("tied"),
        )
    )
    labels = pl.concat(
        [
            pl.DataFrame(
                {"sample": [0], "signature": [None], "kind": ["duration"], "key": ["all"]},
                schema={
                    "sample": pl.UInt32,
                    "signature": _SIG,
                    "kind": pl.String,
                    "key": pl.String,
                },
            ),
            groups.select(
                "sample",
                "signature",
                pl.lit("hidden_journey_duration").alias("kind"),
                signature_label(pl.col("signature")).alias("key"),
            ),
        ]
    )
    per = (
        data.group_by("sample")
        .agg(
            (pl.col("period") == 0).sum().cast(pl.Int64).alias("before_n"),
            (pl.col("period") == 1).sum().cast(pl.Int64).alias("after_n"),
            pl.col("rank").filter(pl.col("period") == 0).sum().alias("r1"),
            pl.col("duration_s").filter(pl.col("period") == 0).median().alias("before_median_s"),
            pl.col("duration_s").filter(pl.col("period") == 1).median().alias("after_median_s"),
        )
        .join(ties, on="sample", how="left")
        .join(labels, on="sample", how="inner")
        .sort("sample")
    )
    tests = [
        mann_whitney_u(int(n1), int(n2), float(r1 or 0.0), float(tie_sum or 0.0), bool(tied))
        for n1, n2, r1, tie_sum, tied in per.select(
            "before_n", "after_n", "r1", "tie_sum", "tied"
        ).iter_rows()
    ]
    return per.with_columns(
        difference_s=pl.col("after_median_s") - pl.col("before_median_s"),
        test=pl.Series([t[0] for t in tests], dtype=pl.String),
        statistic=pl.Series([t[1] for t in tests], dtype=pl.Float64),
        p_value=pl.Series([t[2] for t in tests], dtype=pl.Float64),
        p_adjusted=pl.lit(None, dtype=pl.Float64),
        significant=pl.lit(False),
    ).select([pl.col(c).cast(t) for c, t in DURATION_SCHEMA.items()])


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
        _CLOSED.sum().cast(pl.Int64).alias("closed"),
        _CONVERTED.sum().cast(pl.Int64).alias("converted"),
        (_CONVERTED.sum() / _CLOSED.sum()).alias("conversion_rate"),
        pl.col("fits").sum().cast(pl.Int64).alias("fits"),
        (pl.col("fits").sum() / pl.len()).alias("fitness"),
        pl.col("duration_s").filter(_CLOSED).median().alias("median_duration_s"),
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
    "DURATION_SCHEMA",
    "RATE_SCHEMA",
    "Drift",
    "compare_periods",
]
