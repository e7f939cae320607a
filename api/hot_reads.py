"""The hottest GETs answered without FastAPI's routing and dependency solving.

Pollers and dashboards GET an analysis's status, its result and a log's facts over and over.
Through FastAPI (0.165) each such request walks the route table (about 35 `matches` calls
over the included routers) and solves its dependencies: about three quarters of the 260 µs
of CPU the app spent on one (measured in-process, bench_api.py's paths). `HotReads` matches
these few paths itself, authenticates the key the same way (`deps.tenant_for`) and calls the
same route functions with the same arguments, then sends what they return, a model dumped
as FastAPI dumps it or a `Response`. Only the plain, successful case is served here:
anything else (HEAD, a query string, no or a bad key, an unknown id, an analysis not done,
...) goes down the normal stack, which answers it, errors as problem+json, as before.
`Settings.hot_reads=False` (or `app.state.hot_reads = False`) sends everything that way,
and so does any `app.dependency_overrides`. The ids are prefixed (`job_`, `log_`), so no
id is ever mistaken for another route's fixed path segment.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from .deps import tenant_for
from .routes import analyses, logs
from .store import Store, Tenant

#: (item id, request, tenant, store) -> what the route function returns.
HotRead = Callable[[str, Request, Tenant, Store], Awaitable[Any]]
PREFIX = "/api/v1/"


async def _analysis(item: str, request: Request, tenant: Tenant, store: Store) -> Any:
    return await analyses.get_analysis(item, tenant, store)


async def _result(item: str, request: Request, tenant: Tenant, store: Store) -> Any:
    cache = await analyses.get_body_cache(request)
    return await analyses.get_result(item, request, tenant, store, cache)


async def _log(item: str, request: Request, tenant: Tenant, store: Store) -> Any:
    return await logs.get_log(item, tenant, store)


#: Path (after PREFIX; the id is a path segment, as FastAPI's `{id}`) -> its read.
HOT_READS: tuple[tuple[re.Pattern[str], HotRead], ...] = (
    (re.compile(r"analyses/([^/]+)"), _analysis),
    (re.compile(r"analyses/([^/]+)/result"), _result),
    (re.compile(r"logs/([^/]+)"), _log),
)


def _find(path: str) -> tuple[str, HotRead] | None:
    for pattern, read in HOT_READS:
        match = pattern.fullmatch(path)
        if match is not None:
            return match[1], read
    return None


class HotReads:
    """ASGI middleware: serves HOT_READS' successful answers, passes on everything else."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app` (the rest of the stack: FastAPI's exception handling and routing)."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a hot read, or hand the request to the wrapped app."""
        if not await self._answer(scope, receive, send):
            await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> bool:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope.get("query_string")
            or scope.get("root_path")
            or not path.startswith(PREFIX)
        ):
            return False
        app = scope["app"]
        state = app.state
        if not getattr(state, "hot_reads", False) or app.dependency_overrides:
            return False  # off, or a test swapped a dependency these reads would not see
        found = _find(path[len(PREFIX) :])
        if found is None:
            return False
        item, read = found
        store: Store | None = getattr(state, "store", None)  # None until the lifespan ran
        if store is None:
            return False
        request = Request(scope, receive)
        tenant = tenant_for(store, request.headers.get("authorization"))
        if tenant is None:
            return False
        try:
            answer = await read(item, request, tenant, store)
        except Exception:  # the normal stack answers it again, as a problem
            return False
        scope.setdefault("state", {})["tenant"] = tenant.id  # for the access log
        if isinstance(answer, BaseModel):  # what FastAPI sends for a route's return model
            answer = Response(answer.model_dump_json(by_alias=True), media_type="application/json")
        elif not isinstance(answer, Response):
            return False
        await answer(scope, receive, send)
        return True
