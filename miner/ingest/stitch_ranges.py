"""Stitch events on disk into one sorted Parquet log, a range of customers at a time.

`stitch_sources` holds every event in memory at once. `stitch_to_parquet` gives the same
log, written to a file, with memory for about `bucket_events` events: a journey only ever
holds events of one customer, so customers are split into ranges of their ids (boundaries
from an event-weighted sample), the events are written to the files of their ranges a
slice at a time, and each range is then stitched by `stitch_sources` on its own and
appended. Ranges are in id order, so the appended ranges are the whole log in canonical
order (journey `c#n` sorts with its customer `c`; where a customer id that is a prefix of
another makes two ranges overlap, which takes an id with a character below '#', the log is
stitched again in one piece). Small logs are stitched in one piece from the start.

Input: lazy frames of canonical events whose case id is the source's own id, in input order
(equal timestamps keep it), as for `stitch_sources`. Identities: a checked table
(`load_identities`); each range takes the slice of it that maps into the range.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from ..engine.executors import Executor, Serial
from ..files import atomic_write
from ..log import ACTIVITY, CASE, CHANNEL, SORTED_KEY, SORTED_VALUE, EventLog
from .customers import CustomerMatch, attach_customers
from .identities import CUSTOMER_ID, SOURCE_ID
from .stitch import DEFAULT_GAP, StitchReport, stitch_sources

#: Events stitched in memory at once (about 250 bytes each at the peak of a stitch).
BUCKET_EVENTS = 1_000_000
#: Events in the sample that sets the range boundaries.
SAMPLE_EVENTS = 200_000
_SRC, _ROW, _BUCKET, _CUSTOMER = "__source", "__row", "__bucket", "__customer"


@dataclass(frozen=True)
class LogSummary:
    """Counts and ranges of a written log."""

    events: int = 0
    cases: int = 0
    start: datetime | None = None
    end: datetime | None = None
    activities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @classmethod
    def of(cls, log: EventLog) -> LogSummary:
        """The summary of a log in memory."""
        frame = log.frame
        start, end = log.time_range()
        return cls(
            events=frame.height,
            cases=log.n_cases,
            start=start,
            end=end,
            activities=tuple(frame.get_column(ACTIVITY).drop_nulls().unique().sort()),
            channels=tuple(frame.get_column(CHANNEL).drop_nulls().unique().sort()),
        )

    def __add__(self, other: LogSummary) -> LogSummary:
        """The summary of two logs with no case in common."""
        starts = [t for t in (self.start, other.start) if t is not None]
        ends = [t for t in (self.end, other.end) if t is not None]
        return LogSummary(
            events=self.events + other.events,
            cases=self.cases + other.cases,
            start=min(starts, default=None),
            end=max(ends, default=None),
            activities=tuple(sorted({*self.activities, *other.activities})),
            channels=tuple(sorted({*self.channels, *other.channels})),
        )


@dataclass
class _Counts:
    """Stitch reports of ranges added up (no source id or customer is in two ranges)."""

    fields: dict[str, int] = field(default_factory=dict)

    def add(self, report: StitchReport) -> None:
        for key, value in report.to_dict().items():
            if isinstance(value, int):
                self.fields[key] = self.fields.get(key, 0) + value


@dataclass(frozen=True)
class Stitched:
    """What `stitch_to_parquet` wrote: the stitch report, the log's summary and, with a
    customer table, how it matched the log's customers."""

    report: StitchReport
    summary: LogSummary
    customers: CustomerMatch | None = None


@dataclass(frozen=True)
class _How:
    """How to stitch: the tables and the journey cutting."""

    identities: pl.LazyFrame | None
    customers: pl.LazyFrame | None
    gap: timedelta | None
    goals: tuple[str, ...]

    def stitch(
        self, frames: Sequence[pl.DataFrame], low: str | None = None, high: str | None = None
    ) -> tuple[EventLog, StitchReport, CustomerMatch | None]:
        """Stitch the events of the customers in [low, high) (all without bounds)."""
        identities = _slice(self.identities, low, high)
        log, report = stitch_sources(frames, identities, gap=self.gap, goals=self.goals)
        table = _slice(self.customers, low, high)
        if table is None:
            return log, report, None
        log, match = attach_customers(log, table)
        return log, report, match


def stitch_to_parquet(
    sources: Sequence[pl.LazyFrame],
    identities: pl.LazyFrame | None,
    dest: str | Path,
    *,
    gap: timedelta | None = DEFAULT_GAP,
    goals: Sequence[str] = (),
    customers: pl.LazyFrame | None = None,
    order_column: str | None = None,
    bucket_events: int = BUCKET_EVENTS,
    run: Executor | None = None,
) -> Stitched:
    """Stitch `sources` as `stitch_sources` would and write the log to `dest` (atomically).

    `customers`: a customer table (`load_customers`) whose attributes `attach_customers`
    copies onto the events. `order_column`: a column of every source that grows with the
    input order of its rows (dropped from the log); without it, the order as scanned. `run`
    stitches the customer ranges (one task per range; e.g. a cluster's workers, which need
    the folder of `dest` at the same path); the ranges are read back here in order.
    """
    dest = Path(dest)
    how = _How(identities, customers, gap, tuple(goals))
    tagged = [_tagged(s, n, order_column) for n, s in enumerate(sources)]
    total = sum(int(t.select(pl.len()).collect().item()) for t in tagged)
    if total > bucket_events:
        with tempfile.TemporaryDirectory(prefix=".stitch-", dir=dest.parent) as work:
            done = _in_ranges(tagged, how, dest, Path(work), total, bucket_events, run)
        if done is not None:
            return done
    return _in_one_piece(tagged, how, dest)


def _tagged(source: pl.LazyFrame, n: int, order_column: str | None) -> pl.LazyFrame:
    """The source with its number and the rank of each row in it (`_SRC`, `_ROW`)."""
    if order_column is None:
        source = source.with_row_index(_ROW)
    else:
        source = source.rename({order_column: _ROW})
    return source.with_columns(pl.lit(n, dtype=pl.Int32).alias(_SRC), pl.col(_ROW).cast(pl.Int64))


def _in_one_piece(tagged: Sequence[pl.LazyFrame], how: _How, dest: Path) -> Stitched:
    frames = [t.collect().sort(_ROW).drop(_SRC, _ROW) for t in tagged]
    log, report, match = how.stitch(frames)
    log.write_parquet(dest)
    return Stitched(report, LogSummary.of(log), match)


def _in_ranges(
    tagged: Sequence[pl.LazyFrame],
    how: _How,
    dest: Path,
    work: Path,
    total: int,
    bucket_events: int,
    run: Executor | None = None,
) -> Stitched | None:
    """Stitch range by range into `dest`; None when the ranges' journeys overlap."""
    events = pl.concat(list(tagged), how="diagonal_relaxed")
    keyed = _customers(events, how.identities)
    bounds = _boundaries(keyed, total, math.ceil(total / bucket_events))
    if not bounds:
        return None  # one customer, or all of them in one range: one piece it is
    _partition(events, how.identities, bounds, work, total, bucket_events)
    if run is not None and run.remote:
        how = _spilled(how, work.absolute())  # each task reads its own slice of the tables
    ranges = _StitchRange(how, work.absolute(), tuple(bounds))
    found = (run or Serial()).map(
        ranges, len(bounds) + 1, label=lambda b: f"customer range {b} of {len(bounds) + 1}"
    )
    counts, summary, outs = _Counts(), LogSummary(), []
    matched: CustomerMatch | None = None
    last_case: str | None = None
    for done in found:
        if done is None:
            continue
        out, report, part, match, first, last = done
        if last_case is not None and first <= last_case:
            return None
        last_case = last
        counts.add(report)
        summary = summary + part
        if match is not None:
            matched = match if matched is None else matched + match
        outs.append(out)
    meta = {SORTED_KEY: SORTED_VALUE}
    atomic_write(dest, lambda tmp: pl.scan_parquet(outs).sink_parquet(tmp, metadata=meta))
    return Stitched(_report(counts, how.identities is not None), summary, matched)


def _spilled(how: _How, work: Path) -> _How:
    """`how` with its identity and customer tables written to `work` and scanned from there,
    so a range read on another machine filters the files, not a copy of the whole table."""

    def spill(table: pl.LazyFrame | None, name: str) -> pl.LazyFrame | None:
        if table is None:
            return None
        path = work / f"{name}.parquet"
        table.sink_parquet(path)
        return pl.scan_parquet(path)

    return replace(
        how,
        identities=spill(how.identities, "identities"),
        customers=spill(how.customers, "customers"),
    )


_RangeDone = tuple[Path, StitchReport, LogSummary, CustomerMatch | None, str, str]


@dataclass(frozen=True)
class _StitchRange:
    """Range b (customers in [bounds[b - 1], bounds[b])): its events stitched and written to
    `work/out-b.parquet`; what a worker runs (the range's files are in `work/b/`)."""

    how: _How
    work: Path
    bounds: tuple[str, ...]

    def __call__(self, b: int) -> _RangeDone | None:
        files = sorted((self.work / str(b)).glob("*.parquet"))
        if not files:
            return None
        low = self.bounds[b - 1] if b > 0 else None
        high = self.bounds[b] if b < len(self.bounds) else None
        frame = pl.read_parquet(files).sort(_SRC, _ROW).drop(_SRC, _ROW)
        log, report, match = self.how.stitch([frame], low, high)
        del frame
        cases = log.frame.get_column(CASE)
        out = self.work / f"out-{b}.parquet"
        log.frame.write_parquet(out, statistics=True)
        return out, report, LogSummary.of(log), match, cases[0], cases[-1]


def _customers(events: pl.LazyFrame, identities: pl.LazyFrame | None) -> pl.LazyFrame:
    """`events` with the customer id of each event (`_CUSTOMER`); row order not kept."""
    if identities is None:
        return events.with_columns(pl.col(CASE).alias(_CUSTOMER))
    table = identities.select(pl.col(SOURCE_ID).alias(CASE), pl.col(CUSTOMER_ID).alias(_CUSTOMER))
    return events.join(table, on=CASE, how="left").with_columns(
        pl.coalesce(_CUSTOMER, CASE).alias(_CUSTOMER)
    )


def _partition(
    events: pl.LazyFrame,
    identities: pl.LazyFrame | None,
    bounds: list[str],
    work: Path,
    total: int,
    rows: int,
) -> None:
    """Write the events to `work/<range>/<n>.parquet`, `rows` events read at a time.

    Slices, not one streaming sink partitioned by range: a partitioned sink keeps a buffer
    open per range, which measured twice the memory of a slice (a 1 GB CSV, 22 ranges).
    Slices are cut before the identity join, whose row order is not fixed.
    """
    bucket = pl.sum_horizontal([(pl.col(_CUSTOMER) >= b).cast(pl.UInt32) for b in bounds])
    for n, offset in enumerate(range(0, total, rows)):
        chunk = (
            _customers(events.slice(offset, rows), identities)
            .with_columns(bucket.alias(_BUCKET))
            .drop(_CUSTOMER)
            .collect()
        )
        for (b,), part in chunk.partition_by(_BUCKET, as_dict=True, include_key=False).items():
            folder = work / str(b)
            folder.mkdir(exist_ok=True)
            part.write_parquet(folder / f"{n:08d}.parquet")
        del chunk


def _boundaries(events: pl.LazyFrame, total: int, buckets: int) -> list[str]:
    """Customer ids that cut an event-weighted sample into `buckets` ranges."""
    step = max(1, total // SAMPLE_EVENTS)
    sample = (
        events.filter(pl.col(_ROW) % step == 0)
        .select(pl.col(_CUSTOMER).drop_nulls())
        .collect()
        .to_series()
        .sort()
    )
    if sample.len() == 0:
        return []
    picks = {sample[min(sample.len() - 1, i * sample.len() // buckets)] for i in range(1, buckets)}
    return sorted(picks - {sample[0]})


def _slice(table: pl.LazyFrame | None, low: str | None, high: str | None) -> pl.DataFrame | None:
    """The rows of an identity or customer table whose customer falls in [low, high)."""
    if table is None:
        return None
    keep = pl.lit(True)
    if low is not None:
        keep = keep & (pl.col(CUSTOMER_ID) >= low)
    if high is not None:
        keep = keep & (pl.col(CUSTOMER_ID) < high)
    return table.filter(keep).collect()


def _report(counts: _Counts, has_identities: bool) -> StitchReport:
    c = counts.fields
    keys = ("events", "customers", "journeys", "source_ids", "matched_ids", "unmatched_events")
    return StitchReport.counted(
        **{k: c[k] for k in keys},
        dropped_no_timestamp=c["dropped_no_timestamp"],
        identities=has_identities,
    )
