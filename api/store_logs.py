"""The store's logs: metadata in SQLite, events in append-only Parquet parts.

A log's `version` counts its parts; appending a batch whose sha256 is already in the log
is a no-op, so a retried upload never doubles events. Reading merges the parts once per
version and caches the merge.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping
from typing import Any, Literal

import polars as pl

from ..miner.errors import (
    ConflictError,
    EmptySourceError,
    InputError,
    InternalError,
    NotFoundError,
)
from ..miner.log import EventLog
from .files import remove_files
from .log_files import check_part_schema, part_stats, sha256_file, write_merged, write_part
from .records import LogInfo, LogPart
from .store_base import LOG_SELECT, StoreBase, TenantRef, new_id, tenant_id_of, to_json, utc_now

LogStatus = Literal["pending", "ready", "failed"]

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
        tenant_id, sha = tenant_id_of(tenant), _check_sha(batch_sha256)
        with self._db.read() as con:
            self._log_row(con, tenant_id, log_id)
            if _has_batch(con, log_id, sha):
                return False
            parts = _part_paths(con, log_id)
        if log.n_events == 0:
            return False
        check_part_schema(self.root, parts, log.frame)
        rel = write_part(self.root, log_id, log.frame)
        committed = False
        try:
            # Stats are computed outside the write lock; if another append lands meanwhile,
            # the version moved and we compute again.
            for _ in range(8):
                with self._db.read() as con:
                    version = self._log_row(con, tenant_id, log_id)["version"]
                    parts = _part_paths(con, log_id)
                check_part_schema(self.root, parts, log.frame)
                stats = part_stats(self.root, [*parts, rel])
                with self._db.write() as con:
                    row = self._log_row(con, tenant_id, log_id)
                    if _has_batch(con, log_id, sha):
                        return False
                    if row["version"] != version:
                        continue
                    _insert_part(con, log_id, rel, sha, log.n_events, stats)
                    committed = True
                    return True
            raise InternalError(f"log {log_id!r} kept changing while appending; try again")
        finally:
            if not committed:
                remove_files(self.root, [self.root / rel])

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
            try:
                if len(parts) == 1:
                    return EventLog(pl.read_parquet(self.root / parts[0]), is_sorted=True)
                if row["merged_path"] and row["merged_version"] == row["version"]:
                    return EventLog(pl.read_parquet(self.root / row["merged_path"]), is_sorted=True)
                frames = [pl.read_parquet(self.root / p) for p in parts]
            except FileNotFoundError:
                continue  # deleted, or the merge cache replaced, between query and read
            merged = EventLog(pl.concat(frames, how="diagonal_relaxed"))
            self._cache_merged(log_id, row["version"], merged)
            return merged
        raise NotFoundError(f"log {log_id!r} does not exist")

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

    def delete_log(self, tenant: TenantRef, log_id: str) -> None:
        """Delete a log, its parts and its results: rows first, then the files."""
        with self._db.write() as con:
            self._log_row(con, tenant_id_of(tenant), log_id)
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
        stale = rel if row is None else old
        if stale:
            remove_files(self.root, [self.root / stale])


def _has_batch(con: sqlite3.Connection, log_id: str, sha: str) -> bool:
    return (
        con.execute(
            "SELECT 1 FROM log_parts WHERE log_id = ? AND batch_sha256 = ?", (log_id, sha)
        ).fetchone()
        is not None
    )


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
    now = utc_now()
    part = con.execute(
        "SELECT COALESCE(MAX(part), 0) + 1 FROM log_parts WHERE log_id = ?", (log_id,)
    ).fetchone()[0]
    con.execute(
        "INSERT INTO log_parts (log_id, part, path, batch_sha256, events, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (log_id, part, rel, sha, events, now),
    )
    con.execute(
        "UPDATE logs SET status = 'ready', error = NULL, version = version + 1, events = ?,"
        ' cases = ?, customers = ?, start = ?, "end" = ?, activities = ?, channels = ?,'
        " updated_at = ? WHERE id = ?",
        (
            stats["events"],
            stats["cases"],
            stats["customers"],
            stats["start"],
            stats["end"],
            json.dumps(stats["activities"]),
            json.dumps(stats["channels"]),
            now,
            log_id,
        ),
    )


def _check_sha(value: str) -> str:
    if not _SHA256.match(value):
        raise InputError(
            "a batch hash must be a sha256 hex digest",
            expected="64 lowercase hex characters",
            found=value[:80],
        )
    return value
