from __future__ import annotations

import errno

import pytest

from dynamo.fileops.errors import errno_from_message, errno_of_storage_error, is_irrecoverable
from dynamo.storage.errors import (
    ChecksumMismatch,
    StorageError,
    StorageNotFound,
    StorageTimeout,
    StorageUnavailable,
)


@pytest.mark.parametrize(
    ("code", "irrecoverable"),
    [
        (errno.ENOENT, True),
        (errno.EIO, True),
        (errno.ENOSPC, False),  # the destination gets room again: retried
        (errno.EKEYEXPIRED, True),
        (-1, True),
        (errno.ETIMEDOUT, False),
        (errno.ECONNREFUSED, False),
        (errno.EAGAIN, False),
        (0, False),
    ],
)
def test_errno_classification(code: int, irrecoverable: bool) -> None:
    assert is_irrecoverable(code) is irrecoverable


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("TRANSFER CHECKSUM MISMATCH Source and destination checksums do not match", errno.EIO),
        ("SRM_NO_FREE_SPACE at destination", errno.ENOSPC),
        ("No space left on device", errno.ENOSPC),
        ("Transfer canceled because the performance marker timeout expired", errno.ETIMEDOUT),
        ("Operation timed out", errno.ETIMEDOUT),
        ("[ERROR] Server responded with an error: [3011] No such file or directory", errno.ENOENT),
        ("Permission denied", errno.EACCES),
        ("Connection refused", errno.ECONNREFUSED),
        ("something nobody has seen", -1),
    ],
)
def test_messages_map_to_errnos(message: str, code: int) -> None:
    assert errno_from_message(message) == code


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ChecksumMismatch("adler32 differs"), errno.EIO),
        (StorageNotFound("gone"), errno.ENOENT),
        (StorageTimeout("slow"), errno.ETIMEDOUT),
        (StorageUnavailable("down"), errno.ECONNREFUSED),
        (StorageError("weird"), errno.EAGAIN),
    ],
)
def test_storage_errors_become_errnos_that_keep_their_retryability(
    error: StorageError, code: int
) -> None:
    assert errno_of_storage_error(error) == code
    assert is_irrecoverable(code) is (not error.retryable)


def test_an_untyped_storage_error_is_classified_by_its_message() -> None:
    assert errno_of_storage_error(StorageError("No space left on device")) == errno.ENOSPC
