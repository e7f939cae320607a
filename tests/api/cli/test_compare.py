"""`journeyminer compare` on the bundled sample: the documented JSON, the planted truth."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app
from journeyminer.miner.synthetic.generate import read_truth

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "datasets" / "omnichannel"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def ingest_sample(out: Path, *more: str) -> Path:
    """`journeyminer ingest` of the sample's sources to `out` (with options `more`)."""
    sources = [f"{SAMPLE / n}.csv={n}" for n in ("web", "call_center", "crm")]
    args = ["--identities", str(SAMPLE / "identities.csv"), "--timezone", "Europe/Amsterdam"]
    result = run("ingest", *sources, *args, "--out", str(out), *more)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def sample_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingest_sample(tmp_path_factory.mktemp("log") / "log.parquet")


def test_compare_json_has_the_documented_keys_and_the_planted_hidden_journeys(
    sample_log: Path,
) -> None:
    result = run("compare", str(sample_log), "--map", str(SAMPLE / "map.toml"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "fitness",
        "cases",
        "deviations",
        "hidden_journeys",
        "funnel",
        "leaks",
        "time_frames",
        "priorities",
    ):
        assert key in data, key
    assert set(data["fitness"]) >= {"cases", "events"}
    truth = read_truth(SAMPLE)
    planted = (
        truth.filter(truth.get_column("hidden_journey").is_not_null()).group_by("signature").len()
    )
    found = {tuple(h["signature"]): h["cases"] for h in data["hidden_journeys"]}
    assert found == {tuple(sig): n for sig, n in planted.iter_rows()}
    for h in data["hidden_journeys"]:
        assert {
            "share",
            "conversion_rate",
            "median_duration_s",
            "channels",
            "examples",
            "delta_conversion",
            "delta_duration_s",
        } <= set(h)
    some_case = next(iter(data["cases"].values()))
    assert set(some_case) == {"fits", "deviations"}


def test_compare_out_writes_files_and_a_readable_summary(sample_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        "compare",
        str(sample_log),
        "--map",
        str(SAMPLE / "map.toml"),
        "--segment",
        "device",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "Funnel by phase" in result.stdout and "Hidden journeys" in result.stdout
    assert (out / "overlay.svg").read_text().startswith("<svg")
    assert json.loads((out / "compare.json").read_text())["by_segment"]
    assert (out / "cases.parquet").exists() and (out / "hidden_journeys.parquet").exists()


def test_compare_with_a_broken_map_is_bad_input(sample_log: Path) -> None:
    result = run(
        "compare", str(sample_log), "--map", str(ROOT / "tests" / "data" / "maps" / "broken.toml")
    )
    assert result.exit_code == EXIT_BAD_INPUT
    assert "broken.toml" in result.stderr and "line" in result.stderr


def test_the_summary_reads_the_log_totals_and_prints_deltas_in_points(sample_log: Path) -> None:
    args = ("compare", str(sample_log), "--map", str(SAMPLE / "map.toml"))
    data = json.loads(run(*args, "--json").stdout)
    text = run(*args).stdout
    totals = data["totals"]
    assert totals["journeys"] == len(data["cases"]) == totals["closed"] + totals["in_progress"]
    assert f"{totals['closed']:,} closed, {totals['in_progress']:,} still in progress" in text
    assert "against the rest of the closed journeys" in text
    for h in data["hidden_journeys"]:
        # Every planted hidden journey converts better than the rest of the closed journeys.
        assert h["delta_conversion"] > 0, h["label"]
        assert f"{h['delta_conversion'] * 100:+.1f} pt" in text
    assert data["hidden_baseline"]["compared_with"] == "rest_of_closed"
    assert all(p["impact"] > 0 for p in data["priorities"])
    assert "Works better than designed" in text


def test_segment_prints_a_row_per_segment_and_no_name_is_cut_at_80_columns(
    sample_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from journeyminer.api.cli import common

    monkeypatch.setattr(common.out, "width", 80)
    args = ("compare", str(sample_log), "--map", str(SAMPLE / "map.toml"), "--segment", "device")
    data = json.loads(run(*args, "--json").stdout)
    text = run(*args).stdout
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "By device" in text
    rows = {line.split("│")[0].strip(): line for line in text.splitlines() if "│" in line}
    for seg in data["by_segment"]["headline"]:
        name = seg["segment"] if seg["segment"] is not None else "no device"
        cells = [c.strip() for c in rows[name].split("│")]
        assert cells[1:5] == [
            f"{seg['journeys']:,}",
            f"{seg['conversion_rate']:.1%}",
            f"{seg['fitness_cases']:.1%}",
            f"{seg['in_progress']:,}",
        ]
        leaks = [r for r in data["by_segment"]["leaks"] if r["segment"] == seg["segment"]]
        worst = max(leaks, key=lambda r: r["journeys"])
        assert cells[5].startswith(worst["touchpoint"]), cells
    # Long hidden-journey paths wrap between their steps: every step's name stays whole.
    words = text.split()
    for h in data["hidden_journeys"]:
        for step in h["label"].replace("->", " ").replace("→", " ").split():
            assert step in words, step


@pytest.fixture(scope="module")
def sample_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingest_sample(tmp_path_factory.mktemp("stored") / "log", "--partitions", "4")


@pytest.mark.parametrize("workers", [None, "2"])
def test_a_stored_dataset_compares_as_the_single_file_byte_for_byte(
    sample_log: Path, sample_dataset: Path, workers: str | None
) -> None:
    args = ["--map", str(SAMPLE / "map.toml"), "--segment", "device", "--json"]
    single = run("compare", str(sample_log), *args)
    assert single.exit_code == 0, single.output
    more = ["--workers", workers] if workers else []
    parted = run("compare", str(sample_dataset), *args, *more)
    assert parted.exit_code == 0, parted.output
    assert parted.stdout == single.stdout


def test_a_stored_dataset_writes_the_same_files(
    sample_log: Path, sample_dataset: Path, tmp_path: Path
) -> None:
    for name, log in (("single", sample_log), ("parted", sample_dataset)):
        args = ["--map", str(SAMPLE / "map.toml"), "--out", str(tmp_path / name)]
        assert run("compare", str(log), *args, "--workers", "2").exit_code == 0
    for file in ("compare.json", "overlay.svg", "cases.parquet", "deviations.parquet"):
        single, parted = (tmp_path / n / file for n in ("single", "parted"))
        if file.endswith(".parquet"):
            assert pl.read_parquet(parted).equals(pl.read_parquet(single)), file
        else:
            text = parted.read_text().replace(str(tmp_path / "parted"), str(tmp_path / "single"))
            assert text == single.read_text(), file
