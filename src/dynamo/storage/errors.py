"""The storage error tree: every adapter translates its foreign errors into these.

Each class says, through ``retryable``, whether trying the same operation again (later, same
source) can help. The classes follow the irrecoverable-errno set of the original Dynamo's file
operations (taken there from FTS3's heuristics): ENOENT, EPERM/EACCES, EEXIST, ENOSPC, EROFS,
ENOTEMPTY and EIO (which the original used for checksum mismatches) are final; timeouts,
unreachable servers and unknown failures are worth a retry::

    DynamoError
     +-- StorageError (OSError)                    unknown storage failure        retryable
          +-- StorageNotFound (FileNotFoundError)  no such file or directory      final
          +-- StoragePermissionDenied (PermissionError)                           final
          +-- StorageExists (FileExistsError)      the target already exists      final
          +-- StorageDirectoryNotEmpty             rmdir of a non-empty directory final
          +-- StorageIsDirectory (IsADirectoryError) a file operation on a dir    final
          +-- StorageNoSpace                       quota or disk full             final
          +-- ChecksumMismatch                     adler32 differs after a copy   final
          +-- StorageUnsupported                   the protocol cannot do this    final
          +-- StorageTimeout (TimeoutError)        the operation expired          retryable
          +-- StorageUnavailable (ConnectionError) server down or unreachable     retryable
          +-- StorageNotOnline                     on tape: stage it first        retryable
"""

from __future__ import annotations

import errno as _errno
from pathlib import Path

from dynamo.errors import DynamoError

__all__ = [
    "ChecksumMismatch",
    "StorageDirectoryNotEmpty",
    "StorageError",
    "StorageExists",
    "StorageIsDirectory",
    "StorageNoSpace",
    "StorageNotFound",
    "StorageNotOnline",
    "StoragePermissionDenied",
    "StorageTimeout",
    "StorageUnavailable",
    "StorageUnsupported",
    "check_download",
    "error_from_errno",
    "error_from_message",
]


class StorageError(DynamoError, OSError):
    """A storage operation failed; ``path`` names the file or URL when known.

    The base class is what an adapter raises for a failure it cannot classify; like the
    original's heuristics, an unknown failure counts as recoverable.
    """

    code = "storage"
    retryable = True

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        message = str(self.args[0]) if self.args else ""
        return f"{self.path}: {message}" if self.path else message


class StorageNotFound(StorageError, FileNotFoundError):  # noqa: N818
    """No file or directory at that path (ENOENT)."""

    code = "storage_not_found"
    retryable = False


class StoragePermissionDenied(StorageError, PermissionError):  # noqa: N818
    """The server refused the operation for these credentials (EPERM, EACCES, EROFS)."""

    code = "storage_permission_denied"
    retryable = False


class StorageExists(StorageError, FileExistsError):  # noqa: N818
    """The target exists and overwriting was not asked for (EEXIST)."""

    code = "storage_exists"
    retryable = False


class StorageDirectoryNotEmpty(StorageError):  # noqa: N818
    """A directory to delete still has entries (ENOTEMPTY)."""

    code = "storage_directory_not_empty"
    retryable = False


class StorageIsDirectory(StorageError, IsADirectoryError):  # noqa: N818
    """A file operation (read, checksum, copy) was given a directory (EISDIR)."""

    code = "storage_is_directory"
    retryable = False


class StorageNoSpace(StorageError):  # noqa: N818
    """The disk or the quota is full (ENOSPC, EDQUOT, EFBIG)."""

    code = "storage_no_space"
    retryable = False


class ChecksumMismatch(StorageError):  # noqa: N818
    """The adler32 of the copied data differs from the expected one (the original's EIO)."""

    code = "checksum_mismatch"
    retryable = False

    def __init__(
        self, message: str, *, path: str | None = None, expected: str = "", actual: str = ""
    ) -> None:
        super().__init__(message, path=path)
        self.expected = expected
        self.actual = actual


def check_download(path: str, local: Path, actual: str, expected: str | None) -> None:
    """Remove ``local`` and raise ChecksumMismatch unless ``actual`` is the ``expected`` adler32
    (nothing to check when ``expected`` is None)."""
    if expected is not None and actual != expected.lower():
        local.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"adler32 {actual} != expected {expected}", path=path, expected=expected, actual=actual
        )


class StorageUnsupported(StorageError):  # noqa: N818
    """The protocol or this adapter cannot do the operation (EPROTONOSUPPORT)."""

    code = "storage_unsupported"
    retryable = False


class StorageTimeout(StorageError, TimeoutError):  # noqa: N818
    """The operation did not finish in time (ETIMEDOUT)."""

    code = "storage_timeout"
    retryable = True


class StorageUnavailable(StorageError, ConnectionError):  # noqa: N818
    """The server is down, unreachable or overloaded (ECONNREFUSED, EHOSTUNREACH, 503)."""

    code = "storage_unavailable"
    retryable = True


class StorageNotOnline(StorageError):  # noqa: N818
    """The file is on tape only: request staging and poll until it is online."""

    code = "storage_not_online"
    retryable = True


_BY_ERRNO: dict[int, type[StorageError]] = {
    _errno.ENOENT: StorageNotFound,
    _errno.ENOTDIR: StorageNotFound,
    _errno.EPERM: StoragePermissionDenied,
    _errno.EACCES: StoragePermissionDenied,
    _errno.EROFS: StoragePermissionDenied,
    _errno.EEXIST: StorageExists,
    _errno.ENOTEMPTY: StorageDirectoryNotEmpty,
    _errno.EISDIR: StorageIsDirectory,
    _errno.ENOSPC: StorageNoSpace,
    _errno.EDQUOT: StorageNoSpace,
    _errno.EFBIG: StorageNoSpace,
    _errno.EIO: StorageError,
    _errno.ETIMEDOUT: StorageTimeout,
    _errno.ECONNREFUSED: StorageUnavailable,
    _errno.ECONNRESET: StorageUnavailable,
    _errno.EHOSTUNREACH: StorageUnavailable,
    _errno.ENETUNREACH: StorageUnavailable,
    _errno.EPROTONOSUPPORT: StorageUnsupported,
    _errno.EOPNOTSUPP: StorageUnsupported,
}

# Substrings of server messages, checked in order (lower case), after the original's heuristics.
_BY_MESSAGE: tuple[tuple[str, type[StorageError]], ...] = (
    ("checksum mismatch", ChecksumMismatch),
    ("no such file", StorageNotFound),
    ("not found", StorageNotFound),
    ("does not exist", StorageNotFound),
    ("permission denied", StoragePermissionDenied),
    ("not authorized", StoragePermissionDenied),
    ("forbidden", StoragePermissionDenied),
    ("read-only", StoragePermissionDenied),
    ("no space", StorageNoSpace),
    ("quota", StorageNoSpace),
    ("no_free_space", StorageNoSpace),
    ("not empty", StorageDirectoryNotEmpty),
    ("is a directory", StorageIsDirectory),
    ("file exists", StorageExists),
    ("already exists", StorageExists),
    ("timed out", StorageTimeout),
    ("timeout", StorageTimeout),
    ("expired", StorageTimeout),
    ("connection refused", StorageUnavailable),
    ("unreachable", StorageUnavailable),
    ("connection reset", StorageUnavailable),
    ("not supported", StorageUnsupported),
    ("unsupported", StorageUnsupported),
)


def error_from_errno(number: int | None, message: str, *, path: str | None = None) -> StorageError:
    """The typed error for a POSIX ``errno`` (falling back on the message text)."""
    cls = _BY_ERRNO.get(number) if number is not None else None
    if cls is None:
        return error_from_message(message, path=path)
    return cls(message, path=path)


def error_from_message(message: str, *, path: str | None = None) -> StorageError:
    """The typed error whose known phrase occurs in ``message``; else a retryable StorageError."""
    lowered = message.lower()
    for phrase, cls in _BY_MESSAGE:
        if phrase in lowered:
            return cls(message, path=path)
    return StorageError(message, path=path)
