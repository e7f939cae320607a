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
            attached = None
            if customers is not None:
                from ..miner.customers import attach_customers, load_customers

                log, attached = attach_customers(log, load_customers(customers))
            log.write_parquet(out_path)
        data = {"log": str(out_path), **report.to_dict()}
        if attached is not None and customers is not None:
            data["customer_attributes"] = attached.to_dict()
            if attached.without_attributes:
                data["warnings"] = [
                    *data["warnings"],
                    f"{attached.without_attributes} of {attached.customers} customers have no row"
                    f" in {customers.name}; their {', '.join(attached.attributes)} stay empty",
                ]
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


def main() -> None:
    """Entry point of the `journeyminer` command."""
    app()


# Commands living in their own modules register themselves on `app` when imported.
from . import cli_compare, cli_map, cli_mine, cli_run, cli_service  # noqa: E402, F401
