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

import json
import secrets
import tomllib
from collections import OrderedDict
from collections.abc import Hashable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from threading import Lock
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ...miner.durations import parse_gap
from ...miner.errors import (
    EmptySourceError,
    FormatError,
    InputError,
    JourneyminerError,
    MappingError,
)
from ...miner.ingest.readers import EXTENSIONS
from ..deps import RunnerDep, SettingsDep, StoreDep, TenantDep
from ..jobs import JobContext, uploads_folder
from ..schemas import DfgRead, JobPublic, LogList, LogPublic, VariantsRead
from ..store import Store, Tenant, new_id
from ..store.stitching import (
    STITCH_FORMAT,
    append_sources,
    read_journeys,
    restitches,
    table_change,
)
from ..uploads import Upload, receive_upload, unsupported
from . import problem_responses

router = APIRouter(prefix="/logs", tags=["logs"])

SOURCE_SUFFIXES = tuple(EXTENSIONS)
IDENTITY_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")
MAPPING_SUFFIXES = (".toml", ".json")
TEXT_FIELDS = frozenset({"preset", "mapping", "gap", "goal", "timezone", "name"})
DEFAULT_GAP = "30d"
QUICK_CACHE_SIZE = 128


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


# -- ingest plans -------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestPlan:
    """What an ingest job reads: files (path, mapping as data, name, sha256), identities, settings.

    `stored` is the log's stitching settings after this upload, but for the identity entry,
    which the job sets once it has read the table.
    """

    sources: tuple[tuple[Path, dict[str, Any], str, str], ...]
    identities: tuple[Path, str] | None
    customers: tuple[Path, str] | None
    gap: timedelta | None
    goals: tuple[str, ...]
    stored: dict[str, Any]


def _one(upload: Upload, name: str) -> str | None:
    values = [v.strip() for v in upload.fields.get(name, []) if v.strip()]
    if len(values) > 1:
        raise InputError(f"send at most one {name!r}", column=name, found=f"{len(values)} values")
    return values[0] if values else None


def _mapping_data(upload: Upload) -> list[dict[str, Any]]:
    """The mappings sent: none, one for all files, or one per file in order (the page's)."""
    files = upload.files_of("mapping")
    texts = upload.fields.get("mapping", [])
    if files and texts:
        raise MappingError("send the mapping as text or as a file, not both", column="mapping")
    if len(files) > 1:
        raise MappingError("send one mapping file", column="mapping")
    named = (
        [(files[0].name, files[0].path.read_text(encoding="utf-8", errors="replace"))]
        if files
        else [
            ("mapping" if len(texts) == 1 else f"mapping {i + 1}", t) for i, t in enumerate(texts)
        ]
    )
    return [_parse_mapping(name, text) for name, text in named]


def _parse_mapping(name: str, text: str) -> dict[str, Any]:
    as_json = name.lower().endswith(".json") or text.lstrip().startswith("{")
    try:
        data = json.loads(text) if as_json else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FormatError(
            f"the mapping is not valid {'JSON' if as_json else 'TOML'}: {exc}",
            file=name,
            column="mapping",
            expected="a TOML table or a JSON object of mapping fields",
        ) from None
    if not isinstance(data, dict):
        raise MappingError("a mapping must be a table/object", file=name, found=type(data).__name__)
    return data


def plan_ingest(upload: Upload, stored: dict[str, Any] | None = None) -> IngestPlan:
    """Check the form and decide each file's mapping; errors here answer 422 at once."""
    from ...miner.ingest.pipeline import KNOWN_PRESETS
    from ...miner.ingest.presets import mapping_from_dict
    from ...miner.ingest.readers import check_columns

    files = upload.files_of("files")
    if not files:
        raise InputError(
            "the upload has no source file",
            column="files",
            expected="one or more files in the form field 'files'",
        )
    presets = [p.strip() for p in upload.fields.get("preset", []) if p.strip()]
    if len(presets) not in (0, 1, len(files)):
        raise MappingError(
            "send one preset for all files or one per file",
            column="preset",
            expected=f"1 or {len(files)} presets",
            found=str(len(presets)),
        )
    mappings = _mapping_data(upload)
    if len(mappings) not in (0, 1, len(files)):
        raise MappingError(
            "send one mapping for all files or one per file",
            column="mapping",
            expected=f"1 or {len(files)} mappings",
            found=str(len(mappings)),
        )
    timezone = _one(upload, "timezone")
    known = dict((stored or {}).get("sources", {}))
    sources: list[tuple[Path, dict[str, Any], str, str]] = []
    for i, f in enumerate(files):
        stem = f.name.split(".")[0].lower()
        how: dict[str, Any]
        if presets:
            how = {"preset": presets[i] if len(presets) > 1 else presets[0]}
        elif mappings:
            how = dict(mappings[i] if len(mappings) > 1 else mappings[0])
        elif f.name in known:
            how = dict(known[f.name])
        elif stem in KNOWN_PRESETS:
            how = {"preset": stem}
        else:
            raise MappingError(
                f"no mapping for source {f.name!r}",
                file=f.name,
                expected="a 'preset' (web, call_center, crm) or a 'mapping' in the form",
            )
        if timezone is not None:
            how["timezone"] = timezone
        # Fail now, not in the job: the mapping's fields, then the columns it names.
        check_columns(f.path, mapping_from_dict(how, file=f.name))
        sources.append((f.path, how, f.name, f.sha256))
        known[f.name] = how
    identity_files, customer_files = upload.files_of("identities"), upload.files_of("customers")
    if len(identity_files) > 1:
        raise InputError("send at most one identity table", column="identities")
    if len(customer_files) > 1:
        raise InputError("send at most one customer table", column="customers")
    gap_text = _one(upload, "gap") or (stored or {}).get("gap") or DEFAULT_GAP
    goals = tuple(g.strip() for g in upload.fields.get("goal", []) if g.strip())
    goals = goals or tuple((stored or {}).get("goals", ()))
    return IngestPlan(
        sources=tuple(sources),
        identities=(identity_files[0].path, identity_files[0].name) if identity_files else None,
        customers=(customer_files[0].path, customer_files[0].name) if customer_files else None,
        gap=parse_gap(gap_text),
        goals=goals,
        stored={
            "stitch": {"format": STITCH_FORMAT, "order": None},
            "sources": known,
            "gap": gap_text,
            "goals": list(goals),
            "identities": (stored or {}).get("identities"),
            "customers": (stored or {}).get("customers"),
        },
    )


def run_ingest(ctx: JobContext, plan: IngestPlan, log_id: str, *, append: bool) -> str | None:
    """The ingest job: store each file as a part, re-stitch the log, commit all at once."""
    from ...miner.ingest.presets import mapping_from_dict

    store = ctx.store
    try:
        sources = [
            (path, mapping_from_dict(how, file=name), name, sha)
            for path, how, name, sha in plan.sources
        ]
        stored = store.get_log(ctx.tenant_id, log_id).mapping
        path, name = plan.identities or (None, "")
        entry, table = table_change("identities", stored, path, name)
        path, name = plan.customers or (None, "")
        c_entry, c_table = table_change("customers", stored, path, name)
        version = append_sources(
            store,
            ctx.tenant_id,
            log_id,
            sources,
            settings={**plan.stored, "identities": entry, "customers": c_entry},
            identities=table,
            customers=c_table,
            progress=ctx.stage_reporter(0.0, 0.9),
        )
        if version is None and not append:
            raise EmptySourceError("the upload holds no events", column="files")
        ctx.progress(1.0, "done" if version else "batch already in the log: nothing added")
        return log_id
    except BaseException as exc:
        if not append:
            problem = (
                exc.problem()
                if isinstance(exc, JourneyminerError)
                else {"title": "Ingest failed", "status": 500, "detail": "the ingest stopped"}
            )
            with suppress(JourneyminerError):  # deleted meanwhile
                store.set_log_status(ctx.tenant_id, log_id, "failed", error=problem)
        raise


def refuse_same_files(
    store: Store, tenant: Tenant, shas: set[str], tables: dict[str, str | None] | None = None
) -> None:
    """409 naming the ready log that holds exactly these files (by sha256), if one does.

    `tables` (identities, customers: sha256 or None) must match too: the same exports with
    another identity table are another log. Only an upload without a name is refused: a name
    says "store them again" on purpose.
    """
    for info in store.list_logs(tenant):
        if info.status != "ready" or info.parts != len(shas):
            continue
        stored = info.mapping or {}
        if any((stored.get(k) or {}).get("sha256") != v for k, v in (tables or {}).items()):
            continue
        if {p.batch_sha256 for p in store.list_log_parts(tenant, info.id)} == shas:
            raise InputError(
                f"these files are already the log {info.name!r}: open it, or give the upload "
                "a name to store them again",
                status=409,
                title="Already uploaded",
                column="files",
                extra={"existing_log": info.id, "existing_name": info.name},
            )


def upload_tables(upload: Upload) -> dict[str, str | None]:
    """The sha256 of the identity and customer tables sent (None: not sent)."""
    return {
        k: next((f.sha256 for f in upload.files_of(k)), None) for k in ("identities", "customers")
    }


# -- routes -------------------------------------------------------------------------------
async def _receive(request: Request, store: Store, max_bytes: int) -> Upload:
    return await receive_upload(
        request,
        uploads_folder(store) / new_id("upl"),
        max_bytes=max_bytes,
        file_fields=FILE_FIELDS,
        text_fields=TEXT_FIELDS,
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
    upload = await _receive(request, store, settings.max_upload_bytes)
    log_id: str | None = None
    try:
        if _one(upload, "name") is None:
            shas = {f.sha256 for f in upload.files_of("files")}
            tables = upload_tables(upload)
            await run_in_threadpool(refuse_same_files, store, tenant, shas, tables)
        plan = await run_in_threadpool(plan_ingest, upload)
        name = _one(upload, "name") or (
            f"{upload.files_of('files')[0].name.split('.')[0]}-{secrets.token_hex(3)}"
        )
        info = await run_in_threadpool(
            lambda: store.create_log(tenant, name, None, mapping=plan.stored)
        )
        log_id = info.id
        job = await run_in_threadpool(
            lambda: runner.submit(
                tenant.id,
                "ingest",
                {"log": info.id, "files": [f.name for f in upload.files_of("files")]},
                lambda ctx: run_ingest(ctx, plan, info.id, append=False),
                cleanup=upload.cleanup,
            )
        )
    except BaseException:
        if log_id is not None:
            await run_in_threadpool(store.delete_log, tenant, log_id)
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
    upload = await _receive(request, store, settings.max_upload_bytes)
    try:
        plan = await run_in_threadpool(plan_ingest, upload, info.mapping)
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
def delete_log(log_id: str, tenant: TenantDep, store: StoreDep) -> Response:
    """Delete the log, its parts, its results and the jobs and analyses that name it
    (unfinished ones are cancelled, saying why)."""
    store.delete_log(tenant, log_id)
    return Response(status_code=204)


# -- quick reads --------------------------------------------------------------------------
class QuickCache:
    """A small LRU of quick-read answers keyed by (tenant, log, version, read, parameters)."""

    def __init__(self, size: int = QUICK_CACHE_SIZE) -> None:
        """An empty cache of at most `size` answers."""
        self.size, self._data, self._lock = size, OrderedDict[Hashable, Any](), Lock()

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
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


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
) -> tuple[int, dict[str, Any]]:
    from ...miner.usecases import discover_graph, list_variants

    info = store.get_log(tenant_id, log_id)
    key = (tenant_id, log_id, info.version, what, tuple(sorted(filters.to_query().items())), extra)
    hit = cache.get(key)
    if hit is not None:
        return info.version, hit
    log = read_journeys(store, tenant_id, log_id)
    if what == "dfg":
        data = discover_graph(log, filters=filters).to_dict()
    else:
        variants = list_variants(log, filters=filters).to_dict()
        variants["variants"] = variants["variants"][:extra]
        data = variants
    cache.put(key, data)
    return info.version, data


@router.get(
    "/{log_id}/dfg",
    summary="Quick directly-follows graph (small logs)",
    description=_FILTER_DOC,
    responses=problem_responses(404, 409, 422),
)
def log_dfg(
    log_id: str, request: Request, tenant: TenantDep, store: StoreDep, cache: QuickCacheDep
) -> DfgRead:
    """The DFG of the filtered log, computed in a worker thread and cached per log version."""
    filters = _filters(request)
    version, data = _quick(store, cache, tenant.id, log_id, "dfg", filters, None)
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
    limit: Annotated[int, Query(ge=1, le=10_000, description="Most variants listed.")] = 100,
) -> VariantsRead:
    """Variants of the filtered log, most frequent first, cached per log version."""
    filters = _filters(request, own=("limit",))
    version, data = _quick(store, cache, tenant.id, log_id, "variants", filters, limit)
    return VariantsRead(log=log_id, version=version, filters=filters.to_dict(), **data)
