"""A slow, obviously-correct twin of the comparison with a designed map, and map strategies.

`naive_compare` walks every journey event by event in plain Python, straight from the
semantics in `miner/compare/comparison.py`; tests hold `compare_to_map` to it. `designed_maps()` draws
small valid maps over a pool of activity names, for hypothesis tests.
"""

from __future__ import annotations

from collections import deque
from datetime import timedelta
from itertools import pairwise
from typing import Any

from hypothesis import strategies as st

from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import DesignedMap, Phase, Rule, TimeFrame, Touchpoint

POOL = ("a", "b", "c", "d", "e", "café ☕", "注文")
UNKNOWN = ("x", "🚀 launch")
FIT = {"unknown_touchpoint", "unexpected_transition", "skipped_touchpoint", "wrong_start"}
FIT |= {"drop_off"}
ORDER = (
    "wrong_start",
    "unknown_touchpoint",
    "unexpected_transition",
    "skipped_touchpoint",
    "phase_regression",
    "rework",
    "time_frame_breach",
    "rule_breach",
    "drop_off",
)
DURATIONS = (timedelta(seconds=1), timedelta(hours=1), timedelta(days=2), timedelta(days=20))


@st.composite
def designed_maps(draw: st.DrawFn, pool: tuple[str, ...] = POOL) -> DesignedMap:
    """A small valid map: 1-3 phases, some unobservable touchpoints, flows, frames and rules."""
    ids = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=6, unique=True))
    n_phases = draw(st.integers(1, 3))
    phases = tuple(
        Phase(f"p{i}", f"P{i}", max=draw(st.none() | st.sampled_from(DURATIONS)))
        for i in range(n_phases)
    )
    seen = draw(st.lists(st.booleans(), min_size=len(ids), max_size=len(ids)))
    seen[0] = True  # a goal must be observable
    tps = tuple(
        Touchpoint(t, f"p{draw(st.integers(0, n_phases - 1))}", observable=o or draw(st.booleans()))
        for t, o in zip(ids, seen, strict=True)
    )
    observable = [t.id for t in tps if t.observable]
    pairs = [(a, b) for a in ids for b in ids]
    flows = tuple(draw(st.lists(st.sampled_from(pairs), max_size=12, unique=True)))
    ids_st = st.sampled_from(ids)
    frames = tuple(
        TimeFrame(a, b, m)
        for a, b, m in draw(
            st.lists(st.tuples(ids_st, ids_st, st.sampled_from(DURATIONS)), max_size=2)
        )
    )
    rules = tuple(
        Rule("within", after=a, then=b, max=m)
        if kind
        else Rule("not_while_open", event=a, opened_by=b, closed_by=c)
        for kind, a, b, c, m in draw(
            st.lists(
                st.tuples(st.booleans(), ids_st, ids_st, ids_st, st.sampled_from(DURATIONS)),
                max_size=2,
            )
        )
    )
    return DesignedMap(
        name="drawn",
        phases=phases,
        touchpoints=tps,
        start=tuple(draw(st.lists(ids_st, min_size=1, max_size=3, unique=True))),
        goal=tuple(
            draw(st.lists(st.sampled_from(observable), min_size=1, max_size=2, unique=True))
        ),
        flows=flows,
        time_frames=frames,
        rules=rules,
    )


def skip_path(designed: DesignedMap, a: str, c: str) -> list[str]:
    """Observable touchpoints inside the shortest flow path a -> c (BFS, neighbours in map order)."""
    order = [t.id for t in designed.touchpoints]
    parent: dict[str, str | None] = {a: None}
    queue = deque([a])
    while queue:
        here = queue.popleft()
        for nxt in order:
            if (here, nxt) in designed.flows and nxt not in parent:
                parent[nxt] = here
                queue.append(nxt)
    if c not in parent or c == a:
        return []
    path = []
    step = parent[c]
    while step is not None and step != a:
        path.append(step)
        step = parent[step]
    return [t for t in reversed(path) if t in designed.observable]


def naive_compare(
    log: EventLog, designed: DesignedMap, as_of_us: int, timeout: timedelta
) -> dict[str, dict[str, Any]]:
    """case_id -> verdict, deviations [(position, type, touchpoint, from, to, phase)] and more."""
    phase_index = {p.id: i for i, p in enumerate(designed.phases)}
    phase_of = {t.id: t.phase for t in designed.touchpoints}
    rows = log.frame.select("case_id", "activity", "timestamp", "channel").to_dicts()
    cases: dict[str, list[tuple[str, int, str | None]]] = {}
    for r in rows:
        ts = r["timestamp"]
        us = round(ts.timestamp() * 1_000_000)
        cases.setdefault(r["case_id"], []).append((r["activity"], us, r["channel"]))
    out = {}
    for case_id, events in cases.items():
        seq = [e[0] for e in events]
        ts = [e[1] for e in events]
        devs: list[tuple[int, str, str | None, str | None, str | None, str | None]] = []

        def add(
            pos: int, typ: str, tp: str | None, frm: str | None, to: str | None, devs: list = devs
        ) -> None:
            if all(d[1:5] != (typ, tp, frm, to) for d in devs):  # first occurrence only
                devs.append((pos, typ, tp, frm, to, phase_of.get(tp or to or "")))

        for i, a in enumerate(seq):
            if i == 0 and a not in designed.observable_start:
                add(i, "wrong_start", a, None, None)
            if a not in phase_of and a not in seq[:i]:
                add(i, "unknown_touchpoint", a, None, None)
            if seq[:i].count(a) == 1:
                add(i, "rework", a, None, None)
            if i and a in phase_of and seq[i - 1] in phase_of:
                b = seq[i - 1]
                new = all(d[1:5] != ("unexpected_transition", None, b, a) for d in devs)
                if (b, a) not in designed.allowed and a != b and new:
                    add(i, "unexpected_transition", None, b, a)
                    for s in skip_path(designed, b, a):
                        if s not in seq[:i]:
                            add(i, "skipped_touchpoint", s, b, a)
                if phase_index[phase_of[a]] < phase_index[phase_of[b]]:
                    add(i, "phase_regression", None, b, a)
        for tf in designed.time_frames:
            limit = tf.max // timedelta(microseconds=1)
            if tf.from_touchpoint in seq:
                i = seq.index(tf.from_touchpoint)
                later = [j for j in range(i + 1, len(seq)) if seq[j] == tf.to_touchpoint]
                if later and ts[later[0]] - ts[i] > limit:
                    devs.append(
                        (
                            later[0],
                            "time_frame_breach",
                            None,
                            tf.from_touchpoint,
                            tf.to_touchpoint,
                            None,
                        )
                    )
        for p in designed.phases:
            inside = [i for i, a in enumerate(seq) if phase_of.get(a) == p.id]
            limit = p.max // timedelta(microseconds=1) if p.max is not None else None
            if limit is not None and inside and ts[inside[-1]] - ts[inside[0]] > limit:
                devs.append((inside[-1], "time_frame_breach", None, None, None, p.id))
        for rule in designed.rules:
            first = _rule_first_breach(rule, seq, ts, as_of_us)
            if first is not None:
                if rule.kind == "within":
                    devs.append((first, "rule_breach", rule.after, rule.after, rule.then, None))
                else:
                    devs.append(
                        (first, "rule_breach", rule.event, rule.opened_by, rule.closed_by, None)
                    )
        converted = any(a in designed.goal for a in seq)
        in_progress = not converted and as_of_us - ts[-1] <= timeout // timedelta(microseconds=1)
        dropped = not converted and not in_progress
        mapped = [a for a in seq if a in phase_of]
        last_phase = phase_of[mapped[-1]] if mapped else None
        if dropped:
            devs.append((len(seq) - 1, "drop_off", seq[-1], None, None, last_phase))
        devs.sort(key=lambda d: (d[0], ORDER.index(d[1])))
        types = sorted({d[1] for d in devs})
        signature = [
            d[2] if d[1] == "unknown_touchpoint" else f"{d[3]}->{d[4]}"
            for d in devs
            if d[1] in ("unknown_touchpoint", "unexpected_transition")
        ]
        channels = [e[2] for e in events if e[2] is not None]
        out[case_id] = {
            "fits": not FIT & set(types),
            "converted": converted,
            "in_progress": in_progress,
            "deviation_types": types,
            "signature": signature,
            "deviations": devs,
            "leak_touchpoint": seq[-1] if dropped else None,
            "leak_phase": last_phase if dropped else None,
            "channels": sorted(set(channels)),
            "channel_switches": sum(x != y for x, y in pairwise(channels)),
            "n_events": len(seq),
        }
    return out


def _rule_first_breach(rule: Rule, seq: list[str], ts: list[int], as_of_us: int) -> int | None:
    breaches = []
    if rule.kind == "within":
        limit = (rule.max or timedelta(0)) // timedelta(microseconds=1)
        for i, a in enumerate(seq):
            if a == rule.after:
                nxt = [j for j in range(i + 1, len(seq)) if seq[j] == rule.then]
                late = ts[nxt[0]] - ts[i] > limit if nxt else as_of_us - ts[i] > limit
                if late:
                    breaches.append(i)
    else:
        open_ = False
        for i, a in enumerate(seq):
            if a == rule.event and open_:
                breaches.append(i)
            if a == rule.closed_by:
                open_ = False
            if a == rule.opened_by:
                open_ = True
    return min(breaches) if breaches else None
