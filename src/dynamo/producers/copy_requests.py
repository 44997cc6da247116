"""Two producers reading the open copy requests of the registry (status ``new`` or ``activated``).

- ``copy_requests`` -- ``dataset.unhandled_copy_exists``: True for every dataset that an open
  copy request names, directly or through one of its blocks.
- ``tape_requests`` -- ``dataset.tape_copy_requested``: the same, counting only the requests
  with a tape (MSS) site among their sites.

A request stops counting once it is completed, rejected or cancelled. Items that name a dataset
or block the inventory does not hold are skipped. Neither producer takes configuration keys;
both read the registry in the store's database.

The original read "unhandled" more narrowly (requests not yet activated, and activated ones
whose action was still ``new``), and its TapeCopyRequested asked PhEDEx for transfer requests
to tape nodes awaiting approval. Here a copy stays "unhandled" until its request is closed,
so the source of a copy in flight stays protected too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

from dynamo.model import Inventory, StorageType
from dynamo.policy import Attributes
from dynamo.producers.base import ProducerSources, register_producer
from dynamo.producers.options import check_keys
from dynamo.registry import (
    MAX_ID,
    OPEN_STATUSES,
    RegistryStore,
    Request,
    RequestKind,
    RequestQuery,
)
from dynamo.store.registry import SqlRegistryStore

__all__ = [
    "TAPE_COPY_REQUESTED",
    "UNHANDLED_COPY_EXISTS",
    "CopyRequestProducer",
    "TapeRequestProducer",
    "open_copy_requests",
    "requested_datasets",
]

log = logging.getLogger(__name__)

UNHANDLED_COPY_EXISTS: Final = "unhandled_copy_exists"
TAPE_COPY_REQUESTED: Final = "tape_copy_requested"

_OPEN_COPIES: Final = RequestQuery(
    kind=RequestKind.COPY,
    statuses=tuple(sorted(OPEN_STATUSES)),
    limit=MAX_ID,  # all of them
)


def open_copy_requests(registry: RegistryStore) -> list[Request]:
    """Every copy request that is neither completed, rejected nor cancelled."""
    return registry.find_requests(_OPEN_COPIES)


def requested_datasets(inventory: Inventory, requests: Iterable[Request]) -> set[str]:
    """The names of the inventory's datasets that ``requests`` name (or name a block of)."""
    found: set[str] = set()
    datasets = inventory.datasets
    for request in requests:
        for item in request.items:
            name, _, block = item.partition("#")
            dataset = datasets.get(name)
            if dataset is not None and (not block or dataset.find_block(block) is not None):
                found.add(name)
    return found


class CopyRequestProducer:
    """Fills ``unhandled_copy_exists`` from the open copy requests of ``registry``."""

    produces: frozenset[str] = frozenset({UNHANDLED_COPY_EXISTS})

    def __init__(self, registry: RegistryStore) -> None:
        self.registry = registry

    def load(self, inventory: Inventory, attributes: Attributes, now: int) -> None:
        requests = open_copy_requests(self.registry)
        _flag(attributes, UNHANDLED_COPY_EXISTS, requested_datasets(inventory, requests))


class TapeRequestProducer:
    """Fills ``tape_copy_requested`` from the open copy requests to tape sites."""

    produces: frozenset[str] = frozenset({TAPE_COPY_REQUESTED})

    def __init__(self, registry: RegistryStore) -> None:
        self.registry = registry

    def load(self, inventory: Inventory, attributes: Attributes, now: int) -> None:
        sites = inventory.sites
        to_tape = [
            request
            for request in open_copy_requests(self.registry)
            if any(
                name in sites and sites[name].storage_type is StorageType.MSS
                for name in request.sites
            )
        ]
        _flag(attributes, TAPE_COPY_REQUESTED, requested_datasets(inventory, to_tape))


def _flag(attributes: Attributes, attribute: str, datasets: set[str]) -> None:
    for name in sorted(datasets):
        attributes.set_dataset(attribute, name, True)
    log.info("%s: %d datasets", attribute, len(datasets))


@register_producer("copy_requests", CopyRequestProducer.produces)
def _build_copy_requests(
    config: Mapping[str, Any], sources: ProducerSources
) -> CopyRequestProducer:
    check_keys(config, "copy_requests", ())
    return CopyRequestProducer(SqlRegistryStore(sources.need_engine("copy_requests")))


@register_producer("tape_requests", TapeRequestProducer.produces)
def _build_tape_requests(
    config: Mapping[str, Any], sources: ProducerSources
) -> TapeRequestProducer:
    check_keys(config, "tape_requests", ())
    return TapeRequestProducer(SqlRegistryStore(sources.need_engine("tape_requests")))
