"""Writes of the Detox history (tables of :mod:`dynamo.store.schema.detox`).

A cycle is written in two steps, so that a cycle of millions of decisions never holds the
inventory's write path:

1. :func:`record_cycle`, from wherever the plan was made (the application's child, the CLI):
   the cycle (status ``planned``, or ``test`` for a dry run), its policy lines, its sites and
   every decision row, in one transaction;
2. :func:`commit_cycle`, inside the transaction that commits the cycle's ChangeSet (the
   null-group hand-over): the cycle becomes ``committed`` with its log seq, and the deleted block
   replicas are queued for file operations in ``replica_deletions``.

A ``planned`` cycle whose commit never happened (the server died, the commit failed) is marked
``abandoned`` by :func:`abandon_planned` at the next start: it changed nothing.
:func:`last_policy` returns the policy text of a partition's newest cycle: the last good policy
when the policy file stops parsing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from dynamo.detox.plan import SAFETY_LINE, SAFETY_TEXT, Deletion, DetoxPlan
from dynamo.errors import StoreError
from dynamo.policy import Action, DetoxPolicy
from dynamo.store.bulk import bulk_insert, reset_id_sequences
from dynamo.store.cycles import abandon_planned as abandon_planned_cycles
from dynamo.store.cycles import commit_planned, insert_failed, insert_planned, recording
from dynamo.store.schema.detox import (
    detox_cycle_lines,
    detox_cycle_sites,
    detox_cycles,
    detox_decisions,
    replica_deletions,
)
from dynamo.store.sqlops import driver_message

__all__ = [
    "abandon_planned",
    "commit_cycle",
    "deletion_rows",
    "last_policy",
    "record_cycle",
    "record_failed_cycle",
]


def record_cycle(
    engine: Engine,
    plan: DetoxPlan,
    policy: DetoxPolicy,
    *,
    policy_text: str,
    policy_file: str | None,
    policy_error: str | None,
    dry_run: bool,
    started: int,
    finished: int,
    run_id: int | None = None,
    summary: dict[str, Any] | None = None,
) -> int:
    """Write the cycle, its lines, sites and decisions in one transaction; returns its id."""
    with recording(engine, "Detox") as conn:
        cycle_id = insert_planned(
            conn,
            detox_cycles,
            partition=plan.partition,
            dry_run=dry_run,
            started=started,
            finished=finished,
            seed=plan.seed,
            run_id=run_id,
            summary=summary if summary is not None else plan.summary(),
            **_policy_columns(policy_text, policy_file, policy_error),
        )
        conn.execute(detox_cycle_lines.insert(), _line_rows(cycle_id, plan, policy))
        if plan.sites:
            conn.execute(detox_cycle_sites.insert(), _site_rows(cycle_id, plan))
        _insert_decisions(conn, cycle_id, plan)
    return cycle_id


def record_failed_cycle(
    engine: Engine,
    *,
    partition: str,
    policy_text: str,
    policy_file: str | None,
    error: str,
    started: int,
    finished: int,
    run_id: int | None = None,
) -> int:
    """A cycle that could not plan (no usable policy, a producer failed): kept for the record."""
    with recording(engine, "Detox") as conn:
        return insert_failed(
            conn,
            detox_cycles,
            partition=partition,
            error=error,
            started=started,
            finished=finished,
            run_id=run_id,
            **_policy_columns(policy_text, policy_file, error),
        )


def deletion_rows(deletions: Iterable[Deletion]) -> list[list[Any]]:
    """The deletions as compact rows ``[dataset, block, site, size]`` (an application record)."""
    return [[d.dataset, d.block, d.site, d.size] for d in deletions]


def commit_cycle(
    conn: Connection,
    cycle_id: int,
    deletions: Sequence[Sequence[Any]],
    *,
    log_seq: int | None,
    now: int,
) -> None:
    """Inside the commit's transaction: mark the cycle committed and queue its deletions."""
    commit_planned(conn, detox_cycles, cycle_id, application="Detox", log_seq=log_seq, now=now)
    if deletions:
        conn.execute(
            replica_deletions.insert(),
            [
                {
                    "cycle_id": cycle_id,
                    "dataset": dataset,
                    "block": block,
                    "site": site,
                    "size": size,
                    "status": "new",
                    "created": now,
                    "updated": now,
                }
                for dataset, block, site, size in deletions
            ],
        )


def abandon_planned(engine: Engine, *, now: int) -> int:
    """Mark planned cycles that were never committed as abandoned; returns how many."""
    return abandon_planned_cycles(engine, detox_cycles, what="Detox history", now=now)


def last_policy(engine: Engine, partition: str) -> tuple[str, str | None] | None:
    """(policy text, file) of the newest cycle of ``partition`` that planned, or None."""
    query = (
        select(detox_cycles.c.policy_text, detox_cycles.c.policy_file)
        .where(detox_cycles.c.partition == partition, detox_cycles.c.status != "failed")
        .order_by(detox_cycles.c.id.desc())
        .limit(1)
    )
    try:
        with engine.connect() as conn:
            row = conn.execute(query).first()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the Detox history: {driver_message(exc)}") from exc
    return None if row is None else (str(row[0]), row[1])


# ---------------------------------------------------------------------- rows


def _policy_columns(policy_text: str, file: str | None, error: str | None) -> dict[str, Any]:
    return {
        "policy_file": file,
        "policy_text": policy_text,
        "policy_hash": hashlib.sha256(policy_text.encode()).hexdigest(),
        "policy_error": error,
    }


def _line_rows(cycle_id: int, plan: DetoxPlan, policy: DetoxPolicy) -> list[dict[str, Any]]:
    rows = [
        {
            "cycle_id": cycle_id,
            "line_id": index,
            "line_number": line.number,
            "action": line.action.value,
            "text": line.text or line.action.value,
            "matched": plan.line_matches.get(index, 0),
        }
        for index, line in enumerate(policy.lines)
    ]
    rows.append(
        {
            "cycle_id": cycle_id,
            "line_id": SAFETY_LINE,
            "line_number": 0,
            "action": Action.PROTECT.value,
            "text": SAFETY_TEXT,
            "matched": plan.line_matches.get(SAFETY_LINE, 0),
        }
    )
    return rows


def _site_rows(cycle_id: int, plan: DetoxPlan) -> list[dict[str, Any]]:
    return [
        {
            "cycle_id": cycle_id,
            "site": site.name,
            "status": site.status,
            "quota_bytes": site.quota_bytes,
            "occupancy_before": _finite(site.occupancy_before),
            "occupancy_after": _finite(site.occupancy_after),
            "triggered": site.triggered,
            "protected_bytes": site.protected_bytes,
            "kept_bytes": site.kept_bytes,
            "deleted_bytes": site.deleted_bytes,
            "stop_reason": site.stop_reason,
        }
        for site in plan.sites
    ]


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def _insert_decisions(conn: Connection, cycle_id: int, plan: DetoxPlan) -> None:
    """Bulk-insert the decision rows with ids taken past the largest, under a table lock."""
    if not plan.decisions:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text("LOCK TABLE detox_decisions IN SHARE ROW EXCLUSIVE MODE"))
        largest = conn.execute(select(func.max(detox_decisions.c.id))).scalar()
    elif dialect in ("mysql", "mariadb"):
        largest = conn.execute(
            select(detox_decisions.c.id)
            .order_by(detox_decisions.c.id.desc())
            .limit(1)
            .with_for_update()
        ).scalar()
    else:  # SQLite: the writer holds the database
        largest = conn.execute(select(func.max(detox_decisions.c.id))).scalar()
    first = int(largest or 0) + 1
    rows = (
        (
            first + index,
            cycle_id,
            row.site,
            row.dataset,
            row.verdict.value,
            row.line_id,
            row.size,
            row.num_blocks,
        )
        for index, row in enumerate(plan.decisions)
    )
    bulk_insert(conn, detox_decisions, rows)
    if dialect == "postgresql":  # MariaDB moves AUTO_INCREMENT past explicit ids by itself
        reset_id_sequences(conn, [detox_decisions])
