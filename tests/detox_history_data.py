"""A realistic small Detox history, written straight into the tables of migration 0005.

:func:`write_cycle` records one cycle the way Detox does: the lines of the real CMS Physics
policy (and the last-copy safety rule, line -1), a few target sites, per-(site, dataset)
decisions on real CMS dataset names, each made by a line whose action fits the decision, and
the block replicas queued for deletion. What was written comes back as a :class:`WrittenCycle`
(rows with their ids) so that tests compare reads with it.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select

from dynamo.policy import parse_policy
from dynamo.store.schema.detox import (
    detox_cycle_lines,
    detox_cycle_sites,
    detox_cycles,
    detox_decisions,
    replica_deletions,
)

FIXTURES = Path(__file__).parent / "fixtures"
PHYSICS_FILE = FIXTURES / "policies" / "dynamo-policies" / "detox" / "Physics.txt"
PHYSICS_TEXT = PHYSICS_FILE.read_text()
DATASET_NAMES = (FIXTURES / "cms" / "dynamo-policies" / "dataset_names.txt").read_text().split()
SAFETY_TEXT = "[safety] never delete the last complete disk or tape copy of a block"
SITES = ("T2_US_MIT", "T1_US_FNAL_Disk", "T2_CH_CERN", "T2_DE_DESY")
STARTED = 1_700_000_000
TB = 10**12

# Which policy actions make which decision (Dismiss: the replica is kept).
_ACTIONS_OF = {
    "delete": ("Delete", "DeleteBlock"),
    "protect": ("Protect", "ProtectBlock"),
    "keep": ("Dismiss", "DismissBlock"),
}


@dataclass(frozen=True)
class WrittenCycle:
    """A cycle as written: the cycle row and its lines, sites, decisions and deletions."""

    id: int
    cycle: dict[str, Any]
    lines: list[dict[str, Any]]
    sites: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    deletions: list[dict[str, Any]]


def physics_lines() -> list[dict[str, Any]]:
    """The action lines of the Physics policy as Detox records them, the safety rule first."""
    policy = parse_policy(PHYSICS_TEXT, file=str(PHYSICS_FILE))
    lines = [
        {"line_id": -1, "line_number": 0, "action": "Protect", "text": SAFETY_TEXT, "matched": 0}
    ]
    for index, line in enumerate(policy.lines):
        lines.append(
            {
                "line_id": index,
                "line_number": line.number,
                "action": line.action.value,
                "text": line.text,
                "matched": 0,
            }
        )
    return lines


def write_cycle(
    engine: Engine,
    *,
    partition: str = "Physics",
    mode: str = "run",
    status: str = "committed",
    started: int = STARTED,
    policy_error: str | None = None,
    sites: tuple[str, ...] = SITES,
    datasets_per_site: int = 12,
    seed: int = 1,
) -> WrittenCycle:
    """Write one cycle (see the module docstring); the same seed writes the same rows."""
    rng = random.Random(seed)
    lines = physics_lines()
    decisions = _decisions(rng, lines, sites, datasets_per_site)
    for line in lines:
        line["matched"] = sum(1 for d in decisions if d["line_id"] == line["line_id"])
    cycle = {
        "partition": partition,
        "mode": mode,
        "status": status,
        "started": started,
        "finished": started + 600,
        "policy_file": str(PHYSICS_FILE),
        "policy_text": PHYSICS_TEXT,
        "policy_hash": hashlib.sha256(PHYSICS_TEXT.encode()).hexdigest(),
        "policy_error": policy_error,
        "seed": seed,
        "run_id": None,
        "log_seq": 42 if status == "committed" else None,
        "summary": orjson.dumps(
            {"deleted_bytes": sum(d["size"] for d in decisions if d["decision"] == "delete")}
        ).decode(),
    }
    with engine.begin() as conn:
        key = conn.execute(insert(detox_cycles).values(**cycle)).inserted_primary_key
        assert key is not None
        cycle_id = int(key[0])
        conn.execute(insert(detox_cycle_lines), [{"cycle_id": cycle_id, **x} for x in lines])
        site_rows = [_site(rng, site, decisions) for site in sites]
        if site_rows:
            conn.execute(
                insert(detox_cycle_sites), [{"cycle_id": cycle_id, **s} for s in site_rows]
            )
            conn.execute(insert(detox_decisions), [{"cycle_id": cycle_id, **d} for d in decisions])
        deletions = [
            {
                "cycle_id": cycle_id,
                "dataset": d["dataset"],
                "block": str(uuid.UUID(int=rng.getrandbits(128))),
                "site": d["site"],
                "size": d["size"],
                "status": "new",
                "created": started + 600,
                "updated": started + 600,
            }
            for d in decisions
            if d["decision"] == "delete"
        ]
        if deletions:
            conn.execute(insert(replica_deletions), deletions)
        stored = [
            dict(row._mapping)
            for row in conn.execute(
                select(detox_decisions)
                .where(detox_decisions.c.cycle_id == cycle_id)
                .order_by(detox_decisions.c.id)
            )
        ]
        queued = [
            dict(row._mapping)
            for row in conn.execute(
                select(replica_deletions)
                .where(replica_deletions.c.cycle_id == cycle_id)
                .order_by(replica_deletions.c.id)
            )
        ]
    return WrittenCycle(cycle_id, cycle, lines, site_rows, stored, queued)


def _decisions(
    rng: random.Random, lines: list[dict[str, Any]], sites: tuple[str, ...], per_site: int
) -> list[dict[str, Any]]:
    by_decision = {
        verdict: [x["line_id"] for x in lines if x["action"] in actions]
        for verdict, actions in _ACTIONS_OF.items()
    }
    by_decision["protect"].append(-1)
    rows = []
    for site in sites:
        for dataset in rng.sample(DATASET_NAMES, per_site):
            verdict = rng.choice(("delete", "keep", "keep", "protect"))
            rows.append(
                {
                    "site": site,
                    "dataset": dataset,
                    "decision": verdict,
                    "line_id": rng.choice(by_decision[verdict]),
                    "size": rng.randrange(1, 40) * 10**11,
                    "num_blocks": rng.randrange(1, 60),
                }
            )
    return rows


def _site(rng: random.Random, site: str, decisions: list[dict[str, Any]]) -> dict[str, Any]:
    def total(verdict: str) -> int:
        return sum(d["size"] for d in decisions if d["site"] == site and d["decision"] == verdict)

    quota = rng.randrange(5, 20) * 100 * TB
    deleted = total("delete")
    before = (total("keep") + total("protect") + deleted) / quota
    return {
        "site": site,
        "status": "READY",
        "quota_bytes": quota,
        "occupancy_before": before,
        "occupancy_after": before - deleted / quota,
        "triggered": deleted > 0,
        "protected_bytes": total("protect"),
        "kept_bytes": total("keep"),
        "deleted_bytes": deleted,
        "stop_reason": None if deleted else "nothing to delete",
    }
