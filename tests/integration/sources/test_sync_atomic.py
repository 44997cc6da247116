"""A sync lands whole or not at all: when the users' write fails inside the commit's
transaction (a user of that name appeared after the plan was made), the inventory's
ChangeSet is not committed either, and a rerun then succeeds with the conflict reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynamo.api.auth.directory import SqlUserDirectory
from dynamo.errors import StoreError
from dynamo.policy import partition_compiler
from dynamo.sources import JsonFileSource, run_sync
from dynamo.store import SqlInventoryStore
from integration.sources.conftest import AS_OF, JDOE, NAMES, Upstream


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_failed_user_write_commits_nothing_of_the_sync(db: str, tmp_path: Path) -> None:
    path = tmp_path / "source.json"
    path.write_text(json.dumps(Upstream().doc))
    store = SqlInventoryStore.open(db)
    try:
        inventory, seq = store.load(partition_compiler(now=AS_OF))
        real_commit = store.commit

        def commit_after_a_race(*args: object, **kwargs: object) -> int:
            SqlUserDirectory(store.engine).add_user("jdoe", "/DC=org/CN=someone-else")
            return real_commit(*args, **kwargs)  # type: ignore[arg-type]

        store.commit = commit_after_a_race  # type: ignore[method-assign]
        with pytest.raises(StoreError):
            run_sync(JsonFileSource(path), store, inventory, engine=store.engine)
        store.commit = real_commit  # type: ignore[method-assign]
        fresh, after = store.load(partition_compiler(now=AS_OF))
        assert after == seq
        assert NAMES[0] not in fresh.datasets
        assert SqlUserDirectory(store.engine, ttl=0).principal_for(JDOE).user is None

        result = run_sync(JsonFileSource(path), store, fresh, engine=store.engine)
        assert result.seq is not None
        assert NAMES[0] in fresh.datasets
        kinds = [c.kind for c in result.extras.conflicts]
        assert kinds == ["user_dn_differs", "unknown_dataset"]
    finally:
        store.close()
