from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from dynamo.cli.main import app

POLICIES = Path(__file__).parents[2] / "fixtures" / "policies" / "dynamo-policies"
runner = CliRunner()


def test_bench_policy_parses_every_real_file_and_evaluates_physics_and_the_largest_campaign() -> (
    None
):
    result = runner.invoke(
        app, ["bench", "policy", "--policies", str(POLICIES), "--replicas", "2000", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert "detox/campaigns/171115_disk.txt" in report["parse"]
    assert len(report["parse"]) >= 24
    evaluated = {row["policy"]: row for row in report["evaluate"]}
    assert set(evaluated) == {"Physics.txt", "171115_disk.txt"}
    assert all(row["dataset_replicas"] > 0 and row["decisions"] for row in evaluated.values())


def test_bench_policy_refuses_a_folder_without_policies(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "policy", "--policies", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a dynamo-policies folder" in result.output
