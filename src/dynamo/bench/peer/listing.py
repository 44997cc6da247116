"""Task 2's load generator: the same client for both servers.

Concurrent keep-alive HTTP/1.1 connections on one asyncio loop, with just enough parsing for
``Content-Length`` and chunked bodies (Rucio streams its listings). A fixed number of requests
is spread over the clients after a short warm-up; latency runs from sending a request until
its whole body is read; percentiles by nearest rank. Given a way to read the servers' CPU
time, a run also records how much of it the timed requests took (the warm-up excluded): the
load generator shares the machine, so the wall-clock rate of a busy machine tends to the ratio
of work per request of everything running, while requests per server CPU second are what a
server on its own cores would sustain.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dynamo.bench.latency import percentile_ms, quantiles_ms

__all__ = ["ListingRun", "measure_listing", "percentile_ms", "quantiles_ms"]


@dataclass(frozen=True, slots=True)
class ListingRun:
    requests: int
    errors: int
    seconds: float
    latencies: tuple[float, ...]
    server_cpu_seconds: float | None = None
    """CPU time of the server processes during the run (None: not measured)."""

    @property
    def requests_per_second(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    @property
    def requests_per_server_cpu_second(self) -> float | None:
        if not self.server_cpu_seconds:
            return None
        return (self.requests - self.errors) / self.server_cpu_seconds

    def to_dict(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "requests_per_second": round(self.requests_per_second, 2),
            "p50_ms": percentile_ms(ordered, 50),
            "p99_ms": percentile_ms(ordered, 99),
            "quantiles_ms": quantiles_ms(ordered),
        } | self._cpu_figures()

    def _cpu_figures(self) -> dict[str, Any]:
        per_second = self.requests_per_server_cpu_second
        if self.server_cpu_seconds is None or per_second is None:
            return {}
        return {
            "server_cpu_seconds": round(self.server_cpu_seconds, 3),
            "requests_per_server_cpu_second": round(per_second, 2),
        }


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, target: str, headers: str) -> int:
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: bench\r\n{headers}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = 0, False
        for line in head.lower().split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line[15:])
            elif line.startswith(b"transfer-encoding:") and b"chunked" in line:
                chunked = True
        if not chunked:
            await self.reader.readexactly(length)
            return status
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await self.reader.readexactly(size + 2)
            if size == 0:
                return status


async def _drive(
    ports: Sequence[int],
    targets: Sequence[str],
    headers: str,
    clients: int,
    requests: int,
    seed: int,
) -> ListingRun:
    latencies: list[float] = []
    errors = 0
    per_client = [requests // clients + (n < requests % clients) for n in range(clients)]

    async def worker(n: int) -> None:
        nonlocal errors
        rng = random.Random(seed * 1000 + n)
        reader, writer = await asyncio.open_connection("127.0.0.1", ports[n % len(ports)])
        connection = _Connection(reader, writer)
        try:
            for _ in range(per_client[n]):
                t0 = time.perf_counter()
                status = await connection.get(rng.choice(targets), headers)
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    return ListingRun(requests, errors, time.perf_counter() - started, tuple(latencies))


def measure_listing(
    port: int | Sequence[int],
    targets: Sequence[str],
    *,
    headers: dict[str, str] | None = None,
    clients: int = 1,
    requests: int = 500,
    warmup: int = 40,
    seed: int = 0,
    server_cpu: Callable[[], float] | None = None,
) -> ListingRun:
    """``requests`` GETs of random ``targets`` from ``clients`` connections (after a warm-up
    of every server): with several ports (servers), connection n goes to port n mod count.
    ``server_cpu`` reads the servers' CPU seconds so far, before and after the timed part."""
    ports = (port,) if isinstance(port, int) else tuple(port)
    lines = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    asyncio.run(_drive(ports, targets, lines, len(ports), warmup * len(ports), seed + 7))
    before = None if server_cpu is None else server_cpu()
    run = asyncio.run(_drive(ports, targets, lines, clients, requests, seed))
    if server_cpu is None or before is None:
        return run
    return dataclasses.replace(run, server_cpu_seconds=server_cpu() - before)
