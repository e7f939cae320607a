"""The journeyminer command line (Typer)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="journeyminer: customer journey mining.")


@app.command()
def version() -> None:
    """Print the version."""
    from journeyminer import __version__

    typer.echo(__version__)


def main() -> None:
    """Entry point of the `journeyminer` command."""
    app()
