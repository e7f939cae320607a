"""Discovery as partial -> merge -> finish: the DFG, performance DFG, variants, service times
and journey statistics of a log given as partitions (`Parts`).

Pass 1 computes a `Partial` per partition (`partials.partial`); partials merge by adding
(`partials.merge`); `partials.plan` finds every median and quantile rank; where a rank is not
known from the merged histograms, pass 2 asks each partition for the values of the one bucket
holding it (`partials.picks`); `finish.finish` builds the result. The same `Discovery` comes
out whatever the partitioning or the executor, bit for bit.
"""

from __future__ import annotations

from collections.abc import Hashable, MutableMapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from ..discover.results import DFG, Discovery
from .executors import Done, Executor, Serial
from .finish import finish, finish_dfg
from .moments import RankPlan, resolve
from .partials import (
    NGRAM_SIZES,
    TOP_NGRAMS,
    DfgPartial,
    Partial,
    Picks,
    Plans,
    dfg_partial,
    edge_plan,
    edge_values,
    merge,
    merge_dfg,
    merge_dfg_picks,
    merge_picks,
    partial,
    pick_from,
    picks,
    plan,
)
from .parts import Parts


# -----------------------------------------------------------------------------
def discover_parts(
    parts: Parts,
    *,
    run: Executor | None = None,
    keep_cases: bool = True,
    ngram_sizes: tuple[int, ...] = NGRAM_SIZES,
    top_ngrams: int = TOP_NGRAMS,
    cache: MutableMapping[Hashable, Partial] | None = None,
    done: Done | None = None,
) -> Discovery:
    """Discovery of the log behind `parts`: pass 1, merge, plan, pass 2 (only where a rank is
    not known yet), finish. `keep_cases` builds the per-journey tables too; n-grams of each
    of `ngram_sizes` are counted and the `top_ngrams` most frequent kept. `cache` keeps pass-1
    partials by `parts.part_key(i)` where the parts have one (`partial_cache`); a remote
    executor (a cluster) leaves it alone: its partials merge on the workers. `done(k, n)` is
    told as pass-1 partitions finish."""
    run = run or Serial()
    n_act = len(parts.activities)
    n = parts.n_parts
    label = getattr(parts, "part_label", None)

    one = n == 1  # one partition keeps its values: pass 2 reads no partition
    first = _Pass1(parts, n_act, keep_cases, ngram_sizes, one)

    part_key = getattr(parts, "part_key", None)
    if cache is None or part_key is None or run.remote:
        # Only what `first` holds (the parts' description, never the cache) crosses to the
        # workers of a remote executor; the partials merge there in a tree.
        total = run.map_merge(first, n, merge, done=done, label=label)
    else:
        keys = [(part_key(i), keep_cases, ngram_sizes, one) for i in range(n)]
        found: dict[int, Partial] = {}
        for i, key in enumerate(keys):
            if (hit := cache.get(key)) is not None:
                found[i] = hit
        todo = [i for i in range(n) if i not in found]
        fresh = run.map(lambda j: first(todo[j]), len(todo), done=done, label=label)
        for i, made in zip(todo, fresh, strict=True):
            cache[keys[i]] = found[i] = made
        total = merge([found[i] for i in range(n)])

    plans = plan(total)
    steps = (plans.edges, plans.variants, plans.service, plans.measures)
    picked: Picks | None = None
    if any(step.targets.size for step in steps if step is not None):
        if total.retained is not None:
            picked = pick_from(steps, total.retained)
        else:
            index = pl.DataFrame({"key": total.variant_keys}).with_row_index("merged")
            second = _Pass2(parts, n_act, plans, index)
            picked = run.map_merge(second, n, merge_picks, label=label)
    values = {
        i: resolve(step, [] if picked is None else [picked[i]])
        for i, step in enumerate(steps)
        if step is not None
    }
    return finish(total, plans, values, parts.activities, top_ngrams=top_ngrams)


def discover_dfg_parts(parts: Parts, *, run: Executor | None = None) -> DFG:
    """Only the DFG (counts, durations with exact medians, start and end counts) of the log
    behind `parts`: `discover_parts(...).dfg`, bit for bit, without the variants, service
    times and journey statistics (what a comparison's overlay needs)."""
    run = run or Serial()
    n_act = len(parts.activities)
    n = parts.n_parts
    label = getattr(parts, "part_label", None)
    total = run.map_merge(_DfgPass1(parts, n_act, n == 1), n, merge_dfg, label=label)
    step = edge_plan(total.edges)
    picked: list[tuple[np.ndarray, np.ndarray]] = []
    if step.targets.size:
        if total.retained is not None:
            picked = [pick_from([step], [total.retained])[0]]
        else:
            picked = [run.map_merge(_DfgPass2(parts, n_act, step), n, merge_dfg_picks, label=label)]
    names = pl.Series("activity", list(parts.activities), dtype=pl.String)
    return finish_dfg(
        total.edges, total.start, total.end, step, resolve(step, picked), names, max(n_act, 1)
    )


@dataclass(frozen=True)
class _DfgPass1:
    """The DFG partial of partition i (`retain`: keep its values, for a single partition)."""

    parts: Parts
    n_act: int
    retain: bool

    def __call__(self, i: int) -> DfgPartial:
        return dfg_partial(self.parts.load(i), self.n_act, retain=self.retain)


@dataclass(frozen=True)
class _DfgPass2:
    """The edge durations of partition i in the buckets `step` names."""

    parts: Parts
    n_act: int
    step: RankPlan

    def __call__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        enc = self.parts.load(i)
        return pick_from([self.step], [edge_values(enc, max(self.n_act, 1))])[0]


@dataclass(frozen=True)
class _Pass1:
    """Pass 1 of partition i: what a remote executor ships (the parts, never their data)."""

    parts: Parts
    n_act: int
    keep_cases: bool
    ngram_sizes: tuple[int, ...]
    retain: bool

    def __call__(self, i: int) -> Partial:
        enc = self.parts.load(i)
        return partial(
            enc,
            self.n_act,
            keep_cases=self.keep_cases,
            ngram_sizes=self.ngram_sizes,
            retain=self.retain,
        )


@dataclass(frozen=True)
class _Pass2:
    """Pass 2 of partition i: the values of the buckets the plans name."""

    parts: Parts
    n_act: int
    plans: Plans
    index: pl.DataFrame

    def __call__(self, i: int) -> Picks:
        return picks(self.parts.load(i), self.n_act, self.plans, self.index)
