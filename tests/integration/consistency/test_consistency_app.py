"""The scheduled consistency application over every site with a storage endpoint."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynamo.consistency import ConsistencyConfig, list_runs
from dynamo.errors import ConfigurationError
from dynamo.server.applications import AppContext
from dynamo.server.consistency_app import ConsistencyApp
from dynamo.store import make_engine
from integration.fileops.manager_world import World, lfn, make_world

OLD = time.time() - 30 * 86_400


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(f"sqlite:///{tmp_path}/inv.sqlite", tmp_path / "grid", num_files=3)
    for site in ("A", "B"):
        for directory, _dirs, names in os.walk(made.root / site):
            for name in names:
                os.utime(Path(directory) / name, (OLD, OLD))
    (made.root / "B" / lfn(1).lstrip("/")).unlink()
    yield made
    made.store.close()


def _context(world: World, *, writes: bool = True, **args: object) -> AppContext:
    return AppContext(
        inventory=world.inventory,
        now=int(time.time()),
        args=args,
        log=logging.getLogger("test"),
        random=random.Random(1),
        run_id=7,
        writes=writes,
    )


def _app(world: World) -> ConsistencyApp:
    config = ConsistencyConfig(
        directories=("/store",), max_missing_fraction=1.0, max_orphan_fraction=1.0
    )
    return ConsistencyApp(config, world.endpoints, lambda: make_engine(world.url))


def test_every_site_with_an_endpoint_is_checked_in_parallel(world: World) -> None:
    result = _app(world).run(_context(world, parallel=2))
    by_site = {check["site"]: check for check in result.summary["sites"]}
    # the world's sites with endpoints: A and B hold the block, the others are empty
    assert by_site["A"]["summary"]["missing"] == 0
    assert by_site["B"]["summary"]["missing"] == 1
    assert all(check["status"] == "done" for check in by_site.values())
    assert not result.changeset
    runs = list_runs(world.engine)
    assert {run.site for run in runs} == set(by_site)
    assert {run.mode for run in runs} == {"run"}


def test_a_read_only_run_is_a_dry_run_of_one_site(world: World) -> None:
    result = _app(world).run(_context(world, writes=False, site="B"))
    assert [check["site"] for check in result.summary["sites"]] == ["B"]
    assert result.summary["dry_run"] is True
    assert [run.mode for run in list_runs(world.engine)] == ["dry_run"]


def test_an_unknown_site_is_refused(world: World) -> None:
    with pytest.raises(ConfigurationError, match=r"no \[storage\.Z\] table"):
        _app(world).run(_context(world, site="Z"))
