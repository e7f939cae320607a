"""Map files (`miner/maps/formats.py`): the lines of keys in TOML, JSON and YAML text, key
paths, problems gathered into one error, the table checks, and the TOML writer's round trip."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.maps.dump import dump_toml
from journeyminer.miner.maps.formats import (
    MapProblem,
    known_list,
    map_error,
    parse_text,
    read_parts,
)

TRICKY_TOML = """\
# a comment with [brackets] and = signs
name = "Shop"
"quoted key" = 1

[[phases]]
id = "aware"   # trailing comment, ["not", "an", "array"]

[[phases]]
id = "buy"
synonyms = ["purchase, order", 'it is "x"', \"\"\"multi
line ] , [\"\"\",
  "last"]

[[touchpoints]]
id = "land"
phase = "aware"
owner = { team = "web", ids = [1, 2] }

[journey]
goal = ["land"]
flows = [
  ["land", "land"],   # a comment, with a comma
  [
    "land",
    "land",
  ],
]
"""


def _line(text: str, needle: str) -> int:
    return next(n for n, row in enumerate(text.splitlines(), 1) if needle in row)


def _locate(text: str, fmt: str, path: tuple[str | int, ...], tid: str | None = None) -> int | None:
    _, locate = parse_text(text, fmt, None)  # type: ignore[arg-type]
    return locate(path, tid)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("name",), 2),
        (("quoted key",), 3),
        (("phases",), 5),  # an array of tables: its first header
        (("phases", 0, "id"), 6),
        (("phases", 1), 8),
        (("phases", 1, "synonyms", 0), 10),
        (("phases", 1, "synonyms", 2), 10),  # a multi-line string starts on its first line
        (("phases", 1, "synonyms", 3), 12),  # after that string's ] and ,
        (("touchpoints", 0, "owner"), 17),
        (("journey", "flows"), 21),
        (("journey", "flows", 0), 22),
        (("journey", "flows", 1), 23),
        (("journey", "flows", 1, 0), 24),
        (("journey", "flows", 1, 1), 25),
    ],
)
def test_toml_keys_and_array_items_are_found_on_their_lines(
    path: tuple[str | int, ...], line: int
) -> None:
    assert _locate(TRICKY_TOML, "toml", path) == line


def test_the_tricky_toml_is_valid_toml() -> None:
    data = tomllib.loads(TRICKY_TOML)
    assert data["phases"][1]["synonyms"] == [
        "purchase, order",
        'it is "x"',
        "multi\nline ] , [",
        "last",
    ]
    assert data["journey"]["flows"] == [["land", "land"], ["land", "land"]]


def test_a_path_deeper_than_the_file_goes_is_found_at_its_nearest_known_key() -> None:
    at = _line(TRICKY_TOML, "owner = {")
    assert _locate(TRICKY_TOML, "toml", ("touchpoints", 0, "owner", "team")) == at
    assert _locate(TRICKY_TOML, "toml", ()) == 1


def test_a_path_the_file_lacks_falls_back_to_the_quoted_id() -> None:
    assert _locate(TRICKY_TOML, "toml", ("rules", 0), "buy") == _line(TRICKY_TOML, '"buy"')
    assert _locate(TRICKY_TOML, "toml", ("rules", 0), "nowhere") is None


YAML = """\
name: Shop
phases:
  - id: aware
  - id: buy
    synonyms: [purchase, order]
touchpoints:
  -
    id: land
    phase: aware
journey: {goal: [land]}
"""

JSON = """{
  "name": "Shop",
  "phases": [
    {"id": "aware"},
    {
      "id": "buy",
      "synonyms": ["purchase",
                   "order"]
    }
  ],
  "journey": {"goal": ["land"]}
}
"""


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        (("phases", 1, "id"), "id: buy"),
        (("phases", 1, "synonyms", 1), "synonyms: [purchase, order]"),
        (("touchpoints", 0), "id: land"),  # the item starts at its first key
        (("touchpoints", 0, "phase"), "phase: aware"),
        (("journey", "goal", 0), "journey: {goal"),
    ],
)
def test_yaml_keys_and_items_are_found_on_their_lines(
    path: tuple[str | int, ...], needle: str
) -> None:
    assert _locate(YAML, "yaml", path) == _line(YAML, needle)


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        (("name",), '"name"'),
        (("phases", 0, "id"), '{"id": "aware"}'),
        (("phases", 1, "synonyms", 1), '"order"]'),
        (("journey", "goal"), '"journey"'),
    ],
)
def test_json_keys_and_items_are_found_on_their_lines(
    path: tuple[str | int, ...], needle: str
) -> None:
    assert _locate(JSON, "json", path) == _line(JSON, needle)


# -- problems and the error ------------------------------------------------------------------
def test_a_problem_names_its_key_path_with_indexes_in_brackets() -> None:
    problem = MapProblem(("touchpoints", 3, "phase"), "checkout", "bad phase", 12)
    assert problem.to_dict() == {
        "line": 12,
        "id": "checkout",
        "message": "bad phase",
        "path": "touchpoints[3].phase",
    }
    assert (
        MapProblem(("journey", "flows", 0, 1), None, "x").to_dict()["path"] == "journey.flows[0][1]"
    )
    assert MapProblem((), None, "x").to_dict()["path"] == ""


def test_the_error_leads_with_the_first_problem_by_line_and_counts_the_rest() -> None:
    problems = [
        MapProblem(("b",), "b", "second"),
        MapProblem(("a",), "a", "first"),
        MapProblem(("c",), None, "unplaced"),
    ]
    lines = {("a",): 3, ("b",): 7}
    err = map_error(problems, file="m.toml", locator=lambda path, _: lines.get(path))
    assert str(err) == "m.toml, line 3: first (and 2 more problems)"
    assert [p["line"] for p in err.extra["problems"]] == [3, 7, None]
    assert (err.extra["line"], err.extra["id"], err.file) == (3, "a", "m.toml")
    two = map_error(problems[:2], file=None, locator=lambda path, _: lines.get(path))
    assert str(two) == "line 3: first (and 1 more problem)"
    assert str(map_error([], file="m.toml")) == "m.toml: the map is invalid"


def test_a_problem_that_knows_its_line_keeps_it() -> None:
    err = map_error([MapProblem(("a",), None, "x", line=9)], file=None, locator=lambda *_: 1)
    assert err.extra["line"] == 9


def test_known_list_suggests_the_closest_name_and_cuts_long_lists() -> None:
    assert (
        known_list("ckeckout", ["cart", "checkout"])
        == "did you mean 'checkout'? known: cart, checkout"
    )
    names = [f"t{i:02d}" for i in range(20)]
    assert known_list("zzz", names, limit=3) == "known: t00, t01, t02, ... 20 in all"
    assert known_list("x", []) == "known: none"


# -- the table checks ------------------------------------------------------------------------
BASE: dict[str, Any] = {
    "name": "m",
    "phases": [{"id": "aware"}, {"id": "buy_now"}],
    "touchpoints": [{"id": "ad", "phase": "buy_now"}, {"id": "pay", "phase": "buy_now"}],
    "journey": {"goal": ["pay"]},
}


def _parts(**changes: Any) -> tuple[Any, list[MapProblem]]:
    problems: list[MapProblem] = []
    return read_parts({**BASE, **changes}, problems), problems


def test_parts_default_the_start_to_the_first_phase_with_touchpoints_and_name_phases() -> None:
    parts, problems = _parts()
    assert problems == []
    assert parts.start == ("ad", "pay") and parts.flows is None
    assert [p.name for p in parts.phases] == ["Aware", "Buy now"]
    assert parts.version == "as-is"


def test_a_time_frame_with_a_phase_sets_that_phases_max() -> None:
    parts, problems = _parts(
        time_frames=[{"phase": "buy_now", "max": "2h"}, {"from": "ad", "to": "pay", "max": 90}]
    )
    assert problems == []
    assert [p.max for p in parts.phases] == [None, timedelta(hours=2)]
    assert [(t.from_touchpoint, t.max) for t in parts.time_frames] == [
        ("ad", timedelta(seconds=90))
    ]
    assert parts.time_frame_paths == (("time_frames", 1),)


@pytest.mark.parametrize(
    ("frames", "path", "message"),
    [
        ([{"phase": "buy", "max": "1h"}], ("time_frames", 0, "phase"), "unknown phase 'buy'"),
        (
            [{"phase": "aware", "max": "1h"}, {"phase": "aware", "max": "2h"}],
            ("time_frames", 1, "phase"),
            "phase 'aware' has two time frames",
        ),
        (
            [{"phase": "aware", "from": "ad", "max": "1h"}],
            ("time_frames", 0),
            "names touchpoints too",
        ),
        ([{"from": "ad", "max": "1h"}], ("time_frames", 0), "needs 'from' and 'to'"),
        (
            [{"from": "ad", "to": "pay", "max": True}],
            ("time_frames", 0, "max"),
            "max must be a duration",
        ),
        (
            [{"from": "ad", "to": "pay", "max": -5}],
            ("time_frames", 0, "max"),
            "max must be a duration",
        ),
    ],
)
def test_each_bad_time_frame_is_a_problem_at_its_key_path(
    frames: list[dict[str, Any]], path: tuple[str | int, ...], message: str
) -> None:
    _, problems = _parts(time_frames=frames)
    assert [p.path for p in problems] == [path]
    assert message in problems[0].message


def test_a_map_without_its_required_tables_yields_no_parts_and_says_what_is_missing() -> None:
    problems: list[MapProblem] = []
    assert read_parts({"name": "m", "phases": []}, problems) is None
    assert [p.message for p in problems] == [
        "the map has no 'touchpoints'",
        "the map has no 'journey'",
    ]
    assert read_parts(["not", "a", "table"], problems) is None


# -- the TOML writer -------------------------------------------------------------------------
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
scalar = text | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False)
array = st.recursive(
    st.lists(scalar, max_size=4), lambda inner: st.lists(inner, max_size=3), max_leaves=8
)
value = scalar | array
table = st.dictionaries(text, value, max_size=4)
document = st.dictionaries(
    text,
    value | table | st.lists(table.filter(bool), min_size=1, max_size=3),
    max_size=5,
)


@given(document)
def test_dump_toml_reads_back_as_the_same_document(data: dict[str, Any]) -> None:
    assert tomllib.loads(dump_toml(data)) == data


def test_dump_toml_writes_flows_one_pair_a_line_and_escapes_control_characters() -> None:
    out = dump_toml({"name": 'a "b"\n\x01', "journey": {"flows": [["a", "b"], ["b", "c"]]}})
    assert out == (
        'name = "a \\"b\\"\\n\\u0001"\n\n[journey]\nflows = [\n  ["a", "b"],\n  ["b", "c"],\n]\n'
    )
    assert tomllib.loads(out)["name"] == 'a "b"\n\x01'


def test_dump_toml_refuses_values_toml_cannot_hold() -> None:
    with pytest.raises(TypeError, match="cannot write NoneType as TOML"):
        dump_toml({"a": None})
