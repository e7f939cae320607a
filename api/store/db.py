"""The workspace's SQLite database: schema migrations and one connection per thread.

`MIGRATIONS[i]` takes a database from schema version i to i + 1. Each runs in its own
`BEGIN IMMEDIATE` transaction together with the bump of `schema_version`, so a crash
mid-migration leaves the previous version intact and the next start retries it.
Migrations are append-only: never edit one that has shipped. The rows as typed records
are in `records.py`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...miner.errors import InternalError

# The records lived here before `records.py`; they stay importable from here.
from .records import (
    ApiKey,
    JobInfo,
    LogInfo,
    LogPart,
    LogSnapshot,
    MapInfo,
    ResultInfo,
    ResultKey,
    Tenant,
    parse_time,
)

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ApiKey",
    "Connections",
    "JobInfo",
    "LogInfo",
    "LogPart",
    "LogSnapshot",
    "MapInfo",
    "ResultInfo",
    "ResultKey",
    "Tenant",
    "connect",
    "migrate",
    "parse_time",
    "schema_version",
    "split_sql",
]

# v1: tenants, API keys, logs and their parts, maps (current text only), jobs, results.
_V1 = """
CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    label      TEXT,
    salt       TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);
CREATE TABLE logs (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
    version        INTEGER NOT NULL DEFAULT 0,
    events         INTEGER NOT NULL DEFAULT 0,
    cases          INTEGER NOT NULL DEFAULT 0,
    customers      INTEGER,
    start          TEXT,
    "end"          TEXT,
    activities     TEXT NOT NULL DEFAULT '[]',
    channels       TEXT NOT NULL DEFAULT '[]',
    mapping        TEXT,
    error          TEXT,
    merged_path    TEXT,
    merged_version INTEGER,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE TABLE log_parts (
    id           INTEGER PRIMARY KEY,
    log_id       TEXT NOT NULL REFERENCES logs(id) ON DELETE CASCADE,
    part         INTEGER NOT NULL,
    path         TEXT NOT NULL UNIQUE,
    batch_sha256 TEXT NOT NULL,
    events       INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (log_id, part),
    UNIQUE (log_id, batch_sha256)
);
CREATE TABLE maps (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    format     TEXT NOT NULL CHECK (format IN ('toml', 'json', 'yaml')),
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE TABLE results (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    log_id      TEXT NOT NULL REFERENCES logs(id) ON DELETE CASCADE,
    log_version INTEGER NOT NULL,
    map_id      TEXT NOT NULL DEFAULT '',
    map_version INTEGER NOT NULL DEFAULT 0,
    params_hash TEXT NOT NULL,
    paths       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (tenant_id, log_id, log_version, map_id, map_version, params_hash, kind)
);
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL
                CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress    REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    stage       TEXT,
    params      TEXT NOT NULL DEFAULT '{}',
    error       TEXT,
    result_id   TEXT,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    updated_at  TEXT NOT NULL
);
CREATE INDEX jobs_tenant_status ON jobs(tenant_id, status);
CREATE INDEX jobs_status ON jobs(status);
"""

# v2: every version of a map's text is kept, so results can name the version they used.
_V2 = """
CREATE TABLE map_versions (
    map_id     TEXT NOT NULL REFERENCES maps(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    format     TEXT NOT NULL CHECK (format IN ('toml', 'json', 'yaml')),
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (map_id, version)
);
INSERT INTO map_versions (map_id, version, format, text, created_at)
    SELECT id, version, format, text, updated_at FROM maps;
"""

# v3: logs whose parts are re-stitched at read time keep their identity table as a file
# of the log, and the stitch report of their cached stitched view (`merged_path`).
_V3 = """
ALTER TABLE logs ADD COLUMN identities_path TEXT;
ALTER TABLE logs ADD COLUMN stitch_report TEXT;
"""

# v4: a log may keep a customer table (attributes per stitched customer) as a file of its own.
_V4 = """
ALTER TABLE logs ADD COLUMN customers_path TEXT;
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4)
SCHEMA_VERSION = len(MIGRATIONS)


def split_sql(script: str) -> list[str]:
    """Split a script into complete statements (sqlite3's own notion of "complete")."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise InternalError(f"incomplete SQL statement in a migration: {pending.strip()[:80]}")
    return statements


def schema_version(con: sqlite3.Connection) -> int:
    """The version the database is at (0 for a new file)."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = con.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(con: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations after the database's version up to `target`; return the version."""
    version = schema_version(con)
    if version > SCHEMA_VERSION:
        raise InternalError(
            f"the workspace database is at schema version {version}, newer than this "
            f"journeyminer supports ({SCHEMA_VERSION}); upgrade journeyminer",
            expected=f"schema version <= {SCHEMA_VERSION}",
            found=str(version),
        )
    while version < target:
        con.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = schema_version(con)
            if version < target:
                for statement in split_sql(MIGRATIONS[version]):
                    con.execute(statement)
                con.execute("DELETE FROM schema_version")
                con.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
                version += 1
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return version


def connect(
    path: Path, *, busy_timeout_s: float = 10.0, synchronous: str = "FULL"
) -> sqlite3.Connection:
    """Open the database in autocommit mode (we issue BEGIN ourselves), WAL, foreign keys on."""
    con = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
    )
    con.row_factory = sqlite3.Row
    con.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'FULL' else 'NORMAL'}")
    mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        con.close()
        raise InternalError(f"cannot put the workspace database in WAL mode (got {mode})")
    return con


class Connections:
    """One SQLite connection per thread (and per process, after a fork), closed together.

    sqlite3 connections must not be shared by threads at once, and opening one costs
    ~0.5 ms, too much per request; a connection per thread avoids both.
    """

    def __init__(self, path: Path, *, busy_timeout_s: float, synchronous: str) -> None:
        self.path = path
        self._busy_timeout_s, self._synchronous = busy_timeout_s, synchronous
        self._lock = threading.Lock()
        self._by_thread: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._pid = os.getpid()
        self._closed = False
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        """The calling thread's connection, opened on first use."""
        local = self._local
        con: sqlite3.Connection | None = getattr(local, "con", None)
        if con is not None and local.pid == os.getpid() and not self._closed:
            return con
        if self._closed:
            raise InternalError("the store is closed")
        thread = threading.current_thread()
        with self._lock:
            if self._pid != os.getpid():
                # A forked child must not touch its parent's connections: abandon them.
                self._by_thread, self._pid = {}, os.getpid()
            self._prune()
            con = connect(
                self.path, busy_timeout_s=self._busy_timeout_s, synchronous=self._synchronous
            )
            self._by_thread[id(thread)] = (thread, con)
        local.con, local.pid = con, os.getpid()
        return con

    def _prune(self) -> None:
        # Close the connections of threads that have ended (e.g. one thread per job).
        for ident, (thread, con) in list(self._by_thread.items()):
            if not thread.is_alive():
                con.close()
                del self._by_thread[ident]

    def close(self) -> None:
        """Close every thread's connection; later use raises."""
        with self._lock:
            self._closed = True
            if self._pid == os.getpid():
                for _, con in self._by_thread.values():
                    con.close()
            self._by_thread = {}

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: takes the write lock up front, commits or rolls back."""
        con = self.get()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several SELECTs see one consistent snapshot."""
        con = self.get()
        con.execute("BEGIN")
        try:
            yield con
        finally:
            if con.in_transaction:
                con.execute("COMMIT")
