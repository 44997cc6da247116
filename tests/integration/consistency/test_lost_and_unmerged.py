"""Files lost everywhere are invalidated on request; /store/unmerged is cleaned on disk with
WMCore's real protected prefixes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from typer.testing import CliRunner

from consistency_data import protected_prefixes, unmerged_files
from dynamo.cli.main import app
from dynamo.consistency import ConsistencyConfig, UnmergedConfig, check_site
from dynamo.storage import PosixStorage
from integration.fileops.manager_world import BLOCK, DS, lfn, make_world

OLD = time.time() - 30 * 86_400


def _age(tree: Path) -> None:
    for directory, _dirs, names in os.walk(tree):
        for name in names:
            os.utime(Path(directory) / name, (OLD, OLD))


def test_a_file_with_no_copy_left_is_lost_and_invalidated_on_request(tmp_path: Path) -> None:
    world = make_world(f"sqlite:///{tmp_path}/w.sqlite", tmp_path / "grid", holders=("A",))
    site = world.root / "A"
    (site / lfn(1).lstrip("/")).unlink()
    _age(site)
    config = tmp_path / "dynamo.toml"
    config.write_text(
        f'[storage.A]\nurl = "file://{site}"\n[consistency]\ndirectories = ["/store"]\n'
        "max_missing_fraction = 1.0\n"
    )
    args = ["consistency", "check", "A", "--db", world.url, "--config", str(config), "--json"]
    runner = CliRunner()
    first = json.loads(runner.invoke(app, args).stdout)
    assert [(f["kind"], f["action"]) for f in first["findings"]] == [("missing", "wait")]
    second = runner.invoke(app, [*args, "--invalidate-lost"])
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert [(f["kind"], f["action"]) for f in report["findings"]] == [("lost", "invalidate")]
    reloaded, _ = world.store.load()
    block = reloaded.find_block(DS, BLOCK)
    assert block is not None
    assert [f.lfn for f in world.store.files_of(block)] == [lfn(0), lfn(2)]
    assert block.num_files == 2
    third = json.loads(runner.invoke(app, args).stdout)
    assert third["findings"] == []
    world.store.close()


def test_the_unmerged_area_is_cleaned_on_disk(tmp_path: Path) -> None:
    world = make_world(f"sqlite:///{tmp_path}/w.sqlite", tmp_path / "grid")
    site = world.root / "A"
    prefixes = protected_prefixes()
    area = unmerged_files()
    protected = {f for f in area if any(f.startswith(p.rstrip("/") + "/") for p in prefixes)}
    chosen = sorted(protected)[:20] + sorted(set(area) - protected)[:30]
    for name in chosen:
        path = site / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    log = site / "store/unmerged/logs/prod/2019/1/2/job.tar.gz"
    log.parent.mkdir(parents=True)
    log.write_bytes(b"log")
    _age(site)
    ancient = time.time() - 90 * 86_400  # logs go after 60 days
    os.utime(log, (ancient, ancient))
    result = check_site(
        engine=world.engine,
        inventory=world.inventory,
        site="A",
        storage=PosixStorage(str(site)),
        config=ConsistencyConfig(
            directories=("/store/data",),
            unmerged=UnmergedConfig(protected=tuple(prefixes)),
        ),
    )
    remaining = {
        "/" + str(p.relative_to(site)) for p in (site / "store/unmerged").rglob("*") if p.is_file()
    }
    assert remaining == set(chosen) & protected
    assert result.summary["protected"] == 20
    deleted = {f.path for f in result.findings if f.kind.value in ("unmerged", "log")}
    assert deleted == (set(chosen) - protected) | {"/store/unmerged/logs/prod/2019/1/2/job.tar.gz"}
    world.store.close()
