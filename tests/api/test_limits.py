"""Limits on what one request can make large (`JOURNEYMINER_MAX_*`): files and text fields of
an upload, file/log/map names, JSON bodies, and a source's values, header, columns and
activities; each refusal is a 413 or 422 problem naming the limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app as cli

from .conftest import API, SAMPLE, Api, MakeApi, assert_problem

WEB = (SAMPLE / "web.csv").read_bytes()
MAP = (SAMPLE / "map.toml").read_text()


def _limit(response: object, status: int, limit: str) -> dict[str, object]:
    body = assert_problem(response, status)  # type: ignore[arg-type]
    assert body["limit"] == limit, body
    assert limit in body["detail"]
    return body


def _web_with(line: str) -> bytes:
    header, rest = WEB.split(b"\n", 1)
    return header + b"\n" + line.encode() + b"\n" + rest


def test_more_files_than_the_limit_are_a_413_naming_it(make_api: MakeApi) -> None:
    api = make_api(max_upload_files=2)
    files = [("files", (f"web{i}.csv", WEB, "text/csv")) for i in range(3)]
    body = _limit(
        api.client.post(f"{API}/logs", files=files, data={"preset": "web"}), 413, "max_upload_files"
    )
    assert body["max"] == 2
    assert api.client.get(f"{API}/logs").json()["logs"] == []


def test_more_text_fields_than_the_limit_are_a_413(make_api: MakeApi) -> None:
    api = make_api(max_form_fields=5)
    data = {"goal": [f"g{i}" for i in range(10)], "preset": "web"}
    response = api.client.post(
        f"{API}/logs", files=[("files", ("web.csv", WEB, "text/csv"))], data=data
    )
    _limit(response, 413, "max_form_fields")


def test_a_file_name_over_the_limit_is_a_422(api: Api) -> None:
    name = "w" * 300 + ".csv"
    response = api.client.post(
        f"{API}/logs", files=[("files", (name, WEB, "text/csv"))], data={"preset": "web"}
    )
    body = _limit(response, 422, "max_file_name_chars")
    assert body["column"] == "files"


def test_a_log_name_over_the_limit_is_a_422_and_stores_nothing(api: Api) -> None:
    response = api.client.post(
        f"{API}/logs", files=[("files", ("web.csv", WEB, "text/csv"))], data={"name": "n" * 201}
    )
    _limit(response, 422, "max_name_chars")
    assert api.client.get(f"{API}/logs").json()["logs"] == []


def test_a_map_name_over_the_limit_is_a_422_and_the_setting_moves_it(make_api: MakeApi) -> None:
    api = make_api(max_name_chars=10)
    response = api.client.post(f"{API}/maps", json={"name": "m" * 11, "text": MAP})
    _limit(response, 422, "max_name_chars")
    assert api.client.post(f"{API}/maps", json={"name": "m" * 10, "text": MAP}).status_code == 201


def test_a_json_body_over_the_limit_is_a_413_with_or_without_content_length(
    make_api: MakeApi,
) -> None:
    api = make_api(max_json_bytes=4096)
    big = '{"name": "m", "text": "' + "x" * 10_000 + '"}'
    headers = {"Content-Type": "application/json"}
    _limit(api.client.post(f"{API}/maps", content=big, headers=headers), 413, "max_json_bytes")

    def chunks() -> Iterator[bytes]:
        data = big.encode()
        for i in range(0, len(data), 1024):
            yield data[i : i + 1024]

    response = api.client.post(f"{API}/maps", content=chunks(), headers=headers)
    _limit(response, 413, "max_json_bytes")
    assert api.client.get(f"{API}/maps").json()["maps"] == []


def test_a_megabyte_activity_fails_the_ingest_naming_the_limit_and_keeps_get_logs_small(
    api: Api,
) -> None:
    line = "ck_x,ses_x," + "a" * 1_000_000 + ",/,mobile,2024-01-01T09:20:21.268Z"
    files = [("files", ("web.csv", _web_with(line), "text/csv"))]
    response = api.client.post(f"{API}/logs", files=files, data={"preset": "web"})
    assert response.status_code == 202, response.text
    job = api.wait(response.json()["status_url"])
    assert job["status"] == "failed"
    error = job["error"]
    assert (error["status"], error["limit"], error["row"]) == (422, "max_value_bytes", 1)
    assert len(api.client.get(f"{API}/logs").content) < 20_000


def test_a_header_over_the_limits_is_a_422_before_any_job(make_api: MakeApi) -> None:
    api = make_api(max_columns=8)
    header = WEB.split(b"\n", 1)[0] + b"".join(b",x%d" % i for i in range(5))
    files = [("files", ("web.csv", header + b"\n", "text/csv"))]
    _limit(api.client.post(f"{API}/logs", files=files, data={"preset": "web"}), 422, "max_columns")
    long_header = WEB.split(b"\n", 1)[0] + b"," + b"h" * 70_000 + b"\n" + WEB.split(b"\n", 1)[1]
    files = [("files", ("web.csv", long_header, "text/csv"))]
    _limit(
        api.client.post(f"{API}/logs", files=files, data={"preset": "web"}), 422, "max_header_bytes"
    )
    assert api.client.get(f"{API}/jobs").json()["jobs"] == []


def test_an_append_past_the_logs_activity_limit_fails_and_leaves_the_log_as_it_was(
    make_api: MakeApi,
) -> None:
    api = make_api(max_activities=12)
    log_id = api.ingest("web", identities=False)
    before = api.client.get(f"{API}/logs/{log_id}").json()
    assert len(before["activities"]) <= 12
    extra = "\n".join(
        f"ck_n{i},ses_n{i},new_step_{i},/,mobile,2024-02-01T09:20:21.268Z" for i in range(10)
    )
    files = [("files", ("web2.csv", WEB.split(b"\n", 1)[0] + b"\n" + extra.encode(), "text/csv"))]
    response = api.client.post(f"{API}/logs/{log_id}/events", files=files, data={"preset": "web"})
    job = api.wait(response.json()["status_url"])
    assert job["status"] == "failed" and job["error"]["limit"] == "max_activities"
    assert api.client.get(f"{API}/logs/{log_id}").json() == before


def test_the_cli_refuses_a_long_value_with_exit_code_2_naming_the_limit(tmp_path: Path) -> None:
    src = tmp_path / "web.csv"
    src.write_bytes(_web_with("ck_x,ses_x," + "a" * 5_000 + ",/,mobile,2024-01-01T09:20:21.268Z"))
    result = CliRunner().invoke(
        cli, ["ingest", f"{src}=web", "--out", str(tmp_path / "log.parquet")]
    )
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "max_value_bytes" in result.output
