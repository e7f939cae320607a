"""The partials of a discovery: pass 1 per partition, merge, the plan of ranks and pass 2.

Pass 1 computes a `Partial` per partition (counts, exact sums, min, max and histograms per
edge, variant, touchpoint and journey measure; rework and n-gram counts; optionally the
per-journey rows). Partials merge by adding (variants by their activity sequence). The finish
plans every median and quantile (`moments.plan_ranks`); where a rank is not known from the
histograms alone, pass 2 asks each partition for the values of the one bucket that holds it.
The result is the same `Discovery` whatever the partitioning or the executor, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from ...kernels.dfg import (
    interval_edge_durations,
    pair_durations,
    service_times,
    start_end_counts,
)
from ...kernels.moments import pick_in_buckets
from ...kernels.stats import case_durations, channel_switches, ngram_counts, rework_counts
from ...kernels.variants import case_variants
from ..discover.journey_stats import DISTRIBUTIONS, QUANTILES
from ..log import CASE, EncodedLog
from .moments import (
    Moments,
    RankPlan,
    combine,
    median_ranks,
    plan_ranks,
    quantile_ranks,
)

NGRAM_SIZES = (2, 3)
TOP_NGRAMS = 20
MEASURES = tuple(DISTRIBUTIONS)  # case_duration (µs), events_per_case, channel_switches


@dataclass(frozen=True)
class Partial:
    """What one partition (or a merge of several) contributes to a discovery."""

    n_cases: int
    edges: Moments  # key: source * n_act + target
    start: np.ndarray  # int64[n_act]: journeys starting with each activity
    end: np.ndarray  # int64[n_act]
    variant_keys: pl.Series  # Binary[v]: each variant's activity codes (uint32 big-endian)
    variant_count: np.ndarray  # int64[v]
    variant_rep: pl.Series  # String[v]: the first journey (smallest case id) of each variant
    variant_durations: Moments  # key: index into variant_keys; journey durations (µs)
    service: Moments | None  # key: activity; complete minus start (µs), interval logs only
    measures: Moments  # key: index into MEASURES; one value per journey
    rework: np.ndarray  # int64[3, n_act]: journeys holding, journeys repeating, repeats
    ngrams: tuple[tuple[int, np.ndarray, np.ndarray], ...]  # per size: (size, codes, counts)
    cases: pl.DataFrame | None  # case_id, duration (µs), events, channel_switches, variant
    # One partition's values per plan (edges, variants, service, measures), kept when asked
    # (`retain`): a single in-memory partition picks its ranks from them, not recomputing.
    retained: tuple[tuple[np.ndarray, np.ndarray] | None, ...] | None = None


# -- pass 1 ---------------------------------------------------------------------------------
Values = tuple[np.ndarray, np.ndarray]  # (group code of each value, value), in any order


def partial(
    enc: EncodedLog,
    n_act: int,
    *,
    keep_cases: bool = False,
    ngram_sizes: tuple[int, ...] = NGRAM_SIZES,
    retain: bool = False,
) -> Partial:
    """The partial of one partition (codes in the log's global dictionaries); `retain` keeps
    the partition's values for its own pass 2 (an in-memory log of one partition)."""
    n = max(n_act, 1)
    per_edge = edge_values(enc, n)
    edges = Moments.of_values(*per_edge, n * n)
    start, end = start_end_counts(enc.offsets, enc.act, n)
    case_us = case_durations(enc.offsets, enc.ts)
    variant_of, count, rep, _ = case_variants(enc.offsets, enc.act)
    variant_values = (variant_of, case_us)
    events = np.diff(enc.offsets)
    switches = channel_switches(enc.offsets, enc.channel)
    measure_values = _measure_values((case_us, events, switches))
    service = service_values = None
    if enc.start is not None:
        service_values = _service_values(enc, n)
        service = Moments.of_values(*service_values, n, squares=False)
    cases = None
    if keep_cases:
        cases = pl.DataFrame(
            {
                CASE: enc.case_names,
                "duration": case_us,
                "events": events,
                "channel_switches": switches,
                "variant": variant_of,
            },
            schema=_CASES_SCHEMA,
        )
    return Partial(
        n_cases=enc.n_cases,
        edges=edges,
        start=start,
        end=end,
        variant_keys=_sequence_keys(enc, rep),
        variant_count=count,
        variant_rep=enc.case_names.gather(rep),
        variant_durations=Moments.of_values(*variant_values, count.size, squares=False),
        service=service,
        measures=Moments.of_values(*measure_values, len(MEASURES), squares=False),
        rework=np.stack(rework_counts(enc.offsets, enc.act, n)),
        ngrams=tuple((size, *_ngram_codes(enc, n, size)) for size in ngram_sizes),
        cases=cases,
        retained=(per_edge, variant_values, service_values, measure_values) if retain else None,
    )


_CASES_SCHEMA = {
    CASE: pl.String,
    "duration": pl.Int64,
    "events": pl.Int64,
    "channel_switches": pl.Int64,
    "variant": pl.Int64,
}


@dataclass(frozen=True)
class DfgPartial:
    """What one partition contributes to a DFG alone: its edges' moments, start and end
    counts (and, for a single partition, its edge values: `retained`)."""

    edges: Moments
    start: np.ndarray
    end: np.ndarray
    retained: Values | None = None


def dfg_partial(enc: EncodedLog, n_act: int, *, retain: bool = False) -> DfgPartial:
    """The DFG partial of one partition, as `partial` computes those parts."""
    n = max(n_act, 1)
    values = edge_values(enc, n)
    start, end = start_end_counts(enc.offsets, enc.act, n)
    return DfgPartial(Moments.of_values(*values, n * n), start, end, values if retain else None)


def merge_dfg(parts: Sequence[DfgPartial]) -> DfgPartial:
    """One DFG partial for all of `parts` (associative)."""
    if len(parts) == 1:
        return parts[0]
    return DfgPartial(
        combine([p.edges for p in parts]),
        np.sum([p.start for p in parts], axis=0),
        np.sum([p.end for p in parts], axis=0),
    )


def merge_dfg_picks(
    found: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Edge picks of several partitions as one (`resolve` sorts them)."""
    return merge_picks([(f,) for f in found])[0]


def edge_values(enc: EncodedLog, n: int) -> Values:
    if enc.start is None:
        return pair_durations(enc.offsets, enc.act, enc.ts, n)
    src, dst, bounds, durations = interval_edge_durations(
        enc.offsets, enc.act, enc.ts, enc.start, n
    )
    return np.repeat(src.astype(np.int64) * n + dst, np.diff(bounds)), durations


def _service_values(enc: EncodedLog, n: int) -> Values:
    assert enc.start is not None
    act, bounds, durations = service_times(enc.act, enc.ts, enc.start, n)
    return np.repeat(act.astype(np.int64), np.diff(bounds)), durations


def _measure_values(columns: Sequence[np.ndarray]) -> Values:
    # One group per journey measure (MEASURES order), one value per journey in each.
    groups = np.repeat(np.arange(len(columns), dtype=np.int64), columns[0].size)
    return groups, np.concatenate([c.astype(np.int64) for c in columns])


def _sequence_keys(enc: EncodedLog, rep: np.ndarray) -> pl.Series:
    # Each variant's codes as big-endian uint32 bytes: bytewise order is code-sequence order.
    lengths = np.diff(enc.offsets)[rep]
    offsets = np.zeros(rep.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    rows = np.repeat(enc.offsets[:-1][rep] - offsets[:-1], lengths) + np.arange(
        offsets[-1], dtype=np.int64
    )
    data = enc.act[rows].astype(">u4").tobytes()
    array = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), rep.size, [None, pa.py_buffer(offsets * 4), pa.py_buffer(data)]
    )
    return pl.Series("key", array, dtype=pl.Binary)


def decode_keys(keys: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    # Inverse of _sequence_keys: (offsets int64[v + 1], codes int32[n]).
    array = keys.cast(pl.Binary).to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = array.cast(pa.large_binary())
    _, raw_offsets, raw_data = array.buffers()
    offsets = np.frombuffer(raw_offsets, dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    data = np.frombuffer(raw_data, dtype=">u4") if raw_data is not None else np.zeros(0, ">u4")
    codes = data[offsets[0] // 4 : offsets[-1] // 4].astype(np.int32)
    return ((offsets - offsets[0]) // 4).astype(np.int64), codes


def _ngram_codes(enc: EncodedLog, n_act: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    grams, count = ngram_counts(enc.offsets, enc.act, n_act, size)
    codes = np.zeros(count.size, dtype=np.int64)
    for j in range(size):
        codes = codes * n_act + grams[:, j]
    return codes, count


# -- merge ----------------------------------------------------------------------------------
def merge(parts: Sequence[Partial]) -> Partial:
    """One partial for all of `parts` (associative: any grouping gives the same finish)."""
    if len(parts) == 1:
        return parts[0]
    table = (
        pl.concat(
            [
                pl.DataFrame(
                    {"key": p.variant_keys, "count": p.variant_count, "rep": p.variant_rep}
                )
                for p in parts
            ]
        )
        .group_by("key")
        .agg(pl.col("count").sum(), pl.col("rep").min())
        .sort("key")
    )
    index = table.select("key").with_row_index("merged")
    remaps = [
        pl.DataFrame({"key": p.variant_keys})
        .join(index, on="key", how="left", maintain_order="left")
        .get_column("merged")
        .to_numpy()
        .astype(np.int64)
        for p in parts
    ]
    durations = combine(
        [
            p.variant_durations.rekeyed(m[p.variant_durations.keys])
            for p, m in zip(parts, remaps, strict=True)
        ]
    )
    cases = None
    if all(p.cases is not None for p in parts):
        cases = pl.concat(
            [
                p.cases.with_columns(
                    pl.Series("variant", m[p.cases.get_column("variant").to_numpy()])
                )
                for p, m in zip(parts, remaps, strict=True)
                if p.cases is not None
            ]
        )
    services = [p.service for p in parts if p.service is not None]
    return Partial(
        n_cases=sum(p.n_cases for p in parts),
        edges=combine([p.edges for p in parts]),
        start=np.sum([p.start for p in parts], axis=0),
        end=np.sum([p.end for p in parts], axis=0),
        variant_keys=table.get_column("key"),
        variant_count=table.get_column("count").to_numpy().astype(np.int64),
        variant_rep=table.get_column("rep"),
        variant_durations=durations,
        service=combine(services) if len(services) == len(parts) else None,
        measures=combine([p.measures for p in parts]),
        rework=np.sum([p.rework for p in parts], axis=0),
        ngrams=tuple(
            (size, *_merge_counts([p.ngrams[i][1:] for p in parts]))
            for i, (size, _, _) in enumerate(parts[0].ngrams)
        ),
        cases=cases,
    )


def _merge_counts(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    codes, inv = np.unique(np.concatenate([c for c, _ in pairs]), return_inverse=True)
    count = np.zeros(codes.size, dtype=np.int64)
    np.add.at(count, inv, np.concatenate([n for _, n in pairs]))
    return codes, count


# -- pass 2 ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plans:
    """Every rank the finish needs, per measure."""

    edges: RankPlan
    variants: RankPlan
    service: RankPlan | None
    measures: RankPlan
    quantile_ranks: dict[str, list[tuple[int, int, float]]]  # measure -> per quantile


def plan(total: Partial) -> Plans:
    """The ranks of every median and quantile of the merged partial."""
    edges = edge_plan(total.edges)
    variants = _median_plan(total.variant_durations)
    service = _median_plan(total.service) if total.service is not None else None
    groups: list[int] = []
    ranks: list[int] = []
    per_measure: dict[str, list[tuple[int, int, float]]] = {}
    for g, measure in enumerate(MEASURES):
        if total.n_cases == 0:
            per_measure[measure] = []
            continue
        per_measure[measure] = [quantile_ranks(total.n_cases, q) for q in QUANTILES.values()]
        for lower, upper, _ in per_measure[measure]:
            groups += [g, g]
            ranks += [lower, upper]
    measures = plan_ranks(
        total.measures, np.array(groups, dtype=np.int64), np.array(ranks, dtype=np.int64)
    )
    return Plans(edges, variants, service, measures, per_measure)


def edge_plan(m: Moments) -> RankPlan:
    """The median ranks of each edge's durations."""
    return _median_plan(m)


def _median_plan(m: Moments) -> RankPlan:
    lower, upper = median_ranks(m.count)
    groups = np.arange(m.keys.size, dtype=np.int64)
    return plan_ranks(m, np.concatenate([groups, groups]), np.concatenate([lower, upper]))


Picks = tuple[tuple[np.ndarray, np.ndarray], ...]  # per plan: (codes, values)


def picks(enc: EncodedLog, n_act: int, plans: Plans, variant_index: pl.DataFrame) -> Picks:
    """Pass 2 in one partition: the values of the buckets the plans name."""
    n = max(n_act, 1)
    wanted = (plans.edges, plans.variants, plans.service, plans.measures)
    values: list[Values | None] = [None] * 4
    if plans.edges.targets.size:
        values[0] = edge_values(enc, n)
    case_us = None
    if plans.variants.targets.size:
        variant_of, _, rep, _ = case_variants(enc.offsets, enc.act)
        merged = (
            pl.DataFrame({"key": _sequence_keys(enc, rep)})
            .join(variant_index, on="key", how="left", maintain_order="left")
            .get_column("merged")
            .to_numpy()
            .astype(np.int64)
        )
        case_us = case_durations(enc.offsets, enc.ts)
        values[1] = (merged[variant_of], case_us)
    if plans.service is not None and plans.service.targets.size and enc.start is not None:
        values[2] = _service_values(enc, n)
    if plans.measures.targets.size:
        if case_us is None:
            case_us = case_durations(enc.offsets, enc.ts)
        switches = channel_switches(enc.offsets, enc.channel)
        values[3] = _measure_values((case_us, np.diff(enc.offsets), switches))
    return pick_from(wanted, values)


def merge_picks(found: Sequence[Picks]) -> Picks:
    """The picks of several partitions as one (per plan, codes and values one after another;
    `moments.resolve` sorts them, so any grouping gives the same values)."""
    if len(found) == 1:
        return found[0]
    return tuple(
        (np.concatenate([f[k][0] for f in found]), np.concatenate([f[k][1] for f in found]))
        for k in range(len(found[0]))
    )


def pick_from(wanted: Sequence[RankPlan | None], values: Sequence[Values | None]) -> Picks:
    """Of each plan's values, those in the buckets it names."""
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    return tuple(
        pick_in_buckets(v[0].astype(np.int64), v[1], step.targets)
        if step is not None and v is not None and step.targets.size
        else empty
        for step, v in zip(wanted, values, strict=True)
    )
