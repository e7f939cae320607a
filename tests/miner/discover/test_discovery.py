"""Discovery results: DFG, variants, journey statistics and the bundle, against naive twins."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter

import numpy as np
import polars as pl
import pytest
from hypothesis import given

from journeyminer.miner.discover import results as discover_module
from journeyminer.miner.discover.discovery import (
    discover,
    discover_dfg,
    discover_variants,
    journey_stats,
)
from journeyminer.miner.log import EventLog
from tests import naive
from tests.strategies import NAMED_ROWS, event_logs, log_from_rows

EDGE_KEYS = ["source", "target", "count", "mean", "median", "min", "max", "stdev", "sum"]


def _log(name: str) -> EventLog:
    return log_from_rows(NAMED_ROWS[name])  # type: ignore[arg-type]


def _sequences(log: EventLog) -> list[tuple[str, ...]]:
    enc = log.encoded
    return [tuple(enc.activities[a] for a in seq) for seq in naive.cases(enc.offsets, enc.act)]


def _assert_dfg_matches_naive(log: EventLog) -> None:
    enc = log.encoded
    name = enc.activities
    want = {
        (name[a], name[b]): naive.duration_stats(d)
        for (a, b), d in naive.edge_durations(enc.offsets, enc.act, enc.ts).items()
    }
    dfg = discover_dfg(log)
    rows = dfg.edges.to_dicts()
    assert [(r["source"], r["target"]) for r in rows] == sorted(want)
    for row in rows:
        exact = want[(row["source"], row["target"])]
        assert row["count"] == exact["count"]
        for key in ("sum", "mean", "median", "min", "max"):
            assert math.isclose(row[key], exact[key] / 1e6, rel_tol=1e-12, abs_tol=1e-15)
        if exact["stdev"] is None:
            assert row["stdev"] is None
        else:
            assert math.isclose(row["stdev"], exact["stdev"] / 1e6, rel_tol=1e-12, abs_tol=1e-15)
    starts = Counter(s[0] for s in _sequences(log))
    ends = Counter(s[-1] for s in _sequences(log))
    assert dfg.to_dict()["start"] == dict(starts)
    assert dfg.to_dict()["end"] == dict(ends)


def _assert_variants_match_naive(log: EventLog) -> None:
    seqs = _sequences(log)
    case_ids = log.encoded.case_ids.tolist()
    durations = naive.case_durations(log.encoded.offsets, log.encoded.ts)
    counts = Counter(seqs)
    order = sorted(counts, key=lambda s: (-counts[s], s))
    variants = discover_variants(log)
    rows = variants.to_dicts()
    assert [tuple(r["activities"]) for r in rows] == order
    assert [r["variant"] for r in rows] == list(range(len(order)))
    for row in rows:
        seq = tuple(row["activities"])
        members = [c for c, s in enumerate(seqs) if s == seq]
        assert row["count"] == len(members)
        assert row["share"] == pytest.approx(len(members) / len(seqs))
        assert row["representative"] == case_ids[members[0]]
        member_durations = [durations[c] / 1e6 for c in members]
        assert row["mean_duration"] == pytest.approx(statistics.fmean(member_durations))
        assert row["median_duration"] == pytest.approx(statistics.median(member_durations))
    assert variants.cases["case_id"].to_list() == case_ids
    assert variants.cases["variant"].to_list() == [order.index(s) for s in seqs]


@pytest.mark.parametrize("name", sorted(NAMED_ROWS))
def test_dfg_matches_naive_on_named_logs(name: str) -> None:
    _assert_dfg_matches_naive(_log(name))


@pytest.mark.parametrize("name", sorted(NAMED_ROWS))
def test_variants_match_naive_on_named_logs(name: str) -> None:
    _assert_variants_match_naive(_log(name))


@given(event_logs())
def test_dfg_and_variants_match_naive_on_generated_logs(log: EventLog) -> None:
    _assert_dfg_matches_naive(log)
    _assert_variants_match_naive(log)


def test_dfg_edges_have_the_documented_columns_and_null_stdev_for_one_observation() -> None:
    dfg = discover_dfg(_log("unicode"))
    # 注文 and 🚀 share a timestamp in ü-2: input order decides the edge between them.
    assert sorted(dfg.edges.select("source", "target").rows()) == [
        ("café ☕", "注文"),
        ("注文", "🚀 launch"),
        ("🚀 launch", "Ärger"),
    ]
    assert dfg.to_dict()["start"] == {"café ☕": 2, "注文": 1}
    assert dfg.to_dict()["end"] == {"café ☕": 1, "注文": 1, "Ärger": 1}
    assert dfg.frame.columns == EDGE_KEYS
    assert dfg.edges.schema["stdev"] == pl.Float64
    row = dfg.edges.filter(pl.col("source") == "café ☕").row(0, named=True)
    assert row == {
        "source": "café ☕",
        "target": "注文",
        "count": 1,
        "mean": 60.0,
        "median": 60.0,
        "min": 60.0,
        "max": 60.0,
        "stdev": None,
        "sum": 60.0,
    }


def test_stdev_is_exact_where_float_seconds_would_lose_digits() -> None:
    big = 40 * 86_400 * 1_000_000
    rows = []
    for i, extra in enumerate((1, 2)):
        rows += [(f"c{i}", "a", 0, None), (f"c{i}", "b", big + extra, None)]
    edge = discover_dfg(log_from_rows(rows)).edges.row(0, named=True)  # type: ignore[arg-type]
    assert edge["stdev"] == pytest.approx(math.sqrt(0.5) * 1e-6, rel=1e-15)
    assert edge["mean"] == (big + 1.5) / 1e6


def test_variants_sort_by_count_then_activity_tuple() -> None:
    rows = [
        ("c1", "b", 1, None),
        ("c2", "a", 1, None),
        ("c2", "b", 2, None),
        ("c3", "a", 1, None),
        ("c4", "b", 1, None),
        ("c5", "a", 1, None),
        ("c5", "b", 2, None),
    ]
    variants = discover_variants(log_from_rows(rows))  # type: ignore[arg-type]
    cases = variants.cases.sort("case_id")
    assert cases.get_column("variant").to_list() == [1, 0, 2, 1, 0]  # c1..c5
    assert [(r["activities"], r["count"]) for r in variants.to_dicts()] == [
        (["a", "b"], 2),
        (["b"], 2),
        (["a"], 1),
    ]
    assert variants.to_pm4py() == {("a", "b"): 2, ("b",): 2, ("a",): 1}
    assert variants.cases.filter(pl.col("case_id") == "c5")["variant"].item() == 0


def test_journey_stats_distributions_rework_and_ngrams() -> None:
    log = _log("one_case")
    stats = journey_stats(log)
    assert stats.per_case.get_column("channel_switches").to_list() == [2]  # web .. call .. web
    out = stats.to_dict()
    assert out["case_duration"]["max"] == 9.000002
    assert out["events_per_case"] == dict.fromkeys(
        ["p10", "p25", "p50", "p75", "p90", "mean", "min", "max"], 5.0
    )
    assert out["channel_switches"]["p50"] == 2.0
    assert out["rework"][0] == {
        "activity": "visit",
        "cases": 1,
        "rework_cases": 1,
        "repeats": 2,
        "rework_share": 1.0,
    }
    bigrams = [(r["activities"], r["count"]) for r in out["ngrams"] if r["n"] == 2]
    assert bigrams == [
        (["call", "visit"], 1),
        (["search", "visit"], 1),
        (["visit", "call"], 1),
        (["visit", "search"], 1),
    ]
    trigrams = [r["activities"] for r in out["ngrams"] if r["n"] == 3]
    assert trigrams[0] == ["search", "visit", "call"]


@given(event_logs())
def test_journey_stats_quantiles_are_numpy_linear_quantiles(log: EventLog) -> None:
    stats = journey_stats(log, top_ngrams=3)
    enc = log.encoded
    durations = np.array(naive.case_durations(enc.offsets, enc.ts)) / 1e6
    row = stats.distributions.filter(pl.col("measure") == "case_duration").row(0, named=True)
    for key, q in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        assert row[key] == pytest.approx(np.quantile(durations, q), rel=1e-12, abs=1e-9)
    assert stats.per_case["channel_switches"].to_list() == naive.channel_switches(
        enc.offsets, enc.channel
    )
    for n in (2, 3):
        top = stats.ngrams.filter(pl.col("n") == n)
        counts = naive.ngram_counts(enc.offsets, enc.act, n)
        want = sorted(counts, key=lambda g: (-counts[g], g))[:3]
        assert [tuple(enc.activities.index(a) for a in r) for r in top["activities"]] == want


def test_discovery_to_dict_has_the_documented_shape_and_is_strict_json() -> None:
    log = _log("equal_timestamps")
    found = discover(log)
    out = found.to_dict()
    # One pass of kernels gives what each discovery gives on its own.
    assert out["dfg"] == discover_dfg(log).to_dict()
    assert out["variants"] == discover_variants(log).to_dicts()
    assert out["stats"] == journey_stats(log).to_dict()
    assert list(out) == ["dfg", "variants", "stats"]
    assert list(out["dfg"]) == ["edges", "start", "end"]
    assert all(list(edge) == EDGE_KEYS for edge in out["dfg"]["edges"])
    assert {"activities", "count", "share", "representative"} <= set(out["variants"][0])
    assert {"case_duration", "events_per_case", "channel_switches", "rework", "ngrams"} <= set(
        out["stats"]
    )
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_equal_timestamps_keep_input_order() -> None:
    out = discover(_log("equal_timestamps")).to_dict()
    assert [v["activities"] for v in out["variants"]] == [["a", "b", "c", "a"], ["b", "a", "c"]]


def test_empty_log_gives_empty_results_with_null_statistics() -> None:
    out = discover(_log("empty")).to_dict()
    assert out["dfg"] == {"edges": [], "start": {}, "end": {}}
    assert out["variants"] == []
    assert out["stats"]["case_duration"]["p50"] is None
    assert json.dumps(out, allow_nan=False)


def test_to_pm4py_names_the_extra_when_pm4py_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    found = discover(_log("one_case"))
    monkeypatch.setattr(discover_module.importlib.util, "find_spec", lambda name: None)
    for call in (found.dfg.to_pm4py, found.dfg.to_pm4py_performance, found.variants.to_pm4py):
        with pytest.raises(ImportError, match=r"journeyminer\[pm4py\]"):
            call()


def test_journey_stats_without_ngram_sizes_gives_an_empty_typed_frame() -> None:
    ngrams = journey_stats(_log("one_case"), ngram_sizes=()).ngrams
    assert ngrams.height == 0
    assert ngrams.schema == {"n": pl.Int64, "activities": pl.List(pl.String), "count": pl.Int64}
