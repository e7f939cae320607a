"""Designed journey maps: phases, touchpoints, flows, time frames and rules; read, check, write.

A map is TOML (the main format), JSON or YAML, all with one schema (`map.schema.json`).
Every problem in a file is reported at once, each with its line and the offending id.
Without `[journey].flows` the default rule applies: each touchpoint may go to every *other*
touchpoint of its phase and to every touchpoint of the next phase that has touchpoints. No
self-loops: a repeated touchpoint is *rework*, a deviation of its own, never a flow.
Unobservable touchpoints (TV, word of mouth) are part of the map but never expected in a log:
`allowed` and `transition_matrix` look through them (a -> tv_ad -> b allows a -> b).
Reading the file text (syntax, structure) is `formats.py`, with line numbers from `lines.py`
and problems reported by `problems.py`; the semantic checks are `checks.py`; TOML is written by
`dump.py`; the parts of a map (phase, touchpoint, time frame, rule) are in `parts.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._typing import RuleKind
from ..durations import format_duration
from ..errors import MapValidationError
from .checks import check_map_parts
from .dump import dump_toml
from .formats import FORMATS, SCHEMA_PATH, MapFormat, parse_text, read_parts, schema_problems
from .limits import MAX_MAP_BYTES, MAX_MAP_DEPTH, MAX_MAP_NODES, check_text_size
from .parts import Phase, Rule, TimeFrame, Touchpoint
from .problems import MapProblem, map_error


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
            raise map_error(problems, file=None)

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
        return dump_toml(self.to_dict())

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
def load_map(
    path: str | Path,
    *,
    max_map_bytes: int = MAX_MAP_BYTES,
    max_map_depth: int = MAX_MAP_DEPTH,
    max_map_nodes: int = MAX_MAP_NODES,
) -> DesignedMap:
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
        # Before reading: a huge file is refused without loading it.
        check_text_size(path.stat().st_size, max_map_bytes=max_map_bytes, file=path.name)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MapValidationError(f"cannot read the map: {exc}", file=path.name) from exc
    return parse_map(
        text,
        format=fmt,
        file=path.name,
        max_map_bytes=max_map_bytes,
        max_map_depth=max_map_depth,
        max_map_nodes=max_map_nodes,
    )


def parse_map(
    text: str,
    *,
    format: MapFormat = "toml",
    file: str | None = None,
    max_map_bytes: int = MAX_MAP_BYTES,
    max_map_depth: int = MAX_MAP_DEPTH,
    max_map_nodes: int = MAX_MAP_NODES,
) -> DesignedMap:
    """Parse and check map text; all problems are reported, the first in the message.

    A text over a limit (bytes, nesting depth, values; YAML anchors) is a `MapLimitError`.
    """
    raw, locator = parse_text(
        text,
        format,
        file,
        max_map_bytes=max_map_bytes,
        max_map_depth=max_map_depth,
        max_map_nodes=max_map_nodes,
    )
    problems: list[MapProblem] = []
    parts = read_parts(raw, problems)
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
        problems += schema_problems(raw)
    if problems or parts is None:
        raise map_error(problems, file=file, locator=locator)
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


__all__ = [
    "FORMATS",
    "SCHEMA_PATH",
    "DesignedMap",
    "MapFormat",
    "Phase",
    "Rule",
    "RuleKind",
    "TimeFrame",
    "Touchpoint",
    "default_flows",
    "load_map",
    "parse_map",
]
