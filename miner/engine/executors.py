"""Executors: run one function over every partition of a log and hand back the results.

Every executor returns the results in partition order, so merges see the same sequence
whichever executor ran them (and merges are associative besides). `Serial` holds one
partition in memory at a time; `Threads` runs `workers` partitions at once: the kernels
release the GIL (`nogil`), and polars and numpy do too in their heavy parts. The cluster
executor (`cluster.Cluster`, on `dask.distributed`) sits behind the same interface.

`map_merge(fn, n, merge)` is `merge(map(fn, n))`: a local executor does exactly that; the
cluster one merges groups of neighbouring results on its workers, in a tree, and only the
final result comes back. `merge` must be associative over neighbours in partition order.
`done(k, n)` is told, on the calling thread, each time another partition is finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import ClassVar, Protocol, TypeVar

T = TypeVar("T")

#: Told (partitions finished, partitions in all) as partitions finish.
Done = Callable[[int, int], None]
#: What to call partition i in an error message (e.g. its file).
Label = Callable[[int], str]


class Executor(Protocol):
    """Runs `fn(i)` for i in 0..n-1; results in order of i."""

    #: Whether `fn` runs in other processes (a cluster): it must then be picklable and must
    #: not capture process-local state (locks, caches).
    remote: ClassVar[bool]

    def map(
        self,
        fn: Callable[[int], T],
        n: int,
        *,
        done: Done | None = None,
        label: Label | None = None,
    ) -> list[T]:
        """The results of fn(0), ..., fn(n - 1)."""
        ...

    def map_merge(
        self,
        fn: Callable[[int], T],
        n: int,
        merge: Callable[[Sequence[T]], T],
        *,
        done: Done | None = None,
        label: Label | None = None,
    ) -> T:
        """merge([fn(0), ..., fn(n - 1)]), merging in any grouping of neighbours."""
        ...


@dataclass(frozen=True)
class Serial:
    """One partition after another, in this thread."""

    remote: ClassVar[bool] = False

    def map(
        self,
        fn: Callable[[int], T],
        n: int,
        *,
        done: Done | None = None,
        label: Label | None = None,
    ) -> list[T]:
        """fn(0), ..., fn(n - 1), one at a time."""
        results = []
        for i in range(n):
            results.append(fn(i))
            if done is not None:
                done(i + 1, n)
        return results

    def map_merge(
        self,
        fn: Callable[[int], T],
        n: int,
        merge: Callable[[Sequence[T]], T],
        *,
        done: Done | None = None,
        label: Label | None = None,
    ) -> T:
        """merge of fn(0), ..., fn(n - 1), merged as they come: neighbouring runs of equal
        length merge at once (a binary counter), so at most log2(n) + 1 results are held,
        not n, and each result takes part in log2(n) merges."""
        if n <= 1:
            return merge(self.map(fn, n, done=done))
        runs: list[tuple[int, T]] = []  # (log2 of how many partitions, merged result)
        for i in range(n):
            level, item = 0, fn(i)
            while runs and runs[-1][0] == level:
                item = merge([runs.pop()[1], item])
                level += 1
            runs.append((level, item))
            if done is not None:
                done(i + 1, n)
        return merge([item for _, item in runs])


@dataclass(frozen=True)
class Threads:
    """Up to `workers` partitions at once on a thread pool."""

    workers: int
    remote: ClassVar[bool] = False

    def map(
        self,
        fn: Callable[[int], T],
        n: int,
        *,
        done: Done | None = None,
        label: Label | None = None,
    ) -> list[T]:
        """fn(0), ..., fn(n - 1) on `workers` threads; results in order."""
        if self.workers <= 1 or n <= 1:
            return Serial().map(fn, n, done=done)
        with ThreadPoolExecutor(max_workers=min(self.workers, n)) as pool:
            futures = [pool.submit(fn, i) for i in range(n)]
            for k, _ in enumerate(as_completed(futures), start=1):
                if done is not None:
                    done(k, n)
            return [f.result() for f in futures]

    def map_merge(
        self,
        fn: Callable[[int], T],
        n: int,
        merge: Callable[[Sequence[T]], T],
        *,
        done: Done | None = None,
        label: Label | None = None,
    ) -> T:
        """merge of fn(0), ..., fn(n - 1) run on threads."""
        return merge(self.map(fn, n, done=done))


def executor(workers: int | None = None) -> Executor:
    """The executor for `workers` (None or 1: serial; 0: one per core)."""
    if workers is None or workers == 1:
        return Serial()
    if workers < 0:
        raise ValueError(f"workers must be 0 (one per core) or more, found {workers}")
    return Threads(workers or os.cpu_count() or 1)
