"""MemoryStorage: the in-memory double of the storage port (tests, dry runs)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from dynamo.storage.errors import (
    ChecksumMismatch,
    StorageDirectoryNotEmpty,
    StorageExists,
    StorageIsDirectory,
    StorageNotFound,
    StorageUnsupported,
)
from dynamo.storage.ports import (
    Capability,
    FileStat,
    StageStatus,
    StorageBackend,
    adler32_hex,
    join_site_path,
    normalize_path,
)
from dynamo.storage.staging import DiskStaging

__all__ = ["MemoryStorage"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MemoryStorage:
    """A storage element held in a dict. Third-party copies work between MemoryStorages.

    ``clock`` gives modification times (aware UTC); ``name`` appears in ``url()``.
    """

    scheme = "memory"
    capabilities = frozenset({Capability.THIRD_PARTY_COPY})

    def __init__(self, name: str = "site", *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.name = name
        self._clock = clock
        self._files: dict[str, tuple[bytes, datetime]] = {}
        self._dirs: dict[str, datetime] = {"/": clock()}
        self._children: dict[str, set[str]] = {"/": set()}
        self._staging = DiskStaging(f"memory-{name}", self._is_file)

    def url(self, path: str) -> str:
        return f"memory://{self.name}{normalize_path(path)}"

    # data access used by tests and by the other methods
    def write_bytes(self, path: str, data: bytes, *, overwrite: bool = True) -> FileStat:
        """Store ``data`` at ``path`` (parents created)."""
        path = normalize_path(path)
        if path in self._dirs:
            raise StorageIsDirectory("is a directory", path=path)
        if path in self._files and not overwrite:
            raise StorageExists("file exists", path=path)
        parent, name = path.rsplit("/", 1)
        parent = parent or "/"
        self.mkdir(parent)
        self._files[path] = (data, self._clock())
        self._children[parent].add(name)
        return self.stat(path)

    def read_bytes(self, path: str) -> bytes:
        """The content of the file at ``path``."""
        path = normalize_path(path)
        if path in self._dirs:
            raise StorageIsDirectory("is a directory", path=path)
        try:
            return self._files[path][0]
        except KeyError:
            raise StorageNotFound("no such file", path=path) from None

    def _is_file(self, path: str) -> bool:
        return path in self._files

    def stat(self, path: str) -> FileStat:
        path = normalize_path(path)
        if path in self._files:
            data, mtime = self._files[path]
            return FileStat(path, len(data), mtime)
        if path in self._dirs:
            return FileStat(path, 0, self._dirs[path], is_dir=True)
        raise StorageNotFound("no such file or directory", path=path)

    def walk(self, path: str = "/") -> Iterator[FileStat]:
        top = normalize_path(path)
        if top not in self._dirs:
            if top in self._files:
                raise StorageNotFound("not a directory", path=top)
            raise StorageNotFound("no such directory", path=top)
        stack = [top]
        while stack:
            directory = stack.pop()
            for name in sorted(self._children.get(directory, ())):
                child = join_site_path(directory, name)
                entry = self.stat(child)
                yield entry
                if entry.is_dir:
                    stack.append(child)

    def checksum(self, path: str) -> str:
        return adler32_hex(zlib.adler32(self.read_bytes(path)))

    def mkdir(self, path: str) -> None:
        path = normalize_path(path)
        if path in self._dirs:
            return
        if path in self._files:
            raise StorageExists("a file is in the way", path=path)
        parent, name = path.rsplit("/", 1)
        parent = parent or "/"
        self.mkdir(parent)
        self._dirs[path] = self._clock()
        self._children[path] = set()
        self._children[parent].add(name)

    def delete(self, path: str) -> None:
        path = normalize_path(path)
        parent, name = path.rsplit("/", 1)
        parent = parent or "/"
        if path in self._files:
            del self._files[path]
        elif path in self._dirs:
            if path == "/":
                raise StorageUnsupported("cannot delete the root", path=path)
            if self._children[path]:
                raise StorageDirectoryNotEmpty("directory not empty", path=path)
            del self._dirs[path], self._children[path]
        else:
            raise StorageNotFound("no such file or directory", path=path)
        self._children[parent].discard(name)

    def _store_checked(
        self, data: bytes, path: str, checksum: str | None, overwrite: bool
    ) -> FileStat:
        path = normalize_path(path)
        if not overwrite and path in self._files:
            raise StorageExists("file exists", path=path)
        actual = adler32_hex(zlib.adler32(data))
        if checksum is not None and actual != checksum.lower():
            raise ChecksumMismatch(
                f"adler32 {actual} != expected {checksum}",
                path=path,
                expected=checksum,
                actual=actual,
            )
        return self.write_bytes(path, data)

    def upload(
        self, local: Path, path: str, *, checksum: str | None = None, overwrite: bool = False
    ) -> FileStat:
        try:
            data = local.read_bytes()
        except FileNotFoundError:
            raise StorageNotFound("no such local file", path=str(local)) from None
        return self._store_checked(data, path, checksum, overwrite)

    def download(self, path: str, local: Path, *, checksum: str | None = None) -> None:
        data = self.read_bytes(path)
        actual = adler32_hex(zlib.adler32(data))
        if checksum is not None and actual != checksum.lower():
            raise ChecksumMismatch(
                f"adler32 {actual} != expected {checksum}",
                path=path,
                expected=checksum,
                actual=actual,
            )
        local.write_bytes(data)

    def copy_from(
        self,
        source: StorageBackend,
        source_path: str,
        path: str,
        *,
        checksum: str | None = None,
        overwrite: bool = False,
    ) -> FileStat:
        if not isinstance(source, MemoryStorage):
            raise StorageUnsupported(f"no third-party copy from {source.scheme}://", path=path)
        return self._store_checked(source.read_bytes(source_path), path, checksum, overwrite)

    def request_stage(self, paths: Iterable[str]) -> str:
        return self._staging.request(paths)

    def poll_stage(self, request_id: str) -> StageStatus:
        return self._staging.poll(request_id)
