"""Lock drafts are validated against the inventory; renewal, release, activity and expiries."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dynamo.model import Inventory
from dynamo.registry import (
    ConflictError,
    LockDraft,
    LockQuery,
    NotOwnerError,
    RegistryInputError,
    ReplicaLock,
    active_locks,
    find_renewable,
    lock_draft,
    new_lock,
    parse_duration,
    parse_expiry,
    release,
    renew,
)
from registry_data import B1, DN, OTHER_DN, ZB_C, ZB_D, registry_inventory

NOW = 1_700_000_000
DAY = 86_400


@pytest.fixture
def inventory() -> Inventory:
    return registry_inventory()


def draft(inventory: Inventory, item: str = ZB_D, **kw: Any) -> LockDraft:
    kw.setdefault("expires", NOW + DAY)
    return lock_draft(inventory, user="alice", dn=DN, item=item, **kw)


def lock(inventory: Inventory, lock_id: int = 1, **kw: Any) -> ReplicaLock:
    return new_lock(draft(inventory, **kw), lock_id, NOW)


@pytest.mark.parametrize("item", [ZB_D, f"{ZB_D}#{B1}", "/ZeroBias/*/AOD", "/*/*/*"])
def test_a_lock_names_a_dataset_a_block_or_a_dataset_glob(inventory: Inventory, item: str) -> None:
    assert draft(inventory, item).item == item


@pytest.mark.parametrize(
    ("item", "extra", "message"),
    [
        ("/No/Such/AOD", {}, "unknown item '/No/Such/AOD'"),
        (f"{ZB_D}#nope", {}, "unknown item"),
        ("/Nothing/*/AOD", {}, "matches no dataset"),
        (f"{ZB_D}#b8*", {}, "wildcards are not allowed"),
        ("/ZeroBias/*/AOD#" + B1, {}, "wildcards are not allowed"),
        (ZB_D, {"sites": "T3_*"}, "site 'T3_*' matches no known site"),
        (ZB_D, {"sites": "T2_[US"}, "unclosed '['"),
        (ZB_D, {"groups": "Nobody*"}, "group 'Nobody*' matches no known group"),
        (ZB_D, {"service": "a*"}, "bad service name"),
        ("x" * 700, {}, "item too long"),
    ],
)
def test_a_bad_lock_is_refused_naming_the_problem(
    inventory: Inventory, item: str, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(RegistryInputError, match=re.escape(message)):
        draft(inventory, item, **extra)


@pytest.mark.parametrize(
    ("now", "is_active"), [(NOW, True), (NOW + DAY - 1, True), (NOW + DAY, False)]
)
def test_a_lock_is_active_until_it_expires(inventory: Inventory, now: int, is_active: bool) -> None:
    assert lock(inventory).is_active(now) is is_active
    assert (active_locks([lock(inventory)], now) != []) is is_active


def test_a_released_lock_is_not_active(inventory: Inventory) -> None:
    released = release(lock(inventory), dn=DN, is_admin=False, now=NOW + 10)
    assert released.released == NOW + 10
    assert not released.is_active(NOW + 11)


def test_only_the_owner_or_an_admin_releases_a_lock(inventory: Inventory) -> None:
    with pytest.raises(NotOwnerError, match="only its owner or an admin"):
        release(lock(inventory), dn=OTHER_DN, is_admin=False, now=NOW)
    assert release(lock(inventory), dn=OTHER_DN, is_admin=True, now=NOW).released == NOW


def test_a_lock_cannot_be_released_twice(inventory: Inventory) -> None:
    released = release(lock(inventory), dn=DN, is_admin=False, now=NOW)
    with pytest.raises(ConflictError, match="released already"):
        release(released, dn=DN, is_admin=False, now=NOW)


def test_the_same_lock_again_renews_the_active_one(inventory: Inventory) -> None:
    existing = lock(inventory)
    again = draft(inventory, expires=NOW + 7 * DAY, comment="longer")
    assert find_renewable([existing], again, NOW) is existing
    renewed = renew(existing, again)
    assert (renewed.id, renewed.expires, renewed.comment) == (1, NOW + 7 * DAY, "longer")


@pytest.mark.parametrize(
    "changes",
    [
        {"item": ZB_C},
        {"sites": "T2_US_*"},
        {"groups": "AnalysisOps"},
        {"service": "unified"},
    ],
)
def test_a_lock_differing_in_item_sites_groups_or_service_is_a_new_lock(
    inventory: Inventory, changes: dict[str, Any]
) -> None:
    assert find_renewable([lock(inventory)], draft(inventory, **changes), NOW) is None


def test_an_expired_or_foreign_lock_is_not_renewed(inventory: Inventory) -> None:
    assert find_renewable([lock(inventory)], draft(inventory), NOW + DAY) is None
    foreign = lock_draft(inventory, user="bob", dn=OTHER_DN, item=ZB_D, expires=NOW + DAY)
    assert find_renewable([lock(inventory)], foreign, NOW) is None


@pytest.mark.parametrize(
    ("query", "selected"),
    [
        (LockQuery(), True),
        (LockQuery(user="alice"), True),
        (LockQuery(user="bob"), False),
        (LockQuery(item=ZB_D), True),
        (LockQuery(item=f"{ZB_D}#{B1}"), True),
        (LockQuery(item=ZB_C), False),
        (LockQuery(site="T2_US_MIT"), True),
        (LockQuery(site="T2_CH_CERN"), False),
        (LockQuery(active=True), True),
        (LockQuery(active=False), False),
        (LockQuery(ids=(2,)), False),
        (LockQuery(service="user"), True),
    ],
)
def test_a_lock_listing_filters_by_owner_item_site_and_activity(
    inventory: Inventory, query: LockQuery, selected: bool
) -> None:
    assert query.matches(lock(inventory, sites="T2_US_*"), NOW) is selected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("12h", 43_200),
        ("7d", 7 * DAY),
        ("2w", 14 * DAY),
        ("1d12h", 36 * 3600),
    ],
)
def test_durations_read_as_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    assert parse_expiry(text, NOW) == NOW + seconds


@pytest.mark.parametrize(
    ("text", "expires"),
    [
        ("2030-01-31", 1_896_048_000),
        ("2030-01-31T12:00:00Z", 1_896_091_200),
        ("2030-01-31T13:00:00+01:00", 1_896_091_200),
        ("1896091200", 1_896_091_200),
    ],
)
def test_an_expiry_may_be_a_date_or_epoch_seconds(text: str, expires: int) -> None:
    assert parse_expiry(text, NOW) == expires


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "an expiry is required"),
        ("7 days", "bad expiry"),
        ("0d", "longer than zero"),
        ("-1d", "bad expiry"),
        ("2020-01-01", "not in the future"),
        ("100000d", "more than ten years ahead"),
    ],
)
def test_a_bad_or_past_expiry_is_refused(text: str, message: str) -> None:
    with pytest.raises(RegistryInputError, match=message):
        parse_expiry(text, NOW)
