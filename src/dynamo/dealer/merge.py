"""The merge of the plug-ins' proposal lists into one order (original-dynamo §5, step 4).

Repeatedly a plug-in is drawn with probability proportional to ``1 / priority`` among those
with proposals left, and its next proposal is taken: a lower number is a higher priority, but
not a strict one, so no plug-in starves. When any plug-in has priority 0, only the
priority-0 plug-ins are merged (equally) and the others are dropped for the cycle.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from dynamo.dealer.proposals import PluginProposals, Proposal

__all__ = ["merge_proposals"]


def merge_proposals(batches: Sequence[PluginProposals], rng: random.Random) -> list[Proposal]:
    """The proposals of ``batches`` in one list (see the module docstring); seeded by ``rng``."""
    if any(batch.priority == 0 for batch in batches):
        batches = [batch for batch in batches if batch.priority == 0]
        weights = [1.0] * len(batches)
    else:
        weights = [1.0 / max(batch.priority, 1) for batch in batches]
    queues = [list(reversed(batch.proposals)) for batch in batches]
    merged: list[Proposal] = []
    live = [index for index, queue in enumerate(queues) if queue]
    while live:
        (index,) = rng.choices(live, weights=[weights[i] for i in live])
        merged.append(queues[index].pop())
        if not queues[index]:
            live.remove(index)
    return merged
