"""Dynamo's side of the four peer tasks, on the same :class:`PeerInventory` as Rucio's.

Names: dataset ``/PeerPrimaryNNNNNN/Peer-v1/AODSIM`` with one block of the dataset's files
(``/store/peer/PeerPrimaryNNNNNN/JJ.root``), so a Rucio dataset is a Dynamo block and its
Dynamo dataset; every replica is owned by AnalysisOps, at DISK sites with the same names as
the RSEs.
"""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import orjson

from dynamo.bench.api import _DN, _HEADER, _grant_bench_user
from dynamo.bench.generator import REFERENCE_TIME
from dynamo.bench.peer import processes
from dynamo.bench.peer.scale import PeerDataset, PeerInventory
from dynamo.bench.serving import free_port
from dynamo.dealer import DealerConfig, DealerOptions, PlugInSettings
from dynamo.dealer import run_cycle as dealer_cycle
from dynamo.detox import PolicySource
from dynamo.detox import run_cycle as detox_cycle
from dynamo.errors import ConfigurationError
from dynamo.model import ChangeSet, Inventory, SetQuota, UpsertGroup, UpsertPartition, UpsertSite
from dynamo.policy import load_partitions, partition_compiler
from dynamo.registry import MemoryRegistryStore, RequestDraft, RequestKind
from dynamo.store import SqlInventoryStore

__all__ = [
    "GROUP",
    "DynamoServer",
    "block_name",
    "dataset_name",
    "decide_deletion",
    "deletion_policy",
    "injection_bodies",
    "place_copies",
    "prepare",
    "register",
    "registration_phases",
]

GROUP = "AnalysisOps"
UNLIMITED = 10**18
HIGH, LOW = 0.90, 0.855
"""The deletion site starts at 0.95 of its quota; under 0.855 means 10 % of its bytes gone,
the same target as Rucio's MinFreeSpace = free + 10 % of used."""


def dataset_name(index: int) -> str:
    return f"/PeerPrimary{index:06d}/Peer-v1/AODSIM"


def block_name(index: int) -> str:
    return f"00000000-0000-0000-0000-{index:012d}"


def injection_bodies(
    inventory: PeerInventory, per_call: int, start: int = 0, stop: int | None = None
) -> Iterator[dict[str, Any]]:
    """Injection API bodies of about ``per_call`` files for datasets ``[start, stop)``:
    datasets, files and both replicas."""
    body: dict[str, Any] = {"datasets": [], "dataset_replicas": []}
    in_body = 0
    for d in inventory.datasets[start:stop]:
        name = dataset_name(d.index)
        prefix = f"/store/peer/PeerPrimary{d.index:06d}"
        lfns = [
            {"lfn": f"{prefix}/{j:02d}.root", "size": f.size, "adler32": f.adler32}
            for j, f in enumerate(d.files)
        ]
        block = {"name": block_name(d.index), "files": lfns}
        body["datasets"].append({"name": name, "data_type": "mc", "blocks": [block]})
        for site in d.sites:
            body["dataset_replicas"].append(
                {
                    "dataset": name,
                    "site": site,
                    "group": GROUP,
                    "block_replicas": [{"block": block["name"]}],
                }
            )
        in_body += len(lfns)
        if in_body >= per_call:
            yield body
            body, in_body = {"datasets": [], "dataset_replicas": []}, 0
    if body["datasets"]:
        yield body


def _partitions() -> ChangeSet:
    path = files("dynamo.bench") / "data" / "dynamo_policies" / "partitions.txt"
    found = load_partitions(path.read_text(), file="partitions.txt")
    # the model does not accept names with spaces yet: CMS's "IB RelVal" is left out
    return ChangeSet.of(
        [op for op in found.ops if isinstance(op, UpsertPartition) and " " not in op.name]
    )


def _setup(inventory: PeerInventory) -> ChangeSet:
    """Untimed, as Rucio's RSE bootstrap: groups, sites, partitions."""
    groups = [UpsertGroup(name=name) for name in ("AnalysisOps", "DataOps", "RelVal", "express")]
    return ChangeSet.of([*groups, *(UpsertSite(name=s) for s in inventory.sites)])


def registration_phases(inventory: PeerInventory) -> list[tuple[str, int, int]]:
    """Task 1's three phases, (name, first dataset, stop): the timed sample's first half into
    the empty database, the rest of the inventory, the sample's second half into the full one."""
    n, sample = inventory.scale.datasets, inventory.scale.sample_datasets
    first = sample // 2
    return [
        ("start", 0, first),
        ("rest", first, n - (sample - first)),
        ("end", n - sample + first, n),
    ]


def prepare(url: str, inventory: PeerInventory) -> int:
    """Untimed, as Rucio's bootstrap: the schema, groups, sites, partitions, the quotas (every
    site unlimited for AnalysisOps but the deletion site, at 0.95 of what it will hold) and the
    bench user (operator, trusted by DN header); the deletion site's bytes."""
    store = SqlInventoryStore.open(url, upgrade=True)
    try:
        compiler = partition_compiler(now=REFERENCE_TIME)
        loaded, _seq = store.load(compiler)
        store.commit(_setup(inventory), loaded)
        store.commit(_partitions(), loaded)
        used = sum(d.bytes for d in inventory.datasets if inventory.deletion_site in d.sites)
        quota = int(used / 0.95)
        ops = [
            SetQuota(
                site=s,
                partition=GROUP,
                quota=quota if s == inventory.deletion_site else UNLIMITED,
            )
            for s in inventory.sites
        ]
        store.commit(ChangeSet.of(ops), loaded)
    finally:
        store.close()
    _grant_bench_user(url)
    return used


def register(
    server: DynamoServer, inventory: PeerInventory, *, per_call: int = 20_000
) -> dict[str, Any]:
    """Task 1: inject everything through ``server``'s REST injection API, in the three
    :func:`registration_phases`, each timed; the figure is the sample's (start + end).

    The bodies are encoded before the clock starts (Rucio's script, too, builds its inputs
    first); the clock covers sending them and the server's answers."""
    phases: dict[str, dict[str, Any]] = {}
    headers = {_HEADER: _DN, "Content-Type": "application/json"}
    base = f"http://127.0.0.1:{server.port}"
    with httpx.Client(base_url=base, timeout=3600) as client:
        for phase, start, stop in registration_phases(inventory):
            bodies = [orjson.dumps(b) for b in injection_bodies(inventory, per_call, start, stop)]
            started = time.perf_counter()
            for body in bodies:
                answer = client.post("/api/v1/inject", content=body, headers=headers)
                if answer.status_code != 200:
                    raise ConfigurationError(f"injection failed: {answer.text[:300]}")
            seconds = time.perf_counter() - started
            files = sum(len(d.files) for d in inventory.datasets[start:stop])
            phases[phase] = {"datasets": stop - start, "files": files, "calls": len(bodies)}
            phases[phase]["seconds"] = seconds
        counts = client.get("/api/v1/status").json().get("counts")
    return _registration_figures(phases, per_call=per_call, counts=counts)


def _registration_figures(phases: dict[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    files = phases["start"]["files"] + phases["end"]["files"]
    seconds = phases["start"]["seconds"] + phases["end"]["seconds"]
    everything = sum(p["files"] for p in phases.values())
    return {
        "files": files,
        "replicas": 2 * files,
        "seconds": seconds,
        "files_per_second": files / seconds,
        "phases": phases,
        "all_files": everything,
        "all_files_per_second": everything / sum(p["seconds"] for p in phases.values()),
        **extra,
    }


def deletion_policy(site: str) -> str:
    """Bring ``site`` from over 0.90 of its quota to under 0.855; anything may go, oldest
    first (Rucio: oldest tombstone first; here every replica has the same age)."""
    return (
        f"Partition {GROUP}\nOn site.name in [{site}]\n"
        f"When site.occupancy > {HIGH}\nUntil site.occupancy < {LOW}\n"
        "Dismiss\nOrder increasing replica.last_block_created\n"
    )


def _load(store: SqlInventoryStore) -> Inventory:
    inventory, _seq = store.load(partition_compiler(now=REFERENCE_TIME))
    gc.collect()
    gc.freeze()
    return inventory


def decide_deletion(url: str, inventory: PeerInventory, workdir: Path) -> dict[str, Any]:
    """Task 3: one Detox cycle (dry run, history written as a test cycle). ``seconds`` is the
    decision: the cycle without writing its history (policy, producers, plan);
    ``with_history_seconds`` adds the history, the record of every replica's decision."""
    policy = workdir / "peer-detox.txt"
    policy.write_text(deletion_policy(inventory.deletion_site))
    store = SqlInventoryStore.open(url)
    try:
        loaded = _load(store)
        started = time.perf_counter()
        result = detox_cycle(
            loaded,
            PolicySource(GROUP, policy),
            now=REFERENCE_TIME,
            engine=store.engine,
            producers={},
            dry_run=True,
        )
        seconds = time.perf_counter() - started
    finally:
        store.close()
    plan = result.plan
    site = next(s for s in plan.sites if s.name == inventory.deletion_site)
    return {
        "seconds": seconds - result.seconds.get("history", 0.0),
        "with_history_seconds": seconds,
        "parts": result.seconds,
        "deleted_block_replicas": len(plan.deletions),
        "deleted_bytes": plan.deleted_bytes,
        "occupancy_before": site.occupancy_before,
        "occupancy_after": site.occupancy_after,
        "reached_low_watermark": site.reached_stop,
    }


def _copy_requests(inventory: PeerInventory, chosen: list[PeerDataset]) -> MemoryRegistryStore:
    registry = MemoryRegistryStore()
    for d in chosen:
        draft = RequestDraft(
            kind=RequestKind.COPY,
            user="peer",
            dn=_DN,
            items=(dataset_name(d.index),),
            sites=tuple(sorted(inventory.new_copy_targets(d))),
            group=GROUP,
            n=1,
        )
        registry.submit_request(draft, REFERENCE_TIME - 3600)
    return registry


def place_copies(url: str, inventory: PeerInventory) -> dict[str, Any]:
    """Task 4: one Dealer cycle with N copy requests (the last N datasets, each to any T2
    without it), dry run with the history written; seconds."""
    chosen = list(inventory.datasets[-inventory.scale.rules :])
    config = DealerConfig(
        options=DealerOptions(
            partition=GROUP,
            group=GROUP,
            target_sites=("T2_*",),
            target_occupancy=0.9,
            max_pending_fraction=1.0,
            max_cycle_volume=UNLIMITED,
        ),
        plugins=(PlugInSettings(name="requests", kind="requests", priority=1),),
    )
    store = SqlInventoryStore.open(url)
    try:
        loaded = _load(store)
        registry = _copy_requests(inventory, chosen)
        started = time.perf_counter()
        result = dealer_cycle(
            loaded,
            config,
            now=REFERENCE_TIME,
            engine=store.engine,
            registry=registry,
            dry_run=True,
            seed=inventory.scale.seed,
        )
        seconds = time.perf_counter() - started
    finally:
        store.close()
    plan = result.plan
    return {
        "requests": len(chosen),
        "seconds": seconds,
        "copies": len(plan.copies),
        "rejections": plan.rejection_counts(),
        "parts": result.seconds,
    }


class DynamoServer:
    """``dynamo server`` over ``url`` as its own process on a loopback port, for a ``with``."""

    def __init__(self, url: str, *, name: str | None = None) -> None:
        """Clients are trusted by the bench user's DN header (see :func:`prepare`); ``name``
        tells several servers on the database apart (the first leads, the next follow)."""
        self.url, self.name = url, name
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DynamoServer:
        command = [sys.executable, "-m", "dynamo.cli.main", "server", "--db", self.url]
        command += ["--allow-http", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--trusted-dn-header", _HEADER]
        command += ["--name", self.name] if self.name else []
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ConfigurationError(f"dynamo server exited with {self.process.returncode}")
            try:
                status = httpx.get(f"http://127.0.0.1:{self.port}/api/v1/status", timeout=5)
                if status.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise ConfigurationError("dynamo server did not answer in 600 s")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def rss_bytes(self) -> int:
        return 0 if self.process is None else processes.rss_bytes(self.process.pid)

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far."""
        return 0.0 if self.process is None else processes.cpu_seconds(self.process.pid)
