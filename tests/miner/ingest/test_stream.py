"""Streaming a source into Parquet gives exactly what reading it whole gives, errors included."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyminer.miner.errors import EmptySourceError, SourceError, TimestampError
from journeyminer.miner.ingest.presets import preset
from journeyminer.miner.ingest.readers import read_source
from journeyminer.miner.ingest.sources import SourceMapping
from journeyminer.miner.ingest.stream import write_source

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "datasets" / "omnichannel"
DATA = ROOT / "tests" / "data" / "sources"
ROW = "row"


def streamed(path: Path, mapping: SourceMapping | None, dest: Path) -> pl.DataFrame:
    rows, schema = write_source(path, mapping, dest, row_column=ROW)
    frame = pl.read_parquet(dest)
    assert frame.height == rows and frame.schema == schema
    assert frame.get_column(ROW).is_sorted()
    return frame.drop(ROW)


@pytest.mark.parametrize("name", ["web", "call_center", "crm"])
def test_sample_sources_stream_to_what_a_whole_read_gives(tmp_path: Path, name: str) -> None:
    path = SAMPLE / f"{name}.csv"
    got = streamed(path, preset(name), tmp_path / "out.parquet")
    assert got.equals(read_source(path, preset(name)))


def test_gzip_latin1_and_xes_stream_or_fall_back_to_the_same_events(tmp_path: Path) -> None:
    text = "id;step;when;note\nk1;café;2024-01-01 10:00:00;é\nk2;thé;2024-01-02 11:00:00;à\n"
    latin = tmp_path / "latin.csv"
    latin.write_bytes(text.encode("latin-1"))
    zipped = tmp_path / "zipped.csv.gz"
    zipped.write_bytes(gzip.compress(text.encode("utf-8")))
    mapping = SourceMapping(case="id", activity="step", timestamp="when", keep=("note",))
    cases = [
        (latin, replace(mapping, encoding="latin-1")),
        (zipped, mapping),
        (DATA / "journeys.xes", None),
    ]
    for n, (path, m) in enumerate(cases):
        assert streamed(path, m, tmp_path / f"{n}.parquet").equals(read_source(path, m))


def _csv(rows: list[tuple[str, str, str, str]]) -> str:
    return "case,step,time,extra\n" + "".join(",".join(r) + "\n" for r in rows)


def _rows(n: int) -> list[tuple[str, str, str, str]]:
    return [
        (f"c{i % 97}", f"a{i % 5}", f"2024-01-01T{i % 24:02d}:00:00Z", str(i)) for i in range(n)
    ]


MAPPING = SourceMapping(case="case", activity="step", timestamp="time", keep=("extra",))


def test_a_bad_timestamp_deep_in_the_file_names_its_row_and_writes_nothing(tmp_path: Path) -> None:
    rows = _rows(250_000)
    rows[200_000] = ("c1", "a1", "not a time", "x")
    path = tmp_path / "big.csv"
    path.write_text(_csv(rows))
    dest = tmp_path / "out.parquet"
    with pytest.raises(TimestampError) as err:
        write_source(path, MAPPING, dest, row_column=ROW)
    assert err.value.row == 200_001 and "not a time" in str(err.value)
    assert not dest.exists() and list(tmp_path.iterdir()) == [path]


def test_a_missing_case_deep_in_the_file_names_its_row_or_is_dropped(tmp_path: Path) -> None:
    rows = _rows(150_000)
    rows[140_000] = ("", "a1", "2024-01-01T00:00:00Z", "x")
    path = tmp_path / "gap.csv"
    path.write_text(_csv(rows))
    with pytest.raises(SourceError) as err:
        write_source(path, MAPPING, tmp_path / "out.parquet", row_column=ROW)
    assert err.value.row == 140_001
    drop = replace(MAPPING, on_missing="drop")
    got = streamed(path, drop, tmp_path / "dropped.parquet")
    assert got.equals(read_source(path, drop)) and got.height == 149_999


def test_an_attribute_that_turns_to_text_late_is_read_as_text(tmp_path: Path) -> None:
    rows = _rows(120_000)
    rows[110_000] = ("c1", "a1", "2024-01-01T00:00:00Z", "n/a")
    path = tmp_path / "late.csv"
    path.write_text(_csv(rows))
    got = streamed(path, MAPPING, tmp_path / "out.parquet")
    assert got.schema["extra"] == pl.String
    assert got.equals(read_source(path, MAPPING))


def test_filters_that_leave_nothing_say_so(tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    path.write_text(_csv(_rows(10)))
    nothing = replace(MAPPING, include=("never",))
    with pytest.raises(EmptySourceError):
        write_source(path, nothing, tmp_path / "out.parquet", row_column=ROW)
    assert not (tmp_path / "out.parquet").exists()


def test_prepare_sees_every_batch(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(_csv(_rows(300_000)))
    seen: list[int] = []

    def prepare(frame: pl.DataFrame) -> pl.DataFrame:
        seen.append(frame.height)
        return frame.with_columns(pl.lit("p.csv").alias("file"))

    rows, _ = write_source(path, MAPPING, tmp_path / "out.parquet", row_column=ROW, prepare=prepare)
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert rows == 300_000 and out.get_column("file").unique().to_list() == ["p.csv"]
    assert len(seen) > 2 and max(seen) < 300_000  # streamed in batches, not read whole
    assert out.get_column(ROW).to_list() == list(range(300_000))


CELLS = st.text(alphabet="ab,;\"' é\n", max_size=6)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.lists(
        st.tuples(
            st.sampled_from(["k1", "k2", "😀", "00123"]),
            CELLS,
            st.integers(0, 10**10),
            st.one_of(st.none(), CELLS),
        ),
        min_size=1,
        max_size=40,
    ),
    include=st.booleans(),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_any_csv_streams_to_what_a_whole_read_gives(
    tmp_path: Path,
    data: list[tuple[str, str, int, str | None]],
    include: bool,
    delimiter: str,
) -> None:
    frame = pl.DataFrame(
        {
            "case": [d[0] for d in data],
            "step": [d[1] or "x" for d in data],
            "time": [d[2] for d in data],
            "extra": [d[3] for d in data],
        }
    ).with_columns(
        pl.from_epoch("time", time_unit="s").dt.strftime("%Y-%m-%d %H:%M:%S").alias("time")
    )
    path = tmp_path / f"any-{len(data)}-{include}-{ord(delimiter)}.csv"
    frame.write_csv(path, separator=delimiter)
    mapping = SourceMapping(
        case="case",
        activity="step",
        timestamp="time",
        keep=("extra",),
        include=("x", "a") if include else (),
    )
    try:
        want: pl.DataFrame | None = read_source(path, mapping)
    except EmptySourceError:
        want = None
    if want is None:
        with pytest.raises(EmptySourceError):
            write_source(path, mapping, tmp_path / "out.parquet", row_column=ROW)
    else:
        assert streamed(path, mapping, tmp_path / "out.parquet").equals(want)


def test_epoch_numbers_in_parquet_stream_with_the_unit_a_whole_read_guesses(
    tmp_path: Path,
) -> None:
    n = 200_000
    path = tmp_path / "crm.parquet"
    # The first rows look like seconds; the largest value says milliseconds.
    stamps = [1_700_000_000 + i for i in range(n - 1)] + [1_704_133_371_853]
    pl.DataFrame(
        {"case": [f"k{i % 31}" for i in range(n)], "step": "a", "time": stamps}
    ).write_parquet(path, row_group_size=20_000)
    mapping = SourceMapping(case="case", activity="step", timestamp="time")
    seen: list[int] = []
    write_source(
        path,
        mapping,
        tmp_path / "out.parquet",
        row_column=ROW,
        prepare=lambda f: seen.append(f.height) or f,
    )
    got = pl.read_parquet(tmp_path / "out.parquet").drop(ROW)
    assert len(seen) > 2 and got.equals(read_source(path, mapping))
