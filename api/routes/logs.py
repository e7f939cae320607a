"""Logs: upload sources (an ingest job), append batches, read, delete, quick DFG/variants.

The model is the batch runner's (`api/store/stitching.py`): each source file of an upload or an
append becomes one part holding its canonical events *before stitching*, and the log
remembers how to stitch: the mapping of each source file name (preset or mapping, timezone),
the inactivity gap, the goals, and the identity table, stored as a file of the log. Every
read of the log's journeys (`GET /logs/{id}` counts, quick reads, analyses) sees all parts
stitched together, cached per log version; so a journey that spans two nightly batches is one
journey, with the ids a single upload of all files would give.

Appending (`POST /logs/{id}/events`): each file is read with the mapping stored for its file
name (or a preset/mapping sent with it). A gap, goals or identity table sent with an append
replace the log's (a new version even when no file is new). A file whose sha256 (computed
while streaming) is in the log already is not read again: the same batch sent twice adds
nothing. The append job stitches the whole log and commits the parts, the settings and the
stitched counts at once. Logs made by `journeyminer run`, and logs stored before this model
(per-batch stitching), refuse appends over HTTP (409).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from threading import Lock
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ...miner.errors import (
    InputError,
)
from ...miner.ingest.readers import EXTENSIONS
from ..deps import RunnerDep, SettingsDep, StoreDep, TenantDep
from ..engine import Engine
from ..ingest_form import (
    one_field,
    plan_ingest,
    refuse_same_files,
    run_ingest,
    start_ingest,
    upload_tables,
)
from ..jobs import uploads_folder
from ..memory import release_memory
from ..schemas import DfgRead, JobPublic, LogList, LogPublic, VariantsRead
from ..settings import Settings
from ..store import Store, new_id
from ..store.stitching import load_journeys, restitches
from ..uploads import Upload, UploadLimits, receive_upload, unsupported
from . import check_name, forget_deleted, problem_responses

router = APIRouter(prefix="/logs", tags=["logs"])

SOURCE_SUFFIXES = tuple(EXTENSIONS)
IDENTITY_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")
MAPPING_SUFFIXES = (".toml", ".json")
TEXT_FIELDS = frozenset({"preset", "mapping", "gap", "goal", "timezone", "name"})
QUICK_CACHE_SIZE = 128
#: Rows (variants, edges, nodes) the quick-read cache holds in all: a list of 10,000 variants
#: is about 7 MB of Python objects, so a count of answers alone does not bound its memory.
QUICK_CACHE_ROWS = 100_000


def _suffix_check(suffixes: tuple[str, ...], what: str) -> Any:
    def check(field: str, name: str) -> None:
        lower = name.lower().removesuffix(".gz") if what == "source" else name.lower()
        if not lower.endswith(suffixes):
            raise unsupported(
                f"{name!r} in field {field!r} is not a supported {what} file type",
                file=name,
                expected=" ".join(suffixes) + (" (or .gz of them)" if what == "source" else ""),
                found=Path(name).suffix or "no extension",
            )

    return check


FILE_FIELDS = {
    "files": _suffix_check(SOURCE_SUFFIXES, "source"),
    "identities": _suffix_check(IDENTITY_SUFFIXES, "identity table"),
    "customers": _suffix_check(IDENTITY_SUFFIXES, "customer table"),
    "mapping": _suffix_check(MAPPING_SUFFIXES, "mapping"),
}

_FORM = {
    "type": "object",
    "required": ["files"],
    "properties": {
        "files": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "minItems": 1,
            "description": "Source files: CSV/TSV, Parquet, JSON lines, XES, OCEL 2.0 (.gz too).",
        },
        "preset": {
            "type": "array",
            "items": {"type": "string", "enum": ["web", "call_center", "crm"]},
            "description": "One preset for all files, or one per file in order.",
        },
        "mapping": {
            "type": "array",
            "items": {"type": "string"},
            "description": "A source mapping (TOML or JSON text, or a .toml/.json file) "
            "for files without a preset; one for all files, or one text per file in order "
            "(a mapping may name a `preset` and override its fields).",
        },
        "identities": {
            "type": "string",
            "format": "binary",
            "description": "Identity table (source_id, customer_id) as CSV or Parquet.",
        },
        "customers": {
            "type": "string",
            "format": "binary",
            "description": "Customer table (customer_id and attributes such as region) as CSV "
            "or Parquet; its attributes are copied onto every event of the customer, to split "
            "analyses by them (`segment`).",
        },
        "gap": {"type": "string", "example": "30d", "description": "Inactivity gap or 'none'."},
        "goal": {"type": "array", "items": {"type": "string"}, "description": "Goal touchpoints."},
        "timezone": {"type": "string", "example": "Europe/Amsterdam"},
        "name": {"type": "string", "example": "webshop-2024", "description": "Unique per tenant."},
    },
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": _FORM,
                "example": {"files": ["web.csv", "crm.csv"], "preset": ["web", "crm"]},
            }
        },
    }
}


# -- routes -------------------------------------------------------------------------------
async def _receive(request: Request, store: Store, settings: Settings) -> Upload:
    return await receive_upload(
        request,
        uploads_folder(store) / new_id("upl"),
        max_bytes=settings.max_upload_bytes,
        file_fields=FILE_FIELDS,
        text_fields=TEXT_FIELDS,
        limits=UploadLimits(
            max_files=settings.max_upload_files,
            max_fields=settings.max_form_fields,
            max_file_name_chars=settings.max_file_name_chars,
        ),
    )


@router.post(
    "",
    status_code=202,
    summary="Upload sources: answers 202 with the ingest job",
    openapi_extra=UPLOAD_BODY,
    responses=problem_responses(409, 413, 415, 422, 429),
)
async def create_log(
    request: Request,
    tenant: TenantDep,
    store: StoreDep,
    runner: RunnerDep,
    settings: SettingsDep,
) -> JobPublic:
    """Stream the files to the workspace, check the form, and queue the ingest."""
    runner.check_room()
    upload = await _receive(request, store, settings)
    try:
        # The form is checked first: a bad request is a 422 whether or not its files are stored.
        plan = await run_in_threadpool(plan_ingest, upload, None, settings.source_limits)
        if one_field(upload, "name") is None:
            shas = {f.sha256 for f in upload.files_of("files")}
            tables = upload_tables(upload)
            await run_in_threadpool(refuse_same_files, store, tenant, shas, tables)
        name = one_field(upload, "name") or (
            f"{upload.files_of('files')[0].name.split('.')[0][:100]}-{secrets.token_hex(3)}"
        )
        check_name(name, settings.max_name_chars, "log")
        job = await run_in_threadpool(start_ingest, store, runner, tenant, name, plan, upload)
    except BaseException:
        await run_in_threadpool(upload.cleanup)
        raise
    return JobPublic.of(job)


@router.post(
    "/{log_id}/events",
    status_code=202,
    summary="Append a batch of events: answers 202 with the append job",
    openapi_extra=UPLOAD_BODY,
    responses=problem_responses(404, 409, 413, 415, 422, 429),
)
async def append_events(
    log_id: str,
    request: Request,
    tenant: TenantDep,
    store: StoreDep,
    runner: RunnerDep,
    settings: SettingsDep,
) -> JobPublic:
    """Same form as the upload; the log's stored mapping applies. The same batch adds nothing."""
    info = await run_in_threadpool(store.get_log, tenant, log_id)
    if not restitches(info.mapping):
        made_by = (
            "`journeyminer run`: append with its job"
            if "batch" in (info.mapping or {})
            else "an older journeyminer that stitched each batch on its own: upload its"
            " sources again as a new log"
        )
        raise InputError(
            f"log {log_id!r} was made by {made_by}",
            status=409,
            title="Conflict",
            extra={"id": log_id},
        )
    if info.status == "pending":
        raise InputError(
            f"log {log_id!r} is still being ingested; append when it is ready",
            status=409,
            title="Conflict",
        )
    runner.check_room()
    upload = await _receive(request, store, settings)
    try:
        plan = await run_in_threadpool(plan_ingest, upload, info.mapping, settings.source_limits)
        job = await run_in_threadpool(
            lambda: runner.submit(
                tenant.id,
                "append",
                {"log": log_id, "files": [f.name for f in upload.files_of("files")]},
                lambda ctx: run_ingest(ctx, plan, log_id, append=True),
                cleanup=upload.cleanup,
            )
        )
    except BaseException:
        await run_in_threadpool(upload.cleanup)
        raise
    return JobPublic.of(job)


@router.get("", summary="List the logs")
def list_logs(tenant: TenantDep, store: StoreDep) -> LogList:
    """The tenant's logs, newest first."""
    return LogList(logs=[LogPublic.of(i) for i in store.list_logs(tenant)])


@router.get("/{log_id}", summary="One log's facts", responses=problem_responses(404))
async def get_log(log_id: str, tenant: TenantDep, store: StoreDep) -> LogPublic:
    """Events, cases, journeys, date range, activities and channels."""
    # On the event loop: one indexed SQLite read beats a thread hop (see deps.get_tenant).
    return LogPublic.of(store.get_log(tenant, log_id))


@router.delete(
    "/{log_id}", status_code=204, summary="Delete a log", responses=problem_responses(404)
)
async def delete_log(log_id: str, request: Request, tenant: TenantDep, store: StoreDep) -> Response:
    """Delete the log, its parts, its results and the jobs and analyses that name it
    (unfinished ones are cancelled, saying why)."""
    await run_in_threadpool(store.delete_log, tenant, log_id)
    forget_deleted(request, tenant.id, log_id)
    return Response(status_code=204)


# -- quick reads --------------------------------------------------------------------------
class QuickCache:
    """A small LRU of quick-read answers keyed by (tenant, log, version, read, parameters),
    at most `size` answers and `max_rows` rows (variants, edges, nodes) in all."""

    def __init__(self, size: int = QUICK_CACHE_SIZE, max_rows: int = QUICK_CACHE_ROWS) -> None:
        """An empty cache of at most `size` answers and `max_rows` rows."""
        self.size, self._data, self._lock = size, OrderedDict[Hashable, Any](), Lock()
        self.max_rows, self._rows = max_rows, 0

    def get(self, key: Hashable) -> Any:
        """The cached answer or None."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: Hashable, value: Any) -> None:
        """Remember an answer, forgetting the least recently used beyond `size`."""
        with self._lock:
            if key in self._data:
                self._rows -= _rows(self._data[key])
            self._data[key] = value
            self._data.move_to_end(key)
            self._rows += _rows(value)
            while len(self._data) > self.size or (self._rows > self.max_rows and self._data):
                self._rows -= _rows(self._data.popitem(last=False)[1])

    def forget(self, tenant_id: str, log_id: str) -> None:
        """Drop every answer about one log (it was deleted)."""
        with self._lock:
            for key in [
                k for k in self._data if isinstance(k, tuple) and k[:2] == (tenant_id, log_id)
            ]:
                self._rows -= _rows(self._data.pop(key))


def _rows(value: Any) -> int:
    """The rows of a quick answer: what its memory grows with."""
    if not isinstance(value, dict):
        return 1
    return 1 + sum(len(value.get(k) or ()) for k in ("variants", "edges", "nodes"))


def get_quick_cache(request: Request) -> QuickCache:
    """The app's quick-read cache."""
    cache: QuickCache = request.app.state.quick_cache
    return cache


QuickCacheDep = Annotated[QuickCache, Depends(get_quick_cache)]
_FILTER_DOC = (
    "Filters as query parameters: start, end, time_mode, channels, channel_mode, segment "
    "(attr:v|v;attr:v; ~ is the missing value), start_activities, end_activities, top_variants, min_variant_share, "
    "activity_coverage, path_coverage, min_edge_count. Unknown names answer 422."
)


def _filters(request: Request, own: tuple[str, ...] = ()) -> Any:
    from ...miner.discover.filters import Filters

    params = {k: request.query_params.getlist(k) for k in request.query_params if k not in own}
    return Filters.from_query(params)


def _quick(
    store: Store,
    cache: QuickCache,
    tenant_id: str,
    log_id: str,
    what: str,
    filters: Any,
    extra: Any,
    engine: Engine,
) -> tuple[int, dict[str, Any]]:
    from ...miner.usecases import discover_graph, list_variants

    info = store.get_log(tenant_id, log_id)
    key = (tenant_id, log_id, info.version, what, tuple(sorted(filters.to_query().items())), extra)
    hit = cache.get(key)
    if hit is not None:
        return info.version, hit
    log = load_journeys(store, tenant_id, log_id).data
    if what == "dfg":
        data = discover_graph(log, filters=filters, run=engine.executor()).to_dict()
    else:
        # Only the variants listed become Python objects (all of them: 7 MB per 10,000).
        data = list_variants(log, filters=filters, run=engine.executor()).to_dict(limit=extra)
    del log
    release_memory()  # partitions were read: give their pages back
    cache.put(key, data)
    return info.version, data


@router.get(
    "/{log_id}/dfg",
    summary="Quick directly-follows graph (small logs)",
    description=_FILTER_DOC,
    responses=problem_responses(404, 409, 422),
)
def log_dfg(
    log_id: str,
    request: Request,
    tenant: TenantDep,
    store: StoreDep,
    cache: QuickCacheDep,
    runner: RunnerDep,
) -> DfgRead:
    """The DFG of the filtered log, computed in a worker thread and cached per log version."""
    filters = _filters(request)
    version, data = _quick(store, cache, tenant.id, log_id, "dfg", filters, None, runner.engine)
    return DfgRead(log=log_id, version=version, filters=filters.to_dict(), dfg=data)


@router.get(
    "/{log_id}/variants",
    summary="Quick variants (small logs)",
    description=_FILTER_DOC + " `limit` caps the variants listed.",
    responses=problem_responses(404, 409, 422),
)
def log_variants(
    log_id: str,
    request: Request,
    tenant: TenantDep,
    store: StoreDep,
    cache: QuickCacheDep,
    runner: RunnerDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Most variants listed.")] = 100,
) -> VariantsRead:
    """Variants of the filtered log, most frequent first, cached per log version."""
    filters = _filters(request, own=("limit",))
    engine = runner.engine
    version, data = _quick(store, cache, tenant.id, log_id, "variants", filters, limit, engine)
    return VariantsRead(log=log_id, version=version, filters=filters.to_dict(), **data)
