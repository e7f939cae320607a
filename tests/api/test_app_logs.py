"""Logs over HTTP: upload sources as a job, read, append idempotently, quick reads, delete."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from journeyminer.api.store.stitching import read_journeys

from .conftest import API, SAMPLE, Api, assert_problem, assert_timings

WEB = (SAMPLE / "web.csv").read_bytes()

SOURCES = ("web", "call_center", "crm")


def _halves(folder: Path, share: float = 0.6) -> None:
    """Each sample source split in two by rows (the files run in time order): day 1, day 2."""
    folder.mkdir()
    for name in SOURCES:
        header, *rows = (SAMPLE / f"{name}.csv").read_text().splitlines()
        cut = int(len(rows) * share)
        for day, chunk in ((1, rows[:cut]), (2, rows[cut:])):
            (folder / f"{name}-day{day}.csv").write_text("\n".join([header, *chunk]) + "\n")


def _form(folder: Path, days: tuple[int, ...]) -> tuple[list[Any], dict[str, Any]]:
    files: list[Any] = [
        ("files", (f"{n}-day{d}.csv", (folder / f"{n}-day{d}.csv").read_bytes(), "text/csv"))
        for d in days
        for n in SOURCES
    ]
    files.append(("identities", ("identities.csv", (SAMPLE / "identities.csv").read_bytes())))
    data = {"preset": [n for _ in days for n in SOURCES], "timezone": "Europe/Amsterdam"}
    return files, data


SAMPLE_ACTIVITIES = [
    "ad_click",
    "add_to_cart",
    "case_closed",
    "checkout",
    "compare_products",
    "complaint",
    "delivered",
    "email_click",
    "landing_page",
    "newsletter_signup",
    "order_confirmed",
    "order_shipped",
    "payment",
    "phone_order",
    "product_page",
    "repeat_purchase",
    "review_written",
    "reviews_page",
    "support_call",
]


def test_uploading_the_sample_sources_ingests_one_log_as_a_job(api: Api) -> None:
    began = time.monotonic()
    response = api.upload(data={"name": "webshop"})
    assert response.status_code == 202
    job = response.json()
    assert job["kind"] == "ingest" and job["status_url"] == f"{API}/jobs/{job['id']}"
    done = api.wait(job["status_url"])
    assert done["status"] == "done" and done["progress"] == 1.0
    assert_timings(done["timings"], time.monotonic() - began)

    log = api.client.get(f"{API}/logs/{done['log']}").json()
    assert log["name"] == "webshop" and log["status"] == "ready"
    assert log["events"] == 14_997 and log["journeys"] == log["cases"] == 2_741
    assert log["customers"] == 1_982
    assert log["channels"] == ["call_center", "crm", "web"]
    assert log["activities"] == SAMPLE_ACTIVITIES
    assert log["start"].startswith("2024-01-01") and log["end"].startswith("2024-12")
    assert log["mapping"]["sources"]["call_center.csv"] == {
        "preset": "call_center",
        "timezone": "Europe/Amsterdam",
    }
    listed = api.client.get(f"{API}/logs").json()["logs"]
    assert [entry["id"] for entry in listed] == [log["id"]]


def test_the_upload_folder_is_emptied_once_the_ingest_ran(api: Api) -> None:
    api.ingest("web", identities=False)
    uploads = api.settings.workspace / "uploads"
    # The runner records the job done, then removes its upload: wait for that second step.
    deadline = time.monotonic() + 10
    while uploads.exists() and any(uploads.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not uploads.exists() or not any(uploads.iterdir())


def test_appending_the_same_batch_twice_adds_it_once(api: Api) -> None:
    log_id = api.ingest("web", "crm")
    before = api.client.get(f"{API}/logs/{log_id}").json()
    batch = [("files", ("call_center.csv", (SAMPLE / "call_center.csv").read_bytes(), "text/csv"))]
    form = {"timezone": "Europe/Amsterdam"}

    first = api.client.post(f"{API}/logs/{log_id}/events", files=batch, data=form)
    assert first.status_code == 202 and first.json()["kind"] == "append"
    assert api.wait(first.json()["status_url"])["status"] == "done"
    after = api.client.get(f"{API}/logs/{log_id}").json()
    # One part per source file; the append is one new version of the log.
    assert after["version"] == before["version"] + 1 and after["parts"] == 3
    assert after["events"] == before["events"] + 618
    assert "call_center" in after["channels"]

    second = api.client.post(f"{API}/logs/{log_id}/events", files=batch, data=form)
    job = api.wait(second.json()["status_url"])
    assert job["status"] == "done" and "nothing added" in job["stage"]
    again = api.client.get(f"{API}/logs/{log_id}").json()
    assert (again["version"], again["events"], again["parts"]) == (
        after["version"],
        after["events"],
        3,
    )


def test_an_appended_batch_uses_the_stored_mapping_of_its_file_name(
    api: Api, tmp_path: Path
) -> None:
    log_id = api.ingest("web", identities=False, data={"preset": "web"})
    lines = (SAMPLE / "web.csv").read_text().splitlines()
    renamed = tmp_path / "web.csv"  # same name, new rows: read with the stored web mapping
    renamed.write_text("\n".join([lines[0], *lines[1:50]]) + "\n")
    response = api.client.post(
        f"{API}/logs/{log_id}/events",
        files=[("files", ("web.csv", renamed.read_bytes(), "text/csv"))],
    )
    assert api.wait(response.json()["status_url"])["status"] == "done"
    log = api.client.get(f"{API}/logs/{log_id}").json()
    assert log["events"] == 11_508 + 49 and log["parts"] == 2


def test_quick_dfg_and_variants_take_filters_as_query_parameters(api: Api) -> None:
    log_id = api.ingest()
    dfg = api.client.get(f"{API}/logs/{log_id}/dfg", params={"channels": "web"})
    assert dfg.status_code == 200
    body = dfg.json()
    assert body["filters"] == {"channels": ["web"]} and body["version"] == 1
    assert body["dfg"]["edges"] and set(body["dfg"]["edges"][0]) >= {"source", "target", "count"}
    assert api.client.get(f"{API}/logs/{log_id}/dfg", params={"channels": "web"}).json() == body

    variants = api.client.get(f"{API}/logs/{log_id}/variants", params={"limit": 3})
    data = variants.json()
    assert variants.status_code == 200 and len(data["variants"]) == 3
    assert data["n_cases"] == 2_741 and data["n_variants"] > 3
    counts = [v["count"] for v in data["variants"]]
    assert counts == sorted(counts, reverse=True)


def test_a_bad_quick_read_filter_is_a_422_naming_the_parameter(api: Api) -> None:
    log_id = api.ingest("web", identities=False)
    body = assert_problem(api.client.get(f"{API}/logs/{log_id}/dfg?colour=red"), 422)
    assert body["parameter"] == "colour"
    body = assert_problem(api.client.get(f"{API}/logs/{log_id}/variants?top_variants=x"), 422)
    assert body["parameter"] == "top_variants"


def test_a_source_that_does_not_read_fails_its_job_and_log_with_the_file_name(
    api: Api,
) -> None:
    bad = b"visitor_id,event_name,event_time\nck1,x,not a time\n"  # only a read can tell
    response = api.client.post(
        f"{API}/logs", files=[("files", ("web.csv", bad, "text/csv"))], data={"name": "bad"}
    )
    job = api.wait(response.json()["status_url"])
    assert job["status"] == "failed"
    assert job["error"]["status"] == 422 and job["error"]["file"] == "web.csv"
    assert "/" not in job["error"]["file"] and "uploads" not in job["error"]["detail"]
    log = api.client.get(f"{API}/logs/{job['log']}").json()
    assert log["status"] == "failed" and log["error"]["file"] == "web.csv"


@pytest.mark.parametrize(
    ("form", "file", "found"),
    [
        ({"gap": "99999999999999999d"}, WEB, "gap '99999999999999999d' is too long"),  # was 500
        ({"gap": "soon"}, WEB, "bad gap 'soon'"),
        ({"timezone": "Mars/Olympus"}, WEB, "unknown time zone 'Mars/Olympus'"),
        ({"mapping": 'timestamp_format = "%Q"'}, WEB, "'timestamp_format' has an invalid"),
        ({"preset": "web"}, b"visitor_id,event_name\nck1,x\n", "no timestamp column"),
        (
            {"mapping": 'case = "who"'},
            WEB,
            "no case column: columns that look like one: 'visitor_id'",
        ),
    ],
    ids=["gap-overflow", "gap-text", "timezone", "format", "missing-column", "mapped-column"],
)
def test_bad_form_fields_are_a_422_before_any_job_is_queued(
    api: Api, form: dict[str, str], file: bytes, found: str
) -> None:
    files = [("files", ("web.csv", file, "text/csv"))]
    body = assert_problem(api.client.post(f"{API}/logs", files=files, data=form), 422)
    assert found in body["detail"]
    tenant = api.store.get_tenant_by_name("acme")
    assert api.store.list_jobs(tenant) == [] and api.store.list_logs(tenant) == []


def test_an_append_missing_a_mapped_column_is_a_422_before_any_job_is_queued(api: Api) -> None:
    log_id = api.ingest("web", identities=False)
    files = [("files", ("web.csv", b"visitor_id,event_name\nck1,x\n", "text/csv"))]
    body = assert_problem(api.client.post(f"{API}/logs/{log_id}/events", files=files), 422)
    assert "no timestamp column" in body["detail"] and body["file"] == "web.csv"
    assert [j.kind for j in api.store.list_jobs(api.store.get_tenant_by_name("acme"))] == ["ingest"]


def test_a_file_without_a_preset_or_mapping_is_refused_at_once(api: Api) -> None:
    response = api.client.post(
        f"{API}/logs", files=[("files", ("export.csv", b"a,b\n1,2\n", "text/csv"))]
    )
    body = assert_problem(response, 422)
    assert body["file"] == "export.csv" and "mapping" in body["detail"]
    assert not api.client.get(f"{API}/logs").json()["logs"]


def test_a_mapping_sent_as_toml_text_reads_any_column_names(api: Api) -> None:
    csv = b"who,what,when\nc1,visit,2024-01-01T10:00:00Z\nc1,buy,2024-01-01T10:05:00Z\n"
    mapping = 'case = "who"\nactivity = "what"\ntimestamp = "when"\nchannel_value = "shop"\n'
    response = api.client.post(
        f"{API}/logs",
        files=[("files", ("export.csv", csv, "text/csv"))],
        data={"mapping": mapping, "name": "custom", "gap": "none"},
    )
    job = api.wait(response.json()["status_url"])
    assert job["status"] == "done", job
    log = api.client.get(f"{API}/logs/{job['log']}").json()
    assert log["events"] == 2 and log["channels"] == ["shop"]


def test_deleting_a_log_makes_it_404(api: Api) -> None:
    log_id = api.ingest("crm", identities=False)
    assert api.client.delete(f"{API}/logs/{log_id}").status_code == 204
    assert_problem(api.client.get(f"{API}/logs/{log_id}"), 404)
    assert_problem(api.client.delete(f"{API}/logs/{log_id}"), 404)


def test_a_journey_spanning_two_appended_batches_is_one_journey_as_in_one_upload(
    api: Api, tmp_path: Path
) -> None:
    _halves(tmp_path / "days")
    files, data = _form(tmp_path / "days", (1,))
    job = api.wait(api.client.post(f"{API}/logs", files=files, data=data).json()["status_url"])
    appended = job["log"]
    day1 = api.client.get(f"{API}/logs/{appended}").json()
    files, data = _form(tmp_path / "days", (2,))
    first = api.client.post(f"{API}/logs/{appended}/events", files=files, data=data)
    assert api.wait(first.json()["status_url"])["status"] == "done"

    files, data = _form(tmp_path / "days", (1, 2))
    # The same files as the appended log: only a name stores them again (else 409).
    assert_problem(api.client.post(f"{API}/logs", files=files, data=data), 409)
    data = {**data, "name": "single"}
    single = api.wait(api.client.post(f"{API}/logs", files=files, data=data).json()["status_url"])
    files, data = _form(tmp_path / "days", (2,))
    alone = api.wait(api.client.post(f"{API}/logs", files=files, data=data).json()["status_url"])

    got = api.client.get(f"{API}/logs/{appended}").json()
    want = api.client.get(f"{API}/logs/{single['log']}").json()
    day2 = api.client.get(f"{API}/logs/{alone['log']}").json()
    counts = ("events", "cases", "journeys", "customers", "start", "end", "activities")
    assert {k: got[k] for k in counts} == {k: want[k] for k in counts}
    assert got["events"] == day1["events"] + day2["events"]
    # Journeys that span both days are one journey, not one per batch.
    assert got["journeys"] < day1["journeys"] + day2["journeys"]

    tenant = api.store.get_tenant_by_name("acme")
    stitched = read_journeys(api.store, tenant, appended).frame
    assert stitched.equals(read_journeys(api.store, tenant, single["log"]).frame)
    assert not stitched["case_id"].str.contains("@").any()
    for read in ("variants", "dfg"):
        a = api.client.get(f"{API}/logs/{appended}/{read}").json()
        b = api.client.get(f"{API}/logs/{single['log']}/{read}").json()
        assert {k: v for k, v in a.items() if k not in ("log", "version")} == {
            k: v for k, v in b.items() if k not in ("log", "version")
        }

    # The same batch again adds nothing: same version, same parts, same journeys.
    again = api.client.post(f"{API}/logs/{appended}/events", files=files, data=data)
    job = api.wait(again.json()["status_url"])
    assert job["status"] == "done" and "nothing added" in job["stage"]
    after = api.client.get(f"{API}/logs/{appended}").json()
    assert {k: after[k] for k in ("version", "parts", *counts)} == {
        k: got[k] for k in ("version", "parts", *counts)
    }


def test_an_identity_table_sent_with_an_append_replaces_the_logs(api: Api, tmp_path: Path) -> None:
    log_id = api.ingest(identities=False)
    before = api.client.get(f"{API}/logs/{log_id}").json()
    assert before["mapping"]["identities"] is None
    identities = (SAMPLE / "identities.csv").read_bytes()
    web = (SAMPLE / "web.csv").read_bytes()
    files = [("files", ("web.csv", web, "text/csv")), ("identities", ("ids.csv", identities))]
    job = api.wait(api.client.post(f"{API}/logs/{log_id}/events", files=files).json()["status_url"])
    assert job["status"] == "done"
    after = api.client.get(f"{API}/logs/{log_id}").json()
    # No new file (web.csv is in the log), but a new identity table: a new version, re-stitched.
    assert after["version"] == before["version"] + 1 and after["parts"] == before["parts"]
    assert after["mapping"]["identities"]["file"] == "ids.csv"
    assert after["events"] == before["events"] and after["customers"] < before["customers"]
    full_id = api.ingest(data={"name": "all at once"})  # the same files: named to store again
    full = api.client.get(f"{API}/logs/{full_id}").json()
    assert (after["journeys"], after["customers"]) == (full["journeys"], full["customers"])
    stored = list((api.settings.workspace / "logs" / log_id).glob("identities-*.parquet"))
    assert len(stored) == 1 and api.store.check() == []


def test_a_log_made_by_a_batch_job_refuses_appends_over_http(api: Api) -> None:
    tenant = api.store.get_tenant_by_name("acme")
    info = api.store.create_log(tenant, "nightly", mapping={"batch": {"format": 1}})
    files = [("files", ("web.csv", (SAMPLE / "web.csv").read_bytes(), "text/csv"))]
    body = assert_problem(api.client.post(f"{API}/logs/{info.id}/events", files=files), 409)
    assert "journeyminer run" in body["detail"]


@pytest.mark.parametrize(
    ("form", "found"),
    [
        ({"timezone": "UTC+99"}, "unknown time zone 'UTC+99'; did you mean UTC?"),
        (
            {"mapping": 'preset = "web"\ntimezone = "Europe/Amsterdm"'},
            "did you mean Europe/Amsterdam",
        ),
        ({"mapping": 'preset = "web"\nambiguous = "first"'}, "'ambiguous' has an invalid value"),
    ],
    ids=["offset-zone", "misspelt-zone", "ambiguous-rule"],
)
def test_a_bad_zone_or_ambiguous_rule_is_a_422_before_any_job(
    api: Api, form: dict[str, str], found: str
) -> None:
    files = [("files", ("web.csv", WEB, "text/csv"))]
    data = {"preset": "web", **form} if "mapping" not in form else form
    body = assert_problem(api.client.post(f"{API}/logs", files=files, data=data), 422)
    assert found in body["detail"]
    tenant = api.store.get_tenant_by_name("acme")
    assert api.store.list_jobs(tenant) == [] and api.store.list_logs(tenant) == []
