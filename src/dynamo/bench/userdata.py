"""User-data benchmark: confirmed injections per second through the API on loopback.

The real application runs under uvicorn on a loopback port over a SQLite (or given) database,
with one site whose storage is a local directory. The files are written there first (the
job's copy is not the server's work); then ``clients`` concurrent keep-alive clients, each a
process of its own, do a job's two calls per file: ``POST /userdata/locations`` and
``POST /userdata/files``. Each confirmation stats and checksums the file on storage and
commits the registration (a block rotates every ``max_files_per_block`` files), so the figure
includes HTTP, validation, the name checks, the storage check and the database transaction.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import httpx

from dynamo.api.app import create_app
from dynamo.api.auth.authenticators import TrustedHeaderAuthenticator
from dynamo.api.auth.directory import MemoryUserDirectory
from dynamo.api.security import Role, Target
from dynamo.bench.serving import ThreadServer
from dynamo.errors import ConfigurationError
from dynamo.fileops.endpoints import Endpoint, Endpoints
from dynamo.model import ChangeSet, UpsertSite
from dynamo.policy import partition_compiler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.userdata import UserDataOptions

__all__ = ["bench_userdata"]

_DN = "/DC=org/DC=dynamo/OU=bench/CN=benchuser"
_HEADER = "X-Bench-Client-DN"
_SITE = "T2_US_MIT"
_DATASET = "/BenchPrimary/benchuser-inject_v1/USER"


def _lfn(index: int) -> str:
    return f"/store/user/benchuser/inject_v1/{index // 1000:04d}/out_{index:07d}.root"


def bench_userdata(
    url: str | None = None,
    *,
    files: int = 5_000,
    clients: int = 8,
    file_size: int = 4_096,
    max_files_per_block: int = 100,
    confirm_only: bool = False,
) -> dict[str, Any]:
    """Inject ``files`` files of ``file_size`` bytes with ``clients`` concurrent clients; with
    ``confirm_only`` the clients ask for every location before the clock starts, so only the
    confirmations are timed."""
    with tempfile.TemporaryDirectory(prefix="dynamo-bench-userdata-") as tmp:
        root = Path(tmp) / "site"
        checksums = _write_files(root, files, file_size)
        target = url or f"sqlite:///{tmp}/userdata.sqlite"
        store = SqlInventoryStore.open(target, upgrade=True)
        try:
            store.commit(ChangeSet.of([UpsertSite(name=_SITE)]), store.load()[0])
            service = InventoryService.load(store, partition_compiler=partition_compiler())
            directory = MemoryUserDirectory()
            directory.add_user("benchuser", _DN)
            directory.grant("benchuser", Role.ADMIN, Target.USERDATA)
            app = create_app(
                service,
                authenticator=TrustedHeaderAuthenticator(directory, _HEADER),
                endpoints=Endpoints({_SITE: Endpoint(site=_SITE, url=f"file://{root}")}),
                userdata_options=UserDataOptions(max_files_per_block=max_files_per_block),
            )
            with ThreadServer(app) as base:
                with httpx.Client(base_url=base, headers={_HEADER: _DN}) as client:
                    quota = client.put(f"/api/v1/userdata/quotas/{_SITE}", json={"quota": -1})
                    _check(quota)
                cpu, seq = time.process_time(), service.seq
                timings, seconds = _drive(base, files, clients, file_size, checksums, confirm_only)
                cpu, commits = time.process_time() - cpu, service.seq - seq
            counts = service.inventory.counts()
        finally:
            store.close()
    return {
        "backend": target.split(":", 1)[0],
        "files": len(timings),
        "blocks": counts["blocks"],
        "clients": clients,
        "timed": "confirmations" if confirm_only else "location + confirmation",
        "file_size": file_size,
        "seconds": round(seconds, 2),
        "injections_per_second": round(len(timings) / seconds, 1),
        "commits": commits,
        "server_cpu_ms_per_injection": round(cpu / len(timings) * 1000, 2),
        "injection_seconds_median": round(statistics.median(timings), 4),
        "injection_seconds_max": round(max(timings), 4),
    }


def _write_files(root: Path, files: int, size: int) -> list[str]:
    checksums = []
    for index in range(files):
        data = (f"{index:08d}".encode() * (size // 8 + 1))[:size]
        path = root / _lfn(index).lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        checksums.append(f"{zlib.adler32(data) & 0xFFFFFFFF:08x}")
    return checksums


def _drive(
    base: str, files: int, clients: int, size: int, checksums: list[str], confirm_only: bool
) -> tuple[list[float], float]:
    """Run the clients in processes of their own (the server keeps this process's CPU); the
    clock starts when every client is ready."""
    context = multiprocessing.get_context("spawn")
    ready, go = context.Barrier(clients + 1), context.Event()
    results = context.Queue()
    workers = [
        context.Process(
            target=_client,
            args=(
                base,
                range(n, files, clients),
                size,
                checksums,
                confirm_only,
                ready,
                go,
                results,
            ),
        )
        for n in range(clients)
    ]
    for worker in workers:
        worker.start()
    ready.wait(timeout=120)
    started = time.perf_counter()
    go.set()
    timings: list[float] = []
    for _ in workers:
        outcome = results.get(timeout=3600)
        if isinstance(outcome, str):
            raise ConfigurationError(outcome)
        timings += outcome
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return timings, seconds


def _client(
    base: str,
    indices: range,
    size: int,
    checksums: list[str],
    confirm_only: bool,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """One client process: (locate,) wait for the start, inject its share, report timings."""
    try:
        with httpx.Client(base_url=base, headers={_HEADER: _DN}, timeout=60) as client:
            if confirm_only:
                for index in indices:
                    _check(client.post("/api/v1/userdata/locations", json=_body(index, size)))
            ready.wait()
            go.wait()
            results.put(_inject(client, indices, size, checksums, not confirm_only))
    except ConfigurationError as exc:
        ready.abort()
        results.put(str(exc))


def _body(index: int, size: int) -> dict[str, Any]:
    return {"dataset": _DATASET, "lfn": _lfn(index), "site": _SITE, "size": size}


def _inject(
    client: httpx.Client, indices: range, size: int, checksums: list[str], locate: bool
) -> list[float]:
    timings = []
    for index in indices:
        body = _body(index, size)
        t0 = time.perf_counter()
        if locate:
            _check(client.post("/api/v1/userdata/locations", json=body))
        _check(client.post("/api/v1/userdata/files", json=body | {"adler32": checksums[index]}))
        timings.append(time.perf_counter() - t0)
    return timings


def _check(response: httpx.Response) -> None:
    if response.status_code not in (200, 201):
        raise ConfigurationError(f"user-data injection failed: {response.text[:300]}")
