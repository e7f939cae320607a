"""The analyses of a batch run: each one a use case over the stitched log, cached in the store
by log version and parameters, its files and metrics; then the job's thresholds."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ...miner.engine.executors import Executor
from ...miner.errors import InputError
from ...miner.log import EventLog
from ..engine import Engine
from ..store import ResultKey, Store, params_hash
from ..store.log_files import sha256_file
from ..store.stitching import journeys_of
from .job_file import Job, JobAnalysis, JobThresholds
from .report import RunReport

if TYPE_CHECKING:
    from ...miner.engine.dataset import Dataset

Progress = Callable[[str, int, int], None]
BATCH_FORMAT = 1  # bump when the meaning of a part or result changes


def analysis_params(job: Job, analysis: JobAnalysis) -> dict[str, Any]:
    from ...miner.discover.filters import Filters

    j = job.spec.journeys
    filters = Filters.from_dict(analysis.filters).to_dict()
    return {
        "format": BATCH_FORMAT,
        "sources": [job.label(job.resolve(s.path)) for s in job.spec.sources],
        "identities": sha256_file(job.resolve(j.identities)) if j.identities else None,
        "customers": sha256_file(job.resolve(j.customers)) if j.customers else None,
        "gap": j.gap,
        "goals": j.goals,
        "map": sha256_file(job.resolve(j.map)) if analysis.kind == "compare" and j.map else None,
        "kind": analysis.kind,
        "filters": filters,
        "segment": analysis.segment,
    }


def run_analyses(
    store: Store,
    tenant: str,
    log_id: str,
    job: Job,
    report: RunReport,
    update: Progress,
    engine: Engine,
) -> dict[str, bytes]:
    # One snapshot of the log: results are keyed by exactly the version (parts and settings)
    # they were computed from, whatever is appended meanwhile.
    snap = store.log_snapshot(tenant, log_id)
    version = snap.version
    outputs: dict[str, bytes] = {}
    stitched: tuple[Dataset | EventLog, dict[str, Any]] | None = None
    total = len(job.spec.analyses) + 1
    for n, analysis in enumerate(job.spec.analyses, 1):
        try:
            params = analysis_params(job, analysis)
        except InputError as exc:
            exc.message = f"analysis {analysis.label!r}: {exc.message}"
            exc.file = exc.file or str(job.path)
            raise
        key = ResultKey(f"batch-{analysis.kind}", log_id, version, params_hash(params))
        clock = time.perf_counter()
        cached = store.get_result(tenant, key)
        if cached is not None:
            files = {name: path.read_bytes() for name, path in cached.files.items()}
        else:
            if stitched is None:
                update("stitching journeys", 0, total)
                stitch_clock = time.perf_counter()
                journeys = journeys_of(store, snap)
                stitched = (journeys.data, journeys.report or {})
                report.timings["stitch"] = time.perf_counter() - stitch_clock
            update(f"analysing {analysis.label}", n, total)
            files = _compute(job, analysis, *stitched, engine.executor())
            store.put_result(tenant, key, files)
        metrics = json.loads(files.pop("metrics.json"))
        report.stitch = report.stitch or metrics.pop("stitch")
        metrics.pop("stitch", None)
        report.timings[f"analysis:{analysis.label}"] = time.perf_counter() - clock
        report.analyses.append(
            {
                "name": analysis.label,
                "kind": analysis.kind,
                "cached": cached is not None,
                "metrics": metrics,
                "outputs": sorted(files),
            }
        )
        outputs.update(files)
    return outputs


def _compute(
    job: Job,
    analysis: JobAnalysis,
    log: Dataset | EventLog,
    stitch: dict[str, Any],
    run: Executor,
) -> dict[str, bytes]:
    from ...miner.discover.filters import Filters
    from ...miner.usecases import discover_journeys

    filters = Filters.from_dict(analysis.filters)
    name = analysis.label
    if analysis.kind == "discover":
        found = discover_journeys(log, filters=filters, per_journey=False, run=run)
        result = found.discovery
        metrics: dict[str, Any] = {**_journey_counts(result.variants.frame, job), "stitch": stitch}
        files = {
            f"{name}.json": _json(found.to_dict()),
            f"{name}.dfg.svg": result.dfg.to_svg(view="frequency").encode(),
            f"{name}.dfg-performance.svg": result.dfg.to_svg(view="performance").encode(),
        }
    else:
        files, metrics = _compare(job, analysis, log, filters, stitch, run)
    files["metrics.json"] = _json(metrics)
    return files


def _journey_counts(variants: pl.DataFrame, job: Job) -> dict[str, Any]:
    """Events and journeys of a discovery, from its variants (each journey is in one, with
    its activities), and with goals the share of journeys that reach one (`conversion`)."""
    count, length = pl.col("count"), pl.col("activities").list.len()
    row = variants.select(count.sum().alias("journeys"), (count * length).sum().alias("events"))
    journeys = int(row.item(0, "journeys"))
    out: dict[str, Any] = {"events": int(row.item(0, "events")), "journeys": journeys}
    goals = job.spec.journeys.goals
    if goals and journeys:
        reached = pl.col("activities").list.eval(pl.element().is_in(goals)).list.any()
        hits = int(variants.select(count.filter(reached).sum()).item())
        out["conversion"] = hits / journeys
    return out


def _compare(
    job: Job,
    analysis: JobAnalysis,
    log: Dataset | EventLog,
    filters: Any,
    stitch: dict[str, Any],
    run: Executor,
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The compare use case; its JSON as every door writes it, plus the run's metrics."""
    import tempfile

    from ...miner.maps.designed import load_map
    from ...miner.usecases import compare_journeys

    designed = load_map(job.resolve(job.spec.journeys.map or ""))
    analysed = compare_journeys(log, designed, filters=filters, segment=analysis.segment, run=run)
    result = analysed.comparison
    name = analysis.label
    files: dict[str, bytes] = {}
    data = analysed.to_dict()
    if data["cases"] is None:
        with tempfile.TemporaryDirectory() as tmp:
            files[f"{name}.cases.parquet"] = result.write_cases(
                Path(tmp) / "c.parquet"
            ).read_bytes()
        data["cases"] = f"{name}.cases.parquet"
    files[f"{name}.json"] = _json(data)
    cases = result.cases
    closed = int((~cases.get_column("in_progress")).sum())
    converted = int(cases.get_column("converted").sum())
    leaks = result.leaks.sort("share_of_closed", descending=True, nulls_last=True)
    top = leaks.row(0, named=True) if leaks.height else None
    metrics = {
        "events": result.fitness.n_events,
        "journeys": cases.height,
        "stitch": stitch,
        "fitness": result.fitness.cases,
        "conversion": converted / closed if closed else None,
        "closed": closed,
        "in_progress": cases.height - closed,
        "leak_rate": float(top["share_of_closed"] or 0.0) if top else 0.0,
        "leak_point": top["touchpoint"] if top else None,
    }
    return files, metrics


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def check_thresholds(t: JobThresholds, analyses: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    rules = (
        ("min_fitness", "fitness", t.min_fitness, False),
        ("max_leak_rate", "leak_rate", t.max_leak_rate, True),
        ("min_conversion", "conversion", t.min_conversion, False),
    )
    for threshold, measure, limit, is_max in rules:
        if limit is None:
            continue
        for a in analyses:
            if measure not in a["metrics"]:
                continue
            value = a["metrics"][measure]
            # Not measurable (no closed journey yet) is no breach; the report shows value None.
            ok = value is None or (value <= limit if is_max else value >= limit)
            row = {
                "threshold": threshold,
                "analysis": a["name"],
                "limit": limit,
                "value": value,
                "ok": ok,
            }
            if measure == "leak_rate":
                row["leak_point"] = a["metrics"].get("leak_point")
            checks.append(row)
    return checks
