"""The service's one settings object, read from `JOURNEYMINER_*` environment variables.

No module-level instance: the app factory, the CLI and the store each take a `Settings`,
so tests build their own (`Settings(workspace=tmp_path)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..miner.ingest.limits import (
    MAX_ACTIVITIES,
    MAX_COLUMNS,
    MAX_HEADER_BYTES,
    MAX_VALUE_BYTES,
    SourceLimits,
)
from ..miner.maps.limits import MAX_MAP_BYTES, MAX_MAP_DEPTH, MAX_MAP_NODES, MapLimits

GIB = 1024**3


class Settings(BaseSettings):
    """Configuration of the workspace, uploads, jobs and the HTTP server."""

    model_config = SettingsConfigDict(env_prefix="JOURNEYMINER_", extra="ignore", frozen=True)

    workspace: Path = Field(
        default=Path("workspace"),
        description="Folder holding the SQLite metadata, log parts and results.",
    )
    max_upload_bytes: int = Field(
        default=2 * GIB, gt=0, description="Largest accepted upload body (413 above it)."
    )
    queue_size: int = Field(
        default=32, ge=1, description="Jobs waiting to run before new ones get 429."
    )
    job_workers: int = Field(default=2, ge=1, description="Jobs that run at the same time.")
    workers: int = Field(default=1, ge=1, description="HTTP server worker processes.")
    engine_workers: int = Field(
        default=1,
        ge=0,
        description=(
            "Partitions of a log one analysis works on at once, on threads (1: one at a time,"
            " least memory; 0: one per core)."
        ),
    )
    cluster: str | None = Field(
        default=None,
        description=(
            "Run analyses on this Dask cluster (tcp://HOST:PORT, or local:N for N worker"
            " processes started with the server) instead of engine_workers; its workers must"
            " see the workspace at the same path. Needs journeyminer[dask]."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `journeyminer serve` binds.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `journeyminer serve` binds.")
    key_cache_s: float = Field(
        default=5.0,
        ge=0,
        description=(
            "How long a verified API key is remembered; a key revoked by another process "
            "is refused at most this long after. 0: look every key up on every request."
        ),
    )
    hot_reads: bool = Field(
        default=True,
        description=(
            "Answer the hottest GETs (an analysis, its result, a log) without FastAPI's "
            "routing and dependency solving; same answers, off only to compare or debug."
        ),
    )
    sqlite_busy_timeout_s: float = Field(
        default=10.0, gt=0, description="How long a write waits for SQLite's lock."
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="FULL",
        description="FULL also survives power loss; NORMAL survives process crashes only.",
    )
    orphan_grace_s: float = Field(
        default=900.0,
        ge=0,
        description=(
            "At start, unreferenced files younger than this are kept: another process "
            "may be about to commit them."
        ),
    )

    max_map_bytes: int = Field(
        default=MAX_MAP_BYTES, gt=0, description="Longest accepted map text, in UTF-8 bytes."
    )
    max_map_depth: int = Field(
        default=MAX_MAP_DEPTH,
        ge=5,
        description="Deepest nesting in a map file (a map needs 5: table, list, pair, id).",
    )
    max_map_nodes: int = Field(
        default=MAX_MAP_NODES,
        gt=0,
        description="Most values (keys, items, scalars) in one map file; YAML aliases are refused.",
    )

    max_upload_files: int = Field(
        default=100, ge=1, description="Most file parts in one upload or append (413 above it)."
    )
    max_form_fields: int = Field(
        default=1_000, ge=1, description="Most text fields in one upload (413 above it)."
    )
    max_file_name_chars: int = Field(
        default=255, ge=1, description="Longest accepted name of an uploaded file (422)."
    )
    max_name_chars: int = Field(
        default=200, ge=1, description="Longest log or map name (422 above it)."
    )
    max_json_bytes: int = Field(
        default=8 * 1024**2,
        ge=1024,
        description="Largest JSON request body (maps, analyses; 413 above it).",
    )
    max_value_bytes: int = Field(
        default=MAX_VALUE_BYTES,
        ge=1,
        description="Longest value (UTF-8 bytes) of one field in a source: case, activity, "
        "channel, attribute (422 above it).",
    )
    max_header_bytes: int = Field(
        default=MAX_HEADER_BYTES,
        ge=1,
        le=MAX_HEADER_BYTES,
        description="Longest header line of a CSV source (the head it is read from: 64 KiB).",
    )
    max_columns: int = Field(
        default=MAX_COLUMNS, ge=3, description="Most columns in one source (422 above it)."
    )
    max_activities: int = Field(
        default=MAX_ACTIVITIES,
        ge=1,
        description="Most distinct activities in one source and in one log (422 above it).",
    )

    @property
    def source_limits(self) -> SourceLimits:
        """The source limits as the miner's `SourceLimits`."""
        return SourceLimits(
            max_value_bytes=self.max_value_bytes,
            max_header_bytes=self.max_header_bytes,
            max_columns=self.max_columns,
            max_activities=self.max_activities,
        )

    @property
    def map_limits(self) -> MapLimits:
        """The map limits as keyword arguments of `parse_map` / `load_map`."""
        return MapLimits(
            max_map_bytes=self.max_map_bytes,
            max_map_depth=self.max_map_depth,
            max_map_nodes=self.max_map_nodes,
        )

    @property
    def db_path(self) -> Path:
        """The SQLite metadata file inside the workspace."""
        return self.workspace / "journeyminer.sqlite3"
