"""``blockreplica.is_last_transfer_source``, computed once per dataset, agrees with its
definition checked block replica by block replica."""

from __future__ import annotations

import pytest

from dynamo.bench.policy import NOW, synthetic_inventory
from dynamo.model import BlockReplica, SiteStatus, StorageType
from dynamo.policy import EvaluationContext, Frame
from dynamo.policy.derived import block_is_last_transfer_source
from unit.policy.builders import PARTITIONS


def _by_definition(replica: BlockReplica) -> bool:
    block = replica.block
    if replica.size != block.size or replica.num_files != block.num_files:
        return False
    has_incomplete = False
    for other in block.replicas:
        if other is replica:
            continue
        if other.size != block.size or other.num_files != block.num_files:
            has_incomplete = True
        elif other.site.storage_type is StorageType.DISK and other.site.status is SiteStatus.READY:
            return False
    return has_incomplete


@pytest.mark.parametrize("seed", range(3))
def test_the_cached_answer_is_the_definition(seed: int) -> None:
    inventory, _attributes = synthetic_inventory(
        PARTITIONS.read_text(), dataset_replicas=300, seed=seed, now=NOW
    )
    ctx = EvaluationContext(now=NOW)
    answers = [
        (block_is_last_transfer_source(Frame.of_block_replica(ctx, br), br), _by_definition(br))
        for br in inventory.iter_block_replicas()
    ]
    assert all(cached == defined for cached, defined in answers)
    assert any(cached for cached, _defined in answers), "the world should have some sources"
