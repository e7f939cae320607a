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
