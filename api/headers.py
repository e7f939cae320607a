"""Headers every response carries: `X-Content-Type-Options: nosniff` and a `Cache-Control`.

An ASGI middleware, outside `HotReads`, so that the answers served without FastAPI's
routing (and the cached result bodies, 304s included) carry the same headers as the rest.
A response that sets its own `Cache-Control` keeps it (the page's static files may be
cached); every other one is `private, no-store`: API answers are one tenant's data, which
no shared or disk cache should keep. ETags still work for clients that send
`If-None-Match` themselves (pollers, the page's own fetches): they get an empty 304.
An SVG (drawn from tenant-supplied names) also gets a CSP that runs no script in it, should
someone open its URL directly.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"private, no-store")
SVG_CSP = (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; sandbox")


class ResponseHeaders:
    """ASGI middleware: adds `nosniff`, `private, no-store` unless the response set its own
    `Cache-Control`, and a no-script CSP to SVG."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to its response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                names = {name.lower() for name, _ in raw}
                if NOSNIFF[0] not in names:
                    raw.append(NOSNIFF)
                if NO_STORE[0] not in names:
                    raw.append(NO_STORE)
                if SVG_CSP[0] not in names and (b"content-type", b"image/svg+xml") in raw:
                    raw.append(SVG_CSP)
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)
