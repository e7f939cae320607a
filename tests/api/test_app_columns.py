"""Reading a source's columns from its first kilobytes, per-file mappings, duplicates, the sample."""

from __future__ import annotations

import json

import pytest

from .conftest import API, SAMPLE, Api, assert_problem

OWN = "Klant ID;Stap;Tijdstip;Kanaal\nk1;bezoek;2024-01-02 10:00:00;web\nk1;kassa;2024-01-02 10:05"


def test_the_columns_of_a_sample_come_with_the_presets_that_fit(api: Api) -> None:
    sample = (SAMPLE / "call_center.csv").read_text()[:65536]
    body = api.client.post(f"{API}/logs/columns", json={"name": "calls.csv", "sample": sample})
    assert body.status_code == 200, body.text
    read = body.json()
    assert read["delimiter"] == ";" and read["columns"][:3] == [
        "call_id",
        "caller_id",
        "call_start",
    ]
    assert read["preset"] == "call_center"
    assert read["presets"]["web"] is None
    assert read["presets"]["call_center"]["case"] == "caller_id"


def test_own_column_names_get_a_guess_per_role_and_only_whole_example_rows(api: Api) -> None:
    read = api.client.post(f"{API}/logs/columns", json={"name": "x.csv", "sample": OWN}).json()
    assert read["preset"] is None
    assert read["suggested"] == {
        "case": "Klant ID",
        "activity": "Stap",
        "timestamp": "Tijdstip",
        "channel": "Kanaal",
    }
    assert read["rows"] == [["k1", "bezoek", "2024-01-02 10:00:00", "web"]]  # last one is cut


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x.parquet", "sample": "PAR1"}, "name"),
        ({"name": "x.jsonl", "sample": "not json"}, "sample"),
        ({"name": "x.csv", "sample": ""}, "sample"),
        ({"name": "x.csv"}, "sample"),
        ({"name": "x.csv", "sample": "a", "extra": 1}, "extra"),
    ],
)
def test_a_sample_that_cannot_be_read_is_a_422_naming_the_field(
    api: Api, body: dict[str, object], field: str
) -> None:
    problem = assert_problem(api.client.post(f"{API}/logs/columns", json=body), 422)
    assert field in json.dumps(problem)


def test_each_file_can_have_its_own_mapping(api: Api) -> None:
    own = {"case": "Klant ID", "activity": "Stap", "timestamp": "Tijdstip", "channel": "Kanaal"}
    files = [
        ("files", ("export.csv", OWN.rsplit("\n", 1)[0].encode(), "text/csv")),
        ("files", ("web.csv", (SAMPLE / "web.csv").read_bytes(), "text/csv")),
    ]
    data = {"mapping": [json.dumps(own), json.dumps({"preset": "web"})]}
    response = api.client.post(f"{API}/logs", files=files, data=data)
    assert response.status_code == 202, response.text
    assert api.wait(response.json()["status_url"])["status"] == "done"
    log = api.client.get(f"{API}/logs/{response.json()['log']}").json()
    assert log["mapping"]["sources"]["export.csv"]["case"] == "Klant ID"
    assert set(log["channels"]) == {"web"}
    data = {"mapping": [json.dumps(own)] * 3, "name": "three mappings"}
    problem = assert_problem(api.client.post(f"{API}/logs", files=files, data=data), 422)
    assert problem["column"] == "mapping" and problem["found"] == "3"


def test_the_same_files_again_without_a_name_answer_409_naming_the_log(api: Api) -> None:
    log_id = api.ingest("crm", identities=False)
    problem = assert_problem(api.upload(("crm",), identities=False), 409)
    assert problem["existing_log"] == log_id and problem["column"] == "files"
    assert len(api.client.get(f"{API}/logs").json()["logs"]) == 1
    named = api.upload(("crm",), identities=False, data={"name": "crm again"})
    assert named.status_code == 202


def test_the_sample_loads_once_with_its_map(api: Api) -> None:
    assert api.client.get(f"{API}/logs/sample").json()["available"] is True
    first = api.client.post(f"{API}/logs/sample")
    assert first.status_code == 202, first.text
    job = api.wait(first.json()["job"]["status_url"], timeout=60)
    assert job["status"] == "done", job
    again = api.client.post(f"{API}/logs/sample").json()
    assert again["job"] is None and again["log"] == job["log"]
    assert again["map"] == first.json()["map"]
    log = api.client.get(f"{API}/logs/{job['log']}").json()
    assert log["journeys"] == 2741


def test_without_the_sample_the_answer_says_why(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from journeyminer.api.routes import samples

    monkeypatch.setattr(samples, "SAMPLE", SAMPLE / "missing")
    info = api.client.get(f"{API}/logs/sample").json()
    assert info["available"] is False and "wheel" in info["detail"]
    assert_problem(api.client.post(f"{API}/logs/sample"), 404)
    assert api.client.get(f"{API}/maps").json()["maps"] == []
