"""A storage server (a real XRootD server, a real WebDAV server: wsgidav) SIGKILLed while a
file-operations worker (a real ``dynamo fileops worker`` process) copies files to it, or from
it (XRootD): no file appears under its name at the destination unless it is whole (copies go
to a temporary name and are renamed into place); no transfer is taken as done that is not on
storage; once the server is back, the same worker, which kept running by itself, completes
the retried transfers, and the updater registers exactly the files that are there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from contract.storage.storage_servers import (
    Server,
    kill_server,
    restart_server,
    serve,
    start_named,
)
from dynamo.fileops.endpoints import Endpoint, Endpoints
from dynamo.fileops.manager import ManagerOptions, run_cycle
from dynamo.fileops.ports import OpKind
from dynamo.fileops.standalone import StandaloneBackend
from dynamo.fileops.subscriptions import FileRef, subscribe
from dynamo.fileops.updater import run_update
from dynamo.model import (
    ChangeSet,
    Operation,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertSite,
)
from dynamo.storage import PART_MARKER
from dynamo.store import SqlInventoryStore
from dynamo.store.schema.fileops import fileop_failures, fileop_subscriptions

DATASET, BLOCK = "/Prim/Proc-v1/AOD", "B1"
FILES = 3
SIZE = 16 << 20  # large enough for a copy to be caught half-way


def _lfn(index: int) -> str:
    return f"/store/data/Proc/AOD/{index:04d}.root"


def _content(index: int) -> bytes:
    block = bytes((index * 7 + i) % 251 for i in range(4096))
    return (block * (SIZE // 4096 + 1))[: SIZE + index]


CASES = [("xrootd", "destination"), ("wsgidav", "destination"), ("xrootd", "source")]


@pytest.fixture(params=CASES, ids=["-".join(case) for case in CASES])
def case(request: pytest.FixtureRequest) -> Iterator[tuple[Server, str]]:
    name, role = request.param
    for server in serve(lambda: start_named(name)):
        yield server, role


def _url(server: Server) -> str:
    if server.name == "xrootd":
        return f"root://127.0.0.1:{server.ports['root']}/"
    return f"http://127.0.0.1:{server.ports['http']}/"


def _setup(store: SqlInventoryStore, source: Path) -> list[FileRef]:
    data = [_content(i) for i in range(FILES)]
    checksums = [f"{zlib.adler32(d) & 0xFFFFFFFF:08x}" for d in data]
    ops: list[Operation] = [UpsertGroup(name="AnalysisOps"), UpsertSite(name="A")]
    ops += [UpsertSite(name="DST"), UpsertDataset(name=DATASET)]
    ops.append(UpsertBlock(dataset=DATASET, name=BLOCK, size=sum(map(len, data)), num_files=FILES))
    refs = []
    for i, (body, checksum) in enumerate(zip(data, checksums, strict=True)):
        ops.append(
            UpsertFile(lfn=_lfn(i), dataset=DATASET, block=BLOCK, size=len(body), adler32=checksum)
        )
        refs.append(
            FileRef(lfn=_lfn(i), dataset=DATASET, block=BLOCK, size=len(body), adler32=checksum)
        )
        path = source / _lfn(i).lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    ops.append(UpsertDatasetReplica(dataset=DATASET, site="A", group="AnalysisOps"))
    ops.append(UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="A", group="AnalysisOps"))
    store.commit(ChangeSet.of(ops), store.load()[0])
    return refs


def _wait(
    condition: Callable[[], object], what: str, limit: float = 60.0, step: float = 0.002
) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(step)


def _files(root: Path) -> dict[str, int]:
    """Every file below ``root``: its path from there and its size."""
    return {
        "/" + str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()
    }


def _copy_under_way(where: Path) -> bool:
    return any(0 < size < SIZE for size in _files(where).values())


def _statuses(store: SqlInventoryStore) -> dict[str, str]:
    s = fileop_subscriptions
    with store.engine.connect() as conn:
        return dict(conn.execute(select(s.c.lfn, s.c.status)).all())


def _assert_nothing_false(store: SqlInventoryStore, destination: Path) -> None:
    """No file under its name that is not whole; no done transfer that is not on storage."""
    present = _files(destination)
    for i in range(FILES):
        if _lfn(i) in present:
            assert present[_lfn(i)] == len(_content(i)), f"{_lfn(i)}: a partial file"
    for lfn, status in _statuses(store).items():
        if status == "done":
            assert lfn in present, f"{lfn}: done but not on storage"


def test_a_server_killed_mid_copy_loses_nothing_and_the_worker_resumes(
    case: tuple[Server, str], database_url_factory: Callable[[str], str], tmp_path: Path
) -> None:
    server, role = case
    url = database_url_factory("postgresql")
    store = SqlInventoryStore.open(url, upgrade=True)
    try:
        _run(store, url, server, role, tmp_path)
    finally:
        store.close()


def _run(store: SqlInventoryStore, url: str, server: Server, role: str, tmp_path: Path) -> None:
    posix = tmp_path / "posix"
    posix.mkdir()
    source = server.data if role == "source" else posix
    destination = server.data if role == "destination" else posix
    refs = _setup(store, source)
    urls = {"A": f"file://{posix}", "DST": _url(server)}
    if role == "source":
        urls = {"A": _url(server), "DST": f"file://{posix}"}
    endpoints = Endpoints({site: Endpoint(site=site, url=at) for site, at in urls.items()})
    config = tmp_path / "fileops.toml"
    config.write_text("".join(f'[storage.{site}]\nurl = "{at}"\n' for site, at in urls.items()))
    streamed = tmp_path / "tmp"  # the worker's local copies of files it streams
    streamed.mkdir()
    watched = destination if role == "destination" else streamed
    inventory = store.load()[0]
    now = int(time.time())

    def cycle() -> None:
        nonlocal now
        now += 1
        backend = StandaloneBackend(store.engine, clock=lambda: now)
        run_cycle(
            store.engine, inventory, endpoints, {"standalone": backend}, now, ManagerOptions()
        )

    with store.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", refs, origin="operator", now=now)
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "dynamo.cli.main", "fileops", "worker",
            "--db", url, "--config", str(config), "--id", "survivor",
            "--parallel", "1", "--poll-interval", "0.2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TMPDIR": str(streamed)},
    )  # fmt: skip
    try:
        cycle()
        _wait(lambda: _copy_under_way(watched), "a copy under way")
        kill_server(server)
        _assert_nothing_false(store, destination)
        time.sleep(1.0)
        _assert_nothing_false(store, destination)
        assert worker.poll() is None, "the worker died with the storage server"

        restart_server(server)
        deadline = time.monotonic() + 90
        while set(_statuses(store).values()) != {"done"}:
            assert time.monotonic() < deadline, _statuses(store)
            assert worker.poll() is None, "the worker stopped"
            _assert_nothing_false(store, destination)
            cycle()
            time.sleep(0.3)
        with store.engine.connect() as conn:
            failures = conn.execute(select(fileop_failures.c.subscription_id)).all()
        # A dead WebDAV destination fails the copy. XrdCl may instead recover by itself when
        # the XRootD server is back in time: it reopens the file and resumes a read, or a
        # write (XRD_RECOVERWRITES); the checksum still covers the whole file, and the copy
        # was under way when the server died (waited for above). Seen once in a CI-like run.
        assert failures or server.name == "xrootd", "no copy failed: was the server killed?"
        present = _files(destination)
        for i in range(FILES):
            assert (destination / _lfn(i).lstrip("/")).read_bytes() == _content(i)
        assert {p for p in present if PART_MARKER not in p} == {_lfn(i) for i in range(FILES)}

        run_update(store, inventory, now=now + 5)
        replica = store.load()[0].find_block(DATASET, BLOCK)
        assert replica is not None
        at_dst = next(r for r in replica.replicas if r.site.name == "DST")
        assert (at_dst.num_files, at_dst.size) == (FILES, replica.size)
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when the test fails
            worker.kill()
            worker.wait()
        log.close()
