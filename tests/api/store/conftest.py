"""Store fixtures: a workspace per test, two tenants, and small logs built in code."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from journeyminer.api.settings import Settings
from journeyminer.api.store import Store, Tenant
from journeyminer.miner.log import EventLog


def make_log(rows: list[tuple[str, str, str]], channel: str | None = "web") -> EventLog:
    """A log from (case, activity, ISO timestamp) rows."""
    frame = pl.DataFrame(
        {
            "case": [r[0] for r in rows],
            "act": [r[1] for r in rows],
            "ts": [r[2] for r in rows],
            "ch": [channel] * len(rows),
        }
    )
    return EventLog.from_frame(frame, case="case", activity="act", timestamp="ts", channel="ch")


def sha(text: str) -> str:
    """A batch hash made from a short text."""
    return hashlib.sha256(text.encode()).hexdigest()


DAY1 = [
    ("c1", "visit", "2024-01-01T10:00:00Z"),
    ("c1", "buy", "2024-01-01T10:05:00Z"),
    ("c2", "visit", "2024-01-01T11:00:00Z"),
]
DAY2 = [
    ("c2", "call", "2024-01-02T09:00:00Z"),
    ("c3", "visit", "2024-01-02T12:00:00Z"),
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A fresh workspace whose leftovers are swept at once (no grace period)."""
    return Settings(workspace=tmp_path / "ws", orphan_grace_s=0)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with Store.open(settings) as s:
        yield s


@pytest.fixture
def acme(store: Store) -> Tenant:
    return store.create_tenant("acme")


@pytest.fixture
def other(store: Store) -> Tenant:
    return store.create_tenant("globex")
