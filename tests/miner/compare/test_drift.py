"""Drift between two periods: tests, Benjamini-Hochberg correction, new and vanished journeys."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl
import pytest

from journeyminer.miner.compare.drift import compare_periods
from journeyminer.miner.compare.significance import (
    benjamini_hochberg,
    fisher_exact,
    mann_whitney_u,
    two_proportion_test,
)
from journeyminer.miner.errors import InputError
from tests.miner.compare.test_hidden import make_cases


def period(
    n: int = 1000,
    converted: int = 200,
    hidden: dict[str, int] | None = None,
    leaks: dict[str, int] | None = None,
    duration_s: float = 60.0,
) -> pl.DataFrame:
    """n journeys: `converted` of them convert; then `hidden` groups; then `leaks` drop-offs."""
    rows: list[dict[str, Any]] = []
    for sig, k in (hidden or {}).items():
        rows += [{"signature": sig.split("|")} for _ in range(k)]
    for tp, k in (leaks or {}).items():
        rows += [{"leak_touchpoint": tp, "leak_phase": "purchase"} for _ in range(k)]
    rows += [{} for _ in range(n - len(rows))]
    for i, row in enumerate(rows):
        row["converted"] = i >= n - converted
        row["case_id"] = f"c{i:05d}"
        row["duration_s"] = duration_s + (i % 97)  # distinct-ish values, the same in each call
    return make_cases(rows)


def by_kind(frame: pl.DataFrame, kind: str, key: str = "all") -> dict[str, Any]:
    rows = frame.filter((pl.col("kind") == kind) & (pl.col("key") == key)).to_dicts()
    assert len(rows) == 1, (kind, key, frame)
    return rows[0]


def test_a_planted_conversion_change_is_significant() -> None:
    drift = compare_periods(period(converted=200), period(converted=300))
    row = by_kind(drift.rates, "conversion")
    assert (row["before_rate"], row["after_rate"]) == (0.2, 0.3)
    assert row["difference"] == pytest.approx(0.1)
    assert row["test"] == "z"
    assert row["p_value"] < 1e-5
    assert row["significant"]
    assert not by_kind(drift.rates, "fitness")["significant"]
    assert "conversion" in drift.significant["kind"].to_list()


def test_an_identical_pair_has_no_significant_change() -> None:
    before = period(hidden={"a->b": 40, "phone_order": 30}, leaks={"checkout": 50})
    drift = compare_periods(before, before.clone())
    assert not drift.rates["significant"].any()
    assert not drift.durations["significant"].any()
    assert drift.significant.is_empty()
    assert drift.rates["p_value"].min() == pytest.approx(1.0)
    assert set(drift.hidden["status"]) == {"persisting"}


def test_a_planted_slow_down_is_significant_for_durations() -> None:
    drift = compare_periods(period(duration_s=60), period(duration_s=600))
    row = by_kind(drift.durations, "duration")
    assert row["difference_s"] == pytest.approx(540.0)
    assert row["test"] == "mann_whitney_normal"
    assert row["significant"]


def test_new_and_vanished_hidden_journeys_are_reported_with_support() -> None:
    before = period(hidden={"a->b": 50, "x->y": 20})
    after = period(hidden={"phone_order": 50, "x->y": 20})
    drift = compare_periods(before, after, min_support=10)
    new = drift.new_hidden_journeys.to_dicts()
    assert [r["signature"] for r in new] == [["phone_order"]]
    assert (new[0]["before_cases"], new[0]["after_cases"]) == (0, 50)
    assert new[0]["after_share"] == pytest.approx(0.05)
    assert new[0]["significant"]
    gone = drift.vanished_hidden_journeys.to_dicts()
    assert [r["signature"] for r in gone] == [["a->b"]]
    assert (gone[0]["before_cases"], gone[0]["after_cases"]) == (50, 0)
    assert gone[0]["label"] == "a→b"
    persisting = drift.hidden.filter(pl.col("status") == "persisting")
    assert persisting["signature"].to_list() == [["x->y"]]
    assert not persisting["significant"][0]
    # Conversion and duration are tested only for journeys reported in both periods.
    assert drift.rates.filter(pl.col("kind") == "hidden_journey_conversion")["key"].to_list() == [
        "x→y"
    ]


def test_a_signature_below_support_before_is_new_after() -> None:
    before = period(hidden={"a->b": 3})
    after = period(hidden={"a->b": 40})
    drift = compare_periods(before, after, min_support=10)
    new = drift.new_hidden_journeys.to_dicts()
    assert [(r["before_cases"], r["after_cases"]) for r in new] == [(3, 40)]


def test_leak_rates_per_leak_point_are_tested() -> None:
    before = period(leaks={"checkout": 100, "payment": 20})
    after = period(leaks={"checkout": 200, "payment": 20})
    drift = compare_periods(before, after)
    checkout = by_kind(drift.rates, "leak_touchpoint", "checkout")
    assert (checkout["before_count"], checkout["after_count"]) == (100, 200)
    assert checkout["before_total"] == checkout["after_total"] == 1000  # closed journeys
    assert checkout["significant"]
    assert not by_kind(drift.rates, "leak_touchpoint", "payment")["significant"]
    assert by_kind(drift.rates, "leak_phase", "purchase")["significant"]


def test_benjamini_hochberg_matches_the_hand_computed_values() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, math.nan])
    # sorted 0.005, 0.01, 0.03, 0.04 (m = 4) -> 0.02, 0.02, 0.04, 0.04 after the running min
    assert benjamini_hochberg(p)[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert math.isnan(benjamini_hochberg(p)[4])
    assert benjamini_hochberg(np.array([])).size == 0


def test_benjamini_hochberg_equals_scipy(scipy_stats: ModuleType) -> None:
    stats = scipy_stats
    p = np.random.default_rng(3).uniform(0, 0.2, 40)
    assert benjamini_hochberg(p) == pytest.approx(stats.false_discovery_control(p))


def test_correction_spans_every_tested_item() -> None:
    # Ten leak points; one changes a little (raw p < 0.05), which the correction does not keep.
    leaks_before = {f"tp{i}": 60 for i in range(10)}
    leaks_after = dict(leaks_before, tp0=84)
    drift = compare_periods(period(leaks=leaks_before), period(leaks=leaks_after))
    row = by_kind(drift.rates, "leak_touchpoint", "tp0")
    assert row["p_value"] < 0.05
    assert row["p_adjusted"] > 0.05
    assert not row["significant"]
    tested = pl.concat(
        [
            drift.rates.select("p_value", "p_adjusted"),
            drift.durations.select("p_value", "p_adjusted"),
        ]
    ).drop_nulls()
    assert (tested["p_adjusted"] >= tested["p_value"] - 1e-12).all()
    expected = benjamini_hochberg(tested["p_value"].to_numpy())
    assert tested["p_adjusted"].to_numpy() == pytest.approx(expected)


def test_the_pooled_z_test_equals_the_chi_square_test(scipy_stats: ModuleType) -> None:
    test, z, p = two_proportion_test(200, 1000, 250, 1000)
    assert test == "z"
    pooled = 450 / 2000
    se = math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert z == pytest.approx(0.05 / se)
    assert p == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    stats = scipy_stats
    table = [[200, 800], [250, 750]]
    assert p == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(1, 10, 8, 10), (0, 5, 3, 4), (2, 100, 6, 90), (3, 3, 0, 3), (1, 1000, 0, 20)],
)
def test_sparse_tables_use_fishers_exact_test(
    x1: int, n1: int, x2: int, n2: int, scipy_stats: ModuleType
) -> None:
    test, _, p = two_proportion_test(x1, n1, x2, n2)
    assert test == "fisher"
    stats = scipy_stats
    expected = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
    assert p == pytest.approx(expected, rel=1e-9)
    assert fisher_exact(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-9)


def test_an_empty_period_is_not_tested() -> None:
    assert two_proportion_test(0, 0, 5, 10)[0] is None
    drift = compare_periods(make_cases([]), period(n=50, converted=10))
    row = by_kind(drift.rates, "conversion")
    assert row["p_value"] is None
    assert row["significant"] is False


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mann_whitney_equals_scipy(seed: int, scipy_stats: ModuleType) -> None:
    stats = scipy_stats
    rng = np.random.default_rng(seed)
    for n1, n2, tied in ((5, 7, False), (8, 3, False), (30, 45, True), (200, 150, False)):
        a = rng.integers(0, 20, n1) if tied else rng.normal(0, 1, n1)
        b = rng.integers(3, 25, n2) if tied else rng.normal(0.4, 1, n2)
        pooled = np.concatenate([a, b]).astype(float)
        ranks = pl.Series(pooled).rank("average").to_numpy()
        _, counts = np.unique(pooled, return_counts=True)
        tie_sum = float((counts.astype(float) ** 3 - counts).sum())
        test, u1, p = mann_whitney_u(n1, n2, float(ranks[:n1].sum()), tie_sum, bool(tie_sum))
        exact = test == "mann_whitney_exact"
        assert exact == (max(n1, n2) <= 8 and not tied)
        ref = stats.mannwhitneyu(a, b, method="exact" if exact else "asymptotic")
        assert u1 == pytest.approx(ref.statistic)
        assert p == pytest.approx(ref.pvalue, rel=1e-9)


@dataclass(frozen=True)
class FakeComparison:
    cases: pl.DataFrame


def test_comparisons_are_accepted_and_the_result_is_json() -> None:
    drift = compare_periods(
        FakeComparison(period(hidden={"a->b": 30})), FakeComparison(period(hidden={"c": 30}))
    )
    out = drift.to_dict()
    json.dumps(out)
    assert set(out) == {"alpha", "periods", "hidden_journeys", "rates", "durations"}
    assert out["periods"]["before"]["cases"] == 1000
    assert set(out["hidden_journeys"]) == {"new", "vanished", "persisting"}


def test_results_are_deterministic() -> None:
    before, after = period(hidden={"a->b": 30, "c": 12}), period(hidden={"c": 30, "d": 15})
    one, two = compare_periods(before, after), compare_periods(before, after)
    assert json.dumps(one.to_dict()) == json.dumps(two.to_dict())


@pytest.mark.parametrize("alpha", [0, 1, -0.5, True])
def test_a_bad_alpha_is_refused(alpha: Any) -> None:
    with pytest.raises(InputError, match="alpha"):
        compare_periods(period(n=10, converted=1), period(n=10, converted=1), alpha=alpha)


def test_a_frame_without_the_comparison_columns_is_refused() -> None:
    with pytest.raises(InputError, match="before"):
        compare_periods(pl.DataFrame({"case_id": ["a"]}), period(n=10, converted=1))
