"""Deleting a map or a log takes the analyses and jobs that link to it along (issue 14).

The choice (README, the service section): a DELETE deletes the finished analyses whose
result it removes, and cancels the unfinished ones, so no analysis says `done` with a
result link that answers 404. Refusing with 409 would leave no way to delete such a map:
`DELETE /analyses/{id}` cancels, it does not delete.
"""

from __future__ import annotations

from typing import Any

from .conftest import API, SAMPLE, Api, MakeApi, assert_problem


def _map(api: Api) -> str:
    text = (SAMPLE / "map.toml").read_text()
    return str(api.client.post(f"{API}/maps", json={"name": "m", "text": text}).json()["id"])


def _analyse(api: Api, **request: Any) -> dict[str, Any]:
    done = api.wait(api.client.post(f"{API}/analyses", json=request).json()["status_url"])
    assert done["status"] == "done", done
    return done


def _no_dangling_links(api: Api) -> None:
    """Every analysis and job listed answers, and every done one's result answers 200."""
    for analysis in api.client.get(f"{API}/analyses").json()["analyses"]:
        again = api.client.get(analysis["status_url"])
        assert again.status_code == 200, analysis
        if analysis["status"] == "done":
            assert api.client.get(analysis["links"]["result"]).status_code == 200, analysis


def test_deleting_a_map_deletes_the_analyses_done_with_it(api: Api) -> None:
    log_id, map_id = api.ingest("web", "crm", identities=False), _map(api)
    compare = _analyse(api, log=log_id, map=map_id, kind="compare")
    cached = _analyse(api, log=log_id, map=map_id, kind="compare")  # answered from the cache
    discover = _analyse(api, log=log_id, kind="discover")

    assert api.client.delete(f"{API}/maps/{map_id}").status_code == 204
    for gone in (compare, cached):
        assert_problem(api.client.get(gone["status_url"]), 404)
        assert_problem(api.client.get(gone["links"]["result"]), 404)
    assert api.client.get(discover["links"]["result"]).status_code == 200
    listed = {a["id"] for a in api.client.get(f"{API}/analyses").json()["analyses"]}
    assert listed == {discover["id"]}
    _no_dangling_links(api)


def test_deleting_a_log_deletes_its_analyses_and_jobs(api: Api) -> None:
    log_id, other = api.ingest("web", identities=False), api.ingest("crm", identities=False)
    ingest_jobs = [j for j in api.store.list_jobs(api.store.get_tenant_by_name("acme"))]
    analysis = _analyse(api, log=log_id, kind="discover")
    kept = _analyse(api, log=other, kind="discover")

    assert api.client.delete(f"{API}/logs/{log_id}").status_code == 204
    assert_problem(api.client.get(analysis["status_url"]), 404)
    assert_problem(api.client.get(analysis["links"]["result"]), 404)
    for job in ingest_jobs:  # the ingest job of the deleted log went with it
        status = api.client.get(f"{API}/jobs/{job.id}").status_code
        assert status == (404 if job.params["log"] == log_id else 200)
    assert api.client.get(kept["links"]["result"]).status_code == 200
    _no_dangling_links(api)


def test_an_analysis_queued_when_its_map_is_deleted_ends_cancelled_saying_why(
    make_api: MakeApi,
) -> None:
    api = make_api(job_workers=1)
    log_id, map_id = api.ingest("web", identities=False), _map(api)
    release = api.block_worker()
    try:
        request = {"log": log_id, "map": map_id, "kind": "compare"}
        queued = api.client.post(f"{API}/analyses", json=request).json()
        assert queued["status"] == "queued"
        assert api.client.delete(f"{API}/maps/{map_id}").status_code == 204
    finally:
        release.set()
    ended = api.wait(queued["status_url"])
    assert ended["status"] == "cancelled" and "was deleted" in ended["error"]["detail"]
    _no_dangling_links(api)
