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
