"""The options that say how to read a source, defined once for every command that reads a log.

`@source_options` adds `--preset`, `--mapping`, `--case`, `--activity`, `--timestamp`,
`--start-timestamp`, `--timestamp-format`, `--timezone`, `--channel`, `--object-type` and
`--lifecycle` to a command and hands it one `SourceOptions` as its `source` argument; its
`mapping()` is `miner.ingest.presets.source_mapping` of them, as the job file's `[[sources]]`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Annotated, Any

import typer

PANEL = "How to read a raw file"


def _option(help: str) -> Any:
    return typer.Option(help=help, rich_help_panel=PANEL)


@dataclass(frozen=True)
class SourceOptions:
    """How to read a raw source, as given on the command line (None: not given)."""

    preset: str | None = None
    mapping: Path | None = None
    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    start_timestamp: str | None = None
    timestamp_format: str | None = None
    timezone: str | None = None
    channel: str | None = None
    object_type: str | None = None
    lifecycle: str | None = None

    def to_mapping(self) -> Any:
        """The SourceMapping these options describe; None when none was given."""
        from ...miner.ingest.presets import source_mapping

        given = asdict(self)
        preset, mapping = given.pop("preset"), given.pop("mapping")
        return source_mapping(preset_name=preset, mapping=mapping, **given)

    @property
    def beyond_timezone(self) -> bool:
        """Whether anything but `--timezone` was given (ingest: a file's preset still applies)."""
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name != "timezone")


NOT_GIVEN = SourceOptions()  # the `source` default; `@source_options` always passes its own

_ANNOTATIONS: dict[str, Any] = {
    "preset": Annotated[str | None, _option("Preset for a raw file: web, call_center, crm.")],
    "mapping": Annotated[Path | None, _option("Mapping file (TOML/JSON) for a raw file.")],
    "case": Annotated[str | None, _option("Case (customer/journey) column.")],
    "activity": Annotated[str | None, _option("Activity (touchpoint) column.")],
    "timestamp": Annotated[str | None, _option("Timestamp column (the complete time).")],
    "start_timestamp": Annotated[
        str | None, _option("Start time column of interval events (calls, visits, tasks).")
    ],
    "timestamp_format": Annotated[
        str | None, _option("e.g. '%Y/%m/%d %H:%M:%S%.3f' or epoch_ms (both time columns).")
    ],
    "timezone": Annotated[str | None, _option("Zone for naive timestamps, e.g. Europe/Amsterdam.")],
    "channel": Annotated[str | None, _option("Channel column.")],
    "object_type": Annotated[str | None, _option("OCEL: the object type whose objects are cases.")],
    "lifecycle": Annotated[
        str | None,
        _option("XES: 'fold' start/complete pairs into interval events, or transitions to keep."),
    ],
}


def source_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the source options to a Typer command whose `source` parameter takes them."""
    signature = inspect.signature(command, eval_str=True)
    params = [p for p in signature.parameters.values() if p.name != "source"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
        for name, kind in _ANNOTATIONS.items()
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        source = SourceOptions(**{name: kwargs.pop(name) for name in _ANNOTATIONS})
        return command(source=source, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*params, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*params, *added]}
    del wrapper.__wrapped__  # Typer must read the signature above, not the command's own
    return wrapper


def fold_line(folded: Any) -> str:
    """The one line that says what `--lifecycle fold` did (pairs, kept and dropped events)."""
    return (
        f"lifecycle folded: {folded.intervals:,} start/complete pairs; "
        f"{folded.unmatched_completes:,} completes without a start (kept, zero-length), "
        f"{folded.unmatched_starts:,} starts never completed and "
        f"{folded.other_transitions:,} other transitions (dropped)"
    )
