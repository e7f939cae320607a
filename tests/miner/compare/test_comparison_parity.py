"""A journey that fits has alignment fitness 1.0 on the workflow net pm4py builds from the map.

The net: pm4py's DFG -> Petri net conversion of the designed flows as a log shows them
(`DesignedMap.allowed`), plus a self-loop on every touchpoint (a repeat is rework, not a
hidden path), started by `observable_start` and ended by any touchpoint. On it, a journey with
no unknown touchpoint, unexpected transition or wrong start has fitness 1.0, and one with
any of them has less; journeys that fit (which also excludes drop-offs) are among the first.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from journeyminer.miner.compare.to_map import compare_to_map
from journeyminer.miner.log import EventLog
from journeyminer.miner.maps.designed import DesignedMap, load_map
from tests.conftest import dev_dependency
from tests.miner.ingest.test_pipeline import SAMPLE, ingest_sample
from tests.naive_replay import UNKNOWN, designed_maps
from tests.strategies import event_frames

pm4py = dev_dependency("pm4py")  # fails, never skips, without it

# pm4py's soundness check calls np.asmatrix; as an error it makes every net look unsound.
pytestmark = [pytest.mark.parity, pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")]
MOVES = {"unknown_touchpoint", "unexpected_transition", "wrong_start"}


def _net(designed: DesignedMap) -> tuple[Any, Any, Any]:
    dfg = {pair: 1 for pair in designed.allowed}
    dfg.update({(t.id, t.id): 1 for t in designed.touchpoints})
    start = {a: 1 for a in designed.observable_start}
    end = {t.id: 1 for t in designed.touchpoints}
    return pm4py.convert_to_petri_net(dfg, start, end)


def _alignment_fitness(log: EventLog, designed: DesignedMap) -> dict[tuple[str, ...], float]:
    """Activity sequence -> alignment fitness, read back from each alignment's log moves."""
    frame = (
        log.frame.select("case_id", "activity", "timestamp")
        .to_pandas()
        .rename(
            columns={
                "case_id": "case:concept:name",
                "activity": "concept:name",
                "timestamp": "time:timestamp",
            }
        )
    )
    frame = pm4py.format_dataframe(
        frame,
        case_id="case:concept:name",
        activity_key="concept:name",
        timestamp_key="time:timestamp",
    )
    net, im, fm = _net(designed)
    out = {}
    for result in pm4py.conformance_diagnostics_alignments(frame, net, im, fm):
        trace = tuple(a for a, _ in result["alignment"] if a != ">>")
        out[trace] = result["fitness"]
    return out


def _assert_parity(log: EventLog, designed: DesignedMap) -> int:
    result = compare_to_map(log, designed)
    fitness = _alignment_fitness(log, designed)
    variants = result.variants.select("activities", "deviation_types", "fits_path").rows()
    fits = set(result.cases.filter("fits").get_column("variant"))
    for v, (activities, types, fits_path) in enumerate(variants):
        got = fitness[tuple(activities)]
        moves = MOVES & set(types)
        assert (got == 1.0) == (not moves), (activities, types, got)
        assert fits_path == (got == 1.0)
        if v in fits:
            assert got == 1.0, activities
    return len(fits)


@settings(max_examples=25, deadline=None)
@given(designed_maps(), st.data())
def test_fitting_journeys_align_perfectly_on_generated_logs_and_maps(
    designed: DesignedMap, data: st.DataObject
) -> None:
    assume(designed.observable_start)  # else no net: every journey starts wrong
    acts = tuple(t.id for t in designed.touchpoints) + UNKNOWN
    frame = data.draw(event_frames(max_cases=6, max_events=6, activities=acts))
    _assert_parity(EventLog(frame), designed)


@pytest.mark.slow
def test_fitting_journeys_align_perfectly_on_the_sample() -> None:
    log, _ = ingest_sample()
    sample = log.frame.filter(log.frame.get_column("case_id").str.contains(r"[05]#"))
    assert _assert_parity(EventLog(sample, is_sorted=True), load_map(SAMPLE / "map.toml")) > 50
