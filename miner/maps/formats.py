"""Map files: parse TOML, JSON or YAML map text and check its structure against the schema.

`parse_text` reads the text and a locator that turns a key path into its line (`lines.py`);
`read_parts` checks every table against the schema below and builds the map's parts,
collecting all problems at once; `problems.py` turns problems into one `MapValidationError`
(first problem in the message, all of them in `extra`). `dump.py` writes a map dict back as
stable TOML. `designed.py` owns the map itself; `checks.py` its semantic checks.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from .._typing import MapFormat
from ..durations import parse_duration
from ..errors import MapLimitError, MapValidationError
from .limits import (
    MAX_MAP_BYTES,
    MAX_MAP_DEPTH,
    MAX_MAP_NODES,
    brief,
    check_shape,
    check_text_size,
    depth_error,
    load_yaml,
)
from .lines import KeyPath, Locator, json_lines, line_locator, toml_lines, yaml_node_lines
from .parts import Phase, Rule, TimeFrame, Touchpoint
from .problems import MapProblem, known_list, map_error

FORMATS: dict[str, MapFormat] = {
    ".toml": "toml",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
}
SCHEMA_PATH = Path(__file__).with_name("map.schema.json")


@dataclass(frozen=True)
class MapParts:
    """A map's parts as read from a file, before the semantic checks; `flows` None: default."""

    name: str
    version: str
    phases: tuple[Phase, ...]
    touchpoints: tuple[Touchpoint, ...]
    start: tuple[str, ...]
    goal: tuple[str, ...]
    flows: tuple[tuple[str, str], ...] | None
    time_frames: tuple[TimeFrame, ...]
    time_frame_paths: tuple[KeyPath, ...]
    rules: tuple[Rule, ...]


_TOP = {
    "$schema": "string",
    "name": "string",
    "version": "string",
    "phases": "tables",
    "touchpoints": "tables",
    "journey": "table",
    "time_frames": "tables",
    "rules": "tables",
}
_PHASE = {"id": "string", "name": "string", "synonyms": "strings", "max": "duration"}
_TOUCHPOINT = {
    "id": "string",
    "name": "string",
    "phase": "string",
    "channel": "string",
    "observable": "bool",
    "off_stage": "bool",
    "moment_of_truth": "bool",
    "owner": "string",
    "intended_value": "string",
}
_JOURNEY = {"start": "strings", "goal": "strings", "flows": "pairs"}
_TIME_FRAME = {"from": "string", "to": "string", "phase": "string", "max": "duration"}
_RULE = {
    "kind": "kind",
    "name": "string",
    "after": "string",
    "then": "string",
    "max": "duration",
    "event": "string",
    "opened_by": "string",
    "closed_by": "string",
}
_EXPECTED = {
    "string": "a non-empty string",
    "strings": "a list of non-empty strings",
    "bool": "true or false",
    "duration": "a duration like 90s, 15m, 36h, 3d, 2w (or seconds > 0)",
    "pairs": 'a list of ["from", "to"] pairs of touchpoint ids',
    "kind": '"within" or "not_while_open"',
    "table": "a table",
    "tables": "a list of tables",
}


def parse_text(
    text: str,
    fmt: MapFormat,
    file: str | None,
    *,
    max_map_bytes: int = MAX_MAP_BYTES,
    max_map_depth: int = MAX_MAP_DEPTH,
    max_map_nodes: int = MAX_MAP_NODES,
) -> tuple[Any, Locator]:
    """The raw document and a locator (key path, id -> line); syntax errors raise at once.

    The limits (`limits.py`) are checked before and while parsing: a map over one is a
    `MapLimitError` naming it.
    """
    check_text_size(len(text.encode("utf-8")), max_map_bytes=max_map_bytes, file=file)
    line: int | None = None
    node: Any = None
    try:
        if fmt == "toml":
            raw: Any = tomllib.loads(text)
        elif fmt == "json":
            raw = json.loads(text)
        else:
            raw, node = load_yaml(
                text, max_map_depth=max_map_depth, max_map_nodes=max_map_nodes, file=file
            )
    except MapLimitError:
        raise
    except RecursionError:  # nested past Python's stack, so far past any sane max_map_depth
        raise depth_error(max_map_depth, file) from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(found.group(1)) if found else None
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", str(exc))
        raise _syntax_error(reason, line, fmt, file) from exc
    except json.JSONDecodeError as exc:
        raise _syntax_error(exc.msg, exc.lineno, fmt, file) from exc
    except Exception as exc:  # yaml.YAMLError, without importing yaml for TOML maps
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise _syntax_error(reason, line, fmt, file) from exc
    if fmt == "yaml":
        lines = yaml_node_lines(node)
    else:
        check_shape(raw, max_map_depth=max_map_depth, max_map_nodes=max_map_nodes, file=file)
        lines = (
            toml_lines(text) if fmt == "toml" else json_lines(text, max_map_depth, max_map_nodes)
        )
    return raw, line_locator(text, lines)


def _syntax_error(reason: str, line: int | None, fmt: str, file: str | None) -> MapValidationError:
    problem = MapProblem((), None, f"not valid {fmt.upper()}: {reason}", line)
    return map_error([problem], file=file)


def read_parts(raw: Any, problems: list[MapProblem]) -> MapParts | None:
    """The parts of a parsed map, each table checked; None when too little is there to go on."""

    required = ("name", "phases", "touchpoints", "journey")
    top = _table(raw, (), "the map", _TOP, required, problems)
    if top is None or any(key not in top for key in required):
        return None  # too little to check more without a flood of follow-up problems
    phases = []
    for i, item in enumerate(top.get("phases", [])):
        got = _table(item, ("phases", i), f"phase {i + 1}", _PHASE, ("id",), problems)
        if got is not None and "id" in got:
            name = got.get("name") or got["id"].replace("_", " ").capitalize()
            phases.append(Phase(got["id"], name, tuple(got.get("synonyms", ())), got.get("max")))
    touchpoints = []
    for i, item in enumerate(top.get("touchpoints", [])):
        got = _table(
            item, ("touchpoints", i), f"touchpoint {i + 1}", _TOUCHPOINT, ("id", "phase"), problems
        )
        if got is not None and "id" in got and "phase" in got:
            touchpoints.append(Touchpoint(**got))
    journey = (
        _table(top.get("journey", {}), ("journey",), "[journey]", _JOURNEY, ("goal",), problems)
        or {}
    )
    for key in ("phases", "touchpoints"):
        if key in top and not top[key]:
            problems.append(MapProblem((key,), None, f"the map lists no {key}"))
    time_frames, paths = [], []
    for i, item in enumerate(top.get("time_frames", [])):
        path: KeyPath = ("time_frames", i)
        got = _table(item, path, f"time frame {i + 1}", _TIME_FRAME, ("max",), problems)
        if got is None or "max" not in got:
            continue
        if "phase" in got:
            phases = _phase_frame(phases, got, path, problems)
        elif "from" in got and "to" in got:
            time_frames.append(TimeFrame(got["from"], got["to"], got["max"]))
            paths.append(path)
        else:
            text = f"time frame {i + 1} needs 'from' and 'to' touchpoints, or a 'phase'"
            problems.append(MapProblem(path, None, text))
    rules = []
    for i, item in enumerate(top.get("rules", [])):
        got = _table(item, ("rules", i), f"rule {i + 1}", _RULE, ("kind",), problems)
        if got is not None and "kind" in got:
            rules.append(Rule(**got))
    start = journey.get("start")
    if start is None:  # default: the first phase that has touchpoints
        firsts = [[t.id for t in touchpoints if t.phase == p.id] for p in phases]
        start = next((f for f in firsts if f), [])
    return MapParts(
        name=top.get("name", ""),
        version=top.get("version", "as-is"),
        phases=tuple(phases),
        touchpoints=tuple(touchpoints),
        start=tuple(start),
        goal=tuple(journey.get("goal", ())),
        flows=journey.get("flows"),
        time_frames=tuple(time_frames),
        time_frame_paths=tuple(paths),
        rules=tuple(rules),
    )


def _phase_frame(
    phases: list[Phase], got: dict[str, Any], path: KeyPath, problems: list[MapProblem]
) -> list[Phase]:
    # A `[[time_frames]]` with a phase is the same as `max` on that phase.
    pid = got["phase"]
    if "from" in got or "to" in got:
        text = f"time frame for phase {pid!r} names touchpoints too; give a phase or from/to"
        problems.append(MapProblem(path, pid, text))
    at = next((i for i, p in enumerate(phases) if p.id == pid), None)
    if at is None:
        text = f"time frame names unknown phase {pid!r} ({known_list(pid, [p.id for p in phases])})"
        problems.append(MapProblem((*path, "phase"), pid, text))
        return phases
    if phases[at].max is not None:
        problems.append(MapProblem((*path, "phase"), pid, f"phase {pid!r} has two time frames"))
        return phases
    return [*phases[:at], replace(phases[at], max=got["max"]), *phases[at + 1 :]]


def _table(
    value: Any,
    path: KeyPath,
    what: str,
    spec: dict[str, str],
    required: tuple[str, ...],
    problems: list[MapProblem],
) -> dict[str, Any] | None:
    """The keys of one table, each checked and converted; problems for the rest."""
    if not isinstance(value, dict):
        problems.append(MapProblem(path, None, f"{what} must be a table, found {_shown(value)!r}"))
        return None
    tid = value.get("id") if isinstance(value.get("id"), str) else None
    if tid:
        what = f"{what.split()[0]} {tid!r}"
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in spec:
            hint = difflib.get_close_matches(str(key), list(spec), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else f" (known: {', '.join(spec)})"
            problems.append(MapProblem((*path, key), key, f"{what} has unknown key {key!r}{extra}"))
            continue
        try:
            out[key] = _convert(spec[key], item)
        except ValueError:
            shown = _shown(item)
            text = f"{what}: {key} must be {_EXPECTED[spec[key]]}, found {shown!r}"
            problems.append(MapProblem((*path, key), str(shown), text))
    for key in required:
        if key not in value:
            problems.append(MapProblem(path, tid, f"{what} has no {key!r}"))
    return out


def _shown(value: Any) -> Any:
    # Short scalars as they are; anything else as bounded text: rendering a value whole
    # once expanded a YAML alias bomb to gigabytes just to cut it at 60 characters.
    if (
        value is None
        or isinstance(value, bool | float)
        or (isinstance(value, str) and len(value) <= 60)
    ):
        return value
    if isinstance(value, int) and -(10**60) < value < 10**60:
        return value
    return brief(value, 60)


def _convert(kind: str, value: Any) -> Any:
    def text(v: Any) -> str:
        if not isinstance(v, str) or not v.strip():
            raise ValueError(v)
        return v

    if kind == "string":
        return text(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(value)
        return value
    if kind == "kind":
        if value not in ("within", "not_while_open"):
            raise ValueError(value)
        return value
    if kind == "table":
        if not isinstance(value, dict):
            raise ValueError(value)
        return value
    if kind == "duration":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(value)
        try:
            delta = parse_duration(value)
        except Exception as exc:
            raise ValueError(value) from exc
        if delta <= timedelta(0):
            raise ValueError(value)
        return delta
    if not isinstance(value, list):
        raise ValueError(value)
    if kind == "strings":
        return [text(v) for v in value]
    if kind == "pairs":
        if not all(isinstance(v, list) and len(v) == 2 for v in value):
            raise ValueError(value)
        return [(text(a), text(b)) for a, b in value]
    if kind == "tables":
        return value
    raise ValueError(value)


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def schema_problems(raw: Any) -> list[MapProblem]:
    """Problems the published JSON Schema finds (a guard that it and this module agree)."""
    try:
        import jsonschema
    except ImportError:  # optional: the checks above cover the schema
        return []
    validator = jsonschema.Draft202012Validator(_schema())
    out = []
    for error in sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.path))):
        path = tuple(error.absolute_path)
        out.append(MapProblem(path, None, f"schema: {error.message}"))
    return out
