"""A registry and an inventory for the producers' tests: copy requests in every status, locks.

:func:`fill_registry` writes through the :class:`RegistryStore` port, so the same data goes into
the memory store (unit tests) and the SQL store on every backend (integration tests).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import pytest

from dynamo.model import Inventory
from dynamo.policy import AttributeProducer, Attributes, StaticProducer
from dynamo.policy.attributes import LAST_ACCESS, NUM_ACCESS, USAGE_RANK
from dynamo.producers import PRODUCERS, ProducerSources
from dynamo.registry import (
    LockDraft,
    RegistryStore,
    RequestDraft,
    RequestKind,
    RequestStatus,
)
from unit.policy.builders import DAY, NOW, Builder, block_name

MIT, DESY, CERN, TAPE = "T2_US_MIT", "T2_DE_DESY", "T2_CH_CERN", "T1_US_FNAL_MSS"
DN = "/DC=ch/DC=cern/OU=Users/CN=alice"

NEW = "/New/Run2018A-v1/AOD"
ACTIVATED = "/Activated/Run2018A-v1/AOD"
COMPLETED = "/Completed/Run2018A-v1/AOD"
REJECTED = "/Rejected/Run2018A-v1/AOD"
CANCELLED = "/Cancelled/Run2018A-v1/AOD"
TO_TAPE = "/ToTape/Run2018A-v1/RAW"
TO_TAPE_ACTIVE = "/ToTapeActive/Run2018A-v1/RAW"
DELETION = "/Deletion/Run2018A-v1/AOD"
GHOST_BLOCK = "/GhostBlock/Run2018A-v1/AOD"
LOCKED = "/Locked/Run2018A-v1/AOD"
LOCKED_BY_GLOB = "/LockedByGlob/Run2018A-v1/MINIAOD"
EXPIRED = "/Expired/Run2018A-v1/AOD"
RELEASED = "/Released/Run2018A-v1/AOD"
ENFORCED = "/Enforced/Run2018A-v1/MINIAOD"

UNHANDLED = {NEW, ACTIVATED, TO_TAPE, TO_TAPE_ACTIVE}
"""The datasets with an open copy request (what ``unhandled_copy_exists`` flags)."""
TAPE_REQUESTED = {TO_TAPE, TO_TAPE_ACTIVE}
"""Those of them requested at a tape site (what ``tape_copy_requested`` flags)."""
LOCKED_REPLICAS = {(LOCKED, MIT): None, (LOCKED_BY_GLOB, MIT): None, (LOCKED, DESY): {1}}
"""(dataset, site) -> the indices of the locked blocks, None for the whole replica."""

ALL_DATASETS = (
    NEW,
    ACTIVATED,
    COMPLETED,
    REJECTED,
    CANCELLED,
    TO_TAPE,
    TO_TAPE_ACTIVE,
    DELETION,
    GHOST_BLOCK,
    LOCKED,
    LOCKED_BY_GLOB,
    EXPIRED,
    RELEASED,
    ENFORCED,
)


def producers_inventory() -> Inventory:
    """Every dataset with two blocks, at MIT and DESY; a tape site and CERN with nothing.

    :data:`ENFORCED` is a MINIAOD that the real Physics enforcer rule ``usa_miniaod`` protects
    at MIT."""
    b = Builder().site(MIT).site(DESY).site(CERN).site(TAPE, mss=True)
    for name in ALL_DATASETS:
        b.dataset(name).replica(name, MIT).replica(name, DESY)
    return b.build()


def _copy(
    registry: RegistryStore, item: str, sites: tuple[str, ...], status: RequestStatus
) -> None:
    draft = RequestDraft(
        kind=RequestKind.COPY, user="alice", dn=DN, items=(item,), sites=sites, group="AnalysisOps"
    )
    request, _ = registry.submit_request(draft, NOW - DAY)
    if status is RequestStatus.CANCELLED:
        registry.cancel_request(request.id, dn=DN, is_privileged=False)
    elif status is not RequestStatus.NEW:
        reason = "no room" if status is RequestStatus.REJECTED else None
        registry.update_request(request.id, status, reject_reason=reason)


def _lock(registry: RegistryStore, item: str, *, sites: str | None = None, expires: int) -> int:
    draft = LockDraft(
        item=item, sites=sites, groups=None, expires=expires, comment="", user="alice", dn=DN
    )
    lock, _ = registry.submit_lock(draft, NOW - DAY)
    return lock.id


def fill_registry(registry: RegistryStore) -> None:
    """The requests and locks behind :data:`UNHANDLED`, :data:`TAPE_REQUESTED` and
    :data:`LOCKED_REPLICAS`."""
    _copy(registry, NEW, (MIT,), RequestStatus.NEW)
    _copy(registry, "/No/Such/AOD", (MIT,), RequestStatus.NEW)
    _copy(registry, f"{ACTIVATED}#{block_name(ACTIVATED, 0)}", (CERN,), RequestStatus.ACTIVATED)
    _copy(registry, COMPLETED, (CERN,), RequestStatus.COMPLETED)
    _copy(registry, REJECTED, (CERN,), RequestStatus.REJECTED)
    _copy(registry, CANCELLED, (CERN,), RequestStatus.CANCELLED)
    _copy(registry, TO_TAPE, (TAPE,), RequestStatus.NEW)
    _copy(registry, TO_TAPE_ACTIVE, (CERN, TAPE), RequestStatus.ACTIVATED)
    _copy(registry, f"{GHOST_BLOCK}#{block_name(GHOST_BLOCK, 7)}", (CERN,), RequestStatus.NEW)
    registry.submit_request(
        RequestDraft(
            kind=RequestKind.DELETION, user="alice", dn=DN, items=(DELETION,), sites=(MIT,)
        ),
        NOW - DAY,
    )
    _lock(registry, LOCKED, sites="T2_US_*", expires=NOW + DAY)
    _lock(registry, f"{LOCKED}#{block_name(LOCKED, 1)}", sites=DESY, expires=NOW + DAY)
    _lock(registry, "/LockedByGlob/*/MINIAOD", sites=MIT, expires=NOW + DAY)
    _lock(registry, EXPIRED, expires=NOW)
    released = _lock(registry, RELEASED, expires=NOW + DAY)
    registry.release_lock(released, dn=DN, is_admin=False, now=NOW - 1)


def locked_replicas(
    inventory: Inventory, attributes: Attributes
) -> dict[tuple[str, str], set[int] | None]:
    """What ``attributes`` locks, in the form of :data:`LOCKED_REPLICAS`."""
    found: dict[tuple[str, str], set[int]] = {}
    sizes: dict[tuple[str, str], int] = {}
    for replica in inventory.iter_dataset_replicas():
        key = (replica.dataset.name, replica.site.name)
        sizes[key] = len(replica.block_replicas)
        for br in replica.block_replicas.values():
            if attributes.is_locked(br):
                found.setdefault(key, set()).add(int(br.block.name[-12:]))
    return {key: None if len(blocks) == sizes[key] else blocks for key, blocks in found.items()}


def ensure_popularity(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real ``popularity`` producer when it is installed, else a stand-in (no values) that
    ``monkeypatch`` takes away after the test."""
    try:
        importlib.import_module("dynamo.producers.popularity")
    except ModuleNotFoundError:
        produces = frozenset({LAST_ACCESS, NUM_ACCESS, USAGE_RANK})

        def stand_in(config: Mapping[str, Any], sources: ProducerSources) -> AttributeProducer:
            return StaticProducer(Attributes(), produces)

        monkeypatch.setitem(PRODUCERS, "popularity", (produces, stand_in))
