"""API keys and tenants: 401 without a valid key, another tenant's ids answer 404."""

from __future__ import annotations

import pytest

from .conftest import API, SAMPLE, Api, assert_problem


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer key_nope.secret"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
)
def test_a_missing_or_invalid_key_is_a_401_with_www_authenticate(
    api: Api, headers: dict[str, str]
) -> None:
    api.client.headers.pop("Authorization")
    response = api.client.get(f"{API}/logs", headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_key_is_a_401(api: Api) -> None:
    assert api.client.get(f"{API}/logs").status_code == 200
    api.store.revoke_api_key(api.key_id)
    assert_problem(api.client.get(f"{API}/logs"), 401)


def test_health_docs_and_openapi_need_no_key(api: Api) -> None:
    api.client.headers.pop("Authorization")
    assert api.client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"store": "ok", "schema": "ok"}
    assert api.client.get("/docs").status_code == 200
    assert api.client.get("/openapi.json").status_code == 200


def test_the_openapi_schema_documents_every_route_with_examples(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        f"{API}/logs",
        f"{API}/logs/{{log_id}}/events",
        f"{API}/logs/{{log_id}}/dfg",
        f"{API}/maps/{{map_id}}",
        f"{API}/analyses/{{analysis_id}}/result.parquet",
    ):
        assert path in paths
    assert "multipart/form-data" in paths[f"{API}/logs"]["post"]["requestBody"]["content"]
    for name in ("LogPublic", "MapCreate", "AnalysisCreate", "AnalysisPublic", "JobPublic"):
        assert schema["components"]["schemas"][name].get("examples"), name
    assert "ApiKey" in schema["components"]["securitySchemes"]
    problem = paths[f"{API}/logs/{{log_id}}"]["get"]["responses"]["404"]["content"]
    assert "application/problem+json" in problem


def test_another_tenants_resources_answer_404_as_if_missing(api: Api) -> None:
    log_id = api.ingest("crm", identities=False)
    text = (SAMPLE / "map.toml").read_text()
    map_id = api.client.post(f"{API}/maps", json={"name": "m", "text": text}).json()["id"]
    job = api.wait(api.client.post(f"{API}/analyses", json={"log": log_id}).json()["status_url"])
    other = api.as_other()
    for url in (
        f"{API}/logs/{log_id}",
        f"{API}/logs/{log_id}/dfg",
        f"{API}/maps/{map_id}",
        f"{API}/analyses/{job['id']}",
        f"{API}/analyses/{job['id']}/result",
        f"{API}/jobs/{job['id']}",
    ):
        missing = url.replace(log_id, "log_nope").replace(map_id, "map_nope")
        missing = missing.replace(job["id"], "job_nope")
        theirs = assert_problem(api.client.get(url, headers=other), 404)
        nothing = assert_problem(api.client.get(missing, headers=other), 404)
        assert theirs["title"] == nothing["title"] and theirs["type"] == nothing["type"]
    assert_problem(api.client.delete(f"{API}/logs/{log_id}", headers=other), 404)
    assert_problem(api.client.post(f"{API}/analyses", json={"log": log_id}, headers=other), 404)
    assert api.client.get(f"{API}/logs", headers=other).json() == {"logs": []}
    assert api.client.get(f"{API}/maps", headers=other).json() == {"maps": []}
    assert api.client.get(f"{API}/logs/{log_id}").status_code == 200


def test_the_request_id_is_propagated_or_made(api: Api) -> None:
    given = api.client.get("/healthz", headers={"X-Request-ID": "abc-1"})
    assert given.headers["x-request-id"] == "abc-1"
    made = api.client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces" and made.headers["x-request-id"]
