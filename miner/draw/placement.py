"""Steps 3 to 6 of the layered layout (`layout.py`): nodes and edge dummies on ranks, ordered
by barycenter sweeps, placed by isotonic regression, edges routed as runs and S-curves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from .geometry import Cubic, Edge, EdgeRoute, Layout, NodeBox

NODE_GAP = 18.0  # vertical space between two boxes in one column
LINE_GAP = 6.0  # vertical space beside an edge passing through a column
MIN_COLUMN_GAP = 32.0
MAX_COLUMN_GAP = 140.0
LOOP_RISE = 22.0  # height of a self-loop arc above its box
SWEEPS = 6
PLACEMENT_ROUNDS = 3
DUMMY_WEIGHT = 2.0  # long edges resist bending more than boxes do


def _isotonic(target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit: pool adjacent violators, O(n).

    A few vectorised rounds first pool every maximal decreasing run of blocks (PAVA would
    pool each whole run too: a run's pooled mean stays above the value after it); the
    classic stack then finishes the few blocks left.
    """
    value, mass = target.astype(float), weight.astype(float)
    size = np.ones(value.size, dtype=np.int64)
    for _ in range(3):
        falls = value[:-1] > value[1:]
        if not falls.any():
            return np.repeat(value, size)
        group = np.cumsum(np.concatenate(([True], ~falls))) - 1
        pooled = np.bincount(group, weights=mass)
        value = np.bincount(group, weights=value * mass) / pooled
        mass, size = pooled, np.bincount(group, weights=size).astype(np.int64)
    blocks: list[tuple[float, float, int]] = []
    for v, m, c in zip(value.tolist(), mass.tolist(), size.tolist(), strict=True):
        while blocks and blocks[-1][0] > v:
            v0, m0, c0 = blocks.pop()
            v, m, c = (v0 * m0 + v * m) / (m0 + m), m0 + m, c0 + c
        blocks.append((v, m, c))
    return np.repeat([b[0] for b in blocks], [b[2] for b in blocks])


class RankedItems:
    """Nodes and dummies on ranks (node layer x 2; odd ranks hold the edge labels).

    The sweeps and the placement work rank by rank on numpy arrays: a drawing with
    thousands of dummies (long edges in a deep graph) still takes a fraction of a second.
    """

    def __init__(
        self,
        sizes: Sequence[tuple[float, float]],
        edges: Sequence[Edge],
        layer: list[int],
        preorder: list[int],
    ) -> None:
        n = self.n = len(sizes)
        self.box = [(float(w), float(h)) for w, h in sizes]
        rank = [2 * layer[i] for i in range(n)]
        width = [float(w) for w, _ in sizes]
        top = [h / 2 for _, h in sizes]  # extent above the centre
        bottom = [h / 2 for _, h in sizes]
        key = [(preorder[i], -1, 0) for i in range(n)]
        lo: list[int] = []  # segments between neighbouring ranks: lo in rank r, hi in r + 1
        hi: list[int] = []
        seg_w: list[float] = []
        self.chains: list[list[int]] = []
        for k, e in enumerate(edges):
            chain = [e.source]
            if e.source == e.target:
                room = LOOP_RISE + e.label_height + 4
                top[e.source] = max(top[e.source], sizes[e.source][1] / 2 + room)
                width[e.source] = max(width[e.source], e.label_width)
                self.chains.append(chain)
                continue
            rs, rt = rank[e.source], rank[e.target]
            step = 1 if rt > rs else -1
            for r in range(rs + step, rt, step):
                labelled = r == rs + step
                half = (e.label_height if labelled else 2.0) / 2
                chain.append(len(rank))
                rank.append(r)
                width.append(e.label_width if labelled else 0.0)
                top.append(half)
                bottom.append(half)
                key.append((preorder[e.source], k, r))
            chain.append(e.target)
            w = math.sqrt(max(e.weight, 0.0)) + 1.0
            for a, b in pairwise(chain):
                lo.append(a if rank[a] < rank[b] else b)
                hi.append(b if rank[a] < rank[b] else a)
                seg_w.append(w)
            self.chains.append(chain)
        total = len(rank)
        self.rank = np.array(rank, dtype=np.int64)
        self.width = np.array(width)
        self.top, self.bottom = np.array(top), np.array(bottom)
        self.weight = np.where(np.arange(total) < n, 1.0, DUMMY_WEIGHT)
        self.lo = np.array(lo, dtype=np.int64)
        self.hi = np.array(hi, dtype=np.int64)
        self.seg_w = np.array(seg_w)
        keys = np.array(key, dtype=np.int64).reshape(total, 3)
        by_key = np.lexsort((keys[:, 2], keys[:, 1], keys[:, 0], self.rank))
        n_ranks = int(self.rank.max()) + 1
        cuts = np.searchsorted(self.rank[by_key], np.arange(n_ranks + 1))
        self.ranks = [by_key[cuts[r] : cuts[r + 1]] for r in range(n_ranks)]
        self.pos = np.zeros(total, dtype=np.int64)
        for items in self.ranks:
            self.pos[items] = np.arange(items.size)
        self.slot = self.pos.copy()  # index in the (fixed) rank arrays while sweeping
        # Segments entering each rank from the left, and leaving it to the right.
        seg_rank = self.rank[self.lo]
        order = np.argsort(seg_rank, kind="stable")
        cuts = np.searchsorted(seg_rank[order], np.arange(n_ranks + 1))
        self.out_of = [order[cuts[r] : cuts[r + 1]] for r in range(n_ranks)]
        self.into = [np.empty(0, dtype=np.int64), *self.out_of[:-1]]
        self.y = np.zeros(total)
        self.x = np.zeros(n_ranks)
        self.column = np.zeros(n_ranks)

    # -- step 4: order within columns -------------------------------------------------------
    def order(self) -> None:
        """Reorder each rank by barycenter sweeps; keep the order with the fewest crossings."""
        best = self._crossings()
        best_pos = self.pos.copy()
        stale = 0
        last = len(self.ranks) - 1
        for _ in range(SWEEPS):
            if best == 0:
                break
            for r in range(1, last + 1):
                self._sort_by_barycenter(r, self.into[r], self.hi, self.lo)
            for r in range(last - 1, -1, -1):
                self._sort_by_barycenter(r, self.out_of[r], self.lo, self.hi)
            c = self._crossings()
            if c < best:
                best, best_pos, stale = c, self.pos.copy(), 0
            else:
                stale += 1
                if stale >= 2:
                    break
        self.pos = best_pos
        # From here on each rank lists its items top to bottom, and pos is the index there.
        self.ranks = [items[np.argsort(best_pos[items])] for items in self.ranks]

    def _sort_by_barycenter(
        self, r: int, segs: np.ndarray, here: np.ndarray, there: np.ndarray
    ) -> None:
        items = self.ranks[r]
        if items.size < 2:
            return
        cur = self.pos[items]
        local = self.slot[here[segs]]
        total = np.bincount(local, weights=self.pos[there[segs]], minlength=items.size)
        count = np.bincount(local, minlength=items.size)
        bary = np.where(count > 0, total / np.maximum(count, 1), cur)
        self.pos[items[np.lexsort((cur, bary))]] = np.arange(items.size)

    def _crossings(self) -> int:
        """Edge crossings between all neighbouring ranks: inversions of one key sequence."""
        if self.lo.size < 2:
            return 0
        seg_rank = self.rank[self.lo]
        pa, pb = self.pos[self.lo], self.pos[self.hi]
        order = np.lexsort((pb, pa, seg_rank))
        # Keys rise from one rank pair to the next, so pairs across ranks never invert.
        return _inversions((seg_rank * (int(pb.max()) + 1) + pb)[order])

    # -- step 5: vertical placement ---------------------------------------------------------
    def place_vertically(self, margin: float) -> None:
        """Stack each rank with its gaps, then pull it towards its neighbours, rank by rank."""
        real = np.arange(self.rank.size) < self.n
        self.offsets: list[np.ndarray] = []
        for items in self.ranks:
            a, b = items[:-1], items[1:]
            gap = np.where(real[a] & real[b], NODE_GAP, LINE_GAP)
            off = np.concatenate(([0.0], np.cumsum(self.bottom[a] + gap + self.top[b])))
            self.offsets.append(off)
            self.y[items] = off - off[-1] / 2
        last = len(self.ranks) - 1
        for _ in range(PLACEMENT_ROUNDS):
            for r in range(1, last + 1):
                self._pull(r, left=True, right=False)
            for r in range(last - 1, -1, -1):
                self._pull(r, left=False, right=True)
        for r in range(last + 1):
            self._pull(r, left=True, right=True)
        self.y += margin - float(np.min(self.y - self.top))

    def _pull(self, r: int, *, left: bool, right: bool) -> None:
        """Move rank `r` towards the weighted mean of its neighbours, keeping order and gaps."""
        items = self.ranks[r]
        if items.size == 0:
            return
        m = items.size
        total, mass = np.zeros(m), np.zeros(m)
        for use, segs, here, there in (
            (left, self.into[r], self.hi, self.lo),
            (right, self.out_of[r], self.lo, self.hi),
        ):
            if use and segs.size:
                slot = self.pos[here[segs]]
                w = self.seg_w[segs]
                total += np.bincount(slot, weights=self.y[there[segs]] * w, minlength=m)
                mass += np.bincount(slot, weights=w, minlength=m)
        want = np.where(mass > 0, total / np.maximum(mass, 1e-12), self.y[items])
        off = self.offsets[r]
        self.y[items] = _isotonic(want - off, self.weight[items]) + off

    # -- step 6: columns and routes ---------------------------------------------------------
    def place_horizontally(self, margin: float) -> None:
        """Ranks as wide as their widest item, the gap after each growing with its edges' rise."""
        n_ranks = len(self.ranks)
        for r, items in enumerate(self.ranks):
            self.column[r] = float(self.width[items].max()) if items.size else 0.0
        rise = np.zeros(n_ranks)
        if self.lo.size:
            np.maximum.at(rise, self.rank[self.lo], np.abs(self.y[self.lo] - self.y[self.hi]))
        gaps = np.clip(rise / 3, MIN_COLUMN_GAP, MAX_COLUMN_GAP)
        left = margin
        for r in range(n_ranks):
            self.x[r] = left + self.column[r] / 2
            left += self.column[r] + gaps[r]

    def layout(
        self, edges: Sequence[Edge], back: list[bool], layer: list[int], margin: float
    ) -> Layout:
        """The placed boxes and the routed edges (self-loops as arcs above their box)."""
        n = self.n
        x, y, rank = self.x.tolist(), self.y.tolist(), self.rank.tolist()
        column = self.column.tolist()
        nodes = tuple(
            NodeBox(x[rank[i]], y[i], self.box[i][0], self.box[i][1], layer[i]) for i in range(n)
        )
        ports = self._ports(nodes, y, rank)
        routes: list[EdgeRoute] = []
        for k, (e, chain) in enumerate(zip(edges, self.chains, strict=True)):
            if len(chain) == 1:
                routes.append(_loop(nodes[e.source], e.label_height))
                continue
            sign = 1.0 if rank[chain[-1]] > rank[chain[0]] else -1.0
            s, t = nodes[e.source], nodes[e.target]
            points = [(s.x + sign * s.width / 2, ports[k, 0])]
            for d in chain[1:-1]:
                half, cx = column[rank[d]] / 2, x[rank[d]]
                points += [(cx - sign * half, y[d]), (cx + sign * half, y[d])]
            points.append((t.x - sign * t.width / 2, ports[k, 1]))
            curves: list[Cubic] = []
            for p, (a, b) in enumerate(pairwise(points)):
                if p % 2 == 0:  # across the gap between two columns: an S-curve, flat at its ends
                    mid = (a[0] + b[0]) / 2
                    curves.append((a, (mid, a[1]), (mid, b[1]), b))
                elif a != b:  # through a column: a straight run
                    curves.append((a, a, b, b))
            label = (x[rank[chain[1]]], y[chain[1]])
            routes.append(EdgeRoute(tuple(curves), label, back[k], False))
        layers: list[list[int]] = [[] for _ in range(max(layer) + 1)]
        for items in self.ranks:
            for i in items.tolist():
                if i < n:
                    layers[layer[i]].append(i)
        width = x[-1] + column[-1] / 2 + margin
        height = float(np.max(self.y + self.bottom)) + margin
        return Layout(nodes, tuple(routes), width, height, tuple(tuple(ls) for ls in layers))

    def _ports(
        self, nodes: tuple[NodeBox, ...], y: list[float], rank: list[int]
    ) -> dict[tuple[int, int], float]:
        """Where each edge leaves and enters its boxes: spread along the side, by neighbour y."""
        ends: dict[tuple[int, int], list[tuple[float, int, int]]] = {}
        for k, chain in enumerate(self.chains):
            if len(chain) == 1:
                continue
            for end, node, nbr in ((0, chain[0], chain[1]), (1, chain[-1], chain[-2])):
                side = 1 if rank[nbr] > rank[node] else 0
                ends.setdefault((node, side), []).append((y[nbr], k, end))
        ports: dict[tuple[int, int], float] = {}
        for (node, _), group in sorted(ends.items()):
            group.sort()
            box = nodes[node]
            step = min(9.0, box.height * 0.6 / (len(group) - 1)) if len(group) > 1 else 0.0
            for p, (_, k, end) in enumerate(group):
                ports[k, end] = box.y + (p - (len(group) - 1) / 2) * step
        return ports


def _inversions(values: np.ndarray) -> int:
    """Pairs i < j with values[i] > values[j]: a bottom-up merge sort in numpy, O(n log^2 n)."""
    a = np.asarray(values, dtype=np.int64).copy()
    n, total, width = a.size, 0, 1
    if n < 2:
        return 0
    span = int(a.max()) + 1
    idx = np.arange(n)
    while width < n:
        block = idx // (2 * width)
        right = (idx % (2 * width)) >= width
        keyed = block * span + a  # each block's halves are sorted; keys keep blocks apart
        left_keys = keyed[~right]
        below = np.searchsorted(left_keys, keyed[right], side="right")
        block_end = np.searchsorted(left_keys, (block[right] + 1) * span, side="left")
        total += int((block_end - below).sum())
        # Stable sort is timsort here: it merges the two sorted runs of each block in O(n).
        a = np.sort(keyed, kind="stable") - block * span
        width *= 2
    return total


def _loop(box: NodeBox, label_height: float) -> EdgeRoute:
    """A self-loop: an arc rising LOOP_RISE above the top of the box, label above the arc."""
    top = box.y - box.height / 2
    a = min(box.width / 4, 16.0)
    lift = LOOP_RISE * 4 / 3  # a cubic reaches 3/4 of its control points' height
    curve = (
        (box.x + a, top),
        (box.x + a + 10, top - lift),
        (box.x - a - 10, top - lift),
        (box.x - a, top),
    )
    label = (box.x, top - LOOP_RISE - 2 - label_height / 2)
    return EdgeRoute((curve,), label, False, True)
