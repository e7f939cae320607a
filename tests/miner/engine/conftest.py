"""Fixtures of the engine's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeyminer.miner.log import EventLog

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"


@pytest.fixture(scope="module")
def sample() -> EventLog:
    """The bundled sample's sources, stitched by its identity table, in memory."""
    from journeyminer.miner.ingest.pipeline import ingest_sources, resolve_source

    specs = [
        resolve_source(str(SAMPLE / f"{n}.csv"), timezone="Europe/Amsterdam")
        for n in ("web", "call_center", "crm")
    ]
    return ingest_sources(specs, identities=SAMPLE / "identities.csv")[0]
