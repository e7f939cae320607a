"""Filters over partitions (`engine.filtered`): a filtered discovery, comparison or drift of a
partitioned log is the whole log's, JSON byte for byte, for any filters, partitioning and
executor; the filtered log's summary is the filtered EventLog's."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyminer.miner.discover.filtering import apply_filters
from journeyminer.miner.discover.filters import Filters
from journeyminer.miner.engine.dataset import open_dataset
from journeyminer.miner.engine.executors import Serial, Threads
from journeyminer.miner.engine.filtered import filter_parts, summarize
from journeyminer.miner.engine.parts import split_log
from journeyminer.miner.errors import InputError
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import load_map
from journeyminer.miner.usecases import (
    compare_journeys,
    discover_journeys,
    drift_between_periods,
)
from tests.miner.discover.test_filters import _draw_filters, logs
from tests.naive_replay import UNKNOWN, designed_maps
from tests.strategies import event_frames

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
RUNS = (Serial(), Threads(2))


def _json(result: Any) -> str:
    return json.dumps(result.to_dict(), default=str, ensure_ascii=False)


@given(logs(), st.data(), st.integers(1, 30), st.sampled_from(RUNS))
@settings(deadline=None, max_examples=150)
def test_generated_logs_discover_the_same_with_any_filters_in_any_partitioning(
    log: EventLog, data: st.DataObject, n_parts: int, run: Serial | Threads
) -> None:
    filters = _draw_filters(data, log)
    want = discover_journeys(log, filters=filters)
    parts = cast(Any, split_log(log, n_parts))
    got = discover_journeys(parts, filters=filters, workers=2 if run is RUNS[1] else None)
    assert _json(got) == _json(want)
    assert got.cases.equals(want.cases)
    filtered = filter_parts(parts, filters, run)
    assert summarize(filtered, run) == apply_filters(log, filters).summary()
    assert filtered.summary() == apply_filters(log, filters).summary()


@pytest.fixture(scope="module")
def stored(sample_folder: Path) -> Any:
    """The sample with its customers' regions, as a dataset of 4 partitions."""
    return open_dataset(sample_folder)


FILTERS = [
    Filters(segment={"region": ("east", None)}),
    Filters(channels=("call_center",), channel_mode="cases"),
    Filters(channels=("web",), channel_mode="events"),
    Filters(top_variants=5),
    Filters(min_variant_share=0.01, activity_coverage=0.8),
    Filters(start=datetime(2024, 4, 1), end=datetime(2024, 9, 1), time_mode="intersecting"),
    Filters(start=datetime(2024, 4, 1), end=datetime(2024, 9, 1), time_mode="trim"),
    Filters(end_activities=("order_confirmed",), path_coverage=0.5),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f.to_dict()))
def test_every_use_case_on_a_stored_dataset_filters_as_the_whole_log(
    stored: Any, filters: Filters, monkeypatch: pytest.MonkeyPatch
) -> None:
    designed = load_map(SAMPLE / "map.toml")
    whole = stored.to_event_log()
    want = [
        discover_journeys(whole, filters=filters),
        compare_journeys(whole, designed, filters=filters, segment="device"),
        drift_between_periods(whole, designed, filters=filters),
    ]

    def read_whole(self: object) -> EventLog:
        raise AssertionError("the dataset was read whole")

    monkeypatch.setattr(type(stored), "to_event_log", read_whole)
    got = [
        discover_journeys(stored, filters=filters, workers=2),
        compare_journeys(stored, designed, filters=filters, segment="device", workers=2),
        drift_between_periods(stored, designed, filters=filters, workers=2),
    ]
    for g, w in zip(got, want, strict=True):
        assert _json(g) == _json(w)


def test_a_segment_attribute_the_dataset_lacks_is_the_same_error(stored: Any) -> None:
    filters = Filters(segment={"planet": ("mars",)})
    with pytest.raises(InputError) as whole:
        discover_journeys(stored.to_event_log(), filters=filters)
    with pytest.raises(InputError) as parted:
        discover_journeys(stored, filters=filters)
    assert str(parted.value) == str(whole.value)


@given(designed_maps(), st.data(), st.integers(1, 30), st.sampled_from(RUNS))
@settings(deadline=None, max_examples=60)
def test_generated_logs_compare_and_drift_the_same_with_any_filters(  # type: ignore[no-untyped-def]
    designed, data, n_parts, run
) -> None:
    acts = tuple(t.id for t in designed.touchpoints) + UNKNOWN
    frame = data.draw(event_frames(max_cases=12, max_events=6, activities=acts))
    n = frame.height
    device = st.sampled_from(["mobile", "tablet", "desktop", None])
    tier = st.one_of(st.none(), st.integers(1, 3))
    log = EventLog(
        frame.with_columns(
            pl.Series("device", data.draw(st.lists(device, min_size=n, max_size=n)), pl.String),
            pl.Series("tier", data.draw(st.lists(tier, min_size=n, max_size=n)), pl.Int64),
        )
    )
    filters = _draw_filters(data, log)
    parts = cast(Any, split_log(log, n_parts))
    assert _json(compare_journeys(parts, designed, filters=filters, run=run)) == _json(
        compare_journeys(log, designed, filters=filters)
    )
    if apply_filters(log, filters).n_events:
        assert _json(drift_between_periods(parts, designed, filters=filters, run=run)) == _json(
            drift_between_periods(log, designed, filters=filters)
        )
