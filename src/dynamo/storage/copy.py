"""Copying a file between any two backends: server to server when possible, else streamed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dynamo.storage.errors import StorageUnsupported
from dynamo.storage.ports import FileStat, StorageBackend

__all__ = ["copy_file"]


def copy_file(
    source: StorageBackend,
    source_path: str,
    target: StorageBackend,
    target_path: str,
    *,
    checksum: str | None = None,
    overwrite: bool = False,
    allow_streaming: bool = True,
) -> FileStat:
    """Copy ``source_path`` to ``target_path`` and return the target's stat.

    Tries ``target.copy_from(source, ...)`` (third-party) first. When that pair cannot copy
    server to server and ``allow_streaming`` is true, the data goes through a local temporary
    file: download (verified against ``checksum`` when given), then upload (verified again).
    """
    try:
        return target.copy_from(
            source, source_path, target_path, checksum=checksum, overwrite=overwrite
        )
    except StorageUnsupported:
        if not allow_streaming:
            raise
    handle, name = tempfile.mkstemp(prefix="dynamo-copy-")
    os.close(handle)
    local = Path(name)
    try:
        source.download(source_path, local, checksum=checksum)
        return target.upload(local, target_path, checksum=checksum, overwrite=overwrite)
    finally:
        local.unlink(missing_ok=True)
