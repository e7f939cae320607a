"""The store's logs: metadata in SQLite, events in append-only Parquet parts.

A log's `version` grows by one with every commit that changes it (parts appended, or its
stitching settings replaced); appending a batch whose sha256 is already in the log is a
no-op, so a retried upload never doubles events.

Two kinds of log: parts of stitched events (made before `journeys.py`, and in tests), read
as the union of their parts, merged once per version and cached; and logs whose parts hold
events *before* stitching (`restitches(mapping)`), whose cache slot (`merged_path`) holds the
stitched log of a version, written by `journeys.py` with the stitch report and the stitched
counts (`append_log_parts(..., stitch=...)`, `cache_stitched`). Such a log keeps its identity
table as a file of its own (`identities_path`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl

from ...miner.errors import (
    ConflictError,
    EmptySourceError,
    InputError,
    InternalError,
    NotFoundError,
)
from ...miner.log import EventLog
from .base import LOG_SELECT, StoreBase, TenantRef, new_id, tenant_id_of, to_json, utc_now
from .files import remove_files
from .jobs import drop_jobs_of
from .log_files import (
    PartFile,
    check_part_schema,
    fresh_folder,
    part_stats,
    sha256_file,
    synced,
    write_merged,
    write_part,
    write_table,
)
from .records import LogInfo, LogPart, LogSnapshot

LogStatus = Literal["pending", "ready", "failed"]

#: Stitches a snapshot of a log to be into a file: (snapshot, path) -> (stats, stitch report).
Stitcher = Callable[[LogSnapshot, Path], tuple[dict[str, Any], dict[str, Any]]]
#: What an append takes: events in memory, or a part file already written (`PartFile`).
Batch = EventLog | pl.DataFrame | PartFile

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class LogsMixin(StoreBase):
    """Logs and their parts."""

    def create_log(
        self,
        tenant: TenantRef,
        name: str,
        log: EventLog | None = None,
        *,
        batch_sha256: str | None = None,
        mapping: Mapping[str, Any] | None = None,
    ) -> LogInfo:
        """Store a new log; with `log` its first part (status ready), else status pending."""
        tenant_id = self.get_tenant(tenant_id_of(tenant)).id
        if batch_sha256 is not None:
            _check_sha(batch_sha256)
        if log is not None and log.n_events == 0:
            raise EmptySourceError(f"log {name!r} holds no events")
        self._check_name_free("logs", tenant_id, name)
        log_id, created = new_id("log"), utc_now()
        rel = stats = None
        if log is not None:
            rel = write_part(self.root, log_id, log.frame)
        try:
            if rel is not None:
                stats = part_stats(self.root, [rel])
            with self._db.write() as con:
                con.execute(
                    "INSERT INTO logs (id, tenant_id, name, status, mapping, created_at,"
                    " updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                    (log_id, tenant_id, name, to_json(mapping), created, created),
                )
                if log is not None and rel is not None and stats is not None:
                    sha = batch_sha256 or sha256_file(self.root / rel)
                    _insert_part(con, log_id, rel, sha, log.n_events, stats)
        except sqlite3.IntegrityError:
            if rel is not None:
                remove_files(self.root, [self.root / rel])
            raise ConflictError(
                f"a log named {name!r} already exists", extra={"name": name}
            ) from None
        except BaseException:
            if rel is not None:
                remove_files(self.root, [self.root / rel])
            raise
        return self.get_log(tenant_id, log_id)

    def append_log_part(
        self, tenant: TenantRef, log_id: str, log: EventLog, batch_sha256: str
    ) -> bool:
        """Append a batch as a new part; False when this batch hash is already in the log."""
        return self.append_log_parts(tenant, log_id, [(log, batch_sha256)]) is not None

    def append_log_parts(
        self,
        tenant: TenantRef,
        log_id: str,
        batches: Sequence[tuple[Batch, str]],
        *,
        mapping: Mapping[str, Any] | None = None,
        identities: pl.DataFrame | None = None,
        customers: pl.DataFrame | None = None,
        stitch: Stitcher | None = None,
    ) -> int | None:
        """Append batches (events, sha256) as parts and replace settings, in one commit.

        Batches whose hash is in the log already, and empty ones, are left out (a `PartFile`
        left out is removed). `mapping` replaces the log's metadata, `identities` its
        identity table, `customers` its customer table. With `stitch`, the stitched log of the new version is written before
        the commit and committed with it (cache and counts). The new version, or None when
        nothing changed.
        """
        tenant_id = tenant_id_of(tenant)
        frames = [
            (b.frame if isinstance(b, EventLog) else b, _check_sha(sha)) for b, sha in batches
        ]
        files = [b.rel for b, _ in frames if isinstance(b, PartFile)]
        settings = to_json(mapping) if mapping is not None else None
        written: list[tuple[str, str, int]] = []
        new_tables = {
            column: table
            for column, table in (("identities_path", identities), ("customers_path", customers))
            if table is not None
        }
        table_rels: dict[str, str] = {}  # column -> the table's new file
        committed = False
        try:
            for _ in range(8):
                # Files and stats are made outside the write lock; if another append lands
                # meanwhile, the version moved and we do it again.
                with self._db.read() as con:
                    row = self._log_row(con, tenant_id, log_id)
                    parts = _part_paths(con, log_id)
                    known = _batches(con, log_id)
                version = row["version"]
                new_settings = settings is not None and settings != row["mapping"]
                for column, table in new_tables.items():
                    if column not in table_rels:
                        table_rels[column] = write_table(self.root, log_id, column, table)
                pending = _new_frames(frames, known)
                if not pending and not new_settings and not table_rels:
                    return None
                written = self._write_parts(log_id, parts, pending, written)
                adding = [w for w in written if w[1] not in known]
                all_parts = [*parts, *(rel for rel, _, _ in adding)]
                merged = report = None
                if stitch is not None:
                    snap = LogSnapshot(
                        log_id=log_id,
                        version=version + 1,
                        status="ready",
                        parts=tuple(self.root / p for p in all_parts),
                        mapping=json.loads(settings or row["mapping"] or "null"),
                        identities=_abs(
                            self.root, table_rels.get("identities_path") or row["identities_path"]
                        ),
                        merged=None,
                        stitch_report=None,
                        customers=_abs(
                            self.root, table_rels.get("customers_path") or row["customers_path"]
                        ),
                    )
                    merged = fresh_folder(log_id)
                    written.append((merged, "", 0))  # removed unless committed
                    stats, report = stitch(snap, self.root / merged)
                    synced(self.root, merged)
                elif adding:
                    stats = part_stats(self.root, all_parts)
                else:
                    stats = None
                with self._db.write() as con:
                    row = self._log_row(con, tenant_id, log_id)
                    if row["version"] != version:
                        continue
                    old_tables = [row[column] for column in table_rels]
                    old_merged = row["merged_path"]
                    for rel, sha, events in adding:
                        _add_part(con, log_id, rel, sha, events)
                    _bump(con, log_id, stats)
                    if settings is not None:
                        con.execute("UPDATE logs SET mapping = ? WHERE id = ?", (settings, log_id))
                    for column, rel in table_rels.items():
                        con.execute(f"UPDATE logs SET {column} = ? WHERE id = ?", (rel, log_id))
                    if merged is not None:
                        con.execute(
                            "UPDATE logs SET merged_path = ?, merged_version = ?, stitch_report = ?"
                            " WHERE id = ?",
                            (merged, version + 1, to_json(report), log_id),
                        )
                    committed = True
                stale = [*old_tables, old_merged if merged is not None else None]
                # Parts another append committed first (same hash) were written for nothing.
                stale += [rel for rel, sha, _ in written if sha and sha in known]
                remove_files(self.root, [self.root / p for p in stale if p])
                return version + 1
            raise InternalError(f"log {log_id!r} kept changing while appending; try again")
        finally:
            if committed:  # part files handed in but left out (their batch was known)
                kept = {rel for rel, _, _ in written}
                leftovers = [rel for rel in files if rel not in kept]
            else:
                leftovers = [rel for rel, _, _ in written] + [*table_rels.values(), *files]
            remove_files(self.root, [self.root / rel for rel in dict.fromkeys(leftovers)])

    def _write_parts(
        self,
        log_id: str,
        parts: list[str],
        pending: list[tuple[pl.DataFrame | PartFile, str]],
        written: list[tuple[str, str, int]],
    ) -> list[tuple[str, str, int]]:
        """Write the pending batches not written yet; every batch checked against the parts."""
        out = [w for w in written if w[1]]  # drop an uncommitted merge of an earlier attempt
        stale = [w for w in written if not w[1]]
        remove_files(self.root, [self.root / rel for rel, _, _ in stale])
        done = {sha for _, sha, _ in out}
        for batch, sha in pending:
            check_part_schema(self.root, [*parts, *(rel for rel, _, _ in out)], batch.schema)
            if sha in done:
                continue
            if isinstance(batch, PartFile):
                out.append((batch.rel, sha, batch.events))
            else:
                out.append((write_part(self.root, log_id, batch), sha, batch.height))
            done.add(sha)
        return out

    def read_log(self, tenant: TenantRef, log_id: str) -> EventLog:
        """All parts of the log as one canonical EventLog (merge cached per log version)."""
        tenant_id = tenant_id_of(tenant)
        for _ in range(3):
            with self._db.read() as con:
                row = self._log_row(con, tenant_id, log_id)
                parts = _part_paths(con, log_id)
            if not parts:
                raise ConflictError(
                    f"log {log_id!r} has no events yet (status {row['status']})",
                    extra={"id": log_id},
                )
            # A log stored before stitching keeps its stitched log in the cache slot.
            cacheable = not restitches(json.loads(row["mapping"] or "null"))
            try:
                if len(parts) == 1:
                    return EventLog(pl.read_parquet(self.root / parts[0]), is_sorted=True)
                if cacheable and row["merged_path"] and row["merged_version"] == row["version"]:
                    return EventLog(pl.read_parquet(self.root / row["merged_path"]), is_sorted=True)
                frames = [pl.read_parquet(self.root / p) for p in parts]
            except FileNotFoundError:
                continue  # deleted, or the merge cache replaced, between query and read
            merged = EventLog(pl.concat(frames, how="diagonal_relaxed"))
            if cacheable:
                self._cache_merged(log_id, row["version"], merged)
            return merged
        raise NotFoundError(f"log {log_id!r} does not exist")

    def log_snapshot(self, tenant: TenantRef, log_id: str) -> LogSnapshot:
        """The log's current version as files: parts, settings, identity table, fresh cache."""
        with self._db.read() as con:
            row = self._log_row(con, tenant_id_of(tenant), log_id)
            return LogSnapshot.from_row(row, _part_paths(con, log_id), self.root)

    def cache_stitched(
        self,
        log_id: str,
        version: int,
        rel: str,
        stats: Mapping[str, Any],
        report: Mapping[str, Any],
    ) -> None:
        """Keep the stitched log of `version` written at `rel` (`fresh_rel(log_id, "merged")`)
        with its report and counts, if still current; else remove the file."""
        self._adopt_merged(log_id, version, rel, stats=stats, report=report)

    def get_log(self, tenant: TenantRef, log_id: str) -> LogInfo:
        """A log's metadata: version, counts, date range, activities, channels."""
        with self._db.read() as con:
            return LogInfo.from_row(self._log_row(con, tenant_id_of(tenant), log_id))

    def get_log_by_name(self, tenant: TenantRef, name: str) -> LogInfo:
        """The tenant's log with this name."""
        row = (
            self._db.get()
            .execute(f"{LOG_SELECT} WHERE tenant_id = ? AND name = ?", (tenant_id_of(tenant), name))
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"log {name!r} does not exist")
        return LogInfo.from_row(row)

    def list_logs(self, tenant: TenantRef) -> list[LogInfo]:
        """The tenant's logs, newest first."""
        rows = (
            self._db.get()
            .execute(
                f"{LOG_SELECT} WHERE tenant_id = ? ORDER BY created_at DESC, id",
                (tenant_id_of(tenant),),
            )
            .fetchall()
        )
        return [LogInfo.from_row(r) for r in rows]

    def list_log_parts(self, tenant: TenantRef, log_id: str) -> list[LogPart]:
        """The log's parts in append order."""
        with self._db.read() as con:
            self._log_row(con, tenant_id_of(tenant), log_id)
            rows = con.execute(
                "SELECT * FROM log_parts WHERE log_id = ? ORDER BY part", (log_id,)
            ).fetchall()
        return [LogPart.from_row(r, self.root) for r in rows]

    def set_log_status(
        self,
        tenant: TenantRef,
        log_id: str,
        status: LogStatus,
        *,
        error: Mapping[str, Any] | None = None,
    ) -> LogInfo:
        """Mark a log pending, ready or failed (with the problem body of why)."""
        with self._db.write() as con:
            self._log_row(con, tenant_id_of(tenant), log_id)
            con.execute(
                "UPDATE logs SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                (status, to_json(error), utc_now(), log_id),
            )
        return self.get_log(tenant, log_id)

    def mark_interrupted_ingests_failed(self, reason: str) -> list[str]:
        """Fail the logs (all tenants) still pending, whose ingest a crash cut short; ids back.

        Only for a process that owns the workspace's jobs, at start (as failing its jobs).
        A pending log has no parts (the commit that adds the first one makes it ready), so
        nothing is lost: the failed log can be deleted, or its sources appended again.
        """
        error = {"title": "Ingest interrupted", "status": 500, "detail": reason}
        with self._db.write() as con:
            ids = [r[0] for r in con.execute("SELECT id FROM logs WHERE status = 'pending'")]
            con.execute(
                "UPDATE logs SET status = 'failed', error = ?, updated_at = ?"
                " WHERE status = 'pending'",
                (to_json(error), utc_now()),
            )
        return ids

    def delete_log(self, tenant: TenantRef, log_id: str) -> None:
        """Delete a log, its parts, its results and the jobs that link to them (unfinished
        ones are cancelled): rows first, then the files."""
        with self._db.write() as con:
            self._log_row(con, tenant_id_of(tenant), log_id)
            drop_jobs_of(con, tenant_id_of(tenant), "log", log_id)
            results = [
                r[0] for r in con.execute("SELECT id FROM results WHERE log_id = ?", (log_id,))
            ]
            con.execute("DELETE FROM results WHERE log_id = ?", (log_id,))
            con.execute("DELETE FROM logs WHERE id = ?", (log_id,))
        remove_files(
            self.root,
            [self.root / "logs" / log_id, *(self.root / "results" / r for r in results)],
        )

    def _check_name_free(self, table: str, tenant_id: str, name: str) -> None:
        if not name.strip():
            raise InputError("a name must not be empty", expected="a non-empty name")
        row = (
            self._db.get()
            .execute(f"SELECT 1 FROM {table} WHERE tenant_id = ? AND name = ?", (tenant_id, name))
            .fetchone()
        )
        if row is not None:
            raise ConflictError(
                f"a {table[:-1]} named {name!r} already exists", extra={"name": name}
            )

    def _cache_merged(self, log_id: str, version: int, log: EventLog) -> None:
        try:
            rel = write_merged(self.root, log_id, log)
        except OSError:
            return  # the cache is an optimisation; a full disk must not fail the read
        self._adopt_merged(log_id, version, rel)

    def _adopt_merged(
        self,
        log_id: str,
        version: int,
        rel: str,
        *,
        stats: Mapping[str, Any] | None = None,
        report: Mapping[str, Any] | None = None,
    ) -> None:
        """Make `rel` the merge cache of `version` if that is still the log's; else remove it."""
        old: str | None = None
        with self._db.write() as con:
            row = con.execute(
                "SELECT merged_path FROM logs WHERE id = ? AND version = ?", (log_id, version)
            ).fetchone()
            if row is not None:
                old = row[0]
                con.execute(
                    "UPDATE logs SET merged_path = ?, merged_version = ? WHERE id = ?",
                    (rel, version, log_id),
                )
                if report is not None:
                    con.execute(
                        "UPDATE logs SET stitch_report = ? WHERE id = ?", (to_json(report), log_id)
                    )
                if stats is not None:
                    _set_stats(con, log_id, stats)
        stale = rel if row is None else old
        if stale:
            remove_files(self.root, [self.root / stale])


def _part_paths(con: sqlite3.Connection, log_id: str) -> list[str]:
    rows = con.execute("SELECT path FROM log_parts WHERE log_id = ? ORDER BY part", (log_id,))
    return [r[0] for r in rows]


def _insert_part(
    con: sqlite3.Connection,
    log_id: str,
    rel: str,
    sha: str,
    events: int,
    stats: Mapping[str, Any],
) -> None:
    # One transaction adds the part and bumps the log's version and stats together.
    _add_part(con, log_id, rel, sha, events)
    _bump(con, log_id, stats)


def _add_part(con: sqlite3.Connection, log_id: str, rel: str, sha: str, events: int) -> None:
    part = con.execute(
        "SELECT COALESCE(MAX(part), 0) + 1 FROM log_parts WHERE log_id = ?", (log_id,)
    ).fetchone()[0]
    con.execute(
        "INSERT INTO log_parts (log_id, part, path, batch_sha256, events, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (log_id, part, rel, sha, events, utc_now()),
    )


def _bump(con: sqlite3.Connection, log_id: str, stats: Mapping[str, Any] | None) -> None:
    con.execute(
        "UPDATE logs SET status = 'ready', error = NULL, version = version + 1, updated_at = ?"
        " WHERE id = ?",
        (utc_now(), log_id),
    )
    if stats is not None:
        _set_stats(con, log_id, stats)


def _set_stats(con: sqlite3.Connection, log_id: str, stats: Mapping[str, Any]) -> None:
    con.execute(
        'UPDATE logs SET events = ?, cases = ?, customers = ?, start = ?, "end" = ?,'
        " activities = ?, channels = ? WHERE id = ?",
        (
            stats["events"],
            stats["cases"],
            stats["customers"],
            stats["start"],
            stats["end"],
            json.dumps(stats["activities"]),
            json.dumps(stats["channels"]),
            log_id,
        ),
    )


def _batches(con: sqlite3.Connection, log_id: str) -> set[str]:
    rows = con.execute("SELECT batch_sha256 FROM log_parts WHERE log_id = ?", (log_id,))
    return {r[0] for r in rows}


def _new_frames(
    frames: Sequence[tuple[pl.DataFrame | PartFile, str]], known: set[str]
) -> list[tuple[pl.DataFrame | PartFile, str]]:
    out: list[tuple[pl.DataFrame | PartFile, str]] = []
    seen = set(known)
    for frame, sha in frames:
        rows = frame.events if isinstance(frame, PartFile) else frame.height
        if sha not in seen and rows:
            out.append((frame, sha))
            seen.add(sha)
    return out


def _abs(root: Path, rel: str | None) -> Path | None:
    return root / rel if rel else None


def restitches(mapping: Any) -> bool:
    """Whether a log with this metadata stores events before stitching (see `journeys.py`)."""
    return isinstance(mapping, Mapping) and isinstance(mapping.get("stitch"), Mapping)


def _check_sha(value: str) -> str:
    if not _SHA256.match(value):
        raise InputError(
            "a batch hash must be a sha256 hex digest",
            expected="64 lowercase hex characters",
            found=value[:80],
        )
    return value
