"""The service runs every analysis on the engine: a log's stitched journeys are a partitioned
dataset in the store, analysed partition by partition (`JOURNEYMINER_ENGINE_WORKERS` threads
or the cluster at `JOURNEYMINER_CLUSTER`), never read whole; the answers are the whole log's
in memory, byte for byte."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from journeyminer.api.app import create_app
from journeyminer.api.settings import Settings
from journeyminer.api.store.stitching import SOURCE_FILE, SOURCE_ROW, load_journeys
from journeyminer.miner.discover.filters import Filters
from journeyminer.miner.engine.dataset import Dataset
from journeyminer.miner.errors import InputError
from journeyminer.miner.ingest.pipeline import stitch_parts
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import load_map

from .conftest import API, SAMPLE, Api, MakeApi

#: What the routes add around a use case's JSON (discover's also say its segment).
ROUTE_KEYS = ("kind", "log", "filters")
FILTERS: dict[str, Any] = {"channels": ["web", "call_center"], "top_variants": 20}


def _run(api: Api, request: dict[str, Any]) -> dict[str, Any]:
    done = api.wait(api.client.post(f"{API}/analyses", json=request).json()["status_url"], 120)
    assert done["status"] == "done", done
    return done


def _body(api: Api, done: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = api.client.get(done["links"]["result"]).json()
    added = (*ROUTE_KEYS, "segment") if data["kind"] == "discover" else ROUTE_KEYS
    return {k: v for k, v in data.items() if k not in added}


def _table(api: Api, done: dict[str, Any], table: str) -> pl.DataFrame:
    got = api.client.get(done["links"]["result.parquet"], params={"table": table})
    assert got.status_code == 200, got.text
    return pl.read_parquet(io.BytesIO(got.content))


def _plain(data: Any) -> Any:
    """As the JSON answer gives it."""
    return json.loads(json.dumps(data, default=str, ensure_ascii=False))


def _whole_log(api: Api, log_id: str, tmp_path: Path) -> EventLog:
    """The log's journeys stitched as the store stitched them before it kept a dataset: the
    whole log in one Parquet file (`stitch_parts`), read into memory."""
    tenant = api.store.get_tenant_by_name("acme")
    snap = api.store.log_snapshot(tenant, log_id)
    single = tmp_path / "whole.parquet"
    stitch_parts(
        snap.parts,
        single,
        identities=pl.scan_parquet(snap.identities) if snap.identities else None,
        file_column=SOURCE_FILE,
        row_column=SOURCE_ROW,
    )
    return EventLog.read_parquet(single)


@pytest.fixture
def never_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a stored dataset whole fails the test."""

    def refuse(self: Dataset) -> EventLog:
        raise AssertionError("the dataset was read whole")

    monkeypatch.setattr(Dataset, "to_event_log", refuse)


def test_the_store_keeps_a_logs_journeys_as_a_dataset(api: Api) -> None:
    log_id = api.ingest()
    tenant = api.store.get_tenant_by_name("acme")
    journeys = load_journeys(api.store, tenant, log_id)
    assert isinstance(journeys.data, Dataset)
    folder = journeys.data.path
    assert folder.name.startswith("journeys-") and folder.parent.name == log_id
    assert (
        journeys.data.manifest.n_events == api.client.get(f"{API}/logs/{log_id}").json()["events"]
    )
    assert api.store.check() == []


def test_every_analysis_runs_on_the_partitions_and_equals_the_whole_log(
    api: Api, tmp_path: Path, never_whole: None
) -> None:
    from journeyminer.miner.usecases import (
        compare_journeys,
        discover_graph,
        discover_journeys,
        draft_map_from_log,
        drift_between_periods,
        list_variants,
    )

    log_id = api.ingest()
    text = (SAMPLE / "map.toml").read_text()
    made = api.client.post(f"{API}/maps", json={"name": "shop", "format": "toml", "text": text})
    map_id = made.json()["id"]
    whole = _whole_log(api, log_id, tmp_path)
    designed = load_map(SAMPLE / "map.toml")

    for filters in ({}, FILTERS):
        done = _run(api, {"log": log_id, "kind": "discover", "filters": filters})
        run = discover_journeys(whole, filters=Filters.from_dict(filters))
        assert _body(api, done) == _plain(run.to_dict())
        assert _table(api, done, "cases").equals(run.cases)
        assert _table(api, done, "variants").equals(run.discovery.variants.frame)

        done = _run(
            api,
            {
                "log": log_id,
                "map": map_id,
                "kind": "compare",
                "filters": filters,
                "segment": "device",
            },
        )
        compared = compare_journeys(
            whole, designed, filters=Filters.from_dict(filters), segment="device"
        )
        body = compared.to_dict()
        if not isinstance(body.get("cases"), dict):
            body["cases"] = "case_deviations.parquet"
        assert _body(api, done) == _plain(body)
        assert _table(api, done, "leaks").equals(compared.comparison.leaks)

        request = {"log": log_id, "map": map_id, "kind": "drift", "filters": filters}
        done = _run(api, request)
        drift = drift_between_periods(whole, designed, filters=Filters.from_dict(filters))
        assert _body(api, done) == _plain(drift.to_dict())

    dfg = api.client.get(f"{API}/logs/{log_id}/dfg", params={"channels": "web"}).json()
    assert dfg["dfg"] == _plain(discover_graph(whole, filters=Filters(channels=("web",))).to_dict())
    variants = api.client.get(f"{API}/logs/{log_id}/variants", params={"limit": 7}).json()
    reference = _plain(list_variants(whole).to_dict(limit=7))
    assert {k: variants[k] for k in reference} == reference

    drafted = api.client.post(f"{API}/maps/draft", json={"log": log_id, "name": "d", "phases": 3})
    assert drafted.status_code == 201, drafted.text
    draft = draft_map_from_log(whole, name="d", phases=3)
    assert drafted.json()["draft"] == _plain(draft.to_dict())


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a running Dask scheduler with 2 worker processes."""
    from journeyminer.miner.engine.cluster import Cluster, connect

    with connect("local:2") as running:
        assert isinstance(running, Cluster)
        yield running.client.scheduler.address  # type: ignore[union-attr]


def _answers(api: Api) -> list[dict[str, Any]]:
    log_id = api.ingest()
    text = (SAMPLE / "map.toml").read_text()
    made = api.client.post(f"{API}/maps", json={"name": "shop", "format": "toml", "text": text})
    map_id = made.json()["id"]
    out = []
    for request in (
        {"log": log_id, "kind": "discover"},
        {"log": log_id, "kind": "discover", "filters": FILTERS},
        {"log": log_id, "map": map_id, "kind": "compare", "segment": "device"},
        {"log": log_id, "map": map_id, "kind": "drift"},
    ):
        out.append(_body(api, _run(api, request)))
    out.append(api.client.get(f"{API}/logs/{log_id}/dfg").json()["dfg"])
    return out


@pytest.mark.slow
def test_engine_workers_and_a_cluster_answer_as_one_partition_at_a_time(
    make_api: MakeApi, scheduler: str, never_whole: None
) -> None:
    serial = _answers(make_api())
    assert _answers(make_api(engine_workers=2)) == serial
    assert _answers(make_api(cluster=scheduler)) == serial


def test_a_bad_cluster_setting_stops_the_server_at_start(tmp_path: Path) -> None:
    app = create_app(Settings(workspace=tmp_path / "ws", cluster="localhost"))
    with pytest.raises(InputError, match="local:N"), TestClient(app):
        pass
