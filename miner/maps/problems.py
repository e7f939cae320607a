"""Problems in a map file (where, which id, what is wrong) and the one `MapValidationError`
that reports them all, sorted by line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import MapValidationError
from .lines import KeyPath, Locator


@dataclass(frozen=True)
class MapProblem:
    """One problem in a map: where (key path, then line), the offending id, what is wrong."""

    path: KeyPath
    id: str | None
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"line", "id", "message", "path"}."""
        where = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in self.path)
        return {"line": self.line, "id": self.id, "message": self.message, "path": where[1:]}


def map_error(
    problems: Sequence[MapProblem], *, file: str | None, locator: Locator | None = None
) -> MapValidationError:
    """One error for all problems: lines filled in, sorted by line, the first in the message."""
    if locator is not None:
        problems = [
            p if p.line is not None else replace(p, line=locator(p.path, p.id)) for p in problems
        ]
    if not problems:
        problems = [MapProblem((), None, "the map is invalid")]
    problems = sorted(problems, key=lambda p: p.line if p.line is not None else 1 << 30)
    first = problems[0]
    where = ", ".join(x for x in (file, f"line {first.line}" if first.line else None) if x)
    message = f"{where}: {first.message}" if where else first.message
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return MapValidationError(
        message,
        file=file,
        extra={
            "line": first.line,
            "id": first.id,
            "problems": [p.to_dict() for p in problems],
        },
    )


def known_list(name: str, known: Iterable[str], limit: int = 12) -> str:
    """'did you mean X? known: a, b, c' for an unknown name."""
    names = list(dict.fromkeys(known))
    hint = difflib.get_close_matches(name, names, n=1)
    shown = ", ".join(names[:limit]) + (f", ... {len(names)} in all" if len(names) > limit else "")
    return (f"did you mean {hint[0]!r}? " if hint else "") + f"known: {shown or 'none'}"
