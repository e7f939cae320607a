"""Analyses: queue a discover (compare, drift once they land), follow it, fetch its results.

Each kind is one row of `ANALYSES`: the work function, whether it needs a map, and the
miner module it needs. Results are cached by (kind, log version, map version, parameters)
in the store: an identical POST answers 200 at once with a done job on the cached result.
Every kind runs on the log's journeys as `stitching.load_journeys` gives them (all parts
re-stitched with the log's settings into a partitioned dataset, cached per log version),
partition by partition on the job's engine (`api.engine`: `JOURNEYMINER_ENGINE_WORKERS`
threads or the cluster at `JOURNEYMINER_CLUSTER`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from ...miner._typing import View
from ...miner.errors import InputError, NotFoundError
from ...miner.log import CASE
from ..cached_bodies import BodyCache
from ..deps import RunnerDep, StoreDep, TenantDep
from ..jobs import JobContext
from ..schemas import AnalysisCreate, AnalysisList, AnalysisPublic
from ..store import FileContent, JobInfo, ResultKey, Store, Tenant, params_hash
from ..store.stitching import SOURCE_FILE, SOURCE_ROW, load_journeys
from . import problem_responses

router = APIRouter(prefix="/analyses", tags=["analyses"])

SVG_VIEWS: tuple[View, ...] = ("frequency", "performance")
TABLES = {
    "edges": "edges.parquet",
    "variants": "variants.parquet",
    "cases": "cases.parquet",
    "segments": "segments.parquet",
    "deviations": "deviations.parquet",
    "case_deviations": "case_deviations.parquet",
    "hidden": "hidden.parquet",
    "leaks": "leaks.parquet",
    "rates": "rates.parquet",
}


@dataclass(frozen=True)
class AnalysisRunner:
    """One kind of analysis: its work, and whether it needs a designed map."""

    run: Callable[[JobContext, dict[str, Any]], dict[str, FileContent]]
    needs_map: bool = False


# -- work ---------------------------------------------------------------------------------
def run_discover(ctx: JobContext, p: dict[str, Any]) -> dict[str, FileContent]:
    """Read, then the discover use case; the result's files: JSON, Parquet tables, SVGs."""
    from ...miner.discover.filters import Filters
    from ...miner.usecases import discover_journeys

    ctx.progress(0.05, "reading the log", force=True)
    log = load_journeys(ctx.store, ctx.tenant_id, p["log"]).data
    run = discover_journeys(
        log,
        filters=Filters.from_dict(p["filters"]),
        segment=p.get("segment"),
        progress=ctx.progress,
        run=ctx.engine.executor(),
    )
    found = run.discovery
    ctx.progress(0.75, "rendering")
    files: dict[str, FileContent] = {
        "edges.parquet": found.dfg.edges,
        "variants.parquet": found.variants.frame,
        "cases.parquet": run.cases,
        **{f"dfg-{view}.svg": found.dfg.to_svg(view=view) for view in SVG_VIEWS},
    }
    body = {
        "kind": "discover",
        "log": {"id": p["log"], "version": p["log_version"]},
        "filters": p["filters"],
        "segment": p.get("segment"),
        **run.to_dict(),
    }
    if run.segments is not None:
        files["segments.parquet"] = run.segments
        body["segments"] = run.segments.to_dicts()
    files["result.json"] = json.dumps(body, default=str, ensure_ascii=False)
    return files


def _designed_map(ctx: JobContext, p: dict[str, Any]) -> Any:
    from ...miner.maps.designed import parse_map

    info = ctx.store.get_map(ctx.tenant_id, p["map"], p["map_version"])
    limits = ctx.store.settings.map_limits
    return parse_map(info.text, format=info.format, file=info.name, **limits)  # type: ignore[arg-type]


def run_compare(ctx: JobContext, p: dict[str, Any]) -> dict[str, FileContent]:
    """Read, then the compare use case; files: result JSON, Parquet tables, overlay SVG."""
    from ...miner.discover.filters import Filters
    from ...miner.usecases import compare_journeys

    ctx.progress(0.05, "reading the map", force=True)
    designed = _designed_map(ctx, p)
    ctx.progress(0.1, "reading the log")
    log = load_journeys(ctx.store, ctx.tenant_id, p["log"]).data
    result = compare_journeys(
        log,
        designed,
        filters=Filters.from_dict(p["filters"]),
        segment=p.get("segment"),
        progress=ctx.progress,
        run=ctx.engine.executor(),
    )
    ctx.progress(0.8, "rendering")
    body = {
        "kind": "compare",
        "log": {"id": p["log"], "version": p["log_version"]},
        "filters": p["filters"],
        **result.to_dict(),
    }
    if not isinstance(body.get("cases"), dict):
        body["cases"] = "case_deviations.parquet"  # too many journeys to inline: see that table
    cmp = result.comparison
    return {
        "result.json": json.dumps(body, default=str, ensure_ascii=False),
        "cases.parquet": cmp.cases,
        "deviations.parquet": cmp.deviations,
        "case_deviations.parquet": cmp.case_deviations(),
        "hidden.parquet": result.hidden.frame,
        "leaks.parquet": cmp.leaks,
        "overlay.svg": result.overlay.to_svg(),
    }


def run_drift(ctx: JobContext, p: dict[str, Any]) -> dict[str, FileContent]:
    """Read, then the drift use case: the log's two periods (split at `split_at`) against the map."""
    from datetime import datetime

    from ...miner.discover.filters import Filters
    from ...miner.usecases import drift_between_periods

    designed = _designed_map(ctx, p)
    ctx.progress(0.1, "reading the log", force=True)
    log = load_journeys(ctx.store, ctx.tenant_id, p["log"]).data
    split = datetime.fromisoformat(p["split_at"]) if p.get("split_at") else None
    result = drift_between_periods(
        log,
        designed,
        filters=Filters.from_dict(p["filters"]),
        split_at=split,
        progress=ctx.progress,
        run=ctx.engine.executor(),
    )
    body = {
        "kind": "drift",
        "log": {"id": p["log"], "version": p["log_version"]},
        **result.to_dict(),
    }
    return {
        "result.json": json.dumps(body, default=str, ensure_ascii=False),
        "rates.parquet": result.drift.rates,
    }


#: kind -> how to run it: the work function returns the result's files ("overlay.svg" feeds
#: /overlay.svg, "dfg-*.svg" feed /dfg.svg).
ANALYSES: dict[str, AnalysisRunner] = {
    "discover": AnalysisRunner(run_discover),
    "compare": AnalysisRunner(run_compare, needs_map=True),
    "drift": AnalysisRunner(run_drift, needs_map=True),
}


def _work(kind: AnalysisRunner, key: ResultKey, p: dict[str, Any]) -> Callable[[JobContext], str]:
    run = kind.run

    def work(ctx: JobContext) -> str:
        files = run(ctx, p)
        ctx.progress(0.9, "saving", force=True)
        result = ctx.store.put_result(ctx.tenant_id, key, files)
        ctx.progress(1.0, "done", force=True)
        return result.id

    return work


# -- routes -------------------------------------------------------------------------------
def _prepare(
    store: Store, tenant: Tenant, body: AnalysisCreate
) -> tuple[ResultKey, dict[str, Any]]:
    from ...miner.discover.filters import Filters

    kind = ANALYSES[body.kind]
    filters = Filters.from_dict(body.filters or {})
    info = store.get_log(tenant, body.log)
    if info.status != "ready":
        raise InputError(
            f"log {body.log!r} is {info.status}; analyse it once it is ready",
            status=409,
            title="Conflict",
        )
    map_id, map_version = "", 0
    if body.map is not None:
        designed = store.get_map(tenant, body.map, body.map_version)
        map_id, map_version = designed.id, designed.version
    elif kind.needs_map:
        raise InputError(
            f"analysis kind {body.kind!r} needs a designed map",
            column="map",
            expected="the id of a map",
            extra={"parameter": "map"},
        )
    if body.segment is not None:
        _check_attribute(store, tenant, body.log, body.segment)
    params = {
        "filters": filters.to_dict(),
        "segment": body.segment,
        "split_at": body.split_at.isoformat() if body.split_at else None,
    }
    key = ResultKey(body.kind, info.id, info.version, params_hash(params), map_id, map_version)
    job_params = {
        "log": info.id,
        "log_version": info.version,
        "map": map_id or None,
        "map_version": map_version or None,
        "kind": body.kind,
        **params,
    }
    return key, job_params


def _check_attribute(store: Store, tenant: Tenant, log_id: str, attribute: str) -> None:
    # Parts may hold different sources (and so attributes): any part's column will do.
    columns: set[str] = set()
    for part in store.list_log_parts(tenant, log_id):
        columns |= set(pl.read_parquet_schema(part.path))
    customers = store.log_snapshot(tenant, log_id).customers  # attributes stitched on
    if customers is not None:
        columns |= set(pl.read_parquet_schema(customers))
    columns -= {CASE, SOURCE_FILE, SOURCE_ROW}
    if attribute not in columns:
        raise InputError(
            f"the log has no attribute {attribute!r} to segment by",
            column="segment",
            expected="one of " + ", ".join(sorted(columns)),
            found=attribute,
            extra={"parameter": "segment"},
        )


def _analysis(store: Store, tenant: Tenant, analysis_id: str) -> JobInfo:
    job = store.get_job(tenant, analysis_id)
    if job.kind not in ANALYSES:
        raise NotFoundError(f"analysis {analysis_id!r} does not exist", extra={"id": analysis_id})
    return job


@router.post(
    "",
    status_code=202,
    summary="Queue an analysis: 202 with its status URL (200 if cached)",
    responses={
        200: {"model": AnalysisPublic, "description": "Cached: a done job on the stored result."},
        **problem_responses(404, 409, 422, 429),
    },
)
async def create_analysis(
    body: AnalysisCreate, tenant: TenantDep, store: StoreDep, runner: RunnerDep
) -> JSONResponse:
    """Check the request, answer from the cache if the same analysis ran, else queue it."""
    key, params = await run_in_threadpool(_prepare, store, tenant, body)
    cached = await run_in_threadpool(store.get_result, tenant, key)
    if cached is not None:

        def finished() -> JobInfo:
            job = store.create_job(tenant, body.kind, {**params, "cached": True})
            store.start_job(tenant, job.id)
            return store.finish_job(tenant, job.id, result_id=cached.id)

        job = await run_in_threadpool(finished)
        status = 200
    else:
        work = _work(ANALYSES[body.kind], key, params)
        job = await run_in_threadpool(
            lambda: runner.submit(tenant.id, body.kind, {**params, "cached": False}, work)
        )
        status = 202
    public = AnalysisPublic.of(job)
    return JSONResponse(
        public.model_dump(mode="json"), status_code=status, headers={"Location": public.status_url}
    )


@router.get("", summary="List recent analyses")
def list_analyses(tenant: TenantDep, store: StoreDep) -> AnalysisList:
    """The tenant's most recent analyses, newest first."""
    jobs = [j for j in store.list_jobs(tenant, limit=500) if j.kind in ANALYSES]
    return AnalysisList(analyses=[AnalysisPublic.of(j) for j in jobs[:100]])


@router.get(
    "/{analysis_id}", summary="Status, progress, timings, links", responses=problem_responses(404)
)
async def get_analysis(analysis_id: str, tenant: TenantDep, store: StoreDep) -> AnalysisPublic:
    """Status, progress (0-1) and stage, timings, and links to the result once done."""
    # On the event loop: two indexed SQLite reads beat a thread hop (see deps.get_tenant).
    return AnalysisPublic.of(_analysis(store, tenant, analysis_id))


@router.delete("/{analysis_id}", summary="Cancel an analysis", responses=problem_responses(404))
def cancel_analysis(analysis_id: str, tenant: TenantDep, store: StoreDep) -> AnalysisPublic:
    """Cancel a queued or running analysis (it stops at its next stage); a done one stays."""
    _analysis(store, tenant, analysis_id)
    return AnalysisPublic.of(store.cancel_job(tenant, analysis_id))


def _result_file(store: Store, tenant: Tenant, analysis_id: str, name: str, missing: str) -> Any:
    job = _analysis(store, tenant, analysis_id)
    if job.status != "done" or job.result_id is None:
        raise InputError(
            f"analysis {analysis_id!r} is {job.status}; its result exists once it is done",
            status=409,
            title="Conflict",
            extra={"analysis_status": job.status, "error": job.error},
        )
    path = store.get_result_by_id(tenant, job.result_id).files.get(name)
    if path is None:
        raise NotFoundError(missing, extra={"id": analysis_id})
    return path


_RESULT_RESPONSES = problem_responses(404, 409)


async def get_body_cache(request: Request) -> BodyCache:
    """The app's cache of result bytes (made on first use; one per app).

    Async, like every dependency of a hot route: a `def` one costs a thread-pool hop.
    """
    cache: BodyCache | None = getattr(request.app.state, "result_bodies", None)
    if cache is None:
        cache = request.app.state.result_bodies = BodyCache()
    return cache


BodyCacheDep = Annotated[BodyCache, Depends(get_body_cache)]


@router.get(
    "/{analysis_id}/result",
    summary="The result as JSON",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"application/json": {}},
            "headers": {
                "ETag": {
                    "description": "Send it back in `If-None-Match` to get a 304.",
                    "schema": {"type": "string"},
                }
            },
        },
        304: {"description": "Not modified: `If-None-Match` names the current ETag."},
        **_RESULT_RESPONSES,
    },
)
async def get_result(
    analysis_id: str, request: Request, tenant: TenantDep, store: StoreDep, cache: BodyCacheDep
) -> Response:
    """The whole result: DFG, variants, journey statistics (and segments).

    Results never change: send `If-None-Match` with the `ETag` to get an empty 304, and
    `Accept-Encoding: gzip` for a compressed body.
    """
    path = _result_file(store, tenant, analysis_id, "result.json", "the result has no JSON")
    response = await cache.respond(path, request.headers, "application/json")
    return response or FileResponse(path, media_type="application/json")


@router.get(
    "/{analysis_id}/result.parquet",
    summary="One result table as Parquet",
    response_class=FileResponse,
    responses={200: {"content": {"application/vnd.apache.parquet": {}}}, **_RESULT_RESPONSES},
)
def get_result_parquet(
    analysis_id: str,
    tenant: TenantDep,
    store: StoreDep,
    table: Annotated[
        Literal[
            "edges",
            "variants",
            "cases",
            "segments",
            "deviations",
            "case_deviations",
            "hidden",
            "leaks",
            "rates",
        ],
        Query(
            description="A table of the result: edges, variants, cases, segments (discover); cases, deviations, case_deviations, hidden, leaks (compare); rates (drift)."
        ),
    ] = "edges",
) -> FileResponse:
    """A table of the result as a Parquet file."""
    name = TABLES[table]
    path = _result_file(store, tenant, analysis_id, name, f"the result has no {table} table")
    return FileResponse(
        path, media_type="application/vnd.apache.parquet", filename=f"{analysis_id}-{table}.parquet"
    )


@router.get(
    "/{analysis_id}/dfg.svg",
    summary="The directly-follows graph as SVG",
    response_class=FileResponse,
    responses={200: {"content": {"image/svg+xml": {}}}, **_RESULT_RESPONSES},
)
def get_dfg_svg(
    analysis_id: str,
    tenant: TenantDep,
    store: StoreDep,
    view: Annotated[Literal["frequency", "performance"], Query()] = "frequency",
) -> FileResponse:
    """The DFG drawn on the server (frequency or performance view)."""
    path = _result_file(
        store, tenant, analysis_id, f"dfg-{view}.svg", "no SVG: the renderer is not available"
    )
    return FileResponse(path, media_type="image/svg+xml")


@router.get(
    "/{analysis_id}/overlay.svg",
    summary="The real journey over the designed map as SVG (compare analyses)",
    response_class=FileResponse,
    responses={200: {"content": {"image/svg+xml": {}}}, **_RESULT_RESPONSES},
)
def get_overlay_svg(analysis_id: str, tenant: TenantDep, store: StoreDep) -> Response:
    """The designed map annotated with observed volumes; only compare analyses draw one."""
    path = _result_file(
        store,
        tenant,
        analysis_id,
        "overlay.svg",
        "no overlay: only compare analyses draw one",
    )
    return FileResponse(path, media_type="image/svg+xml")
