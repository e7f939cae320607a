"""`journeyminer append`: a dataset appended to mines like one ingest of all sources; bad
input exits 2 naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app
from tests.miner.engine.test_append import split_sample

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
runner = CliRunner()
TABLES = (
    "--identities",
    str(SAMPLE / "identities.csv"),
    "--customers",
    str(SAMPLE / "customers.csv"),
    "--timezone",
    "Europe/Amsterdam",
)


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def named(files: list[Path]) -> list[str]:
    return [f"{f}={f.stem.split('_', 1)[1]}" for f in files]


def test_an_appended_dataset_mines_byte_for_byte_like_a_full_ingest(tmp_path: Path) -> None:
    early, late = split_sample(tmp_path / "split")
    inc, full = tmp_path / "inc", tmp_path / "full"
    assert (
        run("ingest", *named(early), *TABLES, "--out", str(inc), "--partitions", "3").exit_code == 0
    )
    result = run("append", str(inc), *named(late), *TABLES, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["appended_events"] > 0 and report["partitions"] == 3
    assert (
        run(
            "ingest", *named(early + late), *TABLES, "--out", str(full), "--partitions", "3"
        ).exit_code
        == 0
    )
    mined = [run("mine", str(p), "--json") for p in (inc, full)]
    assert all(r.exit_code == 0 for r in mined)
    assert mined[0].stdout.replace(str(inc), "LOG") == mined[1].stdout.replace(str(full), "LOG")


def test_append_prints_a_readable_summary(tmp_path: Path) -> None:
    early, late = split_sample(tmp_path / "split")
    run("ingest", *named(early), *TABLES, "--out", str(tmp_path / "inc"))
    result = run("append", str(tmp_path / "inc"), *named(late), *TABLES)
    assert result.exit_code == 0
    assert "partitions stitched again" in result.stdout


def test_appending_to_an_unknown_folder_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    result = run("append", str(tmp_path / "nothing"), f"{SAMPLE / 'web.csv'}=web")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "nothing" in result.stderr and "manifest.json" in result.stderr


def test_a_source_with_wrong_columns_exits_2_naming_the_file(tmp_path: Path) -> None:
    early, _ = split_sample(tmp_path / "split")
    run("ingest", *named(early), *TABLES, "--out", str(tmp_path / "inc"))
    bad = tmp_path / "broken.csv"
    pl.DataFrame({"who": ["a"], "what": ["b"]}).write_csv(bad)
    before = sorted(p.name for p in (tmp_path / "inc").iterdir())
    result = run("append", str(tmp_path / "inc"), f"{bad}=web", *TABLES)
    assert result.exit_code == EXIT_BAD_INPUT
    assert "broken.csv" in result.stderr
    assert sorted(p.name for p in (tmp_path / "inc").iterdir()) == before


def test_an_append_without_the_identity_table_the_dataset_needs_exits_2(tmp_path: Path) -> None:
    early, late = split_sample(tmp_path / "split")
    run("ingest", *named(early), *TABLES, "--out", str(tmp_path / "inc"))
    result = run("append", str(tmp_path / "inc"), *named(late))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--identities" in result.stderr
