"""RegistryStore contract, locks: created, renewed, listed with filters, expired, released."""

from __future__ import annotations

import pytest

from dynamo.errors import NotFoundError
from dynamo.registry import (
    ConflictError,
    LockDraft,
    LockQuery,
    NotOwnerError,
    RegistryStore,
)
from registry_data import B1, DN, OTHER_DN, ZB_C, ZB_D

NOW = 1_700_000_000
DAY = 86_400


def lock(
    item: str = ZB_D,
    *,
    sites: str | None = None,
    groups: str | None = None,
    expires: int = NOW + DAY,
    dn: str = DN,
    service: str = "user",
    comment: str = "",
) -> LockDraft:
    user = "alice" if dn == DN else "bob"
    return LockDraft(
        item=item,
        sites=sites,
        groups=groups,
        expires=expires,
        comment=comment,
        user=user,
        dn=dn,
        service=service,
    )


def test_a_new_lock_is_stored_and_read_back(registry_store: RegistryStore) -> None:
    made, created = registry_store.submit_lock(
        lock("/ZeroBias/*", sites="T2_US_*", groups="AnalysisOps", comment="analysis"), NOW
    )
    assert created
    assert registry_store.get_lock(made.id) == made
    assert (made.created, made.expires, made.released, made.comment) == (
        NOW,
        NOW + DAY,
        None,
        "analysis",
    )


def test_the_same_lock_again_renews_it(registry_store: RegistryStore) -> None:
    made, _ = registry_store.submit_lock(lock(comment="first"), NOW)
    renewed, created = registry_store.submit_lock(lock(expires=NOW + 7 * DAY), NOW + 10)
    assert not created
    assert (renewed.id, renewed.expires, renewed.comment) == (made.id, NOW + 7 * DAY, "first")
    assert registry_store.get_lock(made.id) == renewed


@pytest.mark.parametrize(
    "other",
    [
        lock(ZB_C),
        lock(sites="T2_US_MIT"),
        lock(groups="DataOps"),
        lock(service="unified"),
        lock(dn=OTHER_DN),
    ],
)
def test_a_different_lock_is_stored_apart(registry_store: RegistryStore, other: LockDraft) -> None:
    registry_store.submit_lock(lock(), NOW)
    assert registry_store.submit_lock(other, NOW)[1]


def test_an_expired_lock_is_not_renewed_but_replaced(registry_store: RegistryStore) -> None:
    old, _ = registry_store.submit_lock(lock(expires=NOW + 10), NOW)
    new, created = registry_store.submit_lock(lock(expires=NOW + DAY + 20), NOW + 20)
    assert created
    assert new.id > old.id


def test_an_expired_lock_is_inactive_but_still_listed(registry_store: RegistryStore) -> None:
    made, _ = registry_store.submit_lock(lock(expires=NOW + 10), NOW)
    assert [x.id for x in registry_store.find_locks(LockQuery(active=True), NOW + 9)] == [made.id]
    assert registry_store.find_locks(LockQuery(active=True), NOW + 10) == []
    assert [x.id for x in registry_store.find_locks(LockQuery(active=False), NOW + 10)] == [made.id]
    assert [x.id for x in registry_store.find_locks(LockQuery(), NOW + 10)] == [made.id]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (LockQuery(), ["blk", "bob", "glob", "zbd"]),
        (LockQuery(user="bob"), ["bob"]),
        (LockQuery(service="unified"), ["bob"]),
        (LockQuery(item=ZB_D), ["blk", "glob", "zbd"]),
        (LockQuery(item=f"{ZB_D}#{B1}"), ["blk", "glob", "zbd"]),
        (LockQuery(item=ZB_C), ["bob", "glob"]),
        (LockQuery(site="T2_CH_CERN"), ["blk", "bob", "zbd"]),
        (LockQuery(active=True), ["blk", "bob", "glob"]),
        (LockQuery(active=False), ["zbd"]),
    ],
)
def test_locks_are_listed_newest_first_by_owner_service_item_site_and_activity(
    registry_store: RegistryStore, query: LockQuery, expected: list[str]
) -> None:
    names = {}
    names[registry_store.submit_lock(lock(), NOW)[0].id] = "zbd"
    names[registry_store.submit_lock(lock("/ZeroBias/*", sites="T2_US_*"), NOW)[0].id] = "glob"
    names[registry_store.submit_lock(lock(ZB_C, dn=OTHER_DN, service="unified"), NOW)[0].id] = "bob"
    names[registry_store.submit_lock(lock(f"{ZB_D}#{B1}"), NOW)[0].id] = "blk"
    registry_store.release_lock(min(names), dn=DN, is_admin=False, now=NOW + 1)
    assert [names[x.id] for x in registry_store.find_locks(query, NOW + 2)] == expected


def test_only_the_owner_or_an_admin_releases_a_lock(registry_store: RegistryStore) -> None:
    made, _ = registry_store.submit_lock(lock(), NOW)
    with pytest.raises(NotOwnerError):
        registry_store.release_lock(made.id, dn=OTHER_DN, is_admin=False, now=NOW + 1)
    assert registry_store.get_lock(made.id).released is None
    released = registry_store.release_lock(made.id, dn=OTHER_DN, is_admin=True, now=NOW + 2)
    assert registry_store.get_lock(made.id) == released
    assert released.released == NOW + 2
    with pytest.raises(ConflictError):
        registry_store.release_lock(made.id, dn=DN, is_admin=False, now=NOW + 3)


def test_a_released_lock_is_not_renewed(registry_store: RegistryStore) -> None:
    made, _ = registry_store.submit_lock(lock(), NOW)
    registry_store.release_lock(made.id, dn=DN, is_admin=False, now=NOW + 1)
    assert registry_store.submit_lock(lock(), NOW + 2)[1]


def test_an_unknown_lock_id_is_not_found(registry_store: RegistryStore) -> None:
    with pytest.raises(NotFoundError, match="no lock with id 7"):
        registry_store.get_lock(7)
    with pytest.raises(NotFoundError):
        registry_store.release_lock(7, dn=DN, is_admin=True, now=NOW)


@pytest.mark.parametrize("lock_id", [0, 2**63, 10**30])
def test_an_id_no_row_can_have_is_not_found(registry_store: RegistryStore, lock_id: int) -> None:
    with pytest.raises(NotFoundError):
        registry_store.get_lock(lock_id)
    assert registry_store.find_locks(LockQuery(ids=(lock_id,)), NOW) == []
