"""Streamed multipart uploads (`api/uploads.py`): parts written to disk in chunks and hashed,
text fields, every refusal (413, 415, 400, 422) leaving no folder behind, safe file names."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.requests import Request

from journeyminer.api.uploads import (
    FLUSH_BYTES,
    MAX_FIELD_BYTES,
    FileCheck,
    Upload,
    UploadedFile,
    receive_upload,
    safe_name,
    scrub_paths,
    unsupported,
)
from journeyminer.miner.errors import InputError

BOUNDARY = "jm-b0undary"
Part = tuple[str, str | None, bytes]  # field, file name (None: a text field), data


def multipart(parts: list[Part], boundary: str = BOUNDARY) -> bytes:
    """A multipart/form-data body holding `parts` in order."""
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def request(
    body: bytes,
    *,
    chunk: int = 1 << 16,
    content_type: str | None = None,
    declared: int | None = None,
) -> Request:
    """A POST request whose body arrives in `chunk`-byte messages."""
    headers = [
        (b"content-type", (content_type or f"multipart/form-data; boundary={BOUNDARY}").encode())
    ]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages = iter(
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    )

    async def receive() -> dict[str, Any]:
        return next(messages)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""}
    return Request(scope, receive)


def _accept(field: str, name: str) -> None:
    return None


def receive(
    req: Request,
    folder: Path,
    *,
    max_bytes: int = 1 << 30,
    file_fields: Mapping[str, FileCheck] | None = None,
    text_fields: frozenset[str] = frozenset({"timezone", "name"}),
) -> Upload:
    run = partial(
        receive_upload,
        req,
        folder,
        max_bytes=max_bytes,
        file_fields=file_fields
        if file_fields is not None
        else {"files": _accept, "identities": _accept},
        text_fields=text_fields,
    )
    return anyio.run(run)


def refused(folder: Path, req: Request, **kwargs: Any) -> InputError:
    """The error `receive` raises; the upload folder must be gone afterwards."""
    with pytest.raises(InputError) as info:
        receive(req, folder, **kwargs)
    assert not folder.exists(), sorted(p.name for p in folder.rglob("*"))
    return info.value


WEB = b"case,activity,ts\n" + b"c1,visit,2024-01-01T00:00:00Z\n" * 50
CRM = "case;activity;ts\nü1;Bestellung ✓;2024-01-02\n".encode()


def test_file_parts_are_stored_in_order_with_their_size_and_sha256(tmp_path: Path) -> None:
    body = multipart(
        [
            ("files", "web.csv", WEB),
            ("timezone", None, b"Europe/Amsterdam"),
            ("files", "crm.csv", CRM),
            ("identities", "ids.csv", b""),
            ("name", None, "Café ☕".encode()),
        ]
    )
    folder = tmp_path / "up"
    upload = receive(request(body, declared=len(body)), folder)
    assert upload.files == [
        UploadedFile(
            "files",
            "web.csv",
            folder / "000" / "web.csv",
            len(WEB),
            hashlib.sha256(WEB).hexdigest(),
        ),
        UploadedFile(
            "files",
            "crm.csv",
            folder / "001" / "crm.csv",
            len(CRM),
            hashlib.sha256(CRM).hexdigest(),
        ),
        UploadedFile(
            "identities", "ids.csv", folder / "002" / "ids.csv", 0, hashlib.sha256(b"").hexdigest()
        ),
    ]
    assert [f.path.read_bytes() for f in upload.files] == [WEB, CRM, b""]
    assert upload.fields == {"timezone": ["Europe/Amsterdam"], "name": ["Café ☕"]}
    assert [f.name for f in upload.files_of("files")] == ["web.csv", "crm.csv"]
    upload.cleanup()
    assert not folder.exists()


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_any_split_of_the_body_gives_the_same_files(tmp_path: Path, chunk: int) -> None:
    body = multipart(
        [("files", "web.csv", WEB), ("timezone", None, b"UTC"), ("files", "crm.csv", CRM)]
    )
    upload = receive(request(body, chunk=chunk), tmp_path / "up")
    assert [f.path.read_bytes() for f in upload.files] == [WEB, CRM]
    assert upload.fields == {"timezone": ["UTC"]}


def test_a_file_larger_than_the_write_buffer_arrives_whole(tmp_path: Path) -> None:
    data = bytes(range(256)) * (FLUSH_BYTES // 256 * 2 + 37)  # two flushes and a remainder
    body = multipart([("files", "big.bin", data)])
    (stored,) = receive(request(body, chunk=100_003), tmp_path / "up").files
    assert stored.size == len(data) and stored.path.read_bytes() == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest()


def test_the_batch_hash_depends_on_the_files_not_on_their_order(tmp_path: Path) -> None:
    one = receive(
        request(multipart([("files", "a.csv", WEB), ("files", "b.csv", CRM)])), tmp_path / "1"
    )
    two = receive(
        request(multipart([("files", "b.csv", CRM), ("files", "a.csv", WEB)])), tmp_path / "2"
    )
    other = receive(request(multipart([("files", "a.csv", WEB)])), tmp_path / "3")
    assert one.batch_sha256() == two.batch_sha256() != other.batch_sha256()
    assert one.batch_sha256("identities") == hashlib.sha256(b"").hexdigest()


def test_a_body_past_the_limit_is_a_413_while_streaming(tmp_path: Path) -> None:
    body = multipart([("files", "web.csv", WEB * 10)])
    err = refused(tmp_path / "up", request(body, chunk=256), max_bytes=len(body) - 1)
    assert err.status == 413 and f"{len(body) - 1:,} bytes" in str(err)


def test_a_declared_length_past_the_limit_is_a_413_before_reading(tmp_path: Path) -> None:
    body = multipart([("files", "web.csv", WEB)])
    assert refused(tmp_path / "up", request(body, declared=10**12), max_bytes=1000).status == 413


@pytest.mark.parametrize(
    "content_type", ["application/json", "multipart/form-data", "text/plain; boundary=x"]
)
def test_a_body_that_is_not_multipart_with_a_boundary_is_a_415(
    tmp_path: Path, content_type: str
) -> None:
    err = refused(tmp_path / "up", request(b"{}", content_type=content_type))
    assert err.status == 415 and "multipart/form-data" in str(err)


def test_a_file_under_an_unknown_field_is_refused_naming_the_field(tmp_path: Path) -> None:
    body = multipart([("files", "web.csv", WEB), ("attachment", "x.csv", b"1")])
    err = refused(tmp_path / "up", request(body))
    assert err.status == 422 and "unexpected file field 'attachment'" in str(err)
    assert err.extra["parameter"] == "attachment"


def test_a_text_field_the_endpoint_does_not_take_is_refused(tmp_path: Path) -> None:
    err = refused(
        tmp_path / "up", request(multipart([("files", "web.csv", WEB), ("colour", None, b"red")]))
    )
    assert "unexpected text field 'colour'" in str(err) and err.extra["parameter"] == "colour"


def test_a_file_the_check_refuses_leaves_nothing_behind(tmp_path: Path) -> None:
    def only_csv(field: str, name: str) -> None:
        if not name.endswith(".csv"):
            raise unsupported(f"{name} is not a CSV file", expected=".csv", found=name, file=name)

    body = multipart([("files", "web.csv", WEB), ("files", "photo.jpg", b"\xff\xd8")])
    err = refused(tmp_path / "up", request(body), file_fields={"files": only_csv})
    assert err.status == 415 and "photo.jpg is not a CSV file" in str(err)


def test_a_text_field_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path / "up", request(multipart([("timezone", None, b"\xff\xfe")])))
    assert "form field 'timezone' is not UTF-8 text" in str(err)


def test_a_text_field_over_its_own_limit_is_a_413(tmp_path: Path) -> None:
    body = multipart([("name", None, b"x" * (MAX_FIELD_BYTES + 1))])
    assert refused(tmp_path / "up", request(body)).status == 413


def test_a_body_cut_off_in_the_middle_of_a_file_is_refused(tmp_path: Path) -> None:
    body = multipart([("files", "web.csv", WEB)])
    cut = body[: body.index(b"c1,visit") + 100]
    err = refused(tmp_path / "up", request(cut))
    assert "ended in the middle of a file" in str(err)


def test_a_body_that_breaks_the_multipart_syntax_is_a_400(tmp_path: Path) -> None:
    body = f"--{BOUNDARY}\r\nContent-Disposition form-data\r\n\r\n".encode() + b"\x00" * 10
    err = refused(tmp_path / "up", request(body))
    assert err.status == 400 and "not valid multipart/form-data" in str(err)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("web.csv", "web.csv"),
        ("C:\\Users\\me\\crm export.csv", "crm_export.csv"),
        ("../../etc/passwd", "passwd"),
        ("..hidden", "hidden"),
        ("café ☕.csv", "caf___.csv"),
        ("", "upload"),
        ("dir/", "upload"),
        ("a" * 300 + ".csv", "a" * 120),
    ],
)
def test_file_names_lose_their_folders_and_unusual_characters(given: str, stored: str) -> None:
    assert safe_name(given) == stored


def test_scrub_paths_cuts_workspace_paths_to_their_file_names_everywhere_in_a_body() -> None:
    root = Path("/srv/ws")
    body = {
        "detail": "cannot read /srv/ws/uploads/7/000/web.csv: bad row",
        "problems": [{"file": "/srv/ws/logs/x/part-1.parquet"}, 3],
        "other": "/srv/wsother/keep.csv and /tmp/keep.csv",
        "status": 422,
    }
    assert scrub_paths(body, (root,)) == {
        "detail": "cannot read web.csv: bad row",
        "problems": [{"file": "part-1.parquet"}, 3],
        "other": "/srv/wsother/keep.csv and /tmp/keep.csv",
        "status": 422,
    }
