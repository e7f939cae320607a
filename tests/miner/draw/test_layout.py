"""The layered drawing of a directed graph (`miner/draw/layout.py`): layers, back edges,
columns, boxes that never overlap, routes joined end to end, and its numpy helpers."""

from __future__ import annotations

import itertools
from graphlib import CycleError, TopologicalSorter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.draw.geometry import Edge, Layout
from journeyminer.miner.draw.layout import back_edges, layered_layout
from journeyminer.miner.draw.placement import LINE_GAP, _inversions, _isotonic


@st.composite
def graphs(
    draw: st.DrawFn,
) -> tuple[list[tuple[float, float]], list[Edge], int | None, int | None]:
    """Node sizes, edges (loops and parallel edges included), and maybe a first and a last
    node (two different ones)."""
    n = draw(st.integers(1, 9))
    sizes = draw(
        st.lists(
            st.tuples(st.integers(10, 140).map(float), st.integers(10, 40).map(float)),
            min_size=n,
            max_size=n,
        )
    )
    node = st.integers(0, n - 1)
    edges = draw(
        st.lists(
            st.builds(
                Edge,
                node,
                node,
                st.integers(1, 500).map(float),
                st.integers(0, 60).map(float),
                st.integers(0, 16).map(float),
            ),
            max_size=14,
        )
    )
    first = draw(st.none() | node)
    # The start and the end node are two nodes (the DFG's ▶ and ■), never one.
    others = [i for i in range(n) if i != first]
    last = draw(st.none() | st.sampled_from(others)) if others else None
    return sizes, edges, first, last


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@given(graphs())
def test_forward_edges_go_to_later_layers_and_back_edges_to_earlier_ones(
    graph: tuple[list[tuple[float, float]], list[Edge], int | None, int | None],
) -> None:
    sizes, edges, first, last = graph
    lay = layered_layout(sizes, edges, first=first, last=last)
    layer = [box.layer for box in lay.nodes]
    back = back_edges(len(sizes), edges, first=first)
    assert [route.back for route in lay.edges] == back
    for e, route in zip(edges, lay.edges, strict=True):
        assert route.loop == (e.source == e.target)
        if route.loop:
            assert not route.back
        elif route.back:
            assert layer[e.target] < layer[e.source]
        else:
            assert layer[e.target] > layer[e.source]
    # The edges left after taking out the back edges form no cycle.
    order = TopologicalSorter({i: set() for i in range(len(sizes))})
    for e, b in zip(edges, back, strict=True):
        if not b and e.source != e.target:
            order.add(e.target, e.source)
    try:
        order.prepare()
    except CycleError as exc:  # pragma: no cover - the failure message
        pytest.fail(f"back edges leave a cycle: {exc.args[1]}")
    # `first` opens layer 0 alone unless a forward edge leads into it; `last` closes the
    # drawing alone when nothing leaves it (a back edge into it leaves it once reversed).
    forward = [(e.source, e.target) for e, b in zip(edges, back, strict=True) if not b]
    forward = [(a, b) for a, b in forward if a != b]
    reversed_back = [(e.target, e.source) for e, b in zip(edges, back, strict=True) if b]
    if first is not None and all(b != first for _, b in forward):
        assert layer[first] == 0 and layer.count(0) == 1
    leaving = {a for a, _ in forward + reversed_back}
    if last is not None and last != first and last not in leaving and len(sizes) > 1:
        assert layer[last] == max(layer) and layer.count(layer[last]) == 1


@given(graphs())
def test_boxes_in_a_column_keep_apart_and_columns_never_overlap(
    graph: tuple[list[tuple[float, float]], list[Edge], int | None, int | None],
) -> None:
    sizes, edges, first, last = graph
    lay = layered_layout(sizes, edges, first=first, last=last, margin=12.0)
    for ids in lay.layers:
        if not ids:  # layer 0 when a forward edge leads into `first`
            continue
        boxes = [lay.nodes[i] for i in ids]
        assert len({b.x for b in boxes}) == 1  # one column per layer
        ys = [b.y for b in boxes]
        assert ys == sorted(ys)  # listed top to bottom
        for a, b in itertools.pairwise(boxes):
            assert a.y + a.height / 2 + LINE_GAP <= b.y - b.height / 2 + 1e-6
    spans = [
        (
            min(lay.nodes[i].x - lay.nodes[i].width / 2 for i in ids),
            max(lay.nodes[i].x + lay.nodes[i].width / 2 for i in ids),
        )
        for ids in lay.layers
        if ids
    ]
    for a, b in itertools.pairwise(spans):
        assert a[1] < b[0]  # a later layer lies wholly to the right
    assert sorted(i for ids in lay.layers for i in ids) == list(range(len(sizes)))
    for box in lay.nodes:
        assert box.x - box.width / 2 >= 12.0 - 1e-6 and box.x + box.width / 2 <= lay.width
        assert box.y - box.height / 2 >= 0 and box.y + box.height / 2 <= lay.height
    for a, b in itertools.combinations(lay.nodes, 2):
        xs = (a.x - a.width / 2, a.x + a.width / 2), (b.x - b.width / 2, b.x + b.width / 2)
        ys = (a.y - a.height / 2, a.y + a.height / 2), (b.y - b.height / 2, b.y + b.height / 2)
        assert not (_overlap(*xs) and _overlap(*ys))


@given(graphs())
def test_each_route_runs_unbroken_from_a_side_of_its_source_to_a_side_of_its_target(
    graph: tuple[list[tuple[float, float]], list[Edge], int | None, int | None],
) -> None:
    sizes, edges, first, last = graph
    lay = layered_layout(sizes, edges, first=first, last=last)
    for e, route in zip(edges, lay.edges, strict=True):
        s, t = lay.nodes[e.source], lay.nodes[e.target]
        if route.loop:
            (curve,) = route.curves
            top = s.y - s.height / 2
            assert curve[0][1] == curve[3][1] == top
            assert max(p[1] for p in curve[1:3]) < top and route.label[1] < top
            continue
        for a, b in itertools.pairwise(route.curves):
            assert a[3] == b[0]
        start, end = route.curves[0][0], route.curves[-1][3]
        assert start[0] in (s.x - s.width / 2, s.x + s.width / 2)
        assert end[0] in (t.x - t.width / 2, t.x + t.width / 2)
        assert abs(start[1] - s.y) <= s.height / 2 and abs(end[1] - t.y) <= t.height / 2
        assert min(s.x, t.x) < route.label[0] < max(s.x, t.x)  # in the gap between columns


@given(graphs())
def test_the_same_graph_is_laid_out_the_same_way(
    graph: tuple[list[tuple[float, float]], list[Edge], int | None, int | None],
) -> None:
    sizes, edges, first, last = graph
    assert layered_layout(sizes, edges, first=first, last=last) == layered_layout(
        list(sizes), list(edges), first=first, last=last
    )


def test_a_chain_lays_out_one_node_per_column_left_to_right() -> None:
    lay = layered_layout([(40, 20)] * 3, [Edge(0, 1), Edge(1, 2)], first=0, last=2)
    assert lay.layers == ((0,), (1,), (2,))
    assert [b.layer for b in lay.nodes] == [0, 1, 2]
    assert lay.nodes[0].x < lay.nodes[1].x < lay.nodes[2].x
    assert len({b.y for b in lay.nodes}) == 1  # nothing pulls them apart


def test_the_heaviest_edge_out_of_a_cycle_stays_forward() -> None:
    # 0 -> 1 and 0 -> 2, with 1 <-> 2: the search from 0 follows the heavier edge out of 0
    # first, so the edge back into the node it reached first is the one drawn backwards.
    edges = [Edge(0, 1, 100), Edge(0, 2, 1), Edge(1, 2, 5), Edge(2, 1, 1)]
    assert back_edges(3, edges, first=0) == [False, False, False, True]
    heavy_two = [Edge(0, 1, 1), Edge(0, 2, 100), Edge(1, 2, 5), Edge(2, 1, 1)]
    assert back_edges(3, heavy_two, first=0) == [False, False, True, False]


def test_layout_of_a_cycle_without_a_first_node_still_layers_it() -> None:
    lay = layered_layout([(40, 20)] * 3, [Edge(0, 1), Edge(1, 2), Edge(2, 0)])
    assert sorted(n.layer for n in lay.nodes) == [0, 1, 2]
    assert sum(r.back for r in lay.edges) == 1


def test_an_empty_graph_is_only_its_margins() -> None:
    assert layered_layout([], [], margin=5.0) == Layout((), (), 10.0, 10.0, ())


def test_an_edge_to_a_missing_node_is_refused() -> None:
    with pytest.raises(ValueError, match=r"edge 0->3 names a node outside 0\.\.1"):
        layered_layout([(10, 10), (10, 10)], [Edge(0, 3)])


# -- numpy helpers ---------------------------------------------------------------------------
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
