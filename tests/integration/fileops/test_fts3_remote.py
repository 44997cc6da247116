"""The FTS3 backend moving files to real storage servers (wsgidav WebDAV, XRootD) through the
FTS3 test double; the servers are those of the storage contract suite, on free high ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import pki
from contract.storage.storage_servers import Server, serve, start_wsgidav, start_xrootd
from dynamo.fileops.fts3 import Fts3Backend
from dynamo.fileops.fts3_client import Fts3Client
from dynamo.fileops.ports import TaskStatus
from dynamo.storage import PosixStorage, StorageBackend
from fts3_server import Fts3TestServer
from fts3_server.batches import adler32, make_batch, seed, submitted, transfer_task, wait_results


@pytest.fixture(scope="module")
def wsgidav() -> Iterator[Server]:
    yield from serve(start_wsgidav)


@pytest.fixture(scope="module")
def xrootd() -> Iterator[Server]:
    yield from serve(lambda: start_xrootd(http=False))


def _webdav_storage(server: Server) -> tuple[StorageBackend, Path]:
    from dynamo.storage.http import WebDavStorage

    root = f"/fts-{uuid.uuid4().hex[:12]}"
    endpoint = f"http://127.0.0.1:{server.ports['http']}"
    maker = WebDavStorage(endpoint)
    try:
        maker.mkdir(root)
    finally:
        maker.close()
    return WebDavStorage(endpoint, root=root, timeout=30), server.data / root.strip("/")


def _xrootd_storage(server: Server) -> tuple[StorageBackend, Path]:
    from dynamo.storage.xrootd import XRootDStorage

    root = f"/fts-{uuid.uuid4().hex[:12]}"
    endpoint = f"root://127.0.0.1:{server.ports['root']}"
    XRootDStorage(endpoint).mkdir(root)
    return XRootDStorage(endpoint, root=root, timeout=30), server.data / root.strip("/")


@pytest.mark.parametrize("kind", ["webdav", "xrootd"])
def test_a_transfer_to_a_remote_storage_server_lands_with_its_checksum(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if kind == "webdav":
        target, data_dir = _webdav_storage(request.getfixturevalue("wsgidav"))
    else:
        target, data_dir = _xrootd_storage(request.getfixturevalue("xrootd"))
    (tmp_path / "a").mkdir()
    source = PosixStorage(tmp_path / "a")
    grid = pki.build_pki(tmp_path / "pki")
    contents = {"/store/r1.root": b"remote one" * 300, "/store/sub/r2.root": b"remote two"}
    tasks = []
    for i, (path, data) in enumerate(contents.items(), start=1):
        seed(tmp_path / "a", path, data)
        tasks.append(transfer_task(i, source, target, path, data))
    try:
        with (
            Fts3TestServer([source, target], grid) as server,
            Fts3Client(
                server.url, cert=grid.proxies["alice"].cert_path, ca_dir=grid.ca_dir
            ) as client,
        ):
            backend = Fts3Backend(client=client)
            results = wait_results(backend, submitted(backend, make_batch(tasks)))
        assert {r.status for r in results.values()} == {TaskStatus.DONE}, results
        for path, data in contents.items():
            assert (data_dir / path.lstrip("/")).read_bytes() == data
            assert target.checksum(path) == adler32(data)
    finally:
        close = getattr(target, "close", None)
        if close is not None:
            close()
