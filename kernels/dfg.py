"""Directly-follows counts and per-edge durations over the encoded log.

An *edge* is a pair of activity codes (a, b) of two consecutive events of one case; its
code is `a * n_act + b`, so edges sorted by code are sorted by (source, target) name.
Durations are int64 microseconds `ts(b) - ts(a)` (never negative: the log is sorted by
time within each case). Interval events (a start and a complete time) follow pm4py's
`discover_performance_dfg` on a frame with a `start_timestamp` column: consecutive in the
order (start, complete, input) within a case, and `start(b) - complete(a)`, negative where
they overlap (pm4py clips only when a start column is named explicitly, which that call
never does). They are grouped per edge by a counting sort when the dense
`n_act * n_act` table is small (`n_act <= dense_max_activities`, default 2048: a 32 MiB
table at most), else by a stable argsort of the edge codes; then each edge's bucket is
sorted, which gives exact medians and lets buckets of log partitions be merged.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import SERIAL

DENSE_MAX_ACTIVITIES = 2048


def _check_log(offsets: np.ndarray, act: np.ndarray, ts: np.ndarray | None = None) -> None:
    if not isinstance(offsets, np.ndarray) or offsets.dtype != np.int64 or offsets.ndim != 1:
        raise ValueError("offsets must be a 1-d int64 numpy array of n_cases + 1 event offsets")
    if offsets.size < 1:
        raise ValueError("offsets must hold at least one value (0 for an empty log)")
    if not isinstance(act, np.ndarray) or act.dtype != np.int32 or act.ndim != 1:
        raise ValueError("act must be a 1-d int32 numpy array of activity codes")
    if offsets[0] != 0 or offsets[-1] != act.size:
        raise ValueError(
            f"offsets must run from 0 to len(act)={act.size}, found {offsets[0]}..{offsets[-1]}"
        )
    if ts is not None and (
        not isinstance(ts, np.ndarray) or ts.dtype != np.int64 or ts.shape != act.shape
    ):
        raise ValueError("ts must be a 1-d int64 numpy array (microseconds), as long as act")


def _check_n_act(n_act: int, act: np.ndarray) -> None:
    if n_act < 0 or (act.size and int(act.max()) >= n_act) or (act.size and int(act.min()) < 0):
        raise ValueError(f"activity codes must lie in 0..n_act-1 with n_act={n_act}")


@njit(**SERIAL)
def _start_end_counts(offsets, act, n_act):
    start = np.zeros(n_act, dtype=np.int64)
    end = np.zeros(n_act, dtype=np.int64)
    for c in range(offsets.size - 1):
        lo = offsets[c]
        hi = offsets[c + 1]
        if hi > lo:
            start[act[lo]] += 1
            end[act[hi - 1]] += 1
    return start, end


def start_end_counts(
    offsets: np.ndarray, act: np.ndarray, n_act: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cases starting and ending with each activity: two int64[n_act]. O(n_cases).

    offsets: int64[n_cases + 1]; act: int32[n_events] codes in 0..n_act-1.
    """
    _check_log(offsets, act)
    _check_n_act(n_act, act)
    return _start_end_counts(offsets, act, n_act)


@njit(**SERIAL)
def _pair_codes(offsets, act, n_act):
    # One code per consecutive pair inside a case; `first` is the pair's first event.
    n_cases = offsets.size - 1
    n_pairs = 0
    for c in range(n_cases):
        if offsets[c + 1] - offsets[c] > 1:
            n_pairs += offsets[c + 1] - offsets[c] - 1
    codes = np.empty(n_pairs, dtype=np.int64)
    first = np.empty(n_pairs, dtype=np.int64)
    k = 0
    for c in range(n_cases):
        for i in range(offsets[c], offsets[c + 1] - 1):
            codes[k] = np.int64(act[i]) * n_act + act[i + 1]
            first[k] = i
            k += 1
    return codes, first


@njit(**SERIAL)
def _group_dense(codes, n_act):
    # Edge codes a * n_act + b grouped by a counting sort: stable, O(n_pairs + n_act^2).
    return _counting_sort(codes, n_act * n_act)


@njit(**SERIAL)
def _counting_sort(codes, n_codes):
    # Stable counting sort of codes in 0..n_codes-1: the codes present (ascending), the bounds
    # of each one's run and the order that puts the items in runs. O(n + n_codes).
    count = np.zeros(n_codes, dtype=np.int64)
    for k in range(codes.size):
        count[codes[k]] += 1
    n_edges = 0
    for e in range(n_codes):
        if count[e] > 0:
            n_edges += 1
    edge_code = np.empty(n_edges, dtype=np.int64)
    bounds = np.zeros(n_edges + 1, dtype=np.int64)
    slot = np.empty(n_codes, dtype=np.int64)
    j = 0
    for e in range(n_codes):
        if count[e] > 0:
            edge_code[j] = e
            slot[e] = bounds[j]
            bounds[j + 1] = bounds[j] + count[e]
            j += 1
    order = np.empty(codes.size, dtype=np.int64)
    for k in range(codes.size):
        order[slot[codes[k]]] = k
        slot[codes[k]] += 1
    return edge_code, bounds, order


@njit(**SERIAL)
def _group_sparse(codes):
    # Stable argsort, O(n_pairs log n_pairs), memory independent of n_act.
    order = np.argsort(codes, kind="mergesort")
    n_edges = 0
    for k in range(order.size):
        if k == 0 or codes[order[k]] != codes[order[k - 1]]:
            n_edges += 1
    edge_code = np.empty(n_edges, dtype=np.int64)
    bounds = np.empty(n_edges + 1, dtype=np.int64)
    j = -1
    for k in range(order.size):
        if k == 0 or codes[order[k]] != codes[order[k - 1]]:
            j += 1
            edge_code[j] = codes[order[k]]
            bounds[j] = k
    bounds[n_edges] = order.size
    return edge_code, bounds, order.astype(np.int64)


@njit(**SERIAL)
def _bucketed(codes, pair_durations, n_act, edge_code, bounds, order):
    # Each pair's duration put in its edge's bucket, every bucket sorted: (src, dst, bounds,
    # durations), shared by the plain and the interval durations.
    durations = np.empty(codes.size, dtype=np.int64)
    for k in range(order.size):
        durations[k] = pair_durations[order[k]]
    for e in range(edge_code.size):
        durations[bounds[e] : bounds[e + 1]].sort()
    src = (edge_code // n_act).astype(np.int32)
    dst = (edge_code % n_act).astype(np.int32)
    return src, dst, bounds, durations


# The dense and the sparse grouping are separate kernels (the wrapper picks one), so a process
# compiles only the one it runs: the sparse one's stable argsort alone costs ~2 s to compile.
@njit(**SERIAL)
def _by_edge_dense(codes, pair_durations, n_act):
    edge_code, bounds, order = _group_dense(codes, n_act)
    return _bucketed(codes, pair_durations, n_act, edge_code, bounds, order)


@njit(**SERIAL)
def _by_edge_sparse(codes, pair_durations, n_act):
    edge_code, bounds, order = _group_sparse(codes)
    return _bucketed(codes, pair_durations, n_act, edge_code, bounds, order)


@njit(**SERIAL)
def _pair_durations(offsets, act, ts, n_act):
    codes, first = _pair_codes(offsets, act, n_act)
    pair_durations = np.empty(codes.size, dtype=np.int64)
    for p in range(codes.size):
        pair_durations[p] = ts[first[p] + 1] - ts[first[p]]
    return codes, pair_durations


@njit(**SERIAL)
def _edge_durations_dense(offsets, act, ts, n_act):
    codes, pair_durations = _pair_durations(offsets, act, ts, n_act)
    return _by_edge_dense(codes, pair_durations, n_act)


@njit(**SERIAL)
def _edge_durations_sparse(offsets, act, ts, n_act):
    codes, pair_durations = _pair_durations(offsets, act, ts, n_act)
    return _by_edge_sparse(codes, pair_durations, n_act)


def pair_durations(
    offsets: np.ndarray, act: np.ndarray, ts: np.ndarray, n_act: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every directly-follows pair as (edge code `a * n_act + b` int64[n_pairs], duration µs
    int64[n_pairs]), in log order, ungrouped. O(n_events)."""
    _check_log(offsets, act, ts)
    _check_n_act(n_act, act)
    return _pair_durations(offsets, act, ts, max(n_act, 1))


def edge_durations(
    offsets: np.ndarray,
    act: np.ndarray,
    ts: np.ndarray,
    n_act: int,
    *,
    dense_max_activities: int = DENSE_MAX_ACTIVITIES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group the durations of all directly-follows pairs by edge, each bucket sorted.

    offsets: int64[n_cases + 1]; act: int32[n_events] codes in 0..n_act-1; ts: int64[n_events]
    microseconds. Returns (src int32[k], dst int32[k], bounds int64[k + 1], durations
    int64[n_pairs]): edge e is src[e] -> dst[e], edges sorted by (src, dst); its durations
    (µs, ascending) are `durations[bounds[e]:bounds[e + 1]]`, so its count is the bucket size.
    Cost: O(n_events + n_pairs log(max bucket)) plus O(n_act^2) on the dense path, or
    O(n_events log n_events) on the sparse path.
    """
    _check_log(offsets, act, ts)
    _check_n_act(n_act, act)
    if n_act > 3_037_000_499:
        raise ValueError("n_act must be below 3,037,000,499 so that edge codes fit in int64")
    kernel = _edge_durations_dense if n_act <= dense_max_activities else _edge_durations_sparse
    return kernel(offsets, act, ts, max(n_act, 1))


@njit(**SERIAL)
def _duration_stats(bounds, durations):
    n_edges = bounds.size - 1
    total = np.empty(n_edges, dtype=np.float64)
    mean = np.empty(n_edges, dtype=np.float64)
    median = np.empty(n_edges, dtype=np.float64)
    stdev = np.empty(n_edges, dtype=np.float64)
    lo_d = np.empty(n_edges, dtype=np.int64)
    hi_d = np.empty(n_edges, dtype=np.int64)
    for e in range(n_edges):
        lo = bounds[e]
        hi = bounds[e + 1]
        n = hi - lo
        # Exact integer sum, split in 32-bit halves so that no realistic bucket overflows.
        s_hi = np.int64(0)
        s_lo = np.int64(0)
        for k in range(lo, hi):
            s_hi += durations[k] >> 32
            s_lo += durations[k] & 0xFFFFFFFF
        s_hi += s_lo >> 32
        s_lo &= 0xFFFFFFFF
        total[e] = np.float64(s_hi) * 4294967296.0 + np.float64(s_lo)
        # Exact mean as q + r/n in integers, so deviations below lose nothing to its size.
        q_hi = s_hi // n
        rest = (s_hi % n) * 4294967296 + s_lo
        q = q_hi * 4294967296 + rest // n
        frac = np.float64(rest % n) / n
        mean[e] = np.float64(q) + frac
        lo_d[e] = durations[lo]
        hi_d[e] = durations[hi - 1]
        mid = lo + n // 2
        if n % 2 == 1:
            median[e] = np.float64(durations[mid])
        else:
            median[e] = (np.float64(durations[mid - 1]) + np.float64(durations[mid])) / 2.0
        if n < 2:
            stdev[e] = np.nan
        else:
            # Two passes (exact mean, then squared deviations): no cancellation of big squares.
            sq = 0.0
            for k in range(lo, hi):
                d = np.float64(durations[k] - q) - frac
                sq += d * d
            stdev[e] = np.sqrt(sq / (n - 1))
    return total, mean, median, stdev, lo_d, hi_d


def duration_stats(
    bounds: np.ndarray, durations: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum, mean, median, sample stdev, min and max of each sorted bucket, in microseconds.

    bounds: int64[k + 1] bucket starts; durations: int64[n] sorted within each bucket, as from
    `edge_durations`. Returns (sum f8[k], mean f8[k], median f8[k], stdev f8[k], min i8[k],
    max i8[k]); median of an even bucket is the mean of its two middle values; stdev uses
    ddof=1 and is NaN for a bucket of one. Sum and mean come from exact integer sums
    (one final rounding). Buckets hold 1 to 2**31 - 1 durations each. Cost: O(n).
    """
    if not isinstance(bounds, np.ndarray) or bounds.dtype != np.int64 or bounds.ndim != 1:
        raise ValueError("bounds must be a 1-d int64 numpy array of k + 1 bucket offsets")
    if not isinstance(durations, np.ndarray) or durations.dtype != np.int64 or durations.ndim != 1:
        raise ValueError("durations must be a 1-d int64 numpy array (microseconds)")
    if bounds.size < 1 or bounds[0] != 0 or bounds[-1] != durations.size:
        raise ValueError(f"bounds must run from 0 to len(durations)={durations.size}")
    sizes = np.diff(bounds)
    if sizes.size and (sizes.min() <= 0 or sizes.max() >= 2**31):
        raise ValueError("every bucket must hold between 1 and 2**31 - 1 durations")
    return _duration_stats(bounds, durations)


@njit(**SERIAL)
def _pair_counts(offsets, act, n_act):
    codes, _ = _pair_codes(offsets, act, n_act)
    codes = np.sort(codes)
    n_edges = 0
    for k in range(codes.size):
        if k == 0 or codes[k] != codes[k - 1]:
            n_edges += 1
    src = np.empty(n_edges, dtype=np.int32)
    dst = np.empty(n_edges, dtype=np.int32)
    count = np.zeros(n_edges, dtype=np.int64)
    j = -1
    for k in range(codes.size):
        if k == 0 or codes[k] != codes[k - 1]:
            j += 1
            src[j] = codes[k] // n_act
            dst[j] = codes[k] % n_act
        count[j] += 1
    return src, dst, count


def pair_counts(
    offsets: np.ndarray, act: np.ndarray, n_act: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count each consecutive pair (a, b) within each case, without durations.

    offsets: int64[n_cases + 1]; act: int32[n_events] codes in 0..n_act-1. Returns (src
    int32[k], dst int32[k], count int64[k]) sorted by (src, dst). Cost: O(n_events log n_events).
    """
    _check_log(offsets, act)
    _check_n_act(n_act, act)
    return _pair_counts(offsets, act, max(n_act, 1))


@njit(**SERIAL)
def _start_order(offsets, start):
    # Within each case a stable sort by start time: the log is already in (complete, input)
    # order, so this is pm4py's lexicographic (start, complete, input) order.
    perm = np.empty(start.size, dtype=np.int64)
    for c in range(offsets.size - 1):
        lo = offsets[c]
        hi = offsets[c + 1]
        order = np.argsort(start[lo:hi], kind="mergesort")
        for k in range(hi - lo):
            perm[lo + k] = lo + order[k]
    return perm


@njit(**SERIAL)
def _interval_pair_durations(offsets, act, ts, start, n_act):
    perm = _start_order(offsets, start)
    codes, first = _pair_codes(offsets, act[perm], n_act)
    pair_durations = np.empty(codes.size, dtype=np.int64)
    for p in range(codes.size):
        i = first[p]
        pair_durations[p] = start[perm[i + 1]] - ts[perm[i]]
    return codes, pair_durations


@njit(**SERIAL)
def _interval_edge_durations_dense(offsets, act, ts, start, n_act):
    codes, pair_durations = _interval_pair_durations(offsets, act, ts, start, n_act)
    return _by_edge_dense(codes, pair_durations, n_act)


@njit(**SERIAL)
def _interval_edge_durations_sparse(offsets, act, ts, start, n_act):
    codes, pair_durations = _interval_pair_durations(offsets, act, ts, start, n_act)
    return _by_edge_sparse(codes, pair_durations, n_act)


def interval_edge_durations(
    offsets: np.ndarray,
    act: np.ndarray,
    ts: np.ndarray,
    start: np.ndarray,
    n_act: int,
    *,
    dense_max_activities: int = DENSE_MAX_ACTIVITIES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`edge_durations` for interval events, as pm4py measures them: b's start minus a's complete.

    offsets: int64[n_cases + 1]; act: int32[n_events]; ts: int64[n_events] complete times and
    start: int64[n_events] start times (µs), in (case, complete, input) order. Pairs are
    consecutive in (start, complete, input) order within a case; durations may be negative
    (overlapping events). Returns (src int32[k], dst int32[k], bounds int64[k + 1], durations
    int64[n_pairs]) as `edge_durations` does. Cost: O(n_events log(longest case)) on top.
    """
    _check_log(offsets, act, ts)
    _check_n_act(n_act, act)
    if not isinstance(start, np.ndarray) or start.dtype != np.int64 or start.shape != act.shape:
        raise ValueError("start must be a 1-d int64 numpy array (microseconds), as long as act")
    if n_act > 3_037_000_499:
        raise ValueError("n_act must be below 3,037,000,499 so that edge codes fit in int64")
    dense = n_act <= dense_max_activities
    kernel = _interval_edge_durations_dense if dense else _interval_edge_durations_sparse
    return kernel(offsets, act, ts, start, max(n_act, 1))


@njit(**SERIAL)
def _service_times(act, ts, start, n_act):
    # The events grouped by activity (counting sort), then each activity's durations sorted.
    seen, bounds, order = _counting_sort(act, n_act)
    durations = np.empty(act.size, dtype=np.int64)
    for k in range(act.size):
        durations[k] = ts[order[k]] - start[order[k]]
    for e in range(seen.size):
        durations[bounds[e] : bounds[e + 1]].sort()
    return seen.astype(np.int32), bounds, durations


def service_times(
    act: np.ndarray, ts: np.ndarray, start: np.ndarray, n_act: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each activity's own durations (complete minus start, µs), grouped and sorted.

    act: int32[n_events] codes in 0..n_act-1; ts, start: int64[n_events] complete and start
    times. Returns (activity int32[k], bounds int64[k + 1], durations int64[n_events]): the
    durations of activity[e] are `durations[bounds[e]:bounds[e + 1]]`, ascending, for
    `duration_stats`. Cost: O(n_events log(largest bucket) + n_act).
    """
    if not isinstance(act, np.ndarray) or act.dtype != np.int32 or act.ndim != 1:
        raise ValueError("act must be a 1-d int32 numpy array of activity codes")
    for name, arr in (("ts", ts), ("start", start)):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.int64 or arr.shape != act.shape:
            raise ValueError(
                f"{name} must be a 1-d int64 numpy array (microseconds), as long as act"
            )
    _check_n_act(n_act, act)
    return _service_times(act, ts, start, max(n_act, 1))
