"""`journeyminer export`: a stored log's canonical columns as Parquet, CSV or XES."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import JsonFlag, app, handle_errors, out, print_json
from .source_options import NOT_GIVEN, SourceOptions, source_options


@app.command()
@source_options
def export(
    log_path: Annotated[
        Path,
        typer.Argument(
            metavar="LOG",
            help="A stored log (dataset folder or Parquet file), or a raw file with the source"
            " options.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        str,
        typer.Option("--format", help="parquet, csv or xes.", show_default=False),
    ],
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="The file to write.", show_default=False)
    ],
    source: SourceOptions = NOT_GIVEN,
    as_json: JsonFlag = False,
) -> None:
    """Write a log's canonical columns as Parquet, CSV or XES, for polars, duckdb or pm4py.

    The columns: case_id, activity, timestamp, channel, start_timestamp (interval logs) and
    the kept attributes. CSV times are ISO-8601; XES is one trace per case."""
    with handle_errors():
        from ...miner.export import check_format, export_log
        from ...miner.ingest.pipeline import open_log

        kind = check_format(fmt)
        log = open_log(log_path, source.to_mapping())
        export_log(log, out_path, kind)
        data = {
            "log": str(log_path),
            "out": str(out_path),
            "format": kind,
            "events": log.n_events,
            "cases": log.n_cases,
            "columns": log.frame.columns,
        }
        if as_json:
            print_json(data)
            return
        out.print(
            f"[bold]{log.n_events:,}[/] events of [bold]{log.n_cases:,}[/] journeys written to "
            f"[bold]{out_path}[/] ({kind})"
        )
