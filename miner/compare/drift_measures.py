"""What drift measures in each of two periods, and tests: rates (successes over totals per
kind and key) and durations (of closed journeys, overall and per hidden journey)."""

from __future__ import annotations

from typing import Any

import polars as pl

from .hidden import signature_label
from .significance import mann_whitney_u, two_proportion_test

RATE_KINDS = (
    "fitness",
    "conversion",
    "hidden_journey_share",
    "hidden_journey_conversion",
    "leak_phase",
    "leak_touchpoint",
)
# The columns of `Drift.rates` and `Drift.durations`, once the p-values are adjusted.
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
CLOSED = ~pl.col("in_progress").fill_null(False)
CONVERTED = pl.col("converted").fill_null(False) & CLOSED
_HIDDEN = ~pl.col("fits") & (pl.col("signature").list.len() > 0)


# -- rates --------------------------------------------------------------------------------
def rate_tests(
    b: pl.DataFrame, a: pl.DataFrame, union: pl.DataFrame, both: pl.DataFrame
) -> pl.DataFrame:
    """Every rate of RATE_KINDS before (`b`) and after (`a`), each tested; not yet adjusted.

    `union`: signatures of hidden journeys reported in either period; `both`: in both.
    """
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
    closed = int(c.select(CLOSED.sum()).item() or 0)
    if kind == "fitness":
        return c.select(pl.lit("all").alias("key"), pl.col("fits").sum().alias("x")), c.height
    if kind == "conversion":
        return c.select(pl.lit("all").alias("key"), CONVERTED.sum().alias("x")), closed
    if kind in ("leak_phase", "leak_touchpoint"):
        column = kind
        leaks = c.filter(CLOSED & pl.col(column).is_not_null())
        return leaks.group_by(pl.col(column).alias("key")).agg(pl.len().alias("x")), closed
    hidden = c.filter(_HIDDEN)
    if kind == "hidden_journey_share":
        counts = hidden.group_by("signature").agg(pl.len().alias("x"))
        return union.join(counts, on="signature", how="left"), c.height
    counts = hidden.group_by("signature").agg(CONVERTED.sum().alias("x"), CLOSED.sum().alias("n"))
    return both.join(counts, on="signature", how="left"), None


def _ratio(x: str, n: str) -> pl.Expr:
    return pl.when(pl.col(n) > 0).then(pl.col(x) / pl.col(n))


# -- durations ----------------------------------------------------------------------------
def duration_tests(b: pl.DataFrame, a: pl.DataFrame, both: pl.DataFrame) -> pl.DataFrame:
    """Closed journeys' durations before and after, overall and per hidden journey reported
    in both periods (`both`), each pair of samples tested; not yet adjusted."""
    # Samples are numbered: 0 all closed journeys, 1.. each hidden journey seen in both
    # periods; ranking and tie counting over a small integer key is fast on millions.
    groups = both.sort("signature").with_row_index("sample", offset=1)

    def sample(c: pl.DataFrame, period: int) -> pl.DataFrame:
        closed = c.filter(CLOSED & pl.col("duration_s").is_not_null())
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
