"""`dynamo fileops run|worker` and `dynamo bench fileops` end to end on SQLite."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from dynamo.cli.main import app
from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import subscribe

from .manager_world import config_text, content, make_world

runner = CliRunner()
NOW = 1_700_000_000


def test_a_manager_cycle_and_a_worker_from_the_command_line(
    sqlite_url: str, tmp_path: Path
) -> None:
    world = make_world(sqlite_url, tmp_path / "sites")
    try:
        config = tmp_path / "fileops.toml"
        config.write_text(config_text(world))
        with world.engine.begin() as conn:
            subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
        common = ["--db", sqlite_url, "--config", str(config)]
        first = runner.invoke(app, ["fileops", "run", *common, "--now", str(NOW), "--json"])
        assert first.exit_code == 0, first.output
        assert orjson.loads(first.stdout)["tasks_submitted"] == len(world.refs)
        work = runner.invoke(app, ["fileops", "worker", *common, "--once", "--id", "cli"])
        assert work.exit_code == 0, work.output
        second = runner.invoke(app, ["fileops", "run", *common, "--now", str(NOW + 1), "--json"])
        assert orjson.loads(second.stdout)["done"] == len(world.refs)
        for index in range(len(world.refs)):
            assert world.site_file("DST", index).read_bytes() == content(index)
        table = runner.invoke(app, ["fileops", "run", *common, "--now", str(NOW + 2)])
        assert table.exit_code == 0
        assert "nothing to do" in table.stdout
    finally:
        world.store.close()


def test_bench_fileops_reports_task_state_updates_per_second() -> None:
    result = runner.invoke(app, ["bench", "fileops", "--count", "300", "--json"])
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert (report["transfers"], report["deletions"]) == (300, 300)
    assert report["tasks"] == 600 + report["failed_tasks"]
    assert report["history_rows"] == report["tasks"]
    assert report["task_state_updates"] == 2 * report["tasks"]
    assert report["task_state_updates_per_second"] > 0
