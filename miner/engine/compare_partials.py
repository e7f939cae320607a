"""The comparison's partial of one partition, and the merge that lays partials out as one log.

A partial holds what a partition's journeys say on their own, [n_cases] each: their ids, facts
(`compare.cases.CaseFacts`), windows (`compare.windows.measure_windows`), first value and
segment, their scored events, and their variants (the partition's distinct sequences, each
journey's local variant). Nothing in it needs another partition's journeys: a journey never
spans two. `merge` puts the journeys in the whole log's order (case ids sorted, as the log is)
and numbers the variants as `case_variants` numbers them on the whole log (by first
appearance), so the replay and the finish get the inputs `compare_to_map` gets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ...kernels.variants import case_variants
from ..compare.cases import CaseFacts, first_per_case
from ..compare.deviations import MapCodes, take_cases
from ..compare.satisfaction import scored_rows
from ..compare.windows import Windows, gather_windows, measure_windows
from ..log import ACTIVITY, CASE, EncodedLog


@dataclass(frozen=True, eq=False)
class ComparePartial:
    """One partition's journeys, as the comparison needs them before the replay."""

    case_ids: pl.Series  # String [n_cases], ascending
    facts: CaseFacts
    windows: Windows
    variant_of: np.ndarray  # int64 [n_cases]: local variant (by first appearance)
    sequences: tuple[np.ndarray, np.ndarray]  # local variants' codes end to end, offsets
    values: pl.Series  # Float64 [n_cases]: first value of the value attribute
    segments: pl.Series  # String [n_cases]: first value of the segment attribute
    scored: pl.DataFrame | None  # case_id, activity, score of the scored events (log order)


@dataclass(frozen=True)
class Attributes:
    """The attributes a comparison reads per journey (None: not asked for or not in the log)."""

    segment: str | None
    value: str | None
    score: str | None

    @property
    def columns(self) -> list[str]:
        """The frame columns they need (the attributes named, each once)."""
        return list(dict.fromkeys(a for a in (self.segment, self.value, self.score) if a))


def compare_partial(
    enc: EncodedLog,
    frame: pl.DataFrame | None,
    codes: MapCodes,
    attributes: Attributes,
    as_of_us: int,
    timeout_us: int,
) -> ComparePartial:
    """The partial of one partition: `enc`, and `frame` with `attributes.columns` (or None when
    it names none), at `as_of_us` with `timeout_us`."""
    variant_of, _, first_case, _ = case_variants(enc.offsets, enc.act)
    seq_offsets, seq = take_cases(enc.offsets, enc.act, first_case)
    rows = frame if frame is not None else pl.DataFrame()
    scored = None
    if (got := scored_rows(rows, attributes.score)) is not None:
        # `scored_events` of the partition, its names taken for the scored events only.
        at, scores = got
        case_of = np.searchsorted(enc.offsets, at, side="right") - 1
        names = pl.Series(ACTIVITY, enc.activities, dtype=pl.String)
        scored = pl.DataFrame(
            [enc.case_names.gather(case_of).alias(CASE), names.gather(enc.act[at]), scores]
        )
    return ComparePartial(
        case_ids=enc.case_names,
        facts=CaseFacts.of(enc, codes.goal, as_of_us, timeout_us),
        windows=measure_windows(enc, codes, as_of_us),
        variant_of=variant_of,
        sequences=(seq_offsets, seq),
        values=first_per_case(rows, enc, attributes.value, pl.Float64),
        segments=first_per_case(rows, enc, attributes.segment, pl.String),
        scored=scored,
    )


@dataclass(frozen=True, eq=False)
class Merged:
    """Partials laid out as one log: every journey in log order, variants numbered as
    `case_variants` numbers them on the whole log."""

    case_ids: pl.Series
    facts: CaseFacts
    windows: Windows
    values: pl.Series
    segments: pl.Series
    scored: pl.DataFrame | None
    variant_of: np.ndarray  # int64 [n_cases]
    count: np.ndarray  # int64 [k]
    first_case: np.ndarray  # int64 [k], ascending
    sequences: tuple[np.ndarray, np.ndarray]  # offsets int64 [k + 1], codes int32


def merge(partials: list[ComparePartial]) -> Merged:
    """The partials of every partition as one log (see the module docstring)."""
    names = pl.concat([p.case_ids for p in partials])
    order = names.arg_sort().to_numpy()  # the log's order: case ids are unique and sorted
    n = order.size
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n, dtype=np.int64)
    sizes = [p.case_ids.len() for p in partials]
    bounds = np.zeros(len(partials) + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    at = [position[bounds[j] : bounds[j + 1]] for j in range(len(partials))]
    variant_of, count, first_case, sequences = _variants(partials, order)
    scored = [p.scored for p in partials if p.scored is not None]
    return Merged(
        case_ids=names.gather(order),
        facts=CaseFacts.gather([p.facts for p in partials], order),
        windows=gather_windows([p.windows for p in partials], at, n),
        values=pl.concat([p.values for p in partials]).gather(order),
        segments=pl.concat([p.segments for p in partials]).gather(order),
        # A journey's scored events stay in their order; journeys go in case id order.
        scored=pl.concat(scored).sort(CASE, maintain_order=True) if scored else None,
        variant_of=variant_of,
        count=count,
        first_case=first_case,
        sequences=sequences,
    )


def _variants(
    partials: list[ComparePartial], order: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Each journey's variant over the whole log, by first appearance in log order, with each
    variant's count, first journey and sequence: the partitions' distinct sequences are laid
    out as a small log of their own and grouped again by `case_variants` (by sequence key)."""
    offsets = [np.zeros(1, dtype=np.int64)]
    shift = 0
    for p in partials:
        seq_offsets, _ = p.sequences
        offsets.append(seq_offsets[1:] + shift)
        shift += int(seq_offsets[-1])
    all_offsets = np.concatenate(offsets)
    all_codes = np.concatenate([np.zeros(0, np.int32)] + [p.sequences[1] for p in partials])
    merged_of, _, merged_first, _ = case_variants(all_offsets, all_codes)
    base = np.zeros(len(partials) + 1, dtype=np.int64)
    np.cumsum([p.sequences[0].size - 1 for p in partials], out=base[1:])
    local = np.concatenate(
        [np.zeros(0, np.int64)] + [p.variant_of + base[j] for j, p in enumerate(partials)]
    )
    merged = merged_of[local][order]  # each journey's merged variant, in log order
    k = merged_first.size
    distinct, first = np.unique(merged, return_index=True)
    assert distinct.size == k  # every merged variant has a journey
    rank = np.argsort(first, kind="stable")  # merged variants by first journey in the log
    new_id = np.empty(k, dtype=np.int64)
    new_id[rank] = np.arange(k, dtype=np.int64)
    variant_of = new_id[merged]
    count = np.bincount(variant_of, minlength=k).astype(np.int64)
    sequences = take_cases(all_offsets, all_codes, merged_first[rank])
    return variant_of, count, first[rank].astype(np.int64), sequences
