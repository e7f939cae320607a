"""A designed map from a process model: a Petri net (PNML) or a BPMN file, read with pm4py (the
optional extra), its labelled transitions as touchpoints and the reachable label-to-label steps
as flows."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from ..errors import MapValidationError
from .designed import DesignedMap, Phase, Touchpoint

_MAX_STATES = 100_000


def map_from_petri_net(path: str | Path, *, name: str | None = None) -> DesignedMap:
    """A map from a PNML Petri net (pm4py extra): visible transitions become touchpoints."""
    pm4py = _require_pm4py()
    try:
        net, initial, final = pm4py.read_pnml(str(path))
    except Exception as exc:
        raise MapValidationError(f"cannot read the Petri net: {exc}", file=Path(path).name) from exc
    return _map_from_net(net, initial, final, name or Path(path).stem, Path(path).name)


def map_from_bpmn(path: str | Path, *, name: str | None = None) -> DesignedMap:
    """A map from a BPMN file (pm4py extra): tasks become touchpoints."""
    pm4py = _require_pm4py()
    try:
        net, initial, final = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))
    except Exception as exc:
        raise MapValidationError(
            f"cannot read the BPMN model: {exc}", file=Path(path).name
        ) from exc
    return _map_from_net(net, initial, final, name or Path(path).stem, Path(path).name)


def _map_from_net(net: Any, initial: Any, final: Any, name: str, file: str) -> DesignedMap:
    """Touchpoints, flows, start and goal from the net's state space, in one phase.

    Flows are the directly-follows pairs of visible labels over every firing sequence
    (silent transitions looked through); goals are labels after which the final marking
    can be reached silently.
    """
    transitions = sorted(net.transitions, key=lambda t: (str(t.name), str(t.label)))
    arcs = [
        (
            t,
            [(a.source, a.weight) for a in t.in_arcs],
            [(a.target, a.weight) for a in t.out_arcs],
        )
        for t in transitions
    ]
    target = frozenset(final.items())
    first = (frozenset(initial.items()), None)
    seen = {first}
    queue = deque([first])
    flows: dict[tuple[str, str], None] = {}
    start: dict[str, None] = {}
    goal: dict[str, None] = {}
    while queue:
        marking, last = queue.popleft()
        if marking == target and last is not None:
            goal[last] = None
        tokens = dict(marking)
        for t, needs, gives in arcs:
            if any(tokens.get(p, 0) < w for p, w in needs):
                continue
            after = dict(tokens)
            for p, w in needs:
                after[p] -= w
            for p, w in gives:
                after[p] = after.get(p, 0) + w
            label = t.label if t.label is not None else last
            if t.label is not None and last is None:
                start[t.label] = None
            elif t.label is not None:
                flows[(last, t.label)] = None
            state = (frozenset((p, n) for p, n in after.items() if n), label)
            if state not in seen:
                if len(seen) >= _MAX_STATES:
                    raise MapValidationError(
                        f"the model has more than {_MAX_STATES} states (unbounded?)",
                        file=file,
                        expected="a bounded workflow net",
                    )
                seen.add(state)
                queue.append(state)
    labels = list(dict.fromkeys(t.label for t in transitions if t.label is not None))
    if not labels or not goal:
        raise MapValidationError(
            "the model has no visible task that reaches its end",
            file=file,
            expected="a workflow net with labelled transitions from start to end",
        )
    order = _bfs_order(labels, list(start), list(flows))
    phase = Phase("journey", "Journey")
    return DesignedMap(
        name=name,
        phases=(phase,),
        touchpoints=tuple(Touchpoint(label, phase.id) for label in order),
        start=tuple(sorted(start)),
        goal=tuple(sorted(goal)),
        flows=tuple(sorted(flows)),
    )


def _bfs_order(labels: list[str], start: list[str], flows: list[tuple[str, str]]) -> list[str]:
    # Journey order: by distance from the start, then by name; unreachable labels last.
    succ: dict[str, list[str]] = {}
    for a, b in sorted(flows):
        succ.setdefault(a, []).append(b)
    depth = {s: 0 for s in start}
    queue = deque(sorted(start))
    while queue:
        a = queue.popleft()
        for b in succ.get(a, []):
            if b not in depth:
                depth[b] = depth[a] + 1
                queue.append(b)
    return sorted(labels, key=lambda x: (depth.get(x, len(labels)), x))


def _require_pm4py() -> Any:
    try:
        import pm4py
    except ImportError as exc:
        raise ImportError(
            "reading BPMN or Petri nets needs pm4py: pip install 'journeyminer[pm4py]'"
        ) from exc
    return pm4py
