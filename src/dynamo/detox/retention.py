"""How long Detox history is kept: the decisions of the last cycles, the cycles for a year.

Decisions are the bulk of the history (one row per replica and verdict: ~800,000 per cycle at
CMS scale, six cycles a day), while a cycle's sites, lines and summary are small and make the
long-term record (occupancy over time). So, per partition, after each cycle:

- the decisions of all but the newest ``keep_decisions`` cycles are deleted (their summary
  then says ``"decisions_pruned": true``);
- cycles that started more than ``keep_days`` ago are deleted whole (their queued deletions
  stay, with no cycle).

Planned cycles (being committed) are never touched. Configured in ``[detox.history]``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, delete, select, update

from dynamo.errors import ConfigurationError
from dynamo.store.schema.detox import detox_cycles, detox_decisions

__all__ = ["Retention", "prune_history"]

log = logging.getLogger(__name__)

_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Retention:
    """See the module docstring."""

    keep_decisions: int = 42
    keep_days: int = 365

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Retention:
        """``[detox.history]``: ``keep_decisions`` (cycles), ``keep_days``."""
        unknown = sorted(set(table) - {"keep_decisions", "keep_days"})
        if unknown:
            raise ConfigurationError(f"[detox.history]: unknown keys {unknown}")
        values = {}
        for key in ("keep_decisions", "keep_days"):
            value = table.get(key, getattr(cls(), key))
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"[detox.history]: {key} = {value!r}: an integer >= 1")
            values[key] = value
        return cls(**values)


def prune_history(
    engine: Engine, partition: str, *, now: int, retention: Retention | None = None
) -> dict[str, int]:
    """Apply ``retention`` to ``partition``'s cycles; returns the cycles and decision rows
    removed."""
    keep = retention or Retention()
    cycles = detox_cycles
    with engine.begin() as conn:
        rows = conn.execute(
            select(cycles.c.id, cycles.c.started, cycles.c.summary)
            .where(cycles.c.partition == partition, cycles.c.status != "planned")
            .order_by(cycles.c.id.desc())
        ).all()
        old = [row.id for row in rows if row.started < now - keep.keep_days * _DAY]
        gone = set(old)
        thinned = [row for row in rows[keep.keep_decisions :] if row.id not in gone]
        removed_decisions = 0
        for row in thinned:
            summary = orjson.loads(row.summary) if row.summary else {}
            if summary.get("decisions_pruned"):
                continue
            removed_decisions += conn.execute(
                delete(detox_decisions).where(detox_decisions.c.cycle_id == row.id)
            ).rowcount
            summary["decisions_pruned"] = True
            conn.execute(
                update(cycles)
                .where(cycles.c.id == row.id)
                .values(summary=orjson.dumps(summary).decode())
            )
        if old:
            conn.execute(delete(detox_decisions).where(detox_decisions.c.cycle_id.in_(old)))
            conn.execute(delete(cycles).where(cycles.c.id.in_(old)))
    if old or removed_decisions:
        log.info(
            "history of %s: %d cycles older than %d days removed, decisions of %d cycles "
            "(%d rows) pruned",
            partition,
            len(old),
            keep.keep_days,
            len(thinned),
            removed_decisions,
        )
    return {"cycles": len(old), "decisions": removed_decisions}
