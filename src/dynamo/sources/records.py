"""What an outside source says: frozen records, validated at the adapter, and the Snapshot.

Every record is whole, as a ChangeSet upsert is: a dataset lists all its blocks, a replica
all its block replicas at the site. Times are int seconds since the epoch (UTC); sizes int
bytes. A :class:`Snapshot` gathers the sections a source provided (``sections``), so that a
full sync deletes by absence only within what the source actually describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

from dynamo.model import DatasetStatus, DataType, GroupLevel, SiteStatus, StorageType

__all__ = [
    "SECTIONS",
    "Deletions",
    "Snapshot",
    "SourceAccess",
    "SourceBlock",
    "SourceBlockReplica",
    "SourceDataset",
    "SourceDemand",
    "SourceFile",
    "SourceGroup",
    "SourceReplica",
    "SourceSite",
    "SourceUser",
]

SECTIONS: Final = ("sites", "groups", "datasets", "replicas", "popularity", "users", "demand")


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSite:
    """A site with its status, storage type and quotas in bytes by partition name."""

    name: str
    host: str = ""
    storage_type: StorageType = StorageType.DISK
    backend: str = ""
    status: SiteStatus = SiteStatus.READY
    quotas: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceGroup:
    name: str
    olevel: GroupLevel = GroupLevel.BLOCK


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFile:
    lfn: str
    size: int
    adler32: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceBlock:
    """A block; ``files`` may be empty when the source does not list files."""

    name: str
    size: int
    num_files: int
    is_open: bool = False
    last_update: int = 0
    files: tuple[SourceFile, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceDataset:
    name: str
    status: DatasetStatus = DatasetStatus.VALID
    data_type: DataType = DataType.UNKNOWN
    software_version: tuple[int, int, int, str] | None = None
    is_open: bool = True
    last_update: int = 0
    blocks: tuple[SourceBlock, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceBlockReplica:
    """A block at a site; ``size``/``num_files`` None means complete (the block's)."""

    block: str
    size: int | None = None
    num_files: int | None = None
    is_custodial: bool = False
    last_update: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceReplica:
    """A dataset at a site; ``blocks`` None means every block of the dataset, complete."""

    dataset: str
    site: str
    group: str | None = None
    blocks: tuple[SourceBlockReplica, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceAccess:
    """Accesses to a dataset at a site on one day (``day``: epoch s of 00:00 UTC)."""

    dataset: str
    site: str
    day: int
    accesses: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceUser:
    """A user of Dynamo's API: unique name, DN (slash form), grants as (role, target) names.

    ``roles`` None: the source does not say (Rucio accounts): Dynamo's grants are kept."""

    name: str
    dn: str
    roles: tuple[tuple[str, str], ...] | None = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceDemand:
    """``jobs`` jobs queued at ``queued`` (epoch s) that read ``dataset`` (the job queues)."""

    dataset: str
    jobs: int
    queued: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Deletions:
    """What an incremental source reports as deleted since the last sync."""

    datasets: tuple[str, ...] = ()
    blocks: tuple[tuple[str, str], ...] = ()
    replicas: tuple[tuple[str, str], ...] = ()
    block_replicas: tuple[tuple[str, str, str], ...] = ()

    def __add__(self, other: Deletions) -> Deletions:
        return Deletions(
            datasets=self.datasets + other.datasets,
            blocks=self.blocks + other.blocks,
            replicas=self.replicas + other.replicas,
            block_replicas=self.block_replicas + other.block_replicas,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """A source's view at ``as_of``: the sections it provided and what it reports deleted.

    ``whole``: the sections that hold the whole view even in an incremental read (the sync
    deletes by absence within them, as a full one does). ``dataset_names``: the names of every
    dataset upstream, when the source lists them cheaply but gives records only for some (an
    incremental Rucio read): datasets Dynamo has that are not among them are deleted upstream.
    """

    as_of: int = 0
    sections: frozenset[str] = frozenset()
    sites: tuple[SourceSite, ...] = ()
    groups: tuple[SourceGroup, ...] = ()
    datasets: tuple[SourceDataset, ...] = ()
    replicas: tuple[SourceReplica, ...] = ()
    accesses: tuple[SourceAccess, ...] = ()
    users: tuple[SourceUser, ...] = ()
    demand: tuple[SourceDemand, ...] = ()
    deleted: Deletions = field(default_factory=Deletions)
    whole: frozenset[str] = frozenset()  # sections that are the whole view even when ``since``
    dataset_names: frozenset[str] | None = None  # every dataset upstream, when known apart

    def __add__(self, other: Snapshot) -> Snapshot:
        return Snapshot(
            as_of=max(self.as_of, other.as_of),
            sections=self.sections | other.sections,
            sites=self.sites + other.sites,
            groups=self.groups + other.groups,
            datasets=self.datasets + other.datasets,
            replicas=self.replicas + other.replicas,
            accesses=self.accesses + other.accesses,
            users=self.users + other.users,
            demand=self.demand + other.demand,
            deleted=self.deleted + other.deleted,
            whole=self.whole | other.whole,
            dataset_names=_union(self.dataset_names, other.dataset_names),
        )

    def only(self, section: str) -> Snapshot:
        """This snapshot reduced to ``section`` (with the deletions that belong to it)."""
        if section not in self.sections:
            return Snapshot(as_of=self.as_of)
        deleted = Deletions()
        if section == "datasets":
            deleted = replace(self.deleted, replicas=(), block_replicas=())
        elif section == "replicas":
            deleted = replace(self.deleted, datasets=(), blocks=())
        return Snapshot(
            as_of=self.as_of,
            sections=frozenset({section}),
            sites=self.sites if section == "sites" else (),
            groups=self.groups if section == "groups" else (),
            datasets=self.datasets if section == "datasets" else (),
            replicas=self.replicas if section == "replicas" else (),
            accesses=self.accesses if section == "popularity" else (),
            users=self.users if section == "users" else (),
            demand=self.demand if section == "demand" else (),
            deleted=deleted,
            whole=self.whole & {section},
            dataset_names=self.dataset_names if section == "datasets" else None,
        )


def _union(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    return b if a is None else a if b is None else a | b
