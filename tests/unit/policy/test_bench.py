"""`bench_policy` runs end to end on a small synthetic inventory and reports JSON-able figures."""

from __future__ import annotations

import json

from dynamo.bench.policy import bench_policy

from .builders import POLICIES


def test_bench_policy_reports_parse_and_evaluation_figures_for_every_file() -> None:
    report = bench_policy(None, POLICIES, replicas=300)
    json.dumps(report)
    assert len(report["parse"]) == 24
    assert report["parse"]["detox/campaigns/171115_disk.txt"]["bytes"] == 629_743
    physics, campaign = report["evaluate"]
    assert physics["policy"] == "Physics.txt"
    assert campaign["policy"] == "171115_disk.txt"
    assert physics["dataset_replicas"] == report["inventory"]["dataset_replicas"] >= 300
    assert physics["decisions"] >= physics["dataset_replicas"]
