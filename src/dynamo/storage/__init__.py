"""Storage access: one port (:class:`StorageBackend`), adapters per protocol, LFN->PFN rules.

Adapters import their client library (XRootD, boto3, gfal2, httpx) only when constructed, so
``import dynamo.storage`` needs none of them. Nothing here connects at import time.
"""

from __future__ import annotations

from dynamo.storage.copy import copy_file
from dynamo.storage.emulated_tape import EmulatedTapeStorage
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
    error_from_errno,
    error_from_message,
)
from dynamo.storage.memory import MemoryStorage
from dynamo.storage.ports import (
    PART_MARKER,
    Capability,
    FileStat,
    StageStatus,
    StorageBackend,
    adler32_file,
    adler32_hex,
    normalize_path,
    part_name,
)
from dynamo.storage.posix import PosixStorage

__all__ = [
    "PART_MARKER",
    "Capability",
    "ChecksumMismatch",
    "EmulatedTapeStorage",
    "FileStat",
    "MemoryStorage",
    "PosixStorage",
    "StageStatus",
    "StorageBackend",
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
    "adler32_file",
    "adler32_hex",
    "copy_file",
    "error_from_errno",
    "error_from_message",
    "normalize_path",
    "part_name",
]
