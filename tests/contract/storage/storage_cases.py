"""The ``StorageCase`` the contract suite runs on: a backend, its peer and a way to seed it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dynamo.storage import MemoryStorage, StorageBackend

__all__ = ["BACKENDS", "TAPE_RECALL_DELAY", "StorageCase"]

BACKENDS = ("memory", "posix", "tape", "xrootd", "webdav-xrdhttp", "webdav-wsgidav", "s3", "gfal2")
TAPE_RECALL_DELAY = 0.05


@dataclass
class StorageCase:
    """A backend under test, a way to make a second site of the same kind, and seeding."""

    name: str
    storage: StorageBackend
    make_peer: Callable[[], StorageBackend]
    data_dir: Path | None = None
    """Where the backend's root lies on local disk, when it does (fast seeding)."""

    def seed(self, directory: str, count: int, *, size: int = 10) -> None:
        """Create ``count`` files of ``size`` bytes named ``f00000``... in ``directory``."""
        payload = b"x" * size
        if self.data_dir is not None:
            local = self.data_dir / directory.strip("/")
            local.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                (local / f"f{index:05d}").write_bytes(payload)
            return
        if isinstance(self.storage, MemoryStorage):
            for index in range(count):
                self.storage.write_bytes(f"{directory}/f{index:05d}", payload)
            return
        source = Path(f"/tmp/dynamo-seed-{uuid.uuid4().hex}")
        source.write_bytes(payload)
        try:
            self.storage.mkdir(directory)
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda i: self.storage.upload(source, f"{directory}/f{i:05d}"),
                        range(count),
                    )
                )
        finally:
            source.unlink()
