"""A Dealer cycle recorded and committed on every backend, and read back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from dealer_data import NOW, grid, sample, write_world
from dynamo.dealer import (
    DealerConfig,
    DealerOptions,
    PlugInSettings,
    abandon_planned,
    commit_records,
    run_cycle,
)
from dynamo.dealer.queries import cycle_copies, get_cycle, list_cycles
from dynamo.store import SqlInventoryStore
from dynamo.store.schema.fileops import fileop_subscriptions

CONFIG = DealerConfig(
    options=DealerOptions(target_sites=("T2_*",), max_pending_fraction=1.0),
    plugins=(
        PlugInSettings(
            name="undertaker",
            kind="undertaker",
            priority=2,
            config={"additional_sites": ["T1_XX_Tape"]},
        ),
    ),
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_a_cycle_is_recorded_committed_and_read_back(
    backend: str, database_url_factory: Callable[[str], str]
) -> None:
    store = SqlInventoryStore.open(database_url_factory(backend), upgrade=True)
    try:
        b = grid({"T2_A": 100, "T2_B": 1})
        for i in range(3):
            sample(b, f"/D{i}/B/AOD")
        inventory = write_world(store, b)
        result = run_cycle(inventory, CONFIG, now=NOW, engine=store.engine, seed=1)
        records = [result.commit_record()]
        seq = store.write(
            result.changeset,
            inventory,
            also=lambda conn, seq: commit_records(conn, records, seq, NOW),
        )
        assert result.cycle_id is not None
        cycle = get_cycle(store.engine, result.cycle_id)
        assert (cycle.status, cycle.log_seq, cycle.seed) == ("committed", seq, 1)
        assert cycle.summary is not None
        assert cycle.summary["copies"] == 3
        copies = cycle_copies(store.engine, result.cycle_id, limit=2)
        assert [c.status for c in copies.items] == ["accepted", "accepted"]
        assert copies.next is not None
        rest = cycle_copies(store.engine, result.cycle_id, after_id=copies.next)
        assert len(rest.items) == 1
        assert rest.next is None
        with store.engine.connect() as conn:
            files = conn.execute(select(func.count()).select_from(fileop_subscriptions)).scalar()
        assert files == 3 * 2 * 10
        dry = run_cycle(inventory, CONFIG, now=NOW, engine=store.engine, dry_run=True)
        assert [c.id for c in list_cycles(store.engine).items] == [dry.cycle_id, result.cycle_id]
        assert abandon_planned(store.engine, now=NOW) == 0
    finally:
        store.close()
