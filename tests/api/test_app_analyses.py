"""Analyses over HTTP: queue a discover, follow it, fetch JSON/Parquet/SVG, cache, cancel."""

from __future__ import annotations

import io
import time

import polars as pl

from .conftest import API, SAMPLE, Api, MakeApi, assert_problem, assert_timings


def test_a_discover_analysis_runs_as_a_job_and_serves_its_result(api: Api) -> None:
    log_id = api.ingest()
    began = time.monotonic()
    response = api.client.post(f"{API}/analyses", json={"log": log_id, "kind": "discover"})
    assert response.status_code == 202
    queued = response.json()
    assert queued["status_url"] == f"{API}/analyses/{queued['id']}" and not queued["cached"]
    done = api.wait(queued["status_url"])
    assert done["status"] == "done" and done["progress"] == 1.0 and done["stage"] == "done"
    assert_timings(done["timings"], time.monotonic() - began)
    assert done["log_version"] == 1
    links = done["links"]

    result = api.client.get(links["result"])
    assert result.status_code == 200 and result.headers["content-type"] == "application/json"
    data = result.json()
    assert data["kind"] == "discover" and data["log"] == {"id": log_id, "version": 1}
    assert data["dfg"]["edges"] and data["variants"] and "case_duration" in data["stats"]

    edges = api.client.get(links["result.parquet"])
    frame = pl.read_parquet(io.BytesIO(edges.content))
    assert {"source", "target", "count", "median"} <= set(frame.columns)
    assert frame.height == len(data["dfg"]["edges"])
    cases = pl.read_parquet(
        io.BytesIO(api.client.get(f"{links['result.parquet']}?table=cases").content)
    )
    assert cases.height == 2_741 and {"case_id", "variant", "duration"} <= set(cases.columns)

    svg = api.client.get(links["dfg.svg"])
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in svg.text
    assert api.client.get(links["dfg.svg"], params={"view": "performance"}).status_code == 200
    body = assert_problem(api.client.get(links["overlay.svg"]), 404)
    assert "compare" in body["detail"]


def test_the_same_analysis_again_answers_at_once_from_the_cache(api: Api) -> None:
    log_id = api.ingest("web", identities=False)
    request = {"log": log_id, "filters": {"channels": ["web"], "top_variants": 5}}
    first = api.wait(api.client.post(f"{API}/analyses", json=request).json()["status_url"])
    again = api.client.post(f"{API}/analyses", json=request)
    assert again.status_code == 200
    cached = again.json()
    assert cached["status"] == "done" and cached["cached"] and cached["result"] == first["result"]
    assert cached["filters"] == {"channels": ["web"], "top_variants": 5}
    other = api.client.post(f"{API}/analyses", json={**request, "filters": {"top_variants": 6}})
    assert other.status_code == 202


def test_an_appended_batch_makes_a_new_result(api: Api) -> None:
    log_id = api.ingest("web", identities=False)
    first = api.wait(api.client.post(f"{API}/analyses", json={"log": log_id}).json()["status_url"])
    crm = [("files", ("crm.csv", (SAMPLE / "crm.csv").read_bytes(), "text/csv"))]
    api.wait(api.client.post(f"{API}/logs/{log_id}/events", files=crm).json()["status_url"])
    second = api.client.post(f"{API}/analyses", json={"log": log_id})
    assert second.status_code == 202
    done = api.wait(second.json()["status_url"])
    assert done["log_version"] == 2 and done["result"] != first["result"]


def test_a_segment_splits_the_result_by_a_case_attribute(api: Api) -> None:
    log_id = api.ingest("web", identities=False)
    job = api.wait(
        api.client.post(f"{API}/analyses", json={"log": log_id, "segment": "device"}).json()[
            "status_url"
        ]
    )
    segments = api.client.get(job["links"]["result"]).json()["segments"]
    assert {s["segment"] for s in segments} >= {"mobile", "desktop"}
    assert (
        sum(s["cases"] for s in segments) == api.client.get(f"{API}/logs/{log_id}").json()["cases"]
    )
    body = assert_problem(
        api.client.post(f"{API}/analyses", json={"log": log_id, "segment": "shoe_size"}), 422
    )
    assert body["parameter"] == "segment"


def test_bad_analysis_filters_are_a_422_naming_the_parameter(api: Api) -> None:
    log_id = api.ingest("crm", identities=False)
    response = api.client.post(f"{API}/analyses", json={"log": log_id, "filters": {"colour": 1}})
    assert assert_problem(response, 422)["parameter"] == "colour"


def _upload_map(api: Api) -> str:
    text = (SAMPLE / "map.toml").read_text()
    response = api.client.post(
        f"{API}/maps", json={"name": "webshop", "format": "toml", "text": text}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_compare_analysis_finds_the_planted_hidden_journeys(api: Api) -> None:
    from journeyminer.miner.synthetic.generate import read_truth

    log_id, map_id = api.ingest(), _upload_map(api)
    request = {"log": log_id, "map": map_id, "kind": "compare", "segment": "device"}
    done = api.wait(api.client.post(f"{API}/analyses", json=request).json()["status_url"])
    assert done["status"] == "done", done
    data = api.client.get(done["links"]["result"]).json()
    truth = read_truth(SAMPLE)
    planted = truth.filter(pl.col("hidden_journey").is_not_null()).group_by("signature").len()
    found = {tuple(h["signature"]): h["cases"] for h in data["hidden_journeys"]}
    assert found == {tuple(sig): n for sig, n in planted.iter_rows()}
    assert data["fitness"]["n_cases"] == truth.height and data["funnel"] and data["by_segment"]
    overlay = api.client.get(done["links"]["overlay.svg"])
    assert overlay.status_code == 200 and "phone_order" in overlay.text
    leaks = api.client.get(done["links"]["result.parquet"], params={"table": "leaks"})
    assert leaks.status_code == 200


def test_compare_and_drift_need_a_map(api: Api) -> None:
    log_id = api.ingest("crm", identities=False)
    for kind in ("compare", "drift"):
        body = assert_problem(
            api.client.post(f"{API}/analyses", json={"log": log_id, "kind": kind}), 422
        )
        assert body["parameter"] == "map"


def test_a_drift_analysis_tests_two_periods(api: Api) -> None:
    log_id, map_id = api.ingest(), _upload_map(api)
    request = {"log": log_id, "map": map_id, "kind": "drift", "split_at": "2024-07-01T00:00:00Z"}
    done = api.wait(api.client.post(f"{API}/analyses", json=request).json()["status_url"])
    assert done["status"] == "done", done
    data = api.client.get(done["links"]["result"]).json()
    assert data["split_at"].startswith("2024-07-01") and data["rates"]
    assert all("p_value" in r or "p" in r or "p_adjusted" in r for r in data["rates"])


def test_a_queued_analysis_can_be_cancelled_and_has_no_result(make_api: MakeApi) -> None:
    api: Api = make_api(job_workers=1)
    log_id = api.ingest("crm", identities=False)
    release = api.block_worker()
    try:
        queued = api.client.post(f"{API}/analyses", json={"log": log_id}).json()
        assert queued["status"] == "queued"
        body = assert_problem(api.client.get(f"{queued['status_url']}/result"), 409)
        assert body["analysis_status"] == "queued"
        cancelled = api.client.delete(queued["status_url"])
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    finally:
        release.set()
    assert api.wait(queued["status_url"])["status"] == "cancelled"


def test_an_analysis_of_a_missing_log_is_a_404(api: Api) -> None:
    assert_problem(api.client.post(f"{API}/analyses", json={"log": "log_nope"}), 404)
    assert_problem(api.client.get(f"{API}/analyses/job_nope"), 404)


def test_a_customer_table_sent_with_the_upload_gives_segments_by_its_attributes(
    api: Api,
) -> None:
    customers = ("customers", ("customers.csv", (SAMPLE / "customers.csv").read_bytes()))
    files = [
        ("files", (f"{n}.csv", (SAMPLE / f"{n}.csv").read_bytes(), "text/csv"))
        for n in ("web", "call_center", "crm")
    ]
    files += [
        ("identities", ("identities.csv", (SAMPLE / "identities.csv").read_bytes())),
        customers,
    ]
    made = api.client.post(f"{API}/logs", files=files, data={"timezone": "Europe/Amsterdam"})
    job = api.wait(made.json()["status_url"])
    assert job["status"] == "done", job
    log = api.client.get(f"{API}/logs/{job['log']}").json()
    assert log["mapping"]["customers"]["file"] == "customers.csv"
    request = {"log": job["log"], "map": _upload_map(api), "kind": "compare", "segment": "region"}
    done = api.wait(api.client.post(f"{API}/analyses", json=request).json()["status_url"])
    assert done["status"] == "done", done
    whole = api.client.get(done["links"]["result"]).json()
    split = whole["by_segment"]
    assert split["attribute"] == "region"
    assert {"north", "east", "south", "west"} <= {row["segment"] for row in split["headline"]}
    assert whole["totals"]["journeys"] == sum(row["journeys"] for row in split["headline"])

    # Each region, and the journeys without one (JSON null), filter to exactly their journeys.
    for row in split["headline"]:
        one = {**request, "filters": {"segment": {"region": [row["segment"]]}}}
        done = api.wait(api.client.post(f"{API}/analyses", json=one).json()["status_url"])
        assert done["status"] == "done", done
        assert done["filters"] == {"segment": {"region": [row["segment"]]}}
        part = api.client.get(done["links"]["result"]).json()
        totals = {k: part["totals"][k] for k in ("journeys", "closed", "in_progress", "converted")}
        assert totals == {k: row[k] for k in totals}, row["segment"]
        assert [r["segment"] for r in part["by_segment"]["headline"]] == [row["segment"]]
    assert None in {row["segment"] for row in split["headline"]}


def test_a_customer_table_with_conflicting_rows_fails_the_ingest_naming_the_customer(
    api: Api,
) -> None:
    bad = b"customer_id,region\nC000001,west\nC000001,east\n"
    files = [
        ("files", ("web.csv", (SAMPLE / "web.csv").read_bytes(), "text/csv")),
        ("customers", ("customers.csv", bad, "text/csv")),
    ]
    job = api.wait(api.client.post(f"{API}/logs", files=files).json()["status_url"])
    assert job["status"] == "failed"
    assert job["error"]["status"] == 422 and job["error"]["file"] == "customers.csv"
    assert "C000001" in job["error"]["detail"] and job["error"]["row"] == 1
