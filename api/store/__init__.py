"""The workspace store: logs as append-only Parquet parts, results as files, metadata in SQLite.

Layout under `settings.workspace`:

    journeyminer.sqlite3        tenants, API keys, logs, log parts, maps, jobs, results (WAL)
    logs/<log id>/part-*.parquet     one file per appended batch, never rewritten
    logs/<log id>/journeys-*/        the stitched journeys of a log whose parts hold events
                                     before stitching (`stitching.py`), per version: a
                                     partitioned dataset (`miner.engine.dataset`) the
                                     analyses run on partition by partition
    logs/<log id>/merged-*.parquet   the union of the parts of a log stored before stitching
                                     moved into the store, per version
    logs/<log id>/identities-*.parquet  the identity table such a log is stitched with
    logs/<log id>/customers-*.parquet   its customer table (attributes per customer), if any
    results/<result id>/<name>       files of one cached analysis result
    trash/                           files on their way out

Crash safety: a file is written under a fresh name (temp file, fsync, rename, fsync of the
folder) before the one transaction that references it commits; files are removed only after
the transaction that dropped their last reference. So a `kill -9` at any moment leaves
every committed row pointing at whole files, and at worst an unreferenced file that
`open()` sweeps once it is older than `settings.orphan_grace_s`.

Tenancy: every method takes the tenant; another tenant's id raises `NotFoundError`
exactly like an id that does not exist.

`Store` composes one mixin per resource (`store_tenants`, `store_logs`, `store_maps`,
`store_jobs`, `store_results`) over `store_base.StoreBase`; the records are in `records`,
the files on disk in `files` and `log_files`, the schema and connections in `db`.
Everything is importable from here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ...miner.engine.dataset import is_dataset
from ..settings import Settings
from .base import TenantRef, new_id, params_hash
from .db import Connections, migrate
from .files import PRIVATE_DIR, private_dir, private_file, sweep_files
from .jobs import JobsMixin, JobStatus
from .log_files import CUSTOMER
from .logs import LogsMixin, LogStatus
from .maps import MapFormat, MapsMixin
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
)
from .records import parse_time as parse_time
from .results import FileContent, ResultsMixin
from .tenants import TenantsMixin

__all__ = [
    "CUSTOMER",
    "ApiKey",
    "FileContent",
    "JobInfo",
    "JobStatus",
    "LogInfo",
    "LogPart",
    "LogSnapshot",
    "LogStatus",
    "MapFormat",
    "MapInfo",
    "ResultInfo",
    "ResultKey",
    "Store",
    "Tenant",
    "TenantRef",
    "new_id",
    "params_hash",
]


class Store(TenantsMixin, LogsMixin, MapsMixin, JobsMixin, ResultsMixin):
    """Metadata, logs, maps, jobs and results of one workspace; safe to share across threads."""

    # -- lifecycle ----------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings) -> Store:
        """Open (or create) the workspace, migrate its schema, sweep leftovers of crashes."""
        root = settings.workspace
        private_dir(root)
        os.chmod(root, PRIVATE_DIR)  # also a workspace made before files were owner-only
        for sub in ("logs", "results", "trash"):
            private_dir(root / sub)
        # SQLite gives its -wal and -shm files the database file's permissions.
        private_file(settings.db_path)
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

    # -- maintenance --------------------------------------------------------------------
    def sweep(self, grace_s: float) -> list[Path]:
        """Remove the trash, temp files and unreferenced files older than `grace_s` seconds."""
        return sweep_files(self.root, grace_s, self._referenced_files)

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
            if not (self.root / rel).is_file() and not is_dataset(self.root / rel)
        ]
        return problems

    def _referenced_files(self) -> set[str]:
        with self._db.read() as con:
            refs = {r[0] for r in con.execute("SELECT path FROM log_parts")}
            refs |= {
                r[0] for r in con.execute("SELECT merged_path FROM logs WHERE merged_path NOT NULL")
            }
            for column in ("identities_path", "customers_path"):
                refs |= {
                    r[0] for r in con.execute(f"SELECT {column} FROM logs WHERE {column} NOT NULL")
                }
            for (paths,) in con.execute("SELECT paths FROM results"):
                refs |= set(json.loads(paths).values())
        return refs
