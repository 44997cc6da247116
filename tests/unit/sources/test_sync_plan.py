"""plan_sync: a source's view against hand-built inventories, with conflicts and their rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dynamo.model import (
    DatasetStatus,
    DeleteFile,
    File,
    Inventory,
    MemoryFileCatalog,
    UpsertFile,
    violations,
)
from dynamo.sources import (
    Deletions,
    MemorySource,
    Snapshot,
    SourceBlock,
    SourceBlockReplica,
    SourceDataset,
    SourceFile,
    SourceFormatError,
    SourceReplica,
    SourceSite,
    parse_document,
    plan_sync,
    read_snapshot,
)
from unit.policy.builders import GB, NOW, Builder, block_name

A = "/ZeroBias/Run2018D-PromptReco-v2/AOD"
B = "/SingleMuon/Run2017F-31Mar2018-v1/MINIAOD"
C = "/DYJetsToLL_M-50_TuneCP5_13TeV-madgraphMLM-pythia8/RunIIFall17MiniAODv2-PU2017_12Apr2018_94X_mc2017_realistic_v14-v1/MINIAODSIM"
ALL = frozenset({"sites", "datasets", "replicas"})


def world() -> Inventory:
    return (
        Builder()
        .site("T2_US_MIT")
        .site("T2_CH_CERN")
        .dataset(A)
        .dataset(B)
        .replica(A, "T2_US_MIT")
        .replica(B, "T2_CH_CERN", "DataOps")
        .build()
    )


def source_dataset(name: str, blocks: int = 2) -> SourceDataset:
    return SourceDataset(
        name=name,
        last_update=NOW - 400 * 86_400,
        blocks=tuple(
            SourceBlock(
                name=block_name(name, i),
                size=GB,
                num_files=10,
                last_update=NOW - 400 * 86_400,
            )
            for i in range(blocks)
        ),
    )


def source_replica(dataset: str, site: str, group: str = "AnalysisOps") -> SourceReplica:
    return SourceReplica(
        dataset=dataset,
        site=site,
        group=group,
        blocks=tuple(
            SourceBlockReplica(block=block_name(dataset, i), last_update=NOW - 300 * 86_400)
            for i in range(2)
        ),
    )


def mirror() -> Snapshot:
    """The source's view of world(), exactly."""
    return Snapshot(
        as_of=NOW,
        sections=ALL,
        sites=(SourceSite(name="T2_US_MIT"), SourceSite(name="T2_CH_CERN")),
        datasets=(source_dataset(A), source_dataset(B)),
        replicas=(source_replica(A, "T2_US_MIT"), source_replica(B, "T2_CH_CERN", "DataOps")),
    )


def apply(inventory: Inventory, snapshot: Snapshot, *, full: bool = True) -> Inventory:
    plan = plan_sync(inventory, snapshot, full=full)
    inventory.apply(plan.changeset)
    assert violations(inventory) == []
    return inventory


def test_a_source_that_agrees_with_the_inventory_plans_nothing() -> None:
    plan = plan_sync(world(), mirror(), full=True)
    assert plan.changeset.ops == ()
    assert plan.conflicts == ()


def test_a_full_import_into_an_empty_inventory_then_agrees() -> None:
    empty = Builder().build()
    imported = apply(empty, mirror())
    assert set(imported.datasets) == {A, B}
    assert imported.num_block_replicas == 4
    assert plan_sync(imported, mirror(), full=True).changeset.ops == ()


def test_an_incremental_sync_adds_a_dataset_and_a_replica_and_deletes_one() -> None:
    delta = Snapshot(
        as_of=NOW,
        sections=frozenset({"datasets", "replicas"}),
        datasets=(source_dataset(C),),
        replicas=(source_replica(C, "T2_US_MIT"), source_replica(A, "T2_CH_CERN")),
        deleted=Deletions(replicas=((B, "T2_CH_CERN"),)),
    )
    inventory = apply(world(), delta, full=False)
    assert {(r.dataset.name, r.site.name) for r in inventory.iter_dataset_replicas()} == {
        (A, "T2_US_MIT"),
        (A, "T2_CH_CERN"),
        (C, "T2_US_MIT"),
    }
    assert B in inventory.datasets  # an incremental sync deletes only what it is told


def test_a_dataset_deleted_upstream_with_replicas_is_marked_deleted_and_reported() -> None:
    snapshot = replace(mirror(), datasets=(source_dataset(B),), replicas=mirror().replicas[1:])
    plan = plan_sync(world(), snapshot, full=True)
    inventory = apply(world(), snapshot)
    assert inventory.datasets[A].status == DatasetStatus.DELETED
    assert inventory.num_block_replicas == 4  # left for Detox
    [conflict] = plan.conflicts
    assert (conflict.kind, conflict.subject) == ("dataset_deleted_with_replicas", A)
    assert "left for Detox" in conflict.resolution


def test_a_dataset_deleted_upstream_without_replicas_is_deleted() -> None:
    inventory = Builder().site("T2_US_MIT").dataset(A).dataset(B).build()
    snapshot = Snapshot(sections=frozenset({"datasets"}), datasets=(source_dataset(B),))
    assert set(apply(inventory, snapshot).datasets) == {B}


def test_a_complete_replica_missing_upstream_is_deleted_and_reported() -> None:
    snapshot = replace(mirror(), replicas=mirror().replicas[:1])
    plan = plan_sync(world(), snapshot, full=True)
    inventory = apply(world(), snapshot)
    assert inventory.datasets[B].replicas == {}
    assert {c.kind for c in plan.conflicts} == {"replica_missing_upstream"}


def test_an_incomplete_replica_missing_upstream_is_a_transfer_and_kept() -> None:
    inventory = (
        Builder().site("T2_US_MIT").dataset(A).replica(A, "T2_US_MIT", incomplete=(0, 1)).build()
    )
    snapshot = Snapshot(
        sections=ALL, sites=(SourceSite(name="T2_US_MIT"),), datasets=(source_dataset(A),)
    )
    plan = plan_sync(inventory, snapshot, full=True)
    assert plan.changeset.ops == ()
    assert [c.kind for c in plan.conflicts] == ["transfer_not_upstream"] * 2


def test_an_existing_replica_keeps_dynamos_group_even_the_null_group() -> None:
    inventory = Builder().site("T2_US_MIT").dataset(A).replica(A, "T2_US_MIT", None).build()
    snapshot = Snapshot(
        sections=frozenset({"replicas"}), replicas=(source_replica(A, "T2_US_MIT"),)
    )
    plan = plan_sync(inventory, snapshot, full=True)
    assert plan.changeset.ops == ()
    assert [c.kind for c in plan.conflicts] == ["group_differs"]


@pytest.mark.parametrize(
    ("replica", "kind"),
    [
        (source_replica("/Unknown/Dataset-v1/AOD", "T2_US_MIT"), "unknown_dataset"),
        (source_replica(A, "T3_XX_Nowhere"), "unknown_site"),
    ],
)
def test_a_replica_of_something_unknown_is_skipped_and_reported(
    replica: SourceReplica, kind: str
) -> None:
    snapshot = Snapshot(sections=frozenset({"replicas"}), replicas=(replica,))
    plan = plan_sync(world(), snapshot, full=False)
    assert plan.changeset.ops == ()
    assert [c.kind for c in plan.conflicts] == [kind]


def test_a_quota_of_an_unknown_partition_is_skipped_and_a_known_one_set() -> None:
    site = SourceSite(name="T2_US_MIT", quotas=(("AnalysisOps", 5 * GB), ("NoSuch", 1)))
    snapshot = Snapshot(sections=frozenset({"sites"}), sites=(site,))
    plan = plan_sync(world(), snapshot, full=False)
    inventory = apply(world(), snapshot, full=False)
    share = inventory.site_partition("T2_US_MIT", "AnalysisOps")
    assert share.quota == 5 * GB
    assert [c.kind for c in plan.conflicts] == ["unknown_partition"]


def test_a_site_the_source_stops_listing_is_kept_and_reported() -> None:
    snapshot = replace(mirror(), sites=(SourceSite(name="T2_US_MIT"),))
    plan = plan_sync(world(), snapshot, full=True)
    assert [(c.kind, c.subject) for c in plan.conflicts] == [
        ("site_missing_upstream", "T2_CH_CERN")
    ]


def test_the_memory_source_gives_back_its_sections() -> None:
    assert read_snapshot(MemorySource(mirror()), None) == mirror()


def test_a_document_round_trips_into_a_snapshot_and_bad_ones_name_the_path() -> None:
    doc = {
        "version": 1,
        "as_of": NOW,
        "sites": [{"name": "T2_US_MIT", "storage_type": "disk", "quotas": {"AnalysisOps": 1}}],
        "datasets": [{"name": A, "blocks": [{"name": "b1", "size": 1, "num_files": 1}]}],
    }
    snapshot = parse_document(doc)
    assert snapshot.sections == {"sites", "datasets"}
    assert snapshot.sites[0].quotas == (("AnalysisOps", 1),)
    doc["datasets"] = [{"name": A, "blocks": [{"name": "b1", "size": -1, "num_files": 1}]}]
    with pytest.raises(SourceFormatError, match=r"\$\.datasets\[0\]\.blocks\[0\]\.size"):
        parse_document(doc)


def test_a_changed_block_has_its_files_compared_with_the_catalog() -> None:
    inventory = Builder().site("T2_US_MIT").dataset(A, blocks=1).build()
    name = block_name(A, 0)
    catalog = MemoryFileCatalog(
        [
            File(lfn="/store/a/1.root", dataset=A, block=name, size=GB // 2),
            File(lfn="/store/a/2.root", dataset=A, block=name, size=GB // 2),
        ]
    )
    grown = SourceBlock(
        name=name,
        size=GB + GB // 2,
        num_files=2,
        files=(
            SourceFile(lfn="/store/a/2.root", size=GB // 2),
            SourceFile(lfn="/store/a/3.root", size=GB),
        ),
    )
    dataset = replace(source_dataset(A, blocks=1), blocks=(grown,))
    snapshot = Snapshot(sections=frozenset({"datasets"}), datasets=(dataset,))
    plan = plan_sync(inventory, snapshot, full=False, files=catalog)
    assert [op.lfn for op in plan.changeset.ops if isinstance(op, DeleteFile)] == [
        "/store/a/1.root"
    ]
    assert [op.lfn for op in plan.changeset.ops if isinstance(op, UpsertFile)] == [
        "/store/a/2.root",
        "/store/a/3.root",
    ]


def test_a_block_gone_upstream_with_replicas_is_kept_and_reported() -> None:
    snapshot = replace(
        mirror(), datasets=(source_dataset(A, blocks=1), source_dataset(B)), replicas=()
    )
    snapshot = replace(snapshot, sections=frozenset({"datasets"}))
    plan = plan_sync(world(), snapshot, full=True)
    assert plan.changeset.ops == ()
    [conflict] = plan.conflicts
    assert conflict.kind == "block_deleted_with_replicas"
    assert conflict.subject == f"{A}#{block_name(A, 1)}"


def test_new_replicas_without_a_group_take_the_default_group_which_is_created() -> None:
    inventory = Builder().site("T2_US_MIT").dataset(A).build()
    replica = SourceReplica(dataset=A, site="T2_US_MIT")
    snapshot = Snapshot(sections=frozenset({"replicas"}), replicas=(replica,))
    plan = plan_sync(inventory, snapshot, full=False, default_group="Imported")
    inventory.apply(plan.changeset)
    [copy] = inventory.iter_dataset_replicas()
    assert copy.group.name == "Imported"
    assert all(r.group.name == "Imported" for r in copy.block_replicas.values())


def test_a_new_block_of_a_replica_dynamo_owns_takes_the_replicas_group() -> None:
    inventory = (
        Builder().site("T2_US_MIT").dataset(A, blocks=1).replica(A, "T2_US_MIT", None).build()
    )
    snapshot = Snapshot(
        sections=frozenset({"datasets", "replicas"}),
        datasets=(source_dataset(A, blocks=2),),
        replicas=(source_replica(A, "T2_US_MIT"),),
    )
    inventory = apply(inventory, snapshot, full=False)
    owners = {r.block.name: r.group.name for r in inventory.iter_block_replicas()}
    assert owners == {block_name(A, 0): None, block_name(A, 1): None}
