"""Folding XES lifecycle start/complete pairs into interval events, as pm4py's `to_interval`."""

from __future__ import annotations

import polars as pl
import pytest

from journeyminer.miner.errors import EmptySourceError
from journeyminer.miner.ingest.lifecycle import fold_lifecycle

UTC = pl.Datetime("us", "UTC")


def _frame(rows: list[tuple[str, str, int, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "activity": [r[1] for r in rows],
            "timestamp": [r[2] for r in rows],
            "channel": ["web"] * len(rows),
            "lifecycle": [r[3] for r in rows],
        },
        schema_overrides={"lifecycle": pl.String},
    ).with_columns(pl.col("timestamp").cast(UTC))


def test_each_complete_takes_the_oldest_open_start_of_its_case_and_activity() -> None:
    rows = [
        ("c", "a", 1, "complete"),  # no start open yet: kept, zero-length
        ("c", "a", 2, "start"),
        ("c", "b", 3, "start"),
        ("c", "a", 4, "start"),
        ("c", "a", 5, "complete"),  # takes the start at 2, not the one at 4
        ("c", "b", 6, "COMPLETE"),
        ("c", "a", 7, "schedule"),  # neither: dropped
        ("d", "a", 1, None),  # no transition: a complete
    ]
    folded, report = fold_lifecycle(_frame(rows))
    assert folded.columns == ["case_id", "activity", "timestamp", "channel", "start_timestamp"]
    got = [
        (c, a, s.timestamp() * 1e6, t.timestamp() * 1e6)
        for c, a, t, s in folded.select(
            "case_id", "activity", "timestamp", "start_timestamp"
        ).iter_rows()
    ]
    assert got == [("c", "a", 1, 1), ("c", "a", 2, 5), ("c", "b", 3, 6), ("d", "a", 1, 1)]
    assert report.to_dict() == {
        "intervals": 2,
        "unmatched_completes": 2,
        "unmatched_starts": 1,
        "other_transitions": 1,
    }


def test_a_log_of_starts_only_has_nothing_to_fold() -> None:
    with pytest.raises(EmptySourceError, match="no complete events"):
        fold_lifecycle(_frame([("c", "a", 1, "start")]), file="x.xes")
