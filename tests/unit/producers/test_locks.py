"""The ``locks`` producer locks what the active locks of the registry cover, whole or per block."""

from __future__ import annotations

import pytest

from dynamo.model import Inventory
from dynamo.policy import Attributes
from dynamo.policy.attributes import LOCKED_BLOCKS
from dynamo.producers.locks import LockProducer
from dynamo.registry import LockDraft, MemoryRegistryStore
from unit.policy.builders import DAY, NOW, Builder, block_name

ZB_D, ZB_C, MU = "/ZeroBias/Run2018D-v1/AOD", "/ZeroBias/Run2018C-v1/AOD", "/Mu/Run2018D-v1/MINIAOD"
MIT, DESY, CERN = "T2_US_MIT", "T2_DE_DESY", "T2_CH_CERN"
DN = "/DC=ch/DC=cern/OU=Users/CN=alice"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    b = Builder().site(MIT).site(DESY).site(CERN)
    b.dataset(ZB_D).dataset(ZB_C).dataset(MU, blocks=1)
    b.replica(ZB_D, MIT, owners={0: "DataOps"}).replica(ZB_D, DESY)
    b.replica(ZB_C, MIT).replica(MU, CERN)
    return b.build()


def draft(item: str, *, sites: str | None = None, groups: str | None = None) -> LockDraft:
    return LockDraft(
        item=item, sites=sites, groups=groups, expires=NOW + DAY, comment="", user="alice", dn=DN
    )


def locked(
    inventory: Inventory, *drafts: LockDraft
) -> tuple[Attributes, set[tuple[str, int, str]]]:
    registry = MemoryRegistryStore()
    for each in drafts:
        registry.submit_lock(each, NOW - 10)
    attributes = Attributes()
    LockProducer(registry).load(inventory, attributes, NOW)
    found = set()
    for br in inventory.iter_block_replicas():
        if attributes.is_locked(br):
            index = int(br.block.name[-12:])
            found.add((br.block.dataset.name, index, br.site.name))
    return attributes, found


@pytest.mark.parametrize(
    ("drafts", "expected"),
    [
        ([], set()),
        ([draft(ZB_C)], {(ZB_C, 0, MIT), (ZB_C, 1, MIT)}),
        (
            [draft(ZB_D)],
            {(ZB_D, 0, MIT), (ZB_D, 1, MIT), (ZB_D, 0, DESY), (ZB_D, 1, DESY)},
        ),
        ([draft(f"{ZB_D}#{block_name(ZB_D, 1)}")], {(ZB_D, 1, MIT), (ZB_D, 1, DESY)}),
        ([draft(ZB_D, sites="T2_DE_*")], {(ZB_D, 0, DESY), (ZB_D, 1, DESY)}),
        ([draft(ZB_D, groups="DataOps")], {(ZB_D, 0, MIT)}),
        (
            [draft("/ZeroBias/*/AOD", sites="T2_US_*")],
            {(ZB_D, 0, MIT), (ZB_D, 1, MIT), (ZB_C, 0, MIT), (ZB_C, 1, MIT)},
        ),
        ([draft("/*/*/MINIAOD"), draft("/No/Such/AOD")], {(MU, 0, CERN)}),
    ],
)
def test_the_producer_locks_exactly_the_block_replicas_the_active_locks_cover(
    inventory: Inventory, drafts: list[LockDraft], expected: set[tuple[str, int, str]]
) -> None:
    _, found = locked(inventory, *drafts)
    assert found == expected


def test_a_replica_whose_blocks_are_all_covered_is_locked_whole(inventory: Inventory) -> None:
    attributes, _ = locked(inventory, draft(ZB_D, groups="*Ops"), draft(MU, sites="T2_CH_*"))
    # whole-replica locks are stored without a block list: the evaluation's fastest check
    assert attributes._locks == {(ZB_D, MIT): None, (ZB_D, DESY): None, (MU, CERN): None}


def test_a_lock_on_some_blocks_stores_those_blocks(inventory: Inventory) -> None:
    attributes, found = locked(inventory, draft(ZB_D, groups="DataOps"))
    assert attributes.num_locks == 1
    assert attributes.has_locks(ZB_D)
    assert not attributes.has_locks(ZB_C)
    assert found == {(ZB_D, 0, MIT)}


def test_expired_and_released_locks_lock_nothing(inventory: Inventory) -> None:
    registry = MemoryRegistryStore()
    expired = LockDraft(
        item=ZB_D, sites=None, groups=None, expires=NOW, comment="", user="alice", dn=DN
    )
    registry.submit_lock(expired, NOW - 10)
    released, _ = registry.submit_lock(draft(ZB_C), NOW - 10)
    registry.release_lock(released.id, dn=DN, is_admin=False, now=NOW - 5)
    attributes = Attributes()
    LockProducer(registry).load(inventory, attributes, NOW)
    assert attributes.num_locks == 0


def test_the_producer_declares_the_locked_blocks_attribute() -> None:
    assert LockProducer(MemoryRegistryStore()).produces == frozenset({LOCKED_BLOCKS})
