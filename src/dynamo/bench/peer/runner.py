"""`dynamo bench peer rucio`: both systems, the same inventory, the four tasks, one run.

Order: the untimed setup of both, then each task on one system and then the other, the
first system alternating from task to task (Rucio, Dynamo, Rucio, Dynamo), so neither always
runs on the warmer or the busier machine. Both databases live in the same PostgreSQL server.
"""

from __future__ import annotations

import os
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dynamo.bench.peer import dynamo_side
from dynamo.bench.peer.listing import ListingRun, measure_listing
from dynamo.bench.peer.metrics import Metric, report_json
from dynamo.bench.peer.rucio_env import RucioPeer, cache_dir, ensure_venv, recreate_database
from dynamo.bench.peer.scale import PeerInventory, PeerScale, peer_inventory

__all__ = ["SEMANTICS", "listing_metrics", "run_peer_rucio"]

Progress = Callable[[str], None]
BATCH = 100
"""Files per add_replicas call: Rucio's fastest on PostgreSQL (rucio-bench.md)."""

SEMANTICS = {
    "registration": (
        "Both systems time the same sample: the first half of it registered into the empty "
        "database, the second half last, into the database holding the rest (S: 500 + 500 "
        "datasets, 20,000 files, 40,000 replicas). Rucio: core API in-process (add_dids, "
        "add_replicas per RSE in calls of 100 files, its fastest batch on PostgreSQL, "
        "attach_dids_to_dids); the rest of the inventory is COPYed untimed into the seven "
        "tables the API writes, as copies of the API's own rows, and checked column by column "
        "and with rucio.core listings. Dynamo: the REST injection API of a `dynamo server` "
        "process over HTTP (one call per half: datasets, blocks, files and both replicas, "
        "JSON encoded before the clock as Rucio's inputs are built before it; the rest in "
        "calls of 20,000 files, timed but not in the figure), so Dynamo's figure includes "
        "HTTP, JSON parsing and validation that Rucio's in-process calls do not."
    ),
    "listing": (
        "Rucio: GET /replicas/cms/<dataset> (the 20 file replicas with PFNs, json-stream) "
        "and GET /replicas/rse/<rse> (the dataset replicas at the RSE, ~500 at S, from "
        "collection_replicas filled untimed as DATASET rules would), Flask under gunicorn 2 "
        "workers x 4 threads. Dynamo: GET /api/v1/blockreplicas?dataset= (the dataset's "
        "block replicas: a Rucio dataset is one Dynamo block, so the answer is smaller) and "
        "GET /api/v1/replicas?site= (the dataset replicas at the site: the same rows as "
        "Rucio's), one `dynamo server` process and, in the '2 Dynamo servers' line, two "
        "(the leader and a follower, the 16 connections spread over both, as Rucio has two "
        "gunicorn workers); a server keeps a listing's serialized answer "
        "until the inventory changes and sends it again for the same request below its "
        "routing (nothing changes during the runs, so a repeated site listing is served from "
        "it; 500 random datasets of 10,000 mostly are not). Same client, same request "
        "count. 'per server CPU second': the requests over the CPU time of the server "
        "processes during the run (Dynamo's process or processes; gunicorn's master and "
        "workers, not PostgreSQL's backends, which Rucio's listings also use)."
    ),
    "deletion": (
        "Rucio: reaper usage check + list_and_mark_unlocked_replicas(limit=1000) until 10 % "
        "of the site's bytes are selected (all replicas unlocked with expired tombstones; "
        "the selected replicas are marked BEING_DELETED by the same calls, which is how the "
        "reaper records its decision). Dynamo: one Detox cycle of a policy taking the site "
        "from 0.95 of its quota to under 0.855 (the same 10 %), dry run; 'deletion decision' "
        "is the cycle without its history (policy load, producers, plan: the decision, held "
        "in memory), 'with its record' adds the history write (every replica of the "
        "partition with its decision, which the reaper does not record). Detox deletes whole "
        "block replicas (20 files)."
    ),
    "placement": (
        "Rucio: one add_rule per dataset, tier=2 minus the dataset's current RSEs, so every "
        "rule makes a new copy (rule, locks and transfer requests committed). Dynamo: one "
        "Dealer cycle with the same N copy requests (each: any T2 without the dataset), "
        "dry run with the history written; transfers are queued by neither."
    ),
}


def listing_metrics(
    kind: str, dynamo: dict[str, ListingRun], rucio: dict[str, ListingRun]
) -> list[Metric]:
    """p50 and req/s at 1 client, p99 and req/s at 16 clients, of one kind of listing."""
    one_d, one_r = dynamo["1"].to_dict(), rucio["1"].to_dict()
    many_d, many_r = dynamo["16"].to_dict(), rucio["16"].to_dict()
    return [
        Metric(
            name=f"{kind} listing p50, 1 client",
            dynamo=one_d["p50_ms"],
            rucio=one_r["p50_ms"],
            unit="ms",
            better="lower",
        ),
        Metric(
            name=f"{kind} listing throughput, 1 client",
            dynamo=one_d["requests_per_second"],
            rucio=one_r["requests_per_second"],
            unit="req/s",
            better="higher",
        ),
        Metric(
            name=f"{kind} listing p99, 16 clients",
            dynamo=many_d["p99_ms"],
            rucio=many_r["p99_ms"],
            unit="ms",
            better="lower",
        ),
        Metric(
            name=f"{kind} listing throughput, 16 clients",
            dynamo=many_d["requests_per_second"],
            rucio=many_r["requests_per_second"],
            unit="req/s",
            better="higher",
            target=100,
        ),
        *_per_server_cpu_second(kind, dynamo["16"], rucio["16"]),
    ]


def _per_server_cpu_second(
    kind: str, dynamo: ListingRun, rucio: ListingRun, servers: str = ""
) -> list[Metric]:
    """Requests per CPU second of the server processes (Dynamo's, gunicorn's master and
    workers; not PostgreSQL's), when both were measured: what servers on their own cores
    would sustain, beside the wall-clock rate of the shared machine."""
    ours, theirs, key = dynamo.to_dict(), rucio.to_dict(), "requests_per_server_cpu_second"
    if key not in ours or key not in theirs:
        return []
    return [
        Metric(
            name=f"{kind} listing throughput per server CPU second, 16 clients{servers}",
            dynamo=ours[key],
            rucio=theirs[key],
            unit="req/CPU-s",
            better="higher",
        )
    ]


def _two_servers(kind: str, dynamo: ListingRun, rucio: ListingRun) -> list[Metric]:
    return [
        Metric(
            name=f"{kind} listing throughput, 16 clients, 2 Dynamo servers",
            dynamo=dynamo.to_dict()["requests_per_second"],
            rucio=rucio.to_dict()["requests_per_second"],
            unit="req/s",
            better="higher",
            target=100,
        ),
        *_per_server_cpu_second(kind, dynamo, rucio, ", 2 Dynamo servers"),
    ]


def _listing(
    inventory: PeerInventory,
    dynamo: tuple[dynamo_side.DynamoServer, dynamo_side.DynamoServer],
    rucio: RucioPeer,
    progress: Progress,
) -> tuple[list[Metric], dict[str, Any]]:
    """Both listings at 1 and 16 clients; Dynamo with one server and, at 16 clients, with two
    (the leader and a follower, the clients' connections spread over both: two processes, as
    Rucio's gunicorn has two workers)."""
    token = {"X-Rucio-Auth-Token": rucio.token(), "Accept": "application/x-json-stream"}
    names = [d.index for d in inventory.datasets]
    targets = {
        "dataset": (
            [
                f"/api/v1/blockreplicas?dataset={quote(dynamo_side.dataset_name(i), safe='')}"
                for i in names
            ],
            [f"/replicas/cms/ds_{i:06d}" for i in names],
        ),
        "site": (
            [f"/api/v1/replicas?site={s}" for s in inventory.sites],
            [f"/replicas/rse/{s}" for s in inventory.sites],
        ),
    }
    count = inventory.scale.list_requests
    metrics: list[Metric] = []
    raw: dict[str, Any] = {}
    for kind, (ours, theirs) in targets.items():
        runs: dict[str, dict[str, ListingRun]] = {"dynamo": {}, "rucio": {}}
        for clients in (1, 16):
            progress(f"listing {kind}, {clients} client(s)")
            runs["dynamo"][str(clients)] = measure_listing(
                dynamo[0].port,
                ours,
                clients=clients,
                requests=count,
                server_cpu=dynamo[0].cpu_seconds,
            )
            runs["rucio"][str(clients)] = measure_listing(
                rucio.port,
                theirs,
                headers=token,
                clients=clients,
                requests=count,
                server_cpu=rucio.cpu_seconds,
            )
        both = [server.port for server in dynamo]
        runs["dynamo_2_servers"] = {
            "16": measure_listing(
                both,
                ours,
                clients=16,
                requests=count,
                server_cpu=lambda: sum(server.cpu_seconds() for server in dynamo),
            )
        }
        metrics += listing_metrics(kind, runs["dynamo"], runs["rucio"])
        metrics += _two_servers(kind, runs["dynamo_2_servers"]["16"], runs["rucio"]["16"])
        raw[kind] = {side: {c: run.to_dict() for c, run in by.items()} for side, by in runs.items()}
    raw["server_rss_bytes"] = {
        "dynamo": dynamo[0].rss_bytes(),
        "dynamo_follower": dynamo[1].rss_bytes(),
        "rucio": rucio.rss_bytes(),
    }
    return metrics, raw


def run_peer_rucio(
    scale: PeerScale,
    *,
    progress: Progress = lambda _: None,
    cache: Path | None = None,
    tag: str = "peer",
) -> dict[str, Any]:
    """Run the four tasks on both systems; the ``--json`` document (metrics + raw figures).

    ``tag`` names what the run owns: databases ``rucio_<tag>`` and ``dynamo_<tag>`` (dropped
    and recreated) and the Rucio home ``<cache>/home-<tag>``, so two runs with different
    tags do not collide; the venv in ``cache`` is shared.
    """
    cache = cache or cache_dir()
    inventory = peer_inventory(scale)
    progress("Rucio venv")
    python = ensure_venv(cache)
    raw: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="dynamo-peer-") as tmp,
        RucioPeer(python, cache / f"home-{tag}", database=f"rucio_{tag}") as rucio,
    ):
        workdir = Path(tmp)
        spec = str(inventory.write(workdir / "inventory.json"))
        url = recreate_database(f"dynamo_{tag}").replace("+psycopg", "")
        progress("Rucio bootstrap")
        rucio.run("bootstrap.py", spec)
        raw["deletion_site_bytes"] = dynamo_side.prepare(url, inventory)
        raw["registration"] = {"rucio": _register_rucio(rucio, inventory, spec, progress)}
        with dynamo_side.DynamoServer(url, name="peer-leader") as server:
            progress(f"registration of {scale.files:,} files: Dynamo")
            raw["registration"]["dynamo"] = dynamo_side.register(server, inventory)
            rucio.run("postload.py")
            rucio.serve()
            with dynamo_side.DynamoServer(url, name="peer-follower") as follower:
                listing, raw["listing"] = _listing(inventory, (server, follower), rucio, progress)
        rucio.stop_server()
        progress("deletion decision: Rucio")
        raw["deletion"] = {"rucio": rucio.run("delete.py", spec, "1000")}
        progress("deletion decision: Dynamo")
        raw["deletion"]["dynamo"] = dynamo_side.decide_deletion(url, inventory, workdir)
        progress(f"placement of {scale.rules:,} copies: Dynamo")
        raw["placement"] = {"dynamo": dynamo_side.place_copies(url, inventory)}
        progress("placement: Rucio")
        raw["placement"]["rucio"] = rucio.run("rules.py", spec)
    return report_json(
        _metrics(raw, listing),
        scale=_scale_dict(scale),
        machine=_machine(),
        semantics=SEMANTICS,
        raw=raw,
    )


def _register_rucio(
    rucio: RucioPeer, inventory: PeerInventory, spec: str, progress: Progress
) -> dict[str, Any]:
    """Rucio's task 1: the sample's halves through the core API (timed, batch 100, its fastest
    on PostgreSQL), the rest by bulkload.py (untimed, checked against what the API writes)."""
    phases: dict[str, dict[str, Any]] = {}
    for phase, start, stop in dynamo_side.registration_phases(inventory):
        progress(f"registration, {phase}: Rucio datasets {start:,}-{stop:,}")
        script = "bulkload.py" if phase == "rest" else "register.py"
        phases[phase] = rucio.run(script, spec, str(BATCH), str(start), str(stop))
    files = phases["start"]["files"] + phases["end"]["files"]
    seconds = phases["start"]["seconds"] + phases["end"]["seconds"]
    return {
        "files": files,
        "replicas": phases["start"]["replicas"] + phases["end"]["replicas"],
        "seconds": seconds,
        "files_per_second": files / seconds,
        "batch": BATCH,
        "phases": phases,
    }


def _metrics(raw: dict[str, Any], listing: list[Metric]) -> list[Metric]:
    reg, dele, place = raw["registration"], raw["deletion"], raw["placement"]
    return [
        Metric(
            name="registration",
            dynamo=round(reg["dynamo"]["files_per_second"], 1),
            rucio=round(reg["rucio"]["files_per_second"], 1),
            unit="files/s",
            better="higher",
            target=100,
        ),
        *listing,
        Metric(
            name="deletion decision",
            dynamo=round(dele["dynamo"]["seconds"], 4),
            rucio=round(dele["rucio"]["seconds"], 4),
            unit="s",
            better="lower",
            target=10,
        ),
        Metric(
            name="deletion decision with its record",
            dynamo=round(dele["dynamo"]["with_history_seconds"], 4),
            rucio=round(dele["rucio"]["seconds"], 4),
            unit="s",
            better="lower",
        ),
        Metric(
            name="placement",
            dynamo=round(place["dynamo"]["seconds"], 4),
            rucio=round(place["rucio"]["seconds"], 4),
            unit="s",
            better="lower",
            target=50,
        ),
    ]


def _scale_dict(scale: PeerScale) -> dict[str, Any]:
    return {
        "name": scale.name,
        "sites": scale.t1_sites + scale.t2_sites,
        "datasets": scale.datasets,
        "files": scale.files,
        "replicas": 2 * scale.files,
        "copies_placed": scale.rules,
        "list_requests": scale.list_requests,
    }


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_end": os.getloadavg(),
    }
