"""`dynamo bench dealer` on a generated XS inventory: one cycle with every plug-in."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dynamo.bench.build import build_database
from dynamo.bench.scales import SCALES
from dynamo.cli.main import app
from unit.policy.builders import POLICIES


def test_the_benchmark_runs_a_cycle_with_every_plugin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/xs.sqlite"
    build_database(url, SCALES["xs"], seed=0)
    rules = POLICIES / "common" / "enforcer_rules_physics.json"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "dealer",
            "--db",
            url,
            "--requests",
            "50",
            "--popular",
            "100",
            "--enforcer-rules",
            str(rules),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["copies"] > 0
    assert report["copies_by_plugin"].get("requests", 0) > 0
    assert {"plan", "plugin requests", "plugin enforcer", "history"} <= set(report["parts"])
    assert report["cycle"] is not None
