"""Loading the compiled kernels up front, so a caller can overlap that one-off cost.

Each group lists the kernels one use of the miner runs (`discovery`: `discover` on a log
without start times; `comparison`: `compare_to_map`, in memory or over a stored dataset's
partitions; `comparison`: `compare_to_map`), as steps that call them on an empty
log with argument types exactly as the miner passes them, so no other specialisation is
compiled. The first call of a kernel in a process loads it from numba's on-disk cache
(numba's runtime set-up ~0.1-0.3 s once, then a few ms a kernel), or compiles and caches it
when the cache is empty. `python -m journeyminer.kernels.warm GROUP PART` runs one part of a
group, so that a second process can take a share of an empty cache's compiling.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from .cases import (
    case_channels,
    first_cases,
    first_in_cases,
    frame_spans,
    phase_spans,
    rule_breaches,
    smallest_cases,
)
from .dfg import pair_durations, start_end_counts
from .moments import pick_in_buckets, summarize_dense
from .replay import merge_records, replay_variants, skipped_steps
from .stats import case_durations, channel_switches, ngram_counts, rework_counts
from .variants import case_variants, variant_order

OFFSETS = np.zeros(1, np.int64)  # an empty log: one offset, no events
NONE8, NONE32, NONE64 = np.zeros(0, np.int8), np.zeros(0, np.int32), np.zeros(0, np.int64)
ONE_BOOL = np.zeros(1, np.bool_)


def _variants() -> None:
    _, count, rep, _ = case_variants(OFFSETS, NONE32)
    variant_order(OFFSETS, NONE32, count, rep)


def _replay() -> None:
    allowed, phase = np.zeros((1, 1), np.bool_), np.zeros(1, np.int32)
    records = replay_variants(OFFSETS, NONE32, NONE64, allowed, phase, ONE_BOOL, ONE_BOOL)[0]
    merge_records(records, records)


def _first_cases() -> None:
    first = first_cases(NONE64, 0, 3)
    smallest_cases(NONE64, NONE64, first, 0, 0)


def _moments() -> None:
    for squares in (True, False):
        summarize_dense(NONE64, NONE64, 1, squares=squares)
    pick_in_buckets(NONE64, NONE64, NONE64)


Steps = tuple[Callable[[], object], ...]

# `discover` (in memory or over a stored dataset's partitions: `miner.engine.partials`).
_DISCOVERY_HERE: Steps = (
    _variants,
    lambda: case_durations(OFFSETS, NONE64),
    lambda: start_end_counts(OFFSETS, NONE32, 1),
    lambda: channel_switches(OFFSETS, NONE8),
    lambda: rework_counts(OFFSETS, NONE32, 1),
)
_DISCOVERY_THERE: Steps = (
    _moments,
    lambda: pair_durations(OFFSETS, NONE32, NONE64, 1),
    lambda: ngram_counts(OFFSETS, NONE32, 1, 2),
)
_COMPARISON_HERE: Steps = (_variants, _replay)
_COMPARISON_THERE: Steps = (
    lambda: skipped_steps(OFFSETS, NONE32, NONE64, NONE64, NONE64, NONE64, OFFSETS, NONE64),
    lambda: frame_spans(OFFSETS, NONE32, NONE32, NONE32),
    lambda: phase_spans(OFFSETS, NONE32, 1),
    lambda: rule_breaches(OFFSETS, NONE32, NONE64, NONE8, NONE32, NONE32, NONE32, NONE64, 0),
    lambda: case_channels(OFFSETS, NONE8, NONE64),
    lambda: first_in_cases(OFFSETS, NONE64),
    _first_cases,
)

# Each group in two parts of about equal compile time on an empty cache (measured one kernel
# at a time): the part a command compiles itself, and the part a helper process compiles
# beside it (`miner.kernel_cache.compile_ahead`); the helper's part is the lighter one, as the
# helper first pays numba's import and set-up (~0.8 s).
GROUPS: dict[str, tuple[Steps, Steps]] = {
    # `discover` on a log without start times (mine, map draft): ~4 s + ~3.3 s.
    "discovery": (_DISCOVERY_HERE, _DISCOVERY_THERE),
    # `compare_to_map`: ~6 s + ~2.9 s.
    "comparison": (_COMPARISON_HERE, _COMPARISON_THERE),
    # `journeyminer compare`: the comparison, then the overlay's discovery: ~6.5 s + ~6.2 s.
    "compare": (_COMPARISON_HERE + _DISCOVERY_HERE[1:], _COMPARISON_THERE + _DISCOVERY_THERE),
}


def warm(group: str, part: int | None = None) -> None:
    """Run every kernel of `group` (or of one part of it) once on an empty log: each is loaded
    from numba's cache, or compiled and cached. Cost: the loads (or the compiles)."""
    for index, steps in enumerate(GROUPS[group]):
        if part is None or part == index:
            for step in steps:
                step()


def warm_up() -> None:
    """Load every kernel a comparison runs (and the variant kernels) from numba's on-disk cache."""
    warm("comparison")


if __name__ == "__main__":  # python -m journeyminer.kernels.warm GROUP [PART]
    warm(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
