"""Per-case journey measures: durations, rework, channel switches and n-gram counts.

Channel switches count consecutive *known* channels that differ within a case: events
without a channel (-1) are skipped, so `web, -, call_center` is one switch and
`web, -, web` none. Rework: an activity occurring more than once in a case. N-grams are
counted per occurrence (a sliding window over each case), not once per case.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import SERIAL
from .dfg import _check_log, _check_n_act


@njit(**SERIAL)
def _case_durations(offsets, ts):
    n_cases = offsets.size - 1
    out = np.zeros(n_cases, dtype=np.int64)
    for c in range(n_cases):
        if offsets[c + 1] > offsets[c]:
            out[c] = ts[offsets[c + 1] - 1] - ts[offsets[c]]
    return out


def case_durations(offsets: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Last minus first timestamp of each case: int64[n_cases] µs (0 for one event). O(n_cases).

    offsets: int64[n_cases + 1]; ts: int64[n_events] microseconds, sorted within each case.
    """
    if not isinstance(ts, np.ndarray) or ts.dtype != np.int64 or ts.ndim != 1:
        raise ValueError("ts must be a 1-d int64 numpy array (microseconds)")
    _check_log(offsets, np.empty(ts.size, dtype=np.int32))
    return _case_durations(offsets, ts)


@njit(**SERIAL)
def _rework_counts(offsets, act, n_act):
    seen_in = np.full(n_act, -1, dtype=np.int64)  # last case that held the activity
    times = np.zeros(n_act, dtype=np.int64)
    cases = np.zeros(n_act, dtype=np.int64)
    rework_cases = np.zeros(n_act, dtype=np.int64)
    repeats = np.zeros(n_act, dtype=np.int64)
    for c in range(offsets.size - 1):
        for i in range(offsets[c], offsets[c + 1]):
            a = act[i]
            if seen_in[a] != c:
                seen_in[a] = c
                times[a] = 1
                cases[a] += 1
            else:
                times[a] += 1
                repeats[a] += 1
                if times[a] == 2:
                    rework_cases[a] += 1
    return cases, rework_cases, repeats


def rework_counts(
    offsets: np.ndarray, act: np.ndarray, n_act: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per activity: cases holding it, cases repeating it, and repeat occurrences in all.

    offsets: int64[n_cases + 1]; act: int32[n_events] codes in 0..n_act-1. Returns three
    int64[n_act]; repeats count occurrences beyond the first in each case. O(n_events + n_act).
    """
    _check_log(offsets, act)
    _check_n_act(n_act, act)
    return _rework_counts(offsets, act, n_act)


@njit(**SERIAL)
def _channel_switches(offsets, channel):
    n_cases = offsets.size - 1
    out = np.zeros(n_cases, dtype=np.int64)
    for c in range(n_cases):
        prev = -1
        for i in range(offsets[c], offsets[c + 1]):
            ch = channel[i]
            if ch < 0:
                continue
            if prev >= 0 and ch != prev:
                out[c] += 1
            prev = ch
    return out


def channel_switches(offsets: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """Switches between consecutive known channels in each case: int64[n_cases]. O(n_events).

    offsets: int64[n_cases + 1]; channel: int8[n_events] codes, -1 for no channel (skipped).
    """
    if not isinstance(channel, np.ndarray) or channel.dtype != np.int8 or channel.ndim != 1:
        raise ValueError("channel must be a 1-d int8 numpy array of channel codes (-1 = none)")
    _check_log(offsets, np.empty(channel.size, dtype=np.int32))
    return _channel_switches(offsets, channel)


@njit(**SERIAL)
def _ngram_counts(offsets, act, n_act, n, dense):
    total = 0
    for c in range(offsets.size - 1):
        length = offsets[c + 1] - offsets[c]
        if length >= n:
            total += length - n + 1
    codes = np.empty(total, dtype=np.int64)
    k = 0
    for c in range(offsets.size - 1):
        for i in range(offsets[c], offsets[c + 1] - n + 1):
            code = np.int64(0)
            for j in range(n):
                code = code * n_act + act[i + j]
            codes[k] = code
            k += 1
    if dense:
        # Counting over all n_act**n possible grams: O(windows + n_act**n), no sort.
        table = np.zeros(n_act**n, dtype=np.int64)
        for k in range(total):
            table[codes[k]] += 1
        present = np.flatnonzero(table)
        uniq = present.astype(np.int64)
        count = table[present]
    else:
        codes.sort()
        n_grams = 0
        for k in range(total):
            if k == 0 or codes[k] != codes[k - 1]:
                n_grams += 1
        uniq = np.empty(n_grams, dtype=np.int64)
        count = np.zeros(n_grams, dtype=np.int64)
        g = -1
        for k in range(total):
            if k == 0 or codes[k] != codes[k - 1]:
                g += 1
                uniq[g] = codes[k]
            count[g] += 1
    grams = np.empty((uniq.size, n), dtype=np.int32)
    for g in range(uniq.size):
        code = uniq[g]
        for j in range(n - 1, -1, -1):
            grams[g, j] = code % n_act
            code //= n_act
    return grams, count


def ngram_counts(
    offsets: np.ndarray, act: np.ndarray, n_act: int, n: int, *, dense_max_grams: int = 1 << 22
) -> tuple[np.ndarray, np.ndarray]:
    """Occurrences of each run of `n` consecutive activities within a case.

    offsets: int64[n_cases + 1]; act: int32[n_events] codes in 0..n_act-1; n >= 1 with
    n_act**n < 2**63. Returns (grams int32[k, n], count int64[k]) sorted by the code tuple.
    Counts in a dense table when n_act**n <= dense_max_grams: O(n_events * n + n_act**n);
    else sorts the m window codes: O(n_events * n + m log m).
    """
    _check_log(offsets, act)
    _check_n_act(n_act, act)
    if n < 1:
        raise ValueError(f"n must be at least 1, found {n}")
    if max(n_act, 1) ** n >= 2**63:
        raise ValueError(f"{n_act} activities ** n={n} does not fit int64 n-gram codes")
    n_act = max(n_act, 1)
    return _ngram_counts(offsets, act, n_act, n, n_act**n <= dense_max_grams)
