"""JSON of results with large tables, written without turning every row into a Python dict
at once: a discovery of 10M events has ~0.5M variants, whose dicts alone took more memory
than the discovery itself.

`FrameRows(frame)` stands for `frame.to_dicts()` inside a result's `to_dict()`; `write_json`
encodes such a structure to a text stream a piece at a time, making the dicts of one slice of
rows at a time. The text is exactly `json.dumps(data, indent=2, ...)` of the same data with
every `FrameRows` replaced by its list of dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import IO, Any

import polars as pl

SLICE_ROWS = 10_000
_FLUSH_CHUNKS = 4096


class FrameRows(list):
    """The rows of `frame` as JSON-ready dicts, made `slice_rows` at a time as they are
    iterated. Only iteration, `len` and truth work (it is a list so that `json`'s encoder
    takes it for an array); encode it with `write_json`, or `list(rows)` for plain dicts."""

    def __init__(self, frame: pl.DataFrame, slice_rows: int = SLICE_ROWS) -> None:
        super().__init__()
        self.frame = frame
        self.slice_rows = max(1, slice_rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for start in range(0, self.frame.height, self.slice_rows):
            yield from self.frame.slice(start, self.slice_rows).to_dicts()

    def __len__(self) -> int:
        return self.frame.height

    def __bool__(self) -> bool:
        return self.frame.height > 0


def write_json(
    data: Any,
    stream: IO[str],
    *,
    default: Callable[[Any], Any] | None = None,
    ensure_ascii: bool = False,
) -> None:
    """Write `data` to `stream` as `json.dumps(data, indent=2, default=..., ensure_ascii=...)`
    would, FrameRows included, holding only one slice of rows as dicts at a time."""
    # With an indent, json encodes in Python (never its C encoder, which would read a
    # FrameRows as the empty list it is underneath), iterating each array.
    encoder = json.JSONEncoder(indent=2, default=default, ensure_ascii=ensure_ascii)
    chunks: list[str] = []
    for chunk in encoder.iterencode(data):
        chunks.append(chunk)
        if len(chunks) >= _FLUSH_CHUNKS:
            stream.write("".join(chunks))
            chunks.clear()
    stream.write("".join(chunks))
