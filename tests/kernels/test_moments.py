"""Kernels of mergeable summaries: buckets keep order, summaries are exact, picks are complete."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.kernels.moments import (
    N_BUCKETS,
    bucket_code,
    pick_in_buckets,
    summarize_dense,
    summarize_groups,
)

INT64 = st.integers(-(2**62), 2**62)


@given(st.lists(INT64, min_size=1, max_size=200))
def test_buckets_never_reverse_the_order_of_values(values: list[int]) -> None:
    v = np.sort(np.array(values, dtype=np.int64))
    b = bucket_code(v)
    assert np.all(np.diff(b) >= 0)
    assert b.min() >= 0 and b.max() < N_BUCKETS


def test_small_values_have_a_bucket_of_their_own() -> None:
    v = np.arange(-64, 64, dtype=np.int64)
    assert np.unique(bucket_code(v)).size == v.size


@given(st.lists(st.lists(INT64, min_size=1, max_size=30), min_size=1, max_size=8))
def test_summaries_are_exact(groups: list[list[int]]) -> None:
    values = np.concatenate([np.sort(np.array(g, dtype=np.int64)) for g in groups])
    bounds = np.cumsum([0] + [len(g) for g in groups]).astype(np.int64)
    count, s_hi, s_lo, sq, lo, hi, h_group, h_bucket, h_count = summarize_groups(bounds, values)
    for g, group in enumerate(groups):
        assert count[g] == len(group)
        assert int(s_hi[g]) * 2**32 + int(s_lo[g]) == sum(group)
        assert 0 <= s_lo[g] < 2**32
        assert sum(int(sq[g, k]) << (16 * k) for k in range(sq.shape[1])) == sum(
            x * x for x in group
        )
        assert (lo[g], hi[g]) == (min(group), max(group))
        rows = h_group == g
        assert h_count[rows].sum() == len(group)
        expected = np.unique(bucket_code(np.array(group, dtype=np.int64)), return_counts=True)
        assert h_bucket[rows].tolist() == expected[0].tolist()
        assert h_count[rows].tolist() == expected[1].tolist()


@given(st.lists(st.tuples(st.integers(0, 5), INT64), max_size=100), st.data())
def test_pick_keeps_exactly_the_values_of_the_target_buckets(
    pairs: list[tuple[int, int]], data: st.DataObject
) -> None:
    groups = np.array([g for g, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=np.int64)
    codes = groups * N_BUCKETS + bucket_code(values)
    targets = np.unique(data.draw(st.lists(st.sampled_from(codes.tolist() or [0]), max_size=5)))
    targets = targets.astype(np.int64)
    got_codes, got = pick_in_buckets(groups, values, targets)
    keep = np.isin(codes, targets)
    assert got.tolist() == values[keep].tolist()
    assert got_codes.tolist() == codes[keep].tolist()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="bounds"):
        summarize_groups(np.array([0, 2], dtype=np.int64), np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="values"):
        bucket_code(np.zeros(3, dtype=np.float64))


@given(
    st.lists(st.tuples(st.integers(0, 6), INT64), min_size=1, max_size=150),
    st.booleans(),
)
def test_unsorted_summary_equals_the_sorted_one(pairs: list[tuple[int, int]], spread: bool) -> None:
    # `spread`: wide values and no room for the dense table, so the summary sorts instead:
    # both paths must agree with the sorted summary.
    groups = np.array([g for g, _ in pairs], dtype=np.int64)
    values = np.array([v if spread else v % 1000 for _, v in pairs], dtype=np.int64)
    got = summarize_dense(groups, values, 7, max_slots=None if not spread else 0)
    order = np.lexsort((values, groups))
    keys, counts = np.unique(groups, return_counts=True)
    bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    want = summarize_groups(bounds, values[order])
    assert got[0].tolist() == keys.tolist()
    for g_arr, w_arr in zip(got[1:7], want[:6], strict=True):
        assert g_arr.tolist() == w_arr.tolist()
    assert got[7].tolist() == (keys[want[6]] * N_BUCKETS + want[7]).tolist()
    assert got[8].tolist() == want[8].tolist()
