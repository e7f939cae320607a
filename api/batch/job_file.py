"""The job file of `journeyminer run`: its model, and checks whose errors name file, line and key.

The format is described in `api/batch/run.py`; `load_job` reads and checks a file, `Job` resolves
its relative paths against the job file's folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ...miner._typing import Ambiguous
from ...miner.durations import parse_gap
from ...miner.errors import InputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobSource(_Model):
    """One `[[sources]]` entry: files and how to read them (the CLI's source options)."""

    path: str
    preset: str | None = None
    mapping: str | None = None
    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    start_timestamp: str | None = None
    timestamp_format: str | None = None
    timezone: str | None = None
    channel: str | None = None
    object_type: str | None = None
    lifecycle: str | list[str] | None = None
    ambiguous: Ambiguous | None = None  # fall-back local times: earliest, latest or raise

    @model_validator(mode="after")
    def _one_mapping(self) -> JobSource:
        if self.preset is not None and self.mapping is not None:
            raise ValueError("give one of preset or mapping, not both")
        if self.preset is None and self.mapping is None and self.case is None:
            raise ValueError("give a preset, a mapping, or the columns (case, activity, ...)")
        return self


class JobJourneys(_Model):
    """`[journeys]`: identity and customer tables, journey cutting, designed map."""

    identities: str | None = None
    customers: str | None = None
    gap: str = "30d"
    goals: list[str] = Field(default_factory=list)
    map: str | None = None


class JobAnalysis(_Model):
    """One `[[analyses]]` entry."""

    kind: Literal["discover", "compare"]
    name: str | None = None
    filters: dict[str, Any] = Field(default_factory=dict)
    segment: str | None = None

    @property
    def label(self) -> str:
        """The output file prefix."""
        return self.name or ("discovery" if self.kind == "discover" else "compare")


class JobOutputs(_Model):
    """`[outputs]`."""

    dir: str = "out"


class JobThresholds(_Model):
    """`[thresholds]`: a breach makes the run exit with code 4."""

    min_fitness: float | None = Field(default=None, ge=0, le=1)
    max_leak_rate: float | None = Field(default=None, ge=0, le=1)
    min_conversion: float | None = Field(default=None, ge=0, le=1)


class JobFile(_Model):
    """The whole job file, as written."""

    name: str
    workspace: str | None = None
    tenant: str = "default"
    log: str | None = None
    sources: list[JobSource] = Field(min_length=1)
    journeys: JobJourneys = JobJourneys()
    analyses: list[JobAnalysis] = Field(default_factory=lambda: [JobAnalysis(kind="discover")])
    outputs: JobOutputs = JobOutputs()
    thresholds: JobThresholds = JobThresholds()


@dataclass(frozen=True)
class Job:
    """A validated job file and the folder its relative paths start from."""

    spec: JobFile
    path: Path
    base: Path
    text: str = ""

    def at(self, loc: tuple[Any, ...], message: str) -> str:
        """`message` prefixed with the line of the key at `loc` in the job file."""
        return _at(self.text, loc, message)

    def resolve(self, text: str) -> Path:
        """A path of the job file, relative ones taken from the job file's folder."""
        return Path(os.path.normpath(self.base / Path(text).expanduser()))

    def label(self, path: Path) -> str:
        """How a file is named in the log: relative to the job folder when inside it."""
        try:
            return path.relative_to(self.base).as_posix()
        except ValueError:
            return path.as_posix()

    @property
    def log_name(self) -> str:
        """The stored log this job appends to."""
        return self.spec.log or self.spec.name

    def mapping(self, source: int) -> Any:
        """The SourceMapping of `[[sources]]` entry `source`: a preset or a mapping file, and
        the columns and options it names, as the CLI's source options."""
        from ...miner.ingest.presets import source_mapping

        s = self.spec.sources[source]
        given = s.model_dump(exclude={"path", "preset", "mapping"})
        if isinstance(given["lifecycle"], list):
            given["lifecycle"] = tuple(given["lifecycle"])
        return source_mapping(
            preset_name=s.preset,
            mapping=self.resolve(s.mapping) if s.mapping else None,
            **given,
        )

    @property
    def out_dir(self) -> Path:
        """Where the outputs go."""
        return self.resolve(self.spec.outputs.dir)


def load_job(path: str | Path) -> Job:
    """Read and check a job file; errors name the file, the line and the key."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            "job file not found", file=where, expected="an existing TOML file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the job file: {exc}", file=where) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed TOML: {exc}", file=where, expected="valid TOML") from None
    try:
        spec = JobFile.model_validate(data)
    except ValidationError as exc:
        raise _job_error(exc, text, where) from None
    job = Job(spec=spec, path=path, base=path.resolve().parent, text=text)
    _check_job(job, text)
    return job


def _check_job(job: Job, text: str) -> None:
    from ...miner.discover.filters import Filters

    spec, where = job.spec, str(job.path)

    def bad(loc: tuple[Any, ...], message: str, expected: str | None = None) -> InputError:
        return InputError(_at(text, loc, message), file=where, expected=expected)

    def check(loc: tuple[Any, ...], run: Callable[[], object]) -> None:
        try:
            run()
        except InputError as exc:
            exc.message = _at(text, loc, exc.message)
            exc.file = where if exc.file is None else exc.file
            raise

    for i, s in enumerate(spec.sources):
        check(("sources", i, "mapping" if s.mapping else "preset"), partial(job.mapping, i))
    check(("journeys", "gap"), partial(parse_gap, spec.journeys.gap))
    labels = [a.label for a in spec.analyses]
    for i, a in enumerate(spec.analyses):
        if not _NAME.match(a.label):
            raise bad(
                ("analyses", i, "name"),
                f"bad analysis name {a.label!r}",
                "letters, digits, _ and -",
            )
        if labels.count(a.label) > 1:
            raise bad(
                ("analyses", i), f"two analyses write {a.label!r}", "a unique name per analysis"
            )
        check(("analyses", i, "filters"), partial(Filters.from_dict, a.filters))
        if a.segment is not None and a.kind != "compare":
            raise bad(("analyses", i, "segment"), "segment is for compare analyses")
        if a.kind == "compare" and spec.journeys.map is None:
            raise bad(("analyses", i, "kind"), "compare needs a designed map", "journeys.map")
    t = spec.thresholds
    compares = any(a.kind == "compare" for a in spec.analyses)
    for key in ("min_fitness", "max_leak_rate"):
        if getattr(t, key) is not None and not compares:
            raise bad(("thresholds", key), f"{key} needs a compare analysis")
    if t.min_conversion is not None and not compares and not spec.journeys.goals:
        raise bad(
            ("thresholds", "min_conversion"), "min_conversion needs a compare analysis or goals"
        )


def _job_error(exc: ValidationError, text: str, where: str) -> InputError:
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    key = _dotted(loc)
    if first["type"] == "extra_forbidden":
        hint = " (identities belongs in the journeys table)" if loc[-1] == "identities" else ""
        message = f"unknown key {key!r}{hint}"
    elif first["type"] == "missing":
        message = f"missing key {key!r}"
    else:
        text_ = str(first["msg"]).removeprefix("Value error, ")
        message = f"{key}: {text_}" if key else text_
    found = None if first["type"] in ("missing", "extra_forbidden") else repr(first.get("input"))
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return InputError(_at(text, loc, message + more), file=where, found=found)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*="""
)


def _at(text: str, loc: tuple[Any, ...], message: str) -> str:
    """Prefix `message` with the line of `loc` in the TOML text (best effort, no TOML parser needed)."""
    lines: dict[tuple[Any, ...], int] = {}
    table: tuple[Any, ...] = ()
    counts: dict[tuple[str, ...], int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            name = tuple(p.strip().strip("\"'") for p in header.group(2).split("."))
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                table = (*name, counts[name])
            else:
                table = name
            lines.setdefault(table, n)
            continue
        key = _KEY.match(line)
        if key:
            parts = tuple(p.strip().strip("\"'") for p in key.group(1).split("."))
            lines.setdefault((*table, *parts), n)
    for k in range(len(loc), 0, -1):
        if loc[:k] in lines:
            return f"line {lines[loc[:k]]}: {message}"
    return message
