"""Source files as bytes on disk: existence checks, gzip, heads and tails, and the temporary
plain UTF-8 copy that gzip and non-UTF-8 files are scanned from."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .._typing import SourceFormat
from ..errors import EmptySourceError, FormatError, SourceError
from .sources import NATIVE_ENCODINGS, SourceMapping

CHUNK = 1 << 20
HEAD = 1 << 16
MAX_HEADER = 16 << 20
_GZIP_MAGIC = b"\x1f\x8b"


def check_file(path: Path) -> None:
    """Raise a SourceError naming the file when it is missing, a folder or empty."""
    if not path.exists():
        raise SourceError("file not found", file=path.name, expected="an existing file")
    if path.is_dir():
        raise SourceError("is a folder, not a file", file=path.name, expected="a file")
    if path.stat().st_size == 0:
        raise EmptySourceError("the file is empty (0 bytes)", file=path.name)


def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic bytes (whatever its extension)."""
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip."""
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def head_bytes(path: Path) -> bytes:
    """The first 64 KiB of the (decompressed) file; unreadable files raise FormatError."""
    try:
        with open_binary(path) as fh:
            return fh.read(HEAD)
    except (OSError, EOFError) as exc:
        raise FormatError(f"cannot read the file: {exc}", file=path.name) from None


def ends_with(path: Path, marker: bytes) -> bool:
    """Whether `marker` is in the last 4 KiB of the (decompressed) file."""
    if is_gzip(path):
        tail = b""
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                tail = (tail + chunk)[-4096:]
    else:
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - 4096))
            tail = fh.read()
    return marker in tail


def head_text(path: Path, skip_rows: int) -> str:
    """The first 64 KiB of a plain file as text, without a BOM and `skip_rows` lines; more
    when the header line is longer, up to `MAX_HEADER` bytes (FormatError beyond)."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD)
        # A cut header would name too few columns (a wide export, or a 1 MB line): read on.
        while head.count(b"\n") <= skip_rows and len(head) < MAX_HEADER:
            more = fh.read(HEAD)
            if not more:
                break
            head += more
    if head.count(b"\n") <= skip_rows and len(head) >= MAX_HEADER:
        raise FormatError(
            f"the header line is longer than {MAX_HEADER >> 20} MiB",
            file=path.name,
            row=skip_rows + 1 if skip_rows else None,
            expected="a header line of column names, then one row per line",
            found=f"no line end in the first {len(head):,} bytes",
        )
    text = head.decode("utf-8-sig", errors="replace")
    for _ in range(skip_rows):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    return text


def needs_copy(path: Path, mapping: SourceMapping, fmt: SourceFormat) -> bool:
    """Whether polars cannot scan the file as it is (gzip, or a CSV not in UTF-8)."""
    if is_gzip(path):
        return True
    return fmt == "csv" and mapping.encoding not in NATIVE_ENCODINGS


@contextlib.contextmanager
def plain_copy(path: Path, mapping: SourceMapping, fmt: SourceFormat) -> Iterator[Path]:
    """The file itself, or a temporary UTF-8, uncompressed copy written in chunks."""
    if not needs_copy(path, mapping, fmt):
        yield path
        return
    encoding = mapping.encoding if fmt == "csv" else "utf8"
    fd, tmp = tempfile.mkstemp(prefix="journeyminer-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as out, open_binary(path) as raw:
            if encoding in NATIVE_ENCODINGS:
                while chunk := raw.read(CHUNK):
                    out.write(chunk)
            else:
                text = io.TextIOWrapper(raw, encoding=encoding, newline="")
                while piece := text.read(CHUNK):
                    out.write(piece.encode("utf-8"))
        yield Path(tmp)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot decode the file: {exc}", file=path.name) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
