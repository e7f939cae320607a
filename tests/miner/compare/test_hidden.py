"""Hidden journeys: signature grouping, support threshold, deltas against the rest of the closed
journeys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from journeyminer.miner.compare.hidden import HIDDEN_SCHEMA, find_hidden_journeys
from journeyminer.miner.errors import InputError, NotFoundError
from tests.strategies import COMPARISON_CASES

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def make_cases(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A `Comparison.cases` frame from short rows; unspecified columns get plain defaults."""
    full = []
    for i, row in enumerate(rows):
        sig = row.get("signature", [])
        fits = row.get("fits", not sig and not row.get("leak_touchpoint"))
        duration = float(row.get("duration_s", 60.0))
        out = {
            "case_id": row.get("case_id", f"c{i:04d}"),
            "variant": row.get("variant", 0),
            "fits": fits,
            "converted": row.get("converted", False),
            "in_progress": row.get("in_progress", False),
            "signature": sig,
            "deviation_types": row.get(
                "deviation_types",
                [] if fits else ["unexpected_transition"] if sig else ["drop_off"],
            ),
            "start": T0,
            "end": T0 + timedelta(seconds=duration),
            "duration_s": duration,
            "n_events": row.get("n_events", 3),
            "channels": row.get("channels", ["web"]),
            "channel_switches": 0,
            "leak_touchpoint": row.get("leak_touchpoint"),
            "leak_phase": row.get("leak_phase"),
            "segment": row.get("segment"),
            "value": row.get("value"),
        }
        full.append(out)
    return pl.DataFrame(full, schema=COMPARISON_CASES)


def known_cases() -> pl.DataFrame:
    """4 fitting (3 closed, 2 of them converted; durations 10..40), and 3 hidden groups."""
    fitting: list[dict[str, Any]] = [
        {"converted": True, "duration_s": 10},
        {"converted": True, "duration_s": 20},
        {"converted": False, "duration_s": 30},
        {"converted": False, "duration_s": 40, "in_progress": True},
    ]
    phone = ["phone_order"]
    skip = ["email_click->add_to_cart"]
    hidden: list[dict[str, Any]] = [
        {"case_id": "p1", "signature": phone, "converted": True, "duration_s": 100},
        {
            "case_id": "p2",
            "signature": phone,
            "converted": True,
            "duration_s": 200,
            "channels": ["web", "call_center"],
        },
        {
            "case_id": "p3",
            "signature": phone,
            "converted": False,
            "duration_s": 300,
            "channels": ["call_center", "web"],
        },
        {"case_id": "p4", "signature": phone, "in_progress": True, "duration_s": 400},
        {"case_id": "s1", "signature": skip, "converted": False, "duration_s": 5},
        {"case_id": "s2", "signature": skip, "converted": True, "duration_s": 7},
        {"case_id": "x1", "signature": ["a->b", "zzz"], "duration_s": 1},
        {"case_id": "d1", "leak_touchpoint": "checkout", "leak_phase": "purchase"},
    ]
    return make_cases(fitting + hidden)


def test_hidden_journeys_are_measured_against_the_rest_of_the_closed_journeys() -> None:
    # Closed: f0 f1 f2, p1 p2 p3, s1 s2, x1, d1 = 10, of which f0 f1 p1 p2 s2 converted (5);
    # closed durations sorted: 1 5 7 10 20 30 60 100 200 300 (median 25). f3, p4 in progress.
    found = find_hidden_journeys(known_cases(), min_support=1)
    assert found.n_cases == 12
    assert found.n_closed == 10
    assert found.closed_conversion_rate == pytest.approx(0.5)
    assert found.closed_median_duration_s == pytest.approx(25.0)
    assert found.baseline() == {
        "compared_with": "rest_of_closed",
        "closed": 10,
        "conversion_rate": pytest.approx(0.5),
        "median_duration_s": pytest.approx(25.0),
    }
    rows = {tuple(r["signature"]): r for r in found.to_dict()}
    phone = rows[("phone_order",)]
    assert phone["cases"] == 4
    assert phone["share"] == pytest.approx(4 / 12)
    assert (phone["n_closed"], phone["n_in_progress"], phone["converted"]) == (3, 1, 2)
    assert phone["conversion_rate"] == pytest.approx(2 / 3)
    assert phone["median_duration_s"] == pytest.approx(200.0)  # closed: 100 200 300
    # The rest: 7 closed journeys (f0 f1 f2 s1 s2 x1 d1), 3 converted; durations 1..60.
    assert phone["rest_closed"] == 7
    assert phone["rest_conversion_rate"] == pytest.approx(3 / 7)
    assert phone["rest_median_duration_s"] == pytest.approx(10.0)  # 1 5 7 (10) 20 30 60
    assert phone["delta_conversion"] == pytest.approx(2 / 3 - 3 / 7)  # better: positive
    assert phone["delta_duration_s"] == pytest.approx(190.0)
    assert phone["channels"] == [
        {"channel": "call_center", "cases": 2},
        {"channel": "web", "cases": 4},
    ]
    assert phone["examples"] == ["p1", "p2", "p3", "p4"]
    assert phone["label"] == "via phone_order"
    skip = rows[("email_click->add_to_cart",)]
    assert skip["conversion_rate"] == pytest.approx(0.5)
    assert (skip["rest_closed"], skip["rest_conversion_rate"]) == (8, pytest.approx(4 / 8))
    assert skip["delta_conversion"] == pytest.approx(0.0)
    assert skip["rest_median_duration_s"] == pytest.approx(45.0)  # 1 10 20 (30 60) 100 200 300
    assert skip["delta_duration_s"] == pytest.approx(6.0 - 45.0)
    assert skip["label"] == "email_click→add_to_cart"
    odd = rows[("a->b", "zzz")]
    assert odd["rest_conversion_rate"] == pytest.approx(5 / 9)
    assert odd["delta_conversion"] == pytest.approx(-5 / 9)  # worse: negative
    assert odd["rest_median_duration_s"] == pytest.approx(30.0)  # 5 7 10 20 (30) 60 100 200 300
    assert odd["label"] == "a→b, then via zzz"


def test_a_hidden_journey_that_converts_better_than_the_rest_has_a_positive_delta() -> None:
    # 10 fitting journeys, 4 converted (40%); 2 dropped without a signature; 4 hidden, 3
    # converted. Against fitting journeys (all closed fitting ones converted) it looked worse.
    rows: list[dict[str, Any]] = [{"converted": i < 4} for i in range(10)]
    rows += [{"leak_touchpoint": "cart", "fits": False}] * 2
    rows += [{"signature": ["phone"], "converted": i < 3} for i in range(4)]
    row = find_hidden_journeys(make_cases(rows), min_support=1).to_dict()[0]
    assert row["conversion_rate"] == pytest.approx(0.75)
    assert (row["rest_closed"], row["rest_conversion_rate"]) == (12, pytest.approx(4 / 12))
    assert row["delta_conversion"] == pytest.approx(0.75 - 1 / 3)
    assert row["delta_conversion"] > 0


@pytest.mark.parametrize("seed", range(8))
def test_the_rest_of_the_closed_journeys_equals_a_plain_filter(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    rows: list[dict[str, Any]] = [
        {
            "signature": [["a->b"], ["x"], ["a->b", "x"], []][int(rng.integers(0, 4))],
            "converted": bool(rng.random() < 0.4),
            "in_progress": bool(rng.random() < 0.2),
            "duration_s": float(rng.integers(0, 8)),  # ties on purpose
        }
        for _ in range(n)
    ]
    cases = make_cases(rows)
    found = find_hidden_journeys(cases, min_support=1)
    for row in found.to_dict():
        ids = found.case_ids(row["signature"])
        rest = cases.filter(~pl.col("case_id").is_in(ids) & ~pl.col("in_progress"))
        conv = rest["converted"].mean() if rest.height else None
        assert row["rest_closed"] == rest.height
        assert row["rest_conversion_rate"] == pytest.approx(conv)
        assert row["rest_median_duration_s"] == pytest.approx(rest["duration_s"].median())
        own = cases.filter(pl.col("case_id").is_in(ids) & ~pl.col("in_progress"))
        assert row["median_duration_s"] == pytest.approx(own["duration_s"].median())


def test_hidden_journeys_sort_by_volume_then_signature() -> None:
    found = find_hidden_journeys(known_cases(), min_support=1)
    assert found.frame["signature"].to_list() == [
        ["phone_order"],
        ["email_click->add_to_cart"],
        ["a->b", "zzz"],
    ]
    assert found.frame.schema == pl.Schema(HIDDEN_SCHEMA)


def test_a_drop_off_alone_is_no_hidden_journey() -> None:
    found = find_hidden_journeys(known_cases(), min_support=1)
    assert "d1" not in found.members["case_id"].to_list()
    assert all(r["signature"] for r in found.to_dict())


def test_grouping_is_deterministic_and_independent_of_row_order() -> None:
    cases = known_cases()
    first = find_hidden_journeys(cases, min_support=1)
    again = find_hidden_journeys(cases, min_support=1)
    assert first.frame.equals(again.frame)
    shuffled = find_hidden_journeys(cases.sample(fraction=1.0, shuffle=True, seed=7), min_support=1)
    assert shuffled.frame.drop("examples").equals(first.frame.drop("examples"))


def test_examples_are_the_first_cases_in_case_order() -> None:
    found = find_hidden_journeys(known_cases(), min_support=1, examples=2)
    assert found.frame["examples"][0].to_list() == ["p1", "p2"]
    none = find_hidden_journeys(known_cases(), min_support=1, examples=0)
    assert none.frame["examples"][0].to_list() == []


def test_support_threshold_as_a_count() -> None:
    found = find_hidden_journeys(known_cases(), min_support=2)
    assert [r["cases"] for r in found.to_dict()] == [4, 2]
    assert found.min_cases == 2
    assert len(find_hidden_journeys(known_cases(), min_support=5)) == 0


def test_support_threshold_as_a_share_of_all_journeys() -> None:
    # 3 of 300 journeys is exactly 1%: it meets min_support=0.01; 2 of 300 does not.
    rows: list[dict[str, Any]] = [{} for _ in range(295)]
    rows += [{"signature": ["a->b"]}] * 3 + [{"signature": ["c->d"]}] * 2
    found = find_hidden_journeys(make_cases(rows), min_support=0.01)
    assert found.min_cases == 3
    assert found.frame["signature"].to_list() == [["a->b"]]
    assert len(find_hidden_journeys(make_cases(rows), min_support=0.5)) == 0


def test_case_ids_drill_down_to_one_hidden_journey() -> None:
    found = find_hidden_journeys(known_cases(), min_support=1)
    assert found.case_ids(["phone_order"]) == ["p1", "p2", "p3", "p4"]
    assert found.case_ids("phone_order") == ["p1", "p2", "p3", "p4"]
    assert found.case_ids(("a->b", "zzz")) == ["x1"]
    with pytest.raises(NotFoundError, match="no hidden journey"):
        found.case_ids(["nope"])


def test_empty_input_gives_no_hidden_journeys() -> None:
    found = find_hidden_journeys(make_cases([]))
    assert len(found) == 0
    assert found.frame.schema == pl.Schema(HIDDEN_SCHEMA)
    assert found.to_dict() == []
    assert found.closed_conversion_rate is None
    assert found.baseline() == {
        "compared_with": "rest_of_closed",
        "closed": 0,
        "conversion_rate": None,
        "median_duration_s": None,
    }


def test_all_fitting_journeys_give_no_hidden_journeys() -> None:
    cases = make_cases([{"converted": True}, {"converted": False}])
    found = find_hidden_journeys(cases, min_support=1)
    assert len(found) == 0
    assert found.closed_conversion_rate == pytest.approx(0.5)


def test_without_other_closed_journeys_the_deltas_are_null() -> None:
    cases = make_cases([{"signature": ["x"], "converted": True}, {"in_progress": True}])
    row = find_hidden_journeys(cases, min_support=1).to_dict()[0]
    assert row["conversion_rate"] == 1.0
    assert row["rest_closed"] == 0
    assert row["rest_conversion_rate"] is None and row["rest_median_duration_s"] is None
    assert row["delta_conversion"] is None
    assert row["delta_duration_s"] is None


def test_a_group_still_open_has_no_conversion_rate() -> None:
    cases = make_cases([{}, {"signature": ["x"], "in_progress": True}])
    row = find_hidden_journeys(cases, min_support=1).to_dict()[0]
    assert (row["n_closed"], row["n_in_progress"]) == (0, 1)
    assert row["conversion_rate"] is None
    assert row["delta_conversion"] is None


def test_to_dict_is_json_with_the_documented_keys() -> None:
    rows = find_hidden_journeys(known_cases(), min_support=1).to_dict()
    json.dumps(rows)
    keys = {"signature", "cases", "share", "conversion_rate", "median_duration_s", "channels"}
    keys |= {"examples", "delta_conversion", "delta_duration_s", "label", "n_in_progress"}
    keys |= {"rest_closed", "rest_conversion_rate", "rest_median_duration_s"}
    assert keys <= set(rows[0])


@pytest.mark.parametrize("bad", [-1, 1.5, -0.1, float("nan"), True, "1%"])
def test_a_bad_support_threshold_is_refused(bad: Any) -> None:
    with pytest.raises(InputError, match="min_support"):
        find_hidden_journeys(known_cases(), min_support=bad)


def test_a_frame_without_the_comparison_columns_is_refused() -> None:
    with pytest.raises(InputError, match="signature"):
        find_hidden_journeys(known_cases().drop("signature"))


def test_every_planted_hidden_journey_is_found_with_exactly_its_cases() -> None:
    from journeyminer.miner.ingest.pipeline import ingest_sources, resolve_source
    from journeyminer.miner.synthetic.generate import read_truth

    specs = [
        resolve_source(str(SAMPLE / f"{n}.csv"), timezone="Europe/Amsterdam")
        for n in ("web", "call_center", "crm")
    ]
    log, _ = ingest_sources(specs, identities=SAMPLE / "identities.csv")
    per_case = log.frame.group_by("case_id").agg(
        ((pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_microseconds() / 1e6)
        .cast(pl.Float64)
        .alias("duration_s"),
        pl.col("channel").drop_nulls().unique().sort().alias("channels"),
    )
    breaking = ["unknown_touchpoint", "unexpected_transition", "skipped_touchpoint"]
    breaking += ["wrong_start", "drop_off"]
    truth = read_truth(SAMPLE).rename({"journey_id": "case_id"})
    cases = (
        truth.with_columns(
            deviation_types=pl.col("deviations").list.eval(pl.element().struct.field("type"))
        )
        .with_columns(
            fits=~pl.col("deviation_types").list.eval(pl.element().is_in(breaking)).list.any()
        )
        .join(per_case, on="case_id", how="left")
        .sort("case_id")
    )
    found = find_hidden_journeys(cases, min_support=0.01)
    planted = truth.filter(pl.col("hidden_journey").is_not_null())
    assert found.frame.height == planted["hidden_journey"].n_unique() == 4
    for name, group in planted.group_by("hidden_journey"):
        signature = group["signature"][0].to_list()
        assert sorted(found.case_ids(signature)) == sorted(group["case_id"].to_list()), name
        row = found.frame.filter(pl.col("signature") == pl.lit(signature, pl.List(pl.String)))
        closed = group.filter(~pl.col("in_progress"))
        assert row["conversion_rate"][0] == pytest.approx(closed["converted"].mean())
