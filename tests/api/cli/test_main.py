"""What each command imports: `mine` and its help load only what discovery needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

# Runs a command in a fresh interpreter (as the installed `journeyminer` script does) and
# prints, after it, the top-level packages and journeyminer modules it imported.
PROBE = """
import json, sys
sys.argv = ["journeyminer", *sys.argv[1:]]
from journeyminer.api.cli.main import main
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
print("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

SERVER_AND_COMPARISON = (
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic_settings",
    "networkx",
    "plotly",
    "pandas",
    "journeyminer.api.app",
    "journeyminer.api.settings",
    "journeyminer.api.cli.compare",
    "journeyminer.api.cli.service",
    "journeyminer.api.cli.run",
    "journeyminer.miner.compare",
    "journeyminer.miner.draw",
)


def imported_by(*args: str) -> tuple[int, set[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], set(report["modules"]), done.stdout


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules or any(m.startswith(n + ".") for m in modules)]


def test_mine_help_loads_neither_the_server_nor_the_data_stack() -> None:
    code, modules, out = imported_by("mine", "--help")
    assert code == 0 and "--activity" in out
    heavy = (
        "polars",
        "numpy",
        "numba",
        "pyarrow",
        "journeyminer.kernels",
        "journeyminer.miner.log",
    )
    assert loaded(modules, SERVER_AND_COMPARISON + heavy) == []


def test_mine_with_json_loads_no_server_comparison_or_rich(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "case,act,ts\n"
        "c1,visit,2024-03-01T10:00:00Z\nc1,buy,2024-03-01T10:05:00Z\n"
        "c2,visit,2024-03-02T09:00:00Z\n"
    )
    cols = ("--case", "case", "--activity", "act", "--timestamp", "ts")
    code, modules, out = imported_by("mine", str(log), *cols, "--json")
    assert code == 0 and '"variants"' in out
    assert loaded(modules, (*SERVER_AND_COMPARISON, "rich")) == []


def test_the_app_attribute_has_every_command() -> None:
    from journeyminer.api.cli.main import app

    text = CliRunner().invoke(app, ["--help"]).stdout
    for command in ("mine", "compare", "ingest", "generate", "map", "run", "serve", "keys"):
        assert command in text


def test_main_returns_freed_memory_at_once_unless_the_user_said_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from journeyminer.api.cli import main as entry

    ran: list[list[str]] = []
    monkeypatch.setattr(entry, "command_app", lambda args: lambda: ran.append(args))
    monkeypatch.setattr(sys, "argv", ["journeyminer", "version"])
    name, value = entry.ALLOCATOR
    monkeypatch.delenv(name, raising=False)
    entry.main()
    assert os.environ[name] == value and ran == [["version"]]
    monkeypatch.setenv(name, "dirty_decay_ms:5000")
    entry.main()
    assert os.environ[name] == "dirty_decay_ms:5000"
