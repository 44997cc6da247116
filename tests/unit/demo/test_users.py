"""The demo's user jobs: each run writes a dataset of its own."""

from __future__ import annotations

from dynamo.demo.users import fresh_dataset


def test_the_first_free_name_is_taken() -> None:
    assert fresh_dataset(set()) == "/DemoAnalysis/alice-ntuples/USER"
    taken = {"/DemoAnalysis/alice-ntuples/USER", "/DemoAnalysis/alice-ntuples2/USER"}
    assert fresh_dataset(taken) == "/DemoAnalysis/alice-ntuples3/USER"
    assert fresh_dataset({"/DemoAnalysis/alice-ntuples2/USER"}) == (
        "/DemoAnalysis/alice-ntuples/USER"
    )
