"""Which touchpoints a drafted map calls its goals: the user's, or a guess that says why.

A guess looks at how journeys end: the last touchpoint of each journey, with its share. An
end whose name reads as success ("Payment", "order_confirmed", "aankoop") wins over a more
frequent one that reads as failure ("Send for Credit Collection", "cancelled"); among equals
the most frequent end wins. The reason and the alternatives travel with the draft, so a
person can see the guess and name the goal (`--goal`) instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..errors import InputError
from ..log import EventLog

# Stems, matched at the start of a word of the activity's name (case-insensitive).
SUCCESS_WORDS: tuple[str, ...] = (
    "pay", "paid", "purchas", "order", "buy", "bought", "checkout", "complet", "success",
    "convert", "won", "signed", "activat", "deliver", "resolv", "confirm", "approv", "accept",
    "betaal", "betaald", "aankoop", "bestel", "gekocht", "afgerond", "opgelost",
)  # fmt: skip
FAILURE_WORDS: tuple[str, ...] = (
    "cancel", "abandon", "reject", "declin", "fail", "collection", "complain", "churn", "drop",
    "error", "expir", "lost", "refus", "appeal", "penalt", "bounce", "unsubscrib", "timeout",
    "overdue", "debt", "annul", "opzeg", "klacht", "afgewezen", "incasso", "verlopen",
)  # fmt: skip
MIN_GOAL_SHARE = 0.05  # an end this rare is no one's goal, whatever its name says
MAX_ALTERNATIVES = 20  # a log with thousands of end activities: the frequent ones suffice


@dataclass(frozen=True)
class GoalChoice:
    """The goals of a draft, who chose them and why, and how journeys end (`ends`)."""

    goals: tuple[str, ...]
    chosen_by: str  # "user" or "draft"
    reason: str
    ends: pl.DataFrame  # activity, journeys (ending there), share; the most frequent first

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: goals, chosen_by, reason, and the alternatives with their shares."""
        return {
            "goals": list(self.goals),
            "chosen_by": self.chosen_by,
            "reason": self.reason,
            "alternatives": self.ends.head(MAX_ALTERNATIVES).to_dicts(),
        }


def journey_ends(log: EventLog) -> pl.DataFrame:
    """Per last touchpoint: how many journeys end there and their share; most frequent first."""
    enc = log.encoded
    last = enc.act[enc.offsets[1:] - 1]
    counts = np.bincount(last, minlength=len(log.activities))
    frame = pl.DataFrame(
        {"activity": list(log.activities), "journeys": counts.astype(np.int64)},
        schema={"activity": pl.String, "journeys": pl.Int64},
    )
    return (
        frame.filter(pl.col("journeys") > 0)
        .with_columns((pl.col("journeys") / max(log.n_cases, 1)).alias("share"))
        .sort(["journeys", "activity"], descending=[True, False])
    )


def choose_goals(log: EventLog, goals: Sequence[str] = ()) -> GoalChoice:
    """The user's `goals` (each checked against the log), else a guess from how journeys end."""
    return goal_choice(journey_ends(log), log.activities, goals)


def goal_choice(
    ends: pl.DataFrame, activities: Sequence[str], goals: Sequence[str] = ()
) -> GoalChoice:
    """`choose_goals` from how journeys end (`journey_ends`) and the log's `activities`."""
    if goals:
        known = set(activities)
        for goal in goals:
            if goal not in known:
                close = difflib.get_close_matches(goal, list(known), n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise InputError(
                    f"goal {goal!r} is not a touchpoint of the log{hint}",
                    column="goal",
                    expected="the name of an activity in the log",
                    found=repr(goal),
                )
        return GoalChoice(tuple(dict.fromkeys(goals)), "user", "named by the user", ends)
    rows = ends.rows(named=True)
    common = [r for r in rows if r["share"] >= MIN_GOAL_SHARE] or rows[:1]
    success = [r for r in common if _reads_as(r["activity"], SUCCESS_WORDS)]
    success = [r for r in success if not _reads_as(r["activity"], FAILURE_WORDS)]
    neutral = [r for r in common if not _reads_as(r["activity"], FAILURE_WORDS)]
    if success:
        pick = success[0]
        why = "its name reads as success, and it is the most frequent such last touchpoint"
    elif neutral:
        pick = neutral[0]
        why = "the most frequent last touchpoint whose name does not read as failure"
    else:
        pick = common[0]
        why = "the most frequent last touchpoint (every frequent one reads as failure)"
    reason = f"{why}: it ends {pick['share']:.0%} of the journeys ({pick['journeys']:,})"
    return GoalChoice((pick["activity"],), "draft", reason, ends)


def _reads_as(name: str, stems: Sequence[str]) -> bool:
    words = [w for w in re.split(r"[^0-9a-zà-ÿ]+", name.casefold()) if w]
    return any(w.startswith(s) for w in words for s in stems)
