"""REST benchmarks: injection throughput and read latency under concurrent clients.

``bench_inject`` runs the real server application under uvicorn on a loopback port and posts
JSON injections over HTTP (identity from a trusted-DN header, as behind a front end), so the
figure includes HTTP, JSON parsing, validation, the database transaction and the in-memory
apply; the bodies are encoded before the clock starts (the client shares the process).
``bench_api`` starts ``dynamo server`` as its own process over an existing database and
drives it with concurrent keep-alive clients for a bounded time, with the request mix of
performance.md B5.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from dynamo.api.app import create_app
from dynamo.api.auth.authenticators import TrustedHeaderAuthenticator
from dynamo.api.auth.directory import MemoryUserDirectory, SqlUserDirectory, UserExistsError
from dynamo.api.security import Role, Target
from dynamo.bench.latency import quantiles_ms
from dynamo.bench.serving import ThreadServer, free_port
from dynamo.errors import ConfigurationError
from dynamo.model import ChangeSet, UpsertGroup, UpsertSite
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.store.engine import make_engine

__all__ = ["ApiReport", "bench_api", "bench_inject"]

_DN = "/DC=org/DC=dynamo/OU=bench/CN=injector"
_HEADER = "X-Bench-Client-DN"


def _bodies(
    files: int, blocks: int, datasets: int, per_call: int, seed: int
) -> Iterator[dict[str, Any]]:
    """Injection bodies of about ``per_call`` files each, dataset by dataset."""
    rng = random.Random(seed)
    files_per_block = max(1, files // blocks)
    blocks_per_dataset = max(1, blocks // datasets)
    body: dict[str, Any] = {"datasets": [], "dataset_replicas": []}
    in_body = 0
    for d in range(datasets):
        name = f"/BenchPrimary{d:05d}/RunIIBench-Inject_v{seed}-v1/AODSIM"
        block_list = []
        for b in range(blocks_per_dataset):
            block = f"{rng.getrandbits(128):032x}"
            block = f"{block[:8]}-{block[8:12]}-{block[12:16]}-{block[16:20]}-{block[20:]}"
            prefix = f"/store/mc/RunIIBench/BenchPrimary{d:05d}/AODSIM/Inject-v1/{b:05d}"
            lfns = [
                {
                    "lfn": f"{prefix}/{f:06d}.root",
                    "size": rng.randrange(10**9, 4 * 10**9),
                    "adler32": f"{rng.getrandbits(32):08x}",
                }
                for f in range(files_per_block)
            ]
            block_list.append({"name": block, "files": lfns})
        body["datasets"].append({"name": name, "data_type": "MC", "blocks": block_list})
        body["dataset_replicas"].append(
            {
                "dataset": name,
                "site": "T2_US_MIT",
                "group": "DataOps",
                "block_replicas": [{"block": b["name"]} for b in block_list],
            }
        )
        in_body += blocks_per_dataset * files_per_block
        if in_body >= per_call:
            yield body
            body, in_body = {"datasets": [], "dataset_replicas": []}, 0
    if body["datasets"]:
        yield body


def bench_inject(
    url: str | None = None,
    *,
    files: int = 1_000_000,
    blocks: int = 10_000,
    datasets: int = 500,
    per_call: int = 20_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Inject ``files`` files in ``blocks`` blocks of ``datasets`` datasets through the API."""
    with tempfile.TemporaryDirectory(prefix="dynamo-bench-inject-") as tmp:
        target = url or f"sqlite:///{tmp}/inject.sqlite"
        store = SqlInventoryStore.open(target, upgrade=True)
        try:
            service = InventoryService.load(store)
            store.commit(
                ChangeSet.of([UpsertSite(name="T2_US_MIT"), UpsertGroup(name="DataOps")]),
                service.inventory,
            )
            service = InventoryService.load(store)
            directory = MemoryUserDirectory()
            directory.add_user("injector", _DN)
            directory.grant("injector", Role.OPERATOR, Target.INVENTORY)
            app = create_app(service, authenticator=TrustedHeaderAuthenticator(directory, _HEADER))
            calls: list[float] = []
            injected = 0
            # encoded before the clock starts: the figure is the server's, not the client's
            bodies = [
                (
                    sum(len(b["files"]) for d in body["datasets"] for b in d["blocks"]),
                    orjson.dumps(body),
                )
                for body in _bodies(files, blocks, datasets, per_call, seed)
            ]
            headers = {_HEADER: _DN, "Content-Type": "application/json"}
            with ThreadServer(app) as base, httpx.Client(base_url=base, timeout=600) as client:
                started = time.perf_counter()
                for count, content in bodies:
                    t0 = time.perf_counter()
                    response = client.post("/api/v1/inject", content=content, headers=headers)
                    if response.status_code != 200:
                        raise ConfigurationError(f"injection failed: {response.text[:300]}")
                    calls.append(time.perf_counter() - t0)
                    injected += count
                seconds = time.perf_counter() - started
            counts = service.inventory.counts()
        finally:
            store.close()
    return {
        "backend": target.split(":", 1)[0],
        "files": injected,
        "blocks": counts["blocks"],
        "datasets": counts["datasets"],
        "calls": len(calls),
        "seconds": round(seconds, 2),
        "files_per_second": round(injected / seconds),
        "call_seconds_median": round(statistics.median(calls), 3),
        "call_seconds_max": round(max(calls), 3),
    }


@dataclass(slots=True)
class ApiReport:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        every = sorted(x for values in self.latencies.values() for x in values)
        return {
            "requests": len(every),
            "errors": self.errors,
            "seconds": round(self.seconds, 1),
            "requests_per_second": round(len(every) / self.seconds) if self.seconds else 0,
            "p50_ms": _percentile(every, 50),
            "p99_ms": _percentile(every, 99),
            "quantiles_ms": quantiles_ms(every),
            "by_kind": {
                kind: {
                    "requests": len(v),
                    "p50_ms": _percentile(sorted(v), 50),
                    "p99_ms": _percentile(sorted(v), 99),
                    "quantiles_ms": quantiles_ms(sorted(v)),
                }
                for kind, v in self.latencies.items()
            },
        }


def _percentile(ordered: list[float], pct: int) -> float:
    if not ordered:
        return 0.0
    return round(ordered[min(len(ordered) - 1, len(ordered) * pct // 100)] * 1000, 2)


class _Connection:
    """One keep-alive HTTP/1.1 connection with just enough parsing for JSON answers.

    httpx spends more CPU per request than the server does, so it cannot load a server on a
    2-core machine; this client costs a few microseconds per request.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def get(self, target: str) -> int:
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        return await self._answer()

    async def post(self, target: str, body: bytes, headers: dict[str, str]) -> int:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head = (
            f"POST {target} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n{lines}\r\n"
        )
        self.writer.write(head.encode() + body)
        return await self._answer()

    async def _answer(self) -> int:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def _target(kind: str, rng: random.Random, names: list[str], sites: list[str]) -> str:
    if kind == "dataset":
        return f"/api/v1/datasets/{quote(rng.choice(names))}"
    if kind == "blockreplicas":
        return f"/api/v1/blockreplicas?dataset={quote(rng.choice(names), safe='')}"
    if kind == "site":
        return f"/api/v1/sites/{rng.choice(sites)}"
    return "/api/v1/sites?limit=100"


async def _drive(
    port: int, names: list[str], sites: list[str], clients: int, duration: float, seed: int
) -> ApiReport:
    report = ApiReport()
    deadline = time.monotonic() + duration
    mix = [("dataset", 60), ("blockreplicas", 20), ("site", 10), ("sites", 10)]
    kinds = [kind for kind, weight in mix for _ in range(weight)]

    async def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        connection = await _Connection.open("127.0.0.1", port)
        try:
            while time.monotonic() < deadline:
                kind = rng.choice(kinds)
                t0 = time.perf_counter()
                status = await connection.get(_target(kind, rng, names, sites))
                elapsed = time.perf_counter() - t0
                if status != 200:
                    report.errors += 1
                report.latencies.setdefault(kind, []).append(elapsed)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    report.seconds = time.perf_counter() - started
    return report


def bench_api(
    url: str,
    *,
    clients: int = 16,
    duration: float = 30.0,
    seed: int = 0,
    background_app: str | None = None,
) -> dict[str, Any]:
    """Start ``dynamo server`` over ``url`` and drive it with ``clients`` concurrent clients.

    With ``background_app`` (e.g. ``inventory-stats``, a read-only full scan), that application
    is run again and again by the server's scheduler for the whole measurement, as Detox would
    run during the day; the bench registers a bench user with the operator role to start it.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "dynamo.cli.main",
        "server",
        "--db",
        url,
        "--allow-http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if background_app is not None:
        _grant_bench_user(url)
        command += ["--trusted-dn-header", _HEADER]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)
        )
        try:
            base = f"http://127.0.0.1:{port}"
            load_started = time.perf_counter()
            names, sites = _sample_names(base, server, seed)
            load_seconds = time.perf_counter() - load_started
            report, runs = asyncio.run(
                _measure(base, port, names, sites, clients, duration, seed, background_app)
            )
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    figures: dict[str, Any] = {
        "clients": clients,
        "server_start_seconds": round(load_seconds, 1),
        "background_app": background_app,
        "background_runs": runs,
    }
    return figures | report.to_dict()


def _grant_bench_user(url: str) -> None:
    engine = make_engine(url)
    try:
        directory = SqlUserDirectory(engine)
        with contextlib.suppress(UserExistsError):  # a previous bench registered it
            directory.add_user("dynamo-bench", _DN)
        directory.grant("dynamo-bench", Role.OPERATOR, Target.APPLICATION)
        directory.grant("dynamo-bench", Role.OPERATOR, Target.INVENTORY)
    finally:
        engine.dispose()


async def _measure(
    base: str,
    port: int,
    names: list[str],
    sites: list[str],
    clients: int,
    duration: float,
    seed: int,
    background_app: str | None,
) -> tuple[ApiReport, list[dict[str, Any]]]:
    runs: list[dict[str, Any]] = []
    load = asyncio.create_task(_drive(port, names, sites, clients, duration, seed))
    if background_app is not None:
        async with httpx.AsyncClient(base_url=base, headers={_HEADER: _DN}, timeout=60) as control:
            while not load.done():
                started = await control.post(f"/api/v1/applications/{background_app}/runs", json={})
                if started.status_code != 201:
                    raise ConfigurationError(f"cannot start {background_app}: {started.text[:300]}")
                run = started.json()
                while run["finished"] is None:
                    await asyncio.sleep(0.2)
                    run = (await control.get(f"/api/v1/applications/runs/{run['id']}")).json()
                runs.append({"status": run["status"], "seconds": run["finished"] - run["started"]})
    return await load, runs


def _sample_names(
    base: str, server: subprocess.Popen[bytes], seed: int
) -> tuple[list[str], list[str]]:
    """Wait for the server to load, then sample dataset and site names to ask for."""
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(3600):
            if server.poll() is not None:
                raise ConfigurationError(f"dynamo server exited with code {server.returncode}")
            try:
                client.get("/api/v1/status").raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        datasets = client.get("/api/v1/datasets", params={"limit": 10_000}).json()["items"]
        sites = client.get("/api/v1/sites").json()["items"]
    rng = random.Random(seed)
    names = [d["name"] for d in datasets]
    return rng.sample(names, min(len(names), 2000)), [s["name"] for s in sites]
