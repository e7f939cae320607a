"""Schemathesis against the app's own OpenAPI schema, in-process: no 5xx, errors are problems.

Every operation gets generated requests in positive and negative mode (valid and invalid
inputs by the schema), then positive ones with the path ids of real resources (a log of the
bundled sample, a map, a discover and a compare analysis) so the routes past the 404 run too.
Each answer must be below 500, every 4xx is `application/problem+json` with type, title,
status and detail and no traceback or path, and schemathesis' conformance checks pass
(documented statuses, content types and bodies). Hypothesis is derandomized: the same
requests every run.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python import asgi

from journeyminer.api.app import create_app
from journeyminer.api.settings import Settings
from journeyminer.api.store import Store

from .conftest import API, SAMPLE, Api, assert_problem

pytestmark = pytest.mark.fuzz

#: Examples per operation and generation mode: 25 operations x (2 modes + real ids) x 25
#: is about 1,700 requests (measured: ~30 s on 2 cores).
EXAMPLES = 25
MIN_REQUESTS = 500
#: Schemathesis' checks on every answer, besides ours: statuses, content types and bodies as
#: documented, invalid input rejected. Not `positive_data_acceptance`: a schema-valid map
#: text or upload can still be semantically wrong (422), and not `ignored_auth`: the key
#: is always valid here (tests/api/test_app_auth.py covers auth).
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
]
LEAKS = ("Traceback", 'File "', "/tmp/", "/work/", "site-packages")


def _wait(client: Any, url: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(url).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, f"still {body['status']}: {body}"
        time.sleep(0.05)


def _seed(client: Any) -> dict[str, str]:
    """A ready log, a map and two done analyses; their ids by path parameter name."""
    files = [
        ("files", (f"{n}.csv", (SAMPLE / f"{n}.csv").read_bytes(), "text/csv"))
        for n in ("web", "call_center", "crm")
    ]
    files.append(("identities", ("identities.csv", (SAMPLE / "identities.csv").read_bytes())))
    made = client.post(f"{API}/logs", files=files, data={"timezone": "Europe/Amsterdam"})
    assert made.status_code == 202, made.text
    job = _wait(client, made.json()["status_url"])
    assert job["status"] == "done", job
    log_id = job["log"]
    shop = client.post(
        f"{API}/maps",
        json={"name": "shop", "format": "toml", "text": (SAMPLE / "map.toml").read_text()},
    )
    assert shop.status_code == 201, shop.text
    map_id = shop.json()["id"]
    ids = {"log_id": log_id, "map_id": map_id, "job_id": job["id"]}
    for kind in ("discover", "compare"):
        body = {"log": log_id, "kind": kind, **({"map": map_id} if kind == "compare" else {})}
        queued = client.post(f"{API}/analyses", json=body)
        assert queued.status_code in (200, 202), queued.text
        done = _wait(client, queued.json()["status_url"])
        assert done["status"] == "done", done
        ids[f"{kind}_id"] = done["id"]
    ids["analysis_id"] = ids["compare_id"]
    return ids


def _problems(response: Any, where: str) -> list[str]:
    """What is wrong with an answer: a 5xx, or an error that is not a whole problem+json."""
    status = response.status_code
    if status < 400:
        return []
    found = [f"{where}: answered {status}"] if status >= 500 else []
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/problem+json"):
        return [*found, f"{where}: {status} with content type {content_type!r}"]
    try:
        body = json.loads(response.content)
    except ValueError:
        return [*found, f"{where}: {status} problem is not JSON"]
    missing = [k for k in ("type", "title", "status", "detail") if k not in body]
    if missing or body.get("status") != status or not isinstance(body.get("detail"), str):
        found.append(f"{where}: {status} problem is incomplete: {body}")
    text = response.content.decode("utf-8", "replace")
    found += [f"{where}: {status} leaks {leak!r}" for leak in LEAKS if leak in text]
    return found


@pytest.mark.slow
def test_generated_requests_never_answer_5xx_and_every_error_is_a_problem(
    tmp_path: Path,
) -> None:
    config = Settings(workspace=tmp_path / "ws", queue_size=64)
    with Store.open(config) as store:
        _, token = store.create_api_key(store.create_tenant("acme"))
    auth = {"Authorization": f"Bearer {token}"}
    app = create_app(config)
    sent: Counter[str] = Counter()
    failures: list[str] = []

    def fuzz(operation: Any, mode: GenerationMode, path_parameters: dict[str, str]) -> None:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            # A valid key always: negative mode then breaks the inputs, not just the auth.
            case.headers = {**(case.headers or {}), **auth}
            response = case.call()
            sent[operation.label] += 1
            found = _problems(response, f"{case.method} {case.formatted_path}")
            assert not found, found
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # Negative mode has nothing to break in an operation without inputs (/healthz).
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # every operation runs; all failures are reported at the end
            failures.append(f"{operation.label} ({mode.value}): {exc}")

    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        with asgi.get_client(app) as client:
            client.headers.update(auth)
            ids = _seed(client)
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz(operation, mode, {})
        # Real ids last, deletes at the very end so the other routes see the resources.
        for operation in sorted(operations, key=lambda op: op.method.upper() == "DELETE"):
            names = [p.name for p in operation.path_parameters]
            if names:
                if operation.path.endswith("/dfg.svg"):
                    ids["analysis_id"] = ids["discover_id"]  # compare results draw no DFG
                fuzz(operation, GenerationMode.POSITIVE, {n: ids[n] for n in names})
                ids["analysis_id"] = ids["compare_id"]
    finally:
        asgi.shutdown_lifespans()

    assert not failures, "\n\n".join(failures)
    assert sum(sent.values()) >= MIN_REQUESTS, sent
    assert len(sent) >= 25, sorted(sent)


# -- what schemathesis found, pinned as plain tests (its examples vary with the schema) ---
def test_a_body_that_is_not_multipart_is_a_400_problem_not_a_500(api: Api) -> None:
    response = api.client.post(
        f"{API}/logs",
        content=b"--b\r\nContent-Disposition[: form-data\r\n\r\nx\r\n--b--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    body = assert_problem(response, 400)
    assert body["title"] == "Malformed body"
    uploads = api.settings.workspace / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_a_version_beyond_sqlite_integers_is_a_422_problem_not_a_500(api: Api) -> None:
    made = api.client.post(
        f"{API}/maps",
        json={"name": "shop", "format": "toml", "text": (SAMPLE / "map.toml").read_text()},
    )
    assert made.status_code == 201, made.text
    huge = 2**63
    assert_problem(api.client.get(f"{API}/maps/{made.json()['id']}?version={huge}"), 422)
    body = {"log": "log_missing", "kind": "compare", "map": made.json()["id"], "map_version": huge}
    assert_problem(api.client.post(f"{API}/analyses", json=body), 422)


def test_the_openapi_schema_documents_every_error_as_a_problem(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code[0] in "45":
                    assert list(response.get("content", {})) == ["application/problem+json"], (
                        method,
                        path,
                        code,
                    )
            if "requestBody" in operation:
                assert "400" in operation["responses"], (method, path)


# -- what the API benchmark changed (benchmarks/bench_api.py) ----------------------------
def test_a_result_served_from_memory_is_gone_once_its_log_is_deleted(api: Api) -> None:
    log_id = api.ingest("crm", identities=False)
    queued = api.client.post(f"{API}/analyses", json={"log": log_id, "kind": "discover"})
    done = api.wait(queued.json()["status_url"])
    first = api.client.get(done["links"]["result"])
    second = api.client.get(done["links"]["result"])  # from the app's result-bytes cache
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    assert second.json()["log"]["id"] == log_id
    assert api.client.delete(f"{API}/logs/{log_id}").status_code == 204
    assert_problem(api.client.get(done["links"]["result"]), 404)
