"""Every error source answers application/problem+json with the right status."""

from __future__ import annotations

from .conftest import API, SAMPLE, Api, MakeApi, assert_problem


def test_an_unknown_path_is_a_404_problem(api: Api) -> None:
    body = assert_problem(api.client.get(f"{API}/nothing-here"), 404)
    assert body["detail"] == f"no such path: {API}/nothing-here"


def test_an_unknown_id_is_a_404_problem_naming_it(api: Api) -> None:
    body = assert_problem(api.client.get(f"{API}/logs/log_missing"), 404)
    assert body["id"] == "log_missing"
    assert_problem(api.client.get(f"{API}/maps/map_missing"), 404)
    assert_problem(api.client.get(f"{API}/jobs/job_missing"), 404)


def test_a_wrong_method_is_a_405_problem_with_allow(api: Api) -> None:
    response = api.client.patch(f"{API}/logs")
    assert_problem(response, 405)
    assert response.headers["allow"]


def test_an_upload_over_the_limit_is_a_413_and_leaves_no_partial_file(
    make_api: MakeApi,
) -> None:
    api = make_api(max_upload_bytes=64 * 1024)
    response = api.upload(("web",), identities=False)
    body = assert_problem(response, 413)
    assert "65,536" in body["detail"]
    uploads = api.settings.workspace / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert not api.client.get(f"{API}/logs").json()["logs"]


def test_a_body_over_the_limit_without_content_length_stops_while_streaming(
    make_api: MakeApi,
) -> None:
    api = make_api(max_upload_bytes=64 * 1024)
    data = (SAMPLE / "web.csv").read_bytes()
    boundary = "jmboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="web.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()

    def chunks():  # a generator body is sent chunked, without Content-Length
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    response = api.client.post(
        f"{API}/logs",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_problem(response, 413)
    uploads = api.settings.workspace / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_an_unsupported_file_type_is_a_415(api: Api) -> None:
    response = api.client.post(
        f"{API}/logs", files=[("files", ("events.exe", b"MZ", "application/octet-stream"))]
    )
    body = assert_problem(response, 415)
    assert body["file"] == "events.exe" and body["found"] == ".exe"


def test_an_upload_that_is_not_multipart_is_a_415(api: Api) -> None:
    assert_problem(api.client.post(f"{API}/logs", json={"files": []}), 415)


def test_request_validation_is_a_422_problem_naming_the_field(api: Api) -> None:
    body = assert_problem(api.client.post(f"{API}/analyses", json={"kind": "discover"}), 422)
    assert body["parameter"] == "log"
    assert body["errors"][0]["field"] == "log"
    body = assert_problem(api.client.post(f"{API}/analyses", json={"log": "x", "kind": "x"}), 422)
    assert body["parameter"] == "kind"
    assert_problem(
        api.client.post(
            f"{API}/maps", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        422,
    )


def test_an_unknown_form_field_is_a_422(api: Api) -> None:
    response = api.client.post(
        f"{API}/logs",
        files=[("files", ("web.csv", b"x", "text/csv"))],
        data={"colour": "red"},
    )
    assert assert_problem(response, 422)["parameter"] == "colour"


def test_a_full_job_queue_is_a_429_with_retry_after(make_api: MakeApi) -> None:
    api = make_api(job_workers=1, queue_size=1)
    log_id = api.ingest("crm", identities=False)
    release = api.block_worker()
    try:
        first = api.client.post(f"{API}/analyses", json={"log": log_id})
        assert first.status_code == 202  # waits in the queue: now it is full
        response = api.client.post(
            f"{API}/analyses", json={"log": log_id, "filters": {"top_variants": 1}}
        )
        body = assert_problem(response, 429)
        assert int(response.headers["retry-after"]) > 0 and "queue" in body["detail"]
        assert_problem(api.upload(("web",), identities=False), 429)
    finally:
        release.set()
    assert api.wait(first.json()["status_url"])["status"] == "done"


def test_an_unexpected_error_is_a_500_without_traceback_or_path(make_api: MakeApi) -> None:
    api = make_api(raise_server_exceptions=False)

    def boom() -> None:
        raise RuntimeError(f"secret detail in {api.settings.workspace}/journeyminer.sqlite3")

    api.app.add_api_route(f"{API}/boom", boom)
    response = api.client.get(f"{API}/boom", headers={"X-Request-ID": "req-123"})
    body = assert_problem(response, 500)
    assert body["request_id"] == "req-123" and response.headers["x-request-id"] == "req-123"
    assert "secret" not in response.text and "RuntimeError" not in response.text
