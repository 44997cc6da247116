"""A small fluent builder of in-memory inventories for policy tests (through ChangeSets only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dynamo.model import (
    ChangeSet,
    DatasetReplica,
    DatasetStatus,
    Inventory,
    Operation,
    SetQuota,
    SiteStatus,
    StorageType,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertGroup,
    UpsertSite,
)
from dynamo.policy import load_partitions, partition_compiler

NOW = 1_700_000_000  # 2023-11-14T22:13:20Z
DAY = 86_400
GB = 10**9
FIXTURES = Path(__file__).parents[2] / "fixtures" / "policies"
POLICIES = FIXTURES / "dynamo-policies"
PARTITIONS = POLICIES / "partitions.txt"


def block_name(dataset: str, index: int) -> str:
    return f"{abs(hash(dataset)) % 10**8:08d}-0000-0000-0000-{index:012d}"


@dataclass
class Builder:
    """Collects operations; :meth:`build` applies them to a fresh inventory with CMS partitions."""

    ops: list[Operation] = field(default_factory=list)
    blocks: dict[str, int] = field(default_factory=dict)

    def site(
        self, name: str, *, mss: bool = False, status: SiteStatus = SiteStatus.READY
    ) -> Builder:
        kind = StorageType.MSS if mss else StorageType.DISK
        self.ops.append(UpsertSite(name=name, storage_type=kind, status=status))
        return self

    def group(self, *names: str) -> Builder:
        self.ops += [UpsertGroup(name=name) for name in names]
        return self

    def dataset(
        self,
        name: str,
        *,
        blocks: int = 2,
        age_days: float = 400,
        status: DatasetStatus = DatasetStatus.VALID,
        block_size: int = GB,
    ) -> Builder:
        self.ops.append(
            UpsertDataset(name=name, status=status, last_update=NOW - int(age_days * DAY))
        )
        for index in range(blocks):
            self.ops.append(
                UpsertBlock(
                    dataset=name,
                    name=block_name(name, index),
                    size=block_size,
                    num_files=10,
                    last_update=NOW - int(age_days * DAY),
                )
            )
        self.blocks[name] = blocks
        return self

    def replica(
        self,
        dataset: str,
        site: str,
        group: str | None = "AnalysisOps",
        *,
        blocks: list[int] | None = None,
        owners: dict[int, str | None] | None = None,
        incomplete: tuple[int, ...] = (),
        age_days: float = 300,
        block_ages: dict[int, float] | None = None,
    ) -> Builder:
        self.ops.append(UpsertDatasetReplica(dataset=dataset, site=site, group=group))
        for index in blocks if blocks is not None else range(self.blocks[dataset]):
            age = (block_ages or {}).get(index, age_days)
            self.ops.append(
                UpsertBlockReplica(
                    dataset=dataset,
                    block=block_name(dataset, index),
                    site=site,
                    group=(owners or {}).get(index, group),
                    size=GB // 2 if index in incomplete else None,
                    num_files=5 if index in incomplete else None,
                    last_update=NOW - int(age * DAY),
                )
            )
        return self

    def quota(self, site: str, partition: str, quota: int) -> Builder:
        self.ops.append(SetQuota(site=site, partition=partition, quota=quota))
        return self

    def build(self) -> Inventory:
        inventory = Inventory(partition_compiler=partition_compiler(now=NOW))
        partitions = load_partitions(PARTITIONS.read_text(), file=str(PARTITIONS))
        groups = ["AnalysisOps", "DataOps", "RelVal", "express"]
        head = [UpsertGroup(name=name) for name in groups]
        # the model does not accept names with spaces yet: CMS's "IB RelVal" is left out
        defined = [op for op in partitions.ops if " " not in op.name]  # type: ignore[attr-defined]
        inventory.apply(ChangeSet.of([*head, *defined]))
        inventory.apply(ChangeSet.of(self.ops))
        return inventory


def replica_of(inventory: Inventory, dataset: str, site: str) -> DatasetReplica:
    return inventory.sites[site].dataset_replicas[inventory.datasets[dataset]]
