"""The scheduled ``sync`` application: registered by the server, run in a forked child, its
ChangeSet committed whole by the server with the users, demand and popularity (a record
written in the same transaction), its conflicts in the run's summary."""

from __future__ import annotations

from pathlib import Path

from dynamo.api.auth.directory import SqlUserDirectory
from dynamo.api.security import Role, Target
from dynamo.dealer import SqlJobQueue
from dynamo.policy import partition_compiler
from dynamo.server.schedconfig import SchedulerConfig
from dynamo.server.scheduler import build_scheduler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore, dataset_access_summary
from dynamo.store.appruns import RunStatus
from integration.server.sched_support import finished
from integration.sources.conftest import AS_OF, JDOE, NAMES, Upstream


async def test_the_server_runs_a_full_then_a_windowed_sync_from_an_http_source(
    upstream: tuple[Upstream, str], db: str, tmp_path: Path
) -> None:
    state, url = upstream
    store = SqlInventoryStore.open(db)
    service = InventoryService.load(store, partition_compiler=partition_compiler(now=AS_OF))
    config = SchedulerConfig(work_dir=tmp_path / "work", poll_seconds=0.02, default_timeout=60)
    scheduler = build_scheduler(service, store, config)
    assert scheduler is not None
    assert "sync" in scheduler.registry.names
    await scheduler.start()
    try:
        dry = await finished(
            scheduler, await scheduler.submit("sync", args={"source": url}, writes=False)
        )
        assert dry.status is RunStatus.DONE, dry.error
        assert dry.summary["dry_run"] is True
        assert NAMES[0] not in service.inventory.datasets
        full = await finished(
            scheduler, await scheduler.submit("sync", args={"source": url}, authorized=True)
        )
        assert full.status is RunStatus.DONE, full.error
        assert full.summary["mode"] == "full"
        assert set(NAMES[:3]) <= set(service.inventory.datasets)
        # the users and the demand came in the commit's transaction, by the record sink
        directory = SqlUserDirectory(store.engine, ttl=0)
        assert directory.principal_for(JDOE).grants == {(Role.OPERATOR, Target.INVENTORY)}
        assert [j.jobs for j in SqlJobQueue(store.engine).queued_jobs(AS_OF)] == [30]
        summary = dataset_access_summary(store.engine, since=0)
        assert {name: total for name, _last, total in summary} == {NAMES[0]: 7, NAMES[1]: 3}
        state.doc["deleted"] = {"datasets": [NAMES[2]]}
        delta = await finished(
            scheduler,
            await scheduler.submit("sync", args={"source": url, "window": 600}, authorized=True),
        )
        assert delta.status is RunStatus.DONE, delta.error
        assert delta.summary["mode"] == "incremental"
        assert [c["kind"] for c in delta.summary["conflicts"]] == [  # type: ignore[index,union-attr]
            "dataset_deleted_with_replicas",
            "unknown_dataset",  # the demand for a dataset nobody knows
        ]
        missing = await finished(
            scheduler, await scheduler.submit("sync", args={}, authorized=True)
        )
        assert missing.status is RunStatus.FAILED
        assert missing.log_path is not None
        assert "needs a 'source' argument" in Path(missing.log_path).read_text()
    finally:
        await scheduler.stop()
        store.close()
    reloaded = SqlInventoryStore.open(db)
    try:
        inventory, _ = reloaded.load(partition_compiler(now=AS_OF))
        assert inventory.datasets[NAMES[2]].status.name == "DELETED"
    finally:
        reloaded.close()
