"""The leader lease and the epoch fence on the databases several servers can share."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from dynamo.model import ChangeSet, Inventory, UpsertDataset
from dynamo.store import SqlInventoryStore, migrate
from dynamo.store.leadership import (
    DatabaseLease,
    NotLeaderError,
    claim_leadership,
    epoch_fence,
    read_leader,
    terminate_session,
)


@pytest.fixture(params=["postgresql", "mysql"])
def pair(
    request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]
) -> Iterator[tuple[SqlInventoryStore, SqlInventoryStore]]:
    """Two stores (two would-be servers) on one fresh database."""
    url = database_url_factory(request.param)
    migrate(url)
    first, second = SqlInventoryStore.open(url), SqlInventoryStore.open(url)
    yield first, second
    first.close()
    second.close()


def _claim(store: SqlInventoryStore, lease: DatabaseLease, name: str) -> int:
    return claim_leadership(
        store.engine, server=name, url=f"http://{name}", db_session=lease.session_id, now_ms=0
    )


def test_only_one_session_holds_the_lease_until_it_lets_go(
    pair: tuple[SqlInventoryStore, SqlInventoryStore],
) -> None:
    first, second = DatabaseLease(pair[0].engine), DatabaseLease(pair[1].engine)
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_the_lease_is_free_once_its_session_is_ended(
    pair: tuple[SqlInventoryStore, SqlInventoryStore],
) -> None:
    first, second = DatabaseLease(pair[0].engine), DatabaseLease(pair[1].engine)
    assert first.try_acquire()
    assert first.session_id is not None
    terminate_session(pair[1].engine, first.session_id)
    assert not first.is_alive()
    assert second.try_acquire()
    second.release()


def test_a_deposed_leader_cannot_commit(
    pair: tuple[SqlInventoryStore, SqlInventoryStore],
) -> None:
    old, new = pair
    old_lease, new_lease = DatabaseLease(old.engine), DatabaseLease(new.engine)
    assert old_lease.try_acquire()
    old.fence = epoch_fence(_claim(old, old_lease, "old"))
    image = Inventory()
    assert old.commit(ChangeSet.of([UpsertDataset(name="/Before/Cut/RAW")]), image) == 1
    old_lease.release()  # as if its session had been cut
    assert new_lease.try_acquire()
    new.fence = epoch_fence(_claim(new, new_lease, "new"))
    with pytest.raises(NotLeaderError):
        old.commit(ChangeSet.of([UpsertDataset(name="/After/Cut/RAW")]), image)
    assert old.last_seq() == 1
    assert "/After/Cut/RAW" not in image.datasets
    leader = read_leader(new.engine)
    assert leader is not None
    assert (leader.epoch, leader.server) == (2, "new")
    assert new.commit(ChangeSet.of([UpsertDataset(name="/After/Cut/RAW")]), Inventory()) > 1
    new_lease.release()
