"""The ``block_age`` producer: ``blockreplica.age_relative_to_newest``.

A block replica's value is the seconds between its ``last_update`` and a reference time taken
when the producer loads. Configuration: ``relative_to``, one of

- ``"inventory"`` (default) -- the newest ``last_update`` of all block replicas of the inventory
  (the original BlockReplicaRelativeAge: "relative time of the block replica last_update to the
  latest in the partition", computed over the image Detox loaded it on);
- ``"replica"`` -- the newest ``last_update`` among the block replicas of the same dataset
  replica (how far a block lags behind the newest block of its replica).

Values are computed when read, not stored: a CMS-scale inventory has ~9M block replicas, and
one attribute entry for each (a key of three names and an int) would cost gigabytes and seconds
per cycle, even when no policy line reads the variable. Loading stores only the reference
times (one int, or one per dataset replica) and puts a :class:`BlockAges` view in the
attributes, which looks the block replica up by its names when asked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from operator import attrgetter
from typing import Any, Final

from dynamo.errors import ConfigurationError
from dynamo.model import Inventory
from dynamo.policy import Attributes
from dynamo.policy.attributes import AGE_RELATIVE_TO_NEWEST
from dynamo.producers.base import ProducerSources, register_producer
from dynamo.producers.options import check_keys

__all__ = ["BlockAgeProducer", "BlockAges", "newest_per_replica", "newest_update"]

log = logging.getLogger(__name__)

NAME: Final = "block_age"
_MODES: Final = ("inventory", "replica")

BlockKey = tuple[str, str, str]
_last_update = attrgetter("last_update")


class BlockAges(dict[BlockKey, object]):
    """A read-only view: ``(dataset, block, site)`` -> seconds behind the reference time.

    Only :meth:`get`, ``[]`` and ``in`` are meaningful (what a policy variable uses); the view
    holds no entries, so its length is 0 and iterating it yields nothing. A block replica that
    no longer exists (taken out of the image since) reads as missing.
    """

    __slots__ = ("_inventory", "_newest", "_per_replica")

    def __init__(
        self,
        inventory: Inventory,
        *,
        newest: int = 0,
        per_replica: dict[tuple[str, str], int] | None = None,
    ) -> None:
        super().__init__()
        self._inventory = inventory
        self._newest = newest
        self._per_replica = per_replica

    def _age(self, key: BlockKey) -> int | None:
        dataset, block, site = key
        replica = self._inventory.find_block_replica(dataset, block, site)
        if replica is None:
            return None
        if self._per_replica is None:
            return self._newest - replica.last_update
        return self._per_replica.get((dataset, site), replica.last_update) - replica.last_update

    def get(self, key: BlockKey, default: object = None, /) -> object:
        age = self._age(key)
        return default if age is None else age

    def __getitem__(self, key: BlockKey) -> object:
        age = self._age(key)
        if age is None:
            raise KeyError(key)
        return age

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 3 and self._age(key) is not None


class BlockAgeProducer:
    """Fills ``age_relative_to_newest`` relative to the newest block replica (see the module)."""

    produces: frozenset[str] = frozenset({AGE_RELATIVE_TO_NEWEST})

    def __init__(self, relative_to: str = "inventory") -> None:
        if relative_to not in _MODES:
            raise ConfigurationError(
                f"producer {NAME!r}: relative_to must be one of {', '.join(_MODES)}, "
                f"not {relative_to!r}"
            )
        self.relative_to = relative_to

    def load(self, inventory: Inventory, attributes: Attributes, now: int) -> None:
        if self.relative_to == "inventory":
            view = BlockAges(inventory, newest=newest_update(inventory))
        else:
            view = BlockAges(inventory, per_replica=newest_per_replica(inventory))
        attributes.block[AGE_RELATIVE_TO_NEWEST] = view


def newest_update(inventory: Inventory) -> int:
    """The newest ``last_update`` of all block replicas (0 without any): what
    :func:`newest_per_replica` gives at most, without building its 1M-entry dict."""
    newest = 0
    for site in inventory.sites.values():
        for replica in site.dataset_replicas.values():
            members = replica.block_replicas
            if members:
                latest = max(map(_last_update, members.values()))
                if latest > newest:
                    newest = latest
    return newest


def newest_per_replica(inventory: Inventory) -> dict[tuple[str, str], int]:
    """(dataset, site) -> the newest ``last_update`` of the replica's block replicas (those
    with at least one)."""
    newest: dict[tuple[str, str], int] = {}
    for site in inventory.sites.values():
        site_name = site.name
        for dataset, replica in site.dataset_replicas.items():
            members = replica.block_replicas
            if members:
                newest[(dataset.name, site_name)] = max(map(_last_update, members.values()))
    return newest


@register_producer(NAME, BlockAgeProducer.produces)
def _build(config: Mapping[str, Any], sources: ProducerSources) -> BlockAgeProducer:
    check_keys(config, NAME, ("relative_to",))
    return BlockAgeProducer(str(config.get("relative_to", "inventory")))
