"""The journeyminer command line (Typer): every command module, put together.

Exit codes: 0 ok; 2 bad input (the message names file, row, column); 3 internal error;
4 a configured threshold was breached (batch runs).
"""

from __future__ import annotations

# Each command module registers its commands on `common.app` when imported, in this order.
from . import append, compare, export, ingest, maps, mine, run, service  # noqa: F401
from .common import app


def main() -> None:
    """Entry point of the `journeyminer` command."""
    app()
