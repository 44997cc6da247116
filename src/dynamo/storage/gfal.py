"""GfalStorage: any protocol gfal2 has a plugin for (root, davs/https, s3, srm, gsiftp, file).

Needs Debian's ``python3-gfal2`` bindings (linked into the virtualenv by ``scripts/setup.sh``);
the module is imported when the first GfalStorage is made. The backend is a base URL plus a
root: ``GfalStorage("root://host:1094/", root="/data")`` gives site path ``/a`` the URL
``root://host:1094//data/a``. ``copy_from`` works from any backend whose URLs gfal2 reads
(gfal2 does a protocol third-party copy where it can: root->root TPC, HTTP-TPC, SRM). With
``tape=True`` staging uses gfal2's ``bring_online`` / ``bring_online_poll`` (SRM, HTTP tape
REST); otherwise staging is answered as for disk.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import stat as _stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dynamo.storage.errors import (
    ChecksumMismatch,
    StorageDirectoryNotEmpty,
    StorageError,
    StorageExists,
    StorageIsDirectory,
    StorageNotFound,
    StorageUnsupported,
    check_download,
    error_from_errno,
)
from dynamo.storage.ports import (
    Capability,
    FileStat,
    StageStatus,
    StorageBackend,
    adler32_file,
    join_site_path,
    normalize_path,
)
from dynamo.storage.staging import DiskStaging

__all__ = ["GfalStorage", "translate_gfal_error"]

_READABLE_SCHEMES = {"root", "davs", "dav", "https", "http", "s3", "s3s", "srm", "gsiftp", "file"}


def translate_gfal_error(exc: Exception, path: str) -> StorageError:
    """The typed error for a ``gfal2.GError`` (its ``code`` is an errno)."""
    code = getattr(exc, "code", None)
    message = str(getattr(exc, "message", exc))
    if "checksum" in message.lower() and "mismatch" in message.lower():
        return ChecksumMismatch(message, path=path)
    return error_from_errno(int(code) if code is not None else None, message, path=path)


@dataclass(slots=True)
class _TapeRequest:
    token: str
    paths: tuple[str, ...]
    failed: dict[str, str]


class GfalStorage:
    """A storage element reached through gfal2; see the module docstring."""

    capabilities = frozenset({Capability.THIRD_PARTY_COPY})

    def __init__(
        self,
        base_url: str,
        *,
        root: str = "/",
        tape: bool = False,
        timeout: int = 300,
        options: dict[tuple[str, str], str] | None = None,
    ) -> None:
        try:
            self._gfal2: Any = importlib.import_module("gfal2")
        except ImportError as exc:
            raise StorageUnsupported(
                "gfal2 bindings are not importable (Debian python3-gfal2, see scripts/setup.sh)"
            ) from exc
        self._ctx: Any = self._gfal2.creat_context()
        for (group, key), value in (options or {}).items():
            self._ctx.set_opt_string(group, key, value)
        self.base_url = base_url.rstrip("/")
        self.scheme = base_url.split("://", 1)[0]
        self.root = normalize_path(root).rstrip("/")
        self.timeout = timeout
        self.is_tape = tape
        if tape:
            self.capabilities = frozenset({Capability.THIRD_PARTY_COPY, Capability.TAPE})
        self._staging = DiskStaging(f"gfal-{id(self):x}", self._is_file)
        self._tape_requests: dict[str, _TapeRequest] = {}

    def url(self, path: str) -> str:
        normal = normalize_path(path)
        server = (self.root + normal) if normal != "/" else (self.root or "") + "/"
        return f"{self.base_url}/{server}"

    def _run(self, path: str, method: str, *args: Any) -> Any:
        try:
            return getattr(self._ctx, method)(*args)
        except self._gfal2.GError as exc:
            raise translate_gfal_error(exc, path) from exc

    def _record(self, path: str, info: Any) -> FileStat:
        is_dir = _stat.S_ISDIR(info.st_mode)
        mtime = datetime.fromtimestamp(info.st_mtime, UTC)
        return FileStat(path, 0 if is_dir else int(info.st_size), mtime, is_dir)

    def stat(self, path: str) -> FileStat:
        path = normalize_path(path)
        return self._record(path, self._run(path, "stat", self.url(path)))

    def _is_file(self, path: str) -> bool:
        try:
            return not self.stat(path).is_dir
        except StorageNotFound:
            return False

    def _children(self, directory: str) -> Iterator[FileStat]:
        handle = self._run(directory, "opendir", self.url(directory))
        while True:
            try:
                entry, info = handle.readpp()
            except self._gfal2.GError as exc:
                raise translate_gfal_error(exc, directory) from exc
            if entry is None:
                return
            if entry.d_name in (".", ".."):
                continue
            yield self._record(join_site_path(directory, entry.d_name), info)

    def walk(self, path: str = "/") -> Iterator[FileStat]:
        stack = [normalize_path(path)]
        while stack:
            directory = stack.pop()
            for record in self._children(directory):
                if record.is_dir:
                    stack.append(record.path)
                yield record

    def checksum(self, path: str) -> str:
        path = normalize_path(path)
        if self.stat(path).is_dir:
            raise StorageIsDirectory("is a directory", path=path)
        return str(self._run(path, "checksum", self.url(path), "ADLER32")).lower().zfill(8)

    def mkdir(self, path: str) -> None:
        path = normalize_path(path)
        try:
            self._ctx.mkdir_rec(self.url(path), 0o755)
        except self._gfal2.GError as exc:
            error = translate_gfal_error(exc, path)
            if isinstance(error, StorageExists) and self.stat(path).is_dir:
                return
            raise error from exc
        if not self.stat(path).is_dir:
            raise StorageExists("a file is in the way", path=path)

    def delete(self, path: str) -> None:
        path = normalize_path(path)
        if path == "/":
            raise StorageUnsupported("cannot delete the root", path=path)
        if self.stat(path).is_dir:
            for _ in self._children(path):
                raise StorageDirectoryNotEmpty("directory not empty", path=path)
            self._run(path, "rmdir", self.url(path))
        else:
            self._run(path, "unlink", self.url(path))

    def _copy(self, source: str, target: str, path: str, checksum: str | None) -> None:
        params = self._ctx.transfer_parameters()
        params.overwrite = True
        params.create_parent = True
        params.timeout = self.timeout
        if checksum is not None:
            params.set_checksum(self._gfal2.checksum_mode.target, "ADLER32", checksum.lower())
        try:
            self._ctx.filecopy(params, source, target)
        except self._gfal2.GError as exc:
            error = translate_gfal_error(exc, path)
            if checksum is not None and "checksum" in str(error).lower():
                self._remove_quietly(path)
                raise ChecksumMismatch(str(error), path=path, expected=checksum) from exc
            raise error from exc

    def _remove_quietly(self, path: str) -> None:
        with contextlib.suppress(self._gfal2.GError):
            self._ctx.unlink(self.url(path))

    def _refuse_existing(self, path: str, overwrite: bool) -> None:
        if not overwrite and self._is_file(path):
            raise StorageExists("file exists", path=path)

    def upload(
        self, local: Path, path: str, *, checksum: str | None = None, overwrite: bool = False
    ) -> FileStat:
        path = normalize_path(path)
        if not local.is_file():
            raise StorageNotFound("no such local file", path=str(local))
        self._refuse_existing(path, overwrite)
        self._copy("file://" + str(local.resolve()), self.url(path), path, checksum)
        return self.stat(path)

    def download(self, path: str, local: Path, *, checksum: str | None = None) -> None:
        path = normalize_path(path)
        if self.stat(path).is_dir:
            raise StorageIsDirectory("is a directory", path=path)
        target = "file://" + str(local.resolve())
        try:
            self._ctx.filecopy(self._download_params(), self.url(path), target)
        except self._gfal2.GError as exc:
            raise translate_gfal_error(exc, path) from exc
        if checksum is not None:
            check_download(path, local, adler32_file(local), checksum)

    def _download_params(self) -> Any:
        params = self._ctx.transfer_parameters()
        params.overwrite = True
        params.timeout = self.timeout
        return params

    def copy_from(
        self,
        source: StorageBackend,
        source_path: str,
        path: str,
        *,
        checksum: str | None = None,
        overwrite: bool = False,
    ) -> FileStat:
        source_url = source.url(source_path)
        if source_url.split("://", 1)[0] not in _READABLE_SCHEMES:
            raise StorageUnsupported(f"gfal2 cannot read {source_url}", path=path)
        path = normalize_path(path)
        self._refuse_existing(path, overwrite)
        self._copy(source_url, self.url(path), path, checksum)
        return self.stat(path)

    def request_stage(self, paths: Iterable[str]) -> str:
        normal = tuple(normalize_path(p) for p in paths)
        if not self.is_tape:
            return self._staging.request(normal)
        failed = {p: "no such file" for p in normal if not self._is_file(p)}
        wanted = [p for p in normal if p not in failed]
        urls = [self.url(p) for p in wanted]
        pin = self.timeout
        errors, token = self._run("/", "bring_online", urls, pin, self.timeout, True)
        for path, error in zip(wanted, errors, strict=False):
            if error is not None:
                failed[path] = str(getattr(error, "message", error))
        self._tape_requests[token] = _TapeRequest(token, tuple(wanted), failed)
        return str(token)

    def poll_stage(self, request_id: str) -> StageStatus:
        request = self._tape_requests.get(request_id)
        if request is None:
            return self._staging.poll(request_id)
        pending_paths = [p for p in request.paths if p not in request.failed]
        errors = self._run(
            "/", "bring_online_poll", [self.url(p) for p in pending_paths], request_id
        )
        online: set[str] = set()
        pending: set[str] = set()
        failed = dict(request.failed)
        for path, error in zip(pending_paths, errors, strict=False):
            if error is None:
                online.add(path)
            elif getattr(error, "code", None) == errno.EAGAIN:
                pending.add(path)
            else:
                failed[path] = str(getattr(error, "message", error))
        return StageStatus(request_id, frozenset(online), frozenset(pending), failed)
