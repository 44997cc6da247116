"""Site consistency as a scheduled application (name ``consistency``).

Checks every site that has a storage endpoint (``[storage.SITE]``), one after the other, or
only ``--site NAME``; with ``--parallel N``, N sites at a time in threads (listing a site is
network-bound). Each check records its run and queues its repairs itself (history and file
operations, not the inventory), so the application returns an empty ChangeSet; it is a write
application all the same, as only write runs may change sites. Run read-only, or with
``--dry-run``, every check is a dry run: recorded, nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from dynamo.consistency import ConsistencyConfig, check_site
from dynamo.errors import ConfigurationError, DynamoError
from dynamo.fileops.endpoints import Endpoints
from dynamo.server.applications import AppContext, AppResult
from dynamo.storage import StorageError

__all__ = ["ConsistencyApp"]


@dataclass(frozen=True, slots=True)
class ConsistencyApp:
    """The scheduled consistency application (see the module docstring)."""

    config: ConsistencyConfig
    endpoints: Endpoints
    engine_factory: Callable[[], Engine]  # called in the child
    name: str = "consistency"
    writes: bool = True  # it repairs sites (its ChangeSet is empty)
    description: str = "Compares each site's storage with the inventory and repairs it."

    def run(self, ctx: AppContext) -> AppResult:
        sites = self._sites(ctx)
        dry_run = not ctx.writes or bool(ctx.arg("dry_run", False))
        parallel = max(1, ctx.int_arg("parallel", 1))
        engine = self.engine_factory()
        try:

            def one(site: str) -> dict[str, Any]:
                endpoint = self.endpoints[site]
                try:
                    result = check_site(
                        engine=engine,
                        inventory=ctx.inventory,
                        site=site,
                        storage=endpoint.storage,
                        config=self.config,
                        now=ctx.now,
                        path_of=None if endpoint.catalog is None else endpoint.site_path,
                        dry_run=dry_run,
                        seed=ctx.run_id,
                    )
                except (DynamoError, StorageError) as exc:
                    ctx.log.error("consistency of %s failed: %s", site, exc)
                    return {"site": site, "error": str(exc)}
                ctx.log.info(
                    "consistency of %s: run %s, %s%s",
                    site,
                    result.run_id,
                    result.status,
                    f" ({result.reason})" if result.reason else "",
                )
                return {
                    "site": site,
                    "run_id": result.run_id,
                    "status": result.status,
                    "reason": result.reason,
                    "summary": result.summary,
                }

            with ThreadPoolExecutor(max_workers=parallel) as pool:
                checks = list(pool.map(one, sites))
        finally:
            engine.dispose()
        return AppResult(summary={"dry_run": dry_run, "sites": checks})

    def _sites(self, ctx: AppContext) -> list[str]:
        wanted = ctx.arg("site")
        known = [site for site in sorted(self.endpoints) if site in ctx.inventory.sites]
        if wanted is None:
            if not known:
                raise ConfigurationError(
                    "no site to check: give [storage.SITE] tables for sites of the inventory"
                )
            return known
        if wanted not in self.endpoints:
            raise ConfigurationError(f"site {wanted!r} has no [storage.{wanted}] table")
        return [str(wanted)]
