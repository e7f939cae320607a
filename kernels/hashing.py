"""Stable hashes of strings given as Arrow buffers: the same value in every run, process,
machine and library version, so a stored log's partition of a customer can be found again.

A string column comes as its Arrow layout: `offsets` (int32 or int64[n + 1]) into `data`
(uint8, the UTF-8 bytes of all strings one after another); string i is
`data[offsets[i]:offsets[i + 1]]`. `fnv1a_64` is FNV-1a over those bytes; `hash_partitions`
mixes it (murmur3's 64-bit finaliser, so that every bit of the FNV value reaches the low bits)
and takes it modulo the number of partitions.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import SERIAL

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
_MIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT = np.uint64(33)


@njit(**SERIAL)
def _fnv1a_64(offsets, data):
    n = offsets.size - 1
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        h = FNV_OFFSET
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[j])) * FNV_PRIME
        out[i] = h
    return out


@njit(**SERIAL)
def _hash_partitions(offsets, data, n_parts):
    hashed = _fnv1a_64(offsets, data)
    out = np.empty(hashed.size, dtype=np.int64)
    parts = np.uint64(n_parts)
    for i in range(hashed.size):
        h = hashed[i]
        h ^= h >> _SHIFT
        h *= _MIX_1
        h ^= h >> _SHIFT
        h *= _MIX_2
        h ^= h >> _SHIFT
        out[i] = np.int64(h % parts)
    return out


def _check_strings(offsets: np.ndarray, data: np.ndarray) -> None:
    if not isinstance(offsets, np.ndarray) or offsets.ndim != 1 or offsets.size < 1:
        raise ValueError("offsets must be a 1-d numpy array of n_strings + 1 int32/int64 offsets")
    if offsets.dtype not in (np.int32, np.int64):
        raise ValueError(f"offsets must be int32 or int64 (Arrow offsets), found {offsets.dtype}")
    if not isinstance(data, np.ndarray) or data.ndim != 1 or data.dtype != np.uint8:
        raise ValueError("data must be a 1-d uint8 numpy array (the UTF-8 bytes)")
    if offsets.size > 1 and (
        offsets[0] < 0 or offsets[-1] > data.size or np.any(np.diff(offsets) < 0)
    ):
        raise ValueError("offsets must rise from 0 and stay within data")


def fnv1a_64(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """FNV-1a (64-bit) of each string: uint64[n_strings]. O(total bytes).

    offsets: int32 or int64[n_strings + 1]; data: uint8[total bytes], the UTF-8 bytes.
    """
    _check_strings(offsets, data)
    return _fnv1a_64(offsets, data)


def hash_partitions(offsets: np.ndarray, data: np.ndarray, n_parts: int) -> np.ndarray:
    """The partition (0..n_parts-1) of each string: int64[n_strings]. O(total bytes).

    `fmix64(fnv1a_64(s)) % n_parts`; offsets and data as for `fnv1a_64`.
    """
    _check_strings(offsets, data)
    if n_parts < 1:
        raise ValueError(f"n_parts must be at least 1, found {n_parts}")
    return _hash_partitions(offsets, data, n_parts)
