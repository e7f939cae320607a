"""Stitching sources into one timeline per customer, cut into journeys."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from journeyminer.miner.errors import IdentityError, MissingColumnError
from journeyminer.miner.log import canonical_frame
from journeyminer.miner.stitch import cut_journeys, load_identities, stitch_sources


def source(rows: list[tuple[str, str, str]], channel: str) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=["id", "what", "when"], orient="row")
    return canonical_frame(
        frame, case="id", activity="what", timestamp="when", channel_value=channel
    )


WEB = source(
    [
        ("ck1", "ad_click", "2024-01-01 10:00:00"),
        ("ck1", "cart", "2024-01-01 10:05:00"),
        ("ck2", "product_page", "2024-01-03 09:00:00"),
        ("anon", "landing_page", "2024-01-01 00:00:00"),
    ],
    "web",
)
CALLS = source([("+316", "support_call", "2024-01-02 12:00:00")], "call_center")
IDS = pl.DataFrame({"source_id": ["ck1", "ck2", "+316"], "customer_id": ["C1", "C1", "C1"]})


def test_sources_merge_into_one_timeline_per_customer_keeping_channels() -> None:
    log, report = stitch_sources([WEB, CALLS], IDS)
    c1 = log.frame.filter(pl.col("customer_id") == "C1")
    assert c1.get_column("activity").to_list() == [
        "ad_click",
        "cart",
        "support_call",
        "product_page",
    ]
    assert c1.get_column("channel").to_list() == ["web", "web", "call_center", "web"]
    assert c1.get_column("case_id").unique().to_list() == ["C1#1"]
    assert c1.get_column("source_id").to_list() == ["ck1", "ck1", "+316", "ck2"]
    assert report.customers == 2 and report.journeys == 2


def test_unmatched_ids_stay_their_own_customer_and_are_counted() -> None:
    log, report = stitch_sources([WEB, CALLS], IDS)
    assert "anon#1" in set(log.frame.get_column("case_id"))
    assert report.unmatched_ids == 1 and report.unmatched_events == 1 and report.matched_ids == 3
    assert any("not in the identity table" in w for w in report.warnings)


def test_gap_exactly_at_threshold_starts_a_new_journey() -> None:
    frame = source(
        [
            ("c", "a", "2024-01-01 00:00:00"),
            ("c", "b", "2024-01-31 00:00:00"),  # exactly 30 days later: new journey
            ("c", "c", "2024-02-29 23:59:59"),  # 30 days minus 1 second: same journey
        ],
        "web",
    )
    log, _ = stitch_sources([frame])
    assert log.frame.get_column("case_id").to_list() == ["c#1", "c#2", "c#2"]


def test_goal_touchpoint_closes_a_journey() -> None:
    frame = source(
        [
            ("c", "visit", "2024-01-01 00:00:00"),
            ("c", "order", "2024-01-01 01:00:00"),
            ("c", "visit", "2024-01-01 02:00:00"),
        ],
        "web",
    )
    log, _ = stitch_sources([frame], gap=None, goals=["order"])
    assert log.frame.get_column("case_id").to_list() == ["c#1", "c#1", "c#2"]


def test_equal_timestamps_keep_source_then_row_order() -> None:
    a = source(
        [("x", "first", "2024-01-01 00:00:00"), ("x", "second", "2024-01-01 00:00:00")], "web"
    )
    b = source([("x", "third", "2024-01-01 00:00:00")], "crm")
    log, _ = stitch_sources([a, b])
    assert log.frame.get_column("activity").to_list() == ["first", "second", "third"]


def test_journey_numbers_past_nine_stay_in_time_order() -> None:
    start = datetime(2020, 1, 1)
    days = [(start + timedelta(days=40 * i)).isoformat() for i in range(12)]
    frame = source([("c", f"step{i}", d) for i, d in enumerate(days)], "web")
    log, report = stitch_sources([frame])
    assert report.journeys == 12
    per_case = log.frame.group_by("case_id", maintain_order=True).agg(pl.col("activity").first())
    lookup = dict(per_case.iter_rows())
    assert lookup["c#10"] == "step9" and lookup["c#2"] == "step1"
    assert log.encoded.n_cases == 12


def test_no_cutting_keeps_the_customer_as_case() -> None:
    log, _ = stitch_sources([WEB], IDS, gap=None)
    assert set(log.frame.get_column("case_id")) == {"C1", "anon"}
    assert "customer_id" not in log.frame.columns


def test_cut_journeys_on_an_existing_log() -> None:
    log, _ = stitch_sources([WEB], gap=None)
    cut = cut_journeys(log, gap=timedelta(hours=1))
    assert cut.frame.get_column("case_id").to_list()[:2] == ["anon#1", "ck1#1"]


def test_identity_conflict_names_the_id_and_rows(tmp_path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("source_id,customer_id\nck1,C1\nck2,C2\nck1,C3\nck1,C1\n")
    with pytest.raises(IdentityError) as info:
        load_identities(path)
    text = str(info.value)
    assert "'ck1'" in text and "rows 1, 3" in text and "ids.csv" in text


def test_identity_table_needs_its_columns(tmp_path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("cookie;customer\nck1;C1\n")
    with pytest.raises(MissingColumnError, match="source_id"):
        load_identities(path)
    table = load_identities(path, source_column="cookie", customer_column="customer")
    assert table.rows() == [("ck1", "C1")]


def test_identity_duplicates_and_blanks_are_harmless(tmp_path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("source_id,customer_id\nck1,C1\nck1,C1\n,C2\nck3,\n")
    assert load_identities(path).rows() == [("ck1", "C1")]
