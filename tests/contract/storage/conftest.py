"""Fixtures of the storage contract suite: one ``StorageCase`` per adapter, on a real server.

Every case is a fresh, empty namespace (a new directory, bucket prefix or instance), so tests
never see each other's files. Servers are session-scoped per xdist worker; a server that does
not start makes the test fail, unless ``DYNAMO_TEST_SKIP_SERVERS=1``. gfal2 alone is skipped,
with the reason, when Debian's bindings are not importable.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from storage_cases import BACKENDS, TAPE_RECALL_DELAY, StorageCase
from storage_servers import (
    Server,
    serve,
    start_moto,
    start_wsgidav,
    start_xrootd,
)

from dynamo.storage import EmulatedTapeStorage, MemoryStorage, PosixStorage, StorageBackend


def _server(request: pytest.FixtureRequest, start: Callable[[], Server]) -> Iterator[Server]:
    yield from serve(start)


@pytest.fixture(scope="session")
def xrootd_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield from _server(request, start_xrootd)


@pytest.fixture(scope="session")
def xrootd_peer_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A second XRootD server, the other end of third-party copies."""
    yield from _server(request, lambda: start_xrootd(http=False))


@pytest.fixture(scope="session")
def moto_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield from _server(request, start_moto)


@pytest.fixture(scope="session")
def wsgidav_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield from _server(request, start_wsgidav)


_OPEN: list[StorageBackend] = []
"""Backends holding connection pools, closed after each test."""


def _unique_root() -> str:
    return f"/t-{uuid.uuid4().hex[:12]}"


def _xrootd(server: Server) -> tuple[StorageBackend, Path]:
    from dynamo.storage.xrootd import XRootDStorage

    root = _unique_root()
    XRootDStorage(f"root://127.0.0.1:{server.ports['root']}").mkdir(root)
    endpoint = f"root://127.0.0.1:{server.ports['root']}"
    return XRootDStorage(endpoint, root=root, timeout=30), server.data / root.strip("/")


def _webdav(server: Server, port_name: str = "http") -> tuple[StorageBackend, Path]:
    from dynamo.storage.http import WebDavStorage

    root = _unique_root()
    endpoint = f"http://127.0.0.1:{server.ports[port_name]}"
    maker = WebDavStorage(endpoint)
    maker.mkdir(root)
    maker.close()
    storage = WebDavStorage(endpoint, root=root, timeout=30)
    _OPEN.append(storage)
    return storage, server.data / root.strip("/")


def _s3(server: Server) -> StorageBackend:
    from dynamo.storage.s3 import S3Storage

    bucket = f"b-{uuid.uuid4().hex[:12]}"
    storage = S3Storage(
        f"http://127.0.0.1:{server.ports['http']}",
        bucket,
        access_key="testing",
        secret_key="testing",
        region="us-east-1",
    )
    storage.create_bucket()
    return storage


def _gfal2(server: Server) -> tuple[StorageBackend, Path]:
    from dynamo.storage.gfal import GfalStorage

    root = _unique_root()
    base = f"root://127.0.0.1:{server.ports['root']}/"
    GfalStorage(base).mkdir(root)
    return GfalStorage(base, root=root), server.data / root.strip("/")


@pytest.fixture(params=BACKENDS)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageCase]:
    yield _case(request, tmp_path)
    while _OPEN:
        closer = getattr(_OPEN.pop(), "close", None)
        if closer is not None:
            closer()


def _case(request: pytest.FixtureRequest, tmp_path: Path) -> StorageCase:
    name = str(request.param)
    if name == "memory":
        return StorageCase(name, MemoryStorage("a"), lambda: MemoryStorage("b"))
    if name == "posix":
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        return StorageCase(
            name, PosixStorage(tmp_path / "a"), lambda: PosixStorage(tmp_path / "b"), tmp_path / "a"
        )
    if name == "tape":
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        return StorageCase(
            name,
            EmulatedTapeStorage(tmp_path / "a", recall_delay=TAPE_RECALL_DELAY),
            lambda: EmulatedTapeStorage(tmp_path / "b", recall_delay=TAPE_RECALL_DELAY),
            None,  # files seeded behind its back would be nearline
        )
    if name == "xrootd":
        server = request.getfixturevalue("xrootd_server")
        storage, data = _xrootd(server)
        peer_server = request.getfixturevalue("xrootd_peer_server")
        return StorageCase(name, storage, lambda: _xrootd(peer_server)[0], data)
    if name.startswith("webdav"):
        fixture = "xrootd_server" if name.endswith("xrdhttp") else "wsgidav_server"
        server = request.getfixturevalue(fixture)
        storage, data = _webdav(server)
        return StorageCase(name, storage, lambda: _webdav(server)[0], data)
    if name == "s3":
        server = request.getfixturevalue("moto_server")
        return StorageCase(name, _s3(server), lambda: _s3(server))
    if name == "gfal2":
        if importlib.util.find_spec("gfal2") is None:
            pytest.skip("Debian's gfal2 bindings (python3-gfal2) are not importable here")
        server = request.getfixturevalue("xrootd_server")
        storage, data = _gfal2(server)
        peer_server = request.getfixturevalue("xrootd_peer_server")
        return StorageCase(name, storage, lambda: _gfal2(peer_server)[0], data)
    raise AssertionError(name)
