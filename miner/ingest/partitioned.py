"""The cold path into a dataset folder: source parts -> partitions by customer hash -> per
partition stitch, encode, write. Memory holds a batch, then one partition, never the log.

Input: one Parquet part per source (`stream.write_source`: canonical events whose case id is
the source's own id, with a column that grows with the input order). Four steps:

1. **Dictionaries and counts**, one column scan of the parts: the events that keep a
   timestamp (stitching leaves the others out), their sorted activities and channels. These
   are the global dictionaries, as a stitch of the whole log would find them.
2. **Tables split**: the identity and customer tables are read, each row's customer hashed
   by the dataset's stable rule (`engine.hashing.part_of_keys`) to its partition, and the
   rows written per partition to `work`. Memory keeps the identity table's source ids,
   sorted, with each one's partition.
3. **Hash pass**, one task per source part, `batch_events` rows of it at a time: each
   event's partition, that of its source id's identity row (binary search in the sorted
   source ids; an id without a row is its own customer and is hashed itself), and the
   batch's rows appended to that partition's temporary files in `work` (named by part and
   batch, so tasks never write the same file).
4. **Per partition**, one task each: its rows read back in input order per source, stitched
   by `stitch_sources` with its slices of the identity and customer tables (a customer's
   events are all in one partition, so its journeys are cut as in a stitch of the whole
   log; the stitch sorts on integer codes, see `stitch`), coded with the global
   dictionaries and written; only its counts come back.

The tasks of steps 3 and 4 run on an executor (`engine.executors`): one after another here
by default, on threads, or on a Dask cluster's workers, which then need `work` and the
folder beside `dest` at the same paths (a shared file system); the identity table's sorted
ids go to them as a file. Results come back in partition order, so the dataset is the same
file for file whichever executor ran them.

The partition of a stitched log holds its cases in case-id order and each case's events in
(time, input) order, which is exactly the rows `write_dataset` gives the same partition of
the whole log: the dataset is the one an in-memory ingest writes (tested). The manifest comes
last; the folder is renamed into place only when complete (`engine.dataset.install_folder`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..engine.dataset import (
    CUSTOMER,
    coded_events,
    customer_keyed,
    default_parts,
    install_folder,
    new_folder,
    write_partition,
)
from ..engine.executors import Executor, Serial
from ..engine.hashing import HASH_RULE, part_of_keys
from ..engine.manifest import Manifest, PartInfo
from ..log import ACTIVITY, CASE, CHANNEL, TIMESTAMP
from .customers import CustomerMatch, attach_customers, load_customers
from .identities import CUSTOMER_ID, SOURCE_ID, load_identities
from .pipeline import ordered_parts
from .stitch import DEFAULT_GAP, StitchReport, stitch_sources
from .stitch_ranges import LogSummary

#: Rows of a source part read, hashed and split at once in the hash pass.
BATCH_EVENTS = 1_000_000
_PART = "__part"
#: Identity rows whose source ids are sorted at once (a bucket of them).
SORT_ROWS = 2_000_000
#: One bucket of identity source ids: the ids sorted, and the partition of each.
_Known = tuple[pl.Series, np.ndarray]
IDENTITY_SCHEMA = pl.Schema({SOURCE_ID: pl.String, CUSTOMER_ID: pl.String})
_COUNTED = ("events", "customers", "journeys", "source_ids", "matched_ids", "unmatched_events")


@dataclass(frozen=True)
class PartitionedIngest:
    """What `stitch_to_dataset` wrote: the stitch report as JSON (with the customer table's
    match and its warning), the log's summary and the partition count."""

    report: dict[str, Any]
    summary: LogSummary
    n_parts: int


def stitch_to_dataset(
    parts: Sequence[Path],
    dest: Path,
    work: Path,
    *,
    row_column: str,
    n_parts: int | None = None,
    identities: Path | None = None,
    customers: Path | None = None,
    gap: timedelta | None = DEFAULT_GAP,
    goals: Sequence[str] = (),
    settings: dict[str, Any] | None = None,
    batch_events: int = BATCH_EVENTS,
    progress: Callable[[str, int, int], None] | None = None,
    order: Sequence[str] | None = None,
    file_column: str | None = None,
    customers_label: str | None = None,
    run: Executor | None = None,
) -> PartitionedIngest | None:
    """Stitch the source `parts` into the dataset folder `dest`, as `write_dataset` of their
    whole stitched log would write it; `work` (an empty folder beside `dest`) holds the
    temporary partition files. `n_parts` defaults to `default_parts` of the events kept.
    The identity and customer tables (files) are read here and split by partition into
    `work` too: memory keeps only the sorted source ids and their partitions. None, with
    nothing written, when no event has a timestamp. `order` and `file_column` order the
    parts as `pipeline.stitch_parts` does (a store's parts name their file in `file_column`,
    which is left out of the events); `customers_label` names the customer table in the
    report's warning (default: its file name). `run` stitches and writes the partitions
    (one task each; default: one after another, here); on a cluster its workers need
    `work` and the folder beside `dest` at the same paths."""
    paths = tuple(p.resolve() for p in ordered_parts(parts, order, file_column))
    scans = [_scan(p, file_column) for p in paths]
    rows, kept, activities, channels = _dictionaries(scans)
    if kept == 0:
        return None
    run = run or Serial()
    work = work.resolve()
    n = default_parts(kept) if n_parts is None else n_parts
    known: list[_Known] | Path | None = None
    if identities is not None:
        known = _split_identities(identities, n, work)
    people = _split_customers(customers, n, work) if customers is not None else None
    if isinstance(known, list) and run.remote:
        known = _save_known(known, work)  # the workers load the sorted ids themselves
    hashing = _HashPass(paths, file_column, tuple(rows), known, n, work, batch_events)

    def hashed(k: int, total: int) -> None:
        if progress:
            progress("partitioning", k, total)

    # One task per source part (on `run`'s workers: they read the parts and write `work`).
    run.map(hashing, len(paths), done=hashed, label=lambda k: f"source part {paths[k].name}")
    del known, hashing
    schemas = tuple(s.collect_schema() for s in scans)
    tmp = new_folder(dest).resolve()
    task = _StitchPartition(
        work=work.resolve(),
        folder=tmp,
        schemas=schemas,
        row_column=row_column,
        identities=identities is not None,
        customers=people,
        gap=gap,
        goals=tuple(goals),
        activities=tuple(activities),
        channels=tuple(channels),
    )

    def done(k: int, total: int) -> None:
        if progress:
            progress(f"stitching {total} partitions", k, total)

    try:
        built = _Built()
        # Each partition stitched and written by one task (on `run`'s workers: they read
        # and write the folders beside `dest`); only counts come back, in partition order.
        for stitched in run.map(task, n, done=done, label=task.label):
            built.take(stitched)
        manifest = built.manifest(tmp, activities, channels, settings or {})
        install_folder(tmp, dest, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report = built.report(identities is not None).to_dict()
    if built.match is not None:
        report["customer_attributes"] = built.match.to_dict()
        label = customers_label or (customers.name if customers is not None else "")
        warning = built.match.warning(label)
        if warning is not None:
            report["warnings"] = [*report["warnings"], warning]
    return PartitionedIngest(report, built.summary, n)


def _split_identities(path: Path, n_parts: int, work: Path) -> list[_Known]:
    """Write the identity table's rows to `work/identities/<partition>.parquet` (by the hash
    of their customer id); per bucket of source ids (`_bucket`), its ids sorted and the
    partition of each. Sorted a bucket at a time: a sort of millions of strings at once
    needs several times their size."""
    table = load_identities(path)
    part = part_of_keys(table.get_column(CUSTOMER_ID), n_parts).astype(np.int32)
    _split(table, part, work / "identities")
    ids = table.get_column(SOURCE_ID)
    del table  # the customer ids go
    n_buckets = max(1, -(-ids.len() // SORT_ROWS))
    bucket = _bucket(ids, n_buckets)
    known = []
    for b in range(n_buckets):
        mine = bucket == b
        ids_b = ids.filter(pl.Series(mine))
        order = ids_b.arg_sort()
        known.append((ids_b.gather(order), part[mine][order.to_numpy()]))
        del ids_b
    return known


def _bucket(ids: pl.Series, n_buckets: int) -> np.ndarray:
    """The bucket of each source id (a hash within this process; ties ids, not partitions)."""
    if n_buckets == 1:
        return np.zeros(ids.len(), dtype=np.int64)
    return (ids.hash(0) % n_buckets).cast(pl.Int64).to_numpy()


def _split_customers(path: Path, n_parts: int, work: Path) -> pl.Schema:
    """Write the customer table's rows to `work/customers/<partition>.parquet`; its schema."""
    table = load_customers(path)
    _split(table, part_of_keys(table.get_column(CUSTOMER_ID), n_parts), work / "customers")
    return table.schema


def _split(table: pl.DataFrame, part: np.ndarray, folder: Path) -> None:
    """Each partition's rows of `table` to `folder/<partition>.parquet` (none: no file),
    one partition at a time: a copy of one slice, not of the table."""
    folder.mkdir()
    counts = np.bincount(part, minlength=1)
    for i in np.flatnonzero(counts):
        table.filter(pl.Series(part == i)).write_parquet(folder / f"{i}.parquet")


def _slice(work: Path, table: str, i: int, schema: pl.Schema) -> pl.DataFrame:
    """Partition `i`'s rows of a table `_split` wrote (none: an empty table of `schema`)."""
    path = work / table / f"{i}.parquet"
    return pl.read_parquet(path) if path.is_file() else pl.DataFrame(schema=schema)


def _dictionaries(scans: Sequence[pl.LazyFrame]) -> tuple[list[int], int, list[str], list[str]]:
    """Rows per part, events with a timestamp, their sorted activities and channels."""
    counts = pl.collect_all(
        [s.select(pl.len(), pl.col(TIMESTAMP).is_not_null().sum().alias("kept")) for s in scans]
    )
    rows = [int(c.item(0, "len")) for c in counts]
    kept = sum(int(c.item(0, "kept")) for c in counts)
    timed = pl.concat(
        [s.filter(pl.col(TIMESTAMP).is_not_null()).select(ACTIVITY, CHANNEL) for s in scans],
        how="diagonal_relaxed",
    )
    names = timed.select(
        *[
            pl.col(c).cast(pl.String).unique().drop_nulls().sort().implode()
            for c in (ACTIVITY, CHANNEL)
        ]
    ).collect()
    return rows, kept, list(names.item(0, ACTIVITY)), list(names.item(0, CHANNEL))


def _scan(path: Path, file_column: str | None) -> pl.LazyFrame:
    """A source part's events (without the store's file-name column)."""
    scan = pl.scan_parquet(path)
    return scan.drop(file_column) if file_column is not None else scan


def _save_known(known: list[_Known], work: Path) -> Path:
    """The sorted identity source ids per bucket, written for other processes to load."""
    folder = work / "known"
    folder.mkdir()
    for b, (ids, part) in enumerate(known):
        pl.DataFrame({SOURCE_ID: ids, _PART: part}).write_parquet(folder / f"{b:05d}.parquet")
    return folder


def _load_known(folder: Path) -> list[_Known]:
    """`_save_known`'s buckets, in order."""
    out = []
    for path in sorted(folder.glob("*.parquet")):
        table = pl.read_parquet(path)
        out.append((table.get_column(SOURCE_ID), table.get_column(_PART).to_numpy()))
    return out


@dataclass(frozen=True)
class _HashPass:
    """Source part k's task: `batch_events` rows at a time, each row's partition (that of
    its source id's customer), the batch's rows appended to that partition's files,
    `work/<partition>/<k>-<batch>.parquet`. `known`: the identity table's sorted source ids
    in memory, or a folder of them (`_save_known`) for a task in another process."""

    paths: tuple[Path, ...]
    file_column: str | None
    rows: tuple[int, ...]
    known: list[_Known] | Path | None
    n_parts: int
    work: Path
    batch_events: int

    def __call__(self, k: int) -> int:
        known = _load_known(self.known) if isinstance(self.known, Path) else self.known
        scan = _scan(self.paths[k], self.file_column)
        for b, offset in enumerate(range(0, self.rows[k], self.batch_events)):
            batch = scan.slice(offset, self.batch_events).collect()
            part = _parts_of_ids(batch.get_column(CASE), known, self.n_parts)
            tagged = batch.with_columns(pl.Series(_PART, part))
            for (i,), rows_i in tagged.partition_by(_PART, as_dict=True, include_key=False).items():
                folder = self.work / str(i)
                folder.mkdir(exist_ok=True)
                rows_i.write_parquet(folder / f"{k:04d}-{b:08d}.parquet")
            del batch, tagged
        return self.rows[k]


def _parts_of_ids(ids: pl.Series, known: list[_Known] | None, n_parts: int) -> np.ndarray:
    """The partition of each source id's customer: that of its identity row, found by binary
    search in its bucket's sorted source ids (no hash table of the identity table per batch);
    an id without a row is its own customer, hashed as it is."""
    part = part_of_keys(ids, n_parts)
    if not known:
        return part
    bucket = _bucket(ids, len(known))
    for b, (sorted_ids, known_part) in enumerate(known):
        if sorted_ids.len() == 0:
            continue
        rows = np.flatnonzero(bucket == b) if len(known) > 1 else np.arange(ids.len())
        wanted = ids.gather(rows)
        at = sorted_ids.search_sorted(wanted, side="left").clip(upper_bound=sorted_ids.len() - 1)
        hit = (sorted_ids.gather(at) == wanted).fill_null(False).to_numpy()
        part[rows[hit]] = known_part[at.to_numpy()[hit]]
    return part


def _read_rows(folder: Path, source: int, schema: pl.Schema, row_column: str) -> pl.DataFrame:
    """Source `source`'s rows of one partition, in input order, with a timestamp."""
    files = sorted(folder.glob(f"{source:04d}-*.parquet")) if folder.is_dir() else []
    frame = pl.read_parquet(files) if files else pl.DataFrame(schema=schema)
    return frame.sort(row_column).drop(row_column)


def _summary(frame: pl.DataFrame, cases: int) -> LogSummary:
    """`LogSummary.of` a stitched frame of `cases` cases, without building its encoded view."""
    ts = frame.get_column(TIMESTAMP)
    return LogSummary(
        events=frame.height,
        cases=cases,
        start=ts.min(),  # type: ignore[arg-type]
        end=ts.max(),  # type: ignore[arg-type]
        activities=tuple(frame.get_column(ACTIVITY).drop_nulls().unique().sort()),
        channels=tuple(frame.get_column(CHANNEL).drop_nulls().unique().sort()),
    )


@dataclass(frozen=True)
class _Stitched:
    """What one partition's task gives back: its file names and counts, and what the
    manifest takes from the first partition with events (columns, attributes, ...)."""

    i: int
    info: PartInfo | None  # None: no event with a timestamp (written empty at the end)
    counts: dict[str, int]
    summary: LogSummary
    match: CustomerMatch | None
    columns: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    key: str = CASE
    has_intervals: bool = False
    coded_schema: pl.Schema | None = None


@dataclass(frozen=True)
class _StitchPartition:
    """Partition i's task: its rows read back from `work` in input order per source,
    stitched with its slices of the identity and customer tables, coded with the global
    dictionaries and written into `folder`. Picklable (a cluster's workers run it)."""

    work: Path
    folder: Path
    schemas: tuple[pl.Schema, ...]
    row_column: str
    identities: bool
    customers: pl.Schema | None  # the customer table's schema, when there is one
    gap: timedelta | None
    goals: tuple[str, ...]
    activities: tuple[str, ...]
    channels: tuple[str, ...]

    def label(self, i: int) -> str:
        """What to call partition i in an error message."""
        return f"partition {i} of the stitch"

    def __call__(self, i: int) -> _Stitched:
        work = self.work
        frames = [
            _read_rows(work / str(i), k, schema, self.row_column)
            for k, schema in enumerate(self.schemas)
        ]
        shutil.rmtree(work / str(i), ignore_errors=True)
        counts = dict.fromkeys(_COUNTED, 0)
        dropped = sum(f.get_column(TIMESTAMP).null_count() for f in frames)
        counts["dropped_no_timestamp"] = dropped
        if dropped:
            frames = [f.filter(pl.col(TIMESTAMP).is_not_null()) for f in frames]
        if sum(f.height for f in frames) == 0:
            return _Stitched(i, None, counts, LogSummary(), None)
        ids = _slice(work, "identities", i, IDENTITY_SCHEMA) if self.identities else None
        log, report = stitch_sources(frames, ids, gap=self.gap, goals=self.goals)
        del frames
        match = None
        if self.customers is not None:
            log, match = attach_customers(log, _slice(work, "customers", i, self.customers))
        for key in _COUNTED:
            counts[key] += getattr(report, key)
        frame = log.frame
        coded = coded_events(frame, self.activities, self.channels, log.attributes)
        # The frame is in case order: its runs of case ids are the cases (no encoded view).
        runs = frame.get_column(CASE).rle()
        lengths = runs.struct.field("len").to_numpy()
        names = runs.struct.field("value")
        return _Stitched(
            i,
            write_partition(self.folder, i, coded, names, lengths),
            counts,
            _summary(frame, names.len()),
            match,
            columns=tuple(frame.columns),
            attributes={a: str(frame.schema[a]) for a in log.attributes},
            key=CUSTOMER if customer_keyed(frame) else CASE,
            has_intervals=log.has_intervals,
            coded_schema=coded.schema,
        )


class _Built:
    """The partitions written so far: their files, counts, summary and customer match."""

    def __init__(self) -> None:
        self.parts: dict[int, PartInfo] = {}
        self.counts: dict[str, int] = dict.fromkeys((*_COUNTED, "dropped_no_timestamp"), 0)
        self.summary = LogSummary()
        self.match: CustomerMatch | None = None
        self.empty: list[int] = []
        self.columns: tuple[str, ...] | None = None
        self.attributes: dict[str, str] = {}
        self.key = CASE
        self.has_intervals = False
        self.coded_schema: pl.Schema | None = None

    def take(self, done: _Stitched) -> None:
        """Add one partition's task result (in partition order)."""
        for key, value in done.counts.items():
            self.counts[key] += value
        if done.info is None:
            self.empty.append(done.i)
            return
        if done.match is not None:
            self.match = done.match if self.match is None else self.match + done.match
        if self.columns is None:
            self.columns = done.columns
            self.attributes = done.attributes
            self.key = done.key
            self.has_intervals = done.has_intervals
        self.coded_schema = done.coded_schema
        self.summary = self.summary + done.summary
        self.parts[done.i] = done.info

    def manifest(
        self, folder: Path, activities: list[str], channels: list[str], settings: dict[str, Any]
    ) -> Manifest:
        """The dataset's manifest, once every partition is written (empty ones now)."""
        if self.coded_schema is None or self.columns is None:
            raise ValueError("no events to write")  # the caller checks for events first
        for i in self.empty:
            empty = pl.DataFrame(schema=self.coded_schema)
            self.parts[i] = write_partition(
                folder, i, empty, pl.Series(CASE, [], dtype=pl.String), np.zeros(0, np.int64)
            )
        s = self.summary
        return Manifest(
            n_events=s.events,
            n_cases=s.cases,
            start=s.start.isoformat() if s.start is not None else None,
            end=s.end.isoformat() if s.end is not None else None,
            activities=tuple(activities),
            channels=tuple(channels),
            has_intervals=self.has_intervals,
            columns=self.columns,
            attributes=self.attributes,
            partition_key=self.key,
            hash=HASH_RULE,
            parts=tuple(self.parts[i] for i in sorted(self.parts)),
            settings=settings,
        )

    def report(self, has_identities: bool) -> StitchReport:
        """The stitch report of all partitions (no source id or customer is in two)."""
        c = self.counts
        return StitchReport.counted(
            **{k: c[k] for k in _COUNTED},
            dropped_no_timestamp=c["dropped_no_timestamp"],
            identities=has_identities,
        )
