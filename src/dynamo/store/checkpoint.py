"""Checkpoints of the resident inventory: the rows of the inventory tables at one log seq, in a
local file, so that a server joining a large installation loads them and then tails the log
instead of streaming every table from the database.

A checkpoint is what the start-up load reads (the same SQL, see
:class:`dynamo.store.loader.TableLoad`), taken in one snapshot transaction together with
``MAX(seq)``, so loading it and applying the log after its seq gives the image a full load
would. The file (``inventory-<seq>.ckpt``) is a sequence of frames, each an 8-byte length and
a :mod:`marshal` record: a header (format version, schema revision, seq, the SHA-256 of the
log entry at seq), then ``(stage, rows)`` batches in load order, then a trailer (rows per
stage, SHA-256 of every frame before it). It is written under a temporary name, flushed to
disk and renamed, so a reader sees a whole checkpoint or none.

:func:`load_checkpoint` refuses (:class:`CheckpointError`, and the caller loads from the
database) a file of another format or schema revision, a truncated or corrupted file (digest,
row counts), and a checkpoint whose seq is not in this database's log with the same entry (one
of another database, or of a log that was since pruned past it). The checkpoint directory
must be as trusted as the database: its files are read with :mod:`marshal`.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import StoreError
from dynamo.model import Inventory, PartitionCompiler
from dynamo.store.loader import TableLoad, run_load
from dynamo.store.migration import head_revision
from dynamo.store.schema import inventory_log
from dynamo.store.sqlops import driver_message

__all__ = [
    "FORMAT_VERSION",
    "CheckpointError",
    "CheckpointInfo",
    "find_checkpoints",
    "load_checkpoint",
    "write_checkpoint",
]

FORMAT_VERSION: Final = 1
_LENGTH: Final = struct.Struct("<Q")
_PREFIX: Final = "inventory-"
_SUFFIX: Final = ".ckpt"


class CheckpointError(StoreError):
    """A checkpoint cannot be used (format, schema, integrity, or not of this log)."""

    code = "bad_checkpoint"


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    path: Path
    seq: int
    rows: dict[str, int]
    seconds: float


def find_checkpoints(directory: Path) -> list[Path]:
    """The checkpoint files in ``directory``, newest (highest seq) first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob(f"{_PREFIX}*{_SUFFIX}"):
        digits = path.name[len(_PREFIX) : -len(_SUFFIX)]
        if digits.isdigit():
            found.append((int(digits), path))
    return [path for _, path in sorted(found, reverse=True)]


# ---------------------------------------------------------------------------- writing


class _Recorder(TableLoad):
    """Writes every batch of rows to the checkpoint instead of loading it."""

    def __init__(self, conn: Connection, out: _FrameWriter) -> None:
        super().__init__(conn, Inventory(), None)
        self.out = out
        self.counts: dict[str, int] = {}

    def rows(self, stage: str, sql: str) -> Iterator[Sequence[Any]]:
        count = 0
        for batch in super().rows(stage, sql):
            self.out.write((stage, [tuple(row) for row in batch]))
            count += len(batch)
        self.counts[stage] = count
        return iter(())


class _FrameWriter:
    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def write(self, record: Any) -> None:
        data = marshal.dumps(record)
        frame = _LENGTH.pack(len(data)) + data
        self.digest.update(frame)
        self.handle.write(frame)


def write_checkpoint(engine: Engine, directory: Path, *, keep: int = 2) -> CheckpointInfo:
    """Write a checkpoint of the database's inventory into ``directory`` (created if needed)
    and delete all but the ``keep`` newest. Blocking: call from a worker thread."""
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{_PREFIX}{os.getpid()}-{time.monotonic_ns()}{_SUFFIX}.partial"
    try:
        with engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin() as transaction, partial.open("wb") as handle:
                seq = int(conn.exec_driver_sql("SELECT MAX(seq) FROM inventory_log").scalar() or 0)
                out = _FrameWriter(handle)
                out.write(
                    {
                        "format": FORMAT_VERSION,
                        "schema": head_revision(),
                        "seq": seq,
                        "anchor": _anchor(conn, seq),
                        "written_at": time.time(),
                    }
                )
                recorder = _Recorder(conn, out)
                recorder.run()
                out.write(("end", recorder.counts, out.digest.hexdigest()))
                handle.flush()
                os.fsync(handle.fileno())
                transaction.rollback()
        path = directory / f"{_PREFIX}{seq:012d}{_SUFFIX}"
        partial.replace(path)
    except SQLAlchemyError as exc:
        raise StoreError(f"writing a checkpoint failed: {driver_message(exc)}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    for old in find_checkpoints(directory)[keep:]:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    return CheckpointInfo(path, seq, recorder.counts, time.perf_counter() - started)


def _anchor(conn: Connection, seq: int) -> str:
    """The SHA-256 of the log entry at ``seq`` ("" for seq 0): ties a checkpoint to a log."""
    if seq == 0:
        return ""
    blob = conn.execute(
        select(inventory_log.c.changeset).where(inventory_log.c.seq == seq)
    ).scalar()
    return "" if blob is None else hashlib.sha256(bytes(blob)).hexdigest()


# ---------------------------------------------------------------------------- reading


class _Replay(TableLoad):
    """Serves the rows of a checkpoint's frames, stage by stage, to the loader."""

    def __init__(self, frames: Iterator[object], inventory: Inventory) -> None:
        super().__init__(None, inventory, None)  # type: ignore[arg-type]  # never queried
        self.frames = frames
        self.pending: object = next(frames)
        self.counts: dict[str, int] = {}

    def rows(self, stage: str, sql: str) -> Iterator[Sequence[Any]]:
        count = 0
        while isinstance(self.pending, tuple) and self.pending[0] == stage:
            batch = self.pending[1]
            count += len(batch)
            yield batch
            self.pending = next(self.frames)
        self.counts[stage] = count


def _frames(path: Path, digest: Any) -> Iterator[object]:
    with path.open("rb") as handle:
        while head := handle.read(_LENGTH.size):
            if len(head) < _LENGTH.size:
                raise CheckpointError(f"{path.name} is truncated")
            (length,) = _LENGTH.unpack(head)
            data = handle.read(length)
            if len(data) < length:
                raise CheckpointError(f"{path.name} is truncated")
            try:
                record = marshal.loads(data)
            except (EOFError, ValueError, TypeError) as exc:
                raise CheckpointError(f"{path.name} is corrupted: {exc}") from exc
            if isinstance(record, tuple) and record and record[0] == "end":
                yield record  # the trailer is not part of its own digest
                return
            digest.update(head + data)
            yield record
    raise CheckpointError(f"{path.name} is truncated: no trailer")


def load_checkpoint(
    path: Path, engine: Engine, *, partition_compiler: PartitionCompiler | None = None
) -> tuple[Inventory, int]:
    """The inventory in checkpoint ``path`` and its seq, checked against the database's log;
    CheckpointError if it cannot be used. Blocking."""
    digest = hashlib.sha256()
    frames = _frames(path, digest)
    try:
        header = next(frames)
    except StopIteration:
        raise CheckpointError(f"{path.name} is empty") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path.name} is not a format {FORMAT_VERSION} checkpoint")
    if header.get("schema") != head_revision():
        raise CheckpointError(
            f"{path.name} has schema revision {header.get('schema')}, the code {head_revision()}"
        )
    seq = int(header["seq"])
    _check_in_log(engine, path, seq, str(header["anchor"]))
    inventory = Inventory(partition_compiler=partition_compiler)
    replay = _Replay(frames, inventory)
    run_load(replay)
    trailer = replay.pending
    if not (isinstance(trailer, tuple) and len(trailer) == 3 and trailer[0] == "end"):
        raise CheckpointError(f"{path.name} has rows the loader did not expect")
    _, counts, expected = trailer
    if expected != digest.hexdigest() or counts != replay.counts:
        raise CheckpointError(f"{path.name} is corrupted: digest or row counts differ")
    return inventory, seq


def _check_in_log(engine: Engine, path: Path, seq: int, anchor: str) -> None:
    """The log must hold the entry at ``seq`` as it was (so, the log was not pruned past it)."""
    try:
        with engine.connect() as conn:
            found = _anchor(conn, seq)
    except SQLAlchemyError as exc:
        raise StoreError(f"checking a checkpoint failed: {driver_message(exc)}") from exc
    if found != anchor:
        raise CheckpointError(f"{path.name} (seq {seq}) is not of this database's log")
