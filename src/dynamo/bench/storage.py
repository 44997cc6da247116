"""Storage benchmarks: LFN->PFN translation rate and listing rate (posix, XRootD).

``bench_pfn()`` and ``bench_list()`` return plain dicts of figures (for ``dynamo bench pfn`` /
``dynamo bench list`` and docs/storage.md). ``bench_list`` starts its own Debian ``xrootd`` on a
free 127.0.0.1 port (as nobody) over the same tree it lists with posix, and stops it by PID.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from dynamo.bench.serving import free_port
from dynamo.storage.posix import PosixStorage
from dynamo.storage.tfc import TrivialFileCatalog, load_storage_xml, parse_storage_xml

__all__ = ["BENCH_CATALOG", "bench_list", "bench_pfn", "make_lfns"]

BENCH_CATALOG = """<storage-mapping>
  <lfn-to-pfn protocol="direct" path-match="/+store/unmerged/(.*)" result="/scratch/unmerged/$1"/>
  <lfn-to-pfn protocol="direct" path-match="/+store/temp/(.*)" result="/scratch/temp/$1"/>
  <lfn-to-pfn protocol="direct" path-match="/+store/(.*)" result="/mnt/hadoop/cms/store/$1"/>
  <lfn-to-pfn protocol="xrootd" path-match="/+store/(.*)" result="root://xrootd.example.org//store/$1"/>
  <lfn-to-pfn protocol="srmv2" chain="direct" path-match="/+mnt/hadoop(/.*)"
              result="srm://se.example.org:8443/srm/v2/server?SFN=/mnt/hadoop$1"/>
  <lfn-to-pfn protocol="srmv2" chain="direct" path-match="/+(.*)"
              result="srm://se.example.org:8443/srm/v2/server?SFN=/$1"/>
  <pfn-to-lfn protocol="direct" path-match="/mnt/hadoop/cms/(store/.*)" result="/$1"/>
  <pfn-to-lfn protocol="srmv2" chain="direct" path-match=".*\\?SFN=(/.*)" result="$1"/>
</storage-mapping>
"""
"""A TFC shaped like the real ones: several rules per protocol, a chain, both directions."""

_TIERS = ("AODSIM", "MINIAODSIM", "NANOAODSIM", "RAW", "RECO", "GEN-SIM")


def make_lfns(count: int, *, seed: int = 1) -> list[str]:
    """``count`` CMS-like LFNs (``/store/mc/<campaign>/<primary>/<tier>/.../<uuid>.root``)."""
    rng = random.Random(seed)
    kinds = ("mc", "data", "mc", "mc", "unmerged", "temp")
    return [
        f"/store/{rng.choice(kinds)}/Run3Summer{rng.randint(22, 24)}/"
        f"Primary{rng.randint(0, 999)}_TuneCP5_13p6TeV/{rng.choice(_TIERS)}/"
        f"Proc{rng.randint(0, 99)}-v{rng.randint(1, 3)}/{rng.randint(10000, 99999)}/"
        f"{rng.getrandbits(128):032x}.root"
        for _ in range(count)
    ]


def bench_pfn(
    count: int = 200_000,
    *,
    catalog: str | Path | None = None,
    protocols: tuple[str, ...] = ("xrootd", "direct", "srmv2"),
) -> dict[str, Any]:
    """Translate ``count`` LFNs per protocol on one core; LFNs/s per protocol and overall.

    ``catalog`` is a storage.xml path; by default :data:`BENCH_CATALOG`.
    """
    tfc: TrivialFileCatalog = (
        load_storage_xml(catalog) if catalog is not None else parse_storage_xml(BENCH_CATALOG)
    )
    lfns = make_lfns(count)
    rates: dict[str, float] = {}
    total_seconds = 0.0
    for protocol in protocols:
        to_pfn = tfc.to_pfn
        start = time.perf_counter()
        for lfn in lfns:
            to_pfn(lfn, protocol)
        elapsed = time.perf_counter() - start
        total_seconds += elapsed
        rates[protocol] = round(count / elapsed)
    return {
        "lfns": count,
        "protocols": list(protocols),
        "lfns_per_s": rates,
        "overall_lfns_per_s": round(count * len(protocols) / total_seconds),
    }


def _seed_tree(root: Path, count: int, per_directory: int) -> None:
    for index in range(count):
        directory = root / f"d{index // per_directory:05d}"
        if index % per_directory == 0:
            directory.mkdir(parents=True)
        (directory / f"f{index:07d}.root").write_bytes(b"")


def _start_xrootd(data: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    admin = workdir / "admin"
    admin.mkdir()
    admin.chmod(0o777)
    config = workdir / "xrootd.cfg"
    config.write_text(
        f"all.export /\nxrd.port {port}\noss.localroot {data}\n"
        f"all.adminpath {admin}\nall.pidpath {admin}\n"
    )
    argv = ["xrootd", "-c", str(config), "-l", str(admin / "log")]
    if os.geteuid() == 0:
        argv += ["-R", "nobody"]
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("xrootd did not start for the listing benchmark")


def _time_walk(storage: Any) -> tuple[int, float]:
    start = time.perf_counter()
    files = sum(1 for entry in storage.walk("/") if not entry.is_dir)
    return files, time.perf_counter() - start


def bench_list(count: int = 100_000, *, per_directory: int = 1000) -> dict[str, Any]:
    """List a tree of ``count`` empty files (``per_directory`` per directory) with posix and,
    when Debian's ``xrootd`` is installed, XRootD over the same tree; files/s per backend."""
    workdir = Path(tempfile.mkdtemp(prefix="dynamo-bench-list-"))
    workdir.chmod(0o755)
    data = workdir / "data"
    results: dict[str, Any] = {"files": count, "files_per_directory": per_directory}
    try:
        _seed_tree(data, count, per_directory)
        listed, seconds = _time_walk(PosixStorage(data))
        results["posix"] = {"listed": listed, "seconds": round(seconds, 3),
                            "files_per_s": round(listed / seconds)}  # fmt: skip
        if shutil.which("xrootd") is None:
            results["xrootd"] = {"skipped": "Debian xrootd-server is not installed"}
            return results
        from dynamo.storage.xrootd import XRootDStorage

        process, port = _start_xrootd(data, workdir)
        try:
            listed, seconds = _time_walk(XRootDStorage(f"root://127.0.0.1:{port}"))
        finally:
            process.terminate()
            process.wait(timeout=10)
        results["xrootd"] = {"listed": listed, "seconds": round(seconds, 3),
                             "files_per_s": round(listed / seconds)}  # fmt: skip
        return results
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
