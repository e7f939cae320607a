"""Log filters over partitions: the journeys and events `apply_filters` keeps, partition by
partition, so a filtered discovery, comparison or drift of a stored dataset runs on the engine
(one partition in memory at a time, or on a cluster) with the whole log's answer.

The filters' steps (`discover.filtering`) fall in two kinds:

- **Steps 1-4** (time window, channels, segment, start/end activities) are decided by each
  journey's own events. A journey never spans two partitions, so `journey_filters` on a
  partition's frame keeps exactly the rows it keeps of the same journeys in the whole log.
- **Steps 5-6** (variants, activity coverage) rank what the whole log holds after steps 1-4.
  `filter_parts` finds that with one discovery pass over the partitions filtered by steps 1-4
  (the variants, ranked exactly as `discover_variants` ranks the filtered log), decides the
  kept variants (`kept_variants`) and, from the kept variants' counts, the kept activities
  (`kept_activities`: an activity's event count is the sum over variants of its occurrences
  times the variant's count). Each partition then keeps the journeys whose sequence is a kept
  variant and the events of kept activities; journeys left with none vanish.

`FilteredParts` is `Parts` (and offers `frame`, `columns`, `summary` like a dataset), so every
plan runs on it unchanged. Its partitions are encoded in the dataset's global dictionaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ...kernels.variants import case_variants
from ..discover.filtering import (
    check_segment,
    journey_filter_columns,
    journey_filters,
    kept_activities,
    kept_variants,
)
from ..discover.filters import Filters
from ..log import ACTIVITY, CANONICAL, START, EncodedLog
from .executors import Executor, Serial
from .parts import Parts, moment, select_events

_ROW = "__row"


@dataclass(frozen=True, eq=False)
class FilteredParts:
    """The partitions of `parts` with `filters` applied; `variants` (code sequences) and
    `activities` (codes) are steps 5 and 6 resolved over the whole log (None: not asked)."""

    parts: Any  # Parts with `frame(i, columns)` and `columns` (a Dataset, MemoryParts)
    filters: Filters
    variants: frozenset[tuple[int, ...]] | None = None
    activities_kept: np.ndarray | None = None  # int32 codes

    @property
    def activities(self) -> tuple[str, ...]:
        """The global activity dictionary (the partitions' codes index it)."""
        return tuple(self.parts.activities)

    @property
    def channels(self) -> tuple[str, ...]:
        """The global channel dictionary."""
        return tuple(self.parts.channels)

    @property
    def n_parts(self) -> int:
        """As many partitions as the unfiltered parts (some may be empty)."""
        return int(self.parts.n_parts)

    @property
    def columns(self) -> tuple[str, ...]:
        """The log's columns, as `frame` has them."""
        return tuple(self.parts.columns)

    def part_label(self, i: int) -> str:
        """Partition `i` as error messages name it (the unfiltered parts' label)."""
        label = getattr(self.parts, "part_label", None)
        return str(label(i)) if label is not None else f"partition {i}"

    def load(self, i: int) -> EncodedLog:
        """Partition `i` with the filters applied, in the global dictionaries."""
        enc = self.parts.load(i)
        rows = self._rows(i, enc)
        return enc if rows is None else select_events(enc, rows)

    def frame(self, i: int, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The rows of partition `i` that pass the filters (only `columns` when given)."""
        frame = self.parts.frame(i, columns)
        rows = self._rows(i, None)
        return frame if rows is None else frame[rows]

    def summary(self) -> dict[str, Any]:
        """What `EventLog.summary` says of the filtered log (one pass over the partitions)."""
        return summarize(self, Serial())

    def _rows(self, i: int, enc: EncodedLog | None) -> np.ndarray | None:
        """The rows of partition `i` that pass (ascending), or None when all of them do."""
        f = self.filters
        rows: np.ndarray | None = None
        if f.picks_by_own_events():
            frame = self.parts.frame(i, journey_filter_columns(f)).with_row_index(_ROW)
            kept = journey_filters(frame, f).get_column(_ROW).to_numpy().astype(np.int64)
            rows = None if kept.size == frame.height else kept
        if self.variants is None and self.activities_kept is None:
            return rows
        enc = enc if enc is not None else self.parts.load(i)
        sub = enc if rows is None else select_events(enc, rows)
        keep = np.ones(sub.act.size, dtype=np.bool_)
        if self.variants is not None and sub.n_cases:
            variant_of, _, first_case, _ = case_variants(sub.offsets, sub.act)
            kept_variant = np.fromiter(
                (
                    tuple(sub.act[sub.offsets[c] : sub.offsets[c + 1]].tolist()) in self.variants
                    for c in first_case
                ),
                dtype=np.bool_,
                count=first_case.size,
            )
            keep &= np.repeat(kept_variant[variant_of], np.diff(sub.offsets))
        if self.activities_kept is not None:
            keep &= np.isin(sub.act, self.activities_kept)
        if keep.all():
            return rows
        return (np.flatnonzero(keep) if rows is None else rows[keep]).astype(np.int64)


def filter_parts(parts: Parts, filters: Filters, run: Executor | None = None) -> FilteredParts:
    """`parts` with the log filters of `filters` applied, as `apply_filters` applies them to
    the whole log (the method is in the module docstring); steps 5-6 cost one discovery pass."""
    from .discovery import discover_parts

    columns = tuple(getattr(parts, "columns", ()))
    check_segment([c for c in columns if c not in CANONICAL and c != START], filters)
    local = FilteredParts(parts, filters)
    f = filters
    if not f.picks_variants() and f.activity_coverage is None:
        return local
    found = discover_parts(local, run=run, keep_cases=False).variants.frame
    n_cases = int(found.get_column("count").sum())
    if n_cases == 0:  # an empty log passes steps 5 and 6 as it is
        return local
    if f.picks_variants():
        found = found.filter(pl.col("variant").is_in(kept_variants(found, n_cases, f).implode()))
    code = {name: k for k, name in enumerate(local.activities)}
    sequences = found.get_column("activities").to_list()
    variants = (
        frozenset(tuple(code[a] for a in seq) for seq in sequences) if f.picks_variants() else None
    )
    kept_codes = None
    if f.activity_coverage is not None and found.height:
        counts = (
            found.select(pl.col("activities").alias(ACTIVITY), "count")
            .explode(ACTIVITY)
            .group_by(ACTIVITY)
            .agg(pl.col("count").sum().alias("len"))
        )
        kept = kept_activities(counts, f.activity_coverage).to_list()
        kept_codes = np.array(sorted(code[a] for a in kept), dtype=np.int32)
    return FilteredParts(parts, filters, variants, kept_codes)


def summarize(parts: Parts, run: Executor) -> dict[str, Any]:
    """`EventLog.summary` of the log behind `parts`: events, journeys, activities and
    channels present, first and last timestamp (one pass over the partitions)."""

    def one(i: int) -> tuple[int, int, np.ndarray, np.ndarray, int | None, int | None]:
        enc = parts.load(i)
        if not enc.act.size:
            return 0, 0, np.zeros(0, np.int32), np.zeros(0, np.int8), None, None
        return (
            int(enc.act.size),
            enc.n_cases,
            np.unique(enc.act),
            np.unique(enc.channel),
            int(enc.ts.min()),
            int(enc.ts.max()),
        )

    found = run.map(one, parts.n_parts)
    acts = np.unique(np.concatenate([x[2] for x in found] or [np.zeros(0, np.int32)]))
    chans = np.unique(np.concatenate([x[3] for x in found] or [np.zeros(0, np.int8)]))
    firsts = [x[4] for x in found if x[4] is not None]
    lasts = [x[5] for x in found if x[5] is not None]
    return {
        "events": sum(x[0] for x in found),
        "cases": sum(x[1] for x in found),
        "activities": int(acts.size),
        "channels": [parts.channels[int(c)] for c in chans.tolist() if c >= 0],
        "start": moment(min(firsts)).isoformat() if firsts else None,
        "end": moment(max(lasts)).isoformat() if lasts else None,
    }


__all__ = ["FilteredParts", "filter_parts", "summarize"]
