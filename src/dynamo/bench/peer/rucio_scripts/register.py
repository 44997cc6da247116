# mypy: ignore-errors
"""Task 1: register datasets ``[start, stop)`` of the inventory, their files and replicas, with
Rucio's core API (rucio-bench.md "Task 1": P1 add_dids, P2 add_replicas per RSE in batches,
P3 attach_dids_to_dids), timed. ``bulkload.py`` loads the rest of the inventory untimed."""

import statistics
import sys
import time
from collections import defaultdict

from peerlib import SCOPE, Stopwatch, dataset_name, emit, file_name, load_spec
from rucio.common.types import InternalAccount, InternalScope
from rucio.core.did import add_dids, attach_dids_to_dids
from rucio.core.replica import add_replicas
from rucio.core.rse import get_rse_id
from rucio.db.sqla.constants import DIDType


def main(spec_path, batch, start, stop):
    spec = load_spec(spec_path)
    spec["datasets"] = spec["datasets"][start:stop]
    root, scope = InternalAccount("root"), InternalScope(SCOPE)
    datasets = [
        {"scope": scope, "name": dataset_name(d["index"]), "type": DIDType.DATASET}
        for d in spec["datasets"]
    ]
    per_rse = defaultdict(list)
    attachments = []
    for d in spec["datasets"]:
        files = [
            {"scope": scope, "name": file_name(d["index"], j), "bytes": size, "adler32": adler}
            for j, (size, adler) in enumerate(d["files"])
        ]
        for site in d["sites"]:
            per_rse[site].extend(files)
        attachments.append(
            {
                "scope": scope,
                "name": dataset_name(d["index"]),
                "dids": [{"scope": f["scope"], "name": f["name"]} for f in files],
            }
        )
    rse_ids = {name: get_rse_id(name) for name in per_rse}
    calls = []
    clock = Stopwatch()
    for at in range(0, len(datasets), 1000):
        add_dids(datasets[at : at + 1000], root)
    p1 = clock.seconds()
    for site in sorted(per_rse):
        files = per_rse[site]
        for at in range(0, len(files), batch):
            t0 = time.perf_counter()
            add_replicas(rse_ids[site], files[at : at + batch], root)
            calls.append(time.perf_counter() - t0)
    p2 = clock.seconds() - p1
    per_call = max(1, batch // len(spec["datasets"][0]["files"]))
    for at in range(0, len(attachments), per_call):
        attach_dids_to_dids(attachments[at : at + per_call], root)
    total = clock.seconds()
    files = sum(len(d["files"]) for d in spec["datasets"])
    replicas = sum(len(v) for v in per_rse.values())
    emit(
        {
            "files": files,
            "replicas": replicas,
            "datasets": len(datasets),
            "first_dataset": start,
            "batch": batch,
            "seconds": total,
            "phases": {"add_dids": p1, "add_replicas": p2, "attach": total - p1 - p2},
            "add_replicas_call_p50": statistics.median(calls),
            "files_per_second": files / total,
        }
    )


if __name__ == "__main__":
    main(sys.argv[1], *(int(arg) for arg in sys.argv[2:5]))
