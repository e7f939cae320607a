"""journeyminer: find the journeys customers really take, and where they leave the designed one.

The public Python API lives here; the layers are `journeyminer.miner` (domain),
`journeyminer.kernels` (numba kernels) and `journeyminer.api` (HTTP and CLI). Names are
imported on first use, so `import journeyminer.api.cli` stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS = {
    "MapAnalysis": "analysis",
    "analyze_against_map": "analysis",
    "Comparison": "compare",
    "compare_to_map": "compare",
    "DesignedMap": "designed",
    "load_map": "designed",
    "HiddenJourneys": "hidden",
    "find_hidden_journeys": "hidden",
    "DFG": "discover",
    "Discovery": "discover",
    "JourneyStats": "discover",
    "Variants": "discover",
    "discover": "discover",
    "discover_dfg": "discover",
    "discover_variants": "discover",
    "JourneyminerError": "errors",
    "ingest_sources": "ingest",
    "open_log": "ingest",
    "resolve_source": "ingest",
    "EncodedLog": "log",
    "EventLog": "log",
    "read_source": "readers",
    "SourceMapping": "sources",
    "load_mapping": "sources",
    "preset": "sources",
    "load_identities": "stitch",
    "attach_customers": "customers",
    "load_customers": "customers",
    "stitch_sources": "stitch",
}

__all__ = [
    "DFG",
    "Comparison",
    "DesignedMap",
    "Discovery",
    "EncodedLog",
    "EventLog",
    "HiddenJourneys",
    "JourneyStats",
    "JourneyminerError",
    "MapAnalysis",
    "SourceMapping",
    "Variants",
    "__version__",
    "analyze_against_map",
    "attach_customers",
    "compare_to_map",
    "discover",
    "discover_dfg",
    "discover_variants",
    "find_hidden_journeys",
    "ingest_sources",
    "load_customers",
    "load_identities",
    "load_map",
    "load_mapping",
    "open_log",
    "preset",
    "read_source",
    "resolve_source",
    "stitch_sources",
]

if TYPE_CHECKING:
    from .miner.analysis import MapAnalysis, analyze_against_map
    from .miner.compare import Comparison, compare_to_map
    from .miner.customers import attach_customers, load_customers
    from .miner.designed import DesignedMap, load_map
    from .miner.discover import (
        DFG,
        Discovery,
        JourneyStats,
        Variants,
        discover,
        discover_dfg,
        discover_variants,
    )
    from .miner.errors import JourneyminerError
    from .miner.hidden import HiddenJourneys, find_hidden_journeys
    from .miner.ingest import ingest_sources, open_log, resolve_source
    from .miner.log import EncodedLog, EventLog
    from .miner.readers import read_source
    from .miner.sources import SourceMapping, load_mapping, preset
    from .miner.stitch import load_identities, stitch_sources


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'journeyminer' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".miner.{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
