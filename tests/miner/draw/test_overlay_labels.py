"""Flow labels on the overlay: placed where they cover no touchpoint, header or other label."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import numpy as np

from journeyminer.miner.discover.discovery import discover_dfg
from journeyminer.miner.draw.overlay import Overlay, build_overlay
from journeyminer.miner.maps.designed import DesignedMap, Phase, Touchpoint
from tests.strategies import BASE_US, log_from_rows

SVG = "{http://www.w3.org/2000/svg}"
Box = tuple[float, float, float, float]


def busy_overlay(n_touchpoints: int = 32, n_journeys: int = 600, seed: int = 3) -> Overlay:
    """A map of `n_touchpoints` in 5 phases and random journeys over them: many flows, designed
    (within a phase and to the next) and unexpected (anything else)."""
    phases = tuple(Phase(f"phase_{i}", f"Phase {i + 1}") for i in range(5))
    ids = [f"step_{i:02d}_add_to_cart" for i in range(n_touchpoints)]
    phase_of = {t: phases[i * 5 // n_touchpoints].id for i, t in enumerate(ids)}
    flows = tuple(
        (a, b)
        for a, b in itertools.permutations(ids, 2)
        if int(phase_of[b][-1]) - int(phase_of[a][-1]) in (0, 1) and ids.index(b) > ids.index(a)
    )
    designed = DesignedMap(
        name="Busy",
        version="as-is",
        phases=phases,
        touchpoints=tuple(Touchpoint(t, phase_of[t]) for t in ids),
        start=(ids[0],),
        goal=(ids[-1],),
        flows=flows,
    )
    rng = np.random.default_rng(seed)
    rows = []
    for case in range(n_journeys):
        at = 0
        for k in range(int(rng.integers(2, 9))):
            rows.append((f"c{case}", ids[at], BASE_US + case * 10**8 + k * 10**6, "web"))
            step = int(rng.choice([1, 1, 1, 2, 3, -1, 5]))
            at = min(max(at + step, 0), n_touchpoints - 1)
    return build_overlay(designed, discover_dfg(log_from_rows(rows)))


def _rect(node: ET.Element) -> Box:
    return tuple(float(node.get(k, 0)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_no_flow_label_covers_a_touchpoint_or_another_label_with_32_touchpoints() -> None:
    root = ET.fromstring(busy_overlay().to_svg())
    labels = [
        _rect(g.find(f"{SVG}rect")) for g in root.iter(f"{SVG}g") if g.get("class") == "flow-label"
    ]  # type: ignore[arg-type]
    boxes = [
        _rect(g.find(f"{SVG}rect"))  # type: ignore[arg-type]
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "touchpoint"
    ]
    assert len(boxes) == 32 and len(labels) > 40
    for a, b in itertools.combinations(labels, 2):
        assert not _overlap(a, b), (a, b)
    for a in labels:
        assert not any(_overlap(a, b) for b in boxes), a


def test_touchpoints_show_human_names_and_keep_their_ids_on_hover() -> None:
    root = ET.fromstring(busy_overlay(n_touchpoints=6, n_journeys=20).to_svg())
    node = next(
        g for g in root.iter(f"{SVG}g") if g.get("data-touchpoint") == "step_00_add_to_cart"
    )
    texts = [t.text for t in node.iter(f"{SVG}text")]
    assert texts[0] == "step 00 add to cart"
    assert "step_00_add_to_cart" in (node.find(f"{SVG}title").text or "")  # type: ignore[union-attr]
