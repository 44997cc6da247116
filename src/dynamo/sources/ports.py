"""The ports of the outside sources an installation syncs from, and their in-memory double.

Each port returns a partial :class:`Snapshot` holding its own sections; ``since`` None asks
for the whole view (full sync), an epoch time asks for what changed since then, with the
deletions listed (incremental sync). :func:`read_snapshot` gathers one source's sections.

==================  ============================================  ===============
port                what                                          section
==================  ============================================  ===============
CatalogSource       datasets, blocks, files (master catalog)      ``datasets``
ReplicaSource       dataset and block replicas at sites           ``replicas``
SiteSource          sites: status, storage type, quotas           ``sites``
GroupSource         groups (owners of replicas)                   ``groups``
PopularitySource    accesses per dataset, site and day            ``popularity``
UserSource          users of the API: DN and (role, target)       ``users``
DemandSource        jobs queued per dataset (the job queues)      ``demand``
==================  ============================================  ===============
"""

from __future__ import annotations

from typing import Protocol

from dynamo.sources.records import Snapshot

__all__ = [
    "CatalogSource",
    "DemandSource",
    "GroupSource",
    "MemorySource",
    "PopularitySource",
    "ReplicaSource",
    "SiteSource",
    "Source",
    "UserSource",
    "read_snapshot",
]


class CatalogSource(Protocol):
    def catalog(self, since: int | None) -> Snapshot:
        """Datasets with their blocks and files; deleted datasets and blocks when ``since``."""
        ...


class ReplicaSource(Protocol):
    def replicas(self, since: int | None) -> Snapshot:
        """Replicas (whole, per dataset and site); deleted replicas when ``since``."""
        ...


class SiteSource(Protocol):
    def sites(self) -> Snapshot:
        """Every site the source knows, with its quotas."""
        ...


class GroupSource(Protocol):
    def groups(self) -> Snapshot:
        """Every group the source knows."""
        ...


class PopularitySource(Protocol):
    def popularity(self, since: int | None) -> Snapshot:
        """Accesses per dataset, site and day (days at or after ``since`` when given)."""
        ...


class UserSource(Protocol):
    def users(self) -> Snapshot:
        """Every user the source knows, each with all its grants (or None: not said)."""
        ...


class DemandSource(Protocol):
    def demand(self, since: int | None) -> Snapshot:
        """The jobs queued per dataset (queued at or after ``since`` when given)."""
        ...


class Source(
    CatalogSource,
    ReplicaSource,
    SiteSource,
    GroupSource,
    PopularitySource,
    UserSource,
    DemandSource,
    Protocol,
):
    """All ports of one installation's upstream (an adapter may return empty sections)."""

    name: str

    def close(self) -> None:
        """Release connections; the source is unusable afterwards."""
        ...


def read_snapshot(source: Source, since: int | None) -> Snapshot:
    """The source's whole view (``since`` None) or its changes since ``since``."""
    return (
        source.sites()
        + source.groups()
        + source.catalog(since)
        + source.replicas(since)
        + source.popularity(since)
        + source.users()
        + source.demand(since)
    )


class MemorySource:
    """A Source over a Snapshot held in memory: for tests and dry runs.

    It returns the same view whatever ``since`` is; tests build the delta snapshots they mean.
    """

    def __init__(self, snapshot: Snapshot, name: str = "memory") -> None:
        self.snapshot = snapshot
        self.name = name

    def catalog(self, since: int | None) -> Snapshot:
        return self.snapshot.only("datasets")

    def replicas(self, since: int | None) -> Snapshot:
        return self.snapshot.only("replicas")

    def sites(self) -> Snapshot:
        return self.snapshot.only("sites")

    def groups(self) -> Snapshot:
        return self.snapshot.only("groups")

    def popularity(self, since: int | None) -> Snapshot:
        return self.snapshot.only("popularity")

    def users(self) -> Snapshot:
        return self.snapshot.only("users")

    def demand(self, since: int | None) -> Snapshot:
        return self.snapshot.only("demand")

    def close(self) -> None:
        pass
