"""The database schema of the store, in SQLAlchemy Core: one module per area, one metadata.

- :mod:`.inventory` -- the inventory tables and ``inventory_log`` (migration 0001);
- :mod:`.registry` -- copy and deletion requests, replica locks (migration 0002);
- :mod:`.auth` -- users and their roles (migration 0003);
- :mod:`.applications` -- application runs of the scheduler (migration 0004);
- :mod:`.detox` -- Detox history, the deletion queue, popularity access records (0005);
- :mod:`.fileops` -- file-operation subscriptions, batches, tasks and history (0006);
- :mod:`.consistency` -- site consistency runs and the files they classified (0007);
- :mod:`.dealer` -- Dealer history: cycles and the copies they proposed (0008); the synced
  job-queue demand (0011);
- :mod:`.userdata` -- user datasets and imports of external files (0009);
- :mod:`.servers` -- inventory servers and the leader lease (0010).

Change a module and add a migration together; a contract test checks on every backend that the
migrations produce exactly ``metadata``.
"""

from dynamo.store.schema import (
    applications,
    auth,
    consistency,
    dealer,
    detox,
    fileops,
    registry,
    servers,
    userdata,
)
from dynamo.store.schema.base import metadata
from dynamo.store.schema.inventory import (
    INVENTORY_TABLES,
    block_replicas,
    blocks,
    dataset_replicas,
    datasets,
    files,
    groups,
    inventory_log,
    partitions,
    quotas,
    sites,
)

__all__ = [
    "INVENTORY_TABLES",
    "applications",
    "auth",
    "block_replicas",
    "blocks",
    "consistency",
    "dataset_replicas",
    "datasets",
    "dealer",
    "detox",
    "fileops",
    "files",
    "groups",
    "inventory_log",
    "metadata",
    "partitions",
    "quotas",
    "registry",
    "servers",
    "sites",
    "userdata",
]
