"""journeyminer: find the journeys customers really take, and where they leave the designed one.

The public Python API lives here; the layers are `journeyminer.miner` (domain),
`journeyminer.kernels` (numba kernels) and `journeyminer.api` (HTTP and CLI). Names are
imported on first use, so `import journeyminer.api.cli.main` stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS = {
    "MapAnalysis": "compare.analysis",
    "analyze_against_map": "compare.analysis",
    "Comparison": "compare.comparison",
    "compare_to_map": "compare.to_map",
    "DesignedMap": "maps.designed",
    "load_map": "maps.designed",
    "HiddenJourneys": "compare.hidden",
    "find_hidden_journeys": "compare.hidden",
    "DFG": "discover.discovery",
    "Discovery": "discover.discovery",
    "JourneyStats": "discover.journey_stats",
    "Variants": "discover.discovery",
    "discover": "discover.discovery",
    "discover_dfg": "discover.discovery",
    "discover_variants": "discover.discovery",
    "JourneyminerError": "errors",
    "ingest_sources": "ingest.pipeline",
    "open_log": "ingest.pipeline",
    "resolve_source": "ingest.pipeline",
    "EncodedLog": "log",
    "EventLog": "log",
    "read_source": "ingest.readers",
    "SourceMapping": "ingest.sources",
    "load_mapping": "ingest.presets",
    "preset": "ingest.presets",
    "load_identities": "ingest.identities",
    "attach_customers": "ingest.customers",
    "load_customers": "ingest.customers",
    "stitch_sources": "ingest.stitch",
    "Cluster": "engine.cluster",
    "connect": "engine.cluster",
    "Dataset": "engine.dataset",
    "open_dataset": "engine.dataset",
    "discover_journeys": "usecases",
}

__all__ = [
    "DFG",
    "Cluster",
    "Comparison",
    "Dataset",
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
    "connect",
    "discover",
    "discover_dfg",
    "discover_journeys",
    "discover_variants",
    "find_hidden_journeys",
    "ingest_sources",
    "load_customers",
    "load_identities",
    "load_map",
    "load_mapping",
    "open_dataset",
    "open_log",
    "preset",
    "read_source",
    "resolve_source",
    "stitch_sources",
]

if TYPE_CHECKING:
    from .miner.compare.analysis import MapAnalysis, analyze_against_map
    from .miner.compare.comparison import Comparison
    from .miner.compare.hidden import HiddenJourneys, find_hidden_journeys
    from .miner.compare.to_map import compare_to_map
    from .miner.discover.discovery import (
        DFG,
        Discovery,
        Variants,
        discover,
        discover_dfg,
        discover_variants,
    )
    from .miner.discover.journey_stats import JourneyStats
    from .miner.engine.cluster import Cluster, connect
    from .miner.engine.dataset import Dataset, open_dataset
    from .miner.errors import JourneyminerError
    from .miner.ingest.customers import attach_customers, load_customers
    from .miner.ingest.identities import load_identities
    from .miner.ingest.pipeline import ingest_sources, open_log, resolve_source
    from .miner.ingest.presets import load_mapping, preset
    from .miner.ingest.readers import read_source
    from .miner.ingest.sources import SourceMapping
    from .miner.ingest.stitch import stitch_sources
    from .miner.log import EncodedLog, EventLog
    from .miner.maps.designed import DesignedMap, load_map
    from .miner.usecases import discover_journeys


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'journeyminer' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".miner.{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
