"""On interval logs (a `start_timestamp` column), discovery equals pm4py's on the same frame.

pm4py gets our canonical, sorted frame with its start column, renamed to its XES names and
passed through `pm4py.format_dataframe`, as in `test_discovery_parity`. Its
`discover_performance_dfg` pairs events by start time and measures b's start minus a's
complete, negative where events overlap; `get_service_time` measures complete minus start.
Times are whole seconds, so counts, sums, minima, maxima and medians are exactly equal;
mean and stdev are equal to 1e-9 relative (pandas divides float seconds, we exact µs).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings

from journeyminer.miner.discover.discovery import discover
from journeyminer.miner.log import EventLog
from tests.conftest import dev_dependency
from tests.kernels.test_intervals import NAMED, _interval_log
from tests.strategies import interval_frames

pm4py = dev_dependency("pm4py")  # fails, never skips, without it

pytestmark = pytest.mark.parity

PM4PY_COLUMNS = {
    "case_id": "case:concept:name",
    "activity": "concept:name",
    "timestamp": "time:timestamp",
    "start_timestamp": "start_timestamp",
}
EXACT = ("median", "max", "min", "sum")
SERVICE = ("mean", "median", "min", "max", "sum")


def _pm4py_frame(log: EventLog) -> Any:
    frame = log.frame.select(*PM4PY_COLUMNS).to_pandas().rename(columns=PM4PY_COLUMNS)
    return pm4py.format_dataframe(
        frame,
        case_id="case:concept:name",
        activity_key="concept:name",
        timestamp_key="time:timestamp",
    )


def _close(ours: float, theirs: float) -> bool:
    if math.isnan(theirs):
        return math.isnan(ours)
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12)


def _assert_interval_parity(log: EventLog) -> None:
    found = discover(log)
    frame = _pm4py_frame(log)

    dfg, start, end = pm4py.discover_dfg(frame.copy())
    ours_dfg, ours_start, ours_end = found.dfg.to_pm4py()
    assert ours_dfg == {k: int(v) for k, v in dfg.items()}
    assert (ours_start, ours_end) == (start, end)

    perf, _, _ = pm4py.discover_performance_dfg(frame.copy())
    ours_perf, _, _ = found.dfg.to_pm4py_performance()
    assert ours_perf.keys() == perf.keys()
    for edge, measures in perf.items():
        for m in EXACT:
            assert ours_perf[edge][m] == float(measures[m]), (edge, m)
        for m in ("mean", "stdev"):
            assert _close(ours_perf[edge][m], float(measures[m])), (edge, m)

    service = found.service_times
    assert service is not None
    rows = {r["activity"]: r for r in service.to_dicts()}
    counts = frame["concept:name"].value_counts().to_dict()
    assert {a: r["count"] for a, r in rows.items()} == counts
    for m in SERVICE:
        theirs = pm4py.get_service_time(
            frame.copy(), aggregation_measure=m, start_timestamp_key="start_timestamp"
        )
        assert theirs.keys() == rows.keys()
        for activity, value in theirs.items():
            ok = rows[activity][m] == value if m != "mean" else _close(rows[activity][m], value)
            assert ok, (activity, m)

    variants = pm4py.get_variants(frame.copy())
    assert found.variants.to_pm4py() == {k: int(v) for k, v in variants.items()}


@pytest.mark.parametrize("name", sorted(NAMED))
def test_interval_discovery_equals_pm4py_on_named_logs(name: str) -> None:
    _assert_interval_parity(_interval_log(NAMED[name]))


@settings(max_examples=40, deadline=None)
@given(interval_frames())
def test_interval_discovery_equals_pm4py_on_generated_logs(frame: Any) -> None:
    _assert_interval_parity(EventLog(frame))
