"""Interval events on the page: a start-time column mapped before the upload, the fall-back
rule chosen, and the service time of each touchpoint shown beside the discovered process."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from .conftest import Server
from .test_page import _sign_in, _watch

# Per touchpoint: minutes it lasts (start to complete), one value per customer in turn.
LASTS = {"Intake call": (10, 20, 30), "Home visit": (60, 90, 120), "Repair task": (240, 300, 360)}


@pytest.fixture
def interval_export(tmp_path: Path) -> Path:
    """A service desk's export: each contact has a begin and an end time, in Amsterdam time;
    one contact ends at 02:30 on 2024-10-27, an hour the clocks show twice."""
    rows = ["klant;contact;begin;einde;kanaal"]
    for c in range(9):
        at = datetime(2024, 3, 4, 8, 0) + timedelta(days=c)
        for (name, minutes), channel in zip(
            LASTS.items(), ("phone", "field", "field"), strict=True
        ):
            lasts = timedelta(minutes=minutes[c % 3])
            rows.append(f"k{c};{name};{at:%Y-%m-%d %H:%M};{at + lasts:%Y-%m-%d %H:%M};{channel}")
            at += lasts + timedelta(hours=2)
    rows.append("k9;Intake call;2024-10-27 02:20;2024-10-27 02:30;phone")
    path = tmp_path / "service-desk.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_start_time_column_gives_a_service_time_table_per_touchpoint(
    page: Page, server: Server, interval_export: Path, artifacts: Path
) -> None:
    problems = _watch(page)
    _sign_in(page, server)
    page.locator("#upload-details").evaluate("d => d.open = true")
    page.set_input_files("#log-files", interval_export)
    expect(page.locator("#preset-0")).to_have_value("own")
    expect(page.locator("#map-0-start_timestamp")).to_have_value("")  # optional: none at first
    page.select_option("#map-0-case", "klant")
    page.select_option("#map-0-activity", "contact")
    page.select_option("#map-0-timestamp", "einde")
    page.get_by_label("Start time column (optional)").select_option("begin")
    page.select_option("#map-0-channel", "kanaal")
    page.get_by_label("Local times in the autumn fall-back hour").select_option("latest")
    page.locator("#log-name").fill("service-desk")
    page.locator("#file-presets").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "mapping-start-time-1280x800.png")
    page.get_by_role("button", name="Upload and read the log").click()
    expect(page.locator("#log-facts")).to_contain_text("28 events", timeout=30_000)
    expect(page.locator("#log-facts")).to_contain_text("1 local time in an autumn fall-back hour")

    headers = {"Authorization": f"Bearer {server.token}"}
    [log] = [
        x
        for x in httpx.get(f"{server.url}/api/v1/logs", headers=headers).json()["logs"]
        if x["name"] == "service-desk"
    ]
    read = log["mapping"]["sources"]["service-desk.csv"]
    assert read["start_timestamp"] == "begin" and read["ambiguous"] == "latest"
    assert [x["ambiguous_times"] for x in log["ingested"]] == [1]

    page.get_by_role("button", name="Draft a map from the selected log").click()
    expect(page.locator("#map-select option:checked")).to_contain_text("(draft)", timeout=30_000)
    page.get_by_role("button", name="Compare the journeys with the map").click()
    expect(page.locator("#results")).to_be_visible(timeout=90_000)
    page.get_by_role("tab", name="Variants & speed").click()
    section = page.locator(
        "section.view-section",
        has=page.get_by_role("heading", name="Service time per touchpoint"),
    )
    expect(section).to_be_visible()
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(3)
    # Longest median first: repair 5.0h, visit 1.5h, intake 20m (the fall-back call lasts 10m).
    expect(rows.locator("th")).to_have_text(["Repair task", "Home visit", "Intake call"])
    expect(rows.nth(0).locator("td")).to_have_text(["9", "5.0h", "5.0h", "4.0h", "6.0h"])
    expect(rows.nth(1).locator("td")).to_have_text(["9", "1.5h", "1.5h", "60m", "2.0h"])
    expect(rows.nth(2).locator("td")).to_have_text(["10", "20m", "19m", "10m", "30m"])
    section.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "service-times-1280x800.png")
    assert problems == []
