"""Tenants and API keys (`api/store/tenants.py`): unique names, keys that authenticate
until revoked, tokens never stored in plain."""

from __future__ import annotations

import hashlib

import pytest

from journeyminer.api.store import Store, Tenant
from journeyminer.miner.errors import InputError, NotFoundError


def test_tenants_are_found_by_name_and_names_are_unique(store: Store, acme: Tenant) -> None:
    assert store.get_tenant_by_name("acme") == acme
    assert store.ensure_tenant("acme") == acme
    assert store.ensure_tenant("initech").name == "initech"
    with pytest.raises(InputError) as info:
        store.create_tenant("acme")
    assert info.value.status == 409
    with pytest.raises(NotFoundError):
        store.get_tenant_by_name("nobody")


def test_an_api_key_authenticates_its_tenant_until_revoked(store: Store, acme: Tenant) -> None:
    key_id, token = store.create_api_key(acme, label="nightly")
    assert token.startswith(key_id + ".")
    assert store.authenticate(token) == acme
    assert store.authenticate(token + "x") is None
    assert store.authenticate(key_id + ".wrong") is None
    assert store.authenticate("garbage") is None
    assert store.authenticate("") is None
    revoked = store.revoke_api_key(key_id)
    assert revoked.revoked_at is not None
    assert store.authenticate(token) is None
    assert store.revoke_api_key(key_id).revoked_at == revoked.revoked_at  # idempotent
    assert [k.id for k in store.list_api_keys(acme)] == [key_id]


def test_another_tenant_cannot_revoke_a_key(store: Store, acme: Tenant, other: Tenant) -> None:
    key_id, token = store.create_api_key(acme)
    with pytest.raises(NotFoundError):
        store.revoke_api_key(key_id, tenant=other)
    assert store.authenticate(token) == acme
    with pytest.raises(NotFoundError):
        store.revoke_api_key("key_missing")


def test_no_api_token_is_stored_in_plain_anywhere(store: Store, acme: Tenant) -> None:
    tokens = [store.create_api_key(acme)[1] for _ in range(3)]
    assert all(store.authenticate(t) == acme for t in tokens)
    files = [p for p in store.root.iterdir() if p.name.startswith("journeyminer.sqlite3")]
    data = b"".join(p.read_bytes() for p in files)
    for token in tokens:
        secret = token.partition(".")[2]
        assert secret.encode() not in data
        assert token.encode() not in data
        assert hashlib.sha256(secret.encode()).hexdigest().encode() not in data  # salted


def test_a_tenant_needs_a_name_and_tenants_list_by_name(store: Store) -> None:
    with pytest.raises(InputError, match="a tenant needs a name"):
        store.create_tenant("  ")
    for name in ("zeta", "alpha", "mid"):
        store.create_tenant(name)
    assert [t.name for t in store.list_tenants()] == ["alpha", "mid", "zeta"]
    with pytest.raises(NotFoundError):
        store.get_tenant("ten_missing")


def test_a_key_is_listed_for_its_own_tenant_only_with_its_label(
    store: Store, acme: Tenant, other: Tenant
) -> None:
    first, _ = store.create_api_key(acme, label="nightly")
    second, _ = store.create_api_key(acme.id)
    store.create_api_key(other)
    keys = store.list_api_keys(acme)
    assert [(k.id, k.label, k.revoked_at) for k in keys] == [
        (first, "nightly", None),
        (second, None, None),
    ]
    assert keys[0].to_dict()["label"] == "nightly" and "salt" not in keys[0].to_dict()
    with pytest.raises(NotFoundError):
        store.create_api_key("ten_missing")


def test_a_token_with_spaces_around_it_still_authenticates(store: Store, acme: Tenant) -> None:
    _, token = store.create_api_key(acme)
    assert store.authenticate(f"  {token}\n") == acme


def test_a_remembered_token_is_forgotten_as_soon_as_this_store_revokes_it(
    store: Store, acme: Tenant
) -> None:
    assert store.settings.key_cache_s > 0
    key_id, token = store.create_api_key(acme)
    assert store.authenticate(token) == acme  # now remembered
    store.revoke_api_key(key_id, tenant=acme)
    assert store.authenticate(token) is None
