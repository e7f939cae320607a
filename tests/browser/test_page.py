"""The CX lead's page in a real browser: sign in, upload, compare, read the views, errors."""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path

import httpx
import polars as pl
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from journeyminer.miner.synthetic.generate import read_truth

from .conftest import ROOT, SAMPLE, Server

BROKEN_MAP = ROOT / "tests" / "data" / "maps" / "broken.toml"


def _watch(page: Page) -> list[str]:
    """Collect console errors and failed requests (a CSP violation or a CDN fetch shows here)."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The page's own API error answers (a 401 we provoke) log as failed resources: expected.
        if message.type == "error" and "status of 4" not in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(("http://127.0.0.1", "blob:", "data:"))
            else problems.append(r.url)
        ),
    )
    return problems


def _sign_in(page: Page, server: Server, key: str | None = None) -> None:
    page.goto(server.url)
    page.get_by_label("API key").fill(key or server.token)
    page.get_by_role("button", name="Sign in").click()


def _set_range(page: Page, selector: str, value: int) -> None:
    """Move a range slider as a person would: the value changes, then input and change fire."""
    page.locator(selector).evaluate(
        """(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true}));
                        el.dispatchEvent(new Event('change', {bubbles: true})); }""",
        value,
    )


def test_a_wrong_api_key_shows_the_problem_on_the_page(page: Page, server: Server) -> None:
    problems = _watch(page)
    _sign_in(page, server, key="jm_not-a-key")
    message = page.locator("#messages .message.error")
    expect(message).to_contain_text("Unauthorized")
    expect(message).to_contain_text("the API key is not valid")
    expect(page.locator("#setup")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    assert problems == []


def test_a_broken_map_shows_its_line_and_id(page: Page, server: Server, artifacts: Path) -> None:
    _sign_in(page, server)
    expect(page.locator("#setup")).to_be_visible()
    page.set_input_files("#map-file", BROKEN_MAP)
    page.get_by_role("button", name="Upload map").click()
    message = page.locator("#messages .message.error")
    expect(message).to_contain_text("Invalid journey map")
    expect(message).to_contain_text("line 8")
    expect(message).to_contain_text("“awareness”")
    expect(message.locator(".problems li")).to_have_count(9)
    page.screenshot(path=artifacts / "broken-map-error.png")


def _planted() -> dict[str, int]:
    truth = read_truth(SAMPLE)
    planted = truth.filter(pl.col("hidden_journey").is_not_null()).group_by("signature").len()
    return {"|".join(sig): n for sig, n in planted.iter_rows()}


def test_a_cx_lead_compares_the_sample_with_its_designed_map(
    page: Page, server: Server, artifacts: Path
) -> None:
    problems = _watch(page)
    _sign_in(page, server)
    expect(page.locator("#setup")).to_be_visible()
    # The key lives in this tab's sessionStorage only.
    assert page.evaluate("sessionStorage.getItem('journeyminer.apiKey')") == server.token
    assert page.evaluate("localStorage.length") == 0 and page.context.cookies() == []

    # Upload the three sources with their presets, the identity and customer tables, the zone.
    page.locator("#upload-details").evaluate("d => d.open = true")
    page.set_input_files("#log-files", [SAMPLE / f"{n}.csv" for n in ("web", "call_center", "crm")])
    for i, preset in enumerate(("web", "call_center", "crm")):
        page.select_option(f"#preset-{i}", preset)
    page.set_input_files("#identities", SAMPLE / "identities.csv")
    page.set_input_files("#customers", SAMPLE / "customers.csv")
    page.get_by_label("Time zone").fill("Europe/Amsterdam")
    page.get_by_role("button", name="Upload and read the log").click()
    expect(page.locator("#log-facts")).to_contain_text("2,741 journeys", timeout=30_000)
    logs = httpx.get(
        f"{server.url}/api/v1/logs", headers={"Authorization": f"Bearer {server.token}"}
    ).json()["logs"]
    assert logs[0]["mapping"]["customers"]["file"] == "customers.csv"

    page.set_input_files("#map-file", SAMPLE / "map.toml")
    page.get_by_role("button", name="Upload map").click()
    expect(page.locator("#map-select")).to_have_value(re.compile(r"^map_"))
    page.get_by_label("Split every view by").fill("device")

    # Record every value the progress bar shows while the comparison runs.
    page.evaluate(
        """() => {
          window.progressSeen = [];
          const bar = document.querySelector('#run-progress .progress');
          new MutationObserver(() => window.progressSeen.push(+bar.getAttribute('aria-valuenow')))
            .observe(bar, {attributes: true, attributeFilter: ['aria-valuenow']});
        }"""
    )
    page.get_by_role("button", name="Compare the journeys with the map").click()
    expect(page.locator("#results")).to_be_visible(timeout=60_000)
    seen = page.evaluate("window.progressSeen")
    assert seen[-1] == 100 and any(0 < v < 100 for v in seen) and seen == sorted(seen), seen
    expect(page.locator('[data-kpi="journeys"] strong')).to_have_text("2,741")

    # The journey map: every designed touchpoint, in its phase's column, phases left to right.
    designed = tomllib.loads((SAMPLE / "map.toml").read_text())
    svg = page.locator("#map-container svg")
    columns = [
        svg.locator(f'g.phase[data-phase="{p["id"]}"] > rect').bounding_box()
        for p in designed["phases"]
    ]
    assert all(a["x"] < b["x"] for a, b in itertools.pairwise(columns))
    phase_box = {p["id"]: box for p, box in zip(designed["phases"], columns, strict=True)}
    for tp in designed["touchpoints"]:
        node = svg.locator(f'g.touchpoint[data-touchpoint="{tp["id"]}"]')
        expect(node).to_have_count(1)
        box, col = node.bounding_box(), phase_box[tp["phase"]]
        assert col["x"] <= box["x"] + box["width"] / 2 <= col["x"] + col["width"], tp["id"]
    expect(
        svg.locator('g.touchpoint[data-touchpoint="phone_order"][data-lane="hidden"]')
    ).to_have_count(1)
    expect(svg.locator('g.flow[data-kind="unexpected"]')).to_have_count(5)

    # Picking a touchpoint shows its numbers beside the map; so does the keyboard on a flow.
    svg.locator('g.touchpoint[data-touchpoint="landing_page"]').click()
    details = page.locator("#map-details")
    expect(details).to_contain_text("Drop-offs here")
    expect(details).to_contain_text("530")
    page.screenshot(path=artifacts / "map-1280x800.png")
    page.keyboard.press("Escape")
    expect(details).to_be_hidden()
    expect(svg.locator('g.touchpoint[data-touchpoint="landing_page"]')).to_be_focused()
    svg.locator('g.flow[data-from="email_click"][data-to="add_to_cart"]').focus()
    page.keyboard.press("Enter")
    expect(details).to_contain_text("unexpected flow: seen, not in the map")
    expect(details).to_contain_text("119")

    # Tabs answer the arrow keys (roving tabindex).
    page.locator("#tab-map").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-funnel")).to_be_focused()
    expect(page.locator("#tab-funnel")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-funnel")).to_contain_text("Value at risk")
    expect(page.locator("#funnel-chart .main-svg").first).to_be_visible()

    # Hidden journeys: the planted ones with their counts.
    page.get_by_role("tab", name="Hidden journeys").click()
    rows = page.locator("#hidden-table tbody tr")
    planted = _planted()
    expect(rows).to_have_count(len(planted))
    for key, n in planted.items():
        expect(page.locator(f'#hidden-table tr[data-key="{key}"] td').first).to_have_text(f"{n:,}")

    page.locator("#hidden-table thead").get_by_role("button", name="Conversion", exact=True).click()
    expect(rows.first).to_have_attribute("data-key", "support_call->complaint")

    # Selecting one highlights its path on the map and lists example journeys.
    page.locator('#hidden-table tr[data-key="email_click->add_to_cart"] .row-select').click()
    expect(page.locator("#hidden-detail")).to_contain_text("119 journeys")
    expect(page.locator("#hidden-detail .examples > li").first).to_contain_text("unexpected flow")
    for box in ("#hidden-map", "#map-container"):
        flow = page.locator(f'{box} g.flow[data-from="email_click"][data-to="add_to_cart"]')
        expect(flow).to_have_class(re.compile(r"\bis-highlighted\b"))
        expect(page.locator(f"{box} svg")).to_have_class(re.compile(r"\bhas-highlight\b"))
        expect(page.locator(f'{box} g.touchpoint[data-touchpoint="add_to_cart"]')).to_have_class(
            re.compile(r"\bis-highlighted\b")
        )
        other = page.locator(f'{box} g.flow[data-from="order_shipped"][data-to="delivered"]')
        expect(other).not_to_have_class(re.compile(r"\bis-highlighted\b"))
    page.screenshot(path=artifacts / "hidden-journey-1280x800.png", full_page=True)

    # The variants explorer covers journeys as the slider says; the performance view is drawn.
    page.get_by_role("tab", name="Variants & speed").click()
    expect(page.locator("#coverage-out")).to_contain_text("80% of journeys")
    expect(page.locator("#dfg-container svg")).to_be_visible()
    many = page.locator("#variants-list tbody tr").count()
    _set_range(page, "#coverage", 50)
    expect(page.locator("#coverage-out")).to_contain_text("50% of journeys")
    assert 0 < page.locator("#variants-list tbody tr").count() < many
    expect(page.locator("#dfg-note")).to_contain_text("most frequent variants.")

    # Time frames and the satisfaction curve.
    page.get_by_role("tab", name="Time frames & satisfaction").click()
    expect(page.locator("#panel-time")).to_contain_text("order confirmed → delivered")
    expect(page.locator("#satisfaction-chart .main-svg").first).to_be_visible()

    # Segments side by side, then every view for one segment.
    page.get_by_role("tab", name="Segments").click()
    cards = page.locator("#panel-segments .segment")
    expect(cards).to_have_count(3)
    per_device = {
        card.get_attribute("data-segment"): card.locator("dd").first.inner_text()
        for card in cards.all()
    }
    assert sum(int(n.replace(",", "")) for n in per_device.values()) == 2741, per_device
    page.select_option("#segment-value", "mobile")
    expect(page.locator('[data-kpi="journeys"] strong')).to_have_text(per_device["mobile"])
    expect(page.locator("#segment-note")).to_contain_text("device = mobile")
    expect(page.locator("#panel-segments .segment")).to_have_count(3)
    page.screenshot(path=artifacts / "segment-mobile-1280x800.png", full_page=True)

    # Downloads: the result as JSON, a table as CSV, the map as PNG (drawn through a canvas).
    page.get_by_role("tab", name="Downloads").click()
    for name, suffix in (
        ("Result as JSON", ".json"),
        ("hidden journeys (CSV)", ".csv"),
        ("Map as PNG", ".png"),
    ):
        with page.expect_download() as download:
            page.get_by_role("button", name=name).click()
        assert download.value.suggested_filename.endswith(suffix)
        assert Path(download.value.path()).stat().st_size > 100

    # A map drafted from the log joins the stored maps (the set-up folded away after the run).
    expect(page.locator("#setup-body")).to_be_hidden()
    page.get_by_role("button", name="Change the log or the map").click()
    for suffix in ("(draft)", "(draft 2)"):
        page.get_by_role("button", name="Draft a map from the selected log").click()
        expect(page.locator("#map-select option:checked")).to_contain_text(suffix)

    # Tablet width: still one readable column.
    page.set_viewport_size({"width": 768, "height": 1024})
    page.get_by_role("tab", name="Journey map").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    page.screenshot(path=artifacts / "map-768x1024.png", full_page=True)
    assert problems == []


@pytest.mark.parametrize("path", ["/static/vendor/plotly.min.js", "/static/app.js", "/"])
def test_the_page_and_its_scripts_come_from_the_server(
    page: Page, server: Server, path: str
) -> None:
    response = page.request.get(server.url + path)
    assert response.ok and len(response.body()) > 500
    assert "default-src 'self'" in response.headers["content-security-policy"]
