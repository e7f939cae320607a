"""The bundled sample, one click away for a first visit: `GET/POST /logs/sample`.

`POST` ingests `datasets/omnichannel` (web, call center and CRM exports with their presets,
the identity and customer tables, Amsterdam time) as any upload would, and stores its designed
map once. The sample ships with a source checkout, not with the wheel: where it is missing,
`GET` says so and `POST` answers 404 naming what to do instead, so the page can degrade clearly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ...miner.errors import InputError, NotFoundError
from ..deps import RunnerDep, StoreDep, TenantDep
from ..ingest_form import plan_ingest, refuse_same_files, start_ingest
from ..jobs import uploads_folder
from ..schemas import JobPublic
from ..store import Store, Tenant, new_id
from ..store.files import private_dir
from ..store.log_files import sha256_file
from ..uploads import Upload, UploadedFile
from . import problem_responses

router = APIRouter(prefix="/logs", tags=["logs"])

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "omnichannel"
SOURCES = ("web", "call_center", "crm")
SAMPLE_NAME = "omnichannel sample"
MAP_NAME = "omnichannel sample map"
_MISSING = (
    "the bundled sample is not installed here (it ships with a source checkout, not with the "
    "wheel): generate one with `journeyminer generate DIR` and upload its files"
)


class SampleInfo(BaseModel):
    """Whether the sample can be loaded, and what it holds."""

    available: bool
    detail: str = Field(description="What the sample is, or why it is missing.")
    files: list[str]


class SampleLoaded(BaseModel):
    """The sample's ingest job (null when it is stored already), its log and its map."""

    job: JobPublic | None
    log: str | None = Field(description="The stored sample log, when it is ready already.")
    map: str = Field(description="The id of the sample's designed map.")


def sample_files() -> list[Path] | None:
    """The sample's files in upload order, or None when the sample is not installed."""
    names = [f"{n}.csv" for n in (*SOURCES, "identities", "customers")] + ["map.toml"]
    paths = [SAMPLE / n for n in names]
    return paths if all(p.is_file() for p in paths) else None


@router.get("/sample", summary="Whether the bundled sample can be loaded")
def sample_info(tenant: TenantDep) -> SampleInfo:
    """Available or not, with the files it holds."""
    paths = sample_files()
    if paths is None:
        return SampleInfo(available=False, detail=_MISSING, files=[])
    return SampleInfo(
        available=True,
        detail="web, call-center and CRM exports of a webshop, with its designed journey map",
        files=[p.name for p in paths],
    )


def _sample_map(store: Store, tenant: Tenant, text: str) -> str:
    """The sample map's id, stored once under its own name."""
    for m in store.list_maps(tenant):
        if m.name == MAP_NAME:
            return m.id
    return store.create_map(tenant, MAP_NAME, text, "toml").id


def _sample_upload(store: Store, paths: list[Path]) -> Upload:
    """The sample's files copied into an upload folder, as a multipart upload would leave them."""
    upload = Upload(uploads_folder(store) / new_id("upl"))
    for i, path in enumerate(paths[:-1]):
        field = "files" if i < len(SOURCES) else path.stem
        target = upload.folder / f"{i:03d}" / path.name
        private_dir(target.parent)  # owner-only, as every upload folder
        shutil.copyfile(path, target)
        upload.files.append(
            UploadedFile(field, path.name, target, target.stat().st_size, sha256_file(target))
        )
    upload.fields = {"preset": list(SOURCES), "timezone": ["Europe/Amsterdam"]}
    return upload


@router.post(
    "/sample",
    status_code=202,
    summary="Load the bundled sample: its ingest job and its map",
    responses=problem_responses(404, 429),
)
async def load_sample(tenant: TenantDep, store: StoreDep, runner: RunnerDep) -> SampleLoaded:
    """Ingest the sample unless it is stored already; store its map once."""
    paths = sample_files()
    if paths is None:
        raise NotFoundError(_MISSING, expected="datasets/omnichannel beside the package")
    map_id = await run_in_threadpool(_sample_map, store, tenant, paths[-1].read_text("utf-8"))
    shas = {await run_in_threadpool(sha256_file, p) for p in paths[: len(SOURCES)]}
    tables: dict[str, str | None] = {
        p.stem: await run_in_threadpool(sha256_file, p) for p in paths[len(SOURCES) : -1]
    }
    try:
        await run_in_threadpool(refuse_same_files, store, tenant, shas, tables)
    except InputError as exc:
        if exc.status != 409:
            raise
        return SampleLoaded(job=None, log=str(exc.extra["existing_log"]), map=map_id)
    runner.check_room()
    upload = await run_in_threadpool(_sample_upload, store, paths)
    try:
        plan = await run_in_threadpool(plan_ingest, upload)
        taken = {i.name for i in await run_in_threadpool(store.list_logs, tenant)}
        name = next(
            n
            for n in (SAMPLE_NAME, *(f"{SAMPLE_NAME} {k}" for k in range(2, 99)))
            if n not in taken
        )
        job = await run_in_threadpool(start_ingest, store, runner, tenant, name, plan, upload)
    except BaseException:
        await run_in_threadpool(upload.cleanup)
        raise
    return SampleLoaded(job=JobPublic.of(job), log=None, map=map_id)
