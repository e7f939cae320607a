"""What every command shares: the Typer app, exit codes, error handling, progress, JSON.

Exit codes: 0 ok; 2 bad input (the message names file, row, column); 3 internal error;
4 a configured threshold was breached (batch runs).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer

from journeyminer import __version__

from ...miner.errors import InputError, JourneyminerError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from ...miner.engine.executors import Executor

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


class _LazyConsole:
    """A rich Console made on first use: a command that prints nothing for people (--json)
    does not import rich (~20 ms). Attributes are read from and set on the Console (slots,
    no instance dict: nothing set here can shadow the Console's own attributes)."""

    __slots__ = ("_console", "_options")

    def __init__(self, **options: Any) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_console", None)

    _console: Console | None
    _options: dict[str, Any]

    def _get(self) -> Console:
        console = self._console
        if console is None:
            from rich.console import Console

            console = Console(**self._options)
            object.__setattr__(self, "_console", console)
        return console

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the proxy's own protocol (e.g. `__dict__`) stays its own
            raise AttributeError(name)
        return getattr(self._get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._get(), name, value)


err = cast("Console", _LazyConsole(stderr=True))
out = cast("Console", _LazyConsole())
_state: dict[str, bool] = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
Workers = Annotated[
    int | None,
    typer.Option(
        help="Partitions of a stored log read at once (0: one per core; default 1).", min=0
    ),
]

CLUSTER_ENV = "JOURNEYMINER_CLUSTER"


def cluster_option(help: str) -> Any:
    """`--cluster ADDRESS` (default: $JOURNEYMINER_CLUSTER), with this command's own help."""
    return typer.Option(
        "--cluster",
        metavar="ADDRESS",
        envvar=CLUSTER_ENV,
        show_envvar=True,
        help=help + " ADDRESS: tcp://HOST:PORT (a running Dask scheduler) or local:N (N worker"
        " processes on this machine, for this run). Needs the extra: pip install"
        " 'journeyminer\\[dask]'.",
    )


def check_cluster(address: str | None) -> None:
    """Bad input unless `address` is None or a cluster address with the dask extra installed
    (nothing is started or contacted: a command checks before it reads anything)."""
    if address is not None:
        from ...miner.engine.cluster import check_address

        check_address(address)


def note_runs_here(command: str, address: str | None, why: str) -> None:
    """Say on stderr that `command` runs on this machine although a cluster was given."""
    if address is not None:
        err.print(
            f"note: {command} runs on this machine, not on the cluster at {address}: {why}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )


@contextmanager
def cluster_executor(address: str | None) -> Iterator[Executor | None]:
    """The cluster at `address` for the length of the block (a local:N one stops after it);
    None when no address is given."""
    if address is None:
        yield None
        return
    from ...miner.engine.cluster import connect

    with connect(address) as running:
        yield running


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """journeyminer: find the journeys customers really take."""
    _state["debug"] = debug


def _escape(text: str) -> str:
    from rich.markup import escape  # rich is imported only when a message is printed

    return escape(text)


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
        err.print(f"[bold red]error:[/] {_escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT if isinstance(exc, InputError) else EXIT_INTERNAL) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        if _state["debug"]:
            traceback.print_exc()
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {_escape(str(exc))}\n"
            "Run again with --debug for the traceback, and please report it.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERNAL) from None


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr (silent when `enabled` is False, e.g. with --json)."""
    if not enabled or not err.is_terminal:
        yield lambda stage, done, total: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

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


def new_table(**options: Any) -> Table:
    """A rich Table (rich is imported on first use, not by every command)."""
    from rich.table import Table

    return Table(**options)


def print_json(data: Any) -> None:
    """Write JSON to stdout (no colours, no wrapping); `FrameRows` in `data` are written a
    slice of rows at a time (`miner.json_rows`)."""
    from ...miner.json_rows import write_json

    write_json(data, sys.stdout, default=str)
    sys.stdout.write("\n")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
