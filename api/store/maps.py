"""The store's designed journey maps: the text of every version, kept for the results."""

from __future__ import annotations

import sqlite3

from ...miner._typing import MapFormat
from ...miner.errors import ConflictError, NotFoundError
from .base import StoreBase, TenantRef, new_id, tenant_id_of, utc_now
from .files import remove_files
from .jobs import drop_jobs_of
from .records import MapInfo


class MapsMixin(StoreBase):
    """Designed maps and their versions."""

    def create_map(self, tenant: TenantRef, name: str, text: str, format: MapFormat) -> MapInfo:
        """Store a designed map's text as version 1 (validation is the caller's job)."""
        tenant_id = self.get_tenant(tenant_id_of(tenant)).id
        map_id, now = new_id("map"), utc_now()
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
            raise ConflictError(
                f"a map named {name!r} already exists", extra={"name": name}
            ) from None
        return self.get_map(tenant_id, map_id)

    def put_map(
        self, tenant: TenantRef, map_id: str, text: str, format: MapFormat | None = None
    ) -> MapInfo:
        """Store a new version of the map; earlier versions stay readable."""
        with self._db.write() as con:
            row = self._map_row(con, tenant_id_of(tenant), map_id)
            version, fmt, now = row["version"] + 1, format or row["format"], utc_now()
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
            row = self._map_row(con, tenant_id_of(tenant), map_id)
            if version is None or version == row["version"]:
                return MapInfo.from_row(row)
            old = con.execute(
                "SELECT * FROM map_versions WHERE map_id = ? AND version = ?", (map_id, version)
            ).fetchone()
        if old is None:
            raise NotFoundError(f"map {map_id!r} has no version {version}")
        return MapInfo.from_row(row, old)

    def get_map_by_name(self, tenant: TenantRef, name: str) -> MapInfo:
        """The tenant's map with this name, latest version."""
        row = (
            self._db.get()
            .execute(
                "SELECT * FROM maps WHERE tenant_id = ? AND name = ?", (tenant_id_of(tenant), name)
            )
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"map {name!r} does not exist")
        return MapInfo.from_row(row)

    def list_maps(self, tenant: TenantRef) -> list[MapInfo]:
        """The tenant's maps (latest versions), by name."""
        rows = (
            self._db.get()
            .execute(
                "SELECT * FROM maps WHERE tenant_id = ? ORDER BY name", (tenant_id_of(tenant),)
            )
            .fetchall()
        )
        return [MapInfo.from_row(r) for r in rows]

    def delete_map(self, tenant: TenantRef, map_id: str) -> None:
        """Delete a map, all its versions, the results computed with it and the analyses
        that link to them (unfinished ones are cancelled)."""
        with self._db.write() as con:
            self._map_row(con, tenant_id_of(tenant), map_id)
            drop_jobs_of(con, tenant_id_of(tenant), "map", map_id)
            results = [
                r[0] for r in con.execute("SELECT id FROM results WHERE map_id = ?", (map_id,))
            ]
            con.execute("DELETE FROM results WHERE map_id = ?", (map_id,))
            con.execute("DELETE FROM maps WHERE id = ?", (map_id,))
        remove_files(self.root, [self.root / "results" / r for r in results])

    def _map_row(self, con: sqlite3.Connection, tenant_id: str, map_id: str) -> sqlite3.Row:
        row = con.execute(
            "SELECT * FROM maps WHERE id = ? AND tenant_id = ?", (map_id, tenant_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"map {map_id!r} does not exist", extra={"id": map_id})
        return row
