"""`journeyminer drift`: two periods of a log against one map, on a stored dataset as on the
whole log, in JSON and for people; bad input exits 2 naming what was wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app
from journeyminer.miner.maps.designed import load_map
from journeyminer.miner.usecases import drift_between_periods
from tests.api.cli.test_compare import ingest_sample

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "datasets" / "omnichannel"
MAP = str(SAMPLE / "map.toml")
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample as one Parquet file and as a dataset folder of 4 partitions."""
    base = tmp_path_factory.mktemp("drift")
    return ingest_sample(base / "log.parquet"), ingest_sample(base / "log", "--partitions", "4")


def test_a_dataset_prints_the_json_of_the_single_file_byte_for_byte(
    logs: tuple[Path, Path],
) -> None:
    single, folder = logs
    for split in ([], ["--split-at", "2024-05-01T00:00:00+02:00"]):
        one = run("drift", str(single), "--map", MAP, "--json", *split)
        parted = run("drift", str(folder), "--map", MAP, "--json", "--workers", "2", *split)
        assert one.exit_code == parted.exit_code == 0, parted.output
        assert parted.stdout_bytes == one.stdout_bytes


def test_the_json_is_the_use_cases_and_names_the_split(logs: tuple[Path, Path]) -> None:
    from journeyminer.miner.ingest.pipeline import open_stored

    single, _ = logs
    result = run("drift", str(single), "--map", MAP, "--json", "--split-at", "2024-07-01")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    want = drift_between_periods(
        open_stored(single), load_map(SAMPLE / "map.toml"), split_at=_dt("2024-07-01")
    )
    assert data == json.loads(json.dumps(want.to_dict(), default=str))
    assert data["split_at"] == "2024-07-01T00:00:00"
    assert set(data) >= {"periods", "rates", "durations", "hidden_journeys", "alpha"}
    assert data["periods"]["before"]["cases"] + data["periods"]["after"]["cases"] == 2741


def _dt(text: str):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_the_summary_shows_periods_and_significant_changes(
    logs: tuple[Path, Path], tmp_path: Path
) -> None:
    _, folder = logs
    written = tmp_path / "out" / "drift.json"
    result = runner.invoke(
        app,
        ["drift", str(folder), "--map", MAP, "--out", str(written)],
        env={"COLUMNS": "100"},
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Periods" in text and "before" in text and "after" in text
    data = json.loads(written.read_text())
    significant = [r for r in data["rates"] if r["significant"]]
    assert significant, "the sample's two halves differ"
    assert "Significant changes" in text
    assert f"{data['periods']['before']['cases']:,}" in text
    assert "drift written to" in text


def test_a_split_outside_the_log_says_a_period_is_empty(logs: tuple[Path, Path]) -> None:
    _, folder = logs
    result = run("drift", str(folder), "--map", MAP, "--split-at", "2031-01-01")
    assert result.exit_code == 0, result.output
    assert "the after period has no journeys" in " ".join(result.stdout.split())


def test_a_raw_file_with_its_own_columns_takes_the_source_flags() -> None:
    flags = ("--case", "visitor_id", "--activity", "event_name", "--timestamp", "event_time")
    result = run("drift", str(SAMPLE / "web.csv"), *flags, "--map", MAP, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["periods"]["before"]["cases"] > 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--split-at", "yesterday"], "--split-at is not a moment"),
        (["--map", "missing.toml"], "missing.toml"),
    ],
)
def test_bad_input_exits_2_naming_it(logs: tuple[Path, Path], args: list[str], says: str) -> None:
    _, folder = logs
    base = ["drift", str(folder)] + ([] if "--map" in args else ["--map", MAP])
    result = run(*base, *args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert says in result.stderr and "Traceback" not in result.output
