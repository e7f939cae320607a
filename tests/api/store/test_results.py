"""Cached results (`api/store/results.py`): found by their key, first one wins, file names
checked, tenancy."""

from __future__ import annotations

import polars as pl
import pytest

from journeyminer.api.store import ResultKey, Store, Tenant, params_hash
from journeyminer.miner.errors import NotFoundError
from tests.api.store.conftest import DAY1, make_log


def test_results_are_cached_by_log_version_map_version_and_params(
    store: Store, acme: Tenant, other: Tenant
) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    key = ResultKey("discover", log.id, 1, params_hash({"min": 1, "segment": None}))
    assert key.params_hash == params_hash({"segment": None, "min": 1})
    assert store.get_result(acme, key) is None
    frame = pl.DataFrame({"a": [1, 2]})
    result = store.put_result(acme, key, {"result.json": '{"ok": 1}', "edges.parquet": frame})
    assert result.id.startswith("res_")
    assert store.get_result(acme, key) == result
    assert result.files["result.json"].read_text() == '{"ok": 1}'
    assert pl.read_parquet(result.files["edges.parquet"]).equals(frame)
    assert result.to_dict()["files"] == ["edges.parquet", "result.json"]
    assert store.get_result(acme, ResultKey("discover", log.id, 2, key.params_hash)) is None
    again = store.put_result(acme, key, {"result.json": "{}"})
    assert again == result
    assert len(list((store.root / "results").iterdir())) == 1
    assert store.get_result(other, key) is None
    with pytest.raises(NotFoundError):
        store.get_result_by_id(other, result.id)
    with pytest.raises(ValueError):
        store.put_result(acme, key, {"../escape": "x"})


def test_a_result_of_a_missing_log_is_refused_and_leaves_no_files(
    store: Store, acme: Tenant
) -> None:
    with pytest.raises(NotFoundError):
        store.put_result(acme, ResultKey("discover", "log_missing", 1, "h"), {"a.json": "{}"})
    assert list((store.root / "results").iterdir()) == []


@pytest.mark.parametrize("name", ["", ".hidden", "a/b.json", "x" * 101, "é.json", "-a"])
def test_result_file_names_must_be_plain(store: Store, acme: Tenant, name: str) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    with pytest.raises(ValueError, match="result file name"):
        store.put_result(acme, ResultKey("discover", log.id, 1, "h"), {name: "x"})
    assert list((store.root / "results").iterdir()) == []


def test_results_store_text_bytes_and_frames_and_keys_tell_maps_apart(
    store: Store, acme: Tenant
) -> None:
    log = store.create_log(acme, "web", make_log(DAY1))
    shop = store.create_map(acme, "shop", "a", "toml")  # a result of a map needs the map
    files = {"a.txt": "é", "b.bin": b"\x00\xff", "c.parquet": pl.DataFrame({"x": [1]})}
    one = store.put_result(acme, ResultKey("compare", log.id, 1, "h", shop.id, 1), files)
    assert one.files["a.txt"].read_text(encoding="utf-8") == "é"
    assert one.files["b.bin"].read_bytes() == b"\x00\xff"
    two = store.put_result(acme, ResultKey("compare", log.id, 1, "h", shop.id, 2), {"a.txt": "v2"})
    assert two.id != one.id
    assert store.get_result(acme, ResultKey("compare", log.id, 1, "h", shop.id, 1)) == one
    with pytest.raises(NotFoundError):
        store.get_result_by_id(acme, "res_missing")


def test_no_result_is_stored_for_a_map_deleted_while_its_analysis_ran(
    store: Store, acme: Tenant
) -> None:
    shop = store.create_map(acme, "shop", "a", "toml")
    log = store.create_log(acme, "web", make_log(DAY1))
    store.delete_map(acme, shop.id)
    key = ResultKey("compare", log.id, 1, "p", map_id=shop.id, map_version=1)
    with pytest.raises(NotFoundError, match="map"):
        store.put_result(acme, key, {"result.json": "{}"})
    assert store.get_result(acme, key) is None
    assert not any((store.root / "results").iterdir())
