"""The group reassigner plug-in: replicas of deprecated groups handed to the default group in
place (CMS ``GroupReassigner``, used by the AllDisk Dealer).

Every dataset replica at a target site with a block replica owned by one of ``from_groups``
is proposed as an in-place copy: those block replicas, as they are, become owned by the
Dealer's group (and the dataset replica too if a deprecated group owned it). Nothing moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from dynamo.dealer.planner import is_target_site
from dynamo.dealer.ports import PlugInContext
from dynamo.dealer.proposals import Proposal

__all__ = ["GroupReassignerPlugIn"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupReassignerPlugIn:
    """See the module docstring."""

    from_groups: tuple[str, ...] = ()
    name: str = "reassigner"
    priority: int = 1

    def propose(self, ctx: PlugInContext) -> list[Proposal]:
        deprecated = frozenset(self.from_groups)
        proposals = []
        for name, site in sorted(ctx.inventory.sites.items()):
            if not is_target_site(site, ctx.options):
                continue
            for dataset, replica in sorted(
                site.dataset_replicas.items(), key=lambda item: item[0].name
            ):
                owners = {br.group.name for br in replica.block_replicas.values()}
                if owners.isdisjoint(deprecated):
                    continue
                old = ", ".join(sorted(str(g) for g in owners & deprecated))
                proposals.append(
                    Proposal(
                        plugin=self.name,
                        priority=self.priority,
                        dataset=dataset.name,
                        sites=(name,),
                        reown=tuple(sorted(deprecated)),
                        reason=f"owned by deprecated group {old}",
                    )
                )
        return proposals
