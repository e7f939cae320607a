"""Variants: cases with the same sequence of activities, found by hashing and checked exactly.

Each case's code sequence gets a 64-bit hash; a hash table keyed by that hash maps it to a
variant, and a case joins a variant only if its sequence really equals the variant's
representative sequence, so hash collisions split into separate variants instead of merging.
Variant ids are given in order of first appearance in the log, so they are deterministic.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import SERIAL
from .dfg import _check_log

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


@njit(**SERIAL)
def _sequence_hash(act, lo, hi):
    # FNV-1a over the codes, then a splitmix64 finaliser for a well-spread table index.
    h = _FNV_OFFSET
    for i in range(lo, hi):
        h = (h ^ np.uint64(act[i] + 1)) * _FNV_PRIME
    h ^= np.uint64(hi - lo)
    h = (h ^ (h >> np.uint64(30))) * _MIX_1
    h = (h ^ (h >> np.uint64(27))) * _MIX_2
    return h ^ (h >> np.uint64(31))


@njit(**SERIAL)
def _same_sequence(offsets, act, a, b):
    la = offsets[a + 1] - offsets[a]
    same = la == offsets[b + 1] - offsets[b]
    k = 0
    while same and k < la:
        same = act[offsets[a] + k] == act[offsets[b] + k]
        k += 1
    return same


@njit(**SERIAL)
def _case_variants(offsets, act, hash_mask):
    n_cases = offsets.size - 1
    size = 1
    while size < 2 * n_cases:
        size *= 2
    table = np.full(size, -1, dtype=np.int64)
    mask = np.uint64(size - 1)
    variant_of = np.empty(n_cases, dtype=np.int64)
    rep = np.empty(n_cases, dtype=np.int64)
    vhash = np.empty(n_cases, dtype=np.uint64)
    count = np.zeros(n_cases, dtype=np.int64)
    n_var = 0
    for c in range(n_cases):
        h = _sequence_hash(act, offsets[c], offsets[c + 1]) & hash_mask
        slot = h & mask
        found = -1
        while table[slot] != -1:
            v = table[slot]
            if vhash[v] == h and _same_sequence(offsets, act, rep[v], c):
                found = v
                break
            slot = (slot + np.uint64(1)) & mask
        if found == -1:
            found = n_var
            table[slot] = found
            rep[found] = c
            vhash[found] = h
            n_var += 1
        variant_of[c] = found
        count[found] += 1
    return variant_of, count[:n_var].copy(), rep[:n_var].copy(), vhash[:n_var].copy()


def case_variants(
    offsets: np.ndarray, act: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Variant id of each case, with each variant's count, representative case and hash.

    offsets: int64[n_cases + 1]; act: int32[n_events]. Returns (variant int64[n_cases],
    count int64[k], representative int64[k] (first case in log order), hash uint64[k]);
    ids follow first appearance. Cost: O(n_events) expected, plus a sequence compare per hash hit.
    """
    _check_log(offsets, act)
    return _case_variants(offsets, act, np.uint64(0xFFFFFFFFFFFFFFFF))


@njit(**SERIAL)
def _comes_before(offsets, act, count, rep, u, v):
    # Count descending, then the code sequence ascending (a prefix before its extensions).
    if count[u] != count[v]:
        return count[u] > count[v]
    a = offsets[rep[u]]
    b = offsets[rep[v]]
    la = offsets[rep[u] + 1] - a
    lb = offsets[rep[v] + 1] - b
    for k in range(min(la, lb)):
        if act[a + k] != act[b + k]:
            return act[a + k] < act[b + k]
    return la < lb


@njit(**SERIAL)
def _merge_sort(offsets, act, count, rep, order, lo, hi):
    # Bottom-up merge sort of order[lo:hi] with the full comparison: stable.
    src = order[lo:hi].copy()
    dst = np.empty_like(src)
    k = src.size
    width = 1
    while width < k:
        for start in range(0, k, 2 * width):
            mid = min(start + width, k)
            end = min(start + 2 * width, k)
            i = start
            j = mid
            for out in range(start, end):
                if i < mid and (
                    j >= end or not _comes_before(offsets, act, count, rep, src[j], src[i])
                ):
                    dst[out] = src[i]
                    i += 1
                else:
                    dst[out] = src[j]
                    j += 1
        src, dst = dst, src
        width *= 2
    order[lo:hi] = src


@njit(**SERIAL)
def _variant_order(offsets, act, count, rep):
    k = count.size
    n_act = 1
    for i in range(act.size):
        n_act = max(n_act, act[i] + 1)
    bits = 1
    while (1 << bits) <= n_act:
        bits += 1
    digits = 63 // bits
    # The first `digits` codes (+1; 0 pads a shorter sequence) packed high digit first give an
    # integer key that orders like the sequence prefix, so two numeric sorts do most work.
    key = np.zeros(k, dtype=np.int64)
    for v in range(k):
        a = offsets[rep[v]]
        length = offsets[rep[v] + 1] - a
        x = np.int64(0)
        for j in range(digits):
            x <<= bits
            if j < length:
                x |= act[a + j] + 1
        key[v] = x
    order = np.argsort(key, kind="mergesort")
    order = order[np.argsort(-count[order], kind="mergesort")].astype(np.int64)
    # Equal count and key: both sequences are longer than `digits`; compare them in full.
    i = 0
    while i < k:
        j = i + 1
        while j < k and count[order[j]] == count[order[i]] and key[order[j]] == key[order[i]]:
            j += 1
        if j - i > 1:
            _merge_sort(offsets, act, count, rep, order, i, j)
        i = j
    return order


def variant_order(
    offsets: np.ndarray, act: np.ndarray, count: np.ndarray, representative: np.ndarray
) -> np.ndarray:
    """Variant ids sorted by count descending, then by activity-code sequence ascending.

    offsets: int64[n_cases + 1]; act: int32[n_events]; count, representative: int64[k] as from
    `case_variants`. Returns int64[k]. With activity codes indexing sorted names, this is the
    order by name tuple (a sequence before its extensions). Cost: O(k log k) on integer keys
    packing each sequence's first codes, plus full comparisons where those tie.
    """
    _check_log(offsets, act)
    for name, arr in (("count", count), ("representative", representative)):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.int64 or arr.ndim != 1:
            raise ValueError(f"{name} must be a 1-d int64 numpy array, one value per variant")
    if count.size != representative.size:
        raise ValueError("count and representative must have one value per variant each")
    if representative.size and (
        representative.min() < 0 or representative.max() >= offsets.size - 1
    ):
        raise ValueError("representative must hold case indexes in 0..n_cases-1")
    return _variant_order(offsets, act, count, representative)
