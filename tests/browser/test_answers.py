"""The page's answers against the API's result for the same analysis: headline totals, the
worst segment, hidden-journey deltas, the priorities, and every view for one segment."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import SAMPLE, Server

API = "/api/v1"


def _num(x: float) -> str:
    """As the page writes a count: 2,741."""
    return f"{round(x):,}"


def _pct(x: float) -> str:
    """As the page writes a share: 31.2%."""
    return f"{x * 100:.1f}%"


def _pt(x: float) -> str:
    """As the page writes a difference of shares: +25.9 pt, −3.0 pt (a real minus sign)."""
    v = x * 100
    return f"{'+' if v > 0 else '−' if v < 0 else '±'}{abs(v):.1f} pt"


def _words(name: str) -> str:
    return name.replace("_", " ").replace("->", "→")


class Api:
    """The API as a script sees it, with the same key the page signs in with."""

    def __init__(self, server: Server) -> None:
        self.client = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60
        )

    def wait(self, url: str) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.client.get(url).json()
            if job["status"] in ("done", "failed", "cancelled"):
                assert job["status"] == "done", job
                return job
            time.sleep(0.2)
        raise AssertionError(f"{url} did not finish")

    def compare(self, log: str, map_id: str, filters: dict[str, Any]) -> dict[str, Any]:
        """The result of the compare analysis the page runs (same request: the cached one)."""
        body = {"log": log, "map": map_id, "kind": "compare", "segment": "region"}
        made = self.client.post(f"{API}/analyses", json={**body, "filters": filters})
        assert made.status_code in (200, 202), made.text
        job = self.wait(made.json()["status_url"])
        result: dict[str, Any] = self.client.get(job["links"]["result"]).json()
        return result


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[Api]:
    client = Api(server)
    yield client
    client.client.close()


@pytest.fixture(scope="module")
def stored(api: Api) -> tuple[str, str]:
    """The sample (three sources, identities, customers) and its designed map, stored."""
    names = ("web", "call_center", "crm")
    files = [("files", (f"{n}.csv", (SAMPLE / f"{n}.csv").read_bytes(), "text/csv")) for n in names]
    files += [
        ("identities", ("identities.csv", (SAMPLE / "identities.csv").read_bytes())),
        ("customers", ("customers.csv", (SAMPLE / "customers.csv").read_bytes())),
    ]
    data = {"preset": list(names), "timezone": "Europe/Amsterdam", "name": "sample"}
    job = api.wait(api.client.post(f"{API}/logs", files=files, data=data).json()["status_url"])
    text = (SAMPLE / "map.toml").read_text()
    made = api.client.post(f"{API}/maps", json={"name": "map", "format": "toml", "text": text})
    assert made.status_code == 201, made.text
    return str(job["log"]), str(made.json()["id"])


@pytest.fixture(scope="module")
def page(browser: Browser, server: Server, stored: tuple[str, str]) -> Iterator[Page]:
    """The page after a CX lead compared the sample with its map, split by region."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(server.url)
    page.get_by_label("API key").fill(server.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#log-select")).to_have_value(stored[0])
    expect(page.locator("#map-select")).to_have_value(stored[1])
    page.get_by_label("Split every view by").fill("region")
    page.get_by_role("button", name="Compare the journeys with the map").click()
    expect(page.locator("#results")).to_be_visible(timeout=60_000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def result(api: Api, stored: tuple[str, str], page: Page) -> dict[str, Any]:
    """The API's result for the analysis the page ran."""
    return api.compare(*stored, {})


def _kpi(page: Page, name: str) -> tuple[str, str]:
    box = page.locator(f'[data-kpi="{name}"]')
    return box.locator("strong").inner_text(), box.locator(".kpi-note").inner_text()


def test_the_headline_holds_the_logs_totals(
    page: Page, result: dict[str, Any], artifacts: Path
) -> None:
    totals = result["totals"]
    assert (totals["journeys"], totals["in_progress"]) == (2_741, 55)  # the CLI's numbers
    journeys, note = _kpi(page, "journeys")
    assert journeys == _num(totals["journeys"])
    assert note == f"{_num(totals['in_progress'])} still in progress"
    conversion, note = _kpi(page, "conversion")
    assert conversion == _pct(totals["conversion_rate"])
    assert note == f"{_num(totals['converted'])} of {_num(totals['closed'])} closed journeys"
    # The biggest leak by journeys, and the one with the most value at risk, in its unit.
    leak, note = _kpi(page, "leak")
    by_volume = max(result["leaks"], key=lambda r: r["journeys"])
    by_value = max(result["leaks"], key=lambda r: r["value_at_risk"] or 0)
    assert leak == _words(by_volume["touchpoint"])
    assert note.startswith(f"{_num(by_volume['journeys'])} journeys leave here")
    unit = _words(result["value"]["impact_unit"])
    assert unit == "order value"
    assert f"most value at risk: {_words(by_value['touchpoint'])} " in note
    assert f"({_num(by_value['value_at_risk'])} {unit})" in note
    page.screenshot(path=artifacts / "answers-headline-1280x800.png")


def test_the_worst_segment_is_a_region_and_no_region_is_its_own_group(
    page: Page, result: dict[str, Any], artifacts: Path
) -> None:
    page.get_by_role("tab", name="Segments").click()
    panel = page.locator("#panel-segments")
    rows = result["by_segment"]["headline"]
    regions = [r for r in rows if r["segment"] is not None]
    worst = min(regions, key=lambda r: r["conversion_rate"])
    best = max(regions, key=lambda r: r["conversion_rate"])
    missing = next(r for r in rows if r["segment"] is None)
    assert missing["conversion_rate"] < worst["conversion_rate"]  # lower, yet no region
    lead = page.locator("#worst-segment")
    expect(lead).to_contain_text(
        f"Worst region: {worst['segment']} converts {_pct(worst['conversion_rate'])}"
    )
    expect(lead).to_contain_text(f"best: {best['segment']} ({_pct(best['conversion_rate'])})")
    expect(panel.locator(".segment.worst")).to_have_attribute("data-segment", worst["segment"])
    card = panel.locator('.segment[data-missing="true"]')
    expect(card.locator("h4")).to_contain_text("no region")
    expect(card).to_contain_text("not ranked")
    expect(card.locator('[data-fact="journeys"]')).to_have_text(_num(missing["journeys"]))
    expect(card.locator('[data-fact="in_progress"]')).to_have_text(_num(missing["in_progress"]))
    for row in regions:
        one = panel.locator(f'.segment[data-segment="{row["segment"]}"]')
        expect(one.locator('[data-fact="conversion"]')).to_have_text(_pct(row["conversion_rate"]))
    # One name for the group, everywhere: never "null" or "(none)".
    expect(page.locator("#segments-chart")).to_contain_text("no region")
    text = panel.inner_text()
    assert "null" not in text and "(none)" not in text
    page.screenshot(path=artifacts / "answers-segments-1280x800.png", full_page=True)


def test_hidden_journey_deltas_are_against_the_rest_of_the_closed_journeys(
    page: Page, result: dict[str, Any]
) -> None:
    page.get_by_role("tab", name="Hidden journeys").click()
    table = page.locator("#hidden-table")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    column = headers.index("Δ conversion vs rest of closed journeys")
    for hj in result["hidden_journeys"]:
        assert hj["delta_conversion"] > 0, hj["label"]  # every one converts better than the rest
        assert hj["delta_conversion"] == pytest.approx(
            hj["conversion_rate"] - hj["rest_conversion_rate"]
        )
        row = table.locator(f'tr[data-key="{"|".join(hj["signature"])}"]')
        expect(row.locator("th, td").nth(column)).to_have_text(_pt(hj["delta_conversion"]))
    first = result["hidden_journeys"][0]
    table.locator(f'tr[data-key="{"|".join(first["signature"])}"] .row-select').click()
    detail = page.locator("#hidden-detail")
    expect(detail).to_contain_text(
        f"{_pt(first['delta_conversion'])} against the rest of the closed journeys"
    )
    expect(detail).to_contain_text(f"converting {_pct(first['rest_conversion_rate'])}")


def test_what_to_fix_first_ranks_only_what_costs_and_merges_the_same_journeys(
    page: Page, result: dict[str, Any], artifacts: Path
) -> None:
    page.get_by_role("tab", name="Priorities").click()
    costs, better = result["priorities"], result["better_than_designed"]
    assert costs and all(p["impact"] > 0 for p in costs)
    assert better and all(p["impact"] < 0 for p in better)
    items = page.locator("#priorities-list > li")
    expect(items).to_have_count(len(costs))
    for i, p in enumerate(costs[:5]):
        item = items.nth(i)
        expect(item).to_have_attribute("data-journeys", str(p["journeys"]))
        expect(item.locator("strong").first).to_have_text(_words(p["subject"]))
        expect(item).to_contain_text(f"{_num(p['impact'])}")
        # The badge says what kind, the text what it is about: never "leak leak at ...".
        assert not re.search(r"\bleak\s+leak\b", item.inner_text())
    # Top priority (by value at risk) and the headline's biggest leak (by journeys) differ on
    # the sample; the page says why.
    by_volume = result["leaks"][0]["touchpoint"]
    assert costs[0]["touchpoint"] != by_volume
    expect(page.locator("#priorities-why")).to_contain_text(
        f"the headline's biggest leak, {_words(by_volume)}, loses the most journeys"
    )
    expect(page.locator("#better-list > li")).to_have_count(len(better))
    # The jump email_click -> add_to_cart, the two touchpoints it skips and the hidden
    # journey are one item about the same 119 journeys.
    same = page.locator('#panel-priorities li[data-journeys="119"]')
    expect(same).to_have_count(1)
    expect(same.locator(".tag")).to_have_count(4)
    expect(same).to_contain_text("hidden journey")
    page.screenshot(path=artifacts / "answers-priorities-1280x800.png", full_page=True)


@pytest.mark.parametrize("region", ["east", None], ids=["east", "no-region"])
def test_a_segment_shown_alone_has_the_apis_numbers_for_it(
    page: Page,
    api: Api,
    stored: tuple[str, str],
    result: dict[str, Any],
    region: str | None,
    artifacts: Path,
) -> None:
    page.get_by_role("tab", name="Segments").click()
    missing = region is None
    card = page.locator(
        '#panel-segments .segment[data-missing="true"]'
        if missing
        else f'#panel-segments .segment[data-segment="{region}"]'
    )
    card.get_by_role("button").click()
    note = page.locator("#segment-note")
    expect(note).to_contain_text("with no region" if missing else f"with region = {region}")
    expect(page.locator("#segment-value option:checked")).to_have_text(
        "only journeys with no region" if missing else f"only region = {region}"
    )
    # The API's result for the same filter (the page's own request, answered from the cache).
    alone = api.compare(*stored, {"segment": {"region": [region]}})
    totals = alone["totals"]
    row = next(r for r in result["by_segment"]["headline"] if r["segment"] == region)
    assert (totals["journeys"], totals["in_progress"]) == (row["journeys"], row["in_progress"])
    expect(page.locator('[data-kpi="journeys"] strong')).to_have_text(_num(totals["journeys"]))
    expect(page.locator('[data-kpi="journeys"] .kpi-note')).to_have_text(
        f"{_num(totals['in_progress'])} still in progress"
    )
    conversion, _ = _kpi(page, "conversion")
    assert conversion == _pct(totals["conversion_rate"])
    if missing:
        # Only those journeys: all 477 of customers without a row in the customer table.
        assert alone["by_segment"]["headline"] == [row]
    page.screenshot(path=artifacts / f"answers-only-{region or 'no-region'}.png", full_page=True)
    # Back to all journeys through the menu, as a person would.
    page.select_option("#segment-value", label="all journeys")
    expect(page.locator('[data-kpi="journeys"] strong')).to_have_text(_num(2_741))


def test_the_smaller_numbers_read_as_the_api_has_them(page: Page, result: dict[str, Any]) -> None:
    # Rework at a touchpoint: the map's details count what the priority list counts.
    overlay = {t["id"]: t for p in result["overlay"]["phases"] for t in p["touchpoints"]}
    aspects = [
        (a, p["journeys"])
        for key in ("priorities", "better_than_designed", "after_goal")
        for p in result[key]
        for a in p["aspects"]
    ]
    rework = next(
        n for a, n in aspects if a["type"] == "rework" and a["touchpoint"] == "add_to_cart"
    )
    assert overlay["add_to_cart"]["rework"] == rework == 90
    page.get_by_role("tab", name="Journey map").click()
    page.locator('#map-container g.touchpoint[data-touchpoint="add_to_cart"]').click()
    details = page.locator("#map-details")
    expect(details).to_contain_text(f"Journeys coming back to it (rework){rework}")
    page.keyboard.press("Escape")
    # Overdue: only journeys still open (a drop-off is not waiting for its payment).
    frame = next(f for f in result["time_frames"] if f["frame"] == "checkout -> payment")
    assert frame["overdue"] <= result["totals"]["in_progress"]
    # Whole journeys for conversions lost, the value's unit, thousands separators in charts.
    page.get_by_role("tab", name="Funnel & leaks").click()
    panel = page.locator("#panel-funnel")
    expect(panel).to_contain_text("Value at risk (order value)")
    leak = result["leaks"][0]
    assert leak["conversions_lost"] != round(leak["conversions_lost"])  # a fraction in JSON
    row = (
        panel.locator("table")
        .nth(1)
        .locator("tbody tr")
        .filter(has_text=_words(leak["touchpoint"]))
    )
    expect(row.locator("td").nth(4)).to_have_text(_num(leak["conversions_lost"]))
    expect(page.locator("#funnel-chart")).to_contain_text(_num(result["totals"]["journeys"]))
