"""The journeyminer command line (Typer): every command module, put together.

Exit codes: 0 ok; 2 bad input (the message names file, row, column); 3 internal error;
4 a configured threshold was breached (batch runs).

`main()` imports only the module of the command it runs (`journeyminer mine` never imports
the comparison, the server or the batch code); `--help` and anything it does not recognise
import them all. `app` (read as an attribute) is the app with every command registered.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

# Each command module registers its commands on `common.app` when imported, in this order
# (the order of `journeyminer --help`).
MODULES = ("append", "compare", "drift", "export", "ingest", "maps", "mine", "run", "service")
# The module that registers each top-level command (or group).
COMMAND_MODULES = {
    "append": "append",
    "compare": "compare",
    "drift": "drift",
    "export": "export",
    "generate": "ingest",
    "ingest": "ingest",
    "keys": "service",
    "map": "maps",
    "mine": "mine",
    "run": "run",
    "serve": "service",
    "version": "common",
}


def command_app(args: list[str]) -> typer.Typer:
    """The app with the command that `args` names registered (all of them if none is named)."""
    name = next((a for a in args if not a.startswith("-")), None)
    module = COMMAND_MODULES.get(name or "")
    for each in MODULES if module is None else (module,):
        importlib.import_module(f".{each}", __package__)
    from .common import app

    return app


# Polars' allocator (jemalloc) hands freed pages back to the system at once rather than
# after ~10 s, so a command's peak RSS is what it holds at a time, not the sum of what its
# stages held (compare of a 10M-event dataset: 1.59-1.68 GiB -> 1.36-1.43 GiB, 5-15% slower;
# see benchmarks/README.md). Read when polars loads; a value set by the user wins.
ALLOCATOR = ("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")


def main() -> None:
    """Entry point of the `journeyminer` command."""
    os.environ.setdefault(*ALLOCATOR)
    command_app(sys.argv[1:])()


def __getattr__(name: str) -> Any:
    if name == "app":
        return command_app([])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
