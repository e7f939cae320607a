"""One APIRouter per resource; `api_router` gathers those under /api/v1."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..problems import PROBLEM_JSON, PROBLEM_SCHEMA
from ..uploads import over_limit

_WHY = {
    401: "Missing or invalid API key (with `WWW-Authenticate: Bearer`).",
    404: "No such id for this tenant (another tenant's id answers the same).",
    409: "The resource is not in a state that allows this (e.g. log still pending).",
    413: "The body is larger than a limit (bytes, files, fields): the problem names it.",
    415: "Unsupported media or file type.",
    422: "Invalid input: names the field, file, row or line.",
    429: "The job queue is full; retry after `Retry-After` seconds.",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each an RFC 9457 problem."""
    return {
        code: {
            "description": _WHY.get(code, "Error"),
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        for code in codes
    }


def check_name(name: str, max_chars: int, what: str) -> None:
    """A log or map name over `max_chars` characters is a 422 naming the limit."""
    if len(name) > max_chars:
        raise over_limit(
            "max_name_chars",
            f"the {what} name is {len(name):,} characters long, more than the limit of"
            f" {max_chars:,}",
            maximum=max_chars,
            found=f"{len(name):,} characters",
            column="name",
        )


def forget_deleted(request: Request, tenant_id: str, log_id: str | None = None) -> None:
    """Drop what the app's caches hold of deleted data: a log's quick reads, deleted results."""
    if log_id is not None:
        request.app.state.quick_cache.forget(tenant_id, log_id)
    bodies = getattr(request.app.state, "result_bodies", None)
    if bodies is not None:
        bodies.prune()


def build_api_router() -> APIRouter:
    """The /api/v1 router with every resource."""
    from . import analyses, columns, jobs, logs, maps, samples

    router = APIRouter(prefix="/api/v1", responses=problem_responses(401))
    # columns and samples before logs: their fixed paths must win over /logs/{log_id}.
    for module in (columns, samples, logs, maps, analyses, jobs):
        router.include_router(module.router)
    return router
