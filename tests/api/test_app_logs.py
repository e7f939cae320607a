"""Logs over HTTP: upload sources as a job, read, append idempotently, quick reads, delete."""

from __future__ import annotations

from pathlib import Path

from .conftest import API, SAMPLE, Api, assert_problem


def test_uploading_the_sample_sources_ingests_one_log_as_a_job(api: Api) -> None:
    response = api.upload(data={"name": "webshop"})
    assert response.status_code == 202
    job = response.json()
    assert job["kind"] == "ingest" and job["status_url"] == f"{API}/jobs/{job['id']}"
    done = api.wait(job["status_url"])
    assert done["status"] == "done" and done["progress"] == 1.0
    assert done["timings"]["run_s"] is not None

    log = api.client.get(f"{API}/logs/{done['log']}").json()
    assert log["name"] == "webshop" and log["status"] == "ready"
    assert log["events"] == 14_997 and log["journeys"] == log["cases"] == 2_741
    assert log["customers"] == 1_982
    assert log["channels"] == ["call_center", "crm", "web"]
    assert "checkout" in log["activities"] or len(log["activities"]) > 5
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
    assert after["version"] == before["version"] + 1 and after["parts"] == 2
    assert after["events"] == before["events"] + 618
    assert "call_center" in after["channels"]

    second = api.client.post(f"{API}/logs/{log_id}/events", files=batch, data=form)
    job = api.wait(second.json()["status_url"])
    assert job["status"] == "done" and "nothing added" in job["stage"]
    again = api.client.get(f"{API}/logs/{log_id}").json()
    assert (again["version"], again["events"], again["parts"]) == (
        after["version"],
        after["events"],
        2,
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
    bad = b"visitor_id,event_name\nck1,x\n"
    response = api.client.post(
        f"{API}/logs", files=[("files", ("web.csv", bad, "text/csv"))], data={"name": "bad"}
    )
    job = api.wait(response.json()["status_url"])
    assert job["status"] == "failed"
    assert job["error"]["status"] == 422 and job["error"]["file"] == "web.csv"
    assert "/" not in job["error"]["file"] and "uploads" not in job["error"]["detail"]
    log = api.client.get(f"{API}/logs/{job['log']}").json()
    assert log["status"] == "failed" and log["error"]["file"] == "web.csv"


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
