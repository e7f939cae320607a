"""A map draft of a partitioned log (`engine.drafting`) is the whole log's draft: the same
TOML and notes for any partitioning and executor; its paths' statistics are polars' own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyminer.miner.engine.dataset import open_dataset
from journeyminer.miner.engine.drafting import journey_paths
from journeyminer.miner.engine.executors import Serial, Threads
from journeyminer.miner.engine.parts import split_log
from journeyminer.miner.errors import InputError
from journeyminer.miner.log import ACTIVITY, CASE, EventLog
from journeyminer.miner.maps.paths import JourneyPaths
from journeyminer.miner.usecases import draft_map_from_log
from tests.strategies import event_frames, synthetic_frame

RUNS = (Serial(), Threads(2))


def _draft(found: Any) -> str:
    return found.map.to_toml() + json.dumps(found.to_dict(), default=str)


@given(
    event_frames(max_cases=14, max_events=7),
    st.integers(1, 30),
    st.sampled_from(RUNS),
    st.sampled_from([3, 5, "see_think_do_care"]),
    st.booleans(),
)
@settings(deadline=None, max_examples=120)
def test_generated_logs_draft_the_same_in_any_partitioning(
    frame: pl.DataFrame, n_parts: int, run: Serial | Threads, phases: Any, name_goal: bool
) -> None:
    log = EventLog(frame)
    goals = (log.activities[-1],) if name_goal else ()
    want = draft_map_from_log(log, phases=phases, goals=goals)
    parts = cast(Any, split_log(log, n_parts))
    assert _draft(draft_map_from_log(parts, phases=phases, goals=goals, run=run)) == _draft(want)


@pytest.mark.parametrize("n_parts", [1, 4, 64])
def test_a_larger_log_drafts_the_same(n_parts: int) -> None:
    log = EventLog(synthetic_frame(50_000, seed=3, n_activities=12), is_sorted=True)
    want = draft_map_from_log(log)
    got = draft_map_from_log(cast(Any, split_log(log, n_parts)), workers=2)
    assert _draft(got) == _draft(want)


def test_the_sample_dataset_drafts_as_its_whole_log_without_reading_it_whole(
    sample_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = open_dataset(sample_folder)
    want = _draft(draft_map_from_log(ds.to_event_log(), goals=("payment",)))

    def read_whole(self: object) -> EventLog:
        raise AssertionError("the dataset was read whole")

    monkeypatch.setattr(type(ds), "to_event_log", read_whole)
    assert _draft(draft_map_from_log(ds, goals=("payment",))) == want


def test_an_unknown_goal_and_an_empty_log_are_the_same_errors(sample: EventLog) -> None:
    parts = cast(Any, split_log(sample, 3))
    for log, kw in ((sample, {"goals": ("paymnet",)}), (EventLog(sample.frame.head(0)), {})):
        with pytest.raises(InputError) as whole:
            draft_map_from_log(log, **kw)
        other = parts if log is sample else cast(Any, split_log(log, 3))
        with pytest.raises(InputError) as parted:
            draft_map_from_log(other, **kw)
        assert str(parted.value) == str(whole.value)


@given(event_frames(max_cases=14, max_events=9), st.integers(1, 8))
@settings(deadline=None, max_examples=60)
def test_path_statistics_are_polars_own_on_the_events(frame: pl.DataFrame, n_parts: int) -> None:
    log = EventLog(frame)
    paths = journey_paths(cast(Any, split_log(log, n_parts)))
    events = log.frame.with_columns(pl.int_range(pl.len()).over(CASE).alias("number"))
    want = (
        events.group_by(ACTIVITY)
        .agg(
            pl.col(CASE).n_unique().alias("cases"),
            pl.col("number").median().alias("median"),
            pl.col("number").mean().alias("mean"),
        )
        .sort(["median", "mean", ACTIVITY])
    )
    got = paths.activity_stats()
    assert got.select(ACTIVITY, "median", "mean").equals(want.select(ACTIVITY, "median", "mean"))
    assert got.get_column("cases").to_list() == want.get_column("cases").to_list()
    assert paths.journeys == log.n_cases
    assert JourneyPaths.of(log).rows() == paths.rows()
