"""The journey map reads cleanly: label boxes measured in the browser overlap nothing."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.miner.draw.test_overlay_labels import busy_overlay

from .conftest import Server
from .test_page import _sign_in, _watch

MEASURE = """(root) => {
  const box = (n) => { const b = n.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; };
  return {
    labels: [...root.querySelectorAll('g.flow-label')].map(box),
    boxes: [...root.querySelectorAll('g.touchpoint > rect')].map(box),
  };
}"""


def _overlap(a: list[float], b: list[float], slack: float = 0.5) -> bool:
    return (
        a[0] + slack < b[0] + b[2]
        and b[0] + slack < a[0] + a[2]
        and a[1] + slack < b[1] + b[3]
        and b[1] + slack < a[1] + a[3]
    )


def _assert_no_overlaps(measured: dict[str, Any]) -> None:
    labels, boxes = measured["labels"], measured["boxes"]
    assert labels and boxes
    for a, b in itertools.combinations(labels, 2):
        assert not _overlap(a, b), f"labels overlap: {a} {b}"
    for a in labels:
        for b in boxes:
            assert not _overlap(a, b), f"label {a} covers touchpoint {b}"


def test_the_sample_map_labels_overlap_nothing_at_1280_and_1920(
    page: Page, server: Server, artifacts: Path
) -> None:
    problems = _watch(page)
    _sign_in(page, server)
    page.get_by_role("button", name="Try the sample").click()
    expect(page.locator("#results")).to_be_visible(timeout=90_000)
    svg = page.locator("#map-container svg")
    # Human names on the boxes, ids on hover.
    cart = svg.locator('g.touchpoint[data-touchpoint="add_to_cart"]')
    expect(cart.locator("text").first).to_have_text("add to cart")
    expect(cart.locator("title")).to_contain_text("add_to_cart")
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 1000})
        page.get_by_role("tab", name="Journey map").click()
        _assert_no_overlaps(svg.evaluate(MEASURE))
        # The details sit beside the map, never over it.
        svg.locator('g.touchpoint[data-touchpoint="landing_page"]').click()
        details = page.locator("#map-details")
        expect(details).to_be_visible()
        d, m = details.bounding_box(), page.locator("#map-container").bounding_box()
        assert (
            d
            and m
            and not _overlap(
                [d["x"], d["y"], d["width"], d["height"]], [m["x"], m["y"], m["width"], m["height"]]
            )
        )
        page.screenshot(path=artifacts / f"map-labels-{width}.png")
        _assert_no_overlaps(svg.evaluate(MEASURE))
        page.keyboard.press("Escape")
    assert problems == []


def test_a_map_of_32_touchpoints_has_no_overlapping_labels_in_the_browser(
    page: Page, artifacts: Path
) -> None:
    page.set_viewport_size({"width": 1920, "height": 1200})
    page.set_content(f"<!doctype html><body style='margin:0'>{busy_overlay().to_svg()}</body>")
    measured = page.locator("svg").first.evaluate(MEASURE)
    assert len(measured["boxes"]) == 32
    _assert_no_overlaps(measured)
    page.screenshot(path=artifacts / "map-labels-32-touchpoints.png", full_page=True)
