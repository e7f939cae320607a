"""Give memory that large requests freed back to the system, so a server's RSS falls again.

What a large ingest or analysis frees goes back to the allocator that gave it: polars'
(jemalloc) returns its pages within seconds, but glibc's malloc (Python objects, numpy
arrays) keeps freed pages in its heaps and per-thread arenas, so without a trim the server
keeps its largest job's footprint for good (`benchmarks/bench_memory.py`). `release_memory`
runs after every job and after a quick read that read a whole log: `malloc_trim(0)` costs
a few milliseconds on a heap of a few hundred MB, nothing next to the job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

_LIBC: Any = None


def release_memory() -> bool:
    """Return glibc's free heap pages to the OS; False where there is no `malloc_trim`."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        except OSError:  # not glibc (macOS, musl without the name): nothing to trim
            _LIBC = False
    trim = getattr(_LIBC, "malloc_trim", None) if _LIBC else None
    if trim is None:
        return False
    trim(0)
    return True
