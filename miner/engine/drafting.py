"""A map draft of a partitioned log: its `JourneyPaths` as partial -> merge -> finish.

Per partition: each distinct path (the activity codes of a journey, grouped by the variant
kernel) with its number of journeys, and the events per (activity, channel) code. Partials
merge by adding (a journey never spans two partitions, so a path's journeys add up); the
finish names the codes. The draft drawn from them is the whole log's
(`maps.drafting.draft_journey_map`), as `maps.paths` explains.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from ...kernels.variants import case_variants
from ..log import ACTIVITY, CHANNEL
from ..maps.paths import COUNT, PATH, JourneyPaths
from .executors import Executor, Serial
from .parts import Parts


@dataclass(frozen=True)
class PathsPartial:
    """Journeys per path (activity codes), and events per activity x (channel code + 1)."""

    paths: Counter[tuple[int, ...]]
    channels: np.ndarray  # int64[n_activities, n_channels + 1]; column 0: no channel


def paths_partial(parts: Parts, i: int) -> PathsPartial:
    """The partial of partition `i`."""
    enc = parts.load(i)
    n_act, n_chan = len(parts.activities), len(parts.channels)
    found: Counter[tuple[int, ...]] = Counter()
    if enc.n_cases:
        _, count, first_case, _ = case_variants(enc.offsets, enc.act)
        for case, n in zip(first_case.tolist(), count.tolist(), strict=True):
            found[tuple(enc.act[enc.offsets[case] : enc.offsets[case + 1]].tolist())] += n
    cells = enc.act.astype(np.int64) * (n_chan + 1) + (enc.channel.astype(np.int64) + 1)
    channels = np.bincount(cells, minlength=n_act * (n_chan + 1)).reshape(n_act, n_chan + 1)
    return PathsPartial(found, channels)


def merge_paths(found: Sequence[PathsPartial]) -> PathsPartial:
    """Partials added up (associative, in any grouping)."""
    paths: Counter[tuple[int, ...]] = Counter()
    for p in found:
        paths.update(p.paths)
    return PathsPartial(paths, np.sum([p.channels for p in found], axis=0))


@dataclass(frozen=True)
class _Pass:
    """What a remote executor ships: the parts' description, never their data."""

    parts: Parts

    def __call__(self, i: int) -> PathsPartial:
        return paths_partial(self.parts, i)


def journey_paths(parts: Parts, run: Executor | None = None) -> JourneyPaths:
    """The `JourneyPaths` of the log behind `parts` (one pass, merged on `run`)."""
    run = run or Serial()
    total = run.map_merge(
        _Pass(parts), parts.n_parts, merge_paths, label=getattr(parts, "part_label", None)
    )
    names = parts.activities
    paths = pl.DataFrame(
        {
            PATH: [[names[c] for c in path] for path in total.paths],
            COUNT: list(total.paths.values()),
        },
        schema={PATH: pl.List(pl.String), COUNT: pl.Int64},
    )
    act, chan = np.nonzero(total.channels[:, 1:])
    channels = pl.DataFrame(
        {
            ACTIVITY: [names[a] for a in act.tolist()],
            CHANNEL: [parts.channels[c] for c in chan.tolist()],
            "len": total.channels[act, chan + 1],
        },
        schema={ACTIVITY: pl.String, CHANNEL: pl.String, "len": pl.Int64},
    )
    return JourneyPaths(paths, channels)


__all__ = ["PathsPartial", "journey_paths", "merge_paths", "paths_partial"]
