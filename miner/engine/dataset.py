"""A stored log: partitions of encoded events, the dictionaries and a manifest, in one folder.

```
LOG/manifest.json         counts, time range, dictionaries, columns, settings (`manifest`)
LOG/part-00000.parquet    per event, in (case, time, input order): act Int32 (code into the
                          manifest's activities), channel Int8 (code into its channels, -1
                          unknown), ts Int64 (µs UTC), start Int64 (interval logs only), and
                          each kept attribute as `attr:NAME` (its own dtype)
LOG/cases-00000.parquet   per case, in log order: case_id String, events Int64
```
A case lies in partition `hash(key) % n_parts` (`hashing.part_of_keys`), its key being the
customer id in a stitched log (the `customer_id` column; all journeys of a customer together,
so an append finds them) and the case id otherwise: a journey never spans two partitions.
`load(i)` is two column reads: the case's events run `offsets[j]:offsets[j + 1]` with
`offsets = [0, *cumsum(events)]`. `write_dataset` builds the folder beside `path` and renames
it into place only when complete.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import InputError, SourceError
from ..log import (
    ACTIVITY,
    CASE,
    CHANNEL,
    NO_CHANNEL,
    START,
    TIMESTAMP,
    TS_DTYPE,
    EncodedLog,
    EventLog,
)
from .hashing import HASH_RULE, part_of_keys
from .manifest import MANIFEST, SCHEMA_VERSION, Manifest, PartInfo

EVENTS_PER_PART = 2_000_000  # the default partition size: n_parts = ceil(n_events / this)
CUSTOMER = "customer_id"  # a stitched log's customer column: the partition key when present
ACT, CHANNEL_CODE, TS, START_TS, EVENTS = "act", "channel", "ts", "start", "events"
ATTR = "attr:"  # prefix of kept attributes in a partition file (no clash with the codes)


def default_parts(n_events: int) -> int:
    """How many partitions a log of `n_events` gets unless told: one per 2 million events."""
    return max(1, math.ceil(n_events / EVENTS_PER_PART))


def is_dataset(path: str | Path) -> bool:
    """Whether `path` is a folder holding a dataset manifest."""
    return (Path(path) / MANIFEST).is_file()


def write_dataset(
    log: EventLog,
    path: str | Path,
    *,
    n_parts: int | None = None,
    settings: dict[str, Any] | None = None,
) -> Path:
    """Write `log` as a dataset folder at `path`, atomically: a dataset already there is
    replaced only once the new one is complete; on any error nothing at `path` changes.

    `n_parts` defaults to `default_parts(log.n_events)`; `settings` (JSON-ready, e.g. how it
    was stitched) is kept in the manifest.
    """
    path = Path(path)
    n_parts = default_parts(log.n_events) if n_parts is None else n_parts
    check_target(path, n_parts)
    tmp = new_folder(path)
    try:
        manifest = _write_parts(log, tmp, n_parts, settings or {})
        install_folder(tmp, path, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def new_folder(path: Path) -> Path:
    """An empty folder beside `path` to build a dataset in (`install_folder` moves it there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))


def install_folder(tmp: Path, path: Path, manifest: Manifest) -> None:
    """Write `manifest` last into the finished folder `tmp`, sync it, rename it to `path`."""
    _write_synced(tmp / MANIFEST, lambda p: p.write_text(manifest.to_json(), encoding="utf-8"))
    _fsync_dir(tmp)
    _install(tmp, path)


def write_partition(
    folder: Path, i: int, coded: pl.DataFrame, case_names: pl.Series, lengths: np.ndarray
) -> PartInfo:
    """Write partition `i`'s event rows (`coded_events`) and case file into `folder`."""
    info = PartInfo(
        file=f"part-{i:05d}.parquet",
        cases_file=f"cases-{i:05d}.parquet",
        events=coded.height,
        cases=case_names.len(),
    )
    _write_parquet(coded, folder / info.file)
    case_rows = pl.DataFrame(
        {CASE: case_names, EVENTS: lengths.astype(np.int64)},
        schema={CASE: pl.String, EVENTS: pl.Int64},
    )
    _write_parquet(case_rows, folder / info.cases_file)
    return info


def _write_parts(log: EventLog, folder: Path, n_parts: int, settings: dict[str, Any]) -> Manifest:
    frame, enc = log.frame, log.encoded
    attributes = log.attributes
    lengths = np.diff(enc.offsets)
    key = CUSTOMER if customer_keyed(frame) else CASE
    keys = enc.case_names if key == CASE else frame.get_column(CUSTOMER).gather(enc.offsets[:-1])
    part = part_of_keys(keys, n_parts)
    # Cases and events grouped by partition; a stable sort keeps log order within each.
    case_order = np.argsort(part, kind="stable")
    event_order = np.argsort(np.repeat(part, lengths), kind="stable")
    bounds = np.searchsorted(part[case_order], np.arange(n_parts + 1))
    event_bounds = np.zeros(n_parts + 1, dtype=np.int64)
    np.cumsum(np.bincount(part, weights=lengths, minlength=n_parts), out=event_bounds[1:])
    coded = coded_events(frame, enc.activities, enc.channels, attributes)
    parts = []
    for i in range(n_parts):
        cases = case_order[bounds[i] : bounds[i + 1]]
        rows = event_order[event_bounds[i] : event_bounds[i + 1]]
        names = enc.case_names.gather(cases)
        parts.append(write_partition(folder, i, coded[rows], names, lengths[cases]))
    first, last = log.time_range()
    return Manifest(
        n_events=log.n_events,
        n_cases=enc.n_cases,
        start=first.isoformat() if first is not None else None,
        end=last.isoformat() if last is not None else None,
        activities=enc.activities,
        channels=enc.channels,
        has_intervals=log.has_intervals,
        columns=tuple(frame.columns),
        attributes={a: str(frame.schema[a]) for a in attributes},
        partition_key=key,
        hash=HASH_RULE,
        parts=tuple(parts),
        settings=settings,
    )


def customer_keyed(frame: pl.DataFrame) -> bool:
    """Whether `frame`'s cases are partitioned by their customer_id column (else by case id)."""
    # Stitching writes customer_id (text, never null) beside each journey's case id.
    return (
        CUSTOMER in frame.columns
        and frame.schema[CUSTOMER] == pl.String
        and (frame.get_column(CUSTOMER).null_count() == 0)
    )


def coded_events(
    frame: pl.DataFrame,
    activities: tuple[str, ...],
    channels: tuple[str, ...],
    attributes: list[str],
) -> pl.DataFrame:
    """Per event of the canonical `frame`, in its order: the codes into the sorted
    dictionaries `activities` and `channels`, µs times and the attributes as stored."""
    acts = pl.Enum(list(activities))
    chans = pl.Enum(list(channels))
    starts = [pl.col(START).dt.epoch("us").alias(START_TS)] if START in frame.columns else []
    return frame.select(
        pl.col(ACTIVITY).cast(acts).to_physical().cast(pl.Int32).alias(ACT),
        pl.col(CHANNEL).cast(chans).to_physical().cast(pl.Int8).fill_null(NO_CHANNEL),
        pl.col(TIMESTAMP).dt.epoch("us").alias(TS),
        *starts,
        *[pl.col(a).alias(ATTR + a) for a in attributes],
    ).rename({CHANNEL: CHANNEL_CODE})


def check_target(path: Path, n_parts: int | None = None) -> None:
    """InputError unless a dataset of `n_parts` partitions may be written at `path`: nothing is
    there, an empty folder or a dataset (replaced); never a file or another folder."""
    if n_parts is not None and n_parts < 1:
        raise InputError(
            f"a dataset needs at least 1 partition, found {n_parts}",
            column="--partitions",
            expected="1 or more",
            found=str(n_parts),
        )
    if not path.exists() or is_dataset(path):
        return
    if path.is_dir() and not any(path.iterdir()):
        return
    raise InputError(
        f"{path.name} exists and is not a stored dataset; it is left alone",
        file=path.name,
        expected="a new path, an empty folder or a dataset folder to replace",
        found="a file" if path.is_file() else "a folder with other files",
    )


def _install(tmp: Path, path: Path) -> None:
    """Rename the finished `tmp` to `path`; a dataset there moves aside first, then goes."""
    if not path.exists():
        os.replace(tmp, path)
        return
    old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    _write_synced(path, lambda p: frame.write_parquet(p, statistics=True))


def _write_synced(path: Path, write: Any) -> None:
    write(path)
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A stored dataset opened for reading: the engine's `Parts`, and the whole log on demand."""

    path: Path
    manifest: Manifest

    @property
    def activities(self) -> tuple[str, ...]:
        """Global activity dictionary (sorted); the partitions' `act` codes index it."""
        return self.manifest.activities

    @property
    def channels(self) -> tuple[str, ...]:
        """Global channel dictionary (sorted); -1 is an unknown channel."""
        return self.manifest.channels

    @property
    def n_parts(self) -> int:
        """How many partitions."""
        return self.manifest.n_parts

    @property
    def has_intervals(self) -> bool:
        """Whether events carry start times (as `EventLog.has_intervals`)."""
        return self.manifest.has_intervals

    def summary(self) -> dict[str, Any]:
        """What `EventLog.summary` says of the same log, from the manifest alone."""
        m = self.manifest
        return {
            "events": m.n_events,
            "cases": m.n_cases,
            "activities": len(m.activities),
            "channels": list(m.channels),
            "start": m.start,
            "end": m.end,
        }

    def load(self, i: int) -> EncodedLog:
        """Partition `i` for the kernels: column reads, no strings hashed or encoded."""
        info = self._part(i)
        columns = [ACT, CHANNEL_CODE, TS] + ([START_TS] if self.manifest.has_intervals else [])
        events = self.read_file(info.file, columns, info.events)
        cases = self.read_file(info.cases_file, [CASE, EVENTS], info.cases)
        offsets = np.zeros(info.cases + 1, dtype=np.int64)
        np.cumsum(cases.get_column(EVENTS).to_numpy(), out=offsets[1:])
        start = _array(events, START_TS, np.int64) if self.manifest.has_intervals else None
        return EncodedLog(
            offsets=offsets,
            act=_array(events, ACT, np.int32),
            ts=_array(events, TS, np.int64),
            channel=_array(events, CHANNEL_CODE, np.int8),
            activities=self.activities,
            channels=self.channels,
            case_names=cases.get_column(CASE),
            start=start,
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """The log's columns (canonical ones and kept attributes), as `frame` has them."""
        return self.manifest.columns

    def frame(self, i: int, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The canonical frame of partition `i` (attributes included), in log order; only the
        case id, activity and kept attributes named in `columns` when given (fewer reads)."""
        if columns is None:
            return self._frame(i)[0]
        kept = [c for c in columns if c not in (CASE, ACTIVITY)]
        # A canonical time or channel column is read from its stored column and decoded as
        # `decode` decodes it; any other column must be a kept attribute.
        stored = {TIMESTAMP: TS, CHANNEL: CHANNEL_CODE}
        if self.manifest.has_intervals:
            stored[START] = START_TS
        if any(c not in self.manifest.attributes and c not in stored for c in kept):
            return self._frame(i)[0].select(columns)
        info = self._part(i)
        read = [stored.get(c, ATTR + c) for c in kept]
        events = self.read_file(info.file, [ACT, *read], info.events)
        built = {c: self._decoded(events, c, stored.get(c)) for c in kept}
        if CASE in columns:
            cases = self.read_file(info.cases_file, [CASE, EVENTS], info.cases)
            case_of = np.repeat(np.arange(cases.height), cases.get_column(EVENTS).to_numpy())
            built[CASE] = cases.get_column(CASE).gather(case_of).alias(CASE)
        if ACTIVITY in columns:
            acts = pl.Series(ACTIVITY, self.activities, dtype=pl.String)
            built[ACTIVITY] = acts.gather(events.get_column(ACT)).alias(ACTIVITY)
        return pl.DataFrame([built[c] for c in columns])

    def _decoded(self, events: pl.DataFrame, column: str, stored: str | None) -> pl.Series:
        """Column `column` of a frame from the stored `events` (a kept attribute when
        `stored` is None, else the canonical column stored as `stored`)."""
        if stored is None:
            return events.get_column(ATTR + column).alias(column)
        if column == CHANNEL:
            code = events.get_column(CHANNEL_CODE)
            chans = pl.Series(CHANNEL, self.channels, dtype=pl.String)
            return chans.gather(code.set(code == NO_CHANNEL, None)).alias(CHANNEL)
        return events.get_column(stored).cast(TS_DTYPE).alias(column)

    def to_event_log(self) -> EventLog:
        """The whole log as one EventLog: the frame that was written, row for row."""
        built = [self._frame(i) for i in range(self.n_parts)]
        whole = pl.concat([f for f, _ in built], how="vertical", rechunk=False)
        if self.n_parts > 1:
            # Each partition holds its cases in log order, each case's events in (time, input)
            # order: sorting the case ids (not the events) gives the log's order back.
            cases = pl.concat([c for _, c in built])
            lengths = cases.get_column(EVENTS).to_numpy()
            starts = np.zeros(lengths.size + 1, dtype=np.int64)
            np.cumsum(lengths, out=starts[1:])
            order = cases.get_column(CASE).arg_sort().to_numpy()  # case ids are unique
            whole = whole[_runs(starts[order], lengths[order])]  # one contiguous copy
        return EventLog(whole, is_sorted=True)

    def _frame(self, i: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        info = self._part(i)
        events = self.read_file(info.file, None, info.events)
        cases = self.read_file(info.cases_file, [CASE, EVENTS], info.cases)
        return self.decode(events, cases), cases

    def decode(self, events: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
        """The canonical frame of stored `events` (rows of a partition file) of `cases`
        (rows of its case file, their events in that order)."""
        case_of = np.repeat(np.arange(cases.height), cases.get_column(EVENTS).to_numpy())
        acts = pl.Series(ACTIVITY, self.activities, dtype=pl.String)
        chans = pl.Series(CHANNEL, self.channels, dtype=pl.String)
        code = events.get_column(CHANNEL_CODE)
        built = {
            CASE: cases.get_column(CASE).gather(case_of),
            ACTIVITY: acts.gather(events.get_column(ACT)),
            TIMESTAMP: events.get_column(TS).cast(TS_DTYPE),
            CHANNEL: chans.gather(code.set(code == NO_CHANNEL, None)),
        }
        if self.manifest.has_intervals:
            built[START] = events.get_column(START_TS).cast(TS_DTYPE)
        columns = [
            built[c].alias(c) if c in built else events.get_column(ATTR + c).alias(c)
            for c in self.manifest.columns
        ]
        return pl.DataFrame(columns, schema={c.name: c.dtype for c in columns})

    def part_label(self, i: int) -> str:
        """Partition `i` as error messages name it: the folder and the partition's file."""
        return f"partition {i} ({self.path.name}/{self._part(i).file})"

    def part_key(self, i: int) -> tuple[object, ...]:
        """What partition `i`'s pass-1 partial depends on, to cache it (`partial_cache`):
        the folder, the files with their size and modification time, the dictionaries."""
        info = self._part(i)
        stats = [(self.path / n).stat() for n in (info.file, info.cases_file)]
        return (
            str(self.path.resolve()),
            info.file,
            info.cases_file,
            *((s.st_size, s.st_mtime_ns) for s in stats),
            hash((self.activities, self.channels)),
        )

    def _part(self, i: int) -> PartInfo:
        if not 0 <= i < self.n_parts:
            raise IndexError(f"partition {i} of {self.n_parts}")
        return self.manifest.parts[i]

    def read_file(self, name: str, columns: list[str] | None, rows: int) -> pl.DataFrame:
        """The `columns` (None: all) of the dataset's file `name`, checked to hold `rows`."""
        label = f"{self.path.name}/{name}"
        try:
            frame = pl.read_parquet(self.path / name, columns=columns)
        except FileNotFoundError:
            raise _missing(label) from None
        except Exception as exc:
            raise SourceError(
                f"cannot read a partition file of the dataset: {exc}",
                file=label,
                expected="a Parquet file written by journeyminer",
            ) from None
        if frame.height != rows:
            raise SourceError(
                f"the partition file holds {frame.height} rows, the manifest says {rows}",
                file=label,
                expected=f"{rows} rows",
                found=str(frame.height),
            )
        return frame


def open_dataset(path: str | Path) -> Dataset:
    """Open the dataset folder at `path`; SourceError naming the file when one is missing or
    garbled, or when a newer journeyminer wrote it."""
    path = Path(path)
    manifest = Manifest.read(path)
    for info in manifest.parts:
        for name in (info.file, info.cases_file):
            if not (path / name).is_file():
                raise _missing(f"{path.name}/{name}")
    return Dataset(path, manifest)


def _missing(label: str) -> SourceError:
    return SourceError(
        "a partition file of the dataset is missing",
        file=label,
        expected=f"every file {MANIFEST} lists (schema version {SCHEMA_VERSION})",
    )


def _runs(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """int64 row numbers of the runs `starts[k]:starts[k] + lengths[k]`, one after another."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(
        int(ends[-1]) if ends.size else 0
    )


def _array(frame: pl.DataFrame, column: str, dtype: type) -> np.ndarray:
    # Writable and C-contiguous, as `miner.log` hands the kernels (one numba specialisation).
    return np.require(frame.get_column(column).to_numpy(), dtype=dtype, requirements=["C", "W"])
