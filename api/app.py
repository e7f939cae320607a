"""The FastAPI app factory: routes under /api/v1, problem+json errors, request ids, JSON logs.

`create_app(settings)` builds a new app; its lifespan opens the store and starts the job
runner (which first fails jobs a previous process left unfinished, unless `recover=False`:
`journeyminer serve --workers N` recovers once in the parent instead). With `gc_tuning=True`
(what `journeyminer serve` uses) it also calls `tune_gc()` once the app is up; with
`warm_kernels=True` (also `serve`) it loads the miner's kernels in a background thread at
start-up, so the first analyses do not pay numba's loading (or, on an empty cache, compiling).
"""

from __future__ import annotations

import gc
import json
import logging
import random
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journeyminer import __version__

from .body_limit import BodyLimit
from .engine import Engine
from .headers import ResponseHeaders
from .hot_reads import HotReads
from .jobs import JobRunner
from .problems import install_problem_handlers, private_roots
from .routes import build_api_router, health, web
from .routes.logs import QuickCache
from .settings import Settings
from .store import Store

access_log = logging.getLogger("journeyminer.api.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

DESCRIPTION = """\
Upload event logs from web, call center and CRM, append nightly batches, run analyses and
fetch results. Every route under `/api/v1` needs `Authorization: Bearer <key>` (keys come
from `journeyminer keys create --tenant NAME`); every error is `application/problem+json`.
Long work (ingest, analyses) runs as a job: poll its `status_url`.
"""


class RequestContext:
    """ASGI middleware: sets/propagates `X-Request-ID` and logs one JSON line per request."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        # Not a secret, only unique enough to find a log line: no urandom syscall needed.
        request_id = given if _REQUEST_ID.match(given) else f"{random.getrandbits(64):016x}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                raw.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": raw}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "tenant": state.get("tenant"),
                },
            )


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, logger, message and the record's extras."""

    _PLAIN = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
    # One access line per request: reuse the encoder and each second's formatted time.
    _ENCODER = json.JSONEncoder(default=str)

    def __init__(self) -> None:
        """A formatter with an empty time cache."""
        super().__init__()
        self._time = (-1, "")  # (second, its text): one attribute, so threads see a pair

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        second, text = self._time
        if int(record.created) != second:
            text = self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")
            self._time = (int(record.created), text)
        data: dict[str, Any] = {
            "time": text,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in self._PLAIN})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return self._ENCODER.encode(data)


def configure_logging(level: str = "info") -> None:
    """Send journeyminer's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("journeyminer", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


#: A full collection that took more CPU than this froze the objects it found alive...
GC_SLOW_FULL_S = 0.02
#: ... at most this many times per process (what a freeze may keep forever stays bounded).
GC_MAX_FREEZES = 32


class _FreezeAfterSlowFullCollection:
    """A `gc.callbacks` hook: after a slow full collection, freeze what survived it."""

    def __init__(self, slow_s: float, max_freezes: int = GC_MAX_FREEZES) -> None:
        self.slow_s, self.left, self.started = slow_s, max_freezes, 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2 or self.left <= 0:
            return
        if phase == "start":
            self.started = time.thread_time()  # CPU time: a preempted collection is not slow
        elif time.thread_time() - self.started > self.slow_s:
            self.left -= 1
            gc.freeze()


def tune_gc() -> None:
    """Keep the cyclic garbage collector's pauses off the request tail (server processes only).

    A full collection walks every tracked object: after the imports (polars, pydantic,
    FastAPI) and the miner's lazily loaded modules and compiled kernels that is 100-230k
    objects and 50-230 ms on the 2-core bench machine, and every request in flight waits
    (bench_api.py, 1 worker: 11 full collections of about 120 ms in one 30 s run, one every
    4-5 s; p99 140-225 ms). So: collect and `gc.freeze()` once the app is up (those objects
    live as long as the process), and freeze again after any full collection that took more
    than GC_SLOW_FULL_S of CPU: the miner's modules and kernels, loaded by the first
    analyses, are then frozen too, and later full collections walk only what came since
    (a few ms; they never trigger another freeze). The thresholds stay CPython's: with
    20,000 young allocations instead of 700 the bench saw 10-95 ms middle-generation
    collections while jobs ran, and the lazily loaded objects stayed unfrozen.
    The cost: cyclic garbage among objects alive at a freeze is never collected (acyclic
    objects are still freed by reference counting); what is alive at those moments is mostly
    modules, caches, running jobs and the requests in flight. The bench's setup (an ingest,
    two analyses) froze 2-9 times; after GC_MAX_FREEZES the hook stops freezing.
    """
    gc.collect()
    gc.freeze()
    if not any(isinstance(cb, _FreezeAfterSlowFullCollection) for cb in gc.callbacks):
        gc.callbacks.append(_FreezeAfterSlowFullCollection(GC_SLOW_FULL_S))


def create_app(
    settings: Settings | None = None,
    *,
    recover: bool = True,
    gc_tuning: bool = False,
    warm_kernels: bool = False,
) -> FastAPI:
    """A new app on `settings` (default: from `JOURNEYMINER_*` environment variables).

    `gc_tuning=True` calls `tune_gc()` when the app starts, and `warm_kernels=True` loads
    the kernels in a background thread then: both for server processes, not for tests or
    embedders that share the process.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await run_in_threadpool(Store.open, settings)
        engine = Engine.from_settings(settings)
        runner = JobRunner(
            store,
            workers=settings.job_workers,
            queue_size=settings.queue_size,
            private_roots=app.state.private_roots,
            engine=engine,
        )
        try:
            await run_in_threadpool(lambda: runner.start(recover=recover))
            app.state.store, app.state.runner = store, runner
            if warm_kernels:
                from ..miner.kernel_cache import warm_in_background

                warm_in_background()
            if gc_tuning:
                tune_gc()
            yield
        finally:
            await run_in_threadpool(runner.stop)
            await run_in_threadpool(engine.close)
            store.close()

    app = FastAPI(
        title="journeyminer",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.quick_cache = QuickCache()
    app.state.hot_reads = settings.hot_reads
    app.state.private_roots = private_roots(settings.workspace)
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_json_bytes)
    app.add_middleware(HotReads)  # inside RequestContext: request ids and access log for all
    app.add_middleware(ResponseHeaders)  # outside HotReads: its answers get them too
    app.add_middleware(RequestContext)
    app.include_router(health.router)
    app.include_router(build_api_router())
    app.include_router(web.router)
    return app


def create_app_from_env() -> FastAPI:
    """The app for `uvicorn --factory` worker processes: settings from the environment."""
    return create_app(Settings(), recover=False, gc_tuning=True, warm_kernels=True)
