"""Discovery equals pm4py's `discover_dfg`, `discover_performance_dfg` and `get_variants`.

pm4py gets the same log: our canonical, sorted frame as pandas, renamed to its XES column
names and passed through `pm4py.format_dataframe`; each call gets its own copy, because
`discover_dfg` adds a column to the frame it is given. Counts, start/end activities and
variants must be equal; performance measures (seconds) equal to 1e-9 relative. pandas works
on float seconds, so its stdev of large, nearly equal durations carries rounding noise of a
few ulps of the durations themselves (ours comes from exact integer microseconds); the stdev
check therefore also accepts an absolute difference below 1e-13 times the edge's max.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings

from journeyminer.miner.discover.discovery import discover
from journeyminer.miner.log import EventLog
from tests.conftest import dev_dependency
from tests.strategies import NAMED_ROWS, event_logs, log_from_rows, synthetic_frame

pm4py = dev_dependency("pm4py")  # fails, never skips, without it

pytestmark = pytest.mark.parity

PM4PY_COLUMNS = {
    "case_id": "case:concept:name",
    "activity": "concept:name",
    "timestamp": "time:timestamp",
}
MEASURES = ("mean", "median", "max", "min", "sum", "stdev")


def _pm4py_frame(log: EventLog) -> Any:
    frame = log.frame.select(*PM4PY_COLUMNS).to_pandas().rename(columns=PM4PY_COLUMNS)
    return pm4py.format_dataframe(
        frame,
        case_id="case:concept:name",
        activity_key="concept:name",
        timestamp_key="time:timestamp",
    )


def _same_number(ours: float, theirs: float, *, scale: float = 0.0) -> bool:
    if math.isnan(theirs):
        return math.isnan(ours)
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-13 * scale)


def _assert_parity(log: EventLog) -> None:
    found = discover(log)
    frame = _pm4py_frame(log)

    dfg, start, end = pm4py.discover_dfg(frame.copy())
    ours_dfg, ours_start, ours_end = found.dfg.to_pm4py()
    assert ours_dfg == {k: int(v) for k, v in dfg.items()}
    assert ours_start == {k: int(v) for k, v in start.items()}
    assert ours_end == {k: int(v) for k, v in end.items()}

    perf, start, end = pm4py.discover_performance_dfg(frame.copy())
    ours_perf, ours_start, ours_end = found.dfg.to_pm4py_performance()
    assert ours_perf.keys() == perf.keys()
    for edge, measures in perf.items():
        for m in MEASURES:
            scale = float(measures["max"]) if m == "stdev" else 0.0
            assert _same_number(ours_perf[edge][m], float(measures[m]), scale=scale), (edge, m)
    assert (ours_start, ours_end) == (start, end)

    variants = pm4py.get_variants(frame.copy())
    assert found.variants.to_pm4py() == {k: int(v) for k, v in variants.items()}


@pytest.mark.parametrize("name", sorted(set(NAMED_ROWS) - {"empty"}))
def test_discovery_equals_pm4py_on_named_logs(name: str) -> None:
    _assert_parity(log_from_rows(NAMED_ROWS[name]))  # type: ignore[arg-type]


def test_stdev_of_large_nearly_equal_durations_agrees_within_pandas_rounding() -> None:
    big = 40 * 86_400 * 1_000_000
    rows = []
    for i, extra in enumerate((1, 2, 3)):
        rows += [(f"c{i}", "a", 0, None), (f"c{i}", "b", big + extra, None)]
    _assert_parity(log_from_rows(rows))  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(event_logs(max_cases=40))
def test_discovery_equals_pm4py_on_generated_logs(log: EventLog) -> None:
    _assert_parity(log)


@pytest.mark.slow
def test_discovery_equals_pm4py_on_a_100k_event_log() -> None:
    log = EventLog(synthetic_frame(100_000, seed=7), is_sorted=True)
    assert log.n_events >= 100_000
    _assert_parity(log)


@pytest.mark.parametrize("source", ["stitched", "xes"])
def test_discovery_equals_pm4py_on_the_bundled_samples(source: str) -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    if source == "stitched":
        from journeyminer.miner.ingest.pipeline import ingest_sources, resolve_source

        folder = root / "datasets" / "omnichannel"
        specs = [
            resolve_source(str(folder / f"{n}.csv"), timezone="Europe/Amsterdam")
            for n in ("web", "call_center", "crm")
        ]
        log, _ = ingest_sources(specs, identities=folder / "identities.csv")
    else:
        from journeyminer.miner.ingest.pipeline import open_log

        log = open_log(root / "tests" / "data" / "sources" / "journeys.xes")
    _assert_parity(log)
