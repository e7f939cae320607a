"""Designed journey maps: phases, touchpoints, flows, time frames and rules; read, check, write.

A map is TOML (the main format), JSON or YAML, all with one schema (`map.schema.json`).
Every problem in a file is reported at once, each with its line and the offending id.
Without `[journey].flows` the default rule applies: each touchpoint may go to every *other*
touchpoint of its phase and to every touchpoint of the next phase that has touchpoints. No
self-loops: a repeated touchpoint is *rework*, a deviation of its own, never a flow.
Unobservable touchpoints (TV, word of mouth) are part of the map but never expected in a log:
`allowed` and `transition_matrix` look through them (a -> tv_ad -> b allows a -> b).
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .durations import format_duration, parse_duration
from .errors import MapValidationError

MapFormat = Literal["toml", "json", "yaml"]
RuleKind = Literal["within", "not_while_open"]
FORMATS: dict[str, MapFormat] = {
    ".toml": "toml",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
}
SCHEMA_PATH = Path(__file__).with_name("map.schema.json")
KeyPath = tuple[str | int, ...]  # where in the file: ("touchpoints", 3, "phase")


@dataclass(frozen=True)
class MapProblem:
    """One problem in a map: where (key path, then line), the offending id, what is wrong."""

    path: KeyPath
    id: str | None
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"line", "id", "message", "path"}."""
        where = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in self.path)
        return {"line": self.line, "id": self.id, "message": self.message, "path": where[1:]}


@dataclass(frozen=True)
class Phase:
    """One phase of the journey, in journey order; `max`: the longest a journey should spend in it."""

    id: str
    name: str
    synonyms: tuple[str, ...] = ()
    max: timedelta | None = None


@dataclass(frozen=True)
class Touchpoint:
    """One designed touchpoint; `id` is the activity name in the log."""

    id: str
    phase: str
    channel: str | None = None
    observable: bool = True  # False: TV, billboard, word of mouth; never reported as skipped
    off_stage: bool = False  # back office the customer never sees
    moment_of_truth: bool = False
    owner: str | None = None
    intended_value: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """The name a person reads: `name`, or the id when the map gives none."""
        return self.name or self.id


@dataclass(frozen=True)
class TimeFrame:
    """The first `to_touchpoint` after the first `from_touchpoint` must come within `max`."""

    from_touchpoint: str
    to_touchpoint: str
    max: timedelta


@dataclass(frozen=True)
class Rule:
    """An orchestration rule; breaches are deviations like the others.

    within: every `after` must be followed by a `then` within `max`
        ("`callback` within 24h after `call_abandoned`").
    not_while_open: no `event` between an `opened_by` and the next `closed_by`
        ("no `promo_email` while a `complaint` is open until `case_closed`").
    """

    kind: RuleKind
    after: str | None = None
    then: str | None = None
    max: timedelta | None = None
    event: str | None = None
    opened_by: str | None = None
    closed_by: str | None = None
    name: str | None = None

    @property
    def touchpoints(self) -> tuple[str, ...]:
        """The touchpoint ids this rule names."""
        names = (self.after, self.then, self.event, self.opened_by, self.closed_by)
        return tuple(n for n in names if n is not None)

    def describe(self) -> str:
        """The rule as a sentence."""
        if self.kind == "within":
            limit = format_duration(self.max) if self.max is not None else "?"
            return f"`{self.then}` within {limit} after `{self.after}`"
        return f"no `{self.event}` while a `{self.opened_by}` is open until `{self.closed_by}`"


@dataclass(frozen=True, kw_only=True)
class DesignedMap:
    """A designed journey map; every instance is valid (checked on construction)."""

    name: str
    version: str = "as-is"
    phases: tuple[Phase, ...]
    touchpoints: tuple[Touchpoint, ...]
    start: tuple[str, ...]
    goal: tuple[str, ...]
    flows: tuple[tuple[str, str], ...]
    time_frames: tuple[TimeFrame, ...] = ()
    rules: tuple[Rule, ...] = ()
    explicit_flows: bool = True  # False: `flows` came from the default rule (not written out)

    def __post_init__(self) -> None:
        problems = check_map_parts(
            self.phases,
            self.touchpoints,
            self.start,
            self.goal,
            self.flows,
            self.time_frames,
            self.rules,
        )
        if problems:
            raise _map_error(problems, file=None)

    # -- lookups --------------------------------------------------------------------
    @cached_property
    def phase_index(self) -> dict[str, int]:
        """Phase id -> position in journey order (0 first)."""
        return {p.id: i for i, p in enumerate(self.phases)}

    @cached_property
    def touchpoint_index(self) -> dict[str, Touchpoint]:
        """Touchpoint id -> touchpoint."""
        return {t.id: t for t in self.touchpoints}

    def phase_of(self, touchpoint: str) -> Phase | None:
        """The phase of a touchpoint id; None for an activity the map does not know."""
        tp = self.touchpoint_index.get(touchpoint)
        return None if tp is None else self.phases[self.phase_index[tp.phase]]

    @cached_property
    def observable(self) -> frozenset[str]:
        """Ids of the touchpoints a log can show."""
        return frozenset(t.id for t in self.touchpoints if t.observable)

    @cached_property
    def allowed(self) -> frozenset[tuple[str, str]]:
        """Designed flows as a log shows them: flows between observable touchpoints, also
        through unobservable ones (a -> tv_ad -> b allows a -> b), plus the flows as written."""
        succ: dict[str, list[str]] = {}
        for a, b in self.flows:
            succ.setdefault(a, []).append(b)
        out = set(self.flows)
        for a in self.observable:
            out.update((a, b) for b in self._observable_successors(succ, succ.get(a, [])))
        return frozenset(out)

    @cached_property
    def observable_start(self) -> frozenset[str]:
        """Touchpoints a journey may show first: observable starts, and observable touchpoints
        reached from an unobservable start through unobservable ones only."""
        succ: dict[str, list[str]] = {}
        for a, b in self.flows:
            succ.setdefault(a, []).append(b)
        hidden = [s for s in self.start if s not in self.observable]
        found = self._observable_successors(succ, hidden, include_roots=False)
        return frozenset(s for s in self.start if s in self.observable) | found

    def _observable_successors(
        self, succ: dict[str, list[str]], roots: Iterable[str], *, include_roots: bool = True
    ) -> frozenset[str]:
        found: set[str] = set()
        seen: set[str] = set()
        stack = list(roots)
        if not include_roots:
            stack = [b for r in stack for b in succ.get(r, [])]
        while stack:
            node = stack.pop()
            if node in self.observable:
                found.add(node)
            elif node not in seen:
                seen.add(node)
                stack.extend(succ.get(node, []))
        return frozenset(found)

    # -- arrays for the comparison kernel --------------------------------------------
    def transition_matrix(
        self, activities: Sequence[str], *, repeats: bool = False
    ) -> NDArray[np.bool_]:
        """bool[n+1, n+1]: [i, j] is a designed flow from activities[i] to activities[j].

        Row and column n stand for any activity outside the map (all False). With
        `repeats`, every mapped activity may also follow itself (rework is not a hidden path).
        """
        n = len(activities)
        code = {a: i for i, a in enumerate(activities)}
        out = np.zeros((n + 1, n + 1), dtype=np.bool_)
        pairs = [(code[a], code[b]) for a, b in self.allowed if a in code and b in code]
        if pairs:
            rows, cols = np.array(pairs, dtype=np.int64).T
            out[rows, cols] = True
        if repeats:
            mapped = [code[t.id] for t in self.touchpoints if t.id in code]
            out[mapped, mapped] = True
        return out

    def phase_codes(self, activities: Sequence[str]) -> NDArray[np.int32]:
        """int32[n+1]: phase position of each activity; -1 for activities outside the map."""
        out = np.full(len(activities) + 1, -1, dtype=np.int32)
        for i, a in enumerate(activities):
            tp = self.touchpoint_index.get(a)
            if tp is not None:
                out[i] = self.phase_index[tp.phase]
        return out

    def mask(self, activities: Sequence[str], ids: Iterable[str]) -> NDArray[np.bool_]:
        """bool[n+1]: which activities are among `ids` (e.g. `observable_start`, `goal`)."""
        wanted = set(ids)
        return np.array([a in wanted for a in activities] + [False], dtype=np.bool_)

    # -- writing --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The map in the file schema (durations as text), JSON-ready."""
        out: dict[str, Any] = {"name": self.name, "version": self.version}
        out["phases"] = [_phase_dict(p) for p in self.phases]
        out["touchpoints"] = [_touchpoint_dict(t) for t in self.touchpoints]
        journey: dict[str, Any] = {"start": list(self.start), "goal": list(self.goal)}
        if self.explicit_flows:
            journey["flows"] = [list(f) for f in self.flows]
        out["journey"] = journey
        if self.time_frames:
            out["time_frames"] = [
                {"from": t.from_touchpoint, "to": t.to_touchpoint, "max": _duration(t.max)}
                for t in self.time_frames
            ]
        if self.rules:
            out["rules"] = [_rule_dict(r) for r in self.rules]
        return out

    def to_toml(self) -> str:
        """The map as TOML text, in a fixed layout (`parse_map` reads it back equal)."""
        return _dump_toml(self.to_dict())

    def to_json(self) -> str:
        """The map as JSON text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_yaml(self) -> str:
        """The map as YAML text."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def default_flows(
    phases: Sequence[Phase], touchpoints: Sequence[Touchpoint]
) -> tuple[tuple[str, str], ...]:
    """The default rule: to every other touchpoint of the same phase and every one of the next
    phase that has touchpoints (no self-loops: a repeat is rework)."""
    groups = [[t.id for t in touchpoints if t.phase == p.id] for p in phases]
    groups = [g for g in groups if g]
    flows = []
    for i, group in enumerate(groups):
        nxt = groups[i + 1] if i + 1 < len(groups) else []
        flows += [(a, b) for a in group for b in group if a != b]
        flows += [(a, b) for a in group for b in nxt]
    return tuple(flows)


# -- reading ------------------------------------------------------------------------------
def load_map(path: str | Path) -> DesignedMap:
    """Read a map file (.toml, .json, .yaml/.yml); errors name the file, line and id."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise MapValidationError(
            f"cannot tell the format of {path.name!r} from its suffix",
            file=path.name,
            expected="a .toml, .json, .yaml or .yml file",
            found=path.suffix or "no suffix",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MapValidationError(f"cannot read the map: {exc}", file=path.name) from exc
    return parse_map(text, format=fmt, file=path.name)


def parse_map(text: str, *, format: MapFormat = "toml", file: str | None = None) -> DesignedMap:
    """Parse and check map text; all problems are reported, the first in the message."""
    raw, locator = _parse_text(text, format, file)
    problems: list[MapProblem] = []
    parts = _read_parts(raw, problems)
    if parts is not None:  # also after structural problems: report everything at once
        problems += check_map_parts(
            parts.phases,
            parts.touchpoints,
            parts.start,
            parts.goal,
            parts.flows if parts.flows is not None else (),
            parts.time_frames,
            parts.rules,
            time_frame_paths=parts.time_frame_paths,
        )
    if not problems:  # last: a guard that the published schema and this module agree
        problems += _schema_problems(raw)
    if problems or parts is None:
        raise _map_error(problems, file=file, locator=locator)
    flows = parts.flows
    return DesignedMap(
        name=parts.name,
        version=parts.version,
        phases=parts.phases,
        touchpoints=parts.touchpoints,
        start=parts.start,
        goal=parts.goal,
        flows=tuple(dict.fromkeys(flows))
        if flows is not None
        else default_flows(parts.phases, parts.touchpoints),
        time_frames=parts.time_frames,
        rules=parts.rules,
        explicit_flows=flows is not None,
    )


def check_map_parts(
    phases: Sequence[Phase],
    touchpoints: Sequence[Touchpoint],
    start: Sequence[str],
    goal: Sequence[str],
    flows: Sequence[tuple[str, str]],
    time_frames: Sequence[TimeFrame],
    rules: Sequence[Rule],
    *,
    time_frame_paths: Sequence[KeyPath] | None = None,
) -> list[MapProblem]:
    """Every semantic problem of a map: duplicate ids, unknown phases and touchpoints."""
    problems: list[MapProblem] = []
    add = problems.append
    phase_ids: set[str] = set()
    for i, p in enumerate(phases):
        if p.id in phase_ids:
            add(MapProblem(("phases", i, "id"), p.id, f"duplicate phase id {p.id!r}"))
        phase_ids.add(p.id)
    known: dict[str, Touchpoint] = {}
    for i, t in enumerate(touchpoints):
        if t.id in known:
            add(MapProblem(("touchpoints", i, "id"), t.id, f"duplicate touchpoint id {t.id!r}"))
        known.setdefault(t.id, t)
        if t.phase not in phase_ids:
            add(
                MapProblem(
                    ("touchpoints", i, "phase"),
                    t.phase,
                    f"touchpoint {t.id!r} is in unknown phase {t.phase!r}"
                    f" ({known_list(t.phase, [p.id for p in phases])})",
                )
            )

    def unknown(path: KeyPath, tid: str, what: str) -> None:
        if tid not in known:
            text = f"{what} names unknown touchpoint {tid!r} ({known_list(tid, known)})"
            add(MapProblem(path, tid, text))

    for key, ids in (("start", start), ("goal", goal)):
        if not ids:
            add(MapProblem(("journey", key), None, f"journey {key} lists no touchpoint"))
        for i, tid in enumerate(ids):
            unknown(("journey", key, i), tid, f"journey {key}")
    for i, tid in enumerate(goal):
        if tid in known and not known[tid].observable:
            text = f"goal touchpoint {tid!r} is not observable, so no journey could reach it"
            add(MapProblem(("journey", "goal", i), tid, text))
    for i, (a, b) in enumerate(flows):
        for j, tid in enumerate((a, b)):
            unknown(("journey", "flows", i, j), tid, f"flow {[a, b]!r}")
    paths = time_frame_paths or [("time_frames", i) for i in range(len(time_frames))]
    for path, tf in zip(paths, time_frames, strict=True):
        what = f"time frame {tf.from_touchpoint!r} -> {tf.to_touchpoint!r}"
        unknown((*path, "from"), tf.from_touchpoint, what)
        unknown((*path, "to"), tf.to_touchpoint, what)
    for i, rule in enumerate(rules):
        needed = ("after", "then", "max") if rule.kind == "within" else _OPEN_FIELDS
        for name in needed:
            if getattr(rule, name) is None:
                text = f"rule {i + 1} ({rule.kind}) needs {name!r}; it has {', '.join(needed)}"
                add(MapProblem(("rules", i), rule.kind, text))
        for name in ("after", "then", "event", "opened_by", "closed_by"):
            value = getattr(rule, name)
            if value is not None:
                unknown(("rules", i, name), value, f"rule {i + 1} ({rule.kind}) {name}")
    return problems


_OPEN_FIELDS = ("event", "opened_by", "closed_by")


# -- writing helpers ----------------------------------------------------------------------
def _duration(delta: timedelta) -> str | float:
    # Whole seconds read best as text; fractions stay exact as a number of seconds.
    return format_duration(delta) if delta.microseconds == 0 else delta.total_seconds()


def _phase_dict(p: Phase) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id, "name": p.name}
    if p.synonyms:
        out["synonyms"] = list(p.synonyms)
    if p.max is not None:
        out["max"] = _duration(p.max)
    return out


def _touchpoint_dict(t: Touchpoint) -> dict[str, Any]:
    out: dict[str, Any] = {"id": t.id}
    if t.name is not None:
        out["name"] = t.name
    out["phase"] = t.phase
    if t.channel is not None:
        out["channel"] = t.channel
    out["observable"] = t.observable
    for key in ("off_stage", "moment_of_truth"):
        if getattr(t, key):
            out[key] = True
    for key in ("owner", "intended_value"):
        if getattr(t, key) is not None:
            out[key] = getattr(t, key)
    return out


def _rule_dict(r: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": r.kind}
    if r.name is not None:
        out["name"] = r.name
    for key in ("after", "then", "event", "opened_by", "closed_by"):
        if getattr(r, key) is not None:
            out[key] = getattr(r, key)
    if r.max is not None:
        out["max"] = _duration(r.max)
    return out


# -- reading: syntax, structure ----------------------------------------------------------
@dataclass(frozen=True)
class _Parts:
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


Locator = Callable[[KeyPath, "str | None"], "int | None"]
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


def _parse_text(text: str, fmt: MapFormat, file: str | None) -> tuple[Any, Locator]:
    line: int | None = None
    try:
        if fmt == "toml":
            raw: Any = tomllib.loads(text)
        elif fmt == "json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
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
    lines = _toml_lines(text) if fmt == "toml" else _node_lines(text)

    def locate(path: KeyPath, tid: str | None) -> int | None:
        if not path:
            return 1
        for k in range(len(path), 0, -1):
            if path[:k] in lines:
                return lines[path[:k]]
        if tid:
            for n, row in enumerate(text.splitlines(), 1):
                if f'"{tid}"' in row or f"'{tid}'" in row:
                    return n
        return None

    return raw, locate


def _syntax_error(reason: str, line: int | None, fmt: str, file: str | None) -> MapValidationError:
    problem = MapProblem((), None, f"not valid {fmt.upper()}: {reason}", line)
    return _map_error([problem], file=file)


def _read_parts(raw: Any, problems: list[MapProblem]) -> _Parts | None:
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
    return _Parts(
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
        problems.append(MapProblem(path, None, f"{what} must be a table, found {value!r}"))
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
            shown = item if not isinstance(item, list | dict) else json.dumps(item)[:60]
            text = f"{what}: {key} must be {_EXPECTED[spec[key]]}, found {shown!r}"
            problems.append(MapProblem((*path, key), str(shown), text))
    for key in required:
        if key not in value:
            problems.append(MapProblem(path, tid, f"{what} has no {key!r}"))
    return out


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


def _schema_problems(raw: Any) -> list[MapProblem]:
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


def _map_error(
    problems: Sequence[MapProblem], *, file: str | None, locator: Locator | None = None
) -> MapValidationError:
    if locator is not None:
        problems = [
            p if p.line is not None else replace(p, line=locator(p.path, p.id)) for p in problems
        ]
    if not problems:
        problems = [MapProblem((), None, "the map is invalid")]
    problems = sorted(problems, key=lambda p: p.line if p.line is not None else 1 << 30)
    first = problems[0]
    where = ", ".join(x for x in (file, f"line {first.line}" if first.line else None) if x)
    message = f"{where}: {first.message}" if where else first.message
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return MapValidationError(
        message,
        file=file,
        extra={
            "line": first.line,
            "id": first.id,
            "problems": [p.to_dict() for p in problems],
        },
    )


def known_list(name: str, known: Iterable[str], limit: int = 12) -> str:
    """'did you mean X? known: a, b, c' for an unknown name."""
    names = list(dict.fromkeys(known))
    hint = difflib.get_close_matches(name, names, n=1)
    shown = ", ".join(names[:limit]) + (f", ... {len(names)} in all" if len(names) > limit else "")
    return (f"did you mean {hint[0]!r}? " if hint else "") + f"known: {shown or 'none'}"


# -- line numbers -------------------------------------------------------------------------
def _node_lines(text: str) -> dict[KeyPath, int]:
    """Line of every key and list item of a YAML or JSON document (1-based)."""
    import yaml

    out: dict[KeyPath, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:  # JSON that YAML cannot read: fall back to searching the text
        return out

    def walk(node: Any, path: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                out.setdefault((*path, key.value), key.start_mark.line + 1)
                walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out.setdefault((*path, i), item.start_mark.line + 1)
                walk(item, (*path, i))

    walk(root, ())
    return out


def _toml_lines(text: str) -> dict[KeyPath, int]:
    """Line of every table, key and array item of a TOML document (1-based)."""
    out: dict[KeyPath, int] = {}
    lines = text.splitlines()
    counts: dict[str, int] = {}
    table: KeyPath = ()
    i = 0
    while i < len(lines):
        row = lines[i].strip()
        if row.startswith("[["):
            name = row[2:].split("]]")[0].strip().strip("\"'")
            counts[name] = counts.get(name, 0) + 1
            table = (name, counts[name] - 1)
            out.setdefault((name,), i + 1)
            out[table] = i + 1
        elif row.startswith("["):
            table = tuple(row[1:].split("]")[0].strip().split("."))
            out[table] = i + 1
        elif "=" in row and not row.startswith("#"):
            key = row.split("=", 1)[0].strip().strip("\"'")
            path = (*table, *key.split("."))
            out[path] = i + 1
            i = _scan_value(lines, i, lines[i].index("=") + 1, path, out)
        i += 1
    return out


def _scan_value(lines: list[str], i: int, pos: int, path: KeyPath, out: dict[KeyPath, int]) -> int:
    # Walk one value (arrays may span lines), noting where each array item starts.
    stack: list[int] = []
    expecting = False
    while i < len(lines):
        text = lines[i]
        while pos < len(text):
            ch = text[pos]
            if ch in " \t":
                pos += 1
                continue
            if ch == "#":
                break
            if stack and expecting and ch not in ",]":
                out.setdefault((*path, *stack), i + 1)
                expecting = False
            if ch in "\"'":
                i, pos = _skip_string(lines, i, pos)
                text = lines[i]
            elif ch == "{":
                i, pos = _skip_inline_table(lines, i, pos)
                text = lines[i]
            elif ch == "[":
                stack.append(0)
                expecting = True
                pos += 1
            elif ch == "]" and stack:
                stack.pop()
                pos += 1
            elif ch == "," and stack:
                stack[-1] += 1
                expecting = True
                pos += 1
            else:
                pos += 1
            if not stack:
                return i
        i, pos = i + 1, 0
    return len(lines) - 1


def _skip_string(lines: list[str], i: int, pos: int) -> tuple[int, int]:
    quote = lines[i][pos]
    delim = quote * 3 if lines[i].startswith(quote * 3, pos) else quote
    pos += len(delim)
    while i < len(lines):
        text = lines[i]
        while pos < len(text):
            if quote == '"' and text[pos] == "\\":
                pos += 2
            elif text.startswith(delim, pos):
                return i, pos + len(delim)
            else:
                pos += 1
        if len(delim) == 1:
            return i, pos
        i, pos = i + 1, 0
    return len(lines) - 1, len(lines[-1])


def _skip_inline_table(lines: list[str], i: int, pos: int) -> tuple[int, int]:
    depth = 0
    while i < len(lines):
        text = lines[i]
        while pos < len(text):
            ch = text[pos]
            if ch in "\"'":
                i, pos = _skip_string(lines, i, pos)
                text = lines[i]
                continue
            depth += {"{": 1, "}": -1, "[": 1, "]": -1}.get(ch, 0)
            pos += 1
            if depth == 0:
                return i, pos
        i, pos = i + 1, 0
    return len(lines) - 1, len(lines[-1])


# -- TOML writing -------------------------------------------------------------------------
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _dump_toml(data: dict[str, Any]) -> str:
    """A small deterministic TOML writer for the map schema: scalars, arrays, tables."""
    lines: list[str] = []
    tables: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        ):
            tables.append((key, value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in tables:
        header = f"[{_toml_key(key)}]" if isinstance(value, dict) else f"[[{_toml_key(key)}]]"
        for item in [value] if isinstance(value, dict) else value:
            lines += ["", header]
            lines += [f"{_toml_key(k)} = {_toml_value(v, top=True)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_value(value: Any, *, top: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        items = [_toml_value(v) for v in value]
        if top and any(isinstance(v, list) for v in value):  # flows: one pair a line
            return "[\n" + "".join(f"  {item},\n" for item in items) + "]"
        return "[" + ", ".join(items) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


__all__ = [
    "FORMATS",
    "DesignedMap",
    "MapFormat",
    "MapProblem",
    "Phase",
    "Rule",
    "RuleKind",
    "TimeFrame",
    "Touchpoint",
    "check_map_parts",
    "default_flows",
    "load_map",
    "parse_map",
]
