"""A stored dataset: written, opened, loaded partition by partition, and read back whole."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.engine import dataset as dataset_module
from journeyminer.miner.engine.dataset import (
    default_parts,
    is_dataset,
    open_dataset,
    write_dataset,
)
from journeyminer.miner.engine.manifest import SCHEMA_VERSION
from journeyminer.miner.engine.parts import select_cases, split_log
from journeyminer.miner.errors import InputError, SourceError
from journeyminer.miner.ingest.pipeline import ingest_to_file, resolve_source
from journeyminer.miner.log import EventLog
from tests.strategies import event_frames, interval_frames, log_from_rows

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"


@pytest.fixture(scope="module")
def sample_log(tmp_path_factory: pytest.TempPathFactory) -> EventLog:
    """The bundled sample, ingested and stitched with its customer table (attributes kept)."""
    specs = [
        resolve_source(str(SAMPLE / f"{n}.csv"), timezone="Europe/Amsterdam")
        for n in ("web", "call_center", "crm")
    ]
    path = tmp_path_factory.mktemp("sample") / "log.parquet"
    ingest_to_file(
        specs, path, identities=SAMPLE / "identities.csv", customers=SAMPLE / "customers.csv"
    )
    return EventLog.read_parquet(path)


def check_dataset(log: EventLog, folder: Path, n_parts: int) -> None:
    """Everything a dataset promises about `log` written with `n_parts` partitions."""
    ds = open_dataset(folder)
    m = ds.manifest
    assert (m.schema_version, m.n_parts, m.n_events, m.n_cases) == (
        SCHEMA_VERSION,
        n_parts,
        log.n_events,
        log.n_cases,
    )
    assert (ds.activities, ds.channels) == (log.activities, log.channels)
    assert ds.to_event_log().frame.equals(log.frame)
    enc = log.encoded
    position = {name: i for i, name in enumerate(enc.case_names.to_list())}
    seen: list[int] = []
    for i in range(n_parts):
        part = ds.load(i)
        at = np.array([position[c] for c in part.case_names.to_list()], dtype=np.int64)
        assert np.all(np.diff(at) > 0), "a partition holds its cases in log order"
        expected = select_cases(enc, at)
        for name in ("offsets", "act", "ts", "channel"):
            assert np.array_equal(getattr(part, name), getattr(expected, name)), name
            assert getattr(part, name).flags.writeable
        assert (part.start is None) == (not log.has_intervals)
        if part.start is not None:
            assert np.array_equal(part.start, expected.start)
        assert (part.n_cases, part.n_events) == (m.parts[i].cases, m.parts[i].events)
        rows = log.frame.filter(pl.col("case_id").is_in(part.case_names.implode()))
        assert ds.frame(i).equals(rows)
        seen.extend(at.tolist())
    assert sorted(seen) == list(range(log.n_cases)), "every case in exactly one partition"


@pytest.mark.parametrize("n_parts", [1, 3, 8])
def test_the_sample_round_trips_through_a_dataset(
    sample_log: EventLog, tmp_path: Path, n_parts: int
) -> None:
    folder = write_dataset(sample_log, tmp_path / "log", n_parts=n_parts, settings={"gap": "30d"})
    assert is_dataset(folder)
    check_dataset(sample_log, folder, n_parts)
    m = open_dataset(folder).manifest
    assert m.partition_key == "customer_id" and m.settings == {"gap": "30d"}
    assert m.attributes["region"] == "String" and m.start is not None


def test_a_stitched_customer_keeps_all_journeys_in_one_partition(
    sample_log: EventLog, tmp_path: Path
) -> None:
    ds = open_dataset(write_dataset(sample_log, tmp_path / "log", n_parts=8))
    customers = [
        ds.frame(i).select(pl.col("customer_id").unique()).with_columns(part=pl.lit(i))
        for i in range(8)
    ]
    per_customer = pl.concat(customers).group_by("customer_id").agg(pl.col("part").n_unique())
    assert per_customer.get_column("part").max() == 1


def test_one_partition_loads_as_the_logs_own_encoding(sample_log: EventLog, tmp_path: Path) -> None:
    part = open_dataset(write_dataset(sample_log, tmp_path / "log", n_parts=1)).load(0)
    enc = sample_log.encoded
    assert part.case_names.equals(enc.case_names)
    for name in ("offsets", "act", "ts", "channel"):
        assert np.array_equal(getattr(part, name), getattr(enc, name))


@st.composite
def stored_logs(draw: st.DrawFn) -> EventLog:
    """Event or interval logs with kept attributes (nulls, names like the coded columns) and,
    sometimes, a customer id shared by several cases."""
    frame = draw(st.one_of(event_frames(max_cases=12), interval_frames(max_cases=10)))
    n = frame.height
    amounts = draw(st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=n, max_size=n))
    notes = draw(st.lists(st.sampled_from([None, "", "ja", "café ☕"]), min_size=n, max_size=n))
    frame = frame.with_columns(
        pl.Series("ts", amounts, dtype=pl.Int64), pl.Series("note", notes, dtype=pl.String)
    )
    if draw(st.booleans()):
        frame = frame.with_columns(customer_id="k" + pl.col("case_id").str.slice(-1))
    return EventLog(frame)


@given(stored_logs(), st.integers(1, 8))
def test_any_log_round_trips_with_any_number_of_partitions(log: EventLog, n_parts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(log, Path(tmp) / "log", n_parts=n_parts)
        check_dataset(log, folder, n_parts)
        if "customer_id" in log.frame.columns:
            assert open_dataset(folder).manifest.partition_key == "customer_id"


def test_empty_partitions_load_as_empty_logs(tmp_path: Path) -> None:
    log = log_from_rows([("only", "a", 1, "web"), ("only", "b", 2, None)])
    ds = open_dataset(write_dataset(log, tmp_path / "log", n_parts=5))
    sizes = [ds.load(i).n_cases for i in range(5)]
    assert sorted(sizes) == [0, 0, 0, 0, 1]
    empty = ds.load(sizes.index(0))
    assert empty.offsets.tolist() == [0] and empty.act.dtype == np.int32
    assert ds.frame(sizes.index(0)).schema == log.frame.schema
    check_dataset(log, tmp_path / "log", 5)


@given(event_frames(max_cases=30))
def test_an_unstitched_log_partitions_as_the_engines_in_memory_split(frame: pl.DataFrame) -> None:
    log = EventLog(frame)
    with tempfile.TemporaryDirectory() as tmp:
        ds = open_dataset(write_dataset(log, Path(tmp) / "log", n_parts=4))
        assert ds.manifest.partition_key == "case_id"
        memory = split_log(log, 4)
        for i in range(4):
            assert ds.load(i).case_names.equals(memory.load(i).case_names)


def test_the_default_is_one_partition_per_two_million_events() -> None:
    assert [default_parts(n) for n in (0, 1, 2_000_000, 2_000_001)] == [1, 1, 1, 2]


# -- errors ---------------------------------------------------------------------------


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    log = log_from_rows([(f"c{i}", "a", i, "web") for i in range(20)])
    return write_dataset(log, tmp_path / "log", n_parts=3)


def test_a_missing_manifest_names_it(stored: Path) -> None:
    (stored / "manifest.json").unlink()
    with pytest.raises(SourceError, match=r"manifest\.json is missing") as info:
        open_dataset(stored)
    assert info.value.file == "log/manifest.json"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda m: "{not json", "garbled"),
        (lambda m: json.dumps([1, 2]), "not a JSON object"),
        (lambda m: json.dumps({**m, "schema_version": 99}), "newer journeyminer"),
        (lambda m: json.dumps({k: v for k, v in m.items() if k != "activities"}), "missing"),
        (lambda m: json.dumps({**m, "n_events": m["n_events"] + 1}), "n_events"),
        (
            lambda m: json.dumps({**m, "parts": [{**m["parts"][0], "file": "../x"}]}),
            "inside the dataset",
        ),
    ],
)
def test_a_garbled_or_newer_manifest_is_a_source_error_naming_it(
    stored: Path, change, fragment: str
) -> None:
    path = stored / "manifest.json"
    path.write_text(change(json.loads(path.read_text())))
    with pytest.raises(SourceError, match=fragment) as info:
        open_dataset(stored)
    assert info.value.file == "log/manifest.json"


def test_a_missing_partition_file_names_it(stored: Path) -> None:
    (stored / "part-00001.parquet").unlink()
    with pytest.raises(SourceError, match="missing") as info:
        open_dataset(stored)
    assert info.value.file == "log/part-00001.parquet"


def test_a_truncated_partition_file_names_it(stored: Path) -> None:
    part = stored / "cases-00002.parquet"
    part.write_bytes(part.read_bytes()[:20])
    ds = open_dataset(stored)
    with pytest.raises(SourceError) as info:
        ds.load(2)
    assert info.value.file == "log/cases-00002.parquet"


# -- atomic writes ----------------------------------------------------------------------


def test_an_error_while_writing_leaves_the_old_dataset_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = log_from_rows([("a", "x", 1, "web"), ("b", "y", 2, "crm")])
    folder = write_dataset(old, tmp_path / "log", n_parts=2)
    calls = {"n": 0}
    real = dataset_module._write_parquet

    def failing(frame: pl.DataFrame, path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real(frame, path)

    monkeypatch.setattr(dataset_module, "_write_parquet", failing)
    new = log_from_rows([(f"n{i}", "z", i, None) for i in range(10)])
    with pytest.raises(OSError, match="disk full"):
        write_dataset(new, folder, n_parts=4)
    assert open_dataset(folder).to_event_log().frame.equals(old.frame)
    assert [p.name for p in tmp_path.iterdir()] == ["log"], "no temp folder left behind"


def test_a_new_dataset_replaces_an_old_one_whole(tmp_path: Path) -> None:
    folder = write_dataset(log_from_rows([("a", "x", 1, "web")]), tmp_path / "log", n_parts=6)
    new = log_from_rows([("b", "y", 1, "crm"), ("c", "y", 2, None)])
    write_dataset(new, folder, n_parts=2)
    assert sorted(p.name for p in folder.iterdir()) == [
        "cases-00000.parquet",
        "cases-00001.parquet",
        "manifest.json",
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    assert open_dataset(folder).to_event_log().frame.equals(new.frame)
    assert [p.name for p in tmp_path.iterdir()] == ["log"]


def test_a_file_or_another_folder_is_never_replaced(tmp_path: Path) -> None:
    log = log_from_rows([("a", "x", 1, "web")])
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "keep.csv").write_text("a,b")
    for target in ("notes.txt", "folder"):
        with pytest.raises(InputError, match="not a stored dataset"):
            write_dataset(log, tmp_path / target)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "folder" / "keep.csv").exists()
    with pytest.raises(InputError, match="at least 1 partition"):
        write_dataset(log, tmp_path / "new", n_parts=0)


@given(
    st.one_of(event_frames(max_cases=12), interval_frames()),
    st.integers(1, 5),
    st.sets(st.sampled_from(["case_id", "activity", "timestamp", "channel", "start_timestamp"])),
)
def test_a_partition_frame_of_some_columns_is_the_whole_frame_selected(
    frame: pl.DataFrame, n_parts: int, wanted: set[str]
) -> None:
    log = EventLog(frame.with_columns(pl.lit("x").alias("tier")))
    columns = [c for c in (*sorted(wanted), "tier") if c in log.frame.columns]
    with tempfile.TemporaryDirectory() as tmp:
        ds = open_dataset(write_dataset(log, Path(tmp) / "ds", n_parts=n_parts))
        for i in range(n_parts):
            assert ds.frame(i, columns).equals(ds.frame(i).select(columns))
