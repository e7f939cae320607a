"""`journeyminer run JOB.toml`: idempotent appends, incremental == full, crash-safe, exit codes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT, EXIT_OK, EXIT_THRESHOLD
from journeyminer.api.cli.main import app
from journeyminer.api.settings import Settings
from journeyminer.api.store import Store
from journeyminer.api.store import stitching as journeys
from journeyminer.miner.discover.discovery import discover
from journeyminer.miner.ingest import partitioned
from journeyminer.miner.ingest.pipeline import SourceSpec, ingest_sources
from journeyminer.miner.ingest.presets import preset
from journeyminer.miner.synthetic.generate import generate

runner = CliRunner()
SOURCES = {"web": ",", "call_center": ";", "crm": ","}
COMPARED = ("discovery.json", "discovery.dfg.svg", "compare.json")
JOB = """
name = "nightly"
workspace = "ws"
log = "webshop"

[[sources]]
path = "exports/web-*.csv"
preset = "web"

[[sources]]
path = "exports/call_center-*.csv"
preset = "call_center"
timezone = "Europe/Amsterdam"

[[sources]]
path = "exports/crm-*.csv"
preset = "crm"

[journeys]
identities = "exports/identities.csv"
gap = "30d"
map = "map.toml"

[[analyses]]
kind = "discover"

[[analyses]]
kind = "compare"

[outputs]
dir = "out"
"""


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated scenario, each source split by time into six day files."""
    root = tmp_path_factory.mktemp("scenario")
    generate(root / "gen", events=3000, seed=11)
    out = root / "days"
    out.mkdir()
    for source, sep in SOURCES.items():
        frame = pl.read_csv(root / "gen" / f"{source}.csv", separator=sep, infer_schema=False)
        size = -(-frame.height // 6)
        for day in range(6):
            chunk = frame.slice(day * size, size)
            chunk.write_csv(out / f"{source}-day{day + 1}.csv", separator=sep)
    shutil.copy(root / "gen" / "identities.csv", out / "identities.csv")
    shutil.copy(root / "gen" / "customers.csv", out / "customers.csv")
    shutil.copy(root / "gen" / "map.toml", out / "map.toml")
    return out


def make_job(folder: Path, days: Path, upto: int, extra: str = "") -> Path:
    """A job folder whose exports hold the day files 1..upto."""
    exports = folder / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    shutil.copy(days / "identities.csv", exports)
    shutil.copy(days / "map.toml", folder)
    for source in SOURCES:
        for day in range(1, upto + 1):
            shutil.copy(days / f"{source}-day{day}.csv", exports)
    job = folder / "job.toml"
    job.write_text(JOB + extra, encoding="utf-8")
    return job


def run(*args: str) -> tuple[int, dict, str]:
    result = runner.invoke(app, ["run", *args, "--json"], catch_exceptions=False)
    data = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    return result.exit_code, data, result.stderr


def outputs(folder: Path) -> dict[str, bytes]:
    return {name: (folder / "out" / name).read_bytes() for name in COMPARED}


@pytest.mark.slow
def test_appended_days_give_the_outputs_of_one_run_over_all_files(
    tmp_path: Path, days: Path
) -> None:
    nightly = make_job(tmp_path / "nightly", days, upto=3)
    code, first, _ = run(str(nightly))
    assert code == EXIT_OK and first["batches_added"] == 9
    make_job(tmp_path / "nightly", days, upto=6)
    code, second, _ = run(str(nightly))
    assert code == EXIT_OK
    assert (second["batches_added"], second["batches_skipped"]) == (9, 9)
    assert not any(a["cached"] for a in second["analyses"])

    fresh = make_job(tmp_path / "fresh", days, upto=6)
    code, full, _ = run(str(fresh))
    assert code == EXIT_OK and full["batches_added"] == 18
    assert outputs(tmp_path / "nightly") == outputs(tmp_path / "fresh")
    assert second["journeys"] == full["journeys"] and second["events"] == full["events"]

    # ... and the same as `journeyminer ingest` of all files at once, in the job's order.
    exports = tmp_path / "fresh" / "exports"
    specs = [
        SourceSpec(
            path,
            preset(s, timezone="Europe/Amsterdam") if s == "call_center" else preset(s),
        )
        for s in SOURCES
        for path in sorted(exports.glob(f"{s}-*.csv"))
    ]
    log, _ = ingest_sources(specs, identities=exports / "identities.csv")
    expected = json.dumps(discover(log).to_dict(), indent=2, ensure_ascii=False, default=str)
    assert (tmp_path / "fresh" / "out" / "discovery.json").read_text() == expected


def test_stitching_in_small_batches_and_many_partitions_gives_the_same_outputs(
    tmp_path: Path, days: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = make_job(tmp_path / "fresh", days, upto=6)
    code, full, _ = run(str(fresh))
    assert code == EXIT_OK
    # Batches of 300 events and 7 partitions: the ~3,000 events are hashed in ten or so
    # batches and stitched, partition by partition, in seven pieces.
    monkeypatch.setattr(journeys, "STITCH_BUCKET_EVENTS", 300)
    monkeypatch.setattr(partitioned, "default_parts", lambda events: 7)
    hashed = partitioned._HashPass.__call__
    batches: list[int] = []

    def spy(self: partitioned._HashPass, k: int) -> int:
        batches.append(self.batch_events)
        return hashed(self, k)

    monkeypatch.setattr(partitioned._HashPass, "__call__", spy)
    ranged = make_job(tmp_path / "ranged", days, upto=6)
    code, pieces, _ = run(str(ranged))
    assert code == EXIT_OK and batches and set(batches) == {300}
    assert outputs(tmp_path / "ranged") == outputs(tmp_path / "fresh")
    keys = ("journeys", "events", "customers", "unmatched_ids")
    assert {k: pieces.get(k) for k in keys} == {k: full.get(k) for k in keys}
    with Store.open(Settings(workspace=tmp_path / "ranged" / "ws")) as store:
        tenant = store.get_tenant_by_name("default")
        info = store.get_log_by_name(tenant, "webshop")
        data = journeys.load_journeys(store, tenant, info.id).data
        assert getattr(data, "n_parts", None) == 7
        assert store.check() == []


def test_a_customer_table_in_the_job_splits_compare_by_its_attributes(
    tmp_path: Path, days: Path
) -> None:
    job = make_job(tmp_path / "segments", days, upto=6)
    shutil.copy(days / "customers.csv", tmp_path / "segments" / "exports")
    text = job.read_text(encoding="utf-8")
    text = text.replace('gap = "30d"', 'customers = "exports/customers.csv"\ngap = "30d"').replace(
        'kind = "compare"', 'kind = "compare"\nsegment = "region"'
    )
    job.write_text(text, encoding="utf-8")
    code, first, _ = run(str(job))
    assert code == EXIT_OK, first
    split = json.loads((tmp_path / "segments" / "out" / "compare.json").read_text())["by_segment"]
    assert split["attribute"] == "region" and len(split["headline"]) >= 4
    # The same files and table again: nothing to add, results from the cache.
    code, again, _ = run(str(job))
    assert code == EXIT_OK and again["batches_added"] == 0
    assert all(a["cached"] for a in again["analyses"])


def test_running_the_same_files_twice_appends_nothing_twice(tmp_path: Path, days: Path) -> None:
    job = make_job(tmp_path, days, upto=2)
    code, first, _ = run(str(job))
    assert code == EXIT_OK and first["batches_added"] == 6
    before = outputs(tmp_path)
    code, again, _ = run(str(job))
    assert code == EXIT_OK
    assert (again["batches_added"], again["batches_skipped"]) == (0, 6)
    assert again["log"]["version"] == first["log"]["version"]
    assert all(a["cached"] for a in again["analyses"])
    assert again["events"] == first["events"]
    assert outputs(tmp_path) == before
    with Store.open(Settings(workspace=tmp_path / "ws")) as store:
        tenant = store.get_tenant_by_name("default")
        info = store.get_log_by_name(tenant, "webshop")
        assert info.parts == 6 and info.events == first["events"]
        assert store.check() == []


def test_dry_run_lists_what_would_be_appended_and_changes_nothing(
    tmp_path: Path, days: Path
) -> None:
    job = make_job(tmp_path, days, upto=1)
    code, data, _ = run(str(job), "--dry-run")
    assert code == EXIT_OK and data["dry_run"]
    assert [b["status"] for b in data["batches"]] == ["would_add"] * 3
    assert not (tmp_path / "ws").exists() and not (tmp_path / "out").exists()
    run(str(job))
    make_job(tmp_path, days, upto=2)
    code, data, _ = run(str(job), "--dry-run")
    status = {b["file"]: b["status"] for b in data["batches"]}
    assert status["exports/web-day1.csv"] == "skipped"
    assert status["exports/web-day2.csv"] == "would_add"
    assert data["log"]["parts"] == 3


def test_an_export_without_rows_is_skipped_with_a_warning(tmp_path: Path, days: Path) -> None:
    job = make_job(tmp_path, days, upto=1)
    header = (days / "crm-day1.csv").read_text().splitlines()[0]
    (tmp_path / "exports" / "crm-day9.csv").write_text(header + "\n")
    code, data, _ = run(str(job))
    assert code == EXIT_OK
    assert {b["file"]: b["status"] for b in data["batches"]}["exports/crm-day9.csv"] == "empty"
    assert any("crm-day9.csv" in w for w in data["warnings"])


def test_job_file_errors_name_the_file_the_line_and_the_key(tmp_path: Path, days: Path) -> None:
    job = make_job(tmp_path, days, upto=1)
    text = job.read_text().replace('preset = "call_center"', 'presett = "call_center"')
    job.write_text(text)
    code, _, stderr = run(str(job))
    line = text.splitlines().index('presett = "call_center"') + 1
    assert code == EXIT_BAD_INPUT
    assert "job.toml" in stderr and f"line {line}" in stderr and "sources[1].presett" in stderr

    job.write_text(JOB.replace('gap = "30d"', "gap = 30d"))
    code, _, stderr = run(str(job))
    assert code == EXIT_BAD_INPUT and "job.toml" in stderr and "line" in stderr

    job.write_text(
        JOB.replace("[[analyses]]\nkind", "[[analyses]]\nfilters = { top_variant = 3 }\nkind", 1)
    )
    code, _, stderr = run(str(job))
    assert code == EXIT_BAD_INPUT and "top_variant" in stderr and "line" in stderr

    job.write_text(JOB.replace('map = "map.toml"', ""))
    code, _, stderr = run(str(job))
    assert code == EXIT_BAD_INPUT and "compare needs a designed map" in stderr


def _command(job: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from journeyminer.api.cli.main import main; main()",
        "run",
        str(job),
    ]


def test_a_breached_threshold_exits_4_after_writing_the_outputs(tmp_path: Path, days: Path) -> None:
    job = make_job(tmp_path, days, upto=2, extra="\n[thresholds]\nmin_fitness = 0.99\n")
    done = subprocess.run(_command(job), capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_THRESHOLD, done.stderr
    assert "threshold breached" in done.stderr and "min_fitness" in done.stderr
    report = json.loads((tmp_path / "out" / "run.json").read_text())
    (breach,) = report["breached"]
    assert breach["threshold"] == "min_fitness" and breach["value"] < 0.99
    assert f"{breach['value']:.4g}" in done.stderr
    assert all((tmp_path / "out" / name).is_file() for name in COMPARED)


@pytest.mark.crash
def test_a_run_killed_at_a_random_moment_is_completed_by_the_next(
    tmp_path: Path, days: Path
) -> None:
    clean = make_job(tmp_path / "clean", days, upto=6)
    started = time.perf_counter()
    subprocess.run(_command(clean), check=True, capture_output=True, timeout=120)
    duration = time.perf_counter() - started

    job = make_job(tmp_path / "killed", days, upto=6)
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    delays = sorted(rng.uniform(0.3, duration) for _ in range(3))
    for delay in delays:
        child = subprocess.Popen(
            _command(job), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    code, data, stderr = run(str(job))
    assert code == EXIT_OK, (delays, stderr)
    assert data["batches_added"] + data["batches_skipped"] == 18
    assert outputs(tmp_path / "killed") == outputs(tmp_path / "clean"), delays
    with Store.open(Settings(workspace=tmp_path / "killed" / "ws", orphan_grace_s=0)) as store:
        assert store.check() == []
        info = store.get_log_by_name(store.get_tenant_by_name("default"), "webshop")
        assert info.parts == 18


def test_the_shipped_example_job_is_valid(tmp_path: Path) -> None:
    from journeyminer.api.batch.run import load_job, run_job

    job = load_job(Path(__file__).resolve().parents[3] / "datasets" / "omnichannel" / "job.toml")
    report = run_job(job, settings=Settings(workspace=tmp_path / "ws"), dry_run=True)
    assert [b["file"] for b in report.batches] == ["web.csv", "call_center.csv", "crm.csv"]
    assert {b["status"] for b in report.batches} == {"would_add"}
    assert not (tmp_path / "ws").exists()


def test_a_job_file_with_an_unknown_zone_is_exit_2_before_anything_runs(tmp_path: Path) -> None:
    job = tmp_path / "job.toml"
    job.write_text(
        'name = "n"\nworkspace = "ws"\nlog = "l"\n[[sources]]\npath = "x-*.csv"\n'
        'preset = "web"\ntimezone = "Mars/Olympus"\n'
    )
    result = runner.invoke(app, ["run", str(job)])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "unknown time zone 'Mars/Olympus'" in result.stderr
    assert not (tmp_path / "ws").exists()


def test_a_job_source_chooses_its_rule_for_fall_back_times(tmp_path: Path) -> None:
    from journeyminer.api.batch.run import load_job

    job = tmp_path / "job.toml"
    head = (
        'name = "n"\nworkspace = "ws"\nlog = "l"\n[[sources]]\npath = "x-*.csv"\npreset = "web"\n'
    )
    job.write_text(head + 'timezone = "Europe/Amsterdam"\nambiguous = "raise"\n')
    assert load_job(job).mapping(0).ambiguous == "raise"
    job.write_text(head + 'ambiguous = "whichever"\n')
    result = runner.invoke(app, ["run", str(job)])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "ambiguous" in result.stderr and "line 7" in result.stderr
    assert not (tmp_path / "ws").exists()
