"""DFG pictures: DOT text and our own SVG layout; determinism, escaping, geometry, speed."""

from __future__ import annotations

import itertools
import math
import re
import time
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.discover.discovery import DFG, EDGE_SCHEMA, discover_dfg
from journeyminer.miner.draw.geometry import Edge
from journeyminer.miner.draw.layout import layered_layout
from journeyminer.miner.draw.placement import _inversions, _isotonic
from journeyminer.miner.draw.render import dfg_to_dot, dfg_to_svg, human_duration
from journeyminer.miner.log import EventLog
from tests.strategies import BASE_US, log_from_rows, synthetic_frame

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = (
    '<script>alert("x")</script>',
    "a & b",
    '"quoted"',
    "it's",
    "back\\slash\\",
    "ünïcødé 注文 🚀",
    "line\nbreak",
    "]]> --><!--",
    "tab\tand\x01control",
)

BAD_VIEW: Any = "speed"
Row = tuple[str, str, int, float]  # source, target, count, median seconds


def make_dfg(edges: list[Row], start: dict[str, int], end: dict[str, int]) -> DFG:
    """A DFG built directly; mean is median + 1 h so a test can tell them apart."""
    frame = pl.DataFrame(
        {
            "source": [e[0] for e in edges],
            "target": [e[1] for e in edges],
            "count": [e[2] for e in edges],
            "mean": [e[3] + 3600 for e in edges],
            "median": [e[3] for e in edges],
            "min": [e[3] / 2 for e in edges],
            "max": [e[3] * 2 for e in edges],
            "stdev": [None if e[2] == 1 else 60.0 for e in edges],
            "sum": [e[3] * e[2] for e in edges],
        },
        schema=EDGE_SCHEMA,
    )

    def counts(d: dict[str, int]) -> pl.DataFrame:
        return pl.DataFrame(
            {"activity": list(d), "count": list(d.values())},
            schema={"activity": pl.String, "count": pl.Int64},
        )

    return DFG(edges=frame, start=counts(start), end=counts(end))


@pytest.fixture
def journey() -> DFG:
    """A small web journey with a self-loop, a 2-cycle and two start activities."""
    return make_dfg(
        [
            ("visit", "search", 30, 120.0),
            ("search", "search", 8, 30.0),
            ("search", "product", 25, 9000.0),
            ("product", "search", 6, 600.0),
            ("product", "cart", 12, 3 * 86_400.0),
            ("ad_click", "product", 10, 45.0),
            ("cart", "checkout", 9, 0.25),
        ],
        start={"visit": 30, "ad_click": 10},
        end={"checkout": 9, "product": 13, "search": 18},
    )


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def groups(root: ET.Element, cls: str, kind: str | None = None) -> list[ET.Element]:
    found = [g for g in root.iter(f"{SVG}g") if g.get("class") == cls]
    return [g for g in found if kind is None or g.get("data-kind") == kind]


def boxes(root: ET.Element) -> list[tuple[str, float, float, float, float]]:
    """(what, left, top, right, bottom) of every node and every edge label."""
    out = []
    for g in groups(root, "node"):
        rect, circle = g.find(f"{SVG}rect"), g.find(f"{SVG}circle")
        if rect is not None:
            x, y = float(rect.get("x", 0)), float(rect.get("y", 0))
            out.append(
                ("node", x, y, x + float(rect.get("width", 0)), y + float(rect.get("height", 0)))
            )
        else:
            assert circle is not None
            cx, cy, r = (float(circle.get(a, 0)) for a in ("cx", "cy", "r"))
            out.append(("node", cx - r, cy - r, cx + r, cy + r))
    for g in groups(root, "edge"):
        rect = g.find(f"{SVG}rect")
        assert rect is not None
        x, y = float(rect.get("x", 0)), float(rect.get("y", 0))
        out.append(
            ("label", x, y, x + float(rect.get("width", 0)), y + float(rect.get("height", 0)))
        )
    return out


def assert_nothing_overlaps(root: ET.Element) -> None:
    for a, b in itertools.combinations(boxes(root), 2):
        apart = a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2]
        assert apart, f"{a} overlaps {b}"


def layers(root: ET.Element) -> dict[str, int]:
    """Layer of each activity (by name), plus 'start' and 'end'."""
    out = {}
    for g in groups(root, "node"):
        kind = g.get("data-kind", "")
        out[g.get("data-activity", "") if kind == "activity" else kind] = int(
            g.get("data-layer", -1)
        )
    return out


def dot_strings(dot: str) -> list[str]:
    """Every double-quoted DOT string, unescaped; fails on an unterminated string."""
    out, i = [], 0
    while (i := dot.find('"', i)) != -1:
        j, text = i + 1, []
        while dot[j] != '"':
            if dot[j] == "\\":
                j += 1
                text.append("\n" if dot[j] == "n" else dot[j])
            else:
                text.append(dot[j])
            j += 1
        out.append("".join(text))
        i = j + 1
    return out


def outside_strings(dot: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', dot)


# -- determinism ----------------------------------------------------------------------------
def test_same_dfg_gives_byte_identical_svg_and_dot(journey: DFG) -> None:
    shuffled = DFG(
        edges=journey.edges.reverse(), start=journey.start.reverse(), end=journey.end.reverse()
    )
    for view in ("frequency", "performance"):
        assert dfg_to_svg(journey, view=view) == dfg_to_svg(journey, view=view)
        assert dfg_to_svg(journey, view=view) == dfg_to_svg(shuffled, view=view)
        assert dfg_to_dot(journey, view=view) == dfg_to_dot(shuffled, view=view)


# -- SVG structure ----------------------------------------------------------------------------
def test_svg_parses_with_a_node_per_activity_and_a_path_per_edge(journey: DFG) -> None:
    root = parse(dfg_to_svg(journey))
    names = {g.get("data-activity") for g in groups(root, "node", "activity")}
    assert names == {"visit", "search", "product", "cart", "checkout", "ad_click"}
    assert len(groups(root, "node", "start")) == len(groups(root, "node", "end")) == 1
    flows = groups(root, "edge", "flow")
    assert {(g.get("data-source"), g.get("data-target")) for g in flows} == set(
        zip(journey.edges["source"], journey.edges["target"], strict=True)
    )
    assert len(groups(root, "edge", "start")) == journey.start.height
    assert len(groups(root, "edge", "end")) == journey.end.height
    for g in groups(root, "edge"):
        paths = g.findall(f"{SVG}path")
        assert len(paths) == 2  # the line and its arrowhead
        assert paths[0].get("d", "").startswith("M")
        assert g.find(f"{SVG}title") is not None


def test_svg_tooltips_carry_full_numbers(journey: DFG) -> None:
    root = parse(dfg_to_svg(journey))
    (edge,) = [g for g in groups(root, "edge", "flow") if g.get("data-source") == "product"
               and g.get("data-target") == "cart"]  # fmt: skip
    title = edge.findtext(f"{SVG}title") or ""
    assert "12 times" in title and "median: 3d (259,200 s)" in title
    assert "mean: 3d (262,800 s)" in title and "total: 36d" not in title
    node = next(g for g in groups(root, "node", "activity") if g.get("data-activity") == "search")
    # search happens 30 (from visit) + 8 (itself) + 6 (from product) times.
    assert (node.findtext(f"{SVG}title") or "").startswith("search\n44 times")
    assert node.get("data-count") == "44"


def test_edge_labels_show_counts_or_the_median(journey: DFG) -> None:
    def label(svg: str, source: str, target: str) -> str:
        g = next(
            g
            for g in groups(parse(svg), "edge", "flow")
            if (g.get("data-source"), g.get("data-target")) == (source, target)
        )
        return g.findtext(f"{SVG}text") or ""

    frequency = dfg_to_svg(journey)
    performance = dfg_to_svg(journey, view="performance")
    assert label(frequency, "search", "product") == "25"
    assert label(performance, "search", "product") == "2.5h"  # median 9000 s; mean is 3.5h
    assert label(performance, "cart", "checkout") == "250ms"
    assert label(performance, "product", "cart") == "3d"
    dot = dfg_to_dot(journey, view="performance")
    assert re.search(r'-> \S+ \[label="2\.5h"', dot)
    assert '"3.5h"' not in dot


def test_width_scales_the_picture_not_the_drawing(journey: DFG) -> None:
    natural = parse(dfg_to_svg(journey))
    scaled = parse(dfg_to_svg(journey, width=400))
    assert scaled.get("width") == "400"
    assert scaled.get("viewBox") == natural.get("viewBox")
    ratio = float(natural.get("height", 0)) / float(natural.get("width", 1))
    assert math.isclose(float(scaled.get("height", 0)), 400 * ratio, abs_tol=0.1)
    with pytest.raises(ValueError, match="width"):
        dfg_to_svg(journey, width=0)


def test_an_unknown_view_is_refused(journey: DFG) -> None:
    with pytest.raises(ValueError, match="frequency"):
        dfg_to_svg(journey, view=BAD_VIEW)
    with pytest.raises(ValueError, match="performance"):
        dfg_to_dot(journey, view=BAD_VIEW)


# -- edge cases -------------------------------------------------------------------------------
def test_an_empty_dfg_says_no_events() -> None:
    empty = make_dfg([], {}, {})
    root = parse(dfg_to_svg(empty))
    assert "no events" in "".join(root.itertext())
    assert not groups(root, "node")
    assert "no events" in dfg_to_dot(empty)
    assert dfg_to_dot(empty).count("{") == dfg_to_dot(empty).count("}") == 1


def test_a_single_activity_sits_between_start_and_end() -> None:
    log = log_from_rows([("c1", "visit", BASE_US, "web")])
    root = parse(dfg_to_svg(discover_dfg(log)))
    assert layers(root) == {"start": 0, "visit": 1, "end": 2}
    assert not groups(root, "edge", "flow")
    assert len(groups(root, "edge")) == 2
    assert_nothing_overlaps(root)


def test_self_loops_and_two_cycles_are_drawn_once_each(journey: DFG) -> None:
    root = parse(dfg_to_svg(journey))
    flows = {(g.get("data-source"), g.get("data-target")): g for g in groups(root, "edge", "flow")}
    assert flows["search", "search"].get("data-back") == "false"
    pair = [flows[e].get("data-back", "") for e in (("search", "product"), ("product", "search"))]
    assert sorted(pair) == ["false", "true"]  # one way forward, the other dashed back
    back = flows["product", "search"].find(f"{SVG}path")
    assert back is not None and back.get("stroke-dasharray")
    assert_nothing_overlaps(root)


def test_layers_start_with_start_activities_and_edges_go_right(journey: DFG) -> None:
    root = parse(dfg_to_svg(journey))
    layer = layers(root)
    assert layer["start"] == 0 and layer["visit"] == layer["ad_click"] == 1
    assert layer["end"] == max(layer.values())
    for g in groups(root, "edge", "flow"):
        s, t = layer[g.get("data-source", "")], layer[g.get("data-target", "")]
        if s == t:
            continue
        assert (t > s) == (g.get("data-back") == "false")


# -- escaping ---------------------------------------------------------------------------------
def hostile_dfg() -> DFG:
    cycle = [(a, b, i + 1, 60.0 * (i + 1)) for i, (a, b) in enumerate(itertools.pairwise(HOSTILE))]
    return make_dfg(cycle, start={HOSTILE[0]: 3}, end={HOSTILE[-1]: 3})


def test_hostile_names_are_escaped_in_svg() -> None:
    svg = dfg_to_svg(hostile_dfg())
    root = parse(svg)  # valid XML despite <, &, quotes, ]]>, control characters
    assert "<script" not in svg and not list(root.iter(f"{SVG}script"))
    names = {g.get("data-activity") for g in groups(root, "node", "activity")}
    assert names == {h.replace("\x01", "\ufffd") for h in HOSTILE}
    titles = [g.findtext(f"{SVG}title") for g in groups(root, "node", "activity")]
    assert any(t and t.startswith("line\nbreak\n") for t in titles)
    assert_nothing_overlaps(root)


def test_hostile_names_are_escaped_in_dot() -> None:
    dfg = hostile_dfg()
    dot = dfg_to_dot(dfg)
    bare = outside_strings(dot)
    assert bare.count("{") == bare.count("}") == 1
    assert bare.count("[") == bare.count("]")
    assert bare.strip().startswith("digraph DFG {") and bare.rstrip().endswith("}")
    strings = dot_strings(dot)
    for name in HOSTILE:
        shown = name.replace("\x01", " ").replace("\t", " ")
        assert any(s.startswith(shown + "\n") for s in strings), name
    # Every statement is one line: node ids are ours, names only live inside strings.
    ids = {m for m in re.findall(r"^\s+(n\d+) \[", dot, flags=re.M)}
    assert len(ids) == len(HOSTILE)
    assert len(re.findall(r"^\s+n\d+ -> n\d+ \[", dot, flags=re.M)) == dfg.edges.height


def test_dot_has_every_edge_with_scaled_penwidth(journey: DFG) -> None:
    dot = dfg_to_dot(journey)
    ids = dict(re.findall(r'^\s+(n\d+) \[label="([^"\\]+)\\n', dot, flags=re.M))
    edges = re.findall(r"^\s+(n\d+) -> (n\d+) \[.*penwidth=([\d.]+)", dot, flags=re.M)
    drawn = {(ids[a], ids[b]): float(w) for a, b, w in edges}
    assert set(drawn) == set(zip(journey.edges["source"], journey.edges["target"], strict=True))
    assert drawn["visit", "search"] > drawn["product", "cart"] > drawn["search", "search"] >= 1
    assert "start -> " in dot and " -> end " in dot


# -- durations --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.25, "250ms"),
        (1, "1s"),
        (12.4, "12s"),
        (59.7, "1m"),
        (90, "1.5m"),
        (9000, "2.5h"),
        (23.6 * 3600, "1d"),
        (3 * 86_400, "3d"),
        (20 * 86_400, "2.9w"),
        (None, "n/a"),
        (float("nan"), "n/a"),
    ],
)
def test_human_duration_rounds_to_one_unit(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text


# -- layout internals -------------------------------------------------------------------------
@given(st.lists(st.integers(0, 6), max_size=60))
def test_inversions_equal_the_naive_count(values: list[int]) -> None:
    naive = sum(a > b for a, b in itertools.combinations(values, 2))
    assert _inversions(np.array(values, dtype=np.int64)) == naive


@given(st.lists(st.tuples(st.floats(-50, 50), st.floats(0.5, 4)), min_size=1, max_size=40))
def test_isotonic_fit_is_the_pool_adjacent_violators_answer(
    pairs: list[tuple[float, float]],
) -> None:
    t, w = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    fit = _isotonic(t, w)
    blocks: list[list[float]] = []  # textbook PAVA
    for v, m in pairs:
        blocks.append([v, m, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v1, m1, c1 = blocks.pop()
            v0, m0, c0 = blocks.pop()
            blocks.append([(v0 * m0 + v1 * m1) / (m0 + m1), m0 + m1, c0 + c1])
    expected = [b[0] for b in blocks for _ in range(int(b[2]))]
    assert np.allclose(fit, expected)
    assert np.all(np.diff(fit) >= -1e-9)


def test_layout_of_a_cycle_without_a_first_node_still_layers_it() -> None:
    lay = layered_layout([(40, 20)] * 3, [Edge(0, 1), Edge(1, 2), Edge(2, 0)])
    assert sorted(n.layer for n in lay.nodes) == [0, 1, 2]
    assert sum(r.back for r in lay.edges) == 1


# -- generated graphs -------------------------------------------------------------------------
NAMES = ("a", "b", "checkout", "café ☕", "注文", "<x&y>", '"q"', "long activity name here")


@st.composite
def dfgs(draw: st.DrawFn) -> DFG:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=len(NAMES), unique=True))
    pairs = draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)), unique=True))
    edges = [(a, b, draw(st.integers(1, 5000)), draw(st.floats(0, 1e7))) for a, b in pairs]
    starts = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    ends = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    return make_dfg(
        edges,
        {a: draw(st.integers(1, 100)) for a in starts},
        {a: draw(st.integers(1, 100)) for a in ends},
    )


@given(dfgs(), st.sampled_from(["frequency", "performance"]))
def test_generated_dfgs_draw_cleanly(dfg: DFG, view: Any) -> None:
    svg = dfg_to_svg(dfg, view=view)
    assert svg == dfg_to_svg(dfg, view=view)
    root = parse(svg)
    activities = set(dfg.edges["source"]) | set(dfg.edges["target"]) | set(dfg.start["activity"])
    activities |= set(dfg.end["activity"])
    assert {g.get("data-activity") for g in groups(root, "node", "activity")} == activities
    assert len(groups(root, "edge", "flow")) == dfg.edges.height
    assert_nothing_overlaps(root)
    layer = layers(root)
    assert layer["start"] == 0 and layer["end"] == max(layer.values())
    targets = set(dfg.edges.filter(pl.col("source") != pl.col("target"))["target"])
    for a in dfg.start["activity"]:
        assert layer[a] >= 1
        if a not in targets:  # nothing leads into it: it opens the journey
            assert layer[a] == 1
    dot = dfg_to_dot(dfg, view=view)
    assert outside_strings(dot).count("{") == outside_strings(dot).count("}") == 1


def test_fifty_activities_lay_out_quickly() -> None:
    log = EventLog(synthetic_frame(5_000, seed=3, n_activities=60))
    dfg = discover_dfg(log)
    assert dfg.start.height + dfg.edges.height > 0
    n = len(set(dfg.edges["source"]) | set(dfg.edges["target"]))
    assert n >= 50
    began = time.perf_counter()
    svg = dfg_to_svg(dfg)
    elapsed = time.perf_counter() - began
    assert len(groups(parse(svg), "node", "activity")) == n
    assert elapsed < 2.0, f"{n} activities, {dfg.edges.height} edges took {elapsed:.2f}s"


def test_dot_and_svg_agree_on_which_edges_go_back(journey: DFG) -> None:
    dot = dfg_to_dot(journey)
    ids = dict(re.findall(r'^\s+(n\d+) \[label="([^"\\]+)\\n', dot, flags=re.M))
    dashed = {
        (ids[a], ids[b])
        for a, b, attrs in re.findall(r"^\s+(n\d+) -> (n\d+) \[(.*)\];$", dot, flags=re.M)
        if "style=dashed" in attrs
    }
    root = parse(dfg_to_svg(journey))
    back = {
        (g.get("data-source"), g.get("data-target"))
        for g in groups(root, "edge", "flow")
        if g.get("data-back") == "true"
    }
    assert dashed == back == {("product", "search")}
