"""Which failures are worth retrying: errno classification and message heuristics.

A failed task carries an errno (``exit_code``). The irrecoverable set is the original Dynamo's,
which took it from FTS3's retry heuristics: retrying the same source cannot help after any of
these, so a subscription whose every source last failed with one of them is held
(``all_failed``). -1 (the backend could not tell, or submission failed) counts as irrecoverable
too, as in the original; anything else (timeouts, unreachable servers) is retried.

Departure: a full destination (``ENOSPC``, ``EDQUOT``) is retried, not held. It is no fault of
the source, and the room comes back by itself (Detox deletes down to the low watermark, a site
admin adds disk): holding the subscription until an operator releases it, as the original did,
would leave the transfer stuck long after the disk has room again.

Backends that only have a message use :func:`errno_from_message`, a table of phrases seen in
storage and transfer-service messages (matched case-insensitively, first match wins).
"""

from __future__ import annotations

import errno

from dynamo.storage.errors import (
    ChecksumMismatch,
    StorageDirectoryNotEmpty,
    StorageError,
    StorageExists,
    StorageIsDirectory,
    StorageNoSpace,
    StorageNotFound,
    StorageNotOnline,
    StoragePermissionDenied,
    StorageTimeout,
    StorageUnavailable,
    StorageUnsupported,
)

__all__ = [
    "IRRECOVERABLE_ERRNOS",
    "UNKNOWN_ERRNO",
    "errno_from_message",
    "errno_of_storage_error",
    "is_irrecoverable",
]

UNKNOWN_ERRNO = -1
"""The exit code of a failure whose cause is unknown (also: the submission failed)."""

IRRECOVERABLE_ERRNOS: frozenset[int] = frozenset(
    {
        errno.ENOENT,
        errno.EPERM,
        errno.EACCES,
        errno.EEXIST,
        errno.EISDIR,
        errno.ENAMETOOLONG,
        errno.E2BIG,
        errno.ENOTDIR,
        errno.EFBIG,
        errno.EROFS,
        errno.EPROTONOSUPPORT,
        errno.ECANCELED,
        errno.EIO,
        errno.EMSGSIZE,
        errno.ENONET,
        errno.ENOKEY,
        errno.EKEYEXPIRED,
        errno.EKEYREJECTED,
        errno.ENETUNREACH,
        errno.ECOMM,
        UNKNOWN_ERRNO,
    }
)


def is_irrecoverable(exit_code: int) -> bool:
    """True when retrying from the same source cannot help."""
    return exit_code in IRRECOVERABLE_ERRNOS


# Written for this project from the wording of XRootD, dCache, EOS, FTS3 and gfal2 messages.
_PHRASES: tuple[tuple[str, int], ...] = (
    ("checksum mismatch", errno.EIO),
    ("checksum do not match", errno.EIO),
    ("checksum value mismatch", errno.EIO),
    ("adler32 mismatch", errno.EIO),
    ("no space left", errno.ENOSPC),
    ("no_free_space", errno.ENOSPC),
    ("not enough space", errno.ENOSPC),
    ("quota exceeded", errno.ENOSPC),
    ("disk quota", errno.ENOSPC),
    ("file too large", errno.EFBIG),
    ("no such file", errno.ENOENT),
    ("file not found", errno.ENOENT),
    ("does not exist", errno.ENOENT),
    ("srm_invalid_path", errno.ENOENT),
    ("not a directory", errno.ENOTDIR),
    ("is a directory", errno.EISDIR),
    ("file exists", errno.EEXIST),
    ("already exists", errno.EEXIST),
    ("permission denied", errno.EACCES),
    ("authorization denied", errno.EACCES),
    ("not authorized", errno.EACCES),
    ("forbidden", errno.EACCES),
    ("read-only file system", errno.EROFS),
    ("name too long", errno.ENAMETOOLONG),
    ("protocol not supported", errno.EPROTONOSUPPORT),
    ("unsupported protocol", errno.EPROTONOSUPPORT),
    ("credential expired", errno.EKEYEXPIRED),
    ("proxy expired", errno.EKEYEXPIRED),
    ("certificate has expired", errno.EKEYEXPIRED),
    ("certificate verify failed", errno.EKEYREJECTED),
    ("no credential", errno.ENOKEY),
    ("performance marker", errno.ETIMEDOUT),
    ("cancelled", errno.ECANCELED),
    ("canceled", errno.ECANCELED),
    ("timed out", errno.ETIMEDOUT),
    ("timeout", errno.ETIMEDOUT),
    ("bring online", errno.ETIMEDOUT),
    ("connection refused", errno.ECONNREFUSED),
    ("connection reset", errno.ECONNRESET),
    ("broken pipe", errno.EPIPE),
    ("network is unreachable", errno.ENETUNREACH),
    ("no route to host", errno.EHOSTUNREACH),
    ("host is down", errno.EHOSTDOWN),
    ("service unavailable", errno.EAGAIN),
    ("too many", errno.EAGAIN),
    ("busy", errno.EBUSY),
    ("input/output error", errno.EIO),
)


def errno_from_message(message: str, default: int = UNKNOWN_ERRNO) -> int:
    """The errno whose phrase occurs in ``message``; ``default`` when none does."""
    lowered = message.lower()
    for phrase, number in _PHRASES:
        if phrase in lowered:
            return number
    return default


_BY_CLASS: tuple[tuple[type[StorageError], int], ...] = (
    (ChecksumMismatch, errno.EIO),
    (StorageNotFound, errno.ENOENT),
    (StoragePermissionDenied, errno.EACCES),
    (StorageExists, errno.EEXIST),
    (StorageDirectoryNotEmpty, errno.ENOTEMPTY),
    (StorageIsDirectory, errno.EISDIR),
    (StorageNoSpace, errno.ENOSPC),
    (StorageUnsupported, errno.EPROTONOSUPPORT),
    (StorageTimeout, errno.ETIMEDOUT),
    (StorageUnavailable, errno.ECONNREFUSED),
    (StorageNotOnline, errno.EAGAIN),
)


def errno_of_storage_error(exc: StorageError) -> int:
    """The errno a task reports for a storage error.

    Typed errors map by class; the untyped base class tries the message and else reports
    EAGAIN (an unknown failure is retried, as its ``retryable`` says).
    """
    for cls, number in _BY_CLASS:
        if isinstance(exc, cls):
            return number
    return errno_from_message(str(exc), default=errno.EAGAIN)
