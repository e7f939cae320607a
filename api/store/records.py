"""The store's rows as typed, frozen records: tenants, API keys, logs, maps, jobs, results.

Each record is built from its SQLite row (`from_row`) and gives its JSON-ready fields
(`to_dict`); paths in rows are relative to the workspace, paths in records absolute.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...miner.errors import InternalError


def parse_time(value: str | None) -> datetime | None:
    """An ISO timestamp stored by the store, back as an aware datetime."""
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Tenant:
    """An organisation; every stored thing belongs to exactly one."""

    id: str
    name: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Tenant:
        """Build from a `tenants` row."""
        return cls(row["id"], row["name"], _required_time(row["created_at"]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"id": self.id, "name": self.name, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class ApiKey:
    """An API key's public facts; the token itself is never stored."""

    id: str
    tenant_id: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ApiKey:
        """Build from an `api_keys` row."""
        return cls(
            row["id"],
            row["tenant_id"],
            row["label"],
            _required_time(row["created_at"]),
            parse_time(row["revoked_at"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "id": self.id,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "revoked_at": _iso(self.revoked_at),
        }


@dataclass(frozen=True)
class LogInfo:
    """What is known about a stored log without reading its events."""

    id: str
    tenant_id: str
    name: str
    status: str
    version: int
    parts: int
    events: int
    cases: int
    customers: int | None
    start: datetime | None
    end: datetime | None
    activities: tuple[str, ...]
    channels: tuple[str, ...]
    mapping: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    @property
    def journeys(self) -> int:
        """Journeys in the log: after stitching, a journey is a case."""
        return self.cases

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> LogInfo:
        """Build from a `logs` row joined with its part count (`parts`)."""
        return cls(
            id=row["id"],
            tenant_id=row["tenant_id"],
            name=row["name"],
            status=row["status"],
            version=row["version"],
            parts=row["parts"],
            events=row["events"],
            cases=row["cases"],
            customers=row["customers"],
            start=parse_time(row["start"]),
            end=parse_time(row["end"]),
            activities=tuple(json.loads(row["activities"])),
            channels=tuple(json.loads(row["channels"])),
            mapping=json.loads(row["mapping"]) if row["mapping"] else None,
            error=json.loads(row["error"]) if row["error"] else None,
            created_at=_required_time(row["created_at"]),
            updated_at=_required_time(row["updated_at"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "version": self.version,
            "parts": self.parts,
            "events": self.events,
            "cases": self.cases,
            "journeys": self.journeys,
            "customers": self.customers,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "activities": list(self.activities),
            "channels": list(self.channels),
            "mapping": self.mapping,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class LogPart:
    """One append-only Parquet part of a log."""

    log_id: str
    part: int
    path: Path
    batch_sha256: str
    events: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row, root: Path) -> LogPart:
        """Build from a `log_parts` row; its path is taken relative to the workspace `root`."""
        return cls(
            row["log_id"],
            row["part"],
            root / row["path"],
            row["batch_sha256"],
            row["events"],
            _time_or_now(row["created_at"]),
        )


@dataclass(frozen=True)
class LogSnapshot:
    """One version of a log as files: its parts in append order, settings and caches."""

    log_id: str
    version: int
    status: str
    parts: tuple[Path, ...]
    mapping: dict[str, Any] | None
    identities: Path | None
    merged: Path | None
    stitch_report: dict[str, Any] | None
    customers: Path | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row, parts: list[str], root: Path) -> LogSnapshot:
        """Build from a `logs` row and its part paths; the merge only if it is of this version."""
        fresh = row["merged_path"] and row["merged_version"] == row["version"]
        report = row["stitch_report"] if fresh else None
        return cls(
            log_id=row["id"],
            version=row["version"],
            status=row["status"],
            parts=tuple(root / p for p in parts),
            mapping=json.loads(row["mapping"]) if row["mapping"] else None,
            identities=root / row["identities_path"] if row["identities_path"] else None,
            merged=root / row["merged_path"] if fresh else None,
            stitch_report=json.loads(report) if report else None,
            customers=root / row["customers_path"] if row["customers_path"] else None,
        )


@dataclass(frozen=True)
class MapInfo:
    """One version of a designed journey map, with its text."""

    id: str
    tenant_id: str
    name: str
    version: int
    latest_version: int
    format: str
    text: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row, old: sqlite3.Row | None = None) -> MapInfo:
        """Build from a `maps` row; with `old` (a `map_versions` row), that version instead."""
        version = old if old is not None else row
        return cls(
            id=row["id"],
            tenant_id=row["tenant_id"],
            name=row["name"],
            version=version["version"],
            latest_version=row["version"],
            format=version["format"],
            text=version["text"],
            created_at=_time_or_now(row["created_at"]),
            updated_at=_time_or_now(old["created_at"] if old is not None else row["updated_at"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "latest_version": self.latest_version,
            "format": self.format,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class JobInfo:
    """A background job: its state, progress and what it produced."""

    id: str
    tenant_id: str
    kind: str
    status: str
    progress: float
    stage: str | None
    params: dict[str, Any]
    error: dict[str, Any] | None
    result_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @property
    def finished(self) -> bool:
        """Whether the job reached a final state (done, failed or cancelled)."""
        return self.status in ("done", "failed", "cancelled")

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobInfo:
        """Build from a `jobs` row."""
        return cls(
            id=row["id"],
            tenant_id=row["tenant_id"],
            kind=row["kind"],
            status=row["status"],
            progress=row["progress"],
            stage=row["stage"],
            params=json.loads(row["params"]),
            error=json.loads(row["error"]) if row["error"] else None,
            result_id=row["result_id"],
            created_at=_required_time(row["created_at"]),
            started_at=parse_time(row["started_at"]),
            finished_at=parse_time(row["finished_at"]),
            updated_at=_required_time(row["updated_at"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": self.progress,
            "stage": self.stage,
            "params": self.params,
            "error": self.error,
            "result_id": self.result_id,
            "created_at": self.created_at.isoformat(),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class ResultKey:
    """What a cached result was computed from; equal keys mean an equal result."""

    kind: str
    log_id: str
    log_version: int
    params_hash: str
    map_id: str = ""
    map_version: int = 0


@dataclass(frozen=True)
class ResultInfo:
    """A stored result: its key and its files (name -> absolute path)."""

    id: str
    tenant_id: str
    key: ResultKey
    files: dict[str, Path]
    created_at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row, root: Path) -> ResultInfo:
        """Build from a `results` row; its file paths are taken relative to the workspace `root`."""
        key = ResultKey(
            kind=row["kind"],
            log_id=row["log_id"],
            log_version=row["log_version"],
            params_hash=row["params_hash"],
            map_id=row["map_id"],
            map_version=row["map_version"],
        )
        files = {name: root / rel for name, rel in json.loads(row["paths"]).items()}
        return cls(row["id"], row["tenant_id"], key, files, _time_or_now(row["created_at"]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (file names only: no internal paths)."""
        return {
            "id": self.id,
            "kind": self.key.kind,
            "log": self.key.log_id,
            "log_version": self.key.log_version,
            "map": self.key.map_id or None,
            "map_version": self.key.map_version or None,
            "params_hash": self.key.params_hash,
            "files": sorted(self.files),
            "created_at": self.created_at.isoformat(),
        }


def _required_time(value: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise InternalError("a required timestamp is missing in the workspace database")
    return parsed


def _time_or_now(value: str) -> datetime:
    return parse_time(value) or datetime.now(UTC)
