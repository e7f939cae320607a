"""The scenario generator: determinism, formats, identities, planted truth, journey contract."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import cast

import polars as pl
import pytest

from journeyminer.miner.synthetic import generate as gen
from journeyminer.miner.synthetic import scenario as sc
from journeyminer.miner.synthetic.generate import generate, read_truth

SOURCE_FILES = ("web.csv", "call_center.csv", "crm.csv", "identities.csv", "customers.csv")
ALL_FILES = (*SOURCE_FILES, "map.toml", "truth.json")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scenario")
    generate(out, events=40_000, seed=11)
    return out


def _stitched(out: Path) -> pl.DataFrame:
    """Re-derive journeys from the written files with plain polars (the stitching contract)."""
    web = pl.read_csv(out / "web.csv", infer_schema=False).select(
        pl.col("visitor_id").alias("source_id"),
        pl.col("event_name").alias("activity"),
        pl.col("event_time")
        .str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S%.3fZ")
        .dt.replace_time_zone("UTC")
        .alias("ts"),
    )
    calls = pl.read_csv(out / "call_center.csv", separator=";", infer_schema=False).select(
        pl.col("caller_id").alias("source_id"),
        pl.col("reason").alias("activity"),
        pl.col("call_start")
        .str.strptime(pl.Datetime("ms"), "%d/%m/%Y %H:%M:%S")
        .dt.replace_time_zone("Europe/Amsterdam", ambiguous="raise", non_existent="raise")
        .dt.convert_time_zone("UTC")
        .alias("ts"),
    )
    crm = pl.read_csv(out / "crm.csv", infer_schema=False).select(
        pl.col("customer_id").alias("source_id"),
        pl.col("status").alias("activity"),
        pl.from_epoch(pl.col("changed_at").cast(pl.Int64), time_unit="ms")
        .dt.replace_time_zone("UTC")
        .alias("ts"),
    )
    ids = pl.read_csv(out / "identities.csv", infer_schema=False)
    events = (
        pl.concat([f.with_columns(pl.col("ts").dt.cast_time_unit("ms")) for f in (web, calls, crm)])
        .join(ids, on="source_id", how="left")
        .with_columns(pl.coalesce("customer_id", "source_id").alias("customer"))
        .sort("customer", "ts", maintain_order=True)
    )
    gap = pl.col("ts").diff().over("customer")
    return (
        events.with_columns(gap.alias("gap"))
        .with_columns(
            (pl.col("gap").is_null() | (pl.col("gap") >= timedelta(days=30)))
            .cum_sum()
            .over("customer")
            .alias("n")
        )
        .with_columns((pl.col("customer") + "#" + pl.col("n").cast(pl.String)).alias("journey_id"))
    )


def test_same_seed_writes_byte_identical_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", events=3_000, seed=7)
    generate(tmp_path / "b", events=3_000, seed=7)
    for name in ALL_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_different_seeds_write_different_logs(tmp_path: Path) -> None:
    generate(tmp_path / "a", events=3_000, seed=1)
    generate(tmp_path / "b", events=3_000, seed=2)
    for name in SOURCE_FILES:
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize("events", [1_000, 4_321, 25_000])
def test_event_count_hits_the_target_within_two_percent(tmp_path: Path, events: int) -> None:
    seen: list[int] = []
    report = generate(tmp_path, events=events, seed=3, progress=seen.append)
    written = sum(
        pl.read_csv(tmp_path / f, separator=";" if f == "call_center.csv" else ",").height
        for f in ("web.csv", "call_center.csv", "crm.csv")
    )
    assert written == report.events
    assert abs(written - events) <= 0.02 * events
    assert seen and seen[-1] == written and seen == sorted(seen)


def test_each_source_file_has_its_systems_header(scenario: Path) -> None:
    for key, header in gen.HEADERS.items():
        first = (scenario / f"{key}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert first == header


def test_source_values_look_like_their_systems(scenario: Path) -> None:
    web = pl.read_csv(scenario / "web.csv", infer_schema=False)
    assert web["visitor_id"].str.contains(r"^ck_[0-9a-f]{12}$").all()
    assert web["event_time"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").all()
    assert set(web["device"].unique()) <= set(sc.DEVICES)
    calls = pl.read_csv(scenario / "call_center.csv", separator=";", infer_schema=False)
    assert calls["caller_id"].str.contains(r"^\+316\d{8}$").all()
    assert calls["call_start"].str.contains(r"^\d\d/\d\d/\d{4} \d\d:\d\d:\d\d$").all()
    hours = calls["call_start"].str.slice(11, 2).cast(pl.Int32)
    assert hours.is_between(7, 21).all()  # never in the DST night hour
    assert set(calls["csat"].drop_nulls().cast(pl.Int32).unique()) <= {1, 2, 3, 4, 5}
    crm = pl.read_csv(scenario / "crm.csv")
    assert crm["customer_id"].str.contains(r"^CRM-\d{6,}$").all()
    assert (crm["channel"] == "crm").all()
    orders = crm.filter(pl.col("status").is_in(["order_confirmed", "repeat_purchase"]))
    assert orders["order_value"].null_count() == 0 and (orders["order_value"] > 0).all()
    assert (
        crm.filter(~pl.col("status").is_in(["order_confirmed", "repeat_purchase"]))[
            "order_value"
        ].null_count()
        == crm.height - orders.height
    )


def test_every_source_id_maps_to_exactly_one_customer(scenario: Path) -> None:
    ids = pl.read_csv(scenario / "identities.csv", infer_schema=False)
    assert ids["source_id"].is_unique().all()
    assert ids["customer_id"].str.contains(r"^C\d{6,}$").all()
    known = set(ids["source_id"])
    calls = pl.read_csv(scenario / "call_center.csv", separator=";", infer_schema=False)
    crm = pl.read_csv(scenario / "crm.csv", infer_schema=False)
    assert set(calls["caller_id"]) <= known and set(crm["customer_id"]) <= known
    web = pl.read_csv(scenario / "web.csv", infer_schema=False)
    anonymous = set(web["visitor_id"]) - known
    share = len(anonymous) / (len(anonymous) + ids["customer_id"].n_unique())
    assert 0.12 < share < 0.30


def test_truth_covers_every_stitched_journey_exactly_once(scenario: Path) -> None:
    events = _stitched(scenario)
    derived = events.group_by("journey_id").agg(pl.len().alias("events")).sort("journey_id")
    truth = read_truth(scenario)
    assert truth["journey_id"].is_unique().all()
    assert truth.select("journey_id", "events").sort("journey_id").equals(derived)
    gaps = events.filter(pl.col("gap").is_not_null())
    inside = gaps.filter(pl.col("n") == pl.col("n").shift(1).over("customer"))["gap"]
    between = gaps.filter(pl.col("gap") >= timedelta(days=30))["gap"]
    assert cast(timedelta, inside.max()) < timedelta(days=26)
    assert cast(timedelta, between.min()) > timedelta(days=45)
    assert events.select(pl.struct("customer", "ts").is_unique().all()).item()


def test_truth_marks_conversion_and_leaks_as_the_events_show(scenario: Path) -> None:
    events = _stitched(scenario)
    per = events.group_by("journey_id").agg(
        (pl.col("activity") == "order_confirmed").any().alias("seen_goal"),
        pl.col("activity").last().alias("last"),
    )
    truth = read_truth(scenario).join(per, on="journey_id")
    assert (truth["converted"] == truth["seen_goal"]).all()
    dropped = truth.filter(~pl.col("converted") & ~pl.col("in_progress"))
    assert (dropped["leak_touchpoint"] == dropped["last"]).all()
    assert (
        truth.filter(pl.col("converted") | pl.col("in_progress"))["leak_phase"].null_count()
        == truth.filter(pl.col("converted") | pl.col("in_progress")).height
    )
    assert 0 < truth["in_progress"].sum() < 0.1 * truth.height


def test_hidden_journeys_are_the_only_undesigned_paths(scenario: Path) -> None:
    truth = read_truth(scenario)
    assert truth.filter(pl.col("hidden_journey").is_null())["signature"].list.len().max() == 0
    for name, signature in sc.HIDDEN_JOURNEYS.items():
        rows = truth.filter(pl.col("hidden_journey") == name)
        assert rows.height > 0
        assert rows["signature"].to_list() == [list(signature)] * rows.height
    flows = {
        tuple(f) for f in tomllib.loads((scenario / "map.toml").read_text())["journey"]["flows"]
    }
    planted = {tuple(s.split("->")) for sig in sc.HIDDEN_JOURNEYS.values() for s in sig}
    assert not flows & planted


def test_planted_shares_and_leaks_come_out_as_intended(scenario: Path) -> None:
    summary = json.loads((scenario / "truth.json").read_text())["summary"]
    identified = 1 - sc.ANONYMOUS_SHARE
    for name, share in sc.KIND_SHARE.items():
        got = summary["hidden_journeys"][name]["share"]
        assert 0.6 * share * identified < got < 1.3 * share, name
    rates = {k: v["conversion_rate"] for k, v in summary["hidden_journeys"].items()}
    assert rates["complaint_loop"] == 1.0
    assert rates["phone_order"] > rates["email_skip"] > rates["cart_hesitation"]
    assert rates["cart_hesitation"] > summary["no_hidden_journey"]["conversion_rate"]
    leaks = {leak["phase"]: leak for leak in summary["leaks"]}
    assert list(leaks) == ["awareness", "consideration", "purchase"]
    dropped = summary["dropped"]
    assert leaks["consideration"]["journeys"] > leaks["purchase"]["journeys"]
    assert 0.15 < leaks["awareness"]["journeys"] / dropped < 0.45
    assert (
        leaks["purchase"]["touchpoints"]["add_to_cart"]
        > leaks["purchase"]["touchpoints"]["checkout"]
        > leaks["purchase"]["touchpoints"]["payment"]
    )
    seg = summary["segments"]
    assert seg["returning"]["conversion_rate"] > seg["new"]["conversion_rate"]
    assert 0.1 < summary["fitting"] / summary["journeys"] < 0.4
    dev = summary["deviations"]
    assert dev["rework"] > 0 and dev["time_frame_breach"] > 0 and dev["wrong_start"] > 0


def test_late_deliveries_breach_the_three_day_frame(scenario: Path) -> None:
    events = _stitched(scenario)
    late = (
        events.filter(pl.col("activity").is_in(["order_confirmed", "delivered"]))
        .group_by("journey_id")
        .agg((pl.col("ts").last() - pl.col("ts").first()).alias("took"), pl.len().alias("k"))
        .filter(pl.col("k") == 2)
    )
    truth = read_truth(scenario).join(late, on="journey_id")
    breach = (
        truth["deviations"]
        .list.eval(
            (pl.element().struct.field("type") == "time_frame_breach")
            & (pl.element().struct.field("to") == "delivered")
        )
        .list.any()
    )
    assert (breach == (truth["took"] > timedelta(days=3))).all()
    assert 0.05 < cast(float, breach.mean()) < 0.2


def test_map_names_every_observed_touchpoint_but_the_planted_unknown_one(scenario: Path) -> None:
    design = tomllib.loads((scenario / "map.toml").read_text())
    assert design["version"] == "as-is"
    assert [p["id"] for p in design["phases"]] == [p for p, _ in sc.PHASES]
    mapped = {t["id"] for t in design["touchpoints"]}
    assert any(not t["observable"] for t in design["touchpoints"])
    seen = set(_stitched(scenario)["activity"].unique())
    assert seen - mapped == set(sc.UNKNOWN_TOUCHPOINTS)
    assert design["journey"]["goal"] == ["order_confirmed"]
    assert {tf["to"] for tf in design["time_frames"]} >= {"delivered"}


def test_big_logs_keep_truth_in_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gen, "PARQUET_TRUTH_ABOVE", 1_000)
    report = generate(tmp_path, events=3_000, seed=5)
    head = json.loads((tmp_path / "truth.json").read_text())
    assert head["journeys_file"] == "truth.parquet" and "journeys" not in head
    truth = read_truth(tmp_path)
    assert truth.height == report.journeys == head["summary"]["journeys"]
    assert not list(tmp_path.glob(".*.part"))


def test_bad_arguments_are_refused_before_writing(tmp_path: Path) -> None:
    from journeyminer.miner.errors import InputError

    with pytest.raises(InputError):
        generate(tmp_path / "x", events=0)
    assert not (tmp_path / "x").exists()


def test_shipped_sample_is_what_its_readme_command_writes(tmp_path: Path) -> None:
    shipped = Path(__file__).parents[3] / "datasets" / "omnichannel"
    generate(tmp_path, events=15_000, seed=0)
    for name in ALL_FILES:
        assert (shipped / name).read_bytes() == (tmp_path / name).read_bytes(), name
