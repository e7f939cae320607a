"""Every error journeyminer raises on purpose, with what the user needs to fix it.

JourneyminerError                 root; `.problem()` gives an RFC 9457 body
├── InputError                    bad input from the user (exit code 2, HTTP 4xx)
│   ├── SourceError               a source file cannot be read as expected
│   │   ├── EmptySourceError      the file has no rows
│   │   ├── MissingColumnError    a mapped column is not in the file
│   │   ├── TimestampError        a timestamp does not parse (first bad row shown)
│   │   ├── FormatError           malformed CSV/JSON/TOML/XES/OCEL
│   │   └── SourceLimitError      a value, header, column count or activity count over a limit
│   ├── MappingError              a source mapping or preset is wrong or unknown
│   ├── IdentityError             the identity table conflicts with itself
│   ├── ConflictError             a name is taken, or a log has no events yet (HTTP 409)
│   └── MapValidationError        a designed journey map is invalid
│       └── MapLimitError         a map over a size, depth, node or alias limit
├── NotFoundError                 an id that does not exist (HTTP 404)
└── InternalError                 a bug: report it (exit code 3, HTTP 500)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A header line of 1 MB must still give a message one can read: every value is cut here.
# What we write ourselves (the expected form, lists of allowed names) may run a little longer.
MAX_VALUE = 200
MAX_EXPECTED = 400
MAX_MESSAGE = 1000


def shorten(text: str, limit: int = MAX_VALUE) -> str:
    """`text` cut to `limit` characters, saying how many were left off."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more)"


@dataclass
class JourneyminerError(Exception):
    """Root of journeyminer's errors; `message` is the sentence shown to the user."""

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    expected: str | None = None
    found: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    status: int = 500
    title: str = "Internal error"
    # What `column` names in the text: a column of a file, or a field of a mapping or request.
    column_label = "column"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        message = shorten(self.message, MAX_MESSAGE)
        where = []
        if self.file and self.file not in message:
            where.append(shorten(self.file))
        if self.row is not None and f"row {self.row}" not in message:
            where.append(f"row {self.row}")
        if self.column and repr(self.column) not in f"{message} {self.expected}":
            where.append(f"{self.column_label} {shorten(repr(self.column))}")
        text = f"{', '.join(where)}: {message}" if where else message
        # Say expected and found once: a value the message already shows is not repeated.
        said = []
        if self.expected is not None and self.expected not in text:
            said.append(f"expected {shorten(self.expected, MAX_EXPECTED)}")
        if self.found is not None and self.found not in text:
            said.append(f"found {shorten(self.found)}")
        return f"{text} ({', '.join(said)})" if said else text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep every field across pickling (process pools, job runners).
        return (_rebuild, (type(self), dict(self.__dict__)))

    def problem(self) -> dict[str, Any]:
        """This error as an RFC 9457 problem body (no paths beyond the file name)."""
        body: dict[str, Any] = {
            "type": f"https://journeyminer.dev/problems/{type(self).__name__}",
            "title": self.title,
            "status": self.status,
            "detail": str(self),
        }
        for key in ("file", "row", "column", "expected", "found"):
            value = getattr(self, key)
            if value is not None:
                limit = MAX_EXPECTED if key == "expected" else MAX_VALUE
                body[key] = shorten(value, limit) if isinstance(value, str) else value
        body.update(self.extra)
        return body


@dataclass
class InputError(JourneyminerError):
    """Bad input from the user."""

    status: int = 422
    title: str = "Invalid input"


@dataclass
class SourceError(InputError):
    """A source file cannot be read as expected."""

    title: str = "Unreadable source"


@dataclass
class EmptySourceError(SourceError):
    """The source file holds no events."""

    title: str = "Empty source"


@dataclass
class MissingColumnError(SourceError):
    """A mapped column is not in the file."""

    title: str = "Missing column"


@dataclass
class TimestampError(SourceError):
    """A timestamp does not parse."""

    title: str = "Unparsable timestamp"


@dataclass
class FormatError(SourceError):
    """The file is not valid in its format (CSV, JSON, TOML, XES, OCEL)."""

    title: str = "Malformed file"


@dataclass
class SourceLimitError(SourceError):
    """A source over a length or count limit; `extra["limit"]` names it."""

    title: str = "Source over a limit"


@dataclass
class MappingError(InputError):
    """A source mapping or preset is wrong or unknown."""

    title: str = "Invalid source mapping"
    column_label = "field"


@dataclass
class IdentityError(InputError):
    """The identity table maps one source id to several customers."""

    title: str = "Conflicting identities"


@dataclass
class ConflictError(InputError):
    """The request clashes with what is stored: a name already taken, a log with no events."""

    status: int = 409
    title: str = "Conflict"


@dataclass
class MapValidationError(InputError):
    """A designed journey map is invalid."""

    title: str = "Invalid journey map"


@dataclass
class MapLimitError(MapValidationError):
    """A map file over one of the parser's limits; `extra["limit"]` names it."""

    title: str = "Journey map over a limit"


@dataclass
class NotFoundError(JourneyminerError):
    """An id that does not exist (or belongs to someone else)."""

    status: int = 404
    title: str = "Not found"


@dataclass
class InternalError(JourneyminerError):
    """A bug in journeyminer."""

    status: int = 500
    title: str = "Internal error"


def _rebuild(cls: type[JourneyminerError], state: dict[str, Any]) -> JourneyminerError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, state.get("message", ""))
    return error
