"""The finish of a discovery: the DFG, variants, service times and journey statistics from
the merged partial and the values pass 2 picked (see `miner.engine.discovery`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from ...kernels.variants import variant_order
from ..arrays import list_series
from ..discover.journey_stats import DISTRIBUTIONS, NGRAM_SCHEMA, QUANTILES, JourneyStats
from ..discover.results import (
    DFG,
    EDGE_SCHEMA,
    SERVICE_SCHEMA,
    US_PER_SECOND,
    VARIANT_SCHEMA,
    Discovery,
    Variants,
    activity_counts,
)
from ..log import CASE
from .moments import Moments, RankPlan, linear, medians
from .partials import TOP_NGRAMS, Partial, Plans, decode_keys


def finish(
    total: Partial,
    plans: Plans,
    values: dict[int, np.ndarray],
    activities: Sequence[str],
    *,
    top_ngrams: int = TOP_NGRAMS,
) -> Discovery:
    """The `Discovery` from the merged partial and the value at every planned rank (by
    plan: 0 edges, 1 variants, 2 service times, 3 journey measures)."""
    names = pl.Series("activity", list(activities), dtype=pl.String)
    n = max(len(names), 1)
    dfg = finish_dfg(total.edges, total.start, total.end, plans.edges, values[0], names, n)
    variants = _finish_variants(total, plans.variants, values[1], names)
    service = None
    if total.service is not None and plans.service is not None:
        service = _finish_service(total.service, plans.service, values[2], names)
    stats = _finish_stats(total, plans, values[3], names, n, top_ngrams)
    return Discovery(dfg=dfg, variants=variants, stats=stats, service_times=service)


def _median_values(m: Moments, plan_: RankPlan, values: np.ndarray) -> np.ndarray:
    k = m.keys.size
    return medians(values[:k], values[k:])


def finish_dfg(
    m: Moments,
    start: np.ndarray,
    end: np.ndarray,
    plan_: RankPlan,
    values: np.ndarray,
    names: pl.Series,
    n: int,
) -> DFG:
    """The DFG from merged edge moments, start and end counts and each median rank's value."""
    edges = pl.DataFrame(
        {
            "source": names.gather(m.keys // n),
            "target": names.gather(m.keys % n),
            "count": m.count,
            "mean": m.means() / US_PER_SECOND,
            "median": _median_values(m, plan_, values) / US_PER_SECOND,
            "min": m.lo / US_PER_SECOND,
            "max": m.hi / US_PER_SECOND,
            "stdev": pl.Series(m.stdevs() / US_PER_SECOND).fill_nan(None),
            "sum": m.totals() / US_PER_SECOND,
        },
        schema=EDGE_SCHEMA,
    )
    return DFG(
        edges=edges,
        start=activity_counts(names, start[: len(names)]),
        end=activity_counts(names, end[: len(names)]),
    )


def _finish_service(
    m: Moments, plan_: RankPlan, values: np.ndarray, names: pl.Series
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "activity": names.gather(m.keys),
            "count": m.count,
            "mean": m.means() / US_PER_SECOND,
            "median": _median_values(m, plan_, values) / US_PER_SECOND,
            "min": m.lo / US_PER_SECOND,
            "max": m.hi / US_PER_SECOND,
            "sum": m.totals() / US_PER_SECOND,
        },
        schema=SERVICE_SCHEMA,
    )


def _finish_variants(
    total: Partial, plan_: RankPlan, values: np.ndarray, names: pl.Series
) -> Variants:
    offsets, codes = decode_keys(total.variant_keys)
    k = total.variant_count.size
    order = variant_order(offsets, codes, total.variant_count, np.arange(k, dtype=np.int64))
    new_id = np.empty(k, dtype=np.int64)
    new_id[order] = np.arange(k, dtype=np.int64)
    m = total.variant_durations  # keys are 0..k-1 (every variant has a journey)
    mean = m.means()[order]
    median = _median_values(m, plan_, values)[order]
    lengths = np.diff(offsets)[order]
    list_offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(lengths, out=list_offsets[1:])
    flat = np.repeat(offsets[:-1][order] - list_offsets[:-1], lengths) + np.arange(
        list_offsets[-1], dtype=np.int64
    )
    frame = pl.DataFrame(
        {
            "variant": np.arange(k, dtype=np.int64),
            "activities": list_series(list_offsets, names.gather(codes[flat])).alias("activities"),
            "count": total.variant_count[order],
            "share": total.variant_count[order] / max(total.n_cases, 1),
            "representative": total.variant_rep.gather(order),
            "mean_duration": mean / US_PER_SECOND,
            "median_duration": median / US_PER_SECOND,
        },
        schema=VARIANT_SCHEMA,
    )
    cases = pl.DataFrame(schema={CASE: pl.String, "variant": pl.Int64})
    if total.cases is not None:
        rows = _case_rows(total.cases)
        cases = rows.select(
            CASE, pl.Series("variant", new_id[rows.get_column("variant").to_numpy()])
        )
    return Variants(frame=frame, cases=cases)


def _case_rows(cases: pl.DataFrame) -> pl.DataFrame:
    # Journeys in log order (by case id), as one pass over the whole log would list them.
    if cases.get_column(CASE).is_sorted():
        return cases
    return cases.sort(CASE)


def _finish_stats(
    total: Partial, plans: Plans, values: np.ndarray, names: pl.Series, n: int, top: int
) -> JourneyStats:
    m = total.measures
    rows = []
    means = m.means() if m.keys.size else np.zeros(0)
    for g, (measure, column) in enumerate(DISTRIBUTIONS.items()):
        scale = US_PER_SECOND if column == "duration" else 1.0
        row: dict[str, object] = {"measure": measure}
        ranks = plans.quantile_ranks[measure]
        for j, key in enumerate(QUANTILES):
            if not ranks:
                row[key] = None
                continue
            lower_rank, upper_rank, proportion = ranks[j]
            base = 2 * (j + g * len(QUANTILES))
            lower, upper = values[base] / scale, values[base + 1] / scale
            row[key] = linear(lower, upper, lower_rank, upper_rank, proportion)
        present = bool(ranks)
        row["mean"] = means[g] / scale if present else None
        row["min"] = m.lo[g] / scale if present else None
        row["max"] = m.hi[g] / scale if present else None
        rows.append(row)
    distributions = pl.DataFrame(rows, schema=_DISTRIBUTION_SCHEMA, orient="row")
    holding, repeating, repeats = (total.rework[i][: len(names)] for i in range(3))
    rework = (
        pl.DataFrame(
            {"activity": names, "cases": holding, "rework_cases": repeating, "repeats": repeats},
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
        + [_top_ngrams(codes, count, size, names, n, top) for size, codes, count in total.ngrams]
    )
    per_case = pl.DataFrame(schema=_PER_CASE_SCHEMA)
    if total.cases is not None:
        per_case = _case_rows(total.cases).select(
            CASE,
            (pl.col("duration") / US_PER_SECOND).alias("duration"),
            "events",
            "channel_switches",
        )
    return JourneyStats(
        distributions=distributions, rework=rework, ngrams=ngrams, per_case=per_case
    )


_DISTRIBUTION_SCHEMA = {
    "measure": pl.String,
    **dict.fromkeys(QUANTILES, pl.Float64),
    "mean": pl.Float64,
    "min": pl.Float64,
    "max": pl.Float64,
}
_PER_CASE_SCHEMA = {
    CASE: pl.String,
    "duration": pl.Float64,
    "events": pl.Int64,
    "channel_switches": pl.Int64,
}


def _top_ngrams(
    codes: np.ndarray, count: np.ndarray, size: int, names: pl.Series, n: int, top: int
) -> pl.DataFrame:
    order = np.argsort(-count, kind="stable")[:top]
    k = order.size
    grams = np.empty((k, size), dtype=np.int64)
    rest = codes[order]
    for j in range(size - 1, -1, -1):
        grams[:, j] = rest % n
        rest = rest // n
    offsets = np.arange(0, size * k + 1, size, dtype=np.int64)
    return pl.DataFrame(
        {
            "n": np.full(k, size, dtype=np.int64),
            "activities": list_series(offsets, names.gather(grams.ravel())).alias("activities"),
            "count": count[order],
        },
        schema=NGRAM_SCHEMA,
    )
