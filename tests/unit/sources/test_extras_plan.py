"""The user, demand and popularity rules of a sync (dynamo.sources.extras), and the planner's
``dataset_names`` (an incremental read that still lists every dataset upstream)."""

from __future__ import annotations

import pytest

from dynamo.api.security import Role, Target
from dynamo.model import Inventory
from dynamo.sources import (
    Snapshot,
    SourceAccess,
    SourceDataset,
    SourceDemand,
    SourceFormatError,
    SourceUser,
    plan_demand,
    plan_extras,
    plan_sync,
    plan_users,
)
from dynamo.store.schema.auth import ROLE_NAMES, TARGET_NAMES
from dynamo.store.synced import StoredUser

JDOE = "/DC=ch/CN=jdoe"


def users(*found: SourceUser) -> Snapshot:
    return Snapshot(sections=frozenset({"users"}), users=found)


def test_the_store_knows_the_api_role_and_target_names() -> None:
    assert {role.value for role in Role} == ROLE_NAMES
    assert {target.value for target in Target} == TARGET_NAMES


def test_users_are_added_and_their_grants_made_the_listed_ones() -> None:
    stored = {"jdoe": StoredUser("jdoe", JDOE, frozenset({("admin", "inventory")}))}
    snapshot = users(
        SourceUser(name="jdoe", dn=JDOE, roles=(("operator", "inventory"),)),
        SourceUser(name="new", dn="/CN=new", roles=(("user", "registry"),)),
    )
    changes, conflicts = plan_users(stored, snapshot, full=True)
    assert changes is not None
    assert changes.add == (("new", "/CN=new"),)
    assert changes.grant == (("jdoe", "operator", "inventory"), ("new", "user", "registry"))
    assert changes.revoke == (("jdoe", "admin", "inventory"),)
    assert conflicts == ()


def test_user_conflicts_are_reported_and_nothing_is_taken_away() -> None:
    stored = {
        "jdoe": StoredUser("jdoe", JDOE, frozenset({("admin", "inventory")})),
        "local": StoredUser("local", "/CN=local", frozenset({("admin", "registry")})),
    }
    snapshot = users(
        SourceUser(name="jdoe", dn="/CN=other", roles=()),
        SourceUser(name="thief", dn="/CN=local", roles=()),
        SourceUser(name="rucio", dn="/CN=rucio", roles=None),
    )
    changes, conflicts = plan_users(stored, snapshot, full=True)
    assert changes is not None
    assert changes.add == (("rucio", "/CN=rucio"),)
    assert changes.grant == changes.revoke == ()
    assert [(c.kind, c.subject) for c in conflicts] == [
        ("user_dn_differs", "jdoe"),
        ("dn_taken", "thief"),
        ("user_missing_upstream", "local"),
    ]
    _, more = plan_users(stored, snapshot, full=False)
    assert "user_missing_upstream" not in {c.kind for c in more}
    assert plan_users(stored, Snapshot(), full=True) == (None, ())


def test_roles_none_keeps_the_grants_dynamo_gave() -> None:
    stored = {"acct": StoredUser("acct", "/CN=acct", frozenset({("operator", "inventory")}))}
    changes, _ = plan_users(
        stored, users(SourceUser(name="acct", dn="/CN=acct", roles=None)), full=True
    )
    assert changes is not None
    assert not changes


def test_demand_of_unknown_datasets_is_skipped_and_rows_of_one_key_summed() -> None:
    snapshot = Snapshot(
        sections=frozenset({"demand", "datasets"}),
        datasets=(SourceDataset(name="/A/B/C"),),
        demand=(
            SourceDemand(dataset="/A/B/C", jobs=2, queued=10),
            SourceDemand(dataset="/A/B/C", jobs=3, queued=10),
            SourceDemand(dataset="/X/Y/Z", jobs=1, queued=10),
        ),
    )
    changes, conflicts = plan_demand(Inventory(), snapshot, full=False)
    assert changes is not None
    assert changes.rows == (("/A/B/C", 10, 5),)
    assert changes.replace is False
    assert [(c.kind, c.subject) for c in conflicts] == [("unknown_dataset", "demand for /X/Y/Z")]
    whole = Snapshot(sections=frozenset({"demand"}), whole=frozenset({"demand"}))
    replaced, _ = plan_demand(Inventory(), whole, full=False)
    assert replaced is not None
    assert replaced.replace is True


def test_an_incremental_read_with_every_name_deletes_the_datasets_gone_upstream() -> None:
    inventory = Inventory()
    first = plan_sync(
        inventory,
        Snapshot(sections=frozenset({"datasets"}), datasets=(SourceDataset(name="/A/B/C"),)),
        full=True,
    )
    inventory.apply(first.changeset)
    names_only = Snapshot(sections=frozenset({"datasets"}), dataset_names=frozenset({"/N/E/W"}))
    plan = plan_sync(inventory, names_only, full=False)
    assert [op.kind for op in plan.changeset.ops] == ["delete_dataset"]
    assert plan.to_json()["mode"] == "incremental"
    assert plan.to_json()["whole_sections"] == []


def test_popularity_is_planned_as_the_stores_records_and_a_bad_entry_refuses_the_read() -> None:
    day = 1_699_920_000
    good = SourceAccess(dataset="/A/B/C", site="T2_US_MIT", day=day, accesses=7)
    snapshot = Snapshot(sections=frozenset({"popularity"}), accesses=(good,))
    plan = plan_extras(Inventory(), snapshot, {}, full=True)
    assert plan  # accesses alone are something to write (in the commit's transaction)
    assert [(a.dataset, a.site, a.day, a.num_accesses) for a in plan.accesses] == [
        ("/A/B/C", "T2_US_MIT", day, 7)
    ]
    assert plan.record() == {"kind": "sync", "popularity": [["/A/B/C", "T2_US_MIT", day, 7]]}
    noon = SourceAccess(dataset="/A/B/C", site="T2_US_MIT", day=day + 43_200, accesses=1)
    bad = Snapshot(sections=frozenset({"popularity"}), accesses=(good, noon))
    with pytest.raises(SourceFormatError, match=r"popularity\[1\]: day: .* not a UTC midnight"):
        plan_extras(Inventory(), bad, {}, full=True)
