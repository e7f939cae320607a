"""The EventLog: the one canonical form of events, and its encoded view for the kernels.

Canonical frame: `case_id: str, activity: str, timestamp: Datetime[us, UTC], channel: str|null`
plus kept attributes, sorted stably by (case_id, timestamp): events with equal timestamps
keep their input order, which is pm4py's rule too. An interval log (calls, visits, tasks)
also has `start_timestamp: Datetime[us, UTC]`; `timestamp` is then the complete time, and
still the one events are ordered by.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ._typing import Ambiguous
from .errors import EmptySourceError, MissingColumnError, SourceError
from .files import atomic_write_parquet
from .ingest.timestamps import parse_timestamps
from .ingest.zones import UTC

CASE = "case_id"
ACTIVITY = "activity"
TIMESTAMP = "timestamp"
CHANNEL = "channel"
START = "start_timestamp"  # pm4py's name for the start time of an interval event
CANONICAL = (CASE, ACTIVITY, TIMESTAMP, CHANNEL)
TS_DTYPE = pl.Datetime("us", UTC)
NO_CHANNEL = -1
# Written into the Parquet footer of a canonical log, so reading it back skips the sort check.
SORTED_KEY = "journeyminer.sorted"
SORTED_VALUE = "case_id,timestamp,input-order"
_ENCODER = "_encoder"  # where `EventLog.from_encoder` keeps its builder until first use


@dataclass(frozen=True, eq=False)
class EncodedLog:
    """Plain numpy arrays the kernels work on; events of case i are `offsets[i]:offsets[i+1]`.

    The arrays are writable only so that numba compiles one flavour; nothing writes to them
    (`ts` may be the very buffer under the log's timestamp column). The case ids stay a polars
    Series (`case_names`); `case_ids` turns them into Python strings only when asked.
    """

    offsets: np.ndarray  # int64[n_cases + 1]
    act: np.ndarray  # int32[n_events], codes into `activities`
    ts: np.ndarray  # int64[n_events], microseconds since the epoch (UTC)
    channel: np.ndarray  # int8[n_events], codes into `channels`, -1 when unknown
    activities: tuple[str, ...]  # sorted, so codes are deterministic
    channels: tuple[str, ...]  # sorted
    case_names: pl.Series  # String[n_cases], the case ids in log order
    start: np.ndarray | None = None  # int64[n_events] start times (µs) of an interval log

    @cached_property
    def case_ids(self) -> np.ndarray:
        """object[n_cases] of str, in log order; built on first use (millions of Python strings)."""
        return self.case_names.to_numpy().astype(object)

    @property
    def n_cases(self) -> int:
        """Number of cases (journeys)."""
        return len(self.offsets) - 1

    @property
    def n_events(self) -> int:
        """Number of events."""
        return len(self.act)


class EventLog:
    """Events of many cases in canonical, sorted form, with a lazily built encoded view."""

    __slots__ = ("__dict__", "_frame")

    def __init__(self, frame: pl.DataFrame, *, is_sorted: bool = False) -> None:
        """Wrap a canonical frame; sorts it stably unless the caller says it already is."""
        _check_canonical(frame)
        if not is_sorted:
            frame = sort_events(frame)
        self._frame = frame

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_encoder(cls, frame: pl.DataFrame, encoder: Callable[[], EncodedLog]) -> EventLog:
        """Wrap a sorted canonical frame whose encoded view `encoder()` builds on first use.

        Stitching has the codes at hand, so encoding the frame again would be wasted; building
        the view lazily keeps its arrays out of the ingest's peak (the sources are gone by then).
        """
        log = cls(frame, is_sorted=True)
        log.__dict__[_ENCODER] = encoder
        return log

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        *,
        case: str = CASE,
        activity: str = ACTIVITY,
        timestamp: str = TIMESTAMP,
        channel: str | None = None,
        keep: list[str] | None = None,
        timestamp_format: str | None = None,
        timezone: str = UTC,
        ambiguous: Ambiguous = "earliest",
        file: str | None = None,
        start_timestamp: str | None = None,
    ) -> EventLog:
        """Build an EventLog from any frame by naming its case, activity and timestamp columns
        (and `start_timestamp`, the start time of interval events)."""
        return cls(
            canonical_frame(
                frame,
                case=case,
                activity=activity,
                timestamp=timestamp,
                channel=channel,
                keep=keep,
                timestamp_format=timestamp_format,
                timezone=timezone,
                ambiguous=ambiguous,
                file=file,
                start_timestamp=start_timestamp,
            )
        )

    @classmethod
    def read_parquet(cls, path: str | Path) -> EventLog:
        """Read a log written by `write_parquet` (or `journeyminer ingest`)."""
        try:
            frame = pl.read_parquet(path)
            marked = pl.read_parquet_metadata(path).get(SORTED_KEY) == SORTED_VALUE
        except Exception as exc:
            raise SourceError(f"cannot read Parquet log: {exc}", file=Path(path).name) from exc
        return cls(frame, is_sorted=marked or _is_sorted(frame))

    def write_parquet(self, path: str | Path) -> Path:
        """Write the canonical frame atomically (temp file in the same folder, then rename)."""
        return atomic_write_parquet(self._frame, path, metadata={SORTED_KEY: SORTED_VALUE})

    # -- views ----------------------------------------------------------------------
    @property
    def frame(self) -> pl.DataFrame:
        """The canonical, sorted polars frame."""
        return self._frame

    @property
    def n_events(self) -> int:
        """Number of events."""
        return self._frame.height

    @property
    def n_cases(self) -> int:
        """Number of cases (journeys)."""
        return self.encoded.n_cases

    @property
    def activities(self) -> tuple[str, ...]:
        """Sorted distinct activity names."""
        return self.encoded.activities

    @property
    def channels(self) -> tuple[str, ...]:
        """Sorted distinct channel names."""
        return self.encoded.channels

    @property
    def attributes(self) -> list[str]:
        """Kept attribute columns beyond the canonical four (and the start time)."""
        return [c for c in self._frame.columns if c not in CANONICAL and c != START]

    @property
    def has_intervals(self) -> bool:
        """Whether events carry a start time (an interval log)."""
        return START in self._frame.columns

    @cached_property
    def encoded(self) -> EncodedLog:
        """The encoded view for the kernels, built once on first use (O(n_events), no loops)."""
        encoder = self.__dict__.pop(_ENCODER, None)
        enc = encoder() if encoder is not None else encode(self._frame)
        if enc.start is None and self.has_intervals:
            # Stitching's encoder knows nothing of start times; they follow the frame's order.
            enc = replace(enc, start=_start_array(self._frame))
        return enc

    def time_range(self) -> tuple[Any, Any]:
        """First and last timestamp in the log (None, None when empty)."""
        ts = self._frame.get_column(TIMESTAMP)
        return ts.min(), ts.max()

    def summary(self) -> dict[str, Any]:
        """Counts and ranges a person wants first: events, cases, activities, channels, dates."""
        first, last = self.time_range()
        return {
            "events": self.n_events,
            "cases": self.n_cases,
            "activities": len(self.activities),
            "channels": list(self.channels),
            "start": first.isoformat() if first is not None else None,
            "end": last.isoformat() if last is not None else None,
        }

    def __len__(self) -> int:
        return self.n_events

    def __repr__(self) -> str:
        return f"EventLog(events={self.n_events}, cases={self.n_cases}, activities={len(self.activities)})"


def canonical_frame(
    frame: pl.DataFrame,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = TIMESTAMP,
    channel: str | None = None,
    channel_value: str | None = None,
    keep: list[str] | None = None,
    timestamp_format: str | None = None,
    timezone: str = UTC,
    ambiguous: Ambiguous = "earliest",
    file: str | None = None,
    start_timestamp: str | None = None,
) -> pl.DataFrame:
    """Select and type the canonical columns of `frame` (unsorted); errors name file and column.

    With `start_timestamp`, the events are intervals: that column (parsed like `timestamp`)
    becomes `start_timestamp`, and `timestamp` is the complete time."""
    if frame.height == 0:
        raise EmptySourceError("the source holds no events", file=file)
    named = (case, activity, timestamp, channel, start_timestamp)
    keep = [k for k in (keep or []) if k not in named]
    for role, col in (
        ("case", case),
        ("activity", activity),
        ("timestamp", timestamp),
        ("channel", channel),
        ("start timestamp", start_timestamp),
    ):
        if col is not None and col not in frame.columns:
            raise MissingColumnError(
                f"the {role} column {col!r} is not in the file",
                file=file,
                column=col,
                expected=f"a column named {col!r}",
                found=", ".join(frame.columns[:20]) or "no columns",
            )
    for col in keep:
        if col not in frame.columns:
            raise MissingColumnError(
                f"the attribute column {col!r} to keep is not in the file",
                file=file,
                column=col,
                expected=f"a column named {col!r}",
                found=", ".join(frame.columns[:20]),
            )
    ts = parse_timestamps(
        frame.get_column(timestamp),
        fmt=timestamp_format,
        timezone=timezone,
        ambiguous=ambiguous,
        file=file,
        column=timestamp,
    )
    if channel is not None:
        channel_expr = pl.col(channel).cast(pl.String)
    else:
        channel_expr = pl.lit(channel_value, dtype=pl.String)
    for role, col in (("case", case), ("activity", activity), ("channel", channel)):
        if col is not None and frame.schema[col].is_nested():  # a list or struct has no text
            raise SourceError(
                f"the {role} column {col!r} holds {frame.schema[col]} values, not text",
                file=file,
                column=col,
                expected="text or numbers",
                found=str(frame.schema[col]),
            )
    reserved = [k for k in keep if k in CANONICAL]
    if reserved:
        raise MissingColumnError(
            f"attribute {reserved[0]!r} clashes with a canonical column name",
            file=file,
            column=reserved[0],
            expected="a kept attribute other than case_id, activity, timestamp, channel",
        )
    starts: list[pl.Series] = []
    if start_timestamp is not None:
        start = parse_timestamps(
            frame.get_column(start_timestamp),
            fmt=timestamp_format,
            timezone=timezone,
            file=file,
            column=start_timestamp,
        )
        check_intervals(start, ts, file=file, column=start_timestamp)
        starts.append(start.alias(START))
    out = frame.select(
        pl.col(case).cast(pl.String).alias(CASE),
        pl.col(activity).cast(pl.String).alias(ACTIVITY),
        ts.alias(TIMESTAMP),
        channel_expr.alias(CHANNEL),
        *starts,
        *[pl.col(k) for k in keep],
    )
    return out


def check_intervals(
    start: pl.Series, complete: pl.Series, *, file: str | None = None, column: str = START
) -> None:
    """Raise SourceError at the first row whose start time lies after its complete time."""
    late = (start > complete).fill_null(False)
    if not late.any():
        return
    row = int(late.arg_max() or 0)
    raise SourceError(
        f"row {row + 1} starts after it completes ({int(late.sum())} rows do)",
        file=file,
        row=row + 1,
        column=column,
        expected=f"a start time at or before the complete time {complete[row]}",
        found=str(start[row]),
    )


ROW = "__row"


def sort_events(frame: pl.DataFrame, *, by: str = CASE) -> pl.DataFrame:
    """Stable sort by (`by`, timestamp): equal timestamps keep their input order.

    The input position is an explicit last key: polars' `maintain_order=True` gives the same
    order but is slower on large frames. (Sorting on the rank of each case id among the
    distinct ids instead was slower on a quiet machine: the Enum cast costs more than it saves.)
    """
    ordered = frame.with_row_index(ROW).sort([by, TIMESTAMP, ROW])
    return ordered.drop(ROW)


def encode(frame: pl.DataFrame) -> EncodedLog:
    """Build the kernels' arrays from a sorted canonical frame in O(n_events)."""
    if frame.height == 0:
        return EncodedLog(
            offsets=np.zeros(1, dtype=np.int64),
            act=np.zeros(0, dtype=np.int32),
            ts=np.zeros(0, dtype=np.int64),
            channel=np.zeros(0, dtype=np.int8),
            activities=(),
            channels=(),
            case_names=pl.Series(CASE, [], dtype=pl.String),
            start=np.zeros(0, dtype=np.int64) if START in frame.columns else None,
        )
    # One pass for the distinct names and the case runs, so polars runs the three side by side.
    first = frame.select(
        pl.col(ACTIVITY).unique().drop_nulls().sort().implode(),
        pl.col(CHANNEL).unique().drop_nulls().sort().implode(),
        pl.col(CASE).rle().implode(),
    )
    activities = pl.Series(ACTIVITY, first.item(0, ACTIVITY), dtype=pl.String)
    channels = pl.Series(CHANNEL, first.item(0, CHANNEL), dtype=pl.String)
    check_channels(channels)
    runs = first.select(pl.col(CASE).explode()).unnest(CASE)
    codes = frame.select(
        pl.col(ACTIVITY).cast(pl.Enum(activities)).to_physical(),
        pl.col(CHANNEL).cast(pl.Enum(channels)).to_physical(),
    )
    return encoded_view(
        case_lengths=runs.get_column("len").to_numpy(),
        case_ids=runs.get_column("value"),
        act=codes.get_column(ACTIVITY),
        ts=_kernel_array(
            frame.get_column(TIMESTAMP).dt.cast_time_unit("us").dt.epoch("us"), np.int64
        ),
        channel=codes.get_column(CHANNEL),
        activities=activities,
        channels=channels,
    )


def _start_array(frame: pl.DataFrame) -> np.ndarray:
    start = frame.get_column(START).dt.cast_time_unit("us").dt.epoch("us")
    return _kernel_array(start, np.int64)


def check_channels(channels: pl.Series) -> None:
    """Raise SourceError when there are more distinct channels than the int8 codes hold."""
    if channels.len() > 127:
        raise SourceError(
            f"{channels.len()} distinct channels; journeyminer supports at most 127",
            column=CHANNEL,
            expected="at most 127 channels (web, call_center, crm, ...)",
        )


def encoded_view(
    *,
    case_lengths: np.ndarray,
    case_ids: pl.Series,
    act: pl.Series,
    ts: np.ndarray,
    channel: pl.Series,
    activities: pl.Series,
    channels: pl.Series,
) -> EncodedLog:
    """The encoded view from codes already in log order.

    `case_lengths[i]` events of case `case_ids[i]` follow one another; `act` and `channel` are
    integer codes into the sorted `activities` and `channels` (a null channel becomes -1);
    `ts` holds int64 microseconds since the epoch and is used as it is (stitching passes the
    array under the frame's timestamp column). The codes are copied for the kernels.
    """
    offsets = np.zeros(len(case_lengths) + 1, dtype=np.int64)
    np.cumsum(case_lengths, out=offsets[1:])
    return EncodedLog(
        offsets=offsets,
        act=_kernel_array(act, np.int32),
        ts=ts,
        channel=_kernel_array(channel.cast(pl.Int8).fill_null(NO_CHANNEL), np.int8),
        activities=tuple(activities.to_list()),
        channels=tuple(channels.to_list()),
        case_names=case_ids.alias(CASE),
    )


def _kernel_array(values: pl.Series, dtype: type) -> np.ndarray:
    # Always C-contiguous and writeable: numba compiles (and caches) one specialisation per
    # array flavour, and zero-copy views out of polars are read-only only for some chunkings.
    return np.require(values.to_numpy(), dtype=dtype, requirements=["C", "W"])


def _check_canonical(frame: pl.DataFrame) -> None:
    missing = [c for c in CANONICAL if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"not a canonical event log: missing {', '.join(missing)}",
            column=missing[0],
            expected="columns case_id, activity, timestamp, channel",
            found=", ".join(frame.columns[:20]),
        )
    for name in (TIMESTAMP, START) if START in frame.columns else (TIMESTAMP,):
        dtype = frame.schema[name]
        if not (
            isinstance(dtype, pl.Datetime) and dtype.time_zone == UTC and dtype.time_unit == "us"
        ):
            raise SourceError(
                f"the {name} column must be Datetime[us, UTC]",
                column=name,
                expected="Datetime[us, UTC]",
                found=str(dtype),
            )


def _is_sorted(frame: pl.DataFrame) -> bool:
    # A cheap check: a vectorised comparison of each row with the previous one.
    if frame.height < 2:
        return True
    prev_case = pl.col(CASE).shift(1)
    prev_ts = pl.col(TIMESTAMP).shift(1)
    bad = frame.select(
        (
            (pl.col(CASE) < prev_case)
            | ((pl.col(CASE) == prev_case) & (pl.col(TIMESTAMP) < prev_ts))
        ).any()
    ).item()
    return not bool(bad)
