"""Replay against a designed journey map: each variant checked once, then per-case windows.

`replay_variants` walks the representative case of every variant over the designed transition
matrix and emits deviation records `(variant, position, type, a, b, n)`; `skipped_steps` adds
the designed steps an unexpected jump passed over; `frame_positions`, `phase_spans` and
`rule_breaches` measure time frames and rules per case (they depend on timestamps, so they
run over all events); `case_channels` gives each case's channel set and switches.

Deviation types are small integer codes (below), numbered in the order a case lists the
deviations found at one position. Kernels know codes only; names live in `miner.compare`.
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
WITHIN, NOT_WHILE_OPEN = 0, 1  # rule kinds for `rule_breaches`


@njit(**SERIAL)
def _replay(offsets, act, rep, allowed, phase, start, goal, n_codes, fill, out):
    # fill=False: count an upper bound of records (no dedupe); fill=True: write deduped
    # records into `out` (int64[6, capacity]: variant, position, type, a, b, n).
    k = rep.size
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
            p = i - lo
            a = act[i]
            known = phase[a] >= 0
            if p == 0 and not start[a]:
                flags[v] |= 1 << WRONG_START
                if fill:
                    out[0, r], out[1, r], out[2, r], out[3, r], out[4, r] = v, p, 0, a, -1
                r += 1
            if stamp[a] != v:
                stamp[a] = v
                occ[a] = 0
                if not known:
                    flags[v] |= 1 << UNKNOWN
                    if fill:
                        out[0, r], out[1, r], out[2, r], out[3, r], out[4, r] = v, p, 1, a, -1
                    r += 1
            occ[a] += 1
            if p > 0 and known and phase[act[i - 1]] >= 0:
                b = act[i - 1]
                for typ in (UNEXPECTED, REGRESSION):
                    hit = not allowed[b, a] if typ == UNEXPECTED else phase[a] < phase[b]
                    if not hit:
                        continue
                    flags[v] |= 1 << typ
                    new = True
                    if fill:  # first occurrence of the pair in this variant only
                        for j in range(first, r):
                            if out[2, j] == typ and out[3, j] == b and out[4, j] == a:
                                new = False
                                break
                        if new:
                            out[0, r], out[1, r], out[2, r], out[3, r], out[4, r] = v, p, typ, b, a
                    if new:
                        r += 1
            if occ[a] == 2:
                flags[v] |= 1 << REWORK
                if fill:
                    out[0, r], out[1, r], out[2, r], out[3, r], out[4, r] = v, p, 5, a, -1
                r += 1
            if goal[a] and goal_pos[v] < 0:
                goal_pos[v] = p
            if known:
                last_known[v] = p
                max_phase[v] = max(max_phase[v], phase[a])
        if fill:
            for j in range(first, r):
                out[5, j] = occ[out[3, j]] if out[2, j] == REWORK else 0
    return r, flags, goal_pos, last_known, max_phase


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
    start, goal: bool[m]. Returns (records int64[6, r] rows variant, position, type, a, b, n,
    sorted by variant then position then type; flags int64[k] bit (1 << type) per type found;
    goal_pos int64[k] first goal position or -1; last_known int64[k] position of the last
    mapped activity or -1; max_phase int64[k] furthest phase or -1). Unexpected transitions
    and regressions are recorded at the first occurrence of each pair, unknown activities at
    their first occurrence, rework at the second. Cost: O(variant events x distinct deviating
    pairs per variant), run twice (count, then fill).
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
    args = (offsets, act, representative, allowed, phase, start, goal, n_codes)
    bound = _replay(*args, False, np.zeros((6, 0), dtype=np.int64))[0]
    out = np.zeros((6, bound), dtype=np.int64)
    r, flags, goal_pos, last_known, max_phase = _replay(*args, True, out)
    return out[:, :r].copy(), flags, goal_pos, last_known, max_phase


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
def _frame_positions(offsets, act, frm, to):
    n, f = offsets.size - 1, frm.size
    first_from = np.full((n, f), -1, dtype=np.int64)
    first_to = np.full((n, f), -1, dtype=np.int64)
    for c in range(n):
        for i in range(offsets[c], offsets[c + 1]):
            a = act[i]
            for k in range(f):
                if first_from[c, k] < 0:
                    if a == frm[k]:
                        first_from[c, k] = i
                elif first_to[c, k] < 0 and a == to[k]:
                    first_to[c, k] = i
    return first_from, first_to


def frame_positions(
    offsets: np.ndarray, act: np.ndarray, frm: np.ndarray, to: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per case and time frame: the first `frm` event and the first `to` event after it.

    offsets: int64[n_cases + 1]; act: int32[n_events]; frm, to: int32[f] activity codes
    (-1: not in the log). Returns two int64[n_cases, f] event indexes, -1 where absent.
    Cost: O(n_events x f).
    """
    _check_log(offsets, act)
    for name, arr in (("frm", frm), ("to", to)):
        _check_codes(name, arr, np.int32, 0)
    if frm.size != to.size:
        raise ValueError("frm and to must have one code per time frame each")
    return _frame_positions(offsets, act, frm, to)


@njit(**SERIAL)
def _phase_spans(offsets, event_phase, n_phases):
    n = offsets.size - 1
    first = np.full((n, n_phases), -1, dtype=np.int64)
    last = np.full((n, n_phases), -1, dtype=np.int64)
    for c in range(n):
        for i in range(offsets[c], offsets[c + 1]):
            p = event_phase[i]
            if p >= 0:
                if first[c, p] < 0:
                    first[c, p] = i
                last[c, p] = i
    return first, last


def phase_spans(
    offsets: np.ndarray, event_phase: np.ndarray, n_phases: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per case and phase: the first and the last event index in that phase, -1 if none.

    offsets: int64[n_cases + 1]; event_phase: int32[n_events] phase of each event (-1: none,
    else < n_phases). Returns two int64[n_cases, n_phases]. Cost: O(n_events + n_cases x P).
    """
    _check_log(offsets, event_phase)
    if event_phase.size and int(event_phase.max()) >= n_phases:
        raise ValueError(f"event_phase must lie in -1..n_phases-1 with n_phases={n_phases}")
    return _phase_spans(offsets, event_phase, n_phases)


@njit(**SERIAL)
def _rule_breaches(offsets, act, ts, kind, a, b, c, max_us, as_of):
    n, nr = offsets.size - 1, kind.size
    applicable = np.zeros((n, nr), dtype=np.bool_)
    breaches = np.zeros((n, nr), dtype=np.int64)
    first = np.full((n, nr), -1, dtype=np.int64)
    for case in range(n):
        lo, hi = offsets[case], offsets[case + 1]
        for k in range(nr):
            if kind[k] == WITHIN:  # backwards, carrying the next `then` (b)
                next_then = -1
                for i in range(hi - 1, lo - 1, -1):
                    if act[i] == a[k]:
                        applicable[case, k] = True
                        late = (
                            ts[next_then] - ts[i] > max_us[k]
                            if next_then >= 0
                            else as_of - ts[i] > max_us[k]
                        )
                        if late:
                            breaches[case, k] += 1
                            first[case, k] = i
                    if act[i] == b[k]:
                        next_then = i
            else:  # no `a` while a `b` is open until the next `c`
                open_ = False
                for i in range(lo, hi):
                    if act[i] == a[k] and open_:
                        breaches[case, k] += 1
                        if first[case, k] < 0:
                            first[case, k] = i
                    if act[i] == c[k]:
                        open_ = False
                    if act[i] == b[k]:
                        open_ = True
                        applicable[case, k] = True
    return applicable, breaches, first


def rule_breaches(
    offsets: np.ndarray,
    act: np.ndarray,
    ts: np.ndarray,
    kind: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    max_us: np.ndarray,
    as_of: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per case and rule: applicable, number of breaches, first breaching event index (-1).

    kind: int8[r] (WITHIN: every `a` needs a `b` after it within max_us, and a missing `b`
    breaches once as_of - ts(a) > max_us; NOT_WHILE_OPEN: no `a` after a `b` until the next
    `c`); a, b, c: int32[r] activity codes (-1: not in the log); max_us: int64[r]; as_of: µs.
    The breaching event is the `a`. Returns bool/int64/int64 [n_cases, r]. Cost: O(n_events x r).
    """
    _check_log(offsets, act, ts)
    _check_codes("kind", kind, np.int8, 0)
    for name, arr in (("a", a), ("b", b), ("c", c)):
        _check_codes(name, arr, np.int32, 0)
    _check_codes("max_us", max_us, np.int64, 0)
    if not kind.size == a.size == b.size == c.size == max_us.size:
        raise ValueError("kind, a, b, c and max_us must have one value per rule each")
    return _rule_breaches(offsets, act, ts, kind, a, b, c, max_us, np.int64(as_of))


@njit(**SERIAL)
def _case_channels(offsets, channel, stop):
    n = offsets.size - 1
    lo_mask = np.zeros(n, dtype=np.uint64)
    hi_mask = np.zeros(n, dtype=np.uint64)
    switches = np.zeros(n, dtype=np.int64)
    before = np.zeros(n, dtype=np.int64)
    for c in range(n):
        prev = -1
        for i in range(offsets[c], offsets[c + 1]):
            ch = channel[i]
            if ch < 0:
                continue
            if ch < 64:
                lo_mask[c] |= np.uint64(1) << np.uint64(ch)
            else:
                hi_mask[c] |= np.uint64(1) << np.uint64(ch - 64)
            if prev >= 0 and ch != prev:
                switches[c] += 1
                if stop[c] < 0 or i - offsets[c] < stop[c]:
                    before[c] += 1
            prev = ch
    return lo_mask, hi_mask, switches, before


def case_channels(
    offsets: np.ndarray, channel: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each case's channel set and channel switches, in all and before position `stop`.

    offsets: int64[n_cases + 1]; channel: int8[n_events] (-1: none, skipped as in
    `stats.channel_switches`); stop: int64[n_cases] (-1: no stop). Returns (low, high uint64
    bit sets of channels 0..63 and 64..127, switches int64, switches among events before
    `stop` int64), each [n_cases]. Cost: O(n_events).
    """
    if not isinstance(channel, np.ndarray) or channel.dtype != np.int8 or channel.ndim != 1:
        raise ValueError("channel must be a 1-d int8 numpy array of channel codes (-1 = none)")
    _check_log(offsets, np.empty(channel.size, dtype=np.int32))
    _check_codes("stop", stop, np.int64, 0)
    if stop.size != offsets.size - 1:
        raise ValueError("stop must hold one position per case")
    return _case_channels(offsets, channel, stop)


@njit(**SERIAL)
def _first_cases(variant, k, e):
    first = np.full((k, e), -1, dtype=np.int64)
    filled = np.zeros(k, dtype=np.int64)
    for c in range(variant.size):
        v = variant[c]
        if filled[v] < e:
            first[v, filled[v]] = c
            filled[v] += 1
    return first


def first_cases(variant: np.ndarray, k: int, e: int) -> np.ndarray:
    """The first `e` cases (in log order) of each of `k` variants.

    variant: int64[n_cases], values in 0..k-1. Returns int64[k, e] case indexes, ascending in
    each row, padded with -1 where a variant has fewer than `e` cases. Cost: O(n_cases).
    """
    if not isinstance(variant, np.ndarray) or variant.dtype != np.int64 or variant.ndim != 1:
        raise ValueError("variant must be a 1-d int64 numpy array, one variant id per case")
    if k < 0 or e < 0:
        raise ValueError("k and e must be >= 0")
    if variant.size and (variant.min() < 0 or variant.max() >= k):
        raise ValueError(f"variant must hold ids in 0..k-1 with k={k}")
    return _first_cases(variant, np.int64(k), np.int64(e))


@njit(**SERIAL)
def _smallest_cases(key, group, first, n_variants, n_keys):
    e = first.shape[1]
    out = np.full((n_keys, e), -1, dtype=np.int64)
    filled = np.zeros(n_keys, dtype=np.int64)
    for j in range(key.size):
        g = group[j]
        q = key[j]
        for m in range(e if g < n_variants else 1):
            c = first[g, m] if g < n_variants else g - n_variants
            if c < 0:
                break
            n = filled[q]
            if n == e and c >= out[q, e - 1]:
                continue
            i = n if n < e else e - 1  # insert c, keeping the row ascending
            while i > 0 and out[q, i - 1] > c:
                out[q, i] = out[q, i - 1]
                i -= 1
            out[q, i] = c
            if n < e:
                filled[q] = n + 1
    return out


def smallest_cases(
    key: np.ndarray, group: np.ndarray, first: np.ndarray, n_variants: int, n_keys: int
) -> np.ndarray:
    """Per key, the `e` smallest case indexes among its rows' cases, with repeats.

    key: int64[r] in 0..n_keys-1; group: int64[r], a variant id (< n_variants) standing for the
    cases `first[group]` (int64[n_variants, e] as from `first_cases`, -1 padded), or
    n_variants + a case index standing for that case alone. A case counts once per row it
    comes from. Returns int64[n_keys, e], ascending per key, -1 padded. Cost: O(r x e^2).
    """
    for name, arr in (("key", key), ("group", group)):
        _check_codes(name, arr, np.int64, 0)
    if key.size != group.size:
        raise ValueError("key and group must have one value per row each")
    if not isinstance(first, np.ndarray) or first.dtype != np.int64 or first.ndim != 2:
        raise ValueError("first must be a 2-d int64 numpy array [n_variants, e]")
    if first.shape[0] != n_variants:
        raise ValueError("first must have one row per variant")
    if key.size and (key.min() < 0 or key.max() >= n_keys):
        raise ValueError(f"key must hold ids in 0..n_keys-1 with n_keys={n_keys}")
    if group.size and group.min() < 0:
        raise ValueError("group must hold variant ids or n_variants + case indexes")
    return _smallest_cases(key, group, first, np.int64(n_variants), np.int64(n_keys))
