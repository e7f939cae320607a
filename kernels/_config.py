"""The one place njit flags are set, so every kernel compiles the same way."""

from __future__ import annotations

from typing import Any

SERIAL: dict[str, Any] = {"cache": True, "nogil": True}
PARALLEL: dict[str, Any] = {"cache": True, "nogil": True, "parallel": True}
