"""The ``protected_sites`` producer: ``dataset.on_protected_site``.

Configuration: ``sites`` -- a list of site name globs (``fnmatch``, case-sensitive), default
empty. A dataset is flagged when one of its replicas, complete or not, is at a matching site;
with no patterns nothing is flagged (CMS ran it so, with ``"sites": []``, which keeps the
policy line reading the flag inert until sites are named).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, Final

from dynamo.model import Inventory
from dynamo.policy import Attributes
from dynamo.producers.base import ProducerSources, register_producer
from dynamo.producers.options import check_keys, string_list

__all__ = ["ON_PROTECTED_SITE", "ProtectedSiteProducer"]

log = logging.getLogger(__name__)

NAME: Final = "protected_sites"
ON_PROTECTED_SITE: Final = "on_protected_site"


class ProtectedSiteProducer:
    """Flags the datasets with a replica at a site matching one of ``patterns``."""

    produces: frozenset[str] = frozenset({ON_PROTECTED_SITE})

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)

    def load(self, inventory: Inventory, attributes: Attributes, now: int) -> None:
        sites = [
            site
            for name, site in sorted(inventory.sites.items())
            if any(fnmatchcase(name, pattern) for pattern in self.patterns)
        ]
        flagged: set[str] = set()
        for site in sites:
            flagged.update(dataset.name for dataset in site.dataset_replicas)
        for name in sorted(flagged):
            attributes.set_dataset(ON_PROTECTED_SITE, name, True)
        log.info("%d protected sites hold %d datasets", len(sites), len(flagged))


@register_producer(NAME, ProtectedSiteProducer.produces)
def _build(config: Mapping[str, Any], sources: ProducerSources) -> ProtectedSiteProducer:
    check_keys(config, NAME, ("sites",))
    return ProtectedSiteProducer(string_list(config.get("sites", []), NAME, "sites"))
