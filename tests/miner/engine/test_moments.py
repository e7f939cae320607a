"""Exact quantiles from mergeable moments: any split of the values gives the sorted answer."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.kernels.moments import pick_in_buckets
from journeyminer.miner.engine.moments import Moments, combine, plan_ranks, resolve

VALUES = st.one_of(
    st.integers(-(10**15), 10**15), st.integers(-100, 100), st.sampled_from([0, 1, 2**40])
)


def _moments(groups: np.ndarray, values: np.ndarray) -> Moments:
    order = np.lexsort((values, groups))
    keys, counts = np.unique(groups, return_counts=True)
    bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return Moments.of_sorted(keys.astype(np.int64), bounds, values[order])


@given(
    st.lists(st.tuples(st.integers(0, 3), VALUES), min_size=1, max_size=120),
    st.integers(1, 6),
    st.data(),
)
def test_merged_moments_give_exact_ranks_sums_and_spread(
    pairs: list[tuple[int, int]], n_parts: int, data: st.DataObject
) -> None:
    groups = np.array([g for g, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=np.int64)
    part = np.array(
        data.draw(st.lists(st.integers(0, n_parts - 1), min_size=len(pairs), max_size=len(pairs)))
    )
    pieces = [(groups[part == p], values[part == p]) for p in range(n_parts)]
    merged = combine([_moments(g, v) for g, v in pieces if g.size])
    keys = np.unique(groups)
    assert merged.keys.tolist() == keys.tolist()
    # every rank of every group
    g_idx = np.concatenate([np.full(int(c), i) for i, c in enumerate(merged.count)])
    ranks = np.concatenate([np.arange(int(c)) for c in merged.count])
    plan = plan_ranks(merged, g_idx, ranks)
    picked = [pick_in_buckets(g, v, plan.targets) for g, v in pieces]
    got = resolve(plan, picked)
    expected = np.concatenate([np.sort(values[groups == k]) for k in keys])
    assert got.tolist() == expected.tolist()
    for i, k in enumerate(keys):
        group = [int(v) for v in values[groups == k]]
        n = len(group)
        assert merged.sums()[i] == sum(group)
        q, r = divmod(sum(group), n)
        assert merged.means()[i] == float(q) + float(r) / n
        if n > 1:
            mean = sum(group) / n
            var = sum((x - mean) ** 2 for x in group) / (n - 1)
            assert math.isclose(merged.stdevs()[i], math.sqrt(var), rel_tol=1e-9, abs_tol=1e-6)
        else:
            assert math.isnan(merged.stdevs()[i])


def test_sparse_group_codes_summarise_like_dense_ones(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from journeyminer.miner.engine import moments as module

    groups = np.array([5, 900, 5, 7, 900], dtype=np.int64)
    values = np.array([3, -2, 10**12, 4, 7], dtype=np.int64)
    dense = Moments.of_values(groups, values, 1000)
    monkeypatch.setattr(module, "DENSE_GROUPS", 10)
    sparse = Moments.of_values(groups, values, 1000)
    for field in ("keys", "count", "s_hi", "s_lo", "sq", "lo", "hi", "hist_code", "hist_count"):
        assert getattr(sparse, field).tolist() == getattr(dense, field).tolist()
