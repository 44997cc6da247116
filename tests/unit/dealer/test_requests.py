"""Copy requests through Dealer cycles: activation, rejection, promotion, tracking."""

from __future__ import annotations

from dealer_data import GB, NOW, grid, options, sample
from dynamo.dealer import DealerConfig, PlugInSettings, apply_request_updates, run_cycle
from dynamo.model import (
    ChangeSet,
    DeleteDataset,
    DeleteDatasetReplica,
    Inventory,
    SetQuota,
    UpsertBlockReplica,
)
from dynamo.registry import (
    ActionStatus,
    MemoryRegistryStore,
    RequestDraft,
    RequestKind,
    RequestStatus,
)
from unit.policy.builders import Builder, block_name

CONFIG = DealerConfig(
    options=options(),
    plugins=(PlugInSettings(name="requests", kind="requests", priority=1, config={}),),
)


def _request(
    registry: MemoryRegistryStore,
    items: tuple[str, ...],
    sites: tuple[str, ...],
    *,
    n: int = 1,
    group: str | None = None,
) -> int:
    draft = RequestDraft(
        kind=RequestKind.COPY,
        user="alice",
        dn="/CN=alice",
        items=items,
        sites=sites,
        group=group,
        n=n,
    )
    request, _ = registry.submit_request(draft, NOW)
    return request.id


def _cycle(inventory: Inventory, registry: MemoryRegistryStore, now: int = NOW) -> None:
    """One cycle, its request updates and its ChangeSet applied."""
    result = run_cycle(inventory, CONFIG, now=now, engine=None, registry=registry)
    apply_request_updates(registry, result.request_updates)
    inventory.apply(result.changeset)


def _world() -> tuple[Builder, Inventory]:
    b = grid({"T2_A": 100, "T2_B": 100, "T2_C": 100})
    sample(b, "/A/B/AOD", blocks=4)
    return b, b.build()


def _complete(inventory: Inventory, dataset: str, site: str) -> None:
    ops = [
        UpsertBlockReplica(
            dataset=dataset,
            block=block.name,
            site=site,
            group=replica.group.name,
            last_update=NOW,
        )
        for block, replica in inventory.sites[site]
        .dataset_replicas[inventory.datasets[dataset]]
        .block_replicas.items()
    ]
    inventory.apply(ChangeSet.of(ops))


def test_a_new_request_is_activated_by_the_next_cycle_and_completed_once_the_copy_is_done() -> None:
    _, inventory = _world()
    registry = MemoryRegistryStore()
    rid = _request(registry, ("/A/B/AOD",), ("T2_A", "T2_B"), n=1)
    _cycle(inventory, registry)
    request = registry.get_request(rid)
    assert request.status is RequestStatus.ACTIVATED
    [action] = request.actions
    assert action.status is ActionStatus.QUEUED
    assert action.site in ("T2_A", "T2_B")
    _cycle(inventory, registry)  # still in transfer
    assert registry.get_request(rid).status is RequestStatus.ACTIVATED
    _complete(inventory, "/A/B/AOD", action.site)
    _cycle(inventory, registry)
    request = registry.get_request(rid)
    assert request.status is RequestStatus.COMPLETED
    assert [a.status for a in request.actions] == [ActionStatus.COMPLETED]


def test_n_zero_asks_for_a_copy_at_every_requested_site() -> None:
    _, inventory = _world()
    registry = MemoryRegistryStore()
    rid = _request(registry, ("/A/B/AOD",), ("T2_A", "T2_B", "T2_C"), n=0)
    _cycle(inventory, registry)
    assert sorted(a.site for a in registry.get_request(rid).actions) == ["T2_A", "T2_B", "T2_C"]


def test_a_request_already_satisfied_is_completed_at_once() -> None:
    b = grid({"T2_A": 100})
    sample(b, "/A/B/AOD", at=("T1_XX_Tape", "T2_A"))
    inventory = b.build()
    registry = MemoryRegistryStore()
    rid = _request(registry, ("/A/B/AOD",), ("T2_A",))
    _cycle(inventory, registry)
    assert registry.get_request(rid).status is RequestStatus.COMPLETED


def test_requests_for_unknown_groups_items_and_oversized_data_are_rejected() -> None:
    _, inventory = _world()
    registry = MemoryRegistryStore()
    bad_group = _request(registry, ("/A/B/AOD",), ("T2_A",), group="Nobody")
    bad_item = _request(registry, ("/No/Such/AOD",), ("T2_A",))
    no_target = _request(registry, ("/A/B/AOD",), ("T1_XX_Tape",))
    _cycle(inventory, registry)
    assert registry.get_request(bad_group).reject_reason == "unknown group Nobody"
    assert registry.get_request(bad_item).reject_reason == "unknown item /No/Such/AOD"
    assert registry.get_request(no_target).reject_reason == (
        "no target site among the requested sites"
    )
    small = DealerConfig(
        options=options(),
        plugins=(
            PlugInSettings(
                name="requests", kind="requests", priority=1, config={"max_size": 3 * GB / 1e12}
            ),
        ),
    )
    big = _request(registry, ("/A/B/AOD",), ("T2_A",))
    result = run_cycle(inventory, small, now=NOW, engine=None, registry=registry)
    apply_request_updates(registry, result.request_updates)
    assert registry.get_request(big).status is RequestStatus.REJECTED


def test_blocks_adding_up_to_most_of_a_dataset_become_a_dataset_request() -> None:
    _, inventory = _world()
    registry = MemoryRegistryStore()
    blocks = tuple(f"/A/B/AOD#{block_name('/A/B/AOD', i)}" for i in range(3))
    few = _request(registry, blocks[:1], ("T2_A",))
    many = _request(registry, blocks, ("T2_B",))
    result = run_cycle(inventory, CONFIG, now=NOW, engine=None, registry=registry)
    by_request = {c.proposal.request_id: c for c in result.plan.copies}
    assert by_request[few].proposal.blocks == (block_name("/A/B/AOD", 0),)
    assert by_request[many].proposal.blocks is None
    assert len(by_request[many].blocks) == 4


def test_a_request_that_does_not_fit_stays_new_and_is_tried_again() -> None:
    b = grid({"T2_A": 3})
    sample(b, "/A/B/AOD", blocks=4)
    inventory = b.build()
    registry = MemoryRegistryStore()
    rid = _request(registry, ("/A/B/AOD",), ("T2_A",))
    _cycle(inventory, registry)
    assert registry.get_request(rid).status is RequestStatus.NEW


def test_a_vanished_replica_is_proposed_again_after_the_grace_period() -> None:
    _, inventory = _world()
    registry = MemoryRegistryStore()
    rid = _request(registry, ("/A/B/AOD",), ("T2_A",))
    _cycle(inventory, registry)
    inventory.apply(ChangeSet.of([DeleteDatasetReplica(dataset="/A/B/AOD", site="T2_A")]))
    early = run_cycle(inventory, CONFIG, now=NOW + 60, engine=None, registry=registry)
    assert early.plan.copies == []
    late = run_cycle(inventory, CONFIG, now=NOW + 3600, engine=None, registry=registry)
    assert [(c.site, c.proposal.request_id) for c in late.plan.copies] == [("T2_A", rid)]


def test_a_dry_run_updates_no_request_and_changes_nothing() -> None:
    _, inventory = _world()
    registry = MemoryRegistryStore()
    _request(registry, ("/A/B/AOD",), ("T2_A",))
    result = run_cycle(inventory, CONFIG, now=NOW, engine=None, registry=registry, dry_run=True)
    assert result.plan.copies
    assert not result.changeset
    assert result.request_updates == ()


def test_a_site_without_room_gets_its_copy_later_once_room_is_made() -> None:
    b = grid({"T2_A": 100, "T2_Small": 2})
    sample(b, "/A/B/AOD", blocks=2)
    inventory = b.build()
    registry = MemoryRegistryStore()
    rid = _request(registry, ("/A/B/AOD",), ("T2_A", "T2_Small"), n=0)
    _cycle(inventory, registry)
    actions = {a.site: a.status for a in registry.get_request(rid).actions}
    assert actions == {"T2_A": ActionStatus.QUEUED, "T2_Small": ActionStatus.NEW}
    inventory.apply(
        ChangeSet.of([SetQuota(site="T2_Small", partition="AnalysisOps", quota=100 * GB)])
    )
    _cycle(inventory, registry, now=NOW + 60)  # within the grace period
    assert {a.site: a.status for a in registry.get_request(rid).actions}["T2_Small"] is (
        ActionStatus.NEW
    )
    _cycle(inventory, registry, now=NOW + 3600)
    actions = {a.site: a.status for a in registry.get_request(rid).actions}
    assert actions == {"T2_A": ActionStatus.QUEUED, "T2_Small": ActionStatus.QUEUED}


def test_an_activated_request_whose_items_all_vanished_is_rejected() -> None:
    _, inventory = _world()
    registry = MemoryRegistryStore()
    rid = _request(registry, ("/A/B/AOD",), ("T2_A",))
    _cycle(inventory, registry)
    inventory.apply(ChangeSet.of([DeleteDataset(name="/A/B/AOD")]))
    _cycle(inventory, registry, now=NOW + 60)
    request = registry.get_request(rid)
    assert request.status is RequestStatus.REJECTED
    assert [a.status for a in request.actions] == [ActionStatus.FAILED]
