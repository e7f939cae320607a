"""`journeyminer append`: add new source files to a stored dataset, re-stitching only the
partitions of their customers (`miner.engine.append`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .common import JsonFlag, app, handle_errors, out, print_json, progress_bar
from .source_options import NOT_GIVEN, SourceOptions, source_options


@app.command()
@source_options
def append(
    log: Annotated[
        Path, typer.Argument(help="The dataset folder to append to (written by ingest).")
    ],
    sources: Annotated[
        list[str],
        typer.Argument(
            help="New source files, each as FILE, FILE=PRESET or FILE=MAPPING.toml.",
            show_default=False,
        ),
    ],
    source: SourceOptions = NOT_GIVEN,
    identities: Annotated[
        Path | None,
        typer.Option(help="Identity table (source_id -> customer_id); needed when ingest had one."),
    ] = None,
    customers: Annotated[
        Path | None,
        typer.Option(help="Customer table (customer_id + attributes); needed when ingest had one."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Append new source files to a dataset folder, stitching only their customers again.

    Only the partitions of the new events' customers are stitched again, with the gap and
    goals the dataset was ingested with; the result equals an ingest of all sources together.
    The source options read the files given without '='."""
    with handle_errors():
        from ...miner.engine.append import append_to_dataset
        from ...miner.engine.dataset import open_dataset
        from ...miner.ingest.pipeline import resolve_source

        open_dataset(log)  # an unknown folder fails before any source is read
        how = source.to_mapping() if source.beyond_timezone else None
        specs = [resolve_source(s, mapping=how, timezone=source.timezone) for s in sources]
        with progress_bar(not as_json) as update:
            report = append_to_dataset(
                specs, log, identities=identities, customers=customers, progress=update
            )
        if as_json:
            print_json(report)
            return
        _print_append(report)


def _print_append(data: dict[str, Any]) -> None:
    appended = sum(s["events"] for s in data["sources"])
    out.print(
        f"appended [bold]{appended:,}[/] events from {len(data['sources'])} files: "
        f"{len(data['touched_partitions'])} of {data['partitions']} partitions stitched again"
        + (
            f", {len(data['rewritten_partitions'])} recoded (new names)"
            if data["rewritten_partitions"]
            else ""
        )
    )
    if data["new_activities"]:
        out.print(f"new activities: {', '.join(data['new_activities'])}")
    out.print(
        f"[bold]{data['events']:,}[/] events, [bold]{data['journeys']:,}[/] journeys "
        f"from {data['start']} to {data['end']}"
    )
    out.print(f"log updated: [bold]{data['log']}[/]")
