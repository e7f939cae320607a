"""The FastAPI app factory: routes under /api/v1, problem+json errors, request ids, JSON logs.

`create_app(settings)` builds a new app; its lifespan opens the store and starts the job
runner (which first fails jobs a previous process left unfinished, unless `recover=False`:
`journeyminer serve --workers N` recovers once in the parent instead).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journeyminer import __version__

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
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
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

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in self._PLAIN})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def configure_logging(level: str = "info") -> None:
    """Send journeyminer's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("journeyminer", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def create_app(settings: Settings | None = None, *, recover: bool = True) -> FastAPI:
    """A new app on `settings` (default: from `JOURNEYMINER_*` environment variables)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await run_in_threadpool(Store.open, settings)
        runner = JobRunner(
            store,
            workers=settings.job_workers,
            queue_size=settings.queue_size,
            private_roots=app.state.private_roots,
        )
        try:
            await run_in_threadpool(lambda: runner.start(recover=recover))
            app.state.store, app.state.runner = store, runner
            yield
        finally:
            await run_in_threadpool(runner.stop)
            store.close()

    app = FastAPI(
        title="journeyminer",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.quick_cache = QuickCache()
    app.state.private_roots = private_roots(settings.workspace)
    install_problem_handlers(app)
    app.add_middleware(RequestContext)
    app.include_router(health.router)
    app.include_router(build_api_router())
    app.include_router(web.router)
    return app


def create_app_from_env() -> FastAPI:
    """The app for `uvicorn --factory` worker processes: settings from the environment."""
    return create_app(Settings(), recover=False)
