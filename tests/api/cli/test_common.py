"""What every command shares: bad input is exit code 2 with one short message on stderr."""

from __future__ import annotations

import json
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
    assert "wide.csv: the header line has a field longer than 131,072 characters" in (
        result.stderr.replace("\n", " ")
    )
    assert len(result.stderr) < 1_000


def test_an_unknown_zone_is_exit_2_at_once_naming_close_names(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("case_id,activity,timestamp\nc1,a,2017-03-26T01:00:00+01:00\n")
    result = runner.invoke(app, ["mine", str(path), "--timezone", "Europe/Amsterdm"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "unknown time zone 'Europe/Amsterdm'; did you mean Europe/Amsterdam" in result.stderr


def test_a_time_in_the_gap_is_exit_2_with_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("case_id,activity,timestamp\nc1,a,2017-03-26 01:30\nc1,b,2017-03-26 02:30\n")
    result = runner.invoke(app, ["mine", str(path), "--timezone", "Europe/Amsterdam"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert (
        "calls.csv, row 2, column 'timestamp': 02:30 on 2017-03-26 does not exist in"
        " Europe/Amsterdam: clocks jumped forward" in result.stderr
    )


def test_the_ingest_report_counts_the_events_the_ambiguous_rule_placed(tmp_path: Path) -> None:
    path = tmp_path / "call_center.csv"
    path.write_text(
        "caller_id,reason,call_start\nc1,a,2017-10-29 01:30\nc1,b,2017-10-29 02:30\n"
        "c1,c,2017-10-29 02:45\nc1,d,2017-10-29 03:30\n"
    )
    out = tmp_path / "log.parquet"
    args = ["ingest", f"{path}=call_center", "--timezone", "Europe/Amsterdam", "-o", str(out)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sources"][0]["ambiguous_times"] == 2
    result = runner.invoke(app, args)
    assert "call_center.csv: 2 events at a local time the clocks showed twice" in result.stdout
