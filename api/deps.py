"""Dependencies of the routes as `Annotated` aliases: settings, store, job runner, tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from .jobs import JobRunner
from .settings import Settings
from .store import Store, Tenant

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `journeyminer keys create --tenant NAME`.",
)


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> Store:
    """The workspace store opened in the app's lifespan."""
    store: Store = request.app.state.store
    return store


async def get_runner(request: Request) -> JobRunner:
    """The job runner started in the app's lifespan."""
    runner: JobRunner = request.app.state.runner
    return runner


StoreDep = Annotated[Store, Depends(get_store)]


def tenant_for(store: Store, authorization: str | None) -> Tenant | None:
    """The tenant of an `Authorization` header value `Bearer <key>`; None if not valid.

    Parsed as `HTTPBearer` does (scheme case-insensitive); `hot_reads` uses it directly.
    """
    scheme, token = get_authorization_scheme_param(authorization)
    if not token or scheme.lower() != "bearer":
        return None
    return store.authenticate(token)


async def get_tenant(
    request: Request,
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Tenant:
    """The tenant of the request's `Authorization: Bearer <key>`; 401 without a valid key.

    Async on purpose, like the trivial dependencies above: the check is one indexed SQLite
    read (WAL: readers never wait for writers) and an HMAC, tens of microseconds (and a
    verified key is remembered for `key_cache_s`), while a hop to the thread pool costs
    milliseconds under load (GIL hand-offs; bench_api.py).
    """
    tenant = store.authenticate(credentials.credentials) if credentials is not None else None
    if tenant is None:
        detail = (
            "this endpoint needs an API key: send 'Authorization: Bearer <key>'"
            if credentials is None
            else "the API key is not valid (unknown or revoked)"
        )
        raise HTTPException(
            401, detail, headers={"WWW-Authenticate": 'Bearer realm="journeyminer"'}
        )
    request.state.tenant = tenant.id
    return tenant


SettingsDep = Annotated[Settings, Depends(get_settings)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]
TenantDep = Annotated[Tenant, Depends(get_tenant)]
