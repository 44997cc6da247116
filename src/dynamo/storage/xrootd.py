"""XRootDStorage: root:// through the PyPI ``xrootd`` client (imported when first used)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dynamo.storage.errors import (
    ChecksumMismatch,
    StorageDirectoryNotEmpty,
    StorageError,
    StorageExists,
    StorageIsDirectory,
    StorageNoSpace,
    StorageNotFound,
    StoragePermissionDenied,
    StorageTimeout,
    StorageUnavailable,
    StorageUnsupported,
    check_download,
    error_from_errno,
    error_from_message,
)
from dynamo.storage.ports import (
    Capability,
    FileStat,
    StageStatus,
    StorageBackend,
    adler32_file,
    join_site_path,
    normalize_path,
    part_name,
)
from dynamo.storage.staging import DiskStaging

__all__ = ["XRootDStorage", "translate_xrootd_status"]

# kXR_* error numbers of XProtocol.hh that have a class of their own.
_BY_KXR: dict[int, type[StorageError]] = {
    3009: StorageNoSpace,  # kXR_NoSpace
    3010: StoragePermissionDenied,  # kXR_NotAuthorized
    3011: StorageNotFound,  # kXR_NotFound
    3013: StorageUnsupported,  # kXR_Unsupported
    3014: StorageUnavailable,  # kXR_noserver
    3016: StorageIsDirectory,  # kXR_isDirectory
    3018: StorageExists,  # kXR_ItExists
    3019: ChecksumMismatch,  # kXR_ChkSumErr
    3021: StorageNoSpace,  # kXR_overQuota
    3024: StorageUnavailable,  # kXR_Overloaded
    3025: StoragePermissionDenied,  # kXR_fsReadOnly
    3030: StoragePermissionDenied,  # kXR_AuthFailed
    3034: StorageTimeout,  # kXR_ReqTimedOut
}
# XrdCl client status codes (XrdClStatus.hh).
_CLIENT_TIMEOUT = {103, 206}  # errSocketTimeout, errOperationExpired
_CLIENT_UNAVAILABLE = {101, 102, 104, 107, 108, 109, 110, 111}  # socket/connection/handshake
_CLIENT_CHECKSUM = 305  # errCheckSumError
_CLIENT_SERVER_ERROR = 400  # errErrorResponse: ``errno`` holds the kXR_* number
_CLIENT_OS_ERROR = 310  # errOSError: ``errno`` holds a POSIX errno


def translate_xrootd_status(status: Any, path: str) -> StorageError:
    """The typed error for a failed ``XRootDStatus``."""
    message = str(status.message).strip()
    code, number = int(status.code), int(status.errno)
    if code == _CLIENT_SERVER_ERROR:
        cls = _BY_KXR.get(number)
        if cls is not None:
            return cls(message, path=path)
        error = error_from_message(message, path=path)
        if "not empty" in message.lower():
            return StorageDirectoryNotEmpty(message, path=path)
        return error
    if code in _CLIENT_TIMEOUT:
        return StorageTimeout(message, path=path)
    if code in _CLIENT_UNAVAILABLE:
        return StorageUnavailable(message, path=path)
    if code == _CLIENT_CHECKSUM:
        return ChecksumMismatch(message, path=path)
    if code == _CLIENT_OS_ERROR and number:
        return error_from_errno(number, message, path=path)
    return error_from_message(message, path=path)


_CLIENT_SETTINGS = {
    "ConnectionWindow": 5,
    "ConnectionRetry": 3,
    "StreamErrorWindow": 5,
    "TimeoutResolution": 1,
}
"""XrdCl settings for a long-running service. XrdCl's defaults (a 120 s wait between
connection attempts, 1,800 s during which a host whose stream failed is not tried again,
timeouts checked every 15 s) leave a process unable to reach a storage server that restarted
for half an hour. An ``XRD_<NAME>`` environment variable still wins (XrdCl keeps the values it
imported from the environment)."""


def _client() -> Any:
    try:
        from XRootD import client
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise StorageUnsupported("the xrootd client is not installed (pip install xrootd)") from exc
    module: Any = client  # the bindings carry no type information for EnvPutInt
    for name, value in _CLIENT_SETTINGS.items():
        module.EnvPutInt(name, value)
    return client


class XRootDStorage:
    """A root:// endpoint, e.g. ``XRootDStorage("root://127.0.0.1:1094", root="/data")``.

    Third-party copy (``copy_from`` another XRootDStorage) asks the target server to pull the
    file itself; the server needs ``ofs.tpc ... pgm xrdcp --server -f``. Checksums are the
    server's ``xrootd.chksum adler32``. Staging is answered as for disk (``prepare`` of a
    tape-backed server is not done here). ``timeout`` is in seconds per operation.
    """

    scheme = "root"
    capabilities = frozenset({Capability.THIRD_PARTY_COPY})

    def __init__(self, endpoint: str, *, root: str = "/", timeout: int = 60) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.root = normalize_path(root).rstrip("/")
        self.timeout = timeout
        self._module = _client()
        self._flags = __import__("XRootD.client.flags", fromlist=["flags"])
        self._fs = self._module.FileSystem(self.endpoint)
        self._staging = DiskStaging(f"xrootd-{id(self):x}", self._is_file)
        self._ids = itertools.count()

    def server_path(self, path: str) -> str:
        """The path the server sees for site path ``path``."""
        normal = normalize_path(path)
        return (self.root + normal) if normal != "/" else (self.root or "/")

    def url(self, path: str) -> str:
        return f"{self.endpoint}/{self.server_path(path)}"

    def _check(self, status: Any, path: str) -> None:
        if not status.ok:
            raise translate_xrootd_status(status, path)

    def _is_file(self, path: str) -> bool:
        try:
            return not self.stat(path).is_dir
        except StorageNotFound:
            return False

    def _record(self, path: str, info: Any) -> FileStat:
        is_dir = bool(info.flags & self._flags.StatInfoFlags.IS_DIR)
        mtime = datetime.fromtimestamp(info.modtime, UTC)
        return FileStat(path, 0 if is_dir else int(info.size), mtime, is_dir)

    def stat(self, path: str) -> FileStat:
        path = normalize_path(path)
        status, info = self._fs.stat(self.server_path(path), timeout=self.timeout)
        self._check(status, path)
        return self._record(path, info)

    def walk(self, path: str = "/") -> Iterator[FileStat]:
        stack = [normalize_path(path)]
        with_stat = self._flags.DirListFlags.STAT
        while stack:
            directory = stack.pop()
            status, listing = self._fs.dirlist(
                self.server_path(directory), with_stat, timeout=self.timeout
            )
            if not status.ok:
                raise translate_xrootd_status(status, directory)
            for entry in listing:
                record = self._record(join_site_path(directory, entry.name), entry.statinfo)
                if record.is_dir:
                    stack.append(record.path)
                yield record

    def checksum(self, path: str) -> str:
        path = normalize_path(path)
        query = self._flags.QueryCode.CHECKSUM
        status, answer = self._fs.query(query, self.server_path(path), timeout=self.timeout)
        self._check(status, path)
        kind, _, value = answer.decode().rstrip("\x00").strip().partition(" ")
        if kind != "adler32":
            raise StorageUnsupported(f"server checksum is {kind}, not adler32", path=path)
        return str(value).lower().zfill(8)

    def mkdir(self, path: str) -> None:
        path = normalize_path(path)
        flags = self._flags.MkDirFlags.MAKEPATH
        status, _ = self._fs.mkdir(self.server_path(path), flags, timeout=self.timeout)
        if not status.ok:
            error = translate_xrootd_status(status, path)
            if isinstance(error, StorageExists) and self.stat(path).is_dir:
                return
            raise error

    def delete(self, path: str) -> None:
        path = normalize_path(path)
        if path == "/":
            raise StorageUnsupported("cannot delete the root", path=path)
        record = self.stat(path)
        remove = self._fs.rmdir if record.is_dir else self._fs.rm
        status, _ = remove(self.server_path(path), timeout=self.timeout)
        self._check(status, path)

    def _copy_into_place(
        self, source: str, path: str, *, checksum: str | None, **extra: Any
    ) -> None:
        """Copy ``source`` to a temporary name beside ``path`` and rename it into place: a
        copy that fails, or whose server dies, leaves no file under ``path``."""
        temporary = part_name(path)
        try:
            self._copy(
                source, self.url(temporary), temporary, checksum=checksum, force=True, **extra
            )
            status, _ = self._fs.mv(
                self.server_path(temporary), self.server_path(path), timeout=self.timeout
            )
            self._check(status, path)
        except BaseException:
            self._remove_quietly(temporary)
            raise

    def _copy(
        self,
        source: str,
        target: str,
        path: str,
        *,
        checksum: str | None,
        force: bool,
        **extra: Any,
    ) -> None:
        process = self._module.CopyProcess()
        options: dict[str, Any] = {"force": force, "mkdir": True, "rmBadCksum": True}
        if checksum is not None:
            options |= {
                "checksummode": "target",
                "checksumtype": "adler32",
                "checksumpreset": checksum.lower(),
            }
        process.add_job(source, target, **options, **extra)
        status = process.prepare()
        self._check(status, path)
        status, results = process.run()
        job_status = results[0]["status"] if results else status
        if not job_status.ok:
            error = translate_xrootd_status(job_status, path)
            if isinstance(error, ChecksumMismatch) or "checksum" in str(job_status.message).lower():
                self._remove_quietly(path)
                raise ChecksumMismatch(str(error), path=path, expected=checksum or "")
            raise error

    def _remove_quietly(self, path: str) -> None:
        self._fs.rm(self.server_path(path), timeout=self.timeout)

    def _refuse_existing(self, path: str, overwrite: bool) -> None:
        if overwrite:
            return
        try:
            self.stat(path)
        except StorageNotFound:
            return
        raise StorageExists("file exists", path=path)

    def upload(
        self, local: Path, path: str, *, checksum: str | None = None, overwrite: bool = False
    ) -> FileStat:
        path = normalize_path(path)
        if not local.is_file():
            raise StorageNotFound("no such local file", path=str(local))
        self._refuse_existing(path, overwrite)
        self._copy_into_place(str(local.resolve()), path, checksum=checksum)
        return self.stat(path)

    def download(self, path: str, local: Path, *, checksum: str | None = None) -> None:
        path = normalize_path(path)
        if self.stat(path).is_dir:
            raise StorageIsDirectory("is a directory", path=path)
        self._copy(self.url(path), str(local.resolve()), path, checksum=None, force=True)
        if checksum is not None:
            check_download(path, local, adler32_file(local), checksum)

    def copy_from(
        self,
        source: StorageBackend,
        source_path: str,
        path: str,
        *,
        checksum: str | None = None,
        overwrite: bool = False,
    ) -> FileStat:
        if not isinstance(source, XRootDStorage):
            raise StorageUnsupported(f"no third-party copy from {source.scheme}://", path=path)
        path = normalize_path(path)
        source_record = source.stat(source_path)
        if source_record.is_dir:
            raise StorageIsDirectory("is a directory", path=source_record.path)
        self._refuse_existing(path, overwrite)
        self._copy_into_place(source.url(source_path), path, checksum=checksum, thirdparty="only")
        return self.stat(path)

    def request_stage(self, paths: Iterable[str]) -> str:
        return self._staging.request(paths)

    def poll_stage(self, request_id: str) -> StageStatus:
        return self._staging.poll(request_id)
