"""Exact, mergeable per-group statistics: the part of every partial that holds numbers.

`Moments` summarises int64 values (durations in microseconds, counts) per integer group key:
count, exact sum and sum of squares (Python integers, so nothing overflows or rounds before
the finish), min, max and a histogram over fixed buckets. Merging is adding, so partials of
any partitions combine in any grouping to the same result.

Exact quantiles (the method): the merged histogram says which bucket holds each wanted rank
of a group and the rank inside that bucket; a second pass over the partitions keeps only the
values of those buckets (`kernels.moments.pick_in_buckets`), and sorting that handful gives
the value at that rank. A rank that is the group's first or last, or that falls in a bucket
holding a single possible value (|v| < 64), is answered without the second pass. The
finished numbers use one formula, whatever the partitioning: the mean is the exact sum
divided once (as `kernels.dfg.duration_stats` does), the sample stdev is
`sqrt((n * S2 - S1**2) / (n * (n - 1)))` from exact integers, the median of an even group is
the mean of its two middle values, a quantile q is linear between ranks floor and ceil of
`q * (n - 1)` (polars' "linear").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...kernels.moments import N_BUCKETS, ZERO_BUCKET, summarize_dense, summarize_groups

DENSE_GROUPS = 1 << 22  # group codes below this are counted in a table of their own

_TWO32 = 1 << 32


@dataclass(frozen=True)
class Moments:
    """Per group key: count, exact sums, min, max and a bucket histogram. Keys sorted, unique.

    The sum is `s_hi * 2**32 + s_lo` (0 <= s_lo < 2**32); the sum of squares is
    `sum_k sq[:, k] * 2**(16 k)`, limbs 0..6 below 2**16 after a merge and limb 7 the rest.
    """

    keys: np.ndarray  # int64[k]
    count: np.ndarray  # int64[k]
    s_hi: np.ndarray  # int64[k]
    s_lo: np.ndarray  # int64[k]
    sq: np.ndarray | None  # int64[k, 8] (None when not kept)
    lo: np.ndarray  # int64[k]
    hi: np.ndarray  # int64[k]
    hist_code: np.ndarray  # int64[h]: key * N_BUCKETS + bucket, sorted
    hist_count: np.ndarray  # int64[h]

    @classmethod
    def empty(cls, *, squares: bool = True) -> Moments:
        """No groups."""
        i8 = np.zeros(0, dtype=np.int64)
        sq = np.zeros((0, _SQ_LIMBS), dtype=np.int64) if squares else None
        return cls(i8, i8, i8, i8, sq, i8, i8, i8, i8)

    @classmethod
    def of_sorted(
        cls, keys: np.ndarray, bounds: np.ndarray, values: np.ndarray, *, squares: bool = True
    ) -> Moments:
        """Summarise groups of sorted values: group `keys[g]` holds `values[bounds[g]:bounds[g+1]]`
        ascending; `keys` must be ascending and unique."""
        if keys.size == 0:
            return cls.empty(squares=squares)
        count, s_hi, s_lo, sq, lo, hi, h_group, h_bucket, h_count = summarize_groups(
            bounds, values, squares=squares
        )
        limbs = None
        if squares:
            limbs = _carry(np.concatenate([sq, np.zeros((sq.shape[0], 1), np.int64)], axis=1))
        keys = keys.astype(np.int64)
        code = keys[h_group] * N_BUCKETS + h_bucket
        return cls(keys, count, s_hi, s_lo, limbs, lo, hi, code, h_count)

    @classmethod
    def of_values(
        cls, groups: np.ndarray, values: np.ndarray, n_groups: int, *, squares: bool = True
    ) -> Moments:
        """Summarise values in any order, `groups[i]` (in 0..n_groups-1) being the group of
        `values[i]`; the groups present become the keys. No sort of the values."""
        out: list[np.ndarray]
        if n_groups <= DENSE_GROUPS:
            out = list(summarize_dense(groups, values, n_groups, squares=squares))
        else:  # sparse codes (many activities): number the groups present first
            keys, inverse = np.unique(groups, return_inverse=True)
            out = list(summarize_dense(inverse, values, keys.size, squares=squares))
            out[0] = keys[out[0]]
            out[7] = keys[out[7] // N_BUCKETS] * N_BUCKETS + out[7] % N_BUCKETS
        keys, count, s_hi, s_lo, sq, lo, hi, h_code, h_count = out
        limbs = None
        if squares:
            limbs = _carry(np.concatenate([sq, np.zeros((sq.shape[0], 1), np.int64)], axis=1))
        return cls(keys, count, s_hi, s_lo, limbs, lo, hi, h_code, h_count)

    def rekeyed(self, new_keys: np.ndarray) -> Moments:
        """The same groups under other keys (`new_keys[g]` for group g); duplicates merge."""
        keys = new_keys.astype(np.int64)
        code = keys[np.searchsorted(self.keys, self.hist_code // N_BUCKETS)] * N_BUCKETS + (
            self.hist_code % N_BUCKETS
        )
        moved = Moments(
            keys, self.count, self.s_hi, self.s_lo, self.sq, self.lo, self.hi, code, self.hist_count
        )
        return combine([moved])

    # -- finish ---------------------------------------------------------------------------
    def sums(self) -> list[int]:
        """The exact sums, as Python integers."""
        return [
            (h << 32) + lo for h, lo in zip(self.s_hi.tolist(), self.s_lo.tolist(), strict=True)
        ]

    def totals(self) -> np.ndarray:
        """float64[k]: each exact sum rounded as `duration_stats` rounds it."""
        return self.s_hi.astype(np.float64) * 4294967296.0 + self.s_lo.astype(np.float64)

    def means(self) -> np.ndarray:
        """float64[k]: floor(S/n) + (S mod n)/n, exactly as `duration_stats` computes it."""
        n = np.maximum(self.count, 1)
        if self.keys.size == 0 or np.abs(self.s_hi).max() < 2**30:
            total = self.s_hi * _TWO32 + self.s_lo  # fits int64
            q, r = np.divmod(total, n)
            return q.astype(np.float64) + r.astype(np.float64) / n
        out = np.empty(self.keys.size, dtype=np.float64)
        for g, (s, c) in enumerate(zip(self.sums(), n.tolist(), strict=True)):
            q, r = divmod(s, c)
            out[g] = float(q) + float(r) / c
        return out

    def stdevs(self) -> np.ndarray:
        """float64[k]: sample standard deviations (ddof=1), NaN for a group of one."""
        if self.sq is None:
            raise ValueError("these moments were built without sums of squares")
        out = np.empty(self.keys.size, dtype=np.float64)
        for g, (s1, n) in enumerate(zip(self.sums(), self.count.tolist(), strict=True)):
            s2 = sum(int(v) << (16 * k) for k, v in enumerate(self.sq[g].tolist()))
            out[g] = math.sqrt((n * s2 - s1 * s1) / (n * (n - 1))) if n > 1 else math.nan
        return out


_SQ_LIMBS = 8


def _carry(limbs: np.ndarray) -> np.ndarray:
    # Limbs 0..6 back below 2**16, the carries moved up; the last limb takes the rest.
    out = limbs.copy()
    for k in range(_SQ_LIMBS - 1):
        out[:, k + 1] += out[:, k] >> 16
        out[:, k] &= 0xFFFF
    return out


def combine(parts: Sequence[Moments]) -> Moments:
    """Merge moments of the same measure from several partitions (any order, same result)."""
    parts = [p for p in parts if p.keys.size] or list(parts[:1])
    if len(parts) == 1 and _unique(parts[0].keys):
        return parts[0]
    keys, inv = np.unique(np.concatenate([p.keys for p in parts]), return_inverse=True)
    k = keys.size

    def added(arrays: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((k, *arrays[0].shape[1:]), dtype=np.int64)
        np.add.at(out, inv, np.concatenate(arrays))
        return out

    count = added([p.count for p in parts])
    s_hi = added([p.s_hi for p in parts])
    s_lo = added([p.s_lo for p in parts])
    s_hi += s_lo >> 32
    s_lo &= 0xFFFFFFFF
    sq = None
    if all(p.sq is not None for p in parts):
        sq = _carry(added([p.sq for p in parts if p.sq is not None]))
    lo = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lo, inv, np.concatenate([p.lo for p in parts]))
    hi = np.full(k, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(hi, inv, np.concatenate([p.hi for p in parts]))
    codes, h_inv = np.unique(np.concatenate([p.hist_code for p in parts]), return_inverse=True)
    h_count = np.zeros(codes.size, dtype=np.int64)
    np.add.at(h_count, h_inv, np.concatenate([p.hist_count for p in parts]))
    return Moments(keys, count, s_hi, s_lo, sq, lo, hi, codes, h_count)


def _unique(keys: np.ndarray) -> bool:
    return keys.size < 2 or bool(np.all(keys[1:] > keys[:-1]))


# -- exact quantiles ------------------------------------------------------------------------
@dataclass(frozen=True)
class RankPlan:
    """Where each wanted rank lies: answered at once (`known`) or in a bucket to pick from."""

    group: np.ndarray  # int64[r]: index of the group in the moments
    rank: np.ndarray  # int64[r]: 0-based rank within the group
    value: np.ndarray  # int64[r]: the value, where known
    known: np.ndarray  # bool[r]
    code: np.ndarray  # int64[r]: key * N_BUCKETS + bucket holding the rank
    inner: np.ndarray  # int64[r]: rank within that bucket

    @property
    def targets(self) -> np.ndarray:
        """Sorted unique bucket codes the second pass must pick values from (maybe none)."""
        return np.unique(self.code[~self.known])


def plan_ranks(m: Moments, group: np.ndarray, rank: np.ndarray) -> RankPlan:
    """Plan to find the value at `rank` of group `group` (indices into `m.keys`) for each pair."""
    group = group.astype(np.int64)
    rank = rank.astype(np.int64)
    cum = np.cumsum(m.hist_count)  # inclusive, over all groups in (key, bucket) order
    first_row = np.searchsorted(m.hist_code, m.keys * N_BUCKETS)
    before = np.where(first_row > 0, cum[np.maximum(first_row - 1, 0)], 0)
    target = before[group] + rank
    row = np.searchsorted(cum, target, side="right")
    row_start = np.where(row > 0, cum[np.maximum(row - 1, 0)], 0)
    code = m.hist_code[row] if row.size else np.zeros(0, dtype=np.int64)
    bucket = code % N_BUCKETS
    value = np.zeros(rank.size, dtype=np.int64)
    single = (bucket >= ZERO_BUCKET - 64) & (bucket < ZERO_BUCKET + 64)
    value[single] = np.where(
        bucket[single] >= ZERO_BUCKET,
        bucket[single] - ZERO_BUCKET,
        -(ZERO_BUCKET - bucket[single]),
    )
    is_lo = rank == 0
    is_hi = rank == m.count[group] - 1
    value[is_lo] = m.lo[group[is_lo]]
    value[is_hi] = m.hi[group[is_hi]]
    known = single | is_lo | is_hi
    return RankPlan(group, rank, value, known, code, target - row_start)


def resolve(plan: RankPlan, picked: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The value at every planned rank, from the picks of all partitions."""
    value = plan.value.copy()
    todo = ~plan.known
    if not todo.any():
        return value
    codes = np.concatenate([c for c, _ in picked]) if picked else np.zeros(0, dtype=np.int64)
    vals = np.concatenate([v for _, v in picked]) if picked else np.zeros(0, dtype=np.int64)
    order = np.lexsort((vals, codes))
    codes, vals = codes[order], vals[order]
    start = np.searchsorted(codes, plan.code[todo])
    value[todo] = vals[start + plan.inner[todo]]
    return value


def median_ranks(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two middle ranks of each group (equal for an odd count)."""
    return (count - 1) // 2, count // 2


def medians(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """float64 medians from the two middle values, as `duration_stats` computes them."""
    a = lower.astype(np.float64)
    return np.where(lower == upper, a, (a + upper.astype(np.float64)) / 2.0)


def quantile_ranks(count: int, q: float) -> tuple[int, int, float]:
    """Polars' "linear" quantile: ranks floor and ceil of q * (n - 1) and the proportion."""
    position = (count - 1) * q
    lower = math.floor(position)
    return lower, math.ceil(position), position - lower


def linear(
    lower: float, upper: float, lower_rank: int, upper_rank: int, proportion: float
) -> float:
    """The quantile between two values, as polars interpolates it."""
    if lower_rank == upper_rank:
        return lower
    return proportion * (upper - lower) + lower
