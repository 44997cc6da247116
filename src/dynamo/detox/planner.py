"""The Detox algorithm (original-dynamo §4): iterative deletion between watermarks.

:func:`plan` evaluates every replica of the partition at the target sites (``On``) through the
policy, then:

1. applies the ``Delete`` decisions, which need no trigger, one replica at a time in (site,
   dataset) order, re-evaluating what each deletion can change before the next;
2. picks, among the triggered sites (``When``) that have deletion candidates (``Dismiss``) and
   have not reached their stop condition (``Until``), the one with the highest protected
   fraction (protected bytes / quota), and deletes its candidates in ``Order`` order until a
   ``deletion_per_iteration`` share of its quota is gone or the site reaches ``Until``;
3. re-evaluates what that step can change and goes back to 1, until no triggered site has a
   candidate left. ``Algo Static`` does one pass instead: every candidate in one global order.

A deletion can change only the evaluation of the other replicas of the same datasets (copy
counts, tape state, last transfer sources) and, when the policy's lines read the site's
occupancy, the replicas at the same site: only those are re-evaluated (the original re-evaluated
everything; ``DetoxOptions.full_reevaluation`` still does, for tests). Candidates wait in one heap
per site, so no step sorts the population.

The cyclic garbage collector is paused while planning (:mod:`dynamo.detox.collector`). The
planner works on the inventory it is given: it unlinks the block replicas it deletes, so
that derived quantities see the state after each step, and links them back in their original
order before returning. The inventory is unchanged afterwards; nothing else may use it meanwhile.
"""

from __future__ import annotations

import heapq
import logging
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter

from dynamo.detox.collector import collector_paused
from dynamo.detox.image import ImageEditor
from dynamo.detox.plan import (
    SAFETY_LINE,
    DecisionRow,
    Deletion,
    DetoxOptions,
    DetoxPlan,
    SiteOutcome,
    Verdict,
)
from dynamo.model import (
    BlockReplica,
    Dataset,
    DatasetReplica,
    Inventory,
    Partition,
    Site,
    SitePartition,
    SiteStatus,
    StorageType,
)
from dynamo.policy import (
    Action,
    Attributes,
    CompiledPolicy,
    Decision,
    EvaluationContext,
    Frame,
    PolicyLine,
)
from dynamo.policy.compiler import compile_condition, variables_of
from dynamo.policy.variables import REGISTRY, Scope

__all__ = ["plan"]

log = logging.getLogger(__name__)

_PROTECT = {Action.PROTECT, Action.PROTECT_BLOCK}
_DELETE = {Action.DELETE, Action.DELETE_BLOCK}
_DISMISS = {Action.DISMISS, Action.DISMISS_BLOCK}
_KEEPS_COPY = {StorageType.DISK, StorageType.MSS}
_MAX_LOGGED_BITES = 50
_SIZE = attrgetter("size")
_DIRTY = -1  # the version of a queued re-evaluation: before any decision of the same replica


class _Entry:
    """The current evaluation of one dataset replica."""

    __slots__ = ("decisions", "protected", "replica", "version")

    def __init__(self, replica: DatasetReplica) -> None:
        self.replica = replica
        self.version = 0
        self.decisions: tuple[Decision, ...] = ()
        self.protected = 0


@dataclass(slots=True)
class _SiteState:
    site: Site
    usage: SitePartition
    quota: int
    occupancy_before: float
    triggered: bool
    ignored: bool = False  # a leading Ignore line on site fields alone takes every replica
    done: bool = False
    protected: int = 0
    deleted: int = 0
    bites: int = 0
    candidates: list[tuple[tuple[float, ...], int, str, int, int]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.triggered and not self.done

    @property
    def protected_fraction(self) -> float:
        return 1.0 if self.quota <= 0 else self.protected / self.quota


def plan(
    inventory: Inventory,
    policy: CompiledPolicy,
    partition: Partition,
    attributes: Attributes,
    *,
    now: int,
    options: DetoxOptions | None = None,
) -> DetoxPlan:
    """Plan one Detox cycle of ``partition`` (see the module docstring)."""
    planner = _Planner(inventory, policy, partition, attributes, now, options or DetoxOptions())
    return planner.run()


class _Planner:
    def __init__(
        self,
        inventory: Inventory,
        policy: CompiledPolicy,
        partition: Partition,
        attributes: Attributes,
        now: int,
        options: DetoxOptions,
    ) -> None:
        self.inventory = inventory
        self.policy = policy
        self.partition = partition
        self.now = now
        self.options = options
        self.ctx = EvaluationContext(now=now, attributes=attributes, partition=partition)
        self.bit = 1 << partition.index
        self.line_ids = {id(line): index for index, line in enumerate(policy.policy.lines)}
        self.reads_usage = _lines_read_site_usage(policy)
        self.stable_lines = _stable_prefix(policy)
        self.editor = ImageEditor(inventory)
        self.sites: dict[Site, _SiteState] = {}
        self.states: dict[int, _SiteState] = {}  # by id(site): no natural-key hashing
        self.unlinked: set[int] = set()  # ids of the dataset replicas the plan unlinked
        self.entries: dict[int, _Entry] = {}
        # (place, version, id): place orders replicas by (site name, dataset name), see _place
        self.deletes: list[tuple[int, int, int]] = []
        self.site_ranks: dict[int, int] = {}  # id(site) -> rank of its name among the targets
        self.dataset_ranks: dict[str, int] = {}  # dataset name -> rank, filled by _find_sites
        self.dirty: dict[int, DatasetReplica] = {}  # to re-evaluate; queued in deletes as _DIRTY
        self.stable: set[int] = set()  # decided by lines no deletion elsewhere can change
        self.deleted: list[Deletion] = []
        self.deleted_rows: dict[tuple[str, str, Verdict, int], list[int]] = {}
        self.safety_kept: set[int] = set()
        self.deleted_ids: set[int] = set()
        self.ignored: set[int] = set()
        self.evaluations = 0
        self.iterations = 0
        self.bites = 0

    # ------------------------------------------------------------------ driver

    def run(self) -> DetoxPlan:
        with collector_paused():
            return self._run()

    def _run(self) -> DetoxPlan:
        try:
            self._find_sites()
            self._evaluate(self._all_replicas())
            if self.policy.policy.static:
                self._run_static()
            else:
                self._run_iterative()
            outcome = self._outcome()
        finally:
            self.editor.restore()
        return outcome

    def _run_iterative(self) -> None:
        while True:
            self._apply_deletes()
            state = self._next_site()
            if state is None:
                return
            self.iterations += 1
            touched = self._delete_at(state)
            self._changed(touched, state.site)

    def _run_static(self) -> None:
        while self.deletes:
            found = self.entries.get(heapq.heappop(self.deletes)[2])
            if found is not None:
                self._apply_entry_deletes(found)
        order = [
            (key, tie, name, state.site.name, ident)
            for state in self.sites.values()
            for key, tie, name, _version, ident in state.candidates
        ]
        heapq.heapify(order)
        self.iterations = 1
        while order:
            candidate = self.entries.get(heapq.heappop(order)[4])
            if candidate is None:
                continue
            state = self.states[id(candidate.replica.site)]
            if not state.active:
                continue
            if self.policy.is_done(state.site, state.usage, self.ctx):
                state.done = True
                continue
            self._delete_candidate(candidate, state)

    # ------------------------------------------------------------------ sites

    def _find_sites(self) -> None:
        self.dataset_ranks = {
            name: rank for rank, name in enumerate(sorted(self.inventory.datasets))
        }
        for site in sorted(self.inventory.sites.values(), key=lambda s: s.name):
            self.site_ranks[id(site)] = len(self.site_ranks)
            usage = site.partitions.get(self.partition)
            if usage is None or not self.policy.is_target(site, usage, self.ctx):
                continue
            self.sites[site] = self.states[id(site)] = _SiteState(
                site=site,
                usage=usage,
                quota=usage.effective_quota(),
                occupancy_before=usage.occupancy(physical=True),
                triggered=self.policy.is_triggered(site, usage, self.ctx),
                ignored=not self.options.full_reevaluation and self._ignores_site(site, usage),
            )

    def _ignores_site(self, site: Site, usage: SitePartition) -> bool:
        """Whether the policy's first matching line for every replica at ``site`` is an
        ``Ignore`` line that reads only static site fields (Physics's ``Ignore site.name ==
        T*_MSS``): its replicas need no evaluation."""
        frame = Frame.of_site(self.ctx, site, usage)
        for line in self.policy.policy.lines:
            condition = line.condition
            if condition is None or not all(
                REGISTRY[name].scope is Scope.SITE and REGISTRY[name].static
                for name in variables_of(condition)
            ):
                return False
            if compile_condition(condition, self.now)(frame, None):
                return line.action is Action.IGNORE
        return False

    def _place(self, replica: DatasetReplica) -> int:
        """One int that sorts like (site name, dataset name): cheaper to compare in a heap."""
        ranks = self.dataset_ranks
        return self.site_ranks[id(replica.site)] * (len(ranks) + 1) + ranks[replica.dataset.name]

    def _next_site(self) -> _SiteState | None:
        """The active site with candidates and the highest protected fraction (then by name)."""
        best: _SiteState | None = None
        for state in self.sites.values():
            if not state.active or not self._has_candidate(state):
                continue
            if self.policy.is_done(state.site, state.usage, self.ctx):
                state.done = True
                continue
            if best is None or state.protected_fraction > best.protected_fraction:
                best = state
        return best

    def _has_candidate(self, state: _SiteState) -> bool:
        heap = state.candidates
        while heap:
            _key, _tie, _name, version, ident = heap[0]
            entry = self.entries.get(ident)
            if entry is not None and entry.version == version:
                return True
            heapq.heappop(heap)
        return False

    def _delete_at(self, state: _SiteState) -> set[Dataset]:
        """One iteration at ``state``'s site; returns the datasets whose replicas it deleted."""
        cap = state.quota * self.options.deletion_per_iteration if state.quota > 0 else None
        deleted = 0
        touched: set[Dataset] = set()
        while self._has_candidate(state):
            ident = heapq.heappop(state.candidates)[4]
            entry = self.entries[ident]
            touched.add(entry.replica.dataset)
            deleted += self._delete_candidate(entry, state)
            if self.policy.is_done(state.site, state.usage, self.ctx):
                state.done = True
                break
            if cap is not None and deleted > cap:
                break
        return touched

    # ------------------------------------------------------------------ evaluation

    def _all_replicas(self) -> Iterator[DatasetReplica]:
        """Replicas at target sites, dataset by dataset (those without a block replica in the
        partition are left out by the evaluation)."""
        states = self.states
        for dataset in self.inventory.datasets.values():
            for replica in dataset.replicas.values():
                if id(replica.site) in states:
                    yield replica

    def _dependents(self, datasets: Iterable[Dataset], site: Site | None) -> list[DatasetReplica]:
        """What a deletion of replicas of ``datasets`` (at ``site``) can change."""
        if self.options.full_reevaluation:
            return list(self._all_replicas())
        found: dict[int, DatasetReplica] = {}
        for dataset in datasets:
            for replica in dataset.replicas.values():
                if id(replica.site) in self.states:
                    found[id(replica)] = replica
        if self.reads_usage and site is not None:
            for replica in site.dataset_replicas.values():
                found[id(replica)] = replica
        return list(found.values())

    def _evaluate(self, replicas: Iterable[DatasetReplica]) -> None:
        """(Re-)evaluate ``replicas``, grouped by dataset so each dataset's facts are computed
        once and dropped after (they are stale after any deletion)."""
        cache = self.ctx.dataset_cache
        previous: Dataset | None = None
        for replica in replicas:
            if replica.dataset is not previous:
                if previous is not None:
                    cache.pop(previous.name, None)
                previous = replica.dataset
                cache.pop(previous.name, None)
            self._evaluate_one(replica)
        if previous is not None:
            cache.pop(previous.name, None)

    def _evaluate_one(self, replica: DatasetReplica) -> None:
        ident = id(replica)
        entry = self.entries.get(ident)
        state = self.states[id(replica.site)]
        if entry is not None:
            state.protected -= entry.protected
        bit = self.bit
        if state.ignored:
            self.entries.pop(ident, None)
            if ident not in self.unlinked and any(
                br.partition_mask & bit for br in replica.block_replicas.values()
            ):
                self.evaluations += 1
                self.ignored.add(ident)
                self.stable.add(ident)
            return
        inside = (
            [br for br in replica.block_replicas.values() if br.partition_mask & bit]
            if ident not in self.unlinked
            else None
        )
        if not inside:  # unlinked, or no block replica in the partition
            self.entries.pop(ident, None)
            self.stable.discard(ident)
            return
        self.evaluations += 1
        decisions = self.policy.evaluate(replica, self.ctx, inside)
        if self.line_ids[id(decisions[-1].line)] < self.stable_lines:
            self.stable.add(ident)
        else:
            self.stable.discard(ident)
        if decisions[-1].action is Action.IGNORE and len(decisions) == 1:
            self.entries.pop(ident, None)
            self.ignored.add(ident)
            return
        self.ignored.discard(ident)
        if entry is None:
            entry = self.entries[ident] = _Entry(replica)
        entry.version += 1
        entry.decisions = decisions
        protected = 0
        has_delete = has_candidate = False
        kept = self.safety_kept
        for decision in decisions:
            action = decision.action
            if action in _PROTECT:
                protected += _size(decision.block_replicas)
            elif action is Action.IGNORE or not decision.block_replicas:
                continue
            elif not kept:  # the common case: the safety rule has kept nothing yet
                if action in _DELETE:
                    has_delete = True
                else:
                    has_candidate = True
            else:
                # what the safety rule kept counts as protected, and is no candidate any more
                for br in decision.block_replicas:
                    if id(br) in kept:
                        protected += br.size
                    elif action in _DELETE:
                        has_delete = True
                    else:
                        has_candidate = True
        entry.protected = protected
        state.protected += entry.protected
        name = replica.dataset.name
        if has_delete:
            heapq.heappush(self.deletes, (self._place(replica), entry.version, ident))
        if has_candidate and state.triggered:
            key = self.policy.order_key(replica, self.ctx, inside)
            tie = zlib.crc32(f"{self.options.seed}:{name}".encode())
            heapq.heappush(state.candidates, (key, tie, name, entry.version, ident))

    # ------------------------------------------------------------------ deletion

    def _apply_deletes(self) -> None:
        """Apply pending ``Delete`` decisions in (site, dataset) order, each re-evaluated after
        the ones before it.

        A replica a deletion can change is queued under its own (site, dataset) key and
        evaluated when its turn comes (or at the end), not at once: nothing it depends on
        changes in between without queueing it again, so it decides what an immediate
        re-evaluation would, and a replica touched by several deletions is evaluated once.
        """
        heap = self.deletes
        dirty = self.dirty
        cache = self.ctx.dataset_cache
        while heap:
            _place, version, ident = heapq.heappop(heap)
            if version == _DIRTY:
                replica = dirty.pop(ident, None)
                if replica is not None:
                    self._evaluate_one(replica)  # a Delete it decides is queued next
                continue
            entry = self.entries.get(ident)
            if entry is None or entry.version != version:
                continue
            replica = entry.replica
            done = len(self.deleted)
            self._apply_entry_deletes(entry)
            if len(self.deleted) > done:
                self._changed((replica.dataset,), replica.site)
            else:  # every target was a last copy: only this replica's protection changed
                self._evaluate_one(replica)
        cache.clear()

    def _changed(self, datasets: Iterable[Dataset], site: Site | None) -> None:
        """Deletions of replicas of ``datasets`` (at ``site``) happened: queue what they can
        change for re-evaluation (at once with ``full_reevaluation``, the reference)."""
        cache = self.ctx.dataset_cache
        if self.options.full_reevaluation:
            cache.clear()
            self._evaluate(self._dependents(datasets, site))
            return
        datasets = list(datasets)
        for dataset in datasets:
            cache.pop(dataset.name, None)
        dirty = self.dirty
        stable = self.stable
        heap = self.deletes
        for replica in self._dependents(datasets, site):
            ident = id(replica)
            if ident not in dirty and ident not in stable:
                dirty[ident] = replica
                heapq.heappush(heap, (self._place(replica), _DIRTY, ident))

    def _apply_entry_deletes(self, entry: _Entry) -> int:
        targets = [
            (br, decision.line)
            for decision in entry.decisions
            if decision.action in _DELETE
            for br in decision.block_replicas
        ]
        return self._delete(entry, targets, self.states[id(entry.replica.site)])

    def _delete_candidate(self, entry: _Entry, state: _SiteState) -> int:
        targets = [
            (br, decision.line)
            for decision in entry.decisions
            if decision.action in _DISMISS
            for br in decision.block_replicas
        ]
        return self._delete(entry, targets, state)

    def _delete(
        self, entry: _Entry, targets: list[tuple[BlockReplica, PolicyLine]], state: _SiteState
    ) -> int:
        """Delete the block replicas, but never a last complete copy; returns the bytes.

        The safety rule looks at other sites only, so it is applied to every target first;
        the rest are unlinked together and counted per deciding line.
        """
        replica = entry.replica
        kept = self.safety_kept
        check_copies = self.options.protect_last_copy
        going: list[tuple[BlockReplica, PolicyLine]] = []
        for br, line in targets:
            if id(br) in kept:
                continue
            if check_copies and _is_last_copy(br):
                self._bite(entry, br, line, state)
                continue
            going.append((br, line))
        entry.version += 1  # what it decided is used up; it is re-evaluated next
        self.stable.discard(id(replica))
        if not going:
            return 0
        self.editor.unlink_all(replica, [br for br, _line in going])
        emptied = not replica.block_replicas
        site_name, dataset_name = state.site.name, replica.dataset.name
        deleted_ids = self.deleted_ids
        append = self.deleted.append
        freed = 0
        last = len(going) - 1
        rows = self.deleted_rows
        line_id = -1
        row: list[int] = []
        previous: PolicyLine | None = None
        for index, (br, line) in enumerate(going):
            if line is not previous:
                previous = line
                line_id = self.line_ids[id(line)]
                row = rows.setdefault((site_name, dataset_name, Verdict.DELETE, line_id), [0, 0])
            size = br.size
            row[0] += size
            row[1] += 1
            freed += size
            deleted_ids.add(id(br))
            append(
                Deletion(  # positional: the fields in order, dataset to whole_dataset_replica
                    dataset_name,
                    br.block.name,
                    site_name,
                    size,
                    br.num_files,
                    br.is_custodial,
                    br.last_update,
                    line_id,
                    emptied and index == last,
                )
            )
        if emptied:
            self.editor.unlink_dataset_replica(replica)
            self.unlinked.add(id(replica))
        state.deleted += freed
        return freed

    def _bite(self, entry: _Entry, br: BlockReplica, line: PolicyLine, state: _SiteState) -> None:
        self.safety_kept.add(id(br))
        self.bites += 1
        state.bites += 1
        entry.protected += br.size
        state.protected += br.size
        if self.bites <= _MAX_LOGGED_BITES:
            log.info(
                "safety rule: kept %s at %s, the last complete copy (line %d decided %s)",
                br.block.full_name,
                state.site.name,
                line.number,
                line.action,
            )
        elif self.bites == _MAX_LOGGED_BITES + 1:
            log.info("safety rule: more last copies kept; the cycle summary counts them")

    # ------------------------------------------------------------------ outcome

    def _outcome(self) -> DetoxPlan:
        rows = [
            DecisionRow(site, dataset, verdict, line_id, size, count)
            for (site, dataset, verdict, line_id), (size, count) in self.deleted_rows.items()
        ]
        kept: dict[int, int] = {}  # by id(site)
        for entry in self.entries.values():
            for row in self._final_rows(entry):
                rows.append(row)
                if row.verdict is Verdict.KEEP:
                    site = id(entry.replica.site)
                    kept[site] = kept.get(site, 0) + row.size
        rows.sort()  # by (site, dataset, verdict, line_id): unique, the rest never compared
        matches: dict[int, int] = {}
        for row in rows:
            matches[row.line_id] = matches.get(row.line_id, 0) + 1
        unmatched = [
            str(line.number)
            for index, line in enumerate(self.policy.policy.lines)
            if index not in matches
        ]
        if unmatched:
            shown = ", ".join(unmatched[:20]) + (", ..." if len(unmatched) > 20 else "")
            log.warning("%d policy lines never matched (lines %s)", len(unmatched), shown)
        return DetoxPlan(
            partition=self.partition.name,
            now=self.now,
            seed=self.options.seed,
            sites=tuple(
                self._site_outcome(state, kept.get(id(site), 0))
                for site, state in self.sites.items()
            ),
            decisions=tuple(rows),
            deletions=tuple(self.deleted),
            line_matches=matches,
            iterations=self.iterations,
            evaluations=self.evaluations,
            safety_bites=self.bites,
            ignored_replicas=len(self.ignored),
        )

    def _final_rows(self, entry: _Entry) -> Iterator[DecisionRow]:
        replica = entry.replica
        grouped: dict[tuple[Verdict, int], list[int]] = {}
        deleted, kept = self.deleted_ids, self.safety_kept
        for decision in entry.decisions:
            action = decision.action
            if action is Action.IGNORE:
                continue
            line_id = self.line_ids[id(decision.line)]
            verdict = Verdict.PROTECT if action in _PROTECT else Verdict.KEEP
            brs = decision.block_replicas
            if (not deleted or deleted.isdisjoint(map(id, brs))) and (
                verdict is Verdict.PROTECT or not kept or kept.isdisjoint(map(id, brs))
            ):  # the common case: one row for the whole decision
                if brs:
                    found = grouped.setdefault((verdict, line_id), [0, 0])
                    found[0] += _size(brs)
                    found[1] += len(brs)
                continue
            for br in brs:
                ident = id(br)
                if ident in deleted:
                    continue
                if verdict is Verdict.KEEP and ident in kept:
                    key = (Verdict.PROTECT, SAFETY_LINE)
                else:
                    key = (verdict, line_id)
                found = grouped.setdefault(key, [0, 0])
                found[0] += br.size
                found[1] += 1
        site, dataset = replica.site.name, replica.dataset.name
        for (verdict, line_id), (size, count) in grouped.items():
            yield DecisionRow(site, dataset, verdict, line_id, size, count)

    def _site_outcome(self, state: _SiteState, kept: int) -> SiteOutcome:
        site, usage = state.site, state.usage
        reached = state.done or (state.triggered and self.policy.is_done(site, usage, self.ctx))
        reason = None
        if state.triggered and not reached:
            reason = (
                f"nothing more may be deleted: {_share(state.protected, state.quota)} of the quota "
                f"is protected and {_share(kept, state.quota)} kept by the policy"
            )
            if state.bites:
                reason += f"; the safety rule kept {state.bites} last block copies"
        return SiteOutcome(
            name=site.name,
            status=site.status.name,
            quota_bytes=state.quota,
            occupancy_before=state.occupancy_before,
            occupancy_after=usage.occupancy(physical=True),
            triggered=state.triggered,
            reached_stop=reached and state.triggered,
            protected_bytes=state.protected,
            kept_bytes=kept,
            deleted_bytes=state.deleted,
            stop_reason=reason,
        )


def _share(amount: int, quota: int) -> str:
    return "all" if quota <= 0 else f"{amount / quota:.1%}"


def _size(replicas: Iterable[BlockReplica]) -> int:
    return sum(map(_SIZE, replicas))


def _is_last_copy(replica: BlockReplica) -> bool:
    """No other complete copy of the block survives at a disk or tape site that is not in the
    morgue and does not already belong to the null group (pending deletion)."""
    block = replica.block
    for other in block.replicas:
        if other is replica or other.group.name is None:
            continue
        site = other.site
        if site.storage_type not in _KEEPS_COPY or site.status is SiteStatus.MORGUE:
            continue
        if other.size == block.size and other.num_files == block.num_files:
            return False
    return True


_SELF_CONTAINED = frozenset(
    {
        "dataset.size",
        "dataset.last_update",
        "replica.size",
        "replica.incomplete",
        "replica.last_block_created",
        "replica.first_block_created",
        "blockreplica.last_update",
    }
)
"""Variables that read only the replica's own block replicas or the dataset's own fields."""


def _stable_prefix(policy: CompiledPolicy) -> int:
    """How many leading lines read nothing a deletion of another replica can change: only
    static fields, attributes (fixed for the cycle) and the replica's own blocks. A replica
    decided among them is decided the same until its own block replicas change."""
    for index, line in enumerate(policy.policy.lines):
        if line.condition is None:
            return index
        for name in variables_of(line.condition):
            variable = REGISTRY[name]
            if not (variable.static or variable.attribute is not None or name in _SELF_CONTAINED):
                return index
    return len(policy.policy.lines)


def _lines_read_site_usage(policy: CompiledPolicy) -> bool:
    """Whether some action line reads a site quantity that deletions change (occupancy)."""
    for line in policy.policy.lines:
        if line.condition is None:
            continue
        if any(REGISTRY[name].site_only for name in variables_of(line.condition)):
            return True
    return False
