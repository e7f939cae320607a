"""Time zones as ingest meets them: unknown names (with the closest real ones), local times the
clocks skipped (spring forward) and local times they showed twice (fall back)."""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import polars as pl

UTC = "UTC"


def dst_problem(local: datetime, timezone: str) -> tuple[str, str] | None:
    """(message, expected) when wall-clock `local` is skipped or repeated in `timezone`."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    shift = (first.utcoffset() or timedelta()) - (second.utcoffset() or timedelta())
    if shift == timedelta():
        return None
    clock = local.strftime("%H:%M" if local.second == 0 and local.microsecond == 0 else "%H:%M:%S")
    day = local.strftime("%Y-%m-%d")
    if shift < timedelta():  # fold 0 uses the offset from before a jump forward: a gap
        return (
            f"{clock} on {day} does not exist in {timezone}: clocks jumped forward",
            "a local time outside the skipped hour, or a time with its UTC offset",
        )
    return (
        f"{clock} on {day} happened twice in {timezone}: clocks went back",
        "ambiguous = 'earliest' or 'latest' in the mapping to pick one of the two moments",
    )


def count_ambiguous(column: pl.Expr, timezone: str) -> pl.Expr:
    """How many UTC times of `column` fall in an hour that `timezone`'s clocks show twice."""
    if timezone == UTC or timezone_problem(timezone) is not None:
        return pl.lit(0, dtype=pl.UInt32)
    wall = column.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
    twice = wall.dt.replace_time_zone(timezone, ambiguous="null", non_existent="null").is_null()
    return (twice & column.is_not_null()).sum()


def timezone_problem(timezone: str) -> str | None:
    """Why polars cannot use `timezone` (an IANA name or a fixed offset), or None if it can.

    The reason names the zone and the closest IANA names, if any.
    """
    if timezone == UTC:
        # The default, and what the presets made at import use: no polars work at import
        # (its thread pool, once started, deadlocks a process forked after it).
        return None
    try:
        pl.Series([0], dtype=pl.Datetime("us")).dt.replace_time_zone(timezone)
    except pl.exceptions.PolarsError:
        close = close_timezones(timezone)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"unknown time zone {timezone!r}{hint}"
    return None


@cache
def _zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def close_timezones(name: str, *, limit: int = 3) -> list[str]:
    """IANA zone names close to `name` (case-insensitive), the closest first."""
    names = _zone_names()
    folded = name.casefold()
    if folded in names:  # only the case differs: 'europe/amsterdam'
        return [names[folded]]
    # The part after the last '/' is what people misspell most ('Amsterdm'): match it alone too.
    cities: dict[str, str] = {}
    for key, zone in names.items():
        cities.setdefault(key.rsplit("/", 1)[-1], zone)
    found = difflib.get_close_matches(folded, list(names), n=limit, cutoff=0.6)
    found += difflib.get_close_matches(folded.rsplit("/", 1)[-1], list(cities), n=limit, cutoff=0.7)
    picked = [names.get(f) or cities[f] for f in found]
    return list(dict.fromkeys(picked))[:limit]
