"""Starting points for a designed map: templates, phase synonyms and drafts from a log (a
process model becomes a map in `model_import.py`).

Templates are TOML files with comments in English and Dutch (`# en:` / `# nl:` lines, and
`# nl: "..."` after a value to translate it); `map_template` keeps one language. A draft is
for a person to edit: frequent activities in an order the journeys do not contradict, cut
into phases of nearly equal size, flows from the directly-follows graph and the frequent
paths, goals named by the user or guessed with a reason (`goal_choice`).
"""

from __future__ import annotations

import heapq
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import polars as pl

from .._typing import Language, TemplateName
from ..errors import InputError
from ..log import ACTIVITY, CHANNEL, EventLog
from .designed import DesignedMap, Phase, Touchpoint
from .goal_choice import GoalChoice, goal_choice
from .paths import JourneyPaths

TEMPLATES: tuple[TemplateName, ...] = ("five_phase", "see_think_do_care")

# Canonical phase of the 5-phase model -> the names the field uses for it (English, Dutch).
PHASE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "awareness": ("awareness", "orientation", "see", "bewustwording", "oriëntatie", "zien"),
    "consideration": ("consideration", "think", "evaluation", "overweging", "denken"),
    "purchase": ("purchase", "decision", "do", "conversion", "aankoop", "beslissing", "doen"),
    "service": ("service", "use", "retention", "care", "gebruik", "behoud", "zorg", "nazorg"),
    "loyalty": ("loyalty", "advocacy", "ambassador", "ambassadeur", "loyaliteit"),
}
_NL_VALUE = re.compile(r'^(\s*[\w-]+\s*=\s*)"(?:[^"\\]|\\.)*"\s+# nl: ("(?:[^"\\]|\\.)*")\s*$')


def phase_synonym(word: str) -> str | None:
    """The 5-phase model's phase id for a phase name in English or Dutch ('overweging' ->
    'consideration'); None when the word names no phase."""
    key = _fold(word)
    for phase, names in PHASE_SYNONYMS.items():
        if key in {_fold(n) for n in names}:
            return phase
    return None


def _fold(word: str) -> str:
    plain = unicodedata.normalize("NFKD", word.strip().casefold())
    return "".join(c for c in plain if not unicodedata.combining(c)).replace(" ", "_")


def map_template(name: TemplateName, *, language: Language = "en") -> str:
    """TOML text of a built-in map template, with comments in `language`, for a person to edit."""
    if name not in TEMPLATES:
        raise InputError(
            f"unknown map template {name!r}", expected=" or ".join(TEMPLATES), found=name
        )
    if language not in ("en", "nl"):
        raise InputError(f"unknown language {language!r}", expected="en or nl", found=language)
    text = files("journeyminer.miner.maps").joinpath("templates", f"{name}.toml").read_text("utf-8")
    out = []
    for line in text.splitlines():
        marker = re.match(r"^(\s*)# (en|nl): ?(.*)$", line)
        if marker:
            if marker.group(2) == language:
                out.append(f"{marker.group(1)}# {marker.group(3)}".rstrip())
            continue
        value = _NL_VALUE.match(line)
        if value:
            line = value.group(1) + value.group(2) if language == "nl" else line.split("  # nl:")[0]
        out.append(line)
    return "\n".join(out) + "\n"


def _template_phases(phases: int | TemplateName) -> list[Phase]:
    if isinstance(phases, str):
        from .designed import parse_map

        return list(parse_map(map_template(phases), file=f"{phases}.toml").phases)
    if phases < 1:
        raise InputError(
            "a map needs at least one phase", expected="phases >= 1", found=str(phases)
        )
    if phases == 5:
        return _template_phases("five_phase")
    return [Phase(f"phase_{i + 1}", f"Phase {i + 1}") for i in range(phases)]


# -- drafting from a log ------------------------------------------------------------------
@dataclass(frozen=True)
class MapDraft:
    """A drafted map, how its goals were chosen, and the journeys it covers (fit it)."""

    map: DesignedMap
    goals: GoalChoice
    covered: int  # journeys whose path fits the draft (all touchpoints, start, flows, goal)
    journeys: int

    @property
    def coverage(self) -> float:
        """The share of the log's journeys that fit the draft."""
        return self.covered / self.journeys if self.journeys else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the goal choice and the coverage (the map itself is its TOML)."""
        return {
            "goal_choice": self.goals.to_dict(),
            "covered_journeys": self.covered,
            "journeys": self.journeys,
            "coverage": self.coverage,
        }


def draft_map(
    log: EventLog,
    *,
    name: str = "Drafted map",
    phases: int | TemplateName = 5,
    goals: Sequence[str] = (),
    min_case_share: float = 0.02,
    min_flow_share: float = 0.05,
    min_start_share: float = 0.05,
) -> DesignedMap:
    """Draft a map from the journeys in `log` for a person to edit (deterministic);
    `draft_journey_map` says how, this gives the map alone."""
    return draft_journey_map(
        log,
        name=name,
        phases=phases,
        goals=goals,
        min_case_share=min_case_share,
        min_flow_share=min_flow_share,
        min_start_share=min_start_share,
    ).map


def draft_journey_map(
    log: EventLog | JourneyPaths,
    *,
    name: str = "Drafted map",
    phases: int | TemplateName = 5,
    goals: Sequence[str] = (),
    min_case_share: float = 0.02,
    min_flow_share: float = 0.05,
    min_start_share: float = 0.05,
) -> MapDraft:
    """Draft a map from the journeys in `log` (or its `JourneyPaths`: a partitioned log's come
    from `engine.drafting`), with its goal choice and coverage.

    Touchpoints: activities in at least `min_case_share` of the journeys (and the goals).
    Phases: the touchpoints in an order no journey contradicts: touchpoints that follow each
    other both ways share a phase, the rest are ordered along the directly-follows graph (ties
    by median event number), then cut into at most `phases` phases of nearly equal size, so
    comparing the draft with its own log shows no phase regression. Flows: directly-follows
    edges among the touchpoints with at least `min_flow_share` of their source's outgoing
    transitions, plus every edge of the frequent variants (`min_case_share`) that start at a
    start and reach a goal, so those fit; no self-loops (rework). Start: first activities of
    at least `min_start_share` of the journeys. Goals: `goals`, else a guess (`goal_choice`).
    Channel: each activity's most frequent channel.
    """
    paths = log if isinstance(log, JourneyPaths) else JourneyPaths.of(log)
    n_cases = paths.journeys
    if n_cases == 0:
        raise InputError("cannot draft a map from an empty log", expected="a log with events")
    # Event number in the journey, not relative position: journeys that stop early (most
    # of them) would otherwise stretch their few steps over the whole range.
    stats = paths.activity_stats()
    choice = goal_choice(paths.ends(), paths.activities, goals)
    kept = stats.filter(
        (pl.col("cases") >= min_case_share * n_cases) | pl.col(ACTIVITY).is_in(choice.goals)
    )
    if kept.height == 0:
        kept = stats.sort(["cases", ACTIVITY], descending=[True, False]).head(1)
    by_position = kept.get_column(ACTIVITY).to_list()
    projected = paths.projected(by_position)
    observed = projected.follows().filter(pl.col("source") != pl.col("target"))
    pairs = list(zip(observed["source"], observed["target"], strict=True))
    groups = _ordered_groups(by_position, pairs)
    edges = (
        observed.with_columns(
            (pl.col("count") / pl.col("count").sum().over("source")).alias("share")
        )
        .filter(pl.col("share") >= min_flow_share)
        .sort(["source", "target"])
    )
    flows = set(zip(edges["source"], edges["target"], strict=True))
    start = _frequent(projected.starts(), min_start_share * projected.journeys)
    goal = [g for g in choice.goals if g in set(by_position)] or [choice.goals[0]]
    walked = paths.rows()
    known = set(by_position)
    for path, count in walked:
        # The frequent paths the draft is made from fit it: their steps become flows.
        if count >= min_case_share * n_cases and _could_fit(path, known, start, goal):
            flows.update((a, b) for a, b in itertools.pairwise(path) if a != b)
    channels = _dominant_channels(paths.channels)
    drafted = _assemble(name, groups, channels, sorted(flows), start, goal, phases)
    covered = sum(
        count
        for path, count in walked
        if _could_fit(path, known, start, goal)
        and all(a == b or (a, b) in flows for a, b in itertools.pairwise(path))
    )
    return MapDraft(drafted, choice, covered, n_cases)


def _could_fit(
    path: Sequence[str], known: set[str], start: Sequence[str], goal: Sequence[str]
) -> bool:
    return path[0] in start and set(path) <= known and any(g in path for g in goal)


def _ordered_groups(by_position: list[str], pairs: list[tuple[str, str]]) -> list[list[str]]:
    """Touchpoints in groups no journey contradicts: each strongly connected component of the
    directly-follows graph is one group, groups in topological order (ties: position)."""
    rank = {a: i for i, a in enumerate(by_position)}
    succ: dict[str, set[str]] = {a: set() for a in by_position}
    for a, b in pairs:
        succ[a].add(b)
    component = _components(by_position, succ)
    members: dict[int, list[str]] = {}
    for a in by_position:
        members.setdefault(component[a], []).append(a)
    after: dict[int, set[int]] = {c: set() for c in members}
    indegree = dict.fromkeys(members, 0)
    for a, bs in succ.items():
        for b in bs:
            ca, cb = component[a], component[b]
            if ca != cb and cb not in after[ca]:
                after[ca].add(cb)
                indegree[cb] += 1
    ready = [(rank[members[c][0]], c) for c, n in indegree.items() if n == 0]
    heapq.heapify(ready)
    out: list[list[str]] = []
    while ready:
        _, c = heapq.heappop(ready)
        out.append(members[c])
        for d in after[c]:
            indegree[d] -= 1
            if indegree[d] == 0:
                heapq.heappush(ready, (rank[members[d][0]], d))
    return out


def _components(nodes: list[str], succ: dict[str, set[str]]) -> dict[str, int]:
    """Strongly connected components (Tarjan's, iterative: no recursion limit on big maps)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(succ[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(succ[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                label = len(set(component.values()))
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = label
                    if member == node:
                        break
    return component


def _frequent(counts: pl.DataFrame, at_least: float) -> list[str]:
    # `counts` comes sorted by count desc, then activity: the first row is the most frequent.
    chosen = counts.filter(pl.col("count") >= at_least).get_column("activity").to_list()
    return chosen or counts.get_column("activity").head(1).to_list()


def _dominant_channels(counts: pl.DataFrame) -> dict[str, str]:
    # `counts`: events per (activity, channel), as `JourneyPaths.channels`.
    top = counts.sort([ACTIVITY, "len", CHANNEL], descending=[False, True, False]).unique(
        ACTIVITY, keep="first", maintain_order=True
    )
    return dict(zip(top[ACTIVITY], top[CHANNEL], strict=True))


def _assemble(
    name: str,
    groups: Sequence[Sequence[str]],
    channels: dict[str, str],
    flows: Sequence[tuple[str, str]],
    start: Sequence[str],
    goal: Sequence[str],
    phases: int | TemplateName,
) -> DesignedMap:
    # Cut the ordered groups into phases of (nearly) equal size, never splitting a group
    # (its touchpoints follow each other both ways); empty phases go.
    template = _template_phases(phases)
    total = sum(len(g) for g in groups)
    n = min(len(template), len(groups))
    used: dict[str, Phase] = {}
    touchpoints = []
    before = 0
    for group in groups:
        phase = template[min(n - 1, before * n // total)]
        used[phase.id] = phase
        touchpoints += [Touchpoint(a, phase.id, channels.get(a)) for a in group]
        before += len(group)
    return DesignedMap(
        name=name,
        version="draft",
        phases=tuple(used.values()),
        touchpoints=tuple(touchpoints),
        start=tuple(start),
        goal=tuple(goal),
        flows=tuple(flows),
    )
