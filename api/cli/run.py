"""`journeyminer run JOB.toml`: the scheduled batch job (job file format in `api/batch/run.py`).

Exit codes: 0 ok; 2 bad input (job file, sources, map); 3 internal error; 4 a threshold was
breached (the outputs are written first, so the breach can be inspected).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .common import (
    EXIT_THRESHOLD,
    JsonFlag,
    Workers,
    app,
    check_cluster,
    cluster_option,
    err,
    handle_errors,
    new_table,
    out,
    print_json,
    progress_bar,
)


@app.command()
def run(
    job_file: Annotated[
        Path, typer.Argument(metavar="JOB.toml", help="The job file.", show_default=False)
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be appended; change nothing.")
    ] = False,
    workers: Workers = None,
    cluster: Annotated[
        str | None,
        cluster_option(
            "Run the analyses on a Dask cluster: one task per partition of the stitched"
            " journeys, which its workers read from the workspace (it must be on a file system"
            " they share). Appending and stitching run on this machine."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Append new source files to a stored log, refresh the analyses, check thresholds."""
    with handle_errors():
        check_cluster(cluster)  # a bad address or a missing extra: before anything is read
        from ..batch.run import load_job, run_job
        from ..engine import Engine

        job = load_job(job_file)
        # Without either option, the settings' ($JOURNEYMINER_ENGINE_WORKERS) decide.
        asked = workers is not None or cluster is not None
        engine = Engine(1 if workers is None else workers, cluster) if asked else None
        try:
            with progress_bar(not as_json) as update:
                report = run_job(job, dry_run=dry_run, progress=update, engine=engine)
        finally:
            if engine is not None:
                engine.close()
        data = report.to_dict()
        if as_json:
            print_json(data)
        else:
            _print_report(data)
        for b in report.breached:
            err.print(
                f"[bold red]threshold breached:[/] {_breach(b)}", highlight=False, soft_wrap=True
            )
        if report.breached:
            raise typer.Exit(EXIT_THRESHOLD)


def _breach(b: dict[str, Any]) -> str:
    where = f" at {b['leak_point']!r}" if b.get("leak_point") else ""
    sign = "above" if b["threshold"].startswith("max") else "below"
    measure = b["threshold"].split("_", 1)[1].replace("_", " ")
    return (
        f"{b['threshold']}: {measure} {b['value']:.4g}{where} is {sign} {b['limit']:g} "
        f"(analysis {b['analysis']!r})"
    )


def _print_report(data: dict[str, Any]) -> None:
    table = new_table(title=f"Job {data['job']}: batches", show_edge=False)
    for col, justify in (("file", "left"), ("events", "right"), ("status", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for b in data["batches"]:
        events = "-" if b["events"] is None else f"{b['events']:,}"
        table.add_row(b["file"], events, b["status"])
    out.print(table)
    if data["dry_run"]:
        n = sum(b["status"] == "would_add" for b in data["batches"])
        out.print(
            f"dry run: {n} batch(es) would be appended to log {data['job']!r}; nothing changed"
        )
        return
    out.print(
        f"{data['batches_added']} batch(es) added, {data['batches_skipped']} already there; "
        f"log {data['log'].get('name')!r} version {data['log'].get('version')}: "
        f"[bold]{data['events']:,}[/] events, [bold]{data['journeys']:,}[/] journeys"
    )
    for a in data["analyses"]:
        m = a["metrics"]
        shown = ", ".join(
            f"{k} {m[k]:.3f}" if isinstance(m[k], float) else f"{k} {m[k]}"
            for k in ("journeys", "fitness", "conversion", "leak_rate", "leak_point")
            if m.get(k) is not None
        )
        cached = " (cached)" if a["cached"] else ""
        out.print(f"{a['kind']} [bold]{a['name']}[/]{cached}: {shown}")
    for t in data["thresholds"]:
        if t["ok"]:
            value = "n/a" if t["value"] is None else f"{t['value']:.4g}"
            out.print(f"threshold {t['threshold']} {t['limit']:g}: ok ({value})")
    for w in data["warnings"]:
        out.print(f"[yellow]warning:[/] {w}")
    folder = Path(data["outputs"]["run.json"]).parent if data["outputs"] else None
    out.print(f"outputs written to [bold]{folder}[/]")
