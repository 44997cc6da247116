"""`dynamo consistency check|runs|report` on a SQLite inventory and posix sites."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dynamo.bench.consistency import bench_consistency
from dynamo.cli.main import app
from integration.fileops.manager_world import World, lfn, make_world

OLD = time.time() - 30 * 86_400


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(f"sqlite:///{tmp_path}/inv.sqlite", tmp_path / "grid", num_files=3)
    site = made.root / "A"
    (site / lfn(2).lstrip("/")).unlink()
    (site / "store/data/Proc/AOD/dark.root").write_bytes(b"dark")
    for directory, _dirs, names in os.walk(site):
        for name in names:
            os.utime(Path(directory) / name, (OLD, OLD))
    yield made
    made.store.close()


def _config(world: World, tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "dynamo.toml"
    path.write_text(
        f'[storage.A]\nurl = "file://{world.root / "A"}"\n'
        f'[consistency]\ndirectories = ["/store"]\ngrace_seconds = 3600\nmax_missing_fraction = 1.0\nmax_orphan_fraction = 1.0\n{extra}'
    )
    return path


def test_check_reports_as_json_and_the_runs_are_listed(world: World, tmp_path: Path) -> None:
    runner = CliRunner()
    config = _config(world, tmp_path)
    args = ["consistency", "check", "A", "--db", world.url, "--config", str(config), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "done"
    assert {(f["kind"], f["action"], f["path"]) for f in report["findings"]} == {
        ("missing", "wait", lfn(2)),
        ("orphan", "delete", "/store/data/Proc/AOD/dark.root"),
    }
    assert not (world.root / "A/store/data/Proc/AOD/dark.root").exists()
    runs = runner.invoke(app, ["consistency", "runs", "--db", world.url, "--json"])
    assert [r["id"] for r in json.loads(runs.stdout)] == [report["run_id"]]
    files = runner.invoke(
        app, ["consistency", "report", str(report["run_id"]), "--db", world.url, "--json"]
    )
    assert len(json.loads(files.stdout)) == 2
    table = runner.invoke(
        app, ["consistency", "check", "A", "--db", world.url, "--config", str(config)]
    )
    assert table.exit_code == 0
    assert "missing" in table.stdout


def test_a_bad_configuration_names_the_file_key_and_value(world: World, tmp_path: Path) -> None:
    config = _config(world, tmp_path, "max_missing = -3\n")
    result = CliRunner().invoke(
        app, ["consistency", "check", "A", "--db", world.url, "--config", str(config)]
    )
    assert result.exit_code != 0
    assert "max_missing = -3 is negative" in result.output
    unknown = CliRunner().invoke(
        app, ["consistency", "check", "Z", "--db", world.url, "--config", str(config)]
    )
    assert unknown.exit_code != 0
    assert "no [storage.Z] table" in unknown.output


def test_the_benchmark_finds_what_it_planted(tmp_path: Path) -> None:
    report = bench_consistency(f"sqlite:///{tmp_path}/b.sqlite", 5000, seed=2)
    assert report["files"] == 5000
    assert sum(report["found"].values()) > 0
