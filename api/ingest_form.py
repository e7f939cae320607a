"""The upload form of `POST /logs`, its appends and the bundled sample, checked when the request
arrives (an `IngestPlan`: each file's mapping, the identity and customer tables, gap, goals) and
then run as the ingest job that stores the files as parts and re-stitches the log."""

from __future__ import annotations

import json
import tomllib
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..miner.durations import parse_gap
from ..miner.errors import (
    EmptySourceError,
    FormatError,
    InputError,
    JourneyminerError,
    MappingError,
)
from ..miner.ingest.limits import DEFAULT_LIMITS, SourceLimits
from .jobs import JobContext, JobRunner
from .store import JobInfo, Store, Tenant
from .store.stitching import STITCH_FORMAT, append_sources, table_change
from .uploads import Upload

DEFAULT_GAP = "30d"


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
    limits: SourceLimits = DEFAULT_LIMITS


def one_field(upload: Upload, name: str) -> str | None:
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


def plan_ingest(
    upload: Upload, stored: dict[str, Any] | None = None, limits: SourceLimits = DEFAULT_LIMITS
) -> IngestPlan:
    """Check the form and decide each file's mapping; errors here answer 422 at once."""
    from ..miner.ingest.pipeline import KNOWN_PRESETS
    from ..miner.ingest.presets import mapping_from_dict
    from ..miner.ingest.readers import check_columns

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
    timezone = one_field(upload, "timezone")
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
        check_columns(f.path, mapping_from_dict(how, file=f.name), limits)
        sources.append((f.path, how, f.name, f.sha256))
        known[f.name] = how
    identity_files, customer_files = upload.files_of("identities"), upload.files_of("customers")
    if len(identity_files) > 1:
        raise InputError("send at most one identity table", column="identities")
    if len(customer_files) > 1:
        raise InputError("send at most one customer table", column="customers")
    gap_text = one_field(upload, "gap") or (stored or {}).get("gap") or DEFAULT_GAP
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
        limits=limits,
    )


def run_ingest(ctx: JobContext, plan: IngestPlan, log_id: str, *, append: bool) -> str | None:
    """The ingest job: store each file as a part, re-stitch the log, commit all at once."""
    from ..miner.ingest.presets import mapping_from_dict

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
            limits=plan.limits,
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


def start_ingest(
    store: Store, runner: JobRunner, tenant: Tenant, name: str, plan: IngestPlan, upload: Upload
) -> JobInfo:
    """Create the log `name` and queue its ingest job; a log whose job could not be queued
    (a full queue) is deleted again. The job removes the upload's files when it ends."""
    info = store.create_log(tenant, name, None, mapping=plan.stored)
    try:
        return runner.submit(
            tenant.id,
            "ingest",
            {"log": info.id, "files": [f.name for f in upload.files_of("files")]},
            lambda ctx: run_ingest(ctx, plan, info.id, append=False),
            cleanup=upload.cleanup,
        )
    except BaseException:
        store.delete_log(tenant, info.id)
        raise
