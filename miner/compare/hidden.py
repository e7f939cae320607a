"""Hidden journeys: groups of non-fitting journeys that share a deviation signature.

A signature is the list of unknown touchpoints (by name) and unexpected transitions
("a->b") of a journey, in order of first occurrence, as `miner/compare/comparison.py` writes it in
`Comparison.cases`. Journeys that do not fit but have an empty signature (only a drop-off,
a wrong start or a skip) are on no hidden path. Grouping is exact and deterministic: no
clustering. Each group is measured against the rest of the closed journeys (every closed
journey not in the group, fitting or not): conversion and median duration alike, both over
closed journeys only. In-progress journeys are right-censored (neither their outcome nor their
duration is final), so they are only counted. Comparing with fitting journeys would be
tautological: a closed fitting journey converted by definition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import polars as pl

from ..errors import InputError, NotFoundError

CASE_COLUMNS = (
    "case_id",
    "fits",
    "converted",
    "in_progress",
    "signature",
    "duration_s",
    "channels",
)
HIDDEN_SCHEMA: dict[str, Any] = {
    "signature": pl.List(pl.String),
    "label": pl.String,
    "cases": pl.Int64,
    "share": pl.Float64,
    "n_closed": pl.Int64,
    "n_in_progress": pl.Int64,
    "converted": pl.Int64,
    "conversion_rate": pl.Float64,
    "median_duration_s": pl.Float64,  # over the group's closed journeys
    "channels": pl.List(pl.Struct({"channel": pl.String, "cases": pl.Int64})),
    "deviation_types": pl.List(pl.String),
    "examples": pl.List(pl.String),
    "rest_closed": pl.Int64,  # closed journeys not in this hidden journey
    "rest_conversion_rate": pl.Float64,
    "rest_median_duration_s": pl.Float64,
    "delta_conversion": pl.Float64,  # conversion_rate - rest_conversion_rate (a share; x100 = pt)
    "delta_duration_s": pl.Float64,  # median_duration_s - rest_median_duration_s
}
_ROW = "__row"
_G = "__group"  # a hidden journey's group: its signature, numbered


@dataclass(frozen=True)
class HiddenJourneys:
    """Hidden journeys, most frequent first; each row is measured against the rest of the closed
    journeys (its own `rest_*` columns), out of the closed journeys summed up here."""

    frame: pl.DataFrame  # one row per hidden journey; columns as HIDDEN_SCHEMA
    members: pl.DataFrame  # case_id, signature: the cases of every reported hidden journey
    n_cases: int  # all journeys in the input
    n_closed: int  # closed journeys (converted or dropped), the pool every `rest_*` comes from
    closed_conversion_rate: float | None
    closed_median_duration_s: float | None
    min_cases: int  # the support threshold as a number of journeys

    def __len__(self) -> int:
        return self.frame.height

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-ready: one dict per hidden journey (signature, cases, share, conversion_rate, ...)."""
        return self.frame.to_dicts()

    def baseline(self) -> dict[str, Any]:
        """What the deltas compare with, JSON-ready: each row's rest of the closed journeys, drawn
        from all closed journeys (their count, conversion and median duration are given here)."""
        return {
            "compared_with": "rest_of_closed",
            "closed": self.n_closed,
            "conversion_rate": self.closed_conversion_rate,
            "median_duration_s": self.closed_median_duration_s,
        }

    def case_ids(self, signature: Sequence[str] | str) -> list[str]:
        """Case ids of one hidden journey, in case order; a bare string is a one-item signature."""
        wanted = [signature] if isinstance(signature, str) else list(signature)
        found = self.members.filter(pl.col("signature") == pl.lit(wanted, dtype=pl.List(pl.String)))
        if found.is_empty():
            known = ", ".join(self.frame["label"].head(8).to_list()) or "none"
            raise NotFoundError(
                f"no hidden journey has signature {wanted!r}",
                expected=f"a reported signature (labels: {known})",
                found=repr(wanted),
            )
        return found["case_id"].to_list()


def find_hidden_journeys(
    cases: pl.DataFrame, *, min_support: int | float = 0.01, examples: int = 5
) -> HiddenJourneys:
    """Group non-fitting journeys by deviation signature; keep groups with support >= min_support.

    `min_support`: an int is a number of journeys, a float a share of all journeys (0..1).
    """
    missing = [c for c in CASE_COLUMNS if c not in cases.columns]
    if missing:
        raise InputError(
            f"the cases frame lacks column(s) {missing}",
            expected=f"Comparison.cases with columns {list(CASE_COLUMNS)}",
            found=str(cases.columns),
        )
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise InputError(
            "examples must be a whole number >= 0", expected="an int >= 0", found=repr(examples)
        )
    n = cases.height
    min_cases = _min_cases(min_support, n)
    frame = cases.select(CASE_COLUMNS).with_row_index(_ROW)
    closed = ~pl.col("in_progress").fill_null(False)
    converted = pl.col("converted").fill_null(False)

    everyone = frame.select(
        (converted & closed).sum().alias("converted"),
        closed.sum().alias("closed"),
        pl.col("duration_s").filter(closed).median().alias("median"),
    ).row(0, named=True)
    n_closed, n_converted = int(everyone["closed"]), int(everyone["converted"])

    # Each hidden journey's signature is grouped once; the rest works on integer group ids
    # (`_G`) and row numbers, gathering the list columns (channels, deviation types) for the
    # member journeys only: no copy of the per-journey list columns per step.
    hidden = (
        frame.lazy()
        .filter(~pl.col("fits") & (pl.col("signature").list.len() > 0))
        .select(_ROW, "signature")
        .collect()
    )
    by_signature = hidden.group_by("signature").agg(pl.col(_ROW)).with_row_index(_G)
    del hidden
    rows = by_signature.select(_G, _ROW).explode(_ROW)
    facts = frame.select("case_id", "in_progress", "converted", "duration_s")[rows.get_column(_ROW)]
    rows = pl.concat([rows, facts], how="horizontal")
    groups = (
        rows.group_by(_G)
        .agg(
            pl.len().cast(pl.Int64).alias("cases"),
            closed.sum().cast(pl.Int64).alias("n_closed"),
            (~closed).sum().cast(pl.Int64).alias("n_in_progress"),
            (converted & closed).sum().cast(pl.Int64).alias("converted"),
            pl.col("duration_s").filter(closed).median().alias("median_duration_s"),
            pl.col("case_id").sort_by(_ROW).head(examples).alias("examples"),
        )
        .filter(pl.col("cases") >= min_cases)
    )
    members = rows.join(groups.select(_G), on=_G, how="semi").sort(_ROW)
    del rows
    member_rows = members.get_column(_ROW)
    channels = (
        pl.DataFrame(
            [
                members.get_column(_G),
                cases.get_column("channels").gather(member_rows).list.unique().alias("channel"),
            ]
        )
        .explode("channel")
        .drop_nulls("channel")
        .group_by(_G, "channel")
        .agg(pl.len().cast(pl.Int64).alias("cases"))
        .group_by(_G)
        .agg(pl.struct("channel", "cases").sort_by("channel").alias("channels"))
    )
    types = _deviation_types(cases, members)
    rate = pl.when(pl.col("n_closed") > 0).then(pl.col("converted") / pl.col("n_closed"))
    # The rest of the closed journeys: all closed ones minus the group's own (counts subtract).
    rest_closed = n_closed - pl.col("n_closed")
    rest_rate = pl.when(rest_closed > 0).then((n_converted - pl.col("converted")) / rest_closed)
    result = (
        groups.join(by_signature.select(_G, "signature"), on=_G)
        .join(channels, on=_G, how="left")
        .join(types, on=_G, how="left")
        .join(_rest_medians(frame, members, closed), on=_G, how="left")
        .with_columns(
            label=signature_label(pl.col("signature")),
            share=pl.col("cases") / max(n, 1),
            conversion_rate=rate,
            rest_closed=rest_closed,
            rest_conversion_rate=rest_rate,
        )
        .with_columns(
            delta_conversion=pl.col("conversion_rate") - pl.col("rest_conversion_rate"),
            delta_duration_s=pl.col("median_duration_s") - pl.col("rest_median_duration_s"),
            channels=pl.col("channels").fill_null(pl.lit([], dtype=HIDDEN_SCHEMA["channels"])),
            deviation_types=pl.col("deviation_types").fill_null(
                pl.lit([], dtype=pl.List(pl.String))
            ),
        )
        .select([pl.col(c).cast(t) for c, t in HIDDEN_SCHEMA.items()])
        .sort(["cases", "signature"], descending=[True, False])
    )
    return HiddenJourneys(
        frame=result,
        members=members.join(by_signature.select(_G, "signature"), on=_G, how="left").select(
            "case_id", "signature"
        ),
        n_cases=n,
        n_closed=n_closed,
        closed_conversion_rate=n_converted / n_closed if n_closed else None,
        closed_median_duration_s=everyone["median"],
        min_cases=min_cases,
    )


def _rest_medians(frame: pl.DataFrame, members: pl.DataFrame, closed: pl.Expr) -> pl.DataFrame:
    """Per group (`_G`), the median duration of the closed journeys *not* in it (O(n log n)).

    With D the closed durations sorted (length N) and r_0 < r_1 < ... the positions of a
    group's own journeys in D, r_i - i journeys of the rest lie before its i-th one; so the
    rest's j-th smallest duration sits at D[j + #{i : r_i - i <= j}]. The median is the mean of
    the rest's ((m-1)//2)-th and (m//2)-th, m = N - the group's own (as polars' median).
    """
    timed = (
        frame.lazy()
        .select(_ROW, "duration_s", closed.alias("_closed"))
        .filter(pl.col("_closed") & pl.col("duration_s").is_not_null())
        .select(_ROW, "duration_s")
        .sort("duration_s", _ROW)
        .with_row_index("_pos")
        .with_columns(pl.col("_pos").cast(pl.Int64))
        .collect()
    )
    own = (
        members.select(_ROW, _G)
        .join(timed.select(_ROW, "_pos"), on=_ROW)
        .sort("_pos")
        .with_columns((pl.col("_pos") - pl.int_range(pl.len()).over(_G)).alias("_key"))
    )
    m = pl.lit(timed.height, dtype=pl.Int64) - pl.col("_own").fill_null(0)
    sizes = (
        members.select(_G)
        .unique()
        .join(
            own.group_by(_G).agg(pl.len().cast(pl.Int64).alias("_own")),
            on=_G,
            how="left",
        )
        .filter(m > 0)
        .select(_G, ((m - 1) // 2).alias("_lo"), (m // 2).alias("_hi"))
    )
    counts = (
        own.join(sizes, on=_G)
        .group_by(_G)
        .agg(
            (pl.col("_key") <= pl.col("_lo")).sum().cast(pl.Int64).alias("_c_lo"),
            (pl.col("_key") <= pl.col("_hi")).sum().cast(pl.Int64).alias("_c_hi"),
        )
    )
    at = sizes.join(counts, on=_G, how="left").select(
        _G,
        (pl.col("_lo") + pl.col("_c_lo").fill_null(0)).alias("_lo"),
        (pl.col("_hi") + pl.col("_c_hi").fill_null(0)).alias("_hi"),
    )
    durations = timed.select("_pos", "duration_s")
    for end in ("_lo", "_hi"):
        at = at.join(durations.rename({"_pos": end, "duration_s": f"{end}_s"}), on=end, how="left")
    return at.select(_G, ((pl.col("_lo_s") + pl.col("_hi_s")) / 2).alias("rest_median_duration_s"))


def signature_label(signature: pl.Expr) -> pl.Expr:
    """A signature as people read it: "via phone_order", "email_click→add_to_cart"."""
    item = pl.element()
    words = (
        pl.when(item.str.contains("->", literal=True))
        .then(item.str.replace_all("->", "→", literal=True))
        .otherwise(pl.lit("via ") + item)
    )
    return signature.list.eval(words).list.join(", then ")


def _deviation_types(cases: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Per group (`_G`), the deviation types its journeys show (sorted); empty without the
    column."""
    if "deviation_types" not in cases.columns:
        return pl.DataFrame(schema={_G: pl.UInt32, "deviation_types": pl.List(pl.String)})
    types = cases.get_column("deviation_types").gather(members.get_column(_ROW))
    return (
        pl.DataFrame([members.get_column(_G), types])
        .explode("deviation_types")
        .drop_nulls("deviation_types")
        .group_by(_G)
        .agg(pl.col("deviation_types").unique().sort())
    )


def _min_cases(min_support: int | float, n_cases: int) -> int:
    """The support threshold as a number of journeys (at least 1)."""
    if isinstance(min_support, bool) or not isinstance(min_support, int | float):
        raise InputError(
            "min_support must be a number of journeys (int) or a share of them (float)",
            expected="an int >= 0 or a float in [0, 1]",
            found=repr(min_support),
        )
    if isinstance(min_support, int):
        if min_support < 0:
            raise InputError(
                "min_support must not be negative", expected="an int >= 0", found=str(min_support)
            )
        return max(1, min_support)
    if not (math.isfinite(min_support) and 0.0 <= min_support <= 1.0):
        raise InputError(
            "min_support as a share must lie in [0, 1]",
            expected="a float in [0, 1]",
            found=repr(min_support),
        )
    # The share as written (0.01 is 1/100, not the binary float just above it), so that
    # 3 of 300 journeys meet a 1% threshold.
    return max(1, math.ceil(Fraction(repr(min_support)) * n_cases))


__all__ = ["HIDDEN_SCHEMA", "HiddenJourneys", "find_hidden_journeys", "signature_label"]
