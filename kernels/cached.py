"""Whether numba's on-disk cache holds the kernels a group of steps compiles (see `warm`)."""

from __future__ import annotations

import importlib
from pathlib import Path

# The kernels each group of `warm.GROUPS` compiles first, last and in the middle (modules of
# this package and numba dispatchers in them).
GROUP_KERNELS = {
    "discovery": ("stats._case_durations", "moments._summarize_dense", "variants._case_variants"),
    "comparison": ("variants._case_variants", "replay._replay", "cases._frame_spans"),
    "compare": ("variants._case_variants", "replay._replay", "moments._summarize_dense"),
}


def is_cached(group: str) -> bool:
    """Whether numba's cache holds an index for each of the main kernels of `group`.

    Imports only those kernels' modules and reads file names: a stale entry (changed source)
    counts as cached. With a numba whose cache internals differ, answers True.
    """
    for name in GROUP_KERNELS[group]:
        module, kernel = name.split(".")
        dispatcher = getattr(importlib.import_module(f".{module}", __package__), kernel)
        try:
            index = Path(dispatcher._cache._cache_file._index_path)
        except AttributeError:
            return True
        if not index.exists():
            return False
    return True
