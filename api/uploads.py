"""Streaming multipart uploads: parts go to a folder in the workspace in chunks, never whole.

`receive_upload` parses `multipart/form-data` as it arrives (python-multipart), writes each
file part to `<folder>/<n>/<file name>` through a 1 MiB buffer, hashes it (sha256) on the
way, and stops with 413 as soon as the body passes the limit. On any error the folder and
every partial file in it are removed before the error goes on.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from ..miner.errors import InputError
from .store.files import PRIVATE_FILE, private_dir

FLUSH_BYTES = 1 << 20
MAX_FIELD_BYTES = 1 << 20
#: A part's headers (Content-Disposition, Content-Type) are a few hundred bytes; held in memory.
MAX_PART_HEADER_BYTES = 16 << 10
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")

#: Checks a file part before its data is read: (field, file name) -> raise to refuse it.
FileCheck = Callable[[str, str], None]


@dataclass(frozen=True)
class UploadedFile:
    """One file part, stored in the upload folder."""

    field: str
    name: str
    path: Path
    size: int
    sha256: str


@dataclass
class Upload:
    """What a multipart request carried: files on disk and text fields."""

    folder: Path
    files: list[UploadedFile] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def files_of(self, name: str) -> list[UploadedFile]:
        """The file parts sent under the form field `name`, in order."""
        return [f for f in self.files if f.field == name]

    def batch_sha256(self, name: str = "files") -> str:
        """sha256 over the sorted hashes of the files in field `name`: same files, same batch."""
        digests = sorted(f.sha256 for f in self.files_of(name))
        return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()

    def cleanup(self) -> None:
        """Remove the upload folder and everything in it."""
        shutil.rmtree(self.folder, ignore_errors=True)


def too_large(limit: int) -> InputError:
    """The 413 problem for a body over `limit` bytes."""
    return InputError(
        f"the upload is larger than the limit of {limit:,} bytes",
        status=413,
        title="Payload too large",
        expected=f"at most {limit:,} bytes",
    )


@dataclass(frozen=True)
class UploadLimits:
    """How many parts an upload may hold and how long a file name may be."""

    max_files: int = 100
    max_fields: int = 1_000
    max_file_name_chars: int = 255


def over_limit(
    limit: str, message: str, *, maximum: int, found: str, status: int = 422, **where: Any
) -> InputError:
    """A problem (413 or 422) naming the setting that bounds the request (`limit`, `max`)."""
    return InputError(
        f"{message} ({limit})",
        status=status,
        title="Payload too large" if status == 413 else "Invalid input",
        expected=f"at most {maximum:,}",
        found=found,
        extra={"limit": limit, "max": maximum},
        **where,
    )


def unsupported(message: str, *, expected: str, found: str, file: str | None = None) -> InputError:
    """The 415 problem for a media or file type the endpoint does not take."""
    return InputError(
        message,
        status=415,
        title="Unsupported media type",
        file=file,
        expected=expected,
        found=found,
    )


def safe_name(filename: str) -> str:
    """The file name without any folder part, with unusual characters replaced by '_'."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = _UNSAFE.sub("_", name).lstrip(".")[:120]
    return name or "upload"


async def receive_upload(
    request: Request,
    folder: Path,
    *,
    max_bytes: int,
    file_fields: Mapping[str, FileCheck],
    text_fields: frozenset[str],
    limits: UploadLimits = UploadLimits(),
) -> Upload:
    """Stream a multipart body into `folder`; 413 past `max_bytes` or `limits`' counts,
    415/422 for bad parts."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise unsupported(
            "this endpoint takes a multipart/form-data upload",
            expected="multipart/form-data with a boundary",
            found=content_type.decode("latin-1") or "no content type",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    upload = Upload(folder)
    reader = _PartReader(upload, file_fields, text_fields, limits)
    parser = MultipartParser(boundary, reader.callbacks())
    await anyio.to_thread.run_sync(private_dir, folder)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise too_large(max_bytes)
            _parse(parser.write, chunk)
            await reader.drain()
        _parse(parser.finalize)
        await reader.drain()
        if reader.open_file is not None:
            raise InputError("the multipart body ended in the middle of a file")
    except BaseException:
        await reader.close_quietly()
        await anyio.to_thread.run_sync(upload.cleanup)
        raise
    return upload


def _parse(step: Callable[..., Any], *args: Any) -> None:
    """One parser step; a body that is not valid multipart is the client's 400, not a 500."""
    try:
        step(*args)
    except MultipartParseError as exc:
        raise InputError(
            f"the body is not valid multipart/form-data: {exc}",
            status=400,
            title="Malformed body",
            expected="multipart/form-data parts separated by the boundary of the Content-Type",
        ) from None


class _PartReader:
    """Turns python-multipart's callbacks into files and fields, with async file writes."""

    def __init__(
        self,
        upload: Upload,
        file_fields: Mapping[str, FileCheck],
        text_fields: frozenset[str],
        limits: UploadLimits,
    ) -> None:
        self.upload, self.file_fields, self.text_fields = upload, file_fields, text_fields
        self.limits, self.n_fields, self.header_bytes = limits, 0, 0
        self.events: list[tuple[str, bytes]] = []
        self.header_field = self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.name = ""
        self.file_name: str | None = None
        self.open_file: IO[bytes] | None = None
        self.path: Path | None = None
        self.hasher: Any = None
        self.size = 0
        self.buffer: list[bytes] = []
        self.buffered = 0

    def callbacks(self) -> Any:
        add = self.events.append
        return {
            "on_part_begin": lambda: add(("begin", b"")),
            "on_part_data": lambda d, s, e: add(("data", bytes(d[s:e]))),
            "on_part_end": lambda: add(("end", b"")),
            "on_header_field": lambda d, s, e: add(("hfield", bytes(d[s:e]))),
            "on_header_value": lambda d, s, e: add(("hvalue", bytes(d[s:e]))),
            "on_header_end": lambda: add(("hend", b"")),
            "on_headers_finished": lambda: add(("headers", b"")),
        }

    async def drain(self) -> None:
        events, self.events[:] = list(self.events), []
        for kind, data in events:
            if kind == "begin":
                self.headers, self.header_field, self.header_value = {}, b"", b""
                self.buffer, self.buffered, self.size, self.header_bytes = [], 0, 0, 0
            elif kind in ("hfield", "hvalue"):
                self.header_bytes += len(data)
                if self.header_bytes > MAX_PART_HEADER_BYTES:
                    raise too_large(MAX_PART_HEADER_BYTES)
                if kind == "hfield":
                    self.header_field += data
                else:
                    self.header_value += data
            elif kind == "hend":
                self.headers[self.header_field.lower()] = self.header_value
                self.header_field = self.header_value = b""
            elif kind == "headers":
                await self._start_part()
            elif kind == "data":
                await self._data(data)
            elif kind == "end":
                await self._end_part()

    async def _start_part(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_name = options.get(b"filename")
        self.file_name = None if raw_name is None else raw_name.decode("utf-8", "replace")
        if self.file_name is not None:
            check = self.file_fields.get(self.name)
            if check is None:
                raise _unknown_field(self.name, [*self.file_fields], "file")
            self._check_file_part(self.file_name)
            name = safe_name(self.file_name)
            check(self.name, name)
            index = len(self.upload.files)
            path = self.upload.folder / f"{index:03d}" / name
            self.path, self.file_name, self.hasher = path, name, hashlib.sha256()

            def open_part() -> IO[bytes]:
                private_dir(path.parent)
                # Owner-only from the start: tenant data, as every file of the workspace.
                return os.fdopen(
                    os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "wb"
                )

            self.open_file = await anyio.to_thread.run_sync(open_part)
        elif self.name not in self.text_fields:
            raise _unknown_field(self.name, sorted(self.text_fields), "text")
        else:
            self.n_fields += 1
            if self.n_fields > self.limits.max_fields:
                raise over_limit(
                    "max_form_fields",
                    f"the upload has more than {self.limits.max_fields:,} text fields",
                    maximum=self.limits.max_fields,
                    found=f"{self.n_fields:,} or more",
                    status=413,
                )

    def _check_file_part(self, raw_name: str) -> None:
        """Before any of its data is stored: one file more than allowed, or a name too long."""
        limits = self.limits
        if len(self.upload.files) >= limits.max_files:
            raise over_limit(
                "max_upload_files",
                f"the upload has more than {limits.max_files:,} files",
                maximum=limits.max_files,
                found=f"{len(self.upload.files) + 1:,} or more",
                status=413,
            )
        if len(raw_name) > limits.max_file_name_chars:
            raise over_limit(
                "max_file_name_chars",
                f"a file name in field {self.name!r} is {len(raw_name):,} characters long,"
                f" more than the limit of {limits.max_file_name_chars:,}",
                maximum=limits.max_file_name_chars,
                found=f"{len(raw_name):,} characters",
                column=self.name,
            )

    async def _data(self, data: bytes) -> None:
        self.size += len(data)
        self.buffer.append(data)
        self.buffered += len(data)
        if self.open_file is None:
            if self.size > MAX_FIELD_BYTES:
                raise too_large(MAX_FIELD_BYTES)
            return
        self.hasher.update(data)
        if self.buffered >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        if self.open_file is not None and self.buffer:
            block, fh = b"".join(self.buffer), self.open_file
            self.buffer, self.buffered = [], 0
            await anyio.to_thread.run_sync(fh.write, block)

    async def _end_part(self) -> None:
        if self.open_file is None:
            try:
                text = b"".join(self.buffer).decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(
                    f"form field {self.name!r} is not UTF-8 text",
                    column=self.name,
                    expected="UTF-8 text",
                ) from None
            self.upload.fields.setdefault(self.name, []).append(text)
            return
        await self._flush()
        fh, self.open_file = self.open_file, None
        await anyio.to_thread.run_sync(fh.close)
        assert self.path is not None and self.file_name is not None
        self.upload.files.append(
            UploadedFile(self.name, self.file_name, self.path, self.size, self.hasher.hexdigest())
        )

    async def close_quietly(self) -> None:
        if self.open_file is not None:
            fh, self.open_file = self.open_file, None
            await anyio.to_thread.run_sync(fh.close)


def _unknown_field(name: str, known: list[str], kind: str) -> InputError:
    return InputError(
        f"unexpected {kind} field {name!r} in the upload",
        column=name,
        expected="one of " + ", ".join(known),
        found=repr(name),
        extra={"parameter": name},
    )


def scrub_paths(body: dict[str, Any], roots: tuple[Path, ...]) -> dict[str, Any]:
    """The problem body with every path under `roots` cut down to its file name."""
    pattern = re.compile("(?:" + "|".join(re.escape(str(r)) for r in roots) + r")(?:/[^/\s'\"]*)*/")

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub("", value)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return {k: clean(v) for k, v in body.items()}
