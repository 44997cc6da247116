from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from dynamo import __version__
from dynamo.cli.main import app

runner = CliRunner()


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"dynamo {__version__}"


def test_db_status_reports_an_unmigrated_database_and_exits_non_zero(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "status", "--db", str(tmp_path / "new.sqlite")])
    assert result.exit_code == 1
    assert "needs `dynamo db upgrade`" in result.output


def test_db_upgrade_brings_the_database_to_the_newest_revision(tmp_path: Path) -> None:
    db = str(tmp_path / "dynamo.sqlite")
    assert runner.invoke(app, ["db", "upgrade", "--db", db]).exit_code == 0
    result = runner.invoke(app, ["db", "status", "--db", db, "--json"])
    assert result.exit_code == 0
    assert orjson.loads(result.output)["up_to_date"] is True


def test_a_bad_database_url_is_a_clear_error_with_its_code() -> None:
    result = runner.invoke(app, ["db", "upgrade", "--db", "ftp://example/db"])
    assert result.exit_code == 2
    assert "error[configuration]: unsupported database URL" in result.output
