"""Memory given back after large requests (`api/memory.py`, the caches' bounds)."""

from __future__ import annotations

import sys

import pytest

from journeyminer.api.memory import release_memory
from journeyminer.api.routes.logs import QuickCache

from .conftest import API, Api


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_release_memory_trims_glibcs_heap_on_linux() -> None:
    assert release_memory() is True


def test_the_quick_cache_is_bounded_by_rows_not_only_by_answers() -> None:
    cache = QuickCache(size=100, max_rows=1_000)
    for n in range(5):
        cache.put(("t", f"log{n}", 1, "variants"), {"variants": [{}] * 400})
    assert len(cache._data) == 2 and cache._rows <= 1_000
    assert cache.get(("t", "log4", 1, "variants")) is not None
    assert cache.get(("t", "log0", 1, "variants")) is None


def test_the_quick_cache_forgets_a_log() -> None:
    cache = QuickCache()
    cache.put(("t", "a", 1, "dfg"), {"edges": [1, 2]})
    cache.put(("t", "a", 2, "variants"), {"variants": [1]})
    cache.put(("t", "b", 1, "dfg"), {"edges": [1]})
    cache.forget("t", "a")
    assert list(cache._data) == [("t", "b", 1, "dfg")] and cache._rows == 2


def test_deleting_a_log_drops_its_quick_reads(api: Api) -> None:
    log_id = api.ingest("web", identities=False)
    assert api.client.get(f"{API}/logs/{log_id}/variants", params={"limit": 3}).status_code == 200
    assert api.client.get(f"{API}/logs/{log_id}/dfg").status_code == 200
    cache = api.app.state.quick_cache
    assert len(cache._data) == 2
    assert api.client.delete(f"{API}/logs/{log_id}").status_code == 204
    assert not cache._data and cache._rows == 0


def test_quick_variants_list_only_the_limit_but_count_them_all(api: Api) -> None:
    log_id = api.ingest("web", identities=False)
    body = api.client.get(f"{API}/logs/{log_id}/variants", params={"limit": 2}).json()
    assert len(body["variants"]) == 2 and body["n_variants"] > 2
