"""Batch runs (`journeyminer run JOB.toml`): append new source files to a stored log, refresh results.

A job file (TOML; relative paths are resolved against the job file's folder):

    name = "nightly-webshop"
    workspace = "./workspace"      # optional; default: JOURNEYMINER_WORKSPACE, else ./workspace
    tenant = "default"             # created on first use
    log = "webshop"                # the stored log to append to (default: name); created on first run

    [[sources]]                    # one or more; each matched file is one batch
    path = "exports/web-*.csv"     # a file or a glob; files are taken in sorted order
    preset = "web"                 # or mapping = "web_mapping.toml" (at most one of the two)
    timezone = "Europe/Amsterdam"  # optional: zone of naive timestamps
    # optional, as the CLI's source options: case, activity, timestamp, start_timestamp,
    # timestamp_format, channel, object_type, lifecycle ("fold" or a list of transitions)

    [journeys]                     # how events become journeys (applied to all batches)
    identities = "exports/identities.csv"   # optional identity table
    customers = "exports/customers.csv"     # optional: customer attributes to segment by
    gap = "30d"                    # inactivity gap that starts a new journey, or "none"
    goals = ["order_confirmed"]    # touchpoints that close a journey
    map = "map.toml"               # designed map, needed by "compare"

    [[analyses]]                   # default: one discover
    kind = "discover"              # or "compare"
    name = "discovery"             # output file prefix (default: discovery / compare)
    filters = { top_variants = 20 }   # optional, the keys of Filters (HTTP query names)
    segment = "device"             # compare only: split results by this attribute

    [outputs]
    dir = "out"                    # default "out"

    [thresholds]                   # breach -> exit code 4, after the outputs are written
    min_fitness = 0.8              # compare: share of journeys that fit the map
    max_leak_rate = 0.3            # compare: any leak point's share of closed journeys
    min_conversion = 0.05          # compare: converted / closed; discover: share reaching a goal

Outputs in `dir`, each written atomically (temp file + rename): per discover analysis
`<name>.json` (`Discovery.to_dict`), `<name>.dfg.svg`, `<name>.dfg-performance.svg`; per compare
analysis `<name>.json` (what `journeyminer compare --json` prints) and, above 10,000
journeys, `<name>.cases.parquet`; and `run.json`, the run report.

Idempotent appends: every matched file is hashed (sha256, streamed) and appended to the log as
one part unless a part with that hash is there already, so a rerun adds nothing twice.

Stitching across batches (`api/store/stitching.py`, shared with the HTTP API): a part holds one
file's events *before stitching* (case id = the source's own id), plus `source_file` and
`source_row`. Each run stores the job's `[journeys]` settings in the log (the identity table
as a file of the log; gap; goals; the `[[sources]]` patterns as the stitching order), and
reading the log re-stitches the union of all parts: ordered by (position of the first
`[[sources]]` pattern matching the file, file path), rows in file order, which is exactly what
`journeyminer ingest` does with all files at once. So a journey that spans two nightly
batches, or an identity learnt late, comes out as if all files had arrived together; HTTP
analyses of the log see the same journeys. Cost: each new version reads and sorts the whole
log (O(n log n) in all events, not only the new ones), once: the stitched log is cached per
version; appends stay O(new file). The log is marked as a batch log (`mapping = {"batch":
{...}, ...}`); a job refuses to append to a log made over HTTP, and HTTP refuses to append
to a batch log (each would replace the other's settings).

Results: every analysis is a full recompute over the stitched log, cached in the store under
(log version, stitching and analysis parameters, map and identity hashes). A rerun with no new
batches only copies cached files; a run killed at any point is completed by the next one
(parts and results commit atomically; outputs are recomputed or copied). Incremental updates
(counts add, variants merge) are not used: a new batch can extend or re-cut journeys that are
already counted, and medians do not merge, so they would be correct only per closed journey.

`--dry-run` hashes the files and lists which would be appended, changing nothing.

Exit codes (`journeyminer run`): 0 ok; 2 bad input (job file, sources, map: file, line, key);
3 internal error; 4 a threshold was breached (after all outputs were written).
"""

from __future__ import annotations

import glob
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ...miner.errors import ConflictError, EmptySourceError, InputError, NotFoundError, SourceError
from ...miner.files import atomic_write_bytes, atomic_write_text
from ..engine import Engine
from ..settings import Settings
from ..store import Store
from ..store.log_files import sha256_file
from ..store.stitching import (
    STITCH_FORMAT,
    source_part,
    stitch_snapshot,
    table_change,
)
from .analyses import BATCH_FORMAT, check_thresholds, run_analyses
from .job_file import Job, load_job
from .report import RunReport

__all__ = ["Job", "RunReport", "load_job", "run_job"]

Progress = Callable[[str, int, int], None]
_GLOB = re.compile(r"[*?\[]")


# -- the run ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Batch:
    source: int
    path: Path
    label: str


def run_job(
    job: Job,
    *,
    settings: Settings | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> RunReport:
    """Append the job's new batches, refresh its analyses, write outputs, check thresholds.

    The analyses run on `engine` (default: the settings', `JOURNEYMINER_ENGINE_WORKERS`
    or `JOURNEYMINER_CLUSTER`), partition by partition of the stitched journeys."""
    started = time.perf_counter()
    update = progress or (lambda stage, done, total: None)
    if settings is None:
        settings = (
            Settings(workspace=job.resolve(job.spec.workspace))
            if job.spec.workspace
            else Settings()
        )
    report = RunReport(
        job=job.spec.name,
        job_file=str(job.path),
        workspace=str(settings.workspace),
        tenant=job.spec.tenant,
        log={"name": job.log_name},
        dry_run=dry_run,
    )
    batches = _match_files(job, report)
    if dry_run:
        _dry_run(job, settings, batches, report, update)
        report.timings["total"] = time.perf_counter() - started
        return report
    with Store.open(settings) as store:
        tenant = store.ensure_tenant(job.spec.tenant).id
        log_id = _ensure_log(store, tenant, job)
        clock = time.perf_counter()
        _append_batches(store, tenant, log_id, job, batches, report, update)
        _store_settings(store, tenant, log_id, job)
        report.timings["append"] = time.perf_counter() - clock
        info = store.get_log(tenant, log_id)
        report.log = {
            "id": info.id,
            "name": info.name,
            "version": info.version,
            "parts": info.parts,
        }
        if info.parts == 0:
            raise InputError(
                f"log {info.name!r} has no events yet: no source file matched",
                file=str(job.path),
                expected="at least one existing source file",
            )
        own = engine is None
        engine = Engine.from_settings(settings) if engine is None else engine
        try:
            files = run_analyses(store, tenant, log_id, job, report, update, engine)
        finally:
            if own:
                engine.close()
    clock = time.perf_counter()
    update("writing outputs", 0, 1)
    out = job.out_dir
    for name, content in files.items():
        report.outputs[name] = str(atomic_write_bytes(out / name, content))
    report.timings["write"] = time.perf_counter() - clock
    report.thresholds = check_thresholds(job.spec.thresholds, report.analyses)
    report.warnings += [
        f"{t['threshold']} not measurable in {t['analysis']!r} (no closed journey yet)"
        for t in report.thresholds
        if t["value"] is None
    ]
    report.timings["total"] = time.perf_counter() - started
    report.outputs["run.json"] = str(out / "run.json")
    atomic_write_text(out / "run.json", json.dumps(report.to_dict(), indent=2, default=str))
    update("done", 1, 1)
    return report


def _match_files(job: Job, report: RunReport) -> list[_Batch]:
    batches: list[_Batch] = []
    seen: set[Path] = set()
    for i, source in enumerate(job.spec.sources):
        pattern = job.resolve(source.path)
        if _GLOB.search(source.path):
            paths = sorted(Path(p) for p in glob.glob(str(pattern)) if Path(p).is_file())
            if not paths:
                report.warnings.append(f"sources[{i}]: no file matches {source.path!r}")
        else:
            if not pattern.is_file():
                raise SourceError(
                    job.at(("sources", i, "path"), f"source file {source.path!r} not found"),
                    file=str(job.path),
                    expected="an existing file, or a glob pattern",
                )
            paths = [pattern]
        for p in paths:
            if p not in seen:  # a file matched by two patterns is read with the first one
                seen.add(p)
                batches.append(_Batch(i, p, job.label(p)))
    return batches


def _ensure_log(store: Store, tenant: str, job: Job) -> str:
    marker = {"batch": {"format": BATCH_FORMAT, "job": job.spec.name}}
    try:
        info = store.get_log_by_name(tenant, job.log_name)
    except NotFoundError:
        try:
            return store.create_log(tenant, job.log_name, mapping=marker).id
        except ConflictError:  # another run created it meanwhile
            info = store.get_log_by_name(tenant, job.log_name)
    fmt = (info.mapping or {}).get("batch", {}).get("format")
    if fmt != BATCH_FORMAT:
        raise InputError(
            f"log {job.log_name!r} was not made by a batch job: its events are stitched already",
            file=str(job.path),
            expected="the name of a log made by `journeyminer run`, or a new name",
        )
    return info.id


def _stored_hashes(store: Store, tenant: str, log_id: str) -> set[str]:
    return {p.batch_sha256 for p in store.list_log_parts(tenant, log_id)}


def _dry_run(
    job: Job, settings: Settings, batches: list[_Batch], report: RunReport, update: Progress
) -> None:
    known: set[str] = set()
    if settings.db_path.exists():
        with Store.open(settings) as store:
            try:
                tenant = store.get_tenant_by_name(job.spec.tenant).id
                info = store.get_log_by_name(tenant, job.log_name)
                known = _stored_hashes(store, tenant, info.id)
                report.log = {
                    "id": info.id,
                    "name": info.name,
                    "version": info.version,
                    "parts": info.parts,
                }
            except NotFoundError:
                pass
    for n, b in enumerate(batches):
        update(f"hashing {b.path.name}", n, len(batches))
        sha = sha256_file(b.path)
        status = "skipped" if sha in known else "would_add"
        report.batches.append(_batch_row(b, sha, status))


def _batch_row(b: _Batch, sha: str, status: str, events: int | None = None) -> dict[str, Any]:
    return {
        "file": b.label,
        "source": b.source,
        "sha256": sha,
        "bytes": b.path.stat().st_size,
        "events": events,
        "status": status,
    }


def _append_batches(
    store: Store,
    tenant: str,
    log_id: str,
    job: Job,
    batches: list[_Batch],
    report: RunReport,
    update: Progress,
) -> None:
    parts = store.list_log_parts(tenant, log_id)
    known = {p.batch_sha256 for p in parts}
    stored: dict[str, pl.DataType] = {}
    for part in parts:
        stored.update(pl.read_parquet_schema(part.path))
    for n, b in enumerate(batches):
        update(f"hashing {b.path.name}", n, len(batches))
        sha = sha256_file(b.path)
        if sha in known:
            report.batches.append(_batch_row(b, sha, "skipped"))
            continue
        update(f"appending {b.path.name}", n, len(batches))
        try:
            new = source_part(store, log_id, b.path, job.mapping(b.source), b.label, stored)
        except EmptySourceError:
            report.warnings.append(f"{b.label}: no events, nothing appended")
            report.batches.append(_batch_row(b, sha, "empty", 0))
            continue
        added = store.append_log_parts(tenant, log_id, [(new, sha)]) is not None
        known.add(sha)
        stored = {**new.schema, **stored}
        report.batches.append(_batch_row(b, sha, "added" if added else "skipped", new.events))


def _store_settings(store: Store, tenant: str, log_id: str, job: Job) -> None:
    """Make the job's `[journeys]` settings the log's; a change is a new version of the log."""
    info = store.get_log(tenant, log_id)
    j = job.spec.journeys
    path = job.resolve(j.identities) if j.identities else None
    entry, table = table_change("identities", info.mapping, path, job.label(path) if path else "")
    path = job.resolve(j.customers) if j.customers else None
    c_entry, c_table = table_change(
        "customers", info.mapping, path, job.label(path) if path else ""
    )
    order = [job.label(job.resolve(s.path)) for s in job.spec.sources]
    settings = {
        **(info.mapping or {}),
        "stitch": {"format": STITCH_FORMAT, "order": order},
        "gap": j.gap,
        "goals": list(j.goals),
        "identities": entry,
        "customers": c_entry,
    }
    # Stitch now only if there are parts: a first run whose files were all empty has none.
    stitch = stitch_snapshot if info.parts else None
    store.append_log_parts(
        tenant,
        log_id,
        [],
        mapping=settings,
        identities=table,
        customers=c_table,
        stitch=stitch,
    )
