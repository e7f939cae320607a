"""What every part of the store shares: the workspace, its connections, ids and tenancy.

`Store` (in `store.py`) is `StoreBase` plus one mixin per resource: tenants and API keys,
logs, maps, jobs, results. Every method takes the tenant; another tenant's id raises
`NotFoundError` exactly like an id that does not exist.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ...miner.errors import NotFoundError
from ..settings import Settings
from .db import Connections
from .records import Tenant

TenantRef = Tenant | str

LOG_SELECT = (
    "SELECT logs.*, (SELECT COUNT(*) FROM log_parts WHERE log_id = logs.id) AS parts FROM logs"
)


def new_id(prefix: str) -> str:
    """A short random url-safe id with a type prefix, e.g. `log_3kT9xQ2bLm0a`."""
    return f"{prefix}_{secrets.token_urlsafe(9)}"


def params_hash(params: Mapping[str, Any]) -> str:
    """sha256 of the parameters as canonical JSON: equal parameters, equal hash."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utc_now() -> str:
    """The current time as the store writes timestamps (ISO, UTC, microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def tenant_id_of(tenant: TenantRef) -> str:
    """The id of a tenant given as a record or as its id."""
    return tenant.id if isinstance(tenant, Tenant) else tenant


def to_json(value: Any) -> str | None:
    """A value as the store's JSON text (keys sorted); None stays None (SQL NULL)."""
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


class StoreBase:
    """The workspace root and its database connections, with the lookups all resources use."""

    def __init__(self, settings: Settings, connections: Connections) -> None:
        """Use `Store.open(settings)`; this wraps an already migrated database."""
        self.settings = settings
        self.root = settings.workspace.resolve()
        self._db = connections

    def get_tenant(self, tenant_id: str) -> Tenant:
        """The tenant with this id."""
        row = self._db.get().execute("SELECT * FROM tenants WHERE id = ?", (tenant_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"tenant {tenant_id!r} does not exist")
        return Tenant.from_row(row)

    def _log_row(self, con: sqlite3.Connection, tenant_id: str, log_id: str) -> sqlite3.Row:
        row = con.execute(
            f"{LOG_SELECT} WHERE id = ? AND tenant_id = ?", (log_id, tenant_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"log {log_id!r} does not exist", extra={"id": log_id})
        return row
