"""The priority list: merged items about the same journeys, and what costs apart from what works."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from journeyminer.miner.compare.comparison import Comparison
from journeyminer.miner.compare.funnel import time_frames_summary
from journeyminer.miner.compare.priorities import ASPECT, priorities, rank_priorities
from journeyminer.miner.compare.to_map import compare_to_map
from journeyminer.miner.maps.designed import load_map
from tests.miner.ingest.test_pipeline import SAMPLE, ingest_sample

GROUPED: dict[str, Any] = {
    "type": pl.String,
    "touchpoint": pl.String,
    "from": pl.String,
    "to": pl.String,
    "phase": pl.String,
    "journeys": pl.Int64,
    "closed": pl.Int64,
    "converted": pl.Int64,
    "examples": pl.List(pl.String),
    "journey_set": pl.UInt64,
    "after_goal": pl.Boolean,
}


def _grouped(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=GROUPED, orient="row")


def _leaks(rows: list[tuple[str, str, int, float]]) -> pl.DataFrame:
    """Leak points from (touchpoint, phase, journeys, pass_conversion); value 10 a journey."""
    return pl.DataFrame(
        {
            "touchpoint": [r[0] for r in rows],
            "phase": [r[1] for r in rows],
            "journeys": [r[2] for r in rows],
            "pass_conversion": [r[3] for r in rows],
            "conversions_lost": [r[2] * r[3] for r in rows],
            "value_at_risk": [r[2] * r[3] * 10.0 for r in rows],
            "examples": [["x"] for _ in rows],
        },
        schema_overrides={"journeys": pl.Int64},
    )


def hand_built() -> tuple[pl.DataFrame, pl.DataFrame]:
    """100 closed journeys, 30 converted; a journey is worth 10. By hand:
    - a jump email -> cart and the landing page it skips: the same 20 journeys (set 111), 12
      converted: 60% against 18/80 = 22.5% without: gap -0.375, impact 20 x -0.375 x 10 = -75;
    - rework at cart: 10 journeys (set 222), 1 converted: 10% against 29/90: impact +22.2;
    - a late delivery: 5 journeys, all converted before it (after the goal): impact -36.8;
    - a wrong start in every closed journey: nothing to compare with, impact unknown;
    - leaks: 40 leave at cart where 50% of those passing convert (value at risk 200); 7 leave
      at pay where nobody passing converts (0).
    """
    grouped = _grouped(
        [
            ("unexpected_transition", None, "email", "cart", None, 20, 20, 12, ["a"], 111, False),
            ("rework", "cart", None, None, "buy", 10, 10, 1, ["b"], 222, False),
            ("skipped_touchpoint", "landing", "email", "cart", None, 20, 20, 12, ["a"], 111, False),
            ("time_frame_breach", None, "paid", "delivered", None, 5, 5, 5, ["c"], 333, True),
            ("wrong_start", "ad", None, None, None, 100, 100, 30, ["d"], 444, False),
        ]
    )
    return grouped, _leaks([("cart", "buy", 40, 0.5), ("pay", "buy", 7, 0.0)])


def test_what_costs_is_ranked_by_impact_and_only_that() -> None:
    ranked = rank_priorities(*hand_built(), 10.0, 100, 30)
    costs = ranked.costs
    assert costs.get_column("title").to_list() == ["leak at cart (buy)", "rework: cart"]
    assert costs.get_column("rank").to_list() == [1, 2]
    assert costs.get_column("impact").to_list() == pytest.approx([200.0, 10 * (29 / 90 - 0.1) * 10])
    assert costs.get_column("subject").to_list() == ["cart (buy)", "cart"]
    assert (costs.get_column("impact") > 0).all()


def test_items_about_the_same_journeys_are_one_item_with_its_aspects() -> None:
    better = rank_priorities(*hand_built(), 10.0, 100, 30).better_than_designed
    assert better.height == 1
    item = better.row(0, named=True)
    assert (item["rank"], item["kind"], item["journeys"], item["converted"]) == (
        1,
        "deviation",
        20,
        12,
    )
    assert item["impact"] == pytest.approx(-75.0)
    assert item["conversion_rate"] == pytest.approx(0.6)
    assert item["baseline_rate"] == pytest.approx(0.225)
    # The jump leads; the touchpoint it skips is an aspect of the same item, not a second one.
    assert [a["type"] for a in item["aspects"]] == ["unexpected_transition", "skipped_touchpoint"]
    assert [a["subject"] for a in item["aspects"]] == ["email -> cart", "landing (email -> cart)"]
    assert (item["type"], item["from"], item["to"]) == ("unexpected_transition", "email", "cart")
    assert item["title"] == (
        "unexpected transition: email -> cart; skipped touchpoint: landing (email -> cart)"
    )
    assert better.schema["aspects"] == pl.List(ASPECT)


def test_equal_counts_about_other_journeys_stay_apart() -> None:
    grouped, leaks = hand_built()
    other = grouped.with_columns(
        pl.when(pl.col("type") == "skipped_touchpoint")
        .then(pl.lit(555, dtype=pl.UInt64))
        .otherwise("journey_set")
        .alias("journey_set")
    )
    better = rank_priorities(other, leaks, 10.0, 100, 30).better_than_designed
    assert better.get_column("journeys").to_list() == [20, 20]
    assert [len(a) for a in better.get_column("aspects")] == [1, 1]


def test_what_happens_after_the_goal_is_not_better_than_designed() -> None:
    ranked = rank_priorities(*hand_built(), 10.0, 100, 30)
    after = ranked.after_goal
    assert after.get_column("title").to_list() == ["time frame breach: paid -> delivered"]
    assert "time frame breach: paid -> delivered" not in ranked.better_than_designed["title"]
    # Unknown and zero impacts are in no list.
    every = pl.concat([ranked.costs, ranked.better_than_designed, after])
    assert "wrong start: ad" not in every["title"]
    assert "leak at pay (buy)" not in every["title"]


def test_without_a_value_a_leak_costs_its_conversions_lost() -> None:
    costs = rank_priorities(*hand_built(), None, 100, 30).costs
    assert costs.row(0, named=True)["impact"] == pytest.approx(20.0)  # 40 x 50%


@pytest.fixture(scope="module")
def sample() -> Comparison:
    log, _ = ingest_sample()
    return compare_to_map(log, load_map(SAMPLE / "map.toml"))


def test_the_frame_twin_finds_the_same_items(sample: Comparison) -> None:
    # compare_to_map fingerprints journey sets from arrays; the frame version from case ids.
    mean = sample.cases.filter(pl.col("converted")).get_column("value").mean()
    twin = priorities(sample.cases, sample.deviations, sample.leaks, float(mean))  # type: ignore[arg-type]
    for part in ("costs", "better_than_designed", "after_goal"):
        want = getattr(sample, "priorities" if part == "costs" else part)
        assert getattr(twin, part).drop("examples").equals(want.drop("examples")), part


def test_the_sample_merges_each_jump_with_what_it_skips(sample: Comparison) -> None:
    items = sample.better_than_designed.filter(pl.col("from") == "email_click")
    assert items.height == 1
    item = items.row(0, named=True)
    assert item["journeys"] == 119
    assert [a["type"] for a in item["aspects"]] == [
        "unexpected_transition",
        "skipped_touchpoint",
        "skipped_touchpoint",
    ]
    everything = pl.concat([sample.priorities, sample.better_than_designed, sample.after_goal])
    assert everything.filter(pl.col("journeys") == 119).height == 1


def test_time_frames_of_journeys_without_a_segment_value_are_counted() -> None:
    windows = pl.DataFrame(
        {
            "segment": [None, None, "east"],
            "frame": ["a -> b"] * 3,
            "measured": [True, True, True],
            "duration_s": [1.0, 2.0, 3.0],
            "breached": [True, False, False],
            "overdue": [False, False, False],
        },
        schema_overrides={"segment": pl.String},
    )
    specs = pl.DataFrame({"frame": ["a -> b"], "max_s": [1.5]})
    out = time_frames_summary(windows, specs, ["segment"]).rows_by_key(
        "segment", named=True, unique=True
    )
    assert (out[None]["applicable"], out[None]["breached"]) == (2, 1)
    assert out[None]["breach_rate"] == 0.5
    assert out["east"]["applicable"] == 1
