"""journeyminer: find the journeys customers really take, and where they leave the designed one.

The public Python API lives here; the layers are `journeyminer.miner` (domain),
`journeyminer.kernels` (numba kernels) and `journeyminer.api` (HTTP and CLI).
"""

from ._version import __version__
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
from .miner.ingest import ingest_sources, open_log, resolve_source
from .miner.log import EncodedLog, EventLog
from .miner.readers import read_source
from .miner.sources import SourceMapping, load_mapping, preset
from .miner.stitch import load_identities, stitch_sources

__all__ = [
    "DFG",
    "Discovery",
    "EncodedLog",
    "EventLog",
    "JourneyStats",
    "JourneyminerError",
    "SourceMapping",
    "Variants",
    "__version__",
    "discover",
    "discover_dfg",
    "discover_variants",
    "ingest_sources",
    "load_identities",
    "load_mapping",
    "open_log",
    "preset",
    "read_source",
    "resolve_source",
    "stitch_sources",
]
