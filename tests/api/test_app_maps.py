"""Designed maps over HTTP: create, read, list, new versions, delete, validation errors."""

from __future__ import annotations

import time
from pathlib import Path

from .conftest import API, SAMPLE, Api, MakeApi, assert_problem

MAPS = Path(__file__).resolve().parents[1] / "data" / "maps"


def test_a_map_is_created_read_versioned_and_deleted(api: Api) -> None:
    text = (SAMPLE / "map.toml").read_text()
    created = api.client.post(f"{API}/maps", json={"name": "webshop", "text": text})
    assert created.status_code == 201
    body = created.json()
    assert body["version"] == 1 and body["format"] == "toml" and body["text"] == text
    assert created.headers["location"] == f"{API}/maps/{body['id']}"
    map_url = f"{API}/maps/{body['id']}"

    assert api.client.get(map_url).json()["text"] == text
    assert [m["name"] for m in api.client.get(f"{API}/maps").json()["maps"]] == ["webshop"]

    small = (MAPS / "small.json").read_text()
    updated = api.client.put(map_url, json={"format": "json", "text": small})
    assert updated.status_code == 200
    assert updated.json()["version"] == 2 and updated.json()["format"] == "json"
    old = api.client.get(map_url, params={"version": 1}).json()
    assert old["version"] == 1 and old["latest_version"] == 2 and old["text"] == text

    assert api.client.delete(map_url).status_code == 204
    assert_problem(api.client.get(map_url), 404)


def test_an_invalid_map_is_a_422_with_its_line_and_id(api: Api) -> None:
    text = (MAPS / "broken.toml").read_text()
    body = assert_problem(api.client.post(f"{API}/maps", json={"name": "b", "text": text}), 422)
    assert body["line"] == 8 and body["id"] == "awareness"
    assert len(body["problems"]) > 1
    assert not api.client.get(f"{API}/maps").json()["maps"]


def test_malformed_json_map_text_is_a_422(api: Api) -> None:
    response = api.client.post(
        f"{API}/maps", json={"name": "j", "format": "json", "text": '{"phases": ['}
    )
    assert_problem(response, 422)


def test_an_invalid_new_version_keeps_the_old_one(api: Api) -> None:
    text = (MAPS / "small.toml").read_text()
    map_id = api.client.post(f"{API}/maps", json={"name": "s", "text": text}).json()["id"]
    bad = (MAPS / "broken.toml").read_text()
    assert_problem(api.client.put(f"{API}/maps/{map_id}", json={"text": bad}), 422)
    assert api.client.get(f"{API}/maps/{map_id}").json()["version"] == 1


def test_a_second_map_with_the_same_name_is_a_409(api: Api) -> None:
    text = (MAPS / "small.toml").read_text()
    assert api.client.post(f"{API}/maps", json={"name": "s", "text": text}).status_code == 201
    assert_problem(api.client.post(f"{API}/maps", json={"name": "s", "text": text}), 409)


def test_the_yaml_alias_bomb_is_a_422_naming_the_limit_in_under_a_second(api: Api) -> None:
    text = (MAPS / "alias_bomb.yaml").read_text()
    started = time.perf_counter()
    response = api.client.post(f"{API}/maps", json={"name": "b", "format": "yaml", "text": text})
    assert time.perf_counter() - started < 1.0  # 30+ s and 4 GB before (issue 14)
    body = assert_problem(response, 422)
    assert body["limit"] == "yaml_aliases" and body["line"] == 2
    assert "anchors and aliases are not accepted" in body["detail"]
    assert not api.client.get(f"{API}/maps").json()["maps"]


def test_a_map_nested_900_deep_is_a_422_naming_max_map_depth(api: Api) -> None:
    text = '{"name": ' + "[" * 900 + "]" * 900 + "}"  # a RecursionError (500) before
    response = api.client.post(f"{API}/maps", json={"name": "d", "format": "json", "text": text})
    body = assert_problem(response, 422)
    assert body["limit"] == "max_map_depth" and body["max"] == 20
    assert "(max_map_depth)" in body["detail"]


def test_the_map_limits_are_settings(make_api: MakeApi) -> None:
    api = make_api(max_map_nodes=50, max_map_bytes=2_000)
    small = (MAPS / "small.toml").read_text()
    body = assert_problem(api.client.post(f"{API}/maps", json={"name": "s", "text": small}), 422)
    assert body["limit"] == "max_map_nodes" and "limit of 50 values" in body["detail"]
    tiny = 'name = "x"\n' + "#" * 3_000
    body = assert_problem(api.client.post(f"{API}/maps", json={"name": "t", "text": tiny}), 422)
    assert body["limit"] == "max_map_bytes" and body["max"] == 2_000
