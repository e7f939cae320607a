"""The store's tenants and their API keys (only a salted hash of each token is kept).

`authenticate` remembers a verified token for `settings.key_cache_s` seconds (default 5),
so a client's burst of requests costs one key lookup, not one each. Revoking a key through
this store forgets it at once; a key revoked by another process (`journeyminer keys revoke`
while the server runs) is refused by this one at most `key_cache_s` seconds later.
Unknown, malformed and revoked tokens are never remembered: they are looked up every time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from functools import cached_property

from ...miner.errors import ConflictError, InputError, NotFoundError
from .base import StoreBase, TenantRef, new_id, tenant_id_of, utc_now
from .records import ApiKey, Tenant

#: Verified tokens remembered at most (the oldest is forgotten first).
KEY_CACHE_SIZE = 1024


class _KeyCache:
    """token -> (tenant, key id, expiry on the monotonic clock), for verified tokens only."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.entries: dict[str, tuple[Tenant, str, float]] = {}

    def get(self, token: str) -> Tenant | None:
        hit = self.entries.get(token)
        if hit is None:
            return None
        if hit[2] < time.monotonic():
            self.entries.pop(token, None)
            return None
        return hit[0]

    def put(self, token: str, tenant: Tenant, key_id: str) -> None:
        if self.ttl_s <= 0:
            return
        while len(self.entries) >= KEY_CACHE_SIZE:
            self.entries.pop(next(iter(self.entries), ""), None)
        self.entries[token] = (tenant, key_id, time.monotonic() + self.ttl_s)

    def forget_key(self, key_id: str) -> None:
        for token, hit in list(self.entries.items()):
            if hit[1] == key_id:
                self.entries.pop(token, None)


class TenantsMixin(StoreBase):
    """Tenants and API keys."""

    @cached_property
    def _keys(self) -> _KeyCache:
        # Made on first use: StoreBase.__init__ belongs to every resource, not only this one.
        return _KeyCache(self.settings.key_cache_s)

    def create_tenant(self, name: str) -> Tenant:
        """Add a tenant; its name must be new."""
        if not name.strip():
            raise InputError("a tenant needs a name", expected="a non-empty name")
        tenant_id, created = new_id("ten"), utc_now()
        try:
            with self._db.write() as con:
                con.execute(
                    "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)",
                    (tenant_id, name, created),
                )
        except sqlite3.IntegrityError:
            raise ConflictError(f"a tenant named {name!r} already exists") from None
        return self.get_tenant(tenant_id)

    def ensure_tenant(self, name: str) -> Tenant:
        """The tenant with this name, created if it does not exist yet."""
        try:
            return self.get_tenant_by_name(name)
        except NotFoundError:
            pass
        try:
            return self.create_tenant(name)
        except InputError:
            return self.get_tenant_by_name(name)  # created by someone else meanwhile

    def get_tenant_by_name(self, name: str) -> Tenant:
        """The tenant with this name."""
        row = self._db.get().execute("SELECT * FROM tenants WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"tenant {name!r} does not exist")
        return Tenant.from_row(row)

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, by name."""
        rows = self._db.get().execute("SELECT * FROM tenants ORDER BY name").fetchall()
        return [Tenant.from_row(r) for r in rows]

    def create_api_key(self, tenant: TenantRef, *, label: str | None = None) -> tuple[str, str]:
        """A new key for the tenant: `(key_id, token)`. The token is shown here once only."""
        tenant_id = self.get_tenant(tenant_id_of(tenant)).id
        key_id, secret, salt = new_id("key"), secrets.token_urlsafe(32), secrets.token_bytes(16)
        with self._db.write() as con:
            con.execute(
                "INSERT INTO api_keys (id, tenant_id, label, salt, hash, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, tenant_id, label, salt.hex(), _key_hash(salt, secret), utc_now()),
            )
        return key_id, f"{key_id}.{secret}"

    def authenticate(self, token: str) -> Tenant | None:
        """The tenant a valid, unrevoked token belongs to; None for anything else.

        A verified token is remembered for `settings.key_cache_s` seconds (module docstring).
        """
        token = token.strip()
        tenant = self._keys.get(token)
        if tenant is not None:
            return tenant
        key_id, dot, secret = token.partition(".")
        if not dot or not key_id.startswith("key_") or not secret:
            return None
        row = (
            self._db.get()
            .execute(
                "SELECT k.salt, k.hash, t.id, t.name, t.created_at FROM api_keys k"
                " JOIN tenants t ON t.id = k.tenant_id"
                " WHERE k.id = ? AND k.revoked_at IS NULL",
                (key_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        if not hmac.compare_digest(_key_hash(bytes.fromhex(row["salt"]), secret), row["hash"]):
            return None
        tenant = Tenant.from_row(row)
        self._keys.put(token, tenant, key_id)
        return tenant

    def revoke_api_key(self, key_id: str, *, tenant: TenantRef | None = None) -> ApiKey:
        """Revoke a key (idempotent); with `tenant`, only that tenant's key."""
        with self._db.write() as con:
            row = con.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
            if row is None or (tenant is not None and row["tenant_id"] != tenant_id_of(tenant)):
                raise NotFoundError(f"API key {key_id!r} does not exist")
            con.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (utc_now(), key_id),
            )
            row = con.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        self._keys.forget_key(key_id)
        return ApiKey.from_row(row)

    def list_api_keys(self, tenant: TenantRef) -> list[ApiKey]:
        """The tenant's keys (no secrets), oldest first."""
        rows = (
            self._db.get()
            .execute(
                "SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id",
                (tenant_id_of(tenant),),
            )
            .fetchall()
        )
        return [ApiKey.from_row(r) for r in rows]


def _key_hash(salt: bytes, secret: str) -> str:
    # The secret carries 256 random bits, so a keyed hash suffices: no slow KDF needed.
    return hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).hexdigest()
