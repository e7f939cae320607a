"""Source mappings: fields, presets, TOML/JSON files, renames and activity filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import polars as pl
import pytest

from journeyminer.miner.errors import (
    EmptySourceError,
    FormatError,
    MappingError,
    MissingColumnError,
)
from journeyminer.miner.ingest.presets import PRESETS, load_mapping, mapping_from_dict, preset
from journeyminer.miner.ingest.readers import read_source
from journeyminer.miner.ingest.sources import SourceMapping, check_mapping_keys

PRESET_COLUMNS = {
    "web": {
        "case": [
            "visitor_id",
            "user_pseudo_id",
            "anonymous_id",
            "client_id",
            "cookie_id",
            "session_id",
        ],
        "activity": ["event_name", "event", "event_type", "page", "page_path"],
        "timestamp": ["event_time", "event_timestamp", "timestamp", "ts", "received_at"],
    },
    "call_center": {
        "case": ["caller_id", "ani", "phone", "phone_number", "from_number", "customer_phone"],
        "activity": ["reason", "call_reason", "queue", "disposition", "wrap_up_code"],
        "timestamp": ["call_start", "start_time", "started_at", "call_time", "timestamp"],
    },
    "crm": {
        "case": ["customer_id", "contact_id", "account_id", "crm_id"],
        "activity": ["status", "stage", "activity", "event", "case_status"],
        "timestamp": ["changed_at", "modified_at", "updated_at", "created_at", "timestamp"],
    },
}
FILLER = {"case": "zz_case", "activity": "zz_act", "timestamp": "zz_ts"}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "role", "column"),
    [
        (name, role, column)
        for name, roles in PRESET_COLUMNS.items()
        for role, columns in roles.items()
        for column in columns
    ],
)
def test_preset_resolves_each_listed_column_name(name: str, role: str, column: str) -> None:
    others = {r: c[0] for r, c in PRESET_COLUMNS[name].items() if r != role}
    header = [column, *(c for c in others.values() if c != column), "noise"]
    resolved = preset(name).resolve(header)
    assert getattr(resolved, role) == column


def test_preset_takes_the_first_candidate_present() -> None:
    resolved = preset("call_center").resolve(["queue", "reason", "caller_id", "call_start"])
    assert resolved.activity == "reason"


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(MappingError) as info:
        preset("pos")
    assert "'pos'" in str(info.value)
    for name in PRESETS:
        assert name in str(info.value)


def test_preset_overrides_replace_fields() -> None:
    mapping = preset("web", timezone="Europe/Amsterdam", case="session_id")
    assert mapping.timezone == "Europe/Amsterdam"
    assert mapping.case == ("session_id",)
    assert mapping.channel_value == "web"


def test_unknown_override_names_the_key_and_the_allowed_ones() -> None:
    with pytest.raises(MappingError) as info:
        preset("web", time_zone="UTC")
    text = str(info.value)
    assert "'time_zone'" in text
    assert "timezone" in text and "channel_value" in text


def test_missing_column_lists_candidates_and_file_columns() -> None:
    with pytest.raises(MissingColumnError) as info:
        preset("crm").resolve(["id", "status", "changed_at"], file="crm.csv")
    text = str(info.value)
    assert "crm.csv" in text and "customer_id" in text and "crm_id" in text and "'id'" in text


def test_mapping_rejects_wrong_types_naming_the_field() -> None:
    with pytest.raises(MappingError, match="skip_rows"):
        SourceMapping(skip_rows=cast(Any, "2"))
    with pytest.raises(MappingError, match="delimiter"):
        SourceMapping(delimiter=";;")
    with pytest.raises(MappingError, match="encoding"):
        SourceMapping(encoding="klingon")
    with pytest.raises(MappingError, match="keep"):
        SourceMapping(keep=cast(Any, (1, 2)))
    with pytest.raises(MappingError, match="timestamp_format"):
        SourceMapping(timestamp_format="epoch_minutes")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("timezone", "Europe/Amsterdamm"),
        ("timestamp_format", "%Q"),
        ("timestamp_format", "abc"),
        ("timestamp_format", "%Y-%m-%d %"),
    ],
)
def test_an_unknown_time_zone_or_format_is_refused_when_the_mapping_is_made(
    field: str, value: str
) -> None:
    # Before: accepted, and a job failed (or a zone never used passed silently).
    with pytest.raises(MappingError, match=f"{field}.*{value[:5]}") as info:
        mapping_from_dict({"preset": "web", field: value}, file="web.csv")
    assert info.value.column == field and info.value.file == "web.csv"


def test_time_zones_and_formats_polars_reads_are_accepted() -> None:
    for zone in ("UTC", "Europe/Amsterdam", "+01:00", "Etc/GMT-2"):
        assert SourceMapping(timezone=zone).timezone == zone
    for fmt in ("%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S%.fZ", "%s", "epoch_ms"):
        assert SourceMapping(timestamp_format=fmt).timestamp_format == fmt


def test_encoding_names_are_normalized() -> None:
    assert SourceMapping(encoding="UTF-8").encoding == "utf8"
    assert SourceMapping(encoding="latin1").encoding == "iso8859-1"
    assert SourceMapping(encoding="windows-1252").encoding == "cp1252"


def test_load_toml_mapping_with_preset_and_overrides(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "calls.toml",
        'preset = "call_center"\ntimezone = "Europe/Amsterdam"\nkeep = ["agent_id"]\n'
        '[rename]\n"invoice question" = "billing"\n',
    )
    mapping = load_mapping(path)
    assert mapping.channel_value == "call_center"
    assert mapping.timezone == "Europe/Amsterdam"
    assert mapping.keep == ("agent_id",)
    assert mapping.rename == {"invoice question": "billing"}


def test_load_json_mapping_without_preset(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.json",
        '{"case": ["klant", "client"], "activity": "stap", "timestamp": "tijd",'
        ' "channel_value": "shop", "delimiter": ";"}',
    )
    mapping = load_mapping(path)
    assert mapping.case == ("klant", "client")
    assert mapping.delimiter == ";"


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.toml", 'preset = "web"\ntimezone = \n')
    with pytest.raises(FormatError) as info:
        load_mapping(path)
    assert info.value.file == "bad.toml" and info.value.row == 2
    assert "line 2" in str(info.value)


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.json", '{\n  "case": "a",\n  "activity": \n}')
    with pytest.raises(FormatError) as info:
        load_mapping(path)
    assert info.value.file == "bad.json" and info.value.row == 4


def test_unknown_key_in_file_names_key_file_and_allowed(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.toml", 'preset = "web"\ncase_column = "x"\n')
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    text = str(info.value)
    assert "m.toml" in text and "'case_column'" in text and "allowed" in text


def test_bad_value_in_file_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.toml", "skip_rows = -1\n")
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert info.value.file == "m.toml" and "skip_rows" in str(info.value)


def test_missing_mapping_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not found"):
        load_mapping(tmp_path / "nope.toml")


def test_mapping_from_dict_rejects_non_tables() -> None:
    with pytest.raises(MappingError):
        mapping_from_dict(cast(Any, ["web"]))


CSV = (
    "klant,stap,tijd\n"
    "k1,home,2024-01-01T10:00:00Z\n"
    "k1,zoek,2024-01-01T10:01:00Z\n"
    "k1,bestel,2024-01-01T10:02:00Z\n"
    "k2,home,2024-01-01T11:00:00Z\n"
    "k2,Zoeken,2024-01-01T11:01:00Z\n"
)


def test_renames_apply_before_include_filters(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", CSV)
    mapping = SourceMapping(
        case="klant",
        activity="stap",
        timestamp="tijd",
        rename={"Zoeken": "zoek"},
        include=("zoek", "bestel"),
    )
    frame = read_source(path, mapping)
    assert frame.get_column("activity").to_list() == ["zoek", "bestel", "zoek"]


def test_exclude_drops_activities(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", CSV)
    mapping = SourceMapping(case="klant", activity="stap", timestamp="tijd", exclude=("home",))
    frame = read_source(path, mapping)
    assert "home" not in frame.get_column("activity").to_list()
    assert frame.height == 3


def test_filters_that_leave_nothing_say_so(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", CSV)
    mapping = SourceMapping(case="klant", activity="stap", timestamp="tijd", include=("x",))
    with pytest.raises(EmptySourceError, match="filters"):
        read_source(path, mapping)


def test_crm_channel_column_wins_and_constant_fills_gaps(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "crm.csv",
        "customer_id,status,changed_at,channel,order_value\n"
        "c1,lead,1711880102123,,\n"
        "c1,won,1711880202123,email,99.5\n",
    )
    frame = read_source(path, preset("crm"))
    assert frame.get_column("channel").to_list() == ["crm", "email"]
    assert frame.get_column("order_value").to_list() == [None, 99.5]


def test_explicit_channel_column_must_exist_without_a_constant(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", CSV)
    mapping = SourceMapping(case="klant", activity="stap", timestamp="tijd", channel="kanaal")
    with pytest.raises(MissingColumnError, match="kanaal"):
        read_source(path, mapping)


def test_preset_reads_the_generator_layouts(tmp_path: Path) -> None:
    web = _write(
        tmp_path / "web.csv",
        "visitor_id,session_id,event_name,page_url,device,event_time\n"
        '00123,s1,page_view,"https://x.nl/a?b=1,2",mobile,2024-03-31T10:15:02.123Z\n',
    )
    calls = _write(
        tmp_path / "call_center.csv",
        "call_id;caller_id;call_start;queue;reason;agent_id;duration_s;csat\n"
        "1;+31612345678;31/03/2024 10:15:02;billing;invoice;a7;120;4\n"
        "2;+31612345679;30/03/2024 01:15:02;sales;order;a8;60;\n",
    )
    crm = _write(
        tmp_path / "crm.csv",
        "customer_id,status,changed_at,channel,order_value\nc1,lead,1711880102123,crm,\n",
    )
    w = read_source(web, preset("web"))
    assert w.row(0)[:4] == (
        "00123",
        "page_view",
        pl.Series(["2024-03-31T10:15:02.123+00:00"]).str.to_datetime(time_zone="UTC")[0],
        "web",
    )
    assert set(w.columns) >= {"session_id", "page_url", "device"}
    c = read_source(calls, preset("call_center", timezone="Europe/Amsterdam"))
    hours = c.get_column("timestamp").dt.hour().to_list()
    assert hours == [8, 0]  # CEST (+02:00) after the switch, CET (+01:00) before it
    assert c.get_column("channel").to_list() == ["call_center"] * 2
    assert {"csat", "agent_id", "queue", "duration_s"} <= set(c.columns)
    r = read_source(crm, preset("crm"))
    assert r.get_column("timestamp").dt.epoch("ms").to_list() == [1711880102123]


# -- missing columns show the way ----------------------------------------------------------
def test_a_missing_case_column_names_the_columns_that_look_like_one_and_the_flag() -> None:
    header = ["case:concept:name", "concept:name", "time:timestamp", "Case ID", "customer", "x"]
    with pytest.raises(MissingColumnError) as info:
        SourceMapping().resolve(header, file="log.csv")
    text = str(info.value)
    assert text.startswith(
        "log.csv: no case column: columns that look like one: 'case:concept:name', 'Case ID',"
        " 'customer'; pass --case COLUMN, or case = \"COLUMN\" in a mapping"
    )
    assert text.count("'concept:name'") == 1  # the file's columns are listed once
    assert "(expected a column named 'case_id', found the columns 'case:concept:name'," in text


@pytest.mark.parametrize(
    ("header", "role", "like"),
    [
        (["CaseID", "Activity", "Time"], "case", "'CaseID'"),
        (["case_id", "Activity", "Time"], "activity", "'Activity'"),
        (
            ["case_id", "activity", "Complete Timestamp", "status"],
            "timestamp",
            "'Complete Timestamp'",
        ),
    ],
)
def test_each_missing_role_names_its_look_alikes_and_its_flag(
    header: list[str], role: str, like: str
) -> None:
    with pytest.raises(MissingColumnError) as info:
        SourceMapping().resolve(header, file="log.csv")
    assert f"no {role} column: columns that look like one: {like}; pass --{role} COLUMN" in str(
        info.value
    )
    assert "'status'" not in str(info.value).split(";")[0]  # status is no timestamp


def test_a_megabyte_header_gives_a_short_message() -> None:
    header = ["x" * 1_000_000, "activity", "timestamp"]
    with pytest.raises(MissingColumnError) as info:
        SourceMapping().resolve(header, file="big.csv")
    assert len(str(info.value)) < 600
    assert len(str(info.value.problem())) < 1_500


def test_an_unknown_mapping_field_suggests_the_close_one() -> None:
    with pytest.raises(MappingError) as info:
        check_mapping_keys({"case_column": "x"})
    assert "unknown mapping field 'case_column'; did you mean 'case'" in str(info.value)
