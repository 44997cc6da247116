"""An XRootD server for the consistency tests (the storage contract suite's, on a free port)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.storage.storage_servers import Server, serve, start_xrootd
from dynamo.storage import StorageBackend


@pytest.fixture(scope="module")
def xrootd() -> Iterator[Server]:
    yield from serve(lambda: start_xrootd(http=False))


@pytest.fixture
def xrootd_site(xrootd: Server) -> tuple[StorageBackend, Path]:
    """A fresh namespace on the server: the backend rooted there, and its directory on disk."""
    from dynamo.storage.xrootd import XRootDStorage

    root = f"/site-{uuid.uuid4().hex[:12]}"
    endpoint = f"root://127.0.0.1:{xrootd.ports['root']}"
    XRootDStorage(endpoint).mkdir(root)
    return XRootDStorage(endpoint, root=root, timeout=30), xrootd.data / root.strip("/")
