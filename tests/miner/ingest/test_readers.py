"""Readers: every format round-trips to canonical events; every bad input gets a clear error."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyminer.miner.errors import (
    EmptySourceError,
    FormatError,
    JourneyminerError,
    MappingError,
    MissingColumnError,
    SourceError,
    SourceLimitError,
    TimestampError,
)
from journeyminer.miner.ingest.delimited import sniff_delimiter
from journeyminer.miner.ingest.limits import SourceLimits
from journeyminer.miner.ingest.readers import detect_format, read_source, scan_source
from journeyminer.miner.ingest.sources import SourceMapping
from journeyminer.miner.log import TS_DTYPE, EventLog

DATA = Path(__file__).resolve().parents[2] / "data" / "sources"
EVENTS = pl.DataFrame(
    {
        "klant": ["00123", "00123", "k2", "k2", "k3"],
        "stap": ["home", 'zoek, "snel"', "home", "café ☕", "bestel\nnu"],
        "tijd": [
            "2024-03-31T01:59:00+01:00",
            "2024-03-31T03:00:00+02:00",
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00Z",
            "2024-01-02T10:00:00.250Z",
        ],
        "device": ["mobile", "mobile", "desktop", "desktop", "tablet"],
        "value": [1.5, None, 3.0, 4.0, 5.0],
    }
)
MAPPING = SourceMapping(case="klant", activity="stap", timestamp="tijd", keep=("device", "value"))
EXPECTED_TS = [
    datetime(2024, 3, 31, 0, 59, tzinfo=UTC),
    datetime(2024, 3, 31, 1, 0, tzinfo=UTC),
    datetime(2024, 1, 1, 10, tzinfo=UTC),
    datetime(2024, 1, 1, 10, tzinfo=UTC),
    datetime(2024, 1, 2, 10, 0, 0, 250_000, tzinfo=UTC),
]


def _check_events(frame: pl.DataFrame) -> None:
    assert frame.columns == ["case_id", "activity", "timestamp", "channel", "device", "value"]
    assert frame.schema["timestamp"] == TS_DTYPE
    assert frame.get_column("case_id").to_list() == EVENTS.get_column("klant").to_list()
    assert frame.get_column("activity").to_list() == EVENTS.get_column("stap").to_list()
    assert frame.get_column("timestamp").to_list() == EXPECTED_TS
    assert frame.get_column("value").to_list() == [1.5, None, 3.0, 4.0, 5.0]


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# -- round trips ----------------------------------------------------------------------
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_round_trip_with_any_delimiter(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "events.csv"
    EVENTS.write_csv(path, separator=delimiter)
    _check_events(read_source(path, MAPPING))


def test_tsv_and_txt_extensions_read_as_csv(tmp_path: Path) -> None:
    for name in ("events.tsv", "events.txt"):
        EVENTS.write_csv(tmp_path / name, separator="\t")
        _check_events(read_source(tmp_path / name, MAPPING))


def test_parquet_round_trip(tmp_path: Path) -> None:
    EVENTS.write_parquet(tmp_path / "events.parquet")
    _check_events(read_source(tmp_path / "events.parquet", MAPPING))


def test_json_lines_round_trip(tmp_path: Path) -> None:
    for name in ("events.jsonl", "events.ndjson", "events.json"):
        EVENTS.write_ndjson(tmp_path / name)
        _check_events(read_source(tmp_path / name, MAPPING))


def test_gzipped_csv_and_json_lines_are_sniffed(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    EVENTS.write_csv(buffer, separator=";")
    _write(tmp_path / "events.csv.gz", gzip.compress(buffer.getvalue()))
    _check_events(read_source(tmp_path / "events.csv.gz", MAPPING))
    # a gzip file whose name does not say so
    _write(tmp_path / "lies.csv", gzip.compress(buffer.getvalue()))
    _check_events(read_source(tmp_path / "lies.csv", MAPPING))
    buffer = io.BytesIO()
    EVENTS.write_ndjson(buffer)
    _write(tmp_path / "events.gz", gzip.compress(buffer.getvalue()))
    assert detect_format(tmp_path / "events.gz") == "jsonl"
    _check_events(read_source(tmp_path / "events.gz", MAPPING))


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_non_utf8_csv_is_transcoded(tmp_path: Path, encoding: str) -> None:
    text = "klant;stap;tijd\nk1;café;2024-01-01 10:00\nk1;Übersicht;2024-01-01 10:05\n"
    if encoding == "cp1252":
        text = text.replace("Übersicht", "€ aanbieding")
    path = _write(tmp_path / "e.csv", text.encode(encoding))
    mapping = SourceMapping(case="klant", activity="stap", timestamp="tijd", encoding=encoding)
    frame = read_source(path, mapping)
    assert frame.get_column("activity").to_list()[0] == "café"
    assert frame.get_column("activity").to_list()[1] in ("Übersicht", "€ aanbieding")


def test_utf8_lossy_replaces_bad_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", b"c,a,t\nk1,caf\xe9,2024-01-01\n")
    mapping = SourceMapping(case="c", activity="a", timestamp="t", encoding="utf8-lossy")
    assert read_source(path, mapping).get_column("activity").to_list() == ["caf\ufffd"]


def test_bom_skip_rows_and_quote_char(tmp_path: Path) -> None:
    text = "export of 2024-04-01\nsecond preamble line\nc;a;t\n'k;1';'a';2024-01-01\n"
    path = _write(tmp_path / "e.csv", "\ufeff" + text)
    mapping = SourceMapping(case="c", activity="a", timestamp="t", skip_rows=2, quote_char="'")
    frame = read_source(path, mapping)
    assert frame.get_column("case_id").to_list() == ["k;1"]


def test_case_ids_with_leading_zeros_stay_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", "id,a,t\n00123,x,1711880102\n0042,y,1711880103\n")
    frame = read_source(path, SourceMapping(case="id", activity="a", timestamp="t"))
    assert frame.get_column("case_id").to_list() == ["00123", "0042"]
    assert frame.get_column("timestamp").dt.epoch("s").to_list() == [1711880102, 1711880103]


@pytest.mark.parametrize(
    ("fmt", "value", "expected_us"),
    [
        ("epoch_s", "1711880102", 1711880102_000000),
        ("epoch_ms", "1711880102123", 1711880102_123000),
        ("epoch_us", "1711880102123456", 1711880102_123456),
        ("epoch_ns", "1711880102123456000", 1711880102_123456),
        ("%d-%m-%Y %H.%M", "31-03-2024 10.15", 1711880100_000000),
    ],
)
def test_timestamp_formats(tmp_path: Path, fmt: str, value: str, expected_us: int) -> None:
    path = _write(tmp_path / "e.csv", f"c,a,t\nk,x,{value}\n")
    mapping = SourceMapping(case="c", activity="a", timestamp="t", timestamp_format=fmt)
    assert read_source(path, mapping).get_column("timestamp").dt.epoch("us").item() == expected_us


def test_naive_times_are_read_in_the_mapping_timezone(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", "c,a,t\nk,x,2024-07-01 12:00:00\n")
    mapping = SourceMapping(case="c", activity="a", timestamp="t", timezone="Europe/Amsterdam")
    ts = read_source(path, mapping).get_column("timestamp").item()
    assert ts == datetime(2024, 7, 1, 10, tzinfo=UTC)


def test_canonical_files_need_no_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", "case_id,activity,timestamp,channel\nc1,a,2024-01-01,web\n")
    frame = read_source(path)
    assert frame.row(0) == ("c1", "a", datetime(2024, 1, 1, tzinfo=UTC), "web")


def test_read_source_output_feeds_an_event_log(tmp_path: Path) -> None:
    EVENTS.write_csv(tmp_path / "e.csv")
    log = EventLog(read_source(tmp_path / "e.csv", MAPPING))
    assert log.n_cases == 3 and log.n_events == 5


def test_scan_source_projects_only_the_mapped_columns(tmp_path: Path) -> None:
    EVENTS.write_parquet(tmp_path / "e.parquet")
    lazy = scan_source(tmp_path / "e.parquet", MAPPING)
    assert lazy.collect_schema().names() == ["klant", "stap", "tijd", "device", "value"]
    EVENTS.write_csv(tmp_path / "e.csv")
    assert scan_source(tmp_path / "e.csv", MAPPING).collect().height == 5
    with pytest.raises(SourceError, match="read_source"):
        scan_source(DATA / "journeys.xes")


def test_on_missing_drop_skips_incomplete_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", "c,a,t\nk1,x,2024-01-01\n,y,2024-01-02\nk2,,2024-01-03\n")
    mapping = SourceMapping(case="c", activity="a", timestamp="t", on_missing="drop")
    assert read_source(path, mapping).get_column("case_id").to_list() == ["k1"]


def test_xes_reads_lifecycle_as_an_attribute_and_filters_on_it() -> None:
    frame = read_source(DATA / "journeys.xes")
    assert "lifecycle" in frame.columns
    assert set(frame.get_column("lifecycle").drop_nulls()) == {"start", "complete"}
    complete = read_source(DATA / "journeys.xes", SourceMapping(lifecycle=("complete",)))
    assert set(complete.get_column("lifecycle")) == {"complete"}
    assert complete.height < frame.height


def test_xes_gz_equals_plain_xes(tmp_path: Path) -> None:
    gz = tmp_path / "journeys.xes.gz"
    with open(DATA / "journeys.xes", "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert read_source(gz).equals(read_source(DATA / "journeys.xes"))


def test_xes_offsets_changing_mid_log_come_out_in_utc() -> None:
    frame = read_source(DATA / "journeys.xes").filter(pl.col("case_id") == "c1")
    assert frame.get_column("timestamp").to_list()[:3] == [
        datetime(2024, 3, 31, 0, 30, tzinfo=UTC),  # 01:30+01:00
        datetime(2024, 3, 31, 0, 59, tzinfo=UTC),  # 01:59+01:00
        datetime(2024, 3, 31, 1, 0, tzinfo=UTC),  # 03:00+02:00
    ]


@pytest.mark.parametrize("name", ["journeys.ocel.json", "journeys.ocel.xml"])
def test_ocel_is_flattened_on_the_chosen_object_type(name: str) -> None:
    mapping = SourceMapping(object_type="customer", keep=("amount",), channel_value="shop")
    frame = read_source(DATA / name, mapping)
    assert frame.get_column("case_id").to_list() == ["c1", "c1", "c2"]
    assert frame.get_column("activity").to_list() == ["place order", "call", "call"]
    assert frame.get_column("timestamp").to_list() == [
        datetime(2024, 3, 31, 0, 30, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
    ]
    assert frame.get_column("amount").to_list() == [12.5, None, None]
    orders = read_source(DATA / name, SourceMapping(object_type="order"))
    assert orders.get_column("case_id").to_list() == ["o1"]


# -- hypothesis: generated CSVs read back to the same events ---------------------------
# No bare CR: unquoted, polars reads it as a line end (real writers quote it); CRLF is fine.
FIELD_TEXT = (
    st.lists(
        st.one_of(
            st.sampled_from([*",;|\t\"'\\ ", "\n", "\r\n"]),
            st.characters(blacklist_categories=("Cs", "Cc")),
        ),
        min_size=1,
        max_size=12,
    )
    .map("".join)
    .filter(lambda s: s.strip() != "")
)
SAFE_NAMES = ["klant", "stap ✓", "tijd (utc)", "café", "注文", "'q'", "x-y", "Ärger"]
WILD_NAMES = [*SAFE_NAMES, "a,b", 'say "hi"', "semi;colon", "pipe|name"]
BASE = datetime(2024, 1, 1, tzinfo=UTC)


@st.composite
def csv_cases(draw: st.DrawFn) -> tuple[list[tuple[str, str, datetime]], dict[str, object]]:
    n = draw(st.integers(1, 12))
    events = [
        (
            draw(st.one_of(FIELD_TEXT, st.from_regex(r"0[0-9]{1,5}", fullmatch=True))),
            draw(FIELD_TEXT),
            BASE + timedelta(microseconds=draw(st.integers(0, 10**13))),
        )
        for _ in range(n)
    ]
    auto = draw(st.booleans())
    names = draw(
        st.lists(
            st.sampled_from(SAFE_NAMES if auto else WILD_NAMES), min_size=4, max_size=4, unique=True
        )
    )
    options = {
        "names": names,
        "order": draw(st.permutations(range(4))),
        "delimiter": draw(st.sampled_from([",", ";", "\t", "|"])),
        "quoting": draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        "newline": draw(st.sampled_from(["\n", "\r\n"])),
        "auto": auto,
        "zulu": draw(st.booleans()),
    }
    return events, options


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=csv_cases())
def test_generated_csvs_read_back_to_the_same_events(
    tmp_path: Path, case: tuple[list[tuple[str, str, datetime]], dict[str, object]]
) -> None:
    events, opt = case
    names: list[str] = opt["names"]  # type: ignore[assignment]
    order: list[int] = opt["order"]  # type: ignore[assignment]
    out = io.StringIO(newline="")
    writer = csv.writer(
        out,
        delimiter=opt["delimiter"],  # type: ignore[arg-type]
        quoting=opt["quoting"],  # type: ignore[arg-type]
        lineterminator=opt["newline"],  # type: ignore[arg-type]
    )
    writer.writerow([names[i] for i in order])
    for i, (case_id, activity, ts) in enumerate(events):
        text = ts.isoformat().replace("+00:00", "Z" if opt["zulu"] else "+00:00")
        row = [case_id, activity, text, f"extra {i}"]
        writer.writerow([row[j] for j in order])
    path = tmp_path / "generated.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    mapping = SourceMapping(
        case=names[0],
        activity=names[1],
        timestamp=names[2],
        delimiter=None if opt["auto"] else cast(str, opt["delimiter"]),
    )
    frame = read_source(path, mapping)
    assert frame.get_column("case_id").to_list() == [e[0] for e in events]
    assert frame.get_column("activity").to_list() == [e[1] for e in events]
    assert frame.get_column("timestamp").to_list() == [e[2] for e in events]


def test_sniff_delimiter_ignores_delimiters_inside_quotes() -> None:
    assert sniff_delimiter('a;b;c\n"x,y,z,w";2;3\n') == ";"
    assert sniff_delimiter("a\tb\n1\t2\n") == "\t"
    assert sniff_delimiter("single\n1\n") == ","


# -- bad input: one test per case, each names the file and where ------------------------
def test_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        read_source(tmp_path / "missing.csv", MAPPING)
    assert "missing.csv" in str(info.value) and "not found" in str(info.value)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(EmptySourceError) as info:
        read_source(_write(tmp_path / "empty.csv", ""), MAPPING)
    assert "empty.csv" in str(info.value)


def test_header_only_file(tmp_path: Path) -> None:
    with pytest.raises(EmptySourceError) as info:
        read_source(
            _write(tmp_path / "header.csv", "klant,stap,tijd\n"), MAPPING.with_overrides(keep=())
        )
    assert "header.csv" in str(info.value)


def test_blank_file_has_no_header(tmp_path: Path) -> None:
    with pytest.raises(EmptySourceError, match="header"):
        read_source(_write(tmp_path / "blank.csv", "\n\n"), MAPPING)


def test_duplicate_header_names(tmp_path: Path) -> None:
    path = _write(tmp_path / "dup.csv", "klant,stap,tijd,stap\nk,a,2024-01-01,b\n")
    with pytest.raises(FormatError) as info:
        read_source(path, MAPPING)
    assert info.value.column == "stap"
    assert "dup.csv" in str(info.value) and "columns 2 and 4" in str(info.value)


def test_missing_mapped_column_lists_what_the_file_has(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", "customer,stap,tijd\nk,a,2024-01-01\n")
    with pytest.raises(MissingColumnError) as info:
        read_source(path, MAPPING)
    text = str(info.value)
    assert "e.csv" in text and "'klant'" in text and "'customer'" in text


def test_missing_kept_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", "klant,stap,tijd\nk,a,2024-01-01\n")
    with pytest.raises(MissingColumnError, match="device"):
        read_source(path, MAPPING)


def test_unparsable_timestamp_names_the_first_bad_row(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "ts.csv",
        "klant,stap,tijd\nk,a,2024-01-01 10:00\nk,b,2024-01-01 10:05\nk,c,yesterday\n",
    )
    with pytest.raises(TimestampError) as info:
        read_source(path, SourceMapping(case="klant", activity="stap", timestamp="tijd"))
    assert info.value.row == 3 and info.value.column == "tijd"
    assert "ts.csv" in str(info.value) and "yesterday" in str(info.value)


def test_ragged_rows_name_the_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "ragged.csv", "klant,stap,tijd\nk,a,2024-01-01\nk,b,2024-01-02,oops\n")
    with pytest.raises(FormatError) as info:
        read_source(path, SourceMapping(case="klant", activity="stap", timestamp="tijd"))
    assert info.value.row == 2
    assert "ragged.csv" in str(info.value) and "4 fields" in str(info.value)


def test_invalid_utf8_suggests_an_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path / "latin.csv", "klant,stap,tijd\nk,café,2024-01-01\n".encode("latin-1"))
    with pytest.raises(FormatError) as info:
        read_source(path, SourceMapping(case="klant", activity="stap", timestamp="tijd"))
    assert "latin.csv" in str(info.value) and "latin-1" in str(info.value)


def test_missing_case_value_names_the_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", "c,a,t\nk1,x,2024-01-01\n,y,2024-01-02\n")
    with pytest.raises(SourceError) as info:
        read_source(path, SourceMapping(case="c", activity="a", timestamp="t"))
    assert info.value.row == 2 and info.value.column == "c"
    assert "on_missing" in str(info.value)


def test_kept_attribute_changing_type_late_is_kept_as_text(tmp_path: Path) -> None:
    rows = [f"k{i},x,2024-01-01,{i}" for i in range(10_050)] + ["k,x,2024-01-01,n/a"]
    path = _write(tmp_path / "late.csv", "c,a,t,n\n" + "\n".join(rows) + "\n")
    frame = read_source(path, SourceMapping(case="c", activity="a", timestamp="t", keep=("n",)))
    assert frame.get_column("n").to_list()[-1] == "n/a"


def test_malformed_json_lines_name_the_line(tmp_path: Path) -> None:
    lines = [json.dumps({"klant": "k", "stap": "a", "tijd": "2024-01-01"})] * 2
    path = _write(tmp_path / "e.jsonl", "\n".join([*lines, '{"klant": "k", "stap":']) + "\n")
    with pytest.raises(FormatError) as info:
        read_source(path, SourceMapping(case="klant", activity="stap", timestamp="tijd"))
    assert info.value.row == 3 and "e.jsonl" in str(info.value)


def test_malformed_parquet(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.parquet", b"PAR1 this is not parquet")
    with pytest.raises(FormatError, match=r"e\.parquet"):
        read_source(path, MAPPING)


def test_malformed_xes_names_the_line(tmp_path: Path) -> None:
    text = (DATA / "journeys.xes").read_text(encoding="utf-8")
    broken = text.replace("</event>", "</evnt>", 1)
    path = _write(tmp_path / "broken.xes", broken)
    with pytest.raises(FormatError) as info:
        read_source(path)
    line = broken[: broken.index("</evnt>")].count("\n") + 1
    assert info.value.row == line and "broken.xes" in str(info.value)


def test_truncated_xes_is_not_read_as_a_shorter_log(tmp_path: Path) -> None:
    text = (DATA / "journeys.xes").read_text(encoding="utf-8")
    path = _write(tmp_path / "cut.xes", text[: text.rindex("</trace>")])
    with pytest.raises(FormatError, match=r"cut\.xes"):
        read_source(path)


def test_xml_that_is_not_xes(tmp_path: Path) -> None:
    path = _write(tmp_path / "other.xes", "<?xml version='1.0'?><html><body/></html>")
    with pytest.raises(FormatError, match=r"other\.xes"):
        read_source(path)


def test_malformed_ocel_json(tmp_path: Path) -> None:
    path = _write(tmp_path / "o.jsonocel", '{"objectTypes": [], "eventTypes": [\n')
    with pytest.raises(FormatError) as info:
        read_source(path, SourceMapping(object_type="customer"))
    assert "o.jsonocel" in str(info.value) and info.value.row == 2


def test_ocel_json_missing_a_section(tmp_path: Path) -> None:
    path = _write(tmp_path / "o.json", '{"objectTypes": [], "objects": []}')
    with pytest.raises(FormatError, match="eventTypes"):
        read_source(path, SourceMapping(object_type="customer"))


@pytest.mark.parametrize("object_type", [None, "klant"])
def test_ocel_object_type_must_be_chosen_from_the_file(object_type: str | None) -> None:
    with pytest.raises(MappingError) as info:
        read_source(DATA / "journeys.ocel.json", SourceMapping(object_type=object_type))
    assert "customer, order" in str(info.value) and "journeys.ocel.json" in str(info.value)


def test_lifecycle_filter_needs_a_lifecycle(tmp_path: Path) -> None:
    EVENTS.write_csv(tmp_path / "e.csv")
    with pytest.raises(MappingError, match="lifecycle"):
        read_source(tmp_path / "e.csv", MAPPING.with_overrides(lifecycle=("complete",)))


def test_unsupported_extension_lists_the_supported_ones(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.xlsx", b"PK\x03\x04")
    with pytest.raises(SourceError) as info:
        read_source(path, MAPPING)
    assert "'.xlsx'" in str(info.value) and ".csv" in str(info.value) and ".xes" in str(info.value)


def test_no_raw_library_exception_escapes(tmp_path: Path) -> None:
    bad = [
        _write(tmp_path / "a.csv", 'klant,stap,tijd\n"k,a,2024-01-01\n'),
        _write(tmp_path / "b.jsonl", "[1, 2]\n"),
        _write(tmp_path / "c.xes", "<log><trace><event>"),
        _write(tmp_path / "d.xmlocel", "<log><objects>"),
        _write(tmp_path / "e.parquet", b"\x00" * 64),
    ]
    for path in bad:
        with pytest.raises(JourneyminerError):
            read_source(path, MAPPING)


def test_a_duplicate_megabyte_column_name_gives_a_short_message(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    name = "x" * 1_000_000
    path.write_text(f"case_id,activity,timestamp,{name},{name}\nc,a,2024-01-01,1,2\n")
    with pytest.raises(FormatError) as info:
        read_source(path)
    assert str(info.value) == (
        "dup.csv: the header line has a field longer than 131,072 characters"
        " (expected fields of at most 131,072 characters)"
    )


def test_a_header_line_longer_than_the_head_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    names = [f"attribute_{i:06d}" for i in range(8_000)]  # 144 KB of column names
    path.write_text(",".join(["case_id", "activity", "timestamp", *names, names[5]]) + "\n")
    # Past the default max_header_bytes (64 KiB) the limit answers first (its own test); a
    # source read with a larger limit has its whole header read and checked.
    wide = SourceLimits(max_header_bytes=1 << 20, max_columns=10_000)
    with pytest.raises(FormatError) as info:
        read_source(path, limits=wide)
    assert str(info.value).startswith(
        "wide.csv: duplicate column name 'attribute_000005' in the header"
    )
    with pytest.raises(SourceLimitError, match="max_header_bytes"):
        read_source(path)
