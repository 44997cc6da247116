"""PosixStorage: a storage element that is a local (or mounted) directory tree."""

from __future__ import annotations

import os
import stat as _stat
import uuid
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from dynamo.storage.errors import (
    ChecksumMismatch,
    StorageError,
    StorageExists,
    StorageIsDirectory,
    StorageUnsupported,
    error_from_errno,
)
from dynamo.storage.ports import (
    CHUNK_SIZE,
    Capability,
    FileStat,
    StageStatus,
    StorageBackend,
    adler32_hex,
    join_site_path,
    normalize_path,
    part_name,
)
from dynamo.storage.staging import DiskStaging

__all__ = ["PosixStorage", "translate_os_error"]


def translate_os_error(exc: OSError, path: str) -> StorageError:
    """The typed storage error for an OSError raised while working on ``path``."""
    return error_from_errno(exc.errno, exc.strerror or str(exc), path=path)


def _stat_record(path: str, st: os.stat_result) -> FileStat:
    is_dir = _stat.S_ISDIR(st.st_mode)
    mtime = datetime.fromtimestamp(st.st_mtime, UTC)
    return FileStat(path, 0 if is_dir else st.st_size, mtime, is_dir)


def _copy_stream(source: BinaryIO, target: BinaryIO) -> str:
    value = 1
    while chunk := source.read(CHUNK_SIZE):
        value = zlib.adler32(chunk, value)
        target.write(chunk)
    return adler32_hex(value)


class PosixStorage:
    """Files under the local directory ``root``; site path ``/a/b`` is ``root/a/b``.

    Copies go through a temporary file in the target directory and an atomic rename, so a
    failed or mismatching copy leaves nothing behind. ``copy_from`` another PosixStorage is a
    local copy (the "third-party" case of two mounts on one host).
    """

    scheme = "file"
    capabilities = frozenset({Capability.THIRD_PARTY_COPY})

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self._staging = DiskStaging(f"posix-{uuid.uuid4().hex[:8]}", self._is_file)

    def local_path(self, path: str) -> str:
        """The local filesystem path of site path ``path``."""
        normal = normalize_path(path)
        return self.root if normal == "/" else self.root + normal

    def url(self, path: str) -> str:
        return "file://" + self.local_path(path)

    def _is_file(self, path: str) -> bool:
        return os.path.isfile(self.local_path(path))

    def stat(self, path: str) -> FileStat:
        path = normalize_path(path)
        try:
            return _stat_record(path, os.stat(self.local_path(path)))
        except OSError as exc:
            raise translate_os_error(exc, path) from exc

    def walk(self, path: str = "/") -> Iterator[FileStat]:
        top = normalize_path(path)
        stack = [top]
        while stack:
            directory = stack.pop()
            try:
                with os.scandir(self.local_path(directory)) as entries:
                    for entry in entries:
                        child = join_site_path(directory, entry.name)
                        record = _stat_record(child, entry.stat(follow_symlinks=True))
                        if record.is_dir:
                            stack.append(child)
                        yield record
            except FileNotFoundError as exc:
                if directory == top:
                    raise translate_os_error(exc, directory) from exc
                # removed while we walked: its entries are gone, which is what a listing says
            except OSError as exc:
                raise translate_os_error(exc, directory) from exc

    def checksum(self, path: str) -> str:
        path = normalize_path(path)
        try:
            with open(self.local_path(path), "rb") as stream:
                value = 1
                while chunk := stream.read(CHUNK_SIZE):
                    value = zlib.adler32(chunk, value)
                return adler32_hex(value)
        except OSError as exc:
            raise translate_os_error(exc, path) from exc

    def mkdir(self, path: str) -> None:
        path = normalize_path(path)
        try:
            os.makedirs(self.local_path(path), exist_ok=True)
        except FileExistsError as exc:
            raise StorageExists("a file is in the way", path=path) from exc
        except OSError as exc:
            raise translate_os_error(exc, path) from exc

    def delete(self, path: str) -> None:
        path = normalize_path(path)
        if path == "/":
            raise StorageUnsupported("cannot delete the root", path=path)
        local = self.local_path(path)
        try:
            if os.path.isdir(local) and not os.path.islink(local):
                os.rmdir(local)
            else:
                os.unlink(local)
        except OSError as exc:
            raise translate_os_error(exc, path) from exc

    def _write_checked(
        self, source: BinaryIO, path: str, checksum: str | None, overwrite: bool
    ) -> FileStat:
        path = normalize_path(path)
        target = self.local_path(path)
        if os.path.isdir(target):
            raise StorageIsDirectory("is a directory", path=path)
        if not overwrite and os.path.lexists(target):
            raise StorageExists("file exists", path=path)
        self.mkdir(path.rsplit("/", 1)[0] or "/")
        temporary = part_name(target)
        try:
            with open(temporary, "wb") as stream:
                actual = _copy_stream(source, stream)
            if checksum is not None and actual != checksum.lower():
                raise ChecksumMismatch(
                    f"adler32 {actual} != expected {checksum}",
                    path=path,
                    expected=checksum,
                    actual=actual,
                )
            os.replace(temporary, target)
        except OSError as exc:
            if isinstance(exc, StorageError):
                raise
            raise translate_os_error(exc, path) from exc
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return self.stat(path)

    def upload(
        self, local: Path, path: str, *, checksum: str | None = None, overwrite: bool = False
    ) -> FileStat:
        try:
            with open(local, "rb") as source:
                return self._write_checked(source, path, checksum, overwrite)
        except StorageError:
            raise
        except OSError as exc:
            raise translate_os_error(exc, str(local)) from exc

    def download(self, path: str, local: Path, *, checksum: str | None = None) -> None:
        path = normalize_path(path)
        try:
            with open(self.local_path(path), "rb") as source:
                target = PosixStorage(os.path.dirname(os.path.abspath(local)))
                target._write_checked(source, "/" + os.path.basename(local), checksum, True)
        except StorageError:
            raise
        except OSError as exc:
            raise translate_os_error(exc, path) from exc

    def copy_from(
        self,
        source: StorageBackend,
        source_path: str,
        path: str,
        *,
        checksum: str | None = None,
        overwrite: bool = False,
    ) -> FileStat:
        if not isinstance(source, PosixStorage):
            raise StorageUnsupported(f"no third-party copy from {source.scheme}://", path=path)
        source.ensure_readable(source_path)
        source_path = normalize_path(source_path)
        try:
            with open(source.local_path(source_path), "rb") as stream:
                return self._write_checked(stream, path, checksum, overwrite)
        except StorageError:
            raise
        except OSError as exc:
            raise translate_os_error(exc, source_path) from exc

    def ensure_readable(self, path: str) -> None:
        """Raise unless the data of ``path`` can be read now (a hook for tape emulation)."""

    def request_stage(self, paths: Iterable[str]) -> str:
        return self._staging.request(paths)

    def poll_stage(self, request_id: str) -> StageStatus:
        return self._staging.poll(request_id)
