"""The deviation rows of a comparison (`miner/compare/deviation_rows.py`): every journey's rows
in order, and the summary and groups summed from a variant's records without those rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.compare.cases import cases_frame
from journeyminer.miner.compare.deviation_rows import DeviationRows, journey_deviations
from journeyminer.miner.compare.deviations import FIT_BREAKERS, TYPES
from journeyminer.miner.compare.priorities import JOURNEY_SET_SEED
from journeyminer.miner.compare.to_map import compare_to_map
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import DesignedMap
from tests.miner.compare.conftest import HOUR, MINUTE, Inner, inner, journeys
from tests.naive_replay import UNKNOWN, designed_maps
from tests.strategies import event_frames, shop_map

KEY = ["type", "touchpoint", "from", "to", "phase"]


def _steps(designed: DesignedMap, data: st.DataObject) -> Inner:
    acts = tuple(t.id for t in designed.touchpoints) + UNKNOWN
    log = EventLog(data.draw(event_frames(max_cases=8, max_events=7, activities=acts)))
    return inner(log, designed)


def _rows_and_deviations(steps: Inner) -> tuple[DeviationRows, pl.DataFrame, pl.DataFrame]:
    """The grouped rows, the per-journey rows and the per-journey frame they come from."""
    case_ids = steps.enc.case_names
    cases = cases_frame(steps.enc.channels, steps.codes, steps.replayed, steps.per_case, case_ids)
    deviations = journey_deviations(
        steps.codes, steps.replayed, steps.per_case, steps.windows, cases
    )
    return DeviationRows.of(steps.replayed, steps.windows, steps.per_case), deviations, cases


def test_a_journeys_deviations_come_by_position_then_type_ending_with_its_drop_off() -> None:
    log = journeys(
        # land -> cart skips prod; an ad while the cart is open (rule), back in the aware
        # phase; land again (rework); pay 2h after the cart (time frame); never an order.
        [
            ("land", 0),
            ("cart", MINUTE),
            ("ad", 2 * MINUTE),
            ("land", 3 * MINUTE),
            ("pay", 2 * HOUR + 3 * MINUTE),
        ],
        [
            ("land", 0),
            ("prod", MINUTE),
            ("cart", 2 * MINUTE),
            ("pay", 3 * MINUTE),
            ("order", 100 * HOUR),
        ],
    )
    result = compare_to_map(log, shop_map())
    assert result.deviations.drop("case_id").rows() == [
        ("unexpected_transition", 1, None, "land", "cart", "buy", None),
        ("skipped_touchpoint", 1, "prod", "land", "cart", "consider", None),
        ("unexpected_transition", 2, None, "cart", "ad", "aware", None),
        ("phase_regression", 2, None, "cart", "ad", "aware", None),
        (
            "rule_breach",
            2,
            "ad",
            "cart",
            "order",
            None,
            "no `ad` while a `cart` is open until `order`",
        ),
        ("rework", 3, "land", None, None, "aware", "seen 2 times"),
        ("unexpected_transition", 4, None, "land", "pay", "buy", None),
        ("skipped_touchpoint", 4, "prod", "land", "pay", "consider", None),
        ("time_frame_breach", 4, None, "cart", "pay", None, "took 2.0h (max 1h)"),
        ("drop_off", 4, "pay", None, None, "buy", None),
    ]
    assert set(result.deviations.get_column("case_id")) == {"j0"}
    summary = {r["type"]: r for r in result.deviation_summary.iter_rows(named=True)}
    assert (
        summary["unexpected_transition"]["count"],
        summary["unexpected_transition"]["occurrences"],
    ) == (1, 3)
    assert summary["skipped_touchpoint"]["share"] == 0.5 and summary["wrong_start"]["count"] == 0


@given(designed_maps(), st.data())
def test_the_summary_without_rows_equals_the_summary_of_every_journeys_rows(
    designed: DesignedMap, data: st.DataObject
) -> None:
    steps = _steps(designed, data)
    rows, deviations, cases = _rows_and_deviations(steps)
    per_type = deviations.group_by("type").agg(
        pl.col("case_id").n_unique().cast(pl.Int64).alias("count"),
        pl.len().cast(pl.Int64).alias("occurrences"),
    )
    want = (
        pl.DataFrame({"type": list(TYPES)})
        .join(per_type, on="type", how="left", maintain_order="left")
        .with_columns(pl.col("count", "occurrences").fill_null(0))
        .select(
            "type",
            "count",
            (pl.col("count") / max(cases.height, 1)).alias("share"),
            "occurrences",
            pl.col("type").is_in(FIT_BREAKERS).alias("breaks_fit"),
        )
    )
    assert rows.summary(cases.height).equals(want)


def _grouped_from_rows(
    deviations: pl.DataFrame, cases: pl.DataFrame, examples: int
) -> pl.DataFrame:
    """The groups straight from the per-journey rows: per key in order of first appearance,
    distinct journeys, closed and converted closed journeys, first case ids, the
    journey-set fingerprint and whether all came after the goal."""
    closed = ~pl.col("in_progress")
    return (
        deviations.filter(pl.col("type") != "drop_off")
        .join(
            cases.select("case_id", "converted", "in_progress", "goal_position"),
            on="case_id",
            how="left",
        )
        .group_by(KEY, maintain_order=True)
        .agg(
            pl.col("case_id").n_unique().cast(pl.Int64).alias("journeys"),
            pl.col("case_id").filter(closed).n_unique().cast(pl.Int64).alias("closed"),
            pl.col("case_id")
            .filter(pl.col("converted") & closed)
            .n_unique()
            .cast(pl.Int64)
            .alias("converted"),
            pl.col("case_id").head(examples).alias("examples"),
            # the fingerprint of the key's set of journeys, and whether every row came after
            # its journey's goal
            pl.col("case_id").unique().hash(JOURNEY_SET_SEED).sum().alias("journey_set"),
            (pl.col("position") > pl.col("goal_position"))
            .fill_null(False)
            .all()
            .alias("after_goal"),
        )
    )


@given(designed_maps(), st.data(), st.integers(0, 4))
def test_the_groups_without_rows_equal_the_groups_of_every_journeys_rows(
    designed: DesignedMap, data: st.DataObject, examples: int
) -> None:
    steps = _steps(designed, data)
    rows, deviations, cases = _rows_and_deviations(steps)
    got = rows.grouped(steps.codes, steps.enc.case_names, examples)
    assert got.equals(_grouped_from_rows(deviations, cases, examples))


@dataclass(frozen=True)
class _WideCodes:
    """Codes with so many names that the packed key of `_key_ids` would overflow int64."""

    names: range
    designed: DesignedMap


@given(designed_maps(), st.data())
def test_grouping_keys_too_wide_to_pack_groups_them_the_same_way(
    designed: DesignedMap, data: st.DataObject
) -> None:
    steps = _steps(designed, data)
    rows = DeviationRows.of(steps.replayed, steps.windows, steps.per_case)
    wide = _WideCodes(range(1 << 20), designed)
    packed = rows._key_ids(steps.codes)
    by_frame = rows._key_ids(wide)  # type: ignore[arg-type]
    assert packed[2] == by_frame[2]
    assert np.array_equal(packed[0], by_frame[0]) and np.array_equal(packed[1], by_frame[1])
