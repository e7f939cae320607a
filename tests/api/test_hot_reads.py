"""The hot reads answer exactly what the routes answer; anything else goes to the routes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from journeyminer.api import hot_reads
from journeyminer.api.deps import get_store

from .conftest import API, SAMPLE, Api, assert_problem

#: Headers that differ between any two answers, whoever makes them.
VOLATILE = {"x-request-id", "date"}


def _seed(api: Api) -> dict[str, str]:
    log_id = api.ingest()
    text = (SAMPLE / "map.toml").read_text()
    map_id = api.client.post(f"{API}/maps", json={"name": "m", "text": text}).json()["id"]
    urls = {"log": f"{API}/logs/{log_id}"}
    for kind in ("discover", "compare"):
        body = {"log": log_id, "kind": kind, **({"map": map_id} if kind == "compare" else {})}
        done = api.wait(api.client.post(f"{API}/analyses", json=body).json()["status_url"])
        assert done["status"] == "done", done
        urls[kind] = done["status_url"]
        urls[f"{kind} result"] = done["links"]["result"]
    return urls


def _count_hot_answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each tenant the hot reads authenticated (they call `tenant_for` first)."""
    seen: list[str] = []
    real: Callable[..., Any] = hot_reads.tenant_for

    def counting(store: Any, authorization: str | None) -> Any:
        tenant = real(store, authorization)
        seen.append(getattr(tenant, "id", "none"))
        return tenant

    monkeypatch.setattr(hot_reads, "tenant_for", counting)
    return seen


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_the_hot_reads_answer_byte_for_byte_what_the_routes_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    urls = _seed(api)
    seen = _count_hot_answers(monkeypatch)
    headers = {"Accept-Encoding": encoding}
    for name, url in urls.items():
        api.app.state.hot_reads = True
        hot = api.client.get(url, headers=headers)
        api.app.state.hot_reads = False
        routed = api.client.get(url, headers=headers)
        assert hot.status_code == routed.status_code == 200, name
        assert hot.content == routed.content, name
        same = {k: v for k, v in hot.headers.items() if k not in VOLATILE}
        assert same == {k: v for k, v in routed.headers.items() if k not in VOLATILE}, name
        assert hot.headers["x-request-id"] != routed.headers["x-request-id"]
    assert len(seen) == len(urls)  # each hot answer came from the hot path


def test_errors_on_hot_paths_are_the_routes_problems(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = _seed(api)
    seen = _count_hot_answers(monkeypatch)
    for url in (f"{API}/analyses/job_nope", f"{API}/analyses/job_nope/result", f"{API}/logs/x"):
        body = assert_problem(api.client.get(url), 404)
        assert body["id"] in url
    assert_problem(api.client.get(urls["log"], headers=api.as_other()), 404)
    assert_problem(api.client.get(urls["discover result"], headers=api.as_other()), 404)
    for headers in ({"Authorization": "Bearer key_nope.secret"}, {"Authorization": "Basic x"}):
        denied = api.client.get(urls["discover"], headers=headers)
        assert_problem(denied, 401)
        assert denied.headers["www-authenticate"].startswith("Bearer")
    # An ingest job is not an analysis: the hot read fails, the route says 404.
    ingest = api.upload(("crm",), identities=False).json()
    api.wait(ingest["status_url"])
    assert_problem(api.client.get(f"{API}/analyses/{ingest['id']}"), 404)
    assert len(seen) == 8 and seen.count("none") == 2


def test_head_query_strings_and_dependency_overrides_go_to_the_routes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = _seed(api)
    seen = _count_hot_answers(monkeypatch)
    plain = api.client.get(urls["discover"])
    assert api.client.head(urls["discover"]).status_code == 405  # as FastAPI's GET routes
    assert api.client.get(urls["discover"], params={"x": "1"}).content == plain.content
    assert len(seen) == 1
    api.app.dependency_overrides[get_store] = lambda: api.store
    assert api.client.get(urls["discover"]).content == plain.content
    assert len(seen) == 1


def test_hot_reads_are_logged_with_their_tenant_and_request_id(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    urls = _seed(api)
    caplog.set_level(logging.INFO, logger="journeyminer.api.access")
    answer = api.client.get(urls["log"], headers={"X-Request-ID": "hot-1"})
    assert answer.headers["x-request-id"] == "hot-1"
    (line,) = [r for r in caplog.records if getattr(r, "request_id", None) == "hot-1"]
    tenant = api.store.get_tenant_by_name("acme")
    assert vars(line)["tenant"] == tenant.id and vars(line)["status"] == 200
