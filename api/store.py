"""The workspace store: logs as append-only Parquet parts, results as files, metadata in SQLite.

Layout under `settings.workspace`:

    journeyminer.sqlite3        tenants, API keys, logs, log parts, maps, jobs, results (WAL)
    logs/<log id>/part-*.parquet     one file per appended batch, never rewritten
    logs/<log id>/merged-*.parquet   the canonical merge of all parts, cached per version
    results/<result id>/<name>       files of one cached analysis result
    trash/                           files on their way out

Crash safety: a file is written under a fresh name (temp file, fsync, rename, fsync of the
folder) before the one transaction that references it commits; files are removed only after
the transaction that dropped their last reference. So a `kill -9` at any moment leaves
every committed row pointing at whole files, and at worst an unreferenced file that
`open()` sweeps once it is older than `settings.orphan_grace_s`.

Tenancy: every method takes the tenant; another tenant's id raises `NotFoundError`
exactly like an id that does not exist.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from ..miner.errors import EmptySourceError, InputError, InternalError, NotFoundError, SourceError
from ..miner.log import CASE, TIMESTAMP, EventLog, atomic_write_parquet
from ..miner.store_files import atomic_write_bytes, atomic_write_text
from .db import (
    ApiKey,
    Connections,
    JobInfo,
    LogInfo,
    LogPart,
    MapInfo,
    ResultInfo,
    ResultKey,
    Tenant,
    migrate,
    parse_time,
)
from .settings import Settings

__all__ = [
    "ApiKey",
    "JobInfo",
    "LogInfo",
    "LogPart",
    "MapInfo",
    "ResultInfo",
    "ResultKey",
    "Store",
    "Tenant",
    "new_id",
    "params_hash",
]

TenantRef = Tenant | str
MapFormat = Literal["toml", "json", "yaml"]
LogStatus = Literal["pending", "ready", "failed"]
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
FileContent = str | bytes | pl.DataFrame
CUSTOMER = "customer_id"

_LOG_SELECT = (
    "SELECT logs.*, (SELECT COUNT(*) FROM log_parts WHERE log_id = logs.id) AS parts FROM logs"
)
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RUNNING: tuple[Literal["queued", "running"], ...] = ("queued", "running")


def new_id(prefix: str) -> str:
    """A short random url-safe id with a type prefix, e.g. `log_3kT9xQ2bLm0a`."""
    return f"{prefix}_{secrets.token_urlsafe(9)}"


def params_hash(params: Mapping[str, Any]) -> str:
    """sha256 of the parameters as canonical JSON: equal parameters, equal hash."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _tid(tenant: TenantRef) -> str:
    return tenant.id if isinstance(tenant, Tenant) else tenant


def _conflict(message: str, **kwargs: Any) -> InputError:
    return InputError(message, status=409, title="Conflict", **kwargs)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _fsync_dir(path: Path) -> None:
    # A rename is durable across power loss only once its folder is synced too.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    """Metadata, logs, maps, jobs and results of one workspace; safe to share across threads."""

    def __init__(self, settings: Settings, connections: Connections) -> None:
        """Use `Store.open(settings)`; this wraps an already migrated database."""
        self.settings = settings
        self.root = settings.workspace.resolve()
        self._db = connections

    # -- lifecycle ----------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings) -> Store:
        """Open (or create) the workspace, migrate its schema, sweep leftovers of crashes."""
        root = settings.workspace
        for sub in ("logs", "results", "trash"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        connections = Connections(
            settings.db_path,
            busy_timeout_s=settings.sqlite_busy_timeout_s,
            synchronous=settings.sqlite_synchronous,
        )
        try:
            migrate(connections.get())
            store = cls(settings, connections)
            store.sweep(settings.orphan_grace_s)
        except BaseException:
            connections.close()
            raise
        return store

    def close(self) -> None:
        """Close every thread's database connection."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tenants and API keys -----------------------------------------------------------
    def create_tenant(self, name: str) -> Tenant:
        """Add a tenant; its name must be new."""
        if not name.strip():
            raise InputError("a tenant needs a name", expected="a non-empty name")
        tenant_id, created = new_id("ten"), _now()
        try:
            with self._db.write() as con:
                con.execute(
                    "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)",
                    (tenant_id, name, created),
                )
        except sqlite3.IntegrityError:
            raise _conflict(f"a tenant named {name!r} already exists") from None
        return self.get_tenant(tenant_id)

    def ensure_tenant(self, name: str) -> Tenant:
        """The tenant with this name, created if it does not exist yet."""
        try:
            return self.get_tenant_by_name(name)
        except NotFoundError:
            pass
        try:
            return self.create_tenant(name)
        except InputError:
            return self.get_tenant_by_name(name)  # created by someone else meanwhile

    def get_tenant(self, tenant_id: str) -> Tenant:
        """The tenant with this id."""
        row = self._db.get().execute("SELECT * FROM tenants WHERE id = ?", (tenant_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"tenant {tenant_id!r} does not exist")
        return Tenant.from_row(row)

    def get_tenant_by_name(self, name: str) -> Tenant:
        """The tenant with this name."""
        row = self._db.get().execute("SELECT * FROM tenants WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"tenant {name!r} does not exist")
        return Tenant.from_row(row)

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, by name."""
        rows = self._db.get().execute("SELECT * FROM tenants ORDER BY name").fetchall()
        return [Tenant.from_row(r) for r in rows]

    def create_api_key(self, tenant: TenantRef, *, label: str | None = None) -> tuple[str, str]:
        """A new key for the tenant: `(key_id, token)`. The token is shown here once only."""
        tenant_id = self.get_tenant(_tid(tenant)).id
        key_id, secret, salt = new_id("key"), secrets.token_urlsafe(32), secrets.token_bytes(16)
        with self._db.write() as con:
            con.execute(
                "INSERT INTO api_keys (id, tenant_id, label, salt, hash, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, tenant_id, label, salt.hex(), _key_hash(salt, secret), _now()),
            )
        return key_id, f"{key_id}.{secret}"

    def authenticate(self, token: str) -> Tenant | None:
        """The tenant a valid, unrevoked token belongs to; None for anything else."""
        key_id, dot, secret = token.strip().partition(".")
        if not dot or not key_id.startswith("key_") or not secret:
            return None
        row = (
            self._db.get()
            .execute(
                "SELECT k.salt, k.hash, t.id, t.name, t.created_at FROM api_keys k"
                " JOIN tenants t ON t.id = k.tenant_id"
                " WHERE k.id = ? AND k.revoked_at IS NULL",
                (key_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        if not hmac.compare_digest(_key_hash(bytes.fromhex(row["salt"]), secret), row["hash"]):
            return None
        return Tenant.from_row(row)

    def revoke_api_key(self, key_id: str, *, tenant: TenantRef | None = None) -> ApiKey:
        """Revoke a key (idempotent); with `tenant`, only that tenant's key."""
        with self._db.write() as con:
            row = con.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
            if row is None or (tenant is not None and row["tenant_id"] != _tid(tenant)):
                raise NotFoundError(f"API key {key_id!r} does not exist")
            con.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (_now(), key_id),
            )
            row = con.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return ApiKey.from_row(row)

    def list_api_keys(self, tenant: TenantRef) -> list[ApiKey]:
        """The tenant's keys (no secrets), oldest first."""
        rows = (
            self._db.get()
            .execute(
                "SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id",
                (_tid(tenant),),
            )
            .fetchall()
        )
        return [ApiKey.from_row(r) for r in rows]

    # -- logs ---------------------------------------------------------------------------
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
        tenant_id = self.get_tenant(_tid(tenant)).id
        if batch_sha256 is not None:
            _check_sha(batch_sha256)
        if log is not None and log.n_events == 0:
            raise EmptySourceError(f"log {name!r} holds no events")
        self._check_name_free("logs", tenant_id, name)
        log_id, created = new_id("log"), _now()
        rel = stats = None
        if log is not None:
            rel = self._write_part(log_id, log.frame)
        try:
            if rel is not None:
                stats = self._stats([rel])
            with self._db.write() as con:
                con.execute(
                    "INSERT INTO logs (id, tenant_id, name, status, mapping, created_at,"
                    " updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                    (log_id, tenant_id, name, _json(mapping), created, created),
                )
                if log is not None and rel is not None and stats is not None:
                    sha = batch_sha256 or _sha256_file(self.root / rel)
                    self._insert_part(con, log_id, rel, sha, log.n_events, stats)
        except sqlite3.IntegrityError:
            if rel is not None:
                self._remove([self.root / rel])
            raise _conflict(f"a log named {name!r} already exists", extra={"name": name}) from None
        except BaseException:
            if rel is not None:
                self._remove([self.root / rel])
            raise
        return self.get_log(tenant_id, log_id)

    def append_log_part(
        self, tenant: TenantRef, log_id: str, log: EventLog, batch_sha256: str
    ) -> bool:
        """Append a batch as a new part; False when this batch hash is already in the log."""
        tenant_id, sha = _tid(tenant), _check_sha(batch_sha256)
        with self._db.read() as con:
            self._log_row(con, tenant_id, log_id)
            if self._has_batch(con, log_id, sha):
                return False
            parts = self._part_paths(con, log_id)
        if log.n_events == 0:
            return False
        self._check_schema(parts, log.frame)
        rel = self._write_part(log_id, log.frame)
        committed = False
        try:
            # Stats are computed outside the write lock; if another append lands meanwhile,
            # the version moved and we compute again.
            for _ in range(8):
                with self._db.read() as con:
                    version = self._log_row(con, tenant_id, log_id)["version"]
                    parts = self._part_paths(con, log_id)
                self._check_schema(parts, log.frame)
                stats = self._stats([*parts, rel])
                with self._db.write() as con:
                    row = self._log_row(con, tenant_id, log_id)
                    if self._has_batch(con, log_id, sha):
                        return False
                    if row["version"] != version:
                        continue
                    self._insert_part(con, log_id, rel, sha, log.n_events, stats)
                    committed = True
                    return True
            raise InternalError(f"log {log_id!r} kept changing while appending; try again")
        finally:
            if not committed:
                self._remove([self.root / rel])

    def read_log(self, tenant: TenantRef, log_id: str) -> EventLog:
        """All parts of the log as one canonical EventLog (merge cached per log version)."""
        tenant_id = _tid(tenant)
        for _ in range(3):
            with self._db.read() as con:
                row = self._log_row(con, tenant_id, log_id)
                parts = self._part_paths(con, log_id)
            if not parts:
                raise _conflict(
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
            return LogInfo.from_row(self._log_row(con, _tid(tenant), log_id))

    def get_log_by_name(self, tenant: TenantRef, name: str) -> LogInfo:
        """The tenant's log with this name."""
        row = (
            self._db.get()
            .execute(f"{_LOG_SELECT} WHERE tenant_id = ? AND name = ?", (_tid(tenant), name))
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
                f"{_LOG_SELECT} WHERE tenant_id = ? ORDER BY created_at DESC, id", (_tid(tenant),)
            )
            .fetchall()
        )
        return [LogInfo.from_row(r) for r in rows]

    def list_log_parts(self, tenant: TenantRef, log_id: str) -> list[LogPart]:
        """The log's parts in append order."""
        with self._db.read() as con:
            self._log_row(con, _tid(tenant), log_id)
            rows = con.execute(
                "SELECT * FROM log_parts WHERE log_id = ? ORDER BY part", (log_id,)
            ).fetchall()
        return [
            LogPart(
                r["log_id"],
                r["part"],
                self.root / r["path"],
                r["batch_sha256"],
                r["events"],
                _time(r["created_at"]),
            )
            for r in rows
        ]

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
            self._log_row(con, _tid(tenant), log_id)
            con.execute(
                "UPDATE logs SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                (status, _json(error), _now(), log_id),
            )
        return self.get_log(tenant, log_id)

    def delete_log(self, tenant: TenantRef, log_id: str) -> None:
        """Delete a log, its parts and its results: rows first, then the files."""
        with self._db.write() as con:
            self._log_row(con, _tid(tenant), log_id)
            results = [
                r[0] for r in con.execute("SELECT id FROM results WHERE log_id = ?", (log_id,))
            ]
            con.execute("DELETE FROM results WHERE log_id = ?", (log_id,))
            con.execute("DELETE FROM logs WHERE id = ?", (log_id,))
        self._remove([self.root / "logs" / log_id, *(self.root / "results" / r for r in results)])

    # -- maps ---------------------------------------------------------------------------
    def create_map(self, tenant: TenantRef, name: str, text: str, format: MapFormat) -> MapInfo:
        """Store a designed map's text as version 1 (validation is the caller's job)."""
        tenant_id = self.get_tenant(_tid(tenant)).id
        map_id, now = new_id("map"), _now()
        try:
            with self._db.write() as con:
                con.execute(
                    "INSERT INTO maps (id, tenant_id, name, version, format, text, created_at,"
                    " updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
                    (map_id, tenant_id, name, format, text, now, now),
                )
                con.execute(
                    "INSERT INTO map_versions (map_id, version, format, text, created_at)"
                    " VALUES (?, 1, ?, ?, ?)",
                    (map_id, format, text, now),
                )
        except sqlite3.IntegrityError:
            raise _conflict(f"a map named {name!r} already exists", extra={"name": name}) from None
        return self.get_map(tenant_id, map_id)

    def put_map(
        self, tenant: TenantRef, map_id: str, text: str, format: MapFormat | None = None
    ) -> MapInfo:
        """Store a new version of the map; earlier versions stay readable."""
        with self._db.write() as con:
            row = self._map_row(con, _tid(tenant), map_id)
            version, fmt, now = row["version"] + 1, format or row["format"], _now()
            con.execute(
                "UPDATE maps SET version = ?, format = ?, text = ?, updated_at = ? WHERE id = ?",
                (version, fmt, text, now, map_id),
            )
            con.execute(
                "INSERT INTO map_versions (map_id, version, format, text, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (map_id, version, fmt, text, now),
            )
        return self.get_map(tenant, map_id)

    def get_map(self, tenant: TenantRef, map_id: str, version: int | None = None) -> MapInfo:
        """The map's latest version, or the one asked for."""
        with self._db.read() as con:
            row = self._map_row(con, _tid(tenant), map_id)
            if version is None or version == row["version"]:
                return _map_info(row)
            old = con.execute(
                "SELECT * FROM map_versions WHERE map_id = ? AND version = ?", (map_id, version)
            ).fetchone()
        if old is None:
            raise NotFoundError(f"map {map_id!r} has no version {version}")
        return _map_info(row, old)

    def get_map_by_name(self, tenant: TenantRef, name: str) -> MapInfo:
        """The tenant's map with this name, latest version."""
        row = (
            self._db.get()
            .execute("SELECT * FROM maps WHERE tenant_id = ? AND name = ?", (_tid(tenant), name))
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"map {name!r} does not exist")
        return _map_info(row)

    def list_maps(self, tenant: TenantRef) -> list[MapInfo]:
        """The tenant's maps (latest versions), by name."""
        rows = (
            self._db.get()
            .execute("SELECT * FROM maps WHERE tenant_id = ? ORDER BY name", (_tid(tenant),))
            .fetchall()
        )
        return [_map_info(r) for r in rows]

    def delete_map(self, tenant: TenantRef, map_id: str) -> None:
        """Delete a map, all its versions and the results computed with it."""
        with self._db.write() as con:
            self._map_row(con, _tid(tenant), map_id)
            results = [
                r[0] for r in con.execute("SELECT id FROM results WHERE map_id = ?", (map_id,))
            ]
            con.execute("DELETE FROM results WHERE map_id = ?", (map_id,))
            con.execute("DELETE FROM maps WHERE id = ?", (map_id,))
        self._remove([self.root / "results" / r for r in results])

    # -- jobs ---------------------------------------------------------------------------
    def create_job(
        self, tenant: TenantRef, kind: str, params: Mapping[str, Any] | None = None
    ) -> JobInfo:
        """A new queued job."""
        tenant_id = self.get_tenant(_tid(tenant)).id
        job_id, now = new_id("job"), _now()
        with self._db.write() as con:
            con.execute(
                "INSERT INTO jobs (id, tenant_id, kind, status, params, created_at, updated_at)"
                " VALUES (?, ?, ?, 'queued', ?, ?, ?)",
                (job_id, tenant_id, kind, _json(dict(params or {})), now, now),
            )
        return self.get_job(tenant_id, job_id)

    def get_job(self, tenant: TenantRef, job_id: str) -> JobInfo:
        """The job's state, progress and result."""
        return JobInfo.from_row(self._job_row(self._db.get(), _tid(tenant), job_id))

    def list_jobs(
        self, tenant: TenantRef, *, status: JobStatus | None = None, limit: int = 100
    ) -> list[JobInfo]:
        """The tenant's jobs, newest first."""
        sql, args = "SELECT * FROM jobs WHERE tenant_id = ?", [_tid(tenant)]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        rows = self._db.get().execute(f"{sql} ORDER BY created_at DESC, id LIMIT ?", (*args, limit))
        return [JobInfo.from_row(r) for r in rows.fetchall()]

    def start_job(self, tenant: TenantRef, job_id: str) -> JobInfo:
        """Move a queued job to running; a cancelled job stays cancelled (check `.status`)."""
        now = _now()
        return self._job_transition(
            tenant,
            job_id,
            "status = 'running', started_at = ?, updated_at = ?",
            (now, now),
            ("queued",),
        )

    def update_progress(
        self, tenant: TenantRef, job_id: str, progress: float, stage: str | None = None
    ) -> bool:
        """Record progress (0-1) and stage; False when the job is no longer running (cancelled)."""
        if not 0.0 <= progress <= 1.0:
            raise ValueError(f"progress must lie in [0, 1], got {progress}")
        with self._db.write() as con:
            self._job_row(con, _tid(tenant), job_id)
            cur = con.execute(
                "UPDATE jobs SET progress = ?, stage = COALESCE(?, stage), updated_at = ?"
                " WHERE id = ? AND status = 'running'",
                (progress, stage, _now(), job_id),
            )
        return cur.rowcount == 1

    def finish_job(
        self, tenant: TenantRef, job_id: str, *, result_id: str | None = None
    ) -> JobInfo:
        """Mark a running job done with what it produced (a result or log id)."""
        now = _now()
        return self._job_transition(
            tenant,
            job_id,
            "status = 'done', progress = 1, result_id = ?, finished_at = ?, updated_at = ?",
            (result_id, now, now),
            ("running",),
        )

    def fail_job(self, tenant: TenantRef, job_id: str, error: Mapping[str, Any]) -> JobInfo:
        """Mark a queued or running job failed with a problem body saying why."""
        now = _now()
        return self._job_transition(
            tenant,
            job_id,
            "status = 'failed', error = ?, finished_at = ?, updated_at = ?",
            (_json(dict(error)), now, now),
            _RUNNING,
        )

    def cancel_job(self, tenant: TenantRef, job_id: str) -> JobInfo:
        """Cancel a queued or running job; a finished job is left as it is."""
        now = _now()
        return self._job_transition(
            tenant,
            job_id,
            "status = 'cancelled', finished_at = ?, updated_at = ?",
            (now, now),
            _RUNNING,
        )

    def unfinished_jobs(self) -> list[JobInfo]:
        """Queued and running jobs of every tenant, oldest first (for the runner at start)."""
        rows = self._db.get().execute(
            "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at, id"
        )
        return [JobInfo.from_row(r) for r in rows.fetchall()]

    def mark_interrupted_jobs_failed(
        self,
        reason: str,
        *,
        statuses: Sequence[Literal["queued", "running"]] = _RUNNING,
        stale_after_s: float | None = None,
    ) -> list[str]:
        """Fail unfinished jobs (all tenants) with `reason`; only stale ones if asked. Ids back."""
        if not statuses:
            return []
        sql = f"WHERE status IN ({', '.join('?' * len(statuses))})"
        args: list[Any] = list(statuses)
        if stale_after_s is not None:
            cutoff = datetime.now(UTC) - timedelta(seconds=stale_after_s)
            sql += " AND updated_at < ?"
            args.append(cutoff.isoformat(timespec="microseconds"))
        error = {"title": "Job interrupted", "status": 500, "detail": reason}
        now = _now()
        with self._db.write() as con:
            ids = [r[0] for r in con.execute(f"SELECT id FROM jobs {sql}", args)]
            con.execute(
                f"UPDATE jobs SET status = 'failed', error = ?, finished_at = ?, updated_at = ?"
                f" {sql}",
                (_json(error), now, now, *args),
            )
        return ids

    # -- results ------------------------------------------------------------------------
    def put_result(
        self, tenant: TenantRef, key: ResultKey, files: Mapping[str, FileContent]
    ) -> ResultInfo:
        """Store a result's files under its cache key; if the key is taken, the stored one wins."""
        tenant_id = _tid(tenant)
        for name in files:
            if not _FILE_NAME.match(name):
                raise ValueError(f"result file name {name!r} must match {_FILE_NAME.pattern}")
        with self._db.read() as con:
            self._log_row(con, tenant_id, key.log_id)
        result_id = new_id("res")
        folder = self.root / "results" / result_id
        committed = False
        try:
            for name, content in files.items():
                if isinstance(content, pl.DataFrame):
                    atomic_write_parquet(content, folder / name)
                elif isinstance(content, str):
                    atomic_write_text(folder / name, content)
                else:
                    atomic_write_bytes(folder / name, content)
            folder.mkdir(parents=True, exist_ok=True)
            _fsync_dir(folder)
            _fsync_dir(folder.parent)
            paths = {name: f"results/{result_id}/{name}" for name in files}
            with self._db.write() as con:
                self._log_row(con, tenant_id, key.log_id)
                existing = self._result_row(con, tenant_id, key)
                if existing is not None:
                    return self._result_info(existing)
                con.execute(
                    "INSERT INTO results (id, tenant_id, kind, log_id, log_version, map_id,"
                    " map_version, params_hash, paths, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        result_id,
                        tenant_id,
                        key.kind,
                        key.log_id,
                        key.log_version,
                        key.map_id,
                        key.map_version,
                        key.params_hash,
                        _json(paths),
                        _now(),
                    ),
                )
                committed = True
        finally:
            if not committed:
                self._remove([folder])
        return self.get_result_by_id(tenant_id, result_id)

    def get_result(self, tenant: TenantRef, key: ResultKey) -> ResultInfo | None:
        """The cached result for this key, or None."""
        row = self._result_row(self._db.get(), _tid(tenant), key)
        return None if row is None else self._result_info(row)

    def get_result_by_id(self, tenant: TenantRef, result_id: str) -> ResultInfo:
        """A stored result by id."""
        row = (
            self._db.get()
            .execute(
                "SELECT * FROM results WHERE id = ? AND tenant_id = ?", (result_id, _tid(tenant))
            )
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"result {result_id!r} does not exist")
        return self._result_info(row)

    # -- maintenance --------------------------------------------------------------------
    def sweep(self, grace_s: float) -> list[Path]:
        """Remove the trash, temp files and unreferenced files older than `grace_s` seconds."""
        cutoff = time.time() - grace_s
        removed: list[Path] = []
        for entry in list((self.root / "trash").iterdir()):
            self._remove([entry], via_trash=False)
            removed.append(entry)
        # List files before reading the references: a file committed in between is then
        # seen as referenced, never swept by mistake.
        candidates = [
            p for top in ("logs", "results") for p in (self.root / top).rglob("*") if p.is_file()
        ]
        referenced = self._referenced_files()
        for path in candidates:
            rel = path.relative_to(self.root).as_posix()
            with suppress(FileNotFoundError):
                if rel not in referenced and path.stat().st_mtime <= cutoff:
                    path.unlink()
                    removed.append(path)
        for top in ("logs", "results"):
            for folder in (self.root / top).iterdir():
                with suppress(OSError):
                    if folder.stat().st_mtime <= cutoff and not any(folder.iterdir()):
                        folder.rmdir()
        return removed

    def check(self) -> list[str]:
        """Problems found: SQLite integrity and foreign keys, and referenced files missing."""
        con = self._db.get()
        problems = [
            f"integrity: {r[0]}"
            for r in con.execute("PRAGMA integrity_check").fetchall()
            if r[0] != "ok"
        ]
        problems += [f"foreign key: {tuple(r)}" for r in con.execute("PRAGMA foreign_key_check")]
        problems += [
            f"missing file: {rel}"
            for rel in sorted(self._referenced_files())
            if not (self.root / rel).is_file()
        ]
        return problems

    # -- internals ----------------------------------------------------------------------
    def _referenced_files(self) -> set[str]:
        with self._db.read() as con:
            refs = {r[0] for r in con.execute("SELECT path FROM log_parts")}
            refs |= {
                r[0] for r in con.execute("SELECT merged_path FROM logs WHERE merged_path NOT NULL")
            }
            for (paths,) in con.execute("SELECT paths FROM results"):
                refs |= set(json.loads(paths).values())
        return refs

    def _check_name_free(self, table: str, tenant_id: str, name: str) -> None:
        if not name.strip():
            raise InputError("a name must not be empty", expected="a non-empty name")
        row = (
            self._db.get()
            .execute(f"SELECT 1 FROM {table} WHERE tenant_id = ? AND name = ?", (tenant_id, name))
            .fetchone()
        )
        if row is not None:
            raise _conflict(f"a {table[:-1]} named {name!r} already exists", extra={"name": name})

    def _log_row(self, con: sqlite3.Connection, tenant_id: str, log_id: str) -> sqlite3.Row:
        row = con.execute(
            f"{_LOG_SELECT} WHERE id = ? AND tenant_id = ?", (log_id, tenant_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"log {log_id!r} does not exist", extra={"id": log_id})
        return row

    def _map_row(self, con: sqlite3.Connection, tenant_id: str, map_id: str) -> sqlite3.Row:
        row = con.execute(
            "SELECT * FROM maps WHERE id = ? AND tenant_id = ?", (map_id, tenant_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"map {map_id!r} does not exist", extra={"id": map_id})
        return row

    def _job_row(self, con: sqlite3.Connection, tenant_id: str, job_id: str) -> sqlite3.Row:
        row = con.execute(
            "SELECT * FROM jobs WHERE id = ? AND tenant_id = ?", (job_id, tenant_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"job {job_id!r} does not exist", extra={"id": job_id})
        return row

    def _job_transition(
        self,
        tenant: TenantRef,
        job_id: str,
        assignments: str,
        args: tuple[Any, ...],
        from_statuses: tuple[str, ...],
    ) -> JobInfo:
        with self._db.write() as con:
            self._job_row(con, _tid(tenant), job_id)
            marks = ", ".join("?" * len(from_statuses))
            con.execute(
                f"UPDATE jobs SET {assignments} WHERE id = ? AND status IN ({marks})",
                (*args, job_id, *from_statuses),
            )
            return JobInfo.from_row(self._job_row(con, _tid(tenant), job_id))

    def _result_row(
        self, con: sqlite3.Connection, tenant_id: str, key: ResultKey
    ) -> sqlite3.Row | None:
        row: sqlite3.Row | None = con.execute(
            "SELECT * FROM results WHERE tenant_id = ? AND kind = ? AND log_id = ?"
            " AND log_version = ? AND map_id = ? AND map_version = ? AND params_hash = ?",
            (
                tenant_id,
                key.kind,
                key.log_id,
                key.log_version,
                key.map_id,
                key.map_version,
                key.params_hash,
            ),
        ).fetchone()
        return row

    def _result_info(self, row: sqlite3.Row) -> ResultInfo:
        key = ResultKey(
            kind=row["kind"],
            log_id=row["log_id"],
            log_version=row["log_version"],
            params_hash=row["params_hash"],
            map_id=row["map_id"],
            map_version=row["map_version"],
        )
        files = {name: self.root / rel for name, rel in json.loads(row["paths"]).items()}
        return ResultInfo(row["id"], row["tenant_id"], key, files, _time(row["created_at"]))

    @staticmethod
    def _has_batch(con: sqlite3.Connection, log_id: str, sha: str) -> bool:
        return (
            con.execute(
                "SELECT 1 FROM log_parts WHERE log_id = ? AND batch_sha256 = ?", (log_id, sha)
            ).fetchone()
            is not None
        )

    @staticmethod
    def _part_paths(con: sqlite3.Connection, log_id: str) -> list[str]:
        rows = con.execute("SELECT path FROM log_parts WHERE log_id = ? ORDER BY part", (log_id,))
        return [r[0] for r in rows]

    def _write_part(self, log_id: str, frame: pl.DataFrame) -> str:
        """Write a part under a fresh, not yet referenced name; return its relative path."""
        rel = f"logs/{log_id}/part-{secrets.token_hex(8)}.parquet"
        path = self.root / rel
        atomic_write_parquet(frame, path)
        _fsync_dir(path.parent)
        _fsync_dir(path.parent.parent)
        return rel

    def _insert_part(
        self,
        con: sqlite3.Connection,
        log_id: str,
        rel: str,
        sha: str,
        events: int,
        stats: Mapping[str, Any],
    ) -> None:
        now = _now()
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

    def _stats(self, parts: Sequence[str]) -> dict[str, Any]:
        """Counts and ranges over all parts, reading only the columns they need."""
        scans = [pl.scan_parquet(self.root / p) for p in parts]
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
                    (
                        pl.col(CUSTOMER).drop_nulls().n_unique() if has_customer else pl.lit(None)
                    ).alias("customers"),
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

    def _check_schema(self, parts: Sequence[str], frame: pl.DataFrame) -> None:
        """An appended batch must type its shared columns like the parts before it."""
        stored: dict[str, pl.DataType] = {}
        for part in parts:
            stored.update(pl.read_parquet_schema(self.root / part))
        for column, dtype in frame.schema.items():
            if column in stored and stored[column] != dtype:
                raise SourceError(
                    f"column {column!r} has another type than in the log's earlier parts",
                    column=column,
                    expected=str(stored[column]),
                    found=str(dtype),
                )

    def _cache_merged(self, log_id: str, version: int, log: EventLog) -> None:
        try:
            rel = f"logs/{log_id}/merged-{secrets.token_hex(8)}.parquet"
            atomic_write_parquet(log.frame, self.root / rel)
            _fsync_dir((self.root / rel).parent)
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
            self._remove([self.root / stale])

    def _remove(self, paths: Sequence[Path], *, via_trash: bool = True) -> None:
        """Delete files or folders no row references any more, through the trash folder."""
        for path in paths:
            target = path
            if via_trash:
                target = self.root / "trash" / secrets.token_hex(8)
                try:
                    os.replace(path, target)
                except FileNotFoundError:
                    continue
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                with suppress(FileNotFoundError):
                    target.unlink()


def _map_info(row: sqlite3.Row, old: sqlite3.Row | None = None) -> MapInfo:
    """A `maps` row as MapInfo; with `old` (a `map_versions` row), that version instead."""
    version = old if old is not None else row
    return MapInfo(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        version=version["version"],
        latest_version=row["version"],
        format=version["format"],
        text=version["text"],
        created_at=_time(row["created_at"]),
        updated_at=_time(old["created_at"] if old is not None else row["updated_at"]),
    )


def _time(value: str) -> datetime:
    return parse_time(value) or datetime.now(UTC)


def _key_hash(salt: bytes, secret: str) -> str:
    # The secret carries 256 random bits, so a keyed hash suffices: no slow KDF needed.
    return hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def _check_sha(value: str) -> str:
    if not _SHA256.match(value):
        raise InputError(
            "a batch hash must be a sha256 hex digest",
            expected="64 lowercase hex characters",
            found=value[:80],
        )
    return value


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
