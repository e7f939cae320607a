"""A bound on request bodies that are not streamed uploads (JSON: maps, analyses, drafts).

FastAPI reads a JSON body whole before validating it, so without a bound one request of a
few gigabytes is held in memory. `BodyLimit` answers 413 (problem+json naming
`max_json_bytes`) when `Content-Length` says the body is too long, and stops reading a body
without one (chunked) as soon as it passes the limit. Multipart uploads are bounded by `uploads.py`.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..miner.errors import InputError
from .problems import PROBLEM_JSON, http_problem


def body_too_large(limit: int) -> InputError:
    """The 413 problem for a JSON body over `limit` bytes."""
    return InputError(
        f"the request body is larger than the limit of {limit:,} bytes (max_json_bytes)",
        status=413,
        title="Payload too large",
        expected=f"at most {limit:,} bytes",
        extra={"limit": "max_json_bytes", "max": limit},
    )


class BodyLimit:
    """ASGI middleware: 413 for a non-multipart body longer than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        """Wrap `app`."""
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse at once on Content-Length; otherwise count the body while it is read."""
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if headers.get(b"content-type", b"").startswith(b"multipart/form-data"):
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _send_problem(send, body_too_large(self.max_bytes).problem())
            return
        if declared:
            await self.app(scope, receive, send)
            return
        # No length given (chunked): read the body here, at most the limit, then replay it.
        # FastAPI would turn an error raised while it reads into a bare 400.
        messages: list[Message] = []
        received, more = 0, True
        while more:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                await _send_problem(send, body_too_large(self.max_bytes).problem())
                return
            more = message.get("more_body", False)

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _send_problem(send: Send, body: dict[str, object]) -> None:
    data = json.dumps(http_problem(413, str(body["detail"])) | body).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", b"%d" % len(data))]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": data})
