"""Interval events and fall-back local times over HTTP: a start column in the upload's mapping
gives the discovery its service times; the log's `ingested` lines count ambiguous times."""

from __future__ import annotations

import json
from typing import Any

from .conftest import API, Api

CALLS = """customer,touchpoint,started,ended,channel
c1,support_call,2024-03-01 09:00:00,2024-03-01 09:10:00,phone
c1,store_visit,2024-03-02 10:00:00,2024-03-02 11:00:00,store
c2,support_call,2024-03-01 12:00:00,2024-03-01 12:30:00,phone
c2,store_visit,2024-03-03 10:00:00,2024-03-03 10:20:00,store
c3,support_call,2024-03-04 08:00:00,2024-03-04 08:20:00,phone
"""
CALLS_MAPPING = {
    "case": "customer",
    "activity": "touchpoint",
    "timestamp": "ended",
    "start_timestamp": "started",
    "channel": "channel",
}
# 2024-10-27 02:30 happens twice in Amsterdam (clocks go back from 03:00 CEST to 02:00 CET).
FALL_BACK = """customer,touchpoint,time
c1,call,2024-10-27 01:30:00
c1,visit,2024-10-27 02:30:00
c2,call,2024-10-26 12:00:00
"""
FALL_BACK_MAPPING = {"case": "customer", "activity": "touchpoint", "timestamp": "time"}


def _upload(api: Api, name: str, text: str, mapping: dict[str, Any], log: str | None = None) -> Any:
    url = f"{API}/logs/{log}/events" if log else f"{API}/logs"
    response = api.client.post(
        url,
        files=[("files", (name, text.encode(), "text/csv"))],
        data={"mapping": json.dumps(mapping), "timezone": "Europe/Amsterdam"},
    )
    assert response.status_code == 202, response.text
    return api.wait(response.json()["status_url"])


def test_an_interval_upload_with_a_start_column_gets_service_times_in_its_discovery(
    api: Api,
) -> None:
    job = _upload(api, "calls.csv", CALLS, CALLS_MAPPING)
    assert job["status"] == "done", job
    queued = api.client.post(f"{API}/analyses", json={"log": job["log"], "kind": "discover"})
    done = api.wait(queued.json()["status_url"], timeout=60)
    assert done["status"] == "done", done
    service = api.client.get(done["links"]["result"]).json()["service_times"]
    by_touchpoint = {row["activity"]: row for row in service}
    assert set(by_touchpoint) == {"support_call", "store_visit"}
    call = by_touchpoint["support_call"]
    assert (call["count"], call["min"], call["median"], call["max"]) == (3, 600, 1200, 1800)
    assert call["sum"] == 3600 and call["mean"] == 1200
    visit = by_touchpoint["store_visit"]
    assert (visit["count"], visit["min"], visit["max"], visit["sum"]) == (2, 1200, 3600, 4800)


def test_a_discovery_of_a_log_without_start_times_has_no_service_times(api: Api) -> None:
    job = _upload(api, "fall.csv", FALL_BACK, {**FALL_BACK_MAPPING, "channel_value": "phone"})
    queued = api.client.post(f"{API}/analyses", json={"log": job["log"], "kind": "discover"})
    done = api.wait(queued.json()["status_url"], timeout=60)
    assert "service_times" not in api.client.get(done["links"]["result"]).json()


def test_an_upload_report_counts_local_times_in_the_fall_back_hour(api: Api) -> None:
    job = _upload(api, "fall.csv", FALL_BACK, {**FALL_BACK_MAPPING, "ambiguous": "latest"})
    assert job["status"] == "done", job
    log = api.client.get(f"{API}/logs/{job['log']}").json()
    [line] = log["ingested"]
    assert line["file"] == "fall.csv" and len(line["sha256"]) == 64
    assert (line["events"], line["ids"], line["ambiguous_times"]) == (3, 2, 1)
    assert "ingested" not in log["mapping"]  # the report is not part of how files are read
    assert log["mapping"]["sources"]["fall.csv"]["ambiguous"] == "latest"
    # latest: the second 02:30, in winter time (01:30 UTC); the earlier rule gives 00:30 UTC.
    assert log["end"] == "2024-10-27T01:30:00Z"

    # An append adds its own line; the same batch again adds nothing.
    more = FALL_BACK.replace("c2,call,2024-10-26", "c3,call,2024-10-25")
    appended = _upload(api, "fall-2.csv", more, FALL_BACK_MAPPING, log=job["log"])
    assert appended["status"] == "done", appended
    again = _upload(api, "fall-2.csv", more, FALL_BACK_MAPPING, log=job["log"])
    assert again["status"] == "done", again
    log = api.client.get(f"{API}/logs/{job['log']}").json()
    assert [(x["file"], x["ambiguous_times"]) for x in log["ingested"]] == [
        ("fall.csv", 1),
        ("fall-2.csv", 1),
    ]
    assert log["version"] == 2 and log["events"] == 6


def test_a_log_in_utc_reports_no_ambiguous_times(api: Api) -> None:
    response = api.client.post(
        f"{API}/logs",
        files=[("files", ("fall.csv", FALL_BACK.encode(), "text/csv"))],
        data={"mapping": json.dumps(FALL_BACK_MAPPING), "timezone": "UTC"},
    )
    job = api.wait(response.json()["status_url"])
    log = api.client.get(f"{API}/logs/{job['log']}").json()
    assert [x["ambiguous_times"] for x in log["ingested"]] == [0]


def test_the_raise_rule_refuses_a_file_with_a_fall_back_time(api: Api) -> None:
    job = _upload(api, "fall.csv", FALL_BACK, {**FALL_BACK_MAPPING, "ambiguous": "raise"})
    assert job["status"] == "failed"
    assert job["error"]["status"] == 422 and "2024-10-27 02:30" in json.dumps(job["error"])
