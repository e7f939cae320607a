"""The stable string hash against its pure-Python twin, on Arrow-style offsets and bytes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.kernels.hashing import fnv1a_64, hash_partitions
from tests import naive


def arrow_layout(texts: list[str], dtype: type = np.int64) -> tuple[np.ndarray, np.ndarray]:
    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=dtype)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return offsets, np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()


NAMED = ["", "a", "foobar", "C000001#1", "ü-3", "案件12", "🚀 launch", "a" * 1000, "\x00"]


def test_fnv1a_64_matches_the_published_test_vectors() -> None:
    offsets, data = arrow_layout(["", "a", "foobar"])
    assert fnv1a_64(offsets, data).tolist() == [
        0xCBF29CE484222325,
        0xAF63DC4C8601EC8C,
        0x85944171F73967E8,
    ]


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_named_strings_hash_as_the_naive_twin_says(dtype: type) -> None:
    offsets, data = arrow_layout(NAMED, dtype)
    assert fnv1a_64(offsets, data).tolist() == [naive.fnv1a_64(t) for t in NAMED]
    for n_parts in (1, 2, 7, 64):
        assert hash_partitions(offsets, data, n_parts).tolist() == [
            naive.hash_partition(t, n_parts) for t in NAMED
        ]


@given(st.lists(st.text(max_size=40), max_size=30), st.integers(1, 300))
def test_any_strings_hash_as_the_naive_twin_says(texts: list[str], n_parts: int) -> None:
    offsets, data = arrow_layout(texts)
    assert fnv1a_64(offsets, data).tolist() == [naive.fnv1a_64(t) for t in texts]
    parts = hash_partitions(offsets, data, n_parts)
    assert parts.dtype == np.int64
    assert parts.tolist() == [naive.hash_partition(t, n_parts) for t in texts]


def test_no_strings_give_no_hashes() -> None:
    offsets, data = arrow_layout([])
    assert fnv1a_64(offsets, data).size == 0
    assert hash_partitions(offsets, data, 4).size == 0


def test_offsets_that_do_not_start_at_zero_are_a_slice_of_the_bytes() -> None:
    offsets, data = arrow_layout(["skip", "x", "yz"])
    assert fnv1a_64(offsets[1:], data).tolist() == [naive.fnv1a_64("x"), naive.fnv1a_64("yz")]


def test_sequential_ids_spread_over_the_partitions() -> None:
    offsets, data = arrow_layout([f"C{i:06d}" for i in range(80_000)])
    counts = np.bincount(hash_partitions(offsets, data, 8), minlength=8)
    assert counts.min() > 9_000 and counts.max() < 11_000


@pytest.mark.parametrize(
    ("offsets", "data", "n_parts", "message"),
    [
        (np.array([0, 1]), np.zeros(1, dtype=np.int8), 2, "uint8"),
        (np.array([0.0, 1.0]), np.zeros(1, dtype=np.uint8), 2, "int32 or int64"),
        (np.array([0, 5]), np.zeros(1, dtype=np.uint8), 2, "within data"),
        (np.array([0, 1, 0]), np.zeros(1, dtype=np.uint8), 2, "within data"),
        (np.array([], dtype=np.int64), np.zeros(0, dtype=np.uint8), 2, "n_strings + 1"),
        (np.array([0, 1]), np.zeros(1, dtype=np.uint8), 0, "at least 1"),
    ],
)
def test_wrong_arrays_are_a_clear_value_error(
    offsets: np.ndarray, data: np.ndarray, n_parts: int, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        hash_partitions(offsets, data, n_parts)
