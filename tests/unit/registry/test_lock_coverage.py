"""Which block replicas a set of locks covers: exact datasets, globs, blocks, sites, groups."""

from __future__ import annotations

from typing import Any

import pytest

from dynamo.model import Inventory
from dynamo.registry import LockIndex, ReplicaLock, active_locks, locked_block_replicas
from registry_data import B1, B2, B3, B4, DN, MU_D, ZB_C, ZB_D, registry_inventory

NOW = 1_700_000_000


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return registry_inventory()


def lock(item: str, lock_id: int = 1, **kw: Any) -> ReplicaLock:
    fields: dict[str, Any] = {"sites": None, "groups": None, "expires": NOW + 100}
    fields.update(kw)
    return ReplicaLock(
        id=lock_id,
        item=item,
        comment="",
        user="alice",
        dn=DN,
        service="user",
        created=NOW,
        **fields,
    )


def keys(replicas: set[Any]) -> set[tuple[str, str, str]]:
    return {(r.block.dataset.name, r.block.name, r.site.name) for r in replicas}


@pytest.mark.parametrize(
    ("locks", "covered"),
    [
        ([], set()),
        ([lock(ZB_C)], {(ZB_C, B3, "T2_US_Purdue")}),
        (
            [lock(ZB_D)],
            {(ZB_D, B1, "T2_US_MIT"), (ZB_D, B2, "T2_US_MIT"), (ZB_D, B1, "T2_CH_CERN")},
        ),
        ([lock(f"{ZB_D}#{B1}")], {(ZB_D, B1, "T2_US_MIT"), (ZB_D, B1, "T2_CH_CERN")}),
        ([lock(ZB_D, sites="T2_US_*")], {(ZB_D, B1, "T2_US_MIT"), (ZB_D, B2, "T2_US_MIT")}),
        ([lock(ZB_D, groups="DataOps")], {(ZB_D, B2, "T2_US_MIT")}),
        (
            [lock("/ZeroBias/*/AOD", sites="T2_US_*")],
            {(ZB_D, B1, "T2_US_MIT"), (ZB_D, B2, "T2_US_MIT"), (ZB_C, B3, "T2_US_Purdue")},
        ),
        (
            [lock("/*/*/MINIAOD"), lock(ZB_C, 2)],
            {(MU_D, B4, "T2_US_MIT"), (ZB_C, B3, "T2_US_Purdue")},
        ),
        (
            [lock("/*/Run2018D*/*", groups="DataOps")],
            {(ZB_D, B2, "T2_US_MIT"), (MU_D, B4, "T2_US_MIT")},
        ),
        ([lock("/No/Such/AOD"), lock("/Nothing/*/*", 2)], set()),
    ],
)
def test_locks_cover_the_block_replicas_their_item_sites_and_groups_select(
    inventory: Inventory, locks: list[ReplicaLock], covered: set[tuple[str, str, str]]
) -> None:
    assert keys(locked_block_replicas(inventory, locks)) == covered
    index = LockIndex(locks)
    assert {
        k for r in inventory.iter_block_replicas() if index.covers(r) for k in keys({r})
    } == covered


def test_an_expired_lock_covers_nothing_once_filtered(inventory: Inventory) -> None:
    locks = [lock(ZB_D, expires=NOW), lock(ZB_C, 2)]
    assert keys(locked_block_replicas(inventory, active_locks(locks, NOW))) == {
        (ZB_C, B3, "T2_US_Purdue")
    }


def test_the_locks_covering_a_replica_are_named(inventory: Inventory) -> None:
    index = LockIndex([lock(ZB_D, 1), lock("/ZeroBias/*", 2), lock(ZB_C, 3)])
    replica = inventory.find_block_replica(ZB_D, B1, "T2_US_MIT")
    assert replica is not None
    assert sorted(found.id for found in index.locks_covering(replica)) == [1, 2]
    assert len(index) == 3
