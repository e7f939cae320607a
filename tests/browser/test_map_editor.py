"""A drafted map seen, edited with its problems inline, saved as a version and downloaded."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from .conftest import SAMPLE, Server
from .test_page import _sign_in, _watch

BROKEN = '\n[[touchpoints]]\nid = "gift_wrap"\nphase = "nowhere"\n'


def _drafted_map(server: Server) -> str:
    """A log of the sample's web export and a map drafted from it, stored through the API."""
    with httpx.Client(
        base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {server.token}"}
    ) as client:
        files = [("files", ("web.csv", (SAMPLE / "web.csv").read_bytes(), "text/csv"))]
        job = client.post("/logs", files=files, data={"preset": "web", "name": "web only"}).json()
        status_url = server.url + job["status_url"]  # absolute: it already holds /api/v1
        deadline = time.monotonic() + 60
        while (state := client.get(status_url).json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert state["status"] == "done", state
        drafted = client.post("/maps/draft", json={"log": state["log"]}, timeout=60)
        assert drafted.status_code == 201, drafted.text
        return str(drafted.json()["id"])


def test_a_drafted_map_is_edited_with_its_problems_inline_and_saved_as_a_version(
    page: Page, server: Server, artifacts: Path
) -> None:
    map_id = _drafted_map(server)
    problems = _watch(page)
    _sign_in(page, server)
    page.select_option("#map-select", map_id)
    page.get_by_role("button", name="See and edit the selected map").click()
    editor = page.locator("#map-editor")
    expect(editor).to_be_visible()
    text = page.locator("#map-text")
    expect(text).to_have_value(re.compile(r"\[\[phases\]\]"))
    original = text.input_value()

    # A touchpoint in a phase that does not exist: the problem shows beside the text, with its
    # line; nothing is stored.
    text.fill(original + BROKEN)
    first_new = original.count("\n") + 2
    page.get_by_role("button", name="Save as a new version").click()
    item = page.locator("#map-problems li").first
    expect(item).to_contain_text("gift_wrap")
    line = int(item.get_attribute("data-line") or 0)
    assert first_new <= line <= first_new + 2, (line, first_new)
    item.get_by_role("button").click()
    selected = text.evaluate("t => t.value.slice(t.selectionStart, t.selectionEnd)")
    assert selected == (original + BROKEN).split("\n")[line - 1]
    page.screenshot(path=artifacts / "map-editor-problem-1280x800.png", full_page=True)
    expect(page.locator("#map-select option:checked")).to_contain_text("version 1")

    # Fixed, it saves as version 2, and downloads as TOML with the edited text.
    edited = original.replace("[[phases]]", "# checked by the CX lead\n[[phases]]", 1)
    text.fill(edited)
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#map-problems")).to_contain_text("Saved as version 2")
    expect(page.locator("#map-select option:checked")).to_contain_text("version 2")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as TOML").click()
    assert download.value.suggested_filename.endswith(".toml")
    assert Path(download.value.path()).read_text() == edited
    assert problems == []
