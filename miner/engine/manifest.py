"""The manifest of a stored dataset: what its partitions hold, written once as `manifest.json`.

```
{"schema_version": 1, "n_parts": 2, "n_events": 14997, "n_cases": 2650,
 "start": "2024-01-01T00:00:00+00:00", "end": "...",          # ISO UTC; null when empty
 "activities": [...], "channels": [...],                        # the global dictionaries
 "has_intervals": false,
 "columns": ["case_id", "activity", "timestamp", "channel", ...],   # the canonical frame's order
 "attributes": {"region": "String", ...},                      # kept columns and their dtypes
 "partition_key": "customer_id", "hash": "fnv1a64-fmix64",
 "settings": {"stitching": {...}},
 "parts": [{"file": "part-00000.parquet", "cases_file": "cases-00000.parquet",
            "events": 7512, "cases": 1301}, ...]}
```
A manifest newer than `SCHEMA_VERSION`, garbled, or inconsistent is a `SourceError` naming it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SourceError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class PartInfo:
    """One partition: its event file, its case file, and how many events and cases they hold."""

    file: str
    cases_file: str
    events: int
    cases: int


@dataclass(frozen=True)
class Manifest:
    """What a stored dataset holds; see the module docstring for the JSON."""

    n_events: int
    n_cases: int
    start: str | None
    end: str | None
    activities: tuple[str, ...]
    channels: tuple[str, ...]
    has_intervals: bool
    columns: tuple[str, ...]
    attributes: dict[str, str]
    partition_key: str
    hash: str
    parts: tuple[PartInfo, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def n_parts(self) -> int:
        """How many partitions."""
        return len(self.parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the manifest file's content)."""
        data = asdict(self)
        data["activities"] = list(self.activities)
        data["channels"] = list(self.channels)
        data["columns"] = list(self.columns)
        data["parts"] = [asdict(p) for p in self.parts]
        return {"schema_version": self.schema_version, "n_parts": self.n_parts, **data}

    def to_json(self) -> str:
        """The manifest as written to `manifest.json`."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """Read and check `folder/manifest.json`; SourceError naming it when it will not do."""
        path = folder / MANIFEST
        label = f"{folder.name}/{MANIFEST}"  # errors name the file, not the whole path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SourceError(
                f"{folder.name} is not a stored dataset: {MANIFEST} is missing",
                file=label,
                expected=f"a folder with {MANIFEST} written by journeyminer ingest",
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _bad(label, f"cannot read it: {exc}") from None
        return cls.from_dict(data, label)

    @classmethod
    def from_dict(cls, data: Any, label: str) -> Manifest:
        """A Manifest from parsed JSON, checked; `label` names the file in errors."""
        if not isinstance(data, dict):
            raise _bad(label, "it is not a JSON object")
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise _bad(label, "schema_version is missing or not a number")
        if version > SCHEMA_VERSION:
            raise SourceError(
                f"the dataset was written by a newer journeyminer (schema version {version})",
                file=label,
                expected=f"schema version {SCHEMA_VERSION} or older; upgrade journeyminer",
                found=str(version),
            )
        try:
            parts = tuple(
                PartInfo(
                    file=_file(p["file"]),
                    cases_file=_file(p["cases_file"]),
                    events=_count(p["events"]),
                    cases=_count(p["cases"]),
                )
                for p in data["parts"]
            )
            manifest = cls(
                n_events=_count(data["n_events"]),
                n_cases=_count(data["n_cases"]),
                start=None if data["start"] is None else _text(data["start"]),
                end=None if data["end"] is None else _text(data["end"]),
                activities=tuple(_text(a) for a in data["activities"]),
                channels=tuple(_text(c) for c in data["channels"]),
                has_intervals=bool(data["has_intervals"]),
                columns=tuple(_text(c) for c in data["columns"]),
                attributes={_text(k): _text(v) for k, v in dict(data["attributes"]).items()},
                partition_key=_text(data["partition_key"]),
                hash=_text(data["hash"]),
                parts=parts,
                settings=dict(data.get("settings") or {}),
                schema_version=version,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _bad(
                label, f"a field is missing or malformed ({type(exc).__name__}: {exc})"
            ) from None
        if not parts or data.get("n_parts", len(parts)) != len(parts):
            raise _bad(label, "n_parts does not match the list of parts")
        if sum(p.events for p in parts) != manifest.n_events:
            raise _bad(label, "the parts' events do not add up to n_events")
        if sum(p.cases for p in parts) != manifest.n_cases:
            raise _bad(label, "the parts' cases do not add up to n_cases")
        return manifest


def _bad(label: str, why: str) -> SourceError:
    return SourceError(
        f"the dataset manifest is garbled: {why}",
        file=label,
        expected=f"a {MANIFEST} written by journeyminer (schema version {SCHEMA_VERSION})",
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, found {value!r}")
    return value


def _file(value: Any) -> str:
    # A plain name inside the dataset folder: a manifest never points elsewhere.
    name = _text(value)
    if not name or name != Path(name).name or name.startswith("."):
        raise ValueError(f"expected a file name inside the dataset, found {name!r}")
    return name


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"expected a count, found {value!r}")
    return value
