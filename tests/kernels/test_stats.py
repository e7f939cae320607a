"""Journey-statistics kernels against their naive twins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from journeyminer.kernels.stats import (
    case_durations,
    channel_switches,
    ngram_counts,
    rework_counts,
)
from journeyminer.miner.log import EventLog
from tests import naive
from tests.strategies import NAMED_ROWS, event_logs, log_from_rows


def _check(log: EventLog) -> None:
    enc = log.encoded
    n_act = len(enc.activities)
    assert case_durations(enc.offsets, enc.ts).tolist() == naive.case_durations(enc.offsets, enc.ts)
    assert channel_switches(enc.offsets, enc.channel).tolist() == naive.channel_switches(
        enc.offsets, enc.channel
    )
    holding, repeating, repeats = rework_counts(enc.offsets, enc.act, n_act)
    got = {
        a: (int(holding[a]), int(repeating[a]), int(repeats[a])) for a in range(n_act) if holding[a]
    }
    assert got == naive.rework_counts(enc.offsets, enc.act)
    for n in (1, 2, 3):
        for dense_max in (0, 1 << 22):  # the sorting and the counting path
            grams, count = ngram_counts(enc.offsets, enc.act, n_act, n, dense_max_grams=dense_max)
            assert grams.shape == (count.size, n)
            keys = [tuple(int(x) for x in g) for g in grams]
            assert keys == sorted(keys)
            assert dict(zip(keys, count.tolist(), strict=True)) == naive.ngram_counts(
                enc.offsets, enc.act, n
            )


@pytest.mark.parametrize("name", sorted(NAMED_ROWS))
def test_stats_kernels_match_naive_on_named_logs(name: str) -> None:
    _check(log_from_rows(NAMED_ROWS[name]))  # type: ignore[arg-type]


@given(event_logs())
def test_stats_kernels_match_naive_on_generated_logs(log: EventLog) -> None:
    _check(log)


def test_channel_switches_skip_events_without_a_channel() -> None:
    offsets = np.array([0, 3, 6, 8], dtype=np.int64)
    channel = np.array([0, -1, 1, 0, -1, 0, -1, -1], dtype=np.int8)
    assert channel_switches(offsets, channel).tolist() == [1, 0, 0]


def test_rework_counts_cases_and_repeat_occurrences() -> None:
    offsets = np.array([0, 4, 6], dtype=np.int64)
    act = np.array([0, 1, 0, 0, 1, 1], dtype=np.int32)
    holding, repeating, repeats = rework_counts(offsets, act, 3)
    assert (holding.tolist(), repeating.tolist(), repeats.tolist()) == (
        [1, 2, 0],
        [1, 1, 0],
        [2, 1, 0],
    )


def test_ngram_counts_rejects_codes_that_overflow() -> None:
    offsets = np.array([0, 1], dtype=np.int64)
    act = np.array([0], dtype=np.int32)
    with pytest.raises(ValueError, match="int64"):
        ngram_counts(offsets, act, 2_000_000, 4)
    with pytest.raises(ValueError, match="at least 1"):
        ngram_counts(offsets, act, 3, 0)


def test_channel_switches_rejects_wrong_dtype() -> None:
    with pytest.raises(ValueError, match="int8"):
        channel_switches(np.array([0, 1], dtype=np.int64), np.array([0], dtype=np.int64))
