"""A sync lands whole or not at all. When the users' write fails inside the commit's
transaction (a user of that name appeared after the plan was made), the inventory's
ChangeSet and the popularity are not committed either, and a rerun then succeeds with the
conflict reported. When the popularity's write fails (its table is not there), the
ChangeSet, the users and the demand are not committed either."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from dynamo.api.auth.directory import SqlUserDirectory
from dynamo.dealer import SqlJobQueue
from dynamo.errors import StoreError
from dynamo.policy import partition_compiler
from dynamo.sources import JsonFileSource, run_sync
from dynamo.store import SqlInventoryStore, dataset_access_summary
from integration.sources.conftest import AS_OF, JDOE, NAMES, Upstream

BACKENDS = ["sqlite", "postgresql", "mysql"]


def accesses(engine: Engine) -> dict[str, int]:
    return {name: total for name, _last, total in dataset_access_summary(engine, since=0)}


@contextmanager
def source_file(tmp_path: Path) -> Iterator[JsonFileSource]:
    path = tmp_path / "source.json"
    path.write_text(json.dumps(Upstream().doc))
    source = JsonFileSource(path)
    try:
        yield source
    finally:
        source.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_user_write_commits_nothing_of_the_sync(db: str, tmp_path: Path) -> None:
    store = SqlInventoryStore.open(db)
    try:
        inventory, seq = store.load(partition_compiler(now=AS_OF))
        real_commit = store.commit

        def commit_after_a_race(*args: object, **kwargs: object) -> int:
            SqlUserDirectory(store.engine).add_user("jdoe", "/DC=org/CN=someone-else")
            return real_commit(*args, **kwargs)  # type: ignore[arg-type]

        store.commit = commit_after_a_race  # type: ignore[method-assign]
        with source_file(tmp_path) as source, pytest.raises(StoreError):
            run_sync(source, store, inventory, engine=store.engine)
        store.commit = real_commit  # type: ignore[method-assign]
        fresh, after = store.load(partition_compiler(now=AS_OF))
        assert after == seq
        assert NAMES[0] not in fresh.datasets
        assert SqlUserDirectory(store.engine, ttl=0).principal_for(JDOE).user is None
        assert accesses(store.engine) == {}

        with source_file(tmp_path) as source:
            result = run_sync(source, store, fresh, engine=store.engine)
        assert result.seq is not None
        assert NAMES[0] in fresh.datasets
        kinds = [c.kind for c in result.extras.conflicts]
        assert kinds == ["user_dn_differs", "unknown_dataset"]
        assert accesses(store.engine) == {NAMES[0]: 7, NAMES[1]: 3}
    finally:
        store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_popularity_write_commits_nothing_of_the_sync(db: str, tmp_path: Path) -> None:
    store = SqlInventoryStore.open(db)
    rename = "ALTER TABLE {} RENAME TO {}"
    try:
        inventory, seq = store.load(partition_compiler(now=AS_OF))
        with store.engine.begin() as conn:
            conn.execute(text(rename.format("popularity_accesses", "popularity_away")))
        try:
            with source_file(tmp_path) as source, pytest.raises(StoreError):
                run_sync(source, store, inventory, engine=store.engine)
        finally:
            with store.engine.begin() as conn:
                conn.execute(text(rename.format("popularity_away", "popularity_accesses")))
        fresh, after = store.load(partition_compiler(now=AS_OF))
        assert after == seq
        assert NAMES[0] not in fresh.datasets
        assert SqlUserDirectory(store.engine, ttl=0).principal_for(JDOE).user is None
        assert SqlJobQueue(store.engine).queued_jobs(AS_OF) == []
        assert accesses(store.engine) == {}

        with source_file(tmp_path) as source:
            result = run_sync(source, store, fresh, engine=store.engine)
        assert result.seq is not None
        assert NAMES[0] in fresh.datasets
        assert SqlUserDirectory(store.engine, ttl=0).principal_for(JDOE).user is not None
        assert [j.jobs for j in SqlJobQueue(store.engine).queued_jobs(AS_OF)] == [30]
        assert accesses(store.engine) == {NAMES[0]: 7, NAMES[1]: 3}
    finally:
        store.close()
