"""Replay kernels against the naive twin (`tests/naive_replay.py`) and on hand-checked cases.

The per-journey kernels of `kernels/cases.py` are tested in `test_cases.py`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.kernels import replay as k
from journeyminer.miner.compare.to_map import compare_to_map
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import DesignedMap
from tests.naive_replay import UNKNOWN, designed_maps, naive_compare
from tests.strategies import BASE_US, event_frames, log_from_rows, shop_map

H = 3_600_000_000  # one hour in µs


_map = shop_map  # the shop map every replay test starts from


def _log(*journeys: list[str], gap_us: int = 60_000_000) -> EventLog:
    rows = [
        (f"j{i}", a, BASE_US + p * gap_us, "web")
        for i, seq in enumerate(journeys)
        for p, a in enumerate(seq)
    ]
    return log_from_rows(rows)  # type: ignore[arg-type]


def _assert_matches_naive(log: EventLog, designed: DesignedMap) -> None:
    got = compare_to_map(log, designed)
    end = log.time_range()[1]
    as_of_us = 0 if end is None else round(end.timestamp() * 1_000_000)
    want = naive_compare(log, designed, as_of_us, got.timeout)
    assert got.cases.height == len(want)
    devs: dict[str, list[tuple]] = {}
    for row in got.deviations.iter_rows(named=True):
        devs.setdefault(row["case_id"], []).append(
            (row["position"], row["type"], row["touchpoint"], row["from"], row["to"], row["phase"])
        )
    for row in got.cases.iter_rows(named=True):
        w = want[row["case_id"]]
        assert devs.get(row["case_id"], []) == w["deviations"], row["case_id"]
        for key in ("fits", "converted", "in_progress", "deviation_types", "signature"):
            assert row[key] == w[key], (row["case_id"], key)
        for key in ("leak_touchpoint", "leak_phase", "channels", "channel_switches", "n_events"):
            assert row[key] == w[key], (row["case_id"], key)


NAMED = {
    "empty": [],
    "one_event": [["land"]],
    "unknown_only": [["zz"], ["zz", "zz"]],
    "all_fitting": [["ad", "land", "prod", "cart", "pay", "order"], ["land", "prod", "rev"]],
    "loops": [["land", "prod", "rev", "prod", "rev", "cart", "pay", "order", "prod"]],
    "rework": [["land", "prod", "prod", "prod", "cart", "cart"]],
    "skips": [["land", "cart", "pay", "order"], ["ad", "order"], ["land", "prod", "pay", "land"]],
    "regression": [["land", "prod", "cart", "prod", "cart", "prod", "land"]],
    "unknown_between": [["land", "call", "cart", "call", "pay"]],
    "unobservable_shown": [["tv", "ad", "land"], ["ad", "tv"]],
}


@pytest.mark.parametrize("name", sorted(NAMED))
def test_comparison_matches_naive_on_named_journeys(name: str) -> None:
    _assert_matches_naive(_log(*NAMED[name]), _map())


@pytest.mark.parametrize("gap_h", [0, 2, 24 * 40])
def test_comparison_matches_naive_across_time_gaps(gap_h: int) -> None:
    journeys = [["land", "prod", "cart", "ad", "pay"], ["land", "prod", "cart", "pay", "order"]]
    _assert_matches_naive(_log(*journeys, gap_us=gap_h * H + 1), _map())


@given(designed_maps(), st.data())
def test_comparison_matches_naive_on_generated_logs_and_maps(
    designed: DesignedMap, data: st.DataObject
) -> None:
    acts = tuple(t.id for t in designed.touchpoints) + UNKNOWN
    frame = data.draw(event_frames(max_cases=8, max_events=7, activities=acts))
    _assert_matches_naive(EventLog(frame), designed)


def test_replay_records_each_deviation_at_its_first_position() -> None:
    # codes: 0 a, 1 b, 2 c (unknown); a->b allowed, b->a not; b in a later phase than a.
    offsets = np.array([0, 6], dtype=np.int64)
    act = np.array([0, 1, 0, 1, 2, 2], dtype=np.int32)
    allowed = np.zeros((3, 3), dtype=np.bool_)
    allowed[0, 1] = allowed[0, 0] = allowed[1, 1] = True
    phase = np.array([0, 1, -1], dtype=np.int32)
    start = np.array([True, False, False])
    goal = np.array([False, True, False])
    rec, flags, goal_pos, last_known, max_phase = k.replay_variants(
        offsets, act, np.array([0], dtype=np.int64), allowed, phase, start, goal
    )
    assert rec.T.tolist() == [  # variant, position, type, touchpoint, from, to, n
        [0, 2, k.UNEXPECTED, -1, 1, 0, 0],
        [0, 2, k.REGRESSION, -1, 1, 0, 0],
        [0, 2, k.REWORK, 0, -1, -1, 2],
        [0, 3, k.REWORK, 1, -1, -1, 2],
        [0, 4, k.UNKNOWN, 2, -1, -1, 0],
        [0, 5, k.REWORK, 2, -1, -1, 2],
    ]
    want = sum(1 << t for t in (k.UNEXPECTED, k.REGRESSION, k.REWORK, k.UNKNOWN))
    assert flags.tolist() == [want]
    assert (goal_pos.tolist(), last_known.tolist(), max_phase.tolist()) == ([1], [3], [1])


def test_replay_of_no_variants_is_empty() -> None:
    empty = np.zeros(0, dtype=np.int32)
    rec, flags, *_ = k.replay_variants(
        np.zeros(1, dtype=np.int64),
        empty,
        np.zeros(0, dtype=np.int64),
        np.zeros((1, 1), dtype=np.bool_),
        np.full(1, -1, dtype=np.int32),
        np.zeros(1, dtype=np.bool_),
        np.zeros(1, dtype=np.bool_),
    )
    assert rec.shape == (7, 0) and flags.size == 0


def test_merge_records_keeps_key_order_and_each_sides_order() -> None:
    def records(*keys: tuple[int, int, int, int]) -> np.ndarray:
        rows = np.array([[v, p, t, tag, -1, -1, 0] for v, p, t, tag in keys], np.int64)
        return np.ascontiguousarray(rows.reshape(-1, 7).T)

    main = records((0, 0, 0, 1), (0, 2, 2, 2), (0, 2, 4, 3), (1, 0, 1, 4))
    extra = records((0, 2, 3, 5), (0, 2, 3, 6), (1, 0, 1, 7), (2, 5, 3, 8))
    merged = k.merge_records(main, extra)
    assert merged[3].tolist() == [1, 2, 5, 6, 3, 4, 7, 8]  # ties: `records` first
    assert k.merge_records(main, records()).tolist() == main.tolist()
    with pytest.raises(ValueError, match="7 rows"):
        k.merge_records(main[:6], extra)


def test_skipped_steps_leave_out_touchpoints_seen_before_the_jump() -> None:
    offsets = np.array([0, 4], dtype=np.int64)
    act = np.array([0, 1, 0, 3], dtype=np.int32)
    one = np.array([0], dtype=np.int64)
    src, code = k.skipped_steps(
        offsets,
        act,
        one,
        one,
        np.array([3], dtype=np.int64),
        one,
        np.array([0, 3], dtype=np.int64),
        np.array([1, 2, 7], dtype=np.int64),  # 7: a map touchpoint the log never shows
    )
    assert src.tolist() == [0, 0] and code.tolist() == [2, 7]


def test_wrappers_reject_wrong_dtypes_and_shapes() -> None:
    offsets = np.array([0, 1], dtype=np.int64)
    act = np.array([2], dtype=np.int32)
    ok = np.zeros(3, dtype=np.bool_)
    with pytest.raises(ValueError, match="allowed must cover every activity code"):
        k.replay_variants(
            offsets,
            act,
            np.zeros(1, np.int64),
            np.zeros((2, 2), np.bool_),
            np.zeros(3, np.int32),
            ok,
            ok,
        )
    with pytest.raises(ValueError, match="phase must be a 1-d int32"):
        k.replay_variants(
            offsets,
            act,
            np.zeros(1, np.int64),
            np.zeros((3, 3), np.bool_),
            np.zeros(3, np.int64),
            ok,
            ok,
        )
    with pytest.raises(ValueError, match="representative must hold case indexes"):
        k.replay_variants(
            offsets,
            act,
            np.array([4], np.int64),
            np.zeros((3, 3), np.bool_),
            np.zeros(3, np.int32),
            ok,
            ok,
        )
    with pytest.raises(ValueError, match="records must be sorted by variant"):
        two = np.array([1, 0], dtype=np.int64)
        k.skipped_steps(
            offsets,
            act,
            np.zeros(2, np.int64),
            two,
            two,
            np.zeros(2, np.int64),
            np.array([0, 0], np.int64),
            np.zeros(0, np.int64),
        )


def test_replay_grows_its_record_buffer_past_the_first_guess() -> None:
    n = 3000  # one variant of 3000 distinct unknown activities: 3001 records > 4 * 1 + 1024
    offsets = np.array([0, n], dtype=np.int64)
    records, flags, *_ = k.replay_variants(
        offsets,
        np.arange(n, dtype=np.int32),
        np.zeros(1, np.int64),
        np.zeros((n, n), np.bool_),
        np.full(n, -1, np.int32),
        np.zeros(n, np.bool_),
        np.zeros(n, np.bool_),
    )
    assert records.shape == (7, n + 1)
    assert records[2].tolist() == [k.WRONG_START] + [k.UNKNOWN] * n
    assert records[1].tolist() == [0, *range(n)] and records[3].tolist() == [0, *range(n)]
    assert flags.tolist() == [(1 << k.WRONG_START) | (1 << k.UNKNOWN)]


@pytest.mark.slow  # a fresh interpreter
def test_warm_up_loads_exactly_the_kernels_a_comparison_runs() -> None:
    # In a fresh process: after warm_up, comparing a log compiles or loads nothing new, so
    # warm_up passed every kernel its real argument types (or it would compile in vain).
    script = """
import numpy as np
from journeyminer.kernels import cases as journeys
from journeyminer.kernels import replay, variants
from journeyminer.kernels.warm import warm_up
from journeyminer.miner.compare.to_map import compare_to_map
from tests.kernels.test_replay import _log, _map

def loaded():
    return {
        (m.__name__, name): len(f.signatures)
        for m in (journeys, replay, variants)
        for name, f in vars(m).items()
        if hasattr(f, "signatures")
    }

warm_up()
before = loaded()
paths = (["land", "prod", "cart", "pay", "order"], ["ad", "x", "cart"], ["land", "cart"])
compare_to_map(_log(*paths), _map())  # the last one skips prod: records are merged
assert loaded() == before, {k: v for k, v in loaded().items() if before[k] != v}
"""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
