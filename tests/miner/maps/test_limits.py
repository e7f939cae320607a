"""Map files within bounds: size, nesting depth, number of values, no YAML aliases (issue 14)."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import pytest

from journeyminer.miner.errors import MapLimitError, MapValidationError
from journeyminer.miner.maps.designed import load_map, parse_map
from journeyminer.miner.maps.formats import read_parts
from journeyminer.miner.maps.limits import MAX_MAP_DEPTH, brief

MAPS = Path(__file__).resolve().parents[2] / "data" / "maps"
BOMB = MAPS / "alias_bomb.yaml"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_the_yaml_alias_bomb_is_refused_in_under_a_second_naming_the_limit() -> None:
    rss = _peak_rss_mb()
    started = time.perf_counter()
    with pytest.raises(MapLimitError) as caught:
        load_map(BOMB)
    assert time.perf_counter() - started < 1.0
    assert _peak_rss_mb() - rss < 100  # it grew by gigabytes before
    error = caught.value
    assert error.status == 422 and error.extra["limit"] == "yaml_aliases"
    assert "alias_bomb.yaml, line 2" in str(error) and "anchors and aliases" in str(error)


def test_a_lone_yaml_alias_is_refused_with_its_line() -> None:
    text = (MAPS / "small.yaml").read_text().replace("goal: [order_confirmed]", "goal: *x")
    with pytest.raises(MapLimitError, match=r"line 29: .*alias \*x") as caught:
        parse_map(text, format="yaml", file="m.yaml")
    assert caught.value.extra["problems"][0]["line"] == 29


def _nested(depth: int) -> str:
    return "[" * depth + '"x"' + "]" * depth


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        # 900 deep used to pass json.loads and crash the line finder (RecursionError: 500).
        ("json", '{"name": ' + _nested(900) + "}"),
        ("json", '{"name": ' + _nested(100_000) + "}"),
        ("json", '{"name": ' + _nested(MAX_MAP_DEPTH) + "}"),
        ("toml", "name = " + _nested(MAX_MAP_DEPTH) + "\n"),
        ("toml", "name = " + _nested(5_000) + "\n"),
        ("toml", "[" + ".".join(["t"] * 500) + "]\nx = 1\n"),
        ("yaml", "name: " + _nested(5_000) + "\n"),
    ],
    ids=["json-900", "json-100k", "json-limit+2", "toml-arrays", "toml-5k", "toml-tables", "yaml"],
)
def test_a_map_nested_too_deep_is_refused_naming_max_map_depth(fmt: str, text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(
        MapLimitError, match=r"deeper than the limit of 20 levels \(max_map_depth\)"
    ):
        parse_map(text, format=fmt, file=f"deep.{fmt}")  # type: ignore[arg-type]
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("fmt", ["toml", "json", "yaml"])
def test_a_map_with_too_many_values_is_refused_naming_max_map_nodes(fmt: str) -> None:
    text = (MAPS / f"small.{fmt}").read_text()
    parse_map(text, format=fmt)  # type: ignore[arg-type]
    with pytest.raises(MapLimitError, match=r"more than the limit of 20 values") as caught:
        parse_map(text, format=fmt, max_map_nodes=20)  # type: ignore[arg-type]
    assert caught.value.extra == caught.value.extra | {"limit": "max_map_nodes", "max": 20}


def test_a_map_over_max_map_bytes_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * 2000 + "\n" + (MAPS / "small.toml").read_text())
    with pytest.raises(MapLimitError, match=r"big.toml: the map is [\d,]+ bytes, more than"):
        load_map(path, max_map_bytes=1000)
    assert load_map(path).name == "Small shop"


def test_a_map_within_the_limits_still_reports_its_other_problems() -> None:
    text = (MAPS / "broken.toml").read_text()
    with pytest.raises(MapValidationError) as caught:
        parse_map(text, max_map_depth=5, max_map_nodes=1_000)
    assert not isinstance(caught.value, MapLimitError)


def test_an_error_renders_a_huge_shared_value_in_bounded_time() -> None:
    # What the alias bomb became once parsed: 10^8 references to one string.
    value: list[object] = ["x"] * 10
    for _ in range(7):
        value = [value] * 10
    started = time.perf_counter()
    problems: list = []
    read_parts({"name": value, "phases": [], "touchpoints": [], "journey": {}}, problems)
    assert time.perf_counter() - started < 0.5
    text = problems[0].message
    assert 'name must be a non-empty string, found \'[[[[[[[["x", ' in text and len(text) < 200
    assert len(brief(value)) <= 60 and brief({"a": 10**5000}) == '{"a": <int>}'
    assert brief("y" * 1000) == json.dumps("y" * 60)[:60]
