"""Slow, obviously-correct pure-Python twins of the kernels, for tests to compare against.

Each takes the same encoded arrays as its kernel and answers with plain dicts and lists.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from typing import Any

import numpy as np


def cases(offsets: np.ndarray, values: np.ndarray) -> list[list[int]]:
    """Split a per-event array into one Python list per case."""
    return [[int(v) for v in values[offsets[c] : offsets[c + 1]]] for c in range(len(offsets) - 1)]


def start_end_counts(offsets: np.ndarray, act: np.ndarray) -> tuple[Counter, Counter]:
    """Start and end activity code -> number of cases."""
    seqs = [s for s in cases(offsets, act) if s]
    return Counter(s[0] for s in seqs), Counter(s[-1] for s in seqs)


def edge_durations(offsets: np.ndarray, act: np.ndarray, ts: np.ndarray) -> dict:
    """(a, b) -> sorted list of durations (µs) of each consecutive pair within a case."""
    out: dict[tuple[int, int], list[int]] = {}
    for seq, times in zip(cases(offsets, act), cases(offsets, ts), strict=True):
        for i in range(len(seq) - 1):
            out.setdefault((seq[i], seq[i + 1]), []).append(times[i + 1] - times[i])
    return {edge: sorted(d) for edge, d in sorted(out.items())}


def interval_edge_durations(
    offsets: np.ndarray, act: np.ndarray, ts: np.ndarray, start: np.ndarray
) -> dict:
    """(a, b) -> sorted start(b) - complete(a) of pairs consecutive by (start, position) in a case."""
    out: dict[tuple[int, int], list[int]] = {}
    for c in range(len(offsets) - 1):
        events = sorted(range(offsets[c], offsets[c + 1]), key=lambda i: (int(start[i]), i))
        for i, j in itertools.pairwise(events):
            out.setdefault((int(act[i]), int(act[j])), []).append(int(start[j]) - int(ts[i]))
    return {edge: sorted(d) for edge, d in sorted(out.items())}


def service_times(act: np.ndarray, ts: np.ndarray, start: np.ndarray) -> dict[int, list[int]]:
    """Activity -> sorted complete minus start (µs) of each of its events."""
    out: dict[int, list[int]] = {}
    for a, t, s in zip(act, ts, start, strict=True):
        out.setdefault(int(a), []).append(int(t) - int(s))
    return {a: sorted(d) for a, d in sorted(out.items())}


def duration_stats(durations: list[int]) -> dict[str, Any]:
    """Exact statistics of one edge's durations (µs); stdev is None for a single value."""
    return {
        "count": len(durations),
        "sum": sum(durations),
        "mean": statistics.mean(durations),
        "median": statistics.median(durations),
        "min": min(durations),
        "max": max(durations),
        "stdev": statistics.stdev(durations) if len(durations) > 1 else None,
    }


def pair_counts(offsets: np.ndarray, act: np.ndarray) -> dict[tuple[int, int], int]:
    """(a, b) -> number of times b directly follows a within a case."""
    return {edge: len(d) for edge, d in edge_durations(offsets, act, act.astype(np.int64)).items()}


def case_variants(offsets: np.ndarray, act: np.ndarray) -> tuple[list[int], dict]:
    """Variant id of each case (first appearance order) and id -> (sequence, count, first case)."""
    ids: dict[tuple[int, ...], int] = {}
    info: dict[int, list[Any]] = {}
    out = []
    for c, seq in enumerate(cases(offsets, act)):
        key = tuple(seq)
        if key not in ids:
            ids[key] = len(ids)
            info[ids[key]] = [key, 0, c]
        info[ids[key]][1] += 1
        out.append(ids[key])
    return out, {v: tuple(i) for v, i in info.items()}


def case_durations(offsets: np.ndarray, ts: np.ndarray) -> list[int]:
    """Last minus first timestamp of each case (µs)."""
    return [t[-1] - t[0] if t else 0 for t in cases(offsets, ts)]


def rework_counts(offsets: np.ndarray, act: np.ndarray) -> dict[int, tuple[int, int, int]]:
    """Activity -> (cases holding it, cases repeating it, occurrences beyond the first)."""
    holding: Counter = Counter()
    repeating: Counter = Counter()
    repeats: Counter = Counter()
    for seq in cases(offsets, act):
        for a, k in Counter(seq).items():
            holding[a] += 1
            if k > 1:
                repeating[a] += 1
                repeats[a] += k - 1
    return {a: (holding[a], repeating[a], repeats[a]) for a in holding}


def channel_switches(offsets: np.ndarray, channel: np.ndarray) -> list[int]:
    """Per case, how often the known channel (code >= 0) differs from the previous known one."""
    out = []
    for seq in cases(offsets, channel):
        known = [ch for ch in seq if ch >= 0]
        out.append(sum(1 for x, y in itertools.pairwise(known) if x != y))
    return out


def ngram_counts(offsets: np.ndarray, act: np.ndarray, n: int) -> dict[tuple[int, ...], int]:
    """Tuple of n consecutive codes within a case -> occurrences."""
    counts: Counter = Counter()
    for seq in cases(offsets, act):
        for i in range(len(seq) - n + 1):
            counts[tuple(seq[i : i + n])] += 1
    return dict(counts)


def variant_order(offsets: np.ndarray, act: np.ndarray) -> list[tuple[int, ...]]:
    """Distinct code sequences sorted by count descending, then by the sequence itself."""
    counts = Counter(tuple(s) for s in cases(offsets, act))
    return sorted(counts, key=lambda s: (-counts[s], s))


# -- kernels.cases: the per-journey kernels of a comparison ---------------------------------
WITHIN, NOT_WHILE_OPEN = 0, 1  # rule kinds, as in kernels.cases


def frame_spans(
    offsets: np.ndarray, act: np.ndarray, frm: list[int], to: list[int]
) -> list[list[tuple[int, int, int]]]:
    """Per frame: (case, first `frm` event, first `to` event after it or -1) of each case
    that shows `frm`."""
    out: list[list[tuple[int, int, int]]] = []
    for a, b in zip(frm, to, strict=True):
        rows = []
        for c, seq in enumerate(cases(offsets, act)):
            if a not in seq:
                continue
            i = seq.index(a)
            j = next((j for j in range(i + 1, len(seq)) if seq[j] == b), None)
            start = int(offsets[c])
            rows.append((c, start + i, -1 if j is None else start + j))
        out.append(rows)
    return out


def phase_spans(
    offsets: np.ndarray, event_phase: np.ndarray, n_phases: int
) -> tuple[list[list[int]], list[list[int]]]:
    """Per case and phase: the first and last event index in the phase, -1 if none."""
    first, last = [], []
    for c, seq in enumerate(cases(offsets, event_phase)):
        at = [[int(offsets[c]) + i for i, p in enumerate(seq) if p == q] for q in range(n_phases)]
        first.append([ix[0] if ix else -1 for ix in at])
        last.append([ix[-1] if ix else -1 for ix in at])
    return first, last


def rule_breaches(
    offsets: np.ndarray,
    act: np.ndarray,
    ts: np.ndarray,
    rules: list[tuple[int, int, int, int, int]],
    as_of: int,
) -> list[list[tuple[bool, int, int]]]:
    """Per case, per rule (kind, a, b, c, max_us): (applicable, breaches, first breaching
    event index or -1). WITHIN: each `a` needs a later `b` within max_us (or as_of - ts(a) <=
    max_us while none came); NOT_WHILE_OPEN: no `a` after a `b` until the next `c`."""
    out = []
    for c, (seq, times) in enumerate(zip(cases(offsets, act), cases(offsets, ts), strict=True)):
        start = int(offsets[c])
        row = []
        for kind, a, b, close, max_us in rules:
            breaching: list[int] = []
            if kind == WITHIN:
                applicable = a in seq
                for i, x in enumerate(seq):
                    if x != a:
                        continue
                    then = next((j for j in range(i + 1, len(seq)) if seq[j] == b), None)
                    waited = (times[then] if then is not None else as_of) - times[i]
                    if waited > max_us:
                        breaching.append(i)
            else:
                applicable = b in seq
                open_ = False
                for i, x in enumerate(seq):
                    if x == a and open_:
                        breaching.append(i)
                    if x == close:
                        open_ = False
                    if x == b:
                        open_ = True
            first = start + breaching[0] if breaching else -1
            row.append((applicable, len(breaching), first))
        out.append(row)
    return out


def case_channels(
    offsets: np.ndarray, channel: np.ndarray, stop: list[int]
) -> list[tuple[set[int], int, int]]:
    """Per case: its set of known channel codes, its channel switches, and the switches whose
    second event lies before position `stop` in the case (all of them when stop is -1)."""
    out = []
    for seq, s in zip(cases(offsets, channel), stop, strict=True):
        known = [(p, ch) for p, ch in enumerate(seq) if ch >= 0]
        switches = [q for (_, x), (q, y) in itertools.pairwise(known) if x != y]
        before = [q for q in switches if s < 0 or q < s]
        out.append(({ch for _, ch in known}, len(switches), len(before)))
    return out


def first_in_cases(offsets: np.ndarray, positions: list[int]) -> list[int]:
    """Per case, the first of `positions` that lies in it, -1 if none."""
    return [
        next((p for p in positions if offsets[c] <= p < offsets[c + 1]), -1)
        for c in range(len(offsets) - 1)
    ]


def first_cases(variant: list[int], k: int, e: int) -> list[list[int]]:
    """The first `e` case indexes of each of `k` variants, -1 padded."""
    rows = [[i for i, v in enumerate(variant) if v == g][:e] for g in range(k)]
    return [r + [-1] * (e - len(r)) for r in rows]


def smallest_cases(
    key: list[int], group: list[int], first: list[list[int]], n_keys: int, e: int
) -> list[list[int]]:
    """Per key, the `e` smallest case indexes over its rows (repeats kept), -1 padded. A group
    below len(first) stands for that variant's cases in `first`, above for one case."""
    n_variants = len(first)
    pools: list[list[int]] = [[] for _ in range(n_keys)]
    for q, g in zip(key, group, strict=True):
        pools[q] += [c for c in first[g] if c >= 0] if g < n_variants else [g - n_variants]
    rows = [sorted(p)[:e] for p in pools]
    return [r + [-1] * (e - len(r)) for r in rows]


def fnv1a_64(text: str) -> int:
    """FNV-1a (64-bit) of the UTF-8 bytes of `text`, by the book."""
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h


def hash_partition(text: str, n_parts: int) -> int:
    """The partition of `text`: murmur3's 64-bit finaliser of its FNV-1a, modulo `n_parts`."""
    h = fnv1a_64(text)
    for multiplier in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
        h ^= h >> 33
        h = (h * multiplier) % 2**64
    h ^= h >> 33
    return h % n_parts
