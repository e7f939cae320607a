"""`journeyminer ingest --out FOLDER` writes a dataset; every command reads it as the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app
from journeyminer.miner.engine.dataset import open_dataset
from journeyminer.miner.log import EventLog

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def ingest(out: Path, *extra: str) -> dict:
    sources = [f"{SAMPLE / n}.csv={n}" for n in ("web", "call_center", "crm")]
    result = run(
        "ingest",
        *sources,
        "--identities",
        str(SAMPLE / "identities.csv"),
        "--customers",
        str(SAMPLE / "customers.csv"),
        "--timezone",
        "Europe/Amsterdam",
        "--out",
        str(out),
        "--json",
        *extra,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample ingested twice: one Parquet file, one dataset folder of 3 partitions."""
    folder = tmp_path_factory.mktemp("logs")
    ingest(folder / "log.parquet")
    report = ingest(folder / "log", "--partitions", "3")
    assert report["partitions"] == 3
    return folder / "log.parquet", folder / "log"


def test_ingest_without_parquet_writes_a_dataset_folder(logs: tuple[Path, Path]) -> None:
    single, folder = logs
    ds = open_dataset(folder)
    assert ds.n_parts == 3 and (folder / "manifest.json").is_file()
    assert ds.manifest.partition_key == "customer_id"
    stitching = ds.manifest.settings["stitching"]
    assert stitching["identities"] == "identities.csv" and stitching["gap_seconds"] == 30 * 86400
    assert ds.to_event_log().frame.equals(EventLog.read_parquet(single).frame)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "command",
    [
        ["mine", "{log}", "--json"],
        ["mine", "{log}", "--top-variants", "2", "--json"],
        ["mine", "{log}", "--workers", "2", "--paths", "0.8", "--json"],
        ["mine", "{log}", "--workers", "0"],
        ["compare", "{log}", "--map", str(SAMPLE / "map.toml"), "--segment", "region", "--json"],
        ["map", "draft", "{log}"],
    ],
    ids=["mine", "mine-filtered", "mine-workers-paths", "mine-people", "compare", "map-draft"],
)
def test_a_command_prints_the_same_for_the_folder_as_for_the_file(
    logs: tuple[Path, Path], command: list[str]
) -> None:
    single, folder = logs
    a = run(*[c.format(log=single) for c in command])
    b = run(*[c.format(log=folder) for c in command])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    assert a.stdout == b.stdout


def test_partitions_with_a_parquet_file_is_bad_input(tmp_path: Path) -> None:
    result = run(
        "ingest",
        f"{SAMPLE / 'web.csv'}=web",
        "--out",
        str(tmp_path / "x.parquet"),
        "--partitions",
        "2",
    )
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--partitions" in result.stderr and not (tmp_path / "x.parquet").exists()


def test_ingest_never_writes_over_a_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    result = run("ingest", f"{SAMPLE / 'web.csv'}=web", "--out", str(tmp_path / "mine"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "not a stored dataset" in result.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_a_folder_with_source_options_is_bad_input(logs: tuple[Path, Path]) -> None:
    result = run("mine", str(logs[1]), "--preset", "web")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "stored dataset" in result.stderr


def test_a_broken_dataset_exits_2_naming_the_file(logs: tuple[Path, Path], tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    for f in logs[1].iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "part-00002.parquet").unlink()
    result = run("mine", str(folder), "--json")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "broken/part-00002.parquet" in result.stderr and "missing" in result.stderr
    (folder / "manifest.json").write_text("{")
    result = run("mine", str(folder))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "broken/manifest.json" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("mine", str(empty))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "manifest.json is missing" in result.stderr


def test_mine_out_on_a_folder_writes_the_per_journey_table(
    logs: tuple[Path, Path], tmp_path: Path
) -> None:
    import polars as pl

    single, folder = logs
    for log, out in ((single, tmp_path / "a"), (folder, tmp_path / "b")):
        assert run("mine", str(log), "--out", str(out), "--json").exit_code == 0
    a = pl.read_parquet(tmp_path / "a" / "case_variants.parquet")
    b = pl.read_parquet(tmp_path / "b" / "case_variants.parquet")
    assert a.height > 0 and a.equals(b)
