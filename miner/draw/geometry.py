"""What a layered layout takes and gives: edges to lay out, placed boxes, routed edges made of
cubic Béziers, and the whole layout; coordinates are px, y grows downwards."""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[float, float]
Cubic = tuple[Point, Point, Point, Point]


@dataclass(frozen=True)
class Edge:
    """An edge to draw: node indices, a weight (heavy edges form the main path), its label box."""

    source: int
    target: int
    weight: float = 1.0
    label_width: float = 0.0
    label_height: float = 0.0


@dataclass(frozen=True)
class NodeBox:
    """A placed node: centre, size and layer (0 = first column)."""

    x: float
    y: float
    width: float
    height: float
    layer: int


@dataclass(frozen=True)
class EdgeRoute:
    """A routed edge: cubic Bézier pieces from source port to target port, and its label centre."""

    curves: tuple[Cubic, ...]
    label: Point
    back: bool  # drawn against the flow: it closes a cycle
    loop: bool  # a self-loop, drawn as an arc above its box


@dataclass(frozen=True)
class Layout:
    """Where every node and edge goes; `layers` lists node indices per layer, top to bottom."""

    nodes: tuple[NodeBox, ...]
    edges: tuple[EdgeRoute, ...]
    width: float
    height: float
    layers: tuple[tuple[int, ...], ...]
