"""The command line (Typer): one module per group of commands, `main` puts them together."""
