"""File operations end to end, with real servers: a dataset at an XRootD site is copied to a
WebDAV site and a posix site by the manager, the standalone worker and the updater; the
replicas become complete in the inventory; a deletion removes the files; a source that refuses
connections is given up for another; a corrupted source is caught by its checksum and nothing
of it is registered.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from contract.storage.storage_servers import Server, free_port, serve, start_wsgidav, start_xrootd
from dynamo.fileops.endpoints import Endpoint, Endpoints
from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import subscribe_block
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
from dynamo.storage import adler32_file
from dynamo.store import SqlInventoryStore
from dynamo.store.schema.fileops import fileop_failures, fileop_subscriptions
from fileops_rounds import fileops_round, unique_root

DATASET = "/ZeroBias/Run2018D-PromptReco-v2/AOD"
GOOD, BAD = "b-good", "b-bad"
NOW = 1_800_000_000


def _lfn(block: str, index: int) -> str:
    return f"/store/data/Run2018D/ZeroBias/AOD/PromptReco-v2/000/{block}/{index:03d}.root"


def _content(block: str, index: int) -> bytes:
    return (f"{block}:{index} ".encode() * 5000)[: 40_000 + index]


def _adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


@pytest.fixture(scope="module")
def xrootd() -> Iterator[Server]:
    yield from serve(lambda: start_xrootd(http=False))


@pytest.fixture(scope="module")
def wsgidav() -> Iterator[Server]:
    yield from serve(start_wsgidav)


@dataclass
class Grid:
    store: SqlInventoryStore
    endpoints: Endpoints
    posix: Path
    dav_data: Path

    def cycle(self, rounds: int = 8) -> None:
        """Manager, worker and updater, ``rounds`` times."""
        inventory = self.store.load()[0]
        for step in range(rounds):
            now = NOW + 10 * step
            fileops_round(self.store, inventory, self.endpoints, now, seed=3)


@pytest.fixture
def grid(tmp_path: Path, xrootd: Server, wsgidav: Server) -> Iterator[Grid]:
    from dynamo.storage.http import WebDavStorage
    from dynamo.storage.xrootd import XRootDStorage

    xrd_url = f"root://127.0.0.1:{xrootd.ports['root']}"
    xrd_root = unique_root(XRootDStorage(xrd_url), "xrd")
    dav_url = f"http://127.0.0.1:{wsgidav.ports['http']}"
    maker = WebDavStorage(dav_url)
    dav_root = unique_root(maker, "dav")
    maker.close()
    closed = free_port()  # nothing listens there: a source that refuses connections
    endpoints = Endpoints(
        {
            "T1_US_FNAL_Disk": Endpoint(site="T1_US_FNAL_Disk", url=xrd_url + xrd_root),
            "T2_DE_DESY": Endpoint(site="T2_DE_DESY", url=dav_url + dav_root),
            "T2_US_MIT": Endpoint(site="T2_US_MIT", url=f"file://{tmp_path / 'mit'}"),
            "T2_IT_Down": Endpoint(site="T2_IT_Down", url=f"root://127.0.0.1:{closed}/x"),
            "T2_FR_Corrupt": Endpoint(site="T2_FR_Corrupt", url=f"file://{tmp_path / 'bad'}"),
        }
    )
    (tmp_path / "mit").mkdir()
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/inv.sqlite", upgrade=True)
    ops: list[Operation] = [UpsertGroup(name="AnalysisOps")]
    ops += [UpsertSite(name=site) for site in endpoints]
    ops.append(UpsertDataset(name=DATASET))
    sources = {GOOD: ("T1_US_FNAL_Disk", "T2_IT_Down"), BAD: ("T2_FR_Corrupt",)}
    for block, holders in sources.items():
        data = [_content(block, i) for i in range(3)]
        ops.append(UpsertBlock(dataset=DATASET, name=block, size=sum(map(len, data)), num_files=3))
        ops += [
            UpsertFile(
                lfn=_lfn(block, i), dataset=DATASET, block=block, size=len(d), adler32=_adler(d)
            )
            for i, d in enumerate(data)
        ]
        for site in holders:
            ops.append(UpsertDatasetReplica(dataset=DATASET, site=site, group="AnalysisOps"))
            ops.append(UpsertBlockReplica(dataset=DATASET, block=block, site=site))
        for i, d in enumerate(data):
            local = tmp_path / "upload"
            local.write_bytes(d if block == GOOD else d[:-1] + b"!")  # corrupted at the end
            storage = endpoints[holders[0]].storage
            storage.upload(local, _lfn(block, i))
    for site in ("T2_DE_DESY", "T2_US_MIT"):  # what a Dealer cycle would create
        ops.append(UpsertDatasetReplica(dataset=DATASET, site=site, group="AnalysisOps"))
        for block in (GOOD, BAD):
            ops.append(
                UpsertBlockReplica(
                    dataset=DATASET,
                    block=block,
                    site=site,
                    group="AnalysisOps",
                    size=0,
                    num_files=0,
                )
            )
    inventory = store.load()[0]
    store.commit(ChangeSet.of(ops), inventory)
    with store.engine.begin() as conn:
        for site in ("T2_DE_DESY", "T2_US_MIT"):
            for block in (GOOD, BAD):
                subscribe_block(conn, OpKind.TRANSFER, DATASET, block, site, origin="e2e", now=NOW)
    yield Grid(store, endpoints, tmp_path / "mit", wsgidav.data / dav_root.strip("/"))
    store.close()


def test_copies_arrive_complete_and_a_deletion_removes_them(grid: Grid) -> None:
    grid.cycle()
    inventory = grid.store.load()[0]
    for site, root in (("T2_DE_DESY", grid.dav_data), ("T2_US_MIT", grid.posix)):
        for index in range(3):
            arrived = root / _lfn(GOOD, index).lstrip("/")
            assert arrived.read_bytes() == _content(GOOD, index)
            assert adler32_file(arrived) == _adler(_content(GOOD, index))
        good = inventory.find_block_replica(DATASET, GOOD, site)
        assert good is not None
        assert good.is_complete()
        # the corrupted source was refused by checksum: nothing of it arrived or is registered
        bad = inventory.find_block_replica(DATASET, BAD, site)
        assert bad is not None
        assert (bad.num_files, bad.size) == (0, 0)
        assert not (root / _lfn(BAD, 0).lstrip("/")).exists()
    subs = fileop_subscriptions
    with grid.store.engine.connect() as conn:
        held = conn.execute(
            select(subs.c.lfn, subs.c.hold_reason).where(subs.c.status == "held")
        ).all()
        failures = conn.execute(select(fileop_failures.c.source_site)).scalars().all()
    assert {lfn for lfn, _ in held} == {_lfn(BAD, i) for i in range(3)}
    assert {reason for _, reason in held} == {"all_failed"}
    # every failure came from the corrupted source or the one refusing connections
    assert set(failures) <= {"T2_FR_Corrupt", "T2_IT_Down"}

    with grid.store.engine.begin() as conn:
        subscribe_block(conn, OpKind.DELETION, DATASET, GOOD, "T2_US_MIT", origin="e2e", now=NOW)
    grid.cycle()
    inventory = grid.store.load()[0]
    assert inventory.find_block_replica(DATASET, GOOD, "T2_US_MIT") is None
    for index in range(3):
        assert not (grid.posix / _lfn(GOOD, index).lstrip("/")).exists()
        assert (grid.dav_data / _lfn(GOOD, index).lstrip("/")).exists()
