"""The SQL store: schema, migrations, commit protocol, bulk load (SQLite, PostgreSQL, MariaDB).

Entry points::

    migrate(url)                               bring the schema to head (``dynamo db upgrade``)
    store = SqlInventoryStore.open(url)        SchemaVersionError unless at head
    inventory, seq = store.load(partition_compiler, progress)
    seq = store.commit(changeset, inventory)   DB first (rows + log row), then memory
    store.files_of(block); store.read_log(after_seq); store.last_seq()

``MemoryInventoryStore`` implements the same :class:`InventoryStore` port in memory.
"""

from dynamo.store.detox_queries import (
    CycleDecision,
    CycleDeletion,
    CycleLine,
    CycleMode,
    CyclePolicy,
    CycleSite,
    CycleStatus,
    DetoxCycle,
    KeysetPage,
    SiteHistoryPoint,
    Verdict,
    cycle_decisions,
    cycle_deletions,
    cycle_lines,
    cycle_policy,
    cycle_sites,
    get_cycle,
    iter_decisions,
    latest_cycles,
    list_cycles,
    site_history,
)
from dynamo.store.engine import make_engine, normalize_url
from dynamo.store.filecache import DEFAULT_FILE_CACHE_BLOCKS, FileCache
from dynamo.store.migration import check_schema, current_revision, head_revision, migrate
from dynamo.store.popularity import (
    AccessRecord,
    AccessRecordError,
    MemoryPopularityStore,
    PopularityStore,
    SqlPopularityStore,
    dataset_access_summary,
    popularity_store_for,
    prune_accesses,
    record_accesses,
)
from dynamo.store.ports import InventoryStore, MemoryInventoryStore, ProgressCallback, SideWrite
from dynamo.store.sql import SqlInventoryStore

__all__ = [
    "DEFAULT_FILE_CACHE_BLOCKS",
    "AccessRecord",
    "AccessRecordError",
    "CycleDecision",
    "CycleDeletion",
    "CycleLine",
    "CycleMode",
    "CyclePolicy",
    "CycleSite",
    "CycleStatus",
    "DetoxCycle",
    "FileCache",
    "InventoryStore",
    "KeysetPage",
    "MemoryInventoryStore",
    "MemoryPopularityStore",
    "PopularityStore",
    "ProgressCallback",
    "SideWrite",
    "SiteHistoryPoint",
    "SqlInventoryStore",
    "SqlPopularityStore",
    "Verdict",
    "check_schema",
    "current_revision",
    "cycle_decisions",
    "cycle_deletions",
    "cycle_lines",
    "cycle_policy",
    "cycle_sites",
    "dataset_access_summary",
    "get_cycle",
    "head_revision",
    "iter_decisions",
    "latest_cycles",
    "list_cycles",
    "make_engine",
    "migrate",
    "normalize_url",
    "popularity_store_for",
    "prune_accesses",
    "record_accesses",
    "site_history",
]
