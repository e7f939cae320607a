"""Comparison with a designed map as partial -> merge -> finish over a log's partitions (`Parts`).

The result equals `compare_to_map` on the whole log, `to_dict()` byte for byte and every table
alike, for any partitioning and executor. The method:

- **as_of** (the right-censoring point, the log's last timestamp unless given) is known before
  the pass: from the parts' `summary()` (a dataset's manifest, an in-memory log), else from a
  first pass over the partitions' timestamps. Windows and verdicts need it per partition.
- **pass** (`compare_partials.compare_partial`, one partition at a time or `run`'s workers at
  once): each journey's own facts (span, goal position, channels, right-censoring), its time
  frames and rules, its first value and segment, the scored events, and the partition's
  distinct variants. A journey never spans two partitions, so all of this is exact per
  partition.
- **merge** (`compare_partials.merge`): journeys in the whole log's order (case ids sorted, as
  the log is); variants grouped by sequence key across partitions and numbered by first
  appearance in that order, exactly as `case_variants` numbers them on the whole log.
- **replay**: each distinct variant once, against the map (`replay_sequences`), on the very
  inputs `replay_log` builds from the whole log.
- **finish** (`compare.assemble.assemble_comparison`): the same code `compare_to_map` ends in,
  on identical per-journey arrays. Exactness is therefore by construction rather than by
  mergeable moments: medians and p90s of time frames, the mean value of converted journeys,
  the satisfaction means, example journeys, priorities and variant ids are computed by the
  same expressions over the same columns in the same order. The price is memory in the number
  of journeys (small numeric columns per journey, the windows' rows, the scored events), never
  in the number of events: no more than `run`'s workers partitions' events are held at once.

Parts that offer `columns` and `frame(i, columns)` (a `Dataset`, `MemoryParts`) give the
attributes (segment, value, score); other parts are compared without attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from ...kernels.warm import warm_up
from ..compare.assemble import assemble_comparison
from ..compare.comparison import Comparison
from ..compare.deviations import MapCodes, replay_sequences
from ..compare.satisfaction import curve_of
from ..compare.to_map import as_of_moment, check_segment, default_timeout, epoch_us
from ..log import EncodedLog
from ..maps.designed import DesignedMap
from .compare_partials import Attributes, ComparePartial, compare_partial, merge
from .executors import Executor, Serial
from .parts import Parts, case_rows, moment, select_cases

Started = tuple[int | None, int | None]  # [lo, hi) of a journey's first event, epoch µs


def compare_parts(
    parts: Parts,
    designed: DesignedMap,
    *,
    run: Executor | None = None,
    segment: str | None = None,
    value_attribute: str | None = "order_value",
    score_attribute: str | None = "csat",
    as_of: datetime | None = None,
    timeout: timedelta | None = None,
    top_paths: int = 20,
    examples: int = 3,
    started: Started | None = None,
) -> Comparison:
    """`compare_to_map` of the log behind `parts` (same options, same result), one partition
    in memory at a time (or `run`'s workers at once); the method is in the module docstring.

    `started=(lo, hi)` (epoch µs, None for open) compares only the journeys whose first event
    lies in [lo, hi): the result of `compare_to_map` on the log filtered with
    `Filters(start=lo, end=hi, time_mode="started")`, as_of its last timestamp unless given.
    A journey never spans two partitions, so the pick is exact per partition."""
    run = run or Serial()
    frame_of: Callable[[int, list[str]], pl.DataFrame] | None = getattr(parts, "frame", None)
    columns: tuple[str, ...] = tuple(getattr(parts, "columns", ())) if frame_of else ()
    check_segment(segment, columns)
    warm_up()
    end = as_of_moment(as_of, _last_timestamp(parts, run, started) if as_of is None else None)
    timeout = timeout if timeout is not None else default_timeout(designed)
    as_of_us = epoch_us(end) if end is not None else 0
    timeout_us = timeout // timedelta(microseconds=1)
    codes = MapCodes(designed, parts.activities)
    wanted = Attributes(
        segment=segment,
        value=value_attribute if value_attribute in columns else None,
        score=score_attribute if score_attribute in columns else None,
    )
    need = wanted.columns

    def one(i: int) -> ComparePartial:
        frame = frame_of(i, need) if frame_of is not None and need else None
        enc = parts.load(i)
        if started is not None:
            enc, frame = _pick_started(enc, frame, started)
        return compare_partial(enc, frame, codes, wanted, as_of_us, timeout_us)

    merged = merge(run.map(one, parts.n_parts))
    replayed = replay_sequences(
        merged.variant_of, merged.count, merged.first_case, *merged.sequences, codes
    )
    scored = merged.scored
    satisfaction = curve_of(scored, designed) if scored is not None else None
    with ThreadPoolExecutor(max_workers=1) as side:
        return assemble_comparison(
            codes,
            parts.channels,
            replayed,
            merged.windows,
            merged.facts,
            merged.case_ids,
            merged.values,
            merged.segments,
            satisfaction,
            side=side,
            end=end,
            timeout=timeout,
            segment=segment,
            value_attribute=wanted.value,
            top_paths=top_paths,
            examples=examples,
        )


def _last_timestamp(parts: Parts, run: Executor, started: Started | None) -> datetime | None:
    """The (picked) log's last timestamp: from the parts' summary when they have one and
    nothing is picked (no partition is read), else the latest over the partitions."""
    summary = getattr(parts, "summary", None)
    if summary is not None and started is None:
        end = summary()["end"]
        return datetime.fromisoformat(end) if end is not None else None
    return period_ends(parts, run, [started or (None, None)])[0]


def period_ends(parts: Parts, run: Executor, periods: Sequence[Started]) -> list[datetime | None]:
    """Per period (journeys whose first event lies in [lo, hi)): the last timestamp of its
    journeys (None when it has none), all periods in one pass over the partitions."""

    def lasts(i: int) -> list[int | None]:
        enc = parts.load(i)
        ends = enc.ts[enc.offsets[1:] - 1]  # a journey's events are in time order
        found: list[int | None] = []
        for period in periods:
            picked = ends[_started_mask(enc, period)]
            found.append(int(picked.max()) if picked.size else None)
        return found

    per_part = run.map(lasts, parts.n_parts)
    out: list[datetime | None] = []
    for k in range(len(periods)):
        known = [v for p in per_part if (v := p[k]) is not None]
        out.append(moment(max(known)) if known else None)
    return out


def _started_mask(enc: EncodedLog, period: Started) -> np.ndarray:
    """bool[n_cases]: the journeys whose first event lies in [lo, hi)."""
    first = enc.ts[enc.offsets[:-1]]
    lo, hi = period
    keep = np.ones(first.size, dtype=np.bool_)
    if lo is not None:
        keep &= first >= lo
    if hi is not None:
        keep &= first < hi
    return keep


def _pick_started(
    enc: EncodedLog, frame: pl.DataFrame | None, period: Started
) -> tuple[EncodedLog, pl.DataFrame | None]:
    """The partition's journeys that started in `period`: its encoded log and frame rows."""
    keep = _started_mask(enc, period)
    if keep.all():
        return enc, frame
    cases = np.flatnonzero(keep)
    rows = case_rows(enc.offsets, cases)
    return select_cases(enc, cases), None if frame is None else frame[rows]
