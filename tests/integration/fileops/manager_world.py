"""A small grid of posix sites in tmp_path with real files, for the manager and worker tests.

Sites: ``A`` and ``B`` (disk, each a complete replica of block ``B1``), ``T_MSS`` (emulated
tape, a complete replica too, only used when told), ``DST`` (empty disk), ``DOWN`` (WAITROOM).
Block ``B1`` of dataset ``DS`` has ``num_files`` files of distinct real content.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from dynamo.fileops.endpoints import Endpoint, Endpoints
from dynamo.fileops.subscriptions import FileRef
from dynamo.model import (
    ChangeSet,
    Inventory,
    SiteStatus,
    StorageType,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertSite,
)
from dynamo.store import SqlInventoryStore
from dynamo.store.schema.fileops import fileop_subscriptions

DS = "/Prim/Proc-v1/AOD"
BLOCK = "B1"


def content(index: int) -> bytes:
    return (f"file {index} ".encode() * (1000 + 37 * index))[: 4096 + index]


def adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def lfn(index: int) -> str:
    return f"/store/data/Proc/AOD/{index:04d}.root"


@dataclass
class World:
    store: SqlInventoryStore
    inventory: Inventory
    root: Path
    endpoints: Endpoints
    refs: list[FileRef]
    url: str

    @property
    def engine(self) -> Engine:
        return self.store.engine

    def site_file(self, site: str, index: int) -> Path:
        return self.root / site / lfn(index).lstrip("/")

    def statuses(self) -> dict[tuple[str, str, str], str]:
        s = fileop_subscriptions
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.c.kind, s.c.lfn, s.c.site, s.c.status)).all()
        return {(k, lfn_, site): status for k, lfn_, site, status in rows}


def make_world(
    url: str,
    root: Path,
    *,
    num_files: int = 3,
    holders: tuple[str, ...] = ("A", "B"),
    tape_delay: float = 0.0,
) -> World:
    store = SqlInventoryStore.open(url, upgrade=True)
    inventory = Inventory()
    data = [content(i) for i in range(num_files)]
    size = sum(len(d) for d in data)
    sites = {
        "A": (StorageType.DISK, SiteStatus.READY),
        "B": (StorageType.DISK, SiteStatus.READY),
        "T_MSS": (StorageType.MSS, SiteStatus.READY),
        "DST": (StorageType.DISK, SiteStatus.READY),
        "DOWN": (StorageType.DISK, SiteStatus.WAITROOM),
    }
    ops: list[object] = [UpsertGroup(name="AnalysisOps")]
    ops += [UpsertSite(name=n, storage_type=t, status=st) for n, (t, st) in sites.items()]
    ops += [
        UpsertDataset(name=DS),
        UpsertBlock(dataset=DS, name=BLOCK, size=size, num_files=num_files),
    ]
    ops += [
        UpsertFile(lfn=lfn(i), dataset=DS, block=BLOCK, size=len(d), adler32=adler(d))
        for i, d in enumerate(data)
    ]
    for site in holders:
        ops.append(UpsertDatasetReplica(dataset=DS, site=site, group="AnalysisOps"))
        ops.append(UpsertBlockReplica(dataset=DS, block=BLOCK, site=site, group="AnalysisOps"))
        for i, d in enumerate(data):
            path = root / site / lfn(i).lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(d)
    store.commit(ChangeSet.of(ops), inventory)  # type: ignore[arg-type]
    for site in sites:
        (root / site).mkdir(parents=True, exist_ok=True)
    endpoints = Endpoints(
        {
            site: Endpoint(
                site=site,
                url=f"file://{root / site}",
                is_tape=site == "T_MSS",
                recall_delay=tape_delay,
            )
            for site in sites
        }
    )
    refs = [
        FileRef(lfn=lfn(i), dataset=DS, block=BLOCK, size=len(d), adler32=adler(d))
        for i, d in enumerate(data)
    ]
    return World(store, inventory, root, endpoints, refs, url)


def config_text(world: World) -> str:
    """The TOML configuration of the world's endpoints (for worker subprocesses)."""
    lines = []
    for site, endpoint in world.endpoints.items():
        lines.append(f"[storage.{site}]")
        lines.append(f'url = "{endpoint.url}"')
        if endpoint.is_tape:
            lines.append("tape = true")
            lines.append(f"recall_delay = {endpoint.recall_delay}")
    return "\n".join(lines) + "\n"
