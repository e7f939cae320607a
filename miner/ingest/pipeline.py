"""Ingest: read every source with its mapping, stitch them into journeys, one canonical log."""

from __future__ import annotations

import fnmatch
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import MappingError
from ..log import ACTIVITY, CASE, TIMESTAMP, EventLog
from .identities import load_identities
from .lifecycle import LifecycleFold
from .limits import DEFAULT_LIMITS, SourceLimits, check_activities
from .presets import source_mapping
from .readers import read_source
from .sources import SourceMapping
from .stitch import DEFAULT_GAP, StitchReport, stitch_sources
from .stitch_ranges import BUCKET_EVENTS, LogSummary, Stitched, stitch_to_parquet
from .zones import count_ambiguous

if TYPE_CHECKING:
    from ..engine.dataset import Dataset
    from ..engine.executors import Executor

KNOWN_PRESETS = ("web", "call_center", "crm")
ROW = "__ingest_row"  # input order of the events within their source, while stitching


@dataclass(frozen=True)
class SourceSpec:
    """One source file and the mapping that reads it."""

    path: Path
    mapping: SourceMapping


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did, per source and in all."""

    sources: tuple[dict[str, Any], ...]
    stitch: StitchReport
    activities: tuple[str, ...]
    channels: tuple[str, ...]
    start: str | None
    end: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "sources": list(self.sources),
            **self.stitch.to_dict(),
            "activities": list(self.activities),
            "channels": list(self.channels),
            "start": self.start,
            "end": self.end,
        }


def resolve_source(
    spec: str,
    *,
    default: str | None = None,
    timezone: str | None = None,
    mapping: SourceMapping | None = None,
) -> SourceSpec:
    """Turn 'FILE', 'FILE=PRESET' or 'FILE=MAPPING.toml' into a SourceSpec.

    Without '=', `mapping` (the front door's source options) applies, else `default` (a preset
    name or mapping file); failing both, a file named like a preset (web.csv, crm.parquet, ...)
    takes that preset.
    """
    path_text, _, how = spec.partition("=")
    path = Path(path_text)
    if not how and mapping is not None:
        return SourceSpec(path=path, mapping=mapping)
    how = how or default or ""
    if not how:
        stem = path.name.split(".")[0].lower()
        if stem in KNOWN_PRESETS:
            how = stem
        else:
            raise MappingError(
                f"no mapping for source {path.name!r}",
                file=path.name,
                expected="FILE=PRESET (web, call_center, crm), FILE=MAPPING.toml, --preset or --mapping",
            )
    is_file = how.endswith((".toml", ".json"))
    mapping = source_mapping(
        preset_name=None if is_file else how, mapping=how if is_file else None, timezone=timezone
    )
    assert mapping is not None  # a preset or a file was given
    return SourceSpec(path=path, mapping=mapping)


def ingest_sources(
    sources: Sequence[SourceSpec],
    *,
    identities: str | Path | None = None,
    gap: timedelta | None = DEFAULT_GAP,
    goals: Sequence[str] = (),
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[EventLog, IngestReport]:
    """Read, map and stitch `sources` into one EventLog; `progress(stage, done, total)`."""
    frames: list[pl.DataFrame] = []
    per_source: list[dict[str, Any]] = []
    total = len(sources) + 1
    table = load_identities(identities) if identities is not None else None
    for i, source in enumerate(sources):
        if progress:
            progress(f"reading {source.path.name}", i, total)
        frame = read_source(source.path, source.mapping)
        frames.append(frame)
        per_source.append(
            source_report(frame.lazy(), source.path.name, frame.height, source.mapping)
        )
    if progress:
        progress("stitching", len(sources), total)
    log, stitched = stitch_sources(frames, table, gap=gap, goals=goals)
    del frames  # the sources go before the log's encoded view is built
    first, last = log.time_range()
    report = IngestReport(
        sources=tuple(per_source),
        stitch=stitched,
        activities=log.activities,
        channels=log.channels,
        start=first.isoformat() if first is not None else None,
        end=last.isoformat() if last is not None else None,
    )
    if progress:
        progress("done", total, total)
    return log, report


def ingest_to_file(
    sources: Sequence[SourceSpec],
    dest: str | Path,
    *,
    identities: str | Path | None = None,
    customers: str | Path | None = None,
    gap: timedelta | None = DEFAULT_GAP,
    goals: Sequence[str] = (),
    progress: Callable[[str, int, int], None] | None = None,
    limits: SourceLimits = DEFAULT_LIMITS,
    run: Executor | None = None,
) -> dict[str, Any]:
    """Read, map and stitch `sources` into the canonical log at `dest` (Parquet, atomically),
    with the engine the service uses: each source streamed to a part, customers stitched a
    range at a time (`stitch_ranges`), so memory holds a range, not the log. Returns the ingest
    report as JSON (`IngestReport.to_dict()`, plus `customer_attributes` with a customer table).

    `run` reads the sources (one task per file) and stitches the customer ranges (one task per
    range of about `BUCKET_EVENTS` events; a log that small is stitched here in one piece): e.g.
    a cluster's workers, which then need the files and the folder of `dest` at the same paths.
    Splitting the events into ranges and writing the log stay here.
    """
    from .customers import load_customers

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    total = len(sources) + 1
    table = load_identities(identities) if identities is not None else None
    attrs = load_customers(customers) if customers is not None else None
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=dest.parent) as work:
        parts, per_source = write_sources(sources, Path(work), limits, progress, run=run)
        if progress:
            progress("stitching", len(sources), total)
        done, stitched = stitch_parts(
            parts,
            dest,
            identities=table.lazy() if table is not None else None,
            customers=attrs.lazy() if attrs is not None else None,
            customers_label=Path(customers).name if customers is not None else "",
            gap=gap,
            goals=goals,
            row_column=ROW,
            run=run,
        )
    if progress:
        progress("done", total, total)
    return ingest_report(per_source, stitched, done.summary)


def ingest_report(
    per_source: list[dict[str, Any]], stitched: dict[str, Any], s: LogSummary
) -> dict[str, Any]:
    """The ingest report as JSON (CLI and HTTP alike): sources, the stitch report, dictionaries and time range."""
    data: dict[str, Any] = {
        "sources": per_source,
        **{k: v for k, v in stitched.items() if k != "customer_attributes"},
        "activities": list(s.activities),
        "channels": list(s.channels),
        "start": s.start.isoformat() if s.start is not None else None,
        "end": s.end.isoformat() if s.end is not None else None,
    }
    if "customer_attributes" in stitched:
        data["customer_attributes"] = stitched["customer_attributes"]
    return data


def write_sources(
    sources: Sequence[SourceSpec],
    work: Path,
    limits: SourceLimits,
    progress: Callable[[str, int, int], None] | None,
    *,
    run: Executor | None = None,
) -> tuple[list[Path], list[dict[str, Any]]]:
    """Stream each source (`stream.write_source`) to `work/source-<n>.parquet`: the parts and
    each source's report. `run` reads them (one task per file; a cluster's workers need the
    files and `work` at the same paths)."""
    from ..engine.executors import Serial

    total = len(sources) + 1
    read = _ReadSource(
        tuple(SourceSpec(s.path.absolute(), s.mapping) for s in sources),
        work.absolute(),
        limits,
    )
    if progress:
        progress(f"reading {sources[0].path.name}" if sources else "reading", 0, total)

    def read_done(k: int, n: int) -> None:
        if progress and k < n:
            progress(f"reading {sources[k].path.name}", k, total)

    found = (run or Serial()).map(
        read, len(sources), done=read_done, label=lambda i: f"source {sources[i].path.name}"
    )
    parts = [part for part, _ in found]
    check_activities(distinct_activities(parts), limits, file=None)
    return parts, [report for _, report in found]


@dataclass(frozen=True)
class _ReadSource:
    """Source i to a canonical Parquet part in `work`: (the part, its line of the report)."""

    sources: tuple[SourceSpec, ...]
    work: Path
    limits: SourceLimits

    def __call__(self, i: int) -> tuple[Path, dict[str, Any]]:
        from .stream import write_source

        source = self.sources[i]
        part = self.work / f"source-{i}.parquet"
        rows, _ = write_source(
            source.path, source.mapping, part, row_column=ROW, limits=self.limits
        )
        report = source_report(pl.scan_parquet(part), source.path.name, rows, source.mapping)
        return part, report


def stitch_parts(
    parts: Sequence[Path],
    dest: str | Path,
    *,
    identities: pl.LazyFrame | None = None,
    customers: pl.LazyFrame | None = None,
    customers_label: str = "the customer table",
    gap: timedelta | None = DEFAULT_GAP,
    goals: Sequence[str] = (),
    order: Sequence[str] | None = None,
    file_column: str | None = None,
    row_column: str,
    bucket_events: int = BUCKET_EVENTS,
    run: Executor | None = None,
) -> tuple[Stitched, dict[str, Any]]:
    """Stitch source parts (each one file's canonical events before stitching, in file order by
    `row_column`) into the log at `dest`, as one ingest of all their files would: what was
    written, and the stitch report as JSON (with the customer table's match and its warning).

    `order`: file-name patterns; parts are taken by the first pattern their `file_column`
    matches, then by that name (a batch job's `[[sources]]` order), else in the order given.
    Customers are stitched a range at a time (`stitch_ranges`): memory holds a range, not the log;
    `run` stitches the ranges (one task per range).
    """
    scans = [pl.scan_parquet(p) for p in ordered_parts(parts, order, file_column)]
    done = stitch_to_parquet(
        [s.drop(file_column) for s in scans] if file_column is not None else scans,
        identities,
        dest,
        gap=gap,
        goals=tuple(goals),
        customers=customers,
        order_column=row_column,
        bucket_events=bucket_events,
        run=run,
    )
    report = done.report.to_dict()
    if done.customers is not None:
        report["customer_attributes"] = done.customers.to_dict()
        warning = done.customers.warning(customers_label)
        if warning is not None:
            report["warnings"] = [*report["warnings"], warning]
    return done, report


def ordered_parts(
    parts: Sequence[Path], order: Sequence[str] | None, file_column: str | None
) -> list[Path]:
    """The source parts in stitching order: with `order` (file-name patterns), by the first
    pattern their `file_column` matches, then by that name (a batch job's `[[sources]]`
    order); else in the order given."""
    paths = list(parts)
    if order is None or file_column is None:
        return paths
    keyed: list[tuple[int, str, int, Path]] = []
    for n, path in enumerate(paths):
        label = str(pl.read_parquet(path, columns=[file_column], n_rows=1).item())
        rank = next((i for i, p in enumerate(order) if fnmatch.fnmatchcase(label, p)), len(order))
        keyed.append((rank, label, n, path))
    return [path for *_, path in sorted(keyed)]


def source_report(
    events: pl.LazyFrame, file: str, rows: int, mapping: SourceMapping
) -> dict[str, Any]:
    """One source's line of the ingest report (CLI and HTTP alike): file, events, ids (its own
    case ids, before stitching) and ambiguous_times (see `ambiguous_times`)."""
    ids = events.select(pl.col(CASE).n_unique()).collect().item()
    return {
        "file": file,
        "events": rows,
        "ids": int(ids),
        "ambiguous_times": ambiguous_times(events, mapping),
    }


def ambiguous_times(events: pl.LazyFrame, mapping: SourceMapping) -> int:
    """Events at a local time the zone's clocks show twice: the `ambiguous` rule placed them."""
    if mapping.timezone == "UTC":
        return 0
    return int(events.select(count_ambiguous(pl.col(TIMESTAMP), mapping.timezone)).collect().item())


def distinct_activities(parts: Sequence[Path]) -> int:
    """How many distinct activities the Parquet files `parts` hold together (one column read)."""
    if not parts:
        return 0
    frames = [pl.scan_parquet(p).select(ACTIVITY) for p in parts]
    return int(pl.concat(frames).select(pl.col(ACTIVITY).n_unique()).collect().item())


def open_log(
    path: str | Path,
    mapping: SourceMapping | None = None,
    *,
    on_fold: Callable[[LifecycleFold], None] | None = None,
) -> EventLog:
    """The whole log at `path` in memory (see `open_stored`)."""
    log = open_stored(path, mapping, on_fold=on_fold)
    return log if isinstance(log, EventLog) else log.to_event_log()


def open_stored(
    path: str | Path,
    mapping: SourceMapping | None = None,
    *,
    on_fold: Callable[[LifecycleFold], None] | None = None,
) -> EventLog | Dataset:
    """Open a stored log, or read any source file with `mapping`.

    A stored log is a dataset folder (`miner.engine.dataset`, what `journeyminer ingest` writes
    unless `--out` ends in .parquet) or a single canonical Parquet file, the older form, which
    is still read as it is (no migration needed). A folder is always read as a dataset (a
    folder without a manifest is an error naming it); the options on how to read a raw file
    do not apply to it. A file read with `mapping` is not stitched: its case column is the case
    id. `on_fold` gets the counts of a `lifecycle = "fold"`. A dataset comes back opened, not
    read: the engine reads its partitions one by one (`open_log` reads it whole).
    """
    path = Path(path)
    if path.is_dir():
        from ..engine.dataset import open_dataset

        if mapping is not None:
            raise MappingError(
                f"{path.name} is a stored dataset, already mapped: the options on how to read "
                "a raw file do not apply to it",
                file=path.name,
                expected="no --preset, --mapping or column options with a stored log",
            )
        return open_dataset(path)
    if mapping is None and path.suffix.lower() == ".parquet" and _is_canonical_parquet(path):
        return EventLog.read_parquet(path)
    return EventLog(read_source(path, mapping, on_fold=on_fold))


def _is_canonical_parquet(path: Path) -> bool:
    try:
        schema = pl.read_parquet_schema(path)
    except Exception:
        return False
    ts = schema.get("timestamp")
    return (
        all(c in schema for c in ("case_id", "activity", "timestamp", "channel"))
        and isinstance(ts, pl.Datetime)
        and ts.time_zone == "UTC"
    )
