"""The resident domain objects: groups, sites, partitions, datasets, blocks and their replicas.

The objects form one graph that only :class:`dynamo.model.Inventory` links and unlinks; code
outside the model reads them and never assigns their attributes. Equality and hashing follow the
natural key (dataset name; dataset and block name; site name; ...), not identity, so that a
transient copy compares equal to the resident object it describes.

Memory matters: a CMS-scale inventory holds ~13M of these objects, so every class is slotted,
containers are created per object only where lookups need them, and block names that are
canonical UUIDs are held as 128-bit ints. Times are int seconds since the Unix epoch (UTC);
sizes are int bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from dynamo.model.enums import DatasetStatus, DataType, GroupLevel, SiteStatus, StorageType

__all__ = [
    "Block",
    "BlockReplica",
    "Dataset",
    "DatasetReplica",
    "File",
    "Group",
    "Partition",
    "Site",
    "SitePartition",
    "decode_block_name",
    "encode_block_name",
]


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@lru_cache(maxsize=1 << 16)
def encode_block_name(name: str) -> int | str:
    """The compact resident form of a block name: a canonical UUID becomes its 128-bit int.

    Only the canonical spelling (lowercase, hyphenated) is converted, so decoding gives back
    exactly the name that was encoded. Cached: a ChangeSet names a block once per file.
    """
    if len(name) == 36 and _CANONICAL_UUID.fullmatch(name):
        return int(name.replace("-", ""), 16)
    return name


def decode_block_name(encoded: int | str) -> str:
    """Inverse of :func:`encode_block_name`."""
    if isinstance(encoded, int):
        h = f"{encoded:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return encoded


@dataclass(slots=True, kw_only=True, eq=False)
class Group:
    """An owner of replicas. The null group (``name is None``) owns data that is being deleted."""

    name: str | None
    olevel: GroupLevel = GroupLevel.BLOCK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Group) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Group({self.name!r})"


@dataclass(slots=True, kw_only=True, eq=False)
class Partition:
    """A named subset of block replicas, defined by a condition or as a union of partitions.

    ``condition_text`` is the definition as written in the partitions file; ``predicate`` is its
    compiled form, supplied by the policy layer (the model does not parse conditions).
    ``index`` is the partition's bit in :attr:`BlockReplica.partition_mask`.
    """

    name: str
    index: int
    condition_text: str | None = None
    predicate: Callable[[BlockReplica], bool] | None = None
    subpartitions: tuple[Partition, ...] = ()

    @property
    def is_super(self) -> bool:
        return bool(self.subpartitions)

    @property
    def bit(self) -> int:
        return 1 << self.index

    def contains(self, replica: BlockReplica) -> bool:
        """Whether the block replica is in this partition, as last computed by the inventory."""
        return bool(replica.partition_mask & self.bit)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Partition) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Partition({self.name!r})"


@dataclass(slots=True, kw_only=True, eq=False)
class Site:
    """A storage site (a PhEDEx node in CMS terms): disk, tape (MSS) or buffer."""

    name: str
    host: str = ""
    storage_type: StorageType = StorageType.DISK
    backend: str = ""
    status: SiteStatus = SiteStatus.READY
    partitions: dict[Partition, SitePartition] = field(default_factory=dict, repr=False)
    dataset_replicas: dict[Dataset, DatasetReplica] = field(default_factory=dict, repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Site) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Site({self.name!r})"

    def find_dataset_replica(self, dataset: Dataset) -> DatasetReplica | None:
        return self.dataset_replicas.get(dataset)

    def iter_block_replicas(self) -> Iterator[BlockReplica]:
        for dataset_replica in self.dataset_replicas.values():
            yield from dataset_replica.block_replicas.values()


@dataclass(slots=True, kw_only=True, eq=False)
class SitePartition:
    """The share of a site given to a partition: a quota and the usage it carries.

    ``quota`` is in bytes; 0 means no space, a negative value means unlimited. The usage counters
    are kept up to date by the inventory on every replica change: ``physical_bytes`` sums the
    sizes present at the site, ``projected_bytes`` the full sizes of the blocks once complete.
    A superpartition's quota is the sum of its subpartitions' quotas.
    """

    site: Site
    partition: Partition
    quota: int = 0
    physical_bytes: int = 0
    projected_bytes: int = 0

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SitePartition)
            and other.site == self.site
            and other.partition == self.partition
        )

    def __hash__(self) -> int:
        return hash((self.site.name, self.partition.name))

    def __repr__(self) -> str:
        return f"SitePartition({self.site.name!r}, {self.partition.name!r})"

    def effective_quota(self) -> int:
        """The quota in bytes; for a superpartition, the sum of its subpartitions' quotas."""
        if not self.partition.is_super:
            return self.quota
        total = 0
        for sub in self.partition.subpartitions:
            sub_quota = self.site.partitions[sub].effective_quota()
            if sub_quota < 0:
                return -1
            total += sub_quota
        return total

    def occupancy(self, *, physical: bool = True) -> float:
        """Used fraction of the quota: infinite for a zero quota, 0 for an unlimited one."""
        quota = self.effective_quota()
        used = self.physical_bytes if physical else self.projected_bytes
        if quota < 0:
            return 0.0
        if quota == 0:
            return float("inf") if used > 0 else 0.0
        return used / quota


@dataclass(slots=True, kw_only=True, eq=False)
class Dataset:
    """A named collection of blocks of files sharing metadata (CMS: ``/Primary/Processed/TIER``).

    ``size`` and ``num_files`` are the sums over the blocks, kept by the inventory.
    """

    name: str
    status: DatasetStatus = DatasetStatus.VALID
    data_type: DataType = DataType.UNKNOWN
    software_version: tuple[int, int, int, str] | None = None
    last_update: int = 0
    is_open: bool = True
    size: int = 0
    num_files: int = 0
    blocks: dict[int | str, Block] = field(default_factory=dict, repr=False)
    replicas: dict[Site, DatasetReplica] = field(default_factory=dict, repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r})"

    def find_block(self, name: str) -> Block | None:
        return self.blocks.get(encode_block_name(name))


@dataclass(slots=True, kw_only=True, eq=False)
class Block:
    """A unit of files inside a dataset; the unit of transfer and of block replicas."""

    dataset: Dataset
    internal_name: int | str
    size: int = 0
    num_files: int = 0
    is_open: bool = False
    last_update: int = 0
    replicas: list[BlockReplica] = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return decode_block_name(self.internal_name)

    @property
    def full_name(self) -> str:
        return f"{self.dataset.name}#{self.name}"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Block)
            and other.internal_name == self.internal_name
            and other.dataset.name == self.dataset.name
        )

    def __hash__(self) -> int:
        return hash((self.dataset.name, self.internal_name))

    def __repr__(self) -> str:
        return f"Block({self.full_name!r})"

    def find_replica(self, site: Site) -> BlockReplica | None:
        for replica in self.replicas:
            if replica.site is site:
                return replica
        return None


@dataclass(slots=True, kw_only=True, frozen=True)
class File:
    """A file record. Files are never resident: they are read per block through a FileCatalog."""

    lfn: str
    dataset: str
    block: str
    size: int
    adler32: str = ""


@dataclass(slots=True, kw_only=True, eq=False)
class DatasetReplica:
    """The presence of (part of) a dataset at a site: a container of block replicas.

    ``growing`` replicas receive a block replica for every new block of the dataset; ``group``
    owns the block replicas created that way.
    """

    dataset: Dataset
    site: Site
    group: Group
    growing: bool = False
    block_replicas: dict[Block, BlockReplica] = field(default_factory=dict, repr=False)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DatasetReplica)
            and other.dataset == self.dataset
            and other.site == self.site
        )

    def __hash__(self) -> int:
        return hash((self.dataset.name, self.site.name))

    def __repr__(self) -> str:
        return f"DatasetReplica({self.dataset.name!r}, {self.site.name!r})"

    def size(self, *, physical: bool = True) -> int:
        """Bytes at the site (physical) or once every present block is complete (projected)."""
        if physical:
            return sum(replica.size for replica in self.block_replicas.values())
        return sum(block.size for block in self.block_replicas)

    def is_complete(self) -> bool:
        """Every block replica present is complete (the replica may still miss blocks)."""
        return all(replica.is_complete() for replica in self.block_replicas.values())

    def is_full(self) -> bool:
        """Every block of the dataset is present and complete."""
        return len(self.block_replicas) == len(self.dataset.blocks) and self.is_complete()

    def is_partial(self) -> bool:
        """Some but not all blocks are present, and those present are complete."""
        return len(self.block_replicas) < len(self.dataset.blocks) and self.is_complete()

    def last_block_created(self) -> int:
        return max((r.last_update for r in self.block_replicas.values()), default=0)

    def first_block_created(self) -> int:
        return min((r.last_update for r in self.block_replicas.values()), default=0)


@dataclass(slots=True, kw_only=True, eq=False)
class BlockReplica:
    """A copy of a block at a site, owned by a group.

    ``size`` and ``num_files`` describe what is physically present; the replica is complete when
    they equal the block's. ``partition_mask`` has bit ``p.index`` set for every partition ``p``
    (super or not) containing the replica; the inventory maintains it.
    """

    block: Block
    site: Site
    group: Group
    is_custodial: bool = False
    size: int = 0
    num_files: int = 0
    last_update: int = 0
    partition_mask: int = 0

    @property
    def dataset(self) -> Dataset:
        return self.block.dataset

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BlockReplica)
            and other.block == self.block
            and other.site == self.site
        )

    def __hash__(self) -> int:
        return hash((self.block.dataset.name, self.block.internal_name, self.site.name))

    def __repr__(self) -> str:
        return f"BlockReplica({self.block.full_name!r}, {self.site.name!r})"

    def is_complete(self) -> bool:
        return self.size == self.block.size and self.num_files == self.block.num_files

    def dataset_replica(self) -> DatasetReplica:
        return self.site.dataset_replicas[self.block.dataset]
