"""One server configuration file for everything, and the file-operation and consistency
applications it registers."""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from dynamo.errors import ConfigurationError
from dynamo.fileops.config import FileOpsConfig
from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import subscribe
from dynamo.server.applications import AppContext
from dynamo.server.config import load_config
from dynamo.server.fileops_manager_app import FileOpsManagerApp
from dynamo.server.scheduler import build_scheduler
from dynamo.server.service import InventoryService
from dynamo.store import make_engine
from dynamo.store.schema.fileops import fileop_batches
from integration.fileops.manager_world import make_world


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_server_file_carries_storage_fileops_and_consistency(tmp_path: Path) -> None:
    config = load_config(
        _write(
            tmp_path / "dynamo.toml",
            '[server]\ndb = "x.sqlite"\n'
            '[storage.T2_US_MIT]\nurl = "file:///srv/mit"\n'
            "[fileops]\nbatch_size = 50\n"
            '[consistency]\ngrace_seconds = 600\ndirectories = ["/store/mc"]\n',
        )
    )
    assert list(config.fileops.endpoints) == ["T2_US_MIT"]
    assert config.fileops.manager.batch_size == 50
    assert config.consistency.grace_seconds == 600
    assert config.consistency.directories == ("/store/mc",)


def test_a_bad_consistency_value_names_the_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "dynamo.toml", "[consistency]\nmax_orphan = -1\n")
    with pytest.raises(ConfigurationError, match=r"dynamo\.toml: \[consistency\]: max_orphan"):
        load_config(path)


def test_the_scheduler_offers_the_operations_applications(tmp_path: Path) -> None:
    world = make_world(f"sqlite:///{tmp_path}/w.sqlite", tmp_path / "grid")
    config = load_config(_write(tmp_path / "dynamo.toml", "[scheduler]\n"))
    service = InventoryService.load(world.store)
    scheduler = build_scheduler(
        service,
        world.store,
        config.scheduler,
        fileops=config.fileops,
        consistency=config.consistency,
    )
    assert scheduler is not None
    names = set(scheduler.registry.names)
    assert {"fileops", "consistency", "updater", "detox", "dealer"} <= names
    world.store.close()


def test_the_manager_application_submits_batches_and_a_read_run_does_nothing(
    tmp_path: Path,
) -> None:
    world = make_world(f"sqlite:///{tmp_path}/w.sqlite", tmp_path / "grid")
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="test", now=int(time.time()))
    app = FileOpsManagerApp(
        lambda: make_engine(world.url), FileOpsConfig(endpoints=world.endpoints)
    )

    def run(writes: bool) -> dict[str, object]:
        context = AppContext(
            inventory=world.inventory,
            now=int(time.time()),
            args={},
            log=logging.getLogger("test"),
            random=random.Random(1),
            run_id=1,
            writes=writes,
        )
        return app.run(context).summary

    assert run(False) == {"skipped": "read-only"}
    with world.engine.connect() as conn:
        assert conn.execute(select(fileop_batches.c.id)).first() is None
    summary = run(True)
    with world.engine.connect() as conn:
        assert conn.execute(select(fileop_batches.c.id)).all()  # one per source link
    assert summary["tasks_submitted"] == len(world.refs)
    world.store.close()


def test_the_server_file_names_the_dealer_configuration(tmp_path: Path) -> None:
    real = Path(__file__).parents[2] / "fixtures/policies/dynamo-cms/config/dealer_config.json"
    (tmp_path / "dealer_config.json").write_bytes(real.read_bytes())
    config = load_config(
        _write(tmp_path / "dynamo.toml", '[dealer]\nconfig = "dealer_config.json"\n')
    )
    assert config.dealer != load_config(None).dealer  # the CMS file, not the built-in default
    with pytest.raises(ConfigurationError, match=r"\[dealer\] takes one key"):
        load_config(_write(tmp_path / "bad.toml", '[dealer]\nfile = "x.json"\n'))
    with pytest.raises(ConfigurationError, match="cannot read the Dealer configuration"):
        load_config(_write(tmp_path / "missing.toml", '[dealer]\nconfig = "nope.json"\n'))
