"""The one error layer of the API: every error becomes `application/problem+json` (RFC 9457).

Sources: JourneyminerError (its own `.problem()`), HTTPException (auth, routing 404/405),
RequestValidationError (422 with one entry per field), QueueFullError (429 + Retry-After)
and any unexpected exception (500: a fixed sentence and the request id; the traceback goes
to the server log only, never to the client).
"""

from __future__ import annotations

import logging
import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..miner.errors import JourneyminerError
from .jobs import QueueFullError
from .uploads import scrub_paths

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://journeyminer.dev/problems/"
log = logging.getLogger("journeyminer.api")

#: The problem schema for OpenAPI: used as the error response of every route.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "additionalProperties": True,
    "example": {
        "type": f"{PROBLEM_BASE}NotFoundError",
        "title": "Not found",
        "status": 404,
        "detail": "log 'log_3kT9xQ2bLm0a' does not exist",
        "id": "log_3kT9xQ2bLm0a",
        "request_id": "9f1c2e4b7a0d4c1e",
    },
}


def problem_response(
    request: Request, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem+json response; adds the request id so a user can quote it."""
    request_id = getattr(request.state, "request_id", None)
    roots = getattr(request.app.state, "private_roots", ())
    if roots:
        body = scrub_paths(body, roots)
    if request_id:
        body.setdefault("request_id", request_id)
        headers = {**(headers or {}), "X-Request-ID": request_id}
    return JSONResponse(body, status_code=body["status"], headers=headers, media_type=PROBLEM_JSON)


def http_problem(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    """A problem body for a plain HTTP status (title is the status phrase)."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    slug = phrase.lower().replace(" ", "-").replace("'", "")
    return {
        "type": f"{PROBLEM_BASE}{slug}",
        "title": phrase,
        "status": status,
        "detail": detail,
        **extra,
    }


async def _journeyminer_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JourneyminerError)
    if exc.status >= 500:
        log.error("internal error", exc_info=exc)
    return problem_response(request, exc.problem())


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such path: {request.url.path}"
    elif exc.status_code == 405 and detail == "Method Not Allowed":
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(request, http_problem(exc.status_code, detail), dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
            "location": str(e.get("loc", ("body",))[0]),
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    body = {
        "type": f"{PROBLEM_BASE}RequestValidationError",
        "title": "Invalid request",
        "status": 422,
        "detail": f"{first['field']}: {first['message']}",
        "parameter": first["field"],
        "errors": errors,
    }
    return problem_response(request, body)


async def _queue_full(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QueueFullError)
    body = http_problem(429, f"{exc}; try again in {exc.retry_after} s")
    return problem_response(request, body, {"Retry-After": str(exc.retry_after)})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    body = http_problem(
        500,
        "an unexpected error happened; the server log has the details under this request id",
    )
    body["type"] = f"{PROBLEM_BASE}InternalError"
    body["title"] = "Internal error"
    return problem_response(request, body)


def private_roots(workspace: Path) -> tuple[Path, ...]:
    """Folders whose paths never reach a client: the workspace and the temp folder."""
    roots = {workspace.resolve(), workspace.absolute(), Path(tempfile.gettempdir()).resolve()}
    return tuple(sorted(roots, key=lambda p: -len(str(p))))


def _problems_in_openapi(app: FastAPI) -> None:
    """Make the OpenAPI schema say what the handlers do: every error is a problem.

    FastAPI documents request validation as a 422 `application/json` body, and does not
    document the 400 answered for a body that cannot be parsed (JSON, or multipart in
    `uploads.py`); both are problems here.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        problem = {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                for code, response in responses.items():
                    if code[:1] in "45" and "application/json" in response.get("content", {}):
                        response["content"] = dict(problem)
                body = operation.get("requestBody", {}).get("content", {})
                if body and "400" not in responses:
                    responses["400"] = {
                        "description": "The body cannot be parsed (malformed JSON or multipart).",
                        "content": dict(problem),
                    }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json (and say so in OpenAPI)."""
    _problems_in_openapi(app)
    app.add_exception_handler(JourneyminerError, _journeyminer_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(QueueFullError, _queue_full)
    app.add_exception_handler(Exception, _unexpected)
