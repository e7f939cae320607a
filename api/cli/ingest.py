"""`journeyminer ingest` and `journeyminer generate`: make a canonical log from sources, or a scenario."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from ...miner.durations import parse_gap
from ...miner.errors import InputError
from .common import (
    JsonFlag,
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
from .source_options import NOT_GIVEN, SourceOptions, source_options


@app.command()
@source_options
def ingest(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Source files, each as FILE, FILE=PRESET or FILE=MAPPING.toml.", show_default=False
        ),
    ],
    out_path: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Where to write the log: a dataset folder (partitions, dictionaries, manifest),"
            " or one canonical Parquet file when the path ends in .parquet.",
        ),
    ],
    source: SourceOptions = NOT_GIVEN,
    identities: Annotated[
        Path | None, typer.Option(help="Identity table: source_id -> customer_id.")
    ] = None,
    customers: Annotated[
        Path | None,
        typer.Option(
            help="Customer table (CSV/Parquet): customer_id plus attributes (region, tier, ...)"
            " copied onto every event of the customer, to split analyses by them."
        ),
    ] = None,
    gap: Annotated[
        str, typer.Option(help="Inactivity gap that starts a new journey, or 'none'.")
    ] = "30d",
    goal: Annotated[
        list[str] | None, typer.Option(help="Touchpoint that closes a journey (repeatable).")
    ] = None,
    partitions: Annotated[
        int | None,
        typer.Option(help="Partitions of a dataset folder (default: one per 2 million events)."),
    ] = None,
    cluster: Annotated[
        str | None,
        cluster_option(
            "Ingest on a Dask cluster (every worker must see the files, and the folder --out"
            " is in, at the same paths): the source files read and mapped, one task per file;"
            " into a dataset folder, each source part split by customer hash and each"
            " partition stitched and written there too, one task each, the manifest written"
            " here last; into a single Parquet file (--out X.parquet), the customers stitched"
            " there, one task per range of about a million events, the file written here."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Read sources, map their columns, stitch them into journeys, write one canonical log.

    The source options read the files given without '='; `--timezone` reads them all. The log
    is a dataset folder, or a single Parquet file when --out ends in .parquet; every command
    that reads a log takes either."""
    with handle_errors():
        check_cluster(cluster)  # a bad address or a missing extra: before any reading
        from ...miner.ingest.pipeline import ingest_to_file, resolve_source
        from ...miner.ingest.to_dataset import ingest_to_dataset

        # --timezone alone leaves a file named like a preset (web.csv) to that preset.
        how = source.to_mapping() if source.beyond_timezone else None
        specs = [resolve_source(s, mapping=how, timezone=source.timezone) for s in sources]
        single = out_path.suffix.lower() == ".parquet"
        if single and partitions is not None:
            raise InputError(
                "--partitions is for a dataset folder; --out ends in .parquet (one file)",
                column="--partitions",
                expected="--out without .parquet, or no --partitions",
            )
        write = ingest_to_file if single else partial(ingest_to_dataset, n_parts=partitions)
        gap_value = parse_gap(gap, what="--gap")
        if single:
            note_runs_here(
                "writing the log",
                cluster,
                "the workers read the sources and stitch ranges of customers; one Parquet file"
                " is written here (a dataset folder is written by the workers)",
            )
        with progress_bar(not as_json) as update, cluster_executor(cluster) as on:
            report = write(
                specs,
                out_path,
                identities=identities,
                customers=customers,
                gap=gap_value,
                goals=tuple(goal or ()),
                progress=update,
                run=on,
            )
        data = {"log": str(out_path), **report}
        if as_json:
            print_json(data)
            return
        _print_ingest(data)


def _print_ingest(data: dict[str, Any]) -> None:
    table = new_table(title="Ingested sources", show_edge=False)
    table.add_column("file")
    table.add_column("events", justify="right")
    table.add_column("ids", justify="right")
    for s in data["sources"]:
        table.add_row(s["file"], f"{s['events']:,}", f"{s['ids']:,}")
    out.print(table)
    out.print(
        f"[bold]{data['events']:,}[/] events, [bold]{data['customers']:,}[/] customers, "
        f"[bold]{data['journeys']:,}[/] journeys, {len(data['activities'])} activities, "
        f"channels: {', '.join(data['channels']) or '-'}"
    )
    out.print(f"from {data['start']} to {data['end']}")
    for s in data["sources"]:
        if s.get("ambiguous_times"):  # say so: the `ambiguous` rule decided where they lie
            out.print(
                f"{s['file']}: {s['ambiguous_times']:,} events at a local time the clocks "
                "showed twice (placed by the mapping's ambiguous rule)"
            )
    out.print(
        f"identity: {data['matched_ids']:,} ids matched, {data['unmatched_ids']:,} unmatched "
        f"({data['unmatched_events']:,} events)"
    )
    if "customer_attributes" in data:
        c = data["customer_attributes"]
        out.print(
            f"customer attributes {', '.join(c['attributes'])}: {c['with_attributes']:,} of "
            f"{c['customers']:,} customers"
        )
    for w in data["warnings"]:
        out.print(f"[yellow]warning:[/] {w}")
    out.print(f"log written to [bold]{data['log']}[/]")


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the scenario into.")],
    events: Annotated[int, typer.Option(help="About how many events to generate.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Generate a seeded omnichannel scenario: sources, identities, designed map and truth."""
    with handle_errors():
        from ...miner.synthetic.generate import generate as run_generate

        if events < 1:
            raise InputError(
                "--events must be at least 1", expected="a positive number", found=str(events)
            )
        with progress_bar(not as_json) as update:
            report = run_generate(
                out_dir,
                events=events,
                seed=seed,
                progress=lambda n: update("generating", n, events),
            )
        data = report.to_dict() if hasattr(report, "to_dict") else dict(vars(report))
        if as_json:
            print_json(data)
            return
        out.print_json(json.dumps(data, default=str))
