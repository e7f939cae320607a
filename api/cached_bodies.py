"""Immutable files served from memory, with an ETag (304 on If-None-Match) and cached gzip.

Results never change once stored, so a result file's bytes, a strong ETag (a hash of the
bytes) and its gzip-compressed bytes are computed once and kept in an LRU bounded in size.
Serving from memory spares the thread hops of a `FileResponse` (stat, open, one per 64 KB
read, close); the ETag lets a polling client revalidate with `If-None-Match` and get an
empty 304; gzip (only when the request's `Accept-Encoding` allows it) cuts JSON about 10x.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict
from pathlib import Path

from fastapi import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

#: Bodies smaller than this are sent as they are: gzip would save too little to matter.
MIN_GZIP_BYTES = 1024
GZIP_LEVEL = 6


class CachedBody:
    """One file's bytes, their ETag, and (once asked for) their gzip-compressed bytes."""

    __slots__ = ("data", "etag", "gzip_etag", "gzipped")

    def __init__(self, data: bytes) -> None:
        """Hash `data` for its ETag; the gzip form is made on first use."""
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        self.data = data
        self.etag = f'"{digest}"'
        self.gzip_etag = f'"{digest}-gzip"'  # another representation, another strong ETag
        self.gzipped: bytes | None = None


class BodyCache:
    """An LRU of small immutable files' bytes, `max_file` each at most, `max_total` in all.

    Only ask it for a file once the store said the file belongs to a resource that exists:
    it never checks whether the file was deleted since.
    """

    def __init__(self, max_file: int = 4 << 20, max_total: int = 64 << 20) -> None:
        """An empty cache."""
        self.max_file, self.max_total = max_file, max_total
        self._data: OrderedDict[Path, CachedBody] = OrderedDict()
        self._size = 0

    async def get(self, path: Path) -> CachedBody | None:
        """The file's cached body (read in a worker thread the first time); None if too large."""
        body = self._data.get(path)
        if body is not None:
            self._data.move_to_end(path)
            return body
        data = await run_in_threadpool(_read_small, path, self.max_file)
        if data is None:
            return None
        body = (
            await run_in_threadpool(CachedBody, data) if len(data) > 1 << 16 else CachedBody(data)
        )
        return self._keep(path, body, len(data))

    async def respond(self, path: Path, headers: Headers, media_type: str) -> Response | None:
        """The file as a response to a request with these headers; None if it is too large.

        200 with the bytes (gzipped if `Accept-Encoding` allows it), or an empty 304 when
        `If-None-Match` names the ETag of the representation the request would get.
        """
        body = await self.get(path)
        if body is None:
            return None
        varies = len(body.data) >= MIN_GZIP_BYTES
        use_gzip = varies and accepts_gzip(headers.get("accept-encoding", ""))
        etag = body.gzip_etag if use_gzip else body.etag
        common = {"etag": etag, "vary": "Accept-Encoding"} if varies else {"etag": etag}
        if etag_matches(headers.get("if-none-match", ""), etag):
            return Response(status_code=304, headers=common)
        if not use_gzip:
            return Response(body.data, media_type=media_type, headers=common)
        if body.gzipped is None:
            packed = await run_in_threadpool(gzip.compress, body.data, GZIP_LEVEL, mtime=0)
            if body.gzipped is None:  # not made meanwhile by a concurrent request
                body.gzipped = packed
                if self._data.get(path) is body:  # still cached: count it
                    self._grow(len(packed))
        return Response(
            body.gzipped, media_type=media_type, headers={**common, "content-encoding": "gzip"}
        )

    def prune(self) -> int:
        """Forget the bodies of files that were deleted (a log's or map's results); how many.

        Call it on the event loop, as `get`: the cache is not shared with other threads.
        """
        gone = [path for path in self._data if not path.exists()]
        for path in gone:
            dropped = self._data.pop(path)
            self._size -= len(dropped.data) + len(dropped.gzipped or b"")
        return len(gone)

    def _keep(self, path: Path, body: CachedBody, size: int) -> CachedBody:
        kept = self._data.setdefault(path, body)
        if kept is body:
            self._grow(size)
        return kept

    def _grow(self, size: int) -> None:
        self._size += size
        while self._size > self.max_total and self._data:
            _, dropped = self._data.popitem(last=False)
            self._size -= len(dropped.data) + len(dropped.gzipped or b"")


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an `Accept-Encoding` value allows gzip: named (or else `*`) with q above 0."""
    found: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if name in ("gzip", "x-gzip", "*"):
            q = params.strip().lower().removeprefix("q=").strip()
            try:
                found["*" if name == "*" else "gzip"] = float(q) if q else 1.0
            except ValueError:
                found[name] = 0.0
    return found.get("gzip", found.get("*", 0.0)) > 0


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an `If-None-Match` value names `etag` (weak comparison, RFC 9110) or is `*`."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def _read_small(path: Path, limit: int) -> bytes | None:
    if path.stat().st_size > limit:
        return None
    return path.read_bytes()
