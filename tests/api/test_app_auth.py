"""API keys and tenants: 401 without a valid key, another tenant's ids answer 404."""

from __future__ import annotations

import time

import pytest

from journeyminer.api.store import Store
from journeyminer.api.store.tenants import KEY_CACHE_SIZE

from .conftest import API, SAMPLE, Api, MakeApi, assert_problem


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
    api.store.revoke_api_key(api.key_id)  # the server's own store forgets the key at once
    assert_problem(api.client.get(f"{API}/logs"), 401)


def test_a_key_revoked_by_another_process_is_refused_after_key_cache_s(
    make_api: MakeApi,
) -> None:
    api = make_api(key_cache_s=0.5)
    assert api.client.get(f"{API}/logs").status_code == 200
    with Store.open(api.settings) as other_process:
        other_process.revoke_api_key(api.key_id)
    assert api.client.get(f"{API}/logs").status_code == 200  # remembered for key_cache_s
    time.sleep(0.6)
    assert_problem(api.client.get(f"{API}/logs"), 401)
    assert_problem(api.client.get(f"{API}/logs"), 401)  # a refused key is never remembered


def test_with_key_cache_s_0_every_request_looks_its_key_up(make_api: MakeApi) -> None:
    api = make_api(key_cache_s=0)
    assert api.client.get(f"{API}/logs").status_code == 200
    with Store.open(api.settings) as other_process:
        other_process.revoke_api_key(api.key_id)
    assert_problem(api.client.get(f"{API}/logs"), 401)


def test_the_key_cache_remembers_verified_tokens_only_and_a_bounded_number(
    make_api: MakeApi,
) -> None:
    api = make_api()
    cache = api.store._keys
    cache.entries.clear()
    assert api.store.authenticate("key_nope.secret") is None
    assert api.store.authenticate(f"{api.token}x") is None
    assert api.store.authenticate(f"  {api.token} ").id == api.store.authenticate(api.token).id
    assert list(cache.entries) == [api.token]
    tenant = api.store.get_tenant_by_name("acme")
    for i in range(KEY_CACHE_SIZE + 10):
        cache.put(f"token-{i}", tenant, "key_x")
    assert len(cache.entries) == KEY_CACHE_SIZE and api.token not in cache.entries
    cache.forget_key("key_x")
    assert not cache.entries


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
