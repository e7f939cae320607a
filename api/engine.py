"""How the service and batch jobs run the engine's plans over a log's partitions.

`JOURNEYMINER_ENGINE_WORKERS` partitions at once on threads in this process (1: one at a
time; 0: one per core), or, with `JOURNEYMINER_CLUSTER` (`tcp://HOST:PORT` or `local:N`),
one task per partition on a Dask cluster: connected on the first analysis that needs it
and kept for the life of the process (a `local:N` cluster's worker processes stop with it).
A cluster's workers read the partitions themselves, so the workspace must be on a file
system they share with this process (its absolute path is what they are given).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..miner.engine.executors import Executor, executor

if TYPE_CHECKING:
    from ..miner.engine.cluster import Cluster
    from .settings import Settings


class Engine:
    """The executor analyses run on: threads in this process, or a cluster."""

    def __init__(self, workers: int = 1, cluster: str | None = None) -> None:
        if cluster is not None:
            from ..miner.engine.cluster import check_address

            check_address(cluster)  # a bad address or a missing extra: at start, not per job
        self.workers, self.cluster = workers, cluster
        self._connected: Cluster | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        """The engine `settings` ask for (`engine_workers`, `cluster`)."""
        return cls(settings.engine_workers, settings.cluster)

    def executor(self) -> Executor:
        """The executor for one analysis: the cluster (connected now if not yet), else
        `workers` threads."""
        if self.cluster is None:
            return executor(self.workers)
        with self._lock:
            if self._connected is None:
                from ..miner.engine.cluster import connect

                self._connected = connect(self.cluster)
            return self._connected

    def describe(self) -> str:
        """Where analyses run, for the log and the health answer."""
        if self.cluster is not None:
            return f"cluster {self.cluster}"
        return f"{self.workers or 'one per core'} engine worker{'s' * (self.workers != 1)}"

    def close(self) -> None:
        """Disconnect from the cluster (stop a local one); threads need nothing."""
        with self._lock:
            if self._connected is not None:
                self._connected.close()
                self._connected = None
