"""The cold path into a dataset folder (hash pass to partition files, then stitch, code and
write each partition) writes the dataset the whole-log-in-memory ingest writes, file for file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from journeyminer.api.cli.main import app
from journeyminer.miner.engine.dataset import open_dataset
from journeyminer.miner.ingest import partitioned
from journeyminer.miner.ingest.pipeline import SourceSpec, resolve_source
from journeyminer.miner.ingest.sources import SourceMapping
from journeyminer.miner.ingest.to_dataset import ingest_in_memory, ingest_to_dataset
from tests.strategies import event_frames, interval_frames

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
XES = Path(__file__).resolve().parents[2] / "data" / "sources" / "journeys.xes"
TABLES = {"identities": SAMPLE / "identities.csv", "customers": SAMPLE / "customers.csv"}


def sample_specs() -> list[SourceSpec]:
    return [
        resolve_source(f"{SAMPLE / kind}.csv={kind}", timezone="Europe/Amsterdam")
        for kind in ("web", "call_center", "crm")
    ]


def assert_identical(got: Path, want: Path) -> None:
    """Same manifest, and every partition file holds the same rows."""
    a, b = open_dataset(got), open_dataset(want)
    assert a.manifest.to_dict() == b.manifest.to_dict()
    for pa, pb in zip(a.manifest.parts, b.manifest.parts, strict=True):
        for name in ("file", "cases_file"):
            assert_frame_equal(
                pl.read_parquet(got / getattr(pa, name)), pl.read_parquet(want / getattr(pb, name))
            )


def both(tmp: Path, sources: list[SourceSpec], **options: Any) -> tuple[Path, Path]:
    """The streamed and the in-memory ingest of `sources` into `tmp`; their reports agree."""
    streamed = ingest_to_dataset(sources, tmp / "streamed", batch_events=97, **options)
    options.pop("batch_events", None)
    whole = ingest_in_memory(sources, tmp / "whole", **options)
    assert streamed == whole
    return tmp / "streamed", tmp / "whole"


@pytest.mark.parametrize("n_parts", [None, 1, 4, 13])
@pytest.mark.parametrize(
    "options",
    [
        {},
        TABLES,
        {"identities": TABLES["identities"]},
        {"gap": None},
        {**TABLES, "goals": ("order_confirmed",)},
    ],
    ids=["plain", "tables", "identities", "no_gap", "goal"],
)
def test_the_sample_streams_into_the_dataset_the_whole_log_gives(
    tmp_path: Path, n_parts: int | None, options: dict[str, Any]
) -> None:
    assert_identical(*both(tmp_path, sample_specs(), n_parts=n_parts, **options))


# The in-memory reference builds the encoded view, whose start times warn on a complete with
# no start (a null start, cast for the kernels); the streamed path does not build it.
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_interval_events_and_a_lifecycle_fold_stream_alike(tmp_path: Path) -> None:
    fold = SourceSpec(path=XES, mapping=SourceMapping(lifecycle=("fold",)))
    got, want = both(tmp_path, [fold, *sample_specs()[:1]], n_parts=3, gap=None)
    assert_identical(got, want)
    assert open_dataset(got).has_intervals


def test_mine_reads_the_streamed_dataset_as_the_whole_one(tmp_path: Path) -> None:
    got, want = both(tmp_path, sample_specs(), n_parts=5, **TABLES)
    runner = CliRunner()
    outs = [runner.invoke(app, ["mine", str(p), "--json"]) for p in (got, want)]
    assert all(o.exit_code == 0 for o in outs), outs[0].output
    assert json.loads(outs[0].stdout) == json.loads(outs[1].stdout)


def test_a_failed_ingest_leaves_the_old_dataset_and_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "log"
    ingest_to_dataset(sample_specs()[:1], dest, n_parts=2)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(partitioned, "write_partition", broken)
    with pytest.raises(OSError, match="disk full"):
        ingest_to_dataset(sample_specs(), dest, n_parts=3, **TABLES)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log"]


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    frames=st.lists(
        st.one_of(event_frames(max_cases=12, max_events=6), interval_frames(max_cases=8)),
        min_size=1,
        max_size=3,
    ),
    n_parts=st.integers(1, 6),
    gap=st.sampled_from([None, "1d", "30d"]),
)
def test_generated_logs_in_many_small_batches_give_the_same_dataset(
    tmp_path_factory: pytest.TempPathFactory,
    frames: list[pl.DataFrame],
    n_parts: int,
    gap: str | None,
) -> None:
    from journeyminer.miner.durations import parse_gap

    work = tmp_path_factory.mktemp("hyp")
    sources = []
    for n, frame in enumerate(frames):
        path = work / f"source{n}.parquet"
        frame.write_parquet(path)
        sources.append(SourceSpec(path=path, mapping=SourceMapping()))
    cut = parse_gap(gap, what="--gap") if gap is not None else None
    streamed = ingest_to_dataset(
        sources, work / "streamed", n_parts=n_parts, gap=cut, batch_events=3
    )
    whole = ingest_in_memory(sources, work / "whole", n_parts=n_parts, gap=cut)
    assert streamed == whole
    assert_identical(work / "streamed", work / "whole")
    shutil.rmtree(work)


def test_identity_ids_sorted_in_many_buckets_route_events_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partitioned, "SORT_ROWS", 100)
    assert_identical(*both(tmp_path, sample_specs(), n_parts=6, **TABLES))
