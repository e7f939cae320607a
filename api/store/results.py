"""The store's cached analysis results: files under `results/<id>/`, found by their key.

A `ResultKey` names what a result was computed from (log and map versions, parameters);
a later request with an equal key gets the stored result instead of a new computation.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping

import polars as pl

from ...miner.errors import NotFoundError
from ...miner.files import atomic_write_bytes, atomic_write_parquet, atomic_write_text
from .base import StoreBase, TenantRef, new_id, tenant_id_of, to_json, utc_now
from .files import fsync_dir, private_dir, remove_files
from .records import ResultInfo, ResultKey

FileContent = str | bytes | pl.DataFrame

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class ResultsMixin(StoreBase):
    """Cached results and their files."""

    def put_result(
        self, tenant: TenantRef, key: ResultKey, files: Mapping[str, FileContent]
    ) -> ResultInfo:
        """Store a result's files under its cache key; if the key is taken, the stored one wins."""
        tenant_id = tenant_id_of(tenant)
        for name in files:
            if not _FILE_NAME.match(name):
                raise ValueError(f"result file name {name!r} must match {_FILE_NAME.pattern}")
        with self._db.read() as con:
            self._log_row(con, tenant_id, key.log_id)
        result_id = new_id("res")
        folder = private_dir(self.root / "results" / result_id)
        committed = False
        try:
            for name, content in files.items():
                if isinstance(content, pl.DataFrame):
                    atomic_write_parquet(content, folder / name)
                elif isinstance(content, str):
                    atomic_write_text(folder / name, content)
                else:
                    atomic_write_bytes(folder / name, content)
            fsync_dir(folder)
            fsync_dir(folder.parent)
            paths = {name: f"results/{result_id}/{name}" for name in files}
            with self._db.write() as con:
                self._log_row(con, tenant_id, key.log_id)
                if (
                    key.map_id
                    and not con.execute(
                        "SELECT 1 FROM maps WHERE id = ? AND tenant_id = ?", (key.map_id, tenant_id)
                    ).fetchone()
                ):  # deleted while the analysis ran: no result for a map gone
                    raise NotFoundError(f"map {key.map_id!r} does not exist")
                existing = _result_row(con, tenant_id, key)
                if existing is not None:
                    return ResultInfo.from_row(existing, self.root)
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
                        to_json(paths),
                        utc_now(),
                    ),
                )
                committed = True
        finally:
            if not committed:
                remove_files(self.root, [folder])
        return self.get_result_by_id(tenant_id, result_id)

    def get_result(self, tenant: TenantRef, key: ResultKey) -> ResultInfo | None:
        """The cached result for this key, or None."""
        row = _result_row(self._db.get(), tenant_id_of(tenant), key)
        return None if row is None else ResultInfo.from_row(row, self.root)

    def get_result_by_id(self, tenant: TenantRef, result_id: str) -> ResultInfo:
        """A stored result by id."""
        row = (
            self._db.get()
            .execute(
                "SELECT * FROM results WHERE id = ? AND tenant_id = ?",
                (result_id, tenant_id_of(tenant)),
            )
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"result {result_id!r} does not exist")
        return ResultInfo.from_row(row, self.root)


def _result_row(con: sqlite3.Connection, tenant_id: str, key: ResultKey) -> sqlite3.Row | None:
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
