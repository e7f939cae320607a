"""OCEL 2.0 object-centric logs (JSON, XML), read by rustxes and flattened on one object type:
each object of that type is a case."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import rustxes

from .._typing import SourceFormat
from ..errors import EmptySourceError, FormatError, MappingError
from .sources import ResolvedColumns, SourceMapping
from .xes import naive_times_to_utc, panic_text

OCEL_COLUMNS = ("ocel:oid", "ocel:activity", "ocel:timestamp")


def read_ocel(
    path: Path, mapping: SourceMapping, fmt: SourceFormat
) -> tuple[pl.DataFrame, ResolvedColumns]:
    """The events related to objects of the mapping's `object_type`, one case per object."""
    reader = rustxes.import_ocel_json if fmt == "ocel-json" else rustxes.import_ocel_xml
    try:
        tables = reader(str(path))
        relations, events = tables["relations"], tables["events"]
        types = sorted(set(tables["objects"].get_column("ocel:type").drop_nulls().to_list()))
    except BaseException as exc:  # rustxes panics (a BaseException) on bad input
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        match = re.search(r"line:? (\d+), column:? (\d+)", str(exc))
        where = f" at line {match.group(1)}, column {match.group(2)}" if match else ""
        raise FormatError(
            f"not a valid OCEL 2.0 {fmt[5:].upper()} log{where}: {panic_text(exc)}",
            file=path.name,
            row=int(match.group(1)) if match else None,
            expected="an OCEL 2.0 log (objectTypes, eventTypes, objects, events)",
        ) from None
    if mapping.object_type not in types:
        known = ", ".join(types) or "none"
        raise MappingError(
            f"choose the object type whose objects are the cases: object_type = one of {known}",
            file=path.name,
            column="object_type",
            expected=f"one of {known}",
            found=repr(mapping.object_type),
        )
    flat = relations.filter(pl.col("ocel:type") == mapping.object_type)
    attrs = [c for c in events.columns if c not in ("ocel:eid", *OCEL_COLUMNS, *flat.columns)]
    if attrs:
        flat = flat.join(
            events.select("ocel:eid", *attrs), on="ocel:eid", how="left", maintain_order="left"
        )
    if flat.height == 0:
        raise EmptySourceError(
            f"no event relates to an object of type {mapping.object_type!r}", file=path.name
        )
    flat = naive_times_to_utc(flat)
    cols = mapping.resolve(flat.columns, defaults=OCEL_COLUMNS, file=path.name)
    return flat.select(cols.needed), cols
