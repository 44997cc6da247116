"""Bookkeeping of staging requests for backends whose files are always online (disk)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from dynamo.storage.errors import StorageError, StorageNotFound
from dynamo.storage.ports import StageStatus, normalize_path

__all__ = ["DiskStaging"]


class DiskStaging:
    """Answers staging requests at once: an existing file is online, anything else failed.

    ``exists`` is the backend's own check; it may raise StorageError, whose message is recorded.
    """

    def __init__(self, prefix: str, exists: Callable[[str], bool]) -> None:
        self._prefix = prefix
        self._exists = exists
        self._counter = itertools.count(1)
        self._requests: dict[str, StageStatus] = {}

    def request(self, paths: Iterable[str]) -> str:
        """Record a request and return its id."""
        request_id = f"{self._prefix}-{next(self._counter)}"
        online: set[str] = set()
        failed: dict[str, str] = {}
        for raw in paths:
            path = normalize_path(raw)
            try:
                if self._exists(path):
                    online.add(path)
                else:
                    failed[path] = "no such file"
            except StorageError as exc:
                failed[path] = str(exc)
        self._requests[request_id] = StageStatus(request_id, frozenset(online), frozenset(), failed)
        return request_id

    def poll(self, request_id: str) -> StageStatus:
        """The recorded state of ``request_id``."""
        try:
            return self._requests[request_id]
        except KeyError:
            raise StorageNotFound("unknown staging request", path=request_id) from None
