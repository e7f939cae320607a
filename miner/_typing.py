"""Every string option of the domain as a `Literal` alias, defined once (like polars' `_typing.py`).

The front doors (CLI, HTTP schemas, job files) import these names, so a choice added here is
accepted everywhere at once.
"""

from __future__ import annotations

from typing import Literal

# ingest
PresetName = Literal["web", "call_center", "crm"]
SourceFormat = Literal["csv", "parquet", "jsonl", "xes", "ocel-json", "ocel-xml"]
EpochUnit = Literal["epoch_s", "epoch_ms", "epoch_us", "epoch_ns"]
OnMissing = Literal["error", "drop"]
# a stored log written out for other tools (polars, duckdb, pm4py)
ExportFormat = Literal["parquet", "csv", "xes"]
# What a local time that happens twice (the hour clocks go back) means.
Ambiguous = Literal["earliest", "latest", "raise"]
# discover
View = Literal["frequency", "performance"]
TimeMode = Literal["contained", "intersecting", "started", "completed", "trim"]
ChannelMode = Literal["cases", "events"]
# maps
MapFormat = Literal["toml", "json", "yaml"]
RuleKind = Literal["within", "not_while_open"]
TemplateName = Literal["five_phase", "see_think_do_care"]
Language = Literal["en", "nl"]
# use cases
AnalysisKind = Literal["discover", "compare", "drift"]

__all__ = [
    "Ambiguous",
    "AnalysisKind",
    "ChannelMode",
    "EpochUnit",
    "ExportFormat",
    "Language",
    "MapFormat",
    "OnMissing",
    "PresetName",
    "RuleKind",
    "SourceFormat",
    "TemplateName",
    "TimeMode",
    "View",
]
