"""Plug-in sources: the outside services an installation syncs its inventory from.

A sync reads a :class:`Snapshot` through the ports (:mod:`dynamo.sources.ports`), plans one
ChangeSet against the inventory with :func:`plan_sync` (pure; conflicts reported with their
resolution) and commits it whole through the store. Adapters: :class:`MemorySource` (tests,
dry runs), :class:`JsonFileSource` and :class:`HttpJsonSource` (the schema of
``docs/sources.md``).
"""

from dynamo.sources.adapters import HttpJsonSource, JsonFileSource, open_source
from dynamo.sources.diff import Conflict, SyncPlan, plan_sync
from dynamo.sources.ports import (
    CatalogSource,
    GroupSource,
    MemorySource,
    PopularitySource,
    ReplicaSource,
    SiteSource,
    Source,
    read_snapshot,
)
from dynamo.sources.records import (
    Deletions,
    Snapshot,
    SourceAccess,
    SourceBlock,
    SourceBlockReplica,
    SourceDataset,
    SourceFile,
    SourceGroup,
    SourceReplica,
    SourceSite,
)
from dynamo.sources.rucio import RucioSource, block_name_of
from dynamo.sources.schema import SourceError, SourceFormatError, parse_document
from dynamo.sources.service import SyncResult, plan_from_source, record_popularity, run_sync

__all__ = [
    "CatalogSource",
    "Conflict",
    "Deletions",
    "GroupSource",
    "HttpJsonSource",
    "JsonFileSource",
    "MemorySource",
    "PopularitySource",
    "ReplicaSource",
    "RucioSource",
    "SiteSource",
    "Snapshot",
    "Source",
    "SourceAccess",
    "SourceBlock",
    "SourceBlockReplica",
    "SourceDataset",
    "SourceError",
    "SourceFile",
    "SourceFormatError",
    "SourceGroup",
    "SourceReplica",
    "SourceSite",
    "SyncPlan",
    "SyncResult",
    "block_name_of",
    "open_source",
    "parse_document",
    "plan_from_source",
    "plan_sync",
    "read_snapshot",
    "record_popularity",
    "run_sync",
]
