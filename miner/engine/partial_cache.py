"""Pass-1 partials kept between discoveries, so that a refresh after an append recomputes only
the partitions it touched.

`discover_parts(parts, cache=...)` looks each partition up by `parts.part_key(i)` (a stored
`Dataset` has one: its folder, the partition's file names with their size and modification
time, and the dictionaries) together with the options the partial depends on. An append
writes touched partitions under new file names and, when the dictionaries change, rewrites
the others too, so a stale partial is never found. A partial is read-only once built (merges
build new ones), so a cached partial gives the same result bit for bit.

`SHARED` is the process's cache: the server keeps it across requests (`usecases`); a one-shot
CLI run gains nothing from it. It holds at most `max_entries` partials, least recently used
out first; a partial with per-journey tables grows with its partition's journeys.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, MutableMapping

from .partials import Partial

MAX_ENTRIES = 64


class PartialCache(MutableMapping[Hashable, Partial]):
    """A bounded, thread-safe least-recently-used map of partition keys to partials."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, Partial] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __getitem__(self, key: Hashable) -> Partial:
        with self._lock:
            try:
                value = self._items[key]
            except KeyError:
                self.misses += 1
                raise
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def __setitem__(self, key: Hashable, value: Partial) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __delitem__(self, key: Hashable) -> None:
        with self._lock:
            del self._items[key]

    def __iter__(self) -> Iterator[Hashable]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)


#: The process's cache of pass-1 partials (the server's, across requests).
SHARED = PartialCache()
