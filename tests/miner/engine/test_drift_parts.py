"""Drift over partitions: `drift_between_periods` of a stored dataset (or any summarised
parts) is the whole log's drift, JSON byte for byte, for any partitioning, executor and split."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyminer.miner.engine.dataset import open_dataset, write_dataset
from journeyminer.miner.engine.executors import Serial, Threads
from journeyminer.miner.engine.parts import split_log
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import load_map
from journeyminer.miner.usecases import PeriodDrift, drift_between_periods
from tests.naive_replay import UNKNOWN, designed_maps
from tests.strategies import event_frames

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
RUNS = (Serial(), Threads(2))


def _json(found: PeriodDrift) -> str:
    return json.dumps(found.to_dict(), default=str, ensure_ascii=False)


@pytest.mark.parametrize("n_parts", [1, 4, 64])
@pytest.mark.parametrize("run", RUNS, ids=["serial", "threads"])
@pytest.mark.parametrize(
    "split_at",
    [None, datetime(2024, 3, 10, 12, 0), datetime(2024, 9, 1, tzinfo=UTC), datetime(2030, 1, 1)],
    ids=["middle", "naive", "aware", "after-the-log"],
)
def test_the_sample_drifts_the_same_in_any_partitioning(
    sample: EventLog, n_parts: int, run: Serial | Threads, split_at: datetime | None
) -> None:
    designed = load_map(SAMPLE / "map.toml")
    want = drift_between_periods(sample, designed, split_at=split_at)
    parts = cast(Any, split_log(sample, n_parts))
    got = drift_between_periods(parts, designed, split_at=split_at, run=run)
    assert _json(got) == _json(want)
    assert got.drift.rates.equals(want.drift.rates)
    assert got.drift.durations.equals(want.drift.durations)


def test_a_stored_dataset_drifts_as_its_whole_log_without_reading_it_whole(
    sample: EventLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    designed = load_map(SAMPLE / "map.toml")
    write_dataset(sample, tmp_path / "ds", n_parts=5)
    ds = open_dataset(tmp_path / "ds")
    want = _json(drift_between_periods(ds.to_event_log(), designed))

    def whole(self: object) -> EventLog:
        raise AssertionError("the dataset was read whole")

    monkeypatch.setattr(type(ds), "to_event_log", whole)
    assert _json(drift_between_periods(ds, designed, workers=2)) == want


def test_a_log_with_no_events_is_the_same_error(sample: EventLog) -> None:
    from journeyminer.miner.errors import InputError

    designed = load_map(SAMPLE / "map.toml")
    empty = EventLog(sample.frame.head(0))
    for log in (empty, cast(Any, split_log(empty, 3))):
        with pytest.raises(InputError, match="no events to split"):
            drift_between_periods(log, designed)


@given(designed_maps(), st.data(), st.integers(1, 70), st.sampled_from(RUNS))
@settings(deadline=None, max_examples=60)
def test_generated_logs_drift_the_same_in_any_partitioning(  # type: ignore[no-untyped-def]
    designed, data, n_parts, run
) -> None:
    acts = tuple(t.id for t in designed.touchpoints) + UNKNOWN
    log = EventLog(data.draw(event_frames(max_cases=14, max_events=7, activities=acts)))
    first, last = log.time_range()
    assert first is not None and last is not None
    # A split on an event's own time puts the journeys that start then in the second period.
    stamps = log.frame.get_column("timestamp").to_list()
    split = data.draw(
        st.sampled_from([None, first - timedelta(days=1), last + timedelta(seconds=1), *stamps])
    )
    want = drift_between_periods(log, designed, split_at=split)
    got = drift_between_periods(
        cast(Any, split_log(log, n_parts)), designed, split_at=split, run=run
    )
    assert _json(got) == _json(want)
