"""Ingest into a dataset folder: the sources streamed to parts, then partitioned, stitched
and written one partition at a time (`partitioned.stitch_to_dataset`); `ingest_in_memory` is
the older whole-log way, kept for logs without timed events and as the tests' reference."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..log import EventLog
from .limits import DEFAULT_LIMITS, SourceLimits
from .pipeline import ROW, SourceSpec, ingest_report, ingest_to_file, write_sources
from .stitch import DEFAULT_GAP

if TYPE_CHECKING:
    from ..engine.executors import Executor


def ingest_to_dataset(
    sources: Sequence[SourceSpec],
    dest: str | Path,
    *,
    n_parts: int | None = None,
    identities: str | Path | None = None,
    customers: str | Path | None = None,
    gap: timedelta | None = DEFAULT_GAP,
    goals: Sequence[str] = (),
    progress: Callable[[str, int, int], None] | None = None,
    limits: SourceLimits = DEFAULT_LIMITS,
    batch_events: int | None = None,
    run: Executor | None = None,
) -> dict[str, Any]:
    """As `ingest_to_file`, but into a dataset folder at `dest` (`miner.engine.dataset`, with
    `n_parts` partitions; by default one per 2 million events), written atomically. The
    sources are streamed to parts, split by customer hash into partition files, and each
    partition is stitched and written on its own (`partitioned.stitch_to_dataset`, with
    `batch_events` rows per batch): memory holds a batch or a partition, never the whole log.
    The dataset equals `write_dataset` of the stitched log. The report also names the
    partitions (`partitions`). `run` reads the sources (one task per file, e.g. on a
    cluster's workers), splits them by customer hash (one task per source part) and
    stitches and writes the partitions (one task each); the manifest is written here, last."""
    from ..engine.dataset import check_target
    from .partitioned import BATCH_EVENTS, stitch_to_dataset

    dest = Path(dest)
    check_target(dest, n_parts)  # before the sources are read, not after
    dest.parent.mkdir(parents=True, exist_ok=True)
    settings = _settings(sources, identities, customers, gap, goals)
    total = len(sources) + 1
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=dest.parent) as work:
        parts, per_source = write_sources(sources, Path(work), limits, progress, run=run)
        split = Path(work) / "partitions"
        split.mkdir()
        done = stitch_to_dataset(
            parts,
            dest,
            split,
            row_column=ROW,
            n_parts=n_parts,
            identities=Path(identities) if identities is not None else None,
            customers=Path(customers) if customers is not None else None,
            gap=gap,
            goals=goals,
            settings=settings,
            batch_events=batch_events or BATCH_EVENTS,
            progress=progress,
            run=run,
        )
    if done is not None:
        if progress:
            progress("done", total, total)
        data = ingest_report(per_source, done.report, done.summary)
        return {**data, "partitions": done.n_parts}
    return ingest_in_memory(
        sources,
        dest,
        n_parts=n_parts,
        settings=settings,
        identities=identities,
        customers=customers,
        gap=gap,
        goals=goals,
        progress=progress,
        limits=limits,
        run=run,
    )


def ingest_in_memory(
    sources: Sequence[SourceSpec],
    dest: str | Path,
    *,
    n_parts: int | None = None,
    settings: dict[str, Any] | None = None,
    identities: str | Path | None = None,
    customers: str | Path | None = None,
    gap: timedelta | None = DEFAULT_GAP,
    goals: Sequence[str] = (),
    progress: Callable[[str, int, int], None] | None = None,
    limits: SourceLimits = DEFAULT_LIMITS,
    run: Executor | None = None,
) -> dict[str, Any]:
    """`ingest_to_dataset` the older way: the whole stitched log in memory, then split by
    `write_dataset`. For a log without timed events, and as the reference in tests."""
    from ..engine.dataset import default_parts, write_dataset

    dest = Path(dest)
    if settings is None:
        settings = _settings(sources, identities, customers, gap, goals)
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=dest.parent) as work:
        single = Path(work) / "log.parquet"
        report = ingest_to_file(
            sources,
            single,
            identities=identities,
            customers=customers,
            gap=gap,
            goals=goals,
            progress=progress,
            limits=limits,
            run=run,
        )
        log = EventLog.read_parquet(single)
        parts = default_parts(log.n_events) if n_parts is None else n_parts
        write_dataset(log, dest, n_parts=parts, settings=settings)
    return {**report, "partitions": parts}


def _settings(
    sources: Sequence[SourceSpec],
    identities: str | Path | None,
    customers: str | Path | None,
    gap: timedelta | None,
    goals: Sequence[str],
) -> dict[str, Any]:
    """How a dataset was made, kept in its manifest (an append stitches the same way)."""
    return {
        "sources": [s.path.name for s in sources],
        "stitching": {
            "identities": Path(identities).name if identities is not None else None,
            "customers": Path(customers).name if customers is not None else None,
            "gap_seconds": gap.total_seconds() if gap is not None else None,
            "goals": list(goals),
        },
    }
