"""Stitching sources into one timeline per customer, cut into journeys."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyminer.miner.errors import IdentityError, MissingColumnError
from journeyminer.miner.ingest.identities import load_identities
from journeyminer.miner.ingest.stitch import cut_journeys, stitch_sources
from journeyminer.miner.log import TS_DTYPE, canonical_frame, encode


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


# -- the stitched log against a plain Python twin ------------------------------------------
# Names where '#' (0x23) sorts before the next character of another id, so that journey ids
# do not sort like customers ('C1 x#1' < 'C1#1' although 'C1' < 'C1 x'), unicode, and ids
# that look like journey ids already.
NAMES = ("C1", "C10", "C1 x", "C1!", "C2", "a", "a#1", "a#", "é", "案件")
GOAL = "order"


def naive_stitch(
    sources: list[list[tuple[str, str, datetime | None, str | None]]],
    identities: dict[str, str],
    gap: timedelta | None,
    goals: tuple[str, ...],
) -> list[tuple[str, str, datetime, str | None, str]]:
    """(case_id, activity, timestamp, channel, customer_id) rows in log order, one at a time."""
    events = [
        (identities.get(case, case), ts, position, act, ch)
        for position, (case, act, ts, ch) in enumerate(row for rows in sources for row in rows)
        if ts is not None
    ]
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    rows: list[tuple[str, str, datetime, str | None, str]] = []
    number = 0
    for i, (customer, ts, _, act, ch) in enumerate(events):
        previous = events[i - 1] if i else None
        if previous is None or previous[0] != customer:
            number = 1
        elif (gap is not None and ts - previous[1] >= gap) or previous[3] in goals:
            number += 1
        cut = gap is not None or bool(goals)
        rows.append((f"{customer}#{number}" if cut else customer, act, ts, ch, customer))
    return sorted(rows, key=lambda r: r[0])  # stable: a journey's events stay in time order


@st.composite
def stitch_inputs(draw: st.DrawFn) -> tuple[Any, ...]:
    base = datetime(2024, 1, 1)
    offsets = st.sampled_from([0, 0, 1, 24 * 3600, 29 * 86400, 30 * 86400, 31 * 86400, 90 * 86400])
    row = st.tuples(
        st.sampled_from(NAMES),
        st.sampled_from(["visit", "cart", GOAL]),
        st.one_of(st.none(), offsets.map(lambda s: base + timedelta(seconds=s))),
        st.sampled_from(["web", "crm", None]),
    )
    sources = draw(st.lists(st.lists(row, min_size=1, max_size=25), min_size=1, max_size=3))
    mapped = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    identities = {s: draw(st.sampled_from(("K1", "K10", "C1", "a"))) for s in mapped}
    gap = draw(st.sampled_from([None, timedelta(days=30), timedelta(seconds=1)]))
    goals = draw(st.sampled_from([(), (GOAL,)]))
    return sources, identities, gap, goals


def as_frame(rows: list[tuple[str, str, datetime | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "case_id": pl.String,
            "activity": pl.String,
            "timestamp": pl.Datetime("us"),
            "channel": pl.String,
        },
        orient="row",
    ).with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))


@settings(max_examples=60, deadline=None)
@given(stitch_inputs())
def test_stitching_matches_a_plain_python_twin(inputs: tuple[Any, ...]) -> None:
    sources, identities, gap, goals = inputs
    table = (
        pl.DataFrame(
            {"source_id": list(identities), "customer_id": list(identities.values())},
            schema={"source_id": pl.String, "customer_id": pl.String},
        )
        if identities
        else None
    )
    log, report = stitch_sources([as_frame(s) for s in sources], table, gap=gap, goals=goals)
    expected = naive_stitch(sources, identities, gap, goals)
    frame = log.frame
    got = list(
        zip(
            frame.get_column("case_id").to_list(),
            frame.get_column("activity").to_list(),
            [t.replace(tzinfo=None) for t in frame.get_column("timestamp").to_list()],
            frame.get_column("channel").to_list(),
            (
                frame.get_column("customer_id")
                if "customer_id" in frame.columns
                else frame.get_column("case_id")
            ).to_list(),
            strict=True,
        )
    )
    assert got == expected
    ids = [r[0] for r in expected]
    assert report.journeys == log.n_cases == len(dict.fromkeys(ids))
    assert report.customers == len({r[4] for r in expected})
    assert report.events == len(expected)
    assert report.dropped_no_timestamp == sum(r[2] is None for s in sources for r in s)
    # The encoded view built while stitching is the one encoding the frame gives.
    fresh = encode(frame)
    enc = log.encoded
    for name in ("offsets", "act", "ts", "channel"):
        assert np.array_equal(getattr(enc, name), getattr(fresh, name)), name
        assert getattr(enc, name).dtype == getattr(fresh, name).dtype, name
    assert (enc.activities, enc.channels) == (fresh.activities, fresh.channels)
    assert list(enc.case_ids) == list(fresh.case_ids) == list(dict.fromkeys(ids))


def test_customers_past_65536_still_sort_by_name_then_time() -> None:
    # More customers than 16 bits hold: the customer order takes two radix passes.
    n = 70_000
    rng = np.random.default_rng(5)
    who = rng.permutation(np.repeat(np.arange(n), 2))
    frame = pl.DataFrame(
        {
            "case_id": [f"K{i}" for i in who],
            "activity": [f"step{i % 2}" for i in range(who.size)],
            "timestamp": pl.Series(rng.integers(0, 3, who.size) * 1_000_000).cast(TS_DTYPE),
            "channel": "web",
        }
    )
    log, report = stitch_sources([frame], gap=None)
    expected = frame.with_row_index("row").sort(["case_id", "timestamp", "row"])
    assert report.customers == n and log.n_cases == n
    assert log.frame.get_column("case_id").equals(expected.get_column("case_id"))
    assert log.frame.get_column("activity").equals(expected.get_column("activity"))
    assert log.frame.get_column("timestamp").equals(expected.get_column("timestamp"))


def test_without_identities_a_source_id_attribute_is_kept_as_it_is() -> None:
    frame = WEB.with_columns(pl.lit("s").alias("source_id"), pl.lit(1).alias("visits"))
    log, _ = stitch_sources([frame])
    assert log.frame.columns == [
        "case_id",
        "activity",
        "timestamp",
        "channel",
        "source_id",
        "visits",
        "customer_id",
    ]
    dropped, _ = stitch_sources([WEB, CALLS], IDS, keep_source_id=False)
    assert "source_id" not in dropped.frame.columns
