"""Per-journey kernels of a comparison (`kernels/cases.py`) against their naive twins.

Each kernel is held to its twin in `tests/naive.py` on the named edge-case logs (empty, one
event, one case, equal timestamps, unicode names, single-event cases) and on
hypothesis-generated logs, then on a few hand-checked cases and its argument checks.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyminer.kernels import cases as kj
from journeyminer.miner.log import EncodedLog, EventLog
from tests import naive
from tests.strategies import NAMED_ROWS, event_logs, log_from_rows

H = 3_600_000_000  # one hour in µs
MAX_US = (0, 1, 1_500_000, H, 40 * 24 * H)


def _named(name: str) -> EncodedLog:
    return log_from_rows(NAMED_ROWS[name]).encoded  # type: ignore[arg-type]


def _pool(enc: EncodedLog) -> list[int]:
    """Every activity code of the log, -1 (not in the log) and a code past the log's codes."""
    return [*range(len(enc.activities)), -1, len(enc.activities) + 3]


def _i32(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int32)


def _i64(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


# -- each kernel against its twin ------------------------------------------------------------
def _check_frame_spans(enc: EncodedLog, frames: list[tuple[int, int]]) -> None:
    frm, to = [a for a, _ in frames], [b for _, b in frames]
    got = kj.frame_spans(enc.offsets, enc.act, _i32(frm), _i32(to))
    rows = [list(zip(*(part.tolist() for part in span), strict=True)) for span in got]
    assert rows == naive.frame_spans(enc.offsets, enc.act, frm, to)


def _check_phase_spans(enc: EncodedLog, phase_of_code: list[int], n_phases: int) -> None:
    event_phase = _i32(phase_of_code)[enc.act] if enc.act.size else _i32([])
    first, last = kj.phase_spans(enc.offsets, event_phase, n_phases)
    assert first.shape == last.shape == (enc.n_cases, n_phases)
    assert (first.tolist(), last.tolist()) == naive.phase_spans(enc.offsets, event_phase, n_phases)


def _check_rule_breaches(
    enc: EncodedLog, rules: list[tuple[int, int, int, int, int]], as_of: int
) -> None:
    kind, a, b, c, max_us = (list(column) for column in zip(*rules, strict=True))
    applicable, count, first = kj.rule_breaches(
        enc.offsets,
        enc.act,
        enc.ts,
        np.array(kind, dtype=np.int8),
        _i32(a),
        _i32(b),
        _i32(c),
        _i64(max_us),
        as_of,
    )
    got = [
        list(zip(applicable[i].tolist(), count[i].tolist(), first[i].tolist(), strict=True))
        for i in range(enc.n_cases)
    ]
    assert got == naive.rule_breaches(enc.offsets, enc.act, enc.ts, rules, as_of)


def _check_case_channels(offsets: np.ndarray, channel: np.ndarray, stop: list[int]) -> None:
    low, high, switches, before = kj.case_channels(offsets, channel, _i64(stop))
    got = [
        (
            {i for i in range(64) if int(low[c]) >> i & 1}
            | {64 + i for i in range(64) if int(high[c]) >> i & 1},
            int(switches[c]),
            int(before[c]),
        )
        for c in range(offsets.size - 1)
    ]
    assert got == naive.case_channels(offsets, channel, stop)


def _rules(pool: list[int]) -> list[tuple[int, int, int, int, int]]:
    """Both rule kinds over every pair of codes in `pool`, with varied limits and closers."""
    out = []
    for n, (a, b) in enumerate(itertools.product(pool, pool)):
        c = pool[(pool.index(b) + 1) % len(pool)]
        out.append((naive.WITHIN, a, b, -1, MAX_US[n % len(MAX_US)]))
        out.append((naive.NOT_WHILE_OPEN, a, b, c, 0))
    return out


def _stops(enc: EncodedLog) -> list[list[int]]:
    """No stop, a stop at the first event, mid-case, at the end and past the end."""
    lengths = np.diff(enc.offsets).tolist()
    return [
        [-1] * len(lengths),
        [0] * len(lengths),
        [n // 2 for n in lengths],
        lengths,
        [n + 5 for n in lengths],
    ]


@pytest.mark.parametrize("name", sorted(NAMED_ROWS))
def test_frame_spans_match_the_naive_twin_on_named_logs(name: str) -> None:
    enc = _named(name)
    pool = _pool(enc)
    _check_frame_spans(enc, list(itertools.product(pool, pool))[:64])


@pytest.mark.parametrize("name", sorted(NAMED_ROWS))
def test_phase_spans_match_the_naive_twin_on_named_logs(name: str) -> None:
    enc = _named(name)
    n_act = len(enc.activities)
    _check_phase_spans(enc, [-1] * n_act, 1)  # no event in any phase
    _check_phase_spans(enc, [0] * n_act, 1)  # every event in one phase
    _check_phase_spans(enc, [code % 3 - 1 for code in range(n_act)], 3)  # a phase left empty


@pytest.mark.parametrize("name", sorted(NAMED_ROWS))
def test_rule_breaches_match_the_naive_twin_on_named_logs(name: str) -> None:
    enc = _named(name)
    end = int(enc.ts.max()) if enc.ts.size else 0
    for as_of in (end, end + 2 * H, end + 400 * 24 * H):
        _check_rule_breaches(enc, _rules(_pool(enc)), as_of)


@pytest.mark.parametrize("name", sorted(NAMED_ROWS))
def test_case_channels_match_the_naive_twin_on_named_logs(name: str) -> None:
    enc = _named(name)
    for stop in _stops(enc):
        _check_case_channels(enc.offsets, enc.channel, stop)


@pytest.mark.parametrize("name", sorted(NAMED_ROWS))
def test_first_in_cases_matches_the_naive_twin_on_named_logs(name: str) -> None:
    enc = _named(name)
    for every in (1, 2, 3):
        positions = list(range(0, enc.n_events, every))
        got = kj.first_in_cases(enc.offsets, _i64(positions))
        assert got.tolist() == naive.first_in_cases(enc.offsets, positions)


@given(event_logs(), st.data())
def test_the_case_kernels_match_their_naive_twins_on_generated_logs(
    log: EventLog, data: st.DataObject
) -> None:
    enc = log.encoded
    pool = _pool(enc)
    codes = st.sampled_from(pool)
    frames = data.draw(st.lists(st.tuples(codes, codes), max_size=64))
    _check_frame_spans(enc, frames)
    n_phases = data.draw(st.integers(1, 3))
    phase_of_code = data.draw(
        st.lists(
            st.integers(-1, n_phases - 1),
            min_size=len(enc.activities),
            max_size=len(enc.activities),
        )
    )
    _check_phase_spans(enc, phase_of_code, n_phases)
    rule = st.tuples(
        st.sampled_from([naive.WITHIN, naive.NOT_WHILE_OPEN]),
        codes,
        codes,
        codes,
        st.sampled_from(MAX_US),
    )
    rules = data.draw(st.lists(rule, min_size=1, max_size=8))
    as_of = int(enc.ts.max()) + data.draw(st.sampled_from([0, 1, H, 50 * 24 * H]))
    _check_rule_breaches(enc, rules, as_of)
    stops = data.draw(st.lists(st.integers(-1, 9), min_size=enc.n_cases, max_size=enc.n_cases))
    _check_case_channels(enc.offsets, enc.channel, stops)
    positions = sorted(data.draw(st.sets(st.integers(0, enc.n_events - 1), max_size=enc.n_events)))
    got = kj.first_in_cases(enc.offsets, _i64(positions))
    assert got.tolist() == naive.first_in_cases(enc.offsets, positions)


@given(st.lists(st.lists(st.integers(-1, 127), max_size=8), max_size=8), st.data())
def test_case_channels_match_the_naive_twin_beyond_64_channels(
    per_case: list[list[int]], data: st.DataObject
) -> None:
    offsets = _i64([0, *itertools.accumulate(len(c) for c in per_case)])
    channel = np.array([ch for c in per_case for ch in c], dtype=np.int8)
    stops = data.draw(st.lists(st.integers(-1, 9), min_size=len(per_case), max_size=len(per_case)))
    _check_case_channels(offsets, channel, stops)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 4), max_size=40),
    st.integers(0, 4),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 12)), max_size=30),
)
def test_example_case_kernels_match_their_naive_twins(
    variant: list[int], e: int, rows: list[tuple[int, int]]
) -> None:
    k = 5
    first = kj.first_cases(_i64(variant), k, e)
    assert first.tolist() == naive.first_cases(variant, k, e)
    n_keys = 4
    key = [q for q, _ in rows]
    group = [g for _, g in rows]  # < k: a variant id; >= k: the single case g - k
    got = kj.smallest_cases(_i64(key), _i64(group), first, k, n_keys)
    assert got.tolist() == naive.smallest_cases(key, group, first.tolist(), n_keys, e)


@given(st.lists(st.integers(0, 4), max_size=12), st.lists(st.booleans(), max_size=60))
def test_first_in_cases_matches_a_naive_scan_over_empty_and_full_cases(
    lengths: list[int], marks: list[bool]
) -> None:
    offsets = _i64([0, *itertools.accumulate(lengths)])
    n_events = int(offsets[-1])
    marked = [i for i in range(n_events) if i < len(marks) and marks[i]]
    got = kj.first_in_cases(offsets, _i64(marked))
    assert got.tolist() == naive.first_in_cases(offsets, marked)
    with pytest.raises(ValueError, match="ascending event indexes"):
        kj.first_in_cases(offsets, _i64([n_events]))


# -- hand-checked cases ----------------------------------------------------------------------
def test_rule_breaches_count_late_or_unanswered_afters_and_events_while_open() -> None:
    offsets = _i64([0, 3, 5])
    act = _i32([0, 1, 0, 2, 0])
    ts = _i64([0, 5, 10, 0, 1])
    kind = np.array([kj.WITHIN, kj.NOT_WHILE_OPEN], dtype=np.int8)
    applicable, count, first = kj.rule_breaches(
        offsets, act, ts, kind, _i32([0, 0]), _i32([1, 2]), _i32([-1, 1]), _i64([4, 0]), 100
    )
    # case 0: a@0 -> b@5 late, a@10 never answered (as_of 100); case 1: a within an open b.
    assert applicable.tolist() == [[True, False], [True, True]]
    assert count.tolist() == [[2, 0], [1, 1]]
    assert first.tolist() == [[0, -1], [4, 4]]


def test_a_within_rule_waits_until_as_of_before_a_missing_then_breaches() -> None:
    offsets, act, ts = _i64([0, 1]), _i32([0]), _i64([1_000])
    kind = np.array([kj.WITHIN], dtype=np.int8)
    args = (offsets, act, ts, kind, _i32([0]), _i32([1]), _i32([-1]), _i64([500]))
    assert kj.rule_breaches(*args, 1_500)[1].tolist() == [[0]]  # waited exactly max: fine
    assert kj.rule_breaches(*args, 1_501)[1].tolist() == [[1]]


def test_a_time_frame_from_and_to_one_touchpoint_needs_a_later_event() -> None:
    # frm == to: the event that opens the frame cannot close it too.
    offsets, act = _i64([0, 1, 3]), _i32([0, 0, 0])
    [(case, start, end)] = kj.frame_spans(offsets, act, _i32([0]), _i32([0]))
    assert (case.tolist(), start.tolist(), end.tolist()) == ([0, 1], [0, 1], [-1, 2])


def test_frame_spans_find_the_first_to_after_the_first_from_and_phase_spans_bound_phases() -> None:
    offsets = _i64([0, 4, 5, 6])
    act = _i32([1, 0, 1, 1, 0, 1])
    spans = kj.frame_spans(offsets, act, _i32([0, 1, -1]), _i32([1, 0, 0]))
    assert [[part.tolist() for part in span] for span in spans] == [
        [[0, 1], [1, 4], [2, -1]],  # case, first `from`, first `to` after it
        [[0, 2], [0, 5], [1, -1]],
        [[], [], []],  # a code the log lacks
    ]
    offsets = _i64([0, 4, 5])
    first, last = kj.phase_spans(offsets, _i32([0, -1, 1, 0, 1]), 2)
    assert first.tolist() == [[0, 2], [-1, 4]] and last.tolist() == [[3, 2], [-1, 4]]


def test_case_channels_counts_switches_before_the_stop() -> None:
    offsets = _i64([0, 4, 4])
    channel = np.array([0, -1, 1, 0], dtype=np.int8)
    low, high, switches, before = kj.case_channels(offsets, channel, _i64([3, -1]))
    assert low.tolist() == [3, 0] and high.tolist() == [0, 0]
    assert switches.tolist() == [2, 0] and before.tolist() == [1, 0]


def test_case_channels_put_codes_from_64_in_the_high_set() -> None:
    channel = np.array([64, 127, 0], dtype=np.int8)
    low, high, switches, _ = kj.case_channels(_i64([0, 3]), channel, _i64([-1]))
    assert low.tolist() == [1] and high.tolist() == [(1 << 0) | (1 << 63)]
    assert switches.tolist() == [2]


# -- argument checks -------------------------------------------------------------------------
def test_the_wrappers_reject_wrong_dtypes_shapes_and_codes() -> None:
    offsets = _i64([0, 1])
    act = _i32([2])
    with pytest.raises(ValueError, match="stop must hold one position per case"):
        kj.case_channels(offsets, np.zeros(1, np.int8), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="channel must be a 1-d int8"):
        kj.case_channels(offsets, np.zeros(1, np.int64), np.zeros(1, np.int64))
    with pytest.raises(ValueError, match="one code per time frame"):
        kj.frame_spans(offsets, act, _i32([0, 1]), _i32([1]))
    with pytest.raises(ValueError, match="at most 64 time frames"):
        kj.frame_spans(offsets, act, _i32([0] * 65), _i32([1] * 65))
    with pytest.raises(ValueError, match="frm must be a 1-d int32"):
        kj.frame_spans(offsets, act, _i64([0]), _i32([1]))
    with pytest.raises(ValueError, match="event_phase must lie in -1"):
        kj.phase_spans(offsets, _i32([2]), 2)
    with pytest.raises(ValueError, match="one value per rule"):
        kj.rule_breaches(
            offsets,
            act,
            _i64([0]),
            np.zeros(2, np.int8),
            _i32([0]),
            _i32([0]),
            _i32([0]),
            _i64([0]),
            0,
        )
    with pytest.raises(ValueError, match="ts must be a 1-d int64"):
        kj.rule_breaches(
            offsets, act, _i32([0]), np.zeros(0, np.int8), *(_i32([]),) * 3, _i64([]), 0
        )
    with pytest.raises(ValueError, match="variant must hold ids in 0"):
        kj.first_cases(_i64([0, 3]), 3, 1)
    with pytest.raises(ValueError, match="k and e must be >= 0"):
        kj.first_cases(_i64([0]), 1, -1)
    with pytest.raises(ValueError, match="first must have one row per variant"):
        kj.smallest_cases(_i64([0]), _i64([0]), np.zeros((2, 1), np.int64), 3, 1)
    with pytest.raises(ValueError, match="group must hold variant ids"):
        kj.smallest_cases(_i64([0]), _i64([-1]), np.zeros((1, 1), np.int64), 1, 1)
    with pytest.raises(ValueError, match="key must hold ids in 0"):
        kj.smallest_cases(_i64([1]), _i64([0]), np.zeros((1, 1), np.int64), 1, 1)
    with pytest.raises(ValueError, match="offsets must hold n_cases"):
        kj.first_in_cases(_i64([1, 2]), _i64([]))
