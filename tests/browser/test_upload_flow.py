"""A lead's own export in a real browser: columns mapped on the page, duplicates, the sample."""

from __future__ import annotations

from pathlib import Path

import httpx
import polars as pl
import pytest
from playwright.sync_api import Page, expect

from .conftest import SAMPLE, Server
from .test_page import _sign_in, _watch

OWN_COLUMNS = {"visitor_id": "Klant ID", "event_name": "Stap", "event_time": "Tijdstip"}


@pytest.fixture
def own_export(tmp_path: Path) -> Path:
    """The sample's web export with its own column names, as a lead's system would name them."""
    path = tmp_path / "export.csv"
    web = pl.read_csv(SAMPLE / "web.csv").select(*OWN_COLUMNS, "device")
    web.rename(OWN_COLUMNS).write_csv(path, separator=";")
    return path


def _logs(server: Server) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {server.token}"}
    logs: list[dict[str, object]] = httpx.get(f"{server.url}/api/v1/logs", headers=headers).json()[
        "logs"
    ]
    return logs


def test_a_csv_with_its_own_column_names_goes_from_upload_to_comparison(
    page: Page, server: Server, own_export: Path, artifacts: Path
) -> None:
    problems = _watch(page)
    _sign_in(page, server)
    expect(page.locator("#setup")).to_be_visible()
    page.locator("#upload-details").evaluate("d => d.open = true")
    page.set_input_files("#log-files", own_export)
    # No preset fits: the page maps the file's own columns, guessed from their names.
    expect(page.locator("#preset-0")).to_have_value("own")
    expect(page.locator("#map-0-case")).to_have_value("Klant ID")
    expect(page.locator("#map-0-activity")).to_have_value("Stap")
    expect(page.locator("#map-0-timestamp")).to_have_value("Tijdstip")
    page.screenshot(path=artifacts / "mapping-own-columns-1280x800.png", full_page=True)

    # A preset that does not fit fails with one clear message and a way forward.
    page.select_option("#preset-0", "web")
    page.get_by_role("button", name="Upload and read the log").click()
    message = page.locator("#messages .message.error")
    expect(message).to_contain_text("Missing column")
    expect(message.locator(".where")).to_have_count(0)  # the detail says it once
    expect(page.locator("#upload-progress")).to_be_hidden()
    assert page.locator("#upload-progress .progress").get_attribute("aria-valuenow") == "0"
    message.get_by_role("button", name="Map the columns of export.csv").click()
    expect(page.locator("#preset-0")).to_have_value("own")
    page.select_option("#map-0-channel", "")
    page.locator("#map-0-channel-value").fill("web")
    page.get_by_role("button", name="Save this mapping for files with these columns").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download mapping (TOML)").click()
    toml = Path(download.value.path()).read_text()
    assert 'case = "Klant ID"' in toml and 'timestamp = "Tijdstip"' in toml, toml

    page.get_by_role("button", name="Upload and read the log").click()
    expect(page.locator("#log-facts")).to_contain_text("journeys", timeout=30_000)
    stored = _logs(server)
    assert len(stored) == 1 and stored[0]["events"] == pl.read_csv(SAMPLE / "web.csv").height

    # Draft a map from it and compare, without leaving the page; the set-up folds away.
    page.get_by_role("button", name="Draft a map from the selected log").click()
    expect(page.locator("#map-select option:checked")).to_contain_text("(draft)", timeout=30_000)
    page.get_by_role("button", name="Compare the journeys with the map").click()
    expect(page.locator("#results")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-kpi="journeys"] strong')).to_have_text(f"{stored[0]['journeys']:,}")
    expect(page.locator("#setup-body")).to_be_hidden()
    expect(page.locator("#setup-summary")).to_contain_text("(draft)")
    expect(page.locator("#results-title")).to_be_in_viewport()
    page.screenshot(path=artifacts / "own-columns-compared-1280x800.png")

    # The same file again, without a name: its saved mapping is used, and the page offers the
    # log that holds it instead of storing it twice.
    page.get_by_role("button", name="Change the log or the map").click()
    page.get_by_text("Upload a new log").click()
    page.set_input_files("#log-files", own_export)
    expect(page.locator("#saved-0")).to_contain_text("saved in this browser")
    expect(page.locator("#map-0-case")).to_have_value("Klant ID")
    page.get_by_role("button", name="Upload and read the log").click()
    message = page.locator("#messages .message.error")
    expect(message).to_contain_text("already")
    expect(page.locator("#upload-progress")).to_be_hidden()
    message.get_by_role("button", name="Open").click()
    expect(page.locator("#log-select")).to_have_value(str(stored[0]["id"]))
    assert len(_logs(server)) == 1
    assert problems == []


def test_a_first_visit_tries_the_sample_in_one_click(
    page: Page, server: Server, artifacts: Path
) -> None:
    problems = _watch(page)
    _sign_in(page, server)
    expect(page.locator("#sample-note")).to_contain_text("bundled sample")
    page.get_by_role("button", name="Try the sample").click()
    expect(page.locator("#results")).to_be_visible(timeout=90_000)
    expect(page.locator('[data-kpi="journeys"] strong')).to_have_text("2,741")
    expect(page.locator("#setup-body")).to_be_hidden()
    expect(page.locator("#segment-value option")).to_have_count(6)  # all, 4 regions, no region
    page.screenshot(path=artifacts / "sample-1280x800.png")
    assert problems == []
