"""Outside facts about sites, read from the database: transfer reliability and the protected
fraction of the latest Detox cycle."""

from __future__ import annotations

from sqlalchemy import Engine

from dynamo.dealer.proposals import SiteStats
from dynamo.fileops.ports import OpKind
from dynamo.fileops.queries import link_rates
from dynamo.store.detox_queries import cycle_sites, latest_cycles

__all__ = ["read_site_stats", "reliabilities"]


def reliabilities(engine: Engine, *, now: int, window: int, min_transfers: int) -> dict[str, float]:
    """Per destination site, the share of transfers done among those finished (done or
    failed) in the ``window`` seconds before ``now``, from every source; sites with fewer than
    ``min_transfers`` finished transfers are left out (they count as reliable)."""
    done: dict[str, int] = {}
    failed: dict[str, int] = {}
    for rate in link_rates(engine, kind=OpKind.TRANSFER, now=now, window=window):
        done[rate.site] = done.get(rate.site, 0) + rate.files_done
        failed[rate.site] = failed.get(rate.site, 0) + rate.files_failed
    return {
        site: done[site] / (done[site] + failed[site])
        for site in done
        if done[site] + failed[site] >= max(1, min_transfers)
    }


def protected_fractions(engine: Engine, partition: str) -> dict[str, float]:
    """Per site, protected bytes over quota in the latest Detox cycle of ``partition``."""
    latest = [c for c in latest_cycles(engine) if c.partition == partition]
    if not latest:
        return {}
    return {
        site.site: site.protected_bytes / site.quota_bytes
        for site in cycle_sites(engine, latest[0].id)
        if site.quota_bytes > 0
    }


def read_site_stats(
    engine: Engine, *, partition: str, now: int, window: int, min_transfers: int
) -> dict[str, SiteStats]:
    """:class:`SiteStats` of every site with a transfer record or in the latest Detox cycle."""
    rates = reliabilities(engine, now=now, window=window, min_transfers=min_transfers)
    fractions = protected_fractions(engine, partition)
    return {
        site: SiteStats(reliability=rates.get(site, 1.0), protected_fraction=fractions.get(site))
        for site in sorted(set(rates) | set(fractions))
    }
