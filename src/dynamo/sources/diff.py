"""The sync planner: a source's Snapshot versus the Inventory, as one ChangeSet plus conflicts.

Pure: no I/O, no clock. Rules (``docs/sources.md``, "Conflicts"):

- Records are whole: a listed dataset's unlisted blocks go, a listed replica's unlisted block
  replicas go. A *full* sync also removes, by absence, datasets (section ``datasets``) and
  replicas at the sites the source covers (section ``replicas``); an *incremental* sync removes
  only what ``deleted`` names. Sites and groups are never deleted by a sync.
- A dataset deleted upstream that still has replicas is marked DELETED and kept with its
  replicas, for Detox's ``Delete`` lines (``dataset_deleted_with_replicas``); a block likewise
  is kept (``block_deleted_with_replicas``). Without replicas both are deleted.
- A complete replica Dynamo holds that a full sync does not list is deleted
  (``replica_missing_upstream``); an incomplete one is a transfer in flight and kept
  (``transfer_not_upstream``).
- Ownership is Dynamo's: an existing replica keeps its group (``group_differs``), so data
  Detox gave to the null group is never revived, and its new block replicas take its group;
  new replicas take the source's group, or ``default_group`` (created if need be).
- A replica of an unknown dataset, block or site, or a quota of an unknown partition, is
  skipped (``unknown_dataset``, ``unknown_block``, ``unknown_site``, ``unknown_partition``).
- A site Dynamo has that the source no longer lists is kept (``site_missing_upstream``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dynamo.model import (
    BlockReplica,
    ChangeSet,
    Dataset,
    DatasetReplica,
    DatasetStatus,
    DeleteBlock,
    DeleteBlockReplica,
    DeleteDataset,
    DeleteDatasetReplica,
    DeleteFile,
    FileCatalog,
    Inventory,
    Operation,
    SetQuota,
    Site,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertSite,
)
from dynamo.sources.records import (
    Snapshot,
    SourceBlock,
    SourceBlockReplica,
    SourceDataset,
    SourceReplica,
)

__all__ = ["Conflict", "SyncPlan", "plan_sync"]


@dataclass(frozen=True, slots=True)
class Conflict:
    """A disagreement between the source and Dynamo, and how the sync resolved it."""

    kind: str
    subject: str
    resolution: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "resolution": self.resolution}


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """The ChangeSet a sync commits (whole or not at all) and the conflicts it met."""

    changeset: ChangeSet
    conflicts: tuple[Conflict, ...]
    full: bool
    as_of: int
    whole: frozenset[str] = frozenset()  # the sections read whole (deleting by absence)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(op.kind for op in self.changeset.ops).items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": "full" if self.full else "incremental",
            "whole_sections": sorted(self.whole),
            "as_of": self.as_of,
            "operations": len(self.changeset),
            "counts": self.counts(),
            "conflicts": [c.to_json() for c in self.conflicts],
        }


def plan_sync(
    inventory: Inventory,
    snapshot: Snapshot,
    *,
    full: bool,
    files: FileCatalog | None = None,
    default_group: str | None = None,
) -> SyncPlan:
    """The ChangeSet that brings ``inventory`` to the source's view, by the module's rules.

    ``files`` (the store's catalog) lets a changed block's file list be compared; without it
    the listed files are upserted and none are deleted.
    """
    planner = _Planner(inventory, snapshot, full, files, default_group)
    planner.plan()
    return SyncPlan(
        ChangeSet.of(planner.upserts + planner.deletes),
        tuple(planner.conflicts),
        full,
        snapshot.as_of,
        frozenset(snapshot.sections if full else snapshot.whole),
    )


@dataclass
class _Planner:
    inventory: Inventory
    snapshot: Snapshot
    full: bool
    files: FileCatalog | None
    default_group: str | None
    upserts: list[Operation] = field(default_factory=list)
    deletes: list[Operation] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    blocks: dict[str, set[str]] = field(default_factory=dict)  # dataset -> block names, after
    gone: set[str] = field(default_factory=set)  # datasets deleted upstream
    sites: set[str] = field(default_factory=set)  # sites known after the sync
    new_groups: set[str] = field(default_factory=set)  # groups the plan creates

    def whole(self, section: str) -> bool:
        """Whether ``section`` is the source's whole view (deletions by absence apply)."""
        in_snapshot = section in self.snapshot.sections
        return in_snapshot and (self.full or section in self.snapshot.whole)

    def conflict(self, kind: str, subject: str, resolution: str) -> None:
        self.conflicts.append(Conflict(kind, subject, resolution))

    def plan(self) -> None:
        self.plan_groups()
        self.plan_sites()
        self.plan_catalog()
        self.plan_replicas()

    # groups and sites: upserted, never deleted

    def ensure_group(self, name: str | None) -> None:
        """Create the group a new replica is given, unless it exists or is created already."""
        if name is None or name in self.inventory.groups or name in self.new_groups:
            return
        self.new_groups.add(name)
        self.upserts.insert(0, UpsertGroup(name=name))

    def plan_groups(self) -> None:
        for group in self.snapshot.groups:
            known = self.inventory.groups.get(group.name)
            if known is None or known.olevel != group.olevel:
                self.upserts.append(UpsertGroup(name=group.name, olevel=group.olevel))
                self.new_groups.add(group.name)

    def plan_sites(self) -> None:
        self.sites = set(self.inventory.sites)
        for site in self.snapshot.sites:
            op = UpsertSite(
                name=site.name,
                host=site.host,
                storage_type=site.storage_type,
                backend=site.backend,
                status=site.status,
            )
            known = self.inventory.sites.get(site.name)
            if known is None or _site_op(known) != op:
                self.upserts.append(op)
            self.sites.add(site.name)
            for partition, quota in site.quotas:
                self.plan_quota(site.name, partition, quota)
        if self.whole("sites"):
            listed = {site.name for site in self.snapshot.sites}
            for name in sorted(set(self.inventory.sites) - listed):
                self.conflict("site_missing_upstream", name, "kept")

    def plan_quota(self, site: str, partition: str, quota: int) -> None:
        if partition not in self.inventory.partitions:
            self.conflict("unknown_partition", f"{site}:{partition}", "quota skipped")
            return
        known = self.inventory.sites.get(site)
        current = None
        if known is not None:
            share = known.partitions.get(self.inventory.partitions[partition])
            current = None if share is None else share.quota
        if current != quota:
            self.upserts.append(SetQuota(site=site, partition=partition, quota=quota))

    # the catalog: datasets, blocks, files

    def plan_catalog(self) -> None:
        self.blocks = {
            name: {block.name for block in dataset.blocks.values()}
            for name, dataset in self.inventory.datasets.items()
        }
        for dataset in self.snapshot.datasets:
            self.plan_dataset(dataset)
        doomed = set(self.snapshot.deleted.datasets)
        if self.whole("datasets"):
            listed = {dataset.name for dataset in self.snapshot.datasets}
            doomed |= set(self.inventory.datasets) - listed
        elif self.snapshot.dataset_names is not None:
            doomed |= set(self.inventory.datasets) - self.snapshot.dataset_names
        for name in sorted(doomed):
            self.delete_dataset(name)
        for dataset_name, block_name in self.snapshot.deleted.blocks:
            resident = self.inventory.datasets.get(dataset_name)
            if resident is not None and resident.find_block(block_name) is not None:
                self.delete_block(resident, block_name)

    def plan_dataset(self, source: SourceDataset) -> None:
        op = UpsertDataset(
            name=source.name,
            status=source.status,
            data_type=source.data_type,
            software_version=source.software_version,
            last_update=source.last_update,
            is_open=source.is_open,
        )
        known = self.inventory.datasets.get(source.name)
        if known is None or _dataset_op(known) != op:
            self.upserts.append(op)
        for block in source.blocks:
            self.plan_block(known, source.name, block)
        listed = {block.name for block in source.blocks}
        self.blocks[source.name] = set(listed)
        if known is not None:
            for name in sorted(b.name for b in known.blocks.values()):
                if name not in listed:
                    self.delete_block(known, name)

    def plan_block(self, dataset: Dataset | None, dataset_name: str, source: SourceBlock) -> None:
        op = UpsertBlock(
            dataset=dataset_name,
            name=source.name,
            size=source.size,
            num_files=source.num_files,
            is_open=source.is_open,
            last_update=source.last_update,
        )
        known = None if dataset is None else dataset.find_block(source.name)
        if known is not None and (
            known.size,
            known.num_files,
            known.is_open,
            known.last_update,
        ) == (op.size, op.num_files, op.is_open, op.last_update):
            return
        self.upserts.append(op)
        stale: set[str] = set()
        if known is not None and self.files is not None and source.files:
            old = {f.lfn: f for f in self.files.files_of(known)}
            stale = set(old) - {f.lfn for f in source.files}
            self.deletes.extend(DeleteFile(lfn=lfn) for lfn in sorted(stale))
        for file in source.files:
            self.upserts.append(
                UpsertFile(
                    lfn=file.lfn,
                    dataset=dataset_name,
                    block=source.name,
                    size=file.size,
                    adler32=file.adler32,
                )
            )

    def delete_dataset(self, name: str) -> None:
        dataset = self.inventory.datasets.get(name)
        if dataset is None:
            return
        self.gone.add(name)
        if not dataset.replicas:
            self.deletes.append(DeleteDataset(name=name))
            return
        sites = ", ".join(sorted(site.name for site in dataset.replicas))
        self.conflict(
            "dataset_deleted_with_replicas",
            name,
            f"marked DELETED; replicas at {sites} left for Detox",
        )
        if dataset.status != DatasetStatus.DELETED:
            op = _dataset_op(dataset)
            self.upserts.append(
                UpsertDataset(
                    name=name,
                    status=DatasetStatus.DELETED,
                    data_type=op.data_type,
                    software_version=op.software_version,
                    last_update=op.last_update,
                    is_open=False,
                )
            )

    def delete_block(self, dataset: Dataset, name: str) -> None:
        block = dataset.find_block(name)
        assert block is not None
        if block.replicas:
            self.blocks.setdefault(dataset.name, set()).add(name)
            sites = ", ".join(sorted(r.site.name for r in block.replicas))
            self.conflict(
                "block_deleted_with_replicas",
                block.full_name,
                f"kept; replicas at {sites} left for Detox",
            )
            return
        self.blocks.get(dataset.name, set()).discard(name)
        self.deletes.append(DeleteBlock(dataset=dataset.name, name=name))

    # replicas

    def plan_replicas(self) -> None:
        listed: set[tuple[str, str]] = set()
        for replica in self.snapshot.replicas:
            listed.add((replica.dataset, replica.site))
            self.plan_replica(replica)
        doomed = set(self.snapshot.deleted.replicas)
        if self.whole("replicas"):
            covered = {site.name for site in self.snapshot.sites} | {s for _, s in listed}
            for known in self.inventory.iter_dataset_replicas():
                key = (known.dataset.name, known.site.name)
                if key[1] in covered and key not in listed and key[0] not in self.gone:
                    self.drop_absent(list(known.block_replicas.values()), whole=True)
        for dataset, site in sorted(doomed):
            if _dataset_replica(self.inventory, dataset, site) is not None:
                self.deletes.append(DeleteDatasetReplica(dataset=dataset, site=site))
        for dataset, block, site in self.snapshot.deleted.block_replicas:
            if (dataset, site) in doomed:
                continue
            if self.inventory.find_block_replica(dataset, block, site) is not None:
                self.deletes.append(DeleteBlockReplica(dataset=dataset, block=block, site=site))

    def plan_replica(self, source: SourceReplica) -> None:
        subject = f"{source.dataset}@{source.site}"
        if source.dataset in self.gone:
            return  # the dataset's deletion upstream is the conflict already reported
        blocks = self.blocks.get(source.dataset)
        if blocks is None:
            self.conflict("unknown_dataset", subject, "replica skipped")
            return
        if source.site not in self.sites:
            self.conflict("unknown_site", subject, "replica skipped")
            return
        known = _dataset_replica(self.inventory, source.dataset, source.site)
        group = source.group if source.group is not None else self.default_group
        if known is None:
            self.ensure_group(group)
            self.upserts.append(
                UpsertDatasetReplica(dataset=source.dataset, site=source.site, group=group)
            )
        else:
            if source.group is not None and known.group.name != source.group:
                self.conflict("group_differs", subject, f"Dynamo's group {known.group.name} kept")
            group = known.group.name  # new blocks of a replica Dynamo has take its group
        parts = source.blocks
        if parts is None:
            parts = tuple(SourceBlockReplica(block=name) for name in sorted(blocks))
        present: set[str] = set()
        for part in parts:
            if part.block not in blocks:
                self.conflict(
                    "unknown_block",
                    f"{source.dataset}#{part.block}@{source.site}",
                    "block replica skipped",
                )
                continue
            present.add(part.block)
            self.plan_block_replica(source, part, group)
        if known is not None:
            absent = [r for b, r in known.block_replicas.items() if b.name not in present]
            self.drop_absent(absent, whole=not present)

    def plan_block_replica(
        self, source: SourceReplica, part: SourceBlockReplica, group: str | None
    ) -> None:
        known = self.inventory.find_block_replica(source.dataset, part.block, source.site)
        block = self.inventory.find_block(source.dataset, part.block)
        op = UpsertBlockReplica(
            dataset=source.dataset,
            block=part.block,
            site=source.site,
            group=group if known is None else known.group.name,
            is_custodial=part.is_custodial,
            size=part.size,
            num_files=part.num_files,
            last_update=part.last_update,
        )
        if known is not None and block is not None and _same_replica(known, op):
            return
        self.upserts.append(op)

    def drop_absent(self, absent: Iterable[BlockReplica], *, whole: bool) -> None:
        """Block replicas Dynamo holds that the source does not list, by the module's rule."""
        kept = False
        doomed: list[BlockReplica] = []
        for replica in absent:
            subject = f"{replica.block.full_name}@{replica.site.name}"
            if replica.is_complete() or replica.group.name is None:
                doomed.append(replica)
                if replica.group.name is not None:
                    self.conflict("replica_missing_upstream", subject, "deleted")
            else:
                kept = True
                self.conflict("transfer_not_upstream", subject, "kept: a transfer in flight")
        if whole and not kept and doomed:
            first = doomed[0]
            self.deletes.append(
                DeleteDatasetReplica(dataset=first.dataset.name, site=first.site.name)
            )
            return
        self.deletes.extend(
            DeleteBlockReplica(dataset=r.dataset.name, block=r.block.name, site=r.site.name)
            for r in doomed
        )


def _dataset_replica(inventory: Inventory, dataset: str, site: str) -> DatasetReplica | None:
    known = inventory.datasets.get(dataset)
    where = inventory.sites.get(site)
    return None if known is None or where is None else known.replicas.get(where)


def _site_op(site: Site) -> UpsertSite:
    return UpsertSite(
        name=site.name,
        host=site.host,
        storage_type=site.storage_type,
        backend=site.backend,
        status=site.status,
    )


def _dataset_op(dataset: Dataset) -> UpsertDataset:
    return UpsertDataset(
        name=dataset.name,
        status=dataset.status,
        data_type=dataset.data_type,
        software_version=dataset.software_version,
        last_update=dataset.last_update,
        is_open=dataset.is_open,
    )


def _same_replica(known: BlockReplica, op: UpsertBlockReplica) -> bool:
    size = known.block.size if op.size is None else op.size
    num_files = known.block.num_files if op.num_files is None else op.num_files
    return (known.size, known.num_files, known.is_custodial, known.last_update) == (
        size,
        num_files,
        op.is_custodial,
        op.last_update,
    )
