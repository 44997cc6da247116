"""`dynamo policy check|lint|explain` through the typer app."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dynamo.cli import policy as policy_cli
from dynamo.cli.main import app
from dynamo.model import Inventory

from .builders import FIXTURES, NOW, POLICIES, Builder
from .test_real_files import ALL_FILES

runner = CliRunner()


def test_check_exits_zero_on_every_real_file() -> None:
    result = runner.invoke(app, ["policy", "check", "-q", *map(str, ALL_FILES)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{len(ALL_FILES)} files OK"


def test_check_prints_deprecations_on_stderr_but_succeeds() -> None:
    path = POLICIES / "detox" / "campaigns" / "160829_tape_2.txt"
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 0
    assert f"{path}:7:9: warning: replica.has_locked_block is deprecated" in result.stderr


def test_check_fails_with_file_line_col_on_stderr(tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text("Partition P\nOn site.name in [T2_*\nWhen always\nUntil never\nDismiss\n")
    good = POLICIES / "detox" / "Express.txt"
    result = runner.invoke(app, ["policy", "check", str(good), str(broken)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{broken}:2:17: unclosed '[': the list needs a closing ']' (expected ']')"
    )


def test_check_with_a_forced_kind_reads_the_file_as_that_kind() -> None:
    path = POLICIES / "partitions.txt"
    result = runner.invoke(app, ["policy", "check", "--kind", "detox", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3:1: unknown keyword 'AnalysisOps:'" in result.stderr


def test_lint_exits_one_and_lists_findings(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("Partition P\nOn always\nWhen always\nUntil never\nProtect\nDismiss\n")
    result = runner.invoke(app, ["policy", "lint", str(path)])
    assert result.exit_code == 1
    assert (
        result.stdout == f"{path}:6:1: warning: unreachable: after the default decision on line 5\n"
    )


def test_lint_exits_zero_on_physics() -> None:
    result = runner.invoke(app, ["policy", "lint", str(POLICIES / "detox" / "Physics.txt")])
    assert result.exit_code == 0
    assert result.stdout == ""


@pytest.fixture
def inventory(monkeypatch: pytest.MonkeyPatch) -> Inventory:
    name = "/A/Run2016-v1/AOD"
    world = Builder().site("T2_US_MIT").dataset(name).replica(name, "T2_US_MIT").build()
    monkeypatch.setattr(policy_cli, "load_inventory", lambda url, now: world)
    return world


def test_explain_prints_the_deciding_line_as_json(inventory: Inventory) -> None:
    physics = POLICIES / "detox" / "Physics.txt"
    args = ["policy", "explain", "--db", "x.sqlite", "--policy", str(physics), "--json"]
    args += ["--site", "T2_US_MIT", "--dataset", "/A/Run2016-v1/AOD", "--now", str(NOW)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert '"line": 53' in result.stdout
    assert '"replica.num_access": 0' in result.stdout


def test_explain_reports_an_unknown_dataset(inventory: Inventory) -> None:
    physics = FIXTURES / "dynamo-policies" / "detox" / "Physics.txt"
    args = ["policy", "explain", "--db", "x", "--policy", str(physics)]
    args += ["--site", "T2_US_MIT", "--dataset", "/No/Such/THING"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "no dataset named '/No/Such/THING'" in result.stderr


def test_explain_reads_the_inventory_from_a_sqlite_database(tmp_path: Path) -> None:
    from dynamo.model import ChangeSet, UpsertGroup
    from dynamo.policy import load_partitions, partition_compiler
    from dynamo.store import SqlInventoryStore

    from .builders import PARTITIONS

    url = f"sqlite:///{tmp_path / 'dynamo.sqlite'}"
    store = SqlInventoryStore.open(url, upgrade=True)
    inventory, _ = store.load(partition_compiler(now=NOW))
    partitions = [op for op in load_partitions(PARTITIONS.read_text()).ops if " " not in op.name]  # type: ignore[attr-defined]
    groups = [UpsertGroup(name=name) for name in ("AnalysisOps", "DataOps", "RelVal", "express")]
    store.commit(ChangeSet.of([*groups, *partitions]), inventory)
    name = "/A/Run2016-v1/AOD"
    store.commit(
        ChangeSet.of(Builder().site("T2_US_MIT").dataset(name).replica(name, "T2_US_MIT").ops),
        inventory,
    )
    physics = POLICIES / "detox" / "Physics.txt"
    args = ["policy", "explain", "--db", url, "--policy", str(physics), "--now", str(NOW)]
    result = runner.invoke(app, [*args, "--site", "T2_US_MIT", "--dataset", name])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1] == "  Dismiss 2 block(s), line 53:"
