"""End to end: `dynamo bench generate` XS into SQLite, then `dynamo bench load --json`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dynamo.bench.scales import SCALES
from dynamo.cli.main import app


def test_generate_xs_then_load_reports_every_object_as_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'xs.db'}"
    runner = CliRunner()
    generated = runner.invoke(
        app, ["bench", "generate", "--scale", "xs", "--db", db, "--seed", "3"]
    )
    assert generated.exit_code == 0, generated.output
    assert "block_replicas" in generated.output
    loaded = runner.invoke(app, ["bench", "load", "--db", db, "--json"])
    assert loaded.exit_code == 0, loaded.output
    report = json.loads(loaded.stdout)
    for key in ("objects", "load_seconds", "peak_rss_bytes", "bytes_per_object", "counts"):
        assert key in report
    assert report["scale"] == "xs"
    assert report["backend"] == "sqlite"
    assert report["python"].startswith("3.")
    assert report["counts"]["datasets"] == SCALES["xs"].datasets
    assert report["counts"]["blocks"] == SCALES["xs"].blocks
    assert report["counts"]["sites"] == 10
    assert report["objects"] == sum(report["counts"].values())
    assert report["peak_rss_bytes"] > 0


def test_generating_into_a_filled_database_fails_with_a_clear_message(tmp_path: Path) -> None:
    db = str(tmp_path / "tiny.db")
    runner = CliRunner()
    first = runner.invoke(app, ["bench", "generate", "--scale", "xs", "--db", db, "--no-files"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["bench", "generate", "--scale", "xs", "--db", db])
    assert second.exit_code != 0
    assert "--force" in second.output


def test_an_unknown_scale_is_rejected() -> None:
    result = CliRunner().invoke(app, ["bench", "generate", "--scale", "huge", "--db", "x.db"])
    assert result.exit_code != 0
    assert "unknown scale" in result.output
