"""How many requests and seconds a full and an incremental Rucio read take (docs/sources.md).

    .venv/bin/python scripts/rucio_source_reads.py [DATASETS]

Starts a real Rucio (the peer benchmark's cached venv, database ``rucio_sources_bench``,
dropped at the end), registers DATASETS datasets (default 500) of 2 files at 2 RSEs, adds
one dataset over REST, then reads catalog and replicas with ``RucioSource`` twice each way;
prints one JSON line per read.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from dynamo.bench.peer.rucio_env import (
    USERPASS,
    RucioPeer,
    cache_dir,
    ensure_venv,
    recreate_database,
)
from dynamo.sources import RucioSource

DATABASE = "rucio_sources_bench"


class CountingRucioSource(RucioSource):
    requests = 0

    def _request(self, path: str, headers: dict[str, str], body: Any = None) -> httpx.Response:
        self.requests += 1
        return super()._request(path, headers, body)


def main(count: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="rucio-reads-"))
    files = [[1000, "0000000a"], [2000, "0000000b"]]
    spec = {
        "sites": [{"name": n, "tier": 2} for n in ("T2_US_MIT", "T2_CH_CERN")],
        "datasets": [
            {"index": i, "files": files, "sites": ["T2_US_MIT", "T2_CH_CERN"]} for i in range(count)
        ],
    }
    (home / "spec.json").write_text(json.dumps(spec))
    _, user, password = USERPASS
    try:
        with RucioPeer(ensure_venv(cache_dir()), home, database=DATABASE) as peer:
            peer.run("bootstrap.py", str(home / "spec.json"), timeout=900)
            peer.run("register.py", str(home / "spec.json"), "1000", "0", str(count), timeout=900)
            base = peer.serve(workers=1, threads=2)
            since = int(time.time()) - 1
            headers = {"X-Rucio-Auth-Token": peer.token()}
            new = [
                {"scope": "cms", "name": f"new_{j}", "bytes": 10, "adler32": "0000000c"}
                for j in range(2)
            ]
            for path, body in [
                ("/replicas", {"rse": "T2_CH_CERN", "files": new}),
                ("/dids/cms/new_ds", {"type": "DATASET"}),
                (
                    "/dids/cms/new_ds/dids",
                    {"dids": [{"scope": "cms", "name": f["name"]} for f in new]},
                ),
            ]:
                assert (
                    httpx.post(base + path, headers=headers, json=body, timeout=60).status_code
                    == 201
                )
            for mode, when in (("full", None), ("incremental", since)) * 2:
                source = CountingRucioSource(
                    base, scopes=("cms",), username=user, password=password
                )
                started = time.perf_counter()
                snapshot = source.catalog(when) + source.replicas(when)
                seconds = time.perf_counter() - started
                source.close()
                print(
                    json.dumps(
                        {
                            "mode": mode,
                            "datasets": count + 1,
                            "dataset_records": len(snapshot.datasets),
                            "replicas": len(snapshot.replicas),
                            "requests": source.requests,
                            "seconds": round(seconds, 2),
                        }
                    ),
                    flush=True,
                )
    finally:
        recreate_database(DATABASE, create=False)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
