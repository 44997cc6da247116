from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from dynamo.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    directory = tmp_path_factory.mktemp("demo")
    result = runner.invoke(app, ["demo", "--dir", str(directory), "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = orjson.loads(result.stdout)
    return data


def test_the_demo_builds_and_loads_a_cms_like_inventory(summary: dict[str, object]) -> None:
    counts = summary["counts"]
    assert isinstance(counts, dict)
    assert counts["datasets"] == 600
    assert counts["partitions"] == 14
    assert counts["block_replicas"] > counts["blocks"]


def test_the_demo_shows_every_site_against_its_quota(summary: dict[str, object]) -> None:
    sites = summary["sites"]
    assert isinstance(sites, list)
    for site in sites:
        if site["quota_bytes"] > 0:
            assert site["occupancy"] == pytest.approx(
                site["used_bytes"] / site["quota_bytes"], abs=1e-4
            )
    triggered = [s for s in sites if s["detox_triggered"]]
    assert triggered, "the generator leaves some disk sites above the high watermark"
    assert all(s["occupancy"] > 0.9 for s in triggered)


def test_the_demo_reports_what_the_physics_policy_decides_at_the_fullest_site(
    summary: dict[str, object],
) -> None:
    fullest = summary["fullest_site"]
    assert isinstance(fullest, dict)
    sites = {s["site"]: s for s in summary["sites"]}  # type: ignore[union-attr]
    assert sites[fullest["site"]]["occupancy"] == max(
        s["occupancy"] for s in sites.values() if s["storage_type"] == "DISK"
    )
    lines = fullest["decisions_by_line"]
    assert sum(lines.values()) >= fullest["dataset_replicas"]
    assert all(line.split(":")[0].isdigit() for line in lines)


def test_a_second_run_reuses_the_grid(tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo", "--dir", str(tmp_path)]).exit_code == 0
    again = runner.invoke(app, ["demo", "--dir", str(tmp_path)])
    assert again.exit_code == 0
    assert "reusing" in again.output
