"""Per-journey kernels of a comparison: they run over every case, not once per variant.

`frame_spans`, `phase_spans` and `rule_breaches` measure time frames and rules (they depend on
timestamps); `case_channels` gives each case's channel set and switches; `first_in_cases`
finds each case's first marked event; `first_cases` and `smallest_cases` pick the example
journeys of a deviation. Deviation type codes are in `kernels.replay`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import SERIAL
from .dfg import _check_log
from .replay import _check_codes

WITHIN, NOT_WHILE_OPEN = 0, 1  # rule kinds for `rule_breaches`


@njit(**SERIAL)
def _frame_spans(offsets, act, frm, to):
    # Frames as bits (f <= 64): per activity code the frames it opens and closes; per case the
    # frames opened and closed so far, so most events cost two lookups and no branch.
    n, f = offsets.size - 1, frm.size
    n_codes = 1
    for i in range(act.size):
        n_codes = max(n_codes, act[i] + 1)
    opens = np.zeros(n_codes, dtype=np.uint64)
    closes = np.zeros(n_codes, dtype=np.uint64)
    for k in range(f):
        if 0 <= frm[k] < n_codes:
            opens[frm[k]] |= np.uint64(1) << np.uint64(k)
        if 0 <= to[k] < n_codes:
            closes[to[k]] |= np.uint64(1) << np.uint64(k)
    # case, first `from`, first `to` after it; at most one row per case (untouched pages of
    # this bound are never mapped)
    out = np.empty((3, f, n), dtype=np.int64)
    count = np.zeros(f, dtype=np.int64)
    first_from = np.full(f, -1, dtype=np.int64)
    first_to = np.full(f, -1, dtype=np.int64)
    for c in range(n):
        opened = np.uint64(0)
        closed = np.uint64(0)
        for i in range(offsets[c], offsets[c + 1]):
            a = act[i]
            new_to = closes[a] & opened & ~closed  # before `opened` grows: from, then to
            new_from = opens[a] & ~opened
            if new_from | new_to:
                for k in range(f):
                    bit = np.uint64(1) << np.uint64(k)
                    if new_from & bit:
                        first_from[k] = i
                    if new_to & bit:
                        first_to[k] = i
                opened |= new_from
                closed |= new_to
        if opened == 0:
            continue
        for k in range(f):
            if opened >> np.uint64(k) & np.uint64(1):
                out[0, k, count[k]] = c
                out[1, k, count[k]] = first_from[k]
                out[2, k, count[k]] = first_to[k] if closed >> np.uint64(k) & np.uint64(1) else -1
                count[k] += 1
    return out, count


def frame_spans(
    offsets: np.ndarray, act: np.ndarray, frm: np.ndarray, to: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per time frame, the cases where its `frm` happens: the first `frm` event and the first
    `to` event after it.

    offsets: int64[n_cases + 1]; act: int32[n_events]; frm, to: int32[f] activity codes
    (-1: not in the log). Returns, per frame, (case, start, end) int64[m] each: case indexes
    ascending, event indexes, end -1 where no `to` followed. Cost: O(n_events + f x events
    of the frames' activities), output O(cases with a `frm`).
    """
    _check_log(offsets, act)
    for name, arr in (("frm", frm), ("to", to)):
        _check_codes(name, arr, np.int32, 0)
    if frm.size != to.size:
        raise ValueError("frm and to must have one code per time frame each")
    if frm.size > 64:
        raise ValueError(f"at most 64 time frames at once, got {frm.size}")
    out, count = _frame_spans(offsets, act, frm, to)
    return [(out[0, j, :m], out[1, j, :m], out[2, j, :m]) for j, m in enumerate(count.tolist())]


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
    one = np.uint64(1)
    for c in range(n):
        lo, hi = offsets[c], offsets[c + 1]
        until = hi if stop[c] < 0 else min(hi, lo + stop[c])  # switches at events before it
        low = np.uint64(0)
        high = np.uint64(0)
        n_switch = 0
        n_before = 0
        prev = -1
        for i in range(lo, hi):
            ch = channel[i]
            if ch < 0:
                continue
            if ch < 64:
                low |= one << np.uint64(ch)
            else:
                high |= one << np.uint64(ch - 64)
            if prev >= 0 and ch != prev:
                n_switch += 1
                if i < until:
                    n_before += 1
            prev = ch
        lo_mask[c], hi_mask[c], switches[c], before[c] = low, high, n_switch, n_before
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
def _first_in_cases(offsets, positions):
    first = np.full(offsets.size - 1, -1, dtype=np.int64)
    c = 0
    for j in range(positions.size):
        p = positions[j]
        while offsets[c + 1] <= p:
            c += 1
        if first[c] < 0:
            first[c] = p
    return first


def first_in_cases(offsets: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Per case, the first of the ascending event `positions` that lies in it, -1 if none.

    offsets: int64[n_cases + 1]; positions: int64[p] ascending event indexes (say, the events
    where an attribute is set). Returns int64[n_cases]. Cost: O(n_cases + p), a merge.
    """
    _check_codes("offsets", offsets, np.int64, 0)
    _check_codes("positions", positions, np.int64, 0)
    if offsets.size < 1 or offsets[0] != 0:
        raise ValueError("offsets must hold n_cases + 1 event offsets, starting at 0")
    if positions.size and (
        positions[0] < 0 or positions[-1] >= offsets[-1] or np.any(np.diff(positions) < 0)
    ):
        raise ValueError("positions must be ascending event indexes in 0..n_events-1")
    return _first_in_cases(offsets, positions)


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
