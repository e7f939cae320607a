"""Where a key path of a map file sits: the line of every table, key and list item of TOML,
JSON or YAML text, and the locator that error messages get their line numbers from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .limits import compose_yaml

KeyPath = tuple[str | int, ...]  # where in the file: ("touchpoints", 3, "phase")
Locator = Callable[[KeyPath, "str | None"], "int | None"]


def line_locator(text: str, lines: dict[KeyPath, int]) -> Locator:
    """Key path, id -> line: the line of the path's deepest known part, else the first line
    that quotes the id; None when neither is found."""

    def locate(path: KeyPath, tid: str | None) -> int | None:
        if not path:
            return 1
        for k in range(len(path), 0, -1):
            if path[:k] in lines:
                return lines[path[:k]]
        if tid:
            for n, row in enumerate(text.splitlines(), 1):
                if f'"{tid}"' in row or f"'{tid}'" in row:
                    return n
        return None

    return locate


def json_lines(text: str, max_map_depth: int, max_map_nodes: int) -> dict[KeyPath, int]:
    """Line of every key and list item of a JSON document read as YAML (1-based)."""
    try:
        root = compose_yaml(text, max_map_depth=max_map_depth, max_map_nodes=max_map_nodes)
    except Exception:  # JSON that YAML cannot read: fall back to searching the text
        return {}
    return yaml_node_lines(root)


def yaml_node_lines(root: Any) -> dict[KeyPath, int]:
    """Line of every key and list item under a composed YAML node (1-based)."""
    import yaml

    out: dict[KeyPath, int] = {}

    def walk(node: Any, path: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                out.setdefault((*path, key.value), key.start_mark.line + 1)
                walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out.setdefault((*path, i), item.start_mark.line + 1)
                walk(item, (*path, i))

    if root is not None:  # no aliases (load_yaml refuses them): each node is walked once
        walk(root, ())
    return out


def toml_lines(text: str) -> dict[KeyPath, int]:
    """Line of every table, key and array item of a TOML document (1-based)."""
    out: dict[KeyPath, int] = {}
    lines = text.splitlines()
    counts: dict[str, int] = {}
    table: KeyPath = ()
    i = 0
    while i < len(lines):
        row = lines[i].strip()
        if row.startswith("[["):
            name = row[2:].split("]]")[0].strip().strip("\"'")
            counts[name] = counts.get(name, 0) + 1
            table = (name, counts[name] - 1)
            out.setdefault((name,), i + 1)
            out[table] = i + 1
        elif row.startswith("["):
            table = tuple(row[1:].split("]")[0].strip().split("."))
            out[table] = i + 1
        elif "=" in row and not row.startswith("#"):
            key = row.split("=", 1)[0].strip().strip("\"'")
            path = (*table, *key.split("."))
            out[path] = i + 1
            i = _scan_value(lines, i, lines[i].index("=") + 1, path, out)
        i += 1
    return out


def _scan_value(lines: list[str], i: int, pos: int, path: KeyPath, out: dict[KeyPath, int]) -> int:
    # Walk one value (arrays may span lines), noting where each array item starts.
    stack: list[int] = []
    expecting = False
    while i < len(lines):
        text = lines[i]
        while pos < len(text):
            ch = text[pos]
            if ch in " \t":
                pos += 1
                continue
            if ch == "#":
                break
            if stack and expecting and ch not in ",]":
                out.setdefault((*path, *stack), i + 1)
                expecting = False
            if ch in "\"'":
                i, pos = _skip_string(lines, i, pos)
                text = lines[i]
            elif ch == "{":
                i, pos = _skip_inline_table(lines, i, pos)
                text = lines[i]
            elif ch == "[":
                stack.append(0)
                expecting = True
                pos += 1
            elif ch == "]" and stack:
                stack.pop()
                pos += 1
            elif ch == "," and stack:
                stack[-1] += 1
                expecting = True
                pos += 1
            else:
                pos += 1
            if not stack:
                return i
        i, pos = i + 1, 0
    return len(lines) - 1


def _skip_string(lines: list[str], i: int, pos: int) -> tuple[int, int]:
    quote = lines[i][pos]
    delim = quote * 3 if lines[i].startswith(quote * 3, pos) else quote
    pos += len(delim)
    while i < len(lines):
        text = lines[i]
        while pos < len(text):
            if quote == '"' and text[pos] == "\\":
                pos += 2
            elif text.startswith(delim, pos):
                return i, pos + len(delim)
            else:
                pos += 1
        if len(delim) == 1:
            return i, pos
        i, pos = i + 1, 0
    return len(lines) - 1, len(lines[-1])


def _skip_inline_table(lines: list[str], i: int, pos: int) -> tuple[int, int]:
    depth = 0
    while i < len(lines):
        text = lines[i]
        while pos < len(text):
            ch = text[pos]
            if ch in "\"'":
                i, pos = _skip_string(lines, i, pos)
                text = lines[i]
                continue
            depth += {"{": 1, "}": -1, "[": 1, "]": -1}.get(ch, 0)
            pos += 1
            if depth == 0:
                return i, pos
        i, pos = i + 1, 0
    return len(lines) - 1, len(lines[-1])
