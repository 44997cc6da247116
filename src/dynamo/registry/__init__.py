"""The registry: copy and deletion requests and replica locks (pure domain logic, no I/O).

- :mod:`.requests` -- request records, statuses, deduplication, cancel and status transitions;
- :mod:`.locks` -- lock records, renewal, release, activity at a given time;
- :mod:`.validation` -- caller input checked against the inventory, into drafts;
- :mod:`.coverage` -- which block replicas a set of locks covers (for Detox);
- :mod:`.times` -- lock expiry from a duration, a date or epoch seconds;
- :mod:`.ports` -- the :class:`RegistryStore` port and :class:`MemoryRegistryStore`.

The SQL implementation is :class:`dynamo.store.registry.SqlRegistryStore`.
"""

from dynamo.registry.coverage import LockIndex, locked_block_replicas
from dynamo.registry.errors import ConflictError, NotOwnerError, RegistryInputError
from dynamo.registry.locks import (
    DEFAULT_SERVICE,
    LockDraft,
    LockQuery,
    ReplicaLock,
    active_locks,
    find_renewable,
    new_lock,
    release,
    renew,
)
from dynamo.registry.ports import MAX_ID, MemoryRegistryStore, RegistryStore
from dynamo.registry.requests import (
    OPEN_STATUSES,
    ActionStatus,
    Request,
    RequestAction,
    RequestDraft,
    RequestKind,
    RequestQuery,
    RequestStatus,
    bump,
    cancel,
    find_duplicate,
    new_request,
    transition,
)
from dynamo.registry.times import parse_duration, parse_expiry
from dynamo.registry.validation import (
    copy_draft,
    deletion_draft,
    lock_draft,
    resolve_items,
    resolve_sites,
)

__all__ = [
    "DEFAULT_SERVICE",
    "MAX_ID",
    "OPEN_STATUSES",
    "ActionStatus",
    "ConflictError",
    "LockDraft",
    "LockIndex",
    "LockQuery",
    "MemoryRegistryStore",
    "NotOwnerError",
    "RegistryInputError",
    "RegistryStore",
    "ReplicaLock",
    "Request",
    "RequestAction",
    "RequestDraft",
    "RequestKind",
    "RequestQuery",
    "RequestStatus",
    "active_locks",
    "bump",
    "cancel",
    "copy_draft",
    "deletion_draft",
    "find_duplicate",
    "find_renewable",
    "lock_draft",
    "locked_block_replicas",
    "new_lock",
    "new_request",
    "parse_duration",
    "parse_expiry",
    "release",
    "renew",
    "resolve_items",
    "resolve_sites",
    "transition",
]
