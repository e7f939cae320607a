"""Replay against a designed journey map: each variant checked once.

`replay_variants` walks the representative case of every variant over the designed transition
matrix and emits deviation records (`RECORD_ROWS`); `skipped_steps` finds the designed steps
an unexpected jump passed over, and `merge_records` merges those records into the others. What depends on timestamps or on the case
itself (time frames, rules, channels) is in `kernels.cases`.

Deviation types are small integer codes (below), numbered in the order a case lists the
deviations found at one position. Kernels know codes only; names live in `miner.compare.comparison`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import SERIAL
from .dfg import _check_log

WRONG_START = 0  # first activity is not a designed (observable) start
UNKNOWN = 1  # activity outside the map (first occurrence); a = activity
UNEXPECTED = 2  # consecutive mapped a -> b that no designed flow allows (first occurrence)
SKIPPED = 3  # designed step on the shortest path of an unexpected jump, never shown before it
REGRESSION = 4  # consecutive mapped a -> b with phase(b) < phase(a) (first occurrence)
REWORK = 5  # second occurrence of an activity; n = occurrences in the case
TIME_FRAME = 6  # case level: a designed time frame breached
RULE = 7  # case level: an orchestration rule breached
DROP_OFF = 8  # case level: closed journey that never reached a goal
N_TYPES = 9
MAX_PER_EVENT = 5  # records one event can add: wrong start, unknown, unexpected, regression, rework
# Rows of a deviation record array: a touchpoint (an activity, or -1 for a pair), a pair from ->
# to (or -1, -1), n (occurrences, for rework; else 0).
RECORD_ROWS = ("variant", "position", "type", "touchpoint", "from", "to", "n")


@njit(**SERIAL)
def _replay(offsets, act, rep, allowed, phase, start, goal, n_codes, capacity):
    # Deduped records in a growing int64[7, capacity] (RECORD_ROWS): an event adds at most
    # MAX_PER_EVENT records, so the room is checked once per event.
    k = rep.size
    out = np.zeros((7, max(capacity, MAX_PER_EVENT)), dtype=np.int64)
    flags = np.zeros(k, dtype=np.int64)
    goal_pos = np.full(k, -1, dtype=np.int64)
    last_known = np.full(k, -1, dtype=np.int64)
    max_phase = np.full(k, -1, dtype=np.int64)
    stamp = np.full(n_codes, -1, dtype=np.int64)
    occ = np.zeros(n_codes, dtype=np.int64)
    r = 0
    for v in range(k):
        lo = offsets[rep[v]]
        hi = offsets[rep[v] + 1]
        first = r
        for i in range(lo, hi):
            if r + MAX_PER_EVENT > out.shape[1]:
                bigger = np.zeros((7, 2 * out.shape[1]), dtype=np.int64)
                for row in range(7):  # a loop, not a slice assignment (see variants._grow)
                    for j in range(r):
                        bigger[row, j] = out[row, j]
                out = bigger
            p = i - lo
            a = act[i]
            known = phase[a] >= 0
            if p == 0 and not start[a]:
                flags[v] |= 1 << WRONG_START
                out[0, r], out[1, r], out[2, r], out[3, r] = v, p, WRONG_START, a
                out[4, r], out[5, r] = -1, -1
                r += 1
            if stamp[a] != v:
                stamp[a] = v
                occ[a] = 0
                if not known:
                    flags[v] |= 1 << UNKNOWN
                    out[0, r], out[1, r], out[2, r], out[3, r] = v, p, UNKNOWN, a
                    out[4, r], out[5, r] = -1, -1
                    r += 1
            occ[a] += 1
            if p > 0 and known and phase[act[i - 1]] >= 0:
                b = act[i - 1]
                for typ in (UNEXPECTED, REGRESSION):
                    hit = not allowed[b, a] if typ == UNEXPECTED else phase[a] < phase[b]
                    if not hit:
                        continue
                    flags[v] |= 1 << typ
                    new = True  # first occurrence of the pair in this variant only
                    for j in range(first, r):
                        if out[2, j] == typ and out[4, j] == b and out[5, j] == a:
                            new = False
                            break
                    if new:
                        out[0, r], out[1, r], out[2, r], out[3, r] = v, p, typ, -1
                        out[4, r], out[5, r] = b, a
                        r += 1
            if occ[a] == 2:
                flags[v] |= 1 << REWORK
                out[0, r], out[1, r], out[2, r], out[3, r] = v, p, REWORK, a
                out[4, r], out[5, r] = -1, -1
                r += 1
            if goal[a] and goal_pos[v] < 0:
                goal_pos[v] = p
            if known:
                last_known[v] = p
                max_phase[v] = max(max_phase[v], phase[a])
        for j in range(first, r):
            out[6, j] = occ[out[3, j]] if out[2, j] == REWORK else 0
    return out[:, :r].copy(), flags, goal_pos, last_known, max_phase


def _check_codes(name: str, arr: np.ndarray, dtype: type, n_act: int, ndim: int = 1) -> None:
    if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d {np.dtype(dtype).name} numpy array")
    if any(s < n_act for s in arr.shape):
        raise ValueError(f"{name} must cover every activity code: shape {arr.shape} < {n_act}")


def replay_variants(
    offsets: np.ndarray,
    act: np.ndarray,
    representative: np.ndarray,
    allowed: np.ndarray,
    phase: np.ndarray,
    start: np.ndarray,
    goal: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check each variant's representative case against the designed transition matrix.

    offsets: int64[n_cases + 1]; act: int32[n_events] codes; representative: int64[k] case
    indexes; allowed: bool[m, m] (m >= n_act; [a, b] = designed flow a -> b, diagonal True
    when a repeat is rework rather than a hidden path); phase: int32[m], -1 outside the map;
    start, goal: bool[m]. Returns (records int64[7, r] with RECORD_ROWS, sorted by variant then
    position then type; flags int64[k] bit (1 << type) per type found;
    goal_pos int64[k] first goal position or -1; last_known int64[k] position of the last
    mapped activity or -1; max_phase int64[k] furthest phase or -1). Unexpected transitions
    and regressions are recorded at the first occurrence of each pair, unknown activities at
    their first occurrence, rework at the second. Cost: O(variant events x distinct deviating
    pairs per variant), in one pass.
    """
    _check_log(offsets, act)
    n_act = int(act.max()) + 1 if act.size else 0
    _check_codes("representative", representative, np.int64, 0)
    if representative.size and (
        representative.min() < 0 or representative.max() >= offsets.size - 1
    ):
        raise ValueError("representative must hold case indexes in 0..n_cases-1")
    _check_codes("allowed", allowed, np.bool_, n_act, ndim=2)
    _check_codes("phase", phase, np.int32, n_act)
    _check_codes("start", start, np.bool_, n_act)
    _check_codes("goal", goal, np.bool_, n_act)
    n_codes = max(n_act, 1)
    capacity = 4 * representative.size + 1024  # grows when a log deviates more
    return _replay(offsets, act, representative, allowed, phase, start, goal, n_codes, capacity)


@njit(**SERIAL)
def _bound(path, path_offsets):
    total = 0
    for j in range(path.size):
        total += path_offsets[path[j] + 1] - path_offsets[path[j]]
    return total


@njit(**SERIAL)
def _skipped_steps(offsets, act, rep, variant, position, path, path_offsets, path_codes, n_codes):
    out_src = np.empty(_bound(path, path_offsets), dtype=np.int64)
    out_code = np.empty(out_src.size, dtype=np.int64)
    stamp = np.full(n_codes, -1, dtype=np.int64)
    first_pos = np.zeros(n_codes, dtype=np.int64)
    current = -1
    m = 0
    for j in range(variant.size):
        v = variant[j]
        if v != current:  # first position of every activity of this variant
            current = v
            lo = offsets[rep[v]]
            for i in range(offsets[rep[v] + 1] - 1, lo - 1, -1):
                stamp[act[i]] = v
                first_pos[act[i]] = i - lo
        for q in range(path_offsets[path[j]], path_offsets[path[j] + 1]):
            s = path_codes[q]
            if stamp[s] != v or first_pos[s] >= position[j]:
                out_src[m] = j
                out_code[m] = s
                m += 1
    return out_src[:m].copy(), out_code[:m].copy()


def skipped_steps(
    offsets: np.ndarray,
    act: np.ndarray,
    representative: np.ndarray,
    variant: np.ndarray,
    position: np.ndarray,
    path: np.ndarray,
    path_offsets: np.ndarray,
    path_codes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Designed steps each unexpected jump passed over that its variant had not shown before.

    variant, position, path: int64[u], one row per unexpected-transition record, sorted by
    variant; path indexes the skip lists `path_codes[path_offsets[p]:path_offsets[p + 1]]`
    (int64 codes; codes >= n_act stand for touchpoints absent from the log). Returns (src
    int64[s] record row, code int64[s] skipped touchpoint), in record then path order.
    Cost: O(variant events + skip-list lengths).
    """
    _check_log(offsets, act)
    for name, arr in (
        ("representative", representative),
        ("variant", variant),
        ("position", position),
        ("path", path),
        ("path_offsets", path_offsets),
        ("path_codes", path_codes),
    ):
        _check_codes(name, arr, np.int64, 0)
    if not variant.size == position.size == path.size:
        raise ValueError("variant, position and path must have one value per record each")
    if path_offsets.size < 1 or path_offsets[-1] != path_codes.size:
        raise ValueError("path_offsets must run from 0 to len(path_codes)")
    if path.size and (path.min() < 0 or path.max() >= path_offsets.size - 1):
        raise ValueError("path must index the skip lists in 0..len(path_offsets)-2")
    if variant.size and np.any(np.diff(variant) < 0):
        raise ValueError("records must be sorted by variant")
    n_act = int(act.max()) + 1 if act.size else 0
    n_codes = max(n_act, int(path_codes.max()) + 1 if path_codes.size else 0, 1)
    return _skipped_steps(
        offsets, act, representative, variant, position, path, path_offsets, path_codes, n_codes
    )


@njit(**SERIAL)
def _before(a, i, b, j):
    # Record column i of `a` sorts before column j of `b`: by variant, position, type.
    for q in range(3):
        if a[q, i] != b[q, j]:
            return a[q, i] < b[q, j]
    return True


@njit(**SERIAL)
def _merge_records(rec, extra):
    n, m = rec.shape[1], extra.shape[1]
    out = np.empty((rec.shape[0], n + m), dtype=np.int64)
    i = 0
    j = 0
    for o in range(n + m):
        if j >= m or (i < n and _before(rec, i, extra, j)):
            for q in range(rec.shape[0]):
                out[q, o] = rec[q, i]
            i += 1
        else:
            for q in range(rec.shape[0]):
                out[q, o] = extra[q, j]
            j += 1
    return out


def merge_records(records: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Two record arrays, each sorted by variant, position, type, merged in that order.

    records, extra: int64[7, *] (RECORD_ROWS). On equal keys `records` come first; each side
    keeps its order. Returns int64[7, n + m]. Cost: O(n + m), one pass.
    """
    for name, arr in (("records", records), ("extra", extra)):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.int64 or arr.ndim != 2:
            raise ValueError(f"{name} must be a 2-d int64 numpy array of record columns")
        if arr.shape[0] != len(RECORD_ROWS):
            raise ValueError(f"{name} must have the {len(RECORD_ROWS)} rows {RECORD_ROWS}")
    return _merge_records(records, extra)
