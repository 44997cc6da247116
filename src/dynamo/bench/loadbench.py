"""The cold-load benchmark (performance.md §5.2 B1/B2): ``dynamo bench load``.

:func:`measure_load` loads the whole inventory from a database with the store's loader and
reports wall and CPU seconds, the peak resident set size (``VmHWM`` of ``/proc/self/status``,
reset just before the load where the kernel allows) and the objects built, counted by
:meth:`Inventory.counts` (groups + sites + partitions + datasets + blocks + dataset replicas +
block replicas). ``bytes_per_object`` is peak RSS / objects: it includes the interpreter and
the loaded modules, so it is an upper bound of the true per-object cost.
"""

from __future__ import annotations

import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dynamo.bench.scales import SCALES
from dynamo.errors import ConfigurationError
from dynamo.model.inventory import Inventory
from dynamo.model.partitioning import PartitionCompiler
from dynamo.store.checkpoint import find_checkpoints, load_checkpoint
from dynamo.store.engine import make_engine, normalize_url
from dynamo.store.sql import SqlInventoryStore

__all__ = [
    "InventoryLoader",
    "LoadReport",
    "checkpoint_loader",
    "current_rss_bytes",
    "measure_load",
    "peak_rss_bytes",
    "reset_peak_rss",
    "store_loader",
]

InventoryLoader = Callable[[str, PartitionCompiler | None], Inventory]


@dataclass(slots=True)
class LoadReport:
    """The figures of one cold load; :meth:`to_dict` is the ``--json`` output."""

    objects: int
    load_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    baseline_rss_bytes: int
    bytes_per_object: float
    counts: dict[str, int]
    scale: str
    backend: str
    partition_compiler: bool
    git_sha: str | None
    python: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _status_bytes(key: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` in bytes (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def current_rss_bytes() -> int:
    """The process's resident set size now (VmRSS)."""
    return _status_bytes("VmRSS")


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far (VmHWM)."""
    return _status_bytes("VmHWM")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5); False if not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _git_sha() -> str | None:
    try:
        found = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None


def _scale_of(counts: dict[str, int]) -> str:
    for name, scale in SCALES.items():
        if counts.get("datasets") == scale.datasets and counts.get("blocks") == scale.blocks:
            return name
    return "custom"


def measure_load(
    url: str,
    loader: InventoryLoader,
    *,
    partition_compiler: PartitionCompiler | None = None,
    notes: list[str] | None = None,
) -> LoadReport:
    """Load the inventory at ``url`` with ``loader(url, partition_compiler)`` and measure it."""
    backend = normalize_url(url).get_backend_name()
    baseline = _status_bytes("VmRSS")
    reset_peak_rss()
    wall, cpu = time.perf_counter(), time.process_time()
    inventory = loader(url, partition_compiler)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = peak_rss_bytes()
    counts = inventory.counts()
    objects = sum(counts.values())
    return LoadReport(
        objects=objects,
        load_seconds=round(wall, 3),
        cpu_seconds=round(cpu, 3),
        peak_rss_bytes=peak,
        baseline_rss_bytes=baseline,
        bytes_per_object=round(peak / objects, 1) if objects else 0.0,
        counts=counts,
        scale=_scale_of(counts),
        backend=backend,
        partition_compiler=partition_compiler is not None,
        git_sha=_git_sha(),
        python=platform.python_version(),
        notes=list(notes or []),
    )


def store_loader(url: str, partition_compiler: PartitionCompiler | None) -> Inventory:
    """Load the inventory at ``url`` the way the server starts: ``SqlInventoryStore.load``
    (one snapshot transaction; SchemaVersionError unless the schema is at head)."""
    store = SqlInventoryStore.open(url)
    try:
        inventory, _seq = store.load(partition_compiler)
    finally:
        store.close()
    return inventory


def checkpoint_loader(directory: Path) -> InventoryLoader:
    """A loader that reads the newest checkpoint in ``directory`` (as a joining server does,
    checked against the database's log at ``url``) instead of the tables."""

    def load(url: str, partition_compiler: PartitionCompiler | None) -> Inventory:
        found = find_checkpoints(directory)
        if not found:
            raise ConfigurationError(f"no checkpoint in {directory}")
        engine = make_engine(url)
        try:
            inventory, _seq = load_checkpoint(
                found[0], engine, partition_compiler=partition_compiler
            )
        finally:
            engine.dispose()
        return inventory

    return load
