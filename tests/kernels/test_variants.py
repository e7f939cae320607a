"""Variant kernel against its naive twin, including forced hash collisions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.kernels.variants import _case_variants, case_variants, variant_order
from journeyminer.miner.log import EventLog
from tests import naive
from tests.strategies import NAMED_ROWS, event_logs, log_from_rows

ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)


def _assert_variants_match_naive(offsets: np.ndarray, act: np.ndarray, mask: np.uint64) -> None:
    variant, count, rep, hashes = _case_variants(offsets, act, mask)
    want_variant, want_info = naive.case_variants(offsets, act)
    assert variant.tolist() == want_variant
    assert count.tolist() == [want_info[v][1] for v in range(len(want_info))]
    assert rep.tolist() == [want_info[v][2] for v in range(len(want_info))]
    assert hashes.dtype == np.uint64 and hashes.size == count.size


def _check(log: EventLog) -> None:
    enc = log.encoded
    _, count, rep, _ = case_variants(enc.offsets, enc.act)
    order = variant_order(enc.offsets, enc.act, count, rep)
    sequences = naive.cases(enc.offsets, enc.act)
    assert [tuple(sequences[rep[v]]) for v in order] == naive.variant_order(enc.offsets, enc.act)
    for mask in (ALL_BITS, np.uint64(0), np.uint64(1)):  # real hashes, all collide, half collide
        _assert_variants_match_naive(enc.offsets, enc.act, mask)


@pytest.mark.parametrize("name", sorted(NAMED_ROWS))
def test_variants_match_naive_on_named_logs(name: str) -> None:
    _check(log_from_rows(NAMED_ROWS[name]))  # type: ignore[arg-type]


@given(event_logs(max_events=4))
def test_variants_match_naive_on_generated_logs(log: EventLog) -> None:
    _check(log)


def test_equal_hashes_of_different_sequences_split_into_variants() -> None:
    offsets = np.array([0, 2, 4, 6, 7], dtype=np.int64)
    act = np.array([0, 1, 1, 0, 0, 1, 0], dtype=np.int32)
    variant, count, rep, _ = _case_variants(offsets, act, np.uint64(0))
    assert variant.tolist() == [0, 1, 0, 2]
    assert count.tolist() == [2, 1, 1]
    assert rep.tolist() == [0, 1, 3]


@pytest.mark.parametrize("length", [1, 12, 13, 40])  # packed keys up to 12 codes of 5 bits
def test_sequences_of_every_length_group_exactly_as_the_naive_twin(length: int) -> None:
    rng = np.random.default_rng(length)
    cases = [rng.integers(0, 20, rng.integers(1, length + 1)).tolist() for _ in range(300)]
    cases += cases[:100] + [[*c[:-1], 19] for c in cases[:50]]
    offsets = np.concatenate(([0], np.cumsum([len(c) for c in cases]))).astype(np.int64)
    act = np.array([a for c in cases for a in c], dtype=np.int32)
    for mask in (ALL_BITS, np.uint64(0), np.uint64(1)):
        _assert_variants_match_naive(offsets, act, mask)


def test_negative_codes_never_merge_different_sequences() -> None:
    offsets = np.array([0, 2, 3, 5], dtype=np.int64)
    act = np.array([-1, 5, 5, -1, 5], dtype=np.int32)
    assert _case_variants(offsets, act, ALL_BITS)[0].tolist() == [0, 1, 0]


def test_public_wrapper_gives_deterministic_ids_in_first_appearance_order() -> None:
    offsets = np.array([0, 1, 3, 4, 6], dtype=np.int64)
    act = np.array([5, 1, 2, 5, 1, 2], dtype=np.int32)
    first = case_variants(offsets, act)
    second = case_variants(offsets.copy(), act.copy())
    for a, b in zip(first, second, strict=True):
        assert a.tolist() == b.tolist()
    assert first[0].tolist() == [0, 1, 0, 1]


def test_prefix_is_a_different_variant() -> None:
    offsets = np.array([0, 2, 5], dtype=np.int64)
    act = np.array([0, 1, 0, 1, 1], dtype=np.int32)
    assert case_variants(offsets, act)[0].tolist() == [0, 1]


def test_case_variants_rejects_wrong_dtypes() -> None:
    with pytest.raises(ValueError, match="act must be"):
        case_variants(np.array([0, 1], dtype=np.int64), np.array([0], dtype=np.int64))


def test_variant_order_puts_a_prefix_before_its_extensions_on_equal_counts() -> None:
    offsets = np.array([0, 2, 3, 4, 6], dtype=np.int64)
    act = np.array([0, 1, 0, 1, 0, 2], dtype=np.int32)
    _, count, rep, _ = case_variants(offsets, act)
    order = variant_order(offsets, act, count, rep)
    assert [naive.cases(offsets, act)[rep[v]] for v in order] == [[0], [0, 1], [0, 2], [1]]


def test_variant_order_rejects_mismatched_arrays() -> None:
    offsets = np.array([0, 1], dtype=np.int64)
    act = np.array([0], dtype=np.int32)
    with pytest.raises(ValueError, match="one value per variant"):
        variant_order(offsets, act, np.array([1], np.int64), np.array([0, 0], np.int64))
    with pytest.raises(ValueError, match="case indexes"):
        variant_order(offsets, act, np.array([1], np.int64), np.array([3], np.int64))


@given(
    st.lists(
        st.lists(st.integers(0, 1), min_size=1, max_size=80).map(lambda s: [0] * 30 + s),
        min_size=1,
        max_size=30,
    )
)
def test_variant_order_compares_long_sequences_beyond_their_packed_prefix(
    sequences: list[list[int]],
) -> None:
    lengths = [len(s) for s in sequences]
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    act = np.array([a for s in sequences for a in s], dtype=np.int32)
    _, count, rep, _ = case_variants(offsets, act)
    order = variant_order(offsets, act, count, rep)
    got = [tuple(naive.cases(offsets, act)[rep[v]]) for v in order]
    assert got == naive.variant_order(offsets, act)
