"""`--cluster`: `journeyminer mine DIR --cluster ...` prints exactly what `mine DIR` prints, and
so do compare, drift, map draft and a batch job's analyses (`run`); a raw file is read here,
which the command says; without the dask extra, or with an address where no scheduler
answers, the exit code is 2 and the message says why."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from journeyminer.api.cli.common import EXIT_BAD_INPUT
from journeyminer.api.cli.main import app
from journeyminer.miner.engine import cluster as cluster_module
from journeyminer.miner.engine.cluster import Cluster, connect

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "datasets" / "omnichannel"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a running scheduler with 2 worker processes (1 thread each)."""
    with connect("local:2") as running:
        assert isinstance(running, Cluster)
        yield running.client.scheduler.address  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample, stitched, as a dataset folder of 4 partitions."""
    out = tmp_path_factory.mktemp("cluster") / "log"
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
        "--partitions",
        "4",
        "--json",
    )
    assert result.exit_code == 0, result.output
    return out


def test_mine_on_a_local_cluster_prints_exactly_what_mine_prints(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = run("mine", str(folder), "--json")
    ran: list[int] = []
    map_merge = Cluster.map_merge

    def counted(self: Cluster, fn: Any, n: int, *args: Any, **kwargs: Any) -> Any:
        ran.append(n)
        return map_merge(self, fn, n, *args, **kwargs)

    monkeypatch.setattr(Cluster, "map_merge", counted)
    there = run("mine", str(folder), "--cluster", "local:2", "--json")
    assert here.exit_code == there.exit_code == 0, there.output
    assert there.stdout_bytes == here.stdout_bytes
    assert ran == [4, 4]  # both passes ran on the cluster, over the 4 partitions
    assert "runs on this machine" not in there.stderr


def test_mine_on_a_running_scheduler_writes_the_same_outputs(
    folder: Path, scheduler: str, tmp_path: Path
) -> None:
    here = run("mine", str(folder), "--out", str(tmp_path / "here"), "--json")
    there = run("mine", str(folder), "--cluster", scheduler, "--out", str(tmp_path / "there"))
    assert here.exit_code == there.exit_code == 0, there.output
    for name in (
        "discovery.json",
        "dfg_edges.parquet",
        "variants.parquet",
        "case_variants.parquet",
    ):
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()


def test_the_cluster_address_may_come_from_the_environment(
    folder: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = run("mine", str(folder), "--json")
    monkeypatch.setenv("JOURNEYMINER_CLUSTER", scheduler)
    there = run("mine", str(folder), "--json")
    assert there.exit_code == 0 and there.stdout_bytes == here.stdout_bytes


def _count_cluster_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the Cluster methods called ("map", "map_merge"), in order."""
    ran: list[str] = []
    for name in ("map", "map_merge"):
        original = getattr(Cluster, name)

        def counted(self: Cluster, *a: Any, _o: Any = original, _n: str = name, **k: Any) -> Any:
            ran.append(_n)
            return _o(self, *a, **k)

        monkeypatch.setattr(Cluster, name, counted)
    return ran


def test_filters_run_on_the_cluster_too(
    folder: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("mine", str(folder), "--top-variants", "3", "--with-channel", "web", "--json")
    here = run(*args)
    ran = _count_cluster_calls(monkeypatch)
    there = run(*args, "--cluster", scheduler)
    assert there.exit_code == 0 and there.stdout_bytes == here.stdout_bytes
    assert ran.count("map_merge") >= 2  # the variants' pass, then the filtered discovery
    assert "runs on this machine" not in there.stderr


def test_compare_on_a_cluster_prints_exactly_what_compare_prints(
    folder: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("compare", str(folder), "--map", str(SAMPLE / "map.toml"), "--json")
    here = run(*args, "--segment", "device")
    ran = _count_cluster_calls(monkeypatch)
    there = run(*args, "--segment", "device", "--cluster", scheduler)
    assert here.exit_code == there.exit_code == 0, there.output
    assert there.stdout_bytes == here.stdout_bytes
    assert "map" in ran and "map_merge" in ran  # the comparison and the overlay's discovery
    assert "runs on this machine" not in there.stderr


def test_drift_on_a_cluster_prints_exactly_what_drift_prints(
    folder: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("drift", str(folder), "--map", str(SAMPLE / "map.toml"), "--json")
    here = run(*args)
    ran: list[int] = []
    original = Cluster.map

    def counted(self: Cluster, fn: Any, n: int, *a: Any, **k: Any) -> Any:
        ran.append(n)
        return original(self, fn, n, *a, **k)

    monkeypatch.setattr(Cluster, "map", counted)
    there = run(*args, "--cluster", scheduler)
    assert here.exit_code == there.exit_code == 0, there.output
    assert there.stdout_bytes == here.stdout_bytes
    assert ran == [4, 4, 4]  # the periods' ends, then each period's comparison
    assert "runs on this machine" not in there.stderr


def test_map_draft_on_a_cluster_prints_exactly_what_it_prints_here(
    folder: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = run("map", "draft", str(folder), "--json")
    ran = _count_cluster_calls(monkeypatch)
    there = run("map", "draft", str(folder), "--json", "--cluster", scheduler)
    assert here.exit_code == there.exit_code == 0, there.output
    assert there.stdout_bytes == here.stdout_bytes
    assert ran == ["map_merge"]  # one pass: the paths journeys take
    assert "runs on this machine" not in there.stderr


def test_compare_of_a_raw_file_runs_here_and_says_so(scheduler: str) -> None:
    sources = ("--case", "visitor_id", "--activity", "event_name", "--timestamp", "event_time")
    args = ("compare", str(SAMPLE / "web.csv"), *sources, "--map", str(SAMPLE / "map.toml"))
    here = run(*args, "--json")
    there = run(*args, "--json", "--cluster", scheduler)
    assert here.exit_code == there.exit_code == 0, there.output
    assert there.stdout_bytes == here.stdout_bytes
    assert "compare runs on this machine" in there.stderr and "raw file" in there.stderr


def test_a_corrupt_partition_on_the_cluster_is_bad_input_naming_its_file(
    folder: Path, scheduler: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in folder.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "part-00002.parquet").write_bytes(b"garbage")
    result = run("mine", str(broken), "--cluster", scheduler, "--json")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "partition 2 (broken/part-00002.parquet)" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "command",
    [
        ("mine", "{log}"),
        ("compare", "{log}", "--map", str(SAMPLE / "map.toml")),
        ("drift", "{log}", "--map", str(SAMPLE / "map.toml")),
        ("map", "draft", "{log}"),
        ("ingest", str(SAMPLE / "web.csv") + "=web", "--out", "{tmp}/new"),
        ("run", str(SAMPLE / "job.toml"), "--dry-run"),
    ],
)
def test_without_the_dask_extra_cluster_exits_2_naming_the_extra(
    command: tuple[str, ...], folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    args = [a.format(log=folder, tmp=tmp_path) for a in command]
    result = run(*args, "--cluster", "local:2")
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "pip install 'journeyminer[dask]'" in result.stderr
    assert not (tmp_path / "new").exists()


def test_a_bad_address_exits_2_naming_it(folder: Path) -> None:
    result = run("mine", str(folder), "--cluster", "localhost", "--json")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "'localhost'" in result.stderr and "local:N" in result.stderr


def test_no_scheduler_at_the_address_exits_2_quickly_naming_it(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT_S", 1.0)
    clock = time.monotonic()
    result = run("mine", str(folder), "--cluster", "tcp://127.0.0.1:9", "--json")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "tcp://127.0.0.1:9" in result.stderr and "Traceback" not in result.output
    assert time.monotonic() - clock < 15


def _ingest(out: Path, *extra: str):
    sources = [f"{SAMPLE / n}.csv={n}" for n in ("web", "call_center", "crm")]
    return run(
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
        "--partitions",
        "4",
        "--json",
        *extra,
    )


def test_ingest_reads_splits_and_stitches_on_the_cluster_and_writes_the_same_dataset(
    scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = _ingest(tmp_path / "here")
    ran = _count_cluster_calls(monkeypatch)
    there = _ingest(tmp_path / "there", "--cluster", scheduler)
    assert here.exit_code == there.exit_code == 0, there.output
    assert there.stdout.replace("there", "here") == here.stdout
    # Read the sources, split each by customer hash (identity ids sent as a file), stitch
    # and write each partition: all on the workers.
    assert ran == ["map", "map", "map"]
    assert "runs on this machine" not in there.stderr
    files = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "there").iterdir())
    for name in files:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()


def test_a_source_that_fails_on_the_cluster_is_bad_input_naming_it(
    scheduler: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("nothing,useful\n1,2\n")
    result = run(
        "ingest",
        f"{SAMPLE / 'web.csv'}=web",
        f"{bad}=web",
        "--out",
        str(tmp_path / "log"),
        "--cluster",
        scheduler,
    )
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "source bad.csv failed on the cluster" in result.stderr
    assert not (tmp_path / "log").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]  # no half-written log


@pytest.mark.parametrize("command", ["mine", "compare", "drift", "ingest", "run"])
def test_the_help_names_the_extra_and_the_environment_variable(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "300"})
    text = " ".join(result.output.split())
    assert "--cluster" in text and "'journeyminer[dask]'" in text
    assert "JOURNEYMINER_CLUSTER" in text


def _sample_job(folder: Path) -> Path:
    """The bundled sample's batch job, with its workspace and outputs inside `folder`."""
    shutil.copytree(SAMPLE, folder)
    job = folder / "job.toml"
    text = job.read_text(encoding="utf-8")
    text = text.replace('"../../workspace"', '"ws"').replace('"../../demo-out/job"', '"out"')
    job.write_text(text, encoding="utf-8")
    return job


def test_a_batch_job_runs_its_analyses_on_the_cluster_with_the_same_outputs(
    scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = run("run", str(_sample_job(tmp_path / "here")), "--json")
    ran = _count_cluster_calls(monkeypatch)
    monkeypatch.setenv("JOURNEYMINER_CLUSTER", scheduler)  # as a scheduled job would set it
    there = run("run", str(_sample_job(tmp_path / "there")), "--json")
    assert here.exit_code == there.exit_code == 0, there.output
    assert ran  # the analyses' passes went to the cluster
    names = sorted(p.name for p in (tmp_path / "here" / "out").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "there" / "out").iterdir())
    assert "compare.json" in names
    for name in set(names) - {"run.json"}:  # the run's report names its paths and timings
        assert (tmp_path / "there" / "out" / name).read_bytes() == (
            tmp_path / "here" / "out" / name
        ).read_bytes(), name
    mine, theirs = json.loads(here.stdout), json.loads(there.stdout)
    assert [a["metrics"] for a in theirs["analyses"]] == [a["metrics"] for a in mine["analyses"]]
