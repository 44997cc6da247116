"""Writes of the Dealer history (tables of :mod:`dynamo.store.schema.dealer`).

As Detox's, in two steps: :func:`record_cycle` writes the cycle (``planned``, or ``test`` for
a dry run) and one row per proposal examined, from wherever the plan was made;
:func:`commit_cycle`, inside the transaction that commits the cycle's ChangeSet (the new
incomplete replicas), marks it ``committed`` with its log seq and subscribes every file of
every copied block for transfer (file operations, origin ``dealer``). A ``planned`` cycle
never committed is marked ``abandoned`` by :func:`abandon_planned`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from sqlalchemy import Connection, Engine

from dynamo.dealer.plan import DealerPlan, Subscription
from dynamo.dealer.proposals import Proposal
from dynamo.errors import ConfigurationError
from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import block_files, subscribe
from dynamo.store.cycles import abandon_planned as abandon_planned_cycles
from dynamo.store.cycles import commit_planned, insert_failed, insert_planned, recording
from dynamo.store.schema.dealer import dealer_copies, dealer_cycles

__all__ = [
    "COMMIT_RECORD",
    "abandon_planned",
    "commit_cycle",
    "commit_records",
    "record_cycle",
    "record_failed_cycle",
]

COMMIT_RECORD: Final = "dealer.commit"
"""The kind of the application record that commits a Dealer cycle."""


def record_cycle(
    engine: Engine,
    plan: DealerPlan,
    *,
    dry_run: bool,
    started: int,
    finished: int,
    run_id: int | None = None,
) -> int:
    """Write the cycle and its proposal rows in one transaction; returns its id."""
    with recording(engine, "Dealer") as conn:
        cycle_id = insert_planned(
            conn,
            dealer_cycles,
            partition=plan.partition,
            dry_run=dry_run,
            started=started,
            finished=finished,
            seed=plan.seed,
            run_id=run_id,
            summary=plan.summary(),
        )
        rows = list(_rows(cycle_id, plan))
        if rows:
            conn.execute(dealer_copies.insert(), rows)
    return cycle_id


def record_failed_cycle(
    engine: Engine, *, partition: str, error: str, started: int, finished: int, run_id: int | None
) -> int:
    """A cycle that could not plan, kept for the record."""
    with recording(engine, "Dealer") as conn:
        return insert_failed(
            conn,
            dealer_cycles,
            partition=partition,
            error=error,
            started=started,
            finished=finished,
            run_id=run_id,
        )


def commit_cycle(
    conn: Connection,
    cycle_id: int,
    subscriptions: Sequence[Sequence[str]],
    *,
    log_seq: int | None,
    now: int,
) -> int:
    """Inside the commit's transaction: mark the cycle committed and subscribe the transfers
    of its ``[site, dataset, block]`` rows; returns the files subscribed."""
    commit_planned(conn, dealer_cycles, cycle_id, application="Dealer", log_seq=log_seq, now=now)
    count = 0
    for site, dataset, block in subscriptions:
        refs = block_files(conn, dataset, block)
        summary = subscribe(
            conn, OpKind.TRANSFER, site, refs, origin="dealer", origin_id=cycle_id, now=now
        )
        count += summary.created + summary.revived
    return count


def commit_records(
    conn: Connection, records: list[dict[str, Any]], seq: int | None, now: int
) -> None:
    """The server side of a Dealer run: commit each cycle of ``records``."""
    for record in records:
        if record.get("kind") != COMMIT_RECORD:
            raise ConfigurationError(f"not a Dealer record: {record.get('kind')!r}")
        commit_cycle(conn, int(record["cycle"]), record["subscriptions"], log_seq=seq, now=now)


def commit_record(cycle_id: int, subscriptions: Sequence[Subscription]) -> dict[str, Any]:
    """The application record that commits cycle ``cycle_id``."""
    return {
        "kind": COMMIT_RECORD,
        "cycle": cycle_id,
        "subscriptions": [[s.site, s.dataset, s.block] for s in subscriptions],
    }


def abandon_planned(engine: Engine, *, now: int) -> int:
    """Mark planned cycles that were never committed as abandoned; returns how many."""
    return abandon_planned_cycles(engine, dealer_cycles, what="Dealer history", now=now)


def _rows(cycle_id: int, plan: DealerPlan) -> Iterator[dict[str, Any]]:
    for copy in plan.copies:
        yield _row(
            cycle_id,
            copy.proposal,
            site=copy.site,
            group=copy.group,
            size=copy.size,
            status="accepted",
            block=copy.blocks[0]
            if copy.proposal.blocks is not None and len(copy.blocks) == 1
            else None,
        )
    for rejection in plan.rejections:
        p = rejection.proposal
        yield _row(
            cycle_id,
            p,
            site=p.sites[0] if p.sites is not None and len(p.sites) == 1 else None,
            group=p.group,
            size=rejection.size,
            status="rejected",
            reject_reason=rejection.reason,
            block=p.blocks[0] if p.blocks is not None and len(p.blocks) == 1 else None,
        )


def _row(cycle_id: int, proposal: Proposal, **values: Any) -> dict[str, Any]:
    reason = proposal.reason
    if proposal.blocks is not None and len(proposal.blocks) > 1:
        reason += f" ({len(proposal.blocks)} blocks)"
    return {
        "cycle_id": cycle_id,
        "plugin": proposal.plugin,
        "priority": proposal.priority,
        "dataset": proposal.dataset,
        "reason": reason,
        "request_id": proposal.request_id,
        "reject_reason": None,
        **values,
    }
