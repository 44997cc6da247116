"""The domain model: resident objects, the ChangeSet and the in-memory Inventory.

The model does no I/O and reads no clock; times are int seconds since the epoch (UTC) and sizes
int bytes.
"""

from dynamo.model.canonical import describe, diff
from dynamo.model.changeset import (
    FORMAT_VERSION,
    ChangeSet,
    DeleteBlock,
    DeleteBlockReplica,
    DeleteDataset,
    DeleteDatasetReplica,
    DeleteFile,
    DeleteGroup,
    DeleteSite,
    Operation,
    SetQuota,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertPartition,
    UpsertSite,
)
from dynamo.model.entities import (
    Block,
    BlockReplica,
    Dataset,
    DatasetReplica,
    File,
    Group,
    Partition,
    Site,
    SitePartition,
    decode_block_name,
    encode_block_name,
)
from dynamo.model.enums import DatasetStatus, DataType, GroupLevel, SiteStatus, StorageType
from dynamo.model.invariants import violations
from dynamo.model.inventory import Inventory
from dynamo.model.loading import BulkLoader
from dynamo.model.partitioning import PartitionCompiler, PartitionScope, PartitionTable
from dynamo.model.ports import FileCatalog, MemoryFileCatalog

__all__ = [
    "FORMAT_VERSION",
    "Block",
    "BlockReplica",
    "BulkLoader",
    "ChangeSet",
    "DataType",
    "Dataset",
    "DatasetReplica",
    "DatasetStatus",
    "DeleteBlock",
    "DeleteBlockReplica",
    "DeleteDataset",
    "DeleteDatasetReplica",
    "DeleteFile",
    "DeleteGroup",
    "DeleteSite",
    "File",
    "FileCatalog",
    "Group",
    "GroupLevel",
    "Inventory",
    "MemoryFileCatalog",
    "Operation",
    "Partition",
    "PartitionCompiler",
    "PartitionScope",
    "PartitionTable",
    "SetQuota",
    "Site",
    "SitePartition",
    "SiteStatus",
    "StorageType",
    "UpsertBlock",
    "UpsertBlockReplica",
    "UpsertDataset",
    "UpsertDatasetReplica",
    "UpsertFile",
    "UpsertGroup",
    "UpsertPartition",
    "UpsertSite",
    "decode_block_name",
    "describe",
    "diff",
    "encode_block_name",
    "violations",
]
