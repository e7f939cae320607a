"""The engine's promise: the same discovery, JSON byte for byte, for any partitioning and
executor, and the per-journey tables in log order."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.discover.discovery import discover, discover_dfg
from journeyminer.miner.engine.discovery import discover_dfg_parts
from journeyminer.miner.engine.executors import Serial, Threads, executor
from journeyminer.miner.engine.parts import split_log
from journeyminer.miner.log import EventLog
from tests.strategies import event_frames, frame_from_rows, interval_frames, synthetic_frame


def _same(log: EventLog, n_parts: int, run: Serial | Threads) -> None:
    one = discover(log)
    many = discover(log, parts=n_parts, run=run)
    assert json.dumps(many.to_dict(), default=str) == json.dumps(one.to_dict(), default=str)
    assert many.variants.cases.equals(one.variants.cases)
    assert many.stats.per_case.equals(one.stats.per_case)
    # The DFG alone (a comparison's overlay) is the discovery's DFG and `discover_dfg`'s.
    dfg = discover_dfg_parts(split_log(log, n_parts), run=run)
    for want in (one.dfg, discover_dfg(log)):
        assert dfg.edges.equals(want.edges)
        assert dfg.start.equals(want.start) and dfg.end.equals(want.end)


@given(event_frames(max_cases=20), st.integers(1, 70), st.sampled_from([Serial(), Threads(2)]))
def test_any_partitioning_gives_the_same_discovery(frame, n_parts, run) -> None:  # type: ignore[no-untyped-def]
    _same(EventLog(frame), n_parts, run)


@given(interval_frames(), st.integers(1, 9))
def test_interval_logs_partition_the_same(frame, n_parts) -> None:  # type: ignore[no-untyped-def]
    _same(EventLog(frame), n_parts, Serial())


@pytest.mark.parametrize("n_parts", [1, 4, 64])
def test_a_larger_log_partitions_the_same(n_parts: int) -> None:
    log = EventLog(synthetic_frame(60_000, seed=3), is_sorted=True)
    _same(log, n_parts, Threads(2))


def test_partitions_cover_every_case_once_in_log_order() -> None:
    log = EventLog(synthetic_frame(5_000, seed=1), is_sorted=True)
    parts = split_log(log, 5)
    names = [parts.load(i).case_names for i in range(parts.n_parts)]
    assert sum(len(n) for n in names) == log.n_cases
    assert all(n.is_sorted() for n in names)
    assert sorted(x for n in names for x in n.to_list()) == log.encoded.case_names.to_list()


def test_executor_choice() -> None:
    assert executor(None) == Serial()
    assert executor(1) == Serial()
    assert executor(3) == Threads(3)
    with pytest.raises(ValueError, match="workers"):
        executor(-1)


@pytest.mark.parametrize("n_parts", [1, 3])
def test_an_empty_log_discovers_nothing(n_parts: int) -> None:
    found = discover(EventLog(frame_from_rows([])), parts=n_parts).to_dict()
    assert found["dfg"] == {"edges": [], "start": {}, "end": {}}
    assert found["variants"] == []
    assert found["stats"]["case_duration"]["p50"] is None


@pytest.mark.slow
def test_a_generated_million_event_log_partitions_the_same(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Issue 15's acceptance log: 1, 4 and 64 partitions, in memory and stored, serial and
    # threaded, all give the whole-log discovery byte for byte.
    from journeyminer.miner.engine.dataset import open_dataset, write_dataset
    from journeyminer.miner.engine.discovery import discover_parts

    log = EventLog(synthetic_frame(1_000_000, seed=5), is_sorted=True)
    one = discover(log)
    want = json.dumps(one.to_dict(), default=str)
    for n_parts, run in ((4, Serial()), (64, Threads(2))):
        assert json.dumps(discover(log, parts=n_parts, run=run).to_dict(), default=str) == want
        stored = open_dataset(write_dataset(log, tmp_path / f"d{n_parts}", n_parts=n_parts))
        got = discover_parts(stored, run=run)
        assert json.dumps(got.to_dict(), default=str) == want
        assert got.stats.per_case.equals(one.stats.per_case)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8, 13])
def test_serial_merges_neighbours_as_they_come(n: int) -> None:
    # The merge is associative but not commutative here (concatenation): order must hold.
    held: list[int] = []
    live = 0

    def fn(i: int) -> list[int]:
        nonlocal live
        live += 1
        held.append(live)
        return [i]

    def merge(parts) -> list[int]:  # type: ignore[no-untyped-def]
        nonlocal live
        live -= len(parts) - 1
        return [x for p in parts for x in p]

    assert Serial().map_merge(fn, n, merge) == list(range(n))
    assert max(held, default=0) <= max(n, 1).bit_length() + 1
