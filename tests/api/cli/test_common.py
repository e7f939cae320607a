"""What every command shares: bad input is exit code 2 with one short message on stderr."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app

runner = CliRunner()


def test_a_csv_with_its_own_columns_says_which_flag_to_pass(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("CaseID,Activity,Time\nc1,a,2024-01-01 10:00\n")
    result = runner.invoke(app, ["mine", str(path)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert (
        "calls.csv: no case column: columns that look like one: 'CaseID'; pass --case COLUMN"
        in result.stderr
    )
    assert result.stderr.count("'Activity'") == 1


def test_a_megabyte_header_line_gives_a_short_message(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("x" * 1_000_000 + ",b,c\n1,2,3\n")
    result = runner.invoke(app, ["mine", str(path)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "no case column" in result.stderr
    assert len(result.stderr) < 1_000
