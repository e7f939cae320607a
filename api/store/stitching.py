"""Journeys of a stored log: its parts hold events *before* stitching; reading re-stitches them all.

Both front doors store the same thing: every source file appended to a log (`POST /logs`,
`POST /logs/{id}/events`, `journeyminer run`) becomes one part holding that file's canonical
events, its case id still the source's own id, plus `source_file` and `source_row`. The log
remembers how to stitch in its metadata (`LogInfo.mapping`):

    {"stitch": {"format": 1, "order": [...] | null},   # marks such a log; order: see below
     "gap": "30d", "goals": [...],                      # journey cutting
     "identities": {"file": ..., "sha256": ...} | null, # the table itself is a file of the log
     "customers": {"file": ..., "sha256": ...} | null,  # customer attributes, a file too
     "sources": ...,                                    # how each file was read (front door's own)
     "ingested": [{"file", "sha256", "events", "ids", "ambiguous_times"}, ...]}
                                                        # what each part held when read (HTTP)

`load_journeys` stitches the union of all parts exactly as one ingest of all files would
(`miner.ingest.partitioned.stitch_to_dataset`, the engine `journeyminer ingest --out DIR`
uses too): parts in append order (or, with `order`, by the first file pattern matching their
`source_file`, then file name: the batch runner's `[[sources]]` order), rows in file order.
So a journey spanning two batches, or an identity learnt late, comes out as if everything
had arrived together. The stitched journeys are a partitioned dataset (`miner.engine.dataset`,
a folder `logs/<id>/journeys-*/`), cached per log version (the store's cache slot, with the
stitch report); a change of settings is a new version. Appends over HTTP stitch at once and
commit the part, the settings, the cache and the stitched counts in one transaction, so
`GET /logs/{id}` always shows journeys and customers after stitching.

Memory: a source file is streamed into its part (`miner.ingest.stream`), never read whole;
the parts are split by customer hash into partitions, `STITCH_BUCKET_EVENTS` events at a
time, and each partition is stitched and written on its own. The analyses run on the dataset
partition by partition (`Journeys.data`); only what needs the whole log at once (a discovery
split by segment) reads it whole (`Journeys.log`).

Logs stored before this model (parts stitched per batch, no `stitch` key) read as the plain
union of their parts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from ...miner.durations import parse_gap
from ...miner.errors import ConflictError, NotFoundError, SourceError
from ...miner.ingest.limits import DEFAULT_LIMITS, SourceLimits
from ...miner.log import EventLog
from . import Store, TenantRef
from .files import private_dir, private_tree, remove_files
from .log_files import (
    PartFile,
    fresh_folder,
    fresh_rel,
    in_log_folder,
    sha256_file,
    summary_stats,
    synced,
)
from .logs import restitches
from .records import LogSnapshot

if TYPE_CHECKING:
    from ...miner.engine.dataset import Dataset

__all__ = [
    "INGESTED",
    "SOURCE_FILE",
    "SOURCE_ROW",
    "STITCH_FORMAT",
    "Journeys",
    "append_sources",
    "journeys_of",
    "like_stored",
    "load_journeys",
    "read_journeys",
    "restitches",
    "source_part",
    "stitch_snapshot",
    "table_change",
]

SOURCE_FILE = "source_file"
SOURCE_ROW = "source_row"
STITCH_FORMAT = 1  # bump when the meaning of a part or of the settings changes
#: Events of the parts read and split by customer hash at once (then a partition at a time).
STITCH_BUCKET_EVENTS = 1_000_000
DEFAULT_GAP = "30d"
#: The settings' key of the ingest report lines of the log's parts (file, sha256, events, ids,
#: ambiguous_times), in append order: what `GET /logs/{id}` shows as `ingested`.
INGESTED = "ingested"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Journeys:
    """A log's stitched events at one version, with the stitch report (None for old logs).

    `data` is the stitched journeys as a partitioned dataset (`miner.engine.dataset`: what the
    use cases run on partition by partition, with the server's engine workers or cluster),
    or, for a log stored before stitching moved into the store, its events in memory. `log`
    reads the dataset whole (for what needs the whole log at once)."""

    data: Dataset | EventLog
    version: int
    report: dict[str, Any] | None

    @property
    def log(self) -> EventLog:
        """The journeys in memory (the whole log read at once)."""
        data = self.data
        return data if isinstance(data, EventLog) else data.to_event_log()


# -- reading --------------------------------------------------------------------------------
def read_journeys(store: Store, tenant: TenantRef, log_id: str) -> EventLog:
    """The log's journeys in memory: all parts stitched with the log's settings (cached per
    version); `load_journeys(...).data` gives them as a dataset, without reading them whole."""
    return load_journeys(store, tenant, log_id).log


def load_journeys(store: Store, tenant: TenantRef, log_id: str) -> Journeys:
    """The log's journeys at its current version, with the version and the stitch report."""
    for _ in range(3):
        snap = store.log_snapshot(tenant, log_id)
        if not restitches(snap.mapping):
            return Journeys(store.read_log(tenant, log_id), snap.version, None)
        try:
            return journeys_of(store, snap)
        except FileNotFoundError:
            continue  # deleted, or the cache replaced, between the snapshot and the read
    raise NotFoundError(f"log {log_id!r} does not exist", extra={"id": log_id})


def journeys_of(store: Store, snap: LogSnapshot) -> Journeys:
    """The stitched journeys of one snapshot: the cached dataset, else stitched now and cached.
    (A stitched cache of an older version of journeyminer, a single Parquet file, is replaced
    by a dataset on first read.)"""
    from ...miner.engine.dataset import is_dataset, open_dataset

    if not snap.parts:
        raise ConflictError(
            f"log {snap.log_id!r} has no events yet (status {snap.status})",
            extra={"id": snap.log_id},
        )
    if snap.merged is not None and snap.stitch_report is not None:
        if is_dataset(snap.merged):
            return Journeys(open_dataset(snap.merged), snap.version, snap.stitch_report)
        if not snap.merged.exists():
            raise FileNotFoundError(snap.merged)  # replaced meanwhile: the caller reads again
    rel = fresh_folder(snap.log_id)
    try:
        stats, report = stitch_snapshot(snap, in_log_folder(store.root, rel))
        data = open_dataset(store.root / rel)
    except BaseException:
        remove_files(store.root, [store.root / rel])
        raise
    store.cache_stitched(snap.log_id, snap.version, rel, stats, report)
    return Journeys(data, snap.version, report)


def stitch_snapshot(snap: LogSnapshot, dest: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stitch a snapshot's parts with its settings into the dataset folder `dest`
    (`miner.ingest.partitioned.stitch_to_dataset`: partition by partition, never the whole
    log in memory); its stats and stitch report. Every file in it is owner-only."""
    import tempfile

    from ...miner.engine.dataset import write_dataset
    from ...miner.ingest.partitioned import stitch_to_dataset

    settings = snap.mapping or {}
    order = (settings.get("stitch") or {}).get("order")
    # How this log stitches, the same for both ways below.
    how: dict[str, Any] = {
        "row_column": SOURCE_ROW,
        "file_column": SOURCE_FILE,
        "order": tuple(order) if order else None,
        "gap": parse_gap(str(settings.get("gap") or DEFAULT_GAP)),
        "goals": tuple(settings.get("goals") or ()),
        "customers_label": (settings.get("customers") or {}).get("file", "the customer table"),
    }
    private_dir(dest.parent)
    with tempfile.TemporaryDirectory(prefix=".stitch-", dir=dest.parent) as work:
        done = stitch_to_dataset(
            snap.parts,
            dest,
            Path(work),
            identities=snap.identities,
            customers=snap.customers,
            batch_events=STITCH_BUCKET_EVENTS,
            **how,
        )
        if done is not None:
            stats, report = summary_stats(done.summary, done.report["customers"]), done.report
        else:  # no event has a timestamp: the (empty) stitched log, as one would ingest it
            from ...miner.ingest.pipeline import stitch_parts

            single = Path(work) / "log.parquet"
            stitched, report = stitch_parts(
                snap.parts,
                single,
                identities=pl.scan_parquet(snap.identities) if snap.identities else None,
                customers=pl.scan_parquet(snap.customers) if snap.customers else None,
                **how,
            )
            write_dataset(EventLog.read_parquet(single), dest)
            stats = summary_stats(stitched.summary, report["customers"])
    private_tree(dest)
    return stats, report


# -- writing --------------------------------------------------------------------------------
def source_part(
    store: Store,
    log_id: str,
    path: Path,
    mapping: Any,
    label: str,
    stored: Mapping[str, pl.DataType],
    limits: SourceLimits = DEFAULT_LIMITS,
) -> PartFile:
    """One source file's canonical events before stitching, with `source_file` and
    `source_row`, streamed into a new part file of the log (never whole in memory), its
    attributes typed as the log's earlier parts type them (`like_stored`)."""
    from ...miner.ingest.stream import write_source

    def prepare(frame: pl.DataFrame) -> pl.DataFrame:
        frame = frame.with_columns(pl.lit(label, dtype=pl.String).alias(SOURCE_FILE))
        return like_stored(stored, frame, label)

    rel = fresh_rel(log_id, "part")
    rows, schema = write_source(
        path,
        mapping,
        in_log_folder(store.root, rel),
        row_column=SOURCE_ROW,
        prepare=prepare,
        limits=limits,
    )
    return PartFile(synced(store.root, rel), rows, dict(schema))


def like_stored(stored: Mapping[str, pl.DataType], frame: pl.DataFrame, label: str) -> pl.DataFrame:
    """Cast attributes to the type earlier parts gave them (a day without csat reads as text)."""
    casts = []
    for column, dtype in frame.schema.items():
        want = stored.get(column)
        if want is None or want == dtype:
            continue
        if frame.get_column(column).null_count() == frame.height or want == pl.String:
            casts.append(pl.col(column).cast(want))
            continue
        try:
            frame = frame.with_columns(pl.col(column).cast(want, strict=True))
        except pl.exceptions.PolarsError:
            raise SourceError(
                f"column {column!r} has another type than in the log's earlier batches",
                file=label,
                column=column,
                expected=str(want),
                found=str(dtype),
            ) from None
    return frame.with_columns(casts) if casts else frame


def table_change(
    kind: Literal["identities", "customers"],
    stored: Mapping[str, Any] | None,
    path: Path | None,
    label: str,
) -> tuple[dict[str, Any] | None, pl.DataFrame | None]:
    """The settings entry of the log's identity or customer table, and the table to store:
    None when `path` is None (the stored one stays) or holds the stored table already."""
    from ...miner.ingest.customers import load_customers
    from ...miner.ingest.identities import load_identities

    if path is None:
        return (dict(stored[kind]) if stored and stored.get(kind) else None), None
    sha = sha256_file(path)
    known = (stored or {}).get(kind) or {}
    entry = {"file": label, "sha256": sha}
    if known.get("sha256") == sha and known.get("file") == label:
        return entry, None
    return entry, (load_identities(path) if kind == "identities" else load_customers(path))


def append_sources(
    store: Store,
    tenant: TenantRef,
    log_id: str,
    sources: Sequence[tuple[Path, Any, str, str]],
    *,
    settings: Mapping[str, Any],
    identities: pl.DataFrame | None = None,
    customers: pl.DataFrame | None = None,
    progress: Progress | None = None,
    limits: SourceLimits = DEFAULT_LIMITS,
) -> int | None:
    """Append source files `(path, mapping, label, sha256)` as parts, stitch, commit at once.

    Files whose hash is in the log already are not read. `settings` replace the log's, and
    `identities` / `customers` (when given) its identity / customer table; the settings'
    `ingested` list gains the ingest report line of each file read (`INGESTED`). Each file,
    and the log with them, stays within `limits` (SourceLimitError). The new version, or None
    when nothing changed (every file known, same settings).
    """
    from ...miner.ingest.limits import check_activities
    from ...miner.ingest.pipeline import distinct_activities, source_report

    update = progress or (lambda stage, done, total: None)
    known = {p.batch_sha256 for p in store.list_log_parts(tenant, log_id)}
    stored: dict[str, pl.DataType] = {}
    snap = store.log_snapshot(tenant, log_id)
    earlier = snap.parts
    ingested = list((snap.mapping or {}).get(INGESTED) or [])
    for path in earlier:
        stored.update(pl.read_parquet_schema(path))
    batches: list[tuple[PartFile, str]] = []
    total = len(sources) + 1
    try:
        for n, (path, mapping, label, sha) in enumerate(sources):
            if sha in known:
                continue
            update(f"reading {label}", n, total)
            part = source_part(store, log_id, path, mapping, label, stored, limits)
            stored = {**part.schema, **stored}
            batches.append((part, sha))
            if part.events:  # an empty file adds no part (append_log_parts), so no line either
                events = pl.scan_parquet(store.root / part.rel)
                ingested.append(
                    {"sha256": sha, **source_report(events, label, part.events, mapping)}
                )
            known.add(sha)
        if batches:  # the log's facts list its activities: bound them across all its parts
            parts = [*earlier, *(store.root / part.rel for part, _ in batches)]
            check_activities(distinct_activities(parts), limits, file=None)
    except BaseException:
        remove_files(store.root, [store.root / part.rel for part, _ in batches])
        raise
    update("stitching", len(sources), total)
    return store.append_log_parts(
        tenant,
        log_id,
        batches,
        mapping={**settings, INGESTED: ingested},
        identities=identities,
        customers=customers,
        stitch=stitch_snapshot,
    )
