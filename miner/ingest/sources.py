"""Source mappings: which column of a raw source is the customer, touchpoint, time and channel.

A mapping is data (TOML or JSON), never code. Its `case`, `activity`, `timestamp`,
`start_timestamp` (interval events) and `channel` fields each hold one column name or a
tuple of candidates; the first candidate found in the file's header wins. Left unset, they take the format's standard names
(`case_id`/`activity`/`timestamp` for tables, `case:concept:name`/`concept:name`/
`time:timestamp` for XES, `ocel:oid`/`ocel:activity`/`ocel:timestamp` for OCEL).

The built-in presets, mapping files and the front doors' options become a mapping in
`presets.py`.
"""

from __future__ import annotations

import codecs
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .._typing import Ambiguous, OnMissing
from ..errors import MappingError, MissingColumnError, shorten
from ..log import CANONICAL, CHANNEL, START
from .timestamps import EPOCH_FORMATS, format_problem
from .zones import timezone_problem

CSV_DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
# Decoded by polars directly; any other Python codec name is transcoded to UTF-8 in chunks.
NATIVE_ENCODINGS: tuple[str, ...] = ("utf8", "utf8-lossy")
_ROLES = ("case", "activity", "timestamp")
TABLE_DEFAULTS = ("case_id", "activity", "timestamp")
FOLD = "fold"  # `lifecycle = "fold"`: start/complete pairs become interval events


@dataclass(frozen=True)
class ResolvedColumns:
    """The actual column names of one file that a mapping points at."""

    case: str
    activity: str
    timestamp: str
    channel: str | None
    keep: tuple[str, ...]
    start_timestamp: str | None = None

    @property
    def needed(self) -> list[str]:
        """Every column to read from the file, each once, in a stable order."""
        cols = [self.case, self.activity, self.timestamp]
        if self.channel is not None:
            cols.append(self.channel)
        if self.start_timestamp is not None:
            cols.append(self.start_timestamp)
        cols.extend(self.keep)
        return list(dict.fromkeys(cols))


@dataclass(frozen=True)
class SourceMapping:
    """How to read one source: column roles, time parsing, activity filters, CSV/OCEL options.

    `case`/`activity`/`timestamp`/`channel`: a column name or candidates (first present
    wins); None = the format's standard name (channel: a `channel` column if there is one
    and no `channel_value`). `channel_value`: the channel of every event
    (used where the channel column is absent or empty). `rename`/`include`/`exclude` act
    on activity names; include/exclude compare against the renamed names. `lifecycle`:
    XES lifecycle transitions to keep (empty = all, as pm4py reads them), or `("fold",)` to
    pair each start with its complete into one interval event. `start_timestamp`: the start
    time of interval events, parsed like `timestamp` (which is then the complete time); a
    table's own `start_timestamp` column is used without it. `on_missing`: rows without
    case, activity, timestamp or start time raise ("error") or are dropped ("drop").
    """

    case: str | tuple[str, ...] | None = None
    activity: str | tuple[str, ...] | None = None
    timestamp: str | tuple[str, ...] | None = None
    channel: str | tuple[str, ...] | None = None
    channel_value: str | None = None
    keep: tuple[str, ...] = ()
    keep_if_present: tuple[str, ...] = ()
    timestamp_format: str | None = None
    timezone: str = "UTC"
    ambiguous: Ambiguous = "earliest"
    rename: Mapping[str, str] = field(default_factory=dict)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    lifecycle: tuple[str, ...] = ()
    on_missing: OnMissing = "error"
    delimiter: str | None = None
    quote_char: str | None = '"'
    encoding: str = "utf8"
    skip_rows: int = 0
    object_type: str | None = None
    start_timestamp: str | tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("case", "activity", "timestamp", "channel", "start_timestamp"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _names(name, value))
        for name in ("keep", "keep_if_present", "include", "exclude", "lifecycle"):
            object.__setattr__(self, name, _names(name, getattr(self, name), allow_empty=True))
        for name in ("channel_value", "timestamp_format", "object_type", "quote_char"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise mapping_type_error(name, "text", value)
        if not isinstance(self.timezone, str):
            raise mapping_type_error(
                "timezone", "a zone name such as 'Europe/Amsterdam'", self.timezone
            )
        problem = timezone_problem(self.timezone)
        if problem is not None:  # checked here, before any job: every door builds a mapping
            raise MappingError(
                problem,
                column="timezone",
                expected="an IANA zone such as 'Europe/Amsterdam', or UTC",
                found=repr(self.timezone),
            )
        if self.ambiguous not in ("earliest", "latest", "raise"):
            raise _wrong_value("ambiguous", "'earliest', 'latest' or 'raise'", self.ambiguous)
        if not isinstance(self.rename, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.rename.items()
        ):
            raise mapping_type_error("rename", "a table of old name = new name", self.rename)
        object.__setattr__(self, "rename", dict(self.rename))
        if FOLD in self.lifecycle and len(self.lifecycle) > 1:
            raise _wrong_value(
                "lifecycle", "'fold', or a list of transitions to keep", list(self.lifecycle)
            )
        if self.on_missing not in ("error", "drop"):
            raise _wrong_value("on_missing", "'error' or 'drop'", self.on_missing)
        if self.delimiter is not None and (
            not isinstance(self.delimiter, str) or len(self.delimiter) != 1
        ):
            raise _wrong_value(
                "delimiter", "one character such as ',' ';' '\\t' '|'", self.delimiter
            )
        if self.quote_char is not None and len(self.quote_char) != 1:
            raise _wrong_value("quote_char", "one character, or none", self.quote_char)
        if not isinstance(self.skip_rows, int) or isinstance(self.skip_rows, bool):
            raise mapping_type_error("skip_rows", "a whole number", self.skip_rows)
        if self.skip_rows < 0:
            raise _wrong_value("skip_rows", "0 or more", self.skip_rows)
        if not isinstance(self.encoding, str):
            raise mapping_type_error("encoding", "an encoding name", self.encoding)
        encoding = _normalize_encoding(self.encoding)
        object.__setattr__(self, "encoding", encoding)
        fmt = self.timestamp_format
        if fmt is not None and fmt.startswith("epoch") and fmt not in EPOCH_FORMATS:
            raise _wrong_value("timestamp_format", ", ".join(EPOCH_FORMATS), fmt)
        if fmt is not None and format_problem(fmt) is not None:
            raise _wrong_value(
                "timestamp_format",
                f"a strftime format such as '%d/%m/%Y %H:%M', or {', '.join(EPOCH_FORMATS)}",
                fmt,
            )

    def with_overrides(self, **overrides: Any) -> SourceMapping:
        """A copy with some fields changed; unknown field names raise MappingError."""
        check_mapping_keys(overrides)
        return replace(self, **overrides)

    def resolve(
        self,
        columns: Sequence[str],
        *,
        defaults: tuple[str, str, str] = TABLE_DEFAULTS,
        file: str | None = None,
    ) -> ResolvedColumns:
        """Pick the actual column for each role from the file's `columns`."""
        present = set(columns)
        picked: list[str] = []
        for role, default in zip(_ROLES, defaults, strict=True):
            candidates: tuple[str, ...] = getattr(self, role) or (default,)
            found = next((c for c in candidates if c in present), None)
            if found is None:
                raise _missing(role, candidates, columns, file)
            picked.append(found)
        channel: str | None = None
        if self.channel is None and self.channel_value is None and CHANNEL in present:
            channel = CHANNEL  # a canonical file's own channel column
        elif self.channel is not None:
            channel = next((c for c in self.channel if c in present), None)
            if channel is None and self.channel_value is None:
                raise _missing("channel", tuple(self.channel), columns, file)
        start: str | None = None
        if self.start_timestamp is not None:
            start = next((c for c in self.start_timestamp if c in present), None)
            if start is None:
                raise _missing("start timestamp", tuple(self.start_timestamp), columns, file)
        elif START in present and tuple(defaults) == TABLE_DEFAULTS:
            start = START  # a canonical interval log's own start column
        used = {*picked, channel, start}
        for k in self.keep:
            if k not in present:
                raise _missing("attribute", (k,), columns, file)
        keep = [k for k in self.keep if k not in used]
        keep += [k for k in self.keep_if_present if k in present and k not in used]
        keep = [k for k in dict.fromkeys(keep) if k not in (*CANONICAL, START) or k in self.keep]
        return ResolvedColumns(picked[0], picked[1], picked[2], channel, tuple(keep), start)


def _names(key: str, value: Any, *, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise mapping_type_error(key, "a column name or a list of names", value)
    if not value and not allow_empty:
        raise _wrong_value(key, "at least one column name", "an empty list")
    return tuple(value)


def _normalize_encoding(name: str) -> str:
    lowered = name.lower().replace("_", "-")
    if lowered in ("utf8", "utf-8"):
        return "utf8"
    if lowered in ("utf8-lossy", "utf-8-lossy"):
        return "utf8-lossy"
    try:
        return codecs.lookup(lowered).name
    except LookupError:
        raise _wrong_value(
            "encoding", "utf8, utf8-lossy, latin-1, cp1252 or another codec name", name
        ) from None


def mapping_type_error(key: str, expected: str, value: Any) -> MappingError:
    return MappingError(
        f"mapping field {key!r} must be {expected}",
        column=key,
        expected=expected,
        found=f"{type(value).__name__} {value!r}",
    )


def _wrong_value(key: str, expected: str, value: Any) -> MappingError:
    return MappingError(
        f"mapping field {key!r} has an invalid value {value!r}",
        column=key,
        expected=expected,
        found=repr(value),
    )


# Words that make a header name look like a role's column (folded: lower case, letters only).
_LOOKS_LIKE: dict[str, tuple[str, ...]] = {
    "case": (
        "case",
        "customer",
        "client",
        "visitor",
        "user",
        "account",
        "contact",
        "caller",
        "session",
        "ticket",
        "order",
        "oid",
        "klant",
        "journey",
        "id",
    ),
    "activity": (
        "activity",
        "conceptname",
        "event",
        "action",
        "step",
        "status",
        "stage",
        "task",
        "page",
        "touchpoint",
        "reason",
        "activiteit",
        "state",
    ),
    "timestamp": (
        "timestamp",
        "time",
        "date",
        "datum",
        "tijd",
        "when",
        "created",
        "changed",
        "updated",
        "modified",
        "start",
        "ts",
        "at",
    ),
    "channel": ("channel", "kanaal", "medium", "source", "origin"),
}
_FLAGS = {"case": "--case", "activity": "--activity", "timestamp": "--timestamp"}
_MAX_LISTED = 30


def _fold_name(name: str) -> str:
    return "".join(c for c in name.casefold() if c.isalnum())


def columns_like(role: str, columns: Sequence[str], *, limit: int = 5) -> list[str]:
    """Header names that look like `role`'s column (case:concept:name, CaseID, Case ID, ...).

    Whole-word matches first, then names that contain a role word; at most `limit`.
    """
    words = _LOOKS_LIKE.get(role, ())
    scored: list[tuple[int, int, str]] = []
    for i, name in enumerate(columns):
        parts = [_fold_name(p) for p in re.split(r"[\s_:.\-/]+|(?<=[a-z])(?=[A-Z])", name)]
        folded = _fold_name(name)
        # Short words (id, ts, at) only count as whole parts: 'status' is no timestamp.
        if any(w in parts for w in words):
            scored.append((0, i, name))
        elif any(len(w) > 3 and w in folded for w in words):
            scored.append((1, i, name))
    return [name for _, _, name in sorted(scored)[:limit]]


def _missing(
    role: str, candidates: tuple[str, ...], columns: Sequence[str], file: str | None
) -> MissingColumnError:
    wanted = " or ".join(shorten(repr(c)) for c in candidates)
    listed = [shorten(repr(c), 60) for c in columns[:_MAX_LISTED]]
    more = len(columns) - _MAX_LISTED
    has = ", ".join(listed) + (f" and {more} more" if more > 0 else "") or "no columns"
    like = columns_like(role, columns)
    hint = (
        f"columns that look like one: {', '.join(shorten(repr(c), 60) for c in like)}; "
        if like
        else ""
    )
    if role in _FLAGS:
        how = f'pass {_FLAGS[role]} COLUMN, or {role} = "COLUMN" in a mapping'
    elif role == "channel":
        how = 'set channel = "COLUMN" in the mapping, or channel_value for a fixed channel'
    else:
        how = "remove it from keep in the mapping, or fix its name"
    return MissingColumnError(
        f"no {role} column: {hint}{how}",
        file=file,
        column=candidates[0],
        expected=f"a column named {wanted}",
        found=f"the columns {has}",
    )


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(SourceMapping))


def _did_you_mean(word: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), names, n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def check_mapping_keys(data: Mapping[str, Any], *, file: str | None = None) -> None:
    for key in data:
        if key not in FIELD_NAMES:
            allowed = ", ".join(("preset", *FIELD_NAMES))
            raise MappingError(
                f"unknown mapping field {shorten(repr(key))}{_did_you_mean(key, FIELD_NAMES)}",
                file=file,
                column=key,
                expected=f"one of the allowed fields {allowed}",
                found=shorten(repr(key)),
            )
