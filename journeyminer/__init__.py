"""journeyminer: find the journeys customers really take, and where they leave the designed one.

The public Python API lives here; the layers are `journeyminer.miner` (domain),
`journeyminer.kernels` (numba kernels) and `journeyminer.api` (HTTP and CLI).
"""

from ._version import __version__
from .miner.errors import JourneyminerError
from .miner.log import EncodedLog, EventLog

__all__ = ["EncodedLog", "EventLog", "JourneyminerError", "__version__"]
