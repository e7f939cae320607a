"""`journeyminer export`: the canonical columns as Parquet, CSV and XES, readable back."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app
from journeyminer.miner.engine.dataset import write_dataset
from journeyminer.miner.log import EventLog
from tests.strategies import BASE_US

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
runner = CliRunner()
# How `mine` reads the canonical columns back from a CSV or XES export.
CSV_FLAGS = ["--case", "case_id", "--activity", "activity", "--timestamp", "timestamp"]


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample ingested into a dataset folder."""
    out = tmp_path_factory.mktemp("stored") / "log"
    sources = [f"{SAMPLE / n}.csv={n}" for n in ("web", "call_center", "crm")]
    made = run(
        "ingest", *sources, "--identities", str(SAMPLE / "identities.csv"), "--out", str(out)
    )
    assert made.exit_code == 0, made.output
    return out


@pytest.fixture(scope="module")
def intervals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small interval log with kept attributes (int, float, bool, text with XML in it)."""
    s = 1_000_000
    frame = pl.DataFrame(
        {
            "case_id": ["k1", "k1", "k2", "k2", "k2"],
            "activity": ["call", "visit", "call", "mail <b>&</b>", "call"],
            "timestamp": [BASE_US + x * s for x in (60, 60, 30, 90, 400)],
            "channel": ["phone", "shop", None, "mail", "phone"],
            "start_timestamp": [BASE_US + x * s for x in (0, 10, 30, 90, 100)],
            "queue": ["a", None, "b", "c", "a"],
            "seconds": [60, None, 0, 1, 300],
            "score": [0.5, 1.25, None, 2.0, 3.0],
            "vip": [True, False, None, True, False],
        }
    ).with_columns(pl.col("timestamp", "start_timestamp").cast(pl.Datetime("us", "UTC")))
    return write_dataset(EventLog(frame), tmp_path_factory.mktemp("iv") / "calls", n_parts=2)


def mine_json(*args: str) -> dict:
    result = run("mine", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_parquet_export_is_the_canonical_frame(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "log.parquet"
    result = run("export", str(stored), "--format", "parquet", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "parquet" and data["columns"][:4] == [
        "case_id",
        "activity",
        "timestamp",
        "channel",
    ]
    from journeyminer.miner.engine.dataset import open_dataset

    assert pl.read_parquet(out).equals(open_dataset(stored).to_event_log().frame)
    assert mine_json(str(out)) == mine_json(str(stored))


@pytest.mark.parametrize("fmt", ["csv", "xes"])
def test_csv_and_xes_exports_mine_as_the_stored_log(stored: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"log.{fmt}"
    result = run("export", str(stored), "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "written to" in result.stdout
    flags = CSV_FLAGS if fmt == "csv" else []
    assert mine_json(str(out), *flags, "--channel", "channel") == mine_json(str(stored))


def test_csv_times_are_iso_8601_in_utc(intervals: Path, tmp_path: Path) -> None:
    out = tmp_path / "calls.csv"
    assert run("export", str(intervals), "--format", "csv", "--out", str(out)).exit_code == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "case_id,activity,timestamp,channel,start_timestamp,queue,seconds,score,vip"
    assert rows[1].startswith("k1,call,2023-11-14T22:14:20.000000+00:00,phone,")


@pytest.mark.parametrize("fmt", ["csv", "xes"])
def test_interval_logs_export_their_start_times(intervals: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"calls.{fmt}"
    assert run("export", str(intervals), "--format", fmt, "--out", str(out)).exit_code == 0
    flags = (CSV_FLAGS if fmt == "csv" else []) + ["--channel", "channel"]
    back = mine_json(str(out), *flags, "--start-timestamp", "start_timestamp")
    assert back == mine_json(str(intervals))


def test_xes_is_well_formed_and_typed(intervals: Path, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    out = tmp_path / "calls.xes"
    assert run("export", str(intervals), "--format", "xes", "--out", str(out)).exit_code == 0
    ns = {"x": "http://www.xes-standard.org/"}
    root = ET.parse(out).getroot()
    traces = root.findall("x:trace", ns)
    assert [t.find("x:string[@key='concept:name']", ns).get("value") for t in traces] == [
        "k1",
        "k2",
    ]
    events = traces[1].findall("x:event", ns)
    assert events[1].find("x:string[@key='concept:name']", ns).get("value") == "mail <b>&</b>"
    first = traces[0].find("x:event", ns)
    assert first.find("x:int[@key='seconds']", ns).get("value") == "60"
    assert first.find("x:float[@key='score']", ns).get("value") == "0.5"
    assert first.find("x:boolean[@key='vip']", ns).get("value") == "true"
    assert first.find("x:date[@key='start_timestamp']", ns) is not None
    assert events[0].find("x:string[@key='channel']", ns) is None, "a null is left out"


def test_an_unknown_format_is_bad_input(stored: Path, tmp_path: Path) -> None:
    result = run("export", str(stored), "--format", "pdf", "--out", str(tmp_path / "x.pdf"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "pdf" in result.stderr and "parquet, csv, xes" in result.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_an_unreadable_log_is_bad_input_naming_it(tmp_path: Path) -> None:
    result = run("export", str(tmp_path / "nope.parquet"), "--format", "csv", "--out", "x.csv")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "nope.parquet" in result.stderr
    (tmp_path / "bad").mkdir()
    result = run("export", str(tmp_path / "bad"), "--format", "csv", "--out", "x.csv")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "manifest.json" in result.stderr
