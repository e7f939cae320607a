"""Executors: run one function over every partition of a log and hand back the results.

Every executor returns the results in partition order, so merges see the same sequence
whichever executor ran them (and merges are associative besides). `Serial` holds one
partition in memory at a time; `Threads` runs `workers` partitions at once: the kernels
release the GIL (`nogil`), and polars and numpy do too in their heavy parts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")


class Executor(Protocol):
    """Runs `fn(i)` for i in 0..n-1; results in order of i."""

    def map(self, fn: Callable[[int], T], n: int) -> list[T]:
        """The results of fn(0), ..., fn(n - 1)."""
        ...


@dataclass(frozen=True)
class Serial:
    """One partition after another, in this thread."""

    def map(self, fn: Callable[[int], T], n: int) -> list[T]:
        """fn(0), ..., fn(n - 1), one at a time."""
        return [fn(i) for i in range(n)]


@dataclass(frozen=True)
class Threads:
    """Up to `workers` partitions at once on a thread pool."""

    workers: int

    def map(self, fn: Callable[[int], T], n: int) -> list[T]:
        """fn(0), ..., fn(n - 1) on `workers` threads; results in order."""
        if self.workers <= 1 or n <= 1:
            return Serial().map(fn, n)
        with ThreadPoolExecutor(max_workers=min(self.workers, n)) as pool:
            return list(pool.map(fn, range(n)))


def executor(workers: int | None = None) -> Executor:
    """The executor for `workers` (None or 1: serial; 0: one per core)."""
    if workers is None or workers == 1:
        return Serial()
    if workers < 0:
        raise ValueError(f"workers must be 0 (one per core) or more, found {workers}")
    return Threads(workers or os.cpu_count() or 1)
