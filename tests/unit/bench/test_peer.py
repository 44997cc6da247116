"""The pure parts of `dynamo bench peer rucio`: the shared inventory, advantages, the JSON."""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess
import sys

import pytest

from dynamo.bench.peer import PEER_SCALES, Metric, advantage, peer_inventory, processes, report_json
from dynamo.bench.peer.dynamo_side import (
    GROUP,
    block_name,
    dataset_name,
    injection_bodies,
    registration_phases,
)
from dynamo.bench.peer.listing import ListingRun, percentile_ms
from dynamo.bench.peer.runner import listing_metrics
from dynamo.bench.peer.scale import PeerScale, peer_scale_named
from dynamo.errors import ConfigurationError

XS = PEER_SCALES["xs"]


def test_the_same_scale_gives_the_same_inventory() -> None:
    assert peer_inventory(XS) == peer_inventory(XS)
    other = peer_inventory(dataclasses.replace(XS, seed=1))
    assert other.datasets != peer_inventory(XS).datasets


def test_scale_s_is_rucio_bench_scale_s() -> None:
    s = peer_inventory(PEER_SCALES["s"])
    assert len([x for x in s.sites if x.startswith("T1_")]) == 8
    assert len(s.t2_sites) == 32
    assert len(s.datasets) == 10_000
    assert sum(len(d.files) for d in s.datasets) == 200_000
    assert all(len(set(d.sites)) == 2 for d in s.datasets)
    assert s.deletion_site == "T2_C08_SITE"
    at_deletion_site = [d for d in s.datasets if s.deletion_site in d.sites]
    assert len(at_deletion_site) == 1_000
    sizes = [f.size for d in s.datasets[:1000] for f in d.files]
    assert statistics.median(sizes) == pytest.approx(2.5e9, rel=0.05)


def test_what_rucio_reads_is_what_dynamo_injects() -> None:
    inventory = peer_inventory(XS)
    rucio = json.loads(json.dumps(inventory.to_json()))
    bodies = list(injection_bodies(inventory, per_call=500))
    assert len(bodies) > 1
    injected = {d["name"]: d for body in bodies for d in body["datasets"]}
    placed: dict[str, set[str]] = {}
    for body in bodies:
        for replica in body["dataset_replicas"]:
            assert replica["group"] == GROUP
            assert replica["block_replicas"] == [{"block": block_name(_index(replica))}]
            placed.setdefault(replica["dataset"], set()).add(replica["site"])
    assert len(injected) == len(rucio["datasets"]) == XS.datasets
    for theirs in rucio["datasets"]:
        ours = injected[dataset_name(theirs["index"])]
        (block,) = ours["blocks"]
        assert [[f["size"], f["adler32"]] for f in block["files"]] == theirs["files"]
        assert placed[ours["name"]] == set(theirs["sites"])
    assert [s["name"] for s in rucio["sites"]] == list(inventory.sites)


def _index(replica: dict[str, object]) -> int:
    return int(str(replica["dataset"]).split("/")[1].removeprefix("PeerPrimary"))


def test_new_copy_targets_are_the_tier2_sites_without_the_dataset() -> None:
    inventory = peer_inventory(XS)
    for d in inventory.datasets[-XS.rules :]:
        targets = inventory.new_copy_targets(d)
        assert targets
        assert all(t.startswith("T2_") and t not in d.sites for t in targets)


@pytest.mark.parametrize(
    ("dynamo", "rucio", "better", "expected"),
    [
        (2000.0, 200.0, "higher", 10.0),
        (0.5, 5.0, "lower", 10.0),
        (100.0, 200.0, "higher", 0.5),
        (0.0, 200.0, "higher", None),
        (1.0, 0.0, "lower", None),
    ],
)
def test_advantage_is_above_one_when_dynamo_is_better(
    dynamo: float, rucio: float, better: str, expected: float | None
) -> None:
    assert advantage(dynamo, rucio, better) == expected  # type: ignore[arg-type]


def test_the_json_lists_every_metric_with_its_advantage() -> None:
    metrics = [
        Metric(
            name="registration", dynamo=3000, rucio=200, unit="files/s", better="higher", target=100
        ),
        Metric(name="placement", dynamo=0.1, rucio=2.0, unit="s", better="lower", target=50),
    ]
    document = json.loads(json.dumps(report_json(metrics, scale={"name": "xs"})))
    assert document["scale"] == {"name": "xs"}
    first, second = document["metrics"]
    assert {"name", "dynamo", "rucio", "unit", "advantage"} <= set(first)
    assert (first["advantage"], first["meets_target"]) == (15.0, False)
    assert (second["advantage"], second["meets_target"]) == (20.0, False)


def test_listing_metrics_compare_latency_and_throughput_at_1_and_16_clients() -> None:
    fast = ListingRun(100, 0, 0.1, tuple([0.001] * 100))
    slow = ListingRun(100, 0, 10.0, tuple([0.1] * 100))
    found = listing_metrics("dataset", {"1": fast, "16": fast}, {"1": slow, "16": slow})
    assert [m.unit for m in found] == ["ms", "req/s", "ms", "req/s"]
    assert all(m.advantage == 100.0 for m in found)
    assert found[-1].target == 100


def test_listing_metrics_add_the_ratio_per_server_cpu_second_when_both_were_measured() -> None:
    ours = ListingRun(100, 0, 0.1, tuple([0.001] * 100), server_cpu_seconds=0.05)
    theirs = ListingRun(100, 2, 10.0, tuple([0.1] * 100), server_cpu_seconds=19.6)
    assert ours.to_dict()["requests_per_server_cpu_second"] == 2000.0
    assert theirs.to_dict()["requests_per_server_cpu_second"] == 5.0  # answered ones only
    found = listing_metrics("site", {"1": ours, "16": ours}, {"1": theirs, "16": theirs})
    per_cpu = found[-1]
    assert per_cpu.name == "site listing throughput per server CPU second, 16 clients"
    assert (per_cpu.unit, per_cpu.advantage, per_cpu.target) == ("req/CPU-s", 400.0, None)
    assert found[3].name == "site listing throughput, 16 clients"  # the old names stay
    unmeasured = dataclasses.replace(theirs, server_cpu_seconds=None)
    assert "server_cpu_seconds" not in unmeasured.to_dict()
    assert len(listing_metrics("site", {"1": ours, "16": ours}, {"1": ours, "16": unmeasured})) == 4


def test_the_cpu_time_of_a_server_counts_its_children() -> None:
    """A parent that only waits, and its child, which burns 0.3 s of CPU (CPU, not wall time)."""
    burn = "import time\nwhile time.process_time() < 0.3: pass\nprint('burnt', flush=True)"
    parent = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', {burn!r}], stdout=sys.stdout)\n"
        "time.sleep(60)"
    )
    with subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE) as server:
        try:
            assert server.stdout is not None
            assert server.stdout.readline() == b"burnt\n"
            assert len(processes.process_tree(server.pid)) == 2
            assert processes.cpu_seconds(server.pid) >= 0.3
            assert processes.rss_bytes(server.pid) > 0
        finally:
            server.kill()
    assert processes.cpu_seconds(server.pid) == 0.0  # gone


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    ordered = [i / 1000 for i in range(1, 101)]
    assert percentile_ms(ordered, 50) == 50.0
    assert percentile_ms(ordered, 99) == 99.0
    assert percentile_ms([], 50) == 0.0


def test_unknown_and_invalid_scales_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        peer_scale_named("xl")
    with pytest.raises(ConfigurationError):
        PeerScale(
            name="bad",
            t1_sites=1,
            t2_sites=2,
            datasets=100,
            rules=1,
            list_requests=1,
            sample_datasets=10,
        )
    assert PEER_SCALES["s"].with_datasets(2000).rules == 1000
    assert PEER_SCALES["s"].with_datasets(1500).sample_datasets == 750


def test_registration_times_a_sample_at_the_start_and_at_the_end() -> None:
    phases = registration_phases(peer_inventory(PEER_SCALES["s"]))
    assert phases == [("start", 0, 500), ("rest", 500, 9_500), ("end", 9_500, 10_000)]
    xs = registration_phases(peer_inventory(XS))
    assert [(start, stop) for _, start, stop in xs] == [(0, 20), (20, 80), (80, 100)]
