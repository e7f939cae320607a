"""Stitching on disk, range by range, gives the log and report of stitching in memory."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyminer.miner.ingest.customers import attach_customers
from journeyminer.miner.ingest.stitch import stitch_sources
from journeyminer.miner.ingest.stitch_ranges import LogSummary, stitch_to_parquet
from journeyminer.miner.log import SORTED_KEY, SORTED_VALUE, EventLog
from tests.strategies import event_frames

GAPS = st.sampled_from([None, timedelta(hours=6), timedelta(days=30)])


@st.composite
def sources_and_identities(draw: st.DrawFn) -> tuple[list[pl.DataFrame], pl.DataFrame | None]:
    """1-3 sources; maybe an identity table folding some source ids into shared customers."""
    sources = [
        draw(event_frames(max_cases=10, max_events=6)) for _ in range(draw(st.integers(1, 3)))
    ]
    ids = sorted({c for s in sources for c in s.get_column("case_id")})
    if not draw(st.booleans()):
        return sources, None
    # Customer names chosen to interleave with the unmatched source ids, and one that is a
    # prefix of another ('K1' / 'K10'), the case the range check must catch or tolerate.
    names = st.sampled_from(["K1", "K10", "K2", "c5", "案件", "10", "K1!"])
    mapped = draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
    table = pl.DataFrame(
        {"source_id": mapped, "customer_id": [draw(names) for _ in mapped]},
        schema={"source_id": pl.String, "customer_id": pl.String},
    )
    return sources, table


@pytest.mark.slow  # 120 examples, each stitching on disk
@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=sources_and_identities(),
    gap=GAPS,
    goal=st.booleans(),
    bucket=st.integers(1, 40),
)
def test_ranges_on_disk_equal_one_stitch_in_memory(
    tmp_path: Path,
    data: tuple[list[pl.DataFrame], pl.DataFrame | None],
    gap: timedelta | None,
    goal: bool,
    bucket: int,
) -> None:
    sources, identities = data
    goals = ("checkout",) if goal else ()
    want, want_report = stitch_sources(sources, identities, gap=gap, goals=goals)
    dest = tmp_path / f"log-{bucket}-{gap}-{goal}.parquet"
    # A customer table with a row for some customers (and one customer the log lacks).
    names = sorted(set(want.frame.get_column("customer_id" if gap or goals else "case_id")))
    table = pl.DataFrame(
        {
            "customer_id": [*names[::2], "nobody"],
            "tier": [f"t{i}" for i in range(len(names[::2]) + 1)],
        }
    )
    want, want_match = attach_customers(want, table)
    done = stitch_to_parquet(
        [s.lazy() for s in sources],
        identities.lazy() if identities is not None else None,
        dest,
        gap=gap,
        goals=goals,
        customers=table.lazy(),
        bucket_events=bucket,
    )
    got = pl.read_parquet(dest)
    assert got.equals(want.frame)
    assert pl.read_parquet_metadata(dest).get(SORTED_KEY) == SORTED_VALUE
    assert done.report == want_report
    assert done.summary == LogSummary.of(want)
    assert done.customers == want_match
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".stitch-")]


def test_an_order_column_orders_equal_timestamps(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "case_id": ["a", "a", "b", "b"],
            "activity": ["second", "first", "y", "x"],
            "timestamp": [0, 0, 5, 5],
            "channel": ["web"] * 4,
            "row": [2, 1, 9, 3],
        }
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))
    for bucket in (1, 100):
        dest = tmp_path / f"{bucket}.parquet"
        stitch_to_parquet(
            [frame.lazy()], None, dest, gap=None, order_column="row", bucket_events=bucket
        )
        log = EventLog.read_parquet(dest)
        assert log.frame.get_column("activity").to_list() == ["first", "second", "x", "y"]
        assert "row" not in log.frame.columns


def test_a_failed_stitch_leaves_no_file(tmp_path: Path) -> None:
    bad = pl.LazyFrame({"case_id": ["a"], "activity": ["x"]})  # no timestamp column
    with pytest.raises(pl.exceptions.PolarsError):
        stitch_to_parquet([bad, bad], None, tmp_path / "log.parquet", bucket_events=1)
    assert list(tmp_path.iterdir()) == []
