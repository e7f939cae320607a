"""Partitions of a log: what the engine's partial -> merge -> finish plans run over.

A log is split by a hash of its case id (the customer's id in a stitched log), so a journey
never spans two partitions. Each partition is an `EncodedLog` in canonical order (case, time,
input order) whose activity and channel codes point into the log's *global* dictionaries
(`Parts.activities`, `Parts.channels`), so partials of different partitions speak the same
codes and merge without translation.

`Parts` is the one interface: an in-memory log split here (`split_log`), a stored partitioned
dataset (`miner.engine.dataset`), later a cluster's view of the same files. Loading partition
`i` is all an executor asks of it; nothing else is held between partitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import polars as pl

from ..log import CASE, EncodedLog, EventLog
from .hashing import part_of_keys


class Parts(Protocol):
    """The partitions of one log, loadable one at a time."""

    @property
    def activities(self) -> tuple[str, ...]:
        """Global activity dictionary (sorted names); partitions' `act` codes index it."""
        ...

    @property
    def channels(self) -> tuple[str, ...]:
        """Global channel dictionary (sorted names); -1 is an unknown channel."""
        ...

    @property
    def n_parts(self) -> int:
        """How many partitions there are (at least 1)."""
        ...

    def load(self, i: int) -> EncodedLog:
        """Partition `i` (0 <= i < n_parts), encoded in the global dictionaries."""
        ...


@dataclass(frozen=True)
class MemoryParts:
    """An in-memory log seen as `n_parts` partitions by a hash of the case id."""

    log: EventLog
    n_parts: int = 1

    @property
    def activities(self) -> tuple[str, ...]:
        """The log's activity dictionary."""
        return self.log.encoded.activities

    @property
    def channels(self) -> tuple[str, ...]:
        """The log's channel dictionary."""
        return self.log.encoded.channels

    @property
    def columns(self) -> tuple[str, ...]:
        """The log's columns, as `frame` has them."""
        return tuple(self.log.frame.columns)

    def summary(self) -> dict[str, Any]:
        """The log's `EventLog.summary` (its time range: the comparison's `as_of`)."""
        return self.log.summary()

    def load(self, i: int) -> EncodedLog:
        """Partition `i`: the cases whose id hashes to `i`, in log order."""
        enc = self.log.encoded
        if self.n_parts == 1:
            return enc
        return select_cases(enc, self._cases(i))

    def frame(self, i: int, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The frame rows of partition `i` (only `columns` when given), in log order."""
        frame = self.log.frame if columns is None else self.log.frame.select(columns)
        if self.n_parts == 1:
            return frame
        return frame[case_rows(self.log.encoded.offsets, self._cases(i))]

    def _cases(self, i: int) -> np.ndarray:
        return np.flatnonzero(_part_of_cases(self.log.encoded.case_names, self.n_parts) == i)


def split_log(log: EventLog, n_parts: int = 1) -> MemoryParts:
    """View `log` as `n_parts` hash partitions (1: the log itself, nothing copied)."""
    if n_parts < 1:
        raise ValueError(f"n_parts must be at least 1, found {n_parts}")
    return MemoryParts(log, n_parts)


def _part_of_cases(case_ids: pl.Series, n_parts: int) -> np.ndarray:
    # The stable hash a stored dataset partitions by (FNV-1a of the UTF-8 bytes, then mixed):
    # the same in every run and polars version.
    return part_of_keys(case_ids, n_parts)


def select_cases(enc: EncodedLog, cases: np.ndarray) -> EncodedLog:
    """The encoded log of the cases at positions `cases` (ascending), in the same dictionaries."""
    offsets = np.zeros(cases.size + 1, dtype=np.int64)
    np.cumsum(np.diff(enc.offsets)[cases], out=offsets[1:])
    return _take(enc, case_rows(enc.offsets, cases), cases, offsets)


def select_events(enc: EncodedLog, rows: np.ndarray) -> EncodedLog:
    """The encoded log of the events at `rows` (ascending), in the same dictionaries; a case
    left without events vanishes."""
    case_of = np.searchsorted(enc.offsets, rows, side="right") - 1
    counts = np.bincount(case_of, minlength=enc.n_cases)
    cases = np.flatnonzero(counts)
    offsets = np.zeros(cases.size + 1, dtype=np.int64)
    np.cumsum(counts[cases], out=offsets[1:])
    return _take(enc, rows, cases, offsets)


def _take(enc: EncodedLog, rows: np.ndarray, cases: np.ndarray, offsets: np.ndarray) -> EncodedLog:
    """The events at `rows` of the cases at `cases`, laid out by `offsets`."""
    return EncodedLog(
        offsets=offsets,
        act=np.ascontiguousarray(enc.act[rows]),
        ts=np.ascontiguousarray(enc.ts[rows]),
        channel=np.ascontiguousarray(enc.channel[rows]),
        activities=enc.activities,
        channels=enc.channels,
        case_names=enc.case_names.gather(cases).alias(CASE),
        start=None if enc.start is None else np.ascontiguousarray(enc.start[rows]),
    )


def moment(us: int) -> datetime:
    """The aware UTC moment of `us` microseconds since 1970 (a partition's `ts` unit)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def case_rows(offsets: np.ndarray, cases: np.ndarray) -> np.ndarray:
    """The event rows of the cases at positions `cases` (ascending), end to end."""
    lengths = np.diff(offsets)[cases]
    starts = np.zeros(cases.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    return np.repeat(offsets[:-1][cases] - starts[:-1], lengths) + np.arange(
        starts[-1], dtype=np.int64
    )
