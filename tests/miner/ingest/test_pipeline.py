"""Ingest end to end: the bundled sample's sources stitch into exactly the generator's journeys."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from journeyminer.miner.errors import MappingError
from journeyminer.miner.ingest.pipeline import ingest_sources, resolve_source
from journeyminer.miner.synthetic.generate import read_truth

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"


def ingest_sample(folder: Path = SAMPLE):
    specs = [
        resolve_source(str(folder / f"{name}.csv"), timezone="Europe/Amsterdam")
        for name in ("web", "call_center", "crm")
    ]
    return ingest_sources(specs, identities=folder / "identities.csv")


def test_sample_stitches_into_the_generators_journeys() -> None:
    log, report = ingest_sample()
    truth = read_truth(SAMPLE)
    got = log.frame.group_by("case_id").len().sort("case_id")
    expected = truth.select(
        pl.col("journey_id").alias("case_id"), pl.col("events").cast(pl.UInt32).alias("len")
    )
    assert got.equals(expected.sort("case_id"))
    assert report.stitch.journeys == truth.height
    assert set(log.channels) == {"web", "call_center", "crm"}


def test_generated_scenario_round_trips_through_ingest(tmp_path: Path) -> None:
    from journeyminer.miner.synthetic.generate import generate

    generate(tmp_path, events=3000, seed=5)
    log, report = ingest_sample(tmp_path)
    truth = read_truth(tmp_path)
    assert set(log.frame.get_column("case_id").unique()) == set(truth.get_column("journey_id"))
    assert report.stitch.unmatched_ids > 0  # anonymous visitors stay their own customer


def test_preset_is_taken_from_the_file_name_or_must_be_given(tmp_path: Path) -> None:
    assert resolve_source("exports/web.csv").mapping.channel_value == "web"
    assert resolve_source("x.csv=crm").mapping.channel_value == "crm"
    with pytest.raises(MappingError, match=r"no mapping for source 'x\.csv'"):
        resolve_source("x.csv")
    with pytest.raises(MappingError, match="unknown"):
        resolve_source("x.csv=nonsense")
