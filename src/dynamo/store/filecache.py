"""A bounded LRU cache of block file lists, safe to share between threads.

Commits invalidate the blocks they touch. A reader that started before an invalidation must not
put its (possibly stale) result back: every invalidation bumps a generation, and ``put`` is
ignored unless the generation is still the one the reader saw before reading the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from dynamo.model import File

__all__ = ["DEFAULT_FILE_CACHE_BLOCKS", "FileCache"]

DEFAULT_FILE_CACHE_BLOCKS = 1_000

_Key = tuple[str, str]


class FileCache:
    """At most ``capacity`` blocks' file lists, least recently used evicted first."""

    def __init__(self, capacity: int = DEFAULT_FILE_CACHE_BLOCKS) -> None:
        if capacity < 0:
            raise ValueError(f"file cache capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self._entries: OrderedDict[_Key, tuple[File, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: _Key) -> tuple[File, ...] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: _Key, files: tuple[File, ...], generation: int) -> None:
        """Cache ``files`` unless an invalidation happened since ``generation`` was read."""
        if self.capacity == 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            self._entries[key] = files
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def invalidate(self, blocks: Iterable[_Key] = (), datasets: Iterable[str] = ()) -> None:
        """Forget the given blocks and every block of the given datasets."""
        doomed_datasets = set(datasets)
        with self._lock:
            self.generation += 1
            for key in blocks:
                self._entries.pop(key, None)
            if doomed_datasets:
                for key in [k for k in self._entries if k[0] in doomed_datasets]:
                    del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
