"""Designed maps in the store (`api/store/maps.py`): versions kept, delete, tenancy."""

from __future__ import annotations

import pytest

from journeyminer.api.store import ResultKey, Store, Tenant
from journeyminer.miner.errors import ConflictError, InputError, NotFoundError
from tests.api.store.conftest import DAY1, make_log


def test_put_map_bumps_the_version_and_keeps_every_text(store: Store, acme: Tenant) -> None:
    created = store.create_map(acme, "shop", 'name = "v1"', "toml")
    assert created.id.startswith("map_") and created.version == 1
    second = store.put_map(acme, created.id, '{"name": "v2"}', "json")
    assert (second.version, second.format, second.text) == (2, "json", '{"name": "v2"}')
    old = store.get_map(acme, created.id, version=1)
    assert (old.version, old.latest_version, old.text, old.format) == (1, 2, 'name = "v1"', "toml")
    assert store.get_map(acme, created.id).text == '{"name": "v2"}'
    assert store.get_map_by_name(acme, "shop").version == 2
    assert [m.name for m in store.list_maps(acme)] == ["shop"]
    with pytest.raises(NotFoundError):
        store.get_map(acme, created.id, version=3)
    with pytest.raises(InputError):
        store.create_map(acme, "shop", "", "toml")


def test_delete_map_removes_its_versions_and_results(store: Store, acme: Tenant) -> None:
    shop = store.create_map(acme, "shop", "a", "toml")
    store.put_map(acme, shop.id, "b")
    log = store.create_log(acme, "web", make_log(DAY1))
    key = ResultKey("compare", log.id, 1, "p", map_id=shop.id, map_version=2)
    result = store.put_result(acme, key, {"result.json": "{}"})
    store.delete_map(acme, shop.id)
    with pytest.raises(NotFoundError):
        store.get_map(acme, shop.id)
    assert store.get_result(acme, key) is None
    assert not result.files["result.json"].exists()
    rows = store._db.get().execute("SELECT COUNT(*) FROM map_versions").fetchone()[0]
    assert rows == 0


def test_other_tenants_maps_are_not_found(store: Store, acme: Tenant, other: Tenant) -> None:
    shop = store.create_map(acme, "shop", "a", "toml")
    for call in (
        lambda: store.get_map(other, shop.id),
        lambda: store.get_map(other, shop.id, version=1),
        lambda: store.put_map(other, shop.id, "b"),
        lambda: store.delete_map(other, shop.id),
        lambda: store.get_map_by_name(other, "shop"),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert store.list_maps(other) == []
    assert store.get_map(acme, shop.id).version == 1


def test_map_names_are_unique_per_tenant(store: Store, acme: Tenant, other: Tenant) -> None:
    store.create_map(acme, "shop", "a", "toml")
    with pytest.raises(ConflictError, match="a map named 'shop' already exists") as info:
        store.create_map(acme, "shop", "b", "yaml")
    assert info.value.status == 409
    assert store.create_map(other, "shop", "c", "json").version == 1


def test_a_new_version_keeps_the_format_unless_given_and_maps_list_by_name(
    store: Store, acme: Tenant
) -> None:
    shop = store.create_map(acme, "shop", "a: 1", "yaml")
    store.create_map(acme, "bank", "{}", "json")
    assert store.put_map(acme, shop.id, "a: 2").format == "yaml"
    assert [m.name for m in store.list_maps(acme)] == ["bank", "shop"]
    with pytest.raises(NotFoundError, match="map 'nowhere' does not exist"):
        store.get_map_by_name(acme, "nowhere")
