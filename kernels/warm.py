"""Loading the compiled kernels up front, so a caller can overlap that one-off cost."""

from __future__ import annotations

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
from .replay import merge_records, replay_variants, skipped_steps
from .variants import case_variants, variant_order


def warm_up() -> None:
    """Load every kernel a comparison runs (and the variant kernels) from numba's on-disk cache.

    The first call of each kernel in a process pays a one-off load (numba's runtime set-up,
    ~0.4 s, then ~10 ms a kernel; a compile on a cold cache). This runs them all on an empty
    log, with argument types exactly as `miner.compare.comparison` passes them (so no other
    specialisation is compiled), so that a caller can pay that cost in a thread beside other
    work. Cost: the loads alone.
    """
    offsets, none32, none64 = np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64)
    one_bool = np.zeros(1, np.bool_)
    _, count, rep, _ = case_variants(offsets, none32)
    variant_order(offsets, none32, count, rep)
    records = replay_variants(
        offsets, none32, rep, np.zeros((1, 1), np.bool_), np.zeros(1, np.int32), one_bool, one_bool
    )[0]
    merge_records(records, records)
    skipped_steps(offsets, none32, none64, none64, none64, none64, offsets, none64)
    frame_spans(offsets, none32, none32, none32)
    phase_spans(offsets, none32, 1)
    rule_breaches(offsets, none32, none64, np.zeros(0, np.int8), none32, none32, none32, none64, 0)
    case_channels(offsets, np.zeros(0, np.int8), none64)
    first_in_cases(offsets, none64)
    first = first_cases(none64, 0, 3)
    smallest_cases(none64, none64, first, 0, 0)
