"""Fixtures of the engine's tests: the bundled sample, in memory and as a dataset folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from journeyminer.miner.log import EventLog

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"


def _sample_sources() -> list[Any]:
    from journeyminer.miner.ingest.pipeline import resolve_source

    return [
        resolve_source(str(SAMPLE / f"{n}.csv"), timezone="Europe/Amsterdam")
        for n in ("web", "call_center", "crm")
    ]


@pytest.fixture(scope="module")
def sample() -> EventLog:
    """The bundled sample's sources, stitched by its identity table, in memory."""
    from journeyminer.miner.ingest.pipeline import ingest_sources

    return ingest_sources(_sample_sources(), identities=SAMPLE / "identities.csv")[0]


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample, stitched, with its customers' attributes (region, ...), ingested
    into 4 partitions."""
    from journeyminer.miner.ingest.to_dataset import ingest_to_dataset

    folder = tmp_path_factory.mktemp("sample") / "log"
    ingest_to_dataset(
        _sample_sources(),
        folder,
        n_parts=4,
        identities=SAMPLE / "identities.csv",
        customers=SAMPLE / "customers.csv",
    )
    return folder
