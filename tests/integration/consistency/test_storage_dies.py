"""A storage server SIGKILLed in the middle of a consistency check's listing (a real XRootD
server and a real WebDAV server, wsgidav): the check fails with a storage error and changes
nothing (no run recorded, no file declared missing or orphaned, nothing deleted or
subscribed); once the server is back the next check lists everything and finds exactly the
planted differences.
"""

from __future__ import annotations

import os
import shutil
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from contract.storage.storage_servers import (
    Server,
    kill_server,
    restart_server,
    serve,
    start_named,
)
from dynamo.consistency import CheckResult, ConsistencyConfig, check_site
from dynamo.model import (
    ChangeSet,
    Inventory,
    Operation,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertSite,
)
from dynamo.storage import FileStat, StorageBackend, StorageError
from dynamo.store import SqlInventoryStore
from dynamo.store.schema.consistency import consistency_files, consistency_runs
from dynamo.store.schema.fileops import fileop_subscriptions

DATASET = "/Prim/Proc-v1/AOD"
DIRS, PER_DIR = 30, 3
OLD = time.time() - 30 * 86_400
CONFIG = ConsistencyConfig(
    directories=("/store",), grace_seconds=3600, max_missing_fraction=1.0, max_orphan_fraction=1.0
)
MISSING = "/store/data/d007/f1.root"
ORPHAN = "/store/data/d011/dark.root"


def _lfn(directory: int, index: int) -> str:
    return f"/store/data/d{directory:03d}/f{index}.root"


def _content(name: str) -> bytes:
    return (name.encode() + b" ") * 50


def _close(storage: StorageBackend) -> None:
    close = getattr(storage, "close", None)
    if close is not None:
        close()


def _storage(server: Server, timeout: int) -> StorageBackend:
    if server.name == "xrootd":
        from dynamo.storage.xrootd import XRootDStorage

        return XRootDStorage(f"root://127.0.0.1:{server.ports['root']}", timeout=timeout)
    from dynamo.storage.http import WebDavStorage

    return WebDavStorage(f"http://127.0.0.1:{server.ports['http']}", timeout=timeout)


@pytest.fixture(params=["xrootd", "wsgidav"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield from serve(lambda: start_named(str(request.param)))


def _site(store: SqlInventoryStore, data: Path) -> Inventory:
    """Site A holds one complete block per directory; the files are written straight into the
    server's data directory, one of them is missing and there is an orphan, all old."""
    ops: list[Operation] = [UpsertGroup(name="AnalysisOps"), UpsertSite(name="A")]
    ops += [UpsertSite(name="B"), UpsertDataset(name=DATASET)]
    ops.append(UpsertDatasetReplica(dataset=DATASET, site="A", group="AnalysisOps"))
    for directory in range(DIRS):
        block = f"b{directory:03d}"
        names = [_lfn(directory, i) for i in range(PER_DIR)]
        size = sum(len(_content(n)) for n in names)
        ops.append(UpsertBlock(dataset=DATASET, name=block, size=size, num_files=PER_DIR))
        for name in names:
            body = _content(name)
            checksum = f"{zlib.adler32(body) & 0xFFFFFFFF:08x}"
            ops.append(
                UpsertFile(lfn=name, dataset=DATASET, block=block, size=len(body), adler32=checksum)
            )
            if name != MISSING:
                path = data / name.lstrip("/")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
        ops.append(UpsertBlockReplica(dataset=DATASET, block=block, site="A", group="AnalysisOps"))
    (data / ORPHAN.lstrip("/")).write_bytes(b"nobody knows me")
    for directory, dirs, files in os.walk(data, topdown=False):
        for name in dirs:  # XRootD runs as nobody: it may delete what the test wrote
            (Path(directory) / name).chmod(0o777)
        for name in files + dirs:
            os.utime(Path(directory) / name, (OLD, OLD))
    inventory = store.load()[0]
    store.commit(ChangeSet.of(ops), inventory)
    return inventory


class _DiesMidListing:
    """The real storage backend, whose server is SIGKILLed after ``after`` listed entries."""

    def __init__(self, storage: StorageBackend, server: Server, after: int) -> None:
        self._storage, self._server, self._after = storage, server, after
        self.listed = 0

    def walk(self, path: str = "/") -> Iterator[FileStat]:
        for entry in self._storage.walk(path):
            self.listed += 1
            if self.listed == self._after:
                kill_server(self._server)
            yield entry

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


def _check(store: SqlInventoryStore, inventory: Inventory, storage: StorageBackend) -> CheckResult:
    return check_site(
        engine=store.engine, inventory=inventory, site="A", storage=storage, config=CONFIG
    )


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(consistency_runs)).scalar_one(),
            conn.execute(select(func.count()).select_from(consistency_files)).scalar_one(),
            conn.execute(select(func.count()).select_from(fileop_subscriptions)).scalar_one(),
        )


def _files(data: Path) -> set[str]:
    return {str(p.relative_to(data)) for p in data.rglob("*") if p.is_file()}


def test_a_server_killed_mid_listing_fails_the_check_and_changes_nothing(
    server: Server, database_url_factory: Callable[[str], str]
) -> None:
    store = SqlInventoryStore.open(database_url_factory("postgresql"), upgrade=True)
    try:
        inventory = _site(store, server.data)
        before = _files(server.data)
        storage = _storage(server, timeout=3)  # the dead server's requests fail fast
        dying = _DiesMidListing(storage, server, after=DIRS)  # a third of the directories
        with pytest.raises(StorageError):
            _check(store, inventory, dying)  # type: ignore[arg-type]
        _close(storage)
        assert DIRS <= dying.listed < DIRS * (PER_DIR + 1)
        assert _counts(store.engine) == (0, 0, 0), "a partial listing left a trace"
        assert _files(server.data) == before

        restart_server(server)
        storage = _storage(server, timeout=60)  # the default
        try:
            result = _check(store, inventory, storage)
        finally:
            _close(storage)
        found = {(f.kind.value, f.action.value, f.path) for f in result.findings}
        assert found == {("missing", "wait", MISSING), ("orphan", "delete", ORPHAN)}
        assert result.summary["listed_files"] == DIRS * PER_DIR
        assert _files(server.data) == before - {ORPHAN.lstrip("/")}
    finally:
        store.close()


class _DirectoryVanishes:
    """The real storage backend; after ``after`` entries the directories listed but not yet
    walked into are removed from the server's disk (as another cleaner would)."""

    def __init__(self, storage: StorageBackend, data: Path, after: int) -> None:
        self._storage, self._data, self._after = storage, data, after
        self.removed: list[str] = []

    def walk(self, path: str = "/") -> Iterator[FileStat]:
        seen_dirs: set[str] = set()
        entered: set[str] = set()
        for count, entry in enumerate(self._storage.walk(path), 1):
            entered.add(entry.path.rsplit("/", 1)[0])
            if entry.is_dir:
                seen_dirs.add(entry.path)
            if count == self._after:
                self.removed = sorted(d for d in seen_dirs - entered if d.count("/") == 3)
                for directory in self.removed:
                    shutil.rmtree(self._data / directory.lstrip("/"))
            yield entry

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


def test_a_directory_that_vanishes_mid_listing_fails_the_check(
    server: Server, database_url_factory: Callable[[str], str]
) -> None:
    store = SqlInventoryStore.open(database_url_factory("sqlite"), upgrade=True)
    storage = _storage(server, timeout=60)
    try:
        inventory = _site(store, server.data)
        vanishing = _DirectoryVanishes(storage, server.data, after=DIRS)
        with pytest.raises(StorageError, match="broke off"):
            _check(store, inventory, vanishing)  # type: ignore[arg-type]
        assert vanishing.removed
        assert _counts(store.engine) == (0, 0, 0)
    finally:
        _close(storage)
        store.close()
