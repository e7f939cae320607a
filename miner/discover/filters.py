"""Filters applied before discovery, as Disco and Celonis users know them, in one fixed order.

Log filters, applied by `apply_filters` in this order, each on what the previous one left:

1. time window `[start, end)`: start inclusive, end exclusive, so consecutive windows
   split a log without overlap. `time_mode` says what must lie in the window: "contained"
   (a case's first and last event), "intersecting" (the case's span [first, last] overlaps
   the window), "started" (its first event), "completed" (its last event); "trim" keeps
   only the events in the window. A missing start or end leaves that side open.
2. channels: "cases" keeps every event of the cases with at least one event on one of the
   channels; "events" keeps only the events on them. Events without a channel never match.
3. segment: a case's value of an attribute is its first non-null value in event order,
   compared as text (polars' string cast); a case stays when, for every attribute, its
   value is one of the allowed values. A case with no value matches only the *missing
   value*, allowed as None (JSON null; `~` in a query, as YAML writes null, with a
   backslash for a literal tilde), so "journeys without a region" is a segment too.
4. start/end activities: cases whose first / last activity is in the set.
5. variants: variants ranked as `discover_variants` ranks them (count desc, then activity
   tuple); keep the cases of the `top_variants` first ones and of those whose share of
   the cases (count / n_cases, at this step) is >= `min_variant_share`; both must hold.
6. activity coverage (Disco's activity slider): activities ranked by event count desc,
   then name; an activity stays when the share of events of the activities ranked
   before it is < coverage, i.e. the smallest top set whose cumulative share reaches
   coverage. Events of the other activities are dropped; cases left with none vanish.

Path filters, applied by `filter_dfg` to a DFG discovered from the filtered log:

7. path coverage (Disco's paths slider): edges ranked by count desc, then (source, target);
   the smallest top set whose cumulative count share reaches coverage stays, plus, for
   every activity, its strongest outgoing and strongest incoming edge (first in that
   ranking), so the slider never leaves an activity unconnected.
8. min_edge_count: edges seen fewer times are dropped, the connecting ones included.

`filter_dfg` keeps the start/end counts of the activities still shown: an endpoint of a
kept edge, or an activity that had no edge to begin with (one-event journeys).
An empty result is a valid empty EventLog. Everything is polars over whole columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, get_args

import polars as pl

from .._typing import ChannelMode, TimeMode
from ..errors import InputError
from ..log import ACTIVITY, CASE, CHANNEL, TIMESTAMP, TS_DTYPE, EventLog
from .discovery import DFG, discover_variants

TIME_MODES: tuple[str, ...] = get_args(TimeMode)
CHANNEL_MODES: tuple[str, ...] = get_args(ChannelMode)

# Separators in query strings; a backslash escapes any of them (and leading/trailing spaces).
_SPECIAL = frozenset("\\,;:|")
#: A segment value in a query string that stands for "no value" (None), as YAML writes null.
MISSING = "~"


@dataclass(frozen=True, kw_only=True)
class Filters:
    """What to keep of a log before discovery; every field left at its default filters nothing.

    Names in `channels`, `segment`, `start_activities` and `end_activities` are sets: they
    are stored sorted and without duplicates, so equal filters compare and serialise equal.
    A segment value None stands for "no value" and sorts last.
    """

    start: datetime | None = None
    end: datetime | None = None
    time_mode: TimeMode = "contained"
    channels: tuple[str, ...] = ()
    channel_mode: ChannelMode = "cases"
    segment: Mapping[str, tuple[str | None, ...]] = field(default_factory=dict, hash=False)
    start_activities: tuple[str, ...] = ()
    end_activities: tuple[str, ...] = ()
    top_variants: int | None = None
    min_variant_share: float | None = None
    activity_coverage: float | None = None
    path_coverage: float | None = None
    min_edge_count: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "start", _utc("start", self.start))
        set_(self, "end", _utc("end", self.end))
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise _bad(
                "end",
                "a time after start (the window is [start, end))",
                f"start {_iso(self.start)}, end {_iso(self.end)}",
            )
        _choice("time_mode", self.time_mode, TIME_MODES)
        _choice("channel_mode", self.channel_mode, CHANNEL_MODES)
        for name in ("channels", "start_activities", "end_activities"):
            set_(self, name, _names(name, getattr(self, name)))
        if not isinstance(self.segment, Mapping):
            raise _bad("segment", "a mapping of attribute -> allowed values", repr(self.segment))
        if not all(isinstance(a, str) and a for a in self.segment):
            raise _bad("segment", "attribute names as text", repr(list(self.segment)))
        segment: dict[str, tuple[str | None, ...]] = {}
        for attribute in sorted(self.segment):
            values = _segment_values(self.segment[attribute])
            if not values:
                raise _bad("segment", "at least one allowed value per attribute", attribute)
            segment[attribute] = values
        set_(self, "segment", segment)
        _whole("top_variants", self.top_variants)
        _whole("min_edge_count", self.min_edge_count)
        for name in ("min_variant_share", "activity_coverage", "path_coverage"):
            set_(self, name, _share(name, getattr(self, name)))

    # -- queries and JSON ---------------------------------------------------------------
    @classmethod
    def from_query(cls, params: Mapping[str, str | list[str]]) -> Filters:
        """Parse HTTP query / CLI strings, e.g. channels=web,crm, segment=device:mobile|tablet.

        Lists are comma-separated (or repeated parameters); segment is `attr:v|v;attr:v`;
        a backslash escapes `, ; : | \\`; empty values mean "not set"; unknown names fail.
        """
        kwargs: dict[str, Any] = {}
        for name, raw in params.items():
            if name not in QUERY_PARAMETERS:
                raise _unknown(name)
            values = [raw] if isinstance(raw, str) else list(raw)
            if name in _LIST_FIELDS or name == "segment":
                tokens = [_tokens(v) for v in values]
                if name == "segment":
                    kwargs[name] = _parse_segment([p for t in tokens for p in _split(t, ";")])
                else:
                    kwargs[name] = tuple(
                        item for t in tokens for part in _split(t, ",") if (item := _text(part))
                    )
                continue
            texts = [v.strip() for v in values if v.strip()]
            if len(texts) > 1:
                raise _bad(name, "one value", ", ".join(texts))
            if texts:
                kwargs[name] = _parse_scalar(name, texts[0])
        return cls(**kwargs)

    def to_query(self) -> dict[str, str]:
        """The non-default fields as query strings; `from_query` reads them back to `self`."""
        out: dict[str, str] = {}
        for name, value in self._changed().items():
            if isinstance(value, datetime):
                out[name] = _iso(value)
            elif name == "segment":
                out[name] = ";".join(
                    f"{_escape(k)}:{'|'.join(MISSING if v is None else _escape(v) for v in vs)}"
                    for k, vs in value.items()
                )
            elif isinstance(value, tuple):
                out[name] = ",".join(_escape(v) for v in value)
            else:
                out[name] = repr(value) if isinstance(value, float) else str(value)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready non-default fields (times as ISO-8601 UTC): a stable cache key."""
        out: dict[str, Any] = {}
        for name, value in self._changed().items():
            if isinstance(value, datetime):
                out[name] = _iso(value)
            elif name == "segment":
                out[name] = {k: list(vs) for k, vs in value.items()}
            elif isinstance(value, tuple):
                out[name] = list(value)
            else:
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Filters:
        """Rebuild filters from `to_dict` output (JSON); checks every value like the constructor."""
        unknown = [k for k in data if k not in QUERY_PARAMETERS]
        if unknown:
            raise _unknown(unknown[0])
        kwargs = dict(data)
        for name in ("start", "end"):
            if isinstance(kwargs.get(name), str):
                kwargs[name] = _parse_time(name, kwargs[name])
        return cls(**kwargs)

    @property
    def is_empty(self) -> bool:
        """True when these filters keep everything (no log filter and no path filter)."""
        return not self._log_filters() and not self._path_filters()

    def _changed(self) -> dict[str, Any]:
        return {
            f.name: v
            for f, v in ((f, getattr(self, f.name)) for f in fields(self))
            if v != _DEFAULTS[f.name]
        }

    def _log_filters(self) -> bool:
        return bool(
            self.start is not None
            or self.end is not None
            or self.channels
            or self.segment
            or self.start_activities
            or self.end_activities
            or self.top_variants is not None
            or self.min_variant_share is not None
            or self.activity_coverage is not None
        )

    def _path_filters(self) -> bool:
        return self.path_coverage is not None or self.min_edge_count is not None


_DEFAULTS: dict[str, Any] = {
    "start": None,
    "end": None,
    "time_mode": "contained",
    "channels": (),
    "channel_mode": "cases",
    "segment": {},
    "start_activities": (),
    "end_activities": (),
    "top_variants": None,
    "min_variant_share": None,
    "activity_coverage": None,
    "path_coverage": None,
    "min_edge_count": None,
}
QUERY_PARAMETERS: tuple[str, ...] = tuple(_DEFAULTS)
_LIST_FIELDS = ("channels", "start_activities", "end_activities")


# -- log filters --------------------------------------------------------------------------
def apply_filters(log: EventLog, filters: Filters) -> EventLog:
    """The events of `log` that pass the log filters, in the documented order (O(n_events))."""
    _check_segment(log, filters)
    if not filters._log_filters():
        return log
    frame = log.frame
    frame = _time_window(frame, filters)
    frame = _channels(frame, filters)
    frame = _segment(frame, filters)
    frame = _start_end(frame, filters)
    # The variants step reuses the log's encoded view when nothing before it removed events.
    frame = _variants(log if frame is log.frame else EventLog(frame, is_sorted=True), filters)
    frame = _activity_coverage(frame, filters)
    # Filtering keeps row order, so the frame is still canonically sorted.
    return EventLog(frame, is_sorted=True)


def _time_window(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if f.start is None and f.end is None:
        return frame
    ts = pl.col(TIMESTAMP)
    first, last = ts.min().over(CASE), ts.max().over(CASE)
    start = pl.lit(f.start, dtype=TS_DTYPE) if f.start is not None else None
    end = pl.lit(f.end, dtype=TS_DTYPE) if f.end is not None else None

    def inside(x: pl.Expr) -> pl.Expr:
        conditions = ([x >= start] if start is not None else []) + (
            [x < end] if end is not None else []
        )
        return pl.all_horizontal(conditions)

    if f.time_mode == "trim":
        keep = inside(ts)
    elif f.time_mode == "started":
        keep = inside(first)
    elif f.time_mode == "completed":
        keep = inside(last)
    elif f.time_mode == "contained":
        keep = inside(first) & inside(last)
    else:  # intersecting: the closed span [first, last] meets [start, end)
        keep = pl.all_horizontal(
            ([last >= start] if start is not None else [])
            + ([first < end] if end is not None else [])
        )
    return frame.filter(keep)


def _channels(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if not f.channels:
        return frame
    on = pl.col(CHANNEL).is_in(list(f.channels))
    return frame.filter(on if f.channel_mode == "events" else on.any().over(CASE))


def _segment(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if not f.segment:
        return frame
    keep = []
    for attribute, values in f.segment.items():
        value = pl.col(attribute).cast(pl.String).drop_nulls().first().over(CASE)
        named = [v for v in values if v is not None]
        match = value.is_in(named)
        keep.append(match | value.is_null() if None in values else match)
    try:
        return frame.filter(pl.all_horizontal(keep))
    except pl.exceptions.PolarsError as exc:
        # Only a value that has no text form (lists, structs, binary) fails the cast.
        raise _bad(
            "segment",
            "attributes with plain values (text, numbers, dates)",
            ", ".join(f"{a!r} of type {frame.schema[a]}" for a in f.segment),
        ) from exc


def _start_end(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    keep = []
    if f.start_activities:
        keep.append(pl.col(ACTIVITY).first().over(CASE).is_in(list(f.start_activities)))
    if f.end_activities:
        keep.append(pl.col(ACTIVITY).last().over(CASE).is_in(list(f.end_activities)))
    return frame.filter(pl.all_horizontal(keep)) if keep else frame


def _variants(log: EventLog, f: Filters) -> pl.DataFrame:
    frame = log.frame
    if (f.top_variants is None and f.min_variant_share is None) or frame.height == 0:
        return frame
    variants = discover_variants(log)
    keep = []
    if f.top_variants is not None:
        keep.append(pl.col("variant") < f.top_variants)
    if f.min_variant_share is not None:
        # count / n_cases, as in `Variants.frame["share"]`, rounds like the user's decimal.
        keep.append(pl.col("count") / variants.cases.height >= f.min_variant_share)
    kept = variants.frame.filter(pl.all_horizontal(keep)).get_column("variant")
    cases = variants.cases.filter(pl.col("variant").is_in(kept.implode())).get_column(CASE)
    return frame.filter(pl.col(CASE).is_in(cases.implode()))


def _activity_coverage(frame: pl.DataFrame, f: Filters) -> pl.DataFrame:
    if f.activity_coverage is None or frame.height == 0:
        return frame
    ranked = frame.group_by(ACTIVITY).len().sort(["len", ACTIVITY], descending=[True, False])
    before = (pl.col("len").cum_sum() - pl.col("len")) / frame.height
    kept = ranked.filter(before < f.activity_coverage).get_column(ACTIVITY)
    return frame.filter(pl.col(ACTIVITY).is_in(kept.implode()))


def _check_segment(log: EventLog, f: Filters) -> None:
    attributes = log.attributes
    for attribute in f.segment:
        if attribute not in attributes:
            raise InputError(
                f"segment attribute {attribute!r} is not in the log",
                column=attribute,
                expected="one of the log's attributes: " + (", ".join(attributes) or "(none kept)"),
                found=attribute,
                extra={"parameter": "segment"},
            )


# -- path filters -------------------------------------------------------------------------
def filter_dfg(dfg: DFG, filters: Filters) -> DFG:
    """The DFG with the path filters applied; start/end counts kept for activities still shown."""
    if not filters._path_filters():
        return dfg
    edges = dfg.edges.with_row_index("_row")
    keep = pl.lit(True)
    if filters.path_coverage is not None:
        total = edges.get_column("count").sum()
        ranked = edges.sort(
            ["count", "source", "target"], descending=[True, False, False]
        ).with_row_index("_rank")
        rank = pl.col("_rank")
        before = (pl.col("count").cum_sum() - pl.col("count")) / total
        edges = ranked.filter(
            (before < filters.path_coverage)
            | (rank == rank.min().over("source"))
            | (rank == rank.min().over("target"))
        ).sort("_row")
    if filters.min_edge_count is not None:
        keep = pl.col("count") >= filters.min_edge_count
    kept = edges.filter(keep).select(dfg.edges.columns)
    before_ends = pl.concat([dfg.edges.get_column("source"), dfg.edges.get_column("target")])
    after_ends = pl.concat([kept.get_column("source"), kept.get_column("target")])
    shown = pl.col("activity").is_in(after_ends.implode()) | ~pl.col("activity").is_in(
        before_ends.implode()
    )
    return DFG(edges=kept, start=dfg.start.filter(shown), end=dfg.end.filter(shown))


# -- parsing and checking -----------------------------------------------------------------
def _bad(parameter: str, expected: str, found: str) -> InputError:
    return InputError(
        f"filter parameter {parameter!r} is not valid",
        expected=expected,
        found=found,
        extra={"parameter": parameter},
    )


def _unknown(parameter: str) -> InputError:
    return InputError(
        f"unknown filter parameter {parameter!r}",
        expected="one of " + ", ".join(QUERY_PARAMETERS),
        found=parameter,
        extra={"parameter": parameter},
    )


def _utc(name: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise _bad(name, "a datetime", repr(value))
    # Naive times are UTC, like naive timestamps in the log.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _bad(name, f"one of {', '.join(choices)}", repr(value))


def _names(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (tuple, list, set, frozenset)):
        raise _bad(name, "a tuple of names", repr(value))
    if not all(isinstance(v, str) and v for v in value):
        raise _bad(name, "non-empty names as text", repr(value))
    return tuple(sorted(set(value)))


def _segment_values(value: object) -> tuple[str | None, ...]:
    # Like _names, with None for "no value" allowed (last, once).
    if isinstance(value, str) or not isinstance(value, (tuple, list, set, frozenset)):
        raise _bad("segment", "a tuple of values", repr(value))
    named = [v for v in value if v is not None]
    if not all(isinstance(v, str) and v for v in named):
        raise _bad("segment", "non-empty values as text, or null for no value", repr(value))
    missing: tuple[None, ...] = (None,) if len(named) < len(value) else ()
    return (*sorted(set(named)), *missing)


def _whole(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise _bad(name, "a whole number >= 1", repr(value))


def _share(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise _bad(name, "a share in (0, 1], e.g. 0.8", repr(value))
    return float(value)


def _parse_time(name: str, text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise _bad(
            name, "an ISO-8601 date or time, e.g. 2024-01-01 or 2024-01-01T09:30:00+01:00", text
        ) from None


def _parse_scalar(name: str, text: str) -> Any:
    if name in ("start", "end"):
        return _parse_time(name, text)
    if name in ("top_variants", "min_edge_count"):
        if not re.fullmatch(r"\+?\d+", text):
            raise _bad(name, "a whole number >= 1", text)
        return int(text)
    if name in ("min_variant_share", "activity_coverage", "path_coverage"):
        try:
            return float(text)
        except ValueError:
            raise _bad(name, "a share in (0, 1], e.g. 0.8", text) from None
    return text  # time_mode, channel_mode: checked by the constructor


Token = tuple[str, bool]  # a character and whether a backslash escaped it


def _tokens(text: str) -> list[Token]:
    out: list[Token] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, None)
            out.append((nxt, True) if nxt is not None else ("\\", True))
        else:
            out.append((ch, False))
    return out


def _split(tokens: list[Token], sep: str, maxsplit: int = -1) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    for ch, escaped in tokens:
        if ch == sep and not escaped and maxsplit != 0:
            parts.append([])
            maxsplit -= 1
        else:
            parts[-1].append((ch, escaped))
    return parts


def _text(tokens: list[Token]) -> str:
    lo, hi = 0, len(tokens)
    while lo < hi and tokens[lo][0].isspace() and not tokens[lo][1]:
        lo += 1
    while hi > lo and tokens[hi - 1][0].isspace() and not tokens[hi - 1][1]:
        hi -= 1
    return "".join(ch for ch, _ in tokens[lo:hi])


def _escape(name: str) -> str:
    # Separators anywhere, and spaces at either end (which parsing strips), get a backslash;
    # so does a lone "~", which would read as the missing value.
    if name == MISSING:
        return "\\" + MISSING
    last = len(name) - 1
    return "".join(
        "\\" + ch if ch in _SPECIAL or (ch.isspace() and i in (0, last)) else ch
        for i, ch in enumerate(name)
    )


def _segment_value(tokens: list[Token]) -> str | None:
    # "" (skipped), None for an unescaped lone "~", else the text.
    text = _text(tokens)
    bare = [t for t in tokens if not (t[0].isspace() and not t[1])]
    return None if bare == [(MISSING, False)] else text


def _parse_segment(parts: list[list[Token]]) -> dict[str, tuple[str | None, ...]]:
    segment: dict[str, tuple[str | None, ...]] = {}
    for part in parts:
        if not _text(part):
            continue
        pieces = _split(part, ":", maxsplit=1)
        attribute = _text(pieces[0])
        values = (
            tuple(v for p in _split(pieces[1], "|") if (v := _segment_value(p)) != "")
            if len(pieces) == 2
            else ()
        )
        if not attribute or not values:
            raise _bad(
                "segment",
                "attribute:value|value, e.g. device:mobile|tablet",
                "".join(ch for ch, _ in part),
            )
        if attribute in segment:
            raise _bad("segment", "each attribute once", f"{attribute!r} twice")
        segment[attribute] = values
    return segment
