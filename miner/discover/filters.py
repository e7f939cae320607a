"""The filters a user asks for (`Filters`): their fields, their checks and the query-string
syntax the HTTP API and the CLI share. `filtering.py` applies them to a log and a DFG, in the
fixed order its docstring gives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, get_args

from .._typing import ChannelMode, TimeMode
from ..errors import InputError

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
            raise bad_parameter(
                "end",
                "a time after start (the window is [start, end))",
                f"start {_iso(self.start)}, end {_iso(self.end)}",
            )
        _choice("time_mode", self.time_mode, TIME_MODES)
        _choice("channel_mode", self.channel_mode, CHANNEL_MODES)
        for name in ("channels", "start_activities", "end_activities"):
            set_(self, name, _names(name, getattr(self, name)))
        if not isinstance(self.segment, Mapping):
            raise bad_parameter(
                "segment", "a mapping of attribute -> allowed values", repr(self.segment)
            )
        if not all(isinstance(a, str) and a for a in self.segment):
            raise bad_parameter("segment", "attribute names as text", repr(list(self.segment)))
        segment: dict[str, tuple[str | None, ...]] = {}
        for attribute in sorted(self.segment):
            values = _segment_values(self.segment[attribute])
            if not values:
                raise bad_parameter(
                    "segment", "at least one allowed value per attribute", attribute
                )
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
                raise bad_parameter(name, "one value", ", ".join(texts))
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

    def picks_by_own_events(self) -> bool:
        """True when a filter that each journey's own events decide (steps 1-4: time window,
        channels, segment, start/end activities) is set."""
        return bool(
            self.start is not None
            or self.end is not None
            or self.channels
            or self.segment
            or self.start_activities
            or self.end_activities
        )

    def picks_variants(self) -> bool:
        """True when a variant filter (step 5) is set."""
        return self.top_variants is not None or self.min_variant_share is not None

    def picks_events(self) -> bool:
        """True when these filters drop journeys or events (not only the DFG's paths)."""
        return self._log_filters()

    def _changed(self) -> dict[str, Any]:
        return {
            f.name: v
            for f, v in ((f, getattr(self, f.name)) for f in fields(self))
            if v != _DEFAULTS[f.name]
        }

    def _log_filters(self) -> bool:
        return (
            self.picks_by_own_events()
            or self.picks_variants()
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


# -- parsing and checking -----------------------------------------------------------------
def bad_parameter(parameter: str, expected: str, found: str) -> InputError:
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
        raise bad_parameter(name, "a datetime", repr(value))
    # Naive times are UTC, like naive timestamps in the log.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise bad_parameter(name, f"one of {', '.join(choices)}", repr(value))


def _names(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (tuple, list, set, frozenset)):
        raise bad_parameter(name, "a tuple of names", repr(value))
    if not all(isinstance(v, str) and v for v in value):
        raise bad_parameter(name, "non-empty names as text", repr(value))
    return tuple(sorted(set(value)))


def _segment_values(value: object) -> tuple[str | None, ...]:
    # Like _names, with None for "no value" allowed (last, once).
    if isinstance(value, str) or not isinstance(value, (tuple, list, set, frozenset)):
        raise bad_parameter("segment", "a tuple of values", repr(value))
    named = [v for v in value if v is not None]
    if not all(isinstance(v, str) and v for v in named):
        raise bad_parameter(
            "segment", "non-empty values as text, or null for no value", repr(value)
        )
    missing: tuple[None, ...] = (None,) if len(named) < len(value) else ()
    return (*sorted(set(named)), *missing)


def _whole(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise bad_parameter(name, "a whole number >= 1", repr(value))


def _share(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise bad_parameter(name, "a share in (0, 1], e.g. 0.8", repr(value))
    return float(value)


def _parse_time(name: str, text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise bad_parameter(
            name, "an ISO-8601 date or time, e.g. 2024-01-01 or 2024-01-01T09:30:00+01:00", text
        ) from None


def _parse_scalar(name: str, text: str) -> Any:
    if name in ("start", "end"):
        return _parse_time(name, text)
    if name in ("top_variants", "min_edge_count"):
        if not re.fullmatch(r"\+?\d+", text):
            raise bad_parameter(name, "a whole number >= 1", text)
        return int(text)
    if name in ("min_variant_share", "activity_coverage", "path_coverage"):
        try:
            return float(text)
        except ValueError:
            raise bad_parameter(name, "a share in (0, 1], e.g. 0.8", text) from None
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
            raise bad_parameter(
                "segment",
                "attribute:value|value, e.g. device:mobile|tablet",
                "".join(ch for ch, _ in part),
            )
        if attribute in segment:
            raise bad_parameter("segment", "each attribute once", f"{attribute!r} twice")
        segment[attribute] = values
    return segment
