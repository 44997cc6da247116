"""Plug-in sources: the outside services an installation syncs its inventory from.

A sync reads a :class:`Snapshot` through the ports (:mod:`dynamo.sources.ports`), plans one
ChangeSet against the inventory with :func:`plan_sync` (pure; conflicts reported with their
resolution) and commits it whole through the store. Adapters: :class:`MemorySource` (tests,
dry runs), :class:`JsonFileSource`, :class:`CsvSource` and :class:`HttpJsonSource` (the
schema of ``docs/sources.md``), :class:`RucioSource`. Users and job-queue demand are planned
by :mod:`.extras` and written in the commit's transaction, with the popularity accesses.
"""

from dynamo.sources.adapters import HttpJsonSource, JsonFileSource, open_source
from dynamo.sources.csvfiles import CSV_COLUMNS, CsvSource
from dynamo.sources.diff import Conflict, SyncPlan, plan_sync
from dynamo.sources.extras import ExtraPlan, plan_demand, plan_extras, plan_users
from dynamo.sources.ports import (
    CatalogSource,
    DemandSource,
    GroupSource,
    MemorySource,
    PopularitySource,
    ReplicaSource,
    SiteSource,
    Source,
    UserSource,
    read_snapshot,
)
from dynamo.sources.records import (
    Deletions,
    Snapshot,
    SourceAccess,
    SourceBlock,
    SourceBlockReplica,
    SourceDataset,
    SourceDemand,
    SourceFile,
    SourceGroup,
    SourceReplica,
    SourceSite,
    SourceUser,
)
from dynamo.sources.rucio import RucioSource, account_quotas_of, block_name_of
from dynamo.sources.schema import SourceError, SourceFormatError, parse_document
from dynamo.sources.service import SyncResult, plan_from_source, run_sync

__all__ = [
    "CSV_COLUMNS",
    "CatalogSource",
    "Conflict",
    "CsvSource",
    "Deletions",
    "DemandSource",
    "ExtraPlan",
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
    "SourceDemand",
    "SourceError",
    "SourceFile",
    "SourceFormatError",
    "SourceGroup",
    "SourceReplica",
    "SourceSite",
    "SourceUser",
    "SyncPlan",
    "SyncResult",
    "UserSource",
    "account_quotas_of",
    "block_name_of",
    "open_source",
    "parse_document",
    "plan_demand",
    "plan_extras",
    "plan_from_source",
    "plan_sync",
    "plan_users",
    "read_snapshot",
    "run_sync",
]
