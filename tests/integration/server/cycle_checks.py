"""Consistency of the Detox and Dealer histories after a fault (a killed server, a database
outage), for the server fault tests.

Detox: a committed cycle has its log entry and its queued deletions (a cycle that deleted
nothing commits no log entry), and every queued deletion's block replica was handed to the
null group in the same commit; a cycle that did not commit queued nothing.
Dealer: a committed cycle that placed copies has its log entry, its transfer subscriptions
and its replicas; a cycle that did not commit subscribed nothing.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from dynamo.store.schema import (
    block_replicas,
    blocks,
    dataset_replicas,
    datasets,
    inventory_log,
    sites,
)
from dynamo.store.schema.applications import app_runs
from dynamo.store.schema.dealer import dealer_copies, dealer_cycles
from dynamo.store.schema.detox import detox_cycles, replica_deletions
from dynamo.store.schema.fileops import fileop_subscriptions

__all__ = [
    "assert_dealer_consistent",
    "assert_detox_consistent",
    "planned_cycles_of_finished_runs",
]


def assert_detox_consistent(engine: Engine, *, allow_planned: bool = False) -> None:
    """No Detox cycle half-committed (module docstring); ``allow_planned``: a cycle whose
    commit failed may still be planned (the server abandons it at its next start)."""
    with engine.connect() as conn:
        cycles = conn.execute(
            select(detox_cycles.c.id, detox_cycles.c.status, detox_cycles.c.log_seq)
        ).all()
        queued = conn.execute(
            select(
                replica_deletions.c.cycle_id,
                replica_deletions.c.dataset,
                replica_deletions.c.block,
                replica_deletions.c.site,
            )
        ).all()
        seqs = set(conn.execute(select(inventory_log.c.seq)).scalars())
        owners = {
            (dataset, block, site): group
            for dataset, block, site, group in conn.execute(
                select(datasets.c.name, blocks.c.name, sites.c.name, block_replicas.c.group_id)
                .select_from(block_replicas)
                .join(blocks, blocks.c.id == block_replicas.c.block_id)
                .join(datasets, datasets.c.id == blocks.c.dataset_id)
                .join(sites, sites.c.id == block_replicas.c.site_id)
            )
        }
    statuses = {status for _, status, _ in cycles}
    if not allow_planned:
        assert "planned" not in statuses, "a cycle was left planned after the restart"
    assert "committed" in statuses, "no cycle committed between the kills"
    committed = {cid for cid, status, _ in cycles if status == "committed"}
    with_deletions = {row.cycle_id for row in queued}
    assert with_deletions <= committed, "deletions of an uncommitted cycle"
    for cid, status, log_seq in cycles:
        if status == "committed" and cid in with_deletions:
            assert log_seq in seqs, f"cycle {cid} queued deletions without its log entry"
        if status == "committed" and log_seq is None:
            assert cid not in with_deletions, f"cycle {cid}: an empty commit queued deletions"
    assert queued, "the over-full site's cycles queued deletions"
    for row in queued:
        key = (row.dataset, row.block, row.site)
        assert key in owners, f"{key}: queued for deletion but the replica is gone"
        assert owners[key] is None, f"{key}: queued for deletion but still owned"


def assert_dealer_consistent(engine: Engine, *, allow_planned: bool = False) -> None:
    """No Dealer cycle half-committed (module docstring); ``allow_planned`` as for Detox."""
    with engine.connect() as conn:
        cycles = conn.execute(
            select(dealer_cycles.c.id, dealer_cycles.c.status, dealer_cycles.c.log_seq)
        ).all()
        accepted = conn.execute(
            select(dealer_copies.c.cycle_id, dealer_copies.c.dataset, dealer_copies.c.site).where(
                dealer_copies.c.status == "accepted"
            )
        ).all()
        subscribed = dict(
            conn.execute(
                select(fileop_subscriptions.c.origin_id, func.count())
                .where(fileop_subscriptions.c.origin == "dealer")
                .group_by(fileop_subscriptions.c.origin_id)
            ).all()
        )
        seqs = set(conn.execute(select(inventory_log.c.seq)).scalars())
        placed = set(
            conn.execute(
                select(datasets.c.name, sites.c.name)
                .select_from(dataset_replicas)
                .join(datasets, datasets.c.id == dataset_replicas.c.dataset_id)
                .join(sites, sites.c.id == dataset_replicas.c.site_id)
            ).all()
        )
    statuses = {cid: status for cid, status, _ in cycles}
    if not allow_planned:
        assert "planned" not in statuses.values(), "a Dealer cycle was left planned"
    committed_with_copies = {cid for cid, _, _ in accepted if statuses[cid] == "committed"}
    assert committed_with_copies, "no cycle placed copies between the kills"
    for cid, status, log_seq in cycles:
        if status != "committed":
            assert cid not in subscribed, f"cycle {cid} ({status}) subscribed transfers"
        elif cid in committed_with_copies:
            assert log_seq in seqs, f"cycle {cid}: committed without its log entry"
            assert subscribed.get(cid), f"cycle {cid}: committed without its subscriptions"
    for cid, dataset, site in accepted:
        if cid in committed_with_copies:
            assert (dataset, site) in placed, f"cycle {cid}: {dataset} not placed at {site}"


def planned_cycles_of_finished_runs(engine: Engine) -> list[tuple[str, int]]:
    """Detox and Dealer cycles still ``planned`` although their run has ended: a leader
    abandons them when it starts to lead, so none should outlive a restart or a failover."""
    finished = ("done", "failed", "killed", "timeout", "authfailed")
    found = []
    with engine.connect() as conn:
        for name, table in (("detox", detox_cycles), ("dealer", dealer_cycles)):
            planned = dict(
                conn.execute(
                    select(table.c.id, table.c.run_id).where(table.c.status == "planned")
                ).all()
            )
            for cycle_id, run_id in planned.items():
                status = conn.execute(
                    select(app_runs.c.status).where(app_runs.c.id == run_id)
                ).scalar_one_or_none()
                if status in finished:
                    found.append((name, cycle_id))
    return found
