"""Ports the model needs from the outside world, with their in-memory implementations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from dynamo.model.entities import Block, File

__all__ = ["FileCatalog", "MemoryFileCatalog"]


class FileCatalog(Protocol):
    """Reads the file list of a block on demand (files are not resident)."""

    def files_of(self, block: Block) -> Sequence[File]:
        """The files of ``block``, ordered by LFN; empty if the block has none."""
        ...


class MemoryFileCatalog:
    """A FileCatalog over files held in a dict: for tests and dry runs."""

    def __init__(self, files: Iterable[File] = ()) -> None:
        self._by_block: dict[tuple[str, str], dict[str, File]] = {}
        for file in files:
            self.add(file)

    def add(self, file: File) -> None:
        self._by_block.setdefault((file.dataset, file.block), {})[file.lfn] = file

    def remove(self, lfn: str) -> None:
        for files in self._by_block.values():
            files.pop(lfn, None)

    def files_of(self, block: Block) -> Sequence[File]:
        files = self._by_block.get((block.dataset.name, block.name), {})
        return [files[lfn] for lfn in sorted(files)]
