"""The undertaker plug-in: evacuates data whose only copies are at sites in waitroom or morgue
(original-dynamo §5, CMS priority 2).

For every site not READY (WAITROOM, MORGUE; UNKNOWN is left alone) and every site named in
``additional_sites``: the blocks of its replicas that have no replica at any other site are
proposed, as the whole dataset when that is every block of the dataset.

Departure: the original considered only the datasets the latest Detox cycle protected at
the site; here every block that would be lost is.
"""

from __future__ import annotations

from dataclasses import dataclass

from dynamo.dealer.ports import PlugInContext
from dynamo.dealer.proposals import Proposal
from dynamo.model import SiteStatus

__all__ = ["UndertakerPlugIn"]

_BAD = frozenset({SiteStatus.WAITROOM, SiteStatus.MORGUE})


@dataclass(frozen=True, slots=True, kw_only=True)
class UndertakerPlugIn:
    """See the module docstring."""

    name: str = "undertaker"
    priority: int = 2
    additional_sites: tuple[str, ...] = ()

    def propose(self, ctx: PlugInContext) -> list[Proposal]:
        bad = {
            site
            for name, site in ctx.inventory.sites.items()
            if site.status in _BAD or name in self.additional_sites
        }
        proposals: list[Proposal] = []
        seen: set[str] = set()
        for site in sorted(bad, key=lambda s: s.name):
            for dataset, replica in sorted(
                site.dataset_replicas.items(), key=lambda item: item[0].name
            ):
                if dataset.name in seen:
                    continue
                orphans = [
                    block
                    for block in replica.block_replicas
                    if all(other.site in bad for other in block.replicas)
                ]
                if not orphans:
                    continue
                seen.add(dataset.name)
                whole = len(orphans) == len(dataset.blocks)
                proposals.append(
                    Proposal(
                        plugin=self.name,
                        priority=self.priority,
                        dataset=dataset.name,
                        blocks=None if whole else tuple(sorted(b.name for b in orphans)),
                        group=replica.group.name,
                        reason=f"only copies at sites out of service ({site.name})",
                    )
                )
        return proposals
