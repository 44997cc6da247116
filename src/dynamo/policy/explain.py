"""Why a policy decided what it did for one dataset replica (``dynamo policy explain``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from dynamo.errors import NotFoundError
from dynamo.model import Inventory
from dynamo.policy.compiler import variables_of
from dynamo.policy.context import EvaluationContext, Frame
from dynamo.policy.evaluation import CompiledPolicy
from dynamo.policy.variables import REGISTRY, Scope, VarType

__all__ = ["Explanation", "explain"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """The decisions for one replica, each with its line and the values of its variables.

    ``decisions`` items are JSON-able dicts: ``action``, ``line`` (number), ``text``,
    ``blocks`` (block names), ``variables`` (name -> value; block-level variables map block
    names to values). ``is_target`` says whether an ``On`` line selects the site.
    """

    dataset: str
    site: str
    partition: str | None
    is_target: bool
    decisions: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "site": self.site,
            "partition": self.partition,
            "is_target": self.is_target,
            "decisions": list(self.decisions),
        }


def _shown(name: str, value: Any) -> Any:
    variable = REGISTRY[name]
    if isinstance(value, IntEnum):
        return value.name
    if variable.enum is not None and isinstance(value, int):
        return next((k for k, v in variable.enum.items() if v == value), value)
    if variable.type is VarType.TIME and isinstance(value, int):
        return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    return value


def explain(
    inventory: Inventory,
    policy: CompiledPolicy,
    *,
    site: str,
    dataset: str,
    ctx: EvaluationContext,
) -> Explanation:
    """Evaluate ``policy`` on the replica of ``dataset`` at ``site`` and explain each decision.

    Raises NotFoundError when the site, the dataset or the replica does not exist.
    """
    found_site = inventory.sites.get(site)
    found_dataset = inventory.datasets.get(dataset)
    if found_site is None:
        raise NotFoundError(f"no site named {site!r}")
    if found_dataset is None:
        raise NotFoundError(f"no dataset named {dataset!r}")
    replica = found_site.dataset_replicas.get(found_dataset)
    if replica is None:
        raise NotFoundError(f"{dataset} has no replica at {site}")
    usage = None if ctx.partition is None else found_site.partitions.get(ctx.partition)
    views = []
    for decision in policy.evaluate(replica, ctx):
        frame = Frame.of_replica(ctx, replica)
        frame.block_replicas = list(decision.block_replicas)
        values: dict[str, Any] = {}
        condition = decision.line.condition
        for name in dict.fromkeys([] if condition is None else variables_of(condition)):
            variable = REGISTRY[name]
            if variable.scope is Scope.BLOCK:
                values[name] = {
                    br.block.name: _shown(name, variable.get(frame, br))
                    for br in frame.block_replicas
                }
            else:
                values[name] = _shown(name, variable.get(frame))
        views.append(
            {
                "action": decision.action.value,
                "line": decision.line.number,
                "text": decision.line.text,
                "blocks": [br.block.name for br in decision.block_replicas],
                "variables": values,
            }
        )
    return Explanation(
        dataset=dataset,
        site=site,
        partition=policy.policy.partition,
        is_target=policy.is_target(found_site, usage, ctx),
        decisions=tuple(views),
    )
