"""The user-data application: injection from jobs, completion, consolidation, imports,
deletion and status, over the inventory (through an :class:`InventoryWriter`), the user-data
tables and the sites' storage (:class:`~dynamo.fileops.endpoints.Endpoints`).

Every write to the inventory is planned under the writer's lock from the current image and
committed with its user-data rows and file-operation subscriptions in one transaction. Checks
that need storage (stat and adler32 of a confirmed file) run before, in a worker thread.

Who may do what: the owner of a namespace is the user named in it (``/store/user/<owner>/``,
``/<primary>/<owner>-<label>/USER``); only the owner and admins act on it
(:class:`NamespaceForbiddenError` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine

from dynamo.errors import DynamoError, NotFoundError
from dynamo.fileops.endpoints import Endpoint, Endpoints, open_storage
from dynamo.fileops.ports import OpKind
from dynamo.model import Dataset, Inventory, Operation
from dynamo.storage.copy import copy_file
from dynamo.storage.errors import StorageError, StorageNotFound
from dynamo.store import SideWrite
from dynamo.userdata import records
from dynamo.userdata.errors import (
    DuplicateNameError,
    FileCheckError,
    NamespaceForbiddenError,
    UserDataNameError,
    UserDataStateError,
)
from dynamo.userdata.naming import lfn_owner, parse_dataset
from dynamo.userdata.options import UserDataOptions
from dynamo.userdata.planning import (
    Registration,
    RegistrationBatch,
    check_room,
    completion_ops,
    consolidation_step,
    purge_ops,
    quota_ops,
)
from dynamo.userdata.records import DatasetRecord, ImportStatus

__all__ = [
    "IMPORT_SCHEMES",
    "Caller",
    "Confirmation",
    "ImportFile",
    "InventoryWriter",
    "Location",
    "PassSummary",
    "UserDataService",
]

log = logging.getLogger(__name__)

MAX_BATCH = 500
"""Registrations committed together at most."""

IMPORT_SCHEMES = frozenset({"root", "xroot", "http", "https", "davs"})
"""Where imported files may come from (never the server's own file system)."""

Plan = Callable[[Inventory], Awaitable[Sequence[Operation]]]


class InventoryWriter(Protocol):
    """The one write path of the inventory (the server's InventoryService)."""

    @property
    def inventory(self) -> Inventory: ...

    async def commit_plan(self, plan: Plan, *, also: SideWrite | None = None) -> object: ...


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: a user name (None if the DN maps to no user) and whether they are an admin."""

    user: str | None
    is_admin: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """Where a job copies a file: the PFN, by ``protocol``."""

    dataset: str
    lfn: str
    site: str
    pfn: str
    protocol: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirmation:
    dataset: str
    lfn: str
    site: str
    block: str
    is_block_closed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportFile:
    lfn: str
    source_url: str
    size: int | None = None
    adler32: str | None = None


@dataclass(slots=True)
class PassSummary:
    """What one background pass did."""

    imported: int = 0
    import_failures: int = 0
    transfers: int = 0
    deletions: int = 0
    consolidated: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """What the pass did, for a log line; empty when it did nothing."""
        parts = [
            f"{value} {label}"
            for value, label in (
                (self.imported, "files imported"),
                (self.import_failures, "imports failed"),
                (self.transfers, "block transfers queued"),
                (self.deletions, "block deletions queued"),
            )
            if value
        ]
        parts.extend(f"{name} consolidated" for name in self.consolidated)
        parts.extend(f"{name} purged" for name in self.purged)
        return ", ".join(parts)


class UserDataService:
    """See the module docstring."""

    def __init__(
        self,
        writer: InventoryWriter,
        engine: Engine,
        endpoints: Endpoints,
        options: UserDataOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.writer = writer
        self.engine = engine
        self.endpoints = endpoints
        self.options = options or UserDataOptions()
        self._clock = clock
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    def _now(self) -> int:
        return int(self._clock())

    # ----------------------------------------------------------------- checks

    def owner_of(self, caller: Caller, dataset: str, lfn: str | None = None) -> str:
        """The owner of ``dataset`` (and ``lfn``), once the caller may act for them."""
        owner = parse_dataset(dataset).owner
        namespace = owner if lfn is None else lfn_owner(lfn)
        for user in sorted({owner, namespace}):
            if not caller.is_admin and caller.user != user:
                raise NamespaceForbiddenError(
                    f"the namespace of {user} is theirs: {caller.user or 'this DN'} "
                    "may not write into it"
                )
        if namespace != owner:
            raise UserDataNameError(
                f"{lfn!r} is not in the namespace of {owner}, who owns {dataset}"
            )
        return owner

    def _endpoint(self, site: str) -> Endpoint:
        found = self.endpoints.get(site)
        if found is None:
            raise UserDataStateError(f"site {site!r} has no storage configured for user data")
        return found

    async def _record(self, dataset: str) -> DatasetRecord | None:
        return await asyncio.to_thread(records.read_dataset, self.engine, dataset)

    async def _check_free(self, lfns: Sequence[str]) -> None:
        taken = await asyncio.to_thread(records.lfn_holder, self.engine, lfns)
        if taken:
            lfn = sorted(taken)[0]
            raise DuplicateNameError(f"{lfn} is {taken[lfn]} already ({len(taken)} taken)")

    def _check_open(self, inventory: Inventory, dataset: str, record: DatasetRecord | None) -> None:
        if record is not None and record.deleted is not None:
            raise UserDataStateError(f"dataset {dataset} is being deleted")
        found = inventory.datasets.get(dataset)
        if found is not None and not found.is_open:
            raise UserDataStateError(f"dataset {dataset} is complete: no file may be added")
        if found is not None and record is None:
            raise DuplicateNameError(f"dataset {dataset} exists and is not user data")

    # ----------------------------------------------------------------- injection

    async def locate(
        self, caller: Caller, dataset: str, lfn: str, site: str, size: int = 0
    ) -> Location:
        """Where to copy a new file: checks names, ownership, uniqueness and the quota."""
        self.owner_of(caller, dataset, lfn)
        endpoint = self._endpoint(site)
        record, taken = await asyncio.to_thread(records.names_state, self.engine, dataset, [lfn])
        self._check_open(self.writer.inventory, dataset, record)
        if taken:
            raise DuplicateNameError(f"{lfn} is {taken[lfn]} already")
        check_room(self.writer.inventory, site, size, self.options)
        pfn = endpoint.url_of(endpoint.site_path(lfn))
        protocol = endpoint.protocol or urlsplit(pfn).scheme
        return Location(dataset=dataset, lfn=lfn, site=site, pfn=pfn, protocol=protocol)

    async def confirm(
        self, caller: Caller, dataset: str, lfn: str, site: str, size: int, adler32: str
    ) -> Confirmation:
        """Register a file a job copied, once storage shows it is there, ``size`` bytes long
        with ``adler32``; FileCheckError (nothing registered) when it is not."""
        owner = self.owner_of(caller, dataset, lfn)
        endpoint = self._endpoint(site)
        # names are checked again when the file is registered, under the write lock
        await asyncio.to_thread(_verify, endpoint, lfn, size, adler32.lower())
        registration = Registration(
            dataset=dataset, lfn=lfn, site=site, size=size, adler32=adler32.lower()
        )
        return await self._register(owner, registration)

    async def _register(
        self, owner: str, registration: Registration, *, import_id: int | None = None
    ) -> Confirmation:
        """Register a verified file. Registrations arriving while one is being committed wait
        and are committed together (one ChangeSet, one transaction), each checked on its own."""
        pending = _Pending(
            owner, registration, import_id, asyncio.get_running_loop().create_future()
        )
        self._queue.append(pending)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_queue())
        return await pending.future

    async def _flush_queue(self) -> None:
        batch: list[_Pending] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    await self._commit_batch(batch)
                except Exception:
                    if len(batch) == 1:
                        continue  # its caller has the error
                    for one in batch:  # find the culprit: every other one commits alone
                        if not one.future.done():
                            with contextlib.suppress(Exception):
                                await self._commit_batch([one])
        finally:
            self._flusher = None
            for left in batch + self._queue:  # cancelled: nobody waits for ever
                _fail(left, UserDataStateError("the registration was interrupted; confirm again"))
            self._queue = []

    async def _commit_batch(self, batch: list[_Pending]) -> None:
        now = self._now()
        accepted: list[tuple[_Pending, Confirmation]] = []

        async def plan(inventory: Inventory) -> Sequence[Operation]:
            accepted.clear()
            lfns = [p.registration.lfn for p in batch]
            taken = await asyncio.to_thread(records.lfn_holder, self.engine, lfns)
            names = sorted({p.registration.dataset for p in batch})
            found = await asyncio.to_thread(records.read_datasets_named, self.engine, names)
            planner = RegistrationBatch(inventory, self.options, now)
            for pending in batch:
                r = pending.registration
                holder = taken.get(r.lfn)
                try:
                    if holder == "registered" or (holder and pending.import_id is None):
                        raise DuplicateNameError(f"{r.lfn} is {holder} already")
                    self._check_open(inventory, r.dataset, found.get(r.dataset))
                    made = planner.add(r)
                except DynamoError as exc:
                    _fail(pending, exc)
                    continue
                done = Confirmation(
                    dataset=r.dataset,
                    lfn=r.lfn,
                    site=r.site,
                    block=made.block,
                    is_block_closed=made.is_block_closed,
                )
                accepted.append((pending, done))
            return planner.ops if accepted else []

        def also(conn: Connection, seq: int | None) -> None:
            added: set[str] = set()
            for pending, _ in accepted:
                if pending.registration.dataset not in added:
                    records.add_dataset(conn, pending.registration.dataset, pending.owner, now)
                    added.add(pending.registration.dataset)
                if pending.import_id is not None:
                    records.finish_import(conn, pending.import_id, ImportStatus.DONE, None, now)

        try:
            await self.writer.commit_plan(plan, also=also)
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
            raise
        for pending, done in accepted:
            if not pending.future.done():
                pending.future.set_result(done)

    # ----------------------------------------------------------------- dataset life

    async def _owned(self, caller: Caller, dataset: str) -> DatasetRecord:
        self.owner_of(caller, dataset)
        record = await self._record(dataset)
        if record is None:
            raise NotFoundError(f"no user dataset named {dataset!r}")
        return record

    async def complete(self, caller: Caller, dataset: str) -> None:
        """Processing is complete: close the remaining blocks and the dataset."""
        record = await self._owned(caller, dataset)
        if record.deleted is not None:
            raise UserDataStateError(f"dataset {dataset} is being deleted")
        now = self._now()

        async def plan(inventory: Inventory) -> Sequence[Operation]:
            found = inventory.datasets.get(dataset)
            return completion_ops(found, now) if found is not None else []

        def also(conn: Connection, seq: int | None) -> None:
            records.update_dataset(conn, dataset, completed=record.completed or now)

        await self.writer.commit_plan(plan, also=also)

    async def subscribe(self, caller: Caller, dataset: str, site: str) -> PassSummary:
        """Consolidate the dataset at ``site``; the first pass runs at once."""
        record = await self._owned(caller, dataset)
        self._endpoint(site)
        if site not in self.writer.inventory.sites:
            raise UserDataStateError(f"no site named {site!r}")
        if record.deleted is not None:
            raise UserDataStateError(f"dataset {dataset} is being deleted")
        if record.target_site not in (None, site) and record.consolidated is None:
            raise UserDataStateError(
                f"dataset {dataset} is being consolidated at {record.target_site} already"
            )
        summary = PassSummary()
        await self._consolidate(dataset, site, summary, subscribed=True)
        return summary

    async def delete(self, caller: Caller, dataset: str) -> PassSummary:
        """Delete the dataset's files everywhere; the dataset goes once they are gone."""
        record = await self._owned(caller, dataset)
        summary = PassSummary()
        await self._purge(record.name, summary, first=True)
        return summary

    # ----------------------------------------------------------------- imports

    async def import_files(
        self, caller: Caller, dataset: str, site: str, files: Sequence[ImportFile]
    ) -> list[int]:
        """Queue external files to be copied into the namespace at ``site``; their names are
        checked now, the files when they have been copied."""
        if not files:
            raise UserDataNameError("an import names at least one file")
        owner = ""
        for entry in files:
            owner = self.owner_of(caller, dataset, entry.lfn)
            if urlsplit(entry.source_url).scheme not in IMPORT_SCHEMES:
                raise UserDataNameError(
                    f"{entry.source_url!r}: a source URL is one of "
                    f"{', '.join(sorted(IMPORT_SCHEMES))}"
                )
        lfns = [entry.lfn for entry in files]
        if len(set(lfns)) != len(lfns):
            raise DuplicateNameError("an LFN is listed twice in the import")
        self._endpoint(site)
        if site not in self.writer.inventory.sites:
            raise UserDataStateError(f"no site named {site!r}")
        self._check_open(self.writer.inventory, dataset, await self._record(dataset))
        await self._check_free(lfns)
        now = self._now()
        rows = [
            {
                "dataset": dataset,
                "lfn": entry.lfn,
                "site": site,
                "owner": owner,
                "source_url": entry.source_url,
                "size": entry.size,
                "adler32": entry.adler32.lower() if entry.adler32 else None,
                "status": str(ImportStatus.NEW),
                "message": None,
                "created": now,
                "updated": now,
            }
            for entry in files
        ]
        await asyncio.to_thread(self._add_imports, rows)
        ids = await asyncio.to_thread(records.imports_of, self.engine, dataset=dataset)
        return [r.id for r in ids if r.lfn in set(lfns) and r.status is ImportStatus.NEW]

    def _add_imports(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            records.add_imports(conn, rows)

    async def _run_import(self, entry: records.ImportRecord, summary: PassSummary) -> None:
        endpoint = self._endpoint(entry.site)
        try:
            size, adler32 = await asyncio.to_thread(_fetch, entry, endpoint)
            registration = Registration(
                dataset=entry.dataset, lfn=entry.lfn, site=entry.site, size=size, adler32=adler32
            )
            await self._register(entry.owner, registration, import_id=entry.id)
            summary.imported += 1
        except DynamoError as exc:
            log.warning("import of %s failed: %s", entry.lfn, exc)
            await asyncio.to_thread(self._fail_import, entry.id, str(exc))
            summary.import_failures += 1

    def _fail_import(self, import_id: int, message: str) -> None:
        with self.engine.begin() as conn:
            records.finish_import(conn, import_id, ImportStatus.FAILED, message, self._now())

    # ----------------------------------------------------------------- background pass

    async def run_once(self) -> PassSummary:
        """One pass: run the queued imports, move consolidations on, purge deleted datasets."""
        summary = PassSummary()
        for entry in await asyncio.to_thread(records.pending_imports, self.engine):
            await self._run_import(entry, summary)
        for record in await asyncio.to_thread(records.read_datasets, self.engine):
            if record.deleted is not None:
                await self._purge(record.name, summary, first=False)
            elif record.target_site is not None and record.consolidated is None:
                await self._consolidate(record.name, record.target_site, summary)
        return summary

    async def _consolidate(
        self, dataset: str, site: str, summary: PassSummary, *, subscribed: bool = False
    ) -> None:
        now = self._now()
        steps: list[Any] = []

        async def plan(inventory: Inventory) -> Sequence[Operation]:
            found = inventory.datasets.get(dataset)
            if found is None:
                raise NotFoundError(f"dataset {dataset} holds no file yet")
            step = consolidation_step(found, site, self.options, now)
            steps.append(step)
            return step.ops

        def also(conn: Connection, seq: int | None) -> None:
            step = steps[0]
            if subscribed:
                records.update_dataset(conn, dataset, target_site=site, subscribed=now)
            summary.transfers += records.subscribe_blocks(
                conn, OpKind.TRANSFER, dataset, [(b, site) for b in step.transfers], now
            )
            summary.deletions += records.subscribe_blocks(
                conn, OpKind.DELETION, dataset, step.deletions, now
            )
            if step.is_done:
                records.update_dataset(conn, dataset, consolidated=now)
                summary.consolidated.append(dataset)

        await self.writer.commit_plan(plan, also=also)

    async def _purge(self, dataset: str, summary: PassSummary, *, first: bool) -> None:
        now = self._now()
        placements: list[tuple[str, str]] = []

        async def plan(inventory: Inventory) -> Sequence[Operation]:
            found = inventory.datasets.get(dataset)
            if found is None:
                return ()
            placements.extend(_held(found))
            return purge_ops(found)

        def also(conn: Connection, seq: int | None) -> None:
            if first:
                records.update_dataset(conn, dataset, deleted=now)
            summary.deletions += records.subscribe_blocks(
                conn, OpKind.DELETION, dataset, placements, now
            )
            if not placements:
                summary.purged.append(dataset)

        await self.writer.commit_plan(plan, also=also)

    # ----------------------------------------------------------------- quota

    async def set_quota(self, site: str, quota: int) -> None:
        """Give user data ``quota`` bytes at ``site`` (negative: unlimited)."""

        async def plan(inventory: Inventory) -> Sequence[Operation]:
            return quota_ops(inventory, site, quota, self.options)

        await self.writer.commit_plan(plan)


@dataclass(slots=True)
class _Pending:
    owner: str
    registration: Registration
    import_id: int | None
    future: asyncio.Future[Confirmation]


def _fail(pending: _Pending, exc: BaseException) -> None:
    if not pending.future.done():
        pending.future.set_exception(exc)


def _held(dataset: Dataset) -> list[tuple[str, str]]:
    """Every (block, site) where a replica holds files of the dataset."""
    return sorted(
        (block.name, replica.site.name)
        for block in dataset.blocks.values()
        for replica in block.replicas
        if replica.num_files > 0
    )


def _verify(endpoint: Endpoint, lfn: str, size: int, adler32: str) -> None:
    """FileCheckError unless the file of ``lfn`` is on the endpoint with this size and adler32."""
    path = endpoint.site_path(lfn)
    storage = endpoint.storage
    try:
        found = storage.stat(path)
    except StorageNotFound:
        raise FileCheckError(
            f"{lfn} is not at {endpoint.site} ({endpoint.url_of(path)}): copy it there first"
        ) from None
    if found.is_dir:
        raise FileCheckError(f"{lfn} at {endpoint.site} is a directory")
    if found.size != size:
        raise FileCheckError(
            f"{lfn} at {endpoint.site} has {found.size} bytes, the confirmation says {size}"
        )
    stored = storage.checksum(path)
    if stored != adler32:
        raise FileCheckError(
            f"{lfn} at {endpoint.site} has adler32 {stored}, the confirmation says {adler32}"
        )


def _fetch(entry: records.ImportRecord, endpoint: Endpoint) -> tuple[int, str]:
    """Copy an imported file into place and check it; its size and adler32."""
    parts = urlsplit(entry.source_url)
    source = open_storage(f"{parts.scheme}://{parts.netloc}/")
    try:
        adler32 = source.checksum(parts.path) if entry.adler32 is None else entry.adler32
        size = source.stat(parts.path).size if entry.size is None else entry.size
        path = endpoint.site_path(entry.lfn)
        copy_file(source, parts.path, endpoint.storage, path, checksum=adler32, overwrite=True)
    except StorageError as exc:
        raise FileCheckError(f"cannot copy {entry.source_url} to {entry.lfn}: {exc}") from exc
    finally:
        close = getattr(source, "close", None)  # HTTP backends hold a connection pool
        if close is not None:
            close()
    _verify(endpoint, entry.lfn, size, adler32)
    return size, adler32
