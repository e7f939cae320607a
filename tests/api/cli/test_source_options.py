"""The same source options on every command that reads a log: mine, compare, map draft,
ingest and the job file's `[[sources]]`; interval events and lifecycle folding end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ROOT / "tests" / "data" / "sources"
runner = CliRunner()

# A call-center export in its own words: Klant (case), Stap (activity), Begin/Einde (times).
CALLS = """Klant;Stap;Begin;Einde;Kanaal
k1;Bellen;2024/03/01 09:00:00;2024/03/01 09:05:00;telefoon
k1;Mailen;2024/03/01 09:04:00;2024/03/01 09:10:00;mail
k1;Bestellen;2024/03/01 10:00:00;2024/03/01 10:00:00;web
k2;Bellen;2024/03/02 12:00:00;2024/03/02 12:20:00;telefoon
k2;Bestellen;2024/03/02 13:00:00;2024/03/02 13:01:00;web
k3;Bellen;2024/03/03 08:00:00;2024/03/03 08:02:00;telefoon
"""
FLAGS = (
    "--case", "Klant", "--activity", "Stap", "--timestamp", "Einde",
    "--start-timestamp", "Begin", "--timestamp-format", "%Y/%m/%d %H:%M:%S",
    "--timezone", "Europe/Amsterdam", "--channel", "Kanaal",
)  # fmt: skip


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def calls(tmp_path: Path) -> Path:
    path = tmp_path / "gesprekken.csv"
    path.write_text(CALLS, encoding="utf-8")
    return path


def test_mine_reads_interval_events_with_service_times(calls: Path) -> None:
    result = run("mine", str(calls), *FLAGS, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    edges = {(e["source"], e["target"]): e for e in data["dfg"]["edges"]}
    assert (
        edges[("Bellen", "Mailen")]["min"] == -60.0
    )  # overlapping: mail began before the call ended
    assert edges[("Mailen", "Bestellen")]["min"] == 50 * 60.0
    service = {s["activity"]: s for s in data["service_times"]}
    assert service["Bellen"] == {
        "activity": "Bellen", "count": 3, "mean": 540.0, "median": 300.0,
        "min": 120.0, "max": 1200.0, "sum": 1620.0,
    }  # fmt: skip
    assert service["Bestellen"]["min"] == 0.0  # a zero-length event
    table = run("mine", str(calls), *FLAGS)
    assert table.exit_code == 0, table.output
    assert "Service time" in table.stdout


def test_compare_and_map_draft_take_the_same_flags_as_mine(calls: Path, tmp_path: Path) -> None:
    drafted = tmp_path / "map.toml"
    result = run("map", "draft", str(calls), *FLAGS, "--out", str(drafted))
    assert result.exit_code == 0, result.output
    assert "Bellen" in drafted.read_text(encoding="utf-8")
    result = run("compare", str(calls), "--map", str(drafted), *FLAGS, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["journeys"] == 3


def test_ingest_reads_one_file_with_the_same_flags(calls: Path, tmp_path: Path) -> None:
    out = tmp_path / "log.parquet"
    result = run("ingest", str(calls), *FLAGS, "--gap", "none", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events"] == 6
    mined = json.loads(run("mine", str(out), "--json").stdout)
    assert {s["activity"] for s in mined["service_times"]} == {"Bellen", "Mailen", "Bestellen"}


def test_an_ocel_log_needs_only_the_object_type() -> None:
    for name in ("journeys.ocel.json", "journeys.ocel.xml"):
        result = run("mine", str(SOURCES / name), "--object-type", "customer", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["dfg"]["edges"]


def test_lifecycle_fold_pairs_starts_with_completes_and_reports_the_rest() -> None:
    result = run("mine", str(SOURCES / "journeys.xes"), "--lifecycle", "fold", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    folded = data["lifecycle"]
    assert folded["intervals"] >= 1
    assert set(folded) == {
        "intervals", "unmatched_completes", "unmatched_starts", "other_transitions",
    }  # fmt: skip
    service = {s["activity"]: s for s in data["service_times"]}
    assert service["Zoek prodükt"]["max"] == 29 * 60.0  # 01:30 to 01:59
    kept = run("mine", str(SOURCES / "journeys.xes"), "--lifecycle", "complete", "--json")
    assert kept.exit_code == 0, kept.output
    assert "service_times" not in json.loads(kept.stdout)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--start-timestamp", "Start"), ("gesprekken.csv", "'Start'")),
        (("--channel", "Medium"), ("gesprekken.csv", "'Medium'")),
        (("--lifecycle", "fold"), ("lifecycle",)),
        (("--lifecycle", "fold,complete"), ("lifecycle", "fold")),
    ],
)
def test_bad_source_options_exit_2_naming_what_is_wrong(
    calls: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    base = ["--case", "Klant", "--activity", "Stap", "--timestamp", "Einde"]
    for command in (["mine"], ["map", "draft"]):
        result = runner.invoke(app, [*command, str(calls), *base, *args])
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        for word in words:
            assert word in result.output, (word, result.output)


def test_a_start_after_its_complete_is_exit_2_with_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(
        "case_id,activity,begin,timestamp\nc1,a,2024-01-01T10:00:00,2024-01-01T09:00:00\n"
    )
    result = runner.invoke(app, ["mine", str(path), "--start-timestamp", "begin"])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "calls.csv" in result.output and "row 1" in result.output and "begin" in result.output


def test_the_job_file_sources_take_the_same_options(calls: Path, tmp_path: Path) -> None:
    job = tmp_path / "job.toml"
    job.write_text(
        f"""name = "calls"
workspace = "{tmp_path / "ws"}"
[[sources]]
path = "{calls.name}"
case = "Klant"
activity = "Stap"
timestamp = "Einde"
start_timestamp = "Begin"
timestamp_format = "%Y/%m/%d %H:%M:%S"
timezone = "Europe/Amsterdam"
channel = "Kanaal"
[journeys]
gap = "none"
""",
        encoding="utf-8",
    )
    result = run("run", str(job), "--json")
    assert result.exit_code == 0, result.output
    discovery = json.loads((tmp_path / "out" / "discovery.json").read_text(encoding="utf-8"))
    assert {s["activity"] for s in discovery["service_times"]} == {"Bellen", "Mailen", "Bestellen"}


def test_compare_and_map_draft_report_the_lifecycle_fold_as_mine_does(tmp_path: Path) -> None:
    xes = str(SOURCES / "journeys.xes")
    folded = json.loads(run("mine", xes, "--lifecycle", "fold", "--json").stdout)["lifecycle"]
    draft = tmp_path / "draft.toml"
    drafted = run("map", "draft", xes, "--lifecycle", "fold", "--json", "-o", str(draft))
    assert drafted.exit_code == 0, drafted.output
    assert json.loads(drafted.stdout)["lifecycle"] == folded
    compared = run("compare", xes, "--map", str(draft), "--lifecycle", "fold", "--json")
    assert compared.exit_code == 0, compared.output
    assert json.loads(compared.stdout)["lifecycle"] == folded
    told = run("compare", xes, "--map", str(draft), "--lifecycle", "fold")
    assert told.exit_code == 0, told.output
    assert f"lifecycle folded: {folded['intervals']:,} start/complete pairs" in told.stdout
    # without a fold there is nothing to report
    plain = run("compare", xes, "--map", str(draft), "--lifecycle", "complete", "--json")
    assert "lifecycle" not in json.loads(plain.stdout)
