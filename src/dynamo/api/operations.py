"""What operators and their tools need from a running server: health, readiness, metrics, and
one log line per request with a request id.

- ``GET /healthz``: the process serves (always 200 while it does).
- ``GET /readyz``: 200 when the inventory is loaded and the database answers, else 503 with
  the reason as JSON (a load balancer stops sending requests).
- ``GET /metrics``: Prometheus text format: API requests and their latency by route, inventory
  object counts and log position, application runs and their last duration, the latest Detox
  and Dealer cycles, file-operation queues and the last hour's transfer and deletion rates.
- Every response carries ``X-Request-ID`` (the client's, when it is a short safe token, else a
  new one); the access log line of ``dynamo.api.access`` carries it with the method, route,
  status, duration and caller, as ``extra`` fields for structured handlers.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dynamo.api.deps import engine_or_none, service_of
from dynamo.api.listing_cache import ROUTE_KEY
from dynamo.fileops.ports import OpKind
from dynamo.fileops.queries import link_rates
from dynamo.fileops.stats import queue_counts
from dynamo.server.service import InventoryService
from dynamo.store.schema.applications import app_runs
from dynamo.store.schema.dealer import dealer_cycles
from dynamo.store.schema.detox import detox_cycles
from dynamo.store.sqlops import driver_message

__all__ = ["ApiMetrics", "RequestLog", "install_operations"]

log = logging.getLogger("dynamo.api.access")

REQUEST_ID_HEADER: Final = "X-Request-ID"
_REQUEST_ID_KEY: Final = REQUEST_ID_HEADER.lower().encode("latin-1")
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the API latency histogram."""
RATE_WINDOW: Final = 3600


@dataclass(slots=True)
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


@dataclass(slots=True)
class ApiMetrics:
    """Requests and latency by (method, route template, status), kept in memory."""

    requests: dict[tuple[str, str, int], int] = field(default_factory=dict)
    latency: dict[tuple[str, str], _Histogram] = field(default_factory=dict)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        self.latency.setdefault((method, route), _Histogram()).observe(seconds)

    def lines(self) -> Iterable[str]:
        yield "# HELP dynamo_api_requests_total API requests answered."
        yield "# TYPE dynamo_api_requests_total counter"
        for (method, route, status), count in sorted(self.requests.items()):
            labels = _labels(method=method, route=route, status=str(status))
            yield f"dynamo_api_requests_total{labels} {count}"
        yield "# HELP dynamo_api_request_seconds Time to answer an API request."
        yield "# TYPE dynamo_api_request_seconds histogram"
        for (method, route), histogram in sorted(self.latency.items()):
            cumulative = 0
            for bound, count in zip((*BUCKETS, float("inf")), histogram.counts, strict=True):
                cumulative += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                labels = _labels(method=method, route=route, le=le)
                yield f"dynamo_api_request_seconds_bucket{labels} {cumulative}"
            labels = _labels(method=method, route=route)
            yield f"dynamo_api_request_seconds_sum{labels} {histogram.total:.6f}"
            yield f"dynamo_api_request_seconds_count{labels} {cumulative}"


def _labels(**values: str) -> str:
    escaped = (
        f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for key, value in values.items()
    )
    return "{" + ",".join(escaped) + "}"


def _route_of(scope: Scope) -> str:
    """The matched route's template (``/api/v1/datasets/{name}``): bounded label values.

    FastAPI keeps an included router's prefix beside the route (in ``scope["fastapi"]``);
    without it the route's own path is the best we have. A request answered below the
    routing (:class:`~dynamo.api.listing_cache.ListingFastPath`) carries its template."""
    template = scope.get(ROUTE_KEY)
    if template is not None:
        return str(template)
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return "unmatched"
    included = scope.get("fastapi", {}).get("included_router")
    prefix = getattr(getattr(included, "include_context", None), "prefix", "")
    return f"{prefix}{path}" if isinstance(prefix, str) else path


def _given_request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_KEY:
            given = value.decode("latin-1")
            return given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
    return uuid.uuid4().hex


class RequestLog:
    """ASGI middleware: the request id (request state ``request_id`` and the response header),
    the metrics and the access log line of every HTTP request.

    Plain ASGI rather than ``@app.middleware("http")``, which costs every request a task and a
    copy of the response stream. A request whose route raises is counted and logged as 500
    (the server's error handler outside answers it)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _given_request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        header = (_REQUEST_ID_KEY, rid.encode("latin-1"))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._log(scope, rid, status, time.perf_counter() - started)

    def _log(self, scope: Scope, rid: str, status: int, seconds: float) -> None:
        route = _route_of(scope)
        method = scope["method"]
        self.metrics.observe(method, route, status, seconds)
        principal = scope["state"].get("principal")
        peer = scope.get("client")
        client = f"{peer[0]}:{peer[1]}" if peer else "-"
        log.info(
            "%s %s %s %d %.1f ms [%s]",
            client,
            method,
            scope["path"],
            status,
            seconds * 1000,
            rid,
            extra={
                "client": client,
                "request_id": rid,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "dn": getattr(principal, "dn", None),
            },
        )


def install_operations(app: FastAPI) -> ApiMetrics:
    """Add the request-log middleware and the three routes to ``app``; returns its metrics."""
    metrics = ApiMetrics()
    app.state.api_metrics = metrics
    app.add_middleware(RequestLog, metrics=metrics)
    app.include_router(_router())
    return metrics


def _router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        service = service_of(request)
        engine = engine_or_none(service)
        if engine is not None:
            try:
                await asyncio.to_thread(_ping, engine)
            except SQLAlchemyError as exc:
                reason = driver_message(exc)
                return JSONResponse(
                    {"status": "unavailable", "reason": f"the database does not answer: {reason}"},
                    status_code=503,
                )
        return JSONResponse({"status": "ready", "log_seq": service.seq})

    @router.get("/metrics")
    async def metrics(request: Request) -> PlainTextResponse:
        service = service_of(request)
        lines = list(request.app.state.api_metrics.lines())
        lines += _inventory_lines(service)
        engine = engine_or_none(service)
        if engine is not None:
            try:
                lines += await asyncio.to_thread(_database_lines, engine, int(time.time()))
            except SQLAlchemyError as exc:
                log.warning("metrics: the database does not answer: %s", exc)
                lines += ["dynamo_database_up 0"]
        return PlainTextResponse(
            "\n".join(lines) + "\n", media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    return router


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _inventory_lines(service: InventoryService) -> list[str]:
    lines = [
        "# HELP dynamo_inventory_objects Objects in the server's inventory image.",
        "# TYPE dynamo_inventory_objects gauge",
    ]
    for kind, count in sorted(service.inventory.counts().items()):
        lines.append(f"dynamo_inventory_objects{_labels(kind=kind)} {count}")
    lines += [
        "# HELP dynamo_inventory_log_seq Last inventory_log entry applied to the image.",
        "# TYPE dynamo_inventory_log_seq gauge",
        f"dynamo_inventory_log_seq {service.seq}",
    ]
    return lines


def _database_lines(engine: Engine, now: int) -> list[str]:
    lines = ["dynamo_database_up 1", *_run_lines(engine)]
    lines += _cycle_lines(engine, "detox", detox_cycles)
    lines += _cycle_lines(engine, "dealer", dealer_cycles)
    lines += [
        "# HELP dynamo_fileops_subscriptions File-operation subscriptions by kind and status.",
        "# TYPE dynamo_fileops_subscriptions gauge",
    ]
    for kind in OpKind:
        for status, count in queue_counts(engine, kind).items():
            labels = _labels(kind=kind.value, status=status)
            lines.append(f"dynamo_fileops_subscriptions{labels} {count}")
    lines += [
        "# HELP dynamo_fileops_files_per_second Files done per second over the last hour.",
        "# TYPE dynamo_fileops_files_per_second gauge",
        "# HELP dynamo_fileops_bytes_per_second Bytes done per second over the last hour.",
        "# TYPE dynamo_fileops_bytes_per_second gauge",
        "# HELP dynamo_fileops_failed_last_hour Files failed over the last hour.",
        "# TYPE dynamo_fileops_failed_last_hour gauge",
    ]
    for kind in OpKind:
        rates = link_rates(engine, kind=kind, now=now, window=RATE_WINDOW)
        done = sum(rate.files_done for rate in rates)
        size = sum(rate.bytes_done for rate in rates)
        failed = sum(rate.files_failed for rate in rates)
        labels = _labels(kind=kind.value)
        lines += [
            f"dynamo_fileops_files_per_second{labels} {done / RATE_WINDOW:.6f}",
            f"dynamo_fileops_bytes_per_second{labels} {size / RATE_WINDOW:.3f}",
            f"dynamo_fileops_failed_last_hour{labels} {failed}",
        ]
    return lines


def _run_lines(engine: Engine) -> list[str]:
    runs = app_runs.c
    lines = [
        "# HELP dynamo_app_runs Application runs recorded, by application and status.",
        "# TYPE dynamo_app_runs gauge",
    ]
    with engine.connect() as conn:
        for app, status, count in conn.execute(
            select(runs.app, runs.status, func.count()).group_by(runs.app, runs.status)
        ):
            lines.append(f"dynamo_app_runs{_labels(app=app, status=status)} {count}")
        latest = (
            select(runs.app, func.max(runs.id).label("id"))
            .where(runs.finished.is_not(None), runs.started.is_not(None))
            .group_by(runs.app)
            .subquery()
        )
        lines += [
            "# HELP dynamo_app_last_run_seconds Duration of each application's last run.",
            "# TYPE dynamo_app_last_run_seconds gauge",
        ]
        for app, started, finished in conn.execute(
            select(runs.app, runs.started, runs.finished).join(latest, latest.c.id == runs.id)
        ):
            lines.append(f"dynamo_app_last_run_seconds{_labels(app=app)} {finished - started}")
    return lines


def _cycle_lines(engine: Engine, name: str, table: Any) -> list[str]:
    """The latest committed cycle's duration and its summary's counters."""
    with engine.connect() as conn:
        row = conn.execute(
            select(table.c.id, table.c.started, table.c.finished, table.c.summary)
            .where(table.c.status == "committed")
            .order_by(table.c.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return []
    lines = [
        f"# HELP dynamo_{name}_last_cycle_seconds Duration of the latest committed cycle.",
        f"# TYPE dynamo_{name}_last_cycle_seconds gauge",
        f"dynamo_{name}_last_cycle_seconds {(row.finished or row.started) - row.started}",
        f"dynamo_{name}_last_cycle_id {row.id}",
    ]
    summary = json.loads(row.summary or "{}")
    lines += [
        f"# HELP dynamo_{name}_last_cycle Counters of the latest committed cycle's summary.",
        f"# TYPE dynamo_{name}_last_cycle gauge",
    ]
    for key, value in sorted(_numbers(summary).items()):
        lines.append(f"dynamo_{name}_last_cycle{_labels(counter=key)} {value}")
    return lines


def _numbers(summary: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a cycle summary, flattened with dots."""
    found: dict[str, float] = {}
    for key, value in summary.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            found[prefix + str(key)] = value
        elif isinstance(value, dict):
            found.update(_numbers(value, f"{prefix}{key}."))
    return found
