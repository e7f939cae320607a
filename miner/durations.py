"""Durations as people write them: 90s, 15m, 36h, 3d, 2w (and combinations like 1d12h)."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from .errors import InputError

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
#: The longest duration accepted: 100 years. Timestamps are int64 microseconds (about
#: 292 years either way), and a longer gap or time frame means nothing for a journey.
MAX_DURATION = timedelta(days=36_500)
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d|w)", re.IGNORECASE)


def parse_duration(text: str | int | float, *, what: str = "duration") -> timedelta:
    """Parse '90s', '15m', '36h', '3d', '2w', '1d12h' or a number of seconds into a timedelta."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise InputError(
                f"{what} must not be negative", expected="a duration >= 0", found=str(text)
            )
        return _bounded(float(text), str(text), what)
    raw = str(text).strip()
    parts = _PART.findall(raw)
    if not raw or _PART.sub("", raw).strip() or not parts:
        raise InputError(
            f"bad {what} {raw!r}",
            expected="a duration like 90s, 15m, 36h, 3d, 2w or 1d12h",
            found=repr(raw),
        )
    seconds = sum(float(n) * _UNITS[u.lower()] for n, u in parts)
    return _bounded(seconds, raw, what)


def _bounded(seconds: float, raw: str, what: str) -> timedelta:
    # Checked before timedelta(): 99999999999999999d overflowed there (a 500, exit code 3).
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        too = "is too long" if not math.isnan(seconds) else "is not a number"
        raise InputError(
            f"{what} {raw[:40]!r} {too}",
            expected=f"a duration of at most {MAX_DURATION.days}d (100 years)",
            found=repr(raw[:40]),
        )
    return timedelta(seconds=seconds)


def parse_gap(text: str, *, what: str = "gap") -> timedelta | None:
    """An inactivity gap: 'none' (or 'off', '0') disables cutting journeys by it; otherwise a
    duration like 30d."""
    if text.strip().lower() in ("none", "off", "0"):
        return None
    return parse_duration(text, what=what)


def format_duration(delta: timedelta) -> str:
    """Write a timedelta the way parse_duration reads it (largest whole units first)."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)
