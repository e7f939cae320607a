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
    e = 0
    t = u
    while t >= 64:
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
    # Keep the values whose (group, bucket) code is one of the sorted `targets`.
    n = 0
    keep = np.zeros(values.size, dtype=np.bool_)
    for i in range(values.size):
        code = groups[i] * N_BUCKETS + _bucket(values[i])
        j = np.searchsorted(targets, code)
        if j < targets.size and targets[j] == code:
            keep[i] = True
            n += 1
    codes = np.empty(n, dtype=np.int64)
    picked = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(values.size):
        if keep[i]:
            codes[m] = groups[i] * N_BUCKETS + _bucket(values[i])
            picked[m] = values[i]
            m += 1
    return codes, picked


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
