"""The semantic checks of a designed map: unique ids, known phases and touchpoints, an
observable goal, rules with the fields their kind needs."""

from __future__ import annotations

from collections.abc import Sequence

from .lines import KeyPath
from .parts import Phase, Rule, TimeFrame, Touchpoint
from .problems import MapProblem, known_list

_OPEN_FIELDS = ("event", "opened_by", "closed_by")


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
