"""`journeyminer map init|draft|validate|import`: designed journey maps from the command line."""

from __future__ import annotations

import sys
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
    err,
    handle_errors,
    new_table,
    note_runs_here,
    out,
    print_json,
)
from .source_options import NOT_GIVEN, SourceOptions, fold_line, source_options

map_app = typer.Typer(
    no_args_is_help=True, help="Designed journey maps: start one, draft one, check one."
)
app.add_typer(map_app, name="map")


def _emit(text: str, out_path: Path | None) -> None:
    if out_path is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from ...miner.files import atomic_write_text

    atomic_write_text(out_path, text)
    err.print(f"map written to [bold]{out_path}[/]")


@map_app.command("init")
def init(
    template: Annotated[str, typer.Option(help="five_phase or see_think_do_care.")] = "five_phase",
    language: Annotated[str, typer.Option(help="en or nl (phase names and comments).")] = "en",
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the map here.")
    ] = None,
) -> None:
    """Print (or write) a map template to edit: the 5-phase model or See-Think-Do-Care."""
    with handle_errors():
        from ...miner.errors import InputError
        from ...miner.maps.drafting import map_template

        if template not in ("five_phase", "see_think_do_care"):
            raise InputError(
                f"unknown template {template!r}",
                expected="five_phase or see_think_do_care",
                found=template,
            )
        if language not in ("en", "nl"):
            raise InputError(f"unknown language {language!r}", expected="en or nl", found=language)
        _emit(map_template(template, language=language), out_path)  # type: ignore[arg-type]


@map_app.command("draft")
@source_options
def draft(
    log_path: Annotated[Path, typer.Argument(metavar="LOG", help="An ingested log or a raw file.")],
    name: Annotated[str, typer.Option(help="Name of the drafted map.")] = "Drafted map",
    phases: Annotated[
        str, typer.Option(help="Number of phases, or five_phase / see_think_do_care.")
    ] = "5",
    source: SourceOptions = NOT_GIVEN,
    goal: Annotated[
        list[str] | None,
        typer.Option(help="A goal touchpoint (repeatable); default: a guess that says why."),
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the map here.")
    ] = None,
    workers: Workers = None,
    cluster: Annotated[
        str | None,
        cluster_option(
            "Count a stored log's paths on a Dask cluster: each worker reads its partitions"
            " from the folder (a path every worker sees). A raw file runs on this machine"
            " (said on stderr)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Draft a map from the journeys in a log, for a person to edit.

    It says which goal it chose and why (name yours with --goal), and what share of the
    journeys it covers.

    A stored log (a folder `ingest` wrote) is read a partition at a time: the draft needs
    only the distinct paths journeys take and their counts."""
    with handle_errors():
        check_cluster(cluster)
        from ...miner.engine.dataset import Dataset
        from ...miner.ingest.pipeline import open_stored
        from ...miner.kernel_cache import compile_ahead
        from ...miner.usecases import draft_map_from_log

        folds: list[Any] = []
        log = open_stored(log_path, source.to_mapping(), on_fold=folds.append)
        on_cluster = cluster is not None and isinstance(log, Dataset)
        if not on_cluster:
            note_runs_here("map draft", cluster, "a raw file is read whole")
        if not isinstance(log, Dataset) and not log.has_intervals:
            # On an empty JIT cache a second core compiles too (interval logs run other DFG
            # kernels; a dataset's draft runs the variant kernel alone).
            compile_ahead("discovery")
        shape = int(phases) if phases.isdigit() else phases
        with cluster_executor(cluster if on_cluster else None) as on:
            drafted = draft_map_from_log(
                log,
                name=name,
                phases=shape,  # type: ignore[arg-type]
                goals=tuple(goal or ()),
                workers=workers,
                run=on,
            )
        if as_json:
            text = drafted.map.to_toml()
            if out_path is not None:
                _emit(text, out_path)
            folded = {"lifecycle": folds[0].to_dict()} if folds else {}
            print_json({"map": None if out_path else text, **drafted.to_dict(), **folded})
            return
        _emit(drafted.map.to_toml(), out_path)
        if folds:  # on stderr: stdout stays the map's TOML
            err.print(fold_line(folds[0]), highlight=False)
        _print_draft_notes(drafted.to_dict())


def _print_draft_notes(notes: dict[str, Any]) -> None:
    # On stderr: stdout stays the map's TOML, for a pipe or a redirect.
    choice = notes["goal_choice"]
    goals = ", ".join(choice["goals"])
    if choice["chosen_by"] == "user":
        err.print(f"goal: {goals} (named by you)", highlight=False)
    else:
        err.print(f"goal: {goals}, chosen because {choice['reason']}", highlight=False)
        ends = ", ".join(f"{a['activity']} {a['share']:.0%}" for a in choice["alternatives"][:6])
        err.print(f"journeys end at: {ends}; name the goal with --goal", highlight=False)
    err.print(
        f"the draft covers {notes['coverage']:.0%} of the journeys "
        f"({notes['covered_journeys']:,} of {notes['journeys']:,} go from a start to a goal along it)",
        highlight=False,
    )


@map_app.command("validate")
def validate(
    map_path: Annotated[Path, typer.Argument(metavar="MAP", help="A map in TOML, JSON or YAML.")],
    as_json: JsonFlag = False,
) -> None:
    """Check a map; every problem is listed with its line and id. Exit code 2 when invalid."""
    from ...miner.errors import MapValidationError
    from ...miner.maps.designed import load_map
    from ..settings import Settings
    from .common import EXIT_BAD_INPUT

    with handle_errors():
        try:
            designed = load_map(map_path, **Settings().map_limits)
        except MapValidationError as exc:
            problems = exc.extra.get("problems") or [
                {"line": exc.extra.get("line"), "message": str(exc)}
            ]
            if as_json:
                report = {"valid": False, "file": map_path.name, "problems": problems}
                if "limit" in exc.extra:  # a MapLimitError: say which limit, for scripts
                    report |= {"limit": exc.extra["limit"], "max": exc.extra.get("max")}
                print_json(report)
            else:
                err.print(f"[bold red]invalid[/] {map_path}: {len(problems)} problem(s)")
                for p in problems:
                    where = f"line {p['line']}" if p.get("line") else "-"
                    err.print(f"  {map_path.name}, {where}: {p['message']}", highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
    summary: dict[str, Any] = {
        "valid": True,
        "name": designed.name,
        "version": designed.version,
        "phases": len(designed.phases),
        "touchpoints": len(designed.touchpoints),
        "flows": len(designed.flows),
        "time_frames": len(designed.time_frames),
        "rules": len(designed.rules),
    }
    if as_json:
        print_json(summary)
        return
    table = new_table(show_header=False, show_edge=False)
    for key, value in summary.items():
        table.add_row(key, str(value))
    out.print(f"[green]valid[/] {map_path}")
    out.print(table)


@map_app.command("import")
def import_model(
    model_path: Annotated[
        Path, typer.Argument(metavar="MODEL", help="A BPMN (.bpmn) or Petri net (.pnml) file.")
    ],
    name: Annotated[str | None, typer.Option(help="Name of the map.")] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the map here.")
    ] = None,
) -> None:
    """Turn a BPMN model or a Petri net into a designed map (needs the pm4py extra)."""
    with handle_errors():
        from ...miner.maps.model_import import map_from_bpmn, map_from_petri_net

        reader = map_from_bpmn if model_path.suffix.lower() == ".bpmn" else map_from_petri_net
        _emit(reader(model_path, name=name).to_toml(), out_path)
