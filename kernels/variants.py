"""Variants: cases with the same sequence of activities, found by hashing and checked exactly.

A case's code sequence, if short enough, packs exactly into one 64-bit key; a longer one gets a
64-bit hash and is compared with a copy of the variant's codes. A hash table maps keys to
variants, so hash collisions split into separate variants instead of merging.
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
def _mix(h):
    # splitmix64 finaliser: a well-spread table index from any 64-bit key.
    h = (h ^ (h >> np.uint64(30))) * _MIX_1
    h = (h ^ (h >> np.uint64(27))) * _MIX_2
    return h ^ (h >> np.uint64(31))


@njit(**SERIAL)
def _sequence_hash(act, lo, hi):
    # FNV-1a over the codes and the length, then mixed.
    h = _FNV_OFFSET
    for i in range(lo, hi):
        h = (h ^ np.uint64(act[i] + 1)) * _FNV_PRIME
    return _mix(h ^ np.uint64(hi - lo))


@njit(**SERIAL)
def _grow(values, size):
    # `values` copied into a new array of `size` (>= its length).
    # An element loop, not a slice assignment: numba compiles the latter's size-mismatch
    # error message with its string machinery (~2 s on an empty JIT cache).
    out = np.empty(size, dtype=values.dtype)
    for i in range(values.size):
        out[i] = values[i]
    return out


@njit(**SERIAL)
def _rehash(vhash, vkey, vlong, n_var, size):
    # A fresh open-addressing table of `size` slots holding variants 0..n_var-1: slot s is
    # (key, entry) at [2s, 2s + 1], entry = 2 * variant + long + 1, 0 when empty.
    table = np.zeros(2 * size, dtype=np.uint64)
    mask = np.uint64(size - 1)
    for v in range(n_var):
        slot = vhash[v] & mask
        while table[2 * slot + 1] != 0:
            slot = (slot + np.uint64(1)) & mask
        table[2 * slot] = vkey[v]
        table[2 * slot + 1] = np.uint64(2 * v + vlong[v] + 1)
    return table


@njit(**SERIAL)
def _case_variants(offsets, act, hash_mask):
    # A sequence of up to `short` codes packs exactly into one 64-bit key (digits code + 1,
    # never 0, so the key also fixes the length): the table lookup alone decides. A longer one
    # is keyed by its hash and compared with a copy of the variant's codes. The table grows
    # with the variants (load <= 1/2) and holds key and variant side by side, so most cases
    # cost one cache miss.
    n_cases = offsets.size - 1
    n_codes, lowest = 1, 0
    for i in range(act.size):
        n_codes, lowest = max(n_codes, act[i] + 1), min(lowest, act[i])
    bits = 1
    while (1 << bits) <= n_codes:
        bits += 1
    short = 63 // bits if lowest >= 0 else -1  # a negative code would be a 0 digit: all long
    size = 1024
    cap = 1024
    rep = np.empty(cap, dtype=np.int64)
    vhash = np.empty(cap, dtype=np.uint64)
    vkey = np.empty(cap, dtype=np.uint64)
    vlong = np.zeros(cap, dtype=np.int64)
    seq_start = np.zeros(cap + 1, dtype=np.int64)  # long variant v: seq[start[v]:start[v + 1]]
    seq = np.empty(1024, dtype=act.dtype)
    table = _rehash(vhash, vkey, vlong, np.int64(0), np.int64(size))
    mask = np.uint64(size - 1)
    variant_of = np.empty(n_cases, dtype=np.int64)
    n_var = 0
    for c in range(n_cases):
        lo, hi = offsets[c], offsets[c + 1]
        is_long = hi - lo > short
        if is_long:
            key = _sequence_hash(act, lo, hi) & hash_mask
            h = key
        else:
            key = np.uint64(0)
            for i in range(lo, hi):
                key = (key << np.uint64(bits)) | np.uint64(act[i] + 1)
            h = _mix(key) & hash_mask
        slot = h & mask
        found = -1
        while table[2 * slot + 1] != 0:
            entry = np.int64(table[2 * slot + 1]) - 1
            if table[2 * slot] == key and (entry & 1) == is_long:
                v = int(entry >> 1)
                same = True
                if is_long:
                    s = seq_start[v] - lo
                    same = seq_start[v + 1] - seq_start[v] == hi - lo
                    for i in range(lo, hi):
                        if not same:
                            break
                        same = seq[s + i] == act[i]
                if same:
                    found = v
                    break
            slot = (slot + np.uint64(1)) & mask
        if found == -1:
            found = n_var
            if n_var == cap:
                cap *= 2
                rep, vhash, vkey = _grow(rep, cap), _grow(vhash, cap), _grow(vkey, cap)
                vlong, seq_start = _grow(vlong, cap), _grow(seq_start, cap + 1)
            end = seq_start[n_var]
            if is_long:
                end += hi - lo
                if end > seq.size:
                    seq = _grow(seq, max(2 * seq.size, end))
                for i in range(lo, hi):  # a loop, not a slice assignment (see _grow)
                    seq[seq_start[n_var] + i - lo] = act[i]
            seq_start[n_var + 1] = end
            rep[found], vhash[found], vkey[found], vlong[found] = c, h, key, is_long
            table[2 * slot] = key
            table[2 * slot + 1] = np.uint64(2 * found + is_long + 1)
            n_var += 1
            if 2 * n_var > size:
                size *= 2
                mask = np.uint64(size - 1)
                table = _rehash(vhash, vkey, vlong, n_var, size)
        variant_of[c] = found
    count = np.zeros(n_var, dtype=np.int64)
    for c in range(n_cases):
        count[variant_of[c]] += 1
    return variant_of, count, rep[:n_var].copy(), vhash[:n_var].copy()


def case_variants(
    offsets: np.ndarray, act: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Variant id of each case, with each variant's count, representative case and hash.

    offsets: int64[n_cases + 1]; act: int32[n_events]. Returns (variant int64[n_cases],
    count int64[k], representative int64[k] (first case in log order), hash uint64[k] (the
    table hash of its key)); ids follow first appearance. Cost: O(n_events) expected, about one
    cache miss per case, plus a sequence compare per hash hit of a long sequence.
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
    for i in range(k):  # a loop, not a slice assignment (see _grow)
        order[lo + i] = src[i]


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
            _merge_sort(offsets, act, count, rep, order, np.int64(i), np.int64(j))
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
