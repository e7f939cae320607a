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

import polars as pl

from ..discover.results import Discovery
from .executors import Executor, Serial
from .finish import finish
from .moments import resolve
from .partials import (
    NGRAM_SIZES,
    TOP_NGRAMS,
    Partial,
    Picks,
    merge,
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
) -> Discovery:
    """Discovery of the log behind `parts`: pass 1, merge, plan, pass 2 (only where a rank is
    not known yet), finish. `keep_cases` builds the per-journey tables too; n-grams of each
    of `ngram_sizes` are counted and the `top_ngrams` most frequent kept. `cache` keeps pass-1
    partials by `parts.part_key(i)` where the parts have one (`partial_cache`)."""
    run = run or Serial()
    n_act = len(parts.activities)

    one = parts.n_parts == 1  # one partition keeps its values: pass 2 reads no partition

    part_key = getattr(parts, "part_key", None) if cache is not None else None

    def first(i: int) -> Partial:
        key = (part_key(i), keep_cases, ngram_sizes, one) if part_key is not None else None
        if key is not None and cache is not None and (hit := cache.get(key)) is not None:
            return hit
        enc = parts.load(i)
        found = partial(enc, n_act, keep_cases=keep_cases, ngram_sizes=ngram_sizes, retain=one)
        if key is not None and cache is not None:
            cache[key] = found
        return found

    total = merge(run.map(first, parts.n_parts))
    plans = plan(total)
    steps = (plans.edges, plans.variants, plans.service, plans.measures)
    got: list[Picks] = []
    if any(step.targets.size for step in steps if step is not None):
        if total.retained is not None:
            got = [pick_from(steps, total.retained)]
        else:
            index = pl.DataFrame({"key": total.variant_keys}).with_row_index("merged")
            got = run.map(lambda i: picks(parts.load(i), n_act, plans, index), parts.n_parts)
    values = {
        i: resolve(step, [g[i] for g in got]) for i, step in enumerate(steps) if step is not None
    }
    return finish(total, plans, values, parts.activities, top_ngrams=top_ngrams)
