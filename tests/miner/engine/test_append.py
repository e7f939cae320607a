"""Appending to a stored dataset: the same dataset as a full ingest of all sources together,
with only the partitions of the new events' customers written again."""

from __future__ import annotations

import itertools
import shutil
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from journeyminer.miner.engine import append as append_module
from journeyminer.miner.engine.append import append_to_dataset
from journeyminer.miner.engine.dataset import open_dataset
from journeyminer.miner.engine.discovery import discover_parts
from journeyminer.miner.engine.partial_cache import PartialCache
from journeyminer.miner.errors import InputError, SourceError
from journeyminer.miner.ingest.pipeline import SourceSpec, resolve_source
from journeyminer.miner.ingest.sources import SourceMapping
from journeyminer.miner.ingest.to_dataset import ingest_to_dataset
from tests.strategies import event_frames

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "omnichannel"
TABLES = {"identities": SAMPLE / "identities.csv", "customers": SAMPLE / "customers.csv"}
CUT = datetime(2024, 7, 1)
KINDS = ("web", "call_center", "crm")


def split_sample(folder: Path) -> tuple[list[Path], list[Path]]:
    """The sample's sources cut in two by time (before and after July 2024)."""
    folder.mkdir(parents=True, exist_ok=True)
    late = {
        "web": pl.col("event_time") >= "2024-07-01",
        "call_center": pl.col("call_start").str.strptime(pl.Datetime, "%d/%m/%Y %H:%M:%S") >= CUT,
        "crm": pl.col("changed_at").cast(pl.Int64) >= int(CUT.timestamp() * 1000),
    }
    early_files, late_files = [], []
    for kind in KINDS:
        sep = ";" if kind == "call_center" else ","
        frame = pl.read_csv(SAMPLE / f"{kind}.csv", separator=sep, infer_schema=False)
        is_late = frame.select(late[kind]).to_series()
        for files, rows, name in ((early_files, ~is_late, "early"), (late_files, is_late, "late")):
            path = folder / f"{name}_{kind}.csv"
            frame.filter(rows).write_csv(path, separator=sep)
            files.append(path)
    return early_files, late_files


def specs(files: list[Path]) -> list[SourceSpec]:
    """Each file read by the preset its name ends with."""
    return [
        resolve_source(
            f"{f}={next(k for k in KINDS if f.stem.endswith(k))}", timezone="Europe/Amsterdam"
        )
        for f in files
    ]


def assert_same_dataset(got: Path, want: Path) -> None:
    a, b = open_dataset(got), open_dataset(want)
    assert_frame_equal(a.to_event_log().frame, b.to_event_log().frame)
    ma, mb = a.manifest.to_dict(), b.manifest.to_dict()
    for key in ("parts", "settings"):
        ma.pop(key), mb.pop(key)
    assert ma == mb
    assert [(p.events, p.cases) for p in a.manifest.parts] == [
        (p.events, p.cases) for p in b.manifest.parts
    ]


@pytest.fixture(scope="module")
def halves(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    return split_sample(tmp_path_factory.mktemp("split"))


@pytest.mark.parametrize("n_parts", [1, 3])
def test_appending_later_events_gives_the_dataset_of_a_full_ingest(
    tmp_path: Path, halves: tuple[list[Path], list[Path]], n_parts: int
) -> None:
    early, late = halves
    ingest_to_dataset(specs(early), tmp_path / "inc", n_parts=n_parts, **TABLES)
    report = append_to_dataset(specs(late), tmp_path / "inc", **TABLES)
    ingest_to_dataset(specs(early + late), tmp_path / "full", n_parts=n_parts, **TABLES)
    assert_same_dataset(tmp_path / "inc", tmp_path / "full")
    # The sample's own three files (not split) stitch to the same journeys.
    originals = specs([SAMPLE / f"{k}.csv" for k in KINDS])
    ingest_to_dataset(originals, tmp_path / "orig", n_parts=n_parts, **TABLES)
    assert_frame_equal(
        open_dataset(tmp_path / "inc").to_event_log().frame,
        open_dataset(tmp_path / "orig").to_event_log().frame,
    )
    assert report["appended_events"] == sum(s["events"] for s in report["sources"])
    assert report["new_activities"] == [] and report["rewritten_partitions"] == []


def test_appending_in_several_batches_with_the_gap_cut_again(
    tmp_path: Path, halves: tuple[list[Path], list[Path]]
) -> None:
    early, late = halves
    ingest_to_dataset(specs(early[:1]), tmp_path / "inc", n_parts=4, **TABLES)
    for files in (early[1:], late[:2], late[2:]):
        append_to_dataset(specs(files), tmp_path / "inc", **TABLES)
    ingest_to_dataset(specs(early + late), tmp_path / "full", n_parts=4, **TABLES)
    assert_same_dataset(tmp_path / "inc", tmp_path / "full")
    assert not [p for p in (tmp_path / "inc").iterdir() if p.name.startswith(".")]


def write_web(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A web source of (visitor, event_name, event_time) rows."""
    pl.DataFrame(
        {
            "visitor_id": [r[0] for r in rows],
            "session_id": ["ses_new"] * len(rows),
            "event_name": [r[1] for r in rows],
            "page_url": ["/"] * len(rows),
            "device": ["mobile"] * len(rows),
            "event_time": [r[2] for r in rows],
        }
    ).write_csv(path)
    return path


def first_visitor() -> str:
    return str(pl.read_csv(SAMPLE / "web.csv", n_rows=1).item(0, "visitor_id"))


def test_a_new_activity_recodes_untouched_partitions_without_restitching(tmp_path: Path) -> None:
    originals = [SAMPLE / f"{k}.csv" for k in KINDS]
    ingest_to_dataset(specs(originals), tmp_path / "inc", n_parts=5, **TABLES)
    extra = write_web(
        tmp_path / "new_web.csv", [(first_visitor(), "chat_started", "2024-12-31T10:00:00Z")]
    )
    report = append_to_dataset(specs([extra]), tmp_path / "inc", **TABLES)
    assert report["new_activities"] == ["chat_started"]
    assert len(report["touched_partitions"]) == 1
    assert sorted(report["rewritten_partitions"] + report["touched_partitions"]) == list(range(5))
    ingest_to_dataset(specs([*originals, extra]), tmp_path / "full", n_parts=5, **TABLES)
    assert_same_dataset(tmp_path / "inc", tmp_path / "full")


def test_untouched_partitions_keep_their_files_byte_for_byte(tmp_path: Path) -> None:
    originals = [SAMPLE / f"{k}.csv" for k in KINDS]
    ingest_to_dataset(specs(originals), tmp_path / "inc", n_parts=8, **TABLES)
    before = {p.name: p.read_bytes() for p in (tmp_path / "inc").glob("*.parquet")}
    extra = write_web(
        tmp_path / "new_web.csv",
        [
            (first_visitor(), "landing_page", "2024-12-31T10:00:00Z"),
            ("ck_unknown", "ad_click", "2024-12-31T11:00:00Z"),
        ],
    )
    report = append_to_dataset(specs([extra]), tmp_path / "inc", **TABLES)
    touched = report["touched_partitions"]
    assert 1 <= len(touched) <= 2 and report["rewritten_partitions"] == []
    after = {p.name: p.read_bytes() for p in (tmp_path / "inc").glob("*.parquet")}
    kept = {n for n in before if int(n.split("-")[1].split(".")[0]) not in touched}
    assert len(kept) == 2 * (8 - len(touched))
    assert all(after[n] == before[n] for n in kept)
    assert (
        set(after) - kept
        == {
            n for p in open_dataset(tmp_path / "inc").manifest.parts for n in (p.file, p.cases_file)
        }
        - kept
    )
    ingest_to_dataset(specs([*originals, extra]), tmp_path / "full", n_parts=8, **TABLES)
    assert_same_dataset(tmp_path / "inc", tmp_path / "full")


def test_a_failed_write_leaves_the_old_dataset_readable_and_complete(
    tmp_path: Path, halves: tuple[list[Path], list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    early, late = halves
    ingest_to_dataset(specs(early), tmp_path / "inc", n_parts=4, **TABLES)
    frame = open_dataset(tmp_path / "inc").to_event_log().frame
    files = sorted(p.name for p in (tmp_path / "inc").iterdir())
    real = append_module._write_parquet
    calls = []

    def failing(frame: pl.DataFrame, path: Path) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        real(frame, path)

    monkeypatch.setattr(append_module, "_write_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        append_to_dataset(specs(late), tmp_path / "inc", **TABLES)
    assert sorted(p.name for p in (tmp_path / "inc").iterdir()) == files
    assert_frame_equal(open_dataset(tmp_path / "inc").to_event_log().frame, frame)


def test_the_partial_cache_recomputes_only_touched_partitions(tmp_path: Path) -> None:
    originals = [SAMPLE / f"{k}.csv" for k in KINDS]
    ingest_to_dataset(specs(originals), tmp_path / "inc", n_parts=6, **TABLES)
    cache = PartialCache()
    discover_parts(open_dataset(tmp_path / "inc"), cache=cache)
    assert (cache.hits, cache.misses) == (0, 6)
    extra = write_web(
        tmp_path / "new_web.csv", [(first_visitor(), "landing_page", "2024-12-31T10:00:00Z")]
    )
    report = append_to_dataset(specs([extra]), tmp_path / "inc", **TABLES)
    refreshed = discover_parts(open_dataset(tmp_path / "inc"), cache=cache)
    assert (cache.hits, cache.misses) == (5, 6 + len(report["touched_partitions"]))
    ingest_to_dataset(specs([*originals, extra]), tmp_path / "full", n_parts=6, **TABLES)
    fresh = discover_parts(open_dataset(tmp_path / "full"))
    assert refreshed.to_dict() == fresh.to_dict()
    assert_frame_equal(refreshed.stats.per_case, fresh.stats.per_case)


def test_an_append_needs_the_tables_the_dataset_was_stitched_with(
    tmp_path: Path, halves: tuple[list[Path], list[Path]]
) -> None:
    early, late = halves
    ingest_to_dataset(specs(early), tmp_path / "inc", n_parts=2, **TABLES)
    with pytest.raises(InputError, match="--identities"):
        append_to_dataset(specs(late), tmp_path / "inc", customers=TABLES["customers"])
    with pytest.raises(SourceError, match="not a stored dataset"):
        append_to_dataset(specs(late), tmp_path / "nowhere")


CANONICAL = SourceMapping()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    frame=event_frames(max_cases=10, max_events=6),
    cuts=st.lists(st.floats(0, 1), min_size=1, max_size=3),
    n_parts=st.integers(1, 5),
)
def test_appends_to_a_log_without_stitching_equal_one_ingest(
    tmp_path_factory: pytest.TempPathFactory, frame: pl.DataFrame, cuts: list[float], n_parts: int
) -> None:
    work = tmp_path_factory.mktemp("hyp")
    bounds = sorted({0, frame.height, *(int(c * frame.height) for c in cuts)})
    batches = []
    for n, (a, b) in enumerate(itertools.pairwise(bounds)):
        if b > a:
            batches.append(work / f"batch{n}.parquet")
            frame.slice(a, b - a).write_parquet(batches[-1])
    sources = [SourceSpec(path=p, mapping=CANONICAL) for p in batches]
    ingest_to_dataset(sources[:1], work / "inc", n_parts=n_parts, gap=None)
    for source in sources[1:]:
        append_to_dataset([source], work / "inc")
    ingest_to_dataset(sources, work / "full", n_parts=n_parts, gap=None)
    assert_same_dataset(work / "inc", work / "full")
    shutil.rmtree(work)
