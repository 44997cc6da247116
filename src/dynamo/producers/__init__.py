"""Attribute producers: the facts Detox and Dealer policies read that the inventory does not hold.

Each producer fills a :class:`dynamo.policy.Attributes` container before a cycle evaluates:

- ``locks`` -- ``blockreplica.is_locked`` from the replica locks of the registry;
- ``popularity`` -- ``dataset.last_access``, ``replica.num_access``, ``dataset.usage_rank`` from
  the access records;
- ``enforcer`` -- ``replica.enforcer_protected`` from enforcer rules with ``protect: true``;
- ``copy_requests`` -- ``dataset.unhandled_copy_exists`` from copy requests not yet completed;
- ``tape_requests`` -- ``dataset.tape_copy_requested`` from those of them to a tape site;
- ``release`` -- ``dataset.is_latest_production_release`` from a list of production releases;
- ``protected_sites`` -- ``dataset.on_protected_site`` from a list of site name patterns;
- ``block_age`` -- ``blockreplica.age_relative_to_newest`` from the block replicas' update times.

:func:`default_producer_config` (in :mod:`.defaults`) is the set a Detox cycle runs unconfigured.

:mod:`.base` holds the registry of producers by name and the load-time check that a policy's
variables all have a configured producer.
"""

# Importing a producer's module registers it by name (one line each).
from dynamo.producers import (
    copy_requests,  # noqa: F401
    enforcer,  # noqa: F401
    locks,  # noqa: F401
    popularity,  # noqa: F401
    relative_age,  # noqa: F401
    release,  # noqa: F401
    sites,  # noqa: F401
)
from dynamo.producers.base import (
    PRODUCERS,
    ProducerFactory,
    ProducerSources,
    build_producers,
    check_policy_producers,
    policy_attributes,
    register_producer,
)
from dynamo.producers.defaults import default_producer_config

__all__ = [
    "PRODUCERS",
    "ProducerFactory",
    "ProducerSources",
    "build_producers",
    "check_policy_producers",
    "default_producer_config",
    "policy_attributes",
    "register_producer",
]
