"""`journeyminer mine`: discovery on an ingested log or a raw file, with filters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .common import (
    JsonFlag,
    Workers,
    app,
    check_cluster,
    cluster_executor,
    cluster_option,
    handle_errors,
    new_table,
    note_runs_here,
    out,
    print_json,
    progress_bar,
)
from .source_options import NOT_GIVEN, SourceOptions, fold_line, source_options


@app.command()
@source_options
def mine(
    log_path: Annotated[
        Path,
        typer.Argument(
            metavar="LOG", help="An ingested log or a CSV, Parquet, JSON lines, XES file."
        ),
    ],
    source: SourceOptions = NOT_GIVEN,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write JSON, Parquet, DOT and SVG here.")
    ] = None,
    top: Annotated[int, typer.Option(help="How many variants and edges the summary shows.")] = 10,
    start: Annotated[
        str | None, typer.Option("--from", help="Time window start (ISO-8601, inclusive).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Time window end (ISO-8601, exclusive).")
    ] = None,
    time_mode: Annotated[
        str | None, typer.Option(help="contained, intersecting, started, completed, trim.")
    ] = None,
    with_channel: Annotated[
        list[str] | None, typer.Option(help="Keep journeys using this channel (repeatable).")
    ] = None,
    channel_mode: Annotated[str | None, typer.Option(help="cases (default) or events.")] = None,
    segment: Annotated[
        str | None, typer.Option(help="Case attribute values, e.g. 'device:mobile|tablet'.")
    ] = None,
    start_activity: Annotated[
        list[str] | None, typer.Option(help="Journeys starting with (repeatable).")
    ] = None,
    end_activity: Annotated[
        list[str] | None, typer.Option(help="Journeys ending with (repeatable).")
    ] = None,
    top_variants: Annotated[
        int | None, typer.Option(help="Keep the k most frequent variants.")
    ] = None,
    min_variant_share: Annotated[
        float | None, typer.Option(help="Keep variants with at least this share.")
    ] = None,
    activities: Annotated[
        float | None, typer.Option(help="Activity slider: most frequent share (0-1].")
    ] = None,
    paths: Annotated[
        float | None, typer.Option(help="Path slider: most frequent edges share (0-1].")
    ] = None,
    min_edge_count: Annotated[int | None, typer.Option(help="Hide edges seen fewer times.")] = None,
    workers: Workers = None,
    cluster: Annotated[
        str | None,
        cluster_option(
            "Discover a stored log's partitions on a Dask cluster: each worker reads its"
            " partitions from the folder (a path every worker sees) and applies the filters to"
            " them, partials merge on the workers. A raw file runs on this machine (said on"
            " stderr)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Discover the DFG, performance DFG, variants and journey statistics of a log.

    A stored log (a folder `ingest` wrote) is read a partition at a time, so memory does not
    grow with the log; `--workers` reads several at once, `--cluster` reads them on a Dask
    cluster. Filters apply partition by partition; the variant and activity sliders take
    one more pass."""
    with handle_errors():
        from ...miner.discover.filters import Filters
        from ...miner.engine.dataset import Dataset
        from ...miner.engine.executors import executor
        from ...miner.ingest.pipeline import open_stored
        from ...miner.kernel_cache import compile_ahead
        from ...miner.usecases import discover_journeys

        check_cluster(cluster)  # a bad address or a missing extra: before any reading

        how = source.to_mapping()
        query = {
            "start": start,
            "end": end,
            "time_mode": time_mode,
            "channels": with_channel,
            "channel_mode": channel_mode,
            "segment": segment,
            "start_activities": start_activity,
            "end_activities": end_activity,
            "top_variants": top_variants,
            "min_variant_share": min_variant_share,
            "activity_coverage": activities,
            "path_coverage": paths,
            "min_edge_count": min_edge_count,
        }
        filters = Filters.from_query(
            {k: (v if isinstance(v, list) else str(v)) for k, v in query.items() if v is not None}
        )
        with progress_bar(not as_json) as update:
            update(f"reading {log_path.name}", 0, 100)
            folds: list[Any] = []
            raw = open_stored(log_path, how, on_fold=folds.append)
            on_cluster = cluster is not None and isinstance(raw, Dataset)
            if not on_cluster:
                note_runs_here(
                    "mine",
                    cluster,
                    "a raw file is read whole (ingest it into a dataset folder first)",
                )
            if not raw.has_intervals:  # (interval logs run other DFG kernels)
                compile_ahead("discovery")  # on an empty JIT cache: a second core compiles too

            def progress(share: float, stage: str) -> None:
                update(stage, round(share * 100), 100)

            if on_cluster:
                update(f"starting the cluster {cluster}", 10, 100)
            with cluster_executor(cluster if on_cluster else None) as on:
                update("discovering", 30, 100)
                run = discover_journeys(
                    raw,
                    filters=filters,
                    workers=workers,
                    per_journey=out_dir is not None,
                    progress=progress,
                    run=on,
                )
                # What the summary line counts: a filtered dataset's takes one more pass.
                summary = None if as_json else summary_of(run.log, on or executor(workers))
            result = run.discovery
            if out_dir is not None:
                update("writing outputs", 80, 100)
                written = write_discovery(result, out_dir)
        if not as_json:
            assert summary is not None
            _print_discovery(summary, result, top)
            if folds:
                out.print(fold_line(folds[0]))
            if out_dir is not None:
                names = ", ".join(p.name for p in written.values())
                out.print(f"outputs written to [bold]{out_dir}[/]: {names}")
            return
        data = result.to_dict(lazy_rows=True)  # the variants become dicts a slice at a time
        if not filters.is_empty:
            data["filters"] = filters.to_dict()
        if folds:
            data["lifecycle"] = folds[0].to_dict()
        if out_dir is not None:
            data["outputs"] = {k: str(v) for k, v in written.items()}
        print_json(data)


def _write_json_file(data: Any, path: Path) -> None:
    from ...miner.json_rows import write_json

    with open(path, "w", encoding="utf-8") as stream:
        write_json(data, stream)


def write_discovery(result: Any, out_dir: Path) -> dict[str, Path]:
    """Write a Discovery as JSON, Parquet frames, DOT and SVG, each file atomically."""
    from ...miner.files import atomic_write, atomic_write_parquet, atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    written = {
        "json": atomic_write(
            out_dir / "discovery.json",
            lambda tmp: _write_json_file(result.to_dict(lazy_rows=True), tmp),
        ),
        "edges": atomic_write_parquet(result.dfg.edges, out_dir / "dfg_edges.parquet"),
        "variants": atomic_write_parquet(result.variants.frame, out_dir / "variants.parquet"),
        "cases": atomic_write_parquet(result.variants.cases, out_dir / "case_variants.parquet"),
    }
    for view in ("frequency", "performance"):
        written[f"{view}_dot"] = atomic_write_text(
            out_dir / f"dfg_{view}.dot", result.dfg.to_dot(view=view)
        )
        written[f"{view}_svg"] = atomic_write_text(
            out_dir / f"dfg_{view}.svg", result.dfg.to_svg(view=view)
        )
    return written


def human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:  # negative: interval events that overlap
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


def summary_of(log: Any, run: Any) -> dict[str, Any]:
    """`EventLog.summary` of what a discovery ran on: a log or dataset says it at once, a
    filtered dataset's partitions are counted on `run`."""
    from ...miner.engine.filtered import FilteredParts, summarize

    return summarize(log, run) if isinstance(log, FilteredParts) else dict(log.summary())


def _print_discovery(s: dict[str, Any], result: Any, top: int) -> None:
    out.print(
        f"[bold]{s['events']:,}[/] events, [bold]{s['cases']:,}[/] journeys, {s['activities']} activities, "
        f"{result.variants.frame.height:,} variants, {result.dfg.edges.height:,} edges; "
        f"{s['start']} .. {s['end']}"
    )
    variants = new_table(title=f"Top {top} variants", show_edge=False)
    for col, justify in (
        ("#", "right"),
        ("journeys", "right"),
        ("share", "right"),
        ("median time", "right"),
        ("activities", "left"),
    ):
        variants.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in result.variants.frame.head(top).iter_rows(named=True):
        acts = " > ".join(row["activities"])
        variants.add_row(
            str(row["variant"] + 1),
            f"{row['count']:,}",
            f"{row['share']:.1%}",
            human(row["median_duration"]),
            acts,
        )
    out.print(variants)
    edges = new_table(title=f"Top {top} edges", show_edge=False)
    for col in ("from", "to", "count", "median", "mean", "max"):
        edges.add_column(col, justify="left" if col in ("from", "to") else "right")
    for row in (
        result.dfg.edges.sort(["count", "source", "target"], descending=[True, False, False])
        .head(top)
        .iter_rows(named=True)
    ):
        edges.add_row(
            row["source"],
            row["target"],
            f"{row['count']:,}",
            human(row["median"]),
            human(row["mean"]),
            human(row["max"]),
        )
    out.print(edges)
    if result.service_times is not None:
        _print_service_times(result.service_times, top)
    dist = result.stats.distributions.filter(pl_col_eq("measure", "case_duration")).to_dicts()
    if dist:
        d = dist[0]
        out.print(
            "journey duration: "
            + ", ".join(f"{q} {human(d[q])}" for q in ("p10", "p25", "p50", "p75", "p90"))
            + f", max {human(d['max'])}"
        )


def _print_service_times(service: Any, top: int) -> None:
    table = new_table(title=f"Service time of the top {top} touchpoints", show_edge=False)
    for col in ("touchpoint", "events", "median", "mean", "min", "max"):
        table.add_column(col, justify="left" if col == "touchpoint" else "right")
    rows = service.sort(["count", "activity"], descending=[True, False]).head(top)
    for row in rows.iter_rows(named=True):
        table.add_row(
            row["activity"],
            f"{row['count']:,}",
            human(row["median"]),
            human(row["mean"]),
            human(row["min"]),
            human(row["max"]),
        )
    out.print(table)


def pl_col_eq(column: str, value: str) -> Any:
    """A polars predicate column == value (kept here so the CLI imports polars lazily)."""
    import polars as pl

    return pl.col(column) == value
