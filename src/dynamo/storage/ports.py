"""The storage port: what Dynamo asks of any storage element, whatever the protocol.

Paths. A backend is bound to one endpoint and one root (``PosixStorage("/srv/site")``,
``XRootDStorage("root://host:1094", root="/data")``). Every method takes a *site path*: an
absolute, ``/``-separated path under that root, such as ``/store/data/run1/f.root``. The
LFN->PFN translation of :mod:`dynamo.storage.naming` gives the PFN; ``url(path)`` gives back the
full PFN of a site path. Paths are normalised (no ``..``, no empty segments); a path that would
leave the root raises :class:`~dynamo.storage.errors.StorageError`.

Errors. Every method raises only :class:`~dynamo.storage.errors.StorageError` subclasses, whose
``retryable`` says whether trying again can help.

Checksums are adler32 as 8 lowercase hex digits, the form XRootD and XrdHttp report.
"""

from __future__ import annotations

import enum
import posixpath
import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from dynamo.storage.errors import StorageError

__all__ = [
    "CHUNK_SIZE",
    "Capability",
    "FileStat",
    "StageStatus",
    "StorageBackend",
    "adler32_file",
    "adler32_hex",
    "adler32_stream",
    "join_site_path",
    "normalize_path",
]

CHUNK_SIZE = 1 << 20
"""Bytes read per step when streaming data through Python."""


class Capability(enum.Enum):
    """Optional abilities; every backend has the rest of the port."""

    THIRD_PARTY_COPY = "third_party_copy"
    """``copy_from`` moves data server to server (from some source backends)."""
    TAPE = "tape"
    """Files may be nearline: ``request_stage`` takes time and reads need staged files."""


@dataclass(frozen=True, slots=True)
class FileStat:
    """One file or directory. ``mtime`` is an aware UTC datetime; ``size`` is in bytes (0 for
    directories and for backends that report none)."""

    path: str
    size: int
    mtime: datetime
    is_dir: bool = False


@dataclass(frozen=True, slots=True)
class StageStatus:
    """The state of a staging request: every requested path is in exactly one of ``online``,
    ``pending`` or ``failed`` (which maps the path to the error's message)."""

    request_id: str
    online: frozenset[str]
    pending: frozenset[str]
    failed: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_done(self) -> bool:
        """True when nothing is pending any more."""
        return not self.pending


@runtime_checkable
class StorageBackend(Protocol):
    """One storage element reached through one protocol (see the module docstring for paths)."""

    @property
    def scheme(self) -> str:
        """The protocol name: ``file``, ``root``, ``davs``, ``s3``, ``memory``, ..."""
        ...

    @property
    def capabilities(self) -> frozenset[Capability]:
        """The optional abilities of this backend."""
        ...

    def url(self, path: str) -> str:
        """The full PFN (URL) of ``path``."""
        ...

    def stat(self, path: str) -> FileStat:
        """The file or directory at ``path``; StorageNotFound if there is none."""
        ...

    def walk(self, path: str = "/") -> Iterator[FileStat]:
        """Every file and directory below ``path`` (not ``path`` itself), depth first.

        A generator: it holds at most the entries of the directories on its stack, never the
        whole tree. Directories come before their content; order within a directory is
        unspecified. A missing ``path`` raises StorageNotFound on the first ``next()``.
        """
        ...

    def checksum(self, path: str) -> str:
        """The adler32 of the file at ``path`` as 8 lowercase hex digits."""
        ...

    def mkdir(self, path: str) -> None:
        """Create the directory ``path`` and its parents; an existing directory is fine."""
        ...

    def delete(self, path: str) -> None:
        """Remove the file or the *empty* directory at ``path``.

        StorageNotFound if nothing is there; StorageDirectoryNotEmpty for a non-empty directory.
        """
        ...

    def upload(
        self, local: Path, path: str, *, checksum: str | None = None, overwrite: bool = False
    ) -> FileStat:
        """Copy the local file to ``path``, creating parent directories.

        With ``checksum``, the stored data is verified against it; a mismatch removes the copy
        and raises ChecksumMismatch. Without ``overwrite`` an existing target raises StorageExists.
        """
        ...

    def download(self, path: str, local: Path, *, checksum: str | None = None) -> None:
        """Copy ``path`` to the local file (replaced), verifying ``checksum`` when given."""
        ...

    def copy_from(
        self,
        source: StorageBackend,
        source_path: str,
        path: str,
        *,
        checksum: str | None = None,
        overwrite: bool = False,
    ) -> FileStat:
        """Third-party copy: this backend fetches ``source_path`` from ``source`` itself.

        StorageUnsupported when this pair of backends cannot copy server to server; callers may
        then stream the data through :func:`dynamo.storage.copy.copy_file`.
        """
        ...

    def request_stage(self, paths: Iterable[str]) -> str:
        """Ask for ``paths`` to be brought online; returns a request id for ``poll_stage``.

        Disk backends answer at once: existing files are online, missing ones failed.
        """
        ...

    def poll_stage(self, request_id: str) -> StageStatus:
        """The current state of a staging request; StorageNotFound for an unknown id."""
        ...


def normalize_path(path: str) -> str:
    """``path`` as an absolute, normalised site path; StorageError if it climbs above ``/``."""
    if not path.startswith("/"):
        path = "/" + path
    if "/." in path and any(part == ".." for part in path.split("/")):
        raise StorageError("path may not contain '..'", path=path)
    normal = posixpath.normpath(path)
    return "/" if normal == "//" else normal


PART_MARKER = ".dynamo-part-"
"""In the name of the temporary file a copy writes before renaming it into place
(``<target>.dynamo-part-<id>``): a copy that dies leaves no file under the target's name."""


def part_name(path: str) -> str:
    """A fresh temporary name beside ``path`` (see :data:`PART_MARKER`)."""
    return f"{path}{PART_MARKER}{uuid.uuid4().hex[:12]}"


def join_site_path(directory: str, name: str) -> str:
    """``directory/name`` for an already normalised directory."""
    return directory + name if directory.endswith("/") else f"{directory}/{name}"


def adler32_hex(value: int) -> str:
    """An adler32 value as 8 lowercase hex digits."""
    return f"{value & 0xFFFFFFFF:08x}"


def adler32_stream(stream: BinaryIO, *, chunk_size: int = CHUNK_SIZE) -> str:
    """The adler32 of everything left in ``stream``."""
    value = 1
    while chunk := stream.read(chunk_size):
        value = zlib.adler32(chunk, value)
    return adler32_hex(value)


def adler32_file(local: Path) -> str:
    """The adler32 of a local file."""
    with local.open("rb") as stream:
        return adler32_stream(stream)
