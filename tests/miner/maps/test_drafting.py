"""Drafted maps worth trusting: no phase regression against their own log, frequent paths fit."""

from __future__ import annotations

import itertools

import polars as pl
from hypothesis import HealthCheck, given, settings

from journeyminer.miner.compare.to_map import compare_to_map
from journeyminer.miner.log import ACTIVITY, CASE, EventLog
from journeyminer.miner.maps.drafting import draft_journey_map

from ...strategies import event_logs
from .test_goal_choice import FINES


def _paths(log: EventLog) -> pl.DataFrame:
    return log.frame.group_by(CASE, maintain_order=True).agg(pl.col(ACTIVITY).alias("path"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_logs(min_cases=1, max_cases=30, max_events=8))
def test_a_draft_compared_with_its_own_log_has_no_phase_regression(log: EventLog) -> None:
    draft = draft_journey_map(log, phases=3, min_case_share=0.1)
    result = compare_to_map(log, draft.map)
    assert result.deviations.filter(pl.col("type") == "phase_regression").height == 0
    m = draft.map
    start, goal = set(m.start), set(m.goal)
    known = {t.id for t in m.touchpoints}
    flows = set(m.flows)
    fits = dict(zip(result.cases[CASE], result.cases["fits"], strict=True))
    covered = 0
    for case_id, path in _paths(log).iter_rows():
        along = all(a == b or (a, b) in flows for a, b in itertools.pairwise(path))
        if path[0] in start and set(path) <= known and goal & set(path) and along:
            covered += 1
            assert fits[case_id], path  # the paths the draft covers fit it
    assert draft.covered == covered
    # The frequent paths it was drafted from (start to goal, known steps) are covered.
    counts = _paths(log).group_by("path").len()
    for path, n in counts.iter_rows():
        if n >= 0.1 * log.n_cases and path[0] in start and set(path) <= known and goal & set(path):
            assert all(a == b or (a, b) in flows for a, b in itertools.pairwise(path))


def test_a_fines_draft_says_its_goal_and_coverage() -> None:
    draft = draft_journey_map(FINES, phases=3)
    assert draft.map.goal == ("Payment",)
    assert draft.covered == 40 and draft.coverage == 0.4
    data = draft.to_dict()
    assert data["goal_choice"]["chosen_by"] == "draft"
    assert data["coverage"] == 0.4 and data["journeys"] == 100
    result = compare_to_map(FINES, draft.map)
    assert result.deviations.filter(pl.col("type") == "phase_regression").height == 0


def test_touchpoints_that_follow_each_other_both_ways_share_a_phase() -> None:
    from .test_goal_choice import _log

    log = _log([(["a", "b", "c", "b", "d"], 5), (["a", "c", "d"], 5)])
    m = draft_journey_map(log, phases=5, goals=["d"]).map
    phase = {t.id: t.phase for t in m.touchpoints}
    assert phase["b"] == phase["c"]
    order = [p.id for p in m.phases]
    assert order.index(phase["a"]) <= order.index(phase["b"]) <= order.index(phase["d"])
    assert m.goal == ("d",)
