"""Directly-follows kernels against their naive twins."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given

from journeyminer.kernels.dfg import duration_stats, edge_durations, pair_counts, start_end_counts
from journeyminer.miner.log import EncodedLog, EventLog
from tests import naive
from tests.strategies import NAMED_ROWS, event_logs, log_from_rows


def _edges(enc: EncodedLog, *, dense_max_activities: int) -> dict:
    src, dst, bounds, durations = edge_durations(
        enc.offsets,
        enc.act,
        enc.ts,
        len(enc.activities),
        dense_max_activities=dense_max_activities,
    )
    codes = src.astype(np.int64) * max(len(enc.activities), 1) + dst
    assert np.all(np.diff(codes) > 0), "edges come sorted by (source, target), each once"
    return {
        (int(s), int(d)): durations[bounds[e] : bounds[e + 1]].tolist()
        for e, (s, d) in enumerate(zip(src, dst, strict=True))
    }


def _close(got: float, want: float | None) -> bool:
    if want is None:
        return math.isnan(got)
    return math.isclose(got, float(want), rel_tol=1e-12, abs_tol=1e-9)


def _assert_dfg_matches_naive(log: EventLog) -> None:
    enc = log.encoded
    n_act = len(enc.activities)
    want = naive.edge_durations(enc.offsets, enc.act, enc.ts)
    for dense_max in (0, 2048):  # the sparse and the dense path
        assert _edges(enc, dense_max_activities=dense_max) == want
    src, dst, count = pair_counts(enc.offsets, enc.act, n_act)
    assert {(int(s), int(d)): int(c) for s, d, c in zip(src, dst, count, strict=True)} == {
        edge: len(d) for edge, d in want.items()
    }
    start, end = start_end_counts(enc.offsets, enc.act, n_act)
    want_start, want_end = naive.start_end_counts(enc.offsets, enc.act)
    assert {a: int(n) for a, n in enumerate(start) if n} == dict(want_start)
    assert {a: int(n) for a, n in enumerate(end) if n} == dict(want_end)

    _, _, bounds, durations = edge_durations(enc.offsets, enc.act, enc.ts, n_act)
    total, mean, median, stdev, lo, hi = duration_stats(bounds, durations)
    for e, values in enumerate(want.values()):
        exact = naive.duration_stats(values)
        assert _close(total[e], exact["sum"])
        assert _close(mean[e], exact["mean"])
        assert _close(median[e], exact["median"])
        assert _close(stdev[e], exact["stdev"])
        assert (lo[e], hi[e]) == (exact["min"], exact["max"])


@pytest.mark.parametrize("name", sorted(NAMED_ROWS))
def test_dfg_kernels_match_naive_on_named_logs(name: str) -> None:
    _assert_dfg_matches_naive(log_from_rows(NAMED_ROWS[name]))  # type: ignore[arg-type]


@given(event_logs())
def test_dfg_kernels_match_naive_on_generated_logs(log: EventLog) -> None:
    _assert_dfg_matches_naive(log)


def test_dfg_counts_each_pair_once_per_occurrence() -> None:
    offsets = np.array([0, 4, 6], dtype=np.int64)
    act = np.array([0, 1, 0, 1, 0, 1], dtype=np.int32)
    src, dst, count = pair_counts(offsets, act, 2)
    assert (src.tolist(), dst.tolist(), count.tolist()) == ([0, 1], [1, 0], [3, 1])


def test_equal_timestamps_give_zero_durations() -> None:
    offsets = np.array([0, 3], dtype=np.int64)
    act = np.array([2, 0, 1], dtype=np.int32)
    ts = np.full(3, 1_700_000_000_000_000, dtype=np.int64)
    _, _, bounds, durations = edge_durations(offsets, act, ts, 3)
    total, mean, median, stdev, _lo, _hi = duration_stats(bounds, durations)
    assert durations.tolist() == [0, 0]
    assert total.tolist() == mean.tolist() == median.tolist() == [0.0, 0.0]
    assert np.isnan(stdev).all()


def test_stdev_is_exact_for_huge_durations_that_differ_by_a_microsecond() -> None:
    big = 40 * 86_400 * 1_000_000
    bounds = np.array([0, 3], dtype=np.int64)
    durations = np.array([big, big + 1, big + 2], dtype=np.int64)
    total, mean, median, stdev, _, _ = duration_stats(bounds, durations)
    assert (total[0], mean[0], median[0], stdev[0]) == (3 * big + 3, big + 1, big + 1, 1.0)


def test_mean_and_sum_do_not_overflow_on_a_bucket_near_int64_limits() -> None:
    d = 2**62
    bounds = np.array([0, 4], dtype=np.int64)
    durations = np.full(4, d, dtype=np.int64)
    total, mean, _, stdev, _, _ = duration_stats(bounds, durations)
    assert (total[0], mean[0], stdev[0]) == (4.0 * d, float(d), 0.0)


def test_median_of_an_even_bucket_is_the_mean_of_the_middle_two() -> None:
    bounds = np.array([0, 4, 5], dtype=np.int64)
    durations = np.array([1, 2, 5, 100, 7], dtype=np.int64)
    _, _, median, _, _, _ = duration_stats(bounds, durations)
    assert median.tolist() == [3.5, 7.0]


@pytest.mark.parametrize(
    ("offsets", "act", "ts", "match"),
    [
        (np.array([0, 2], np.int32), np.array([0, 1], np.int32), np.zeros(2, np.int64), "offsets"),
        (np.array([0, 2], np.int64), np.array([0, 1]), np.zeros(2, np.int64), "act"),
        (np.array([0, 2], np.int64), np.array([0, 1], np.int32), np.zeros(2), "ts"),
        (np.array([0, 3], np.int64), np.array([0, 1], np.int32), np.zeros(2, np.int64), "0 to"),
        (np.array([0, 2], np.int64), np.array([0, 5], np.int32), np.zeros(2, np.int64), "n_act"),
    ],
)
def test_edge_durations_rejects_wrong_arrays_clearly(
    offsets: np.ndarray, act: np.ndarray, ts: np.ndarray, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        edge_durations(offsets, act, ts, 2)


def test_duration_stats_rejects_empty_buckets() -> None:
    with pytest.raises(ValueError, match="between 1 and"):
        duration_stats(np.array([0, 0, 1], dtype=np.int64), np.array([3], dtype=np.int64))
