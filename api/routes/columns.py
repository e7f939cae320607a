"""A source's columns read from its first kilobytes, so the page can map them before uploading.

`POST /logs/columns {"name", "sample"}`: the browser sends the name and the first 64 KiB of
a CSV/TSV or JSON-lines file as text (never the whole file: a 1 GB export would otherwise go
up twice). The answer names the columns, a few example rows, which presets fit the header
(the first fitting one is preselected) and a guess for each role, as a starting point.
"""

from __future__ import annotations

import json
import re

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ...miner.errors import InputError, MappingError, MissingColumnError
from ...miner.ingest.delimited import parse_rows, sniff_delimiter
from ...miner.ingest.presets import PRESETS
from ..deps import TenantDep
from . import problem_responses

router = APIRouter(prefix="/logs", tags=["logs"])

#: What the page sends: 64 KiB of text; a little more is allowed for multi-byte characters.
MAX_SAMPLE_CHARS = 1 << 17
EXAMPLE_ROWS = 5
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json")
# Words in column names that hint at a role, in English and Dutch (the sample's languages).
_HINTS: dict[str, tuple[str, ...]] = {
    "case": ("customer", "klant", "visitor", "user", "client", "caller", "contact", "case", "id"),
    "activity": ("activity", "event", "step", "stap", "status", "page", "reason", "action"),
    "timestamp": ("time", "timestamp", "date", "datum", "tijd", "wanneer", "when", "ts", "at"),
    "channel": ("channel", "kanaal", "source", "medium"),
}


class ColumnsRead(BaseModel):
    """A source file's name and the first kilobytes of its text."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "export.csv", "sample": "Klant;Stap;Wanneer\nk1;bezoek;..."}]
        },
    )

    name: str = Field(min_length=1, max_length=255, description="The file's name.")
    sample: str = Field(
        min_length=1, max_length=MAX_SAMPLE_CHARS, description="The file's first 64 KiB as text."
    )


class ColumnsPublic(BaseModel):
    """The header read from a sample: columns, example rows, fitting presets, guessed roles."""

    file: str
    delimiter: str | None = Field(description="The sniffed delimiter; null for JSON lines.")
    columns: list[str]
    rows: list[list[str]] = Field(description="Up to 5 example rows, as text.")
    preset: str | None = Field(description="The first preset whose columns the file has.")
    presets: dict[str, dict[str, str | None] | None] = Field(
        description="Per preset, the columns it would read (null: the file lacks one)."
    )
    suggested: dict[str, str | None] = Field(
        description="A guess per role (case, activity, timestamp, channel) from column names."
    )


def read_header(name: str, sample: str) -> tuple[str | None, list[str], list[list[str]]]:
    """(delimiter, columns, example rows) of a CSV/TSV or JSON-lines sample; 422 when unreadable."""
    lower = name.lower()
    if not lower.endswith(_TEXT_SUFFIXES):
        raise InputError(
            f"{name!r}: only CSV/TSV and JSON-lines headers can be read from a sample",
            column="name",
            expected="a name ending in " + " ".join(_TEXT_SUFFIXES),
            found=name,
        )
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        first = sample.lstrip("\ufeff").lstrip().split("\n", 1)[0]
        try:
            record = json.loads(first)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            raise InputError(
                f"{name!r}: the first line is not a JSON object",
                column="sample",
                expected="JSON lines: one object per line",
            )
        lines = [ln for ln in sample.split("\n")[: EXAMPLE_ROWS + 1] if ln.strip()]
        rows: list[list[str]] = []
        for ln in lines:
            try:
                obj = json.loads(ln)
            except json.JSONDecodeError:
                break  # the sample may end in the middle of a line
            rows.append([str(obj.get(k, "")) for k in record] if isinstance(obj, dict) else [])
        return None, [str(k) for k in record], rows
    text = sample.lstrip("\ufeff")
    delimiter = "\t" if lower.endswith(".tsv") else sniff_delimiter(text)
    parsed = parse_rows(text, delimiter, '"', limit=EXAMPLE_ROWS + 2)
    columns = [c.strip() for c in parsed[0]]
    if not any(columns):
        raise InputError(
            f"{name!r}: no header row in the sample",
            column="sample",
            expected="a first row of column names",
        )
    # The last parsed row may be cut off where the sample ends; keep only whole rows.
    rows = [r for r in parsed[1 : EXAMPLE_ROWS + 1] if len(r) == len(columns)]
    return delimiter, columns, rows


def preset_columns(columns: list[str]) -> dict[str, dict[str, str | None] | None]:
    """Per preset, the columns it would pick from this header, or None when one is missing."""
    out: dict[str, dict[str, str | None] | None] = {}
    for name, mapping in PRESETS.items():
        try:
            picked = mapping.resolve(columns)
        except (MappingError, MissingColumnError):
            out[name] = None
            continue
        out[name] = {
            "case": picked.case,
            "activity": picked.activity,
            "timestamp": picked.timestamp,
            "channel": picked.channel,
        }
    return out


def _tokens(column: str) -> set[str]:
    return {t for t in re.split(r"[^a-z0-9]+", column.lower()) if t}


def guess_roles(columns: list[str]) -> dict[str, str | None]:
    """A first guess per role from the words in the column names; each column used once."""
    guess: dict[str, str | None] = {}
    used: set[str] = set()
    for role, words in _HINTS.items():
        best: tuple[int, str] | None = None
        for c in columns:
            if c in used:
                continue
            toks, low = _tokens(c), c.lower()
            # An earlier hint word ranks higher; a whole-word hit beats a part of a word.
            score = max(
                (
                    (len(words) - i) * 2 + (w in toks)
                    for i, w in enumerate(words)
                    if w in toks or (len(w) > 3 and w in low)
                ),
                default=0,
            )
            if score and (best is None or score > best[0]):
                best = (score, c)
        guess[role] = best[1] if best else None
        if best:
            used.add(best[1])
    # Without hints, the usual order of an export: case, activity, timestamp.
    rest = iter(c for c in columns if c not in used)
    for role in ("case", "activity", "timestamp"):
        if guess[role] is None:
            guess[role] = next(rest, None)
    return guess


@router.post(
    "/columns",
    summary="Read a source's columns from its first kilobytes (for mapping them)",
    responses=problem_responses(422),
)
def read_columns(body: ColumnsRead, tenant: TenantDep) -> ColumnsPublic:
    """The header, example rows, fitting presets and guessed roles of a sample; nothing stored."""
    delimiter, columns, rows = read_header(body.name, body.sample)
    fits = preset_columns(columns)
    stem = body.name.split(".")[0].lower()
    preset = stem if fits.get(stem) else next((p for p, cols in fits.items() if cols), None)
    return ColumnsPublic(
        file=body.name,
        delimiter=delimiter,
        columns=columns,
        rows=rows,
        preset=preset,
        presets=fits,
        suggested=guess_roles(columns),
    )
