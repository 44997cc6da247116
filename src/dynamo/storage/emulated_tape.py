"""EmulatedTapeStorage: a posix directory that behaves like a tape site with a disk buffer.

This is an emulation, named as such: there is no tape. A file is *online* when it was written
through this instance or staged; every other file (including any that were on disk before the
instance was made) is *nearline* and must be staged before its data can be read. Staging takes
``recall_delay`` seconds on the injected monotonic ``clock``. Metadata (stat, listing, adler32 as
dCache keeps it) needs no staging. The online set lives in this object only.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dynamo.storage.errors import StorageNotFound, StorageNotOnline
from dynamo.storage.ports import Capability, FileStat, StageStatus, StorageBackend, normalize_path
from dynamo.storage.posix import PosixStorage

__all__ = ["EmulatedTapeStorage"]


@dataclass(slots=True)
class _StageRequest:
    ready_at: dict[str, float]
    failed: dict[str, str]


class EmulatedTapeStorage(PosixStorage):
    """A tape-site emulation over ``root``; see the module docstring."""

    scheme = "file"
    capabilities = frozenset({Capability.THIRD_PARTY_COPY, Capability.TAPE})

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        recall_delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(root)
        self.recall_delay = recall_delay
        self._clock = clock
        self._online: set[str] = set()
        self._requests: dict[str, _StageRequest] = {}
        self._ids = itertools.count(1)

    def is_online(self, path: str) -> bool:
        """True when the data of ``path`` can be read without staging."""
        return normalize_path(path) in self._online

    def evict(self, path: str) -> None:
        """Drop ``path`` from the disk buffer: it becomes nearline."""
        self._online.discard(normalize_path(path))

    def ensure_readable(self, path: str) -> None:
        path = normalize_path(path)
        if path not in self._online:
            self.stat(path)  # StorageNotFound first, if it does not exist at all
            raise StorageNotOnline("file is nearline: stage it first", path=path)

    def upload(
        self, local: Path, path: str, *, checksum: str | None = None, overwrite: bool = False
    ) -> FileStat:
        record = super().upload(local, path, checksum=checksum, overwrite=overwrite)
        self._online.add(record.path)
        return record

    def download(self, path: str, local: Path, *, checksum: str | None = None) -> None:
        self.ensure_readable(path)
        super().download(path, local, checksum=checksum)

    def copy_from(
        self,
        source: StorageBackend,
        source_path: str,
        path: str,
        *,
        checksum: str | None = None,
        overwrite: bool = False,
    ) -> FileStat:
        record = super().copy_from(
            source, source_path, path, checksum=checksum, overwrite=overwrite
        )
        self._online.add(record.path)
        return record

    def delete(self, path: str) -> None:
        super().delete(path)
        self._online.discard(normalize_path(path))

    def request_stage(self, paths: Iterable[str]) -> str:
        request_id = f"tape-{next(self._ids)}"
        ready_at: dict[str, float] = {}
        failed: dict[str, str] = {}
        now = self._clock()
        for raw in paths:
            path = normalize_path(raw)
            if not self._is_file(path):
                failed[path] = "no such file"
            else:
                ready_at[path] = now if path in self._online else now + self.recall_delay
        self._requests[request_id] = _StageRequest(ready_at, failed)
        return request_id

    def poll_stage(self, request_id: str) -> StageStatus:
        try:
            request = self._requests[request_id]
        except KeyError:
            raise StorageNotFound("unknown staging request", path=request_id) from None
        now = self._clock()
        online: set[str] = set()
        pending: set[str] = set()
        for path, ready_at in request.ready_at.items():
            if ready_at <= now or path in self._online:
                self._online.add(path)
                online.add(path)
            else:
                pending.add(path)
        return StageStatus(request_id, frozenset(online), frozenset(pending), dict(request.failed))
