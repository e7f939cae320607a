"""Mergeable summaries of grouped int64 values: what a log partition hands to the merge.

Values come grouped and sorted: group `g` holds `values[bounds[g]:bounds[g + 1]]`, ascending
(as `dfg.edge_durations` returns them). Per group the summary is exact and adds across
partitions: count, the sum as two int64 halves (`sum = s_hi * 2**32 + s_lo`), the sum of
squares as seven 16-bit-limb sums (`sum(v**2) = sum_k sq[:, k] * 2**(16 k)`), min and max,
and a histogram over fixed, order-preserving buckets (`bucket_code`): 32 buckets per power of
two, so any group's quantile can be found exactly by a second pass that keeps only the
values of the one bucket holding the wanted rank (`pick_in_buckets`).

Limits: |value| < 2**63 - 1 and at most 2**28 values per group in one call (the limb sums stay
below 2**63).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import SERIAL

SUB_BITS = 5  # 32 sub-buckets per power of two
N_BUCKETS = 4096  # bucket codes lie in 0..N_BUCKETS-1 (2048 is the first one of zero)
ZERO_BUCKET = 2048
N_LIMBS = 7  # 16-bit limbs of v**2 summed: limb k holds sum over i + j = k of a_i * a_j


@njit(**SERIAL)
def _unsigned_bucket(u):
    # u >= 0: 0..31 are their own bucket; above, 32 buckets per power of two.
    if u < 32:
        return u
    # e = bit_length(u) - 6 by halving steps, so that t = u >> e lies in 32..63.
    e = 0
    t = u
    for step in (32, 16, 8, 4, 2, 1):
        if t >= (64 << step):
            t >>= step
            e += step
    if t >= 64:
        t >>= 1
        e += 1
    return 32 + e * 32 + (t - 32)


@njit(**SERIAL)
def _bucket(v):
    if v >= 0:
        return ZERO_BUCKET + _unsigned_bucket(v)
    return ZERO_BUCKET - 1 - _unsigned_bucket(-(v + 1))


@njit(**SERIAL)
def _bucket_codes(values):
    out = np.empty(values.size, dtype=np.int64)
    for k in range(values.size):
        out[k] = _bucket(values[k])
    return out


def bucket_code(values: np.ndarray) -> np.ndarray:
    """The bucket (0..4095) of each int64 value; a larger value never has a smaller bucket."""
    _check_values(values)
    return _bucket_codes(values)


@njit(**SERIAL)
def _summarize(bounds, values, squares):
    k = bounds.size - 1
    count = np.empty(k, dtype=np.int64)
    s_hi = np.zeros(k, dtype=np.int64)
    s_lo = np.zeros(k, dtype=np.int64)
    sq = np.zeros((k, N_LIMBS), dtype=np.int64)
    lo_v = np.empty(k, dtype=np.int64)
    hi_v = np.empty(k, dtype=np.int64)
    n_hist = 0
    for g in range(k):
        count[g] = bounds[g + 1] - bounds[g]
        for i in range(bounds[g], bounds[g + 1]):
            if i == bounds[g] or _bucket(values[i]) != _bucket(values[i - 1]):
                n_hist += 1
    hist_group = np.empty(n_hist, dtype=np.int64)
    hist_bucket = np.empty(n_hist, dtype=np.int64)
    hist_count = np.zeros(n_hist, dtype=np.int64)
    h = -1
    for g in range(k):
        lo = bounds[g]
        hi = bounds[g + 1]
        lo_v[g] = values[lo]
        hi_v[g] = values[hi - 1]
        prev = -1
        for i in range(lo, hi):
            v = values[i]
            s_hi[g] += v >> 32
            s_lo[g] += v & 0xFFFFFFFF
            if squares:
                a = v if v >= 0 else -v
                a0 = a & 0xFFFF
                a1 = (a >> 16) & 0xFFFF
                a2 = (a >> 32) & 0xFFFF
                a3 = a >> 48
                sq[g, 0] += a0 * a0
                sq[g, 1] += 2 * a0 * a1
                sq[g, 2] += 2 * a0 * a2 + a1 * a1
                sq[g, 3] += 2 * (a0 * a3 + a1 * a2)
                sq[g, 4] += 2 * a1 * a3 + a2 * a2
                sq[g, 5] += 2 * a2 * a3
                sq[g, 6] += a3 * a3
            b = _bucket(v)
            if i == lo or b != prev:
                h += 1
                hist_group[h] = g
                hist_bucket[h] = b
                prev = b
            hist_count[h] += 1
        s_hi[g] += s_lo[g] >> 32
        s_lo[g] &= 0xFFFFFFFF
    return count, s_hi, s_lo, sq, lo_v, hi_v, hist_group, hist_bucket, hist_count


def summarize_groups(
    bounds: np.ndarray, values: np.ndarray, *, squares: bool = True
) -> tuple[np.ndarray, ...]:
    """Exact, mergeable summary of each group of sorted values.

    bounds: int64[k + 1] group starts (every group non-empty); values: int64[n], ascending
    within each group. Returns (count i8[k], s_hi i8[k], s_lo i8[k] in 0..2**32-1,
    sq i8[k, 7] (zeros unless `squares`), min i8[k], max i8[k], hist_group i8[h],
    hist_bucket i8[h], hist_count i8[h]): the histogram rows run by group, then bucket. O(n).
    """
    _check_values(values)
    if not isinstance(bounds, np.ndarray) or bounds.dtype != np.int64 or bounds.ndim != 1:
        raise ValueError("bounds must be a 1-d int64 numpy array of k + 1 group offsets")
    if bounds.size < 1 or bounds[0] != 0 or bounds[-1] != values.size:
        raise ValueError(f"bounds must run from 0 to len(values)={values.size}")
    sizes = np.diff(bounds)
    if sizes.size and (sizes.min() <= 0 or sizes.max() > 2**28):
        raise ValueError("every group must hold between 1 and 2**28 values")
    return _summarize(bounds, values, squares)


@njit(**SERIAL)
def _pick(groups, values, targets):
    # Keep the values whose (group, bucket) code is one of `targets`, found in a hash set.
    cap = 16
    while cap < 2 * targets.size:
        cap *= 2
    table = np.full(cap, -1, dtype=np.int64)
    for t in range(targets.size):
        table[_hist_slot(table, targets[t], cap - 1)] = targets[t]
    codes = np.empty(values.size, dtype=np.int64)
    picked = np.empty(values.size, dtype=np.int64)
    n = 0
    for i in range(values.size):
        code = groups[i] * N_BUCKETS + _bucket(values[i])
        if table[_hist_slot(table, code, cap - 1)] == code:
            codes[n] = code
            picked[n] = values[i]
            n += 1
    return codes[:n].copy(), picked[:n].copy()


def pick_in_buckets(
    groups: np.ndarray, values: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The values whose code `group * 4096 + bucket_code(value)` is in `targets` (sorted,
    unique int64): (codes i8[m], values i8[m]), in input order. O(n log len(targets))."""
    _check_values(values)
    if groups.dtype != np.int64 or groups.shape != values.shape:
        raise ValueError("groups must be an int64 array as long as values")
    if targets.dtype != np.int64 or targets.ndim != 1:
        raise ValueError("targets must be a 1-d sorted int64 array")
    return _pick(groups, values, targets)


def _check_values(values: np.ndarray) -> None:
    if not isinstance(values, np.ndarray) or values.dtype != np.int64 or values.ndim != 1:
        raise ValueError("values must be a 1-d int64 numpy array")


@njit(**SERIAL)
def _hist_slot(keys, code, mask):
    h = (np.uint64(code) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20)
    slot = np.int64(h & np.uint64(mask))
    while keys[slot] != -1 and keys[slot] != code:
        slot = (slot + 1) & mask
    return slot


@njit(**SERIAL)
def _summarize_dense(groups, values, n_groups, squares, max_slots):
    # Pass A: count, sums, min and max per group. Pass B: each group's histogram in a dense
    # slice spanning only its own buckets (min to max), so no hashing and no sort.
    count = np.zeros(n_groups, dtype=np.int64)
    s_hi = np.zeros(n_groups, dtype=np.int64)
    s_lo = np.zeros(n_groups, dtype=np.int64)
    sq = np.zeros((n_groups if squares else 0, N_LIMBS), dtype=np.int64)
    lo_v = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    hi_v = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    for i in range(values.size):
        g = groups[i]
        v = values[i]
        count[g] += 1
        s_hi[g] += v >> 32
        s_lo[g] += v & 0xFFFFFFFF
        if v < lo_v[g]:
            lo_v[g] = v
        if v > hi_v[g]:
            hi_v[g] = v
        if squares:
            a = v if v >= 0 else -v
            a0 = a & 0xFFFF
            a1 = (a >> 16) & 0xFFFF
            a2 = (a >> 32) & 0xFFFF
            a3 = a >> 48
            sq[g, 0] += a0 * a0
            sq[g, 1] += 2 * a0 * a1
            sq[g, 2] += 2 * a0 * a2 + a1 * a1
            sq[g, 3] += 2 * (a0 * a3 + a1 * a2)
            sq[g, 4] += 2 * a1 * a3 + a2 * a2
            sq[g, 5] += 2 * a2 * a3
            sq[g, 6] += a3 * a3
    present = np.flatnonzero(count > 0)
    first_bucket = np.zeros(n_groups, dtype=np.int64)
    start = np.zeros(n_groups + 1, dtype=np.int64)
    for g in range(n_groups):
        s_hi[g] += s_lo[g] >> 32
        s_lo[g] &= 0xFFFFFFFF
        width = 0
        if count[g] > 0:
            first_bucket[g] = _bucket(lo_v[g])
            width = _bucket(hi_v[g]) - first_bucket[g] + 1
        start[g + 1] = start[g] + width
    fits = start[n_groups] <= max_slots
    slots = np.zeros(start[n_groups] if fits else 0, dtype=np.int64)
    for i in range(values.size if fits else 0):
        g = groups[i]
        slots[start[g] + _bucket(values[i]) - first_bucket[g]] += 1
    n_hist = 0
    for j in range(slots.size):
        if slots[j] > 0:
            n_hist += 1
    hist_code = np.empty(n_hist, dtype=np.int64)
    hist_count = np.empty(n_hist, dtype=np.int64)
    h = 0
    for g in range(n_groups if fits else 0):
        for j in range(start[g], start[g + 1]):
            if slots[j] > 0:
                hist_code[h] = g * N_BUCKETS + first_bucket[g] + (j - start[g])
                hist_count[h] = slots[j]
                h += 1
    out_sq = sq[present] if squares else np.zeros((present.size, N_LIMBS), dtype=np.int64)
    return (
        present.astype(np.int64),
        count[present],
        s_hi[present],
        s_lo[present],
        out_sq,
        lo_v[present],
        hi_v[present],
        hist_code,
        hist_count,
        fits,
    )


def summarize_dense(
    groups: np.ndarray,
    values: np.ndarray,
    n_groups: int,
    *,
    squares: bool = True,
    max_slots: int | None = None,
) -> tuple[np.ndarray, ...]:
    """The summary of `summarize_groups` for values in any order, `groups[i]` in
    0..n_groups-1 being the group of `values[i]`. Returns (keys i8[k] (the groups present,
    ascending), count, s_hi, s_lo, sq i8[k, 7], min, max, hist_code i8[h] = key * 4096 + bucket
    ascending, hist_count i8[h]). O(n + n_groups) when each group's buckets from its min to
    its max fit a table of about 2n slots (the usual case: a few hundred groups with many
    values each); else the values are sorted by (group, value) first: O(n log n).
    `max_slots` sets that table's limit (default 2n + 65536)."""
    _check_values(values)
    if not isinstance(groups, np.ndarray) or groups.shape != values.shape:
        raise ValueError("groups must be an integer array as long as values")
    if groups.size and (int(groups.min()) < 0 or int(groups.max()) >= n_groups):
        raise ValueError(f"groups must lie in 0..n_groups-1 with n_groups={n_groups}")
    if n_groups * N_BUCKETS >= 2**62:
        raise ValueError("n_groups is too large for histogram codes")
    groups = groups.astype(np.int64)
    slots = 2 * values.size + 65536 if max_slots is None else max_slots
    *out, fits = _summarize_dense(groups, values, max(n_groups, 0), squares, slots)
    if fits:
        return tuple(out)
    order = np.lexsort((values, groups))
    bounds = np.zeros(out[0].size + 1, dtype=np.int64)
    np.cumsum(out[1], out=bounds[1:])
    *_, h_group, h_bucket, h_count = _summarize(bounds, values[order], False)
    return (*out[:7], out[0][h_group] * N_BUCKETS + h_bucket, h_count)
