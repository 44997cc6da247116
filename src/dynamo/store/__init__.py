"""The SQL store: schema, migrations, commit protocol, bulk load (SQLite, PostgreSQL, MariaDB).

Entry points::

    migrate(url)                               bring the schema to head (``dynamo db upgrade``)
    store = SqlInventoryStore.open(url)        SchemaVersionError unless at head
    inventory, seq = store.load(partition_compiler, progress)
    seq = store.commit(changeset, inventory)   DB first (rows + log row), then memory
    store.files_of(block); store.read_log(after_seq); store.last_seq()

``MemoryInventoryStore`` implements the same :class:`InventoryStore` port in memory.
"""

from dynamo.store.engine import make_engine, normalize_url
from dynamo.store.filecache import DEFAULT_FILE_CACHE_BLOCKS, FileCache
from dynamo.store.migration import check_schema, current_revision, head_revision, migrate
from dynamo.store.ports import InventoryStore, MemoryInventoryStore, ProgressCallback
from dynamo.store.sql import SqlInventoryStore

__all__ = [
    "DEFAULT_FILE_CACHE_BLOCKS",
    "FileCache",
    "InventoryStore",
    "MemoryInventoryStore",
    "ProgressCallback",
    "SqlInventoryStore",
    "check_schema",
    "current_revision",
    "head_revision",
    "make_engine",
    "migrate",
    "normalize_url",
]
