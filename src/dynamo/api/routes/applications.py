"""Applications and their runs: list, submit, poll, read the log, kill; write authorisations.

Reading (applications, runs, schedules, logs) is public, as polling was in the original.
Submitting and killing need operator (or admin) on target ``application``; a write run also
needs an authorisation of the caller's DN for the application by name, which admins manage
(``/applications/{name}/authorizations``). Without a scheduler on the server every route
answers 404 (writes check the caller first: 401 and 403 come before it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from dynamo.api.deps import IntParam
from dynamo.api.security import Principal, Role, Target, require
from dynamo.errors import NotFoundError
from dynamo.redaction import redact, redact_values
from dynamo.server.scheduler import Scheduler
from dynamo.store.appruns import AppRun, RunMode, RunStatus

__all__ = ["router"]

router = APIRouter(tags=["applications"])

MAX_LOG_CHUNK = 1 << 20


async def scheduler_of(request: Request) -> Scheduler:
    found: Scheduler | None = getattr(request.app.state, "scheduler", None)
    if found is None:
        raise NotFoundError("this server runs no scheduler")
    return found


Sched = Annotated[Scheduler, Depends(scheduler_of)]
Operator = Annotated[Principal, Depends(require(Target.APPLICATION, Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Target.APPLICATION, Role.ADMIN))]


class ApplicationView(BaseModel):
    name: str
    writes: bool
    description: str


class RunView(BaseModel):
    id: int
    app: str
    mode: RunMode
    status: RunStatus
    user_dn: str | None
    source: str
    args: dict[str, Any]
    timeout: int | None
    submitted: int
    started: int | None
    finished: int | None
    exit_code: int | None
    log_seq: int | None
    summary: dict[str, Any] | None
    error: str | None

    @classmethod
    def of(cls, run: AppRun) -> RunView:
        values = run.to_dict()
        del values["log_path"]
        values["args"] = redact_values(values["args"])
        if values["error"] is not None:
            values["error"] = redact(values["error"])
        return cls(**values)


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    args: dict[str, Any] = Field(default_factory=dict)
    timeout: int | None = Field(default=None, ge=0, description="Seconds; 0 = no limit.")
    mode: Literal["read", "write"] | None = Field(
        default=None, description="Default: write for a write application."
    )


class ScheduleItem(BaseModel):
    name: str
    kind: str
    app: str | None
    state: str


class AuthorizationView(BaseModel):
    app: str
    dn: str | None


class AuthorizationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dn: str | None = Field(default=None, description="None: anyone with operator or admin.")


@router.get("/applications", response_model=list[ApplicationView])
async def list_applications(scheduler: Sched) -> list[ApplicationView]:
    """The applications registered on this server."""
    return [
        ApplicationView(name=app.name, writes=app.writes, description=app.description)
        for app in scheduler.registry
    ]


@router.get("/applications/runs", response_model=list[RunView])
async def list_runs(
    scheduler: Sched,
    app: str | None = None,
    status: RunStatus | None = None,
    limit: Annotated[IntParam, Query(ge=1, le=10_000)] = 100,
) -> list[RunView]:
    """Runs, newest first, optionally of one application or in one status."""
    return [RunView.of(r) for r in await scheduler.list_runs(app=app, status=status, limit=limit)]


@router.get("/applications/schedules", response_model=list[ScheduleItem])
async def list_schedules(scheduler: Sched) -> list[ScheduleItem]:
    """Interval and sequence schedules with their state, and the problems that disabled some."""
    return [
        ScheduleItem(name=v.name, kind=v.kind, app=v.app, state=v.state)
        for v in scheduler.schedules()
    ]


@router.get("/applications/authorizations", response_model=list[AuthorizationView])
async def list_authorizations(scheduler: Sched) -> list[AuthorizationView]:
    """Who may run which application in write mode."""
    found = await asyncio.to_thread(scheduler.runs.authorizations)
    return [AuthorizationView(app=app, dn=dn) for app, dn in found]


@router.post(
    "/applications/{name}/authorizations", response_model=AuthorizationView, status_code=201
)
async def authorize(
    name: str, body: AuthorizationRequest, principal: Admin, scheduler: Sched
) -> AuthorizationView:
    """Allow ``dn`` (or anyone with operator/admin when null) to run ``name`` in write mode."""
    scheduler.registry.get(name)
    await asyncio.to_thread(scheduler.runs.authorize, name, body.dn)
    return AuthorizationView(app=name, dn=body.dn)


@router.delete("/applications/{name}/authorizations", response_model=AuthorizationView)
async def revoke(
    name: str, principal: Admin, scheduler: Sched, dn: str | None = None
) -> AuthorizationView:
    """Withdraw the authorisation of ``dn`` (or the one for anyone) for ``name``."""
    if not await asyncio.to_thread(scheduler.runs.revoke, name, dn):
        raise NotFoundError(f"no authorisation of {dn or 'anyone'} for {name!r}")
    return AuthorizationView(app=name, dn=dn)


@router.post("/applications/{name}/runs", response_model=RunView, status_code=201)
async def submit_run(name: str, body: RunRequest, principal: Operator, scheduler: Sched) -> RunView:
    """Queue a run of ``name``; it starts when the write slot or a read slot is free."""
    writes = None if body.mode is None else body.mode == "write"
    run = await scheduler.submit(
        name, args=body.args, timeout=body.timeout, writes=writes, user_dn=principal.dn
    )
    return RunView.of(run)


@router.get("/applications/runs/{run_id}", response_model=RunView)
async def get_run(run_id: int, scheduler: Sched) -> RunView:
    return RunView.of(await scheduler.get(run_id))


class LogChunk(BaseModel):
    text: str
    offset: int
    status: RunStatus


@router.get(
    "/applications/runs/{run_id}/log",
    response_model=None,
    responses={
        200: {
            "model": LogChunk,
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "The log as text, or as JSON with format=json.",
        }
    },
)
async def get_log(
    run_id: int,
    scheduler: Sched,
    offset: Annotated[IntParam, Query(ge=0)] = 0,
    format: Annotated[Literal["text", "json"], Query()] = "text",
) -> Response:
    """The run's log from byte ``offset`` (at most 1 MiB), as text with headers
    ``X-Log-Offset`` (where to continue) and ``X-Run-Status``, or with ``format=json`` as
    ``{"text", "offset", "status"}``. To follow a log, poll until the status is final."""
    run = await scheduler.get(run_id)
    chunk = await asyncio.to_thread(_read_chunk, Path(run.log_path), offset)
    text = chunk.decode("utf-8", errors="replace")
    next_offset = offset + len(chunk)
    if format == "json":
        return JSONResponse(LogChunk(text=text, offset=next_offset, status=run.status).model_dump())
    headers = {"X-Log-Offset": str(next_offset), "X-Run-Status": str(run.status)}
    return PlainTextResponse(text, headers=headers)


@router.delete("/applications/runs/{run_id}", response_model=RunView)
async def kill_run(run_id: int, principal: Operator, scheduler: Sched) -> RunView:
    """Kill a queued or running run (409 if it already ended); it commits nothing."""
    return RunView.of(await scheduler.kill(run_id))


def _read_chunk(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as log:
            log.seek(offset)
            return log.read(MAX_LOG_CHUNK)
    except FileNotFoundError:
        return b""
