"""The parts of a designed map: phases, touchpoints, time frames and rules (plain values).

`designed.py` puts them together into a `DesignedMap`; `formats.py` builds them from a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .._typing import RuleKind
from ..durations import format_duration


@dataclass(frozen=True)
class Phase:
    """One phase of the journey, in journey order; `max`: the longest a journey should spend in it."""

    id: str
    name: str
    synonyms: tuple[str, ...] = ()
    max: timedelta | None = None


@dataclass(frozen=True)
class Touchpoint:
    """One designed touchpoint; `id` is the activity name in the log."""

    id: str
    phase: str
    channel: str | None = None
    observable: bool = True  # False: TV, billboard, word of mouth; never reported as skipped
    off_stage: bool = False  # back office the customer never sees
    moment_of_truth: bool = False
    owner: str | None = None
    intended_value: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """The name a person reads: `name`, or the id when the map gives none."""
        return self.name or self.id


@dataclass(frozen=True)
class TimeFrame:
    """The first `to_touchpoint` after the first `from_touchpoint` must come within `max`."""

    from_touchpoint: str
    to_touchpoint: str
    max: timedelta


@dataclass(frozen=True)
class Rule:
    """An orchestration rule; breaches are deviations like the others.

    within: every `after` must be followed by a `then` within `max`
        ("`callback` within 24h after `call_abandoned`").
    not_while_open: no `event` between an `opened_by` and the next `closed_by`
        ("no `promo_email` while a `complaint` is open until `case_closed`").
    """

    kind: RuleKind
    after: str | None = None
    then: str | None = None
    max: timedelta | None = None
    event: str | None = None
    opened_by: str | None = None
    closed_by: str | None = None
    name: str | None = None

    @property
    def touchpoints(self) -> tuple[str, ...]:
        """The touchpoint ids this rule names."""
        names = (self.after, self.then, self.event, self.opened_by, self.closed_by)
        return tuple(n for n in names if n is not None)

    def describe(self) -> str:
        """The rule as a sentence."""
        if self.kind == "within":
            limit = format_duration(self.max) if self.max is not None else "?"
            return f"`{self.then}` within {limit} after `{self.after}`"
        return f"no `{self.event}` while a `{self.opened_by}` is open until `{self.closed_by}`"
