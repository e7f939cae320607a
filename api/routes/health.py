"""Liveness and readiness probes; no API key needed."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..deps import SettingsDep
from ..schemas import Health
from ..store.db import SCHEMA_VERSION

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> Health:
    """Answers as long as the process serves requests."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="The store opens and its schema is current",
    responses={503: {"model": Health, "description": "Not ready"}},
)
def readyz(settings: SettingsDep) -> JSONResponse:
    """Opens the workspace database read-only and compares its schema version with the code's."""
    checks: dict[str, str] = {}
    try:
        uri = f"{settings.db_path.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=2.0)) as con:
            row = con.execute("SELECT version FROM schema_version").fetchone()
        version = int(row[0]) if row else 0
        checks["store"] = "ok"
        checks["schema"] = (
            "ok" if version == SCHEMA_VERSION else f"version {version}, code {SCHEMA_VERSION}"
        )
    except sqlite3.Error as exc:
        checks["store"] = f"cannot open the workspace database: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
