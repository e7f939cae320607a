"""The engine's promise for comparisons: `compare_parts` over any partitioning and executor is
`compare_to_map` on the whole log, JSON byte for byte and every table alike."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyminer.miner.compare.comparison import Comparison
from journeyminer.miner.compare.to_map import compare_to_map
from journeyminer.miner.engine.comparison import compare_parts
from journeyminer.miner.engine.dataset import open_dataset, write_dataset
from journeyminer.miner.engine.executors import Serial, Threads
from journeyminer.miner.engine.parts import MemoryParts, split_log
from journeyminer.miner.errors import InputError
from journeyminer.miner.log import EncodedLog, EventLog
from journeyminer.miner.maps.designed import DesignedMap, load_map
from tests.naive_replay import UNKNOWN, designed_maps
from tests.strategies import event_frames, shop_map, synthetic_frame

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
RUNS = (Serial(), Threads(2))


def _json(cmp: Comparison) -> str:
    return json.dumps(cmp.to_dict(), default=str, ensure_ascii=False)


def _assert_same(got: Comparison, want: Comparison) -> None:
    assert _json(got) == _json(want)
    for table in ("cases", "variants", "funnel", "leaks", "paths", "priorities", "time_frames"):
        assert getattr(got, table).equals(getattr(want, table)), table
    assert got.deviations.equals(want.deviations)
    assert got.case_deviations().equals(want.case_deviations())
    assert (got.by_segment is None) == (want.by_segment is None)
    if got.by_segment is not None and want.by_segment is not None:
        assert got.by_segment.to_dict() == want.by_segment.to_dict()


@pytest.mark.parametrize("n_parts", [1, 4, 64])
@pytest.mark.parametrize("run", RUNS, ids=["serial", "threads"])
@pytest.mark.parametrize("segment", [None, "device"])
def test_the_sample_compares_the_same_in_any_partitioning(
    sample: EventLog, n_parts: int, run: Serial | Threads, segment: str | None
) -> None:
    designed = load_map(SAMPLE / "map.toml")
    want = compare_to_map(sample, designed, segment=segment)
    assert want.satisfaction is not None and want.mean_value is not None  # csat, order_value
    got = compare_parts(split_log(sample, n_parts), designed, run=run, segment=segment)
    _assert_same(got, want)


def test_a_stored_dataset_compares_as_its_whole_log(sample: EventLog, tmp_path: Path) -> None:
    designed = load_map(SAMPLE / "map.toml")
    write_dataset(sample, tmp_path / "ds", n_parts=5)
    ds = open_dataset(tmp_path / "ds")
    for segment in ("device", "channel"):  # a kept attribute, a canonical column
        want = compare_to_map(ds.to_event_log(), designed, segment=segment)
        _assert_same(compare_parts(ds, designed, run=Threads(2), segment=segment), want)


def test_an_earlier_as_of_and_fewer_examples_compare_the_same(sample: EventLog) -> None:
    designed = load_map(SAMPLE / "map.toml")
    last = sample.time_range()[1]
    options: dict[str, Any] = {
        "as_of": last - timedelta(days=20),
        "timeout": timedelta(days=3),
        "examples": 1,
        "top_paths": 4,
        "value_attribute": "duration_s",
        "score_attribute": None,
    }
    want = compare_to_map(sample, designed, **options)
    _assert_same(compare_parts(split_log(sample, 7), designed, **options), want)


@st.composite
def _logs_with_attributes(draw: st.DrawFn, designed: DesignedMap) -> EventLog:
    acts = tuple(t.id for t in designed.touchpoints) + UNKNOWN
    frame = draw(event_frames(max_cases=14, max_events=7, activities=acts))
    n = frame.height

    def column(values: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.none() | values, min_size=n, max_size=n))

    return EventLog(
        frame.with_columns(
            pl.Series("order_value", column(st.floats(0, 500)), dtype=pl.Float64),
            pl.Series("csat", column(st.integers(1, 5)), dtype=pl.Int64),
            pl.Series("region", column(st.sampled_from(["north", "south", "ôst"])), pl.String),
        )
    )


@given(designed_maps(), st.data(), st.integers(1, 70), st.sampled_from(RUNS))
@settings(deadline=None)
def test_generated_logs_compare_the_same_in_any_partitioning(  # type: ignore[no-untyped-def]
    designed, data, n_parts, run
) -> None:
    log = data.draw(_logs_with_attributes(designed))
    segment = data.draw(st.sampled_from([None, "region"]))
    # An as_of inside the log leaves journeys in progress and frames overdue.
    last = log.time_range()[1]
    as_of = data.draw(st.sampled_from([None, last - timedelta(hours=1), last - timedelta(days=3)]))
    want = compare_to_map(log, designed, segment=segment, as_of=as_of)
    got = compare_parts(split_log(log, n_parts), designed, run=run, segment=segment, as_of=as_of)
    _assert_same(got, want)


@pytest.mark.parametrize("n_parts", [1, 4, 64])
def test_a_larger_log_with_frames_and_rules_compares_the_same(n_parts: int) -> None:
    frame = synthetic_frame(30_000, seed=5, n_activities=9)
    names = {
        f"touchpoint {i:02d}": t
        for i, t in enumerate(["tv", "ad", "land", "prod", "rev", "cart", "pay", "order", "zz"])
    }
    log = EventLog(frame.with_columns(pl.col("activity").replace_strict(names)), is_sorted=False)
    designed = shop_map()
    month = timedelta(days=30)  # journeys start over a year: some are in progress
    want = compare_to_map(log, designed, timeout=month)
    assert want.totals.in_progress > 0 and want.rules.height and want.time_frames.height
    got = compare_parts(split_log(log, n_parts), designed, run=Threads(2), timeout=month)
    _assert_same(got, want)


@pytest.mark.slow
def test_a_generated_million_event_log_compares_the_same(tmp_path: Path) -> None:
    from journeyminer.miner.ingest.pipeline import ingest_sources, resolve_source
    from journeyminer.miner.synthetic.generate import generate

    generate(tmp_path, events=1_000_000, seed=11)
    specs = [
        resolve_source(str(tmp_path / f"{n}.csv"), timezone="Europe/Amsterdam")
        for n in ("web", "call_center", "crm")
    ]
    log = ingest_sources(specs, identities=tmp_path / "identities.csv")[0]
    assert log.n_events > 900_000
    designed = load_map(tmp_path / "map.toml")
    want = compare_to_map(log, designed, segment="device")
    write_dataset(log, tmp_path / "ds", n_parts=8)
    got = compare_parts(open_dataset(tmp_path / "ds"), designed, run=Threads(2), segment="device")
    _assert_same(got, want)


class _BareParts:
    """Parts that offer nothing but the protocol: no summary, no attributes."""

    def __init__(self, parts: MemoryParts) -> None:
        self._parts = parts
        self.activities = parts.activities
        self.channels = parts.channels
        self.n_parts = parts.n_parts

    def load(self, i: int) -> EncodedLog:
        return self._parts.load(i)


def test_parts_without_a_summary_find_the_last_timestamp_themselves(sample: EventLog) -> None:
    designed = load_map(SAMPLE / "map.toml")
    want = compare_to_map(sample, designed, value_attribute=None, score_attribute=None)
    got = compare_parts(_BareParts(split_log(sample, 3)), designed)
    _assert_same(got, want)
    with pytest.raises(InputError, match="segment"):
        compare_parts(_BareParts(split_log(sample, 3)), designed, segment="device")


def test_a_missing_segment_attribute_is_the_same_error(sample: EventLog) -> None:
    designed = load_map(SAMPLE / "map.toml")
    with pytest.raises(InputError) as whole:
        compare_to_map(sample, designed, segment="nope")
    with pytest.raises(InputError) as parted:
        compare_parts(split_log(sample, 4), designed, segment="nope")
    assert str(parted.value) == str(whole.value)


def test_each_distinct_variant_is_replayed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from journeyminer.miner.engine import comparison

    log = EventLog(synthetic_frame(5_000, seed=2), is_sorted=True)
    seen: list[int] = []
    real = comparison.replay_sequences

    def counting(variant_of: np.ndarray, count: np.ndarray, *rest: Any) -> Any:
        seen.append(count.size)
        return real(variant_of, count, *rest)

    monkeypatch.setattr(comparison, "replay_sequences", counting)
    got = compare_parts(split_log(log, 8), shop_map())
    assert seen == [got.variants.height]
    assert got.variants.get_column("count").sum() == log.n_cases


def test_compare_journeys_on_a_dataset_is_the_whole_log_analysis(
    sample: EventLog, tmp_path: Path
) -> None:
    from journeyminer.miner.discover.filters import Filters
    from journeyminer.miner.usecases import compare_journeys

    designed = load_map(SAMPLE / "map.toml")
    write_dataset(sample, tmp_path / "ds", n_parts=3)
    ds = open_dataset(tmp_path / "ds")
    for filters in (None, Filters(path_coverage=0.5), Filters(channels=("web",))):
        want = compare_journeys(sample, designed, filters=filters, segment="device")
        for got in (
            compare_journeys(ds, designed, filters=filters, segment="device", workers=2),
            compare_journeys(ds, designed, filters=filters, segment="device", run=Serial()),
        ):
            assert json.dumps(got.to_dict(), default=str) == json.dumps(want.to_dict(), default=str)
            assert got.overlay.to_svg() == want.overlay.to_svg()
