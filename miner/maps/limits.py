"""Bounds on a map file: its size, how deep it nests, how many values it holds, no YAML aliases.

A real map is a few hundred touchpoints and flows, four levels deep. Without bounds a file
of a few hundred bytes can hold a worker for minutes and take gigabytes: YAML aliases that
refer to aliases (a "billion laughs" map expands 10 aliases over 7 levels to 10^7 values),
or brackets nested a thousand deep (Python's parsers recurse). The limits are checked while
the file is parsed (YAML: before any alias could expand), and a map over one is a
`MapLimitError` (422 / exit code 2) that names the limit. `brief` renders any parsed value
in bounded time, for error messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal, TypedDict

from ..errors import MapLimitError

#: The defaults; the service's settings (`JOURNEYMINER_MAX_MAP_*`) pass their own.
MAX_MAP_BYTES = 1_000_000
MAX_MAP_DEPTH = 20
MAX_MAP_NODES = 50_000


class MapLimits(TypedDict):
    """The limits as keyword arguments of `parse_map` and `load_map`."""

    max_map_bytes: int
    max_map_depth: int
    max_map_nodes: int


LimitName = Literal["max_map_bytes", "max_map_depth", "max_map_nodes", "yaml_aliases"]


def limit_error(
    limit: LimitName, message: str, *, file: str | None, maximum: int | None, line: int | None
) -> MapLimitError:
    """A `MapLimitError` naming the limit, shaped like every other map error (one problem)."""
    where = ", ".join(x for x in (file, f"line {line}" if line else None) if x)
    return MapLimitError(
        f"{where}: {message}" if where else message,
        file=file,
        extra={
            "limit": limit,
            "max": maximum,
            "line": line,
            "id": None,
            "problems": [{"line": line, "id": None, "message": message, "path": ""}],
        },
    )


def check_text_size(size: int, *, max_map_bytes: int, file: str | None) -> None:
    """Refuse map text longer than `max_map_bytes` (UTF-8 bytes) before parsing any of it."""
    if size > max_map_bytes:
        text = (
            f"the map is {size:,} bytes, more than the limit of {max_map_bytes:,} (max_map_bytes)"
        )
        raise limit_error("max_map_bytes", text, file=file, maximum=max_map_bytes, line=None)


def depth_error(max_map_depth: int, file: str | None, line: int | None = None) -> MapLimitError:
    """The map nests deeper than `max_map_depth` levels."""
    text = f"the map nests deeper than the limit of {max_map_depth} levels (max_map_depth)"
    return limit_error("max_map_depth", text, file=file, maximum=max_map_depth, line=line)


def nodes_error(max_map_nodes: int, file: str | None, line: int | None = None) -> MapLimitError:
    """The map holds more than `max_map_nodes` values."""
    text = f"the map holds more than the limit of {max_map_nodes:,} values (max_map_nodes)"
    return limit_error("max_map_nodes", text, file=file, maximum=max_map_nodes, line=line)


def check_shape(raw: Any, *, max_map_depth: int, max_map_nodes: int, file: str | None) -> None:
    """Refuse a parsed JSON or TOML document that nests too deep or holds too many values.

    Iterative, and it stops at the first limit, so it costs at most `max_map_nodes` steps.
    Keys count as values, as they do in YAML.
    """
    stack: list[tuple[Any, int]] = [(raw, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > max_map_nodes:
            raise nodes_error(max_map_nodes, file)
        if depth > max_map_depth:
            raise depth_error(max_map_depth, file)
        if isinstance(value, dict):
            nodes += len(value)
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def load_yaml(
    text: str, *, max_map_depth: int, max_map_nodes: int, file: str | None
) -> tuple[Any, Any]:
    """The YAML document and its root node (for line numbers), parsed within the limits.

    Anchors and aliases are refused: a map has no use for them, and they are what lets a
    few bytes stand for millions of values. Both None for an empty document.
    """
    loader = _bounded_loader()(text, max_map_depth=max_map_depth, max_map_nodes=max_map_nodes)
    loader.file = file
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node), node) if node is not None else (None, None)
    finally:
        loader.dispose()


def compose_yaml(text: str, *, max_map_depth: int, max_map_nodes: int) -> Any:
    """The root node of a YAML (or JSON) text within the limits, not constructed; None if empty."""
    loader = _bounded_loader()(text, max_map_depth=max_map_depth, max_map_nodes=max_map_nodes)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


_LOADER: Any = None


def _bounded_loader() -> Any:
    # Built on first use: TOML and JSON maps never import yaml.
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """SafeLoader that refuses anchors and aliases and counts depth and nodes."""

        file: str | None = None

        def __init__(self, stream: str, *, max_map_depth: int, max_map_nodes: int) -> None:
            super().__init__(stream)
            self.max_depth, self.max_nodes = max_map_depth, max_map_nodes
            self.depth = self.nodes = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                what = "alias *" if isinstance(event, yaml.AliasEvent) else "anchor &"
                text = (
                    f"YAML anchors and aliases are not accepted in a map (found {what}"
                    f"{brief(event.anchor)[1:-1]}); write the value out (yaml_aliases)"
                )
                raise limit_error("yaml_aliases", text, file=self.file, maximum=0, line=line)
            self.nodes += 1
            if self.nodes > self.max_nodes:
                raise nodes_error(self.max_nodes, self.file, line)
            if self.depth >= self.max_depth:
                raise depth_error(self.max_depth, self.file, line)
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    _LOADER = BoundedLoader
    return _LOADER


def brief(value: Any, width: int = 60) -> str:
    """`value` as JSON-like text of at most `width` characters; walks only what it shows."""
    parts: list[str] = []
    used = 0
    for token in _tokens(value, 0, width):
        parts.append(token)
        used += len(token)
        if used > width:
            break
    text = "".join(parts)
    return text if len(text) <= width else text[:width]


def _tokens(value: Any, level: int, width: int) -> Iterator[str]:
    # A generator, so a list of 10^7 items costs only the tokens taken; nesting is cut at
    # 8 levels so that the recursion is bounded whatever the value.
    if isinstance(value, dict | list) and level >= 8:
        yield "{...}" if isinstance(value, dict) else "[...]"
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield from (", " if i else "", _scalar(str(key), width), ": ")
            yield from _tokens(item, level + 1, width)
        yield "}"
    elif isinstance(value, list):
        yield "["
        for i, item in enumerate(value):
            yield ", " if i else ""
            yield from _tokens(item, level + 1, width)
        yield "]"
    else:
        yield _scalar(value, width)


def _scalar(value: Any, width: int) -> str:
    if isinstance(value, str) and len(value) > width:
        value = value[:width]
    try:
        return json.dumps(value)
    except (TypeError, ValueError):  # dates from YAML/TOML; ints past str()'s digit limit
        try:
            return str(value)[:width]
        except ValueError:
            return f"<{type(value).__name__}>"
