"""The copy-requests plug-in: user requests from the registry (CMS priority 1).

:meth:`CopyRequestsPlugIn.review` reads the open copy requests against the inventory:

- a *new* request is rejected for an unknown group, item or site, an item larger than
  ``max_size``, or no target site among its sites. Blocks of one dataset that add up to more
  than ``block_request_max`` of the dataset become a request for the dataset. ``n == 0`` asks
  for a copy at every requested site; ``n > 0`` for ``n`` copies among them, counting those
  that already exist owned by the request's group (complete: done; incomplete: on the way);
- an *activated* request is tracked: an action is completed when the replica at its site is
  complete and owned by the group; an action whose replica vanished is proposed again once
  ``grace`` seconds passed since it was last acted on (so as not to race the commit of the
  copy); a request whose actions are all completed is completed.

:func:`settle` turns the plan's outcome into request updates: a new request with copies
accepted (or already on the way) is activated with an action per copy; one whose proposals
all failed for a reason that will not go away (unknown or invalid data, no source) is
rejected; otherwise it stays new and is tried again next cycle. A proposal for one named site
that found no room there becomes a ``new`` action of the activated request, proposed again
after the grace period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dynamo.dealer.options import TB
from dynamo.dealer.plan import DealerPlan
from dynamo.dealer.planner import is_target_site
from dynamo.dealer.ports import PlugInContext
from dynamo.dealer.proposals import (
    REJECT_NO_SOURCE,
    REJECT_NOT_VALID,
    REJECT_UNKNOWN_BLOCK,
    REJECT_UNKNOWN_DATASET,
    Proposal,
)
from dynamo.model import Block, Dataset, Inventory, Site
from dynamo.registry import ActionStatus, Request, RequestAction, RequestStatus

__all__ = ["CopyRequestsPlugIn", "RequestReview", "RequestUpdate", "settle"]

_PERMANENT = frozenset(
    {REJECT_UNKNOWN_DATASET, REJECT_UNKNOWN_BLOCK, REJECT_NOT_VALID, REJECT_NO_SOURCE}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestUpdate:
    """A request moved on (or only its actions changed)."""

    request_id: int
    status: RequestStatus
    actions: tuple[RequestAction, ...] | None = None
    reject_reason: str | None = None


@dataclass(slots=True)
class RequestReview:
    """What :meth:`CopyRequestsPlugIn.review` found: the proposals, the updates decided
    already, and per request the actions known before planning."""

    proposals: list[Proposal] = field(default_factory=list)
    updates: list[RequestUpdate] = field(default_factory=list)
    pending: dict[int, list[RequestAction]] = field(default_factory=dict)
    requests: dict[int, Request] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Item:
    """A request item resolved: a dataset, or some of its blocks."""

    key: str
    dataset: Dataset
    blocks: tuple[Block, ...] | None

    @property
    def size(self) -> int:
        blocks = self.blocks if self.blocks is not None else self.dataset.blocks.values()
        return sum(block.size for block in blocks)


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyRequestsPlugIn:
    """See the module docstring; ``requests`` are the open copy requests."""

    requests: Sequence[Request] = ()
    name: str = "requests"
    priority: int = 1
    max_size: int = 200 * TB
    block_request_max: float = 0.5
    grace: int = 1800

    def propose(self, ctx: PlugInContext) -> list[Proposal]:
        return self.review(ctx).proposals

    def review(self, ctx: PlugInContext) -> RequestReview:
        """Proposals and early decisions for every open request (module docstring)."""
        review = RequestReview()
        for request in sorted(self.requests, key=lambda r: r.id):
            review.requests[request.id] = request
            if request.status is RequestStatus.NEW:
                self._review_new(ctx, request, review)
            elif request.status is RequestStatus.ACTIVATED:
                self._track(ctx, request, review)
        return review

    def _review_new(self, ctx: PlugInContext, request: Request, review: RequestReview) -> None:
        inventory = ctx.inventory
        group = request.group or ctx.options.group
        problem = _check(inventory, request, group)
        items: list[_Item] = []
        if problem is None:
            items = self._items(inventory, request.items)
            problem = next(
                (
                    f"{item.key} is larger than {self.max_size / TB:g} TB"
                    for item in items
                    if item.size > self.max_size
                ),
                None,
            )
        if problem is None and not any(
            is_target_site(inventory.sites[name], ctx.options) for name in request.sites
        ):
            problem = "no target site among the requested sites"
        if problem is not None:
            review.updates.append(
                RequestUpdate(
                    request_id=request.id, status=RequestStatus.REJECTED, reject_reason=problem
                )
            )
            return
        actions: list[RequestAction] = []
        for item in items:
            self._propose_item(ctx, request, group, item, actions, review)
        review.pending[request.id] = actions
        if not any(p.request_id == request.id for p in review.proposals):
            done = all(a.status is ActionStatus.COMPLETED for a in actions)
            review.updates.append(
                RequestUpdate(
                    request_id=request.id,
                    status=RequestStatus.COMPLETED if done else RequestStatus.ACTIVATED,
                    actions=tuple(actions),
                )
            )

    def _propose_item(
        self,
        ctx: PlugInContext,
        request: Request,
        group: str,
        item: _Item,
        actions: list[RequestAction],
        review: RequestReview,
    ) -> None:
        sites = [ctx.inventory.sites[name] for name in request.sites]
        wanted = len(sites) if request.n == 0 else request.n
        candidates: list[str] = []
        for site in sites:
            state = _state(item, site, group)
            if state is not None:
                status = ActionStatus.COMPLETED if state else ActionStatus.QUEUED
                actions.append(
                    RequestAction(item=item.key, site=site.name, status=status, last_update=ctx.now)
                )
                wanted -= 1
            else:
                candidates.append(site.name)
        for index in range(max(0, min(wanted, len(candidates)))):
            only = (candidates[index],) if request.n == 0 else tuple(candidates)
            review.proposals.append(_proposal(self, request, group, item, only))

    def _items(self, inventory: Inventory, names: Iterable[str]) -> list[_Item]:
        datasets: dict[str, list[Block] | None] = {}
        for name in names:
            dataset_name, _, block_name = name.partition("#")
            dataset = inventory.datasets[dataset_name]
            if not block_name:
                datasets[dataset_name] = None
            elif datasets.get(dataset_name, []) is not None:
                block = dataset.find_block(block_name)
                assert block is not None  # _check found it
                datasets.setdefault(dataset_name, []).append(block)  # type: ignore[union-attr]
        items = []
        for name, blocks in sorted(datasets.items()):
            dataset = inventory.datasets[name]
            if blocks is not None and (
                sum(b.size for b in blocks) > self.block_request_max * dataset.size
            ):
                blocks = None  # promoted to the dataset
            if blocks is None:
                items.append(_Item(name, dataset, None))
            else:
                items += [_Item(b.full_name, dataset, (b,)) for b in blocks]
        return items

    def _track(self, ctx: PlugInContext, request: Request, review: RequestReview) -> None:
        inventory = ctx.inventory
        group = request.group or ctx.options.group
        actions: list[RequestAction] = []
        for action in request.actions:
            if action.status in (ActionStatus.COMPLETED, ActionStatus.FAILED):
                actions.append(action)
                continue
            site = inventory.sites.get(action.site)
            items = _resolve_key(inventory, action.item)
            if site is None or items is None:
                actions.append(_moved(action, ActionStatus.FAILED, ctx.now))
                continue
            state = _state(items, site, group)
            if state:
                actions.append(_moved(action, ActionStatus.COMPLETED, ctx.now))
            elif state is None and ctx.now - action.last_update >= self.grace:
                actions.append(_moved(action, ActionStatus.NEW, ctx.now))
                review.proposals.append(_proposal(self, request, group, items, (site.name,)))
            else:
                actions.append(action)
        review.pending[request.id] = actions
        if not any(p.request_id == request.id for p in review.proposals):
            review.updates.append(_tracked(request.id, actions))


def _tracked(request_id: int, actions: list[RequestAction]) -> RequestUpdate:
    """An activated request after tracking: completed when no action is still to do
    (rejected if every one failed: its items or sites are gone), else still activated."""
    statuses = {a.status for a in actions}
    if statuses & {ActionStatus.QUEUED, ActionStatus.NEW}:
        return RequestUpdate(
            request_id=request_id, status=RequestStatus.ACTIVATED, actions=tuple(actions)
        )
    if statuses == {ActionStatus.FAILED}:
        return RequestUpdate(
            request_id=request_id,
            status=RequestStatus.REJECTED,
            actions=tuple(actions),
            reject_reason="every requested item or site has disappeared",
        )
    return RequestUpdate(
        request_id=request_id, status=RequestStatus.COMPLETED, actions=tuple(actions)
    )


def settle(review: RequestReview, plan: DealerPlan, now: int) -> list[RequestUpdate]:
    """Every request update of the cycle: the review's, then those the plan decides."""
    updates = list(review.updates)
    decided = {update.request_id for update in updates}
    accepted: dict[int, list[RequestAction]] = {}
    for copy in plan.copies:
        request_id = copy.proposal.request_id
        if request_id is not None:
            key = _key_of(copy.proposal)
            accepted.setdefault(request_id, []).append(
                RequestAction(item=key, site=copy.site, status=ActionStatus.QUEUED, last_update=now)
            )
    failures: dict[int, list[str]] = {}
    retries: dict[int, list[RequestAction]] = {}
    for rejection in plan.rejections:
        p = rejection.proposal
        if p.request_id is None:
            continue
        failures.setdefault(p.request_id, []).append(rejection.reason)
        if p.sites is not None and len(p.sites) == 1 and rejection.reason not in _PERMANENT:
            # one named site without room now: an action to propose again after the grace
            retries.setdefault(p.request_id, []).append(
                RequestAction(
                    item=_key_of(p), site=p.sites[0], status=ActionStatus.NEW, last_update=now
                )
            )
    for request_id, request in sorted(review.requests.items()):
        if request_id in decided:
            continue
        known = review.pending.get(request_id, [])
        new = accepted.get(request_id, [])
        actions = _merge_actions(known, new)
        if new or known:
            actions = _merge_actions(retries.get(request_id, []), actions)
        reasons = failures.get(request_id, [])
        if request.status is RequestStatus.NEW and not new and not known:
            permanent = [r for r in reasons if r in _PERMANENT]
            if permanent:
                updates.append(
                    RequestUpdate(
                        request_id=request_id,
                        status=RequestStatus.REJECTED,
                        reject_reason=permanent[0],
                    )
                )
            continue  # capacity: try again next cycle
        updates.append(
            RequestUpdate(
                request_id=request_id, status=RequestStatus.ACTIVATED, actions=tuple(actions)
            )
        )
    return updates


def _merge_actions(known: list[RequestAction], new: list[RequestAction]) -> list[RequestAction]:
    by_key = {(a.item, a.site): a for a in known}
    for action in new:
        by_key[(action.item, action.site)] = action
    return [by_key[key] for key in sorted(by_key)]


def _check(inventory: Inventory, request: Request, group: str) -> str | None:
    if group not in inventory.groups:
        return f"unknown group {group}"
    for name in request.items:
        if _resolve_key(inventory, name) is None:
            return f"unknown item {name}"
    for name in request.sites:
        if name not in inventory.sites:
            return f"unknown site {name}"
    return None


def _resolve_key(inventory: Inventory, key: str) -> _Item | None:
    dataset_name, _, block_name = key.partition("#")
    dataset = inventory.datasets.get(dataset_name)
    if dataset is None:
        return None
    if not block_name:
        return _Item(key, dataset, None)
    block = dataset.find_block(block_name)
    return None if block is None else _Item(key, dataset, (block,))


def _state(item: _Item, site: Site, group: str) -> bool | None:
    """None: not at the site (for this group); False: there, incomplete; True: complete."""
    replica = site.dataset_replicas.get(item.dataset)
    if replica is None:
        return None
    blocks = item.blocks if item.blocks is not None else tuple(item.dataset.blocks.values())
    present = [replica.block_replicas.get(block) for block in blocks]
    if any(r is None or r.group.name != group for r in present):
        return None
    return all(r is not None and r.is_complete() for r in present)


def _moved(action: RequestAction, status: ActionStatus, now: int) -> RequestAction:
    return RequestAction(item=action.item, site=action.site, status=status, last_update=now)


def _proposal(
    plugin: CopyRequestsPlugIn,
    request: Request,
    group: str,
    item: _Item,
    sites: tuple[str, ...],
) -> Proposal:
    return Proposal(
        plugin=plugin.name,
        priority=plugin.priority,
        dataset=item.dataset.name,
        blocks=None if item.blocks is None else tuple(b.name for b in item.blocks),
        sites=sites,
        group=group,
        reason=f"copy request {request.id} of {request.user}: {item.key}",
        request_id=request.id,
    )


def _key_of(proposal: Proposal) -> str:
    if proposal.blocks is None:
        return proposal.dataset
    return f"{proposal.dataset}#{proposal.blocks[0]}"
