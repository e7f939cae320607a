"""The journeyminer command line (Typer).

Exit codes: 0 ok; 2 bad input (the message names file, row, column); 3 internal error;
4 a configured threshold was breached (batch runs).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from journeyminer import __version__

from ..miner.errors import InputError, JourneyminerError

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_THRESHOLD = 4

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="journeyminer: find the journeys customers really take.",
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()
_state: dict[str, bool] = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """journeyminer: find the journeys customers really take."""
    _state["debug"] = debug


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn errors into a readable message and the documented exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except JourneyminerError as exc:
        if _state["debug"]:
            traceback.print_exc()
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT if isinstance(exc, InputError) else EXIT_INTERNAL) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        if _state["debug"]:
            traceback.print_exc()
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "Run again with --debug for the traceback, and please report it.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERNAL) from None


def parse_gap(text: str) -> timedelta | None:
    """'none' disables cutting; otherwise a duration like 30d."""
    from ..miner.durations import parse_duration

    if text.strip().lower() in ("none", "off", "0"):
        return None
    return parse_duration(text, what="--gap")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr (silent when `enabled` is False, e.g. with --json)."""
    if not enabled or not err.is_terminal:
        yield lambda stage, done, total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=1)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=max(total, 1))

        yield update


def print_json(data: Any) -> None:
    """Write JSON to stdout (no colours, no wrapping)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def ingest(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Source files, each as FILE, FILE=PRESET or FILE=MAPPING.toml.", show_default=False
        ),
    ],
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the canonical Parquet log.")
    ],
    preset: Annotated[
        str | None, typer.Option(help="Preset for sources without '=': web, call_center, crm.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file (TOML/JSON) for sources without '='.")
    ] = None,
    identities: Annotated[
        Path | None, typer.Option(help="Identity table: source_id -> customer_id.")
    ] = None,
    gap: Annotated[
        str, typer.Option(help="Inactivity gap that starts a new journey, or 'none'.")
    ] = "30d",
    goal: Annotated[
        list[str] | None, typer.Option(help="Touchpoint that closes a journey (repeatable).")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="Zone for naive timestamps (e.g. Europe/Amsterdam).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Read sources, map their columns, stitch them into journeys, write one canonical log."""
    with handle_errors():
        from ..miner.ingest import ingest_sources, resolve_source

        default = str(mapping) if mapping is not None else preset
        specs = [resolve_source(s, default=default, timezone=timezone) for s in sources]
        with progress_bar(not as_json) as update:
            log, report = ingest_sources(
                specs,
                identities=identities,
                gap=parse_gap(gap),
                goals=tuple(goal or ()),
                progress=update,
            )
            log.write_parquet(out_path)
        data = {"log": str(out_path), **report.to_dict()}
        if as_json:
            print_json(data)
            return
        _print_ingest(data)


def _print_ingest(data: dict[str, Any]) -> None:
    table = Table(title="Ingested sources", show_edge=False)
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
    out.print(
        f"identity: {data['matched_ids']:,} ids matched, {data['unmatched_ids']:,} unmatched "
        f"({data['unmatched_events']:,} events)"
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
        from ..miner.generate import generate as run_generate

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


def _mapping_from_options(
    preset: str | None,
    mapping: Path | None,
    case: str | None,
    activity: str | None,
    timestamp: str | None,
    timestamp_format: str | None,
    timezone: str | None,
) -> Any:
    from ..miner.sources import SourceMapping, load_mapping
    from ..miner.sources import preset as make_preset

    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "case": case,
            "activity": activity,
            "timestamp": timestamp,
            "timestamp_format": timestamp_format,
            "timezone": timezone,
        }.items()
        if v is not None
    }
    if mapping is not None:
        base = load_mapping(mapping)
    elif preset is not None:
        base = make_preset(preset)
    elif overrides:
        base = SourceMapping()
    else:
        return None
    return base.with_overrides(**overrides) if overrides else base


@app.command()
def mine(
    log_path: Annotated[
        Path,
        typer.Argument(
            metavar="LOG", help="An ingested log or a CSV, Parquet, JSON lines, XES file."
        ),
    ],
    preset: Annotated[
        str | None, typer.Option(help="Preset for a raw file: web, call_center, crm.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file (TOML/JSON) for a raw file.")
    ] = None,
    case: Annotated[
        str | None, typer.Option(help="Case (customer/journey) column of a raw file.")
    ] = None,
    activity: Annotated[str | None, typer.Option(help="Activity (touchpoint) column.")] = None,
    timestamp: Annotated[str | None, typer.Option(help="Timestamp column.")] = None,
    timestamp_format: Annotated[
        str | None, typer.Option(help="e.g. '%Y/%m/%d %H:%M:%S%.3f' or epoch_ms.")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="Zone for naive timestamps.")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write JSON, Parquet, DOT and SVG here.")
    ] = None,
    top: Annotated[int, typer.Option(help="How many variants and edges the summary shows.")] = 10,
    as_json: JsonFlag = False,
) -> None:
    """Discover the DFG, performance DFG, variants and journey statistics of a log."""
    with handle_errors():
        from ..miner.discover import discover
        from ..miner.ingest import open_log

        how = _mapping_from_options(
            preset, mapping, case, activity, timestamp, timestamp_format, timezone
        )
        with progress_bar(not as_json) as update:
            update(f"reading {log_path.name}", 0, 3)
            log = open_log(log_path, how)
            update("discovering", 1, 3)
            result = discover(log)
            if out_dir is not None:
                update("writing outputs", 2, 3)
                written = write_discovery(result, out_dir)
        data = result.to_dict()
        if out_dir is not None:
            data["outputs"] = {k: str(v) for k, v in written.items()}
        if as_json:
            print_json(data)
            return
        _print_discovery(log, result, top)
        if out_dir is not None:
            out.print(
                f"outputs written to [bold]{out_dir}[/]: {', '.join(p.name for p in written.values())}"
            )


def write_discovery(result: Any, out_dir: Path) -> dict[str, Path]:
    """Write a Discovery as JSON, Parquet frames, DOT and SVG, each file atomically."""
    from ..miner.log import atomic_write_parquet
    from ..miner.store_files import atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    written = {
        "json": atomic_write_text(
            out_dir / "discovery.json", json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
        ),
        "edges": atomic_write_parquet(result.dfg.edges, out_dir / "dfg_edges.parquet"),
        "variants": atomic_write_parquet(result.variants.frame, out_dir / "variants.parquet"),
        "cases": atomic_write_parquet(result.variants.cases, out_dir / "case_variants.parquet"),
    }
    try:
        from ..miner.render import dfg_to_dot, dfg_to_svg
    except ImportError:  # drawing lands separately
        return written
    for view in ("frequency", "performance"):
        written[f"{view}_dot"] = atomic_write_text(
            out_dir / f"dfg_{view}.dot", dfg_to_dot(result.dfg, view=view)
        )
        written[f"{view}_svg"] = atomic_write_text(
            out_dir / f"dfg_{view}.svg", dfg_to_svg(result.dfg, view=view)
        )
    return written


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


def _print_discovery(log: Any, result: Any, top: int) -> None:
    s = log.summary()
    out.print(
        f"[bold]{s['events']:,}[/] events, [bold]{s['cases']:,}[/] journeys, {s['activities']} activities, "
        f"{result.variants.frame.height:,} variants, {result.dfg.edges.height:,} edges; "
        f"{s['start']} .. {s['end']}"
    )
    variants = Table(title=f"Top {top} variants", show_edge=False)
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
            _human(row["median_duration"]),
            acts,
        )
    out.print(variants)
    edges = Table(title=f"Top {top} edges", show_edge=False)
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
            _human(row["median"]),
            _human(row["mean"]),
            _human(row["max"]),
        )
    out.print(edges)
    dist = result.stats.distributions.filter(pl_col_eq("measure", "case_duration")).to_dicts()
    if dist:
        d = dist[0]
        out.print(
            "journey duration: "
            + ", ".join(f"{q} {_human(d[q])}" for q in ("p10", "p25", "p50", "p75", "p90"))
            + f", max {_human(d['max'])}"
        )


def pl_col_eq(column: str, value: str) -> Any:
    """A polars predicate column == value (kept here so the CLI imports polars lazily)."""
    import polars as pl

    return pl.col(column) == value


def main() -> None:
    """Entry point of the `journeyminer` command."""
    app()
