"""The soak test: ``dynamo bench soak``, sustained mixed API load with Detox and Dealer running.

``dynamo server`` runs as its own process over an existing database (a generated inventory);
``clients`` keep-alive clients send, for ``duration`` seconds, the read mix of ``bench api``
and, with probability ``inject_share``, small injections (a new dataset of one block of three
files with a replica at a site); meanwhile Detox (read mode: a full plan recorded as a test
cycle, nothing deleted) and Dealer (read mode) are run one after the other, again and again,
through the applications API. The server's resident memory is sampled every few seconds.

With ``reads_only_tail`` seconds, the end of the run sends reads only (Detox and Dealer still
running): no data is added then, so the server's RSS over the tail shows whether memory grows
with the requests themselves, and the RSS growth per injected dataset over the mixed part shows
what the data costs.

The figures: requests and errors (any answer other than 200), latency by request kind,
background runs, and the server's RSS at start, its maximum, at the start of the tail and at
the end, with the growth per injected dataset.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dynamo.bench.api import (
    _DN,
    _HEADER,
    ApiReport,
    _Connection,
    _grant_bench_user,
    _sample_names,
    _target,
)
from dynamo.bench.serving import free_port
from dynamo.errors import ConfigurationError

__all__ = ["bench_soak"]

READ_MIX = [("dataset", 60), ("blockreplicas", 20), ("site", 10), ("sites", 10)]


@dataclass(slots=True)
class _Background:
    runs: list[dict[str, Any]] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)


def bench_soak(
    url: str,
    *,
    policy: Path,
    partitions: Path | None = None,
    clients: int = 16,
    duration: float = 600.0,
    inject_share: float = 0.1,
    seed: int = 0,
    sample_seconds: float = 5.0,
    reads_only_tail: float = 0.0,
) -> dict[str, Any]:
    """Run the soak test (module docstring) against a server over ``url``; the last
    ``reads_only_tail`` seconds of ``duration`` send reads only."""
    if not 0 <= inject_share <= 1:
        raise ConfigurationError(f"inject_share must be between 0 and 1, not {inject_share}")
    if not 0 <= reads_only_tail < duration:
        raise ConfigurationError("reads_only_tail must be at least 0 and shorter than duration")
    _grant_bench_user(url)
    port = free_port()
    command = [
        *(sys.executable, "-m", "dynamo.cli.main", "server", "--db", url, "--allow-http"),
        *("--host", "127.0.0.1", "--port", str(port), "--trusted-dn-header", _HEADER),
    ]
    detox_args: dict[str, Any] = {"partition": "Physics", "policy": str(policy.resolve())}
    if partitions is not None:
        detox_args["partitions"] = str(partitions.resolve())
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            names, sites = _sample_names(base, server, seed)
            report, background, injected = asyncio.run(
                _soak(base, port, server.pid, names, sites, clients, duration, inject_share,
                      seed, sample_seconds, detox_args, reads_only_tail)
            )  # fmt: skip
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
    return {
        "clients": clients,
        "duration_seconds": duration,
        "inject_share": inject_share,
        "reads_only_tail_seconds": reads_only_tail,
        "injections": injected,
        "background_runs": _run_summary(background.runs),
        **_memory(background.rss, duration - reads_only_tail, injected),
    } | report.to_dict()


def _memory(samples: list[tuple[float, int]], mixed: float, injected: int) -> dict[str, Any]:
    """RSS figures (MB) from ``(seconds since start, bytes)`` samples: start, max, end, at the
    end of the mixed part (``mixed`` seconds), and KB per injected dataset over that part."""
    if not samples:
        return {"rss_mb_start": None, "rss_mb_max": None, "rss_mb_end": None}
    rss = [value for _, value in samples]
    at_tail = [value for at, value in samples if at <= mixed][-1]
    return {
        "rss_mb_start": round(rss[0] / 2**20, 1),
        "rss_mb_max": round(max(rss) / 2**20, 1),
        "rss_mb_end_of_mixed": round(at_tail / 2**20, 1),
        "rss_mb_end": round(rss[-1] / 2**20, 1),
        "rss_kb_per_injection": round((at_tail - rss[0]) / 1024 / injected, 1)
        if injected
        else None,
        "rss_mb_samples": [round(value / 2**20, 1) for value in rss],
    }


def _run_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for run in runs:
        entry = summary.setdefault(run["app"], {"runs": 0, "failed": 0, "seconds": []})
        entry["runs"] += 1
        entry["failed"] += run["status"] != "done"
        entry["seconds"].append(run["seconds"])
    for entry in summary.values():
        seconds = entry.pop("seconds")
        entry["max_seconds"] = max(seconds) if seconds else None
    return summary


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _injection(rng: random.Random, seed: int, number: int, sites: list[str]) -> bytes:
    name = f"/SoakPrimary{seed}x{number:07d}/RunIISoak-v1/AODSIM"
    block = f"{rng.getrandbits(128):032x}"
    block = f"{block[:8]}-{block[8:12]}-{block[12:16]}-{block[16:20]}-{block[20:]}"
    prefix = f"/store/mc/RunIISoak/SoakPrimary{seed}x{number:07d}/AODSIM/v1/00000"
    files = [
        {"lfn": f"{prefix}/{f:03d}.root", "size": rng.randrange(10**9, 4 * 10**9),
         "adler32": f"{rng.getrandbits(32):08x}"}
        for f in range(3)
    ]  # fmt: skip
    blocks = [{"name": block, "files": files}]
    body = {
        "datasets": [{"name": name, "data_type": "MC", "blocks": blocks}],
        "dataset_replicas": [
            {"dataset": name, "site": rng.choice(sites), "group": "DataOps",
             "block_replicas": [{"block": block}]}
        ],
    }  # fmt: skip
    return json.dumps(body).encode()


async def _soak(
    base: str,
    port: int,
    pid: int,
    names: list[str],
    sites: list[str],
    clients: int,
    duration: float,
    inject_share: float,
    seed: int,
    sample_seconds: float,
    detox_args: dict[str, Any],
    reads_only_tail: float,
) -> tuple[ApiReport, _Background, int]:
    report = ApiReport()
    background = _Background()
    origin = time.monotonic()
    deadline = origin + duration
    reads_only = deadline - reads_only_tail
    kinds = [kind for kind, weight in READ_MIX for _ in range(weight)]
    injected = 0
    headers = {_HEADER: _DN, "Content-Type": "application/json"}

    async def client(n: int) -> None:
        nonlocal injected
        rng = random.Random(seed * 1000 + n)
        connection = await _Connection.open("127.0.0.1", port)
        try:
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                if rng.random() < inject_share and time.monotonic() < reads_only:
                    kind = "inject"
                    body = _injection(rng, seed, n * 10_000_000 + injected, sites)
                    status = await connection.post("/api/v1/inject", body, headers)
                    injected += 1
                else:
                    kind = rng.choice(kinds)
                    status = await connection.get(_target(kind, rng, names, sites))
                report.latencies.setdefault(kind, []).append(time.perf_counter() - t0)
                if status != 200:
                    report.errors += 1
        finally:
            connection.close()

    async def sampler() -> None:
        while time.monotonic() < deadline:
            background.rss.append((time.monotonic() - origin, _rss(pid)))
            await asyncio.sleep(sample_seconds)
        background.rss.append((time.monotonic() - origin, _rss(pid)))

    async def applications() -> None:
        plan = [("detox", detox_args), ("dealer", {})]
        async with httpx.AsyncClient(base_url=base, headers={_HEADER: _DN}, timeout=60) as http:
            turn = 0
            while time.monotonic() < deadline:
                app, args = plan[turn % len(plan)]
                turn += 1
                answer = await http.post(
                    f"/api/v1/applications/{app}/runs", json={"args": args, "mode": "read"}
                )
                if answer.status_code != 201:
                    raise ConfigurationError(f"cannot start {app}: {answer.text[:300]}")
                run = answer.json()
                while run["finished"] is None:
                    await asyncio.sleep(0.5)
                    run = (await http.get(f"/api/v1/applications/runs/{run['id']}")).json()
                background.runs.append(
                    {
                        "app": app,
                        "status": run["status"],
                        "seconds": run["finished"] - run["started"],
                    }
                )

    started = time.perf_counter()
    await asyncio.gather(applications(), sampler(), *(client(n) for n in range(clients)))
    report.seconds = time.perf_counter() - started
    return report, background, injected
