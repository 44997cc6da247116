"""Request drafts are validated against the inventory; duplicates bump; cancel and transitions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dynamo.model import Inventory
from dynamo.registry import (
    ConflictError,
    NotOwnerError,
    RegistryInputError,
    Request,
    RequestAction,
    RequestDraft,
    RequestKind,
    RequestStatus,
    bump,
    cancel,
    copy_draft,
    deletion_draft,
    find_duplicate,
    new_request,
    transition,
)
from registry_data import B1, DN, MU_D, OTHER_DN, ZB_C, ZB_D, registry_inventory


@pytest.fixture
def inventory() -> Inventory:
    return registry_inventory()


def draft(
    inventory: Inventory,
    items: list[str],
    sites: list[str],
    *,
    group: str | None = None,
    n: int = 1,
) -> RequestDraft:
    return copy_draft(inventory, user="alice", dn=DN, items=items, sites=sites, group=group, n=n)


def test_a_copy_draft_sorts_and_deduplicates_items_and_expands_site_globs(
    inventory: Inventory,
) -> None:
    made = draft(inventory, [ZB_D, MU_D, ZB_D, f"{ZB_D}#{B1}"], ["T2_US_*", "T2_US_MIT"])
    assert made.items == (MU_D, ZB_D, f"{ZB_D}#{B1}")
    assert made.sites == ("T2_US_MIT", "T2_US_Purdue")
    assert (made.kind, made.n, made.group) == (RequestKind.COPY, 1, None)


@pytest.mark.parametrize(
    ("items", "sites", "extra", "message"),
    [
        (["/No/Such/AOD"], ["T2_US_MIT"], {}, "unknown item '/No/Such/AOD'"),
        ([f"{ZB_D}#nope"], ["T2_US_MIT"], {}, f"unknown item '{ZB_D}#nope'"),
        (["/ZeroBias/*/AOD"], ["T2_US_MIT"], {}, "wildcards are not allowed"),
        ([f"{ZB_D}#"], ["T2_US_MIT"], {}, "expected DATASET or DATASET#BLOCK"),
        ([f"{ZB_D}#a#b"], ["T2_US_MIT"], {}, "expected DATASET or DATASET#BLOCK"),
        (["/A B/c/d"], ["T2_US_MIT"], {}, "whitespace"),
        ([], ["T2_US_MIT"], {}, "at least one item"),
        ([ZB_D], [], {}, "at least one site"),
        ([ZB_D], ["T3_*"], {}, "site 'T3_*' matches no known site"),
        ([ZB_D], ["T2_US_[MIT"], {}, "unclosed '['"),
        ([ZB_D], ["T2_US_MIT"], {"n": -1}, "cannot be negative"),
        ([ZB_D], ["T2_US_MIT"], {"group": "Nobody"}, "unknown group 'Nobody'"),
    ],
)
def test_a_bad_copy_request_is_refused_naming_the_problem(
    inventory: Inventory,
    items: list[str],
    sites: list[str],
    extra: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(RegistryInputError, match=re.escape(message)):
        draft(inventory, items, sites, **extra)


def test_every_unknown_item_is_named_up_to_a_few(inventory: Inventory) -> None:
    unknown = [f"/X{i}/Y/Z" for i in range(8)]
    with pytest.raises(RegistryInputError, match="and 3 more"):
        draft(inventory, [ZB_D, *unknown], ["T2_US_MIT"])


def test_a_deletion_draft_has_no_group_and_no_copies(inventory: Inventory) -> None:
    made = deletion_draft(inventory, user="alice", dn=DN, items=[ZB_C], sites=["T2_US_Purdue"])
    assert (made.kind, made.group, made.n) == (RequestKind.DELETION, None, 0)


def stored(inventory: Inventory, status: RequestStatus = RequestStatus.NEW) -> Request:
    request = new_request(draft(inventory, [ZB_D], ["T2_US_MIT"]), 1, now=1000)
    if status is RequestStatus.NEW:
        return request
    if status in (RequestStatus.COMPLETED, RequestStatus.REJECTED):
        request = transition(request, RequestStatus.ACTIVATED)
    return transition(request, status, reject_reason="a reason")


@pytest.mark.parametrize(
    ("status", "is_duplicate"),
    [
        (RequestStatus.NEW, True),
        (RequestStatus.ACTIVATED, True),
        (RequestStatus.COMPLETED, False),
        (RequestStatus.CANCELLED, False),
    ],
)
def test_only_an_open_request_absorbs_a_duplicate(
    inventory: Inventory, status: RequestStatus, is_duplicate: bool
) -> None:
    existing = stored(inventory, status=status)
    found = find_duplicate([existing], draft(inventory, [ZB_D], ["T2_US_MIT"]))
    assert (found is existing) is is_duplicate


@pytest.mark.parametrize(
    ("items", "sites", "group", "user"),
    [
        ([ZB_C], ["T2_US_MIT"], None, "alice"),
        ([ZB_D], ["T2_CH_CERN"], None, "alice"),
        ([ZB_D], ["T2_US_MIT"], "DataOps", "alice"),
        ([ZB_D], ["T2_US_MIT"], None, "bob"),
    ],
)
def test_a_request_differing_in_items_sites_group_or_user_is_not_a_duplicate(
    inventory: Inventory, items: list[str], sites: list[str], group: str | None, user: str
) -> None:
    other = copy_draft(inventory, user=user, dn=DN, items=items, sites=sites, group=group)
    assert find_duplicate([stored(inventory)], other) is None


def test_the_copy_count_is_not_part_of_the_duplicate_key(inventory: Inventory) -> None:
    existing = stored(inventory)
    assert find_duplicate([existing], draft(inventory, [ZB_D], ["T2_US_MIT"], n=3)) is existing


def test_a_bump_counts_the_request_and_moves_last_request(inventory: Inventory) -> None:
    bumped = bump(stored(inventory), now=2000)
    assert (bumped.request_count, bumped.first_request, bumped.last_request) == (2, 1000, 2000)


def test_the_owner_cancels_a_new_request(inventory: Inventory) -> None:
    assert cancel(stored(inventory), dn=DN, is_privileged=False).status is RequestStatus.CANCELLED


def test_another_user_cannot_cancel_but_an_operator_can(inventory: Inventory) -> None:
    with pytest.raises(NotOwnerError):
        cancel(stored(inventory), dn=OTHER_DN, is_privileged=False)
    assert cancel(stored(inventory), dn=OTHER_DN, is_privileged=True).status == "cancelled"


@pytest.mark.parametrize(
    "status", [RequestStatus.ACTIVATED, RequestStatus.COMPLETED, RequestStatus.CANCELLED]
)
def test_only_a_new_request_can_be_cancelled(inventory: Inventory, status: RequestStatus) -> None:
    with pytest.raises(ConflictError, match=f"is {status}"):
        cancel(stored(inventory, status=status), dn=DN, is_privileged=True)


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        (RequestStatus.NEW, RequestStatus.ACTIVATED, True),
        (RequestStatus.NEW, RequestStatus.COMPLETED, True),
        (RequestStatus.ACTIVATED, RequestStatus.COMPLETED, True),
        (RequestStatus.ACTIVATED, RequestStatus.ACTIVATED, True),
        (RequestStatus.ACTIVATED, RequestStatus.NEW, False),
        (RequestStatus.ACTIVATED, RequestStatus.CANCELLED, False),
        (RequestStatus.COMPLETED, RequestStatus.ACTIVATED, False),
        (RequestStatus.CANCELLED, RequestStatus.NEW, False),
    ],
)
def test_status_transitions_follow_the_life_cycle(
    inventory: Inventory, start: RequestStatus, target: RequestStatus, allowed: bool
) -> None:
    request = stored(inventory, status=start)
    if allowed:
        assert transition(request, target).status is target
    else:
        with pytest.raises(ConflictError, match="cannot go from"):
            transition(request, target)


def test_a_rejection_needs_a_reason_and_keeps_it(inventory: Inventory) -> None:
    with pytest.raises(ConflictError, match="needs a reason"):
        transition(stored(inventory), RequestStatus.REJECTED)
    rejected = transition(stored(inventory), RequestStatus.REJECTED, reject_reason="too big")
    assert rejected.reject_reason == "too big"


def test_actions_are_replaced_by_a_transition(inventory: Inventory) -> None:
    action = RequestAction(item=ZB_D, site="T2_US_MIT", last_update=1500)
    activated = transition(stored(inventory), RequestStatus.ACTIVATED, actions=(action,))
    assert activated.actions == (action,)
    assert transition(activated, RequestStatus.COMPLETED).actions == (action,)
