"""The command line: readable output, --json for machines, exit codes, no partial output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def sample_sources() -> list[str]:
    return [f"{SAMPLE / name}.csv={name}" for name in ("web", "call_center", "crm")]


def test_ingest_json_reports_counts_and_writes_the_log(tmp_path: Path) -> None:
    out = tmp_path / "log.parquet"
    result = run(
        "ingest",
        *sample_sources(),
        "--identities",
        str(SAMPLE / "identities.csv"),
        "--timezone",
        "Europe/Amsterdam",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["events"] > 10_000 and data["journeys"] > 1000
    assert set(data["channels"]) == {"web", "call_center", "crm"}
    assert out.exists() and not list(tmp_path.glob("*.tmp"))


def test_ingest_prints_a_readable_summary(tmp_path: Path) -> None:
    result = run("ingest", *sample_sources(), "--out", str(tmp_path / "log.parquet"))
    assert result.exit_code == 0
    assert "journeys" in result.stdout and "web.csv" in result.stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("visitor_id,event_name\nck1,x\n", ["=web"], "timestamp"),
        ("", ["=web"], "empty"),
        ("visitor_id,event_name,event_time\nck1,x,not a time\n", ["=web"], "row 1"),
        ("a,b\n1,2\n", ["=nonsense"], "unknown preset"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_output(
    tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    src = tmp_path / "events.csv"
    src.write_text(content)
    out = tmp_path / "log.parquet"
    result = run("ingest", f"{src}{args[0]}", "--out", str(out))
    assert result.exit_code == EXIT_BAD_INPUT
    assert message.lower() in result.stderr.lower()
    assert "events.csv" in result.stderr or "preset" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not out.exists()


def test_unknown_file_is_bad_input(tmp_path: Path) -> None:
    result = run("ingest", f"{tmp_path / 'missing.csv'}=web", "--out", str(tmp_path / "x.parquet"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "missing.csv" in result.stderr


def test_bad_gap_is_bad_input(tmp_path: Path) -> None:
    result = run("ingest", *sample_sources(), "--gap", "soon", "--out", str(tmp_path / "x.parquet"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--gap" in result.stderr


def test_a_gap_too_long_is_bad_input_not_an_internal_error(tmp_path: Path) -> None:
    gap = "99999999999999999d"  # an OverflowError: exit code 3 before
    result = run("ingest", *sample_sources(), "--gap", gap, "--out", str(tmp_path / "x.parquet"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--gap" in result.stderr and "too long" in result.stderr


def test_generate_is_deterministic_by_seed(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        result = run("generate", str(folder), "--events", "2000", "--seed", "3", "--json")
        assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["journeys"] > 0
    for name in ("web.csv", "call_center.csv", "crm.csv", "identities.csv", "map.toml"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_generate_refuses_a_bad_size(tmp_path: Path) -> None:
    result = run("generate", str(tmp_path / "g"), "--events", "0")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--events" in result.stderr


def test_mine_json_has_the_documented_shape(tmp_path: Path) -> None:
    log = tmp_path / "log.parquet"
    assert run("ingest", *sample_sources(), "--out", str(log)).exit_code == 0
    result = run("mine", str(log), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    edge = data["dfg"]["edges"][0]
    assert set(edge) >= {
        "source",
        "target",
        "count",
        "mean",
        "median",
        "min",
        "max",
        "stdev",
        "sum",
    }
    assert sum(data["dfg"]["start"].values()) == sum(v["count"] for v in data["variants"])
    assert data["variants"][0]["activities"] and "stats" in data


def test_mine_reads_a_users_own_csv_columns(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text(
        "Klant;Stap;Wanneer\n"
        "k1;bezoek;2024/03/30 10:00:00.000\n"
        "k1;bestelling;2024/03/31 10:00:00.500\n"
        "k2;bezoek;2024/03/30 11:00:00.000\n"
    )
    result = run(
        "mine",
        str(src),
        "--case",
        "Klant",
        "--activity",
        "Stap",
        "--timestamp",
        "Wanneer",
        "--timestamp-format",
        "%Y/%m/%d %H:%M:%S%.3f",
        "--timezone",
        "Europe/Amsterdam",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (edge,) = data["dfg"]["edges"]
    assert (edge["source"], edge["target"], edge["count"]) == ("bezoek", "bestelling", 1)
    assert edge["median"] == 86400.5 - 3600  # DST: the clock jumped an hour that night
    assert data["dfg"]["start"] == {"bezoek": 2}


def test_mine_reads_xes_and_writes_outputs(tmp_path: Path) -> None:
    xes = Path(__file__).resolve().parents[2] / "data" / "sources" / "journeys.xes"
    out = tmp_path / "out"
    result = run("mine", str(xes), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "variants" in result.stdout
    assert json.loads((out / "discovery.json").read_text())["dfg"]["edges"]
    assert (out / "variants.parquet").exists()
    assert (out / "dfg_frequency.svg").read_text().startswith("<svg")
    assert "digraph" in (out / "dfg_performance.dot").read_text()


def test_mine_missing_column_is_bad_input(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text("a,b,c\n1,2,2024-01-01\n")
    result = run("mine", str(src), "--case", "Klant", "--activity", "b", "--timestamp", "c")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "Klant" in result.stderr and "export.csv" in result.stderr


def test_mine_applies_filters_and_reports_them(tmp_path: Path) -> None:
    log = tmp_path / "log.parquet"
    assert run("ingest", *sample_sources(), "--out", str(log)).exit_code == 0
    result = run("mine", str(log), "--top-variants", "2", "--min-edge-count", "50", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["variants"]) == 2
    assert all(e["count"] >= 50 for e in data["dfg"]["edges"])
    assert data["filters"] == {"top_variants": 2, "min_edge_count": 50}


def test_mine_bad_filter_names_the_parameter(tmp_path: Path) -> None:
    log = tmp_path / "log.parquet"
    assert run("ingest", *sample_sources(), "--out", str(log)).exit_code == 0
    result = run("mine", str(log), "--paths", "1.5")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "path_coverage" in result.stderr


def test_ingest_with_a_customer_table_lets_compare_split_by_its_attribute(tmp_path: Path) -> None:
    log = tmp_path / "log.parquet"
    sources = [f"{SAMPLE / n}.csv={n}" for n in ("web", "call_center", "crm")]
    made = runner.invoke(
        app,
        [
            "ingest",
            *sources,
            "--identities",
            str(SAMPLE / "identities.csv"),
            "--customers",
            str(SAMPLE / "customers.csv"),
            "--out",
            str(log),
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    report = json.loads(made.stdout)["customer_attributes"]
    assert report["attributes"] == ["region", "existing_customer"] and report["with_attributes"]
    compared = runner.invoke(
        app,
        ["compare", str(log), "--map", str(SAMPLE / "map.toml"), "--segment", "region", "--json"],
    )
    assert compared.exit_code == 0, compared.output
    split = json.loads(compared.stdout)["by_segment"]
    regions = {row["segment"] for row in split["headline"]}
    assert {"north", "east", "south", "west"} <= regions


def test_a_bad_customer_table_exits_2_without_output(tmp_path: Path) -> None:
    bad = tmp_path / "customers.csv"
    bad.write_text("customer_id,tier\nC1,a\nC1,b\n", encoding="utf-8")
    out = tmp_path / "log.parquet"
    result = runner.invoke(
        app,
        ["ingest", f"{SAMPLE / 'web.csv'}=web", "--customers", str(bad), "--out", str(out)],
    )
    assert result.exit_code == EXIT_BAD_INPUT and "C1" in result.output
    assert not out.exists()


def test_an_error_message_with_brackets_is_printed_as_text_not_markup(tmp_path: Path) -> None:
    """Rich markup in a message (a file named [bold]...) is printed as it is, not styled away."""
    source = tmp_path / "[bold]export.csv"
    source.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["mine", str(source), "--case", "nope"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "[bold]export.csv" in result.stderr and "nope" in result.stderr
