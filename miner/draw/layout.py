"""Layered (Sugiyama-style) drawing of a directed graph, left to right, in Python and numpy.

The steps, each deterministic (ties go to the lower node or edge index, never hash order):

1. break cycles: a depth-first search from `first`, heaviest edge first, marks back edges;
2. layer by longest path from `first`; `last` goes alone into a final layer;
3. every edge gets a dummy in the label column between two node columns, and one in each
   further column it crosses, so labels and long edges get space of their own;
4. order each column by barycenter sweeps, keeping the order with the fewest crossings;
5. place each column by weighted isotonic regression towards its neighbours, which keeps
   the order and the minimum gaps by construction: boxes never overlap;
6. route edges as horizontal runs through columns joined by cubic Béziers.

Cost: O((nodes + edges x columns spanned) x sweeps), no system binary. Steps 1 and 2 are
here, 3 to 6 in `placement.py`; what goes in and comes out is in `geometry.py`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from .geometry import Edge, Layout
from .placement import RankedItems


def layered_layout(
    sizes: Sequence[tuple[float, float]],
    edges: Sequence[Edge],
    *,
    first: int | None = None,
    last: int | None = None,
    margin: float = 12.0,
) -> Layout:
    """Lay out nodes of the given (width, height) and edges left to right; see the module doc."""
    n = len(sizes)
    if n == 0:
        return Layout((), (), 2 * margin, 2 * margin, ())
    for e in edges:
        if not (0 <= e.source < n and 0 <= e.target < n):
            raise ValueError(f"edge {e.source}->{e.target} names a node outside 0..{n - 1}")
    back, preorder = _break_cycles(n, edges, first)
    layer = _layers(n, edges, back, first, last)
    g = RankedItems(sizes, edges, layer, preorder)
    g.order()
    g.place_vertically(margin)
    g.place_horizontally(margin)
    return g.layout(edges, back, layer, margin)


def back_edges(n: int, edges: Sequence[Edge], *, first: int | None = None) -> list[bool]:
    """Which edges `layered_layout` draws against the flow (they close a cycle); loops: False."""
    return _break_cycles(n, edges, first)[0]


def _break_cycles(n: int, edges: Sequence[Edge], first: int | None) -> tuple[list[bool], list[int]]:
    """Back edges of a DFS from `first` (heaviest edge first), and the DFS preorder of nodes."""
    out: list[list[int]] = [[] for _ in range(n)]
    has_in = [False] * n
    for k, e in enumerate(edges):
        if e.source != e.target:
            out[e.source].append(k)
            has_in[e.target] = True
    for ks in out:
        ks.sort(key=lambda k: (-edges[k].weight, edges[k].target, k))
    state = [0] * n  # 0 unseen, 1 on the DFS stack, 2 finished
    preorder = [0] * n
    back = [False] * len(edges)
    seen = 0
    others = sorted(range(n), key=lambda i: (has_in[i], i))
    for root in ([first] if first is not None else []) + others:
        if state[root]:
            continue
        state[root], preorder[root], seen = 1, seen, seen + 1
        stack = [(root, 0)]
        while stack:
            u, i = stack[-1]
            if i == len(out[u]):
                state[u] = 2
                stack.pop()
                continue
            stack[-1] = (u, i + 1)
            k = out[u][i]
            v = edges[k].target
            if state[v] == 1:
                back[k] = True
            elif state[v] == 0:
                state[v], preorder[v], seen = 1, seen, seen + 1
                stack.append((v, 0))
    return back, preorder


def _layers(
    n: int, edges: Sequence[Edge], back: list[bool], first: int | None, last: int | None
) -> list[int]:
    """Longest-path layers over the edges with back edges reversed; `first` alone in layer 0."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for k, e in enumerate(edges):
        if e.source == e.target:
            continue
        u, v = (e.target, e.source) if back[k] else (e.source, e.target)
        succ[u].append(v)
        indeg[v] += 1
    base = 0 if first is None else 1
    layer = [0 if i == first else base for i in range(n)]
    queue = deque(i for i in range(n) if indeg[i] == 0)
    while queue:
        u = queue.popleft()
        for v in succ[u]:
            layer[v] = max(layer[v], layer[u] + 1)
            indeg[v] -= 1
            if indeg[v] == 0:
                queue.append(v)
    if last is not None and not succ[last] and n > 1:
        layer[last] = max(layer[i] for i in range(n) if i != last) + 1
    return layer
