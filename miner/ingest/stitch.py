"""Stitching: one timeline per customer from many sources, cut into journeys.

An identity table maps source ids (cookie, phone number, CRM id) to a customer id; events
whose id is not in the table stay as their own customer. A customer's timeline is cut into
journeys where the gap since their previous event is >= `gap` (inactivity), and/or right
after a goal touchpoint. Journey id = `<customer>#<n>`, n = 1, 2, ... in time order.
The identity table itself (reading, checking) is `identities.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from ..errors import SourceError
from ..log import (
    ACTIVITY,
    CASE,
    CHANNEL,
    TIMESTAMP,
    EventLog,
    check_channels,
    encoded_view,
)
from .identities import CUSTOMER_ID, SOURCE_ID, check_identities

DEFAULT_GAP = timedelta(days=30)
_CUSTOMER_CODE = "__customer_code"
_GOAL = "__goal"
_ORDER = "__order"
_RUN = "__run"


@dataclass(frozen=True)
class StitchReport:
    """What stitching did: counts a data engineer checks after every run."""

    events: int
    customers: int
    journeys: int
    source_ids: int
    matched_ids: int
    unmatched_ids: int
    unmatched_events: int
    dropped_no_timestamp: int
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def counted(
        cls,
        *,
        events: int,
        customers: int,
        journeys: int,
        source_ids: int,
        matched_ids: int,
        unmatched_events: int,
        dropped_no_timestamp: int,
        identities: bool,
    ) -> StitchReport:
        """The report of these counts, with the warnings they call for (`identities`: whether
        an identity table was given)."""
        warnings = []
        if dropped_no_timestamp:
            warnings.append(f"{dropped_no_timestamp} events without a timestamp were left out")
        if identities and unmatched_events:
            warnings.append(
                f"{source_ids - matched_ids} source ids ({unmatched_events} events) are not in "
                "the identity table and stay their own customer"
            )
        return cls(
            events=events,
            customers=customers,
            journeys=journeys,
            source_ids=source_ids,
            matched_ids=matched_ids,
            unmatched_ids=source_ids - matched_ids,
            unmatched_events=unmatched_events,
            dropped_no_timestamp=dropped_no_timestamp,
            warnings=tuple(warnings),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "events": self.events,
            "customers": self.customers,
            "journeys": self.journeys,
            "source_ids": self.source_ids,
            "matched_ids": self.matched_ids,
            "unmatched_ids": self.unmatched_ids,
            "unmatched_events": self.unmatched_events,
            "dropped_no_timestamp": self.dropped_no_timestamp,
            "warnings": list(self.warnings),
        }


def stitch_sources(
    frames: Sequence[pl.DataFrame],
    identities: pl.DataFrame | None = None,
    *,
    gap: timedelta | None = DEFAULT_GAP,
    goals: Sequence[str] = (),
    keep_source_id: bool = True,
) -> tuple[EventLog, StitchReport]:
    """Merge canonical frames of several sources into journeys; see the module docstring.

    `frames` hold canonical columns whose `case_id` is the source's own id. Events with equal
    timestamps keep the order of `frames`, then of their rows. With `gap=None` and no `goals`,
    timelines are not cut and the customer id is the case id.
    """
    if not frames:
        raise SourceError("no sources to stitch", expected="at least one source")
    events = pl.concat(list(frames), how="diagonal_relaxed")
    dropped = events.get_column(TIMESTAMP).null_count()
    if dropped:
        events = events.filter(pl.col(TIMESTAMP).is_not_null())
    # Every name column becomes integer codes into its sorted distinct names, and stays so
    # until the end: sorting, cutting and gathering integers is several times faster and
    # smaller than strings, and each output column is built once, already in log order.
    distinct = events.select(
        pl.col(CASE).unique().sort().implode(),
        *[pl.col(c).unique().drop_nulls().sort().implode() for c in (ACTIVITY, CHANNEL)],
    )
    source_names, activities, channels = (
        pl.Series(c, distinct.item(0, c), dtype=pl.String) for c in (CASE, ACTIVITY, CHANNEL)
    )
    check_channels(channels)
    codes = events.select(
        pl.col(CASE).cast(pl.Enum(source_names)).to_physical().alias(SOURCE_ID),
        pl.col(ACTIVITY).cast(pl.Enum(activities)).to_physical(),
        pl.col(CHANNEL).cast(pl.Enum(channels)).to_physical(),
        *([pl.col(ACTIVITY).is_in(list(goals)).alias(_GOAL)] if goals else []),
    ).rechunk()
    source_ids = source_names.len()
    if identities is not None:
        names, customer, matched_ids, unmatched_events = _customer_codes(
            source_names, codes.get_column(SOURCE_ID), check_identities(identities)
        )
    else:
        names, customer = source_names, codes.get_column(SOURCE_ID)
        matched_ids, unmatched_events = 0, events.height
    keep_source = identities is not None and keep_source_id
    codes = codes.with_columns(customer.alias(_CUSTOMER_CODE))
    if not keep_source:
        codes = codes.drop(SOURCE_ID)
    del customer
    order = _timeline_order(codes.get_column(_CUSTOMER_CODE), events.get_column(TIMESTAMP))
    # The sorted times live in one numpy array, shared by the frame and the encoded view.
    times = _gather_times(events.get_column(TIMESTAMP), order)
    timeline = _in_order(codes, order).with_columns(_time_column(times, events.schema[TIMESTAMP]))
    del codes
    cut = gap is not None or bool(goals)
    starts = timeline.select(_journey_starts(gap, goals).arg_true()).to_series()
    journeys = _journey_names(timeline.get_column(_CUSTOMER_CODE), starts, names, cut)
    lengths = np.diff(starts.to_numpy(), append=timeline.height).astype(np.int64)
    if not _runs_in_order(journeys):
        # Journey ids need not sort like customers ('C1#10' < 'C1#2'): each journey is a run of
        # events already in time order, so re-sorting the log moves whole runs.
        by_name = journeys.arg_sort().to_numpy()
        moved = _move_runs(starts.to_numpy(), lengths, by_name)
        order, times = order.gather(moved), np.take(times, moved.to_numpy())
        timeline = _in_order(timeline.drop(TIMESTAMP), moved)
        timeline = timeline.with_columns(_time_column(times, events.schema[TIMESTAMP]))
        journeys, lengths = journeys.gather(by_name), lengths[by_name]
    # Output columns: the canonical four, the sources' attributes, then customer_id (when cut)
    # and source_id (with an identity table, unless dropped), as they always came.
    rest = [c for c in events.columns if c not in (CASE, ACTIVITY, TIMESTAMP, CHANNEL)]
    rest = [c for c in rest if c != CUSTOMER_ID or cut]
    rest = [c for c in rest if c != SOURCE_ID or identities is None or keep_source]
    rest += [
        c
        for c, wanted in ((CUSTOMER_ID, cut), (SOURCE_ID, keep_source))
        if wanted and c not in rest
    ]
    # Widest codes first: each goes once its column is built.
    dictionaries = {CASE: (_RUN, journeys)}
    if cut:
        dictionaries[CUSTOMER_ID] = (_CUSTOMER_CODE, names)
    if keep_source:
        dictionaries[SOURCE_ID] = (SOURCE_ID, source_names)
    for name, distinct_names in ((ACTIVITY, activities), (CHANNEL, channels)):
        if events.schema[name] == pl.String:  # else (an all-null channel) gathered as it is
            dictionaries[name] = (name, distinct_names)
    encoder = partial(
        encoded_view,
        case_lengths=lengths,
        case_ids=journeys,
        act=timeline.get_column(ACTIVITY),
        ts=times,
        channel=timeline.get_column(CHANNEL),
        activities=activities,
        channels=channels,
    )
    coded = {
        _ORDER: order,
        _RUN: _runs(lengths),
        **dict(zip(timeline.columns, timeline.get_columns(), strict=True)),
    }
    del order, timeline
    frame = _log_frame(events, [CASE, ACTIVITY, TIMESTAMP, CHANNEL, *rest], coded, dictionaries)
    log = EventLog.from_encoder(frame, encoder)
    report = StitchReport.counted(
        events=frame.height,
        customers=names.len(),
        journeys=journeys.len(),
        source_ids=source_ids,
        matched_ids=matched_ids,
        unmatched_events=unmatched_events,
        dropped_no_timestamp=dropped,
        identities=identities is not None,
    )
    return log, report


def cut_journeys(
    log: EventLog, *, gap: timedelta | None = DEFAULT_GAP, goals: Sequence[str] = ()
) -> EventLog:
    """Cut each case of `log` (taken as one customer's timeline) into journeys."""
    frame = log.frame.rename({CASE: CUSTOMER_ID})
    timeline = frame.select(
        pl.col(CUSTOMER_ID).rle_id().alias(_CUSTOMER_CODE),
        TIMESTAMP,
        *([pl.col(ACTIVITY).is_in(list(goals)).alias(_GOAL)] if goals else []),
    )
    names = frame.get_column(CUSTOMER_ID).gather(
        timeline.select(pl.col(_CUSTOMER_CODE).is_first_distinct().arg_true()).to_series()
    )
    starts = timeline.select(_journey_starts(gap, goals).arg_true()).to_series()
    journeys = _journey_names(
        timeline.get_column(_CUSTOMER_CODE), starts, names, gap is not None or bool(goals)
    )
    lengths = np.diff(starts.to_numpy(), append=frame.height).astype(np.int64)
    frame = frame.with_columns(journeys.gather(_runs(lengths)).alias(CASE))
    return EventLog(frame.select(CASE, *[c for c in frame.columns if c != CASE]))


def _customer_codes(
    source_names: pl.Series, source_code: pl.Series, identities: pl.DataFrame
) -> tuple[pl.Series, pl.Series, int, int]:
    """Customer names (sorted), each event's customer code, matched ids, unmatched events.

    The identity table is joined on the distinct source ids only, not on every event.
    """
    ids = source_names.to_frame(SOURCE_ID).join(
        identities, on=SOURCE_ID, how="left", maintain_order="left"
    )
    matched = ids.get_column(CUSTOMER_ID).is_not_null()
    customer_of_source = ids.select(pl.coalesce(CUSTOMER_ID, SOURCE_ID)).to_series()
    names = customer_of_source.unique().sort()
    code = customer_of_source.cast(pl.Enum(names)).to_physical().gather(source_code)
    unmatched_events = int(matched.not_().gather(source_code).sum())
    return names, code, int(matched.sum()), unmatched_events


def _timeline_order(code: pl.Series, timestamps: pl.Series) -> pl.Series:
    """Row positions in (customer code, timestamp, input position) order.

    Stable passes from the last key to the first: by timestamp (polars, stable), then by the
    customer code's low and high 16 bits (numpy's stable sort of 16-bit keys is a radix sort,
    O(n)). Faster than one sort on three keys, and its scratch arrays go back to the system
    at once instead of lingering in the allocator (the peak of an ingest is near the end).
    """
    by_time = (
        timestamps.to_frame(TIMESTAMP)
        .select(pl.arg_sort_by(TIMESTAMP, maintain_order=True))
        .to_series()
        .to_numpy()
    )
    codes = code.to_numpy()[by_time].astype(np.uint32, copy=False)
    shifts = (0, 16) if codes.size and int(codes.max()) >> 16 else (0,)
    order = by_time
    for i, shift in enumerate(shifts):
        step = np.argsort(((codes >> shift) & 0xFFFF).astype(np.uint16), kind="stable")
        order = order[step]
        if i + 1 < len(shifts):
            codes = codes[step]
    return pl.Series(order)


def _in_order(frame: pl.DataFrame, order: pl.Series) -> pl.DataFrame:
    """The integer columns of `frame` gathered by `order`.

    Columns without nulls are gathered by numpy, into arrays that polars wraps without a copy:
    they go back to the system as soon as they are dropped, where polars' allocator would
    keep them a while (and an ingest peaks right after these are dropped).
    """
    positions = order.to_numpy()
    return pl.DataFrame(
        [
            pl.Series(column.name, column.to_numpy()[positions])
            if column.null_count() == 0 and column.dtype.is_integer()
            else column.gather(order)
            for column in frame.get_columns()
        ]
    )


def _gather_times(timestamps: pl.Series, order: pl.Series) -> np.ndarray:
    """The physical (int64) values of `timestamps` in `order`, as a new writable array.

    numpy's take: polars' gather from a column of many chunks (a streamed read) is slow, and
    numpy's scratch copy goes back to the system when freed.
    """
    chunks = [chunk.to_numpy() for chunk in timestamps.to_physical().get_chunks()]
    values = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    return np.take(values, order.to_numpy())


def _time_column(values: np.ndarray, dtype: pl.DataType) -> pl.Series:
    """A timestamp column over `values` without copying them."""
    return pl.Series(TIMESTAMP, values).cast(dtype)


def _journey_starts(gap: timedelta | None, goals: Sequence[str]) -> pl.Expr:
    """True where a journey starts, in a frame sorted by (customer code, timestamp)."""
    code = pl.col(_CUSTOMER_CODE)
    new = code.ne_missing(code.shift(1)).fill_null(True)
    if gap is not None:
        new = new | ((pl.col(TIMESTAMP) - pl.col(TIMESTAMP).shift(1)) >= gap).fill_null(True)
    if goals:
        new = new | pl.col(_GOAL).shift(1).fill_null(False)
    return new


def _journey_names(codes: pl.Series, starts: pl.Series, names: pl.Series, cut: bool) -> pl.Series:
    """One id per journey: `<customer>#<n>`, n counting a customer's journeys from 1."""
    customer = codes.gather(starts)
    if not cut:
        return names.gather(customer).alias(CASE)
    position = pl.int_range(pl.len(), dtype=pl.Int64)
    first = pl.col(_CUSTOMER_CODE).ne_missing(pl.col(_CUSTOMER_CODE).shift(1)).fill_null(True)
    number = position - pl.when(first).then(position).otherwise(None).forward_fill() + 1
    return (
        customer.to_frame(_CUSTOMER_CODE)
        .select(
            pl.concat_str(
                [pl.lit(names).gather(pl.col(_CUSTOMER_CODE)), pl.lit("#"), number.cast(pl.String)]
            ).alias(CASE)
        )
        .to_series()
    )


def _runs_in_order(journeys: pl.Series) -> bool:
    if journeys.len() < 2:
        return True
    return bool((journeys.shift(1) <= journeys).fill_null(True).all())


def _move_runs(starts: np.ndarray, lengths: np.ndarray, by_name: np.ndarray) -> pl.Series:
    """Positions that put the runs (`starts`, `lengths`) in the order `by_name`."""
    lengths = lengths[by_name]
    new_starts = np.cumsum(lengths) - lengths
    shift = np.repeat(starts[by_name].astype(np.int64) - new_starts, lengths)
    return pl.Series((np.arange(shift.size, dtype=np.int64) + shift).astype(np.uint32))


def _runs(lengths: np.ndarray) -> pl.Series:
    """Run number of each event: 0 for the first `lengths[0]` events, then 1, ..."""
    return pl.Series(_RUN, np.repeat(np.arange(lengths.size, dtype=np.uint32), lengths))


def _log_frame(
    events: pl.DataFrame,
    columns: Sequence[str],
    coded: dict[str, pl.Series],
    dictionaries: dict[str, tuple[str, pl.Series]],
) -> pl.DataFrame:
    """The stitched frame's `columns`, in log order, built one at a time.

    `coded` holds columns already in log order: the timestamp, integer codes, and the row
    order of `events` under `_ORDER`. It is emptied as they are used, so that each goes as
    soon as its column is built (the peak of an ingest is here). A column named in
    `dictionaries` is (codes column, sorted names); any other is gathered from `events`.
    """
    built = {TIMESTAMP: coded.pop(TIMESTAMP)}
    order = coded.pop(_ORDER)
    for name in columns:
        if name not in built and name not in dictionaries:
            # A gather from many chunks is several times slower than a copy, then a gather.
            built[name] = events.get_column(name).rechunk().gather(order)
    del order
    for name, (codes, names) in dictionaries.items():
        built[name] = names.gather(coded.pop(codes)).alias(name)
    return pl.DataFrame([built[name] for name in columns])
