"""Task 2's load generator: the same client for both servers.

Concurrent keep-alive HTTP/1.1 connections on one asyncio loop, with just enough parsing for
``Content-Length`` and chunked bodies (Rucio streams its listings). A fixed number of requests
is spread over the clients after a short warm-up; latency runs from sending a request until
its whole body is read; percentiles by nearest rank.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
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

    @property
    def requests_per_second(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

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
) -> ListingRun:
    """``requests`` GETs of random ``targets`` from ``clients`` connections (after a warm-up
    of every server): with several ports (servers), connection n goes to port n mod count."""
    ports = (port,) if isinstance(port, int) else tuple(port)
    lines = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    asyncio.run(_drive(ports, targets, lines, len(ports), warmup * len(ports), seed + 7))
    return asyncio.run(_drive(ports, targets, lines, clients, requests, seed))
