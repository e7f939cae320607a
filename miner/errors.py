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

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        where = []
        if self.file and self.file not in self.message:
            where.append(self.file)
        if self.row is not None and f"row {self.row}" not in self.message:
            where.append(f"row {self.row}")
        if self.column and repr(self.column) not in self.message:
            where.append(f"column {self.column!r}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.expected is not None and "expected" not in text:
            text += f" (expected {self.expected}"
            text += f", found {self.found})" if self.found is not None else ")"
        return text

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
                body[key] = value
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
