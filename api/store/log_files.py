"""The Parquet files of a stored log: append-only parts, the merge cache, the identity table, stats.

Paths returned are relative to the workspace root, as the database stores them; every
file is written under a fresh name and synced before a row may reference it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ...miner.errors import SourceError
from ...miner.files import atomic_write_parquet
from ...miner.ingest.stitch_ranges import LogSummary
from ...miner.log import CASE, TIMESTAMP, EventLog
from .files import fsync_dir, private_dir

CUSTOMER = "customer_id"


@dataclass(frozen=True)
class PartFile:
    """A part written before it is appended (e.g. streamed from a source file): its path
    relative to the workspace, its rows and its schema. Appending it hands it to the store,
    which removes it unless the append commits it."""

    rel: str
    events: int
    schema: Mapping[str, pl.DataType]


def fresh_rel(log_id: str, kind: str, suffix: str = ".parquet") -> str:
    """A fresh, not yet referenced path for a file of the log: kind 'part' or 'merged'; or,
    with `suffix=""`, for a folder (`JOURNEYS`: the stitched journeys as a dataset)."""
    return f"logs/{log_id}/{kind}-{secrets.token_hex(8)}{suffix}"


#: The kind of a log's stitched-journeys folder (a partitioned dataset, `miner.engine`).
JOURNEYS = "journeys"


def fresh_folder(log_id: str) -> str:
    """A fresh, not yet referenced path for the folder of a log's stitched journeys."""
    return fresh_rel(log_id, JOURNEYS, suffix="")


def in_log_folder(root: Path, rel: str) -> Path:
    """`root / rel`, its log's folder made owner-only first (files are 0600: mkstemp)."""
    path = root / rel
    private_dir(path.parent)
    return path


def synced(root: Path, rel: str) -> str:
    """Sync the folders of a file just written under `root`, so its name survives a crash."""
    path = root / rel
    fsync_dir(path.parent)
    fsync_dir(path.parent.parent)
    return rel


def write_part(root: Path, log_id: str, frame: pl.DataFrame) -> str:
    """Write a part under a fresh, not yet referenced name; return its relative path."""
    rel = fresh_rel(log_id, "part")
    atomic_write_parquet(frame, in_log_folder(root, rel))
    return synced(root, rel)


def write_merged(root: Path, log_id: str, log: EventLog) -> str:
    """Write the merge of a log's parts under a fresh name; return its relative path."""
    rel = fresh_rel(log_id, "merged")
    log.write_parquet(in_log_folder(root, rel))
    return synced(root, rel)


def write_table(root: Path, log_id: str, column: str, table: pl.DataFrame) -> str:
    """Write a table of a log under a fresh name; its path. `column`: the `logs` column that
    will hold the path, `identities_path` (source_id, customer_id) or `customers_path`
    (customer_id and attributes)."""
    rel = f"logs/{log_id}/{column.removesuffix('_path')}-{secrets.token_hex(8)}.parquet"
    atomic_write_parquet(table, in_log_folder(root, rel))
    return synced(root, rel)


def summary_stats(summary: LogSummary, customers: int | None) -> dict[str, Any]:
    """The counts and ranges `part_stats` gives, of a stitched log's summary."""
    return {
        "events": summary.events,
        "cases": summary.cases,
        "customers": customers,
        "start": summary.start.isoformat() if summary.start is not None else None,
        "end": summary.end.isoformat() if summary.end is not None else None,
        "activities": list(summary.activities),
        "channels": list(summary.channels),
    }


def part_stats(root: Path, parts: Sequence[str]) -> dict[str, Any]:
    """Counts and ranges over all parts, reading only the columns they need."""
    scans = [pl.scan_parquet(root / p) for p in parts]
    has_customer = any(CUSTOMER in s.collect_schema() for s in scans)
    cols = [CASE, "activity", TIMESTAMP, "channel", *([CUSTOMER] if has_customer else [])]
    lf = pl.concat(
        [s.select([c for c in cols if c in s.collect_schema()]) for s in scans],
        how="diagonal_relaxed",
    )
    head, activities, channels = pl.collect_all(
        [
            lf.select(
                pl.len().alias("events"),
                pl.col(CASE).n_unique().alias("cases"),
                (pl.col(CUSTOMER).drop_nulls().n_unique() if has_customer else pl.lit(None)).alias(
                    "customers"
                ),
                pl.col(TIMESTAMP).min().alias("start"),
                pl.col(TIMESTAMP).max().alias("end"),
            ),
            lf.select(pl.col("activity").drop_nulls().unique().sort()),
            lf.select(pl.col("channel").drop_nulls().unique().sort()),
        ]
    )
    row = head.row(0, named=True)
    return {
        "events": row["events"],
        "cases": row["cases"],
        "customers": row["customers"],
        "start": row["start"].isoformat() if row["start"] is not None else None,
        "end": row["end"].isoformat() if row["end"] is not None else None,
        "activities": activities.to_series().to_list(),
        "channels": channels.to_series().to_list(),
    }


def check_part_schema(root: Path, parts: Sequence[str], schema: Mapping[str, pl.DataType]) -> None:
    """An appended batch must type its shared columns like the parts before it."""
    stored: dict[str, pl.DataType] = {}
    for part in parts:
        stored.update(pl.read_parquet_schema(root / part))
    for column, dtype in schema.items():
        if column in stored and stored[column] != dtype:
            raise SourceError(
                f"column {column!r} has another type than in the log's earlier parts",
                column=column,
                expected=str(stored[column]),
                found=str(dtype),
            )


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
