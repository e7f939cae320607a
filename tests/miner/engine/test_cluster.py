"""The cluster executor: the same discovery as `Serial`, byte for byte, on a `LocalCluster`
(2 worker processes, 1 thread each, started once for the module); a worker that dies is
replaced and its partition run again; a partition that keeps failing fails the run naming it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyminer.miner.engine.cluster import Cluster, connect, parse_address
from journeyminer.miner.engine.dataset import Dataset, open_dataset, write_dataset
from journeyminer.miner.engine.discovery import discover_parts
from journeyminer.miner.engine.executors import Serial
from journeyminer.miner.engine.partial_cache import PartialCache
from journeyminer.miner.errors import InputError, InternalError, SourceError
from journeyminer.miner.ingest.pipeline import resolve_source
from journeyminer.miner.ingest.stitch_ranges import stitch_to_parquet
from journeyminer.miner.ingest.to_dataset import ingest_to_dataset
from journeyminer.miner.log import EncodedLog, EventLog
from tests.miner.ingest.test_stitch_ranges import sources_and_identities
from tests.naive_replay import UNKNOWN, designed_maps
from tests.strategies import event_frames, synthetic_frame

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Two worker processes of one thread each, for every test of this module."""
    with connect("local:2") as running:
        yield running


def as_json(parts: object, run: object = None) -> str:
    found = discover_parts(parts, run=run)  # type: ignore[arg-type]
    return json.dumps(found.to_dict(), default=str, ensure_ascii=False)


def stored(log: EventLog, folder: Path, n_parts: int) -> Dataset:
    return open_dataset(write_dataset(log, folder, n_parts=n_parts))


# -- same answers -------------------------------------------------------------------------
@pytest.mark.parametrize("n_parts", [1, 4, 16])
def test_the_sample_discovers_the_same_on_the_cluster(
    cluster: Cluster, sample_folder: Path, tmp_path: Path, n_parts: int
) -> None:
    log = open_dataset(sample_folder).to_event_log()
    ds = stored(log, tmp_path / "log", n_parts)
    assert as_json(ds, cluster) == as_json(ds, Serial())


@pytest.mark.parametrize("n_parts", [1, 4, 16])
def test_a_100k_event_log_discovers_the_same_on_the_cluster(
    cluster: Cluster, tmp_path: Path, n_parts: int
) -> None:
    log = EventLog(synthetic_frame(100_000, seed=5), is_sorted=True)
    ds = stored(log, tmp_path / "log", n_parts)
    on_cluster = discover_parts(ds, run=cluster)
    serial = discover_parts(ds)
    assert json.dumps(on_cluster.to_dict(), default=str) == json.dumps(
        serial.to_dict(), default=str
    )
    assert on_cluster.variants.cases.equals(serial.variants.cases)
    assert on_cluster.stats.per_case.equals(serial.stats.per_case)


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(event_frames(max_cases=20), st.sampled_from([1, 4, 16]))
def test_generated_logs_discover_the_same_on_the_cluster(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory, frame: object, n_parts: int
) -> None:
    ds = stored(EventLog(frame), tmp_path_factory.mktemp("gen") / "log", n_parts)  # type: ignore[arg-type]
    assert as_json(ds, cluster) == as_json(ds, Serial())


def test_merges_run_in_a_tree_of_any_fan_in(cluster: Cluster, tmp_path: Path) -> None:
    ds = stored(EventLog(synthetic_frame(20_000, seed=2), is_sorted=True), tmp_path / "l", 9)
    narrow = Cluster(cluster.client, cluster.address, fan_in=2)
    assert as_json(ds, narrow) == as_json(ds, Serial())


def test_progress_counts_every_partition(cluster: Cluster, tmp_path: Path) -> None:
    ds = stored(EventLog(synthetic_frame(5_000, seed=1), is_sorted=True), tmp_path / "l", 6)
    seen: list[tuple[int, int]] = []
    discover_parts(ds, run=cluster, done=lambda k, n: seen.append((k, n)))
    assert seen == [(k, 6) for k in range(1, 7)]


def test_the_process_cache_never_travels_to_the_workers(cluster: Cluster, tmp_path: Path) -> None:
    ds = stored(EventLog(synthetic_frame(5_000, seed=1), is_sorted=True), tmp_path / "l", 3)
    cache = PartialCache()  # holds a lock: it cannot be pickled
    found = discover_parts(ds, run=cluster, cache=cache)
    assert json.dumps(found.to_dict(), default=str) == as_json(ds)
    assert len(cache) == 0


def test_map_returns_every_result_in_order(cluster: Cluster) -> None:
    assert cluster.map(lambda i: i * i, 7) == [i * i for i in range(7)]
    assert cluster.map_merge(lambda i: [i], 10, lambda xs: [v for x in xs for v in x]) == list(
        range(10)
    )


def test_a_large_function_travels_to_the_workers_without_a_large_graph(cluster: Cluster) -> None:
    import numpy as np

    payload = np.arange(2_000_000, dtype=np.int64)  # 16 MB: above Dask's large-graph warning
    assert cluster.map(lambda i: int(payload[i]) + i, 4) == [0, 2, 4, 6]
    assert cluster.map_merge(lambda i: int(payload[-1 - i]), 5, sum) == 5 * 1_999_999 - 10


# -- failures -----------------------------------------------------------------------------
@dataclass(frozen=True)
class FlakyParts:
    """A dataset whose partition `part` misbehaves: `kill` ends the worker process the first
    time (a marker file remembers it), else it raises every time."""

    inner: Dataset
    part: int
    marker: str
    kill: bool
    every_time: bool = False

    @property
    def activities(self) -> tuple[str, ...]:
        return self.inner.activities

    @property
    def channels(self) -> tuple[str, ...]:
        return self.inner.channels

    @property
    def n_parts(self) -> int:
        return self.inner.n_parts

    def part_label(self, i: int) -> str:
        return self.inner.part_label(i)

    def load(self, i: int) -> EncodedLog:
        if i == self.part:
            if not self.kill:
                raise RuntimeError("the disk is on fire")
            if self.every_time or not os.path.exists(self.marker):
                Path(self.marker).touch()
                os._exit(1)  # the worker process dies mid-task, as a lost machine would
        return self.inner.load(i)


def test_a_worker_killed_mid_run_is_replaced_and_the_answer_is_the_same(
    cluster: Cluster, tmp_path: Path
) -> None:
    ds = stored(EventLog(synthetic_frame(20_000, seed=4), is_sorted=True), tmp_path / "l", 4)
    marker = tmp_path / "killed"
    flaky = FlakyParts(ds, 2, str(marker), kill=True)
    assert as_json(flaky, cluster) == as_json(ds, Serial())
    assert marker.exists()  # the worker did die once


def test_a_partition_that_always_fails_names_itself_and_the_cause(
    cluster: Cluster, tmp_path: Path
) -> None:
    ds = stored(EventLog(synthetic_frame(5_000, seed=4), is_sorted=True), tmp_path / "l", 4)
    with pytest.raises(InternalError) as caught:
        discover_parts(FlakyParts(ds, 3, str(tmp_path / "x"), kill=False), run=cluster)
    text = str(caught.value)
    assert "partition 3 (l/part-00003.parquet)" in text
    assert "RuntimeError: the disk is on fire" in text
    assert "after 2 tries" in text
    assert caught.value.extra["partition"] == 3


def test_a_partition_whose_worker_dies_every_time_fails_the_run_naming_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    ds = stored(EventLog(synthetic_frame(5_000, seed=4), is_sorted=True), tmp_path / "l", 3)
    flaky = FlakyParts(ds, 1, str(tmp_path / "killed"), kill=True, every_time=True)
    with pytest.raises(InternalError, match=r"partition \d \(l/part-0000\d\.parquet\)") as caught:
        discover_parts(flaky, run=cluster)
    # Dask blames the task its worker was running, or one queued beside it there.
    assert "the worker running it died every time" in str(caught.value)
    assert "after 4 tries" in str(caught.value)  # Dask's allowed-failures (3) + 1
    assert cluster.map(lambda i: i, 3) == [0, 1, 2]  # the cluster works on


def test_the_use_case_reports_partitions_as_they_finish(cluster: Cluster, tmp_path: Path) -> None:
    from journeyminer.miner.usecases import discover_journeys

    ds = stored(EventLog(synthetic_frame(5_000, seed=1), is_sorted=True), tmp_path / "l", 5)
    seen: list[tuple[float, str]] = []
    discover_journeys(ds, run=cluster, progress=lambda share, stage: seen.append((share, stage)))
    stages = [(round(share, 2), stage) for share, stage in seen if "partitions" in stage]
    assert stages == [
        (round(0.3 + 0.4 * k / 5, 2), "discovering 5 partitions") for k in range(1, 6)
    ]


def test_a_corrupt_partition_file_is_bad_input_naming_the_file(
    cluster: Cluster, tmp_path: Path
) -> None:
    ds = stored(EventLog(synthetic_frame(5_000, seed=4), is_sorted=True), tmp_path / "l", 4)
    before = {p.name: p.read_bytes() for p in (tmp_path / "l").iterdir()}
    (tmp_path / "l" / "part-00001.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(SourceError) as caught:
        discover_parts(ds, run=cluster)
    assert "partition 1 (l/part-00001.parquet)" in str(caught.value)
    assert isinstance(caught.value, InputError)
    after = {p.name for p in (tmp_path / "l").iterdir()}
    assert after == set(before)  # nothing written, nothing removed


# -- addresses ----------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["local:0", "local:x", "local", "host:8786", "", "tcp:/x"])
def test_a_bad_address_is_bad_input_naming_it(text: str) -> None:
    with pytest.raises(InputError, match="not a cluster address"):
        parse_address(text)


def test_addresses_parse() -> None:
    assert parse_address("local:3").local_workers == 3
    assert parse_address("tcp://10.0.0.1:8786").local_workers is None
    assert parse_address(" tls://sched:8786 ").text == "tls://sched:8786"


def test_local_clusters_start_beside_one_another(cluster: Cluster) -> None:
    # No fixed port: a second local cluster (another run, another user) starts without a
    # warning (warnings are errors in these tests) and works.
    with connect("local:1") as other:
        assert other.map(lambda i: i + 1, 3) == [1, 2, 3]


def test_no_scheduler_at_an_address_fails_quickly_naming_it() -> None:
    with pytest.raises(InputError, match=r"tcp://127\.0\.0\.1:9") as caught:
        connect("tcp://127.0.0.1:9", timeout=1.0)
    assert "no Dask scheduler answered" in str(caught.value)


# -- ingest: customer ranges stitched on the workers ----------------------------------------
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=sources_and_identities(), bucket=st.integers(1, 20))
def test_customer_ranges_stitched_on_the_cluster_give_the_same_log(
    cluster: Cluster,
    tmp_path_factory: pytest.TempPathFactory,
    data: tuple[list[pl.DataFrame], pl.DataFrame | None],
    bucket: int,
) -> None:
    sources, identities = data
    folder = tmp_path_factory.mktemp("stitch")

    def stitched(run: object, name: str) -> tuple[pl.DataFrame, object]:
        done = stitch_to_parquet(
            [s.lazy() for s in sources],
            identities.lazy() if identities is not None else None,
            folder / name,
            gap=timedelta(hours=6),
            goals=("checkout",),
            bucket_events=bucket,
            run=run,  # type: ignore[arg-type]
        )
        return pl.read_parquet(folder / name), done

    here, done_here = stitched(None, "here.parquet")
    there, done_there = stitched(cluster, "there.parquet")
    assert there.equals(here)
    assert done_there == done_here
    assert sorted(p.name for p in folder.iterdir()) == ["here.parquet", "there.parquet"]


def _analyses(ds: Dataset, designed: object, segment: str | None, run: object = None) -> list[str]:
    """Every use case that runs over partitions, as its JSON: discovery, comparison, drift,
    a map draft."""
    from journeyminer.miner.usecases import (
        compare_journeys,
        discover_journeys,
        draft_map_from_log,
        drift_between_periods,
    )

    on: dict[str, object] = {} if run is None else {"run": run}
    found = [
        discover_journeys(ds, run=run).to_dict(),  # type: ignore[arg-type]
        compare_journeys(ds, designed, segment=segment, **on).to_dict(),  # type: ignore[arg-type]
        drift_between_periods(ds, designed, **on).to_dict(),  # type: ignore[arg-type]
    ]
    draft = draft_map_from_log(ds, **on)  # type: ignore[arg-type]
    found.append({"map": draft.map.to_toml(), **draft.to_dict()})
    return [json.dumps(d, default=str, ensure_ascii=False) for d in found]


@pytest.mark.parametrize("n_parts", [1, 4, 16])
def test_every_use_case_on_the_sample_is_the_same_on_the_cluster(
    cluster: Cluster, sample_folder: Path, tmp_path: Path, n_parts: int
) -> None:
    from journeyminer.miner.maps.designed import load_map

    designed = load_map(SAMPLE / "map.toml")
    ds = stored(open_dataset(sample_folder).to_event_log(), tmp_path / "log", n_parts)
    assert _analyses(ds, designed, "region", cluster) == _analyses(ds, designed, "region")


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(designed_maps(), st.data(), st.sampled_from([1, 4, 16]))
def test_generated_logs_compare_and_drift_the_same_on_the_cluster(
    cluster: Cluster,
    tmp_path_factory: pytest.TempPathFactory,
    designed: object,
    data: st.DataObject,
    n_parts: int,
) -> None:
    acts = tuple(t.id for t in designed.touchpoints) + UNKNOWN  # type: ignore[attr-defined]
    frame = data.draw(event_frames(max_cases=20, max_events=7, activities=acts))
    ds = stored(EventLog(frame), tmp_path_factory.mktemp("gen") / "log", n_parts)
    assert _analyses(ds, designed, None, cluster) == _analyses(ds, designed, None)


# -- the Python API -----------------------------------------------------------------------
def test_the_python_api_connects_and_the_use_case_runs_there(
    cluster: Cluster, sample_folder: Path
) -> None:
    import journeyminer

    address = cluster.client.scheduler.address  # type: ignore[union-attr]
    log = journeyminer.open_dataset(sample_folder)
    here = journeyminer.discover_journeys(log)
    with journeyminer.connect(address) as there:
        run = journeyminer.discover_journeys(log, run=there)
    assert json.dumps(run.to_dict(), default=str) == json.dumps(here.to_dict(), default=str)
    assert run.cases.equals(here.cases)


@pytest.mark.slow
def test_a_generated_million_event_log_mines_compares_and_drifts_the_same_on_the_cluster(
    cluster: Cluster, tmp_path: Path
) -> None:
    # Issue 16's acceptance log: ingested (streamed) into 8 partitions, then discovery and the
    # comparison with the scenario's map, serial here and on the cluster: the same JSON.
    from journeyminer.miner.maps.designed import load_map
    from journeyminer.miner.synthetic.generate import generate
    from journeyminer.miner.usecases import (
        compare_journeys,
        discover_journeys,
        draft_map_from_log,
        drift_between_periods,
    )

    generate(tmp_path, events=1_000_000, seed=11)
    specs = [
        resolve_source(str(tmp_path / f"{n}.csv"), timezone="Europe/Amsterdam")
        for n in ("web", "call_center", "crm")
    ]
    ingest_to_dataset(specs, tmp_path / "ds", n_parts=8, identities=tmp_path / "identities.csv")
    stored = open_dataset(tmp_path / "ds")
    assert stored.manifest.n_events > 900_000
    designed = load_map(tmp_path / "map.toml")

    def both(run: object = None) -> tuple[str, str, str, str]:
        mined = discover_journeys(stored, per_journey=False, run=run)  # type: ignore[arg-type]
        compared = compare_journeys(stored, designed, segment="device", run=run)  # type: ignore[arg-type]
        drifted = drift_between_periods(stored, designed, run=run)  # type: ignore[arg-type]
        draft = draft_map_from_log(stored, run=run)  # type: ignore[arg-type]
        return (
            json.dumps(mined.to_dict(), default=str, ensure_ascii=False),
            json.dumps(compared.to_dict(), default=str, ensure_ascii=False),
            json.dumps(drifted.to_dict(), default=str, ensure_ascii=False),
            draft.map.to_toml() + json.dumps(draft.to_dict(), default=str),
        )

    assert both(cluster) == both()
