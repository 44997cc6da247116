"""The RunStore port: application runs and write authorisations, in memory or in SQL.

Contract (both implementations):

- ``add(run)`` stores a new run and returns it with its id (ids increase);
- ``update(run)`` replaces the stored run with the same id (StoreError if there is none);
- ``get(id)`` / ``find(app=, status=, limit=)`` return runs, ``find`` newest first;
- ``abandon_unfinished(now, reason)`` marks every run still ``new``, ``queued`` or ``running``
  as ``failed`` (a server that restarts has lost its children) and returns how many;
- ``is_authorized(app, dn)`` is true when a row (app, dn) or (app, NULL) exists.

Calls are synchronous and short; the server calls the SQL store from a worker thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import orjson
from sqlalchemy import Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dynamo.errors import StoreError
from dynamo.store.schema.applications import app_authorizations, app_runs

__all__ = ["AppRun", "MemoryRunStore", "RunMode", "RunStatus", "RunStore", "SqlRunStore"]


class RunMode(StrEnum):
    READ = "read"
    WRITE = "write"


class RunStatus(StrEnum):
    NEW = "new"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    KILLED = "killed"
    TIMEOUT = "timeout"
    AUTHFAILED = "authfailed"

    @property
    def is_final(self) -> bool:
        return self not in (RunStatus.NEW, RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass(frozen=True, slots=True, kw_only=True)
class AppRun:
    """One run of an application; times are epoch seconds, ``timeout`` seconds (None: none)."""

    id: int = 0
    app: str
    mode: RunMode
    status: RunStatus = RunStatus.NEW
    user_dn: str | None = None
    source: str = "api"
    args: dict[str, Any] = field(default_factory=dict)
    timeout: int | None = None
    submitted: int
    started: int | None = None
    finished: int | None = None
    exit_code: int | None = None
    log_seq: int | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    log_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class RunStore(Protocol):
    def add(self, run: AppRun) -> AppRun: ...

    def update(self, run: AppRun) -> None: ...

    def get(self, run_id: int) -> AppRun | None: ...

    def find(
        self, *, app: str | None = None, status: RunStatus | None = None, limit: int = 100
    ) -> list[AppRun]: ...

    def abandon_unfinished(self, now: int, reason: str) -> int: ...

    def is_authorized(self, app: str, dn: str | None) -> bool: ...

    def authorize(self, app: str, dn: str | None) -> None: ...

    def revoke(self, app: str, dn: str | None) -> bool: ...

    def authorizations(self) -> list[tuple[str, str | None]]: ...


class MemoryRunStore:
    """A RunStore in a dict (tests, and servers without a database)."""

    def __init__(self) -> None:
        self._runs: dict[int, AppRun] = {}
        self._auth: set[tuple[str, str | None]] = set()

    def add(self, run: AppRun) -> AppRun:
        stored = dataclasses.replace(run, id=max(self._runs, default=0) + 1)
        self._runs[stored.id] = stored
        return stored

    def update(self, run: AppRun) -> None:
        if run.id not in self._runs:
            raise StoreError(f"no application run {run.id}")
        self._runs[run.id] = run

    def get(self, run_id: int) -> AppRun | None:
        return self._runs.get(run_id)

    def find(
        self, *, app: str | None = None, status: RunStatus | None = None, limit: int = 100
    ) -> list[AppRun]:
        runs = [
            r
            for r in reversed(self._runs.values())
            if (app is None or r.app == app) and (status is None or r.status == status)
        ]
        return runs[:limit]

    def abandon_unfinished(self, now: int, reason: str) -> int:
        stale = [r for r in self._runs.values() if not r.status.is_final]
        for run in stale:
            self._runs[run.id] = dataclasses.replace(
                run, status=RunStatus.FAILED, finished=now, error=reason
            )
        return len(stale)

    def is_authorized(self, app: str, dn: str | None) -> bool:
        return (app, None) in self._auth or (dn is not None and (app, dn) in self._auth)

    def authorize(self, app: str, dn: str | None) -> None:
        self._auth.add((app, dn))

    def revoke(self, app: str, dn: str | None) -> bool:
        found = (app, dn) in self._auth
        self._auth.discard((app, dn))
        return found

    def authorizations(self) -> list[tuple[str, str | None]]:
        return sorted(self._auth, key=lambda a: (a[0], a[1] or ""))


_JSON_COLUMNS = ("args", "summary")


def _to_row(run: AppRun) -> dict[str, Any]:
    row = run.to_dict()
    del row["id"]
    for name in _JSON_COLUMNS:
        row[name] = None if row[name] is None else orjson.dumps(row[name]).decode()
    row["mode"] = str(run.mode)
    row["status"] = str(run.status)
    return row


def _from_row(row: Any) -> AppRun:
    values = dict(row._mapping)
    for name in _JSON_COLUMNS:
        values[name] = None if values[name] is None else orjson.loads(values[name])
    values["mode"] = RunMode(values["mode"])
    values["status"] = RunStatus(values["status"])
    return AppRun(**values)


class SqlRunStore:
    """A RunStore in the tables of :mod:`dynamo.store.schema.applications`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, run: AppRun) -> AppRun:
        try:
            with self.engine.begin() as conn:
                result = conn.execute(insert(app_runs).values(**_to_row(run)))
                key = result.inserted_primary_key
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record the application run: {exc}") from exc
        if not key:
            raise StoreError("the database returned no id for the new application run")
        return dataclasses.replace(run, id=int(key[0]))

    def update(self, run: AppRun) -> None:
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    update(app_runs).where(app_runs.c.id == run.id).values(**_to_row(run))
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot update application run {run.id}: {exc}") from exc
        if result.rowcount == 0:
            raise StoreError(f"no application run {run.id}")

    def get(self, run_id: int) -> AppRun | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(app_runs).where(app_runs.c.id == run_id)).first()
        return None if row is None else _from_row(row)

    def find(
        self, *, app: str | None = None, status: RunStatus | None = None, limit: int = 100
    ) -> list[AppRun]:
        query = select(app_runs).order_by(app_runs.c.id.desc()).limit(limit)
        if app is not None:
            query = query.where(app_runs.c.app == app)
        if status is not None:
            query = query.where(app_runs.c.status == str(status))
        with self.engine.connect() as conn:
            return [_from_row(row) for row in conn.execute(query)]

    def abandon_unfinished(self, now: int, reason: str) -> int:
        unfinished = [str(s) for s in RunStatus if not s.is_final]
        with self.engine.begin() as conn:
            result = conn.execute(
                update(app_runs)
                .where(app_runs.c.status.in_(unfinished))
                .values(status=str(RunStatus.FAILED), finished=now, error=reason)
            )
        return int(result.rowcount)

    def is_authorized(self, app: str, dn: str | None) -> bool:
        who: Any = app_authorizations.c.user_dn.is_(None)
        if dn is not None:
            who = or_(who, app_authorizations.c.user_dn == dn)
        query = select(app_authorizations.c.id).where(app_authorizations.c.app == app, who)
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def authorize(self, app: str, dn: str | None) -> None:
        if self._has(app, dn):
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(app_authorizations).values(app=app, user_dn=dn))
        except IntegrityError:
            return  # authorised concurrently

    def revoke(self, app: str, dn: str | None) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(delete(app_authorizations).where(*self._match(app, dn)))
        return bool(result.rowcount)

    def authorizations(self) -> list[tuple[str, str | None]]:
        query = select(app_authorizations.c.app, app_authorizations.c.user_dn)
        with self.engine.connect() as conn:
            rows = [(row.app, row.user_dn) for row in conn.execute(query)]
        return sorted(rows, key=lambda a: (a[0], a[1] or ""))

    def _match(self, app: str, dn: str | None) -> tuple[Any, ...]:
        who = (
            app_authorizations.c.user_dn.is_(None)
            if dn is None
            else app_authorizations.c.user_dn == dn
        )
        return (app_authorizations.c.app == app, who)

    def _has(self, app: str, dn: str | None) -> bool:
        with self.engine.connect() as conn:
            query = select(app_authorizations.c.id).where(*self._match(app, dn)).limit(1)
            return conn.execute(query).first() is not None
