"""The map overlay: observed volumes on the designed map, as JSON and as SVG."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import polars as pl
import pytest

from journeyminer.miner.discover.discovery import DFG, discover_dfg, discover_variants
from journeyminer.miner.draw.overlay import Overlay, build_overlay
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import DesignedMap, Phase, Touchpoint
from tests.miner.compare.test_hidden import make_cases
from tests.strategies import BASE_US, log_from_rows

SVG = "{http://www.w3.org/2000/svg}"
PHONE = "phone<&>'\""  # an activity the map does not know, with characters XML must escape
BUY = "Buy & pay <now>"
JOURNEYS = (
    3 * [["ad", "landing", "product", "cart", "paid"]]
    + [["ad", "landing", "product", "product", "cart", "paid"]]
    + 2 * [["ad", "landing", "product", PHONE, "paid"]]
    + [["ad", "landing", "product", PHONE]]
    + 2 * [["ad", "landing", "cart"]]
    + [["ad", "landing", "product", "cart"]]
)


def small_map() -> DesignedMap:
    return DesignedMap(
        name="Shop",
        version="to-be",
        phases=(Phase("aware", "Awareness"), Phase("consider", "Consideration"), Phase("buy", BUY)),
        touchpoints=(
            Touchpoint("tv", "aware", observable=False),
            Touchpoint("ad", "aware", channel="web"),
            Touchpoint("landing", "aware", channel="web"),
            Touchpoint("product", "consider", channel="web", name="Product page"),
            Touchpoint("reviews", "consider", channel="web"),
            Touchpoint("cart", "buy", channel="web"),
            Touchpoint("paid", "buy", channel="crm"),
        ),
        start=("ad", "tv"),
        goal=("paid",),
        flows=(
            ("tv", "landing"),
            ("ad", "landing"),
            ("landing", "product"),
            ("product", "reviews"),
            ("reviews", "product"),
            ("product", "cart"),
            ("reviews", "cart"),
            ("cart", "paid"),
        ),
    )


def small_log() -> EventLog:
    rows: list[tuple[str, str, int | datetime, str | None]] = [
        (f"j{i:02d}", activity, BASE_US + i * 10**9 + k * 60 * 10**6, "web")
        for i, journey in enumerate(JOURNEYS)
        for k, activity in enumerate(journey)
    ]
    return log_from_rows(rows)


def small_cases() -> pl.DataFrame:
    # j06 left at the unknown touchpoint; j07 and j08 at the cart; j09 is still open.
    rows: list[dict[str, Any]] = [{"case_id": f"j{i:02d}"} for i in range(len(JOURNEYS))]
    rows[6] |= {"leak_touchpoint": PHONE, "leak_phase": "consider"}
    rows[7] |= {"leak_touchpoint": "cart", "leak_phase": "buy"}
    rows[8] |= {"leak_touchpoint": "cart", "leak_phase": "buy"}
    rows[9] |= {"leak_touchpoint": "cart", "leak_phase": "buy", "in_progress": True}
    return make_cases(rows)


def small_overlay(**kwargs: Any) -> Overlay:
    log = small_log()
    return build_overlay(
        small_map(), discover_dfg(log), small_cases(), variants=discover_variants(log), **kwargs
    )


def touchpoint(out: dict[str, Any], tp: str) -> dict[str, Any]:
    return next(t for p in out["phases"] for t in p["touchpoints"] if t["id"] == tp)


def flow(out: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    return next(f for f in out["flows"] if (f["from"], f["to"]) == (a, b))


# -- JSON ---------------------------------------------------------------------------------
def test_touchpoints_carry_events_journeys_and_drop_offs() -> None:
    out = small_overlay().to_dict()
    assert [p["id"] for p in out["phases"]] == ["aware", "consider", "buy"]
    assert [t["id"] for t in out["phases"][0]["touchpoints"]] == ["tv", "ad", "landing"]
    product = touchpoint(out, "product")
    assert (product["count"], product["cases"], product["repeats"]) == (9, 8, 1)
    assert product["rework"] == 1  # j03 shows it twice
    assert product["label"] == "Product page"
    cart = touchpoint(out, "cart")
    assert (cart["count"], cart["cases"], cart["drop_offs"], cart["ends"]) == (7, 7, 2, 3)
    assert touchpoint(out, "ad")["starts"] == 10
    tv = touchpoint(out, "tv")
    assert (tv["observable"], tv["count"]) == (False, 0)
    assert touchpoint(out, "reviews")["count"] == 0
    assert [p["drop_offs"] for p in out["phases"]] == [0, 1, 2]
    assert [p["count"] for p in out["phases"]] == [20, 9, 13]
    assert out["map"] == {"name": "Shop", "version": "to-be"}
    json.dumps(out)


def test_rework_counts_journeys_that_come_back_as_the_comparison_does() -> None:
    # The map's details and the priority list must give one number for rework at a touchpoint:
    # journeys that show it more than once, back to back or not.
    from journeyminer.miner.compare.analysis import analyze_against_map
    from journeyminer.miner.maps.designed import load_map
    from tests.miner.ingest.test_pipeline import SAMPLE, ingest_sample

    log, _ = ingest_sample()
    result = analyze_against_map(log, load_map(SAMPLE / "map.toml"))
    rework = result.comparison.deviations.filter(pl.col("type") == "rework")
    per_touchpoint = dict(rework.group_by("touchpoint").agg(pl.col("case_id").n_unique()).rows())
    out = result.overlay.to_dict()
    shown = {t["id"]: t["rework"] for p in out["phases"] for t in p["touchpoints"]}
    shown |= {u["id"]: u["rework"] for u in out["unknown_touchpoints"]}
    assert per_touchpoint["add_to_cart"] == shown["add_to_cart"] == 90
    assert {k: v for k, v in shown.items() if v} == per_touchpoint


def test_flows_are_designed_unseen_or_unexpected() -> None:
    out = small_overlay().to_dict()
    ad = flow(out, "ad", "landing")
    assert (ad["designed"], ad["kind"], ad["count"], ad["median_s"]) == (True, "designed", 10, 60)
    for a, b in (("product", "reviews"), ("reviews", "product"), ("reviews", "cart")):
        assert (flow(out, a, b)["kind"], flow(out, a, b)["count"]) == ("unseen", 0)
    assert flow(out, "tv", "landing")["kind"] == "unobservable"  # never in a log: not a blank spot
    unexpected = [(f["from"], f["to"], f["count"]) for f in out["flows"] if not f["designed"]]
    assert unexpected == [("product", PHONE, 3), ("landing", "cart", 2), (PHONE, "paid", 2)]
    assert all(f["kind"] == "unexpected" for f in out["flows"] if not f["designed"])
    assert ("product", "product") not in {(f["from"], f["to"]) for f in out["flows"]}
    # Designed flows come first, in map order.
    assert [(f["from"], f["to"]) for f in out["flows"][:8]] == list(small_map().flows)


def test_unknown_touchpoints_go_to_the_hidden_lane_beside_their_neighbour() -> None:
    out = small_overlay().to_dict()
    assert out["unknown_touchpoints"] == [
        {
            "id": PHONE,
            "count": 3,
            "cases": 3,
            "drop_offs": 1,
            "starts": 0,
            "ends": 1,
            "repeats": 0,
            "rework": 0,
            "column": "consider",
        }
    ]
    assert out["hidden_lane"] == [{"id": PHONE, "column": "consider"}]


def test_without_cases_and_variants_those_counts_are_unknown() -> None:
    out = build_overlay(small_map(), discover_dfg(small_log())).to_dict()
    cart = touchpoint(out, "cart")
    assert (cart["count"], cart["cases"], cart["drop_offs"]) == (7, None, None)
    assert out["phases"][0]["drop_offs"] is None
    assert out["unknown_touchpoints"][0]["cases"] is None


def test_a_flow_through_an_unobservable_touchpoint_is_designed() -> None:
    designed = small_map()
    # ad -> tv -> landing: the log can only show ad -> landing, which the map allows.
    flows = (("ad", "tv"), ("tv", "landing"), ("landing", "product"), ("product", "cart"))
    designed = DesignedMap(
        name="m",
        phases=designed.phases,
        touchpoints=designed.touchpoints,
        start=("ad",),
        goal=("paid",),
        flows=(*flows, ("cart", "paid")),
    )
    log = log_from_rows([("c", "ad", BASE_US, "web"), ("c", "landing", BASE_US + 5, "web")])
    dfg = discover_dfg(log)
    out = build_overlay(designed, dfg).to_dict()
    implied = flow(out, "ad", "landing")
    assert (implied["designed"], implied["kind"], implied["count"]) == (True, "designed", 1)


# -- SVG ----------------------------------------------------------------------------------
def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == cls]


def rect(g: ET.Element) -> tuple[float, float, float, float]:
    r = g.find(f"{SVG}rect")
    assert r is not None
    return (
        float(r.get("x", 0)),
        float(r.get("y", 0)),
        float(r.get("width", 0)),
        float(r.get("height", 0)),
    )


def test_svg_parses_with_phases_as_columns_in_map_order() -> None:
    root = parse(small_overlay().to_svg())
    phases = groups(root, "phase")
    assert [g.get("data-phase") for g in phases] == ["aware", "consider", "buy"]
    xs = [rect(g)[0] for g in phases]
    assert xs == sorted(xs) and len(set(xs)) == 3
    title = phases[2].find(f"{SVG}title")
    assert title is not None and title.text == f"phase 3: {BUY} (buy)"
    assert BUY in [t.text for t in phases[2].iter(f"{SVG}text")]
    # Every touchpoint sits inside its phase's column, in map order top to bottom.
    columns = {g.get("data-phase"): rect(g) for g in phases}
    boxes = {g.get("data-touchpoint"): (g, rect(g)) for g in groups(root, "touchpoint")}
    for tp in small_map().touchpoints:
        g, (x, _, w, _) = boxes[tp.id]
        cx, _, cw, _ = columns[tp.phase]
        assert cx <= x and x + w <= cx + cw, tp.id
        assert g.get("data-lane") == "map"
    ys = [boxes[t][1][1] for t in ("tv", "ad", "landing")]
    assert ys == sorted(ys)


def test_unknown_touchpoints_sit_in_the_labelled_hidden_lane() -> None:
    root = parse(small_overlay().to_svg())
    (lane,) = groups(root, "hidden-lane")
    lx, ly, lw, lh = rect(lane)
    assert "Hidden lane" in "".join(lane.itertext())
    boxes = {g.get("data-touchpoint"): (g, rect(g)) for g in groups(root, "touchpoint")}
    g, (x, y, w, h) = boxes[PHONE]
    assert g.get("data-lane") == "hidden"
    assert ly <= y and y + h <= ly + lh and lx <= x and x + w <= lx + lw
    assert all(r[1] + r[3] < ly for tp, (_, r) in boxes.items() if tp != PHONE)
    # Drawn under the column of its busiest mapped neighbour (product, in consideration).
    column = next(rect(p) for p in groups(root, "phase") if p.get("data-phase") == "consider")
    assert column[0] <= x and x + w <= column[0] + column[2]


def test_flow_kinds_differ_by_dash_text_and_legend_not_colour_alone() -> None:
    root = parse(small_overlay().to_svg())
    flows = groups(root, "flow")
    kinds = {(g.get("data-from"), g.get("data-to")): g.get("data-kind") for g in flows}
    assert kinds[("landing", "cart")] == "unexpected"
    assert kinds[("product", "reviews")] == "unseen"
    assert kinds[("ad", "landing")] == "designed"
    assert kinds[("tv", "landing")] == "designed"  # unobservable: designed, never in a log
    for g in flows:
        line = g.find(f"{SVG}path")
        assert line is not None
        dash = line.get("stroke-dasharray")
        title = g.find(f"{SVG}title")
        assert title is not None and title.text
        if g.get("data-kind") == "unexpected":
            assert dash == "7 4"
            assert any("unexpected" in (t.text or "") for t in g.iter(f"{SVG}text"))
            assert "not in the map" in title.text
        elif g.get("data-kind") == "unseen":
            assert dash == "2 4"
            assert "never seen" in title.text
        else:
            assert dash is None
    legend = "".join(groups(root, "legend")[0].itertext())
    for words in ("designed flow", "unexpected flow", "never seen", "hidden lane", "unobservable"):
        assert words in legend
    assert len(groups(root, "flow")) == len(small_overlay().flows)


def test_designed_flows_are_wider_when_seen_more() -> None:
    root = parse(small_overlay().to_svg())
    width = {}
    for g in groups(root, "flow"):
        line = g.find(f"{SVG}path")
        assert line is not None
        width[(g.get("data-from"), g.get("data-to"))] = float(line.get("stroke-width", 0))
    assert width[("ad", "landing")] > width[("cart", "paid")] > width[("product", "reviews")]


def test_touchpoints_show_counts_and_tooltips() -> None:
    root = parse(small_overlay().to_svg())
    boxes = {g.get("data-touchpoint"): g for g in groups(root, "touchpoint")}
    texts = [t.text for t in boxes["cart"].iter(f"{SVG}text")]
    assert texts == ["cart", "7 · 2 left"]
    title = boxes["cart"].find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert "7 events" in title.text and "7 journeys reach it" in title.text
    assert [t.text for t in boxes["tv"].iter(f"{SVG}text")] == ["tv", "not observable"]
    assert boxes["cart"].get("data-count") == "7"


def test_svg_is_deterministic_whatever_the_edge_order() -> None:
    ov = small_overlay()
    assert ov.to_svg() == ov.to_svg() == small_overlay().to_svg()
    dfg = discover_dfg(small_log())
    shuffled = DFG(edges=dfg.edges.reverse(), start=dfg.start.reverse(), end=dfg.end.reverse())
    log = small_log()
    again = build_overlay(small_map(), shuffled, small_cases(), variants=discover_variants(log))
    assert again.to_svg() == ov.to_svg()
    assert json.dumps(again.to_dict()) == json.dumps(ov.to_dict())


def test_a_comparisons_variants_reach_the_same_journeys_as_discovered_ones() -> None:
    from journeyminer.miner.compare.to_map import compare_to_map

    log = small_log()
    variants = compare_to_map(log, small_map()).variants
    dfg = discover_dfg(log)
    by_frame = build_overlay(small_map(), dfg, small_cases(), variants=variants)
    by_discovery = build_overlay(small_map(), dfg, small_cases(), variants=discover_variants(log))
    assert json.dumps(by_frame.to_dict()) == json.dumps(by_discovery.to_dict())


def test_svg_escapes_names() -> None:
    svg = small_overlay().to_svg()
    assert "<now>" not in svg and "& pay" not in svg
    root = parse(svg)
    ids = [g.get("data-touchpoint") for g in groups(root, "touchpoint")]
    assert PHONE in ids
    assert root.find(f"{SVG}title") is not None


def test_an_empty_log_draws_the_bare_map() -> None:
    empty = DFG(
        edges=discover_dfg(small_log()).edges.head(0),
        start=pl.DataFrame(schema={"activity": pl.String, "count": pl.Int64}),
        end=pl.DataFrame(schema={"activity": pl.String, "count": pl.Int64}),
    )
    ov = build_overlay(small_map(), empty)
    out = ov.to_dict()
    assert out["unknown_touchpoints"] == [] and out["hidden_lane"] == []
    assert {f["kind"] for f in out["flows"]} == {"unseen", "unobservable"}
    root = parse(ov.to_svg())
    assert "none seen" in "".join(groups(root, "hidden-lane")[0].itertext())


@pytest.mark.parametrize("missing", ["leak_touchpoint", "leak_phase"])
def test_cases_without_leak_columns_are_refused(missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        build_overlay(small_map(), discover_dfg(small_log()), small_cases().drop(missing))
