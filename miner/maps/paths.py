"""What a map draft is drawn from: the distinct paths journeys take, each with its number of
journeys, and how often each activity runs on each channel (`JourneyPaths`).

Everything a draft measures is a function of these two tables, so a log gives them at once
(`JourneyPaths.of`) and a partitioned log from partials merged by adding
(`engine.drafting.journey_paths`: a journey never spans two partitions), with the same draft:

- per activity: the journeys that show it, and the median and mean of its event number in
  the journey (a path's k-th event is at number k in each of its journeys);
- how journeys end: each path's last activity, times its journeys;
- the directly-follows counts and start counts of the log cut down to some activities: each
  path with the other activities left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from ..log import ACTIVITY, CASE, CHANNEL, EventLog

PATH = "activities"  # list[str]: a distinct path through a journey
COUNT = "count"  # journeys that take it


@dataclass(frozen=True)
class JourneyPaths:
    """Each distinct path with its number of journeys; each activity's events per channel."""

    paths: pl.DataFrame  # activities: list[str], count: Int64 (one row per distinct path)
    channels: pl.DataFrame  # activity, channel, len: events per (activity, channel), no nulls

    @classmethod
    def of(cls, log: EventLog) -> JourneyPaths:
        """The paths and channel counts of a log in memory."""
        frame = log.frame
        paths = (
            frame.group_by(CASE, maintain_order=True)
            .agg(pl.col(ACTIVITY).alias(PATH))
            .group_by(PATH)
            .agg(pl.len().cast(pl.Int64).alias(COUNT))
        )
        channels = frame.drop_nulls(CHANNEL).group_by(ACTIVITY, CHANNEL).len()
        return cls(paths, channels)

    @property
    def journeys(self) -> int:
        """How many journeys there are."""
        return int(self.paths.get_column(COUNT).sum())

    @property
    def activities(self) -> list[str]:
        """The activities the journeys show, sorted."""
        return sorted(self._events().get_column(ACTIVITY).unique().to_list())

    def rows(self) -> list[tuple[tuple[str, ...], int]]:
        """(path, journeys) per distinct path, the most frequent first, then by path."""
        found = [(tuple(p), int(n)) for p, n in self.paths.iter_rows()]
        return sorted(found, key=lambda row: (-row[1], row[0]))

    def _events(self) -> pl.DataFrame:
        """One row per event of each distinct path: path, activity, number, count."""
        return (
            self.paths.with_row_index("path")
            .explode(PATH)
            .rename({PATH: ACTIVITY})
            .with_columns(pl.int_range(pl.len()).over("path").alias("number"))
        )

    def activity_stats(self) -> pl.DataFrame:
        """Per activity: journeys showing it (`cases`), median and mean event number; ordered
        by median, mean, name."""
        events = self._events()
        cases = events.unique(["path", ACTIVITY]).group_by(ACTIVITY).agg(pl.col(COUNT).sum())
        weights = (
            events.group_by(ACTIVITY, "number").agg(pl.col(COUNT).sum()).sort(ACTIVITY, "number")
        )
        rows = []
        for (activity,), group in weights.group_by(ACTIVITY, maintain_order=True):
            numbers = group.get_column("number").to_list()
            counts = group.get_column(COUNT).to_list()
            total = sum(counts)
            rows.append(
                {
                    ACTIVITY: activity,
                    "median": _weighted_median(numbers, counts, total),
                    "mean": sum(k * c for k, c in zip(numbers, counts, strict=True)) / total,
                }
            )
        schema = {ACTIVITY: pl.String, "median": pl.Float64, "mean": pl.Float64}
        return (
            pl.DataFrame(rows, schema=schema)
            .join(cases.rename({COUNT: "cases"}), on=ACTIVITY)
            .select(ACTIVITY, "cases", "median", "mean")
            .sort(["median", "mean", ACTIVITY])
        )

    def ends(self) -> pl.DataFrame:
        """Per last activity: journeys ending there (`journeys`) and their share; the most
        frequent first (as `goal_choice.journey_ends` of the log)."""
        n = max(self.journeys, 1)
        return (
            self.paths.select(pl.col(PATH).list.last().alias(ACTIVITY), COUNT)
            .group_by(ACTIVITY)
            .agg(pl.col(COUNT).sum().cast(pl.Int64).alias("journeys"))
            .with_columns((pl.col("journeys") / n).alias("share"))
            .sort(["journeys", ACTIVITY], descending=[True, False])
        )

    def projected(self, kept: Iterable[str]) -> JourneyPaths:
        """The paths with every activity but `kept` left out (paths left empty go)."""
        names = pl.Series(list(kept), dtype=pl.String)
        paths = (
            self.paths.with_columns(
                pl.col(PATH).list.eval(pl.element().filter(pl.element().is_in(names.implode())))
            )
            .filter(pl.col(PATH).list.len() > 0)
            .group_by(PATH)
            .agg(pl.col(COUNT).sum())
        )
        return JourneyPaths(paths, self.channels.filter(pl.col(ACTIVITY).is_in(names.implode())))

    def follows(self) -> pl.DataFrame:
        """Directly-follows counts: source, target, count, by source and target."""
        events = self._events()
        return (
            events.with_columns(pl.col(ACTIVITY).shift(-1).over("path").alias("target"))
            .drop_nulls("target")
            .group_by(pl.col(ACTIVITY).alias("source"), "target")
            .agg(pl.col(COUNT).sum())
            .sort("source", "target")
        )

    def starts(self) -> pl.DataFrame:
        """Journeys per first activity (activity, count), the most frequent first."""
        return (
            self.paths.select(pl.col(PATH).list.first().alias(ACTIVITY), COUNT)
            .group_by(ACTIVITY)
            .agg(pl.col(COUNT).sum())
            .sort([COUNT, ACTIVITY], descending=[True, False])
        )


def _weighted_median(values: list[int], weights: list[int], total: int) -> float:
    """The median of `values` (ascending) each repeated `weights` times (`total` in all), as
    polars' median of the repeated values gives it."""
    lower, upper = (total - 1) // 2, total // 2
    found: list[int] = []
    seen = 0
    for value, weight in zip(values, weights, strict=True):
        seen += weight
        while len(found) < 2 and (lower if not found else upper) < seen:
            found.append(value)
    return (found[0] + found[1]) / 2


__all__ = ["COUNT", "PATH", "JourneyPaths"]
