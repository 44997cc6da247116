"""The ``popularity`` producer: ``dataset.last_access``, ``replica.num_access`` and
``dataset.usage_rank`` from the access records (CMS's CRABAccessHistory).

At each load it reads ONE aggregate per dataset from the :class:`PopularityStore` (the
database groups the records of the window: last day, total accesses; streamed), then makes a
single pass over the datasets of the inventory. For every dataset, at ``now``:

- ``num_access`` -- the accesses at every site over the window (``replica.num_access`` reads it,
  a dataset-level count despite its name); 0 without records;
- ``last_access`` -- the latest day (UTC midnight, epoch s) with an access in the window, or the
  dataset's ``last_update`` when that is later (CMS did so: a fresh dataset counts as used);
  0 for a dataset never accessed nor updated;
- ``global_usage_rank`` (:func:`usage_rank`) -- the days since the dataset last changed minus
  its accesses per GB; higher is less used (Physics.txt dismisses ``usage_rank > 100`` and
  deletes in ``decreasing dataset.usage_rank`` order).

The rank is CMS's, from ``CRABAccessHistory._compute`` in SmartDataProjects/dynamo-cms
(``lib/policy/producers/crabaccess.py``)::

    last_change = max(last_access, dataset.last_update, max(replica.last_block_created()))
    rank = (now - last_change) / 86400 - num_access / (dataset.size / 1e9)

(the second term 0 for an empty dataset). The dynamo-policies README words it per site and per
TB, but the producer that ran computed it as above, and the Physics.txt thresholds were set
against that.

Configuration, ``[detox.producers.popularity]``:

- ``window_days`` (int, default 730: CMS kept two years of records) -- the records of the days
  from ``today - window_days`` count;
- ``last_access_includes_update`` (bool, default true) -- false makes ``last_access`` the last
  recorded access alone (0 when never accessed).

No access records at all is not an error: every dataset has zero accesses, and its rank is
the days since it last changed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from dynamo.errors import ConfigurationError
from dynamo.model import Dataset, Inventory
from dynamo.policy import Attributes
from dynamo.policy.attributes import LAST_ACCESS, NUM_ACCESS, USAGE_RANK
from dynamo.producers.base import ProducerSources, register_producer
from dynamo.producers.options import check_keys
from dynamo.store.popularity import DAY, PopularityStore, SqlPopularityStore, day_of

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "PopularityProducer",
    "last_block_created",
    "usage_rank",
]

log = logging.getLogger(__name__)

NAME: Final = "popularity"
DEFAULT_WINDOW_DAYS: Final = 730
MAX_WINDOW_DAYS: Final = 36_500
GB: Final = 10**9


def usage_rank(*, now: int, last_change: int, num_access: int, size: int) -> float:
    """CMS's global usage rank: days from ``last_change`` to ``now`` minus accesses per GB
    of ``size`` bytes (no second term for an empty dataset). Higher is less used."""
    per_gb = num_access / (size / GB) if size > 0 else 0.0
    return (now - last_change) / DAY - per_gb


def last_block_created(dataset: Dataset) -> int:
    """The latest ``last_update`` of a block replica of ``dataset`` (0 without replicas)."""
    latest = 0
    for replica in dataset.replicas.values():  # plain loops: twice as fast as max() here
        for block_replica in replica.block_replicas.values():
            if block_replica.last_update > latest:
                latest = block_replica.last_update
    return latest


class PopularityProducer:
    """Fills ``last_access``, ``num_access`` and ``global_usage_rank`` from ``store``."""

    produces: frozenset[str] = frozenset({LAST_ACCESS, NUM_ACCESS, USAGE_RANK})

    def __init__(
        self,
        store: PopularityStore,
        *,
        window_days: int = DEFAULT_WINDOW_DAYS,
        last_access_includes_update: bool = True,
    ) -> None:
        self.store = store
        self.window_days = window_days
        self.last_access_includes_update = last_access_includes_update

    def load(self, inventory: Inventory, attributes: Attributes, now: int) -> None:
        datasets = inventory.datasets
        since = day_of(now) - self.window_days * DAY
        accessed: dict[str, tuple[int, int]] = {}
        unknown = 0
        for name, last, total in self.store.summary(since=since):
            if name in datasets:
                accessed[name] = (last, total)
            else:
                unknown += 1
        # This producer owns these attributes: fresh dicts, so a reused container keeps nothing.
        counts: dict[str, object] = {}
        lasts: dict[str, object] = {}
        ranks: dict[str, object] = {}
        attributes.dataset.update({NUM_ACCESS: counts, LAST_ACCESS: lasts, USAGE_RANK: ranks})
        with_update = self.last_access_includes_update
        for name, dataset in datasets.items():
            last, total = accessed.get(name, (0, 0))
            if total:
                counts[name] = total
            shown = max(last, dataset.last_update) if with_update else last
            if shown:
                lasts[name] = shown
            last_change = max(last, dataset.last_update, last_block_created(dataset))
            ranks[name] = usage_rank(
                now=now, last_change=last_change, num_access=total, size=dataset.size
            )
        log.info(
            "popularity: %d of %d datasets accessed in the last %d days "
            "(%d datasets with records are not in the inventory)",
            len(accessed),
            len(datasets),
            self.window_days,
            unknown,
        )


@register_producer(NAME, PopularityProducer.produces)
def _build(config: Mapping[str, Any], sources: ProducerSources) -> PopularityProducer:
    """``[detox.producers.popularity]``: ``window_days``, ``last_access_includes_update``;
    the records are in the store's database."""
    check_keys(config, NAME, ("window_days", "last_access_includes_update"))
    window = config.get("window_days", DEFAULT_WINDOW_DAYS)
    if isinstance(window, bool) or not isinstance(window, int):
        raise ConfigurationError(f"producer {NAME!r}: 'window_days' must be an integer")
    if not 1 <= window <= MAX_WINDOW_DAYS:
        raise ConfigurationError(
            f"producer {NAME!r}: 'window_days' must be 1 to {MAX_WINDOW_DAYS}, not {window}"
        )
    with_update = config.get("last_access_includes_update", True)
    if not isinstance(with_update, bool):
        raise ConfigurationError(
            f"producer {NAME!r}: 'last_access_includes_update' must be true or false, "
            f"not {with_update!r}"
        )
    return PopularityProducer(
        SqlPopularityStore(sources.need_engine(NAME)),
        window_days=window,
        last_access_includes_update=with_update,
    )
