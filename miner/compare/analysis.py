"""One comparison run as people consume it: the comparison, its hidden journeys and the overlay.

The CLI (`journeyminer compare`), batch jobs and the HTTP API all go through
`analyze_against_map`, so their JSON and files are the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..discover.discovery import DFG, discover_dfg
from ..draw.overlay import Overlay, build_overlay
from ..files import atomic_write_parquet, atomic_write_text
from ..log import EventLog
from ..maps.designed import DesignedMap
from .comparison import Comparison
from .hidden import HiddenJourneys, find_hidden_journeys
from .priorities import JOURNEY_SET_SEED
from .to_map import compare_to_map


@dataclass(frozen=True)
class MapAnalysis:
    """A log against a designed map: comparison, hidden journeys and the annotated map."""

    comparison: Comparison
    hidden: HiddenJourneys
    overlay: Overlay

    def to_dict(self, *, cases_path: str | Path | None = None) -> dict[str, Any]:
        """The JSON of `journeyminer compare --json` (cases go to `cases_path` when many)."""
        data = self.comparison.to_dict(cases_path=cases_path)
        for key, frame in self.ranked().items():
            data[key] = frame.drop("journey_set").to_dicts()
        data["hidden_journeys"] = self.hidden.to_dict()
        data["hidden_baseline"] = self.hidden.baseline()
        data["overlay"] = self.overlay.to_dict()
        return data

    def ranked(self) -> dict[str, pl.DataFrame]:
        """The comparison's priorities, better-than-designed and after-goal lists, each item
        naming the hidden journey (`hidden_journey`, its label) made of exactly its journeys."""
        cmp = self.comparison
        fingerprints = (
            self.hidden.members.group_by("signature")
            .agg(
                pl.col("case_id").hash(JOURNEY_SET_SEED).sum().alias("journey_set"),
                pl.len().cast(pl.Int64).alias("journeys"),
            )
            .join(self.hidden.frame.select("signature", "label"), on="signature")
            .select("journey_set", "journeys", pl.col("label").alias("hidden_journey"))
        )
        return {
            key: frame.join(fingerprints, on=["journey_set", "journeys"], how="left")
            for key, frame in (
                ("priorities", cmp.priorities),
                ("better_than_designed", cmp.better_than_designed),
                ("after_goal", cmp.after_goal),
            )
        }

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write compare.json, per-journey Parquet, hidden journeys and the overlay, atomically."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        data = self.to_dict(cases_path=out / "case_deviations.parquet")
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        written = {
            "json": atomic_write_text(out / "compare.json", text),
            "cases": atomic_write_parquet(self.comparison.cases, out / "cases.parquet"),
            "deviations": atomic_write_parquet(
                self.comparison.deviations, out / "deviations.parquet"
            ),
            "hidden": atomic_write_parquet(self.hidden.frame, out / "hidden_journeys.parquet"),
            "overlay": atomic_write_text(out / "overlay.svg", self.overlay.to_svg()),
        }
        if isinstance(data["cases"], str):
            written["case_deviations"] = Path(data["cases"])
        return written


def analyze_against_map(
    log: EventLog,
    designed: DesignedMap,
    *,
    segment: str | None = None,
    min_support: int | float = 0.01,
    as_of: datetime | None = None,
) -> MapAnalysis:
    """Compare `log` with `designed`, group hidden journeys, annotate the map with volumes."""
    comparison = compare_to_map(log, designed, segment=segment, as_of=as_of)
    return map_analysis(comparison, designed, discover_dfg(log), min_support=min_support)


def map_analysis(
    comparison: Comparison, designed: DesignedMap, dfg: DFG, *, min_support: int | float = 0.01
) -> MapAnalysis:
    """The analysis of a finished comparison: its hidden journeys, and the map annotated with
    the volumes of the log's `dfg` (the same log's; a partitioned log's from `discover_parts`)."""
    hidden = find_hidden_journeys(comparison.cases, min_support=min_support)
    # The comparison's variants are discover_variants' (same ids, activities and counts).
    overlay = build_overlay(designed, dfg, comparison.cases, variants=comparison.variants)
    return MapAnalysis(comparison=comparison, hidden=hidden, overlay=overlay)
