"""RegistryStore contract, requests: stored whole, deduplicated, listed, cancelled, moved on."""

from __future__ import annotations

import threading

import pytest

from dynamo.errors import NotFoundError
from dynamo.registry import (
    ActionStatus,
    ConflictError,
    NotOwnerError,
    RegistryStore,
    RequestAction,
    RequestDraft,
    RequestKind,
    RequestQuery,
    RequestStatus,
)
from registry_data import B1, DN, MU_D, OTHER_DN, ZB_C, ZB_D

NOW = 1_700_000_000


def copy(
    items: tuple[str, ...] = (ZB_D,),
    sites: tuple[str, ...] = ("T2_US_MIT",),
    *,
    user: str = "alice",
    group: str | None = "AnalysisOps",
) -> RequestDraft:
    dn = DN if user == "alice" else OTHER_DN
    return RequestDraft(
        kind=RequestKind.COPY, user=user, dn=dn, items=items, sites=sites, group=group, n=2
    )


def deletion(items: tuple[str, ...] = (ZB_D,)) -> RequestDraft:
    return RequestDraft(
        kind=RequestKind.DELETION, user="alice", dn=DN, items=items, sites=("T2_US_MIT",), n=0
    )


def test_a_new_request_is_stored_whole_and_read_back(registry_store: RegistryStore) -> None:
    items = (MU_D, ZB_D, f"{ZB_D}#{B1}")
    request, created = registry_store.submit_request(copy(items, ("T2_CH_CERN", "T2_US_MIT")), NOW)
    assert created
    assert request.id > 0
    assert registry_store.get_request(request.id) == request
    assert (request.items, request.sites, request.group, request.n) == (
        items,
        ("T2_CH_CERN", "T2_US_MIT"),
        "AnalysisOps",
        2,
    )
    assert (request.status, request.request_count, request.first_request) == ("new", 1, NOW)


def test_the_same_request_again_bumps_the_count_instead_of_storing_a_copy(
    registry_store: RegistryStore,
) -> None:
    first, _ = registry_store.submit_request(copy(), NOW)
    again, created = registry_store.submit_request(copy(), NOW + 60)
    assert not created
    assert again.id == first.id
    assert (again.request_count, again.first_request, again.last_request) == (2, NOW, NOW + 60)
    assert registry_store.get_request(first.id) == again
    assert len(registry_store.find_requests(RequestQuery())) == 1


def test_a_request_that_differs_is_stored_apart(registry_store: RegistryStore) -> None:
    first, _ = registry_store.submit_request(copy(), NOW)
    for other in (copy(group=None), copy(user="bob"), copy((ZB_C,)), deletion()):
        assert registry_store.submit_request(other, NOW)[1]
    assert len(registry_store.find_requests(RequestQuery())) == 5
    assert registry_store.get_request(first.id).request_count == 1


def test_a_closed_request_does_not_absorb_a_new_one(registry_store: RegistryStore) -> None:
    first, _ = registry_store.submit_request(copy(), NOW)
    registry_store.cancel_request(first.id, dn=DN, is_privileged=False)
    second, created = registry_store.submit_request(copy(), NOW + 1)
    assert created
    assert second.id > first.id


def test_concurrent_identical_submissions_store_one_request(registry_store: RegistryStore) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(4, timeout=10)

    def submit() -> None:
        barrier.wait()
        results.append(registry_store.submit_request(copy(), NOW)[1])

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, False, False, True]
    assert registry_store.find_requests(RequestQuery())[0].request_count == 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (RequestQuery(), ["del", "bob", "zbc", "zbd"]),
        (RequestQuery(kind=RequestKind.COPY), ["bob", "zbc", "zbd"]),
        (RequestQuery(kind=RequestKind.DELETION), ["del"]),
        (RequestQuery(user="bob"), ["bob"]),
        (RequestQuery(item=ZB_C), ["zbc"]),
        (RequestQuery(item=ZB_D), ["del", "bob", "zbd"]),
        (RequestQuery(site="T2_CH_CERN"), ["zbc"]),
        (RequestQuery(statuses=(RequestStatus.CANCELLED,)), ["zbd"]),
        (RequestQuery(statuses=(RequestStatus.NEW,), limit=2), ["del", "bob"]),
        (RequestQuery(item="/Unknown/X/Y"), []),
    ],
)
def test_requests_are_listed_newest_first_by_kind_status_user_item_and_site(
    registry_store: RegistryStore, query: RequestQuery, expected: list[str]
) -> None:
    names = {}
    names[registry_store.submit_request(copy(), NOW)[0].id] = "zbd"
    names[registry_store.submit_request(copy((ZB_C,), ("T2_CH_CERN",)), NOW)[0].id] = "zbc"
    names[registry_store.submit_request(copy(user="bob"), NOW)[0].id] = "bob"
    names[registry_store.submit_request(deletion(), NOW)[0].id] = "del"
    first = min(names)
    registry_store.cancel_request(first, dn=DN, is_privileged=False)
    assert [names[r.id] for r in registry_store.find_requests(query)] == expected


def test_requests_are_listed_by_id(registry_store: RegistryStore) -> None:
    ids = [registry_store.submit_request(copy((item,)), NOW)[0].id for item in (ZB_C, ZB_D, MU_D)]
    found = registry_store.find_requests(RequestQuery(ids=(ids[0], ids[2])))
    assert [r.id for r in found] == [ids[2], ids[0]]


def test_cancelling_needs_the_owner_and_a_new_request(registry_store: RegistryStore) -> None:
    request, _ = registry_store.submit_request(copy(), NOW)
    with pytest.raises(NotOwnerError):
        registry_store.cancel_request(request.id, dn=OTHER_DN, is_privileged=False)
    assert registry_store.get_request(request.id).status is RequestStatus.NEW
    registry_store.cancel_request(request.id, dn=DN, is_privileged=False)
    assert registry_store.get_request(request.id).status is RequestStatus.CANCELLED
    with pytest.raises(ConflictError, match="only a new request can be cancelled"):
        registry_store.cancel_request(request.id, dn=DN, is_privileged=False)


def test_an_unknown_request_id_is_not_found(registry_store: RegistryStore) -> None:
    with pytest.raises(NotFoundError, match="no request with id 404"):
        registry_store.get_request(404)
    with pytest.raises(NotFoundError):
        registry_store.cancel_request(404, dn=DN, is_privileged=True)


def test_the_dealer_activates_a_request_with_actions_and_completes_it(
    registry_store: RegistryStore,
) -> None:
    request, _ = registry_store.submit_request(copy((ZB_C, ZB_D)), NOW)
    actions = (
        RequestAction(item=ZB_C, site="T2_US_MIT", status=ActionStatus.QUEUED, last_update=NOW),
        RequestAction(item=ZB_D, site="T2_US_MIT", last_update=NOW),
    )
    activated = registry_store.update_request(request.id, RequestStatus.ACTIVATED, actions=actions)
    assert registry_store.get_request(request.id) == activated
    assert activated.actions == actions
    with pytest.raises(ConflictError):
        registry_store.cancel_request(request.id, dn=DN, is_privileged=True)
    done = (
        RequestAction(
            item=ZB_C, site="T2_US_MIT", status=ActionStatus.COMPLETED, last_update=NOW + 9
        ),
    )
    completed = registry_store.update_request(request.id, RequestStatus.COMPLETED, actions=done)
    assert registry_store.get_request(request.id).actions == done
    assert completed.status is RequestStatus.COMPLETED


def test_a_refused_transition_writes_nothing(registry_store: RegistryStore) -> None:
    request, _ = registry_store.submit_request(copy(), NOW)
    registry_store.update_request(request.id, RequestStatus.REJECTED, reject_reason="too big")
    with pytest.raises(ConflictError):
        registry_store.update_request(
            request.id, RequestStatus.ACTIVATED, actions=(RequestAction(item=ZB_D, site="X"),)
        )
    stored = registry_store.get_request(request.id)
    assert (stored.status, stored.reject_reason, stored.actions) == ("rejected", "too big", ())


@pytest.mark.parametrize("request_id", [0, -1, 2**63, 10**30])
def test_an_id_no_row_can_have_is_not_found(registry_store: RegistryStore, request_id: int) -> None:
    with pytest.raises(NotFoundError):
        registry_store.get_request(request_id)
    assert registry_store.find_requests(RequestQuery(ids=(request_id,))) == []
