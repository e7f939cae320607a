"""A small designed map and journeys built in code, and the comparison's inner steps on them.

`shop_map()` is the map of `tests/kernels/test_replay.py`: tv (unobservable) -> ad/land ->
prod <-> rev -> cart -> pay -> order in three phases. `journeys(...)` lays sequences out as a
log; `inner(log, designed)` runs the steps of `compare_to_map` one by one, so each module's
functions can be called on their real inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from journeyminer.miner.compare.cases import PerCase
from journeyminer.miner.compare.deviations import MapCodes, Replayed, replay_log
from journeyminer.miner.compare.to_map import default_timeout
from journeyminer.miner.compare.windows import Windows, measure_windows
from journeyminer.miner.log import EncodedLog, EventLog
from journeyminer.miner.maps.designed import DesignedMap
from tests.strategies import BASE_US, log_from_rows

MINUTE = 60_000_000  # µs
HOUR = 60 * MINUTE


def journeys(
    *steps: list[str] | list[tuple[str, int]],
    gap_us: int = MINUTE,
    channels: tuple[str | None, ...] = ("web",),
) -> EventLog:
    """Journey j<i> for each list of activities (one `gap_us` apart) or (activity, µs after
    the journey's start) pairs; channels cycle through `channels` event by event."""
    rows: list[tuple[str, str, int, str | None]] = []
    n = 0
    for i, seq in enumerate(steps):
        for p, step in enumerate(seq):
            act, at = step if isinstance(step, tuple) else (step, p * gap_us)
            rows.append((f"j{i}", act, BASE_US + at, channels[n % len(channels)]))
            n += 1
    return log_from_rows(rows)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Inner:
    """The inputs `compare_to_map` hands from step to step."""

    enc: EncodedLog
    codes: MapCodes
    replayed: Replayed
    windows: Windows
    per_case: PerCase
    as_of_us: int


def inner(log: EventLog, designed: DesignedMap, *, as_of_us: int | None = None) -> Inner:
    """Encode, replay, measure windows and judge each journey, as `compare_to_map` does (its
    default as_of: the log's last timestamp; its default timeout)."""
    enc = log.encoded
    codes = MapCodes(designed, enc.activities)
    if as_of_us is None:
        as_of_us = int(enc.ts.max()) if enc.ts.size else 0
    replayed = replay_log(enc, codes)
    windows = measure_windows(enc, codes, as_of_us)
    timeout_us = default_timeout(designed) // timedelta(microseconds=1)
    per_case = PerCase.of(enc, codes, replayed, windows, as_of_us, timeout_us)
    return Inner(enc, codes, replayed, windows, per_case, as_of_us)
