"""Interval kernels (edges between interval events, service times) against their naive twins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from journeyminer.kernels.dfg import interval_edge_durations, service_times
from journeyminer.miner.log import EventLog
from tests import naive
from tests.strategies import BASE_US, frame_from_rows, interval_frames

S = 1_000_000


def _interval_log(rows: list[tuple[str, str, int, int]]) -> EventLog:
    """(case, activity, start µs, complete µs) rows, in input order."""
    import polars as pl

    frame = frame_from_rows([(c, a, done, None) for c, a, _, done in rows])
    starts = pl.Series("start_timestamp", [s for _, _, s, _ in rows])
    return EventLog(frame.with_columns(starts.cast(pl.Datetime("us", "UTC"))))


def _assert_matches_naive(log: EventLog) -> None:
    enc = log.encoded
    assert enc.start is not None
    n_act = len(enc.activities)
    want = naive.interval_edge_durations(enc.offsets, enc.act, enc.ts, enc.start)
    for dense_max in (0, 2048):  # the sparse and the dense path
        src, dst, bounds, durations = interval_edge_durations(
            enc.offsets, enc.act, enc.ts, enc.start, n_act, dense_max_activities=dense_max
        )
        got = {
            (int(s), int(d)): durations[bounds[e] : bounds[e + 1]].tolist()
            for e, (s, d) in enumerate(zip(src, dst, strict=True))
        }
        assert got == want
    act, bounds, durations = service_times(enc.act, enc.ts, enc.start, n_act)
    got_service = {int(a): durations[bounds[e] : bounds[e + 1]].tolist() for e, a in enumerate(act)}
    assert got_service == naive.service_times(enc.act, enc.ts, enc.start)


NAMED: dict[str, list[tuple[str, str, int, int]]] = {
    "one_event": [("c1", "call", BASE_US, BASE_US + 60 * S)],
    "zero_length": [("c1", "a", BASE_US, BASE_US), ("c1", "b", BASE_US, BASE_US)],
    "overlapping": [
        ("c1", "a", BASE_US, BASE_US + 10 * S),
        ("c1", "b", BASE_US + 5 * S, BASE_US + 15 * S),
    ],
    "nested": [  # b lies inside a: complete order b, a; start order a, b
        ("c1", "a", BASE_US, BASE_US + 10 * S),
        ("c1", "b", BASE_US + 2 * S, BASE_US + 5 * S),
        ("c1", "c", BASE_US + 20 * S, BASE_US + 20 * S),
    ],
    "equal_starts": [
        ("c1", "b", BASE_US, BASE_US + 3 * S),
        ("c1", "a", BASE_US, BASE_US + 3 * S),
        ("c2", "a", BASE_US, BASE_US + S),
    ],
}


@pytest.mark.parametrize("name", sorted(NAMED))
def test_interval_kernels_match_naive_on_named_logs(name: str) -> None:
    _assert_matches_naive(_interval_log(NAMED[name]))


@given(interval_frames())
def test_interval_kernels_match_naive_on_generated_logs(frame: object) -> None:
    _assert_matches_naive(EventLog(frame))  # type: ignore[arg-type]


def test_an_edge_between_overlapping_events_is_negative_as_in_pm4py() -> None:
    enc = _interval_log(NAMED["overlapping"]).encoded
    assert enc.start is not None
    _, _, _, durations = interval_edge_durations(enc.offsets, enc.act, enc.ts, enc.start, 2)
    assert durations.tolist() == [-5 * S]


def test_a_nested_event_follows_the_one_that_started_first() -> None:
    log = _interval_log(NAMED["nested"])
    enc = log.encoded
    assert enc.start is not None
    assert log.frame["activity"].to_list() == ["b", "a", "c"]  # stored by complete time
    src, dst, _, durations = interval_edge_durations(enc.offsets, enc.act, enc.ts, enc.start, 3)
    pairs = [(enc.activities[s], enc.activities[d]) for s, d in zip(src, dst, strict=True)]
    assert pairs == [("a", "b"), ("b", "c")]
    assert durations.tolist() == [-8 * S, 15 * S]


def test_interval_kernels_reject_wrong_arrays_clearly() -> None:
    offsets = np.array([0, 1], dtype=np.int64)
    act = np.zeros(1, dtype=np.int32)
    ts = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="start must be"):
        interval_edge_durations(offsets, act, ts, np.zeros(2, dtype=np.int64), 1)
    with pytest.raises(ValueError, match="start must be"):
        service_times(act, ts, np.zeros(1, dtype=np.int32), 1)
