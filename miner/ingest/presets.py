"""Where a source mapping comes from: a built-in preset, a mapping file (TOML/JSON), or the
options of a front door (`source_mapping`), all ending in one `SourceMapping`.

Built-in presets (candidates in the order they are tried; all read times in UTC unless the
mapping sets `timezone`, e.g. `timezone = "Europe/Amsterdam"` for local call-center times):

web (channel "web"):
    case        visitor_id, user_pseudo_id, anonymous_id, client_id, cookie_id, session_id
    activity    event_name, event, event_type, page, page_path
    timestamp   event_time, event_timestamp, timestamp, ts, received_at
call_center (channel "call_center"):
    case        caller_id, ani, phone, phone_number, from_number, customer_phone
    activity    reason, call_reason, queue, disposition, wrap_up_code
    timestamp   call_start, start_time, started_at, call_time, timestamp
crm (channel from a `channel` column where the file has one and the row fills it, else "crm"):
    case        customer_id, contact_id, account_id, crm_id
    activity    status, stage, activity, event, case_status
    timestamp   changed_at, modified_at, updated_at, created_at, timestamp

Each preset also keeps the attributes in `KEEP_IF_PRESENT[name]` that the file has.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import FormatError, MappingError
from .sources import SourceMapping, check_mapping_keys, mapping_type_error

PRESETS: dict[str, SourceMapping] = {
    "web": SourceMapping(
        case=(
            "visitor_id",
            "user_pseudo_id",
            "anonymous_id",
            "client_id",
            "cookie_id",
            "session_id",
        ),
        activity=("event_name", "event", "event_type", "page", "page_path"),
        timestamp=("event_time", "event_timestamp", "timestamp", "ts", "received_at"),
        channel_value="web",
        keep_if_present=(
            "session_id",
            "page_url",
            "page_path",
            "device",
            "device_category",
            "referrer",
        ),
    ),
    "call_center": SourceMapping(
        case=("caller_id", "ani", "phone", "phone_number", "from_number", "customer_phone"),
        activity=("reason", "call_reason", "queue", "disposition", "wrap_up_code"),
        timestamp=("call_start", "start_time", "started_at", "call_time", "timestamp"),
        channel_value="call_center",
        keep_if_present=("call_id", "queue", "agent_id", "duration_s", "wait_s", "csat", "nps"),
    ),
    "crm": SourceMapping(
        case=("customer_id", "contact_id", "account_id", "crm_id"),
        activity=("status", "stage", "activity", "event", "case_status"),
        timestamp=("changed_at", "modified_at", "updated_at", "created_at", "timestamp"),
        channel=("channel",),
        channel_value="crm",
        keep_if_present=("order_value", "amount", "value", "owner", "csat", "nps"),
    ),
}
KEEP_IF_PRESENT: dict[str, tuple[str, ...]] = {k: m.keep_if_present for k, m in PRESETS.items()}


def preset(name: str, **overrides: Any) -> SourceMapping:
    """The built-in mapping `name` (web, call_center, crm), with `overrides` applied."""
    if name not in PRESETS:
        known = ", ".join(PRESETS)
        raise MappingError(
            f"unknown preset {name!r}",
            column="preset",
            expected=f"one of {known}",
            found=repr(name),
        )
    return PRESETS[name].with_overrides(**overrides)


def source_mapping(
    *,
    preset_name: str | None = None,
    mapping: str | Path | None = None,
    **overrides: Any,
) -> SourceMapping | None:
    """How to read a source, as every front door builds it: a mapping file, else a preset, else
    the plain fields; then `overrides` (case, activity, timezone, ...; None values ignored;
    `lifecycle` may be text: 'fold', or transitions separated by commas).
    None when nothing at all was given (a canonical log needs no mapping)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if isinstance(given.get("lifecycle"), str):
        given["lifecycle"] = tuple(p.strip() for p in given["lifecycle"].split(",") if p.strip())
    if mapping is not None:
        base = load_mapping(mapping)
    elif preset_name is not None:
        base = preset(preset_name)
    elif given:
        base = SourceMapping()
    else:
        return None
    return base.with_overrides(**given) if given else base


def mapping_from_dict(data: Mapping[str, Any], *, file: str | None = None) -> SourceMapping:
    """Build a mapping from parsed TOML/JSON: an optional `preset` plus field overrides."""
    if not isinstance(data, Mapping):
        raise MappingError(
            "a mapping must be a table of field = value",
            file=file,
            expected="a table/object",
            found=type(data).__name__,
        )
    data = dict(data)
    name = data.pop("preset", None)
    check_mapping_keys(data, file=file)
    try:
        if name is None:
            return SourceMapping(**data)
        if not isinstance(name, str):
            raise mapping_type_error("preset", "a preset name", name)
        return preset(name, **data)
    except MappingError as exc:
        if exc.file is None:
            exc.file = file
        raise


def load_mapping(path: str | Path) -> SourceMapping:
    """Read a mapping from a TOML or JSON file (by extension; TOML unless it ends in .json)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(
            "mapping file not found", file=str(path), expected="an existing TOML or JSON file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read mapping file: {exc}", file=str(path)) from exc
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(
                f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                file=path.name,
                row=exc.lineno,
                expected="a JSON object",
            ) from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            line = int(match.group(1)) if match else None
            raise FormatError(
                f"malformed TOML at line {line}: {exc}",
                file=path.name,
                row=line,
                expected="valid TOML (key = value lines)",
            ) from None
    return mapping_from_dict(data, file=path.name)
