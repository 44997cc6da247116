"""What the demo shows in the terminal: events read from the database as they happen, and the
summary of a run.

:class:`Watcher` remembers the last row it reported of each history table and, at each
:meth:`Watcher.poll`, turns the new rows into :class:`Event` lines: Detox cycles (each
triggered site's occupancy before and after), Dealer cycles (copies placed), transfers and
deletions done or failed (per link), consistency runs (missing files, orphans) and failed
application runs. :func:`summarize` counts what a run did since it started.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from dynamo.store.schema.applications import app_runs
from dynamo.store.schema.consistency import consistency_files, consistency_runs
from dynamo.store.schema.dealer import dealer_copies, dealer_cycles
from dynamo.store.schema.detox import detox_cycle_sites, detox_cycles, replica_deletions
from dynamo.store.schema.fileops import fileop_history
from dynamo.store.schema.userdata import userdata_datasets

__all__ = ["Event", "Summary", "Watcher", "short_name", "summarize"]


@dataclass(frozen=True, slots=True)
class Event:
    """One line for the terminal: which component, what happened, and a style."""

    source: str
    text: str
    style: str = ""


@dataclass(slots=True)
class Watcher:
    """Reports rows newer than those seen at construction (module docstring)."""

    engine: Engine
    seen: dict[str, int] = field(default_factory=dict)
    consolidated: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        tables = {
            "detox": detox_cycles.c.id,
            "dealer": dealer_cycles.c.id,
            "fileops": fileop_history.c.id,
            "consistency": consistency_runs.c.id,
            "runs": app_runs.c.id,
        }
        with self.engine.connect() as conn:
            for name, column in tables.items():
                self.seen[name] = conn.execute(select(func.max(column))).scalar() or 0
            self.consolidated = self._consolidated(conn)

    def poll(self) -> list[Event]:
        """The events since the last poll."""
        with self.engine.connect() as conn:
            return [
                *self._detox(conn),
                *self._dealer(conn),
                *self._fileops(conn),
                *self._consistency(conn),
                *self._userdata(conn),
                *self._failed_runs(conn),
            ]

    def _new(self, conn: Any, name: str, table: Any, *where: Any) -> list[Any]:
        rows = conn.execute(
            select(table).where(table.c.id > self.seen[name], *where).order_by(table.c.id)
        ).all()
        if rows:
            self.seen[name] = rows[-1].id
        return list(rows)

    def _detox(self, conn: Any) -> list[Event]:
        events = []
        for cycle in self._new(conn, "detox", detox_cycles, detox_cycles.c.status == "committed"):
            sites = conn.execute(
                select(detox_cycle_sites).where(detox_cycle_sites.c.cycle_id == cycle.id)
            ).all()
            deleted = sum(site.deleted_bytes for site in sites)
            events.append(
                Event(
                    "detox",
                    f"cycle {cycle.id} ({cycle.partition}): {len(sites)} sites, "
                    f"{_mb(deleted)} queued for deletion",
                    "bold",
                )
            )
            for site in sites:
                if site.triggered:
                    stop = f"; stopped: {site.stop_reason}" if site.stop_reason else ""
                    events.append(
                        Event(
                            "detox",
                            f"  {site.site}: {site.occupancy_before:.1%} -> "
                            f"{site.occupancy_after:.1%} of {_mb(site.quota_bytes)} "
                            f"(deletes {_mb(site.deleted_bytes)}){stop}",
                            "red" if site.occupancy_after > 0.85 else "green",
                        )
                    )
        return events

    def _dealer(self, conn: Any) -> list[Event]:
        events = []
        for cycle in self._new(
            conn, "dealer", dealer_cycles, dealer_cycles.c.status == "committed"
        ):
            copies = conn.execute(
                select(dealer_copies.c.plugin, dealer_copies.c.dataset, dealer_copies.c.site)
                .where(dealer_copies.c.cycle_id == cycle.id, dealer_copies.c.status == "accepted")
                .order_by(dealer_copies.c.id)
            ).all()
            events.append(Event("dealer", f"cycle {cycle.id}: {len(copies)} copies placed", "bold"))
            events += [
                Event(
                    "dealer", f"  {copy.plugin}: {short_name(copy.dataset)} -> {copy.site}", "cyan"
                )
                for copy in copies[:5]
            ]
        return events

    def _fileops(self, conn: Any) -> list[Event]:
        tally: Counter[tuple[str, str, str, str]] = Counter()
        for row in self._new(conn, "fileops", fileop_history):
            tally[(row.kind, row.status, row.source_site or "", row.site)] += 1
        events = []
        for (kind, status, source, site), count in sorted(tally.items()):
            link = f"{source} -> {site}" if source else site
            style = "green" if status == "done" else "red"
            events.append(Event("fileops", f"{count} {kind}s {status}: {link}", style))
        return events

    def _consistency(self, conn: Any) -> list[Event]:
        events = []
        for run in self._new(conn, "consistency", consistency_runs):
            summary = json.loads(run.summary or "{}")
            found = {
                key: value
                for key, value in summary.items()
                if key in ("missing", "orphan", "size_mismatch", "checksum_mismatch") and value
            }
            detail = ", ".join(f"{v} {k}" for k, v in found.items()) or "consistent"
            style = "yellow" if found else ""
            events.append(Event("consistency", f"{run.site}: {run.status}, {detail}", style))
        return events

    @staticmethod
    def _consolidated(conn: Any) -> set[tuple[str, str]]:
        table = userdata_datasets
        done = select(table.c.name, table.c.target_site).where(table.c.consolidated.is_not(None))
        return {(name, site) for name, site in conn.execute(done)}

    def _userdata(self, conn: Any) -> list[Event]:
        done = self._consolidated(conn)
        new, self.consolidated = sorted(done - self.consolidated), done
        return [
            Event("userdata", f"{short_name(name)} consolidated at {site}", "green")
            for name, site in new
        ]

    def _failed_runs(self, conn: Any) -> list[Event]:
        failed = self._new(conn, "runs", app_runs, app_runs.c.status.in_(("failed", "killed")))
        return [
            Event("server", f"{run.app} run {run.id} {run.status}: see {run.log_path}", "red")
            for run in failed
        ]


def short_name(dataset: str, width: int = 70) -> str:
    """``/Primary/Processed/TIER`` with the middle part cut when the name is long."""
    if len(dataset) <= width:
        return dataset
    primary, _, rest = dataset.lstrip("/").partition("/")
    processed, _, tier = rest.rpartition("/")
    room = max(8, width - len(primary) - len(tier) - 4)
    return f"/{primary}/{processed[: room // 2]}…{processed[-room // 2 :]}/{tier}"


def _mb(size: int) -> str:
    return f"{size / 1e6:,.2f} MB"


@dataclass(slots=True)
class Summary:
    """What a demo run did (the ``--json`` summary)."""

    seconds: float
    jobs_run: int
    counts: dict[str, int]
    sites: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "jobs_run": self.jobs_run,
            **self.counts,
            "sites": self.sites,
        }


def summarize(engine: Engine, *, since: int, seconds: float, jobs_run: int) -> Summary:
    """Count what happened from ``since`` (epoch seconds) on."""
    history = fileop_history.c
    with engine.connect() as conn:

        def count(table: Any, *where: Any) -> int:
            return int(
                conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
            )

        moved = (history.finished >= since,)
        counts = {
            "detox_cycles": count(
                detox_cycles, detox_cycles.c.started >= since, detox_cycles.c.mode == "run"
            ),
            "deleted_replicas": count(
                replica_deletions,
                replica_deletions.c.status == "done",
                replica_deletions.c.updated >= since,
            ),
            "queued_replica_deletions": count(
                replica_deletions, replica_deletions.c.created >= since
            ),
            "dealer_cycles": count(
                dealer_cycles, dealer_cycles.c.started >= since, dealer_cycles.c.mode == "run"
            ),
            "placed_copies": count(
                dealer_copies.join(dealer_cycles),
                dealer_cycles.c.started >= since,
                dealer_copies.c.status == "accepted",
            ),
            "completed_transfers": count(
                fileop_history, *moved, history.kind == "transfer", history.status == "done"
            ),
            "failed_transfers": count(
                fileop_history, *moved, history.kind == "transfer", history.status == "failed"
            ),
            "deleted_files": count(
                fileop_history, *moved, history.kind == "deletion", history.status == "done"
            ),
            "consistency_runs": count(consistency_runs, consistency_runs.c.started >= since),
            "missing_files_found": count(
                consistency_files.join(consistency_runs),
                consistency_runs.c.started >= since,
                consistency_files.c.kind == "missing",
            ),
            "repaired_files": count(
                fileop_history,
                *moved,
                history.kind == "transfer",
                history.status == "done",
                history.origin == "consistency",
            ),
            "deleted_orphans": count(
                consistency_files.join(consistency_runs),
                consistency_runs.c.started >= since,
                consistency_runs.c.mode == "run",
                consistency_files.c.kind == "orphan",
                consistency_files.c.action == "delete",
            ),
        }
        counts["user_datasets"] = count(userdata_datasets, userdata_datasets.c.created >= since)
        counts["user_datasets_consolidated"] = count(
            userdata_datasets,
            userdata_datasets.c.created >= since,
            userdata_datasets.c.consolidated.is_not(None),
        )
        latest = conn.execute(
            select(func.max(detox_cycles.c.id)).where(detox_cycles.c.status == "committed")
        ).scalar()
        sites = []
        if latest is not None:
            for site in conn.execute(
                select(detox_cycle_sites)
                .where(detox_cycle_sites.c.cycle_id == latest)
                .order_by(detox_cycle_sites.c.site)
            ):
                sites.append(
                    {
                        "site": site.site,
                        "quota_bytes": site.quota_bytes,
                        "occupancy_before": site.occupancy_before,
                        "occupancy_after": site.occupancy_after,
                        "triggered": site.triggered,
                    }
                )
    return Summary(seconds=seconds, jobs_run=jobs_run, counts=counts, sites=sites)
