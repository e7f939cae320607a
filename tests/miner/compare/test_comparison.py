"""compare_to_map against the generator's planted truth, and the shape of its results."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from journeyminer.miner.compare.comparison import Comparison
from journeyminer.miner.compare.to_map import compare_to_map, default_timeout
from journeyminer.miner.errors import InputError
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import DesignedMap, Rule, load_map
from journeyminer.miner.synthetic.generate import generate, read_truth
from tests.miner.ingest.test_pipeline import SAMPLE, ingest_sample
from tests.strategies import BASE_US, COMPARISON_CASES, frame_from_rows

FIT_BREAKERS = ["unknown_touchpoint", "unexpected_transition", "skipped_touchpoint"]
FIT_BREAKERS += ["wrong_start", "drop_off"]


@pytest.fixture(scope="module")
def sample() -> tuple[EventLog, Comparison]:
    log, _ = ingest_sample()
    return log, compare_to_map(log, load_map(SAMPLE / "map.toml"), segment="device")


def _joined(result: Comparison, folder: Path) -> pl.DataFrame:
    truth = read_truth(folder).select(
        pl.col("journey_id").alias("case_id"),
        "hidden_journey",
        pl.col("signature").alias("t_signature"),
        pl.col("converted").alias("t_converted"),
        (pl.col("in_progress") & ~pl.col("converted")).alias("t_open"),
        pl.col("leak_phase").alias("t_leak_phase"),
        pl.col("leak_touchpoint").alias("t_leak_touchpoint"),
        pl.col("deviations")
        .list.eval(pl.element().struct.field("type"))
        .list.unique()
        .list.sort()
        .alias("t_types"),
    )
    joined = result.cases.join(truth, on="case_id", how="full", coalesce=True)
    assert joined.height == result.cases.height == truth.height
    return joined


def _assert_agrees_with_truth(result: Comparison, folder: Path) -> pl.DataFrame:
    j = _joined(result, folder)
    # Signatures, conversion and every deviation type but drop-off come from events alone.
    assert j.filter(pl.col("signature") != pl.col("t_signature")).height == 0
    assert j.filter(pl.col("converted") != pl.col("t_converted")).height == 0
    no_drop = pl.element().filter(pl.element() != "drop_off")
    types = pl.col("deviation_types").list.eval(no_drop)
    assert j.filter(types != pl.col("t_types").list.eval(no_drop)).height == 0
    for name, signature in (
        j.filter(pl.col("hidden_journey").is_not_null())
        .group_by("hidden_journey")
        .agg(pl.col("signature").unique())
        .iter_rows()
    ):
        assert len(signature) == 1, name  # every planted journey has exactly its signature
    # Drop-off needs right-censoring: where both call a journey closed, leaks and fit agree.
    closed = j.filter(~pl.col("in_progress") & ~pl.col("t_open"))
    assert closed.filter(pl.col("leak_phase").ne_missing(pl.col("t_leak_phase"))).height == 0
    assert (
        closed.filter(pl.col("leak_touchpoint").ne_missing(pl.col("t_leak_touchpoint"))).height == 0
    )
    t_fits = pl.col("t_types").list.set_intersection(FIT_BREAKERS).list.len() == 0
    same_open = j.filter(pl.col("in_progress") == pl.col("t_open"))
    assert same_open.filter(pl.col("fits") != t_fits).height == 0
    return j


def test_sample_agrees_with_the_planted_truth(sample: tuple[EventLog, Comparison]) -> None:
    _, result = sample
    j = _assert_agrees_with_truth(result, SAMPLE)
    # Every journey the generator left open is open here too; 49 that ended within the
    # 7-day timeout before the log's end cannot be told from open ones (right-censoring).
    assert j.filter(pl.col("t_open") & ~pl.col("in_progress")).height == 0
    assert j.filter(~pl.col("t_open") & pl.col("in_progress")).height == 49
    summary = json.loads((SAMPLE / "truth.json").read_text())["summary"]
    counts = dict(result.deviation_summary.select("type", "count").iter_rows())
    for kind, n in summary["deviations"].items():
        if kind != "drop_off":
            assert counts[kind] == n, kind
    assert counts["drop_off"] == summary["deviations"]["drop_off"] - 49


@pytest.mark.parametrize("seed", [1, 7])
def test_fresh_generator_logs_agree_with_their_truth(tmp_path: Path, seed: int) -> None:
    generate(tmp_path, events=5000, seed=seed)
    log, _ = ingest_sample(tmp_path)
    j = _assert_agrees_with_truth(compare_to_map(log, load_map(tmp_path / "map.toml")), tmp_path)
    # A journey whose next planned step lies beyond both the log's end and the timeout looks
    # dropped; the generator allows gaps up to 25 days, so a few may differ.
    assert j.filter(pl.col("t_open") & ~pl.col("in_progress")).height <= 0.01 * j.height


def _happy_log(designed: DesignedMap, n: int, seed: int = 0) -> EventLog:
    """Journeys that walk designed flows only, from a designed start to a goal and beyond."""
    rng = np.random.default_rng(seed)
    succ: dict[str, list[str]] = {}
    for a, b in sorted(designed.allowed):
        if a in designed.observable and b in designed.observable:
            succ.setdefault(a, []).append(b)
    rows: list[tuple[str, str, int, str | None]] = []
    starts = sorted(designed.observable_start)
    for c in range(n):
        t = BASE_US + int(rng.integers(0, 10**12))
        node, reached, extra = starts[rng.integers(len(starts))], False, int(rng.integers(0, 4))
        while True:
            rows.append((f"h{c:04d}", node, t, "web"))
            t += int(rng.integers(1, 600)) * 1_000_000
            reached |= node in designed.goal
            if (reached and extra == 0) or node not in succ:
                break
            extra -= reached
            node = succ[node][rng.integers(len(succ[node]))]
    return EventLog(frame_from_rows(rows))


def test_a_log_on_designed_paths_only_fits_completely() -> None:
    designed = load_map(SAMPLE / "map.toml")
    result = compare_to_map(_happy_log(designed, 300), designed)
    assert result.fitness.cases == 1.0 and result.fitness.events == 1.0
    assert result.cases.get_column("converted").all()
    assert result.cases.get_column("signature").list.len().sum() == 0
    kinds = set(result.deviations.get_column("type"))
    assert kinds <= {"rework", "time_frame_breach"}


def test_cases_frame_has_the_contract_columns(sample: tuple[EventLog, Comparison]) -> None:
    log, result = sample
    schema = result.cases.schema
    want = COMPARISON_CASES
    assert {k: schema[k] for k in want} == want
    assert result.deviations.columns == [
        "case_id",
        "type",
        "position",
        "touchpoint",
        "from",
        "to",
        "phase",
        "detail",
    ]
    assert result.cases.height == log.n_cases
    assert result.cases.get_column("n_events").sum() == log.n_events
    leaks = result.cases.filter(pl.col("leak_touchpoint").is_not_null())
    assert leaks.get_column("converted").not_().all()
    assert not leaks.get_column("in_progress").any()


def test_funnel_leaks_and_paths_add_up(sample: tuple[EventLog, Comparison]) -> None:
    _, result = sample
    cases = result.cases
    dropped = int(cases.get_column("dropped").sum())
    assert result.funnel.get_column("dropped").sum() == dropped
    assert result.leaks.get_column("journeys").sum() == dropped
    assert result.funnel.item(0, "reached") == cases.height
    awareness = result.leaks.filter(pl.col("phase") == "awareness")
    assert awareness.get_column("touchpoint").to_list() == ["landing_page"]
    assert (result.leaks.get_column("value_at_risk") > 0).all()
    assert result.paths.height == 20
    assert result.paths.get_column("journeys").is_sorted(descending=True)
    frames = result.time_frames.select("frame", "applicable", "breached").rows()
    assert [f for f, _, _ in frames] == [
        "checkout -> payment",
        "order_confirmed -> delivered",
        "complaint -> case_closed",
    ]
    assert sum(b for _, _, b in frames) == 79  # breaches; 78 journeys (one breaches two)


def test_effort_satisfaction_and_priorities(sample: tuple[EventLog, Comparison]) -> None:
    _, result = sample
    summary = result.effort.summary.row(0, named=True)
    assert summary["measure"] == "touchpoints_before_goal"
    assert summary["journeys"] == int(result.cases.get_column("converted").sum())
    assert (
        result.effort.by_contacts.get_column("journeys").sum()
        == result.cases.filter(~pl.col("in_progress")).height
    )
    sat = result.satisfaction
    assert sat is not None
    assert sat.summary["low_touchpoint"] == "complaint"  # complaint loops score lowest
    assert sat.summary["peak_touchpoint"] == "phone_order"
    top = result.priorities.row(0, named=True)
    assert top["rank"] == 1 and top["impact"] == result.priorities.get_column("impact").max()
    # Only what costs is ranked; what converts better than the rest is listed apart; on the
    # sample every deviation converts at least as well as the journeys without it.
    assert (result.priorities.get_column("impact") > 0).all()
    assert set(result.priorities.get_column("kind")) == {"leak"}
    better = result.better_than_designed
    assert better.height > 0 and (better.get_column("impact") < 0).all()
    assert set(better.get_column("kind")) == {"deviation"}
    assert (result.after_goal.get_column("conversion_rate") == 1.0).all()
    assert all(len(x) <= 3 for x in result.priorities.get_column("examples"))


def test_segment_split_sums_to_the_whole(sample: tuple[EventLog, Comparison]) -> None:
    _, result = sample
    split = result.by_segment
    assert split is not None and split.attribute == "device"
    head = split.headline
    assert head.get_column("journeys").sum() == result.cases.height
    assert head.get_column("fitting").sum() == result.fitness.fitting_cases
    per_phase = split.funnel.group_by("phase").agg(pl.col("dropped").sum())
    want = dict(result.funnel.select("phase", "dropped").iter_rows())
    assert dict(per_phase.iter_rows()) == want
    assert split.leaks.get_column("journeys").sum() == result.leaks.get_column("journeys").sum()
    assert set(split.time_frames.get_column("segment")) == {"desktop", "mobile", "tablet"}


def test_to_dict_is_json_ready_and_inlines_only_small_logs(
    sample: tuple[EventLog, Comparison], tmp_path: Path
) -> None:
    _, result = sample
    data = result.to_dict()
    text = json.dumps(data)
    assert json.loads(text)["fitness"]["cases"] == result.fitness.cases
    for key in ("fitness", "cases", "deviations", "funnel", "leaks", "time_frames", "priorities"):
        assert key in data
    one = data["cases"]["C000001#2"]
    assert one["fits"] is False
    assert [d["type"] for d in one["deviations"]] == ["unknown_touchpoint", "drop_off"]
    assert one["deviations"][0] == {
        "type": "unknown_touchpoint",
        "position": 2,
        "touchpoint": "phone_order",
    }
    path = tmp_path / "cases.parquet"
    assert result.to_dict(inline_cases=10, cases_path=path)["cases"] == str(path)
    written = pl.read_parquet(path)
    assert written.height == result.cases.height
    assert result.to_dict(inline_cases=10)["cases"] is None


def test_right_censoring_follows_as_of_and_timeout(sample: tuple[EventLog, Comparison]) -> None:
    log, result = sample
    designed = load_map(SAMPLE / "map.toml")
    assert result.timeout == default_timeout(designed) == timedelta(days=7)
    assert result.as_of is not None
    later = compare_to_map(log, designed, as_of=result.as_of + timedelta(days=8))
    assert not later.cases.get_column("in_progress").any()
    patient = compare_to_map(log, designed, timeout=timedelta(days=400))
    assert patient.cases.get_column("in_progress").sum() == (~patient.cases["converted"]).sum()
    assert patient.leaks.height == 0


def test_rules_are_measured_and_reported() -> None:
    base = load_map(SAMPLE / "map.toml")
    designed = DesignedMap(
        name=base.name,
        phases=base.phases,
        touchpoints=base.touchpoints,
        start=base.start,
        goal=base.goal,
        flows=base.flows,
        rules=(
            Rule("within", after="add_to_cart", then="checkout", max=timedelta(minutes=5)),
            Rule("not_while_open", event="add_to_cart", opened_by="checkout", closed_by="payment"),
        ),
    )
    log, _ = ingest_sample()
    result = compare_to_map(log, designed)
    rules = result.rules.rows_by_key("kind", named=True)
    within = rules["within"][0]
    assert (
        within["applicable"]
        == result.cases.filter(
            pl.col("variant").is_in(
                result.variants.filter(pl.col("activities").list.contains("add_to_cart"))["variant"]
            )
        ).height
    )
    assert 0 < within["breached"] < within["applicable"]
    assert rules["not_while_open"][0]["breached"] == 0
    breaches = result.deviations.filter(pl.col("type") == "rule_breach")
    assert breaches.height == within["breached"]
    assert set(breaches.get_column("touchpoint")) == {"add_to_cart"}


def test_an_empty_log_compares_to_nothing() -> None:
    empty = EventLog(frame_from_rows([]))
    result = compare_to_map(empty, load_map(SAMPLE / "map.toml"))
    assert result.cases.height == 0 and result.deviations.height == 0
    assert result.fitness.cases == 1.0 and result.as_of is None
    assert result.leaks.height == 0
    assert len(result.blank_spots.filter(pl.col("kind") == "touchpoint")) == 18
    json.dumps(result.to_dict())


def test_a_missing_segment_attribute_is_a_clear_error(sample: tuple[EventLog, Comparison]) -> None:
    log, _ = sample
    with pytest.raises(InputError, match="segment attribute 'region' is not in the log"):
        compare_to_map(log, load_map(SAMPLE / "map.toml"), segment="region")


def test_array_summaries_equal_their_frame_twins(sample: tuple[EventLog, Comparison]) -> None:
    # compare_to_map builds effort, leaks and time frames from arrays; the frame versions
    # (still used per segment) must give the very same frames.
    from journeyminer.miner.compare.deviations import MapCodes
    from journeyminer.miner.compare.effort import effort_before_goal, effort_counts
    from journeyminer.miner.compare.funnel import leak_points, time_frames_summary
    from journeyminer.miner.compare.windows import measure_windows

    log, result = sample
    cases = result.cases
    arrays = cases.select(
        "converted",
        "in_progress",
        pl.col("goal_position").fill_null(-1),
        "n_events",
        pl.col("switches_before_goal").fill_null(0),
        "channel_switches",
    )
    by_arrays = effort_counts(*(column.to_numpy() for column in arrays.iter_columns()))
    by_frame = effort_before_goal(cases)
    for part in ("summary", "by_contacts", "by_channel_switches"):
        assert getattr(by_arrays, part).equals(getattr(by_frame, part)), part
    converted = cases.filter(pl.col("converted")).get_column("value").mean()
    variant_acts = result.variants.select("variant", pl.col("activities").alias("activity"))
    frame_leaks = leak_points(cases, variant_acts.explode("activity").unique(), converted, [])
    assert frame_leaks.equals(result.leaks)
    designed = load_map(SAMPLE / "map.toml")
    assert result.as_of is not None
    as_of_us = int(result.as_of.timestamp() * 1_000_000)
    windows = measure_windows(log.encoded, MapCodes(designed, log.activities), as_of_us)
    windows = windows.still_open(cases.get_column("in_progress").to_numpy())
    assert windows.frame_summary().equals(
        time_frames_summary(windows.frames, windows.frame_specs, [])
    )
    assert windows.frame_summary().equals(result.time_frames)


def test_overdue_counts_only_journeys_still_in_progress() -> None:
    # Both journeys checked out and never paid, and the 15-minute frame has long passed for
    # both; the one that left 20 days ago dropped off, only the one an hour ago still waits.
    hour = 3_600 * 1_000_000
    now = BASE_US + 30 * 24 * hour
    steps = ("landing_page", "product_page", "add_to_cart", "checkout")
    rows = [("gone", a, BASE_US + i * 60_000_000, "web") for i, a in enumerate(steps)]
    rows += [("waiting", a, now - hour + i * 60_000_000, "web") for i, a in enumerate(steps)]
    rows += [("clock", "landing_page", now, "web")]
    result = compare_to_map(EventLog(frame_from_rows(rows)), load_map(SAMPLE / "map.toml"))
    verdicts = dict(result.cases.select("case_id", "in_progress").iter_rows())
    assert verdicts == {"gone": False, "waiting": True, "clock": True}
    frame = result.time_frames.row(
        by_predicate=pl.col("frame") == "checkout -> payment", named=True
    )
    assert (frame["applicable"], frame["measured"], frame["overdue"]) == (2, 0, 1)
    assert result.totals.in_progress == 2 and result.totals.dropped == 1
    assert result.to_dict()["totals"] == {
        "journeys": 3,
        "closed": 1,
        "in_progress": 2,
        "converted": 0,
        "dropped": 1,
        "conversion_rate": 0.0,
    }


def test_journeys_without_the_segment_value_are_a_group_of_their_own() -> None:
    # Customers without a row in the customer table have no region: their journeys are one
    # group (null), counted, with leak shares and time frames like every other group.
    from journeyminer.miner.ingest.customers import attach_customers, load_customers

    log, _ = ingest_sample()
    log, _ = attach_customers(log, load_customers(SAMPLE / "customers.csv"))
    result = compare_to_map(log, load_map(SAMPLE / "map.toml"), segment="region")
    split = result.by_segment
    assert split is not None
    head = split.headline.rows_by_key("segment", named=True, unique=True)
    missing = result.cases.filter(pl.col("segment").is_null())
    assert head[None]["journeys"] == missing.height > 0
    assert head[None]["in_progress"] == missing.get_column("in_progress").sum()
    leaks = split.leaks.filter(pl.col("segment").is_null())
    assert leaks.height > 0
    assert leaks.get_column("share_of_closed").null_count() == 0
    assert leaks.filter(pl.col("pass_conversion").is_not_null())["value_at_risk"].null_count() == 0
    closed = head[None]["closed"]
    assert leaks.get_column("share_of_closed").to_list() == pytest.approx(
        (leaks.get_column("journeys") / closed).to_list()
    )
    total = result.time_frames.get_column("applicable").sum()
    assert split.time_frames.get_column("applicable").sum() == total
